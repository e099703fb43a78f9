"""Whole-world and out-of-area bounding boxes through the HTTP app, in both stores: a box that
covers the force selects every incident, one wholly outside it none."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.api.test_api import served_demo
from tests.conftest import STORE_KINDS, as_role, make_store

COVERING = ["-180,-90,180,90", "-180,-89.9,180,90", "-20,40,10,70", "-9.01,49.75,2.01,61.01",
            "-179.9,0,10,89.9"]
OUTSIDE = ["10,10,11,11", "-180,-90,-100,90", "-10,-60,2,-10", "3,49,179,62", "-180,62,180,90"]


@pytest.fixture(scope="module", params=STORE_KINDS)
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
        demo_files) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("bbox-api")
    with served_demo(make_store(request.param, root, request), root, demo_files) as c:
        yield as_role(c)


def _matched(app: TestClient, **params: str) -> int:
    r = app.get("/v1/incidents", params={"limit": 1, **params})
    assert r.status_code == 200, r.text
    return int(r.json()["numberMatched"])


def _in_hotspot_analysis(app: TestClient, **params: str) -> int:
    r = app.get("/v1/hotspots", params=params)
    assert r.status_code == 200, r.text
    return int(r.json()["metadata"]["summary"]["incidents"])


@pytest.mark.parametrize("bbox", COVERING)
def test_a_box_covering_the_force_selects_every_incident(app: TestClient, bbox: str) -> None:
    everything = _matched(app)
    assert everything > 1000
    assert _matched(app, bbox=bbox) == everything
    assert _in_hotspot_analysis(app, bbox=bbox) == _in_hotspot_analysis(app) == everything


@pytest.mark.parametrize("bbox", OUTSIDE)
def test_a_box_outside_the_force_selects_nothing(app: TestClient, bbox: str) -> None:
    assert _matched(app, bbox=bbox) == 0
    assert _in_hotspot_analysis(app, bbox=bbox) == 0


def test_a_box_partly_beyond_the_grid_selects_its_part(app: TestClient) -> None:
    lats = [f["geometry"]["coordinates"][1] for f in
            app.get("/v1/incidents", params={"limit": 500}).json()["features"]]
    middle = sorted(lats)[len(lats) // 2]
    south, north = _matched(app, bbox=f"-180,-90,180,{middle}"), \
        _matched(app, bbox=f"-180,{middle},180,90")
    everything = _matched(app)
    assert 0 < south < everything and 0 < north < everything
    assert south + north >= everything  # (incidents on the parallel itself are in both)
