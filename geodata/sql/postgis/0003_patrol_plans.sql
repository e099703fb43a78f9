-- PostGIS store, schema version 3: patrol plans and the visits officers log against them.
--
-- A plan is kept as the JSON document the API serves (WGS84, local times) with the request that
-- made it, and its routes as WGS84 lines for GIS users; a visit is keyed by the id the officer's
-- device made for it, so a visit sent twice (a retry after lost signal) is stored once.

CREATE TABLE patrol_plans (
    plan_id      text PRIMARY KEY,
    created_at   timestamptz NOT NULL,
    shift_start  timestamptz NOT NULL,
    shift_end    timestamptz NOT NULL,
    data_version text NOT NULL,
    request      jsonb NOT NULL,
    plan         jsonb NOT NULL,
    routes       geometry(MultiLineString, 4326)
);

CREATE INDEX patrol_plans_created ON patrol_plans (created_at);

CREATE TABLE plan_visits (
    visit_id    text PRIMARY KEY,
    plan_id     text NOT NULL REFERENCES patrol_plans (plan_id),
    stop_id     text NOT NULL,
    hotspot_id  text,
    visited_at  timestamptz NOT NULL,
    received_at timestamptz NOT NULL,
    note        text NOT NULL DEFAULT '',
    officer     text NOT NULL DEFAULT ''
);

CREATE INDEX plan_visits_plan ON plan_visits (plan_id, visited_at);
