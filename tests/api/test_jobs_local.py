"""The in-process job runner's bounds (no Redis, the embedded default): what it keeps of ended
jobs cannot be emptied by another key flooding jobs, its results stay within a byte budget,
ended jobs expire as in Redis, and a job past the time limit is stopped."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from api.services import job_work
from api.services.job_types import FAILURE_TTL_S, LOCAL_KEPT, RESULT_TTL_S
from api.services.jobs import ACTIVE, JobContext, JobResult, LocalJobs, Progress


def _settled(jobs: LocalJobs, *ids: str) -> None:
    deadline = time.monotonic() + 60
    while any((s := jobs.state(i)) is not None and s.status in ACTIVE for i in ids):
        assert time.monotonic() < deadline, "the jobs did not end"
        time.sleep(0.01)


@pytest.fixture
def kinds(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Three kinds of job: ``echo`` (a result of ``params["bytes"]`` bytes), ``hold`` (waits
    for the event yielded), ``slow`` (reports progress every 10 ms for ``params["s"]``)."""
    release = threading.Event()

    def echo(ctx: JobContext, params: dict[str, Any], progress: Progress) -> JobResult:
        return JobResult(body=b"x" * params.get("bytes", 10), media_type="text/plain")

    def hold(ctx: JobContext, params: dict[str, Any], progress: Progress) -> JobResult:
        release.wait(60)
        return JobResult(document={"held": True})

    def slow(ctx: JobContext, params: dict[str, Any], progress: Progress) -> JobResult:
        end = time.monotonic() + params["s"]
        while time.monotonic() < end:
            progress(0.5, "working")
            time.sleep(0.01)
        return JobResult(document={"done": True})

    for name, fn in (("echo", echo), ("hold", hold), ("slow", slow)):
        monkeypatch.setitem(job_work.KINDS, name, fn)
    yield release
    release.set()


def _echoed(jobs: LocalJobs, owner: str, size: int) -> str:
    """The id of an ``echo`` job of ``size`` bytes for ``owner``, once it has ended."""
    job_id = jobs.submit("echo", {"bytes": size}, owner=owner).id
    _settled(jobs, job_id)
    return job_id


def _runner(**kw: Any) -> LocalJobs:
    return LocalJobs(lambda: None, limit=10_000, **kw)  # type: ignore[arg-type,return-value]


def test_a_key_flooding_started_and_cancelled_jobs_evicts_only_its_own(kinds) -> None:
    jobs = _runner()
    try:
        mine = [jobs.submit("echo", {}, owner="victim").id for _ in range(3)]
        _settled(jobs, *mine)
        jobs.submit("hold", {}, owner="busy")  # the one worker busy: the flood's jobs wait
        for _ in range(LOCAL_KEPT + 50):
            flood = jobs.submit("echo", {}, owner="flood")
            assert jobs.cancel(flood.id, "the key that started it").status == "failed"
        for job_id in mine:  # the victim's results are all still there
            state = jobs.state(job_id)
            assert state is not None and state.status == "finished"
            assert jobs.result(job_id) is not None
        kept = jobs.owned(None, limit=10_000)
        assert sum(j.status not in ACTIVE for j in kept) <= LOCAL_KEPT
        assert sum(j.owner == "flood" for j in kept) < LOCAL_KEPT
    finally:
        kinds.set()
        jobs.close()


def test_results_stay_within_their_bytes_the_largest_holders_oldest_first(kinds) -> None:
    jobs = _runner(result_bytes=1_000)
    try:
        small = _echoed(jobs, "small", 100)
        big = [_echoed(jobs, "big", 600) for _ in range(3)]
        assert jobs.result(small) is not None  # the other key's result stays
        assert jobs.state(big[0]) is None and jobs.state(big[1]) is None  # evicted, whole
        assert jobs.result(big[2]) is not None  # the one just made is never evicted
        alone = _echoed(jobs, "small", 5_000)  # alone over the bytes: kept
        assert jobs.result(alone) is not None and jobs.result(big[2]) is None
    finally:
        jobs.close()


def test_a_key_flooding_small_results_leaves_the_other_an_equal_share(kinds) -> None:
    jobs = _runner(result_bytes=1_000)
    try:
        for _ in range(6):
            _echoed(jobs, "victim", 100)
        for _ in range(12):
            _echoed(jobs, "flood", 100)
        kept = [j.owner for j in jobs.owned(None, limit=100)]
        assert kept.count("victim") == kept.count("flood") == 5, kept
    finally:
        jobs.close()


def test_ended_jobs_expire_as_in_redis(kinds) -> None:
    jobs = _runner()
    try:
        done = jobs.submit("echo", {}, owner="a").id
        _settled(jobs, done)
        jobs.submit("hold", {}, owner="a")
        cancelled = jobs.submit("echo", {}, owner="a").id
        jobs.cancel(cancelled, "the key that started it")
        jobs._jobs[cancelled].ended_at -= FAILURE_TTL_S + 1  # an hour and more ago
        jobs.submit("echo", {}, owner="b")
        assert jobs.state(cancelled) is None and jobs.state(done) is not None
        jobs._jobs[done].ended_at -= RESULT_TTL_S + 1  # a day and more ago
        jobs.submit("echo", {}, owner="b")
        assert jobs.state(done) is None and jobs.result(done) is None
    finally:
        kinds.set()
        jobs.close()


def test_a_result_that_cannot_be_kept_fails_its_job(kinds, monkeypatch) -> None:
    """A kind whose result is not a result (a fault in the service's own code) fails its job
    and frees the key's place, instead of leaving it running for ever."""
    monkeypatch.setitem(job_work.KINDS, "broken", lambda ctx, params, progress: None)
    jobs = LocalJobs(lambda: None, limit=1)  # type: ignore[arg-type,return-value]
    try:
        job = jobs.submit("broken", {}, owner="a").id
        _settled(jobs, job)
        state = jobs.state(job)
        assert state is not None and state.status == "failed"
        again = jobs.submit("echo", {}, owner="a").id  # the key's one place is free again
        _settled(jobs, again)
        assert jobs.result(again) is not None
    finally:
        jobs.close()


def test_a_job_past_the_time_limit_is_stopped_at_its_next_progress(kinds) -> None:
    jobs = _runner(timeout_s=2)
    try:
        job = jobs.submit("slow", {"s": 30}, owner="a").id
        started = time.monotonic()
        _settled(jobs, job)
        state = jobs.state(job)
        assert state is not None and state.status == "failed" and state.error
        assert "time limit" in state.error["detail"] and time.monotonic() - started < 25
        quick = jobs.submit("slow", {"s": 0.05}, owner="a").id  # within it: finishes
        _settled(jobs, quick)
        assert jobs.result(quick) is not None
    finally:
        jobs.close()
