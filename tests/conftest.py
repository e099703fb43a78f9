"""Shared fixtures: the real data files, stores of every kind, a small demo area."""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from geodata.demo import DemoFiles, write_demo
from geodata.stores import SQLiteStore, Store
from geodata.stores.postgis import PostGISStore

ROOT = Path(__file__).resolve().parents[1]

REAL_DATA_HINT = (
    "set HOTSPOT_REAL_DATA to the folder of the real data files (../shared/data/real beside "
    "the checkout), or run the tests that need none alone: pytest -m 'not real_data'"
)


def _real_data() -> Path:
    """The folder of the real data files: ``$HOTSPOT_REAL_DATA`` when set (it wins, found or
    not), else ``../shared/data/real`` beside the checkout or ``/work/shared/data/real``.

    Never raises: a test that reads the files is marked ``real_data``, and the run fails at
    collection when such a test is selected and the files are not there
    (:func:`pytest_collection_modifyitems`)."""
    env = os.environ.get("HOTSPOT_REAL_DATA")
    if env:
        return Path(env)
    candidates = [ROOT.parent / "shared" / "data" / "real", Path("/work/shared/data/real")]
    for c in candidates:
        if (c / "north-yorkshire-2019-01").is_dir():
            return c
    return candidates[0]


def real_data_present() -> bool:
    """Whether :data:`REAL` holds the real data files."""
    return (REAL / "north-yorkshire-2019-01").is_dir()


REAL = _real_data()
NORTH_YORKSHIRE = REAL / "north-yorkshire-2019-01" / "2019-01-north-yorkshire-street.csv"
LINCOLNSHIRE = REAL / "lincolnshire-2024-03" / "2024-03-lincolnshire-street.csv"
LAD = REAL / "lincolnshire-2024-03" / "LAD_Dec_2021_Great_Britain.geojson"
YORK_LISTED = REAL / "york-maxcovr" / "york_listed_buildings.csv"
LSOA_DIR = REAL / "lsoa11_by_lad"
NORTH_YORKSHIRE_LADS = ["E06000014", *[f"E0700016{i}" for i in range(3, 10)]]
LINCOLNSHIRE_LADS = [f"E070001{i}" for i in range(36, 43)]


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadfile`` (``make test``) by :class:`tests.xdist_loadfile.LoadFileGoingOn`:
    xdist's own hangs the run after a worker crashes."""
    if config.getvalue("dist") != "loadfile":
        return None
    from tests.xdist_loadfile import LoadFileGoingOn

    return LoadFileGoingOn(config, log)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Fail the run at once (never skip) when a selected test reads the real data files and
    they are not there; runs after ``-m`` has deselected what it deselects."""
    if real_data_present():
        return
    needing = [item.nodeid for item in items if item.get_closest_marker("real_data")]
    if needing:
        raise pytest.UsageError(
            f"{len(needing)} selected tests read the real data files (marker real_data, e.g. "
            f"{needing[0]}), which are not in {REAL}: {REAL_DATA_HINT}"
        )


STORE_KINDS = ["sqlite", "postgis"]
"""Every store implementation; store tests run against each."""
CDN_URL = re.compile(r"(?:https?:)?//[^\s\"'<>()]*(?:cdn|unpkg|jsdelivr)", re.IGNORECASE)
"""A URL on a content delivery network, which pages never load from (a bare "cdn" in a
page can be three letters of a random id or nonce: one such failed a run)."""

POSTGRES_URL = os.environ.get("HOTSPOT_TEST_POSTGRES_URL",
                              "postgresql://postgres@127.0.0.1:5432/test")
"""A PostgreSQL server where the test run may create (and drop) its own database."""


def _with_database(url: str, name: str, user: str | None = None) -> str:
    """The URL ``url`` pointing at database ``name`` instead (and as ``user``)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    netloc = parts.netloc if user is None else f"{user}@{parts.netloc.rsplit('@', 1)[-1]}"
    return urlunsplit(parts._replace(netloc=netloc, path=f"/{name}"))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throw-away database with PostGIS for this test run, dropped at the end.

    Fails (never skips) when the server cannot be reached: ``make test`` installs PostGIS and
    starts the server; elsewhere set HOTSPOT_TEST_POSTGRES_URL.
    """
    name = f"hotspot_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        admin = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        raise RuntimeError(
            f"the PostGIS store tests need a PostgreSQL server at {POSTGRES_URL} ({exc}); "
            "`make test` installs PostGIS and starts the local server, or set "
            "HOTSPOT_TEST_POSTGRES_URL"
        ) from None
    with admin:
        # databases of earlier runs that were killed before they could drop theirs
        for (stale,) in admin.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE 'hotspot_test_%'").fetchall():
            pid = stale.split("_")[2]
            if pid.isdigit() and not Path(f"/proc/{pid}").exists():
                admin.execute(f'DROP DATABASE IF EXISTS "{stale}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    url = _with_database(POSTGRES_URL, name)
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION postgis")
        yield url
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_store(kind: str, path: Path, request: pytest.FixtureRequest) -> Store:
    """A new, empty store of a kind (a PostGIS store in its own schema of the run's
    database)."""
    if kind == "sqlite":
        return SQLiteStore.open(path / "store.sqlite")
    if kind == "postgis":
        url = request.getfixturevalue("postgres_url")
        return PostGISStore.open(url, schema=f"t_{uuid.uuid4().hex[:12]}")
    raise ValueError(kind)


@pytest.fixture(params=STORE_KINDS)
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Store]]:
    """Makes empty stores of the parametrised kind (each in its own place)."""
    made: list[Store] = []

    def factory() -> Store:
        sub = tmp_path / f"s{len(made)}"
        sub.mkdir()
        store = make_store(request.param, sub, request)
        made.append(store)
        return store

    yield factory
    for s in made:
        s.close()


@pytest.fixture
def store(store_factory: Callable[[], Store]) -> Store:
    """An empty store of the parametrised kind."""
    return store_factory()


@pytest.fixture(scope="session")
def demo_files(tmp_path_factory: pytest.TempPathFactory) -> DemoFiles:
    """A small demo force area (5,000 incidents), written once per test session."""
    return write_demo(tmp_path_factory.mktemp("demo"), incidents=5_000)


def demo_renamed(files: DemoFiles, root: Path,
                 renamed: dict[str, dict[str, str]]) -> DemoFiles:
    """The demo's files with some layer features renamed (``{kind: {old name: new name}}``,
    every old name present), the changed layers written under ``root``: names from data
    that attack the pages."""
    layers = dict(files.layers)
    for kind, names in renamed.items():
        data = json.loads(files.layers[kind].read_text("utf-8"))
        found = {f["properties"]["name"] for f in data["features"]} & set(names)
        assert found == set(names), (kind, found)
        for f in data["features"]:
            f["properties"]["name"] = names.get(f["properties"]["name"], f["properties"]["name"])
        layers[kind] = root / files.layers[kind].name
        layers[kind].write_text(json.dumps(data), "utf-8")
    return DemoFiles(root=files.root, force_export=files.force_export,
                     police_csvs=files.police_csvs, layers=layers, roads=files.roads,
                     truth=files.truth)


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """Write bytes or text to a file in the test's folder and return its path."""

    def _write(name: str, content: bytes | str) -> Path:
        p = tmp_path / name
        p.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        return p

    return _write


def sign_in_client(client: Any, key: str, next: str = "/", **form: str) -> Any:
    """Sign a TestClient in to the pages as a browser does: fetch the sign-in form (its token
    comes in a cookie and a hidden field), post it from the service's own origin. Returns the
    answer (303 when signed in; the session's CSRF token is then ``client.cookies['hotspot_csrf']``)."""
    import re

    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]*)"', page.text)
    assert token, page.text
    return client.post("/login", data={"key": key, "next": next, "csrf_token": token.group(1),
                                       **form},
                       headers={"Origin": str(client.base_url).rstrip("/")},
                       follow_redirects=False)


def csrf_headers(client: Any) -> dict[str, str]:
    """What the pages add to a request that changes something: the origin and the token."""
    return {"Origin": str(client.base_url).rstrip("/"),
            "X-CSRF-Token": client.cookies.get("hotspot_csrf", "")}


def as_role(client: Any, role: str = "admin") -> Any:
    """Give a started TestClient an API key of ``role``, made in its app's store."""
    from api.access import new_key

    app = client.app
    store = app.state.store or app.state.open_store()
    token, _record = new_key(store, name=f"test {role}", role=role)
    client.headers["Authorization"] = f"Bearer {token}"
    return client


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The Redis the tests of several instances share: ``$HOTSPOT_TEST_REDIS_URL``, else
    127.0.0.1:6379 database 0 (``make test`` starts Debian's redis-server when nothing answers
    there). Never skipped: a Redis that does not answer fails the tests that need it."""
    import redis

    url = os.environ.get("HOTSPOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:  # pragma: no cover - the machine's set-up
        raise RuntimeError(f"Redis does not answer at {url} (make redis starts one): {exc}") \
            from exc
    finally:
        client.close()
    return url


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own (``HOTSPOT_REDIS_PREFIX``); its keys are deleted after."""
    import redis

    prefix = f"t{uuid.uuid4().hex[:10]}:"
    yield prefix
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=2)
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()
