-- PostGIS store, schema version 13: saved hotspot presets.
--
-- A planner names a set of hotspot parameters (method, priority, period and the method's own
-- parameters, or method=auto) once; the OGC API serves each preset's hotspots as a collection
-- (``hotspots-<name>``) that a GIS desktop keeps loaded. ``parameters`` is the JSON object of
-- the query parameters exactly as GET /v1/hotspots takes them (text values).

CREATE TABLE presets (
    name       text PRIMARY KEY,
    title      text NOT NULL DEFAULT '',
    parameters jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text NOT NULL DEFAULT ''
);
