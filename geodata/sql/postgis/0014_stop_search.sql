-- PostGIS store, schema version 14: stop and search records, and the crime outcomes applied
-- to stored incidents.
--
-- Stop and search records (data.police.uk *-stop-and-search.csv) are kept apart from incidents
-- (no analysis of incidents reads them). They carry no id: ``row_key`` is a hash of the
-- record's content and of its place among identical records of the same load (two people
-- stopped together can give identical rows), so loading the same file again adds nothing.
-- Coordinates are often blank (NULL). ``occurred_at``: seconds since the epoch, UTC; x, y in
-- the store's CRS (metres), lon, lat WGS84.
--
-- ``incident_outcomes`` remembers, for each Crime ID whose outcome an outcomes file set, the
-- month of that outcome, so an older outcomes file loaded later never overwrites a newer
-- outcome (the outcome itself is written into the incident's own ``outcome`` column).

CREATE TABLE stop_searches (
    row_key                   text PRIMARY KEY,
    source                    text NOT NULL,
    occurred_at               bigint NOT NULL,
    x                         double precision,
    y                         double precision,
    lon                       double precision,
    lat                       double precision,
    type                      text NOT NULL DEFAULT '',
    part_of_operation         boolean,
    operation                 text NOT NULL DEFAULT '',
    gender                    text NOT NULL DEFAULT '',
    age_range                 text NOT NULL DEFAULT '',
    self_defined_ethnicity    text NOT NULL DEFAULT '',
    officer_defined_ethnicity text NOT NULL DEFAULT '',
    legislation               text NOT NULL DEFAULT '',
    object_of_search          text NOT NULL DEFAULT '',
    outcome                   text NOT NULL DEFAULT '',
    outcome_linked            boolean,
    removal_of_clothing       boolean,
    loaded_at                 timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX stop_searches_when ON stop_searches (occurred_at);

CREATE TABLE incident_outcomes (
    crime_id   text PRIMARY KEY,
    month      text NOT NULL,
    outcome    text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);
