"""The demo county's places, laid out from the seed in British National Grid metres (EPSG:27700).

:func:`lay_out_county` draws them in a fixed order (boundary, towns, villages, roads, streets
and map points, heritage sites, farms, lay-bys), so one seed always gives one county;
:func:`farm_tracks` and :func:`lsoa_grid` derive the tracks and the fictional LSOAs from it
without drawing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
import shapely.ops
from shapely.geometry import LineString, Point, Polygon

CENTRE = (470_000.0, 475_000.0)
"""Easting and northing (metres) the county is laid out around."""

TOWNS = (
    # name, centre, built-up radius, town-centre radius
    ("Thornbury", (462_500.0, 471_000.0), 2_300.0, 430.0),
    ("Elmsford", (481_000.0, 483_500.0), 1_800.0, 350.0),
)
VILLAGES = (
    "Ashby Moor", "Little Hadley", "Kirkby Wold", "Netherfield", "Otterby", "Saxby Carr",
    "Brompton Ings", "Hutton Fold", "Westerdale End", "Coldharbour", "Fenwick", "Marston Green",
)
SAINTS = ("St Mary", "St Wilfrid", "All Saints", "St Hilda", "St Peter", "St Andrew",
          "Holy Trinity", "St Oswald")
STREETS = (
    "High Street", "Market Place", "Church Street", "Bridge Street", "Finkle Street",
    "Westgate", "Eastgate", "Northgate", "Station Road", "Mill Lane", "Back Lane",
    "Chapel Street", "Queen Street", "King Street", "Victoria Road", "Park Avenue",
    "Orchard Close", "Meadow Way", "Beech Grove", "Manor Road", "School Lane", "Castle Hill",
    "Priory Walk", "Springfield Road", "The Green", "Moor Lane", "Cemetery Road", "Tanner Row",
    "Hall Garth", "Kirkgate", "Ings Lane", "Dale View", "Fairfield Road", "Willow Drive",
)
"""The town street names, given in turn to the streets of the towns' grids."""

VILLAGE_STREET = "Main Street"
"""The one street of every village."""

LSOA_STEP_M = 3_000.0
"""Side of the fictional LSOAs' square cells, in metres."""

_REMOTE_MONUMENTS = (
    ("Castle Dykes Roman fort", "fort"), ("Howe Hill round barrow", "barrow"),
    ("Wharram Ings deserted medieval village", "village"), ("Rievaulx Grange abbey ruins", "abbey"),
)


@dataclass(frozen=True)
class County:
    """The places of the demo county (coordinates in British National Grid metres).

    Towns, villages, roads, streets and heritage sites are dicts of their attributes (as written
    to the layers) with their shapes; ``points`` are the anonymous map points data.police.uk
    snaps crimes to, ``point_names`` the street or place each is on.
    """

    boundary: Polygon
    towns: list[dict[str, Any]]
    villages: list[dict[str, Any]]
    roads: list[dict[str, Any]]
    streets: list[dict[str, Any]]
    heritage: list[dict[str, Any]]
    farms: list[tuple[float, float]]
    laybys: list[tuple[float, float]]
    layby_road: str
    points: np.ndarray
    point_names: np.ndarray

    def remote_spots(self, n: int, rng: np.random.Generator, *,
                     min_gap: float) -> list[tuple[float, float]]:
        """``n`` points in open country, at least ``min_gap`` metres apart (drawn from ``rng``)."""
        return _remote_spots(self.boundary, self.towns + self.villages, n, rng, min_gap=min_gap)


class _MapPoints:
    """Map points being gathered, each with the name of the street or place it is on."""

    def __init__(self) -> None:
        self.xy: list[np.ndarray] = []
        self.names: list[str] = []

    def add(self, xy: np.ndarray, name: str) -> None:
        """Add an (n, 2) array of points on one named street or place."""
        self.xy.append(xy)
        self.names += [name] * len(xy)


def lay_out_county(rng: np.random.Generator) -> County:
    """Lay out the whole county, drawing from ``rng`` in a fixed order."""
    boundary = _blob(*CENTRE, 26_000.0, rng, n=96, wobble=0.35)
    towns = _lay_out_towns(rng)
    villages = _place_villages(boundary, towns, rng)
    roads = _join_places(towns + villages, rng)
    points = _MapPoints()
    streets = _lay_out_town_streets(towns, points, rng)
    _lay_out_village_streets(villages, points, rng)
    for road in roads:
        points.add(_along(road["geometry"], 450.0), road["name"])
    heritage = _heritage_sites(boundary, towns, villages, rng)
    for site in heritage:
        centre = site["geometry"].centroid
        points.add(np.array([[centre.x, centre.y]]),
                   "Place of Worship" if site["kind"] == "church" else "Sports/Recreation Area")
    farms = _remote_spots(boundary, towns + villages, 30, rng, min_gap=1_500)
    points.add(np.array(farms), "Farm/Agricultural Area")
    layby_road, laybys = _lay_bys(roads, rng)
    points.add(np.array(laybys), "Parking Area")
    return County(boundary=boundary, towns=towns, villages=villages, roads=roads,
                  streets=streets, heritage=heritage, farms=farms, laybys=laybys,
                  layby_road=layby_road, points=np.vstack(points.xy),
                  point_names=np.array(points.names, dtype=object))


def _blob(cx: float, cy: float, r: float, rng: np.random.Generator, *, n: int = 48,
          wobble: float = 0.22) -> Polygon:
    """An irregular, smooth, simple polygon of mean radius ``r`` metres around a point."""
    theta = np.linspace(0, 2 * np.pi, n, endpoint=False)
    radius = np.ones(n)
    for k in (2, 3, 5):
        radius += wobble / k * np.sin(k * theta + rng.uniform(0, 2 * np.pi))
    return Polygon(np.column_stack([cx + r * radius * np.cos(theta), cy + r * radius * np.sin(theta)]))


def _along(line: LineString, step: float) -> np.ndarray:
    """Points every ``step`` metres along a line, as an (n, 2) array."""
    distances = np.arange(0.0, line.length + 1e-9, step)
    return shapely.get_coordinates(shapely.line_interpolate_point(line, distances))


def _lay_out_towns(rng: np.random.Generator) -> list[dict[str, Any]]:
    """The two market towns: centre, built-up area and town centre."""
    return [
        {
            "name": name,
            "centre": (tx, ty),
            "built_up": _blob(tx, ty, built_up_r, rng),
            "town_centre": _blob(tx, ty, centre_r, rng, wobble=0.3),
        }
        for name, (tx, ty), built_up_r, centre_r in TOWNS
    ]


def _place_villages(boundary: Polygon, towns: list[dict[str, Any]],
                    rng: np.random.Generator) -> list[dict[str, Any]]:
    """The villages: inside the county, 6 km from a town and 4 km from each other."""
    cx, cy = CENTRE
    inner = boundary.buffer(-2_500)
    villages: list[dict[str, Any]] = []
    for _attempt in range(200_000):
        if len(villages) == len(VILLAGES):
            break
        x, y = rng.uniform(cx - 24_000, cx + 24_000), rng.uniform(cy - 24_000, cy + 24_000)
        if not inner.contains(Point(x, y)):
            continue
        if any(np.hypot(x - t["centre"][0], y - t["centre"][1]) < 6_000 for t in towns):
            continue
        if any(np.hypot(x - v["centre"][0], y - v["centre"][1]) < 4_000 for v in villages):
            continue
        villages.append({
            "name": VILLAGES[len(villages)],
            "centre": (x, y),
            "built_up": _blob(x, y, rng.uniform(300, 520), rng),
        })
    if len(villages) < len(VILLAGES):
        raise RuntimeError("the demo county has no room for its villages")
    return villages


def _join_places(places: list[dict[str, Any]], rng: np.random.Generator) -> list[dict[str, Any]]:
    """A and B roads: a spanning tree joining each place to its nearest already joined one."""
    centres = [p["centre"] for p in places]
    roads: list[dict[str, Any]] = []
    joined = [0]
    for i in range(1, len(places)):
        j = min(joined, key=lambda k: np.hypot(centres[i][0] - centres[k][0],
                                                centres[i][1] - centres[k][1]))
        joined.append(i)
        (ax, ay), (bx, by) = centres[j], centres[i]
        mid = ((ax + bx) / 2 + rng.normal(0, 600), (ay + by) / 2 + rng.normal(0, 600))
        is_a_road = i == 1 or (j < 2 and i < 2)
        roads.append({
            "name": f"{'A' if is_a_road else 'B'}{1200 + 10 * i}",
            "kind": "A road" if is_a_road else "B road",
            "speed_kph": 80 if is_a_road else 60,
            "geometry": LineString([(ax, ay), mid, (bx, by)]),
        })
    return roads


def _lay_out_town_streets(towns: list[dict[str, Any]], points: _MapPoints,
                          rng: np.random.Generator) -> list[dict[str, Any]]:
    """Each town's streets: a grid at a random angle, 170 m apart, clipped to the built-up area
    and named from :data:`STREETS` in turn; map points every 35 m on streets through the town
    centre, every 70 m elsewhere."""
    streets: list[dict[str, Any]] = []
    for town in towns:
        tx, ty = town["centre"]
        angle = rng.uniform(0, np.pi / 2)
        cos, sin = np.cos(angle), np.sin(angle)
        built_up: Polygon = town["built_up"]
        named = 0  # streets named so far in this town
        for offset in np.arange(-2_600, 2_601, 170.0):
            for direction in (0, 1):
                ux, uy = (cos, sin) if direction == 0 else (-sin, cos)
                ox, oy = -uy * offset, ux * offset
                line = LineString([(tx + ox - ux * 3_000, ty + oy - uy * 3_000),
                                   (tx + ox + ux * 3_000, ty + oy + uy * 3_000)])
                part = line.intersection(built_up)
                for segment in getattr(part, "geoms", [part]):
                    if segment.is_empty or segment.length < 100:
                        continue
                    name = STREETS[named % len(STREETS)]
                    named += 1
                    in_centre = segment.intersection(town["town_centre"]).length > 0
                    points.add(_along(segment, 35.0 if in_centre else 70.0), name)
                    streets.append({"name": name, "town": town["name"], "geometry": segment,
                                    "kind": "street", "speed_kph": 30})
    return streets


def _lay_out_village_streets(villages: list[dict[str, Any]], points: _MapPoints,
                             rng: np.random.Generator) -> None:
    """Each village's main street: 1 km at a random angle, a map point every 90 m."""
    for village in villages:
        vx, vy = village["centre"]
        angle = rng.uniform(0, np.pi)
        line = LineString([(vx - 500 * np.cos(angle), vy - 500 * np.sin(angle)),
                           (vx + 500 * np.cos(angle), vy + 500 * np.sin(angle))])
        points.add(_along(line, 90.0), VILLAGE_STREET)


def _heritage_sites(boundary: Polygon, towns: list[dict[str, Any]],
                    villages: list[dict[str, Any]],
                    rng: np.random.Generator) -> list[dict[str, Any]]:
    """Village churches, the castle and market cross in the towns, monuments out in the country."""
    sites: list[dict[str, Any]] = []
    for i, village in enumerate(villages[: len(SAINTS)]):
        vx, vy = village["centre"]
        saint = SAINTS[i]
        possessive = "'" if saint.endswith("s") else "'s"
        sites.append({
            "name": f"{saint}{possessive} Church, {village['name']}",
            "designation": "Listed building, grade I" if i % 3 == 0 else "Listed building, grade II*",
            "kind": "church",
            "geometry": Point(vx + rng.uniform(-120, 120), vy + rng.uniform(-120, 120)),
        })
    tx, ty = towns[0]["centre"]
    castle = _blob(tx + 1_350, ty + 950, 90, rng, wobble=0.15)
    sites.append({"name": "Thornbury Castle", "kind": "castle",
                  "designation": "Scheduled monument; listed building, grade I",
                  "geometry": castle})
    ex, ey = towns[1]["centre"]
    sites.append({"name": "Market Cross, Elmsford", "kind": "monument",
                  "designation": "Scheduled monument", "geometry": Point(ex + 40, ey - 30)})
    remote = _remote_spots(boundary, towns + villages, 4, rng, min_gap=5_000)
    for (x, y), (name, kind) in zip(remote, _REMOTE_MONUMENTS, strict=True):
        geom = _blob(x, y, 110, rng, wobble=0.1) if kind in ("fort", "village") else Point(x, y)
        sites.append({"name": name, "kind": kind, "designation": "Scheduled monument",
                      "geometry": geom})
    return sites


def _remote_spots(boundary: Polygon, places: list[dict[str, Any]], n: int,
                  rng: np.random.Generator, *, min_gap: float) -> list[tuple[float, float]]:
    """Points in open country: 3 km inside the boundary, 3 km from every place's centre and
    ``min_gap`` metres from each other."""
    inner = boundary.buffer(-3_000)
    out: list[tuple[float, float]] = []
    centres = [p["centre"] for p in places]
    for _attempt in range(200_000):
        if len(out) == n:
            return out
        x = rng.uniform(CENTRE[0] - 24_000, CENTRE[0] + 24_000)
        y = rng.uniform(CENTRE[1] - 24_000, CENTRE[1] + 24_000)
        if not inner.contains(Point(x, y)):
            continue
        if min(np.hypot(x - px, y - py) for px, py in centres) < 3_000:
            continue
        if any(np.hypot(x - ox, y - oy) < min_gap for ox, oy in out):
            continue
        out.append((x, y))
    if len(out) < n:
        raise RuntimeError(f"the demo county has no room for {n} remote places")
    return out


def _lay_bys(roads: list[dict[str, Any]],
             rng: np.random.Generator) -> tuple[str, list[tuple[float, float]]]:
    """Six lay-bys along the longest road but the first: its name and the lay-bys' points."""
    road = max(roads[1:], key=lambda r: r["geometry"].length)
    distances = np.sort(rng.uniform(0.1, 0.9, 6)) * road["geometry"].length
    on_road = shapely.get_coordinates(shapely.line_interpolate_point(road["geometry"], distances))
    return road["name"], [(float(x) + 15, float(y) + 15) for x, y in on_road]


def farm_tracks(county: County, roads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Farm tracks: a straight track (25 km/h) from every farm and every heritage site out in
    the country to the nearest road, so the road network reaches them."""
    network = shapely.union_all([r["geometry"] for r in roads])
    places = [(f"track to farm {i + 1}", Point(xy)) for i, xy in enumerate(county.farms)]
    places += [(f"track to {s['name']}", s["geometry"].centroid) for s in county.heritage
               if s["kind"] in ("fort", "barrow", "village", "abbey")]
    out = []
    for name, point in places:
        near = shapely.ops.nearest_points(point, network)[1]
        if point.distance(near) > 20:
            out.append({"name": name, "kind": "track", "speed_kph": 25,
                        "geometry": LineString([near, point])})
    return out


def lsoa_grid(county: County) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Fictional LSOAs on a 3 km grid over the county: the grid of row numbers (-1 outside) and
    the rows (code, name, rural-urban class, grid column ``i`` and row ``j``)."""
    minx, miny, maxx, maxy = county.boundary.bounds
    step = LSOA_STEP_M
    xs = np.arange(minx, maxx, step)
    ys = np.arange(miny, maxy, step)
    rows: list[dict[str, Any]] = []
    places = [(t["name"], t["centre"], t["built_up"], "town") for t in county.towns] + [
        (v["name"], v["centre"], v["built_up"], "village") for v in county.villages
    ]
    counters: dict[str, int] = {}
    for j, y in enumerate(ys):
        for i, x in enumerate(xs):
            cell = shapely.box(x, y, x + step, y + step)
            if not cell.intersects(county.boundary):
                continue
            name, _centre, _built_up, _kind = min(
                places, key=lambda p: np.hypot(p[1][0] - x - step / 2, p[1][1] - y - step / 2))
            counters[name] = counters.get(name, 0) + 1
            code, label = _rural_urban_class(cell, places, counters[name])
            rows.append({
                "LSOA11CD": f"E0199{len(rows) + 1:04d}",
                "LSOA11NM": f"{name} {counters[name]:03d}A",
                "RUC11CD": code, "RUC11": label, "i": i, "j": j,
            })
    grid = np.full((len(ys), len(xs)), -1)
    for k, row in enumerate(rows):
        grid[row["j"], row["i"]] = k
    return grid, rows


def _rural_urban_class(cell: Polygon, places: list[tuple[Any, ...]], nth: int) -> tuple[str, str]:
    """The ONS 2011 rural-urban code and label of a cell: urban if a quarter is a town's
    built-up area, rural town if it touches a village, else alternately village and hamlet."""
    urban = any(cell.intersection(p[2]).area > 0.25 * cell.area for p in places
                if p[3] == "town")
    village = any(cell.intersects(p[2]) for p in places if p[3] == "village")
    if urban:
        return "C1", "Urban city and town"
    if village:
        return "D1", "Rural town and fringe"
    if nth % 2:
        return "E1", "Rural village"
    return "F1", "Rural hamlet and isolated dwellings"
