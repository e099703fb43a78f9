"""The API on the PostGIS store when the database fails: 503 with Retry-After and a clear
message, /health naming the part that is down, nothing half-written, and recovery on its own.

Faults are real: the service's backend connections are terminated with pg_terminate_backend
while it ingests or queries (held at a lock so the moment is certain), and the database is
made to refuse connections (ALLOW_CONNECTIONS false) and then let back.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from tests.conftest import LINCOLNSHIRE, NORTH_YORKSHIRE, POSTGRES_URL, as_role

pytestmark = pytest.mark.real_data

SCHEMA = "faults"


@pytest.fixture
def app_url(postgres_url: str) -> str:
    return f"{postgres_url}?schema={SCHEMA}"


@pytest.fixture
def client(tmp_path: Path, app_url: str) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path, database_url=app_url)
    with TestClient(create_app(settings)) as c:
        yield as_role(c)
    with psycopg.connect(app_url.split("?")[0], autocommit=True) as conn:
        # a backend a fault left holding a lock on the schema fails the clean-up in a
        # minute, naming the lock, rather than holding the run
        conn.execute("SET lock_timeout = '60s'")
        conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")


def upload(client: TestClient, path: Path):
    with path.open("rb") as f:
        return client.post("/v1/incidents", files={"file": (path.name, f, "text/csv")})


def _terminate_when_waiting(admin: psycopg.Connection, database: str, timeout_s: float = 20) -> int:
    """Terminate the service's backends once one waits on a lock; return how many."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        waiting = admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
            "AND application_name LIKE 'hotspot%%' AND wait_event_type = 'Lock'", (database,),
        ).fetchone()
        if waiting and waiting[0]:
            done = admin.execute(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = %s AND application_name LIKE 'hotspot%%'", (database,),
            ).fetchone()
            return int(done[0]) if done else 0
        time.sleep(0.05)
    raise AssertionError("the service never waited on the lock")


def test_terminated_mid_ingest_then_mid_query_then_recovered(client: TestClient,
                                                              postgres_url: str):
    database = postgres_url.rsplit("/", 1)[-1]
    assert upload(client, LINCOLNSHIRE).status_code == 201
    before = client.get("/health").json()["store"]
    assert before["ok"] and before["kind"] == "postgis" and before["incidents"] == 5671

    with psycopg.connect(postgres_url) as blocker, \
            psycopg.connect(postgres_url, autocommit=True) as admin:
        # mid-ingest: the upload has staged its rows and waits to insert them
        blocker.execute(f"LOCK TABLE {SCHEMA}.incidents IN ACCESS EXCLUSIVE MODE")
        result: dict[str, object] = {}
        worker = threading.Thread(target=lambda: result.update(r=upload(client, NORTH_YORKSHIRE)))
        worker.start()
        assert _terminate_when_waiting(admin, database) >= 1
        blocker.rollback()
        worker.join(30)
        r = result["r"]
        assert r.status_code == 503 and r.headers["retry-after"]  # type: ignore[attr-defined]
        assert "database" in r.json()["detail"]  # type: ignore[attr-defined]
        assert "Traceback" not in r.text  # type: ignore[attr-defined]

        # nothing of it was kept, and the next request works on its own
        health = client.get("/health")
        assert health.status_code == 200 and health.json()["store"]["incidents"] == 5671
        assert health.json()["store"]["data_version"] == before["data_version"]

        # mid-query: a selection waits behind a lock and its connection is cut
        blocker.execute(f"LOCK TABLE {SCHEMA}.incidents IN ACCESS EXCLUSIVE MODE")
        worker = threading.Thread(
            target=lambda: result.update(q=client.get("/v1/incidents", params={"limit": 5})))
        worker.start()
        assert _terminate_when_waiting(admin, database) >= 1
        blocker.rollback()
        worker.join(30)
        q = result["q"]
        assert q.status_code == 503 and q.headers["retry-after"]  # type: ignore[attr-defined]

    # recovered by itself: queries and a full ingest work again
    page = client.get("/v1/incidents", params={"limit": 5})
    assert page.status_code == 200 and page.json()["numberMatched"] == 5671
    assert upload(client, NORTH_YORKSHIRE).status_code == 201
    assert client.get("/health").json()["store"]["incidents"] == 5671 + 5288


def test_a_database_refusing_connections_answers_503_then_recovers(client: TestClient,
                                                                   postgres_url: str):
    database = postgres_url.rsplit("/", 1)[-1]
    assert upload(client, LINCOLNSHIRE).status_code == 201
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
        try:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = %s", (database,))
            health = client.get("/health")
            assert health.status_code == 503 and health.headers["retry-after"]
            part = health.json()["store"]
            assert part["ok"] is False and part["kind"] == "postgis"
            assert "database unavailable" in part["error"]
            # the driver's own text (database name, host, user) never reaches the public answer
            assert database not in health.text and "127.0.0.1" not in health.text
            assert "ALLOW_CONNECTIONS" not in health.text and "connection" not in health.text
            r = client.get("/v1/hotspots")
            assert r.status_code == 503 and r.headers["retry-after"]
            assert json.loads(r.text)["error"] == "store_unavailable"
        finally:
            admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
    deadline = time.monotonic() + 20
    while client.get("/health").status_code != 200:  # the pool reconnects by itself
        assert time.monotonic() < deadline, "the service did not recover"
        time.sleep(0.2)
    assert client.get("/v1/incidents", params={"limit": 1}).json()["numberMatched"] == 5671


def test_an_unreachable_database_at_start_answers_503(tmp_path: Path):
    settings = Settings(data_dir=tmp_path, database_url="postgresql://postgres@127.0.0.1:9/x")
    with TestClient(create_app(settings)) as c:
        r = c.get("/health")
        assert r.status_code == 503 and r.headers["retry-after"]
        r = c.get("/v1/incidents")
        assert r.status_code == 503 and "database" in r.json()["detail"]
