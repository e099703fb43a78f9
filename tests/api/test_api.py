"""The HTTP API, end to end through the real app: uploads, queries, layers, docs, errors."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from geodata.demo import DemoFiles, load_demo
from geodata.stores import SQLiteStore, Store
from tests.conftest import LINCOLNSHIRE, NORTH_YORKSHIRE, as_role

LIMIT = 3 * 1024 * 1024


def settings_for(tmp_path: Path, **extra: object) -> Settings:
    return Settings(data_dir=tmp_path, database_url=str(tmp_path / "force.sqlite"),
                    max_upload_bytes=LIMIT, max_page_size=500, **extra)  # type: ignore[arg-type]


@contextmanager
def served_demo(store: Store, root: Path, demo_files: DemoFiles,
                **settings: object) -> Iterator[TestClient]:
    """A started TestClient serving ``store`` with the test demo loaded into it."""
    load_demo(store, demo_files)
    with TestClient(create_app(settings_for(root, **settings), store=store, demo=True)) as c:
        yield c
    store.close()


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(settings_for(tmp_path))) as c:
        yield as_role(c)


@contextmanager
def _demo_client(root: Path, demo_files: DemoFiles) -> Iterator[TestClient]:
    store = SQLiteStore.open(root / "demo.sqlite")
    load_demo(store, demo_files)
    with TestClient(create_app(settings_for(root), store=store, demo=True)) as c:
        yield as_role(c)
    store.close()


@pytest.fixture(scope="module")
def demo_client(tmp_path_factory: pytest.TempPathFactory, demo_files) -> Iterator[TestClient]:
    """The demo served, one for the module: for tests that only read (a test that sends
    anything that could change the store uses :func:`own_demo_client`)."""
    with _demo_client(tmp_path_factory.mktemp("demo-client"), demo_files) as c:
        yield c


@pytest.fixture
def own_demo_client(tmp_path: Path, demo_files) -> Iterator[TestClient]:
    """The demo served for this test alone."""
    with _demo_client(tmp_path, demo_files) as c:
        yield c


def upload(client: TestClient, path: Path, **params: str):
    with path.open("rb") as f:
        return client.post("/v1/incidents", params=params, files={"file": (path.name, f, "text/csv")})


def test_health_reports_store_and_version(client: TestClient):
    r = client.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["store"]["kind"] == "sqlite"
    assert body["store"]["incidents"] == 0 and body["version"]


@pytest.mark.real_data
def test_upload_a_real_file_then_again(client: TestClient):
    r = upload(client, NORTH_YORKSHIRE)
    assert r.status_code == 201
    report = r.json()
    assert report["counts"]["accepted"] == 5288 and report["counts"]["rejected"] == 39
    assert report["rejected_rows"][0] == {
        "line": 5290, "reason": "missing_coordinates",
        "detail": "no coordinates (Longitude '', Latitude ''): the source could not place this "
                  "incident"}
    assert report["accepted_lines"] == [[2, 5289]]
    again = upload(client, NORTH_YORKSHIRE)
    assert again.status_code == 200
    assert again.json()["counts"]["duplicates_already_stored"] == 5288
    assert again.json()["data_version"] == report["data_version"]
    assert client.get("/health").json()["store"]["incidents"] == 5288


@pytest.mark.real_data
def test_upload_raw_csv_and_geojson_bodies(client: TestClient):
    r = client.post("/v1/incidents", content=LINCOLNSHIRE.read_bytes(),
                    headers={"content-type": "text/csv"}, params={"source": "lincs.csv"})
    assert r.status_code == 201 and r.json()["source"] == "lincs.csv"
    gj = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": "g1", "geometry": {"type": "Point", "coordinates": [-0.54, 53.23]},
         "properties": {"occurred_at": "2024-03-05T22:10:00Z", "crime_type": "Hare coursing"}}]}
    r = client.post("/v1/incidents", content=json.dumps(gj),
                    headers={"content-type": "application/geo+json"})
    assert r.status_code == 201 and r.json()["categories"] == {"hare_coursing": 1}
    records = [{"id": "sys-1", "occurred_at": "2024-03-06T02:00:00", "crime_type": "Fuel theft",
                "easting": 497000, "northing": 371000}]
    r = client.post("/v1/incidents", json=records)
    assert r.status_code == 201 and r.json()["categories"] == {"fuel_theft": 1}


def test_upload_a_force_export_with_a_mapping(client: TestClient):
    csv_text = "Ref,When,What,E,N\nR1,05/03/2024 21:40,Agricultural theft,497000,371000\n"
    mapping = "[columns]\nid='Ref'\noccurred_at='When'\ncrime_type='What'\nx='E'\ny='N'\n" \
              "location=''\nlsoa_code=''\noutcome=''\n"
    r = client.post("/v1/incidents", files={"file": ("export.csv", csv_text, "text/csv")},
                    data={"mapping": mapping})
    assert r.status_code == 201, r.text
    assert r.json()["categories"] == {"agricultural_theft": 1}
    assert r.json()["time_precision"] == {"exact": 1}


@pytest.mark.real_data
def test_uploads_over_the_limit_get_413(client: TestClient, tmp_path: Path):
    big = tmp_path / "big.csv"
    big.write_bytes(LINCOLNSHIRE.read_bytes() * 3)  # about 3.5 MB > 3 MiB
    r = upload(client, big)
    assert r.status_code == 413 and "limit of 3,145,728 bytes" in r.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit is applied while streaming
        data = big.read_bytes()
        for i in range(0, len(data), 256 * 1024):
            yield data[i : i + 256 * 1024]

    r = client.post("/v1/incidents", content=chunks(), headers={"content-type": "text/csv"})
    assert r.status_code == 413
    assert client.get("/health").json()["store"]["incidents"] == 0


@pytest.mark.parametrize(
    ("kwargs", "status", "field_or_error"),
    [
        ({"content": b"x", "headers": {"content-type": "image/png"}}, 415, "content-type"),
        ({"files": {"other": ("a.csv", b"a,b\n")}}, 422, "file"),
        ({"files": {"file": ("a.csv", b"")}}, 422, "invalid_file"),
        ({"files": {"file": ("a.csv", b"Crime ID,Month,Crime type\nx,2024-03,Burglary\n")}}, 422,
         "invalid_file"),
        ({"files": {"file": ("a.csv", b"a,b\n1,2\n")}, "params": {"format": "police"}}, 422,
         "invalid_file"),
        ({"files": {"file": ("a.csv", b"a,b\n")}, "params": {"format": "xml"}}, 422, "format"),
        ({"files": {"file": ("a.csv", b"a,b\n")}, "data": {"mapping": "[columns"}}, 422,
         "invalid_mapping"),
    ],
)
def test_bad_uploads_get_a_clear_4xx(client: TestClient, kwargs: dict, status: int,
                                     field_or_error: str):
    r = client.post("/v1/incidents", **kwargs)
    assert r.status_code == status, r.text
    body = r.json()
    text = json.dumps(body)
    assert field_or_error in text
    assert "Traceback" not in text and "/tmp/" not in text


@pytest.mark.real_data
def test_the_demo_store_refuses_a_force_file(own_demo_client: TestClient):
    r = upload(own_demo_client, LINCOLNSHIRE)
    assert r.status_code == 409 and "demo" in r.json()["detail"]


def test_incidents_as_rfc7946_geojson_pages(demo_client: TestClient):
    r = demo_client.get("/v1/incidents", params={"limit": 400, "category": "shoplifting"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/geo+json")
    body = r.json()
    assert body["type"] == "FeatureCollection" and "crs" not in body
    f = body["features"][0]
    lon, lat = f["geometry"]["coordinates"]
    assert -2 < lon < 0 and 53.5 < lat < 54.6
    assert f["properties"]["category"] == "shoplifting"
    assert f["properties"]["priority"] == "theft_burglary_robbery"
    total = body["numberMatched"]
    assert total > 400 and body["numberReturned"] == 400
    seen = {x["id"] for x in body["features"]}
    url = next(link["href"] for link in body["links"] if link["rel"] == "next")
    while url:
        page = demo_client.get(url).json()
        seen |= {x["id"] for x in page["features"]}
        url = next((link["href"] for link in page["links"] if link["rel"] == "next"), None)
    assert len(seen) == total


def test_incident_filters(demo_client: TestClient):
    def matched(**params: str) -> int:
        r = demo_client.get("/v1/incidents", params={"limit": 1, **params})
        assert r.status_code == 200, r.text
        return int(r.json()["numberMatched"])

    everything = matched()
    year = matched(**{"from": "2024-01-01", "to": "2024-12-31"})
    assert 0.4 * everything < year < 0.65 * everything
    assert matched(**{"from": "2024-01-01T00:00:00Z"}) == year
    rural = matched(priority="rural")
    assert rural == matched(category="agricultural_theft,plant_machinery_theft,fuel_theft,"
                                      "livestock_theft,wildlife_crime,hare_coursing,poaching,"
                                      "heritage_crime")
    assert matched(bbox="-1.2,54.0,-0.9,54.2") < everything
    assert matched(bbox="10,10,11,11") == 0
    assert matched(category="") == everything


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "yesterday"}, "from"),
        ({"from": "2024-03-01", "to": "2024-02-01"}, "to"),
        ({"to": "2024-02-30"}, "to"),
        ({"category": "wombats"}, "category"),
        ({"priority": "parking"}, "priority"),
        ({"bbox": "1,2,3"}, "bbox"),
        ({"bbox": "-1,54,-2,55"}, "bbox"),
        ({"bbox": "a,b,c,d"}, "bbox"),
        ({"limit": "100000"}, "limit"),
        ({"limit": "0"}, "limit"),
        ({"offset": "-1"}, "offset"),
    ],
)
def test_bad_query_parameters_are_422_naming_them(demo_client: TestClient, params: dict,
                                                   field: str):
    r = demo_client.get("/v1/incidents", params=params)
    assert r.status_code == 422, r.text
    assert field in json.dumps(r.json())


def test_layers(demo_client: TestClient, client: TestClient):
    listed = demo_client.get("/v1/layers").json()
    assert {x["kind"] for x in listed} == {"force_boundary", "town_centres", "built_up_areas",
                                           "rural_urban_lookup", "heritage_sites", "patrol_bases",
                                           "roads"}
    sites = demo_client.get("/v1/layers/heritage_sites").json()
    assert sites["type"] == "FeatureCollection" and "crs" not in sites
    assert len(sites["features"]) >= 10
    assert demo_client.get("/v1/layers/rural_urban_lookup").json()["rows"][0]["lsoa_code"]
    assert client.get("/v1/layers/town_centres").status_code == 404
    roads = demo_client.get("/v1/layers/roads").json()["features"]
    assert roads and all(f["properties"]["speed_kph"] > 0 for f in roads)
    assert demo_client.get("/v1/layers/railways").status_code == 422


def test_docs_work_offline(client: TestClient):
    page = client.get("/docs").text
    sources = re.findall(r'(?:src|href)="([^"]+)"', page) + re.findall(r"url: '([^']+)'", page)
    assert sources, page
    assert all(not s.startswith(("http://", "https://", "//")) for s in sources), sources
    for s in re.findall(r'(?:src|href)="([^"]+)"', page):
        assert client.get(s).status_code == 200, s
    assert client.get("/redoc").status_code == 200
    spec = client.get("/openapi.json").json()
    assert {"get", "post"} <= set(spec["paths"]["/v1/incidents"])
    assert "multipart/form-data" in spec["paths"]["/v1/incidents"]["post"]["requestBody"]["content"]


def test_landing_page_and_taxonomy(demo_client: TestClient):
    page = demo_client.get("/").text
    assert "Open Government Licence" in page and 'id="hs-legend"' in page
    tax = demo_client.get("/v1/taxonomy").json()
    assert tax["categories"]["hare_coursing"]["priority"] == "rural"
    assert demo_client.get("/v1/ingests").json()[0]["format"] == "force-export"


def test_an_unopenable_store_answers_503_with_retry_after(tmp_path: Path):
    blocked = tmp_path / "not-a-store"
    blocked.write_bytes(b"garbage" * 1000)
    settings = Settings(data_dir=tmp_path, database_url=str(blocked))
    with TestClient(create_app(settings)) as c:
        r = c.get("/health")
        assert r.status_code == 503 and r.headers["retry-after"]
        assert r.json()["store"]["ok"] is False
        r = c.get("/v1/incidents")
        assert r.status_code == 503 and r.headers["retry-after"]
        assert "not a hotspot store" in r.json()["detail"]
        assert str(tmp_path) not in r.text
