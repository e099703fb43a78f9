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

:func:`patrol_dosage` is one plan's dosage; :func:`plans_dosage` sums it over several plans
(a month's published plans, for a report): crews and teams by their labels, hotspots by id and
place (an id names a rank in one result, so the place keeps two places of one rank apart).

**Which plans count** (:func:`shift_status`, :func:`counts_as_dosage`; the priority report and a
hotspot's page both ask them): a plan's planned visits count against those made only when the
plan is published (a draft was never seen by a crew) and its shift has started (nobody could
have visited a shift still to come). A shift under way counts: its visits so far against
everything it plans. A plan whose shift start has no UTC offset is not counted (its time is not
known; never guessed).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from hotspot.errors import InvalidParameter

MAX_VISIT_MIN = 12 * 60.0
"""Longest time on site one visit can count, minutes (a timer left running past a shift)."""


ShiftStatus = Literal["draft", "to_come", "under_way", "done", "unknown"]
"""Where a plan stands for its dosage (:func:`shift_status`)."""
COUNTED: frozenset[str] = frozenset({"under_way", "done"})
"""The :data:`ShiftStatus` values whose planned visits count against those made."""


def _aware_time(value: Any) -> datetime | None:
    """An ISO 8601 time with its UTC offset, or None (missing, unreadable or no offset)."""
    if isinstance(value, datetime):
        stamp = value
    elif isinstance(value, str) and value:
        try:
            stamp = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    return stamp if stamp.utcoffset() is not None else None


def shift_status(listing: Mapping[str, Any], now: datetime) -> ShiftStatus:
    """Where a stored plan stands at ``now`` for its patrol dosage (see the module's
    docstring).

    Parameters
    ----------
    listing
        The plan's columns as a store lists them: ``published_at`` (None for a draft),
        ``shift_start`` and ``shift_end`` (ISO 8601 with their UTC offset).
    now
        The time to judge at (an aware datetime).

    Returns
    -------
    str
        ``"draft"`` (not published), ``"unknown"`` (no shift start with a UTC offset),
        ``"to_come"`` (the shift starts after ``now``), ``"under_way"`` (started, ends after
        ``now``) or ``"done"`` (ended, or started with no readable end). Only ``"under_way"``
        and ``"done"`` count (:data:`COUNTED`).

    Raises
    ------
    InvalidParameter
        ``now`` has no time zone.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> plan = {"published_at": "2024-06-14T09:00:00+00:00",
    ...         "shift_start": "2024-06-14T16:00:00+01:00",
    ...         "shift_end": "2024-06-15T02:00:00+01:00"}
    >>> shift_status(plan, datetime(2024, 6, 14, 12, tzinfo=UTC))
    'to_come'
    >>> shift_status(plan, datetime(2024, 6, 14, 20, tzinfo=UTC))
    'under_way'
    >>> shift_status({**plan, "published_at": None}, datetime(2025, 1, 1, tzinfo=UTC))
    'draft'
    """
    if now.utcoffset() is None:
        raise InvalidParameter(f"now needs a time zone (an aware datetime), got {now!r}",
                               "now")
    if not listing.get("published_at"):
        return "draft"
    start = _aware_time(listing.get("shift_start"))
    if start is None:
        return "unknown"
    if start > now:
        return "to_come"
    end = _aware_time(listing.get("shift_end"))
    return "under_way" if end is not None and end > now else "done"


def counts_as_dosage(listing: Mapping[str, Any], now: datetime) -> bool:
    """Whether a stored plan's planned visits count against those made at ``now``: it is
    published and its shift has started (:func:`shift_status` is in :data:`COUNTED`)."""
    return shift_status(listing, now) in COUNTED


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

    def add(self, other: Tally) -> None:
        """Add ``other``'s counts and minutes to this one."""
        self.planned_visits += other.planned_visits
        self.planned_min += other.planned_min
        self.visits_made += other.visits_made
        self.minutes += other.minutes
        self.untimed_visits += other.untimed_visits

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
    place: str = ""
    visits: list[Mapping[str, Any]] = field(default_factory=list)


_RANK = re.compile(r"^#[0-9]+\s*")


def place_name(stop: Mapping[str, Any]) -> str:
    """The place a hotspot stop is at, as people call it: the stop's ``name`` without the
    rank the plan put before it (``#3 Cemetery Road, Thornbury``: ``Cemetery Road,
    Thornbury``); the hotspot's id when the stop has no name."""
    name = _RANK.sub("", str(stop.get("name") or "")).strip()
    return name or str(stop.get("hotspot_id") or "")


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
                float(stop.get("dwell_min") or 0.0), place_name(stop))
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


def _delivered(plan: Mapping[str, Any], visits: Sequence[Mapping[str, Any]]
               ) -> tuple[dict[str, _Stop], int]:
    """The plan's stops, each with its visits, and the number of visits naming no stop of the
    plan."""
    stops = _planned_stops(plan)
    unplanned = 0
    for visit in visits:
        stop = stops.get(str(visit.get("stop_id") or ""))
        if stop is None:
            unplanned += 1
        else:
            stop.visits.append(visit)
    return stops, unplanned


def patrol_dosage(plan: Mapping[str, Any], visits: Sequence[Mapping[str, Any]]
                  ) -> dict[str, Any]:
    """Dosage delivered against ``plan`` by ``visits`` (see the module's docstring).

    Parameters
    ----------
    plan
        The plan document (:func:`hotspot.patrol.plan_to_dict`).
    visits
        The visits logged against it (``stop_id``, ``visited_at``, ``ended_at``).

    Returns
    -------
    dict
        JSON-ready: ``totals``; ``hotspots``, ``crews`` and ``teams`` (each a list of tallies
        with their ``hotspot_id`` (and ``place`` and its ``crews``), ``crew`` or ``team``, in
        the plan's order); ``never_visited`` (the ids of the hotspots planned whose stops have
        no visit, in the plan's order); and ``unplanned_visits`` (visits naming no stop of the
        plan).
    """
    stops, unplanned = _delivered(plan, visits)
    total = Tally()
    for stop in stops.values():
        _add(total, stop)
    hotspots = _by(stops.values(), "hotspot_id")
    places: dict[str, str] = {}
    crews_at: dict[str, list[str]] = {}
    for stop in stops.values():
        places.setdefault(stop.hotspot_id, stop.place)
        at = crews_at.setdefault(stop.hotspot_id, [])
        if stop.crew not in at:
            at.append(stop.crew)
    return {
        "totals": total.to_dict(),
        "hotspots": [{"hotspot_id": k, "place": places[k], "crews": crews_at[k],
                      **v.to_dict()} for k, v in hotspots.items()],
        "crews": [{"crew": k, **v.to_dict()} for k, v in _by(stops.values(), "crew").items()],
        "teams": [{"team": k, **v.to_dict()} for k, v in _by(stops.values(), "team").items()],
        "never_visited": [k for k, v in hotspots.items() if v.visits_made == 0],
        "unplanned_visits": unplanned,
    }


def plans_dosage(plans: Iterable[tuple[Mapping[str, Any], Mapping[str, Any],
                                       Sequence[Mapping[str, Any]]]]) -> dict[str, Any]:
    """Dosage summed over several plans (a period's published plans).

    Parameters
    ----------
    plans
        For each plan: its listing (``plan_id``, ``shift_start``), its document and the visits
        logged against it.

    Returns
    -------
    dict
        JSON-ready: ``plans`` (how many); ``totals``; ``teams`` and ``crews`` ({label: tally},
        labels as the plans name them, in order of first appearance); ``hotspots`` (a tally
        for each hotspot id and place, with ``hotspot_id`` and ``place``, most planned visits
        first); ``never_visited`` (each plan's hotspots planned but never visited:
        ``hotspot_id``, ``place``, ``plan_id``, ``shift_start`` and ``crew``, the crews that
        had it, comma separated; in the order of the plans, then of each plan's stops); and
        ``unplanned_visits``. A tally is :meth:`Tally.to_dict`'s.
    """
    total = Tally()
    teams: dict[str, Tally] = {}
    crews: dict[str, Tally] = {}
    hotspots: dict[tuple[str, str], Tally] = {}
    never: list[dict[str, Any]] = []
    unplanned = 0
    count = 0
    for listing, plan, visits in plans:
        count += 1
        stops, extra = _delivered(plan, visits)
        unplanned += extra
        for stop in stops.values():
            _add(total, stop)
            _add(teams.setdefault(stop.team, Tally()), stop)
            _add(crews.setdefault(stop.crew, Tally()), stop)
        here = _by(stops.values(), "hotspot_id")
        for hid, tally in here.items():
            mine = [s for s in stops.values() if s.hotspot_id == hid]
            hotspots.setdefault((hid, mine[0].place), Tally()).add(tally)
            if tally.visits_made == 0:
                who = list(dict.fromkeys(s.crew for s in mine))
                never.append({"hotspot_id": hid, "place": mine[0].place,
                              "plan_id": str(listing.get("plan_id") or ""),
                              "shift_start": str(listing.get("shift_start") or ""),
                              "crew": ", ".join(who)})
    ranked = sorted(hotspots.items(), key=lambda kv: (-kv[1].planned_visits, kv[0][1], kv[0][0]))
    return {
        "plans": count,
        "totals": total.to_dict(),
        "teams": {k: v.to_dict() for k, v in teams.items()},
        "crews": {k: v.to_dict() for k, v in crews.items()},
        "hotspots": [{"hotspot_id": k[0], "place": k[1], **v.to_dict()} for k, v in ranked],
        "never_visited": never,
        "unplanned_visits": unplanned,
    }
