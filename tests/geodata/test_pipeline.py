"""The ingest's worker thread (``geodata.stores._pipeline``): order, errors, abort."""

from __future__ import annotations

import threading

import pytest

from geodata.stores._pipeline import Pipeline


def test_jobs_run_in_order_in_another_thread() -> None:
    seen: list[tuple[int, str]] = []
    pipe = Pipeline(depth=2)
    for k in range(50):
        pipe.submit(lambda k=k: seen.append((k, threading.current_thread().name)))
    pipe.drain()
    assert [k for k, _t in seen] == list(range(50))
    assert {t for _k, t in seen} == {"hotspot-pipeline"}


def test_the_first_error_stops_the_rest_and_reaches_the_caller() -> None:
    seen: list[int] = []
    pipe = Pipeline(depth=1)
    failed = threading.Event()

    def fail() -> None:
        failed.set()
        raise ValueError("the server refused a row")

    pipe.submit(lambda: seen.append(1))
    pipe.submit(fail)
    failed.wait(5)
    def submit_more() -> None:
        for _ in range(10):  # each waits for room in the queue, so the error is known by then
            pipe.submit(lambda: seen.append(2))

    with pytest.raises(ValueError, match="refused a row"):
        submit_more()
    with pytest.raises(ValueError, match="refused a row"):
        pipe.drain()
    assert seen == [1]
    assert isinstance(pipe.failed, ValueError)


def test_abort_skips_what_is_queued_and_waits_for_the_job_under_way() -> None:
    started, release = threading.Event(), threading.Event()
    seen: list[str] = []

    def slow() -> None:
        started.set()
        release.wait(5)
        seen.append("slow")

    pipe = Pipeline(depth=4)
    pipe.submit(slow)
    started.wait(5)
    for k in range(3):
        pipe.submit(lambda k=k: seen.append(f"queued {k}"))
    threading.Timer(0.2, release.set).start()
    pipe.abort()
    assert seen == ["slow"]  # the job under way finished; the queued ones never ran
    with pytest.raises(RuntimeError, match="closed"):
        pipe.submit(lambda: None)
