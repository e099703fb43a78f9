-- PostGIS store, schema version 12: a neighbouring force's incidents, a separate labelled
-- source.
--
-- Loaded from the neighbour's own files so that hotspots spanning the force boundary are found
-- whole; never counted with the force's own incidents (no analysis of the force reads this
-- table). ``source`` labels the neighbour (e.g. "Lincolnshire Police"); a row whose id the
-- force's own table holds is not stored again.

CREATE TABLE neighbour_incidents (
    source        text NOT NULL,
    id            text NOT NULL,
    occurred_at   bigint NOT NULL,
    precision     smallint NOT NULL,
    category      text NOT NULL,
    crime_type    text NOT NULL DEFAULT '',
    x             double precision NOT NULL,
    y             double precision NOT NULL,
    lon           double precision NOT NULL,
    lat           double precision NOT NULL,
    location_text text NOT NULL DEFAULT '',
    lsoa_code     text NOT NULL DEFAULT '',
    loaded_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, id)
);

CREATE INDEX neighbour_incidents_when ON neighbour_incidents (occurred_at);
