-- Embedded store, schema version 3: API keys (hashed) and the audit log (append-only).
--
-- A key is stored as the SHA-256 of its secret part: the secret is shown once, when the key is
-- made. The audit log records who read incident-level data or ingested, when, with which
-- filter and how many rows; triggers refuse to change or delete a row of it.

CREATE TABLE api_keys (
    key_id      TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    role        TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);

CREATE TABLE audit_log (
    entry_id INTEGER PRIMARY KEY,
    at       TEXT NOT NULL,
    key_id   TEXT,
    role     TEXT,
    action   TEXT NOT NULL,
    path     TEXT NOT NULL,
    filter   TEXT NOT NULL DEFAULT '{}',
    rows     INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX audit_log_at ON audit_log (at);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
