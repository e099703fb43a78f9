-- Embedded store, schema version 2: patrol plans and the visits officers log against them.
--
-- A plan is kept as the JSON document the API serves (WGS84, local times) with the request that
-- made it; a visit is keyed by the id the officer's device made for it, so a visit sent twice
-- (a retry after lost signal) is stored once.

CREATE TABLE patrol_plans (
    plan_id      TEXT PRIMARY KEY,
    created_at   TEXT NOT NULL,
    shift_start  TEXT NOT NULL,
    shift_end    TEXT NOT NULL,
    data_version TEXT NOT NULL,
    request      TEXT NOT NULL,
    plan         TEXT NOT NULL
);

CREATE INDEX patrol_plans_created ON patrol_plans (created_at);

CREATE TABLE plan_visits (
    visit_id    TEXT PRIMARY KEY,
    plan_id     TEXT NOT NULL REFERENCES patrol_plans (plan_id),
    stop_id     TEXT NOT NULL,
    hotspot_id  TEXT,
    visited_at  TEXT NOT NULL,
    received_at TEXT NOT NULL,
    note        TEXT NOT NULL DEFAULT '',
    officer     TEXT NOT NULL DEFAULT ''
);

CREATE INDEX plan_visits_plan ON plan_visits (plan_id, visited_at);
