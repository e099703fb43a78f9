-- Embedded store, schema version 11: saved hotspot presets.
--
-- A planner names a set of hotspot parameters (method, priority, period and the method's own
-- parameters, or method=auto) once; the OGC API serves each preset's hotspots as a collection
-- (``hotspots-<name>``) that a GIS desktop keeps loaded. ``parameters`` is the JSON object of
-- the query parameters exactly as GET /v1/hotspots takes them (text values).

CREATE TABLE presets (
    name       TEXT PRIMARY KEY,
    title      TEXT NOT NULL DEFAULT '',
    parameters TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL DEFAULT ''
);
