"""Patrol dosage over a period: what the published plans of a month (a quarter, a year) planned
and what their crews delivered, for the priority report (:func:`period_dosage`).

A plan belongs to the period its shift starts in. Which plans count is
:func:`hotspot.dosage.counts_as_dosage`'s rule, the one a hotspot's page uses too: drafts are
left out (nobody patrolled them), and so are shifts not yet started when the dosage is worked
out (nobody could have visited them yet); a shift under way counts its visits so far. The
figures are :func:`hotspot.dosage.plans_dosage`'s (minutes on site only from visits that
recorded an end).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from api.service_errors import InvalidInput
from geodata.stores import PlanStore
from hotspot.dosage import counts_as_dosage, plans_dosage

LISTED = 500
"""Plans listed at a time while looking for a period's (the listing grows until it holds
every published plan: the store lists the newest first, not by shift)."""


def _aware(value: datetime, field: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(f"{field} needs a time zone (an aware datetime)", field=field)


def _published(store: PlanStore, batch: int) -> list[dict[str, Any]]:
    """Every published plan's listing (not the plans themselves)."""
    limit = batch
    while True:
        listed = store.list_plans(limit, published_only=True)
        if len(listed) < limit:
            return listed
        limit *= 4


def period_plans(store: PlanStore, start: datetime, end: datetime, *,
                 batch: int = LISTED, now: datetime | None = None) -> list[dict[str, Any]]:
    """The listings of the published plans whose shift starts in ``[start, end)`` (aware
    datetimes) and had started by ``now`` (an aware datetime, default the present:
    :func:`hotspot.dosage.counts_as_dosage`), earliest shift first (``batch``: plans listed at
    a first go, see :data:`LISTED`).

    Raises
    ------
    InvalidInput
        ``start``, ``end`` or ``now`` has no time zone, or ``end`` is not after ``start``.
    """
    _aware(start, "start")
    _aware(end, "end")
    if end <= start:
        raise InvalidInput("the period's end is not after its start", field="end")
    if now is None:
        now = datetime.now(UTC)
    _aware(now, "now")
    found: list[tuple[datetime, dict[str, Any]]] = []
    for listing in _published(store, batch):
        # published, and a shift start with its offset (never guessed) by now
        if not counts_as_dosage(listing, now):
            continue
        shift = datetime.fromisoformat(str(listing["shift_start"]))
        if start <= shift < end:
            found.append((shift, listing))
    found.sort(key=lambda pair: (pair[0], str(pair[1]["plan_id"])))
    return [listing for _, listing in found]


def _plans_with_visits(store: PlanStore, listings: Sequence[Mapping[str, Any]]
                       ) -> Iterator[tuple[Mapping[str, Any], dict[str, Any],
                                           list[dict[str, Any]]]]:
    for listing in listings:
        stored = store.get_plan(str(listing["plan_id"]))
        if stored is None:  # gone since it was listed
            continue
        visits = store.plan_visits(str(listing["plan_id"])) if listing.get("visits", 1) else []
        yield listing, stored["plan"], visits


def period_dosage(store: PlanStore, start: datetime, end: datetime, *,
                  now: datetime | None = None) -> dict[str, Any]:
    """Patrol dosage delivered over a period: the published plans whose shift starts in
    ``[start, end)`` (aware datetimes) and had started by ``now`` (default the present; see
    :func:`period_plans`), their planned visits and minutes against the visits logged, summed
    over the plans.

    Returns
    -------
    dict
        ``plans`` (how many), ``totals``, ``teams`` and ``crews`` ({label: tally}),
        ``hotspots`` ([{``hotspot_id``, ``place``, tally}], most planned first),
        ``never_visited`` ([{``hotspot_id``, ``place``, ``plan_id``, ``shift_start``,
        ``crew``}]) and ``unplanned_visits``; a tally is ``planned_visits``, ``planned_min``,
        ``visits_made`` (planned stops with a visit), ``share`` (visits made over planned,
        None when none was planned), ``minutes_on_site`` (from visits that recorded an end)
        and ``untimed_visits`` (visits with no end). See :func:`hotspot.dosage.plans_dosage`.

    Raises
    ------
    InvalidInput
        ``start``, ``end`` or ``now`` has no time zone, or ``end`` is not after ``start``.
    """
    return plans_dosage(_plans_with_visits(store, period_plans(store, start, end, now=now)))
