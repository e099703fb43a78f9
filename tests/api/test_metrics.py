"""``/metrics`` (issue 18, operations): Prometheus' text format for admins only, counting
requests by route template (never a path with ids or data in it), their latencies and the
result cache's figures, as a scraper reads them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api.access import ROLES, new_key
from api.app import create_app
from geodata.demo import load_demo
from geodata.stores import SQLiteStore
from tests.api.test_api import settings_for


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
    assert "/hotspots/{hotspot_id}" in routes and "/no/..." in routes
    assert not [r for r in routes if "no-such" in r or "42" in r]
    assert "Bearer" not in text and "hsk_" not in text
