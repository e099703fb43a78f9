"""``/metrics`` (issue 18, operations): Prometheus' text format for admins only, counting
requests by route template (never a path with ids or data in it), their latencies and the
result cache's figures, as a scraper reads them."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api.access import ROLES, new_key
from api.app import create_app
from geodata.demo import load_demo
from geodata.stores import SQLiteStore
from tests.api.test_api import settings_for
from tests.api.test_jobs import wait_for


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, demo_files) -> Iterator[tuple[TestClient,
                                                                                 dict[str, str]]]:
    root: Path = tmp_path_factory.mktemp("metrics")
    store = SQLiteStore.open(root / "demo.sqlite")
    load_demo(store, demo_files)
    keys = {role: new_key(store, name=role, role=role)[0] for role in ROLES}
    with TestClient(create_app(settings_for(root), store=store, demo=True)) as c:
        yield c, {role: f"Bearer {k}" for role, k in keys.items()}
    store.close()


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_only_admins_read_the_metrics(served) -> None:
    c, keys = served
    assert c.get("/metrics").status_code == 401
    for role in ("analyst", "rural_team", "partner"):
        assert c.get("/metrics", headers={"Authorization": keys[role]}).status_code == 403
    r = c.get("/metrics", headers={"Authorization": keys["admin"]})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")


def test_requests_are_counted_by_route_template_and_status(served) -> None:
    c, keys = served
    admin = {"Authorization": keys["admin"]}
    before = _samples(c.get("/metrics", headers=admin).text)
    for _ in range(3):
        c.get("/hotspots/no-such-hotspot-7", headers=admin)  # a route with an id in its path
        c.get("/no/such/page/42", headers=admin)  # a path that matches no route
        c.get("/static/maps/no-such-file-42.js", headers=admin)  # under the app's own mount
        assert c.get("/v1/taxonomy", headers=admin).status_code == 200
    assert c.get("/v1/hotspots", params={"from": "2024-06", "to": "2024-06"},
                 headers=admin).status_code == 200
    assert c.get("/v1/hotspots", params={"from": "2024-06", "to": "2024-06"},
                 headers=admin).status_code == 200  # the second from the cache
    text = c.get("/metrics", headers=admin).text
    after = _samples(text)
    key = ("hotspot_requests_total", (("method", "GET"), ("route", "/v1/taxonomy"),
                                      ("status", "200")))
    assert after[key] - before.get(key, 0.0) == 3
    hist = ("hotspot_request_duration_seconds_count", (("method", "GET"),
                                                        ("route", "/v1/hotspots")))
    assert after[hist] - before.get(hist, 0.0) == 2
    assert after[("hotspot_cache_hits_total", ())] > before.get(("hotspot_cache_hits_total", ()),
                                                                  0.0)
    assert after[("hotspot_cache_entries", ())] >= 1
    # no path with an id or data in it is ever a label: only templates and first segments
    routes = {dict(labels)["route"] for (name, labels) in after
              if name == "hotspot_requests_total"}
    assert "/hotspots/{hotspot_id}" in routes and "/(unmatched)" in routes
    assert "/static/maps" in routes  # the mount's own path
    assert not [r for r in routes if "no-such" in r or "42" in r or r.startswith("/no")]
    assert "Bearer" not in text and "hsk_" not in text


def test_made_up_paths_add_no_series(served) -> None:
    """Anyone may ask for any path: those that match no route, whatever their first segment,
    are counted under one label, so the metrics (and the memory behind them) do not grow with
    what callers make up, and no text of theirs is shown to the admins scraping them."""
    c, keys = served
    admin = {"Authorization": keys["admin"]}
    c.get("/metrics", headers=admin)  # the scrape's own series, there before the count
    before = _samples(c.get("/metrics", headers=admin).text)
    for i in range(40):
        assert c.get(f"/victim-at-{i}-High-Street/x").status_code == 404  # no key at all
    text = c.get("/metrics", headers=admin).text
    after = _samples(text)
    grew = {k for k in after if k not in before}
    assert not [k for k in grew if dict(k[1]).get("route", "/(unmatched)") != "/(unmatched)"]
    key = ("hotspot_requests_total", (("method", "GET"), ("route", "/(unmatched)"),
                                      ("status", "404")))
    assert after[key] - before.get(key, 0.0) == 40
    assert "victim" not in text and "High-Street" not in text


def test_analyses_are_timed_by_kind_and_method_once_computed(served) -> None:
    """An analysis computed is timed once, by kind and method; a cached answer adds nothing."""
    c, keys = served
    admin = {"Authorization": keys["admin"]}
    before = _samples(c.get("/metrics", headers=admin).text)
    for method in ("kde", "dbscan", "kde"):  # the second kde from the cache
        r = c.get("/v1/hotspots", params={"from": "2024-03", "to": "2024-04", "method": method},
                  headers=admin)
        assert r.status_code == 200, r.text
    r = c.get("/v1/density", params={"from": "2024-03", "to": "2024-04"}, headers=admin)
    assert r.status_code == 200, r.text
    after = _samples(c.get("/metrics", headers=admin).text)

    def runs(kind: str, method: str) -> float:
        key = ("hotspot_analysis_duration_seconds_count",
               (("kind", kind), ("method", method), ("outcome", "ok")))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert runs("hotspots", "kde") == 1 and runs("hotspots", "dbscan") == 1
    assert runs("density", "kde") == 1  # the density surface is always KDE
    total = ("hotspot_analysis_duration_seconds_sum",
             (("kind", "hotspots"), ("method", "kde"), ("outcome", "ok")))
    assert after[total] - before.get(total, 0.0) > 0
    kinds = {dict(labels)["kind"] for (name, labels) in after
             if name == "hotspot_analysis_duration_seconds_count"}
    assert kinds <= {"hotspots", "density", "bands", "near-repeat", "asb-persistent",
                     "cross-border", "job-backtest", "job-report", "job-report_pdf",
                     "job-cross_border"}


def test_jobs_the_process_runs_are_timed_as_analyses(served) -> None:
    """Without Redis the service runs its jobs itself: each is timed, by kind and outcome."""
    c, keys = served
    admin = {"Authorization": keys["admin"]}
    before = _samples(c.get("/metrics", headers=admin).text)
    started = c.post("/v1/cross-border", params={"method": "kde", "from": "2024-01",
                                                 "to": "2024-02"}, headers=admin)
    assert started.status_code == 202, started.text
    job = wait_for(c, started.headers["location"], admin)
    assert job["status"] == "finished", job
    after = _samples(c.get("/metrics", headers=admin).text)
    key = ("hotspot_analysis_duration_seconds_count",
           (("kind", "job-cross_border"), ("method", "-"), ("outcome", "ok")))
    assert after.get(key, 0.0) - before.get(key, 0.0) == 1


def test_the_jobs_waiting_and_running_are_gauges_read_when_scraped(served, monkeypatch) -> None:
    """Without Redis: one job runs (held by the test), the next of the same key waits behind
    it (one job thread); a scrape reads 1 and 1, and 0 and 0 once both have ended. No worker
    count: the process is its own worker."""
    from api.services import job_work
    from api.services.jobs import JobContext, JobResult, Progress

    c, keys = served
    admin = {"Authorization": keys["admin"]}
    began, release = threading.Event(), threading.Event()

    def held(ctx: JobContext, params: dict[str, Any], progress: Progress) -> JobResult:
        began.set()
        assert release.wait(120)
        return JobResult(document={"held": params["n"]})

    monkeypatch.setitem(job_work.KINDS, "held", held)
    jobs = c.app.state.jobs
    ids = [jobs.submit("held", {"n": n}, owner="metrics-test").id for n in (1, 2)]
    try:
        assert began.wait(60)
        now = _samples(c.get("/metrics", headers=admin).text)
        assert now[("hotspot_jobs_running", ())] == 1 and now[("hotspot_jobs_queued", ())] == 1
        assert not any(name == "hotspot_job_workers" for name, _ in now)
    finally:
        release.set()
    deadline = time.monotonic() + 120
    while any(jobs.state(i).status in ("queued", "running") for i in ids):
        assert time.monotonic() < deadline, [jobs.state(i) for i in ids]
        time.sleep(0.05)
    after = _samples(c.get("/metrics", headers=admin).text)
    assert after[("hotspot_jobs_running", ())] == 0 and after[("hotspot_jobs_queued", ())] == 0


def test_uploaded_rows_are_counted_by_kind_format_and_outcome(tmp_path: Path) -> None:
    """Rows of files loaded through POST /v1/incidents: accepted, duplicate and rejected."""
    store = SQLiteStore.open(tmp_path / "force.sqlite")
    admin = new_key(store, name="admin", role="admin")[0]
    rows = [{"id": f"sys-{i}", "occurred_at": "2024-03-06T02:00:00", "crime_type": "Fuel theft",
             "easting": 497000 + i, "northing": 371000} for i in range(3)]
    rows.append({"id": "sys-x", "occurred_at": "2024-03-06T02:00:00",
                 "crime_type": "Fuel theft"})  # no coordinates: rejected
    with TestClient(create_app(settings_for(tmp_path), store=store)) as c:
        c.headers["Authorization"] = f"Bearer {admin}"
        first = c.post("/v1/incidents", json=rows, params={"source": "ANY name 42.json"})
        again = c.post("/v1/incidents", json=rows)
        text = c.get("/metrics").text
    store.close()
    assert first.status_code == 201 and again.status_code == 200
    fmt = first.json()["format"]
    counted = {dict(labels)["outcome"]: value for (name, labels), value in _samples(text).items()
               if name == "hotspot_ingest_rows_total"
               and dict(labels)["kind"] == "incidents" and dict(labels)["format"] == fmt}
    assert counted == {"accepted": 3, "duplicate": 3, "rejected": 2}
    assert "ANY name" not in text and "sys-" not in text  # no file name, no row


def test_labels_from_data_stay_a_small_set() -> None:
    from api.metrics import label

    assert label("police.uk") == "police.uk" and label("DBSCAN") == "dbscan"
    assert label(None) == "-"
    assert label("a b") == label("x" * 41) == label("../etc") == label('"}') == "other"


def test_the_metrics_port_serves_the_loopback_without_a_key(tmp_path: Path) -> None:
    """HOTSPOT_METRICS_PORT: /metrics on 127.0.0.1 without a key while the app runs; nothing
    else there, and closed when it stops; a port already taken is left alone."""
    import socket
    import urllib.error
    import urllib.request

    from bench._server import free_port

    port = free_port()
    app = create_app(settings_for(tmp_path, metrics_port=port))
    with TestClient(app) as c:
        c.get("/health")
        served = app.state.metrics_port
        assert served is not None and served._server.server_address[0] == "127.0.0.1"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
            text = r.read().decode()
            assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain")
        assert _samples(text)[("hotspot_requests_total", (("method", "GET"), ("route", "/health"),
                                                          ("status", "200")))] == 1
        with pytest.raises(urllib.error.HTTPError) as other:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/taxonomy", timeout=10)
        assert other.value.code == 404
        second = create_app(settings_for(tmp_path / "b", metrics_port=port))
        with TestClient(second):  # the port is taken: it starts all the same
            assert getattr(second.state, "metrics_port", None) is None
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port),
                                                                          timeout=2):
        pass
