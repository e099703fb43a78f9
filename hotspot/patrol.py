"""Patrol plans: Rural Crime Team vehicle routes and town centre officers' foot patrols.

Pure computation: the ranked hotspot table (:mod:`hotspot.table`), patrol bases, a shift, the
resources and a travel model (:mod:`hotspot.travel`) in; a :class:`PatrolPlan` out. Times are
local, timezone-aware datetimes; distances metres; the analysis CRS is projected (metres).

**Peak hours.** A hotspot's hour x day profile (7 x 24 incidents, local time) is smoothed over
the neighbouring hours (1-2-1) around the week; the hours whose smoothed count is at least
``peak_threshold`` (default 0.5) of the week's busiest hour are its peak hours. A visit must
*start* inside the peak hours that fall within the shift. A hotspot with fewer than
``min_profile`` (default 10) incidents with a time of day has no reliable profile (data.police.uk
gives months only): it may be visited at any time in the shift, and the plan says so.

**Rural Crime Team.** A prize-collecting vehicle routing problem with time windows, solved with
OR-Tools' routing library: every vehicle leaves a base and returns to it within the shift; each
rural or heritage-site hotspot is a stop worth its score, with its peak hours as time windows
and the dwell as service time; a stop may be left out at a penalty equal to its score. Scores
come first: the penalties are scaled so that no saving in travel time outweighs any score
(lexicographic: the most score covered, then the least travel). Search: the cheapest-arc first
solution, then guided local search for ``time_limit_s``.

**Town centre officers.** Per town, foot patrols over the town's town-centre hotspots during
their peak hours. The busiest hotspots are revisited: the visits the officers can make in the
shift (shift x officers / (dwell + a typical walk)) are shared out by score, at most one visit per
two ``min_gap_min`` of a hotspot's peak hours; the peak hours of a hotspot visited k times are
cut into k consecutive parts at randomly moved boundaries (seeded: the same request gives the
same parts, another seed or day gives other gaps; the search itself runs for a set time, so a
busier machine may find a slightly different route), and visit i must start in part i, at least
half a gap from its boundaries, so that two visits start at least ``min_gap_min`` apart.
Unpredictable gaps and short dwells are what the hot-spot policing trials found to work (Koper
1995; Sherman and Weisburd 1995). The same OR-Tools model routes the officers, a revisit worth
half a first visit.

**Waiting.** A route leaves its base as late as its stops allow and each stop starts as late
as its window and the next stop allow (:func:`_schedule`), so a vehicle never sits hours at its
first stop; the town officers' search also counts time away from the base (waits included) and
shares a town's visits evenly between its officers (:data:`BALANCE_COST_S`). A wait longer
than ``idle_threshold_min`` (default 20) that remains is idle time: ``idle_min`` per stop and
route and a warning. A crew left with no stops keeps its route (two base stops) with its
``empty_reason`` and a warning.

Every stop comes with arrival, start and departure times, the wait before the start, dwell, the
distance and travel time from the previous stop; every hotspot left out comes with a reason:
``outside_peak_hours`` (no peak hour in the shift), ``out_of_time`` (the shift is full),
``unreachable`` (not joined to the base by the road network), ``no_team`` (an urban hotspot: no
team in this plan patrols it) or ``no_officers`` (a town given no officers).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from hotspot.errors import InvalidParameter
from hotspot.gridref import grid_reference_of
from hotspot.travel import TravelModel

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
REASONS = {
    "outside_peak_hours": "no peak hour of this hotspot falls within the shift",
    "out_of_time": "the shift has no room for it after higher-scoring stops",
    "unreachable": "the road network does not join it to the base",
    "no_team": "an urban hotspot: neither team in this plan patrols it",
    "no_officers": "its town has no officers in this plan",
}


@dataclass(frozen=True)
class Shift:
    """A shift: local, timezone-aware start and end (at most :data:`MAX_SHIFT_H` hours)."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise InvalidParameter("shift start and end need a time zone")
        if self.end <= self.start:
            raise InvalidParameter(
                f"the shift ends ({self.end.isoformat()}) before it starts "
                f"({self.start.isoformat()})")
        if self.seconds > MAX_SHIFT_H * 3600:
            raise InvalidParameter(f"a shift is at most {MAX_SHIFT_H:g} hours")

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
            raise InvalidParameter("idle_threshold_min must be from 0 to 480 minutes")
        if not np.isfinite(self.dwell_min) or not 1 <= self.dwell_min <= 120:
            raise InvalidParameter("dwell_min must be from 1 to 120 minutes")
        if not np.isfinite(self.min_gap_min) or not self.dwell_min <= self.min_gap_min <= 480:
            raise InvalidParameter("min_gap_min must be from dwell_min to 480 minutes")
        if not np.isfinite(self.peak_threshold) or not 0 < self.peak_threshold <= 1:
            raise InvalidParameter("peak_threshold must be above 0 and at most 1")
        if not 0 <= self.min_profile <= 10_000:
            raise InvalidParameter("min_profile must be from 0 to 10,000 incidents")
        if self.time_limit_s is not None and not 0.05 <= self.time_limit_s <= 60:
            raise InvalidParameter("time_limit_s must be from 0.05 to 60 seconds")


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


# --- peak hours ----------------------------------------------------------------------------


def peak_slots(profile: Sequence[Sequence[float]] | None, threshold: float = PEAK_THRESHOLD,
               min_profile: int = MIN_PROFILE) -> np.ndarray | None:
    """Peak hours of a 7 x 24 profile (Monday first, local hours) as a 7 x 24 bool array, or
    None when the profile has fewer than ``min_profile`` incidents."""
    if profile is None:
        return None
    p = np.asarray(profile, dtype=float).reshape(7, 24)
    if p.sum() < max(min_profile, 1):
        return None
    week = p.ravel()
    smooth = (np.roll(week, 1) + 2 * week + np.roll(week, -1)) / 4.0
    return (smooth >= threshold * smooth.max()).reshape(7, 24)


def shift_windows(peaks: np.ndarray | None, shift: Shift) -> list[tuple[float, float]]:
    """The peak hours within the shift as (start, end) seconds after the shift's start; the
    whole shift when there is no profile."""
    if peaks is None:
        return [(0.0, shift.seconds)]
    windows: list[tuple[float, float]] = []
    hour = shift.start.replace(minute=0, second=0, microsecond=0)
    while hour < shift.end:
        nxt = hour + timedelta(hours=1)
        if peaks[hour.weekday(), hour.hour]:
            a = max((hour - shift.start).total_seconds(), 0.0)
            b = min((nxt - shift.start).total_seconds(), shift.seconds)
            if windows and abs(windows[-1][1] - a) < 1e-6:
                windows[-1] = (windows[-1][0], b)
            elif b > a:
                windows.append((a, b))
        # wall-clock hours: a local hour repeated or skipped at a clock change is still one slot
        hour = (nxt.astimezone(shift.start.tzinfo)).replace(minute=0, second=0, microsecond=0)
    return windows


# --- the routing model ---------------------------------------------------------------------


@dataclass
class _Node:
    hotspot: int  # row in the candidate table
    visit: int
    visits: int
    windows: list[tuple[float, float]]
    prize: float


def solve_prize_routing(
    times_s: np.ndarray,
    service_s: Sequence[float],
    windows: Sequence[Sequence[tuple[float, float]]],
    prizes: Sequence[float],
    depots: Sequence[int],
    horizon_s: float,
    time_limit_s: float = 1.0,
    *,
    balance: bool = False,
    wait_cost: bool = False,
) -> list[list[tuple[int, float]]]:
    """Prize-collecting routing with time windows (OR-Tools' routing library).

    ``times_s`` is the travel time matrix (seconds, ``inf`` where there is no way) over all
    nodes; ``depots`` gives each vehicle's base node (start and end); the other nodes are
    optional stops with a service time, the windows in which their service may start (seconds
    from 0) and a prize. Every route starts at 0 or later and is back at its base by
    ``horizon_s``. Returns, per vehicle, the stops in order as (node, service start seconds),
    base excluded. The most prize first, then the least travel time; with ``wait_cost``, the
    least travel plus time away from the base (each route's span: so the least waiting). With
    ``balance``, a vehicle with fewer than an even share of the stops that can be made pays
    :data:`BALANCE_COST_S` per stop short (before travel and waiting).
    """
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    n = len(times_s)
    depot_set = set(depots)
    horizon = math.floor(horizon_s)
    big = 10 * horizon + 1
    t = np.where(np.isfinite(times_s), np.ceil(np.nan_to_num(times_s, posinf=0.0)), big)
    t = t.astype(np.int64)
    service = np.round(np.asarray(service_s, dtype=float)).astype(np.int64)
    transit = (t + service[:, None]).tolist()
    manager = pywrapcp.RoutingIndexManager(n, len(depots), list(depots), list(depots))
    routing = pywrapcp.RoutingModel(manager)

    def cost(i: int, j: int) -> int:
        return int(transit[manager.IndexToNode(i)][manager.IndexToNode(j)])

    cb = routing.RegisterTransitCallback(cost)
    routing.SetArcCostEvaluatorOfAllVehicles(cb)
    routing.AddDimension(cb, horizon, horizon, False, "time")
    dim = routing.GetDimensionOrDie("time")
    if wait_cost:  # time away from the base costs too: waiting is never free
        dim.SetSpanCostCoefficientForAllVehicles(1)
    positive = [p for p in prizes if p > 0]
    k = len(depots)
    balance_cost = min(math.ceil(BALANCE_COST_S), horizon)
    possible = [node for node in range(n) if node not in depot_set and prizes[node] > 0
                and any(t[d, node] < big and t[node, d] < big for d in depot_set)
                and any(math.floor(b) >= math.ceil(a) for a, b in windows[node])]
    share = len(possible) // k if balance and k > 1 else 0
    # penalties: any prize outweighs all travel, time away and balancing (lexicographic)
    unit = ((1 + int(wait_cost) + share) * horizon * k + 1) / (
        min(positive) if positive else 1.0)
    if share:
        def one(i: int) -> int:
            return 0 if manager.IndexToNode(i) in depot_set else 1

        count = routing.RegisterUnaryTransitCallback(one)
        routing.AddDimension(count, 0, n, True, "stops")
        stops_dim = routing.GetDimensionOrDie("stops")
        for v in range(k):
            # an empty route's costs count only if it counts as used
            routing.SetVehicleUsedWhenEmpty(True, v)
            stops_dim.SetCumulVarSoftLowerBound(routing.End(v), share, balance_cost)
    for node in range(n):
        if node in depot_set:
            continue
        index = manager.NodeToIndex(node)
        win = sorted((math.ceil(a), math.floor(b)) for a, b in windows[node])
        win = [(a, b) for a, b in win if b >= a]
        reachable = any(t[d, node] < big and t[node, d] < big for d in depot_set)
        if not win or not reachable or prizes[node] <= 0:
            routing.AddDisjunction([index], 0)
            routing.solver().Add(routing.ActiveVar(index) == 0)
            continue
        cumul = dim.CumulVar(index)
        cumul.SetRange(win[0][0], min(win[-1][1], horizon))
        for (_a, b), (a2, _b2) in itertools.pairwise(win):
            if a2 - 1 >= b + 1:
                cumul.RemoveInterval(b + 1, a2 - 1)
        routing.AddDisjunction([index], round(prizes[node] * unit))
    for v in range(len(depots)):
        dim.CumulVar(routing.Start(v)).SetRange(0, horizon)
        dim.CumulVar(routing.End(v)).SetRange(0, horizon)
        routing.AddVariableMinimizedByFinalizer(dim.CumulVar(routing.Start(v)))
        routing.AddVariableMinimizedByFinalizer(dim.CumulVar(routing.End(v)))
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH)
    params.time_limit.FromMilliseconds(max(50, int(time_limit_s * 1000)))
    solution = routing.SolveWithParameters(params)
    routes: list[list[tuple[int, float]]] = [[] for _ in depots]
    if solution is None:
        return routes
    for v in range(len(depots)):
        index = solution.Value(routing.NextVar(routing.Start(v)))
        while not routing.IsEnd(index):
            node = manager.IndexToNode(index)
            routes[v].append((node, float(solution.Min(dim.CumulVar(index)))))
            index = solution.Value(routing.NextVar(index))
    return routes


# --- planning ------------------------------------------------------------------------------


def _windows_length(windows: Sequence[tuple[float, float]]) -> float:
    return float(sum(b - a for a, b in windows))


def _cut_windows(windows: Sequence[tuple[float, float]], a: float, b: float
                 ) -> list[tuple[float, float]]:
    """The parts of ``windows`` between ``a`` and ``b`` (seconds)."""
    out = []
    for wa, wb in windows:
        lo, hi = max(wa, a), min(wb, b)
        if hi >= lo:
            out.append((lo, hi))
    return out


def _at_fraction(windows: Sequence[tuple[float, float]], f: float) -> float:
    """The time at which a share ``f`` of the windows' total length has gone by."""
    target = f * _windows_length(windows)
    for a, b in windows:
        if target <= b - a:
            return a + target
        target -= b - a
    return windows[-1][1]


def _visit_nodes(hotspot: int, windows: list[tuple[float, float]], visits: int, prize: float,
                 gap_s: float, rng: np.random.Generator) -> list[_Node]:
    """``visits`` visits of one hotspot: its windows cut into consecutive parts at randomly
    moved boundaries (up to a fifth of a part either way); visit i starts in part i, at least
    half a gap from each boundary, so two visits start at least ``gap_s`` apart."""
    if visits <= 1:
        return [_Node(hotspot, 1, 1, windows, prize)]
    cuts = np.arange(1, visits) / visits
    cuts = cuts + rng.uniform(-0.2, 0.2, cuts.size) / visits
    bounds = [windows[0][0], *(_at_fraction(windows, float(c)) for c in cuts), windows[-1][1]]
    nodes = []
    for i in range(visits):
        a = bounds[i] + (gap_s / 2 if i > 0 else 0.0)
        b = bounds[i + 1] - (gap_s / 2 if i < visits - 1 else 0.0)
        part = _cut_windows(windows, a, b)
        nodes.append(_Node(hotspot, i + 1, visits, part, prize if i == 0 else prize / 2))
    return nodes


def _time_limit(options: PlanOptions, stops: int, cap: float) -> float:
    if options.time_limit_s is not None:
        return options.time_limit_s
    return min(cap, 1.0 + 0.03 * stops)


def _route(
    unit: str, labels: list[str], town: str | None, base: Base, nodes: list[_Node],
    cand: _Cand, travel: TravelModel, mode: str, shift: Shift, options: PlanOptions,
    cap_s: float, balance: bool = False,
) -> tuple[list[Route], set[int]]:
    """Route ``len(labels)`` vehicles or officers from ``base`` over ``nodes``; return the
    routes and the candidate rows visited at least once. ``balance``: share the stops out
    evenly and weigh waiting as travel (town centre officers, whose revisits wait for their
    windows; a vehicle's search keeps to score and travel, and :func:`_schedule` still takes
    out the waits its order allows)."""
    xy = np.vstack([np.array([[base.x, base.y]]), cand.xy([nd.hotspot for nd in nodes])])
    k = len(labels)
    times = travel.matrix(xy, mode)
    # node 0 is the base, shared by every vehicle or officer of this route set
    dwell = options.dwell_min * 60.0
    service = [0.0] + [dwell] * len(nodes)
    windows = [[(0.0, shift.seconds)]] + [[(a, min(b, shift.seconds - dwell))
                                           for a, b in nd.windows] for nd in nodes]
    prizes = [0.0] + [nd.prize for nd in nodes]
    solved = solve_prize_routing(times, service, windows, prizes, [0] * k, shift.seconds,
                                 _time_limit(options, len(nodes), cap_s), balance=balance,
                                 wait_cost=balance)
    routes = []
    visited: set[int] = set()
    for label, seq in zip(labels, solved, strict=True):
        stops, legs = _stops(base, seq, nodes, cand, travel, times, xy, mode, dwell, shift,
                             windows)
        for node_i, _start in seq:
            visited.add(nodes[node_i - 1].hotspot)
        routes.append(Route(unit, label, town, base, stops, legs))
    return routes, visited


def _latest_in(windows: Sequence[tuple[float, float]], bound: float) -> float | None:
    """The latest time at or before ``bound`` inside ``windows`` (seconds), or None."""
    best: float | None = None
    for a, b in windows:
        if a <= bound:
            t = min(b, bound)
            best = t if best is None else max(best, t)
    return best


def _schedule(travel_s: Sequence[float], windows: Sequence[Sequence[tuple[float, float]]],
              starts: Sequence[float], dwell: float) -> list[float]:
    """Service starts for a route in a fixed order that keep its end and leave the base as late
    as possible: waits shrink to what the windows force.

    ``travel_s[i]`` is the travel to stop i (the last entry: back to the base), ``windows[i]``
    when stop i may start and ``starts`` a feasible schedule (the solver's, seconds). First
    forward (earliest starts from the solver's departure), then backward from that end (each
    stop as late as its window and the next stop allow).
    """
    n = len(starts)
    earliest: list[float] = []
    at = max(0.0, starts[0] - travel_s[0])
    for i in range(n):
        begin = max(at + travel_s[i], starts[i])
        earliest.append(begin)
        at = begin + dwell
    bound = at + travel_s[n]  # back at the base
    latest = [0.0] * n
    for i in range(n - 1, -1, -1):
        bound = bound - travel_s[i + 1] - dwell
        t = _latest_in(windows[i], bound)
        latest[i] = earliest[i] if t is None or t < earliest[i] else t
        bound = latest[i]
    return latest


def _stops(base: Base, seq: list[tuple[int, float]], nodes: list[_Node], cand: _Cand,
           travel: TravelModel, times: np.ndarray, xy: np.ndarray, mode: str, dwell: float,
           shift: Shift, windows: Sequence[Sequence[tuple[float, float]]] | None = None,
           ) -> tuple[list[Stop], list[np.ndarray]]:
    """Times and legs of one route: leave the base as late as the stops allow, and wait no
    longer than the windows force (:func:`_schedule`). ``windows`` per node as the solver had
    them (node 0 the base); default the nodes' own."""
    if not seq:
        return [Stop("base", base.name, base.x, base.y, 0.0, 0.0, 0.0),
                Stop("base", base.name, base.x, base.y, 0.0, 0.0, 0.0)], []
    path = [0] + [node for node, _s in seq] + [0]
    hops = [float(times[a, b]) for a, b in itertools.pairwise(path)]
    node_windows = [windows[node] if windows is not None else nodes[node - 1].windows
                    for node, _s in seq]
    starts = _schedule(hops, node_windows, [s for _n, s in seq], dwell)
    depart = max(0.0, starts[0] - hops[0])
    stops = [Stop("base", base.name, base.x, base.y, depart, depart, depart)]
    legs = []
    prev_departure = depart
    for i, node in enumerate(path[1:], start=1):
        line, dist = travel.leg(tuple(xy[path[i - 1]]), tuple(xy[node]), mode)
        legs.append(line)
        t = hops[i - 1]
        arrival = prev_departure + t
        if node == 0:
            stops.append(Stop("base", base.name, base.x, base.y, arrival, arrival, arrival,
                              travel_s=t, distance_m=dist))
            break
        nd = nodes[node - 1]
        start = max(arrival, starts[i - 1])
        h = nd.hotspot
        stops.append(Stop("hotspot", cand.label[h], float(cand.x[h]), float(cand.y[h]),
                          arrival, start, start + dwell, travel_s=t, distance_m=dist,
                          hotspot=cand.id[h], visit=nd.visit, visits=nd.visits,
                          windows=nd.windows, score=float(cand.score[h])))
        prev_departure = start + dwell
    return stops, legs


@dataclass
class _Cand:
    """The hotspot table's columns the planner uses, as plain arrays and lists."""

    id: list[str]
    x: np.ndarray
    y: np.ndarray
    score: np.ndarray
    rank: list[int]
    context_class: list[str]
    place: list[str]
    label: list[str]
    profile: list[Any]
    category_mix: list[Any]
    heritage_sites: list[Any]

    def __len__(self) -> int:
        return len(self.id)

    def xy(self, rows: Sequence[int]) -> np.ndarray:
        return np.column_stack([self.x[list(rows)], self.y[list(rows)]])


def _candidates(hotspots: pd.DataFrame) -> _Cand:
    need = ("id", "centroid_x", "centroid_y", "score", "context_class")
    missing = [c for c in need if c not in hotspots.columns]
    if missing:
        raise InvalidParameter(f"the hotspot table lacks {', '.join(missing)}")
    n = len(hotspots)

    def column(name: str, default: Any) -> list[Any]:
        return list(hotspots[name]) if name in hotspots.columns else [default] * n

    rank = [int(r) for r in column("rank", 0)] if "rank" in hotspots.columns \
        else list(range(1, n + 1))
    place = ["" if not isinstance(p, str) else p for p in column("place", "")]
    # a stop is called by its place's own name ("Cemetery Road, Thornbury") where it has one,
    # else by its town or site; the rank ties it to the map's list
    named = [n if isinstance(n, str) and n else p
             for n, p in zip(column("name", ""), place, strict=True)]
    return _Cand(
        id=[str(v) for v in hotspots["id"]],
        x=hotspots["centroid_x"].to_numpy(dtype=float),
        y=hotspots["centroid_y"].to_numpy(dtype=float),
        score=hotspots["score"].to_numpy(dtype=float),
        rank=rank,
        context_class=[str(v) for v in hotspots["context_class"]],
        place=place,
        label=[f"#{r} {p}".strip() if p else f"#{r}" for r, p in zip(rank, named, strict=True)],
        profile=column("profile", None),
        category_mix=column("category_mix", {}),
        heritage_sites=column("heritage_sites", []),
    )


def _check_base(base: Base, area: Any | None, what: str) -> None:
    if not (np.isfinite(base.x) and np.isfinite(base.y)):
        raise InvalidParameter(f"{what} {base.name!r} has no position")
    if area is not None and not shapely.intersects(area, shapely.Point(base.x, base.y)):
        raise InvalidParameter(f"{what} {base.name!r} is outside the force area")


def _look_for(mix: Any, guidance: Mapping[str, str], labels: Mapping[str, str],
              heritage: Sequence[str]) -> list[dict[str, Any]]:
    """What to look for at a hotspot: its main categories (most first, up to three, those with
    at least 10% of its incidents) with the taxonomy's advice, and the heritage sites it
    touches."""
    items: list[dict[str, Any]] = []
    if isinstance(mix, Mapping) and mix:
        total = sum(float(v) for v in mix.values()) or 1.0
        for cat, count in sorted(mix.items(), key=lambda kv: -float(kv[1]))[:3]:
            share = float(count) / total
            if items and share < 0.1:
                break
            items.append({"category": str(cat), "label": labels.get(str(cat), str(cat)),
                          "incidents": int(count), "share": round(share, 3),
                          "advice": guidance.get(str(cat), "")})
    if heritage:
        items.append({"category": "heritage_sites", "label": "Heritage sites nearby",
                      "incidents": 0, "share": 0.0,
                      "advice": "Check: " + ", ".join(list(heritage)[:5])})
    return items


def plan_patrols(
    hotspots: pd.DataFrame,
    *,
    shift: Shift,
    travel: TravelModel,
    crs: str,
    rural_vehicles: int = 0,
    rural_base: Base | None = None,
    town_officers: Mapping[str, int] | None = None,
    town_bases: Mapping[str, Base] | None = None,
    force_area: Any | None = None,
    options: PlanOptions | None = None,
    look_for: Mapping[str, str] | None = None,
    category_labels: Mapping[str, str] | None = None,
    town_centres: Mapping[str, tuple[float, float]] | None = None,
) -> PatrolPlan:
    """Plan a shift's patrols over a ranked hotspot table.

    Parameters
    ----------
    hotspots
        The hotspot table (:mod:`hotspot.table`; ``centroid_x``/``centroid_y`` in metres,
        ``score``, ``context_class``, ``place``, ``profile``, ``category_mix``).
    shift
        Local start and end.
    travel
        :class:`hotspot.travel.StraightLine` or :class:`hotspot.travel.RoadNetwork`.
    crs
        The analysis CRS (metres) of the table, the bases and the travel model.
    rural_vehicles, rural_base
        Rural Crime Team vehicles and the base they leave from and return to.
    town_officers, town_bases
        Foot officers per town (town-centre names as in the hotspots' ``place``) and each
        town's base (a town without one starts at its busiest hotspot).
    town_centres
        The towns with a town centre (name: a point inside it, metres), whether or not the
        table has a hotspot there: officers given to such a town with no hotspot get a route
        with no stops and the reason (``Route.empty_reason``), not an error.
    force_area
        The force boundary (shapely, metres): a base outside it is an error.
    options
        Dwell, gaps, peak hours, search time, seed.
    look_for, category_labels
        Advice and labels per category (from the taxonomy) for the briefing.

    Raises
    ------
    InvalidParameter
        Nothing to plan with (no vehicles and no officers), a vehicle count out of range, a
        base outside the force area, a town with no town centre in the table or officers
        out of range. An empty hotspot table gives an empty plan.
    """
    options = options or PlanOptions()
    town_officers = dict(town_officers or {})
    town_bases = dict(town_bases or {})
    if not 0 <= rural_vehicles <= 20:
        raise InvalidParameter("rural_vehicles must be from 0 to 20")
    for town, count in town_officers.items():
        if not isinstance(count, int) or not 0 <= count <= 50:
            raise InvalidParameter(f"officers for {town!r} must be from 0 to 50")
    if rural_vehicles == 0 and not any(town_officers.values()):
        raise InvalidParameter("nothing to plan: give rural_vehicles or town_officers")
    if rural_vehicles and rural_base is None:
        raise InvalidParameter("rural_base is needed for the Rural Crime Team")
    if rural_base is not None:
        _check_base(rural_base, force_area, "rural_base")
    for base in town_bases.values():
        _check_base(base, force_area, "town base")
    cand = _candidates(hotspots)
    places = {p.casefold(): p for p, c in zip(cand.place, cand.context_class, strict=True)
              if c == "town_centre"}
    centres = {t.casefold(): xy for t, xy in (town_centres or {}).items()}
    unknown = [t for t in town_officers if t.casefold() not in places
               and t.casefold() not in centres]
    if unknown and len(cand):
        raise InvalidParameter(
            f"no town-centre hotspot in {unknown[0][:60]!r}; the towns with town-centre hotspots are: "
            + (", ".join(sorted(places.values())) or "none"))
    rng = np.random.default_rng([options.seed, shift.start.toordinal(), shift.start.hour])
    peaks = [peak_slots(p, options.peak_threshold, options.min_profile) for p in cand.profile]
    windows = [shift_windows(pk, shift) for pk in peaks]
    dwell = options.dwell_min * 60.0
    windows = [[(a, b) for a, b in _cut_windows(w, 0.0, shift.seconds - dwell)] for w in windows]
    unit = [RURAL_TEAM if c in RURAL_CLASSES else TOWN_TEAM if c == "town_centre" else ""
            for c in cand.context_class]
    reason: list[str | None] = [None] * len(cand)
    visits_planned = np.zeros(len(cand), dtype=np.int64)
    visits_wanted = np.zeros(len(cand), dtype=np.int64)
    routes: list[Route] = []
    info: dict[str, Any] = {}
    if not len(cand):
        info["notes"] = ["the selection has no hotspots: there is nothing to visit"]

    def no_window(i: int) -> bool:
        if not windows[i]:
            reason[i] = "outside_peak_hours"
            return True
        return False

    # Rural Crime Team
    rural_rows = [i for i in range(len(cand)) if unit[i] == RURAL_TEAM]
    if rural_vehicles and rural_base is not None:
        rows = [i for i in rural_rows if not no_window(i)]
        base_xy = np.array([[rural_base.x, rural_base.y]])
        if rows:
            reach = travel.matrix(np.vstack([base_xy, cand.xy(rows)]),
                                  "vehicle")
            ok = np.isfinite(reach[0, 1:]) & np.isfinite(reach[1:, 0])
            for i, good in zip(rows, ok.tolist(), strict=True):
                if not good:
                    reason[i] = "unreachable"
            if not ok.any():
                info.setdefault("notes", []).append(
                    f"no hotspot can be reached from {rural_base.name}: is the base on the road "
                    "network (near a road, on a piece joined to the rest)?")
            rows = [i for i, good in zip(rows, ok.tolist(), strict=True) if good]
        nodes = [_Node(i, 1, 1, windows[i], float(cand.score[i])) for i in rows]
        labels = [f"Rural Crime Team vehicle {v + 1}" for v in range(rural_vehicles)]
        made, visited = _route(RURAL_TEAM, labels, None, rural_base, nodes, cand, travel,
                               "vehicle", shift, options, 4.0)
        _say_why_empty(made, visited, [
            (not rural_rows, "no rural or heritage-site hotspots in this selection"),
            (all(reason[i] == "outside_peak_hours" for i in rural_rows),
             "no rural or heritage-site hotspot has a peak hour within the shift"),
            (not rows, f"no hotspot can be reached by road from {rural_base.name}"),
            (not visited, "no hotspot reachable within the shift"),
            (True, "the other vehicles make every stop that fits in the shift"),
        ])
        routes += made
        for i in rows:
            visits_wanted[i] = 1
            if i not in visited:
                reason[i] = "out_of_time"
    else:
        for i in rural_rows:
            reason[i] = "no_team"
    # town centre officers
    for i in range(len(cand)):
        if unit[i] == "":
            reason[i] = "no_team"
    towns = dict(places)
    for t in town_officers:
        towns.setdefault(t.casefold(), next((p for p in (town_centres or {})
                                             if p.casefold() == t.casefold()), t))
    for key, town in sorted(towns.items()):
        rows = [i for i in range(len(cand))
                if unit[i] == TOWN_TEAM and cand.place[i].casefold() == key]
        officers = next((c for t, c in town_officers.items() if t.casefold() == key), 0)
        if officers == 0:
            for i in rows:
                reason[i] = "no_officers"
            continue
        labels = [f"{town} officer {o + 1}" for o in range(officers)]
        town_base = next((b for t, b in town_bases.items() if t.casefold() == key), None)
        all_rows = rows
        rows = [i for i in rows if not no_window(i)]
        if not rows:
            why = (f"no town-centre hotspots in {town} for this period" if not all_rows else
                   f"no town-centre hotspot in {town} has a peak hour within the shift")
            where = (town_base if town_base is not None else
                     Base(f"{town} town centre", *centres[key]) if key in centres else
                     Base(f"{town}: start at {cand.label[all_rows[0]]}",
                          float(cand.x[all_rows[0]]), float(cand.y[all_rows[0]]))
                     if all_rows else None)
            if where is None:
                info.setdefault("notes", []).append(
                    f"{town}'s officers have nothing to patrol and no known place to start "
                    f"from: {why}")
                continue
            routes += [Route(TOWN_TEAM, label, town, where,
                             *_stops(where, [], [], cand, travel, np.zeros((1, 1)),
                                     np.zeros((1, 2)), "foot", 0.0, shift), empty_reason=why)
                       for label in labels]
            continue
        if town_base is not None:
            base = town_base
        else:
            busiest = max(rows, key=lambda i: float(cand.score[i]))
            base = Base(f"{town}: start at {cand.label[busiest]}",
                        float(cand.x[busiest]), float(cand.y[busiest]))
            info.setdefault("notes", []).append(
                f"{town} has no patrol base for town centre officers: they start and end at "
                "its busiest hotspot")
        nodes = _town_nodes(rows, cand, windows, officers, travel, options, shift, rng)
        for nd in nodes:
            visits_wanted[nd.hotspot] = nd.visits
        made, visited = _route(TOWN_TEAM, labels, town, base, nodes, cand, travel, "foot",
                               shift, options, 1.5, balance=True)
        _say_why_empty(made, visited, [
            (not visited, f"no town-centre hotspot in {town} can be reached within the shift"),
            (True, f"the other officers make every visit to {town}'s hotspots that fits in "
                   "the shift"),
        ])
        routes += made
        for i in rows:
            if i not in visited:
                reason[i] = "out_of_time"
    position = {hid: i for i, hid in enumerate(cand.id)}
    for r in routes:
        for stop in r.stops:
            if stop.hotspot is not None:
                visits_planned[position[stop.hotspot]] += 1
    table = [
        PlannedHotspot(
            id=cand.id[i], label=cand.label[i], rank=cand.rank[i], unit=unit[i],
            context_class=cand.context_class[i], place=cand.place[i], x=float(cand.x[i]),
            y=float(cand.y[i]), score=float(cand.score[i]), windows=windows[i],
            profile_used=peaks[i] is not None, visits_wanted=int(visits_wanted[i]),
            visits_planned=int(visits_planned[i]), reason=reason[i],
            look_for=_look_for(cand.category_mix[i], look_for or {}, category_labels or {},
                               cand.heritage_sites[i]))
        for i in range(len(cand))
    ]
    return PatrolPlan(shift, routes, table, crs, travel.describe(), options, info)


def _say_why_empty(routes: list[Route], visited: set[int],
                   reasons: list[tuple[bool, str]]) -> None:
    """Give each route with no stops the first reason whose condition holds."""
    why = next(text for holds, text in reasons if holds)
    for r in routes:
        if not any(s.kind == "hotspot" for s in r.stops):
            r.empty_reason = why


def _town_nodes(rows: list[int], cand: _Cand, windows: list[list[tuple[float, float]]],
                officers: int, travel: TravelModel, options: PlanOptions, shift: Shift,
                rng: np.random.Generator) -> list[_Node]:
    """The visits of a town's hotspots: shared out by score, revisits for the busiest."""
    dwell = options.dwell_min * 60.0
    gap = options.min_gap_min * 60.0
    xy = cand.xy(rows)
    walk = travel.matrix(xy, "foot")
    off = walk[~np.eye(len(rows), dtype=bool)]
    off = off[np.isfinite(off)]
    typical = float(np.median(off)) if off.size else 0.0
    capacity = officers * shift.seconds / (dwell + typical)
    scores = cand.score[rows]
    share = scores / scores.sum() if scores.sum() > 0 else np.full(len(rows), 1 / len(rows))
    nodes: list[_Node] = []
    for i, s in zip(rows, share.tolist(), strict=True):
        most = max(1, int(_windows_length(windows[i]) // (2 * gap)))
        visits = int(min(most, max(1, round(capacity * s))))
        nodes += _visit_nodes(i, windows[i], visits, float(cand.score[i]), gap, rng)
    return [nd for nd in nodes if nd.windows]


# --- output --------------------------------------------------------------------------------


def _iso(shift: Shift, seconds: float) -> str:
    return shift.at(round(seconds)).isoformat(timespec="minutes")


def _minutes(value: float) -> str:
    """Minutes as a person reads them: ``45 min``, ``2 h 05 min``."""
    m = round(value)
    return f"{m} min" if m < 60 else f"{m // 60} h {m % 60:02d} min"


def plan_to_dict(plan: PatrolPlan) -> dict[str, Any]:
    """See :meth:`PatrolPlan.to_dict`."""
    to_wgs = Transformer.from_crs(plan.crs, "EPSG:4326", always_xy=True)
    shift = plan.shift

    def lonlat(x: float, y: float) -> tuple[float, float]:
        if not (math.isfinite(x) and math.isfinite(y)):
            return (math.nan, math.nan)
        lon, lat = to_wgs.transform(x, y)
        return round(float(lon), 6), round(float(lat), 6)

    look = {h.id: h.look_for for h in plan.hotspots}
    idle_s = plan.options.idle_threshold_min * 60.0
    routes: list[dict[str, Any]] = []
    warnings: list[dict[str, Any]] = []
    for r in plan.routes:
        stops = []
        for n, s in enumerate(r.stops):
            lon, lat = lonlat(s.x, s.y)
            wait_s = s.start_s - s.arrival_s
            stop: dict[str, Any] = {
                "seq": n, "kind": s.kind, "name": s.name, "lon": lon, "lat": lat,
                "grid_ref": grid_reference_of(s.x, s.y, plan.crs),
                "arrival": _iso(shift, s.arrival_s), "start": _iso(shift, s.start_s),
                "departure": _iso(shift, s.departure_s),
                "wait_min": round(wait_s / 60.0, 1),
                "idle_min": round(wait_s / 60.0, 1) if wait_s > idle_s else 0.0,
                "dwell_min": round((s.departure_s - s.start_s) / 60.0, 1),
                "from_previous": {"distance_m": round(s.distance_m, 0),
                                  "travel_min": round(s.travel_s / 60.0, 1)},
            }
            if s.kind == "hotspot":
                stop.update({
                    "stop_id": f"{r.label}|{n}|{s.hotspot}|{s.visit}",
                    "hotspot_id": s.hotspot, "visit": s.visit, "visits": s.visits,
                    "score": round(s.score, 4),
                    "windows": [[_iso(shift, a), _iso(shift, b)] for a, b in s.windows],
                    "look_for": look.get(s.hotspot or "", []),
                })
            stops.append(stop)
        hot = [s for s in r.stops if s.kind == "hotspot"]
        legs = [[list(lonlat(float(x), float(y))) for x, y in leg] for leg in r.legs]
        idle = [st for st in stops if st["idle_min"] > 0]
        if not hot:
            why = r.empty_reason or "nothing to visit"
            warnings.append({"route": r.label, "kind": "no_stops",
                             "message": f"{r.label} has no stops: {why}."})
        elif idle:
            longest = max(idle, key=lambda st: st["idle_min"])
            warnings.append({
                "route": r.label, "kind": "idle",
                "message": (f"{r.label} waits {_minutes(sum(st['idle_min'] for st in idle))} "
                            f"in all at {len(idle)} stop{'s' if len(idle) > 1 else ''} for "
                            f"a patrol window to open (longest: {_minutes(longest['idle_min'])}"
                            f" before {longest['name']} at {longest['start'][11:16]})."),
                "idle_min": round(sum(st["idle_min"] for st in idle), 1)})
        routes.append({
            "unit": r.unit, "label": r.label, "town": r.town,
            "base": {"name": r.base.name, **dict(zip(("lon", "lat"), lonlat(r.base.x,
                                                                            r.base.y),
                                                     strict=True))},
            "stops": stops, "legs": legs,
            "empty_reason": None if hot else (r.empty_reason or "nothing to visit"),
            "totals": {
                "stops": len(hot),
                "distance_m": round(sum(s.distance_m for s in r.stops), 0),
                "travel_min": round(sum(s.travel_s for s in r.stops) / 60.0, 1),
                "dwell_min": round(sum(s.departure_s - s.start_s for s in hot) / 60.0, 1),
                "wait_min": round(sum(s.start_s - s.arrival_s for s in hot) / 60.0, 1),
                "idle_min": round(sum(st["idle_min"] for st in idle), 1),
                "score": round(sum({s.hotspot: s.score for s in hot}.values()), 4),
                "start": _iso(shift, r.stops[0].departure_s),
                "end": _iso(shift, r.stops[-1].arrival_s),
            },
        })
    hotspots = []
    for h in plan.hotspots:
        lon, lat = lonlat(h.x, h.y)
        hotspots.append({
            "hotspot_id": h.id, "label": h.label, "rank": h.rank, "unit": h.unit or None,
            "context_class": h.context_class, "place": h.place or None, "lon": lon, "lat": lat,
            "score": round(h.score, 4),
            "peak_windows": [[_iso(shift, a), _iso(shift, b)] for a, b in h.windows],
            "profile_used": h.profile_used, "visits_wanted": h.visits_wanted,
            "visits_planned": h.visits_planned, "left_out": h.reason,
            "why": REASONS.get(h.reason) if h.reason else None, "look_for": h.look_for,
        })
    covered = sum(h.score for h in plan.hotspots if h.visits_planned > 0)
    available = sum(h.score for h in plan.hotspots if h.unit)
    left = [h for h in plan.hotspots if h.reason]
    return {
        "shift": {"start": shift.start.isoformat(timespec="minutes"),
                  "end": shift.end.isoformat(timespec="minutes"),
                  "hours": round(shift.seconds / 3600.0, 2)},
        "options": {"dwell_min": plan.options.dwell_min,
                    "min_gap_min": plan.options.min_gap_min,
                    "peak_threshold": plan.options.peak_threshold,
                    "min_profile": plan.options.min_profile, "seed": plan.options.seed,
                    "idle_threshold_min": plan.options.idle_threshold_min},
        "travel": plan.travel,
        "routes": routes,
        "hotspots": hotspots,
        "left_out": [{"hotspot_id": h.id, "label": h.label, "reason": h.reason,
                      "why": REASONS.get(h.reason or "", "")} for h in left],
        "totals": {
            "routes": len(routes),
            "stops": sum(rt["totals"]["stops"] for rt in routes),
            "hotspots_visited": sum(1 for h in plan.hotspots if h.visits_planned > 0),
            "hotspots_left_out": len(left),
            "score_covered": round(covered, 4),
            "score_available": round(available, 4),
            "share_covered": round(covered / available, 4) if available > 0 else None,
            "distance_m": round(sum(rt["totals"]["distance_m"] for rt in routes), 0),
            "idle_min": round(sum(rt["totals"]["idle_min"] for rt in routes), 1),
        },
        "notes": plan.info.get("notes", []),
        "warnings": warnings,
    }
