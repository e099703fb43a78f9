"""Patrol plans from the store: the bases, the road network and the force area for the planner.

Composition only: :func:`make_plan` turns a validated request and a hotspot table into a
:class:`hotspot.patrol.PatrolPlan` using the store's reference layers (patrol bases, town
centres, roads, force boundary) and the taxonomy's advice. Pure planning is in
:mod:`hotspot.patrol`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

import geopandas as gpd
import numpy as np
import shapely
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pyproj import Transformer

from api.service_errors import InvalidInput, as_invalid_input, clipped, quoted
from geodata.coords import WGS84
from geodata.layers import FORCE_BOUNDARY, PATROL_BASES, ROADS, TOWN_CENTRES
from geodata.stores import LayerStore, Store
from geodata.taxonomy import Taxonomy
from hotspot.patrol import IDLE_THRESHOLD_MIN, Base, PatrolPlan, PlanOptions, Shift, plan_patrols
from hotspot.travel import CIRCUITY, FOOT_KMH, VEHICLE_KMH, RoadNetwork, StraightLine

SHIFT_YEARS = (1900, 2100)
"""The years a shift may start and end in."""
TOWN_BASE_RANGE_M = 3000.0
"""A patrol base serves a town when it is within this distance of the town centre, metres."""


class PointIn(BaseModel):
    """A place given by its WGS84 longitude and latitude."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field("the base given by position", max_length=200)
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)


class ShiftIn(BaseModel):
    """The shift: local date-times (the store's time zone unless an offset is given)."""

    model_config = ConfigDict(extra="forbid")
    start: datetime
    end: datetime

    @field_validator("start", "end")
    @classmethod
    def _in_years(cls, value: datetime) -> datetime:
        """Years 1900-2100, as the hotspot periods (a shift in year 1 or 9999 cannot be shown
        in local time or UTC)."""
        if not SHIFT_YEARS[0] <= value.year <= SHIFT_YEARS[1]:
            raise ValueError(f"a shift is in the years {SHIFT_YEARS[0]} to {SHIFT_YEARS[1]}")
        return value


class RuralIn(BaseModel):
    """The Rural Crime Team's vehicles and the base they leave from and return to."""

    model_config = ConfigDict(extra="forbid")
    vehicles: int = Field(1, ge=0, le=20)
    base: str | PointIn | None = Field(
        None, description="A patrol base by name, or {name, lon, lat}; default: the first base "
        "that hosts the Rural Crime Team.")


class TravelIn(BaseModel):
    """How travel time is worked out."""

    model_config = ConfigDict(extra="forbid")
    model: Literal["auto", "road_network", "straight_line"] = Field(
        "auto", description="auto: the roads layer when the store has one, else straight lines.")
    circuity: float = Field(CIRCUITY, ge=1, le=3, description="Straight lines: road distance / "
                            "straight distance.")
    vehicle_kmh: float = Field(VEHICLE_KMH, gt=0, le=200, description="Straight lines: vehicle "
                               "speed, km/h.")
    foot_kmh: float = Field(FOOT_KMH, gt=0, le=20, description="Walking speed, km/h.")


class PlanRequest(BaseModel):
    """A request for a shift's patrol plan (``POST /v1/patrol-plans``)."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, max_length=200, description="A label for the plan.")
    shift: ShiftIn
    rural_crime_team: RuralIn | None = None
    town_centre_officers: dict[str, int] = Field(
        default_factory=dict, description="Foot officers per town (town-centre name).")
    town_bases: dict[str, str] = Field(
        default_factory=dict, description="A patrol base (by name) per town; default: the "
        "nearest base for town centre officers within 3 km of the town centre.")
    dwell_min: float = Field(15.0, ge=1, le=120, description="Minutes at each stop.")
    min_gap_min: float = Field(30.0, ge=1, le=480, description="Town revisits: least minutes "
                               "between two visits to a hotspot.")
    peak_threshold: float = Field(0.5, gt=0, le=1, description="Peak hours: share of the "
                                  "busiest hour of the week.")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="Varies the revisit gaps.")
    idle_threshold_min: float = Field(
        IDLE_THRESHOLD_MIN, ge=0, le=480, description="A wait longer than this (minutes) for a "
        "stop's window to open is reported as idle time (per stop, per route, and a warning).")
    time_limit_s: float | None = Field(None, ge=0.05, le=60, description="Search time, seconds.")
    travel: TravelIn = Field(default_factory=TravelIn)
    hotspots: dict[str, Any] = Field(
        default_factory=dict, description="Which hotspots: the parameters of GET /v1/hotspots "
        "(method, priority, category, from, to, bbox, town, eps_m...).")


def _local(value: datetime, timezone: str) -> datetime:
    return value.replace(tzinfo=ZoneInfo(timezone)) if value.tzinfo is None else value


def _bases(store: LayerStore) -> gpd.GeoDataFrame | None:
    layer = store.get_layer(PATROL_BASES)
    return layer.frame if layer is not None else None


def _base_named(bases: gpd.GeoDataFrame | None, name: str, field: str,
                teams: tuple[str, ...]) -> Base:
    if bases is None:
        raise InvalidInput("no patrol bases are loaded; give the base as {name, lon, lat} or "
                           "load them with: hotspot layers add patrol_bases FILE", field=field)
    key = name.strip().casefold()
    for row in bases.itertuples():
        if str(row.name).strip().casefold() == key:
            if str(row.team) not in teams:
                raise InvalidInput(f"patrol base {row.name!r} hosts the {row.team} team, not "
                                   f"this one", field=field)
            return Base(str(row.name), float(row.geometry.x), float(row.geometry.y))
    names = ", ".join(sorted(str(n) for n in bases["name"])) or "none"
    raise InvalidInput(f"no patrol base called {quoted(name)}; bases are {names}", field=field)


def _rural_base(store: Store, given: str | PointIn | None) -> Base:
    bases = _bases(store)
    teams = ("rural_crime_team", "both")
    if isinstance(given, PointIn):
        x, y = Transformer.from_crs(WGS84, store.crs, always_xy=True).transform(given.lon,
                                                                                given.lat)
        return Base(given.name, float(x), float(y))
    if given is not None:
        return _base_named(bases, given, "rural_crime_team.base", teams)
    if bases is not None:
        rural = bases[bases["team"].isin(teams)].sort_values("name")
        if len(rural):
            row = rural.iloc[0]
            return Base(str(row["name"]), float(row.geometry.x), float(row.geometry.y))
    raise InvalidInput("no patrol base hosts the Rural Crime Team; give rural_crime_team.base as "
                       "{name, lon, lat}", field="rural_crime_team.base")


def _town_bases(store: LayerStore, request: PlanRequest) -> dict[str, Base]:
    bases = _bases(store)
    teams = ("town_centre", "both")
    out = {town: _base_named(bases, name, f"town_bases.{clipped(town, 40)}", teams)
           for town, name in request.town_bases.items()}
    centres = store.get_layer(TOWN_CENTRES)
    if bases is None or centres is None:
        return out
    foot = bases[bases["team"].isin(teams)]
    for town in request.town_centre_officers:
        if town in out or not len(foot):
            continue
        match = centres.frame[centres.frame["name"].astype(str).str.casefold() == town.casefold()]
        if not len(match):
            continue
        area = shapely.union_all(np.asarray(match.geometry.values, dtype=object))
        distance = shapely.distance(np.asarray(foot.geometry.values, dtype=object), area)
        best = int(np.argmin(distance))
        if distance[best] <= TOWN_BASE_RANGE_M:
            row = foot.iloc[best]
            out[town] = Base(str(row["name"]), float(row.geometry.x), float(row.geometry.y))
    return out


def town_centres(store: LayerStore) -> dict[str, tuple[float, float]]:
    """Each named town centre of the store's layer and a point inside it (store CRS, metres)."""
    layer = store.get_layer(TOWN_CENTRES)
    if layer is None or "name" not in layer.frame.columns:
        return {}
    out: dict[str, tuple[float, float]] = {}
    for name, geom in zip(layer.frame["name"], layer.frame.geometry.values, strict=True):
        if isinstance(name, str) and name.strip() and geom is not None and not geom.is_empty:
            point = geom.representative_point()
            out.setdefault(name.strip(), (float(point.x), float(point.y)))
    return out


def travel_model(store: LayerStore, travel: TravelIn) -> StraightLine | RoadNetwork:
    """The road network from the store's roads layer, or straight lines."""
    roads = store.get_layer(ROADS) if travel.model != "straight_line" else None
    if roads is None:
        if travel.model == "road_network":
            raise InvalidInput("no roads layer is loaded; load one with: hotspot layers add roads "
                               "FILE, or use travel.model straight_line", field="travel.model")
        return StraightLine(vehicle_kmh=travel.vehicle_kmh, foot_kmh=travel.foot_kmh,
                            circuity=travel.circuity)
    frame = roads.frame
    return RoadNetwork(list(frame.geometry.values), frame["speed_kph"].astype(float).tolist(),
                       foot_kmh=travel.foot_kmh)


PLAN_FIELDS = {
    "shift": "shift",
    "rural_base": "rural_crime_team.base",
    "rural_vehicles": "rural_crime_team.vehicles",
    "town_officers": "town_centre_officers",
    "town_bases": "town_bases",
}
"""The parameters of :func:`hotspot.patrol.plan_patrols` (``InvalidParameter.field``) as the
plan request names them."""


def make_plan(store: Store, taxonomy: Taxonomy, request: PlanRequest,
              hotspots: gpd.GeoDataFrame) -> PatrolPlan:
    """Plan the shift over ``hotspots`` (the ranked table in the store's CRS).

    Raises
    ------
    InvalidInput
        A base, town or travel model the store cannot supply, a shift that ends before it
        starts, a base outside the force area, nothing to plan; ``field`` names the request's
        field (the planner's parameter through :data:`PLAN_FIELDS`).
    """
    tz = store.timezone
    with as_invalid_input("shift"):
        shift = Shift(_local(request.shift.start, tz), _local(request.shift.end, tz))
    rural = request.rural_crime_team
    if not (rural and rural.vehicles) and not any(request.town_centre_officers.values()):
        raise InvalidInput("nothing to plan: give rural_crime_team.vehicles or "
                           "town_centre_officers", field="rural_crime_team")
    rural_base = _rural_base(store, rural.base) if rural and rural.vehicles else None
    boundary = store.get_layer(FORCE_BOUNDARY)
    area = (shapely.union_all(np.asarray(boundary.frame.geometry.values, dtype=object))
            .buffer(100.0) if boundary is not None else None)
    categories = taxonomy.categories
    with as_invalid_input(names=PLAN_FIELDS):
        options = PlanOptions(dwell_min=request.dwell_min, min_gap_min=max(request.min_gap_min,
                                                                           request.dwell_min),
                              peak_threshold=request.peak_threshold, seed=request.seed,
                              time_limit_s=request.time_limit_s,
                              idle_threshold_min=request.idle_threshold_min)
        plan = plan_patrols(
            hotspots, shift=shift, travel=travel_model(store, request.travel), crs=store.crs,
            rural_vehicles=rural.vehicles if rural else 0, rural_base=rural_base,
            town_officers=request.town_centre_officers,
            town_bases=_town_bases(store, request), force_area=area, options=options,
            look_for={k: c.look_for for k, c in categories.items()},
            category_labels={k: c.label for k, c in categories.items()},
            town_centres=town_centres(store),
        )
    return plan
