"""Limits through the real app: rows per upload (413), requests per key (429). The time an
analysis may take (503 while it goes on) and the rest of the analysis budget: see
test_bounded_work.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.errors import RateLimited
from api.ratelimit import RateLimiter
from tests.api.test_api import settings_for, upload
from tests.conftest import NORTH_YORKSHIRE, as_role

pytestmark = pytest.mark.real_data


def test_an_upload_over_the_row_limit_is_413_and_stores_nothing(tmp_path: Path) -> None:
    with TestClient(create_app(settings_for(tmp_path, max_upload_rows=1000))) as c:
        as_role(c, "analyst")
        r = upload(c, NORTH_YORKSHIRE)
        assert r.status_code == 413 and "1,000 rows" in r.json()["detail"]
        assert c.app.state.store.count() == 0
        assert c.get("/v1/ingests").json() == []  # not even a started ingest is left


def test_requests_past_the_rate_are_429_with_retry_after(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, rate_limit_per_minute=60, rate_limit_burst=5)
    with TestClient(create_app(settings)) as c:
        as_role(c, "analyst")
        codes = [c.get("/v1/taxonomy").status_code for _ in range(6)]
        assert codes == [200] * 5 + [429]
        r = c.get("/v1/taxonomy")
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        other = TestClient(c.app)
        as_role(other, "analyst")  # another key has its own allowance
        assert other.get("/v1/taxonomy").status_code == 200


def test_paths_that_match_nothing_count_in_the_address_rate(tmp_path: Path) -> None:
    """404s for made-up paths are not a way round the rate limit: they count in the caller's
    address's allowance, as anonymous requests to real routes do (429 past it). (One request
    a minute refills: no token comes back while the test runs, however slow the machine.)"""
    settings = settings_for(tmp_path, rate_limit_per_minute=1, rate_limit_burst=5)
    with TestClient(create_app(settings)) as c:
        codes = [c.get(f"/made-up-{i}/x").status_code for i in range(6)]
        assert codes == [404] * 5 + [429]
        assert c.get("/health").status_code == 429  # the same address's allowance
        r = c.get("/another/made-up/path")
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1


def test_token_buckets_refill() -> None:
    limiter = RateLimiter(per_minute=60, burst=2)
    limiter.check("k", now=0.0)
    limiter.check("k", now=0.0)
    with pytest.raises(RateLimited) as refused:
        limiter.check("k", now=0.5)
    assert 0 < refused.value.retry_after_s <= 1.0
    limiter.check("k", now=1.6)  # one token back after a second
    RateLimiter(per_minute=0, burst=1).check("k")  # 0: no limit
