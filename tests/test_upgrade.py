"""Upgrades (issue 18, operations; docs/operations.md "Upgrades"): a store an older release
made, holding a force's incidents and layers, opened by the current service migrates itself
when the service starts and then serves the same hotspots as a store the current release made
from the same files, and goes on taking uploads.

The older release is this code with only the migrations it shipped: the list of migration
scripts is cut back to an older number while its store is made and loaded, as that release's
package held no later ones. (``tests/geodata/test_store.py`` upgrades a version 1 PostGIS
store, its rows copied in by SQL, at the store's level.)
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import geodata.stores.postgis.connection as postgis_migrations
import geodata.stores.sqlite.connection as sqlite_migrations
from api.access import new_key
from api.app import create_app
from api.settings import Settings
from geodata.demo import DemoFiles
from geodata.ingest import ingest
from geodata.layers import force_area, read_layer
from geodata.readers import ReadOptions
from geodata.readers.force import ForceCsvReader
from geodata.schema import DEFAULT_TIMEZONE
from geodata.stores import Store, open_store
from tests.test_backup_restore import _differences

OLDER = {"sqlite": 9, "postgis": 11}
"""The older release's last migration, by store kind (for both, the release before a
neighbouring force's incidents, saved views and stop and search: three migrations behind
at the time of writing, more as later ones come). The current writer loads incidents and
layers into tables these migrations already define."""

QUERIES: list[dict[str, str]] = [
    {"from": "2024-01", "to": "2024-06", "method": "dbscan"},
    {"from": "2023-07", "to": "2024-06", "method": "kde"},
]


def _url(kind: str, folder: Path, request: pytest.FixtureRequest) -> str:
    if kind == "sqlite":
        return str(folder / "store.sqlite")
    base: str = request.getfixturevalue("postgres_url")
    return f"{base}?schema=up_{uuid.uuid4().hex[:10]}"


def _scripts(kind: str) -> Any:
    return (sqlite_migrations._scripts if kind == "sqlite"
            else postgis_migrations.migration_scripts)


def _migrations(store: Store) -> list[int]:
    return [int(m["version"]) for m in store.migrations()]


def _load(store: Store, files: DemoFiles) -> None:
    """The demo's layers and force export as a force's own (as :func:`geodata.demo.load_demo`
    reads them, less the neighbouring force's files, which the older release could not
    hold)."""
    for kind, path in files.layers.items():
        store.put_layer(read_layer(kind, path, force_crs=store.crs))
    options = ReadOptions(area=force_area(store, 2_000.0), crs=store.crs,
                          timezone=DEFAULT_TIMEZONE)
    ingest(store, ForceCsvReader(files.force_export, options=options))


@contextmanager
def _served(url: str, root: Path) -> Iterator[TestClient]:
    """The current service opening the store at ``url`` itself, as ``hotspot serve`` does."""
    settings = Settings(data_dir=root, database_url=url)
    with TestClient(create_app(settings)) as c:
        yield c


def _hotspots(c: TestClient, key: str) -> list[Any]:
    out = []
    for q in QUERIES:
        r = c.get("/v1/hotspots", params=q, headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 200, r.text
        body = r.json()
        # the time it was made and the data version (which names the store) are not the data
        for part in (body, body["metadata"]):
            for name in ("generated_at", "data_version"):
                part.pop(name, None)
        out.append(body)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "postgis"])
def test_a_store_of_an_older_release_migrates_when_served_and_serves_the_same_hotspots(
        kind: str, monkeypatch: pytest.MonkeyPatch, demo_files: DemoFiles, tmp_path: Path,
        request: pytest.FixtureRequest) -> None:
    every = [number for number, *_ in _scripts(kind)()]
    older = [s for s in _scripts(kind)() if s[0] <= OLDER[kind]]
    assert every[-1] > OLDER[kind]  # there is something to upgrade
    old_url = _url(kind, tmp_path / "old", request) if kind == "postgis" else str(
        tmp_path / "old.sqlite")
    with monkeypatch.context() as older_release:
        older_release.setattr(sqlite_migrations if kind == "sqlite" else postgis_migrations,
                              "_scripts" if kind == "sqlite" else "migration_scripts",
                              lambda: older)
        old = open_store(old_url)
        assert _migrations(old) == [s[0] for s in older]
        _load(old, demo_files)
        key = new_key(old, name="planner", role="analyst")[0]
        count, store_id = old.count(), old.store_id  # type: ignore[attr-defined]
        first = old.incidents()
        where = float(first.x[0]), float(first.y[0])  # a place in the force's area
        old.close()

    current_url = _url(kind, tmp_path, request) if kind == "postgis" else str(
        tmp_path / "now.sqlite")
    current = open_store(current_url)
    _load(current, demo_files)
    current_key = new_key(current, name="planner", role="analyst")[0]
    current.close()

    with _served(old_url, tmp_path / "a") as c:  # the service starts: the store migrates
        upgraded = _hotspots(c, key)  # the key made before the upgrade still signs in
        health = c.get("/health", headers={"Authorization": f"Bearer {key}"}).json()["store"]
        more = c.post("/v1/incidents", headers={"Authorization": f"Bearer {key}"},
                      json=[{"id": "after-upgrade-1", "occurred_at": "2024-06-20T02:00:00",
                             "crime_type": "Burglary", "easting": where[0],
                             "northing": where[1]}])
    with _served(current_url, tmp_path / "b") as c:
        fresh = _hotspots(c, current_key)

    assert upgraded == fresh, _differences(fresh, upgraded)[:10]
    assert all(body["features"] for body in upgraded)
    assert health["incidents"] == count
    assert more.status_code == 201 and more.json()["counts"]["accepted"] == 1, more.text
    again = open_store(old_url)
    assert _migrations(again) == every  # every later migration applied, once
    assert again.store_id == store_id  # type: ignore[attr-defined]
    assert again.count() == count + 1
    again.close()
