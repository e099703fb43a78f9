-- Saved hotspot presets (geodata.stores._presets).

-- name: add_preset
INSERT INTO presets (name, title, parameters, created_at, created_by)
VALUES (:name, :title, :parameters, {now_us}, :created_by)
ON CONFLICT (name) DO NOTHING;

-- name: preset
SELECT name, title, parameters, created_at, created_by FROM presets WHERE name = :name;

-- name: list_presets
SELECT name, title, parameters, created_at, created_by FROM presets
ORDER BY name LIMIT :limit;

-- name: delete_preset
DELETE FROM presets WHERE name = :name;
