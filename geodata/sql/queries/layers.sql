-- Reference layers (a row each, and its features), and the log of finished ingests.

-- name: list_layers
SELECT kind, source, added_at, features, info FROM layers ORDER BY kind;

-- name: layer
SELECT source, added_at, info FROM layers WHERE kind = :kind;

-- name: layer_features (sqlite)
SELECT name, props, geom FROM layer_features WHERE kind = :kind ORDER BY fid;

-- name: layer_features (postgis)
SELECT name, props::text, ST_AsBinary(geom) FROM layer_features WHERE kind = :kind ORDER BY fid;

-- name: delete_layer
DELETE FROM layers WHERE kind = :kind;

-- name: add_layer
INSERT INTO layers (kind, source, added_at, features, info)
VALUES (:kind, :source, :added_at, :features, :info);

-- name: add_layer_feature (sqlite)
INSERT INTO layer_features (kind, fid, name, props, geom)
VALUES (:kind, :fid, :name, :props, :geom);

-- name: add_layer_feature (postgis)
-- (the geometry as WKB, in the force CRS)
INSERT INTO layer_features (kind, fid, name, props, geom)
VALUES (:kind, :fid, :name, :props, ST_SetSRID(ST_GeomFromWKB(:geom), :srid));

-- name: list_ingests
SELECT ingest_id, source, format, started_at, finished_at, records, accepted, duplicates,
       rejected
FROM ingests WHERE finished_at IS NOT NULL
ORDER BY ingest_id DESC LIMIT :limit;

-- name: finish_ingest
UPDATE ingests SET finished_at = :finished_at, records = :records, accepted = :accepted,
       duplicates = :duplicates, rejected = :rejected, summary = :summary
WHERE ingest_id = :ingest_id;
