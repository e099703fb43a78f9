"""Patrol dosage over a period (api.services.dosage.period_dosage), in both stores, against a
hand count: three published plans of June 2024 (one at each edge of the month, in local time),
a draft and a July plan left out; shifts not yet started left out, one under way counted."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from api.errors import InvalidInput
from api.services.dosage import period_dosage, period_plans
from geodata.stores import Store

BST = timezone(timedelta(hours=1))
JUNE = (datetime(2024, 6, 1, tzinfo=BST), datetime(2024, 7, 1, tzinfo=BST))


def _stop(crew: str, n: int, hotspot: str, place: str, dwell: float = 15.0) -> dict[str, Any]:
    return {"seq": n, "kind": "hotspot", "name": f"#{n} {place}",
            "stop_id": f"{crew}|{n}|{hotspot}|1", "hotspot_id": hotspot, "dwell_min": dwell}


def _route(label: str, unit: str, *stops: dict[str, Any]) -> dict[str, Any]:
    return {"label": label, "unit": unit,
            "stops": [{"seq": 0, "kind": "base", "name": "Ashby station"}, *stops]}


CEMETERY, HIGH, MILL = "Cemetery Road, Thornbury", "High Street, Thornbury", "Mill Lane, Ashby"
PLAN_A = {"routes": [
    _route("Vehicle 1", "rural_team", _stop("Vehicle 1", 1, "dbscan-007", CEMETERY),
           _stop("Vehicle 1", 2, "dbscan-009", MILL, 20.0)),
    _route("Thornbury officer 1", "town_team",
           _stop("Thornbury officer 1", 1, "dbscan-001", HIGH),
           _stop("Thornbury officer 1", 2, "dbscan-001", HIGH),
           _stop("Thornbury officer 1", 3, "dbscan-002", "Castle Street, Thornbury"))]}
PLAN_B = {"routes": [
    _route("Vehicle 1", "rural_team", _stop("Vehicle 1", 1, "dbscan-007", CEMETERY),
           _stop("Vehicle 1", 2, "dbscan-003", "Church Lane, Ashby", 10.0))]}
# the same id as PLAN_A's High Street, another place (another result): kept apart
PLAN_E = {"routes": [
    _route("Elmsford officer 1", "town_team",
           _stop("Elmsford officer 1", 1, "dbscan-001", "Market Square, Elmsford"))]}


def _put(store: Store, plan_id: str, shift_start: str, plan: dict[str, Any],
         published: bool = True) -> None:
    start = datetime.fromisoformat(shift_start)
    store.put_plan(plan_id, shift_start=start.isoformat(),
                   shift_end=(start + timedelta(hours=8)).isoformat(), data_version="1",
                   request={"name": plan_id}, plan=plan,
                   published_at="2024-06-01T09:00:00+01:00" if published else None)


def _visit(store: Store, plan_id: str, n: int, stop_id: str, start: str,
           end: str | None) -> None:
    store.add_visit({"visit_id": f"{plan_id}-visit-{n:04d}", "plan_id": plan_id,
                     "stop_id": stop_id, "hotspot_id": stop_id.split("|")[2],
                     "visited_at": start, "ended_at": end, "note": "", "officer": "PC 1"})


@pytest.fixture
def june(store: Store) -> Store:
    _put(store, "a" * 16, "2024-06-14T16:00:00+01:00", PLAN_A)
    _put(store, "b" * 16, "2024-06-20T08:00:00+01:00", PLAN_B)
    # 23:30 UTC on 31 May is 00:30 on 1 June in BST: June's
    _put(store, "e" * 16, "2024-05-31T23:30:00+00:00", PLAN_E)
    # 00:30 on 1 July (BST) is July's, though it is 30 June in UTC
    _put(store, "f" * 16, "2024-06-30T23:30:00+00:00", PLAN_B)
    _put(store, "d" * 16, "2024-06-15T16:00:00+01:00", PLAN_A, published=False)  # a draft
    a, b = "a" * 16, "b" * 16
    _visit(store, a, 1, "Vehicle 1|1|dbscan-007|1", "2024-06-14T16:20:00+01:00",
           "2024-06-14T16:38:00+01:00")                                      # 18 min
    _visit(store, a, 2, "Vehicle 1|1|dbscan-007|1", "2024-06-14T16:40:00+01:00", None)
    _visit(store, a, 3, "Thornbury officer 1|1|dbscan-001|1", "2024-06-14T17:00:00+01:00",
           "2024-06-14T17:12:00+01:00")                                      # 12 min
    _visit(store, a, 4, "Thornbury officer 1|3|dbscan-002|1", "2024-06-14T18:00:00+01:00",
           "2024-06-14T18:15:00+01:00")                                      # 15 min
    _visit(store, a, 5, "Vehicle 9|1|dbscan-005|1", "2024-06-14T19:00:00+01:00", None)
    _visit(store, b, 1, "Vehicle 1|1|dbscan-007|1", "2024-06-20T09:00:00+01:00",
           "2024-06-20T09:25:00+01:00")                                      # 25 min
    # visits to the draft and the July plan count for nothing here
    _visit(store, "d" * 16, 1, "Vehicle 1|1|dbscan-007|1", "2024-06-15T17:00:00+01:00",
           "2024-06-15T17:30:00+01:00")
    _visit(store, "f" * 16, 1, "Vehicle 1|1|dbscan-007|1", "2024-07-01T01:00:00+01:00",
           "2024-07-01T01:30:00+01:00")
    return store


def _tally(planned: int, planned_min: float, made: int, minutes: float,
           untimed: int) -> dict[str, Any]:
    return {"planned_visits": planned, "planned_min": planned_min, "visits_made": made,
            "share": round(made / planned, 4), "minutes_on_site": minutes,
            "untimed_visits": untimed}


def test_a_months_dosage_matches_a_hand_count(june: Store) -> None:
    assert [p["plan_id"] for p in period_plans(june, *JUNE)] == ["e" * 16, "a" * 16, "b" * 16]
    dose = period_dosage(june, *JUNE)
    assert dose["plans"] == 3
    # A: 5 stops, 15+20+15+15+15 = 80 min; B: 2 stops, 25 min; E: 1 stop, 15 min
    # made: A 3 (dbscan-007, the first High Street stop, Castle Street), B 1 (Cemetery Road)
    # minutes: 18 + 12 + 15 + 25 = 70; one visit with no end; one naming no stop of A
    assert dose["totals"] == _tally(8, 120.0, 4, 70.0, 1)
    assert dose["unplanned_visits"] == 1
    assert dose["crews"] == {
        "Elmsford officer 1": _tally(1, 15.0, 0, 0.0, 0),
        "Vehicle 1": _tally(4, 60.0, 2, 43.0, 1),
        "Thornbury officer 1": _tally(3, 45.0, 2, 27.0, 0)}
    assert dose["teams"] == {"town_team": _tally(4, 60.0, 2, 27.0, 0),
                             "rural_team": _tally(4, 60.0, 2, 43.0, 1)}
    hotspots = [(h["hotspot_id"], h["place"], h["planned_visits"], h["visits_made"],
                 h["minutes_on_site"], h["untimed_visits"]) for h in dose["hotspots"]]
    assert hotspots == [  # most planned first, then by place
        ("dbscan-007", CEMETERY, 2, 2, 43.0, 1),
        ("dbscan-001", HIGH, 2, 1, 12.0, 0),
        ("dbscan-002", "Castle Street, Thornbury", 1, 1, 15.0, 0),
        ("dbscan-003", "Church Lane, Ashby", 1, 0, 0.0, 0),
        ("dbscan-001", "Market Square, Elmsford", 1, 0, 0.0, 0),
        ("dbscan-009", MILL, 1, 0, 0.0, 0)]
    assert [(n["plan_id"][0], n["hotspot_id"], n["place"], n["crew"])
            for n in dose["never_visited"]] == [
        ("e", "dbscan-001", "Market Square, Elmsford", "Elmsford officer 1"),
        ("a", "dbscan-009", MILL, "Vehicle 1"),
        ("b", "dbscan-003", "Church Lane, Ashby", "Vehicle 1")]


def test_shifts_not_yet_started_are_left_out_and_one_under_way_counts(store: Store) -> None:
    # the rule a hotspot's page shares (hotspot.dosage.counts_as_dosage): judged at ``now``
    now = datetime(2024, 6, 20, 12, 0, tzinfo=BST)
    _put(store, "a" * 16, "2024-06-14T16:00:00+01:00", PLAN_B)    # done: counted
    _put(store, "b" * 16, "2024-06-20T08:00:00+01:00", PLAN_B)    # under way at noon: counted
    _put(store, "c" * 16, "2024-06-21T08:00:00+01:00", PLAN_B)    # tomorrow: left out
    _put(store, "d" * 16, "2024-06-19T08:00:00+01:00", PLAN_B, published=False)  # a draft
    _visit(store, "b" * 16, 1, "Vehicle 1|1|dbscan-007|1", "2024-06-20T09:00:00+01:00",
           "2024-06-20T09:25:00+01:00")
    assert [p["plan_id"][0] for p in period_plans(store, *JUNE, now=now)] == ["a", "b"]
    dose = period_dosage(store, *JUNE, now=now)
    assert dose["plans"] == 2
    assert dose["totals"] == _tally(4, 50.0, 1, 25.0, 0)
    assert [(n["plan_id"][0], n["hotspot_id"]) for n in dose["never_visited"]] == [
        ("a", "dbscan-007"), ("a", "dbscan-003"), ("b", "dbscan-003")]
    # by default judged at the present: a shift tomorrow is left out of this month's
    tomorrow = datetime.now(BST).replace(microsecond=0) + timedelta(days=1)
    _put(store, "f" * 16, tomorrow.isoformat(), PLAN_B)
    period = (tomorrow - timedelta(days=30), tomorrow + timedelta(days=1))
    assert [p["plan_id"] for p in period_plans(store, *period)] == []
    assert period_plans(store, *period, now=tomorrow + timedelta(hours=1))[0]["plan_id"] == "f" * 16


def test_the_listing_is_read_whole_when_it_is_longer_than_a_batch(june: Store) -> None:
    assert len(period_plans(june, *JUNE, batch=1)) == 3
    assert period_dosage(june, *JUNE)["totals"]["planned_visits"] == 8


def test_a_period_with_no_plans_has_no_share(june: Store) -> None:
    dose = period_dosage(june, datetime(2023, 1, 1, tzinfo=BST), datetime(2023, 2, 1, tzinfo=BST))
    assert dose["plans"] == 0 and dose["totals"]["share"] is None
    assert dose["hotspots"] == [] and dose["never_visited"] == []


@pytest.mark.parametrize(("start", "end", "now", "field"), [
    (datetime(2024, 6, 1), JUNE[1], None, "start"),
    (JUNE[0], datetime(2024, 7, 1), None, "end"),
    (JUNE[1], JUNE[0], None, "end"),
    (JUNE[0], JUNE[1], datetime(2024, 7, 1), "now"),
])
def test_a_period_needs_aware_times_in_order(store: Store, start: datetime, end: datetime,
                                             now: datetime | None, field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        period_dosage(store, start, end, now=now)
    assert err.value.field == field
