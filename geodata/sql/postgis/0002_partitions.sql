-- PostGIS store, schema version 2: incidents partitioned by ingest "bucket".
--
-- Maintaining a GiST index row by row cost five times more than building it afterwards, so a
-- large ingest now loads its rows into a table of its own with no index, builds the indexes
-- once at the end and attaches the table as a partition (bucket = its ingest id). Small ingests
-- go into the shared partition (bucket 0). A partitioned table cannot enforce uniqueness across
-- partitions, so the identity of every stored incident is kept in `incident_keys`: an ingest
-- inserts its keys there first (ON CONFLICT DO NOTHING) and loads only the new incidents.

CREATE TABLE incident_keys (
    uid_hi bigint NOT NULL,
    uid_lo bigint NOT NULL,
    PRIMARY KEY (uid_hi, uid_lo)
);
INSERT INTO incident_keys (uid_hi, uid_lo) SELECT uid_hi, uid_lo FROM incidents;

CREATE SEQUENCE incident_rid;
SELECT setval('incident_rid', coalesce((SELECT max(rid) FROM incidents), 0) + 1, false);

CREATE TABLE incidents_partitioned (
    bucket        bigint NOT NULL,
    rid           bigint NOT NULL DEFAULT nextval('incident_rid'),
    uid_hi        bigint NOT NULL,
    uid_lo        bigint NOT NULL,
    ingest_id     bigint NOT NULL,
    namespace     integer NOT NULL,
    occurred_at   bigint NOT NULL,
    precision     smallint NOT NULL,
    x             double precision NOT NULL,
    y             double precision NOT NULL,
    lon           double precision NOT NULL,
    lat           double precision NOT NULL,
    weight        real NOT NULL,
    category      integer NOT NULL,
    crime_type    integer NOT NULL,
    location_text integer NOT NULL,
    lsoa_code     integer NOT NULL,
    lsoa_name     integer NOT NULL,
    outcome       integer NOT NULL,
    context       integer NOT NULL,
    force         integer NOT NULL,
    geom          geometry(Point) NOT NULL,
    id            text NOT NULL
) PARTITION BY LIST (bucket);

CREATE TABLE incidents_shared PARTITION OF incidents_partitioned FOR VALUES IN (0);

INSERT INTO incidents_partitioned (bucket, rid, uid_hi, uid_lo, ingest_id, namespace,
    occurred_at, precision, x, y, lon, lat, weight, category, crime_type, location_text,
    lsoa_code, lsoa_name, outcome, context, force, geom, id)
SELECT 0, rid, uid_hi, uid_lo, ingest_id, namespace, occurred_at, precision, x, y, lon, lat,
    weight, category, crime_type, location_text, lsoa_code, lsoa_name, outcome, context, force,
    geom, id
FROM incidents;

DROP TABLE incidents;
ALTER TABLE incidents_partitioned RENAME TO incidents;
CREATE INDEX incidents_geom ON incidents USING gist (geom);
CREATE INDEX incidents_period ON incidents (occurred_at);
CREATE INDEX incidents_category ON incidents (category, occurred_at);
