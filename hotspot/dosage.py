"""Patrol dosage: the visits and minutes on site a plan's crews delivered against what it
planned, per hotspot, crew and team, and the hotspots planned but never visited.

A plan is the JSON document of :func:`hotspot.patrol.plan_to_dict` (its routes' hotspot stops,
each with a ``stop_id``, the planned ``dwell_min`` and the route's ``label`` (the crew) and
``unit`` (the team)); visits are what officers logged against it in the field view
(``stop_id``, ``hotspot_id``, ``visited_at`` and, when the dwell timer was stopped,
``ended_at``: ISO 8601 times with their UTC offset). Pure computation: no I/O.

A planned stop counts as **made** when at least one visit names its ``stop_id``; the minutes
on site are the sum of ``ended_at - visited_at`` over the visits that recorded an end (a visit
without one is counted as made, its minutes as **not recorded**, never guessed). Visits whose
``stop_id`` is not a stop of the plan are counted apart (``unplanned``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

MAX_VISIT_MIN = 12 * 60.0
"""Longest time on site one visit can count, minutes (a timer left running past a shift)."""


@dataclass
class Tally:
    """Planned against delivered, for one hotspot, crew or team."""

    planned_visits: int = 0
    planned_min: float = 0.0
    visits_made: int = 0
    """Planned stops with at least one visit logged."""
    minutes: float = 0.0
    """Minutes on site, over the visits that recorded an end."""
    untimed_visits: int = 0
    """Visits logged with no end (the dwell timer was not used): on site for an unknown time."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with ``share`` (visits made over planned; None when none was planned)."""
        share = self.visits_made / self.planned_visits if self.planned_visits else None
        return {"planned_visits": self.planned_visits,
                "planned_min": round(self.planned_min, 1),
                "visits_made": self.visits_made,
                "share": None if share is None else round(share, 4),
                "minutes_on_site": round(self.minutes, 1),
                "untimed_visits": self.untimed_visits}


@dataclass
class _Stop:
    stop_id: str
    hotspot_id: str
    crew: str
    team: str
    dwell_min: float
    visits: list[Mapping[str, Any]] = field(default_factory=list)


def _planned_stops(plan: Mapping[str, Any]) -> dict[str, _Stop]:
    """The plan's hotspot stops by ``stop_id``."""
    stops: dict[str, _Stop] = {}
    for route in plan.get("routes", []):
        for stop in route.get("stops", []):
            if stop.get("kind") != "hotspot" or not stop.get("stop_id"):
                continue
            stops[str(stop["stop_id"])] = _Stop(
                str(stop["stop_id"]), str(stop.get("hotspot_id") or ""),
                str(route.get("label") or ""), str(route.get("unit") or ""),
                float(stop.get("dwell_min") or 0.0))
    return stops


def minutes_on_site(visit: Mapping[str, Any]) -> float | None:
    """A visit's minutes on site (``ended_at - visited_at``, at most :data:`MAX_VISIT_MIN`),
    or None when it recorded no end (or an end before its start)."""
    ended = visit.get("ended_at")
    if not ended:
        return None
    start = datetime.fromisoformat(str(visit["visited_at"]))
    minutes = (datetime.fromisoformat(str(ended)) - start).total_seconds() / 60.0
    return min(minutes, MAX_VISIT_MIN) if minutes >= 0 else None


def _add(tally: Tally, stop: _Stop) -> None:
    tally.planned_visits += 1
    tally.planned_min += stop.dwell_min
    if stop.visits:
        tally.visits_made += 1
    for visit in stop.visits:
        minutes = minutes_on_site(visit)
        if minutes is None:
            tally.untimed_visits += 1
        else:
            tally.minutes += minutes


def _by(stops: Iterable[_Stop], key: str) -> dict[str, Tally]:
    out: dict[str, Tally] = {}
    for stop in stops:
        _add(out.setdefault(getattr(stop, key), Tally()), stop)
    return out


def patrol_dosage(plan: Mapping[str, Any], visits: Sequence[Mapping[str, Any]]
                  ) -> dict[str, Any]:
    """Dosage delivered against ``plan`` by ``visits`` (see the module's docstring).

    Returns a JSON-ready dict: ``totals``; ``hotspots``, ``crews`` and ``teams`` (each a list
    of tallies with their ``hotspot_id``, ``crew`` or ``team``, in the plan's order);
    ``never_visited`` (the ids of the hotspots planned whose stops have no visit, in the plan's
    order); and ``unplanned_visits`` (visits naming no stop of the plan)."""
    stops = _planned_stops(plan)
    unplanned = 0
    for visit in visits:
        stop = stops.get(str(visit.get("stop_id") or ""))
        if stop is None:
            unplanned += 1
        else:
            stop.visits.append(visit)
    total = Tally()
    for stop in stops.values():
        _add(total, stop)
    hotspots = _by(stops.values(), "hotspot_id")
    return {
        "totals": total.to_dict(),
        "hotspots": [{"hotspot_id": k, **v.to_dict()} for k, v in hotspots.items()],
        "crews": [{"crew": k, **v.to_dict()} for k, v in _by(stops.values(), "crew").items()],
        "teams": [{"team": k, **v.to_dict()} for k, v in _by(stops.values(), "team").items()],
        "never_visited": [k for k, v in hotspots.items() if v.visits_made == 0],
        "unplanned_visits": unplanned,
    }
