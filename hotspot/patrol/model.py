"""Patrol plan types: the shift, bases, planning options, stops, routes and the plan itself.

Times are seconds from the shift's start (local, timezone-aware datetimes at the edges);
positions and distances metres in the analysis CRS (projected). The constants name the two
teams, the hotspot classes the Rural Crime Team patrols and the planning defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from hotspot.errors import InvalidParameter
from hotspot.patrol.export import plan_to_dict

RURAL_TEAM = "rural_crime_team"
TOWN_TEAM = "town_centre_officers"
RURAL_CLASSES = ("rural", "heritage_site")
DWELL_MIN = 15.0
MIN_GAP_MIN = 30.0
PEAK_THRESHOLD = 0.5
MIN_PROFILE = 10
MAX_SHIFT_H = 14.0
IDLE_THRESHOLD_MIN = 20.0
"""A wait longer than this (minutes) before a stop's window opens is idle time: reported per
stop and per route, with a warning."""
BALANCE_COST_S = MAX_SHIFT_H * 3600.0
"""Town centre officers of one town share its visits: an officer short of an even share of the
visits that can be made pays this much (seconds of travel and waiting, at most the shift) per
visit short, so sharing comes before less walking and waiting (but after the visits made)."""


@dataclass(frozen=True)
class Shift:
    """A shift: local, timezone-aware start and end (at most :data:`MAX_SHIFT_H` hours)."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise InvalidParameter("shift start and end need a time zone", "shift")
        if self.end <= self.start:
            raise InvalidParameter(
                f"the shift ends ({self.end.isoformat()}) before it starts "
                f"({self.start.isoformat()})", "shift")
        if self.seconds > MAX_SHIFT_H * 3600:
            raise InvalidParameter(f"a shift is at most {MAX_SHIFT_H:g} hours", "shift")

    @property
    def seconds(self) -> float:
        """Length in seconds."""
        return (self.end - self.start).total_seconds()

    def at(self, seconds: float) -> datetime:
        """The local time ``seconds`` after the start."""
        return self.start + timedelta(seconds=float(seconds))


@dataclass(frozen=True)
class Base:
    """A patrol base: name and position (metres, analysis CRS)."""

    name: str
    x: float
    y: float


@dataclass
class PlanOptions:
    """Planning settings (minutes, km/h, seconds)."""

    dwell_min: float = DWELL_MIN
    min_gap_min: float = MIN_GAP_MIN
    peak_threshold: float = PEAK_THRESHOLD
    min_profile: int = MIN_PROFILE
    time_limit_s: float | None = None
    """Search time; None: 1 s plus 0.03 s a stop, at most 4 s (rural) or 1.5 s (a town)."""
    seed: int = 0
    idle_threshold_min: float = IDLE_THRESHOLD_MIN
    """Waits longer than this (minutes) are reported as idle time."""

    def __post_init__(self) -> None:
        if not np.isfinite(self.idle_threshold_min) or not 0 <= self.idle_threshold_min <= 480:
            raise InvalidParameter("idle_threshold_min must be from 0 to 480 minutes",
                                   "idle_threshold_min")
        if not np.isfinite(self.dwell_min) or not 1 <= self.dwell_min <= 120:
            raise InvalidParameter("dwell_min must be from 1 to 120 minutes", "dwell_min")
        if not np.isfinite(self.min_gap_min) or not self.dwell_min <= self.min_gap_min <= 480:
            raise InvalidParameter("min_gap_min must be from dwell_min to 480 minutes",
                                   "min_gap_min")
        if not np.isfinite(self.peak_threshold) or not 0 < self.peak_threshold <= 1:
            raise InvalidParameter("peak_threshold must be above 0 and at most 1", "peak_threshold")
        if not 0 <= self.min_profile <= 10_000:
            raise InvalidParameter("min_profile must be from 0 to 10,000 incidents", "min_profile")
        if self.time_limit_s is not None and not 0.05 <= self.time_limit_s <= 60:
            raise InvalidParameter("time_limit_s must be from 0.05 to 60 seconds", "time_limit_s")


@dataclass
class Stop:
    """One stop of a route (a base at both ends, hotspots between)."""

    kind: str  # "base" or "hotspot"
    name: str
    x: float
    y: float
    arrival_s: float
    start_s: float
    departure_s: float
    travel_s: float = 0.0
    distance_m: float = 0.0
    hotspot: str | None = None
    visit: int = 1
    visits: int = 1
    windows: list[tuple[float, float]] = field(default_factory=list)
    score: float = 0.0


@dataclass
class Route:
    """One vehicle's or officer's route."""

    unit: str  # RURAL_TEAM or TOWN_TEAM
    label: str  # "Rural Crime Team vehicle 1", "Thornbury officer 2"
    town: str | None
    base: Base
    stops: list[Stop]
    legs: list[np.ndarray]
    """The line of each leg (m x 2, metres), between stops i and i + 1."""
    empty_reason: str | None = None
    """Why the route has no stops (plain words), or None."""


@dataclass
class PlannedHotspot:
    """A hotspot as the plan saw it: its unit, peak windows in the shift (seconds from the
    start), visits wanted and planned, the reason it was left out (or None), what to look for."""

    id: str
    label: str
    rank: int
    unit: str
    context_class: str
    place: str
    x: float
    y: float
    score: float
    windows: list[tuple[float, float]]
    profile_used: bool
    visits_wanted: int
    visits_planned: int
    reason: str | None
    look_for: list[dict[str, Any]]


@dataclass
class PatrolPlan:
    """The outcome of :func:`plan_patrols`."""

    shift: Shift
    routes: list[Route]
    hotspots: list[PlannedHotspot]
    """Every hotspot considered."""
    crs: str
    travel: dict[str, Any]
    options: PlanOptions
    info: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The plan as JSON-ready data: WGS84 longitude/latitude, ISO 8601 local times,
        minutes and metres."""
        return plan_to_dict(self)
