-- Access: API keys (their secrets only as hashes), revoked page sessions and the audit log.

-- name: add_key
INSERT INTO api_keys (key_id, name, role, secret_hash, created_at)
VALUES (:key_id, :name, :role, :secret_hash, {now});

-- name: key
SELECT key_id, name, role, created_at, revoked_at FROM api_keys WHERE key_id = :key_id;

-- name: key_hash
SELECT role, secret_hash FROM api_keys WHERE key_id = :key_id AND revoked_at IS NULL;

-- name: list_keys
SELECT key_id, name, role, created_at, revoked_at FROM api_keys ORDER BY created_at, key_id;

-- name: revoke_key
UPDATE api_keys SET revoked_at = {now} WHERE key_id = :key_id AND revoked_at IS NULL;

-- name: forget_expired_sessions
DELETE FROM revoked_sessions WHERE expires_at < {epoch_now};

-- name: revoke_session
INSERT INTO revoked_sessions (session_id, key_id, revoked_at, expires_at)
VALUES (:session_id, :key_id, {now}, :expires_at)
ON CONFLICT DO NOTHING;

-- name: session_revoked
SELECT 1 FROM revoked_sessions WHERE session_id = :session_id;

-- name: add_audit_entry
INSERT INTO audit_log (at, key_id, role, action, path, filter, rows)
VALUES ({now}, :key_id, :role, :action, :path, :filter, :rows);

-- name: audit_log
SELECT entry_id, at, key_id, role, action, path, filter, rows
FROM audit_log WHERE entry_id < :before
ORDER BY entry_id DESC LIMIT :limit;
