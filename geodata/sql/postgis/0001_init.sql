-- PostGIS store, schema version 1. Runs inside the store's own schema (search_path), with the
-- postgis extension already in the database.
--
-- Incidents are one row each with a point geometry in the force CRS (GiST index), indexed by
-- period and by category. Text columns hold codes into one dictionary table (`strings`): police
-- data repeats a few thousand values (crime types, LSOAs, locations) across millions of rows, so
-- rows stay narrow and fixed-width, which lets them travel in binary COPY as plain arrays.
-- The codes carry no foreign keys: a key check per column per row would cost more than the rest
-- of an ingest, and only the store's own code writes them (inside the transaction that adds
-- the strings).

CREATE TABLE meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);

CREATE TABLE strings (
    code  integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    value text NOT NULL UNIQUE
);

CREATE TABLE ingests (
    ingest_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source      text NOT NULL,
    format      text NOT NULL,
    started_at  text NOT NULL,
    finished_at text,
    records     bigint NOT NULL DEFAULT 0,
    accepted    bigint NOT NULL DEFAULT 0,
    duplicates  bigint NOT NULL DEFAULT 0,
    rejected    bigint NOT NULL DEFAULT 0,
    summary     jsonb
);

CREATE TABLE incidents (
    uid_hi        bigint NOT NULL,
    uid_lo        bigint NOT NULL,
    rid           bigint GENERATED ALWAYS AS IDENTITY,
    ingest_id     bigint NOT NULL,
    namespace     integer NOT NULL,
    id            text NOT NULL,
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
    PRIMARY KEY (uid_hi, uid_lo)
);
CREATE INDEX incidents_geom ON incidents USING gist (geom);
CREATE INDEX incidents_period ON incidents (occurred_at);
CREATE INDEX incidents_category ON incidents (category, occurred_at);

CREATE TABLE layers (
    kind     text PRIMARY KEY,
    source   text NOT NULL,
    added_at text NOT NULL,
    features integer NOT NULL,
    info     jsonb NOT NULL
);

CREATE TABLE layer_features (
    kind  text NOT NULL REFERENCES layers (kind) ON DELETE CASCADE,
    fid   integer NOT NULL,
    name  text,
    props jsonb NOT NULL,
    geom  geometry,
    PRIMARY KEY (kind, fid)
);
CREATE INDEX layer_features_geom ON layer_features USING gist (geom);
