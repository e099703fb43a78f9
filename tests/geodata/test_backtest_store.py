"""Stored backtest results in both stores (embedded and PostGIS, the real server)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from geodata.errors import InvalidBacktestKey, InvalidText, StoreError
from geodata.stores import SQLiteStore
from geodata.stores.base import Store
from geodata.stores.postgis import PostGISStore

KEY = "3f2a" * 16  # a 64-character hex hash, as the caller makes them
# key order and spacing are kept byte for byte: the document is the exact text served
DOCUMENT = '{"folds": [{"fit": ["2018-01"], "test": "2018-02", "pai": 12.5}],  "b": 1, "a": 2}'
SUMMARY = {"best": "naive-50m", "folds": 1, "area_shares": [0.001, 0.005, 0.01]}


def _put(store: Store, key: str = KEY, *, version: str = "ab12.3",
         summary: dict[str, object] | None = None, document: str = DOCUMENT) -> dict[str, Any]:
    return store.put_backtest(key, data_version=version,
                              summary=SUMMARY if summary is None else summary, document=document)


def _reopen(store: Store) -> Store:
    """A new store object on the same database (a restarted service)."""
    if isinstance(store, SQLiteStore):
        return SQLiteStore.open(store.path, create=False)
    assert isinstance(store, PostGISStore)
    return PostGISStore.open(store.url, schema=store.schema, create=False)


def test_a_backtest_is_stored_and_read_back(store: Store) -> None:
    before = datetime.now(UTC)
    listing = _put(store)
    assert set(listing) == {"key", "data_version", "created_at", "summary"}
    assert listing["key"] == KEY and listing["data_version"] == "ab12.3"
    assert listing["summary"] == SUMMARY
    created = datetime.fromisoformat(str(listing["created_at"]))
    assert created.utcoffset() == timedelta(0)
    assert abs((created - before).total_seconds()) < 60
    got = store.get_backtest(KEY)
    assert got is not None
    assert got[0] == listing
    assert got[1] == DOCUMENT  # the same text, not only the same JSON
    assert json.loads(got[1])["folds"][0]["pai"] == 12.5


def test_an_unknown_key_gives_none(store: Store) -> None:
    assert store.get_backtest(KEY) is None
    _put(store)
    assert store.get_backtest("0" * 64) is None
    assert store.list_backtests() != []


def test_the_same_key_again_replaces_the_result(store: Store) -> None:
    first = _put(store, summary={"best": "kde-250m"}, document='{"v": 1}')
    second = _put(store, version="ab12.4", summary={"best": "naive-50m"}, document='{"v": 2}')
    assert str(second["created_at"]) >= str(first["created_at"])
    got = store.get_backtest(KEY)
    assert got is not None
    assert got[1] == '{"v": 2}'
    assert got[0]["summary"] == {"best": "naive-50m"} and got[0]["data_version"] == "ab12.4"
    assert [b["key"] for b in store.list_backtests()] == [KEY]  # replaced, not added


def test_listings_come_newest_first_and_obey_the_limit(store: Store) -> None:
    keys = [f"{i:02x}" * 32 for i in range(4)]
    for k in keys:
        _put(store, k, summary={"n": k[:2]})
    listed = store.list_backtests()
    assert [b["key"] for b in listed] == keys[::-1]
    assert all("document" not in b for b in listed)
    assert listed[0]["summary"] == {"n": "03"}
    assert [b["key"] for b in store.list_backtests(limit=2)] == keys[:1:-1]
    assert store.list_backtests(limit=0) == []
    _put(store, keys[0])  # replacing makes it the newest
    assert [b["key"] for b in store.list_backtests(limit=1)] == [keys[0]]


@pytest.mark.parametrize("key", ["", "A" * 8, "3f2a/../x", "3f 2a", "g1", "0" * 129,
                                 "ab\x00cd", "é"])
def test_a_bad_key_is_refused(store: Store, key: str) -> None:
    with pytest.raises(InvalidBacktestKey, match="0-9, a-f") as err:
        _put(store, key)
    assert isinstance(err.value, StoreError) and isinstance(err.value, ValueError)
    with pytest.raises(InvalidBacktestKey):
        store.get_backtest(key)
    assert store.list_backtests() == []


def test_keys_of_every_allowed_form_are_kept(store: Store) -> None:
    for key in ("0", "f" * 128, "a256:" + "9" * 64, "1-ab-cd"):
        _put(store, key)
        assert store.get_backtest(key) is not None


def test_nul_in_a_document_or_summary_is_refused_and_nothing_is_stored(store: Store) -> None:
    with pytest.raises(InvalidText):
        _put(store, document='{"a": "x\x00y"}')
    with pytest.raises(InvalidText):
        _put(store, summary={"best": "x\x00"})
    assert store.get_backtest(KEY) is None


def test_a_large_document_is_stored_whole(store: Store) -> None:
    document = json.dumps({"cells": [[i, i * 0.5, f"c{i}"] for i in range(200_000)]})
    _put(store, document=document)
    got = store.get_backtest(KEY)
    assert got is not None and got[1] == document


def test_a_failed_replacement_leaves_the_old_result(store: Store) -> None:
    _put(store, document='{"v": 1}')
    with pytest.raises(InvalidText):
        _put(store, document='{"v": "\x00"}')
    got = store.get_backtest(KEY)
    assert got is not None and got[1] == '{"v": 1}'


def test_backtests_survive_reopening_the_store(store: Store) -> None:
    listing = _put(store)
    store.close()
    again = _reopen(store)
    try:
        got = again.get_backtest(KEY)
        assert got is not None and got == (listing, DOCUMENT)
        assert again.list_backtests() == [listing]
    finally:
        again.close()


def test_writers_of_one_key_at_once_leave_one_whole_result(
        store_factory: Callable[[], Store]) -> None:
    store = store_factory()
    documents = [json.dumps({"writer": i, "pad": "x" * 50_000}) for i in range(6)]
    errors: list[BaseException] = []

    def write(doc: str) -> None:
        try:
            _put(store, document=doc)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(d,)) for d in documents]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    got = store.get_backtest(KEY)
    assert got is not None and got[1] in documents
    assert len(store.list_backtests()) == 1


def test_the_migration_is_listed(store: Store) -> None:
    names = [m["name"] for m in store.migrations()]
    expected = "0006_backtests.sql" if store.kind == "sqlite" else "0008_backtests.sql"
    assert expected in names
    assert [m["version"] for m in store.migrations()] == list(range(1, len(names) + 1))
