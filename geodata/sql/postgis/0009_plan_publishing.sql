-- PostGIS store, schema version 9: plans made in the browser are drafts until published; each
-- crew of a plan has a short link; a visit keeps who made it and when the dwell ended.
--
-- ``published_at`` is NULL for a draft (the field view shows only published plans); plans stored
-- before this version were all open to the field view, so they count as published when they
-- were made. ``created_by`` is the name of the key (or user) that made the plan. A short link's
-- code is unguessable enough not to enumerate plans (and following one still needs a signed-in
-- field role); one code per plan and crew (the route's label).

ALTER TABLE patrol_plans ADD COLUMN published_at timestamptz,
                         ADD COLUMN created_by text NOT NULL DEFAULT '';

UPDATE patrol_plans SET published_at = created_at;

CREATE TABLE plan_links (
    code    text PRIMARY KEY,
    plan_id text NOT NULL REFERENCES patrol_plans (plan_id),
    crew    text NOT NULL,
    UNIQUE (plan_id, crew)
);

ALTER TABLE plan_visits ADD COLUMN ended_at timestamptz;
