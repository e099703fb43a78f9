"""Prize-collecting vehicle routing with time windows, on OR-Tools' routing library.

:func:`solve_prize_routing` is the one entry point: a travel time matrix (seconds), service
times, the windows in which each stop may start, prizes and the vehicles' bases in; per vehicle
the stops in order with their service start (seconds) out. The model is built in named steps
(time dimension, balance, optional stops, route ends) and searched with the cheapest-arc first
solution, then guided local search.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hotspot.patrol.model import BALANCE_COST_S


@dataclass
class _Model:
    """The OR-Tools model under construction and what its steps share."""

    manager: Any
    """pywrapcp.RoutingIndexManager: solver indices to nodes."""
    routing: Any
    """pywrapcp.RoutingModel."""
    times: np.ndarray
    """Whole seconds between nodes; :attr:`unreachable` where there is no way."""
    unreachable: int
    horizon: int
    depots: list[int]
    time: Any = None
    """The "time" dimension (its cumul at a stop is the service start)."""
    callbacks: list[Callable[..., int]] = field(default_factory=list)
    """The Python callbacks given to the solver, kept alive while it runs."""

    def reachable(self, node: int) -> bool:
        """Whether some base reaches ``node`` and is reached from it."""
        return any(self.times[d, node] < self.unreachable
                   and self.times[node, d] < self.unreachable for d in set(self.depots))


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
    # imported here, as before the split: OR-Tools loads only when a plan is solved
    from ortools.constraint_solver import pywrapcp

    model = _new_model(pywrapcp, times_s, list(depots), horizon_s)
    _add_time_dimension(model, service_s, wait_cost)
    share = _even_share(model, windows, prizes) if balance and len(depots) > 1 else 0
    unit = _prize_unit(prizes, share, wait_cost, model.horizon, len(depots))
    if share:
        _add_balance(model, share)
    _add_optional_stops(model, windows, prizes, unit)
    _bound_route_ends(model)
    solution = model.routing.SolveWithParameters(_search_parameters(pywrapcp, time_limit_s))
    return _read_routes(model, solution)


def _new_model(pywrapcp: Any, times_s: np.ndarray, depots: list[int],
               horizon_s: float) -> _Model:
    """An empty routing model over the nodes of ``times_s``, travel times in whole seconds
    (rounded up; ten horizons and a second where there is no way)."""
    horizon = math.floor(horizon_s)
    unreachable = 10 * horizon + 1
    times = np.where(np.isfinite(times_s), np.ceil(np.nan_to_num(times_s, posinf=0.0)),
                     unreachable)
    manager = pywrapcp.RoutingIndexManager(len(times_s), len(depots), depots, depots)
    return _Model(manager, pywrapcp.RoutingModel(manager), times.astype(np.int64), unreachable,
                  horizon, depots)


def _add_time_dimension(model: _Model, service_s: Sequence[float], wait_cost: bool) -> None:
    """Arc cost and the "time" dimension: travel plus the service at the arc's start; with
    ``wait_cost``, time away from the base costs too (waiting is never free)."""
    service = np.round(np.asarray(service_s, dtype=float)).astype(np.int64)
    transit = (model.times + service[:, None]).tolist()
    manager, routing = model.manager, model.routing

    def cost(i: int, j: int) -> int:
        return int(transit[manager.IndexToNode(i)][manager.IndexToNode(j)])

    model.callbacks.append(cost)
    callback = routing.RegisterTransitCallback(cost)
    routing.SetArcCostEvaluatorOfAllVehicles(callback)
    routing.AddDimension(callback, model.horizon, model.horizon, False, "time")
    model.time = routing.GetDimensionOrDie("time")
    if wait_cost:
        model.time.SetSpanCostCoefficientForAllVehicles(1)


def _even_share(model: _Model, windows: Sequence[Sequence[tuple[float, float]]],
                prizes: Sequence[float]) -> int:
    """Each vehicle's even share of the stops that can be made (a prize, a way to and from a
    base, a window at least a second long)."""
    depot_set = set(model.depots)
    possible = [node for node in range(len(model.times))
                if node not in depot_set and prizes[node] > 0 and model.reachable(node)
                and any(math.floor(b) >= math.ceil(a) for a, b in windows[node])]
    return len(possible) // len(model.depots)


def _prize_unit(prizes: Sequence[float], share: int, wait_cost: bool, horizon: int,
                vehicles: int) -> float:
    """Penalty per unit of prize for leaving a stop out: any prize outweighs all travel, time
    away and balancing (lexicographic)."""
    positive = [p for p in prizes if p > 0]
    return ((1 + int(wait_cost) + share) * horizon * vehicles + 1) / (
        min(positive) if positive else 1.0)


def _add_balance(model: _Model, share: int) -> None:
    """A "stops" dimension; a vehicle short of ``share`` stops pays :data:`BALANCE_COST_S`
    (at most the horizon) per stop short."""
    manager, routing = model.manager, model.routing
    depot_set = set(model.depots)
    balance_cost = min(math.ceil(BALANCE_COST_S), model.horizon)

    def one(i: int) -> int:
        return 0 if manager.IndexToNode(i) in depot_set else 1

    model.callbacks.append(one)
    count = routing.RegisterUnaryTransitCallback(one)
    routing.AddDimension(count, 0, len(model.times), True, "stops")
    stops_dim = routing.GetDimensionOrDie("stops")
    for v in range(len(model.depots)):
        # an empty route's costs count only if it counts as used
        routing.SetVehicleUsedWhenEmpty(True, v)
        stops_dim.SetCumulVarSoftLowerBound(routing.End(v), share, balance_cost)


def _add_optional_stops(model: _Model, windows: Sequence[Sequence[tuple[float, float]]],
                        prizes: Sequence[float], unit: float) -> None:
    """Every node but the bases: a stop that may start only in its windows (whole seconds) and
    may be left out at its prize times ``unit``; one with no window, no way or no prize is
    left out."""
    routing, depot_set = model.routing, set(model.depots)
    for node in range(len(model.times)):
        if node in depot_set:
            continue
        index = model.manager.NodeToIndex(node)
        win = sorted((math.ceil(a), math.floor(b)) for a, b in windows[node])
        win = [(a, b) for a, b in win if b >= a]
        if not win or not model.reachable(node) or prizes[node] <= 0:
            routing.AddDisjunction([index], 0)
            routing.solver().Add(routing.ActiveVar(index) == 0)
            continue
        cumul = model.time.CumulVar(index)
        cumul.SetRange(win[0][0], min(win[-1][1], model.horizon))
        for (_a, b), (a2, _b2) in itertools.pairwise(win):
            if a2 - 1 >= b + 1:
                cumul.RemoveInterval(b + 1, a2 - 1)
        routing.AddDisjunction([index], round(prizes[node] * unit))


def _bound_route_ends(model: _Model) -> None:
    """Every route leaves at 0 or later and is back by the horizon; starts as late and ends as
    early as the solution allows."""
    routing, time = model.routing, model.time
    for v in range(len(model.depots)):
        time.CumulVar(routing.Start(v)).SetRange(0, model.horizon)
        time.CumulVar(routing.End(v)).SetRange(0, model.horizon)
        routing.AddVariableMinimizedByFinalizer(time.CumulVar(routing.Start(v)))
        routing.AddVariableMinimizedByFinalizer(time.CumulVar(routing.End(v)))


def _search_parameters(pywrapcp: Any, time_limit_s: float) -> Any:
    """Cheapest-arc first solution, then guided local search for ``time_limit_s`` (at least
    50 ms)."""
    from ortools.constraint_solver import routing_enums_pb2

    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH)
    params.time_limit.FromMilliseconds(max(50, int(time_limit_s * 1000)))
    return params


def _read_routes(model: _Model, solution: Any) -> list[list[tuple[int, float]]]:
    """Per vehicle, the stops of ``solution`` in order as (node, service start seconds); no
    stops for any vehicle when there is no solution."""
    routes: list[list[tuple[int, float]]] = [[] for _ in model.depots]
    if solution is None:
        return routes
    routing = model.routing
    for v in range(len(model.depots)):
        index = solution.Value(routing.NextVar(routing.Start(v)))
        while not routing.IsEnd(index):
            node = model.manager.IndexToNode(index)
            routes[v].append((node, float(solution.Min(model.time.CumulVar(index)))))
            index = solution.Value(routing.NextVar(index))
    return routes
