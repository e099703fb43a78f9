"""Patrol dosage against hand counts: planned stops, visits made, minutes on site, never visited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from hotspot.dosage import (
    MAX_VISIT_MIN,
    counts_as_dosage,
    minutes_on_site,
    patrol_dosage,
    plans_dosage,
    shift_status,
)
from hotspot.errors import InvalidParameter


def _stop(crew: str, n: int, hotspot: str, dwell: float = 15.0) -> dict[str, Any]:
    return {"seq": n, "kind": "hotspot", "stop_id": f"{crew}|{n}|{hotspot}|1",
            "hotspot_id": hotspot, "dwell_min": dwell}


PLAN = {"routes": [
    {"label": "Vehicle 1", "unit": "rural_team", "stops": [
        {"seq": 0, "kind": "base"}, _stop("Vehicle 1", 1, "7"), _stop("Vehicle 1", 2, "9", 20.0),
        {"seq": 3, "kind": "base"}]},
    {"label": "Thornbury officer 1", "unit": "town_team", "stops": [
        _stop("Thornbury officer 1", 1, "1"), _stop("Thornbury officer 1", 2, "1"),
        _stop("Thornbury officer 1", 3, "2")]},
]}


def _visit(stop_id: str, start: str, end: str | None) -> dict[str, Any]:
    return {"stop_id": stop_id, "visited_at": f"2024-06-14T{start}:00+01:00",
            "ended_at": None if end is None else f"2024-06-14T{end}:00+01:00"}


def test_dosage_matches_a_hand_count() -> None:
    visits = [
        _visit("Vehicle 1|1|7|1", "16:20", "16:38"),           # 18 min
        _visit("Vehicle 1|1|7|1", "16:40", None),              # the same stop again, no end
        _visit("Thornbury officer 1|1|1|1", "17:00", "17:12"),  # 12 min
        _visit("Thornbury officer 1|3|2|1", "18:00", "18:15"),  # 15 min
        _visit("Vehicle 9|1|5|1", "19:00", "19:10"),            # not a stop of this plan
    ]
    dose = patrol_dosage(PLAN, visits)
    # 5 planned stops, 15+20+15+15+15 = 80 planned minutes; 3 stops made; 45 minutes timed
    assert dose["totals"] == {"planned_visits": 5, "planned_min": 80.0, "visits_made": 3,
                              "share": 0.6, "minutes_on_site": 45.0, "untimed_visits": 1}
    crews = {c["crew"]: c for c in dose["crews"]}
    assert crews["Vehicle 1"]["visits_made"] == 1 and crews["Vehicle 1"]["planned_visits"] == 2
    assert crews["Vehicle 1"]["minutes_on_site"] == 18.0
    assert crews["Thornbury officer 1"]["share"] == round(2 / 3, 4)
    teams = {t["team"]: t for t in dose["teams"]}
    assert teams["town_team"]["minutes_on_site"] == 27.0
    hotspots = {h["hotspot_id"]: h for h in dose["hotspots"]}
    assert hotspots["1"]["planned_visits"] == 2 and hotspots["1"]["visits_made"] == 1
    assert dose["never_visited"] == ["9"]
    assert dose["unplanned_visits"] == 1


def test_a_plan_with_no_visits_delivered_nothing_and_no_plan_has_no_share() -> None:
    dose = patrol_dosage(PLAN, [])
    assert dose["totals"]["visits_made"] == 0 and dose["totals"]["share"] == 0.0
    assert dose["never_visited"] == ["7", "9", "1", "2"]
    empty = patrol_dosage({"routes": []}, [])
    assert empty["totals"]["share"] is None and empty["hotspots"] == []


def test_minutes_on_site_are_never_guessed_or_negative() -> None:
    assert minutes_on_site(_visit("x", "10:00", "10:30")) == 30.0
    assert minutes_on_site(_visit("x", "10:00", None)) is None
    assert minutes_on_site(_visit("x", "10:30", "10:00")) is None  # an end before the start
    left_running = {"visited_at": "2024-06-14T10:00:00+01:00",
                    "ended_at": "2024-06-16T10:00:00+01:00"}
    assert minutes_on_site(left_running) == MAX_VISIT_MIN
    # across a change of UTC offset (BST ends): 01:30+01:00 to 01:10+00:00 is 40 minutes
    assert minutes_on_site({"visited_at": "2024-10-27T01:30:00+01:00",
                            "ended_at": "2024-10-27T01:10:00+00:00"}) == 40.0


def test_dosage_of_a_real_plan_whose_first_stops_were_kept_to_the_minute() -> None:
    """A plan made by the planner: visits logged at the first two stops, from their planned
    start to their planned departure, deliver exactly the planned minutes there."""
    from hotspot.patrol import PlanOptions, plan_patrols
    from hotspot.travel import StraightLine
    from tests.hotspot.test_patrol import BASE, CRS, SHIFT, _table

    rows = [{"x": 450_000 + 3000 * k, "y": 450_000 + 2000 * (k % 3)} for k in range(6)]
    plan = plan_patrols(_table(rows), shift=SHIFT, travel=StraightLine(), crs=CRS,
                        rural_vehicles=1, rural_base=BASE,
                        options=PlanOptions(time_limit_s=0.3)).to_dict()
    stops = [s for s in plan["routes"][0]["stops"] if s["kind"] == "hotspot"]
    assert len(stops) >= 3
    visits = [{"stop_id": s["stop_id"], "hotspot_id": s["hotspot_id"],
               "visited_at": s["start"], "ended_at": s["departure"]} for s in stops[:2]]
    dose = patrol_dosage(plan, visits)
    totals = dose["totals"]
    assert totals["planned_visits"] == len(stops)
    assert totals["planned_min"] == plan["routes"][0]["totals"]["dwell_min"]
    assert totals["visits_made"] == 2
    assert totals["minutes_on_site"] == stops[0]["dwell_min"] + stops[1]["dwell_min"]
    assert dose["never_visited"] == [s["hotspot_id"] for s in stops[2:]]


def test_a_hotspots_place_is_its_stop_name_without_the_rank() -> None:
    plan = {"routes": [{"label": "Vehicle 1", "unit": "rural_team", "stops": [
        {**_stop("Vehicle 1", 1, "dbscan-003"), "name": "#3 Cemetery Road, Thornbury"},
        _stop("Vehicle 1", 2, "dbscan-004")]}]}
    dose = patrol_dosage(plan, [])
    assert [(h["place"], h["crews"]) for h in dose["hotspots"]] == [
        ("Cemetery Road, Thornbury", ["Vehicle 1"]), ("dbscan-004", ["Vehicle 1"])]


def test_dosage_summed_over_plans() -> None:
    """Two plans: crews and teams summed by label, hotspots by id and place (the same id in
    another place is another row), never-visited hotspots named with their plan and crews."""
    other = {"routes": [{"label": "Vehicle 1", "unit": "rural_team", "stops": [
        {**_stop("Vehicle 1", 1, "7", 10.0), "name": "#7 Mill Lane"},
        {**_stop("Vehicle 1", 2, "1"), "name": "#1 Market Square"}]}]}
    first = [_visit("Vehicle 1|1|7|1", "16:20", "16:38"),              # 18 min
             _visit("Thornbury officer 1|3|2|1", "18:00", None)]       # no end
    second = [_visit("Vehicle 1|1|7|1", "09:00", "09:25"),             # 25 min
              _visit("Vehicle 7|1|9|1", "10:00", None)]                # no stop of the plan
    dose = plans_dosage([({"plan_id": "p1", "shift_start": "2024-06-14T16:00+01:00"}, PLAN,
                          first),
                         ({"plan_id": "p2", "shift_start": "2024-06-20T08:00+01:00"}, other,
                          second)])
    # 5 + 2 planned stops, 80 + 25 minutes; made: 7 and 2 in p1, 7 in p2; 18 + 25 minutes
    assert dose["plans"] == 2 and dose["unplanned_visits"] == 1
    assert dose["totals"] == {"planned_visits": 7, "planned_min": 105.0, "visits_made": 3,
                              "share": round(3 / 7, 4), "minutes_on_site": 43.0,
                              "untimed_visits": 1}
    assert dose["crews"]["Vehicle 1"]["planned_visits"] == 4
    assert dose["crews"]["Vehicle 1"]["visits_made"] == 2
    assert dose["crews"]["Vehicle 1"]["minutes_on_site"] == 43.0
    assert dose["teams"]["town_team"]["untimed_visits"] == 1
    rows = {(h["hotspot_id"], h["place"]): h for h in dose["hotspots"]}
    assert rows[("7", "7")]["planned_visits"] == 1  # p1's stop has no name: its id
    assert rows[("7", "Mill Lane")]["minutes_on_site"] == 25.0
    assert rows[("1", "1")]["planned_visits"] == 2 and rows[("1", "Market Square")]
    assert [(n["plan_id"], n["hotspot_id"], n["crew"]) for n in dose["never_visited"]] == [
        ("p1", "9", "Vehicle 1"), ("p1", "1", "Thornbury officer 1"), ("p2", "1", "Vehicle 1")]


BST = timezone(timedelta(hours=1))
SHIFT = {"published_at": "2024-06-14T09:00:00+01:00", "shift_start": "2024-06-14T16:00:00+01:00",
         "shift_end": "2024-06-15T02:00:00+01:00"}


@pytest.mark.parametrize(("listing", "now", "status"), [
    (SHIFT, datetime(2024, 6, 14, 15, 59, tzinfo=BST), "to_come"),
    (SHIFT, datetime(2024, 6, 14, 15, 0, tzinfo=UTC), "under_way"),   # 16:00 BST: started
    (SHIFT, datetime(2024, 6, 15, 1, 59, tzinfo=BST), "under_way"),
    (SHIFT, datetime(2024, 6, 15, 2, 0, tzinfo=BST), "done"),
    ({**SHIFT, "published_at": None}, datetime(2025, 1, 1, tzinfo=UTC), "draft"),
    ({**SHIFT, "shift_start": "2024-06-14T16:00:00"}, datetime(2025, 1, 1, tzinfo=UTC),
     "unknown"),                                                      # no offset: never guessed
    ({**SHIFT, "shift_start": "soon"}, datetime(2025, 1, 1, tzinfo=UTC), "unknown"),
    ({**SHIFT, "shift_end": None}, datetime(2024, 6, 14, 17, tzinfo=BST), "done"),
])
def test_which_plans_count_as_dosage(listing: dict[str, Any], now: datetime,
                                     status: str) -> None:
    assert shift_status(listing, now) == status
    assert counts_as_dosage(listing, now) is (status in ("under_way", "done"))


def test_the_time_to_judge_at_needs_a_time_zone() -> None:
    with pytest.raises(InvalidParameter, match="time zone") as err:
        shift_status(SHIFT, datetime(2024, 6, 14, 17))
    assert err.value.parameter == "now"
