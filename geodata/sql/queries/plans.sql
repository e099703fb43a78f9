-- Patrol plans, their crews' short links and the visits logged against them.

-- name: add_plan (sqlite)
INSERT INTO patrol_plans (plan_id, created_at, shift_start, shift_end, data_version, request,
                          plan, published_at, created_by)
VALUES (:plan_id, {now}, :shift_start, :shift_end, :data_version, :request, :plan,
        :published_at, :created_by);

-- name: add_plan (postgis)
-- (with its routes as WGS84 lines, for GIS users)
INSERT INTO patrol_plans (plan_id, created_at, shift_start, shift_end, data_version, request,
                          plan, routes, published_at, created_by)
VALUES (:plan_id, {now}, :shift_start, :shift_end, :data_version, :request, :plan,
        ST_Multi(ST_GeomFromText(:routes, 4326)), :published_at, :created_by);

-- name: plan
SELECT plan_id, created_at, shift_start, shift_end, data_version, published_at, created_by,
       request, plan
FROM patrol_plans WHERE plan_id = :plan_id;

-- name: list_plans
SELECT plan_id, created_at, shift_start, shift_end, data_version, published_at, created_by,
       {json:plan.totals}, {json_text:request.name},
       (SELECT count(*) FROM plan_visits v WHERE v.plan_id = p.plan_id)
FROM patrol_plans p
WHERE published_at IS NOT NULL OR NOT :published_only
ORDER BY created_at DESC, plan_id LIMIT :limit;

-- name: publish_plan
UPDATE patrol_plans SET published_at = :published_at
WHERE plan_id = :plan_id AND published_at IS NULL;

-- name: published_at
SELECT published_at FROM patrol_plans WHERE plan_id = :plan_id;

-- name: add_plan_link
INSERT INTO plan_links (code, plan_id, crew) VALUES (:code, :plan_id, :crew)
ON CONFLICT DO NOTHING;

-- name: plan_links
SELECT crew, code FROM plan_links WHERE plan_id = :plan_id ORDER BY crew;

-- name: find_plan_link
SELECT plan_id, crew FROM plan_links WHERE code = :code;

-- name: add_visit
INSERT INTO plan_visits (visit_id, plan_id, stop_id, hotspot_id, visited_at, received_at, note,
                         officer, ended_at)
VALUES (:visit_id, :plan_id, :stop_id, :hotspot_id, :visited_at, {now}, :note, :officer,
        :ended_at)
ON CONFLICT (visit_id) DO NOTHING;

-- name: visit
SELECT visit_id, plan_id, stop_id, hotspot_id, visited_at, received_at, note, officer, ended_at
FROM plan_visits WHERE visit_id = :visit_id;

-- name: visit_of_plan
SELECT visit_id, plan_id, stop_id, hotspot_id, visited_at, received_at, note, officer, ended_at
FROM plan_visits WHERE visit_id = :visit_id AND plan_id = :plan_id;

-- name: plan_visits
SELECT visit_id, plan_id, stop_id, hotspot_id, visited_at, received_at, note, officer, ended_at
FROM plan_visits WHERE plan_id = :plan_id
ORDER BY visited_at, visit_id;

-- name: delete_visit
DELETE FROM plan_visits WHERE visit_id = :visit_id AND plan_id = :plan_id;
