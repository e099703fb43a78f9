"""Routes of a crew set: solve the routing over the visits, then time each route's stops.

:func:`route_crews` routes a team's vehicles or officers from one base over a list of
:class:`~hotspot.patrol.visits.Visit` (via :func:`hotspot.patrol.routing.solve_prize_routing`);
:func:`timed_stops` turns a solved order into stops with arrival, start and departure (seconds
after the shift's start) and the legs' lines (metres), leaving the base as late as the stops
allow (:func:`latest_schedule`).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from hotspot.patrol.candidates import Candidates
from hotspot.patrol.model import Base, PlanOptions, Route, Shift, Stop
from hotspot.patrol.routing import solve_prize_routing
from hotspot.patrol.visits import Visit
from hotspot.patrol.windows import latest_in
from hotspot.travel import TravelModel


def search_time(options: PlanOptions, stops: int, cap: float) -> float:
    """The solver's search time (seconds): the options', else 1 s plus 0.03 s a stop, at most
    ``cap``."""
    if options.time_limit_s is not None:
        return options.time_limit_s
    return min(cap, 1.0 + 0.03 * stops)


def route_crews(
    unit: str, labels: list[str], town: str | None, base: Base, nodes: list[Visit],
    cand: Candidates, travel: TravelModel, mode: str, shift: Shift, options: PlanOptions,
    cap_s: float, balance: bool = False,
) -> tuple[list[Route], set[int]]:
    """Route ``len(labels)`` vehicles or officers from ``base`` over ``nodes``; return the
    routes and the candidate rows visited at least once. ``balance``: share the stops out
    evenly and weigh waiting as travel (town centre officers, whose revisits wait for their
    windows; a vehicle's search keeps to score and travel, and :func:`latest_schedule` still
    takes out the waits its order allows)."""
    xy = np.vstack([np.array([[base.x, base.y]]), cand.xy([visit.hotspot for visit in nodes])])
    k = len(labels)
    times = travel.matrix(xy, mode)
    # node 0 is the base, shared by every vehicle or officer of this route set
    dwell = options.dwell_min * 60.0
    service = [0.0] + [dwell] * len(nodes)
    windows = [[(0.0, shift.seconds)]] + [[(a, min(b, shift.seconds - dwell))
                                           for a, b in visit.windows] for visit in nodes]
    prizes = [0.0] + [visit.prize for visit in nodes]
    solved = solve_prize_routing(times, service, windows, prizes, [0] * k, shift.seconds,
                                 search_time(options, len(nodes), cap_s), balance=balance,
                                 wait_cost=balance)
    routes = []
    visited: set[int] = set()
    for label, seq in zip(labels, solved, strict=True):
        stops, legs = timed_stops(base, seq, nodes, cand, travel, times, xy, mode, dwell,
                                  windows)
        for node_i, _start in seq:
            visited.add(nodes[node_i - 1].hotspot)
        routes.append(Route(unit, label, town, base, stops, legs))
    return routes, visited


def latest_schedule(travel_s: Sequence[float], windows: Sequence[Sequence[tuple[float, float]]],
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
        t = latest_in(windows[i], bound)
        latest[i] = earliest[i] if t is None or t < earliest[i] else t
        bound = latest[i]
    return latest


def stay_at_base(base: Base) -> tuple[list[Stop], list[np.ndarray]]:
    """The stops and legs of a route with no stops: the base twice, at 0 s, no legs."""
    return [Stop("base", base.name, base.x, base.y, 0.0, 0.0, 0.0),
            Stop("base", base.name, base.x, base.y, 0.0, 0.0, 0.0)], []


def timed_stops(base: Base, seq: list[tuple[int, float]], nodes: list[Visit], cand: Candidates,
                travel: TravelModel, times: np.ndarray, xy: np.ndarray, mode: str, dwell: float,
                windows: Sequence[Sequence[tuple[float, float]]] | None = None,
                ) -> tuple[list[Stop], list[np.ndarray]]:
    """Times and legs of one route: leave the base as late as the stops allow, and wait no
    longer than the windows force (:func:`latest_schedule`). ``seq`` is the solver's (node,
    start) order, ``times`` and ``xy`` per node (node 0 the base); ``windows`` per node as the
    solver had them; default the nodes' own."""
    if not seq:
        return stay_at_base(base)
    path = [0] + [node for node, _s in seq] + [0]
    hops = [float(times[a, b]) for a, b in itertools.pairwise(path)]
    node_windows = [windows[node] if windows is not None else nodes[node - 1].windows
                    for node, _s in seq]
    starts = latest_schedule(hops, node_windows, [s for _n, s in seq], dwell)
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
        planned = nodes[node - 1]
        start = max(arrival, starts[i - 1])
        row = planned.hotspot
        stops.append(Stop("hotspot", cand.label[row], float(cand.x[row]), float(cand.y[row]),
                          arrival, start, start + dwell, travel_s=t, distance_m=dist,
                          hotspot=cand.id[row], visit=planned.visit, visits=planned.visits,
                          windows=planned.windows, score=float(cand.score[row])))
        prev_departure = start + dwell
    return stops, legs
