-- Embedded store, schema version 10: a neighbouring force's incidents, a separate labelled
-- source.
--
-- Loaded from the neighbour's own files so that hotspots spanning the force boundary are found
-- whole; never counted with the force's own incidents (no analysis of the force reads this
-- table). ``source`` labels the neighbour (e.g. "Lincolnshire Police"); a row whose id the
-- force's own table holds is not stored again.

CREATE TABLE neighbour_incidents (
    source        TEXT NOT NULL,
    id            TEXT NOT NULL,
    occurred_at   INTEGER NOT NULL,
    precision     INTEGER NOT NULL,
    category      TEXT NOT NULL,
    crime_type    TEXT NOT NULL DEFAULT '',
    x             REAL NOT NULL,
    y             REAL NOT NULL,
    lon           REAL NOT NULL,
    lat           REAL NOT NULL,
    location_text TEXT NOT NULL DEFAULT '',
    lsoa_code     TEXT NOT NULL DEFAULT '',
    loaded_at     TEXT NOT NULL,
    PRIMARY KEY (source, id)
);

CREATE INDEX neighbour_incidents_when ON neighbour_incidents (occurred_at);
