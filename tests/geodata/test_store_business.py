"""Business reports (the retail partnership) in both stores: kept apart from incidents, read
back by submitter and period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from geodata.errors import InvalidText, InvalidValue
from geodata.schema import IncidentFilter
from geodata.stores import Store


def _record(**change: object) -> dict:
    return {"submitted_by": "aaaaaaaaaaaa", "occurred_at": 1_717_000_000,
            "category": "shoplifting", "x": 430_000.0, "y": 450_000.0, "lon": -1.5,
            "lat": 53.9, "business": "Corner Shop", "value_pence": 1250,
            "description": "two bottles of gin", **change}


def test_a_report_is_stored_and_read_back(store: Store) -> None:
    version = store.data_version()
    stored = store.add_business_report(_record())
    assert stored["report_id"].startswith("br_") and stored["submitted_at"].endswith("+00:00")
    assert {k: stored[k] for k in _record()} == _record()
    assert store.business_report(stored["report_id"]) == stored
    assert store.business_report("br_nothing") is None
    assert store.business_report("br_\x00") is None
    assert store.data_version() == version  # not police data: hotspots never see it
    assert len(store.incidents(IncidentFilter())) == 0  # never among the incidents


def test_listing_by_submitter_and_period(store: Store) -> None:
    a = [store.add_business_report(_record(occurred_at=t)) for t in (100, 200, 300)]
    b = store.add_business_report(_record(submitted_by="bbbbbbbbbbbb", occurred_at=250,
                                          value_pence=None, business="", description=""))
    assert b["value_pence"] is None
    mine = store.business_reports(submitted_by="aaaaaaaaaaaa")
    assert [r["report_id"] for r in mine] == [a[2]["report_id"], a[1]["report_id"],
                                              a[0]["report_id"]]  # latest first
    assert [r["report_id"] for r in store.business_reports(submitted_by="bbbbbbbbbbbb")] == \
        [b["report_id"]]
    assert store.business_reports(submitted_by="a\x00") == []
    every = store.business_reports(start=200, end=300)  # [start, end)
    assert [r["occurred_at"] for r in every] == [250, 200]
    assert store.count_business_reports() == 4
    assert store.count_business_reports(start=200, end=300) == 2
    assert store.count_business_reports(submitted_by="aaaaaaaaaaaa", end=201) == 2
    assert len(store.business_reports(limit=2)) == 2


@pytest.mark.parametrize(("change", "error", "field"), [
    ({"description": "a\x00b"}, InvalidText, None),
    ({"x": float("nan")}, InvalidValue, "x"),
    ({"occurred_at": "yesterday"}, InvalidValue, "occurred_at"),
    ({"value_pence": 1.5}, InvalidValue, "value_pence"),
    ({"category": ""}, InvalidValue, "category"),
])
def test_what_a_store_cannot_keep_is_refused(store: Store, change: dict, error: type,
                                             field: str | None) -> None:
    with pytest.raises(error) as caught:
        store.add_business_report(_record(**change))
    if field:
        assert caught.value.field == field  # type: ignore[attr-defined]
    assert store.count_business_reports() == 0


def test_submissions_are_counted_by_when_they_were_sent(store: Store) -> None:
    before = datetime.now(UTC) - timedelta(minutes=1)
    for when in (100, 1_717_000_000):  # when they occurred does not matter
        store.add_business_report(_record(occurred_at=when))
    store.add_business_report(_record(submitted_by="bbbbbbbbbbbb"))
    assert store.count_business_submissions("aaaaaaaaaaaa", since=before) == 2
    assert store.count_business_submissions("bbbbbbbbbbbb", since=before) == 1
    assert store.count_business_submissions("aaaaaaaaaaaa",
                                            since=datetime.now(UTC) + timedelta(hours=1)) == 0
    local = before.astimezone(ZoneInfo("Pacific/Auckland"))  # any zone: the same instant
    assert store.count_business_submissions("aaaaaaaaaaaa", since=local) == 2
    assert store.count_business_submissions("a\x00", since=before) == 0
    with pytest.raises(InvalidValue):
        store.count_business_submissions("aaaaaaaaaaaa", since=before.replace(tzinfo=None))
    assert store.count_business_reports() == 3
