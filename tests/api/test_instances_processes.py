"""Several instances as real processes (slow: each imports the whole service): two uvicorn
servers of ``api.cli.serve:worker_app`` (what ``hotspot serve --workers N`` runs in each
worker) on their own ports, one PostGIS store, one Redis; and ``hotspot serve --workers 2``
itself."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from api.access import new_key
from bench._server import free_port
from geodata.stores import open_store
from tests.api.test_instances import QUERY, REDIS_URL, keys_of, prefix, store_url  # noqa: F401
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

STARTUP_S = 300.0
"""Longest a server may take to answer /health (two cores shared by the whole suite)."""


def wait_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Return when ``url``/health answers; fail with the server's output when it died."""
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server stopped ({process.returncode}): "
                                 f"{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer in {STARTUP_S:g} s: {log.read_text()[-3000:]}")


@contextmanager
def server(command: list[str], env: dict[str, str], port: int, log: Path, *,
           wait: bool = True) -> Iterator[tuple[str, subprocess.Popen[bytes], Path]]:
    """A server process started with ``command``, its output in ``log`` (stopped after);
    yields its URL, the process and the log (once it answers, unless ``wait`` is false)."""
    with log.open("wb") as out:
        process = subprocess.Popen(command, env={**os.environ, **env}, cwd=ROOT, stdout=out,
                                   stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        if wait:
            wait_up(url, process, log)
        yield url, process, log
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a server this test started (SIGTERM, then SIGKILL after 20 s)."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def instance_env(tmp_path: Path, url: str, key_prefix: str | None) -> dict[str, str]:
    """A server's environment: the store, Redis under ``key_prefix`` (None: no Redis)."""
    env = {"HOTSPOT_DATABASE_URL": url, "HOTSPOT_DATA_DIR": str(tmp_path),
           "HOTSPOT_SERVE_DEMO": "0", "HOTSPOT_LOG_LEVEL": "WARNING"}
    if key_prefix:
        env |= {"HOTSPOT_REDIS_URL": REDIS_URL, "HOTSPOT_REDIS_PREFIX": key_prefix}
    return env


@contextmanager
def instances(tmp_path: Path, url: str, key_prefix: str, n: int = 2) -> Iterator[list[str]]:
    """``n`` uvicorn servers of ``worker_app``, each on a port of its own, started together;
    yields their URLs."""
    with ExitStack() as stack:
        started = []
        for _ in range(n):
            port = free_port()
            command = [sys.executable, "-m", "uvicorn", "api.cli.serve:worker_app", "--factory",
                       "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
            log = tmp_path / f"instance-{port}.log"
            started.append(stack.enter_context(
                server(command, instance_env(tmp_path, url, key_prefix), port, log, wait=False)))
        for base, process, log in started:
            wait_up(base, process, log)
        yield [base for base, _process, _log in started]


def admin_key(url: str) -> str:
    store = open_store(url)
    try:
        token, _record = new_key(store, name="test admin", role="admin")
    finally:
        store.close()
    return token


def metric(text: str, name: str) -> float:
    """One sample of a Prometheus text exposition."""
    found = re.search(rf"^{name} ([0-9.e+-]+)$", text, re.MULTILINE)
    assert found, f"{name} not in the metrics"
    return float(found.group(1))


def test_two_processes_share_results_and_compute_concurrent_requests_once(
        tmp_path: Path, store_url: str, prefix: str):  # noqa: F811
    headers = {"Authorization": f"Bearer {admin_key(store_url)}"}
    with instances(tmp_path, store_url, prefix) as (a, b):
        http = httpx.Client(headers=headers, timeout=120)
        computed: Callable[[str], float] = lambda base: metric(  # noqa: E731
            http.get(f"{base}/metrics").text, "hotspot_cache_computed_total")
        first = http.get(f"{a}{QUERY}")
        assert first.status_code == 200, first.text
        second = http.get(f"{b}{QUERY}")
        assert second.status_code == 200 and second.content == first.content
        assert (computed(a), computed(b)) == (1, 0)
        # concurrent identical requests, one to each: one computation between them
        query = "/v1/hotspots?method=kde&from=2023-01&to=2023-12&cell_size_m=25"
        start = threading.Barrier(2)
        answers: dict[str, httpx.Response] = {}

        def ask(base: str) -> None:
            start.wait()
            answers[base] = http.get(f"{base}{query}")

        threads = [threading.Thread(target=ask, args=(base,)) for base in (a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert answers[a].status_code == answers[b].status_code == 200
        assert answers[a].content == answers[b].content
        assert computed(a) + computed(b) == 2
        http.close()


def test_serve_with_workers_and_no_redis_warns_that_nothing_is_shared(
        tmp_path: Path, store_url: str):  # noqa: F811
    env = instance_env(tmp_path, store_url, None)
    env.pop("HOTSPOT_DATABASE_URL")
    command = [sys.executable, "-m", "api.cli", "serve", "--workers", "2", "--port",
               str(free_port()), "--database", store_url, "--log-level", "warning"]
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, env={**os.environ, **env}, cwd=ROOT, stdout=out,
                                   stderr=subprocess.STDOUT)
    try:  # said before the workers start; waits for the warning itself, which follows the
        # "2 worker processes" line on the other stream (stopping at that line raced it)
        deadline = time.monotonic() + STARTUP_S
        while "without HOTSPOT_REDIS_URL" not in log.read_text() and process.poll() is None \
                and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        stop(process)
    said = " ".join(log.read_text().split())
    assert "2 worker processes without HOTSPOT_REDIS_URL: each keeps its own result cache" \
        in said, said


def test_serve_with_workers_shares_through_redis(tmp_path: Path, store_url: str,  # noqa: F811
                                                 prefix: str, keys_of: Any):  # noqa: F811
    env = instance_env(tmp_path, store_url, prefix)
    port = free_port()
    command = [sys.executable, "-m", "api.cli", "serve", "--workers", "2", "--port",
               str(port), "--log-level", "warning"]
    headers = {"Authorization": f"Bearer {admin_key(store_url)}"}
    log = tmp_path / "serve.log"
    with server(command, env, port, log) as (base, _process, _log):
        before = set(keys_of("rate:*"))  # the address that asked /health
        who = httpx.get(f"{base}/v1/whoami", headers=headers, timeout=60)
        assert who.status_code == 200
        # the worker counted the key's request in Redis: a bucket of its own
        assert len(set(keys_of("rate:requests:*")) - before) == 1
    assert "without HOTSPOT_REDIS_URL" not in log.read_text()
