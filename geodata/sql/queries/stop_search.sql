-- Stop and search records (table stop_searches), kept apart from incidents, and the outcomes
-- files' Crime IDs applied to stored incidents (table incident_outcomes; the outcome itself is
-- written into the incident's own outcome column). Named queries, see
-- geodata/stores/_queries.py.

-- name: add_stop_search
INSERT INTO stop_searches (row_key, source, occurred_at, x, y, lon, lat, type,
                           part_of_operation, operation, gender, age_range,
                           self_defined_ethnicity, officer_defined_ethnicity, legislation,
                           object_of_search, outcome, outcome_linked, removal_of_clothing,
                           loaded_at)
VALUES (:row_key, :source, :occurred_at, :x, :y, :lon, :lat, :type, :part_of_operation,
        :operation, :gender, :age_range, :self_defined_ethnicity, :officer_defined_ethnicity,
        :legislation, :object_of_search, :outcome, :outcome_linked, :removal_of_clothing, {now})
ON CONFLICT (row_key) DO NOTHING;

-- name: count_all_stop_searches
SELECT count(*) FROM stop_searches;

-- name: count_stop_searches
SELECT count(*) FROM stop_searches WHERE occurred_at >= :start AND occurred_at < :end;

-- name: stop_searches
SELECT source, occurred_at, x, y, lon, lat, type, part_of_operation, operation, gender,
       age_range, self_defined_ethnicity, officer_defined_ethnicity, legislation,
       object_of_search, outcome, outcome_linked, removal_of_clothing
FROM stop_searches
WHERE occurred_at >= :start AND occurred_at < :end
ORDER BY occurred_at, row_key
LIMIT :limit;

-- The month and outcome applied to each of the given Crime IDs (a JSON array of text for
-- SQLite, a text[] for PostgreSQL).
-- name: applied_outcome_months (sqlite)
SELECT crime_id, month, outcome FROM incident_outcomes
WHERE crime_id IN (SELECT value FROM json_each(:crime_ids));

-- name: applied_outcome_months (postgis)
SELECT crime_id, month, outcome FROM incident_outcomes WHERE crime_id = ANY(CAST(:crime_ids AS text[]));

-- name: note_applied_outcome
INSERT INTO incident_outcomes (crime_id, month, outcome, applied_at)
VALUES (:crime_id, :month, :outcome, {now})
ON CONFLICT (crime_id) DO UPDATE SET month = excluded.month, outcome = excluded.outcome,
                                     applied_at = excluded.applied_at;

-- The embedded store's incidents' identities and outcomes, block by block.
-- name: block_outcomes (sqlite)
SELECT block_id, namespace, uid_hi, uid_lo, outcome FROM blocks ORDER BY block_id;

-- name: set_block_outcomes (sqlite)
UPDATE blocks SET outcome = :outcome WHERE block_id = :block_id;

-- The PostGIS store's incidents holding the given identities, with their outcomes: the index
-- of each identity given, and the outcome text.
-- name: incident_outcomes_of (postgis)
SELECT u.idx, s.value
FROM incidents i
JOIN unnest(CAST(:his AS bigint[]), CAST(:los AS bigint[]), CAST(:idx AS bigint[]))
     AS u (hi, lo, idx)
  ON i.uid_hi = u.hi AND i.uid_lo = u.lo
JOIN strings s ON s.code = i.outcome;

-- name: set_incident_outcomes (postgis)
UPDATE incidents i SET outcome = u.code
FROM unnest(CAST(:his AS bigint[]), CAST(:los AS bigint[]), CAST(:codes AS integer[]))
     AS u (hi, lo, code)
WHERE i.uid_hi = u.hi AND i.uid_lo = u.lo AND i.outcome <> u.code;
