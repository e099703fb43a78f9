"""A neighbouring force's incidents in both stores: a separate labelled source, never counted
with the force's own (embedded and PostGIS, the real server)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from geodata.errors import InvalidValue
from geodata.ingest import ingest
from geodata.neighbours import load_neighbour, neighbour_read_options
from geodata.readers import open_reader
from geodata.schema import IncidentFilter
from geodata.stores.base import Store

HEADER = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,"
          "LSOA name,Crime type,Last outcome category,Context\n")


def police_row(crime_id: str, force: str, lon: float, lat: float, kind: str = "Burglary",
               month: str = "2024-06") -> str:
    return (f"{crime_id},{month},{force},{force},{lon},{lat},On or near High Street,"
            f"E01000001,Somewhere 001A,{kind},Under investigation,\n")


FORCE_ROWS = [police_row(f"f{i:03d}", "Eastshire Police", -1.0 + i * 1e-4, 53.0)
              for i in range(5)]
NEIGHBOUR_ROWS = [
    police_row("f001", "Westmarch Police", -1.0001, 53.0),  # the force holds it
    police_row("f003", "Westmarch Police", -1.0003, 53.0),  # the force holds it
    police_row("n001", "Westmarch Police", -1.05, 53.0),
    police_row("n002", "Westmarch Police", -1.05, 53.001, "Vehicle crime"),
    police_row("n002", "Westmarch Police", -1.05, 53.001, "Vehicle crime"),  # repeated
    police_row("n003", "Westmarch Police", -1.06, 53.0, month="2024-07"),
]


def _file(tmp_path: Path, name: str, rows: list[str]) -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    return path


def _load(store: Store, path: Path, source: str = "Westmarch Police") -> dict:
    return load_neighbour(store, open_reader(path, options=neighbour_read_options(store)),
                          source=source)


def test_a_neighbour_row_the_force_holds_is_not_stored(store: Store, tmp_path: Path) -> None:
    ingest(store, open_reader(_file(tmp_path, "force.csv", FORCE_ROWS)))
    version, count = store.data_version(), store.count()
    report = _load(store, _file(tmp_path, "westmarch.csv", NEIGHBOUR_ROWS))
    assert report["counts"] == {"records": 6, "accepted": 3, "duplicates_of_force": 2,
                                "repeated": 1, "rejected": 0}
    assert report["source"] == "Westmarch Police"
    # the force's own incidents and data version are untouched
    assert (store.data_version(), store.count()) == (version, count)
    cols = store.neighbour_incidents()
    assert len(cols) == 3
    assert sorted(cols.extra["source"].astype(str)) == ["Westmarch Police"] * 3
    assert sorted(cols.category.astype(str)) == ["burglary", "burglary", "vehicle_crime"]


def test_the_same_file_again_stores_nothing(store: Store, tmp_path: Path) -> None:
    path = _file(tmp_path, "westmarch.csv", NEIGHBOUR_ROWS)
    first = _load(store, path)
    version = store.neighbour_version()
    again = _load(store, path)
    assert first["counts"]["accepted"] == 5
    assert again["counts"] == {"records": 6, "accepted": 0, "duplicates_of_force": 0,
                               "repeated": 6, "rejected": 0}
    assert store.neighbour_version() == version
    # another neighbour's label is another source: its rows are its own
    other = _load(store, path, source="Northmoor Police")
    assert other["counts"]["accepted"] == 5
    sources = {s["source"]: s["incidents"] for s in store.neighbour_sources()}
    assert sources == {"Northmoor Police": 5, "Westmarch Police": 5}
    assert len(store.neighbour_incidents(sources=("Northmoor Police",))) == 5


def test_neighbour_incidents_are_selected_like_the_forces(store: Store, tmp_path: Path) -> None:
    _load(store, _file(tmp_path, "westmarch.csv", NEIGHBOUR_ROWS))
    june = store.neighbour_incidents(IncidentFilter(start=1717196400, end=1719788400))
    assert len(june) == 4
    burglary = store.neighbour_incidents(IncidentFilter(categories=("burglary",)))
    assert len(burglary) == 4
    box = store.neighbour_incidents(IncidentFilter(lonlat_bbox=(-1.0005, 52.9, -0.99, 53.1)))
    assert len(box) == 2
    assert store.count() == 0  # nothing went to the force's incidents


@pytest.mark.parametrize("label", ["", "   ", "x" * 101, "bad\x01label"])
def test_a_bad_label_is_refused(store: Store, tmp_path: Path, label: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        _load(store, _file(tmp_path, "westmarch.csv", NEIGHBOUR_ROWS), source=label)
    assert caught.value.field == "source"


def test_a_crime_id_the_forces_export_holds_is_not_stored(store: Store, tmp_path: Path) -> None:
    """A force export may carry data.police.uk Crime IDs (64 hex digits, one crime
    nationally) as its ids: a neighbour's row with one is the force's incident. A short id
    (a force's own reference) is matched only in its own namespace."""
    crime_id = "ab" * 32
    export = tmp_path / "export.geojson"
    export.write_text(json.dumps([
        {"id": crime_id, "occurred_at": "2024-06-03T10:00", "crime_type": "Burglary",
         "lon": -1.0, "lat": 53.0},
        {"id": "n001", "occurred_at": "2024-06-03T11:00", "crime_type": "Burglary",
         "lon": -1.0, "lat": 53.0}]))
    assert ingest(store, open_reader(export)).accepted == 2
    rows = [police_row(crime_id, "Westmarch Police", -1.0, 53.0),
            police_row("n001", "Westmarch Police", -1.05, 53.0)]
    report = _load(store, _file(tmp_path, "westmarch.csv", rows))
    assert report["counts"]["duplicates_of_force"] == 1
    assert report["counts"]["accepted"] == 1
    assert list(store.neighbour_incidents().lon.round(2)) == [-1.05]
