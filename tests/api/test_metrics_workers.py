"""``/metrics`` of ``hotspot serve --workers N`` (issue 18, operations): with
``PROMETHEUS_MULTIPROC_DIR`` set, whichever process answers a scrape counts the requests of
every process; and the request id comes back from the real server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from api.access import new_key
from bench._server import free_port
from geodata.stores import SQLiteStore
from tests.conftest import ROOT


def _get(url: str, key: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str],
                                                                             bytes]:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}",
                                               **(headers or {})})
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    """``hotspot serve --workers 2`` on a new store with an admin key, counting in a folder of
    its own; stopped at the end."""
    tmp_path = tmp_path_factory.mktemp("workers")
    store = SQLiteStore.open(tmp_path / "force.sqlite")
    key = new_key(store, name="scraper", role="admin")[0]
    store.close()
    counts = tmp_path / "prometheus"
    counts.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTSPOT_")}
    env.update(HOTSPOT_DATA_DIR=str(tmp_path), PROMETHEUS_MULTIPROC_DIR=str(counts),
               HOTSPOT_LOG_FORMAT="json", HOTSPOT_TILE_URL="none")
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-c", "from api.cli import app; app()", "serve", "--host",
             "127.0.0.1", "--port", str(port), "--database", str(tmp_path / "force.sqlite"),
             "--workers", "2", "--log-level", "info"],
            env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"hotspot serve --workers 2 did not start: {log.read_text()}")
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.3)
        yield url, key, log
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _taxonomy_requests(text: str) -> float:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if (s.name == "hotspot_requests_total" and s.labels.get("route") == "/v1/taxonomy"
                    and s.labels.get("status") == "200"):
                return float(s.value)
    return 0.0


@pytest.mark.slow
def test_every_worker_is_counted_whichever_answers_the_scrape(
        two_workers: tuple[str, str, Path]) -> None:
    url, key, log = two_workers
    folder = log.parent / "prometheus"
    before = _taxonomy_requests(_get(f"{url}/metrics", key)[2].decode())
    sent = 0
    # until both processes have answered some (each new connection goes to either)
    while sent < 400:
        for _ in range(10):
            assert _get(f"{url}/v1/taxonomy", key)[0] == 200
            sent += 1
        writers = {p.name.rsplit("_", 1)[-1] for p in folder.glob("counter_*.db")}
        if len(writers) >= 2:
            break
    assert len(writers) >= 2, "one process took every request"
    for _ in range(6):  # each scrape is answered by either process: all add up the same
        status, headers, body = _get(f"{url}/metrics", key)
        assert status == 200 and headers["content-type"].startswith("text/plain")
        assert _taxonomy_requests(body.decode()) == before + sent


@pytest.mark.slow
def test_the_served_request_id_comes_back_and_is_logged(
        two_workers: tuple[str, str, Path]) -> None:
    url, key, log = two_workers
    _status, headers, _body = _get(f"{url}/v1/taxonomy", key, {"X-Request-ID": "lb-42-abc"})
    assert headers["x-request-id"] == "lb-42-abc"  # 127.0.0.1 is a trusted proxy by default
    _status, headers, _body = _get(f"{url}/v1/taxonomy", key)
    made = headers["x-request-id"]
    time.sleep(0.5)  # the log line is written as the answer goes
    lines = [json.loads(x) for x in log.read_text().splitlines() if x.startswith("{")]
    logged = {(x["request_id"], x["route"], x["status"]) for x in lines
              if x["logger"] == "hotspot.requests"}
    assert {("lb-42-abc", "/v1/taxonomy", 200), (made, "/v1/taxonomy", 200)} <= logged
    assert key not in log.read_text()


def test_a_counts_folder_that_is_not_there_stops_the_service_at_start(tmp_path: Path) -> None:
    """``PROMETHEUS_MULTIPROC_DIR`` naming no folder: ``hotspot serve`` refuses to start,
    naming the setting and the folder (prometheus-client would otherwise fail at every request
    it counts, and ``/metrics`` with a 500)."""
    missing = tmp_path / "no-such-folder"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTSPOT_")}
    env.update(HOTSPOT_DATA_DIR=str(tmp_path), PROMETHEUS_MULTIPROC_DIR=str(missing),
               HOTSPOT_TILE_URL="none", COLUMNS="400")  # (no line break inside the path)
    done = subprocess.run(
        [sys.executable, "-c", "from api.cli import app; app()", "serve", "--host", "127.0.0.1",
         "--port", str(free_port()), "--database", str(tmp_path / "force.sqlite"),
         "--workers", "2"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "PROMETHEUS_MULTIPROC_DIR" in done.stderr and str(missing) in done.stderr
    assert "Traceback" not in done.stderr and not missing.exists()
