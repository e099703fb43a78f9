"""The demo's incidents: the planted hotspots, the background, and when each incident happens.

Positions are British National Grid metres (EPSG:27700); times are local and naive (the force's
clock), over the 24 months from :data:`DEMO_START`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from geodata.demo.county import STREETS, VILLAGE_STREET, County
from geodata.demo.kinds import KINDS, Kind
from geodata.demo.plants import (
    FLAT_KIND,
    FLAT_ODD_KIND,
    Plants,
    draw_plants,
    flat_years,
    months_of,
    place_asb,
)

DEMO_INCIDENTS = 50_000
DEMO_START = "2023-01-01"
DEMO_MONTHS = 24


def demo_months() -> list[str]:
    """The demo's months, ``YYYY-MM``, oldest first."""
    return [str(m) for m in pd.period_range(DEMO_START, periods=DEMO_MONTHS, freq="M")]


@dataclass(frozen=True)
class Planted:
    """A planted hotspot: where, how spread, what and how many (at 50,000 incidents)."""

    name: str
    kind: str
    centre: tuple[float, float]
    sd_m: float
    count: int
    context: str
    place: str


BACKGROUND = {
    "violence": 11_000, "asb": 7_000, "damage": 4_000, "other_theft": 3_000,
    "public_order": 2_500, "burglary": 2_000, "vehicle": 1_800, "business_burglary": 600,
    "bicycle": 800, "drugs": 800, "person": 500, "robbery": 300, "weapons": 300,
    "other_crime": 470,
}
"""Relative weights of the kinds of the incidents outside the planted hotspots."""

_BACKGROUND_SD_M = 45.0
"""How far (standard deviation, metres) a background incident lies from its map point."""


def plant_hotspots(county: County, rng: np.random.Generator) -> list[Planted]:
    """The hotspots planted in the county: town centres, estates, heritage sites, the country."""
    (tx, ty), (ex, ey) = (town["centre"] for town in county.towns)
    churches = [s for s in county.heritage if s["kind"] == "church"][:3]
    castle = next(s for s in county.heritage if s["kind"] == "castle")
    fort = next(s for s in county.heritage if s["kind"] == "fort")
    out = [
        Planted("Thornbury High Street shoplifting", "shoplifting", (tx + 60, ty - 40), 70, 4000,
                "town_centre", "Thornbury"),
        Planted("Thornbury Market Place night-time economy", "asb_night", (tx - 180, ty + 120),
                60, 2500, "town_centre", "Thornbury"),
        Planted("Elmsford town centre shoplifting", "shoplifting", (ex - 50, ey + 30), 60, 1800,
                "town_centre", "Elmsford"),
        Planted("Elmsford town centre evenings", "asb_night", (ex + 120, ey - 90), 55, 1200,
                "town_centre", "Elmsford"),
        Planted("Thornbury retail park", "shoplifting", (tx - 1_600, ty - 900), 90, 1500,
                "urban", "Thornbury"),
        Planted("Elmsford Meadows estate burglary", "burglary", (ex + 900, ey + 700), 160, 900,
                "urban", "Elmsford"),
        Planted("Thornbury Springfield estate vehicle crime", "vehicle", (tx + 700, ty - 1_300),
                150, 800, "urban", "Thornbury"),
        Planted("Elmsford station drug supply", "drugs", (ex - 800, ey - 600), 80, 400,
                "urban", "Elmsford"),
        Planted("Thornbury Castle damage", "heritage", castle["geometry"].centroid.coords[0], 50,
                150, "heritage_site", castle["name"]),
        Planted("Roman fort nighthawking", "nighthawking", fort["geometry"].centroid.coords[0],
                60, 60, "heritage_site", fort["name"]),
    ]
    out += [
        Planted(f"Lead theft, {c['name']}", "lead", c["geometry"].coords[0], 30, 60,
                "heritage_site", c["name"])
        for c in churches
    ]
    out += [
        Planted(f"Farm thefts near {county.villages[0]['name']} ({i + 1})",
                ("agricultural", "plant", "fuel")[i], xy, 60, (200, 150, 100)[i], "rural",
                "farmland")
        for i, xy in enumerate(county.farms[:3])
    ]
    out.append(Planted("Livestock worrying", "livestock", county.farms[4], 120, 100, "rural",
                       "farmland"))
    out += [
        Planted(f"Fly-tipping, lay-by {i + 1} on the {county.layby_road}", "fly_tipping", xy, 25,
                90, "rural", county.layby_road)
        for i, xy in enumerate(county.laybys)
    ]
    wild = county.remote_spots(2, rng, min_gap=6_000)
    out.append(Planted("Hare coursing on the open fields", "hare_coursing", wild[0], 200, 250,
                       "rural", "open country"))
    out.append(Planted("Deer poaching in the woods", "poaching", wild[1], 150, 150, "rural",
                       "open country"))
    return out


def draw_times(kind: Kind, n: int, rng: np.random.Generator, growth: float) -> pd.DatetimeIndex:
    """Local (naive) date-times for ``n`` incidents of a kind over the demo period.

    ``growth`` is the rise (or fall, negative) in the daily rate from the first day to the last,
    as a share of the first; a gentle yearly season (peak in summer) is on top.
    """
    days = pd.date_range(DEMO_START, periods=DEMO_MONTHS, freq="MS")
    all_days = pd.date_range(days[0], days[-1] + pd.offsets.MonthEnd(0), freq="D")
    weights = np.asarray(kind.weekdays)[all_days.day_of_week.to_numpy()]
    if kind.months:
        weights = weights * np.isin(all_days.month.to_numpy(), kind.months)
    share_of_period = np.linspace(0, 1, len(all_days))
    season = 1 + 0.15 * np.sin(2 * np.pi * (all_days.day_of_year.to_numpy() - 80) / 365)
    weights = weights * (1 + growth * share_of_period) * season
    day = rng.choice(len(all_days), size=n, p=weights / weights.sum())
    hour = rng.choice(24, size=n, p=np.asarray(kind.hours))
    minute = rng.integers(0, 60, size=n)
    return pd.DatetimeIndex(all_days[day] + pd.to_timedelta(hour * 60 + minute, unit="min"))


def generate_incidents(county: County, n_total: int,
                       rng: np.random.Generator) -> tuple[pd.DataFrame, list[Planted], Plants]:
    """About ``n_total`` incidents (those outside the county dropped), oldest first.

    Returns the frame (``kind``, ``x``, ``y`` in metres, ``when``, ``planted`` name or "",
    ``incident_id``), the planted hotspots and the plants of :mod:`geodata.demo.plants` (drawn
    from a generator spawned from ``rng``, so the other draws are as they were without them).
    """
    plants_rng = rng.spawn(1)[0]
    planted = plant_hotspots(county, rng)
    scale = n_total / DEMO_INCIDENTS
    frames = _planted_incidents(planted, scale, rng)
    plants = draw_plants(county, scale, months_of(DEMO_START, DEMO_MONTHS), plants_rng)
    n_background = max(0, n_total - sum(len(f) for f in frames) - plants.force_count())
    frames += _background_incidents(county, n_background, rng)
    df = pd.concat(frames, ignore_index=True)
    inside = shapely.contains_xy(county.boundary, df["x"].to_numpy(), df["y"].to_numpy())
    df = df[inside].reset_index(drop=True)
    df = pd.concat([df, plants.burglary, plants.border_force, place_asb(plants, county, df)],
                   ignore_index=True)
    inside = shapely.contains_xy(county.boundary, df["x"].to_numpy(), df["y"].to_numpy())
    df = df[inside].sort_values(["when", "x"], kind="stable").reset_index(drop=True)
    df["incident_id"] = [f"DS-{i + 1:06d}" for i in range(len(df))]
    return df, planted, plants


def _planted_incidents(planted: list[Planted], scale: float,
                       rng: np.random.Generator) -> list[pd.DataFrame]:
    """Each hotspot's incidents (at least 20): normal around its centre, rising, falling or flat
    in turn."""
    frames: list[pd.DataFrame] = []
    for k, hotspot in enumerate(planted):
        n = max(20, round(hotspot.count * scale))
        xy = rng.normal(hotspot.centre, hotspot.sd_m, size=(n, 2))
        growth = (0.6, -0.3, 0.0)[k % 3]
        frames.append(pd.DataFrame({
            "kind": hotspot.kind, "x": xy[:, 0], "y": xy[:, 1],
            "when": draw_times(KINDS[hotspot.kind], n, rng, growth), "planted": hotspot.name,
        }))
    return frames


def _background_incidents(county: County, n: int,
                          rng: np.random.Generator) -> list[pd.DataFrame]:
    """The background: kinds by :data:`BACKGROUND`, near map points in the towns (66%), the
    villages (24%) or the country (10%); one frame per kind (:data:`FLAT_KIND`'s made as many
    in each month of the second year as in the same month of the first)."""
    weights = np.array(list(BACKGROUND.values()), dtype=float)
    kinds = rng.choice(list(BACKGROUND), size=n, p=weights / weights.sum())
    names = county.point_names
    town_points = np.flatnonzero(np.isin(names, STREETS))
    village_points = np.flatnonzero(names == VILLAGE_STREET)
    rural_points = np.flatnonzero(~np.isin(names, (*STREETS, VILLAGE_STREET)))
    where = rng.choice(3, size=n, p=[0.66, 0.24, 0.10])
    idx = np.where(
        where == 0, rng.choice(town_points, n),
        np.where(where == 1, rng.choice(village_points, n), rng.choice(rural_points, n)),
    )
    xy = county.points[idx] + rng.normal(0, _BACKGROUND_SD_M, size=(n, 2))
    frames: list[pd.DataFrame] = []
    for kind in BACKGROUND:
        sel = np.flatnonzero(kinds == kind)
        if sel.size:
            frame = pd.DataFrame({
                "kind": kind, "x": xy[sel, 0], "y": xy[sel, 1],
                "when": draw_times(KINDS[kind], sel.size, rng, 0.0), "planted": "",
            })
            if kind == FLAT_KIND:
                frame = flat_years(frame, pd.Timestamp(DEMO_START).year, odd_kind=FLAT_ODD_KIND)
            frames.append(frame)
    return frames
