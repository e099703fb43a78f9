"""Jobs on RQ over a real Redis (HOTSPOT_TEST_REDIS_URL, default redis://127.0.0.1:6379/0),
each test under its own key prefix (deleted after): the real HTTP app puts the job on the queue
and answers 202 with Location; a real worker (``hotspot worker --burst`` in a process of its
own, or RQ's SimpleWorker in a thread) runs it on the same store (the embedded one, and
PostGIS); the status reaches finished with the result the synchronous request gives; another
key gets 404; a failing job says why in plain words."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from api.access import new_key
from api.app import create_app
from api.services.jobs import RedisJobs, jobs_secret, purge_jobs, worker_for
from bench._server import free_port
from geodata.demo import load_demo
from geodata.stores import SQLiteStore, Store
from tests.api.test_api import settings_for
from tests.api.test_jobs import CROSS, started, wait_for
from tests.conftest import ROOT, make_store
from tests.waits import line_within

REDIS_URL = os.environ.get("HOTSPOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

Served = tuple[TestClient, dict[str, dict[str, str]], Callable[[], None]]


def _serve(store: Store, root: Path) -> Iterator[Served]:
    """The app on ``store`` with Redis under a new prefix, the keys of two analysts and an
    admin, and a function running the queued jobs in an RQ worker thread (burst)."""
    settings = settings_for(root, redis_url=REDIS_URL,
                            redis_prefix=f"t{uuid.uuid4().hex[:8]}:")
    with TestClient(create_app(settings, store=store, demo=True)) as client:
        jobs = client.app.state.jobs
        assert isinstance(jobs, RedisJobs)
        keys = {}
        for name, role in (("a", "analyst"), ("b", "analyst"), ("admin", "admin")):
            token, _ = new_key(store, name=f"jobs {name}", role=role)
            keys[name] = {"Authorization": f"Bearer {token}"}

        def work() -> None:
            worker = worker_for(settings, store=store, in_thread=True)
            thread = threading.Thread(target=worker.work, kwargs={"burst": True})
            thread.start()
            thread.join(600)

        try:
            yield client, keys, work
        finally:
            redis = jobs.connection
            ids = [j.id for j in jobs.owned(None, limit=1000)]
            jobs.purge()  # the queue, its registries, the jobs and their results
            assert ids and not any(redis.exists(f"rq:job:{i}") for i in ids)
            rest = list(redis.scan_iter(match=f"{settings.redis_prefix}*"))  # the cache's, ...
            if rest:
                redis.delete(*rest)
            assert list(redis.scan_iter(match=f"*{settings.redis_prefix}*")) == []


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, demo_files: Any) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("jobs-redis")
    store = SQLiteStore.open(root / "demo.sqlite")
    load_demo(store, demo_files)
    yield from _serve(store, root)
    store.close()


def test_a_backtest_job_runs_on_the_worker_and_gives_the_stored_backtest(served) -> None:
    client, keys, work = served
    r = client.get("/v1/backtest", params={"priority": "rural"}, headers=keys["a"])
    location = started(r)
    queued = client.get(location, headers=keys["a"]).json()
    assert queued["status"] == "queued" and "hotspot worker" in queued["stage"]  # no worker yet
    assert client.get(location, headers=keys["b"]).status_code == 404
    work()
    job = wait_for(client, location, keys["a"])
    assert job["status"] == "finished" and job["progress"] == 1.0, job
    stored = client.get("/v1/backtest", params={"priority": "rural"}, headers=keys["a"])
    assert stored.status_code == 200 and stored.json() == {"status": "stored", **job["result"]}
    assert client.get(location, headers=keys["b"]).status_code == 404
    assert client.get(location + "/result", headers=keys["b"]).status_code == 404
    assert client.get(location, headers=keys["admin"]).json()["result"] == job["result"]
    assert [j["id"] for j in client.get("/v1/jobs", headers=keys["a"]).json()] == [job["id"]]
    assert client.get("/v1/jobs", headers=keys["b"]).json() == []


def test_a_running_jobs_progress_is_read_from_any_instance(served, monkeypatch) -> None:
    """A job on the worker reports its progress part-way; the key that started it reads it
    (and then its result) from the instance it asked and from another serving the same
    Redis and store."""
    from api.services import job_work
    from api.services.jobs import JobContext, JobResult, Progress

    client, keys, work = served
    half_way, release = threading.Event(), threading.Event()

    def waiting(ctx: JobContext, params: dict[str, Any], progress: Progress) -> JobResult:
        progress(0.5, "half way: waiting for the test")
        half_way.set()
        assert release.wait(120)
        return JobResult(document={"waited": params["n"]})

    monkeypatch.setitem(job_work.KINDS, "wait", waiting)
    owner = client.get("/v1/whoami", headers=keys["a"]).json()["key_id"]
    job = client.app.state.jobs.submit("wait", {"n": 7}, owner=owner)
    location = f"/v1/jobs/{job.id}"
    app = client.app
    other = TestClient(create_app(app.state.settings, store=app.state.store))
    worker = threading.Thread(target=work)
    worker.start()
    try:
        with other:
            assert half_way.wait(120)
            for instance in (client, other):
                running = instance.get(location, headers=keys["a"]).json()
                assert running["status"] == "running" and running["progress"] == 0.5, running
                assert running["stage"] == "half way: waiting for the test"
                assert instance.get(location, headers=keys["b"]).status_code == 404
                # /metrics of either instance: the job running, on the one worker there is
                gauges = _metrics(instance.get("/metrics", headers=keys["admin"]).text)
                assert gauges[("hotspot_jobs_running", ())] == 1
                assert gauges[("hotspot_job_workers", ())] == 1
            release.set()
            worker.join(120)
            done = wait_for(other, location, keys["a"])
            assert done["status"] == "finished" and done["result"] == {"waited": 7}
            assert wait_for(client, location, keys["a"]) == done
    finally:
        release.set()
        worker.join(120)


def test_a_failing_job_on_the_worker_says_why_in_plain_words(served) -> None:
    client, keys, work = served
    r = client.post("/v1/reports", json={"period": "2019-01"},
                    headers={**keys["b"], "Prefer": "respond-async"})
    location = started(r)
    work()
    job = wait_for(client, location, keys["b"])
    assert job["status"] == "failed", job
    assert job["error"]["status"] == 422 and job["error"]["field"] == "period"
    assert "2019" in job["error"]["detail"]
    assert "Traceback" not in json.dumps(job)
    assert client.get(location, headers=keys["a"]).status_code == 404


def test_a_queued_job_on_redis_can_be_cancelled_from_any_instance(served) -> None:
    """DELETE /v1/jobs/{id} on RQ: the queued job is taken off the queue and reads as failed
    ("cancelled") from any instance; the worker then has nothing of it to run."""
    client, keys, work = served
    location = started(client.post("/v1/cross-border", params=CROSS, headers=keys["a"]))
    assert client.delete(location, headers=keys["b"]).status_code == 404
    r = client.delete(location, headers=keys["a"])
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "failed" and r.json()["error"]["error"] == "cancelled"
    other = RedisJobs(client.app.state.settings, client.app.state.jobs.connection,
                      secret=lambda: jobs_secret(client.app.state.store))
    job_id = location.rsplit("/", 1)[1]
    state = other.state(job_id)
    assert state is not None and state.status == "failed" and state.error["error"] == "cancelled"
    work()
    after = client.get(location, headers=keys["a"]).json()
    assert after == r.json() and client.delete(location, headers=keys["a"]).status_code == 409
    assert client.get(location + "/result", headers=keys["a"]).status_code == 409


_CALLED: list[Path] = []
"""Where :func:`_called` writes (set by the test that plants a callback)."""


def _called(*_args: Any, **_kwargs: Any) -> None:
    """A callback a planted job names: it writes a file, which the test looks for."""
    for path in _CALLED:
        path.write_text("called")


class _Opens:
    """Unpickled, it creates the file ``path``: the test looks for the file (anything else a
    pickle can run would have run in its place)."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return open, (self.path, "w")


def test_job_data_not_signed_with_the_store_is_never_unpickled(served, tmp_path: Path) -> None:
    """Whoever can write to Redis but not read the store plants a job of the deployment's own
    queue whose call and meta run code when unpickled: the service answers 404 for it without
    unpickling anything, and the worker fails it unrun (RQ's own error for a call it cannot
    read) and goes on to the next job."""
    client, keys, work = served
    jobs = client.app.state.jobs
    conn = jobs.connection
    marks = [tmp_path / "data-unpickled", tmp_path / "meta-unpickled"]
    job_id = uuid.uuid4().hex
    called = tmp_path / "callback-called"
    _CALLED[:] = [called]
    conn.hset(f"rq:job:{job_id}", mapping={
        "data": pickle.dumps(_Opens(marks[0])), "meta": pickle.dumps(_Opens(marks[1])),
        "origin": jobs.queue.name, "status": "queued", "description": "planted",
        "created_at": "2026-12-01T00:00:00.000000Z",
        # what RQ keeps as plain text: a function to call when the job fails or ends, and an
        # address to send it to
        "failure_callback_name": f"{__name__}._called",
        "success_callback_name": f"{__name__}._called",
        "stopped_callback_name": f"{__name__}._called",
        "webhooks": json.dumps([{"url": "http://127.0.0.1:9/planted", "events": ["failed"]}])})
    conn.rpush(jobs.queue.key, job_id)
    try:
        for path in (f"/v1/jobs/{job_id}", f"/v1/jobs/{job_id}/result"):
            assert client.get(path, headers=keys["admin"]).status_code == 404
        assert not any(m.exists() for m in marks)
        location = started(client.post("/v1/reports", json={"period": "2019-01"},
                                       headers={**keys["b"], "Prefer": "respond-async"}))
        work()  # the planted job first on the queue, then the service's own
        assert not any(m.exists() for m in marks)
        assert client.get(f"/v1/jobs/{job_id}", headers=keys["admin"]).status_code == 404
        assert not any(m.exists() for m in marks)
        assert not called.exists()  # its callbacks not called either
        job = wait_for(client, location, keys["b"])
        assert job["status"] == "failed" and job["error"]["status"] == 422, job  # it ran
    finally:
        _CALLED.clear()
        conn.delete(f"rq:job:{job_id}")
        conn.lrem(jobs.queue.key, 0, job_id)


def _worker_env(client: TestClient, **more: str) -> dict[str, str]:
    """The environment of a ``hotspot worker`` of ``client``'s app: its Redis, prefix, store
    and data folder."""
    settings = client.app.state.settings
    return {**os.environ, "HOTSPOT_REDIS_URL": REDIS_URL,
            "HOTSPOT_REDIS_PREFIX": settings.redis_prefix,
            "HOTSPOT_DATABASE_URL": str(client.app.state.store.path),
            "HOTSPOT_DATA_DIR": str(settings.data_dir), **more}


def _metrics(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def _timed(outcome: str, kind: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The sample counting the jobs of ``kind`` that ended with ``outcome``."""
    return ("hotspot_analysis_duration_seconds_count",
            (("kind", f"job-{kind}"), ("method", "-"), ("outcome", outcome)))


def test_hotspot_worker_runs_the_queued_jobs(served, tmp_path: Path) -> None:
    """``hotspot worker --burst`` runs the queued job; the service's ``/metrics`` read the
    queue before (a job waiting, no worker) and after (none waiting); with
    ``PROMETHEUS_MULTIPROC_DIR`` the worker's process counts the job in the folder the
    service's scrape adds up."""
    client, keys, _work = served
    location = started(client.post("/v1/cross-border", params=CROSS, headers=keys["a"]))
    settings = client.app.state.settings
    admin = keys["admin"]
    before = _metrics(client.get("/metrics", headers=admin).text)
    assert before[("hotspot_jobs_queued", ())] >= 1
    assert before[("hotspot_job_workers", ())] == 0
    counts = tmp_path / "counts"
    counts.mkdir()
    done = subprocess.run([sys.executable, "-m", "api.cli", "worker", "--burst", "--json"],
                          cwd=ROOT, env=_worker_env(client, PROMETHEUS_MULTIPROC_DIR=str(counts)),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[0])["working"]["queue"] == \
        settings.redis_prefix + "jobs"
    job = wait_for(client, location, keys["a"])
    assert job["status"] == "finished", job
    after = _metrics(client.get("/metrics", headers=admin).text)
    assert after[("hotspot_jobs_queued", ())] == 0 and after[("hotspot_jobs_running", ())] == 0
    added = CollectorRegistry()
    MultiProcessCollector(added, path=str(counts))
    assert _metrics(generate_latest(added).decode())[_timed("ok", "cross_border")] == 1
    got = client.get(job["links"]["result"], headers=keys["a"]).json()
    at_once = client.get("/v1/cross-border", params=CROSS, headers=keys["a"]).json()
    got["metadata"].pop("generated_at"), at_once["metadata"].pop("generated_at")
    assert got["features"] and got == at_once


def test_a_worker_that_died_without_stopping_is_not_counted(served) -> None:
    """A worker killed outright leaves its name in the queue's set of workers and its job in
    the started registry; once its key has expired and its job's deadline has passed, the
    gauges count neither (nothing queued with 'one worker' that is long dead), and reading
    them changes nothing in Redis."""
    client, keys, _work = served
    jobs = client.app.state.jobs
    conn = jobs.connection
    from rq.registry import StartedJobRegistry

    workers = f"rq:workers:{jobs.queue.name}"
    started = StartedJobRegistry(queue=jobs.queue).key
    ghost, job = "rq:worker:ghost-" + uuid.uuid4().hex[:8], "ghost-job:" + uuid.uuid4().hex
    conn.sadd(workers, ghost)  # its key rq:worker:ghost-... has expired: not there
    conn.zadd(started, {job: time.time() - 60})  # its deadline a minute ago
    try:
        gauges = _metrics(client.get("/metrics", headers=keys["admin"]).text)
        assert gauges[("hotspot_job_workers", ())] == 0
        assert gauges[("hotspot_jobs_running", ())] == 0
        assert conn.sismember(workers, ghost) and conn.zscore(started, job) is not None
        conn.hset(ghost, "name", "alive again")  # a worker whose key is there counts
        gauges = _metrics(client.get("/metrics", headers=keys["admin"]).text)
        assert gauges[("hotspot_job_workers", ())] == 1
    finally:
        conn.srem(workers, ghost)
        conn.zrem(started, job)
        conn.delete(ghost)


def test_a_worker_serves_the_times_of_its_jobs_on_its_metrics_port(served) -> None:
    """A waiting ``hotspot worker --metrics-port P`` says so, counts in the service's
    ``/metrics`` as a worker of the queue, and answers at ``127.0.0.1:P/metrics`` with the jobs
    it ran, by kind and outcome (here a report that fails on its period)."""
    client, keys, _work = served
    port = free_port()
    with subprocess.Popen([sys.executable, "-m", "api.cli", "worker", "--json",
                           "--metrics-port", str(port)], cwd=ROOT, env=_worker_env(client),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            working = json.loads(line_within(proc.stdout, "working line"))["working"]
            assert working["metrics_port"] == port
            location = started(client.post("/v1/reports", json={"period": "2019-01"},
                                           headers={**keys["b"], "Prefer": "respond-async"}))
            job = wait_for(client, location, keys["b"])
            assert job["status"] == "failed" and job["error"]["status"] == 422, job
            service = _metrics(client.get("/metrics", headers=keys["admin"]).text)
            assert service[("hotspot_job_workers", ())] == 1
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as r:
                own = _metrics(r.read().decode())
            assert own[_timed("failed", "report")] == 1
            assert _timed("ok", "report") not in own
        finally:
            proc.terminate()
            proc.wait(60)
    after = _metrics(client.get("/metrics", headers=keys["admin"]).text)
    assert after[("hotspot_job_workers", ())] == 0  # it left the queue as it stopped


@pytest.fixture(scope="module")
def served_postgis(tmp_path_factory: pytest.TempPathFactory, demo_files: Any,
                   request: pytest.FixtureRequest) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("jobs-postgis")
    store = make_store("postgis", root, request)
    load_demo(store, demo_files)
    yield from _serve(store, root)
    store.close()


def test_a_cross_border_job_on_postgis_gives_the_cross_border_answer(served_postgis) -> None:
    client, keys, work = served_postgis
    location = started(client.post("/v1/cross-border", params=CROSS, headers=keys["a"]))
    work()
    job = wait_for(client, location, keys["a"])
    assert job["status"] == "finished", job
    got = client.get(job["links"]["result"], headers=keys["a"])
    assert got.headers["content-type"] == "application/geo+json"
    at_once = client.get("/v1/cross-border", params=CROSS, headers=keys["a"]).json()
    a = got.json()
    a["metadata"].pop("generated_at"), at_once["metadata"].pop("generated_at")
    assert a["features"] and a == at_once
    assert client.get(location, headers=keys["b"]).status_code == 404


def test_instances_submitting_at_once_keep_the_limit_and_start_one_of_a_kind(
        tmp_path: Path) -> None:
    """Two instances (their own RedisJobs and connections) taking a key's submissions at the
    same moment: no more than the key's share of jobs is queued, and requests for the same
    job (its de-duplication key) all get the one job. No worker runs: the jobs stay queued."""
    import redis

    from api.services.job_types import TooManyJobs

    settings = settings_for(tmp_path, redis_url=REDIS_URL,
                            redis_prefix=f"t{uuid.uuid4().hex[:8]}:")
    instances = [RedisJobs(settings, redis.Redis.from_url(REDIS_URL), limit=2,
                           secret=lambda: "a store's secret") for _ in range(2)]
    # another deployment whose queue's name holds this one's: never purged with it
    others = [f"rq:queue:other-{settings.redis_prefix}jobs",
              f"rq:failed:x{settings.redis_prefix}jobs", f"rq:wip:{settings.redis_prefix}jobs2"]
    for k in others:
        instances[0].connection.set(k, "another deployment's", ex=600)
    try:
        for round_ in range(3):
            owner = f"key-{round_}"
            gate = threading.Barrier(8)
            outcomes: list[str] = []

            def submit(i: int, dedupe: str | None = None, owner: str = owner,
                       gate: threading.Barrier = gate, outcomes: list[str] = outcomes) -> None:
                gate.wait(10)
                try:
                    state = instances[i % 2].submit("wait", {"i": i}, owner=owner,
                                                    dedupe=dedupe)
                except TooManyJobs:
                    outcomes.append("refused")
                else:
                    outcomes.append(state.id)

            threads = [threading.Thread(target=submit, args=(i,)) for i in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
            accepted = [o for o in outcomes if o != "refused"]
            assert len(outcomes) == 8 and len(set(accepted)) == 2, outcomes
            assert len(instances[0].owned(owner)) == 2

            # the same job asked for at once from both instances: one job for all
            owner = f"dedupe-{round_}"
            gate = threading.Barrier(8)
            outcomes = []
            threads = [threading.Thread(target=submit, args=(i, "the same backtest"),
                                        kwargs={"owner": owner, "gate": gate,
                                                "outcomes": outcomes}) for i in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
            assert len(outcomes) == 8 and len(set(outcomes)) == 1, outcomes
            assert len(instances[1].owned(owner)) == 1
    finally:
        gone = purge_jobs(settings)  # what the operators' page says to run at an upgrade
        rest = {k.decode() for k in
                instances[0].connection.scan_iter(match=f"*{settings.redis_prefix}*")}
        instances[0].connection.delete(*others)
        assert rest == set(others)
    assert gone > 0
