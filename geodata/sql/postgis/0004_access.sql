-- PostGIS store, schema version 4: API keys (hashed) and the audit log (append-only).
--
-- A key is stored as the SHA-256 of its secret part: the secret is shown once, when the key is
-- made. The audit log records who read incident-level data or ingested, when, with which
-- filter and how many rows; a trigger refuses to change or delete a row of it.

CREATE TABLE api_keys (
    key_id      text PRIMARY KEY,
    name        text NOT NULL,
    role        text NOT NULL,
    secret_hash text NOT NULL,
    created_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);

CREATE TABLE audit_log (
    entry_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at       timestamptz NOT NULL,
    key_id   text,
    role     text,
    action   text NOT NULL,
    path     text NOT NULL,
    filter   jsonb NOT NULL DEFAULT '{}',
    rows     bigint NOT NULL DEFAULT 0
);

CREATE INDEX audit_log_at ON audit_log (at);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$;

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
