"""Patrol plans and visits in both stores (embedded and PostGIS, the real server)."""

from __future__ import annotations

import threading
from pathlib import Path

from geodata.stores import SQLiteStore
from geodata.stores.base import Store
from geodata.stores.postgis import PostGISStore

PLAN = {
    "shift": {"start": "2026-11-27T16:00+00:00", "end": "2026-11-28T02:00+00:00"},
    "routes": [{"label": "Rural Crime Team vehicle 1",
                "legs": [[[-1.5, 54.1], [-1.4, 54.2]], [[-1.4, 54.2], [-1.5, 54.1]]]}],
    "totals": {"stops": 1, "score_covered": 12.5},
}


def _put(store: Store, plan_id: str = "p1") -> None:
    store.put_plan(plan_id, shift_start="2026-11-27T16:00:00+00:00",
                   shift_end="2026-11-28T02:00:00+00:00", data_version="3",
                   request={"rural_vehicles": 1}, plan=PLAN)


def test_plans_are_stored_and_listed(store: Store) -> None:
    assert store.get_plan("p1") is None
    _put(store, "p1")
    _put(store, "p2")
    got = store.get_plan("p1")
    assert got is not None
    assert got["plan"] == PLAN and got["request"] == {"rural_vehicles": 1}
    assert got["data_version"] == "3" and got["plan_id"] == "p1"
    listed = store.list_plans()
    assert {p["plan_id"] for p in listed} == {"p1", "p2"}
    assert listed[0]["totals"] == {"stops": 1, "score_covered": 12.5}
    assert "plan" not in listed[0]


def test_a_visit_sent_twice_is_stored_once(store: Store) -> None:
    _put(store)
    visit = {"visit_id": "dev-1-0001", "plan_id": "p1", "stop_id": "v1|1|h1|1",
             "hotspot_id": "h1", "visited_at": "2026-11-27T18:05:00+00:00",
             "note": "gate open, nobody about", "officer": "PC 1234"}
    first, created = store.add_visit(visit)
    again, created_again = store.add_visit(visit)
    assert created and not created_again
    assert first == again and first["note"] == "gate open, nobody about"
    assert [v["visit_id"] for v in store.plan_visits("p1")] == ["dev-1-0001"]
    assert store.plan_visits("other") == []


def _reopen(store: Store) -> Store:
    """Another handle on the same store (its own connections)."""
    if isinstance(store, PostGISStore):
        return PostGISStore.open(store.url, schema=store.schema)
    assert isinstance(store, SQLiteStore)
    return SQLiteStore.open(store.path)


def test_concurrent_retries_store_one_visit(store: Store) -> None:
    _put(store)
    results: list[bool] = []

    def send() -> None:
        other = _reopen(store)
        try:
            _v, created = other.add_visit({
                "visit_id": "dev-2-0001", "plan_id": "p1", "stop_id": "s", "hotspot_id": None,
                "visited_at": "2026-11-27T19:00:00+00:00", "note": "", "officer": ""})
            results.append(created)
        finally:
            other.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, False, False, True]
    assert len(store.plan_visits("p1")) == 1


def test_a_plan_is_a_draft_until_published_once(store: Store) -> None:
    store.put_plan("d1", shift_start="2026-11-27T16:00:00+00:00",
                   shift_end="2026-11-28T02:00:00+00:00", data_version="3",
                   request={"name": "Friday lates"}, plan=PLAN, created_by="Insp. Shaw",
                   links={"Rural Crime Team vehicle 1": "7QK4MXR2"})
    got = store.get_plan("d1")
    assert got is not None
    assert got["published_at"] is None and got["created_by"] == "Insp. Shaw"
    assert got["links"] == {"Rural Crime Team vehicle 1": "7QK4MXR2"}
    first = store.publish_plan("d1", "2026-11-27T12:00:00+00:00")
    assert first is not None and first.startswith("2026-11-27T12:00:00")
    # publishing again keeps the first time
    assert store.publish_plan("d1", "2026-11-27T13:00:00+00:00") == first
    assert store.get_plan("d1")["published_at"] == first  # type: ignore[index]
    assert store.publish_plan("nope", "2026-11-27T13:00:00+00:00") is None
    listed = store.list_plans()
    assert listed[0]["name"] == "Friday lates" and listed[0]["created_by"] == "Insp. Shaw"
    assert listed[0]["published_at"] == first and listed[0]["visits"] == 0


def test_short_links_are_found_and_kept(store: Store) -> None:
    _put(store, "p1")
    assert store.get_plan("p1")["links"] == {}  # type: ignore[index]
    got = store.add_plan_links("p1", {"Crew A": "AAAA2222", "Crew B": "BBBB3333"})
    assert got == {"Crew A": "AAAA2222", "Crew B": "BBBB3333"}
    # a crew keeps its code; a code already taken is not given to another crew
    again = store.add_plan_links("p1", {"Crew A": "CCCC4444", "Crew C": "BBBB3333"})
    assert again == {"Crew A": "AAAA2222", "Crew B": "BBBB3333"}
    assert store.find_plan_link("BBBB3333") == {"plan_id": "p1", "crew": "Crew B"}
    assert store.find_plan_link("CCCC4444") is None
    assert store.find_plan_link("ZZZZ9999") is None


def test_visits_keep_the_officer_and_the_end_of_the_dwell(store: Store) -> None:
    _put(store)
    base = {"plan_id": "p1", "stop_id": "v1|1|h1|1", "hotspot_id": "h1",
            "visited_at": "2026-11-27T18:05:00+00:00"}
    old, _ = store.add_visit({**base, "visit_id": "dev-1-0001"})
    assert old["officer"] == "" and old["ended_at"] is None
    new, _ = store.add_visit({**base, "visit_id": "dev-1-0002", "officer": "PC Amy Holt",
                              "ended_at": "2026-11-27T18:20:00+00:00"})
    assert new["officer"] == "PC Amy Holt"
    assert new["ended_at"].startswith("2026-11-27T18:20:00")
    assert store.list_plans()[0]["visits"] == 2


def test_plans_stored_before_publishing_stay_open_to_the_field(tmp_path: Path) -> None:
    """An embedded store at schema 6 (before drafts): its plans count as published once the
    store is opened (they were all open to the field view), and its visits gain ended_at."""
    import json
    import sqlite3
    from importlib import resources

    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    scripts = sorted((int(p.name.split("_", 1)[0]), p)
                     for p in resources.files("geodata").joinpath("sql/sqlite").iterdir()
                     if p.name.endswith(".sql"))
    for number, script in scripts:
        if number <= 6:
            for statement in script.read_text("utf-8").split(";\n"):
                if statement.strip():
                    conn.execute(statement)
    conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)",
                     [("store_id", "0123456789abcdef"), ("crs", "EPSG:27700"),
                      ("timezone", "Europe/London"), ("created_at", "2026-01-01T00:00:00+00:00"),
                      ("data_version", "0")])
    conn.execute("INSERT INTO patrol_plans VALUES ('old1', '2026-11-01T10:00:00+00:00', "
                 "'2026-11-01T16:00', '2026-11-02T02:00', '3', ?, ?)",
                 (json.dumps({"name": "Old plan"}), json.dumps(PLAN)))
    conn.execute("INSERT INTO plan_visits VALUES ('dev-old-0001', 'old1', 's1', NULL, "
                 "'2026-11-01T17:00:00+00:00', '2026-11-01T17:01:00+00:00', '', 'PC 1')")
    conn.execute("PRAGMA user_version = 6")
    conn.commit()
    conn.close()
    store = SQLiteStore.open(path)
    try:
        got = store.get_plan("old1")
        assert got is not None and got["published_at"] == "2026-11-01T10:00:00+00:00"
        assert got["created_by"] == "" and got["links"] == {}
        visits = store.plan_visits("old1")
        assert visits[0]["officer"] == "PC 1" and visits[0]["ended_at"] is None
        assert store.list_plans()[0]["name"] == "Old plan"
    finally:
        store.close()


def test_two_cancellations_at_once_give_the_visit_to_one(store: Store) -> None:
    _put(store)
    for n in range(5):
        visit_id = f"dev-2-{n:04d}"
        store.add_visit({"visit_id": visit_id, "plan_id": "p1", "stop_id": "v1|1|h1|1",
                         "visited_at": "2026-11-27T18:05:00+00:00"})
        start = threading.Barrier(2)
        results: list[dict | None] = []

        def cancel(visit_id: str = visit_id, start: threading.Barrier = start,
                   results: list[dict | None] = results) -> None:
            start.wait()
            results.append(store.cancel_visit("p1", visit_id))

        threads = [threading.Thread(target=cancel) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(r is None for r in results) == [False, True]
    assert store.plan_visits("p1") == []
