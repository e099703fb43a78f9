-- The store's own key-value metadata: its data version, its purpose and its secrets.
-- Queries are named by the `-- name:` line above them; `:name` is a parameter; {now} and
-- the other braces are filled in for each database (see geodata/stores/_queries.py).

-- name: meta_value
SELECT value FROM meta WHERE key = :key;

-- name: bump_data_version
UPDATE meta SET value = CAST(CAST(value AS BIGINT) + 1 AS TEXT) WHERE key = 'data_version';

-- name: set_data_epoch
INSERT INTO meta (key, value) VALUES ('data_epoch', :value)
ON CONFLICT (key) DO UPDATE SET value = excluded.value;

-- name: data_version_parts
SELECT key, value FROM meta WHERE key IN ('data_version', 'data_epoch');

-- name: claim_purpose
INSERT INTO meta (key, value) VALUES ('purpose', :purpose) ON CONFLICT DO NOTHING;

-- name: add_secret
INSERT INTO meta (key, value) VALUES (:key, :value) ON CONFLICT DO NOTHING;
