-- Embedded store, schema version 1.
--
-- Incidents are kept as column blocks: each row of `blocks` holds up to 16,384 incidents of one
-- ingest, ordered along a space-filling curve, with one BLOB per column. The R*Tree indexes the
-- blocks' bounding boxes so a bounding-box query reads only the blocks it touches; the time range
-- of each block prunes period queries the same way. Row ids run from rid_start to rid_start+n-1.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE ingests (
    ingest_id   INTEGER PRIMARY KEY,
    source      TEXT NOT NULL,
    format      TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    records     INTEGER NOT NULL DEFAULT 0,
    accepted    INTEGER NOT NULL DEFAULT 0,
    duplicates  INTEGER NOT NULL DEFAULT 0,
    rejected    INTEGER NOT NULL DEFAULT 0,
    summary     TEXT
);

CREATE TABLE blocks (
    block_id    INTEGER PRIMARY KEY,
    ingest_id   INTEGER NOT NULL REFERENCES ingests (ingest_id),
    namespace   TEXT NOT NULL,
    rid_start   INTEGER NOT NULL,
    n           INTEGER NOT NULL,
    tmin        INTEGER NOT NULL,
    tmax        INTEGER NOT NULL,
    uid_hi      BLOB NOT NULL,
    uid_lo      BLOB NOT NULL,
    x           BLOB NOT NULL,
    y           BLOB NOT NULL,
    lon         BLOB NOT NULL,
    lat         BLOB NOT NULL,
    occurred_at BLOB NOT NULL,
    precision   BLOB NOT NULL,
    weight      BLOB NOT NULL,
    id            BLOB NOT NULL,
    category      BLOB NOT NULL,
    crime_type    BLOB NOT NULL,
    location_text BLOB NOT NULL,
    lsoa_code     BLOB NOT NULL,
    lsoa_name     BLOB NOT NULL,
    outcome       BLOB NOT NULL,
    context       BLOB NOT NULL,
    force         BLOB NOT NULL
);
CREATE INDEX blocks_time ON blocks (tmin, tmax);

CREATE VIRTUAL TABLE blocks_rtree USING rtree (block_id, minx, maxx, miny, maxy);

CREATE TABLE layers (
    kind       TEXT PRIMARY KEY,
    source     TEXT NOT NULL,
    added_at   TEXT NOT NULL,
    features   INTEGER NOT NULL,
    info       TEXT NOT NULL
);

CREATE TABLE layer_features (
    kind  TEXT NOT NULL REFERENCES layers (kind) ON DELETE CASCADE,
    fid   INTEGER NOT NULL,
    name  TEXT,
    props TEXT NOT NULL,
    geom  BLOB,
    PRIMARY KEY (kind, fid)
);
