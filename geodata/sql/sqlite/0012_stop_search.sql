-- Embedded store, schema version 12: stop and search records, and the crime outcomes applied
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
    row_key                   TEXT PRIMARY KEY,
    source                    TEXT NOT NULL,
    occurred_at               INTEGER NOT NULL,
    x                         REAL,
    y                         REAL,
    lon                       REAL,
    lat                       REAL,
    type                      TEXT NOT NULL DEFAULT '',
    part_of_operation         INTEGER,
    operation                 TEXT NOT NULL DEFAULT '',
    gender                    TEXT NOT NULL DEFAULT '',
    age_range                 TEXT NOT NULL DEFAULT '',
    self_defined_ethnicity    TEXT NOT NULL DEFAULT '',
    officer_defined_ethnicity TEXT NOT NULL DEFAULT '',
    legislation               TEXT NOT NULL DEFAULT '',
    object_of_search          TEXT NOT NULL DEFAULT '',
    outcome                   TEXT NOT NULL DEFAULT '',
    outcome_linked            INTEGER,
    removal_of_clothing       INTEGER,
    loaded_at                 TEXT NOT NULL
);

CREATE INDEX stop_searches_when ON stop_searches (occurred_at);

CREATE TABLE incident_outcomes (
    crime_id   TEXT PRIMARY KEY,
    month      TEXT NOT NULL,
    outcome    TEXT NOT NULL,
    applied_at TEXT NOT NULL
);
