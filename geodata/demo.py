"""The demo force area: a fictional but plausible shire county in British National Grid.

:func:`write_demo` generates, from a seed and deterministically, everything a force would have:

- reference layers as GeoJSON (WGS84, RFC 7946): the force boundary, two market towns' town
  centres, built-up areas for the towns and a dozen villages, heritage sites (churches,
  scheduled monuments, a castle, a Roman fort), two patrol bases, a road network with speeds,
  and the ONS-style rural-urban lookup (CSV) for its fictional LSOAs;
- a force export CSV with exact date-times and grid references (the source of time-of-day
  profiles and patrol timing);
- the same incidents as data.police.uk-style monthly street-level CSVs, with what real files
  do: months only, blank Crime ID and outcome on anti-social behaviour, crimes snapped to
  shared anonymous map points, a few crimes with no location;
- the planted hotspots as ground truth (GeoJSON), for tests of the hotspot engine.

:func:`load_demo` then loads the layers and the force export into a store through the same
readers a force's own files go through. Places and people are fictional; they sit over real
map tiles only so the maps have a background.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.ops
from scipy.spatial import cKDTree
from shapely.geometry import LineString, Point, Polygon

from geodata.coords import WGS84, transform
from geodata.ingest import IngestReport, ingest
from geodata.layers import (
    BUILT_UP_AREAS,
    FORCE_BOUNDARY,
    HERITAGE_SITES,
    PATROL_BASES,
    ROADS,
    RURAL_URBAN_LOOKUP,
    TOWN_CENTRES,
    force_area,
    read_layer,
)
from geodata.readers.base import ReadOptions
from geodata.readers.force import ForceCsvReader
from geodata.schema import DEFAULT_CRS, DEFAULT_TIMEZONE
from geodata.stores.base import DEMO

log = logging.getLogger(__name__)

DEMO_SEED = 20240501
DEMO_INCIDENTS = 50_000
DEMO_FORCE = "Demo Shire Police"
DEMO_START = "2023-01-01"
DEMO_MONTHS = 24


def demo_months() -> list[str]:
    """The demo's months, ``YYYY-MM``, oldest first."""
    return [str(m) for m in pd.period_range(DEMO_START, periods=DEMO_MONTHS, freq="M")]

_CENTRE = (470_000.0, 475_000.0)

LAYER_FILES = {
    FORCE_BOUNDARY: "layers/force_boundary.geojson",
    TOWN_CENTRES: "layers/town_centres.geojson",
    BUILT_UP_AREAS: "layers/built_up_areas.geojson",
    RURAL_URBAN_LOOKUP: "layers/rural_urban_lookup.csv",
    HERITAGE_SITES: "layers/heritage_sites.geojson",
    PATROL_BASES: "layers/patrol_bases.geojson",
    ROADS: "layers/roads.geojson",
}
ROADS_FILE = LAYER_FILES[ROADS]
FORCE_EXPORT_FILE = "force-export.csv"
TRUTH_FILE = "truth/planted_hotspots.geojson"
POLICE_DIR = "police-uk"


# --- time profiles -------------------------------------------------------------------------

def _hours(*peaks: tuple[int, int, float], base: float = 0.2) -> tuple[float, ...]:
    """24 hourly weights: a floor plus bumps over [start, end) hours (wrapping midnight)."""
    w = np.full(24, base)
    for start, end, height in peaks:
        hours = range(start, end) if start < end else [*range(start, 24), *range(0, end)]
        for h in hours:
            w[h] += height
    return tuple((w / w.sum()).tolist())


DAYTIME = _hours((9, 18, 1.0), (12, 14, 0.5))
EVENING = _hours((17, 23, 1.0))
NIGHT = _hours((22, 5, 1.0), base=0.05)
NIGHTLIFE = _hours((19, 3, 1.0), (22, 2, 1.0), base=0.1)
DAWN_DUSK = _hours((5, 8, 1.0), (16, 19, 1.0), base=0.05)
ALLDAY = _hours((8, 23, 0.6), base=0.3)
WEEKDAYS = (1.0,) * 7  # relative weights, Monday first
WEEKENDS = (0.8, 0.8, 0.9, 1.0, 1.6, 2.0, 1.2)
SHOPPING = (1.0, 1.0, 1.0, 1.1, 1.3, 1.5, 0.9)


@dataclass(frozen=True)
class Kind:
    """One kind of incident: how the force and data.police.uk spell it, and when it happens."""

    force_type: str
    police_type: str
    hours: tuple[float, ...]
    weekdays: tuple[float, ...] = WEEKDAYS
    months: tuple[int, ...] = ()
    """Months (1-12) it happens in; empty means all year."""


K = {
    "shoplifting": Kind("Shoplifting", "Shoplifting", DAYTIME, SHOPPING),
    "asb_night": Kind("Anti-social behaviour", "Anti-social behaviour", NIGHTLIFE, WEEKENDS),
    "asb": Kind("Anti-social behaviour", "Anti-social behaviour", ALLDAY),
    "burglary": Kind("Burglary - residential", "Burglary", EVENING),
    "business_burglary": Kind("Burglary - business and community", "Burglary", NIGHT),
    "vehicle": Kind("Theft from a motor vehicle", "Vehicle crime", NIGHT),
    "drugs": Kind("Drug supply", "Drugs", EVENING, WEEKENDS),
    "agricultural": Kind("Agricultural theft", "Other theft", NIGHT),
    "plant": Kind("Plant and machinery theft", "Other theft", NIGHT),
    "fuel": Kind("Fuel theft", "Other theft", NIGHT),
    "livestock": Kind("Livestock worrying", "Other crime", DAYTIME, WEEKENDS),
    "lead": Kind("Lead theft", "Other theft", NIGHT),
    "heritage": Kind("Heritage crime", "Criminal damage and arson", NIGHTLIFE, WEEKENDS),
    "nighthawking": Kind("Nighthawking", "Other crime", NIGHT),
    "fly_tipping": Kind("Fly-tipping", "Anti-social behaviour", DAYTIME),
    "hare_coursing": Kind("Hare coursing", "Other crime", DAWN_DUSK, WEEKENDS,
                          (9, 10, 11, 12, 1, 2, 3)),
    "poaching": Kind("Poaching", "Other crime", NIGHT, WEEKDAYS, (10, 11, 12, 1, 2)),
    "violence": Kind("Violence and sexual offences", "Violence and sexual offences", NIGHTLIFE),
    "damage": Kind("Criminal damage and arson", "Criminal damage and arson", EVENING),
    "public_order": Kind("Public order", "Public order", NIGHTLIFE, WEEKENDS),
    "other_theft": Kind("Other theft", "Other theft", DAYTIME),
    "bicycle": Kind("Bicycle theft", "Bicycle theft", DAYTIME),
    "robbery": Kind("Robbery of personal property", "Robbery", EVENING),
    "person": Kind("Theft from the person", "Theft from the person", DAYTIME, SHOPPING),
    "weapons": Kind("Possession of weapons", "Possession of weapons", EVENING),
    "other_crime": Kind("Other crime", "Other crime", ALLDAY),
}

_OUTCOMES = (
    "Investigation complete; no suspect identified",
    "Unable to prosecute suspect",
    "Under investigation",
    "Local resolution",
    "Offender given a caution",
    "Awaiting court outcome",
)

# --- the county's places ---------------------------------------------------------------------

_TOWNS = (
    # name, centre, built-up radius, town-centre radius
    ("Thornbury", (462_500.0, 471_000.0), 2_300.0, 430.0),
    ("Elmsford", (481_000.0, 483_500.0), 1_800.0, 350.0),
)
_VILLAGES = (
    "Ashby Moor", "Little Hadley", "Kirkby Wold", "Netherfield", "Otterby", "Saxby Carr",
    "Brompton Ings", "Hutton Fold", "Westerdale End", "Coldharbour", "Fenwick", "Marston Green",
)
_SAINTS = ("St Mary", "St Wilfrid", "All Saints", "St Hilda", "St Peter", "St Andrew",
           "Holy Trinity", "St Oswald")
_STREETS = (
    "High Street", "Market Place", "Church Street", "Bridge Street", "Finkle Street",
    "Westgate", "Eastgate", "Northgate", "Station Road", "Mill Lane", "Back Lane",
    "Chapel Street", "Queen Street", "King Street", "Victoria Road", "Park Avenue",
    "Orchard Close", "Meadow Way", "Beech Grove", "Manor Road", "School Lane", "Castle Hill",
    "Priory Walk", "Springfield Road", "The Green", "Moor Lane", "Cemetery Road", "Tanner Row",
    "Hall Garth", "Kirkgate", "Ings Lane", "Dale View", "Fairfield Road", "Willow Drive",
)


@dataclass(frozen=True)
class DemoFiles:
    """Where :func:`write_demo` put everything."""

    root: Path
    force_export: Path
    police_csvs: list[Path]
    layers: dict[str, Path]
    roads: Path
    truth: Path

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the paths."""
        return {
            "root": str(self.root),
            "force_export": str(self.force_export),
            "police_csvs": [str(p) for p in self.police_csvs],
            "layers": {k: str(v) for k, v in self.layers.items()},
            "roads": str(self.roads),
            "truth": str(self.truth),
        }


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
    d = np.arange(0.0, line.length + 1e-9, step)
    return shapely.get_coordinates(shapely.line_interpolate_point(line, d))


class _County:
    """The places of the demo county, built once from the seed."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        cx, cy = _CENTRE
        self.boundary = _blob(cx, cy, 26_000.0, rng, n=96, wobble=0.35)
        inner = self.boundary.buffer(-2_500)
        self.towns: list[dict[str, Any]] = []
        for name, (tx, ty), bu_r, tc_r in _TOWNS:
            self.towns.append({
                "name": name,
                "centre": (tx, ty),
                "built_up": _blob(tx, ty, bu_r, rng),
                "town_centre": _blob(tx, ty, tc_r, rng, wobble=0.3),
            })
        self.villages: list[dict[str, Any]] = []
        for _attempt in range(200_000):
            if len(self.villages) == len(_VILLAGES):
                break
            x, y = rng.uniform(cx - 24_000, cx + 24_000), rng.uniform(cy - 24_000, cy + 24_000)
            if not inner.contains(Point(x, y)):
                continue
            if any(np.hypot(x - t["centre"][0], y - t["centre"][1]) < 6_000 for t in self.towns):
                continue
            if any(np.hypot(x - v["centre"][0], y - v["centre"][1]) < 4_000 for v in self.villages):
                continue
            name = _VILLAGES[len(self.villages)]
            self.villages.append({
                "name": name,
                "centre": (x, y),
                "built_up": _blob(x, y, rng.uniform(300, 520), rng),
            })
        if len(self.villages) < len(_VILLAGES):
            raise RuntimeError("the demo county has no room for its villages")
        self._roads()
        self._map_points()
        self._heritage()
        self._farms_and_laybys()

    def _roads(self) -> None:
        rng = self.rng
        places = [(t["name"], t["centre"]) for t in self.towns] + [
            (v["name"], v["centre"]) for v in self.villages
        ]
        self.roads: list[dict[str, Any]] = []
        joined = [0]
        for i in range(1, len(places)):  # a spanning tree: each place to its nearest joined one
            j = min(joined, key=lambda k: np.hypot(places[i][1][0] - places[k][1][0],
                                                    places[i][1][1] - places[k][1][1]))
            joined.append(i)
            (ax, ay), (bx, by) = places[j][1], places[i][1]
            mid = ((ax + bx) / 2 + rng.normal(0, 600), (ay + by) / 2 + rng.normal(0, 600))
            is_a = i == 1 or (j < 2 and i < 2)
            self.roads.append({
                "name": f"{'A' if is_a else 'B'}{1200 + 10 * i}",
                "kind": "A road" if is_a else "B road",
                "speed_kph": 80 if is_a else 60,
                "geometry": LineString([(ax, ay), mid, (bx, by)]),
            })

    def _map_points(self) -> None:
        """Anonymous map points (what data.police.uk snaps to), with their street names."""
        rng = self.rng
        pts: list[np.ndarray] = []
        names: list[str] = []
        self.streets: list[dict[str, Any]] = []
        for t in self.towns:
            tx, ty = t["centre"]
            angle = rng.uniform(0, np.pi / 2)
            c, s = np.cos(angle), np.sin(angle)
            bu: Polygon = t["built_up"]
            k = 0
            for offset in np.arange(-2_600, 2_601, 170.0):
                for direction in (0, 1):
                    ux, uy = (c, s) if direction == 0 else (-s, c)
                    ox, oy = -uy * offset, ux * offset
                    line = LineString([(tx + ox - ux * 3_000, ty + oy - uy * 3_000),
                                       (tx + ox + ux * 3_000, ty + oy + uy * 3_000)])
                    part = line.intersection(bu)
                    for seg in getattr(part, "geoms", [part]):
                        if seg.is_empty or seg.length < 100:
                            continue
                        street = _STREETS[k % len(_STREETS)]
                        k += 1
                        in_centre = seg.intersection(t["town_centre"]).length > 0
                        p = _along(seg, 35.0 if in_centre else 70.0)
                        pts.append(p)
                        names += [street] * len(p)
                        self.streets.append({"name": street, "town": t["name"], "geometry": seg,
                                             "kind": "street", "speed_kph": 30})
        for v in self.villages:
            vx, vy = v["centre"]
            a = rng.uniform(0, np.pi)
            line = LineString([(vx - 500 * np.cos(a), vy - 500 * np.sin(a)),
                               (vx + 500 * np.cos(a), vy + 500 * np.sin(a))])
            p = _along(line, 90.0)
            pts.append(p)
            names += ["Main Street"] * len(p)
        for r in self.roads:
            p = _along(r["geometry"], 450.0)
            pts.append(p)
            names += [r["name"]] * len(p)
        self.points = np.vstack(pts)
        self.point_names = np.array(names, dtype=object)

    def _add_points(self, xy: np.ndarray, name: str) -> None:
        self.points = np.vstack([self.points, xy])
        self.point_names = np.concatenate([self.point_names, np.full(len(xy), name, dtype=object)])

    def _heritage(self) -> None:
        rng = self.rng
        sites: list[dict[str, Any]] = []
        for i, v in enumerate(self.villages[: len(_SAINTS)]):
            vx, vy = v["centre"]
            grade = "Listed building, grade I" if i % 3 == 0 else "Listed building, grade II*"
            sites.append({
                "name": f"{_SAINTS[i]}{chr(39) if _SAINTS[i].endswith('s') else chr(39) + 's'} "
                        f"Church, {v['name']}",
                "designation": grade,
                "kind": "church",
                "geometry": Point(vx + rng.uniform(-120, 120), vy + rng.uniform(-120, 120)),
            })
        tx, ty = self.towns[0]["centre"]
        castle = _blob(tx + 1_350, ty + 950, 90, rng, wobble=0.15)
        sites.append({"name": "Thornbury Castle", "kind": "castle",
                      "designation": "Scheduled monument; listed building, grade I",
                      "geometry": castle})
        ex, ey = self.towns[1]["centre"]
        sites.append({"name": "Market Cross, Elmsford", "kind": "monument",
                      "designation": "Scheduled monument", "geometry": Point(ex + 40, ey - 30)})
        remote = self._remote_spots(4, min_gap=5_000)
        labels = [("Castle Dykes Roman fort", "fort"), ("Howe Hill round barrow", "barrow"),
                  ("Wharram Ings deserted medieval village", "village"),
                  ("Rievaulx Grange abbey ruins", "abbey")]
        for (x, y), (name, kind) in zip(remote, labels, strict=True):
            geom = _blob(x, y, 110, rng, wobble=0.1) if kind in ("fort", "village") else Point(x, y)
            sites.append({"name": name, "kind": kind, "designation": "Scheduled monument",
                          "geometry": geom})
        self.heritage = sites
        for s in sites:
            c = s["geometry"].centroid
            self._add_points(np.array([[c.x, c.y]]), "Place of Worship" if s["kind"] == "church"
                             else "Sports/Recreation Area")

    def _remote_spots(self, n: int, *, min_gap: float) -> list[tuple[float, float]]:
        """Points in open country: far from towns, villages and each other."""
        rng = self.rng
        inner = self.boundary.buffer(-3_000)
        out: list[tuple[float, float]] = []
        places = [t["centre"] for t in self.towns] + [v["centre"] for v in self.villages]
        for _attempt in range(200_000):
            if len(out) == n:
                return out
            x = rng.uniform(_CENTRE[0] - 24_000, _CENTRE[0] + 24_000)
            y = rng.uniform(_CENTRE[1] - 24_000, _CENTRE[1] + 24_000)
            if not inner.contains(Point(x, y)):
                continue
            if min(np.hypot(x - px, y - py) for px, py in places) < 3_000:
                continue
            if any(np.hypot(x - ox, y - oy) < min_gap for ox, oy in out):
                continue
            out.append((x, y))
        if len(out) < n:
            raise RuntimeError(f"the demo county has no room for {n} remote places")
        return out

    def _farms_and_laybys(self) -> None:
        rng = self.rng
        self.farms = self._remote_spots(30, min_gap=1_500)
        self._add_points(np.array(self.farms), "Farm/Agricultural Area")
        road = max(self.roads[1:], key=lambda r: r["geometry"].length)
        d = np.sort(rng.uniform(0.1, 0.9, 6)) * road["geometry"].length
        laybys = shapely.get_coordinates(shapely.line_interpolate_point(road["geometry"], d))
        self.laybys = [(float(x) + 15, float(y) + 15) for x, y in laybys]
        self._add_points(np.array(self.laybys), "Parking Area")
        self.layby_road = road["name"]


def _tracks(county: Any, roads: list[dict[str, Any]]) -> list[dict[str, Any]]:
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


@dataclass(frozen=True)
class _Planted:
    """A planted hotspot: where, how spread, what and how many (at 50,000 incidents)."""

    name: str
    kind: str
    centre: tuple[float, float]
    sd_m: float
    count: int
    context: str
    place: str


def _planted(county: _County) -> list[_Planted]:
    t, e = county.towns
    tx, ty = t["centre"]
    ex, ey = e["centre"]
    churches = [s for s in county.heritage if s["kind"] == "church"][:3]
    castle = next(s for s in county.heritage if s["kind"] == "castle")
    fort = next(s for s in county.heritage if s["kind"] == "fort")
    farm_cluster = county.farms[:3]
    out = [
        _Planted("Thornbury High Street shoplifting", "shoplifting", (tx + 60, ty - 40), 70, 4000,
                 "town_centre", "Thornbury"),
        _Planted("Thornbury Market Place night-time economy", "asb_night", (tx - 180, ty + 120),
                 60, 2500, "town_centre", "Thornbury"),
        _Planted("Elmsford town centre shoplifting", "shoplifting", (ex - 50, ey + 30), 60, 1800,
                 "town_centre", "Elmsford"),
        _Planted("Elmsford town centre evenings", "asb_night", (ex + 120, ey - 90), 55, 1200,
                 "town_centre", "Elmsford"),
        _Planted("Thornbury retail park", "shoplifting", (tx - 1_600, ty - 900), 90, 1500,
                 "urban", "Thornbury"),
        _Planted("Elmsford Meadows estate burglary", "burglary", (ex + 900, ey + 700), 160, 900,
                 "urban", "Elmsford"),
        _Planted("Thornbury Springfield estate vehicle crime", "vehicle", (tx + 700, ty - 1_300),
                 150, 800, "urban", "Thornbury"),
        _Planted("Elmsford station drug supply", "drugs", (ex - 800, ey - 600), 80, 400,
                 "urban", "Elmsford"),
        _Planted("Thornbury Castle damage", "heritage", castle["geometry"].centroid.coords[0], 50,
                 150, "heritage_site", castle["name"]),
        _Planted("Roman fort nighthawking", "nighthawking", fort["geometry"].centroid.coords[0],
                 60, 60, "heritage_site", fort["name"]),
    ]
    out += [
        _Planted(f"Lead theft, {c['name']}", "lead", c["geometry"].coords[0], 30, 60,
                 "heritage_site", c["name"])
        for c in churches
    ]
    out += [
        _Planted(f"Farm thefts near {county.villages[0]['name']} ({i + 1})",
                 ("agricultural", "plant", "fuel")[i], xy, 60, (200, 150, 100)[i], "rural",
                 "farmland")
        for i, xy in enumerate(farm_cluster)
    ]
    out.append(_Planted("Livestock worrying", "livestock", county.farms[4], 120, 100, "rural",
                        "farmland"))
    out += [
        _Planted(f"Fly-tipping, lay-by {i + 1} on the {county.layby_road}", "fly_tipping", xy, 25,
                 90, "rural", county.layby_road)
        for i, xy in enumerate(county.laybys)
    ]
    wild = county._remote_spots(2, min_gap=6_000)
    out.append(_Planted("Hare coursing on the open fields", "hare_coursing", wild[0], 200, 250,
                        "rural", "open country"))
    out.append(_Planted("Deer poaching in the woods", "poaching", wild[1], 150, 150, "rural",
                        "open country"))
    return out


_BACKGROUND = {
    "violence": 11_000, "asb": 7_000, "damage": 4_000, "other_theft": 3_000,
    "public_order": 2_500, "burglary": 2_000, "vehicle": 1_800, "business_burglary": 600,
    "bicycle": 800, "drugs": 800, "person": 500, "robbery": 300, "weapons": 300,
    "other_crime": 470,
}


def _times(kind: Kind, n: int, rng: np.random.Generator, growth: float) -> pd.DatetimeIndex:
    """Local (naive) date-times for ``n`` incidents of a kind over the demo period."""
    days = pd.date_range(DEMO_START, periods=DEMO_MONTHS, freq="MS")
    all_days = pd.date_range(days[0], days[-1] + pd.offsets.MonthEnd(0), freq="D")
    w = np.asarray(kind.weekdays)[all_days.day_of_week.to_numpy()]
    if kind.months:
        w = w * np.isin(all_days.month.to_numpy(), kind.months)
    frac = np.linspace(0, 1, len(all_days))
    season = 1 + 0.15 * np.sin(2 * np.pi * (all_days.day_of_year.to_numpy() - 80) / 365)
    w = w * (1 + growth * frac) * season
    day = rng.choice(len(all_days), size=n, p=w / w.sum())
    hour = rng.choice(24, size=n, p=np.asarray(kind.hours))
    minute = rng.integers(0, 60, size=n)
    return pd.DatetimeIndex(all_days[day] + pd.to_timedelta(hour * 60 + minute, unit="min"))


def _incidents(county: _County, n_total: int) -> tuple[pd.DataFrame, list[_Planted]]:
    rng = county.rng
    scale = n_total / DEMO_INCIDENTS
    planted = _planted(county)
    frames: list[pd.DataFrame] = []
    for k, p in enumerate(planted):
        n = max(20, round(p.count * scale))
        xy = rng.normal(p.centre, p.sd_m, size=(n, 2))
        growth = (0.6, -0.3, 0.0)[k % 3]
        frames.append(pd.DataFrame({
            "kind": p.kind, "x": xy[:, 0], "y": xy[:, 1],
            "when": _times(K[p.kind], n, rng, growth), "planted": p.name,
        }))
    n_background = max(0, n_total - sum(len(f) for f in frames))
    weights = np.array(list(_BACKGROUND.values()), dtype=float)
    kinds = rng.choice(list(_BACKGROUND), size=n_background, p=weights / weights.sum())
    town_pts = np.flatnonzero(np.isin(county.point_names, _STREETS))
    village_pts = np.flatnonzero(county.point_names == "Main Street")
    rural_pts = np.flatnonzero(~np.isin(county.point_names, (*_STREETS, "Main Street")))
    where = rng.choice(3, size=n_background, p=[0.66, 0.24, 0.10])
    idx = np.where(
        where == 0, rng.choice(town_pts, n_background),
        np.where(where == 1, rng.choice(village_pts, n_background), rng.choice(rural_pts, n_background)),
    )
    xy = county.points[idx] + rng.normal(0, 45, size=(n_background, 2))
    for kind in _BACKGROUND:
        sel = np.flatnonzero(kinds == kind)
        if sel.size:
            frames.append(pd.DataFrame({
                "kind": kind, "x": xy[sel, 0], "y": xy[sel, 1],
                "when": _times(K[kind], sel.size, rng, 0.0), "planted": "",
            }))
    df = pd.concat(frames, ignore_index=True)
    inside = shapely.contains_xy(county.boundary, df["x"].to_numpy(), df["y"].to_numpy())
    df = df[inside].sort_values(["when", "x"], kind="stable").reset_index(drop=True)
    df["incident_id"] = [f"DS-{i + 1:06d}" for i in range(len(df))]
    return df, planted


def _write_geojson(path: Path, frame: gpd.GeoDataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    wgs = frame.to_crs(WGS84)
    wgs = wgs.set_geometry(shapely.set_precision(wgs.geometry.values, 1e-6))
    data = wgs.to_geo_dict(drop_id=True)
    path.write_text(json.dumps(data, separators=(",", ":")), "utf-8")


def _lsoas(county: _County) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Fictional LSOAs on a 3 km grid: codes, names and rural-urban classes."""
    minx, miny, maxx, maxy = county.boundary.bounds
    step = 3_000.0
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
            name, _c, _b, _kind = min(places, key=lambda p: np.hypot(p[1][0] - x - step / 2,
                                                                     p[1][1] - y - step / 2))
            counters[name] = counters.get(name, 0) + 1
            urban = any(cell.intersection(p[2]).area > 0.25 * cell.area for p in places
                        if p[3] == "town")
            village = any(cell.intersects(p[2]) for p in places if p[3] == "village")
            code, label = ("C1", "Urban city and town") if urban else (
                ("D1", "Rural town and fringe") if village else
                ("E1", "Rural village") if counters[name] % 2 else
                ("F1", "Rural hamlet and isolated dwellings"))
            rows.append({
                "LSOA11CD": f"E0199{len(rows) + 1:04d}",
                "LSOA11NM": f"{name} {counters[name]:03d}A",
                "RUC11CD": code, "RUC11": label, "i": i, "j": j,
            })
    grid = np.full((len(ys), len(xs)), -1)
    for k, r in enumerate(rows):
        grid[r["j"], r["i"]] = k
    return grid, rows


def write_demo(
    root: str | Path,
    *,
    seed: int = DEMO_SEED,
    incidents: int = DEMO_INCIDENTS,
    progress: Callable[[str], None] | None = None,
) -> DemoFiles:
    """Generate the demo force area's files under ``root`` (deterministic for a seed).

    Parameters
    ----------
    root
        Folder to write into (created).
    seed
        Seed of the random generator: the same seed gives the same files.
    incidents
        About how many incidents over the 24 months (the planted hotspots scale with it).
    progress
        Called with a short message as each part is written.
    """
    say = progress or (lambda _m: None)
    root = Path(root)
    rng = np.random.default_rng(seed)
    say("laying out the county")
    county = _County(rng)
    crs = DEFAULT_CRS
    layers = {k: root / v for k, v in LAYER_FILES.items()}
    _write_geojson(layers[FORCE_BOUNDARY], gpd.GeoDataFrame(
        {"name": ["Demo Shire"]}, geometry=[county.boundary], crs=crs))
    _write_geojson(layers[TOWN_CENTRES], gpd.GeoDataFrame(
        {"name": [t["name"] for t in county.towns]},
        geometry=[t["town_centre"] for t in county.towns], crs=crs))
    places = county.towns + county.villages
    _write_geojson(layers[BUILT_UP_AREAS], gpd.GeoDataFrame(
        {"name": [p["name"] for p in places],
         "kind": ["town"] * len(county.towns) + ["village"] * len(county.villages)},
        geometry=[p["built_up"] for p in places], crs=crs))
    _write_geojson(layers[HERITAGE_SITES], gpd.GeoDataFrame(
        [{k: v for k, v in s.items() if k != "geometry"} for s in county.heritage],
        geometry=[s["geometry"] for s in county.heritage], crs=crs))
    tx, ty = county.towns[0]["centre"]
    ex, ey = county.towns[1]["centre"]
    _write_geojson(layers[PATROL_BASES], gpd.GeoDataFrame(
        {"name": ["Thornbury Police Station", "Elmsford Rural Crime Hub"],
         "team": ["town_centre", "rural_crime_team"]},
        geometry=[Point(tx + 150, ty + 260), Point(ex - 500, ey + 420)], crs=crs))
    roads = [*county.roads, *county.streets]
    roads += _tracks(county, roads)
    roads_path = root / ROADS_FILE
    _write_geojson(roads_path, gpd.GeoDataFrame(
        [{k: v for k, v in r.items() if k != "geometry"} for r in roads],
        geometry=[r["geometry"] for r in roads], crs=crs))
    grid, lsoas = _lsoas(county)
    layers[RURAL_URBAN_LOOKUP].parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(lsoas)[["LSOA11CD", "LSOA11NM", "RUC11CD", "RUC11"]].to_csv(
        layers[RURAL_URBAN_LOOKUP], index=False)

    say(f"generating {incidents:,} incidents")
    df, planted = _incidents(county, incidents)
    minx, miny = county.boundary.bounds[:2]
    gi = np.clip(((df["y"] - miny) // 3_000).astype(int), 0, grid.shape[0] - 1)
    gj = np.clip(((df["x"] - minx) // 3_000).astype(int), 0, grid.shape[1] - 1)
    cell = grid[gi.to_numpy(), gj.to_numpy()]
    lsoa_code = np.array([lsoas[c]["LSOA11CD"] if c >= 0 else "" for c in cell], dtype=object)
    lsoa_name = np.array([lsoas[c]["LSOA11NM"] if c >= 0 else "" for c in cell], dtype=object)
    tree = cKDTree(county.points)
    _d, nearest = tree.query(df[["x", "y"]].to_numpy())
    street = county.point_names[nearest]
    kinds = df["kind"].to_numpy()
    is_asb = np.isin(kinds, [k for k, v in K.items() if v.police_type == "Anti-social behaviour"])
    outcome = np.where(is_asb, "", rng.choice(_OUTCOMES, size=len(df)))
    force_type = np.array([K[k].force_type for k in kinds], dtype=object)
    police_type = np.array([K[k].police_type for k in kinds], dtype=object)

    say("writing the force export")
    export = pd.DataFrame({
        "incident_id": df["incident_id"],
        "occurred_at": df["when"].dt.strftime("%Y-%m-%dT%H:%M:%S"),
        "crime_type": force_type,
        "easting": df["x"].round(0).astype(int),
        "northing": df["y"].round(0).astype(int),
        "location": street,
        "lsoa_code": lsoa_code,
        "outcome": outcome,
    })
    force_export = root / FORCE_EXPORT_FILE
    export.to_csv(force_export, index=False, lineterminator="\n")

    say("writing data.police.uk-style monthly files")
    snapped = county.points[nearest]
    lon, lat, _info = transform(snapped[:, 0], snapped[:, 1], crs, WGS84)
    month = df["when"].dt.strftime("%Y-%m").to_numpy()
    no_location = rng.random(len(df)) < 0.007
    crime_id = np.array(
        ["" if a else hashlib.sha256(f"demo-shire:{i}".encode()).hexdigest()
         for a, i in zip(is_asb, df["incident_id"], strict=True)], dtype=object)
    police_dir = root / POLICE_DIR
    police_dir.mkdir(parents=True, exist_ok=True)
    police_csvs: list[Path] = []
    for m in sorted(set(month.tolist())):
        sel = np.flatnonzero(month == m)
        path = police_dir / f"{m}-demo-shire-street.csv"
        with path.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["Crime ID", "Month", "Reported by", "Falls within", "Longitude",
                        "Latitude", "Location", "LSOA code", "LSOA name", "Crime type",
                        "Last outcome category", "Context"])
            for i in sel.tolist():
                gone = bool(no_location[i])
                w.writerow([
                    crime_id[i], m, DEMO_FORCE, DEMO_FORCE,
                    "" if gone else f"{lon[i]:.6f}", "" if gone else f"{lat[i]:.6f}",
                    "No Location" if gone else f"On or near {street[i]}",
                    "" if gone else lsoa_code[i], "" if gone else lsoa_name[i],
                    police_type[i], outcome[i], "",
                ])
        police_csvs.append(path)

    say("writing the planted hotspots (ground truth)")
    truth = root / TRUTH_FILE
    counts = df.loc[df["planted"] != "", "planted"].value_counts()
    _write_geojson(truth, gpd.GeoDataFrame(
        [{"name": p.name, "kind": p.kind, "category_type": K[p.kind].force_type,
          "context_class": p.context, "place": p.place, "sd_m": p.sd_m,
          "incidents": int(counts.get(p.name, 0)),
          "x": round(p.centre[0], 1), "y": round(p.centre[1], 1)} for p in planted],
        geometry=[Point(p.centre).buffer(2 * p.sd_m, 16) for p in planted], crs=crs))
    (root / "README.md").write_text(_README.format(n=len(df), seed=seed), "utf-8")
    return DemoFiles(root=root, force_export=force_export, police_csvs=police_csvs,
                     layers=layers, roads=roads_path, truth=truth)


def load_demo(
    store: Any,
    files: DemoFiles,
    *,
    on_progress: Callable[[int, int | None], None] | None = None,
) -> IngestReport:
    """Load the demo's layers and force export into a store through the normal readers.

    Raises
    ------
    StorePurposeError
        If the store holds a force's data: the demo lives in its own store.
    """
    store.claim_purpose(DEMO)
    for kind, path in files.layers.items():
        store.put_layer(read_layer(kind, path, force_crs=store.crs), purpose=DEMO)
    options = ReadOptions(area=force_area(store, 2_000.0), crs=store.crs,
                          timezone=DEFAULT_TIMEZONE)
    reader = ForceCsvReader(files.force_export, options=options)
    return ingest(store, reader, purpose=DEMO, on_progress=on_progress)


_README = """# Demo Shire: a fictional force area

Generated by `hotspot demo` (seed {seed}); {n:,} incidents from January 2023 to December 2024.
Every place, street and incident here is fictional; the county sits over real map tiles only
so maps have a background.

- `force-export.csv`: the force's own export, exact date-times and grid references (EPSG:27700).
- `police-uk/`: the same incidents as data.police.uk-style street-level CSVs, one per month:
  months only, blank Crime ID on anti-social behaviour, crimes snapped to shared map points,
  a few crimes with no location. Load them into a force store with `hotspot ingest`.
- `layers/`: force boundary, town centres, built-up areas, heritage sites, patrol bases,
  roads (with speeds) as GeoJSON (WGS84), and the rural-urban lookup (ONS 2011 layout).
- `truth/planted_hotspots.geojson`: the hotspots planted in the data (ground truth).
"""
