"""A force's part of a regional PostGIS store (partitioned by force, then month) served by the
real app: its hotspots are those of a plain store holding that force's incidents alone, and
nothing of the other forces shows through."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from geodata.stores import open_store
from tests.api.test_instances import load_month
from tests.conftest import LINCOLNSHIRE, NORTH_YORKSHIRE, as_role

pytestmark = pytest.mark.real_data

FORCE = "Lincolnshire Police"


def _answer(client: TestClient, **params: Any) -> dict[str, Any]:
    r = client.get("/v1/hotspots", params=params)
    assert r.status_code == 200, r.text[:300]
    return r.json()


def _without_version(answer: dict[str, Any]) -> dict[str, Any]:
    """What the two stores must agree on: everything but the data version and the time."""
    meta = {k: v for k, v in answer["metadata"].items()
            if k not in ("data_version", "generated_at")}
    return {"features": answer["features"], "metadata": meta}


def test_a_force_of_a_regional_store_is_served_as_its_own_store(tmp_path: Path,
                                                                postgres_url: str) -> None:
    tag = uuid.uuid4().hex[:10]
    regional_url = f"{postgres_url}?schema=r_{tag}&layout=regional"
    plain_url = f"{postgres_url}?schema=p_{tag}"
    region = open_store(regional_url)
    try:
        for path in (LINCOLNSHIRE, NORTH_YORKSHIRE):  # two forces, one region
            load_month(region, path)
        assert region.count() > 0
    finally:
        region.close()
    alone = open_store(plain_url)
    try:
        load_month(alone, LINCOLNSHIRE)
        expected_count = alone.count()
    finally:
        alone.close()

    served = Settings(data_dir=tmp_path / "regional",
                      database_url=f"{regional_url}&force={quote(FORCE)}")
    with TestClient(create_app(served)) as force, \
            TestClient(create_app(Settings(data_dir=tmp_path / "plain",
                                           database_url=plain_url))) as plain:
        as_role(force)
        as_role(plain)
        for params in ({"method": "dbscan", "period": "2024-03"}, {"method": "kde"},
                       {"method": "dbscan", "priority": "asb"}):
            got, want = _answer(force, **params), _answer(plain, **params)
            assert got["features"], params
            assert _without_version(got) == _without_version(want), params
        # every one of the force's incidents, and none of the other force's (its month is
        # there in the region, not in this force's part of it)
        assert _answer(force, method="kde")["metadata"]["summary"]["incidents"] == expected_count
        other = force.get("/v1/hotspots", params={"method": "dbscan", "period": "2019-01"})
        assert other.status_code == 200 and other.json()["features"] == [], other.text[:300]
