"""What the demo plants for the plan's priorities (issue 16), each recorded in
``truth/plants.json`` so tests can check every figure against a hand count.

- **A rising burglary series**: residential burglary on an estate of Thornbury, each month of
  the second year :data:`BURGLARY_RISE` times the same month of the first;
- **a flat group**: robbery, as many in each month of the second year as in the same month of
  the first (made by :func:`flat_years` from the background's robbery);
- **persistent anti-social behaviour**: repeat locations (one exact address each, at a map point
  of its own) with anti-social behaviour in most of the last 12 months, and one in only a few;
- **a cross-border cluster**: farm and machinery thefts straddling the force boundary, the
  force's part in the force's files and the neighbour's part in a neighbouring force's
  data.police.uk-style files (written by :mod:`geodata.demo.neighbour`);
- **partner submissions**: shops in the town centres reporting thefts and abuse of staff
  (written as ``business-reports.csv``).

Positions are British National Grid metres (EPSG:27700); times local and naive (the force's
clock). The plants are drawn from their own generator (spawned from the demo's), so they leave
the rest of the demo's draws as they were.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree
from shapely.geometry import Point

from geodata.demo.county import STREETS, VILLAGE_STREET, County
from geodata.demo.kinds import KINDS, Kind

BURGLARY_SERIES = "Thornbury Hollins estate burglary series"
BURGLARY_PLACE = "Thornbury"
BURGLARY_RISE = 1.8
"""Each month of the second year has this many times the series' burglaries of the same month
of the first (rounded)."""
BURGLARY_PER_MONTH = 50.0
"""The series' mean burglaries a month in the first year (at 50,000 incidents)."""
BURGLARY_LEAST_PER_MONTH = 20.0
"""... and at least this many in a smaller demo, so a quarter's rise is more than chance there
too."""
FLAT_KIND = "robbery"
"""The kind whose every month of the second year matches the same month of the first."""
FLAT_ODD_KIND = "person"
"""What a robbery left over by :func:`flat_years` becomes (a theft from the person)."""
BORDER_CLUSTER = "Farm and machinery thefts across the Westmarch border"
NEIGHBOUR_FORCE = "Westmarch Police"
NEIGHBOUR_DUPLICATES = 4
"""Rows of the neighbour's files that are the force's own incidents (the same Crime ID as the
force's export): loading must not count them twice."""
ASB_LAST_MONTHS = 12
"""Persistence is counted over the demo's last this many months."""

_HOLLINS_OFFSET = (-900.0, 1_100.0)
"""Where the estate is from Thornbury's centre, metres."""


@dataclass(frozen=True)
class AsbPlace:
    """A persistent (or not) anti-social behaviour place: where, and months it has ASB."""

    place: str
    """The town or village."""
    area: str
    """``town`` (a side street outside the town centre), ``village`` (its main street) or
    ``church`` (the village church's map point)."""
    active_last_year: int
    """How many of the last 12 months have anti-social behaviour here."""
    active_year_before: int


ASB_PLACES = (
    AsbPlace("Thornbury", "town", 12, 9),
    AsbPlace("Elmsford", "town", 11, 8),
    AsbPlace("Netherfield", "village", 12, 7),
    AsbPlace("Otterby", "church", 10, 6),
    AsbPlace("Elmsford", "town", 3, 0),
)
"""The places: four persistent (10-12 of the last 12 months), the last not (3 months, in the
summer, none the year before)."""

BUSINESSES = (
    # name, town, offset from the town's shoplifting hotspot (metres)
    ("Hallam's Pharmacy", "Thornbury", (-40.0, 25.0)),
    ("Thornbury Co-operative Food", "Thornbury", (55.0, -30.0)),
    ("Pennine Outdoor Store", "Thornbury", (10.0, 70.0)),
    ("Castle Street Wines", "Thornbury", (-75.0, -55.0)),
    ("Elmsford Convenience Store", "Elmsford", (20.0, -25.0)),
    ("Marsden Home and Garden", "Elmsford", (-60.0, 40.0)),
)
"""The partnership's shops (fictional), beside the town-centre shoplifting hotspots."""
BUSINESS_REPORTS = 48
_THEFT_NOTES = (
    "Items taken from a display near the door; the person left on foot.",
    "Two people filled a bag from the shelves and walked out without paying.",
    "Goods concealed in a coat; staff challenged and the person left.",
    "Repeat visit by the same person seen last week; stock taken from the aisle.",
)
_ABUSE_NOTES = (
    "Member of staff verbally abused when asked to leave.",
    "Customer refused service became threatening at the till.",
    "Staff sworn at and a display knocked over on the way out.",
)


@dataclass
class Plants:
    """The plants drawn for one demo: the force's incidents (``kind``, ``x``, ``y``, ``when``,
    ``planted``), the neighbour's incidents and the partner submissions (frames in British
    National Grid metres, local naive times), and what each is (for the truth file)."""

    burglary: pd.DataFrame
    """The rising burglary series."""
    border_force: pd.DataFrame
    """The force's part of the cross-border cluster (inside the boundary)."""
    neighbour: pd.DataFrame
    """The neighbour's incidents outside the force boundary: ``police_type``, ``x``, ``y``,
    ``when``, ``planted`` (the cluster's name or "")."""
    business: pd.DataFrame
    """The partnership's submissions: ``when``, ``x``, ``y``, ``type``, ``value_pence``,
    ``business``, ``description``."""
    asb_plan: list[tuple[AsbPlace, pd.DatetimeIndex]]
    """Each anti-social behaviour place and the times of its reports."""
    border_centre: tuple[float, float]
    asb: pd.DataFrame = field(default_factory=pd.DataFrame)
    """The anti-social behaviour places' reports, once :func:`place_asb` placed them."""
    asb_places: list[dict[str, Any]] = field(default_factory=list)
    """Where each place is (name, map point, address), once :func:`place_asb` placed them."""

    def force_count(self) -> int:
        """How many of the force's incidents the plants add."""
        return len(self.burglary) + len(self.border_force) + sum(len(t) for _p, t in self.asb_plan)


def months_of(start: str, n: int) -> list[pd.Period]:
    """``n`` months from ``start`` (``YYYY-MM``)."""
    return list(pd.period_range(start, periods=n, freq="M"))


def times_in_months(kind: Kind, counts: dict[pd.Period, int],
                    rng: np.random.Generator) -> pd.DatetimeIndex:
    """Local date-times: ``counts[m]`` in each month ``m``, on days weighted by the kind's
    weekdays, at its hours."""
    out: list[pd.Timestamp] = []
    for month, n in counts.items():
        if n <= 0:
            continue
        days = pd.date_range(month.start_time, month.end_time.normalize(), freq="D")
        weights = np.asarray(kind.weekdays)[days.day_of_week.to_numpy()]
        day = rng.choice(len(days), size=n, p=weights / weights.sum())
        hour = rng.choice(24, size=n, p=np.asarray(kind.hours))
        minute = rng.integers(0, 60, size=n)
        out += list(days[day] + pd.to_timedelta(hour * 60 + minute, unit="min"))
    return pd.DatetimeIndex(sorted(out))


def flat_years(frame: pd.DataFrame, first_year: int, *, odd_kind: str) -> pd.DataFrame:
    """The frame with its times moved so each month of ``first_year + 1`` has exactly as many
    rows as the same month of ``first_year``: within each calendar month the rows (in time
    order) go alternately to the first and second year, an odd last one becoming ``odd_kind``
    (so the demo keeps its size); day, hour and minute are kept (29 February becomes the 28th
    in a common year)."""
    when = pd.DatetimeIndex(frame["when"])
    order = np.lexsort((when.asi8, when.month.to_numpy()))
    frame = frame.iloc[order].reset_index(drop=True)
    when = pd.DatetimeIndex(frame["when"])
    month = when.month.to_numpy()
    rank = frame.groupby(month).cumcount().to_numpy()
    size = pd.Series(month).map(pd.Series(month).value_counts()).to_numpy()
    keep = rank < size - size % 2
    year = first_year + rank % 2
    day = np.minimum(when.day.to_numpy(),
                     pd.to_datetime(pd.DataFrame({"year": year, "month": month, "day": 1}))
                     .dt.days_in_month.to_numpy())
    moved = pd.to_datetime(pd.DataFrame({
        "year": year, "month": month, "day": day, "hour": when.hour.to_numpy(),
        "minute": when.minute.to_numpy()}))
    frame["when"] = moved.to_numpy()
    frame.loc[~keep, "kind"] = odd_kind
    return frame


def draw_plants(county: County, scale: float, months: list[pd.Period],
                rng: np.random.Generator) -> Plants:
    """Draw the plants (all but where the anti-social behaviour places are: that needs the
    other incidents, :func:`place_asb`). ``scale`` is the demo's incidents over 50,000;
    ``months`` the demo's (two whole years)."""
    first, second = months[:12], months[12:24]
    burglary = _burglary_series(county, scale, first, second, rng)
    border_force, neighbour, centre = _border_cluster(county, scale, months, rng)
    asb_plan = []
    for p in ASB_PLACES:
        counts: dict[pd.Period, int] = {}
        for year, active in ((first, p.active_year_before), (second, p.active_last_year)):
            on = (sorted(rng.choice(12, size=active, replace=False).tolist())
                  if p.active_last_year > 3 else [5, 6, 7][:active])
            for i in on:
                counts[year[i]] = 1 + int(rng.poisson(1.4))
        asb_plan.append((p, times_in_months(KINDS["asb"], counts, rng)))
    business = _business_reports(county, months[-3:], rng)
    return Plants(burglary=burglary, border_force=border_force, neighbour=neighbour,
                  business=business, asb_plan=asb_plan, border_centre=centre)


def _burglary_series(county: County, scale: float, first: list[pd.Period],
                     second: list[pd.Period], rng: np.random.Generator) -> pd.DataFrame:
    """The series: Poisson counts each month of the first year (a gentle summer season), each
    month of the second :data:`BURGLARY_RISE` times it; spread 220 m around the estate."""
    kind = KINDS["burglary"]
    season = 1 + 0.15 * np.sin(2 * np.pi * (np.arange(1, 13) - 3.5) / 12)
    before = rng.poisson(max(BURGLARY_PER_MONTH * scale, BURGLARY_LEAST_PER_MONTH) * season)
    counts = {m: int(n) for m, n in zip(first, before, strict=True)}
    counts |= {m: round(BURGLARY_RISE * int(n)) for m, n in zip(second, before, strict=True)}
    when = times_in_months(kind, counts, rng)
    tx, ty = county.towns[0]["centre"]
    centre = (tx + _HOLLINS_OFFSET[0], ty + _HOLLINS_OFFSET[1])
    xy = rng.normal(centre, 220.0, size=(len(when), 2))
    return pd.DataFrame({"kind": "burglary", "x": xy[:, 0], "y": xy[:, 1], "when": when,
                         "planted": BURGLARY_SERIES})


def burglary_centre(county: County) -> tuple[float, float]:
    """The Hollins estate's centre, metres."""
    tx, ty = county.towns[0]["centre"]
    return tx + _HOLLINS_OFFSET[0], ty + _HOLLINS_OFFSET[1]


def border_point(county: County) -> tuple[float, float]:
    """The point of the force boundary nearest the first village (Ashby Moor), metres."""
    village = Point(county.villages[0]["centre"])
    near = county.boundary.exterior.interpolate(county.boundary.exterior.project(village))
    return float(near.x), float(near.y)


def _border_cluster(county: County, scale: float, months: list[pd.Period],
                    rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame,
                                                       tuple[float, float]]:
    """Farm and machinery thefts 350 m around a point of the boundary: those inside are the
    force's, those outside the neighbour's; and the neighbour's thin background within 6 km
    outside the boundary and 9 km of the cluster."""
    cx, cy = border_point(county)
    n = max(80, round(240 * scale))
    xy = rng.normal((cx, cy), 350.0, size=(n, 2))
    kinds = rng.choice(["plant", "agricultural", "fuel"], size=n, p=[0.4, 0.4, 0.2])
    start = months[0].start_time
    days = (months[-1].end_time.normalize() - start).days + 1
    when = (start + pd.to_timedelta(rng.integers(0, days, n), unit="D")
            + pd.to_timedelta(rng.choice(24, size=n, p=np.asarray(KINDS["plant"].hours)) * 60
                              + rng.integers(0, 60, n), unit="min"))
    inside = shapely.contains_xy(county.boundary, xy[:, 0], xy[:, 1])
    force = pd.DataFrame({"kind": kinds[inside], "x": xy[inside, 0], "y": xy[inside, 1],
                          "when": when[inside], "planted": BORDER_CLUSTER})
    theirs = pd.DataFrame({"police_type": [KINDS[k].police_type for k in kinds[~inside]],
                           "x": xy[~inside, 0], "y": xy[~inside, 1], "when": when[~inside],
                           "planted": BORDER_CLUSTER})
    ring = county.boundary.buffer(6_000).difference(county.boundary.buffer(150))
    strip = ring.intersection(Point(cx, cy).buffer(9_000))
    n_bg = max(120, round(700 * scale))
    bg = _points_in(strip, n_bg, rng)
    types = rng.choice(list(_NEIGHBOUR_TYPES), size=n_bg,
                       p=np.array(list(_NEIGHBOUR_TYPES.values())) / sum(_NEIGHBOUR_TYPES.values()))
    bg_when = start + pd.to_timedelta(rng.integers(0, days, n_bg), unit="D")
    background = pd.DataFrame({"police_type": types, "x": bg[:, 0], "y": bg[:, 1],
                               "when": bg_when, "planted": ""})
    neighbour = pd.concat([theirs, background], ignore_index=True)
    return force, neighbour, (cx, cy)


_NEIGHBOUR_TYPES = {
    "Anti-social behaviour": 20, "Violence and sexual offences": 25, "Criminal damage and arson": 10,
    "Other theft": 12, "Burglary": 8, "Vehicle crime": 8, "Public order": 7, "Other crime": 5,
    "Drugs": 5,
}
"""The neighbour's background: data.police.uk types and their relative weights."""


def _points_in(area: Any, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` points uniform in a polygon, (n, 2) metres."""
    minx, miny, maxx, maxy = area.bounds
    out: list[np.ndarray] = []
    got = 0
    while got < n:
        xy = rng.uniform((minx, miny), (maxx, maxy), size=(4 * n, 2))
        xy = xy[shapely.contains_xy(area, xy[:, 0], xy[:, 1])]
        out.append(xy)
        got += len(xy)
    return np.vstack(out)[:n]


def place_asb(plants: Plants, county: County, others: pd.DataFrame) -> pd.DataFrame:
    """Where the anti-social behaviour places are, chosen from the map points (deterministic):
    in each place the map point with the fewest other anti-social behaviour reports within
    150 m over the last 12 months, away from the planted hotspots; every report there at one
    exact address a few metres from it. Sets :attr:`Plants.asb` and
    :attr:`Plants.asb_places`; returns the frame."""
    asb_kinds = [k for k, v in KINDS.items() if v.police_type == "Anti-social behaviour"]
    last = pd.DatetimeIndex(others["when"]).max().to_period("M") - (ASB_LAST_MONTHS - 1)
    every = others[others["kind"].isin(asb_kinds).to_numpy()]
    recent = every[(pd.DatetimeIndex(every["when"]).to_period("M") >= last)]
    tree = cKDTree(recent[["x", "y"]].to_numpy()) if len(recent) else None
    close = cKDTree(every[["x", "y"]].to_numpy()) if len(every) else None
    _d, snapped = cKDTree(county.points).query(recent[["x", "y"]].to_numpy())
    at_point = pd.Series(pd.DatetimeIndex(recent["when"]).month.to_numpy()).groupby(
        snapped).nunique()
    point_months = np.zeros(len(county.points), dtype=int)
    point_months[at_point.index.to_numpy()] = at_point.to_numpy()
    planted = others.loc[others["planted"] != "", ["x", "y"]].to_numpy()
    planted_tree = cKDTree(planted) if len(planted) else None
    frames: list[pd.DataFrame] = []
    rows: list[dict[str, Any]] = []
    chosen: list[int] = []
    for (p, when), rng_offset in zip(plants.asb_plan, _OFFSETS, strict=True):
        index, name = _asb_point(p, county, (tree, close, planted_tree, point_months), chosen)
        chosen.append(index)
        px, py = county.points[index]
        x, y = round(px + rng_offset[0]), round(py + rng_offset[1])
        label = f"{name}, {p.place}"
        frames.append(pd.DataFrame({"kind": "asb", "x": float(x), "y": float(y), "when": when,
                                    "planted": label}))
        rows.append({"name": label, "place": p.place, "point": index,
                     "street": str(county.point_names[index]), "x": x, "y": y,
                     "point_x": float(px), "point_y": float(py),
                     "persistent": p.active_last_year >= 10})
    plants.asb = pd.concat(frames, ignore_index=True)
    plants.asb_places = rows
    return plants.asb


_OFFSETS = ((6.0, -4.0), (-5.0, 7.0), (4.0, 5.0), (-6.0, -3.0), (3.0, -6.0))
"""Each address's offset from its map point, metres (well under half the points' spacing)."""


def _asb_point(p: AsbPlace, county: County,
               others: tuple[cKDTree | None, cKDTree | None, cKDTree | None, np.ndarray],
               taken: list[int]) -> tuple[int, str]:
    """The map point of an anti-social behaviour place and the place's name: of the place's
    map points (400 m from those already taken, 500 m from planted hotspots where it can be),
    the one with the fewest other anti-social behaviour reports within 20 m ever (so the
    address is its own), then the fewest months of them snapped to it over the last 12
    months, then the fewest within 150 m."""
    tree, close, planted_tree, point_months = others
    names = county.point_names
    xy = county.points
    if p.area == "town":
        town = next(t for t in county.towns if t["name"] == p.place)
        used = [str(names[t]) for t in taken if town["built_up"].contains(Point(xy[t]))]
        ok = (np.isin(names, STREETS[2:])  # not a "High Street" out in the estates
              & ~np.isin(names, used)  # one place to a street's name in a town
              & shapely.contains_xy(town["built_up"], xy[:, 0], xy[:, 1])
              & ~shapely.contains_xy(town["town_centre"].buffer(300), xy[:, 0], xy[:, 1]))
    elif p.area == "village":
        village = next(v for v in county.villages if v["name"] == p.place)
        ok = (names == VILLAGE_STREET) & shapely.contains_xy(village["built_up"].buffer(100),
                                                             xy[:, 0], xy[:, 1])
    else:  # the village's church
        church = next(s for s in county.heritage
                      if s["kind"] == "church" and s["name"].endswith(f", {p.place}"))
        c = church["geometry"].centroid
        ok = np.hypot(xy[:, 0] - c.x, xy[:, 1] - c.y) < 1.0
    for t in taken:
        ok &= np.hypot(xy[:, 0] - xy[t, 0], xy[:, 1] - xy[t, 1]) > 400
    gap, _i = cKDTree(xy).query(xy, k=2)
    ok &= gap[:, 1] > 20  # not at a crossing: the address snaps to this point, no other
    candidates = np.flatnonzero(ok)
    if planted_tree is not None and p.area != "church":
        near, _ = planted_tree.query(xy[candidates], k=1)
        far = candidates[near > 500]
        candidates = far if len(far) else candidates
    busy = (np.array([len(n) for n in tree.query_ball_point(xy[candidates], 150.0)])
            if tree is not None else np.zeros(len(candidates)))
    near = (np.array([len(n) for n in close.query_ball_point(xy[candidates], 20.0)])
            if close is not None else np.zeros(len(candidates)))
    index = int(candidates[np.lexsort((candidates, busy, point_months[candidates], near))[0]])
    if p.area == "church":
        return index, church["name"].split(",")[0]
    return index, str(names[index])


def _business_reports(county: County, months: list[pd.Period],
                      rng: np.random.Generator) -> pd.DataFrame:
    """The partnership's submissions over ``months``: thefts (with a value) and abuse of staff
    (none), at the shops, in opening hours."""
    n = BUSINESS_REPORTS
    shops = rng.choice(len(BUSINESSES), size=n, p=[0.24, 0.24, 0.12, 0.12, 0.16, 0.12])
    kind = KINDS["shoplifting"]
    share = np.full(len(months), 1 / len(months))
    per_month = rng.multinomial(n, share)
    when = times_in_months(kind, dict(zip(months, per_month.tolist(), strict=True)), rng)
    when = pd.DatetimeIndex(np.where((when.hour >= 8) & (when.hour < 20), when,
                                     when.normalize() + pd.Timedelta(hours=15)))
    theft = rng.random(n) < 0.75
    rows = []
    for i in range(n):
        name, town, (dx, dy) = BUSINESSES[int(shops[i])]
        t = next(t for t in county.towns if t["name"] == town)
        x0, y0 = t["centre"]
        hx, hy = (x0 + 60, y0 - 40) if town == "Thornbury" else (x0 - 50, y0 + 30)
        notes = _THEFT_NOTES if theft[i] else _ABUSE_NOTES
        rows.append({
            "when": when[i], "x": hx + dx, "y": hy + dy,
            "type": "shoplifting" if theft[i] else "abuse_of_staff",
            "value_pence": int(rng.integers(3, 60) * 250) if theft[i] else None,
            "business": name, "description": notes[int(rng.integers(0, len(notes)))],
        })
    return pd.DataFrame(rows)
