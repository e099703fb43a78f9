-- PostGIS store, schema version 6: page sessions ended by signing out.
--
-- A page session is a signed token (api.access) that stays valid until it expires; signing out
-- records the session's id here, and a request with a session cookie is refused if its id is
-- listed, so a copied cookie stops working when its owner signs out, across restarts. A row
-- may go once its session would have expired anyway (expires_at: seconds since the epoch, UTC).

CREATE TABLE revoked_sessions (
    session_id text PRIMARY KEY,
    key_id     text NOT NULL,
    revoked_at timestamptz NOT NULL DEFAULT now(),
    expires_at bigint NOT NULL
);

CREATE INDEX revoked_sessions_expires ON revoked_sessions (expires_at);
