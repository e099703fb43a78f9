"""The map with no internet through the real HTTP app, in both stores: the store's roads and
names for a box (GET /v1/basemap, its bounds and roles), and an offline basemap's tiles
(/tiles/tiles.json, /tiles/{z}/{x}/{y}.<ext>) from a file made from the demo's roads."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.services.basemap import basemap_features, page_tile_url
from api.settings import Settings
from tests.api.test_api import served_demo
from tests.conftest import STORE_KINDS, as_role, make_store
from tests.geodata.test_basemaps import (
    _centre,
    make_raster_tiles,
    make_vector_tiles,
    png,
    tile_of,
)

FORCE = "-1.37,53.95,-0.42,54.40"
"""A box around the demo county (WGS84)."""


@pytest.fixture(scope="module", params=STORE_KINDS)
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
        demo_files) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("basemap-api")
    tiles = make_vector_tiles(demo_files, root / "roads.mbtiles")
    with served_demo(make_store(request.param, root, request), root, demo_files,
                     basemap_file=tiles, tile_url="https://tiles.example/{z}/{x}/{y}.png") as c:
        yield as_role(c)


def _features(app: TestClient, bbox: str, zoom: int) -> list[dict]:
    r = app.get("/v1/basemap", params={"bbox": bbox, "zoom": zoom})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/geo+json"
    return r.json()["features"]


def test_roads_boundary_and_names_for_the_force(app: TestClient) -> None:
    feats = _features(app, FORCE, 10)
    layers = Counter(f["properties"]["layer"] for f in feats)
    assert layers["road"] > 5 and layers["boundary"] >= 1 and layers["area"] >= 10
    classes = {f["properties"]["class"] for f in feats if f["properties"]["layer"] == "road"}
    assert classes == {"a_road", "b_road"}  # streets and tracks only closer in
    labels = {f["properties"]["name"]: f["properties"]["kind"]
              for f in feats if f["properties"]["layer"] == "label"}
    assert labels["Thornbury"] == labels["Elmsford"] == "town"
    assert sum(k == "village" for k in labels.values()) >= 8
    assert "heritage" not in labels.values()  # names of sites from zoom 13
    for f in feats:  # WGS84, longitude first, inside the box
        g = f["geometry"]
        coords = [g["coordinates"]] if g["type"] == "Point" else _flat(g["coordinates"])
        assert all(-1.38 <= x <= -0.41 and 53.94 <= y <= 54.41 for x, y in coords), f
    # at zoom 8 only the A road; the B roads from zoom 8 on; villages' names from zoom 10
    low = _features(app, FORCE, 8)
    assert {f["properties"]["class"] for f in low if f["properties"]["layer"] == "road"} == {
        "a_road", "b_road"}
    assert not [f for f in low if f["properties"].get("kind") == "village"]
    assert not [f for f in _features(app, FORCE, 7) if f["properties"].get("class") == "b_road"]


def _flat(coords: list) -> list:
    while coords and isinstance(coords[0][0], list):
        coords = [c for part in coords for c in part]
    return coords


def test_closer_in_the_streets_sites_and_road_names_show(app: TestClient, demo_files) -> None:
    lon, lat = _centre(demo_files)
    box = f"{lon - 0.08},{lat - 0.05},{lon + 0.08},{lat + 0.05}"
    classes = {f["properties"].get("class") for f in _features(app, box, 13)}
    assert {"a_road", "track"} <= classes
    names = {(f["properties"]["kind"], f["properties"]["name"])
             for f in _features(app, box, 13) if f["properties"]["layer"] == "label"}
    assert ("road", "A1210") in names
    # one town's streets, its centre and the market cross, close in
    r = app.get("/v1/layers/town_centres").json()
    xs = [c[0] for c in _flat(r["features"][0]["geometry"]["coordinates"])]
    ys = [c[1] for c in _flat(r["features"][0]["geometry"]["coordinates"])]
    cx, cy = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
    near = _features(app, f"{cx - 0.02},{cy - 0.012},{cx + 0.02},{cy + 0.012}", 15)
    assert any(f["properties"].get("class") == "local" for f in near)
    kinds = {f["properties"]["kind"] for f in near if f["properties"]["layer"] == "label"}
    assert "town_centre" in kinds


def test_lines_are_simplified_for_the_zoom(app: TestClient) -> None:
    def vertices(zoom: int) -> int:
        return sum(len(_flat(f["geometry"]["coordinates"])) for f in _features(app, FORCE, zoom)
                   if f["properties"]["layer"] == "boundary")
    assert vertices(7) < vertices(10) / 2


def test_the_answer_is_bounded(app: TestClient, tmp_path: Path) -> None:
    store = app.app.state.store  # type: ignore[attr-defined]
    everything = basemap_features(store, (-1.37, 53.95, -0.42, 54.40), 16)
    assert not everything["truncated"]
    roads = [f for f in everything["features"] if f["properties"]["layer"] == "road"]
    small = basemap_features(store, (-1.37, 53.95, -0.42, 54.40), 16, max_features=40)
    kept = [f["properties"]["rank"] for f in small["features"]
            if f["properties"]["layer"] == "road"]
    assert small["truncated"] and 0 < len(kept) <= 40 < len(roads)
    assert max(kept) < max(f["properties"]["rank"] for f in roads)  # major roads kept first
    assert len(json.dumps(everything)) < 1_000_000


@pytest.mark.parametrize(("params", "field", "words"), [
    ({"bbox": FORCE, "zoom": 14}, "bbox", "too large for zoom 14"),
    ({"bbox": "-10,50,2,60", "zoom": 12}, "bbox", "too large"),
    ({"bbox": "1,2,3", "zoom": 10}, "bbox", "four numbers"),
    ({"bbox": "a,b,c,d", "zoom": 10}, "bbox", "four numbers"),
    ({"bbox": "0,0,0,0", "zoom": 10}, "bbox", "min longitude <"),
    ({"bbox": "-0.5,54,-1,54.1", "zoom": 10}, "bbox", "min longitude"),
    ({"bbox": "nan,54,-1,54.1", "zoom": 10}, "bbox", "four numbers"),
    ({"bbox": FORCE, "zoom": 23}, "zoom", ""),
    ({"bbox": FORCE, "zoom": -1}, "zoom", ""),
    ({"bbox": FORCE, "zoom": "ten"}, "zoom", ""),
    ({"bbox": FORCE}, "zoom", ""),
    ({"zoom": 10}, "bbox", ""),
])
def test_bad_boxes_and_zooms_are_422s_naming_the_field(app: TestClient, params: dict,
                                                        field: str, words: str) -> None:
    r = app.get("/v1/basemap", params=params)
    assert r.status_code == 422, r.text
    assert field in r.text and words in r.text


def test_partners_may_not_read_the_layers(app: TestClient) -> None:
    from api.access import new_key

    store = app.app.state.store  # type: ignore[attr-defined]
    for role, status in (("partner", 403), ("rural_team", 200), ("analyst", 200)):
        token, _ = new_key(store, name=f"basemap {role}", role=role)
        headers = {"Authorization": f"Bearer {token}"}
        r = app.get("/v1/basemap", params={"bbox": FORCE, "zoom": 9}, headers=headers)
        assert r.status_code == status, (role, r.text)
        r = app.get("/tiles/tiles.json", headers=headers)
        assert r.status_code == status, (role, r.text)
    anonymous = TestClient(app.app)
    assert anonymous.get("/v1/basemap", params={"bbox": FORCE, "zoom": 9}).status_code == 401


def test_the_offline_basemap_serves_its_vector_tiles(app: TestClient, demo_files) -> None:
    tj = app.get("/tiles/tiles.json").json()
    assert tj["vector"] is True and tj["format"] == "mvt" and tj["minzoom"] == 6
    assert tj["vector_layers"] == [{"id": "roads", "fields": {}}]
    url = tj["tiles"][0]
    assert url.startswith("/tiles/{z}/{x}/{y}.mvt?v=")
    lon, lat = _centre(demo_files)
    x, y = tile_of(lon, lat, 12)
    r = app.get(url.format(z=12, x=x, y=y), headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    assert r.headers["content-encoding"] == "gzip"  # passed on as stored, decoded by httpx
    assert b"A1210" in r.content and "max-age" in r.headers["cache-control"]
    plain = app.get(f"/tiles/12/{x}/{y}.mvt", headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200 and "content-encoding" not in plain.headers
    assert plain.content == r.content
    assert app.get(f"/tiles/12/{x}/{y}.pbf").status_code == 200
    # outside the county, and deeper than the file: an empty answer, not an error
    assert app.get("/tiles/12/0/0.mvt").status_code == 204
    assert app.get(f"/tiles/18/{x * 64}/{y * 64}.mvt").status_code == 204
    # another format: not this basemap's
    r = app.get(f"/tiles/12/{x}/{y}.png")
    assert r.status_code == 404 and ".mvt" in r.json()["detail"]


@pytest.mark.parametrize(("path", "field"), [
    ("/tiles/3/8/0.mvt", "x"), ("/tiles/3/0/8.mvt", "y"), ("/tiles/25/0/0.mvt", "z"),
    ("/tiles/-1/0/0.mvt", "z"), ("/tiles/a/0/0.mvt", "z"), ("/tiles/3/0/x.mvt", "y"),
    ("/tiles/3/0/0.tiff", "ext"),
])
def test_bad_tile_addresses_are_4xx(app: TestClient, path: str, field: str) -> None:
    r = app.get(path)
    assert r.status_code == 422, r.text
    assert field in r.text


def test_pages_draw_the_offline_basemap_instead_of_online_tiles(app: TestClient) -> None:
    settings: Settings = app.app.state.settings  # type: ignore[attr-defined]
    assert page_tile_url(settings) is None  # a basemap is registered
    assert page_tile_url(settings.model_copy(update={"basemap_file": None})) == \
        "https://tiles.example/{z}/{x}/{y}.png"
    page = app.get("/")
    assert page.status_code == 200
    assert "tiles.example" not in page.text and "/static/maps/basemap.js" in page.text
    assert "HotspotBasemap.add(" in page.text


def test_without_a_basemap_there_are_no_tiles(tmp_path: Path, demo_files) -> None:
    from geodata.stores import SQLiteStore

    with served_demo(SQLiteStore.open(tmp_path / "s.sqlite"), tmp_path, demo_files) as c:
        as_role(c)
        r = c.get("/tiles/tiles.json")
        assert r.status_code == 204 and not r.content  # pages ask on every load: no error
        r = c.get("/tiles/1/0/0.png")
        assert r.status_code == 404 and "hotspot basemap add" in r.json()["detail"]


def test_a_raster_basemap_and_a_missing_file(tmp_path: Path, demo_files) -> None:
    from geodata.stores import SQLiteStore

    tile = png((10, 120, 10))
    path = make_raster_tiles(tmp_path / "r.mbtiles", {(3, 3, 2): tile})
    with served_demo(SQLiteStore.open(tmp_path / "s.sqlite"), tmp_path, demo_files,
                     basemap_file=path) as c:
        as_role(c)
        tj = c.get("/tiles/tiles.json").json()
        assert tj["vector"] is False and tj["format"] == "png" and "vector_layers" not in tj
        assert tj["attribution"] == "<b>Test</b> & co"  # pages show it as text
        r = c.get("/tiles/3/3/2.png")
        assert r.status_code == 200 and r.content == tile
        assert r.headers["content-type"] == "image/png"
        assert c.get("/tiles/3/3/5.png").status_code == 204  # the TMS row of the same tile
        path.unlink()  # the file went away: back to the online tiles, no errors
        assert c.get("/tiles/tiles.json").status_code == 204
        assert c.get("/tiles/3/3/2.png").status_code == 404
        assert c.get("/").status_code == 200


def test_the_basemap_answer_is_gzipped(app: TestClient) -> None:
    r = app.get("/v1/basemap", params={"bbox": FORCE, "zoom": 10},
                headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200
    raw = r.num_bytes_downloaded
    assert r.headers.get("content-encoding") == "gzip" and raw < len(r.content) / 2
    assert gzip.compress(r.content)  # a real body
