"""GeoPackage and CSV downloads through the real app on the demo force area, on both stores:
every GeoPackage read back with pyogrio (layer names, counts, CRS EPSG:27700, geometry
types), partners get only published products, bad input is a 4xx naming the field, and every
download carries its file name and the data.police.uk attribution."""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyogrio
import pytest
from fastapi.testclient import TestClient
from pyproj import Transformer

from api.access import new_key
from api.formats import ATTRIBUTION
from api.services.products import HOTSPOT_COLUMNS
from tests.api.test_api import served_demo
from tests.conftest import STORE_KINDS, make_store

BNG = "EPSG:27700"
GPKG = "application/geopackage+sqlite3"
PERIOD = {"from": "2024-07", "to": "2024-12"}
PLAN = {"name": "Export lates", "shift": {"start": "2024-06-14T16:00", "end": "2024-06-15T02:00"},
        "rural_crime_team": {"vehicles": 2}, "town_centre_officers": {"Thornbury": 2},
        "hotspots": {"method": "dbscan"}, "time_limit_s": 0.5, "published": True}


@pytest.fixture(scope="module", params=STORE_KINDS)
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
           demo_files) -> Iterator[tuple[TestClient, dict[str, dict[str, str]]]]:
    root = tmp_path_factory.mktemp("exports-api")
    store = make_store(request.param, root, request)
    with served_demo(store, root, demo_files, rate_limit_per_minute=0) as c:
        keys = {role: {"Authorization": f"Bearer {new_key(store, name=role, role=role)[0]}"}
                for role in ("analyst", "partner", "rural_team", "admin")}
        yield c, keys


def _gpkg(body: bytes, tmp_path: Path, name: str = "download.gpkg") -> Path:
    path = tmp_path / name
    path.write_bytes(body)
    return path


def _layers(path: Path) -> dict[str, str | None]:
    return {str(n): (None if g is None else str(g)) for n, g in pyogrio.list_layers(path)}


def _about(path: Path) -> dict[str, str]:
    about = pyogrio.read_dataframe(path, layer="about")
    return dict(zip(about["key"], about["value"], strict=True))


def _check_download(r: Any, filename: str, media_type: str = GPKG) -> None:
    assert r.status_code == 200, r.text[:500]
    assert r.headers["content-type"].startswith(media_type)
    assert r.headers["content-disposition"] == f'attachment; filename="{filename}"'
    assert r.headers["x-attribution"] == ATTRIBUTION
    assert "open-government-licence" in r.headers["link"]


def _check_attribution(path: Path) -> None:
    """data.police.uk's attribution on every layer made from incidents and in ``about``; a
    reference layer's description names its own file instead."""
    with sqlite3.connect(path) as db:
        rows = dict(db.execute("SELECT table_name, description FROM gpkg_contents"))
    from_incidents = {n for n in rows if n != "about" and not n.startswith(
        ("force_boundary", "town_centres", "built_up_areas", "heritage_sites", "patrol_bases",
         "roads", "rural_urban_lookup"))}
    assert all(rows[n] == ATTRIBUTION for n in from_incidents), rows
    assert all(rows[n].startswith("Reference layer ") and "loaded from" in rows[n]
               for n in set(rows) - from_incidents - {"about"}), rows
    assert _about(path)["attribution"] == ATTRIBUTION


def test_hotspots_as_a_geopackage(served, tmp_path: Path) -> None:
    c, keys = served
    fc = c.get("/v1/hotspots", params=PERIOD, headers=keys["analyst"]).json()
    r = c.get("/v1/hotspots", params={**PERIOD, "format": "gpkg"}, headers=keys["analyst"])
    _check_download(r, "demo-shire-hotspots-2024-07-to-2024-12.gpkg")
    path = _gpkg(r.content, tmp_path)
    assert _layers(path) == {"hotspots": "MultiPolygon", "hotspot_areas": "MultiPolygon",
                             "about": None}
    for name in ("hotspots", "hotspot_areas"):
        assert pyogrio.read_info(path, layer=name)["crs"] == BNG
    places = pyogrio.read_dataframe(path, layer="hotspots")
    n = len(fc["features"])
    assert n > 5 and len(places) == n == pyogrio.read_info(path, layer="hotspots")["features"]
    assert places["id"].tolist() == [f["properties"]["id"] for f in fc["features"]]
    # the shapes in metres: each place's area is what the table says
    assert np.allclose(places.geometry.area, places["area_m2"], rtol=1e-3)
    # the centroid in both CRSs, consistent
    to_bng = Transformer.from_crs("EPSG:4326", BNG, always_xy=True)
    xs, ys = to_bng.transform(places["centroid_lon"].to_numpy(), places["centroid_lat"].to_numpy())
    assert np.allclose(xs, places["centroid_x"], atol=1.0)
    assert np.allclose(ys, places["centroid_y"], atol=1.0)
    # the areas: every place's area_id is one, and each area covers its places
    areas = pyogrio.read_dataframe(path, layer="hotspot_areas")
    assert set(areas["area_id"]) == set(places["area_id"])
    assert int(areas["places"].sum()) == n
    assert int(areas["incidents"].sum()) == int(places["incidents"].sum())
    by_area = areas.set_index("area_id").geometry
    for _, p in places.iterrows():
        assert by_area[p["area_id"]].buffer(0.01).covers(p.geometry)
    _check_attribution(path)
    about = _about(path)
    assert about["crs"] == BNG and about["data_version"] == fc["data_version"]
    assert '"2024-07' in about["selection"]


def test_a_selection_with_no_hotspots_gives_empty_layers(served, tmp_path: Path) -> None:
    c, keys = served
    params = {**PERIOD, "method": "dbscan", "eps_m": "5", "min_samples": "100000"}
    assert c.get("/v1/hotspots", params=params, headers=keys["analyst"]).json()["features"] == []
    r = c.get("/v1/hotspots", params={**params, "format": "gpkg"}, headers=keys["analyst"])
    _check_download(r, "demo-shire-hotspots-2024-07-to-2024-12.gpkg")
    path = _gpkg(r.content, tmp_path)
    assert _layers(path) == {"hotspots": "MultiPolygon", "hotspot_areas": "MultiPolygon",
                             "about": None}
    for name in ("hotspots", "hotspot_areas"):
        info = pyogrio.read_info(path, layer=name)
        assert info["features"] == 0 and info["crs"] == BNG


@pytest.mark.parametrize(("params", "field"), [
    ({"format": "shp"}, "format"),
    ({"format": "gpkg", "from": "2024-13"}, "from"),
    ({"format": "gpkg", "method": "kde", "bandwidth_m": "-5"}, "bandwidth_m"),
])
def test_bad_hotspot_requests_name_the_field(served, params: dict[str, str], field: str) -> None:
    c, keys = served
    r = c.get("/v1/hotspots", params=params, headers=keys["analyst"])
    assert 400 <= r.status_code < 500 and r.status_code != 404, r.text
    assert _field_of(r.json()) == field, r.text


def _field_of(body: dict[str, Any]) -> str:
    if "field" in body:
        return str(body["field"])
    return str(body["detail"][0]["loc"][-1])  # FastAPI's own validation


@pytest.fixture(scope="module")
def product(served) -> str:
    c, keys = served
    r = c.post("/v1/products", json={"period": "2024-06"}, headers=keys["analyst"])
    assert r.status_code in (201, 409), r.text
    return "2024-06"


def test_partners_get_the_published_product_only(served, product: str, tmp_path: Path) -> None:
    c, keys = served
    as_geojson = c.get("/v1/hotspots", params={"period": product}, headers=keys["partner"])
    assert as_geojson.status_code == 200
    fc = as_geojson.json()
    r = c.get("/v1/hotspots", params={"period": product, "format": "gpkg"},
              headers=keys["partner"])
    _check_download(r, f"hotspots-{product}-all.gpkg")
    path = _gpkg(r.content, tmp_path)
    assert _layers(path) == {"hotspots": "MultiPolygon", "about": None}
    assert pyogrio.read_info(path, layer="hotspots")["crs"] == BNG
    back = pyogrio.read_dataframe(path, layer="hotspots")
    assert len(back) == len(fc["features"]) > 0
    # the product's columns and nothing else (no exact time, no incident)
    assert [c for c in back.columns if c != "geometry"] == \
        [c for c in HOTSPOT_COLUMNS if c in back.columns]
    assert back["incidents"].tolist() == [f["properties"]["incidents"] for f in fc["features"]]
    # every vertex a corner of the force grid (the product's squares), in metres
    xy = np.vstack([np.asarray(g.exterior.coords) for geom in back.geometry for g in geom.geoms])
    grid = fc["metadata"]["product"]["grid"]["size_m"]
    assert np.allclose(xy / grid, np.round(xy / grid), atol=1e-3)
    _check_attribution(path)
    assert product in _about(path)["product"]
    # the same answer for a second partner: nothing depends on the key
    other = new_key(c.app.state.store, name="p2", role="partner")[0]
    again = c.get("/v1/hotspots", params={"period": product, "format": "gpkg"},
                  headers={"Authorization": f"Bearer {other}"})
    path2 = _gpkg(again.content, tmp_path, "again.gpkg")
    assert pyogrio.read_dataframe(path2, layer="hotspots")["incidents"].tolist() == \
        back["incidents"].tolist()


@pytest.mark.parametrize(("params", "status", "field"), [
    ({"format": "gpkg", "method": "dbscan"}, 422, "method"),
    ({"format": "gpkg", "bbox": "-1.2,54,-1,54.2"}, 422, "bbox"),
    ({"format": "gpkg", "from": "2024-06-03", "to": "2024-06-20"}, 422, "from"),
    ({"format": "gpkg", "period": "2023-02"}, 404, "period"),
    ({"format": "gpkg", "period": "2024-06", "priority": "nonsense"}, 422, "priority"),
])
def test_partners_cannot_ask_a_geopackage_of_their_own(served, product: str,
                                                       params: dict[str, str], status: int,
                                                       field: str) -> None:
    c, keys = served
    r = c.get("/v1/hotspots", params=params, headers=keys["partner"])
    assert r.status_code == status, r.text
    assert r.json()["field"] == field
    assert GPKG not in r.headers["content-type"]


EXPECTED_LAYERS = {
    "force_boundary": {"force_boundary": "Polygon"},
    "town_centres": {"town_centres": "Polygon"},
    "built_up_areas": {"built_up_areas": "Polygon"},
    "heritage_sites": {"heritage_sites_points": "Point", "heritage_sites_polygons": "Polygon"},
    "patrol_bases": {"patrol_bases": "Point"},
    "roads": {"roads": "LineString"},
    "rural_urban_lookup": {"rural_urban_lookup": None},
}


@pytest.mark.parametrize("kind", list(EXPECTED_LAYERS))
def test_reference_layers_as_geopackage_and_csv(served, kind: str, tmp_path: Path) -> None:
    c, keys = served
    listed = {x["kind"]: x["features"] for x in c.get("/v1/layers",
                                                      headers=keys["analyst"]).json()}
    r = c.get(f"/v1/layers/{kind}", params={"format": "gpkg"}, headers=keys["rural_team"])
    _check_download(r, f"{kind}.gpkg")
    path = _gpkg(r.content, tmp_path)
    assert _layers(path) == {**EXPECTED_LAYERS[kind], "about": None}
    total = 0
    for name, gtype in EXPECTED_LAYERS[kind].items():
        info = pyogrio.read_info(path, layer=name)
        assert info["crs"] == (BNG if gtype else None)
        total += info["features"]
    assert total == listed[kind] > 0
    _check_attribution(path)

    r = c.get(f"/v1/layers/{kind}", params={"format": "csv"}, headers=keys["analyst"])
    _check_download(r, f"{kind}.csv", "text/csv")
    table = pd.read_csv(io.StringIO(r.text))
    assert len(table) == listed[kind]
    if EXPECTED_LAYERS[kind][next(iter(EXPECTED_LAYERS[kind]))] is None:
        assert {"lsoa_code", "classification"} <= set(table.columns)
        return
    assert list(table.columns[-4:]) == ["x", "y", "lon", "lat"]
    to_bng = Transformer.from_crs("EPSG:4326", BNG, always_xy=True)
    xs, ys = to_bng.transform(table["lon"].to_numpy(), table["lat"].to_numpy())
    assert np.allclose(xs, table["x"], atol=0.5) and np.allclose(ys, table["y"], atol=0.5)
    # each row's point lies on its feature, read from the GeoPackage
    shapes = pd.concat([pyogrio.read_dataframe(path, layer=n) for n in EXPECTED_LAYERS[kind]])
    from shapely import Point
    for (_, row), geom in zip(table.iterrows(), _in_csv_order(shapes, table), strict=True):
        assert geom.buffer(0.2).covers(Point(row["x"], row["y"]))


def _in_csv_order(shapes: Any, table: pd.DataFrame) -> list[Any]:
    """The GeoPackage's shapes in the CSV's row order (matched by name when the layer was
    split by geometry kind)."""
    if len(shapes) == len(table) and "name" in table.columns and \
            list(shapes["name"]) != list(table["name"]):
        by_name = dict(zip(shapes["name"], shapes.geometry, strict=True))
        return [by_name[n] for n in table["name"]]
    return list(shapes.geometry)


def test_layer_downloads_refuse_bad_input_and_partners(served) -> None:
    c, keys = served
    r = c.get("/v1/layers/roads", params={"format": "kml"}, headers=keys["analyst"])
    assert r.status_code == 422 and _field_of(r.json()) == "format"
    r = c.get("/v1/layers/rivers", params={"format": "gpkg"}, headers=keys["analyst"])
    assert r.status_code == 422 and _field_of(r.json()) == "kind"
    for fmt in ("gpkg", "csv"):
        r = c.get("/v1/layers/patrol_bases", params={"format": fmt}, headers=keys["partner"])
        assert r.status_code == 403 and "Patrol" not in r.text


@pytest.fixture(scope="module")
def plan(served) -> dict[str, Any]:
    c, keys = served
    r = c.post("/v1/patrol-plans", json=PLAN, headers=keys["analyst"])
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_a_plan_as_a_geopackage(served, plan: dict[str, Any], tmp_path: Path) -> None:
    c, keys = served
    pid = plan["plan_id"]
    fc = c.get(f"/v1/patrol-plans/{pid}", params={"format": "geojson"},
               headers=keys["rural_team"]).json()
    kinds = [f["properties"]["kind"] for f in fc["features"]]
    r = c.get(f"/v1/patrol-plans/{pid}", params={"format": "gpkg"}, headers=keys["rural_team"])
    _check_download(r, f"patrol-plan-{pid}.gpkg")
    path = _gpkg(r.content, tmp_path)
    assert _layers(path) == {"plan_routes": "MultiLineString", "plan_stops": "Point",
                             "plan_left_out": "Point", "about": None}
    counts = {n: pyogrio.read_info(path, layer=n)["features"]
              for n in ("plan_routes", "plan_stops", "plan_left_out")}
    assert counts == {"plan_routes": kinds.count("route"),
                      "plan_stops": kinds.count("stop") + kinds.count("base"),
                      "plan_left_out": kinds.count("left_out")}
    assert counts["plan_routes"] == len(plan["routes"]) > 0
    assert kinds.count("stop") == plan["totals"]["stops"]
    for n in counts:
        assert pyogrio.read_info(path, layer=n)["crs"] == BNG
    stops = pyogrio.read_dataframe(path, layer="plan_stops")
    assert set(stops["plan_id"]) == {pid}
    # the stops where the plan puts them (its lon/lat, in metres)
    to_bng = Transformer.from_crs("EPSG:4326", BNG, always_xy=True)
    first = next(s for r_ in plan["routes"] for s in r_["stops"] if s["kind"] == "hotspot")
    x, y = to_bng.transform(first["lon"], first["lat"])
    assert np.hypot(stops.geometry.x - x, stops.geometry.y - y).min() < 0.5
    routes = pyogrio.read_dataframe(path, layer="plan_routes")
    assert (routes.geometry.length > 100).all()  # metres of road, not degrees
    _check_attribution(path)
    assert _about(path)["plan_id"] == pid


def test_plan_downloads_refuse_bad_input_and_partners(served, plan: dict[str, Any]) -> None:
    c, keys = served
    pid = plan["plan_id"]
    r = c.get(f"/v1/patrol-plans/{pid}", params={"format": "shp"}, headers=keys["analyst"])
    assert r.status_code == 422 and _field_of(r.json()) == "format"
    r = c.get("/v1/patrol-plans/0123456789abcdef", params={"format": "gpkg"},
              headers=keys["analyst"])
    assert r.status_code == 404 and r.json()["field"] == "plan_id"
    r = c.get(f"/v1/patrol-plans/{pid}", params={"format": "gpkg"}, headers=keys["partner"])
    assert r.status_code == 403


def test_a_draft_plan_is_no_download_for_the_rural_team(served) -> None:
    c, keys = served
    r = c.post("/v1/patrol-plans", json={**PLAN, "published": False}, headers=keys["analyst"])
    assert r.status_code == 201
    pid = r.json()["plan_id"]
    r = c.get(f"/v1/patrol-plans/{pid}", params={"format": "gpkg"}, headers=keys["rural_team"])
    assert 400 <= r.status_code < 500 and GPKG not in r.headers["content-type"]
    r = c.get(f"/v1/patrol-plans/{pid}", params={"format": "gpkg"}, headers=keys["analyst"])
    assert r.status_code == 200 and r.headers["content-type"] == GPKG
