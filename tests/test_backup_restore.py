"""Backups of the PostGIS store, as docs/operations.md tells an operator to take and restore
them (issue 18, operations): ``pg_dump -Fc`` of the store's database (or of its schema alone)
restored with ``createdb`` and ``pg_restore`` into a new database serves the same hotspots, the
same data version and store id, the same keys, and goes on taking ingests as the original
would. Debian's PostgreSQL client tools (``pg_dump``, ``pg_restore``, ``createdb``) run for
real against the test server; every database made here is dropped at the end."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.access import new_key
from api.app import create_app
from api.settings import Settings
from geodata.demo import DemoFiles, load_demo
from geodata.ingest import ingest
from geodata.layers import force_area
from geodata.readers import ReadOptions
from geodata.readers.force import ForceCsvReader
from geodata.stores.base import DEMO
from geodata.stores.postgis import PostGISStore
from tests.conftest import POSTGRES_URL, _with_database

QUERIES: list[dict[str, str]] = [
    {"from": "2024-01", "to": "2024-06", "method": "dbscan"},
    {"from": "2023-07", "to": "2024-06", "method": "kde"},
    {"from": "2024-01", "to": "2024-06", "category": "residential_burglary", "method": "kde"},
]
"""The hotspot views compared: DBSCAN and KDE over the demo's months, and one category."""


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: apt-get install postgresql-client-15")
    return found


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{' '.join(args[:2])} failed: {done.stderr[-2000:]}"
    return done


@pytest.fixture
def databases() -> Iterator[list[str]]:
    """Names of databases the test makes, each dropped at the end (named as the run's
    database, ``hotspot_test_<pid>_*``, so that the next run drops them if this one is killed
    first)."""
    made: list[str] = []
    yield made
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        for name in made:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _new_name(made: list[str], role: str) -> str:
    name = f"hotspot_test_{os.getpid()}_bk_{role}_{uuid.uuid4().hex[:10]}"
    made.append(name)
    return name


@contextmanager
def _served(url: str, root: Path, key: str) -> Iterator[TestClient]:
    """The real app opening the store at ``url`` itself, as ``hotspot serve`` does, signed in
    with ``key``."""
    settings = Settings(data_dir=root, demo_database_url=url, database_url=url)
    with TestClient(create_app(settings, demo=True)) as c:
        c.headers["Authorization"] = f"Bearer {key}"
        yield c


def _answers(c: TestClient) -> dict[str, Any]:
    """What a planner and a monitor see: the hotspot views, their data version, the store's
    health (store id, counts) and the keys' listing."""
    out: dict[str, Any] = {}
    for q in QUERIES:
        r = c.get("/v1/hotspots", params=q)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["metadata"].pop("generated_at")  # the clock time it was made: not data
        out[repr(sorted(q.items()))] = (r.headers["X-Data-Version"], body)
    health = c.get("/health")
    assert health.status_code == 200, health.text
    out["health"] = health.json()["store"]
    out["keys"] = c.get("/v1/keys").json()
    return out


def _differences(a: Any, b: Any, where: str = "") -> list[str]:
    """Where two JSON values differ (paths), for a failure's message."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b), key=str)
                for d in _differences(a.get(k), b.get(k), f"{where}/{k}")]
    if isinstance(a, list | tuple) and isinstance(b, list | tuple) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True))
                for d in _differences(x, y, f"{where}[{i}]")]
    return [] if a == b else [f"{where}: {a!r} != {b!r}"[:300]]


@pytest.mark.slow
def test_a_pg_dump_restored_into_a_new_database_serves_the_same_hotspots(
        databases: list[str], demo_files: DemoFiles, tmp_path: Path) -> None:
    pg_dump, pg_restore, createdb = _tool("pg_dump"), _tool("pg_restore"), _tool("createdb")
    source = _with_database(POSTGRES_URL, _new_name(databases, "src"))
    _run(createdb, f"--maintenance-db={POSTGRES_URL}", source.rsplit("/", 1)[-1])
    store = PostGISStore.open(source)  # the default schema, hotspot, as a force's own
    load_demo(store, demo_files)
    key = new_key(store, name="monitor", role="admin")[0]
    store_id, version = store.store_id, store.data_version()
    whole, schema_only = tmp_path / "hotspot.dump", tmp_path / "hotspot-schema.dump"
    with _served(source, tmp_path / "a", key) as c:
        before = _answers(c)
        found = {k: len(v[1]["features"]) for k, v in before.items() if k.startswith("[")}
        assert all(found.values()), found
        # the backup, taken while the service runs: the whole database, and the schema alone
        _run(pg_dump, "-Fc", "-f", str(whole), source)
        _run(pg_dump, "-Fc", "--schema=hotspot", "-f", str(schema_only), source)
    store.close()

    # restore the whole database into a new one
    restored = _with_database(POSTGRES_URL, _new_name(databases, "dst"))
    _run(createdb, f"--maintenance-db={POSTGRES_URL}", restored.rsplit("/", 1)[-1])
    _run(pg_restore, "--no-owner", "-d", restored, str(whole))
    # restore the schema alone: the new database needs PostGIS first (it is not in the schema)
    alone = _with_database(POSTGRES_URL, _new_name(databases, "one"))
    _run(createdb, f"--maintenance-db={POSTGRES_URL}", alone.rsplit("/", 1)[-1])
    with psycopg.connect(alone, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION postgis")
    _run(pg_restore, "--no-owner", "-d", alone, str(schema_only))

    for url, folder in ((restored, "b"), (alone, "c")):
        with _served(url, tmp_path / folder, key) as c:  # the same key signs in
            after = _answers(c)
        # hotspots, data version, store id and counts, keys
        assert after == before, (url, _differences(before, after)[:10])
        copy = PostGISStore.open(url)
        assert (copy.store_id, copy.data_version()) == (store_id, version)
        # the identities came along: the same file again adds nothing, and a new ingest goes on
        # numbering where the original left off
        options = ReadOptions(area=force_area(copy, 2_000.0), crs=copy.crs,
                              timezone=copy.timezone)  # as load_demo reads it
        again = ingest(copy, ForceCsvReader(demo_files.force_export, options=options),
                       purpose=DEMO)
        assert again.accepted == 0 and again.duplicates_in_store == copy.count() > 0
        copy.close()
