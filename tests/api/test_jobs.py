"""Jobs in the process (no Redis, the embedded default) through the real HTTP app on the demo
store: a backtest, a priority report, its PDF and a cross-border analysis start as jobs (202,
Location), their status goes to finished with the result the synchronous request gives; only
the key that started a job (and admins) sees it; a failing job says why in plain words; a key
has at most HOTSPOT_JOBS_PER_KEY jobs queued or running."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.access import new_key
from api.app import create_app
from api.services import job_work
from api.services.backtests import BacktestSpec, run_backtest
from api.services.jobs import JobContext, JobResult, Progress
from api.services.selection import Selection
from geodata.demo import load_demo
from geodata.stores import SQLiteStore
from tests.api.test_api import settings_for

CROSS = {"method": "kde", "from": "2024-01", "to": "2024-06"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory,
           demo_files: Any) -> Iterator[tuple[TestClient, dict[str, dict[str, str]]]]:
    root = tmp_path_factory.mktemp("jobs")
    store = SQLiteStore.open(root / "demo.sqlite")
    load_demo(store, demo_files)
    with TestClient(create_app(settings_for(root), store=store, demo=True)) as client:
        keys = {}
        for name, role in (("a", "analyst"), ("b", "analyst"), ("admin", "admin"),
                           ("field", "rural_team")):
            token, _ = new_key(store, name=f"jobs {name}", role=role)
            keys[name] = {"Authorization": f"Bearer {token}"}
        yield client, keys
    store.close()


def wait_for(client: TestClient, location: str, headers: dict[str, str]) -> dict[str, Any]:
    """Poll a job's status until it has finished or failed; every status seen is well formed."""
    deadline = time.monotonic() + 600
    seen = []
    while True:
        r = client.get(location, headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["status"] in ("queued", "running", "finished", "failed")
        assert 0.0 <= body["progress"] <= 1.0 and isinstance(body["stage"], str)
        seen.append(body["progress"])
        if body["status"] in ("finished", "failed"):
            assert "retry-after" not in r.headers
            assert seen == sorted(seen)  # progress never goes back
            return body
        assert r.headers["retry-after"]
        assert time.monotonic() < deadline, body
        time.sleep(0.2)


def started(r: Any) -> str:
    """The status URL of a job just started (202, Location)."""
    assert r.status_code == 202, r.text
    location = r.headers["location"]
    assert location.startswith("/v1/jobs/") and location in r.json()["links"].values()
    assert len(location.rsplit("/", 1)[1]) >= 22  # 128 random bits
    return location


def test_a_backtest_starts_as_a_job_whose_result_is_the_stored_backtest(served) -> None:
    client, keys = served
    r = client.get("/v1/backtest", params={"priority": "rural"}, headers=keys["a"])
    location = started(r)
    assert r.json()["status"] == "started" and r.headers["retry-after"]
    again = client.get("/v1/backtest", params={"priority": "rural"}, headers=keys["a"])
    if again.status_code == 202:  # the same job, still running: not a second one
        assert again.headers["location"] == location and again.json()["status"] == "running"
    job = wait_for(client, location, keys["a"])
    assert job["status"] == "finished" and job["progress"] == 1.0 and job["kind"] == "backtest"
    assert job["parameters"]["priority"] == "rural"
    stored = client.get("/v1/backtest", params={"priority": "rural"}, headers=keys["a"])
    assert stored.status_code == 200
    assert stored.json() == {"status": "stored", **job["result"]}
    # the synchronous result: the same backtest run here reuses the stored one, unchanged
    store = client.app.state.store
    spec = BacktestSpec.of(Selection(priority="rural"), client.app.state.taxonomy)
    document, reused = run_backtest(store, spec)
    assert reused and document == job["result"]


def test_a_job_is_seen_only_by_its_key_and_admins(served) -> None:
    client, keys = served
    location = started(client.post("/v1/backtest", params={"priority": "asb"},
                                   headers=keys["a"]))
    job = wait_for(client, location, keys["a"])
    assert job["status"] == "finished"
    for who in ("b", "field"):
        r = client.get(location, headers=keys[who])
        assert r.status_code == 404 and r.json()["field"] == "job_id"
        assert client.get(location + "/result", headers=keys[who]).status_code == 404
        assert job["id"] not in [j["id"] for j in client.get("/v1/jobs",
                                                               headers=keys[who]).json()]
    assert client.get(location, headers=keys["admin"]).json()["result"] == job["result"]
    assert job["id"] in [j["id"] for j in client.get("/v1/jobs", headers=keys["a"]).json()]
    assert client.get("/v1/jobs/not-a-job", headers=keys["admin"]).status_code == 404
    partner, _ = new_key(client.app.state.store, name="jobs partner", role="partner")
    assert client.get(location, headers={"Authorization": f"Bearer {partner}"}
                      ).status_code == 403
    assert client.get(location).status_code == 401


def _without_times(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k not in ("report_id", "created_at")}


def test_a_report_made_as_a_job_is_the_report_made_at_once(served) -> None:
    client, keys = served
    r = client.post("/v1/reports", json={"period": "2024-06"},
                    headers={**keys["a"], "Prefer": "respond-async"})
    job = wait_for(client, started(r), keys["a"])
    assert job["status"] == "finished", job
    listing = job["result"]
    rid = listing["report_id"]
    assert job["links"]["location"] == f"/v1/reports/{rid}" == listing["links"]["self"]
    made = client.get(f"/v1/reports/{rid}", headers=keys["a"]).json()
    now = client.post("/v1/reports", json={"period": "2024-06"}, headers=keys["a"])
    assert now.status_code == 201
    at_once = client.get(now.headers["location"], headers=keys["a"]).json()
    assert _without_times(made) == _without_times(at_once)
    assert made["created_by"] == "jobs a"
    assert _without_times(listing) | {"links": None} == \
        _without_times(now.json()) | {"links": None}

    if not Path(client.app.state.settings.chromium).exists():
        return
    pdf = wait_for(client, started(client.post(f"/v1/reports/{rid}/pdf", headers=keys["a"])),
                   keys["a"])
    assert pdf["status"] == "finished", pdf
    got = client.get(pdf["links"]["result"], headers=keys["a"])
    assert got.status_code == 200 and got.headers["content-type"] == "application/pdf"
    assert got.content.startswith(b"%PDF") and len(got.content) == pdf["result"]["bytes"]
    assert "attachment" in got.headers["content-disposition"]


def test_a_failing_job_says_why_in_plain_words(served) -> None:
    client, keys = served
    r = client.post("/v1/reports", json={"period": "2019-01"},
                    headers={**keys["a"], "Prefer": "respond-async"})
    job = wait_for(client, started(r), keys["a"])
    assert job["status"] == "failed" and "result" not in job
    error = job["error"]
    assert error["status"] == 422 and error["field"] == "period"
    assert "January 2019" in error["detail"] or "2019-01" in error["detail"]
    assert "Traceback" not in json.dumps(job) and 'File "' not in json.dumps(job)
    assert client.get(job["links"]["self"] + "/result", headers=keys["a"]).status_code == 409
    # bad input is refused at once, naming the field, not made into a failed job
    bad = client.post("/v1/reports", json={"period": "June"},
                      headers={**keys["a"], "Prefer": "respond-async"})
    assert bad.status_code == 422 and bad.json()["field"] == "period"
    assert client.post("/v1/reports/0123456789abcdef/pdf", headers=keys["a"]).status_code == 404


def test_a_job_that_fails_on_a_fault_says_so_without_the_details(served, monkeypatch) -> None:
    client, keys = served

    def broken(ctx: JobContext, params: dict[str, Any], progress: Progress) -> JobResult:
        raise RuntimeError("secret internals at /srv/x.py line 3")

    monkeypatch.setitem(job_work.KINDS, "backtest", broken)
    r = client.post("/v1/backtest", params={"priority": "theft_burglary_robbery"},
                    headers=keys["b"])
    job = wait_for(client, started(r), keys["b"])
    assert job["status"] == "failed" and job["error"]["status"] == 500
    assert "internal error" in job["error"]["detail"] and "secret" not in json.dumps(job)


def test_a_cross_border_job_gives_the_cross_border_answer(served) -> None:
    client, keys = served
    job = wait_for(client, started(client.post("/v1/cross-border", params=CROSS,
                                               headers=keys["a"])), keys["a"])
    assert job["status"] == "finished", job
    got = client.get(job["links"]["result"], headers=keys["a"])
    assert got.status_code == 200 and got.headers["content-type"] == "application/geo+json"
    at_once = client.get("/v1/cross-border", params=CROSS, headers=keys["a"])
    assert at_once.status_code == 200
    a, b = got.json(), at_once.json()
    assert a["features"] and job["result"]["hotspots"] == len(a["features"])
    a["metadata"].pop("generated_at"), b["metadata"].pop("generated_at")
    assert a == b
    bad = client.post("/v1/cross-border", params={**CROSS, "method": "auto"}, headers=keys["a"])
    assert bad.status_code == 422 and bad.json()["field"] == "method"
    for params, field in (({**CROSS, "category": "no-such-category"}, "category"),
                          ({**CROSS, "priority": "no-such-priority"}, "priority")):
        bad = client.post("/v1/cross-border", params=params, headers=keys["a"])
        assert bad.status_code == 422 and bad.json()["field"] == field, bad.text  # not a job
    assert client.post("/v1/cross-border", params=CROSS, headers=keys["field"]
                       ).status_code == 403


def test_a_key_has_at_most_its_share_of_jobs_queued(served, monkeypatch) -> None:
    client, keys = served
    jobs = client.app.state.jobs
    release = threading.Event()

    def waiting(ctx: JobContext, params: dict[str, Any], progress: Progress) -> JobResult:
        progress(0.5, "waiting for the test")
        release.wait(60)
        return JobResult(document={"waited": True})

    monkeypatch.setitem(job_work.KINDS, "wait", waiting)
    monkeypatch.setattr(jobs, "limit", 2)
    owner = client.get("/v1/whoami", headers=keys["b"]).json()["key_id"]
    try:
        first = jobs.submit("wait", {}, owner=owner)
        jobs.submit("wait", {}, owner=owner)
        r = client.post("/v1/backtest", params={"priority": "rural"}, headers=keys["b"])
        assert r.status_code == 429 and r.headers["retry-after"]
        assert "jobs queued or running" in r.json()["detail"]
        # another key is not held back by this one's
        assert client.post("/v1/backtest", params={"priority": "rural"},
                           headers=keys["a"]).status_code == 202
    finally:
        release.set()
    assert wait_for(client, f"/v1/jobs/{first.id}", keys["b"])["result"] == {"waited": True}


def test_jobs_count_in_the_keys_analyses_a_minute(tmp_path: Path, demo_files: Any) -> None:
    """A report, a report's PDF or a cross-border analysis started as a job counts in the key's
    analyses a minute as the synchronous request does (429 past them, nothing queued): a key
    cannot make more of them by asking for jobs. The job queue's own limits stay as they are."""
    store = SQLiteStore.open(tmp_path / "demo.sqlite")
    load_demo(store, demo_files)
    settings = settings_for(tmp_path, analyses_per_minute={"admin": 60, "analyst": 2,
                                                           "rural_team": 2, "partner": 0})
    with TestClient(create_app(settings, store=store, demo=True)) as client:
        token, _ = new_key(store, name="counted", role="analyst")
        key = {"Authorization": f"Bearer {token}"}
        report = {**key, "Prefer": "respond-async"}
        starts = [lambda: client.post("/v1/reports", json={"period": "2024-06"}, headers=report),
                  lambda: client.post("/v1/cross-border", params=CROSS, headers=key),
                  lambda: client.post("/v1/reports", json={"period": "2024-05"}, headers=report)]
        answers = [start() for start in starts]
        assert [r.status_code for r in answers] == [202, 202, 429], [r.text for r in answers]
        assert "analyses a minute" in answers[2].json()["detail"]
        assert len(client.get("/v1/jobs", headers=key).json()) == 2
        for r in answers[:2]:  # done before the app stops
            assert wait_for(client, started(r), key)["status"] in ("finished", "failed")
    store.close()


def test_a_queued_job_can_be_cancelled_and_then_does_not_run(served, monkeypatch) -> None:
    """DELETE /v1/jobs/{id}: a queued job is cancelled (failed, "cancelled"), never runs and no
    longer counts in the key's jobs; a running one is 409; another key's is 404."""
    client, keys = served
    jobs = client.app.state.jobs
    release, ran = threading.Event(), []

    def waiting(ctx: JobContext, params: dict[str, Any], progress: Progress) -> JobResult:
        ran.append(params["n"])
        progress(0.5, "waiting for the test")
        release.wait(60)
        return JobResult(document={"waited": params["n"]})

    monkeypatch.setitem(job_work.KINDS, "wait", waiting)
    monkeypatch.setattr(jobs, "limit", 2)
    owner = client.get("/v1/whoami", headers=keys["b"]).json()["key_id"]
    try:
        running = jobs.submit("wait", {"n": 1}, owner=owner)
        queued = jobs.submit("wait", {"n": 2}, owner=owner)  # behind it: one at a time
        deadline = time.monotonic() + 30
        while jobs.state(running.id).status != "running":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert client.delete(f"/v1/jobs/{queued.id}", headers=keys["a"]).status_code == 404
        busy = client.delete(f"/v1/jobs/{running.id}", headers=keys["b"])
        assert busy.status_code == 409 and "only a queued job" in busy.json()["detail"]
        r = client.delete(f"/v1/jobs/{queued.id}", headers=keys["b"])
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["status"] == "failed" and body["error"]["error"] == "cancelled"
        assert client.get(f"/v1/jobs/{queued.id}", headers=keys["b"]).json() == body
        again = client.delete(f"/v1/jobs/{queued.id}", headers=keys["b"])
        assert again.status_code == 409
        # asked for again by name (a backtest's de-duplication), a cancelled job starts anew
        named = jobs.submit("wait", {"n": 3}, owner=owner, dedupe="the same")
        admin = client.delete(f"/v1/jobs/{named.id}", headers=keys["admin"])  # anyone's
        assert admin.status_code == 200 and "an admin" in admin.json()["error"]["detail"]
        anew = jobs.submit("wait", {"n": 4}, owner=owner, dedupe="the same")
        assert anew.id != named.id and anew.status == "queued"
        assert client.delete(f"/v1/jobs/{anew.id}", headers=keys["b"]).status_code == 200
        # none of them counts now: the key may start another beside the running one
        assert client.post("/v1/backtest", params={"priority": "rural"},
                           headers=keys["b"]).status_code == 202
    finally:
        release.set()
    assert wait_for(client, f"/v1/jobs/{running.id}", keys["b"])["result"] == {"waited": 1}
    time.sleep(0.2)
    assert ran == [1]  # the cancelled ones never ran
