"""An officer's undo of a visit, in both stores (embedded and PostGIS, the real server): the
visit is removed once, only from its own plan."""

from __future__ import annotations

from geodata.stores.base import Store

PLAN = {"shift": {"start": "2026-11-27T16:00+00:00", "end": "2026-11-28T02:00+00:00"},
        "routes": [], "totals": {"stops": 1}}


def _put(store: Store, plan_id: str) -> None:
    store.put_plan(plan_id, shift_start="2026-11-27T16:00:00+00:00",
                   shift_end="2026-11-28T02:00:00+00:00", data_version="3",
                   request={}, plan=PLAN)


def test_a_cancelled_visit_is_removed_once_and_only_from_its_plan(store: Store) -> None:
    _put(store, "p1")
    _put(store, "p2")
    visit = {"visit_id": "dev-1-0001", "plan_id": "p1", "stop_id": "v1|1|h1|1",
             "hotspot_id": "h1", "visited_at": "2026-11-27T18:05:00+00:00",
             "note": "wrong stop", "officer": "PC Amy Holt",
             "ended_at": "2026-11-27T18:20:00+00:00"}
    store.add_visit(visit)
    store.add_visit({**visit, "visit_id": "dev-1-0002", "note": "kept"})
    assert store.cancel_visit("p2", "dev-1-0001") is None  # another plan's visit: untouched
    assert store.cancel_visit("p1", "no-such-visit") is None
    removed = store.cancel_visit("p1", "dev-1-0001")
    assert removed is not None
    assert removed["visit_id"] == "dev-1-0001" and removed["officer"] == "PC Amy Holt"
    assert removed["note"] == "wrong stop" and removed["ended_at"].startswith("2026-11-27T18:20")
    assert store.cancel_visit("p1", "dev-1-0001") is None  # sent twice: removed once
    assert [v["visit_id"] for v in store.plan_visits("p1")] == ["dev-1-0002"]
    assert store.list_plans()[0]["visits"] + store.list_plans()[1]["visits"] == 1
