-- A neighbouring force's incidents (table neighbour_incidents): a separate, labelled source,
-- never read by an analysis of the force's own incidents. Named queries, see
-- geodata/stores/_queries.py.

-- name: add_neighbour_incident
INSERT INTO neighbour_incidents (source, id, occurred_at, precision, category, crime_type, x, y,
                                 lon, lat, location_text, lsoa_code, loaded_at)
VALUES (:source, :id, :occurred_at, :precision, :category, :crime_type, :x, :y, :lon, :lat,
        :location_text, :lsoa_code, {now})
ON CONFLICT (source, id) DO NOTHING;

-- name: count_neighbour_incidents
SELECT count(*) FROM neighbour_incidents;

-- name: neighbour_incidents
SELECT source, id, occurred_at, precision, category, crime_type, x, y, lon, lat, location_text,
       lsoa_code
FROM neighbour_incidents
WHERE occurred_at >= :start AND occurred_at < :end
ORDER BY source, occurred_at, id;

-- name: neighbour_sources
SELECT source, count(*), min(occurred_at), max(occurred_at), max(loaded_at)
FROM neighbour_incidents GROUP BY source ORDER BY source;

-- name: bump_neighbour_version
INSERT INTO meta (key, value) VALUES ('neighbour_version', '1')
ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(meta.value AS BIGINT) + 1 AS TEXT);

-- name: neighbour_version
SELECT value FROM meta WHERE key = 'neighbour_version';

-- The force's own incidents holding some of the given identities (namespace and id hashed,
-- geodata.schema.incident_uids): a neighbour's row with one of them is the force's incident.
-- name: force_keys_of_namespace (sqlite)
SELECT uid_hi, uid_lo FROM blocks WHERE namespace = :namespace;

-- name: force_keys_of_namespace (postgis)
SELECT k.uid_hi, k.uid_lo
FROM incident_keys k
JOIN unnest(CAST(:his AS bigint[]), CAST(:los AS bigint[])) AS u (hi, lo)
  ON k.uid_hi = u.hi AND k.uid_lo = u.lo;
