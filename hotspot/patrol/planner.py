"""Patrol planning, step by step: check the request, find each hotspot's windows, route the
Rural Crime Team and each town's officers, and say why every hotspot left out was left out.

:func:`plan_patrols` is the entry point; the method is described in :mod:`hotspot.patrol`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import shapely

from hotspot.errors import InvalidParameter
from hotspot.patrol.candidates import Candidates, read_candidates, what_to_look_for
from hotspot.patrol.model import (
    RURAL_CLASSES,
    RURAL_TEAM,
    TOWN_TEAM,
    Base,
    PatrolPlan,
    PlannedHotspot,
    PlanOptions,
    Route,
    Shift,
)
from hotspot.patrol.routes import route_crews, stay_at_base
from hotspot.patrol.visits import Visit, town_visits
from hotspot.patrol.windows import cut_windows, peak_slots, shift_windows
from hotspot.travel import TravelModel

Windows = list[tuple[float, float]]


@dataclass
class _Planning:
    """What the planning steps share: the candidates, their start windows and team, and the
    plan as it grows (reasons left out, visits wanted, routes, notes)."""

    cand: Candidates
    windows: list[Windows]
    """Per candidate: when a visit may start (seconds after the shift's start)."""
    unit: list[str]
    """Per candidate: RURAL_TEAM, TOWN_TEAM or "" (no team patrols it)."""
    shift: Shift
    travel: TravelModel
    options: PlanOptions
    reason: list[str | None]
    visits_wanted: np.ndarray
    routes: list[Route] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    def note(self, text: str) -> None:
        """Add a note for the planner to the plan."""
        self.info.setdefault("notes", []).append(text)

    def leave_out_unpatrolled(self) -> None:
        """The candidates no team patrols (urban) are left out as ``no_team``."""
        for i in range(len(self.cand)):
            if self.unit[i] == "":
                self.reason[i] = "no_team"

    def in_peak_hours(self, rows: list[int]) -> list[int]:
        """The rows with a window in the shift; the others are left out as
        ``outside_peak_hours``."""
        kept = []
        for i in rows:
            if not self.windows[i]:
                self.reason[i] = "outside_peak_hours"
            else:
                kept.append(i)
        return kept


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
        out of range; ``parameter`` (and ``field``) names the parameter at fault. An empty
        hotspot table gives an empty plan.
    """
    options = options or PlanOptions()
    town_officers = dict(town_officers or {})
    town_bases = dict(town_bases or {})
    _check_request(rural_vehicles, rural_base, town_officers, town_bases, force_area)
    cand = read_candidates(hotspots)
    places = {p.casefold(): p for p, c in zip(cand.place, cand.context_class, strict=True)
              if c == "town_centre"}
    centres = {t.casefold(): xy for t, xy in (town_centres or {}).items()}
    _check_towns(town_officers, places, centres, len(cand))
    rng = np.random.default_rng([options.seed, shift.start.toordinal(), shift.start.hour])
    peaks = [peak_slots(p, options.peak_threshold, options.min_profile) for p in cand.profile]
    plan = _Planning(cand, _start_windows(peaks, shift, options), _units(cand), shift, travel,
                     options, [None] * len(cand), np.zeros(len(cand), dtype=np.int64))
    if not len(cand):
        plan.note("the selection has no hotspots: there is nothing to visit")
    _plan_rural(plan, rural_vehicles, rural_base)
    plan.leave_out_unpatrolled()
    _plan_towns(plan, places, centres, town_officers, town_bases, town_centres or {}, rng)
    hotspots_seen = _planned_hotspots(plan, peaks, look_for or {}, category_labels or {})
    return PatrolPlan(shift, plan.routes, hotspots_seen, crs, travel.describe(), options,
                      plan.info)


def _check_request(rural_vehicles: int, rural_base: Base | None, town_officers: dict[str, int],
                   town_bases: dict[str, Base], force_area: Any | None) -> None:
    """Refuse a request with nothing to plan, counts out of range or a base without a position
    or outside the force area."""
    if not 0 <= rural_vehicles <= 20:
        raise InvalidParameter("rural_vehicles must be from 0 to 20", "rural_vehicles")
    for town, count in town_officers.items():
        if not isinstance(count, int) or not 0 <= count <= 50:
            raise InvalidParameter(f"officers for {town!r} must be from 0 to 50",
                                   "town_officers")
    if rural_vehicles == 0 and not any(town_officers.values()):
        raise InvalidParameter("nothing to plan: give rural_vehicles or town_officers",
                               "rural_vehicles")
    if rural_vehicles and rural_base is None:
        raise InvalidParameter("rural_base is needed for the Rural Crime Team", "rural_base")
    if rural_base is not None:
        _check_base(rural_base, force_area, "rural_base", "rural_base")
    for base in town_bases.values():
        _check_base(base, force_area, "town base", "town_bases")


def _check_base(base: Base, area: Any | None, what: str, parameter: str) -> None:
    """Refuse a base with no position or outside ``area`` (the force area, when given); the
    error names ``parameter``."""
    if not (np.isfinite(base.x) and np.isfinite(base.y)):
        raise InvalidParameter(f"{what} {base.name!r} has no position", parameter)
    if area is not None and not shapely.intersects(area, shapely.Point(base.x, base.y)):
        raise InvalidParameter(f"{what} {base.name!r} is outside the force area", parameter)


def _check_towns(town_officers: dict[str, int], places: dict[str, str],
                 centres: dict[str, tuple[float, float]], candidates: int) -> None:
    """Refuse officers for a town with neither a town-centre hotspot nor a known town centre
    (unless the table is empty)."""
    unknown = [t for t in town_officers if t.casefold() not in places
               and t.casefold() not in centres]
    if unknown and candidates:
        raise InvalidParameter(
            f"no town-centre hotspot in {unknown[0][:60]!r}; the towns with town-centre hotspots are: "
            + (", ".join(sorted(places.values())) or "none"), "town_officers")


def _start_windows(peaks: list[np.ndarray | None], shift: Shift,
                   options: PlanOptions) -> list[Windows]:
    """Per candidate: its peak hours in the shift, cut to leave room for the dwell before the
    shift ends (seconds after the shift's start)."""
    windows = [shift_windows(pk, shift) for pk in peaks]
    dwell = options.dwell_min * 60.0
    return [[(a, b) for a, b in cut_windows(w, 0.0, shift.seconds - dwell)] for w in windows]


def _units(cand: Candidates) -> list[str]:
    """Per candidate, the team that patrols its context class ("" for none)."""
    return [RURAL_TEAM if c in RURAL_CLASSES else TOWN_TEAM if c == "town_centre" else ""
            for c in cand.context_class]


def _plan_rural(plan: _Planning, vehicles: int, base: Base | None) -> None:
    """Route the Rural Crime Team over the rural and heritage-site hotspots it can reach in
    their peak hours; with no vehicles or no base they are left out as ``no_team``."""
    rural_rows = [i for i in range(len(plan.cand)) if plan.unit[i] == RURAL_TEAM]
    if not (vehicles and base is not None):
        for i in rural_rows:
            plan.reason[i] = "no_team"
        return
    rows = _reachable_by_road(plan, plan.in_peak_hours(rural_rows), base)
    cand = plan.cand
    nodes = [Visit(i, 1, 1, plan.windows[i], float(cand.score[i])) for i in rows]
    labels = [f"Rural Crime Team vehicle {v + 1}" for v in range(vehicles)]
    made, visited = route_crews(RURAL_TEAM, labels, None, base, nodes, cand, plan.travel,
                                "vehicle", plan.shift, plan.options, 4.0)
    _say_why_empty(made, visited, [
        (not rural_rows, "no rural or heritage-site hotspots in this selection"),
        (all(plan.reason[i] == "outside_peak_hours" for i in rural_rows),
         "no rural or heritage-site hotspot has a peak hour within the shift"),
        (not rows, f"no hotspot can be reached by road from {base.name}"),
        (not visited, "no hotspot reachable within the shift"),
        (True, "the other vehicles make every stop that fits in the shift"),
    ])
    plan.routes += made
    for i in rows:
        plan.visits_wanted[i] = 1
        if i not in visited:
            plan.reason[i] = "out_of_time"


def _reachable_by_road(plan: _Planning, rows: list[int], base: Base) -> list[int]:
    """The rows a vehicle can drive to from ``base`` and back; the others are left out as
    ``unreachable`` (with a note when none can be reached)."""
    if not rows:
        return rows
    base_xy = np.array([[base.x, base.y]])
    reach = plan.travel.matrix(np.vstack([base_xy, plan.cand.xy(rows)]), "vehicle")
    ok = np.isfinite(reach[0, 1:]) & np.isfinite(reach[1:, 0])
    for i, good in zip(rows, ok.tolist(), strict=True):
        if not good:
            plan.reason[i] = "unreachable"
    if not ok.any():
        plan.note(f"no hotspot can be reached from {base.name}: is the base on the road "
                  "network (near a road, on a piece joined to the rest)?")
    return [i for i, good in zip(rows, ok.tolist(), strict=True) if good]


def _plan_towns(plan: _Planning, places: dict[str, str], centres: dict[str, tuple[float, float]],
                town_officers: dict[str, int], town_bases: dict[str, Base],
                town_centres: Mapping[str, tuple[float, float]],
                rng: np.random.Generator) -> None:
    """Route each town's officers in turn (by the casefolded name): the towns with town-centre
    hotspots (``places``) and those given officers."""
    towns = dict(places)
    for t in town_officers:
        towns.setdefault(t.casefold(), next((p for p in town_centres
                                             if p.casefold() == t.casefold()), t))
    for key, town in sorted(towns.items()):
        officers = next((c for t, c in town_officers.items() if t.casefold() == key), 0)
        town_base = next((b for t, b in town_bases.items() if t.casefold() == key), None)
        _plan_town(plan, key, town, officers, town_base, centres.get(key), rng)


def _plan_town(plan: _Planning, key: str, town: str, officers: int, town_base: Base | None,
               centre: tuple[float, float] | None, rng: np.random.Generator) -> None:
    """Route one town's officers over its town-centre hotspots (revisits for the busiest);
    with no officers they are left out as ``no_officers``, with nothing to visit the officers
    keep a route with no stops (or a note when there is no place to start from)."""
    cand = plan.cand
    all_rows = [i for i in range(len(cand))
                if plan.unit[i] == TOWN_TEAM and cand.place[i].casefold() == key]
    if officers == 0:
        for i in all_rows:
            plan.reason[i] = "no_officers"
        return
    labels = [f"{town} officer {o + 1}" for o in range(officers)]
    rows = plan.in_peak_hours(all_rows)
    if not rows:
        _idle_officers(plan, town, labels, all_rows, town_base, centre)
        return
    if town_base is not None:
        base = town_base
    else:
        busiest = max(rows, key=lambda i: float(cand.score[i]))
        base = Base(f"{town}: start at {cand.label[busiest]}",
                    float(cand.x[busiest]), float(cand.y[busiest]))
        plan.note(f"{town} has no patrol base for town centre officers: they start and end at "
                  "its busiest hotspot")
    nodes = town_visits(rows, cand, plan.windows, officers, plan.travel, plan.options,
                        plan.shift, rng)
    for visit in nodes:
        plan.visits_wanted[visit.hotspot] = visit.visits
    made, visited = route_crews(TOWN_TEAM, labels, town, base, nodes, cand, plan.travel,
                                "foot", plan.shift, plan.options, 1.5, balance=True)
    _say_why_empty(made, visited, [
        (not visited, f"no town-centre hotspot in {town} can be reached within the shift"),
        (True, f"the other officers make every visit to {town}'s hotspots that fits in "
               "the shift"),
    ])
    plan.routes += made
    for i in rows:
        if i not in visited:
            plan.reason[i] = "out_of_time"


def _idle_officers(plan: _Planning, town: str, labels: list[str], all_rows: list[int],
                   town_base: Base | None, centre: tuple[float, float] | None) -> None:
    """Officers of a town with nothing to visit in the shift: a route with no stops and the
    reason each, from the town's base, else its centre, else its first hotspot; with none of
    these, a note."""
    cand = plan.cand
    why = (f"no town-centre hotspots in {town} for this period" if not all_rows else
           f"no town-centre hotspot in {town} has a peak hour within the shift")
    where = (town_base if town_base is not None else
             Base(f"{town} town centre", *centre) if centre is not None else
             Base(f"{town}: start at {cand.label[all_rows[0]]}",
                  float(cand.x[all_rows[0]]), float(cand.y[all_rows[0]]))
             if all_rows else None)
    if where is None:
        plan.note(f"{town}'s officers have nothing to patrol and no known place to start "
                  f"from: {why}")
        return
    plan.routes += [Route(TOWN_TEAM, label, town, where, *stay_at_base(where), empty_reason=why)
                    for label in labels]


def _say_why_empty(routes: list[Route], visited: set[int],
                   reasons: list[tuple[bool, str]]) -> None:
    """Give each route with no stops the first reason whose condition holds."""
    why = next(text for holds, text in reasons if holds)
    for r in routes:
        if not any(s.kind == "hotspot" for s in r.stops):
            r.empty_reason = why


def _planned_hotspots(plan: _Planning, peaks: list[np.ndarray | None],
                      guidance: Mapping[str, str],
                      category_labels: Mapping[str, str]) -> list[PlannedHotspot]:
    """Every candidate as the plan saw it: team, windows, visits wanted and planned, the
    reason it was left out and what to look for."""
    cand = plan.cand
    visits_planned = np.zeros(len(cand), dtype=np.int64)
    position = {hid: i for i, hid in enumerate(cand.id)}
    for r in plan.routes:
        for stop in r.stops:
            if stop.hotspot is not None:
                visits_planned[position[stop.hotspot]] += 1
    return [
        PlannedHotspot(
            id=cand.id[i], label=cand.label[i], rank=cand.rank[i], unit=plan.unit[i],
            context_class=cand.context_class[i], place=cand.place[i], x=float(cand.x[i]),
            y=float(cand.y[i]), score=float(cand.score[i]), windows=plan.windows[i],
            profile_used=peaks[i] is not None, visits_wanted=int(plan.visits_wanted[i]),
            visits_planned=int(visits_planned[i]), reason=plan.reason[i],
            look_for=what_to_look_for(cand.category_mix[i], guidance, category_labels,
                                      cand.heritage_sites[i]))
        for i in range(len(cand))
    ]
