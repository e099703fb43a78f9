"""The hotspot API through the real app: GeoJSON and CSV, the density surface, the planner's
page, caching by data version, and a 422 naming the parameter for every bad one."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from geodata.demo import load_demo
from geodata.stores import SQLiteStore
from maps.assets import static_version
from tests.api.test_api import settings_for, upload
from tests.conftest import LINCOLNSHIRE, NORTH_YORKSHIRE, as_role

pytestmark = pytest.mark.real_data


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory: pytest.TempPathFactory, demo_files) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("hotspots-api")
    store = SQLiteStore.open(root / "demo.sqlite")
    load_demo(store, demo_files)
    with TestClient(create_app(settings_for(root), store=store, demo=True)) as c:
        yield as_role(c)
    store.close()


@pytest.fixture
def force_client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(settings_for(tmp_path))) as c:
        yield as_role(c)


def test_hotspots_are_rfc7946_geojson_with_parameters_and_version(demo_app: TestClient):
    r = demo_app.get("/v1/hotspots")
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    body = r.json()
    assert body["type"] == "FeatureCollection" and "crs" not in body
    version = demo_app.get("/health").json()["store"]["data_version"]
    assert body["data_version"] == version == r.headers["x-data-version"]
    assert body["parameters"]["method"] == "dbscan"
    assert body["parameters"]["min_samples"] == "auto" and body["parameters"]["eps_m"] == 150
    features = body["features"]
    assert [f["properties"]["rank"] for f in features] == list(range(1, len(features) + 1))
    assert {f["properties"]["context_class"] for f in features} == {
        "town_centre", "rural", "heritage_site", "urban"}
    for f in features:
        assert f["geometry"]["type"] in ("Polygon", "MultiPolygon")
        ring = f["geometry"]["coordinates"][0] if f["geometry"]["type"] == "Polygon" else \
            f["geometry"]["coordinates"][0][0]
        lon, lat = ring[0]
        assert -3 < lon < 1 and 53 < lat < 55  # longitude first, WGS84
    kde = demo_app.get("/v1/hotspots", params={"method": "kde", "bandwidth_m": 300,
                                               "priority": "rural"}).json()
    assert kde["parameters"]["bandwidth_m"] == 300 and kde["parameters"]["method"] == "kde"
    assert kde["features"] and all(f["properties"]["method"] == "kde" for f in kde["features"])
    assert {f["properties"]["context_class"] for f in kde["features"]} <= {"rural",
                                                                           "heritage_site"}


def test_selection_narrows_the_hotspots(demo_app: TestClient):
    every = demo_app.get("/v1/hotspots").json()["features"]
    york = demo_app.get("/v1/hotspots", params={"town": "Thornbury"}).json()
    assert 0 < len(york["features"]) < len(every)
    assert york["metadata"]["selection"]["bbox"] is not None
    shop = demo_app.get("/v1/hotspots", params={"category": "shoplifting"}).json()
    assert shop["features"]
    assert all(set(f["properties"]["category_mix"]) == {"shoplifting"} for f in shop["features"])


def test_csv_by_accept_header_and_by_format(demo_app: TestClient):
    gj = demo_app.get("/v1/hotspots").json()
    r = demo_app.get("/v1/hotspots", headers={"Accept": "text/csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == len(gj["features"])
    assert rows[0]["id"] == gj["features"][0]["properties"]["id"] and rows[0]["rank"] == "1"
    assert rows[0]["wkt_wgs84"].startswith(("POLYGON", "MULTIPOLYGON"))
    assert float(rows[0]["centroid_lon"]) < 1 and float(rows[0]["centroid_lat"]) > 53
    assert demo_app.get("/v1/hotspots", params={"format": "csv"}).text == r.text


def test_csv_cells_from_data_never_run_as_formulas(force_client: TestClient):
    formula = "=HYPERLINK(\"http://x\",\"y\")"
    features = [{"type": "Feature", "id": f"f{i}",
                 "geometry": {"type": "Point", "coordinates": [-1.08 + i * 1e-5, 53.96]},
                 "properties": {"occurred_at": "2024-03-05T22:10:00Z",
                                "crime_type": "Shoplifting", "location": formula}}
                for i in range(12)]
    r = force_client.post("/v1/incidents", content=json.dumps(
        {"type": "FeatureCollection", "features": features}),
        headers={"content-type": "application/geo+json"})
    assert r.status_code == 201, r.text
    gj = force_client.get("/v1/hotspots", params={"min_samples": 5}).json()
    assert gj["features"][0]["properties"]["top_locations"] == [formula]  # JSON: as recorded
    rows = list(csv.DictReader(io.StringIO(
        force_client.get("/v1/hotspots", params={"min_samples": 5, "format": "csv"}).text)))
    assert len(rows) == 1 and rows[0]["top_locations"] == "'" + formula
    # every text column (names and streets are pandas' str dtype, not object): none runs
    named = [k for k, v in rows[0].items() if formula in v]
    assert {"name", "street", "top_locations"} <= set(named)
    assert all(rows[0][k] == "'" + formula or rows[0][k].startswith("'") for k in named)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"method": "svm"}, "method"),
        ({"bandwidth_m": "250"}, "bandwidth_m"),          # a KDE parameter with DBSCAN
        ({"method": "kde", "eps_m": "100"}, "eps_m"),     # and the other way round
        ({"method": "kde", "bandwidth_m": "-5"}, "bandwidth_m"),
        ({"method": "kde", "bandwidth_m": "abc"}, "bandwidth_m"),
        ({"method": "kde", "kernel": "box"}, "kernel"),
        ({"method": "kde", "share": "1.5"}, "share"),
        ({"eps_m": "0"}, "eps_m"),
        ({"min_samples": "many"}, "min_samples"),
        ({"min_samples": "-3"}, "min_samples"),
        ({"min_samples": "nan"}, "min_samples"),
        ({"priority": "parking"}, "priority"),
        ({"category": "shoplifting,flying"}, "category"),
        ({"from": "last week"}, "from"),
        ({"to": "2024-13"}, "to"),
        ({"from": "2024-05", "to": "2024-04"}, "to"),
        ({"bbox": "1,2,3"}, "bbox"),
        ({"bbox": "-1,55,-2,54"}, "bbox"),
        ({"bbox": "nan,1,2,3"}, "bbox"),
        ({"town": "Atlantis"}, "town"),
        ({"heritage_distance_m": "-1"}, "heritage_distance_m"),
        ({"weighted": "perhaps"}, "weighted"),
        ({"format": "xlsx"}, "format"),
    ],
)
def test_bad_parameters_are_422_naming_them(demo_app: TestClient, params: dict, field: str):
    for path in ("/v1/hotspots", "/v1/hotspots/map"):
        r = demo_app.get(path, params=params)
        if field == "format" and path.endswith("map"):
            continue  # the page has no format
        assert r.status_code == 422, (path, r.text)
        assert field in json.dumps(r.json()), r.text


def test_density_bad_parameters_and_empty_selection(demo_app: TestClient):
    r = demo_app.get("/v1/density", params={"bands": 50, "format": "geojson"})
    assert r.status_code == 422 and "bands" in r.text
    r = demo_app.get("/v1/density", params={"bbox": "-0.1,50.0,0.0,50.1"})
    assert r.status_code == 422 and "no incidents" in r.json()["detail"]


def test_repeated_requests_come_from_the_cache_with_etags(demo_app: TestClient):
    cache = demo_app.app.state.cache  # type: ignore[attr-defined]
    params = {"priority": "asb", "eps_m": "140"}
    first = demo_app.get("/v1/hotspots", params=params)
    misses, hits = cache.misses, cache.hits
    second = demo_app.get("/v1/hotspots", params=params)
    assert second.content == first.content
    assert (cache.misses, cache.hits) == (misses, hits + 1)
    as_csv = demo_app.get("/v1/hotspots", params={**params, "format": "csv"})
    assert cache.misses == misses and as_csv.headers["etag"] != first.headers["etag"]
    r = demo_app.get("/v1/hotspots", params=params,
                     headers={"If-None-Match": first.headers["etag"]})
    assert r.status_code == 304 and r.content == b""
    # the GeoJSON's tag does not stand for the CSV asked for by the Accept header
    r = demo_app.get("/v1/hotspots", params=params,
                     headers={"If-None-Match": first.headers["etag"], "Accept": "text/csv"})
    assert r.status_code == 200 and r.headers["etag"] == as_csv.headers["etag"]
    assert r.headers["vary"] in ("Accept", "Accept, Accept-Encoding")  # gzip adds its own


def test_concurrent_requests_compute_once_off_the_event_loop(demo_app: TestClient):
    app = demo_app.app
    cache = app.state.cache  # type: ignore[attr-defined]

    async def both() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://t",
                                     headers=dict(demo_app.headers)) as client:
            params = {"priority": "rural", "eps_m": "175"}
            return list(await asyncio.gather(
                client.get("/v1/hotspots", params=params),
                client.get("/v1/hotspots", params=params),
                client.get("/health"),
            ))

    misses = cache.misses
    a, b, health = asyncio.run(both())
    assert a.status_code == b.status_code == health.status_code == 200
    assert a.content == b.content and cache.misses == misses + 1


def test_a_new_ingest_changes_the_version_and_the_hotspots(force_client: TestClient):
    assert upload(force_client, NORTH_YORKSHIRE).status_code == 201
    first = force_client.get("/v1/hotspots", params={"method": "kde"})
    again = force_client.get("/v1/hotspots", params={"method": "kde"})
    assert first.content == again.content
    assert upload(force_client, LINCOLNSHIRE).status_code == 201
    after = force_client.get("/v1/hotspots", params={"method": "kde"})
    assert after.json()["data_version"] != first.json()["data_version"]
    assert after.headers["x-data-version"] == after.json()["data_version"]
    assert after.json()["metadata"]["summary"]["incidents"] > first.json()["metadata"][
        "summary"]["incidents"]
    r = force_client.get("/v1/hotspots", params={"method": "kde"},
                         headers={"If-None-Match": first.headers["etag"]})
    assert r.status_code == 200  # the old tag no longer matches


def test_empty_store_answers_an_empty_collection_and_a_page(force_client: TestClient):
    r = force_client.get("/v1/hotspots")
    assert r.status_code == 200 and r.json()["features"] == []
    page = force_client.get("/")
    assert page.status_code == 200 and 'id="hs-legend"' in page.text


def test_density_png_json_and_bands(demo_app: TestClient):
    desc = demo_app.get("/v1/density", params={"priority": "rural"}).json()
    (s, w), (n, e) = desc["bounds"]
    assert -3 < w < e < 1 and 53 < s < n < 55
    assert desc["units"] == "incidents per km2" and desc["top_per_km2"] > 0
    assert desc["grid"]["bandwidth_m"] == 150 and desc["grid"]["crs"] == "EPSG:27700"
    png = demo_app.get(desc["png"])
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert [float(v) for v in png.headers["x-bounds"].split(",")] == [w, s, e, n]
    bands = demo_app.get("/v1/density", params={"priority": "rural", "format": "geojson",
                                                "bands": 3}).json()
    assert bands["type"] == "FeatureCollection" and len(bands["features"]) == 3
    assert [f["properties"]["band"] for f in bands["features"]] == [1, 2, 3]
    lon, lat = bands["features"][0]["geometry"]["coordinates"][0][0][:2] if \
        bands["features"][0]["geometry"]["type"] == "Polygon" else \
        bands["features"][0]["geometry"]["coordinates"][0][0][0][:2]
    assert -3 < lon < 1 and 53 < lat < 55


def test_the_planner_page_and_its_assets(demo_app: TestClient):
    for path in ("/", "/v1/hotspots/map"):
        r = demo_app.get(path, params={"method": "kde", "bandwidth_m": 300, "town": "Thornbury"})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        page = r.text
        assert 'id="hs-legend"' in page and 'id="hs-controls"' in page
        assert f'src="/static/leaflet/leaflet.js?v={static_version()}"' in page
        assert f'action="{path}"' in page
        # the form keeps the area but not one method's parameters (it may switch method)
        assert 'name="town" value="Thornbury"' in page and 'name="bandwidth_m"' not in page
        assert "/v1/density?" in page and "download=1" in page
        assert "Open Government Licence" in page  # data.police.uk's attribution
        # the priorities in the taxonomy's words, as on the plans page, never its keys ("Asb")
        assert '<option value="asb">Anti-social behaviour, including fly-tipping</option>' in page
        assert ">Asb<" not in page and ">Theft burglary robbery<" not in page
    for asset in ("/static/leaflet/leaflet.js", "/static/leaflet/leaflet.css",
                  "/static/maps/planner.js", "/static/maps/planner.css",
                  "/static/leaflet/images/marker-icon.png"):
        assert demo_app.get(asset).status_code == 200, asset
    download = demo_app.get("/", params={"download": 1})
    assert download.status_code == 200
    assert "attachment" in download.headers["content-disposition"]
    assert "/static/" not in download.text and "<form" not in download.text
    assert "data:image/png;base64," in download.text
