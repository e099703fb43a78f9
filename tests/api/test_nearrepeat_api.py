"""GET /v1/near-repeat through the real app: a planted near-repeat pattern in exact-dated vehicle
crime found and its zones served as GeoJSON; the seed reproduces the answer; staff only
(partners and the rural team get 403); month-only data.police.uk incidents get 422."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from pyproj import Transformer

from api.access import new_key
from api.app import create_app
from tests.api.test_api import settings_for
from tests.conftest import NORTH_YORKSHIRE, as_role

pytestmark = pytest.mark.real_data

YORK = (460_000.0, 451_000.0)  # EPSG:27700


def planted_features(seed: int = 3) -> list[dict[str, object]]:
    """300 vehicle crimes over 6 km and 180 days around York, then 40 of them each followed by
    two more within 60 m and 4 days (exact times, local)."""
    rng = np.random.default_rng(seed)
    xy = YORK + rng.uniform(-3_000, 3_000, (300, 2))
    days = rng.uniform(0, 180, 300)
    seeds = rng.choice(300, 40, replace=False)
    near = np.concatenate([xy[seeds] + rng.uniform(-40, 40, (40, 2)) for _ in range(2)])
    later = np.concatenate([days[seeds] + rng.uniform(0.1, 4, 40) for _ in range(2)])
    xy, days = np.vstack([xy, near]), np.concatenate([days, later])
    lon, lat = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True).transform(
        xy[:, 0], xy[:, 1])
    when = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.round(days * 1440), unit="min")
    return [{"type": "Feature", "id": f"v{k}",
             "geometry": {"type": "Point", "coordinates": [round(lon[k], 7), round(lat[k], 7)]},
             "properties": {"occurred_at": when[k].strftime("%Y-%m-%dT%H:%M:00"),
                            "crime_type": "Vehicle crime"}}
            for k in range(len(days))]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("near-repeat")
    with TestClient(create_app(settings_for(root))) as c:
        as_role(c, "analyst")
        body = json.dumps({"type": "FeatureCollection", "features": planted_features()})
        r = c.post("/v1/incidents", content=body,
                   headers={"content-type": "application/geo+json"})
        assert r.status_code == 201, r.text
        assert r.json()["counts"]["accepted"] == 380
        yield c


def test_the_planted_pattern_is_found(client: TestClient):
    r = client.get("/v1/near-repeat", params={"permutations": 99})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["incidents"] == 380 and body["permutations"] == 99 and body["seed"] == 0
    assert body["selection"]["categories"] == ["residential_burglary", "business_burglary",
                                               "burglary", "vehicle_crime",
                                               "agricultural_theft", "plant_machinery_theft"]
    first = body["cells"][0]
    assert first["distance_from_m"] == 0 and first["days_to"] == 7
    assert first["significant"] is True and first["p_value"] == 0.01 and first["ratio"] > 5
    assert body["extent"]["distance_m"] == 100 and body["extent"]["days"] == 7
    assert "within 100 m" in body["reading"] and "7 days" in body["reading"]
    assert body["left_out_month_only"] == 0 and body["data_version"]
    again = client.get("/v1/near-repeat", params={"category": "vehicle_crime"}).json()
    assert again["cells"] == body["cells"]  # the same seed, the same table
    other = client.get("/v1/near-repeat", params={"seed": 7}).json()
    assert [c["expected"] for c in other["cells"]] != [c["expected"] for c in body["cells"]]
    assert [c["observed"] for c in other["cells"]] == [c["observed"] for c in body["cells"]]


def test_bands_and_the_risk_zones(client: TestClient):
    r = client.get("/v1/near-repeat", params={"distance_bands_m": "0,50,100",
                                              "day_bands": "0,3,7", "format": "geojson",
                                              "as_of": "2024-05-01"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/geo+json"
    gj = r.json()
    assert gj["type"] == "FeatureCollection" and "crs" not in gj
    extent = gj["extent"]
    assert extent is not None and extent["distance_m"] in (50, 100)
    assert gj["as_of"] == "2024-05-02T00:00:00+01:00"  # the whole of 1 May (BST) included
    for f in gj["features"]:
        assert f["geometry"]["type"] == "Polygon"
        lon, lat = f["geometry"]["coordinates"][0][0]
        assert -1.2 < lon < -0.9 and 53.9 < lat < 54.0
        p = f["properties"]
        assert p["distance_m"] == extent["distance_m"] and p["days"] == extent["days"]
        assert p["from"] < "2024-05-02" < p["until"]


@pytest.mark.parametrize(("params", "field"), [
    ({"permutations": "1000"}, "permutations"),
    ({"permutations": "-1"}, "permutations"),
    ({"distance_bands_m": "0,100,x"}, "distance_bands_m"),
    ({"distance_bands_m": "0,300,200"}, "distance_bands_m"),
    ({"distance_bands_m": "0,20000"}, "distance_bands_m"),
    ({"day_bands": "7,14"}, "day_bands"),
    ({"format": "csv"}, "format"),
    ({"from": "2024-13"}, "from"),
    ({"category": "unicorns"}, "category"),
])
def test_bad_parameters_are_422_naming_them(client: TestClient, params, field):
    r = client.get("/v1/near-repeat", params=params)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field


def test_too_much_work_is_refused_before_it_runs(client: TestClient,
                                                 monkeypatch: pytest.MonkeyPatch):
    from api.routes import nearrepeat

    # 380 incidents cannot reach the real limits (300 M pair counts, 5 M pairs): lower them
    monkeypatch.setattr(nearrepeat, "API_MAX_WORK", 1_000_000)
    r = client.get("/v1/near-repeat", params={"distance_bands_m": "0,5000,9000",
                                              "permutations": 999})
    assert r.status_code == 422 and r.json()["field"] == "permutations"
    assert "more than the limit of 1,000,000" in r.json()["detail"]
    monkeypatch.setattr(nearrepeat, "API_MAX_PAIRS", 1_000)
    r = client.get("/v1/near-repeat", params={"distance_bands_m": "0,5000,9001"})
    assert r.status_code == 422 and r.json()["field"] == "distance_bands_m"


@pytest.mark.parametrize("role", ["partner", "rural_team"])
def test_only_the_roles_that_read_incidents_may_call_it(client: TestClient, role: str):
    store = client.app.state.store
    token, _ = new_key(store, name=f"near-repeat {role}", role=role)
    r = client.get("/v1/near-repeat", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 403 and "may not" in r.json()["detail"]
    r = client.get("/v1/near-repeat", headers={"Authorization": ""})
    assert r.status_code == 401


def test_it_is_audited(client: TestClient):
    client.get("/v1/near-repeat", params={"format": "geojson"})
    log = client.app.state.store.audit_log()
    assert any(e["action"] == "near_repeat" for e in log)


def test_month_only_data_is_422_with_the_reason(tmp_path: Path):
    with TestClient(create_app(settings_for(tmp_path))) as c:
        as_role(c, "admin")
        r = c.post("/v1/incidents", content=NORTH_YORKSHIRE.read_bytes(),
                   headers={"content-type": "text/csv"})
        assert r.status_code == 201, r.text
        r = c.get("/v1/near-repeat")
        assert r.status_code == 422
        body = r.json()
        assert "needs dates to the day" in body["detail"]
        assert "data.police.uk gives months only" in body["detail"]
        assert body["field"] == "occurred_at"
        r = c.get("/v1/near-repeat", params={"format": "geojson", "priority": "asb"})
        assert r.status_code == 422 and "months only" in r.json()["detail"]
