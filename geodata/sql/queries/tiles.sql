-- Vector tiles (MVT) made inside PostGIS with ST_AsMVT (geodata/tiles.py makes the same
-- features for the embedded store). Named queries, see geodata/stores/_queries.py.
--
-- Incidents are placed by their stored longitude/latitude (not by geom, which is in the force
-- CRS), so both stores put a point on the same tile pixel. The box in the force CRS only uses
-- the GiST index; the longitude/latitude test is the exact one. At most :limit features: when
-- more lie in the tile, every k-th by row id (an even thinning over the whole selection, not
-- the oldest loaded); the second column counts them all (more than :limit: thinned).

-- name: incident_tile (postgis)
WITH inside AS (
    SELECT i.rid, i.lon, i.lat, i.occurred_at, i.category, i.crime_type
    FROM incidents i
    WHERE i.geom && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, :srid)
      AND i.x BETWEEN :minx AND :maxx AND i.y BETWEEN :miny AND :maxy
      AND i.lon BETWEEN :west AND :east AND i.lat BETWEEN :south AND :north
      AND i.occurred_at >= :start AND i.occurred_at < :end
      AND (:all_categories OR i.category IN (
          SELECT code FROM strings WHERE value = ANY(CAST(:categories AS text[]))))
      -- a store opened for one force of a region reads that force's incidents only
      AND (CAST(:force AS text) IS NULL
           OR i.force = (SELECT code FROM strings WHERE value = CAST(:force AS text)))
), numbered AS (
    SELECT s.*, row_number() OVER (ORDER BY s.rid) - 1 AS n, count(*) OVER () AS total
    FROM inside s
), picked AS (
    -- every k-th by row id, k the least that brings the tile under :limit (all when it fits)
    SELECT * FROM numbered
    WHERE n % greatest(1, ceil(total::numeric / :limit))::bigint = 0
), features AS (
    SELECT ST_AsMVTGeom(ST_Transform(ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326), 3857),
                        ST_TileEnvelope(:z, :x, :y), 4096, 0, true) AS geom,
           c.value AS category, t.value AS crime_type, p.occurred_at
    FROM picked p
    JOIN strings c ON c.code = p.category
    JOIN strings t ON t.code = p.crime_type
)
SELECT (SELECT coalesce(ST_AsMVT(f.*, 'incidents', 4096, 'geom'), ''::bytea)
        FROM features f WHERE f.geom IS NOT NULL),
       (SELECT count(*) FROM inside);

-- Shapes given as WKB in Web Mercator (EPSG:3857) with their properties as JSON objects
-- (the density contour bands), clipped to the tile and 64 tile units around it.
-- name: shapes_tile (postgis)
SELECT coalesce(ST_AsMVT(f.*, :layer, 4096, 'geom'), ''::bytea)
FROM (
    SELECT ST_AsMVTGeom(ST_GeomFromWKB(s.wkb, 3857), ST_TileEnvelope(:z, :x, :y), 4096, 64,
                        true) AS geom,
           s.props
    FROM unnest(CAST(:wkb AS bytea[]), CAST(:props AS jsonb[])) AS s(wkb, props)
) f
WHERE f.geom IS NOT NULL;
