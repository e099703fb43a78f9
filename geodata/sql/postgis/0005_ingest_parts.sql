-- PostGIS store, schema version 5: a large ingest is stored as several partitions.
--
-- An ingest now seals its table every quarter of a million rows or so (indexes built, keys
-- recorded, attached as a partition) while the client goes on reading the file, so the server
-- builds indexes on its own core instead of at the end. Each of those tables is a bucket of
-- its own, numbered from this sequence. Buckets so far were 0 (the shared partition) and
-- ingest ids, so the numbering starts above every ingest id.

CREATE SEQUENCE incident_bucket;
SELECT setval('incident_bucket', coalesce((SELECT max(ingest_id) FROM ingests), 0) + 1, false);
