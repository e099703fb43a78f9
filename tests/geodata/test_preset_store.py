"""Saved hotspot presets in both stores (embedded and PostGIS, the real server)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from geodata.errors import InvalidText, InvalidValue
from geodata.stores import SQLiteStore
from geodata.stores.base import PresetStore, Store
from geodata.stores.postgis import PostGISStore

PARAMS = {"method": "kde", "priority": "theft", "period": "latest", "bandwidth_m": "250"}


def _reopen(store: Store) -> Store:
    """A new store object on the same database (a restarted service)."""
    if isinstance(store, SQLiteStore):
        return SQLiteStore.open(store.path, create=False)
    assert isinstance(store, PostGISStore)
    return PostGISStore.open(store.url, schema=store.schema, create=False)


def test_a_preset_is_stored_read_listed_and_deleted(store: Store) -> None:
    assert isinstance(store, PresetStore)
    before = datetime.now(UTC)
    made = store.add_preset("town-theft", title="Town theft, latest month", parameters=PARAMS,
                            created_by="k1")
    assert made is not None
    assert made["name"] == "town-theft" and made["title"] == "Town theft, latest month"
    assert made["parameters"] == PARAMS and made["created_by"] == "k1"
    created = datetime.fromisoformat(made["created_at"])
    assert created.utcoffset() == timedelta(0) and abs((created - before).total_seconds()) < 60
    store.add_preset("a-first", parameters={"method": "auto"})
    assert store.preset("town-theft") == made
    assert [p["name"] for p in store.list_presets()] == ["a-first", "town-theft"]
    assert [p["name"] for p in store.list_presets(limit=1)] == ["a-first"]
    reopened = _reopen(store)
    try:
        assert reopened.preset("town-theft") == made  # kept across a restart
    finally:
        reopened.close()
    assert store.delete_preset("town-theft") is True
    assert store.delete_preset("town-theft") is False
    assert store.preset("town-theft") is None
    assert [p["name"] for p in store.list_presets()] == ["a-first"]


def test_a_name_already_taken_is_not_overwritten(store: Store) -> None:
    assert store.add_preset("p1", parameters={"method": "kde"}) is not None
    assert store.add_preset("p1", parameters={"method": "dbscan"}) is None
    got = store.preset("p1")
    assert got is not None and got["parameters"] == {"method": "kde"}


@pytest.mark.parametrize("name", ["", "A", "-a", "a-", "a b", "a_b", "é", "a" * 49, "a/b",
                                  "a\x00"])
def test_a_bad_name_is_refused_naming_the_field(store: Store, name: str) -> None:
    with pytest.raises(InvalidValue) as err:
        store.add_preset(name, parameters={})
    assert err.value.field == "name"
    assert store.preset(name) is None and store.delete_preset(name) is False


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"parameters": {"method": 3}}, "parameters"),
    ({"parameters": ["method"]}, "parameters"),
    ({"parameters": {f"p{i}": "1" for i in range(41)}}, "parameters"),
    ({"parameters": {"method": "x" * 201}}, "parameters"),
    ({"parameters": {}, "title": "t" * 201}, "title"),
])
def test_bad_parameters_or_title_are_refused(store: Store, kwargs: dict, field: str) -> None:
    with pytest.raises(InvalidValue) as err:
        store.add_preset("p", **kwargs)
    assert err.value.field == field
    assert store.list_presets() == []


def test_a_nul_character_is_refused_by_both_stores(store: Store) -> None:
    with pytest.raises(InvalidText):
        store.add_preset("p", parameters={"method": "k\x00de"})
    with pytest.raises(InvalidText):
        store.add_preset("p", title="x\x00", parameters={})
    assert store.list_presets() == []
