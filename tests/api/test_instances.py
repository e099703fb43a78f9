"""Several instances, one state: two apps (each with its own in-process cache) against one
PostGIS store and one Redis share results, compute once, count rate limits together, accept
each other's sessions, and an ingest on one is seen (and warmed) on the other.

Redis: ``HOTSPOT_TEST_REDIS_URL`` (default redis://127.0.0.1:6379/0, which ``make test``
starts); every test writes under its own key prefix and deletes its keys after.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from api.app import create_app
from api.cache import ResultCache
from api.services import hotspot_results
from api.settings import Settings
from api.shared.cache import SharedResultCache
from api.warm import targets
from geodata.demo import DemoFiles
from geodata.ingest import ingest
from geodata.readers import ReadOptions, open_reader
from geodata.stores import Store, open_store
from geodata.taxonomy import Taxonomy
from tests.api.test_api import upload
from tests.conftest import as_role, csrf_headers, sign_in_client

REDIS_URL = os.environ.get("HOTSPOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
"""The Redis the instances share."""
FIRST_MONTHS = 12
"""Months of the demo's data.police.uk files in the store before each test."""
QUERY = "/v1/hotspots?from=2023-01&to=2023-12"
"""A hotspot request (DBSCAN, the default)."""


def redis_client() -> redis.Redis:
    """A client of the test Redis; fails (never skips) when none answers."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        raise RuntimeError(f"the shared-state tests need Redis at {REDIS_URL} ({exc}): `make "
                           "test` starts Debian's redis-server, or set HOTSPOT_TEST_REDIS_URL"
                           ) from None
    return client


@pytest.fixture
def prefix() -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted after."""
    client = redis_client()
    name = f"t{uuid.uuid4().hex[:10]}:"
    yield name
    keys = list(client.scan_iter(match=f"{name}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def keys_of(prefix: str) -> Iterator[Any]:
    """The test's Redis keys (decoded) matching a pattern under its prefix."""
    client = redis_client()

    def found(pattern: str = "*") -> list[str]:
        return sorted(k.decode() for k in client.scan_iter(match=prefix + pattern, count=1000))

    yield found
    client.close()


def load_month(store: Store, path: Path) -> None:
    """Ingest one data.police.uk street file into ``store`` (as ``hotspot ingest`` does)."""
    options = ReadOptions(taxonomy=Taxonomy.load(None), crs=store.crs, timezone=store.timezone)
    with path.open("rb") as f:
        ingest(store, open_reader(f, format="auto", name=path.name, options=options))


@pytest.fixture
def store_url(postgres_url: str, demo_files: DemoFiles) -> str:
    """A PostGIS store (its own schema of the run's database) holding a year of the demo's
    street files: the store every instance of a test serves."""
    url = f"{postgres_url}?schema=t_{uuid.uuid4().hex[:12]}"
    store = open_store(url)
    try:
        for path in demo_files.police_csvs[:FIRST_MONTHS]:
            load_month(store, path)
    finally:
        store.close()
    return url


def instance_settings(tmp_path: Path, url: str, prefix: str | None, **extra: Any) -> Settings:
    """One instance's settings: the shared store, Redis under ``prefix`` (None: no Redis)."""
    return Settings(data_dir=tmp_path, database_url=url,
                    redis_url=REDIS_URL if prefix else None, redis_prefix=prefix or "hotspot:",
                    **extra)


@contextmanager
def two_instances(tmp_path: Path, url: str, prefix: str | None,
                  **extra: Any) -> Iterator[tuple[TestClient, TestClient]]:
    """Instances A and B (each an app with its own store connections and its own in-process
    cache) serving ``url``, signed in with the same admin key."""
    a_app = create_app(instance_settings(tmp_path, url, prefix, **extra))
    b_app = create_app(instance_settings(tmp_path, url, prefix, **extra))
    with TestClient(a_app) as a, TestClient(b_app) as b:
        as_role(a)
        b.headers["Authorization"] = a.headers["Authorization"]
        # one request each first: FastAPI builds its routes on the first request, which two
        # apps sharing the route modules must not do in two threads at once
        assert a.get("/health").status_code == b.get("/health").status_code == 200
        yield a, b


def app_of(client: TestClient) -> Any:
    """The app a client serves (its state: cache, warming)."""
    return client.app


def stats(client: TestClient) -> dict[str, Any]:
    """An instance's cache counters."""
    return dict(app_of(client).state.cache.stats())


def wait_for_warming(client: TestClient) -> Any:
    """Return an instance's warming once every run it started has ended."""
    warming = app_of(client).state.warming
    portal: Any = client.portal
    portal.call(warming.wait)
    return warming


def test_a_result_computed_on_one_instance_is_a_cache_hit_on_the_other(
        tmp_path: Path, store_url: str, prefix: str, keys_of: Any):
    with two_instances(tmp_path, store_url, prefix) as (a, b):
        assert isinstance(app_of(a).state.cache, SharedResultCache)
        first = a.get(QUERY)
        assert first.status_code == 200, first.text
        assert stats(a)["computed"] == 1 and stats(a)["remote_stored"] == 1
        version = first.headers["x-data-version"]
        assert [k for k in keys_of("cache:*") if f":{version}:" in k]
        second = b.get(QUERY)
        assert second.status_code == 200
        assert second.content == first.content
        assert stats(b)["computed"] == 0 and stats(b)["remote_hits"] == 1
        # again on B: from B's own memory, not Redis
        assert b.get(QUERY).content == first.content
        assert stats(b)["remote_hits"] == 1 and stats(b)["computed"] == 0
        csv = b.get(QUERY, headers={"Accept": "text/csv"})
        assert csv.status_code == 200 and stats(b)["computed"] == 0
        # and a force's monitoring reads it: B's /metrics counts the read from Redis
        metrics = b.get("/metrics").text
        assert "hotspot_cache_remote_hits_total 1.0" in metrics, metrics
        assert "hotspot_cache_computed_total 0.0" in metrics
        assert "hotspot_cache_redis_failures_total 0.0" in metrics


def test_concurrent_identical_requests_to_two_instances_compute_once(
        tmp_path: Path, store_url: str, prefix: str, monkeypatch: pytest.MonkeyPatch):
    query = "/v1/hotspots?method=kde&from=2023-01&to=2023-12&cell_size_m=25"
    real = hotspot_results.compute_hotspots
    seen = redis_client()

    def once_the_other_waits(*args: Any, **kwargs: Any) -> Any:
        # the instance that took the lock computes only once the other waits for its
        # result (its "waiting" key in Redis): the requests overlap, however fast each is
        for _ in range(600):
            if any(seen.scan_iter(match=f"{prefix}waiting:*")):
                break
            threading.Event().wait(0.05)
        return real(*args, **kwargs)

    monkeypatch.setattr(hotspot_results, "compute_hotspots", once_the_other_waits)
    with two_instances(tmp_path, store_url, prefix) as (a, b):
        answers: dict[str, Any] = {}
        start = threading.Barrier(2)

        def ask(name: str, client: TestClient) -> None:
            start.wait()
            answers[name] = client.get(query)

        threads = [threading.Thread(target=ask, args=(n, c)) for n, c in (("a", a), ("b", b))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert answers["a"].status_code == answers["b"].status_code == 200
        assert answers["a"].content == answers["b"].content
        assert stats(a)["computed"] + stats(b)["computed"] == 1
        # one computed it, the other waited for it (not a cache hit after the fact)
        assert sorted([stats(a)["waited"], stats(b)["waited"]]) == [0, 1]
    seen.close()


def shared_cache(prefix: str, secret: str = "the store's secret",
                 **extra: Any) -> SharedResultCache:
    cache = SharedResultCache(8, max_bytes=1 << 20, client=redis_client(), prefix=prefix,
                              secret=lambda: secret, **extra)
    assert cache.namespace() is not None
    return cache


KEY = ("hotspots", "0123abcd.7", (("method", "dbscan"),))


def test_a_waiter_on_another_instance_gets_the_holders_result_without_computing(
        prefix: str, keys_of: Any):
    a, b = shared_cache(prefix), shared_cache(prefix)
    started, go = threading.Event(), threading.Event()

    def slow(_stop: Any) -> bytes:
        started.set()
        assert go.wait(60)
        return b"the answer"

    def never(_stop: Any) -> bytes:
        raise AssertionError("B computed what A is computing")

    async def scenario() -> tuple[bytes, bytes]:
        on_a = asyncio.ensure_future(a.within(KEY, slow, 60))
        assert await asyncio.to_thread(started.wait, 60)
        assert keys_of("lock:*")  # A holds the lock
        on_b = asyncio.ensure_future(b.within(KEY, never, 60))
        while not keys_of("waiting:*"):  # B marks that it waits
            await asyncio.sleep(0.01)
        go.set()
        return await on_a, await on_b

    assert asyncio.run(scenario()) == (b"the answer", b"the answer")
    assert (a.computed, b.computed, b.waited) == (1, 0, 1)
    assert not keys_of("lock:*")  # released


def test_a_holder_that_died_loses_its_lock_and_a_waiter_takes_over(prefix: str):
    dead, b = shared_cache(prefix), shared_cache(prefix)
    rk = dead.remote_key(KEY)
    assert rk is not None
    dead.lock_ttl_ms = 300
    assert dead._try_lock(rk) is not None  # taken, then never renewed nor released
    value = asyncio.run(b.within(KEY, lambda _stop: b"computed by B", 60))
    assert value == b"computed by B"
    assert (b.took_over, b.computed) == (1, 1)


def test_an_entry_not_signed_with_the_stores_secret_is_never_unpickled(prefix: str):
    a, intruder = shared_cache(prefix), shared_cache(prefix, secret="someone else")
    rk = a.remote_key(KEY)
    assert rk is not None
    # a forged entry under the right key: the right format, a signature made without the secret
    intruder._ns = a._ns
    forged = intruder._encode(rk, "forged")
    redis_client().set(rk, forged)
    value = asyncio.run(a.within(KEY, lambda _stop: "computed", 60))
    assert value == "computed" and a.rejected == 1 and a.computed == 1
    # what A computed is shared, signed: another instance with the secret reads it
    assert shared_cache(prefix).fetch(KEY) == (True, "computed")
    # a store with another secret has its own namespace: it never sees A's entries
    assert shared_cache(prefix, secret="another store").fetch(KEY) == (False, None)


def test_an_entry_over_the_per_entry_cap_is_served_but_not_shared(prefix: str, keys_of: Any):
    a = SharedResultCache(8, max_bytes=4000, client=redis_client(), prefix=prefix,
                          secret=lambda: "s")
    a.namespace()
    value = asyncio.run(a.within(KEY, lambda _stop: b"x" * 2000, 60))
    assert value == b"x" * 2000 and a.remote_not_kept == 1 and not keys_of("cache:*")


def test_the_rate_limit_is_counted_across_instances(tmp_path: Path, store_url: str,
                                                    prefix: str):
    burst = 6
    with two_instances(tmp_path, store_url, prefix, rate_limit_per_minute=1,
                       rate_limit_burst=burst) as (a, b):
        answers = [(a if i % 2 else b).get("/v1/whoami").status_code for i in range(burst + 2)]
        assert answers == [200] * burst + [429, 429]
    # without Redis each instance counts for itself: twice the burst goes through
    with two_instances(tmp_path, store_url, None, rate_limit_per_minute=1,
                       rate_limit_burst=burst) as (a, b):
        answers = [(a if i % 2 else b).get("/v1/whoami").status_code for i in range(burst + 2)]
        assert answers == [200] * (burst + 2)


def test_the_analysis_budget_rate_is_counted_across_instances(tmp_path: Path, store_url: str,
                                                              prefix: str):
    per_minute = {"admin": 2, "analyst": 2, "rural_team": 1, "partner": 0}
    with two_instances(tmp_path, store_url, prefix, analyses_per_minute=per_minute) as (a, b):
        assert a.get("/v1/hotspots?from=2023-01&to=2023-03").status_code == 200
        assert b.get("/v1/hotspots?from=2023-04&to=2023-06").status_code == 200
        third = a.get("/v1/hotspots?from=2023-07&to=2023-09")
        assert third.status_code == 429 and third.json()["error"] == "analysis_budget"
        # a cached answer is not counted: B serves A's first result
        assert b.get("/v1/hotspots?from=2023-01&to=2023-03").status_code == 200


def test_a_session_signed_in_on_one_instance_works_on_the_other_until_signed_out(
        tmp_path: Path, store_url: str, prefix: str):
    with two_instances(tmp_path, store_url, prefix) as (a, b):
        key = a.headers.pop("Authorization").removeprefix("Bearer ")
        b.headers.pop("Authorization")
        assert sign_in_client(a, key).status_code == 303
        for name in ("hotspot_session", "hotspot_csrf"):
            b.cookies.set(name, a.cookies[name])
        on_b = b.get("/v1/whoami")
        assert on_b.status_code == 200 and on_b.json()["via"] == "session"
        assert a.post("/logout", headers=csrf_headers(a), follow_redirects=False).status_code \
            == 303
        assert b.get("/v1/whoami").status_code == 401  # the revocation is in the shared store


def test_an_ingest_on_one_instance_is_served_by_the_other_with_its_default_views_warmed(
        tmp_path: Path, store_url: str, prefix: str, keys_of: Any, demo_files: DemoFiles):
    with two_instances(tmp_path, store_url, prefix) as (a, b):
        old = a.get(QUERY)
        assert old.status_code == 200
        old_version = old.headers["x-data-version"]
        assert [k for k in keys_of("cache:*") if f":{old_version}:" in k]
        r = upload(a, demo_files.police_csvs[FIRST_MONTHS])
        assert r.status_code == 201, r.text
        warming = wait_for_warming(a)
        new_version = b.get("/health").json()["store"]["data_version"]
        assert new_version != old_version
        # the old version's shared entries are gone; the new one's are there
        assert not [k for k in keys_of("cache:*") if f":{old_version}:" in k]
        assert [k for k in keys_of("cache:*") if f":{new_version}:" in k]
        views = targets(app_of(a))
        assert len(views) > 1 and warming.runs == 1
        assert warming.warmed == len(views) and warming.failed == 0
        # B serves the new data, the default views from what A warmed
        assert b.get(QUERY).headers["x-data-version"] == new_version
        computed_before = stats(b)["computed"]
        for view in views:
            page = b.get(view)
            assert page.status_code == 200 and new_version in page.text
        assert stats(b)["computed"] == computed_before
        assert stats(b)["remote_hits"] >= len(views)
        # one instance warms a version: B's own ingest of nothing new finds it claimed
        assert upload(b, demo_files.police_csvs[FIRST_MONTHS]).status_code == 200
        assert wait_for_warming(b).skipped == 1


def test_without_redis_an_ingest_warms_this_instances_own_cache_when_asked(
        tmp_path: Path, store_url: str, demo_files: DemoFiles):
    with two_instances(tmp_path, store_url, None, warm_after_ingest=True) as (a, _b):
        assert type(app_of(a).state.cache) is ResultCache
        assert upload(a, demo_files.police_csvs[FIRST_MONTHS]).status_code == 201
        warming = wait_for_warming(a)
        assert warming.warmed == len(targets(app_of(a))) and warming.failed == 0
        computed = stats(a)["computed"]
        assert a.get("/").status_code == 200 and stats(a)["computed"] == computed


def test_with_redis_down_requests_are_answered_and_a_warning_logged(
        tmp_path: Path, store_url: str, caplog: pytest.LogCaptureFixture):
    down = Settings(data_dir=tmp_path, database_url=store_url,
                    redis_url="redis://127.0.0.1:1/0", redis_prefix="down:",
                    rate_limit_burst=2, rate_limit_per_minute=1)
    caplog.set_level(logging.WARNING, logger="api.shared")
    with TestClient(create_app(down)) as c:
        as_role(c)
        r = c.get(QUERY)
        assert r.status_code == 200 and r.json()["features"]
        assert c.get(QUERY).status_code == 200  # from this process's own cache
        assert stats(c)["computed"] == 1 and stats(c)["redis_failures"] >= 1
        # the rate limit falls back to this process's own count
        assert [c.get("/v1/whoami").status_code for _ in range(2)] == [429, 429]
    assert any("does not answer" in m for m in caplog.messages)


def test_data_changed_outside_the_api_is_noticed_and_warmed_once(
        tmp_path: Path, store_url: str, prefix: str, keys_of: Any, demo_files: DemoFiles):
    """An ingest by the command line (here: straight into the store) tells no instance; the
    first request that meets the new data version starts the same forgetting and warming as
    an ingest through the API, on one instance for all."""
    with two_instances(tmp_path, store_url, prefix) as (a, b):
        old = a.get(QUERY)
        assert old.status_code == 200 and b.get(QUERY).status_code == 200
        old_version = old.headers["x-data-version"]
        assert app_of(a).state.warming.noticed_changes == 0  # the first version only noted
        store = open_store(store_url)
        try:
            load_month(store, demo_files.police_csvs[FIRST_MONTHS])
        finally:
            store.close()
        fresh = a.get(QUERY)
        new_version = fresh.headers["x-data-version"]
        assert new_version != old_version
        warming = wait_for_warming(a)
        assert warming.noticed_changes == 1 and warming.runs == 1
        assert warming.warmed == len(targets(app_of(a))) and warming.failed == 0
        assert not [k for k in keys_of("cache:*") if f":{old_version}:" in k]
        # B meets the new version too: it finds the warming claimed, and A's results shared
        assert b.get(QUERY).headers["x-data-version"] == new_version
        other = wait_for_warming(b)
        assert other.noticed_changes == 1 and other.skipped == 1 and other.runs == 0
        computed = stats(b)["computed"]
        assert b.get("/").status_code == 200 and stats(b)["computed"] == computed
        # the same version again starts nothing
        assert a.get(QUERY).status_code == 200 and warming.noticed_changes == 1
