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
as its window and the next stop allow
(:func:`~hotspot.patrol.routes.latest_schedule`), so a vehicle never sits hours at its first
stop; the town officers' search also counts time away from the base (waits included) and
shares a town's visits evenly between its officers (:data:`BALANCE_COST_S`). A wait longer
than ``idle_threshold_min`` (default 20) that remains is idle time: ``idle_min`` per stop and
route and a warning. A crew left with no stops keeps its route (two base stops) with its
``empty_reason`` and a warning.

Every stop comes with arrival, start and departure times, the wait before the start, dwell, the
distance and travel time from the previous stop; every hotspot left out comes with a reason:
``outside_peak_hours`` (no peak hour in the shift), ``out_of_time`` (the shift is full),
``unreachable`` (not joined to the base by the road network), ``no_team`` (an urban hotspot: no
team in this plan patrols it) or ``no_officers`` (a town given no officers).

The package, by step: :mod:`~hotspot.patrol.model` (the types and defaults),
:mod:`~hotspot.patrol.windows` (peak hours), :mod:`~hotspot.patrol.candidates` (the hotspot
table read), :mod:`~hotspot.patrol.visits` (visits and revisits),
:mod:`~hotspot.patrol.routing` (the OR-Tools model), :mod:`~hotspot.patrol.routes` (routes
timed), :mod:`~hotspot.patrol.planner` (:func:`plan_patrols`) and
:mod:`~hotspot.patrol.export` (WGS84/JSON output). Every name below is importable from
``hotspot.patrol`` itself.
"""

from __future__ import annotations

from hotspot.patrol.export import REASONS, plan_to_dict
from hotspot.patrol.model import (
    BALANCE_COST_S,
    DWELL_MIN,
    IDLE_THRESHOLD_MIN,
    MAX_SHIFT_H,
    MIN_GAP_MIN,
    MIN_PROFILE,
    PEAK_THRESHOLD,
    RURAL_CLASSES,
    RURAL_TEAM,
    TOWN_TEAM,
    Base,
    PatrolPlan,
    PlannedHotspot,
    PlanOptions,
    Route,
    Shift,
    Stop,
)
from hotspot.patrol.planner import plan_patrols
from hotspot.patrol.routing import solve_prize_routing
from hotspot.patrol.windows import peak_slots, shift_windows

__all__ = [
    "BALANCE_COST_S",
    "DWELL_MIN",
    "IDLE_THRESHOLD_MIN",
    "MAX_SHIFT_H",
    "MIN_GAP_MIN",
    "MIN_PROFILE",
    "PEAK_THRESHOLD",
    "REASONS",
    "RURAL_CLASSES",
    "RURAL_TEAM",
    "TOWN_TEAM",
    "Base",
    "PatrolPlan",
    "PlanOptions",
    "PlannedHotspot",
    "Route",
    "Shift",
    "Stop",
    "peak_slots",
    "plan_patrols",
    "plan_to_dict",
    "shift_windows",
    "solve_prize_routing",
]
