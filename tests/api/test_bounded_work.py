"""Bounded work through the real app on the demo: parameter floors (the attack URL is a 422
before any work), the work estimate (too many hotspots, too large a grid: 422 naming the
parameter), a heavy but legal request still served, the per-key budget of uncached analyses
(429 with Retry-After), the cache bounded in bytes, and an abandoned analysis stopped (by a
timeout through the app, by a client hanging up on a real uvicorn server)."""

from __future__ import annotations

import re
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient

from api.access import new_key
from api.app import create_app
from geodata.demo import load_demo
from geodata.stores import SQLiteStore
from tests.api.test_api import settings_for
from tests.api.test_plans_api import BODY
from tests.conftest import as_role

ATTACK = "/v1/hotspots?eps_m=1e-9&min_samples=1"
"""The request of issue 12: 70 s, a 60 MB answer, cached."""
EVERY_INCIDENT = {"eps_m": 5, "min_samples": 1}
"""Legal values that make almost every incident a hotspot: 4,547 of the test demo's 5,000."""


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory, demo_files) -> Path:
    path = tmp_path_factory.mktemp("bounded") / "demo.sqlite"
    store = SQLiteStore.open(path)
    load_demo(store, demo_files)
    store.close()
    return path


@pytest.fixture
def demo(demo_db: Path, tmp_path: Path) -> Iterator[Callable[..., TestClient]]:
    """A started TestClient on a fresh copy of the demo store, with the settings given."""
    opened: list[tuple[TestClient, SQLiteStore]] = []

    def make(role: str = "analyst", **settings: Any) -> TestClient:
        path = tmp_path / f"demo-{len(opened)}.sqlite"
        shutil.copy(demo_db, path)
        store = SQLiteStore.open(path)
        client = TestClient(create_app(settings_for(tmp_path, **settings), store=store,
                                       demo=True))
        client.__enter__()
        opened.append((client, store))
        return as_role(client, role)

    yield make
    for client, store in opened:
        client.__exit__(None, None, None)
        store.close()


def test_the_attack_url_is_422_naming_eps_m_before_any_work(demo) -> None:
    c = demo("admin")
    r = c.get(ATTACK)
    assert r.status_code == 422 and r.json()["field"] == "eps_m"
    assert "greater than or equal to 5" in r.json()["detail"]
    for path, field in (("/v1/density?bandwidth_m=1", "bandwidth_m"),
                        ("/v1/density?cell_size_m=0.5", "cell_size_m"),
                        ("/v1/hotspots?method=kde&cell_size_m=1", "cell_size_m"),
                        ("/v1/hotspots?buffer_m=5000", "buffer_m"),
                        ("/v1/hotspots?alpha=5e-324", "alpha"),  # underflowed to a 500
                        ("/v1/hotspots/map?eps_m=0.001", "eps_m")):
        r = c.get(path)
        assert r.status_code == 422 and r.json()["field"] == field, (path, r.text)
    plan = c.post("/v1/patrol-plans",
                  json={**BODY, "hotspots": {"eps_m": 1e-9, "min_samples": 1}})
    assert plan.status_code == 422 and plan.json()["field"] == "hotspots.eps_m"
    cache = c.app.state.cache
    assert cache.misses == 0 and cache.running == 0  # refused before anything ran


def test_the_floors_are_documented_in_the_openapi_document(demo) -> None:
    params = {p["name"]: p for p in
              demo().get("/openapi.json").json()["paths"]["/v1/hotspots"]["get"]["parameters"]}
    eps = params["eps_m"]
    assert eps["schema"]["anyOf"][0]["minimum"] == 5
    assert "snapped to map points" in eps["description"]
    assert params["cell_size_m"]["schema"]["anyOf"][0]["minimum"] == 5


def test_too_many_hotspots_is_422_naming_min_samples_and_the_limit(demo) -> None:
    c = demo("admin", max_hotspots=1_000)
    r = c.get("/v1/hotspots", params=EVERY_INCIDENT)
    assert r.status_code == 422, r.text[:300]
    body = r.json()
    assert body["field"] == "min_samples"
    made = re.search(r"([\d,]+) clusters, more than the limit of 1,000", body["detail"])
    assert made is not None and 1_000 < int(made.group(1).replace(",", "")) <= 5_000
    assert "HOTSPOT_MAX_HOTSPOTS" in body["detail"]
    cache = c.app.state.cache
    assert len(cache) == 0 and cache.running == 0  # nothing kept, nothing left running
    plan = c.post("/v1/patrol-plans", json={**BODY, "hotspots": EVERY_INCIDENT})
    assert plan.status_code == 422 and plan.json()["field"] == "hotspots.min_samples"


def test_kde_over_its_grid_or_hotspot_cells_is_422_naming_the_parameter(demo) -> None:
    c = demo(max_grid_cells=100_000, max_hotspot_cells=5_000)
    r = c.get("/v1/hotspots", params={"method": "kde", "bandwidth_m": 100, "cell_size_m": 5})
    assert r.status_code == 422 and r.json()["field"] == "cell_size_m"
    assert "HOTSPOT_MAX_GRID_CELLS" in r.json()["detail"]
    r = c.get("/v1/density", params={"bandwidth_m": 100, "cell_size_m": 5})
    assert r.status_code == 422 and r.json()["field"] == "cell_size_m"
    r = c.get("/v1/hotspots", params={"method": "kde", "bandwidth_m": 1000,
                                      "threshold": "percentile", "percentile": 0})
    assert r.status_code == 422 and r.json()["field"] == "percentile"
    assert "HOTSPOT_MAX_HOTSPOT_CELLS" in r.json()["detail"]
    assert c.get("/v1/hotspots", params={"method": "kde", "bandwidth_m": 1000}).status_code == 200


def test_a_heavy_but_legal_request_is_still_served(demo) -> None:
    c = demo()
    r = c.get("/v1/hotspots", params=EVERY_INCIDENT)  # 4,547 hotspots: under the 5,000
    assert r.status_code == 200, r.text[:300]
    assert len(r.json()["features"]) == 4_547
    # the floors themselves are legal
    assert c.get("/v1/hotspots", params={"eps_m": 5}).status_code == 200
    r = c.get("/v1/density", params={"bandwidth_m": 10, "cell_size_m": 5, "town": "Thornbury"})
    assert r.status_code == 200, r.text


def test_uncached_analyses_past_the_key_budget_are_429_and_cached_ones_still_served(
        demo) -> None:
    c = demo(analyses_per_minute={"analyst": 2, "admin": 2})
    assert c.get("/v1/hotspots", params={"eps_m": 150}).status_code == 200
    assert c.get("/v1/density").status_code == 200
    r = c.get("/v1/hotspots", params={"eps_m": 160})
    assert r.status_code == 429 and r.json()["error"] == "analysis_budget"
    assert int(r.headers["retry-after"]) >= 1 and "2 analyses a minute" in r.json()["detail"]
    # answers already computed cost nothing
    assert c.get("/v1/hotspots", params={"eps_m": 150}).status_code == 200
    assert c.get("/v1/density", params={"format": "png"}).status_code == 200
    other = TestClient(c.app)
    as_role(other, "analyst")  # another key has its own budget
    assert other.get("/v1/hotspots", params={"eps_m": 160}).status_code == 200
    assert c.app.state.analysis_budget.running == 0


def test_a_role_without_a_budget_runs_no_analysis(demo) -> None:
    c = demo(analyses_at_once={"admin": 1, "analyst": 1, "rural_team": 0})
    field = TestClient(c.app)
    as_role(field, "rural_team")
    r = field.get("/v1/hotspots", params={"eps_m": 170})
    assert r.status_code == 403 and "rural_team role runs no analyses" in r.json()["detail"]
    assert c.get("/v1/hotspots", params={"eps_m": 170}).status_code == 200
    assert field.get("/v1/hotspots", params={"eps_m": 170}).status_code == 200  # cached


def test_the_cache_stays_within_its_byte_budget(demo) -> None:
    budget = 2_400_000  # about six of the eight results below
    c = demo(cache_max_bytes=budget)
    cache = c.app.state.cache
    sizes = []
    for eps in (150, 200, 250, 300, 350, 400, 450, 500):  # each ~0.1 MB of GeoJSON, 0.4 MB kept
        # whole clusters (places up to 5 km wide): a few dozen hotspots each
        r = c.get("/v1/hotspots", params={"eps_m": eps, "min_samples": 3, "max_place_m": 5000})
        assert r.status_code == 200
        sizes.append(len(r.content))
        assert cache.bytes <= budget
    # each entry counts at least its GeoJSON, and the oldest went first
    assert cache.bytes >= sum(sizes[-len(cache):])
    assert cache.evictions > 0 and ("hotspots" in repr(list(cache._items)[-1]))
    not_kept = cache.not_kept
    big = c.get("/v1/hotspots", params={"eps_m": 100, "min_samples": 3})  # 690 places: 6 MB
    assert big.status_code == 200 and cache.not_kept == not_kept + 1  # over a quarter: served, not kept
    assert cache.bytes <= budget


def _until(condition: Callable[[], bool], timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def test_an_analysis_whose_request_timed_out_is_stopped_and_frees_its_thread(demo) -> None:
    # almost every incident a hotspot: seconds of work if nothing stopped it
    c = demo(request_timeout_s=0.05, analysis_grace_s=0, max_hotspots=1_000_000)
    r = c.get("/v1/hotspots", params=EVERY_INCIDENT)
    assert r.status_code == 503 and "stopped" in r.json()["detail"]
    cache, budget = c.app.state.cache, c.app.state.analysis_budget
    _until(lambda: cache.running == 0)  # its thread has returned
    assert cache.abandoned == 1 and cache.cancelled == 1
    assert len(cache) == 0 and budget.running == 0


def test_a_slow_analysis_answers_503_then_the_retry_gets_the_result(demo) -> None:
    c = demo(request_timeout_s=0.05, analysis_grace_s=600)
    params = {"eps_m": 50, "min_samples": 1}  # 2,080 hotspots: seconds of work
    r = c.get("/v1/hotspots", params=params)
    assert r.status_code == 503 and r.headers["retry-after"] == "10"
    assert "goes on" in r.json()["detail"]
    _until(lambda: (r := c.get("/v1/hotspots", params=params)).status_code == 200
           or r.status_code != 503)
    r = c.get("/v1/hotspots", params=params)
    assert r.status_code == 200 and r.json()["type"] == "FeatureCollection"
    cache = c.app.state.cache
    assert cache.misses == 1 and cache.cancelled == 0  # one computation, never stopped


def test_an_analysis_whose_client_hung_up_is_stopped(demo_db: Path, tmp_path: Path) -> None:
    path = tmp_path / "demo.sqlite"
    shutil.copy(demo_db, path)
    store = SQLiteStore.open(path)
    key = new_key(store, name="hangs up", role="analyst")[0]
    app = create_app(settings_for(tmp_path, max_hotspots=1_000_000), store=store, demo=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        _until(lambda: server.started, 30)
        cache = app.state.cache
        with socket.create_connection(("127.0.0.1", port)) as conn:
            conn.sendall(f"GET /v1/hotspots?eps_m=5&min_samples=1 HTTP/1.1\r\nHost: x\r\n"
                         f"Authorization: Bearer {key}\r\n\r\n".encode())
            _until(lambda: cache.running == 1, 30)  # the analysis is under way
        # the client has gone: nobody else waits, so it stops (the timeout is 120 s away)
        _until(lambda: cache.running == 0)
        assert cache.abandoned == 1 and cache.cancelled == 1 and len(cache) == 0
        assert app.state.analysis_budget.running == 0
    finally:
        server.should_exit = True
        thread.join(30)
        store.close()


def test_contour_bands_and_plans_are_bounded_work_too(demo) -> None:
    """Contour bands merge a square per cell (4 M cells: 40 s, 1.3 GB): over the cell limit a
    422 naming cell_size_m; a plan's routing search counts against the analysis budget."""
    c = demo(max_hotspot_cells=50_000)  # 100 m cells: 24,000 to merge; 25 m: 16 times as many
    r = c.get("/v1/density", params={"format": "geojson", "cell_size_m": 25})
    assert r.status_code == 422 and r.json()["field"] == "cell_size_m", r.text
    assert "HOTSPOT_MAX_HOTSPOT_CELLS" in r.json()["detail"]
    r = c.get("/v1/density", params={"format": "geojson", "cell_size_m": 100})
    assert r.status_code == 200, r.text
    busy = demo(analyses_at_once={"admin": 1, "analyst": 1})
    assert busy.get("/v1/hotspots").status_code == 200  # the plan's selection, cached
    budget = busy.app.state.analysis_budget
    held = budget.admit(busy.app.state.store and _principal(busy))
    try:
        r = busy.post("/v1/patrol-plans", json=BODY)
        assert r.status_code == 429 and r.json()["error"] == "analysis_budget"
    finally:
        held()
    assert busy.post("/v1/patrol-plans", json=BODY).status_code == 201


def _principal(client: TestClient) -> Any:
    """The principal of a TestClient's key."""
    from api.access import check_key

    token = client.headers["Authorization"].split(" ", 1)[1]
    return check_key(client.app.state.store, token)
