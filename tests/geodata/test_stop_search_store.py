"""Stop and search records on both stores (embedded and PostGIS, the real server): kept apart
from incidents, loaded once however often the same file comes."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from geodata.errors import InvalidText, InvalidValue
from geodata.stores._stop_search import STOP_SEARCH_COLUMNS
from geodata.stores.base import Store

T0 = 1_709_284_500  # 2024-03-01T09:15:00Z


def _frame(n: int = 3, **overrides: list) -> pd.DataFrame:
    """A stop and search reader's frame of ``n`` records (the second one with no place)."""
    cols: dict[str, list] = {
        "occurred_at": [T0 + 3600 * i for i in range(n)],
        "x": [460_000.0 + i for i in range(n)], "y": [450_000.0] * n,
        "lon": [-1.08 + i * 1e-4 for i in range(n)], "lat": [53.95] * n,
        "type": ["Person search"] * n, "part_of_operation": [False] * n,
        "operation": [""] * n, "gender": ["Male"] * n, "age_range": ["18-24"] * n,
        "self_defined_ethnicity": ["White - English/Welsh/Scottish/Northern Irish/British"] * n,
        "officer_defined_ethnicity": ["White"] * n,
        "legislation": ["Misuse of Drugs Act 1971 (section 23)"] * n,
        "object_of_search": ["Controlled drugs"] * n, "outcome": ["A no further action "
                                                                  "disposal"] * n,
        "outcome_linked": [None] * n, "removal_of_clothing": [False] * n,
    }
    if n > 1:
        for c in ("x", "y", "lon", "lat"):
            cols[c][1] = math.nan
        cols["part_of_operation"][1] = None
        cols["outcome_linked"][1] = True
    cols.update(overrides)
    return pd.DataFrame(cols)


def test_records_are_stored_apart_from_incidents(store: Store) -> None:
    version, count = store.data_version(), store.count()
    counts = store.add_stop_searches(_frame(), source="2024-03-york-stop-and-search.csv")
    assert counts == {"offered": 3, "accepted": 3, "repeated": 0}
    assert (store.data_version(), store.count()) == (version, count)
    got = store.stop_searches()
    assert list(got.columns) == ["source", *STOP_SEARCH_COLUMNS]
    assert got["occurred_at"].tolist() == [T0, T0 + 3600, T0 + 7200]
    assert got["source"].unique().tolist() == ["2024-03-york-stop-and-search.csv"]
    assert np.isnan(got.loc[1, "lon"]) and np.isnan(got.loc[1, "x"])
    assert got.loc[0, "x"] == 460_000.0 and got.loc[2, "lon"] == pytest.approx(-1.0798)
    assert got["part_of_operation"].tolist() == [False, None, False]
    assert got["outcome_linked"].tolist() == [None, True, None]
    assert got["object_of_search"].tolist() == ["Controlled drugs"] * 3
    assert store.count_stop_searches() == 3


def test_the_same_file_twice_adds_nothing_but_identical_rows_are_kept(store: Store) -> None:
    frame = _frame()
    twin = pd.concat([frame, frame.iloc[[0]]], ignore_index=True)  # two people stopped together
    assert store.add_stop_searches(twin, source="a.csv")["accepted"] == 4
    assert store.add_stop_searches(twin, source="a.csv") == {"offered": 4, "accepted": 0,
                                                             "repeated": 4}
    # the same records under another file name are still the same records
    assert store.add_stop_searches(frame, source="copy.csv")["accepted"] == 0
    assert store.count_stop_searches() == 4
    changed = _frame(outcome=["Arrest"] * 3)
    assert store.add_stop_searches(changed, source="b.csv")["accepted"] == 3


def test_period_and_limit(store: Store) -> None:
    store.add_stop_searches(_frame(5), source="a.csv")
    assert store.count_stop_searches(start=T0 + 3600, end=T0 + 3 * 3600) == 2
    got = store.stop_searches(start=T0 + 3600, end=T0 + 3 * 3600)
    assert got["occurred_at"].tolist() == [T0 + 3600, T0 + 7200]
    assert len(store.stop_searches(limit=2)) == 2
    assert len(store.stop_searches(start=T0 + 10 * 3600)) == 0


def test_an_empty_store_gives_an_empty_frame(store: Store) -> None:
    got = store.stop_searches()
    assert got.empty and list(got.columns) == ["source", *STOP_SEARCH_COLUMNS]
    assert store.add_stop_searches(_frame(0), source="a.csv") == {"offered": 0, "accepted": 0,
                                                                  "repeated": 0}


@pytest.mark.parametrize(("frame", "source", "error", "field"), [
    (_frame().drop(columns=["legislation"]), "a.csv", InvalidValue, "columns"),
    (_frame(occurred_at=[T0, T0 + 0.5, T0]), "a.csv", InvalidValue, "occurred_at"),
    (_frame(), "  ", InvalidValue, "source"),
    (_frame(gender=["Male", "Fe\x00male", "Male"]), "a.csv", InvalidText, None),
])
def test_bad_records_store_nothing(store: Store, frame: pd.DataFrame, source: str,
                                   error: type, field: str | None) -> None:
    with pytest.raises(error) as caught:
        store.add_stop_searches(frame, source=source)
    if field is not None:
        assert getattr(caught.value, "field", None) == field
    assert store.count_stop_searches() == 0
