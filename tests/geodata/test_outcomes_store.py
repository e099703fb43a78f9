"""Outcomes applied to stored incidents by Crime ID, on both stores (embedded and PostGIS, the
real server): an outcome updates an incident, never adds one; the latest month wins; the data
version changes only when something changed."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from geodata.errors import InvalidText, InvalidValue
from geodata.ingest import ingest
from geodata.readers import open_reader
from geodata.stores._stop_search import latest_outcomes
from geodata.stores.base import Store

HEADER = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,"
          "LSOA name,Crime type,Last outcome category,Context\n")
HEX = [f"{i:064x}" for i in range(1, 7)]


def _street(tmp_path: Path, rows: list[tuple[str, str, str]], name: str = "s.csv") -> Path:
    """A street-level file: (Crime ID, crime type, last outcome) per row."""
    lines = [f"{cid},2024-03,Eastshire Police,Eastshire Police,{-1.0 + i * 1e-3},53.0,"
             f"On or near High Street,E01000001,Somewhere 001A,{kind},{outcome},\n"
             for i, (cid, kind, outcome) in enumerate(rows)]
    path = tmp_path / name
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    return path


def _outcomes(*rows: tuple[str, str, str]) -> pd.DataFrame:
    """An outcomes reader's frame: (Crime ID, month, outcome) per row."""
    return pd.DataFrame({"crime_id": [r[0] for r in rows], "month": [r[1] for r in rows],
                         "outcome": [r[2] for r in rows], "lon": [-1.0] * len(rows),
                         "lat": [53.0] * len(rows)})


def _outcome_by_id(store: Store) -> dict[str, str | None]:
    page = store.incident_records(limit=1000)
    return {r["id"]: r["outcome"] for r in page.records if not r["id"].startswith("derived")}


@pytest.fixture
def loaded(store: Store, tmp_path: Path) -> Store:
    rows = [(HEX[0], "Burglary", "Under investigation"),
            (HEX[1], "Vehicle crime", "Under investigation"),
            (HEX[2], "Shoplifting", "Awaiting court outcome"),
            ("", "Anti-social behaviour", "")]
    ingest(store, open_reader(_street(tmp_path, rows)))
    return store


def test_an_outcome_updates_the_incident_and_adds_no_row(loaded: Store) -> None:
    store = loaded
    count, version = store.count(), store.data_version()
    counts = store.apply_outcomes(_outcomes(
        (HEX[0], "2024-04", "Investigation complete; no suspect identified"),
        (HEX[2], "2024-04", "Awaiting court outcome"),  # already that: unchanged
        (HEX[5], "2024-04", "Offender given a caution"),  # no such crime stored
    ))
    assert counts == {"offered": 3, "superseded": 0, "matched": 2, "updated": 1,
                      "unchanged": 1, "unmatched": 1}
    assert store.count() == count
    assert store.data_version() != version
    assert _outcome_by_id(store) == {
        HEX[0]: "Investigation complete; no suspect identified",
        HEX[1]: "Under investigation",
        HEX[2]: "Awaiting court outcome",
    }
    # the analyses' view is the same incidents
    assert len(store.incidents()) == count


def test_the_same_outcomes_twice_change_nothing(loaded: Store) -> None:
    store = loaded
    frame = _outcomes((HEX[0], "2024-04", "Offender given a caution"),
                      (HEX[1], "2024-05", "Unable to prosecute suspect"))
    assert store.apply_outcomes(frame)["updated"] == 2
    version, before = store.data_version(), _outcome_by_id(store)
    again = store.apply_outcomes(frame)
    assert again == {"offered": 2, "superseded": 0, "matched": 2, "updated": 0,
                     "unchanged": 2, "unmatched": 0}
    assert store.data_version() == version
    assert _outcome_by_id(store) == before


def test_nothing_matched_leaves_the_data_version(loaded: Store) -> None:
    version = loaded.data_version()
    counts = loaded.apply_outcomes(_outcomes((HEX[4], "2024-04", "Offender fined")))
    assert counts["unmatched"] == 1 and counts["matched"] == 0
    assert loaded.data_version() == version


def test_the_latest_month_wins_within_a_frame_and_across_loads(loaded: Store) -> None:
    store = loaded
    counts = store.apply_outcomes(_outcomes(
        (HEX[0], "2024-06", "Offender sent to prison"),
        (HEX[0], "2024-04", "Awaiting court outcome"),  # older, later in the file
        (HEX[1], "2024-05", "Offender fined"),
        (HEX[1], "2024-05", "Offender given community sentence"),  # same month, later row
    ))
    assert counts == {"offered": 4, "superseded": 2, "matched": 2, "updated": 2,
                      "unchanged": 0, "unmatched": 0}
    assert _outcome_by_id(store)[HEX[0]] == "Offender sent to prison"
    assert _outcome_by_id(store)[HEX[1]] == "Offender given community sentence"
    # an older outcomes file loaded afterwards changes nothing
    version = store.data_version()
    older = store.apply_outcomes(_outcomes((HEX[0], "2024-05", "Awaiting court outcome")))
    assert older["matched"] == 1 and older["updated"] == 0
    assert store.data_version() == version
    assert _outcome_by_id(store)[HEX[0]] == "Offender sent to prison"
    # a later one does
    later = store.apply_outcomes(_outcomes((HEX[0], "2024-07", "Offender fined")))
    assert later["updated"] == 1
    assert _outcome_by_id(store)[HEX[0]] == "Offender fined"


@pytest.mark.parametrize(("frame", "error", "field"), [
    (pd.DataFrame({"crime_id": [HEX[0]], "outcome": ["Offender fined"]}), InvalidValue,
     "columns"),
    (_outcomes((HEX[0], "2024-13", "Offender fined")), InvalidValue, "month"),
    (_outcomes((HEX[0], "2024-04", "  ")), InvalidValue, "outcome"),
    (_outcomes(("", "2024-04", "Offender fined")), InvalidValue, "crime_id"),
    (_outcomes((HEX[0], "2024-04", "Offender\x00fined")), InvalidText, None),
])
def test_bad_outcomes_change_nothing(loaded: Store, frame: pd.DataFrame, error: type,
                                     field: str | None) -> None:
    version, before = loaded.data_version(), _outcome_by_id(loaded)
    # a good row first: the whole frame is refused, the good row is not applied either
    good = _outcomes((HEX[1], "2024-04", "Offender fined"))
    whole = frame if field == "columns" else pd.concat([good, frame], ignore_index=True)
    with pytest.raises(error) as caught:
        loaded.apply_outcomes(whole)
    if field is not None:
        assert getattr(caught.value, "field", None) == field
    assert loaded.data_version() == version
    assert _outcome_by_id(loaded) == before


def test_an_empty_frame_changes_nothing(loaded: Store) -> None:
    version = loaded.data_version()
    assert loaded.apply_outcomes(_outcomes()) == {
        "offered": 0, "superseded": 0, "matched": 0, "updated": 0, "unchanged": 0,
        "unmatched": 0}
    assert loaded.data_version() == version


def test_outcomes_reach_incidents_in_many_blocks(store: Store, tmp_path: Path) -> None:
    """More incidents than one block of the embedded store holds (16,384): the outcome column
    of each block touched is rewritten, the others are left alone."""
    n = 17_000
    ids = [f"{i:064x}" for i in range(1, n + 1)]
    lines = [f"{cid},2024-03,P,P,{-1.0 + (i % 300) * 1e-3},{53.0 + (i // 300) * 1e-3},"
             f"On or near X,E01000001,S 001A,Burglary,Under investigation,\n"
             for i, cid in enumerate(ids)]
    path = tmp_path / "big.csv"
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    ingest(store, open_reader(path))
    pick = ids[::1000]
    counts = store.apply_outcomes(_outcomes(*[(c, "2024-04", "Offender fined") for c in pick]))
    assert counts["updated"] == len(pick)
    cols = store.incidents(extra=("outcome",))
    fined = int((cols.extra["outcome"].astype(str) == "Offender fined").sum())
    assert fined == len(pick)
    assert len(cols) == n


def test_latest_outcomes_keeps_one_row_per_crime() -> None:
    latest, superseded = latest_outcomes(_outcomes(
        ("a", "2024-02", "x"), ("b", "2024-01", "y"), ("a", "2024-01", "z"),
        ("a", "2024-02", "w")))
    assert superseded == 2
    assert dict(zip(latest["crime_id"], latest["outcome"], strict=True)) == {"a": "w", "b": "y"}
