"""Vector tiles (/tiles/incidents and /tiles/density) through the real app on both stores at
once: PostGIS makes them with ST_AsMVT, the embedded store with mapbox-vector-tile; decoded,
the same features come back (properties, counts, positions inside the tile extent), who may
read them, and bad tile addresses refused with a 4xx naming the field."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import mapbox_vector_tile
import numpy as np
import pytest
from fastapi.testclient import TestClient
from pyproj import Transformer

from geodata.schema import IncidentFilter
from geodata.tiles import EXTENT, TileStore, tile_filter
from tests.api.test_api import served_demo
from tests.conftest import STORE_KINDS, as_role, make_store

PERIOD = {"from": "", "to": ""}  # every incident (the page's default is the last 6 months)
Z = 10
_MERC = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)


@pytest.fixture(scope="module")
def apps(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
         demo_files) -> Iterator[dict[str, TestClient]]:
    """The demo served from each store, an admin's key on each client."""
    with ExitStack() as stack:
        out = {}
        for kind in STORE_KINDS:
            root: Path = tmp_path_factory.mktemp(f"tiles-{kind}")
            client = stack.enter_context(served_demo(make_store(kind, root, request), root,
                                                     demo_files))
            out[kind] = as_role(client)
        yield out


def _decode(data: bytes) -> dict:
    return mapbox_vector_tile.decode(data, default_options={"y_coord_down": True}) if data else {}


def _all_incidents(client: TestClient, **params: str) -> list[dict]:
    feats, offset = [], 0
    while True:
        r = client.get("/v1/incidents", params={**params, "limit": 500, "offset": offset})
        assert r.status_code == 200, r.text
        page = r.json()["features"]
        feats += page
        if len(page) < 500:
            return feats
        offset += 500


def _tiles_of(points: list[dict], z: int) -> set[tuple[int, int]]:
    n = 1 << z
    out = set()
    for f in points:
        lon, lat = f["geometry"]["coordinates"]
        x = int((lon + 180) / 360 * n)
        y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
        out.add((x, y))
    return out


def _tile(client: TestClient, layer: str, z: int, x: int, y: int, **params: str) -> bytes:
    r = client.get(f"/tiles/{layer}/{z}/{x}/{y}.mvt", params={**PERIOD, **params})
    assert r.status_code in (200, 204), r.text
    if r.status_code == 200:
        assert r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
        assert r.headers["x-data-version"]
    return r.content


def _points(data: bytes) -> list[tuple]:
    layer = _decode(data).get("incidents")
    if layer is None:
        return []
    assert layer["extent"] == EXTENT
    out = []
    for f in layer["features"]:
        assert f["geometry"]["type"] == "Point"
        px, py = f["geometry"]["coordinates"]
        assert 0 <= px <= EXTENT and 0 <= py <= EXTENT  # inside the tile
        p = f["properties"]
        out.append((p["category"], p["crime_type"], p["occurred_at"], px, py))
    return sorted(out)


def test_incident_tiles_hold_the_same_incidents_in_both_stores(apps) -> None:
    """Every incident of a priority comes back once, in the tile that holds it, with the same
    properties from both stores, at the tile pixel its longitude/latitude project to."""
    params = {"priority": "theft_burglary_robbery"}
    expected = _all_incidents(apps["sqlite"], **params)
    assert len(expected) > 500
    tiles = _tiles_of(expected, Z)
    got: dict[str, list[tuple]] = {kind: [] for kind in apps}
    for x, y in sorted(tiles):
        for kind, client in apps.items():
            points = _points(_tile(client, "incidents", Z, x, y, **params))
            got[kind] += points
        a, b = got["sqlite"], got["postgis"]
        assert len(a) == len(b)
    assert len(got["sqlite"]) == len(expected)  # none lost, none twice
    props = Counter((f["properties"]["category"], f["properties"]["crime_type"])
                    for f in expected)
    for kind in apps:
        assert Counter((c, t) for c, t, *_ in got[kind]) == props, kind
    # positions: the same pixel in both stores (rounding may differ by one)
    a = np.array([p[2:] for p in got["sqlite"]], dtype=float)
    b = np.array([p[2:] for p in got["postgis"]], dtype=float)
    assert np.array_equal(a[:, 0], b[:, 0])
    assert np.abs(a[:, 1:] - b[:, 1:]).max() <= 1


def test_a_point_sits_where_its_coordinates_project(apps) -> None:
    """One incident's tile pixel, worked out independently with PROJ's Web Mercator."""
    inc = _all_incidents(apps["sqlite"], priority="theft_burglary_robbery")[0]
    lon, lat = inc["geometry"]["coordinates"]
    z = 15
    ((x, y),) = _tiles_of([inc], z)
    mx, my = _MERC.transform(lon, lat)
    half = 20037508.342789244
    size = 2 * half / (1 << z)
    want = ((mx - (-half + x * size)) / size * EXTENT, ((half - y * size) - my) / size * EXTENT)
    for kind, client in apps.items():
        pts = _points(_tile(client, "incidents", z, x, y, priority="theft_burglary_robbery"))
        assert any(abs(px - want[0]) <= 1.5 and abs(py - want[1]) <= 1.5
                   and c == inc["properties"]["category"] for c, _t, _o, px, py in pts), kind


def test_a_tile_without_incidents_is_empty(apps) -> None:
    for client in apps.values():
        r = client.get("/tiles/incidents/10/0/0.mvt", params=PERIOD)  # the Arctic Pacific
        assert r.status_code == 204 and r.content == b""


def test_the_period_narrows_the_tiles(apps) -> None:
    every = _all_incidents(apps["sqlite"])
    months = sorted({f["properties"]["occurred_at"][:7] for f in every})
    month = months[len(months) // 2]
    one = _all_incidents(apps["sqlite"], **{"from": month, "to": month})
    assert 0 < len(one) < len(every)
    for kind, client in apps.items():
        n = sum(len(_points(_tile(client, "incidents", Z, x, y, **{"from": month, "to": month})))
                for x, y in _tiles_of(one, Z))
        assert n == len(one), kind


def test_a_tile_past_its_limit_is_thinned_evenly_the_same_way(apps) -> None:
    """The store's limit: past it, every k-th incident by row id (k the least that brings the
    tile under the limit), so the whole period shows thinned, not only the oldest loaded;
    the count says how many there were."""
    every = _all_incidents(apps["sqlite"])
    (x, y), _n = Counter(next(iter(_tiles_of([f], 9))) for f in every).most_common(1)[0]
    k = -(-_n // 10)
    assert k >= 2  # the busiest tile holds far more than ten
    for kind, client in apps.items():
        store = client.app.state.store
        assert isinstance(store, TileStore)
        data, count = store.incident_tile(IncidentFilter(), 9, x, y, limit=10)
        assert count == _n, kind
        thinned = _points(data)
        assert len(thinned) == -(-_n // k) <= 10, kind
        whole, total = store.incident_tile(IncidentFilter(), 9, x, y)
        assert total == _n and len(_points(whole)) == _n, kind
        assert set(thinned) <= set(_points(whole)), kind
        # exactly every k-th of the tile's incidents in row-id order, from the first
        cols = store.incidents(tile_filter(IncidentFilter(), 9, x, y), extra=("crime_type",))
        order = np.argsort(np.asarray(cols.rid), kind="stable")[::k]
        wanted = sorted(zip(np.asarray(cols.category, dtype=object)[order].tolist(),
                            np.asarray(cols.extra["crime_type"], dtype=object)[order].tolist(),
                            np.asarray(cols.occurred_at)[order].tolist(), strict=True))
        assert [p[:3] for p in thinned] == wanted, kind


def _bands(data: bytes) -> dict[int, tuple[float, float, float]]:
    layer = _decode(data).get("density")
    if layer is None:
        return {}
    out: dict[int, tuple[float, float, float]] = {}
    for f in layer["features"]:
        g = f["geometry"]
        assert g["type"] in ("Polygon", "MultiPolygon")
        rings = g["coordinates"] if g["type"] == "Polygon" else [
            r for poly in g["coordinates"] for r in poly]
        xy = np.array([pt for ring in rings for pt in ring], dtype=float)
        assert xy.min() >= -64 and xy.max() <= EXTENT + 64  # the tile and its buffer
        p = f["properties"]
        out[int(p["band"])] = (float(p["lower"]), float(p["upper"]), float(len(xy)))
    return out


def test_density_tiles_hold_the_same_bands_in_both_stores(apps) -> None:
    client = apps["sqlite"]
    r = client.get("/v1/density", params={**PERIOD, "format": "geojson"})
    assert r.status_code == 200, r.text
    bands = {f["properties"]["band"]: f for f in r.json()["features"]}
    assert len(bands) >= 3
    pts = [{"geometry": {"coordinates": f["geometry"]["coordinates"][0][0]
                         if f["geometry"]["type"] == "Polygon"
                         else f["geometry"]["coordinates"][0][0][0]}} for f in bands.values()]
    seen: dict[str, dict[int, tuple[float, float]]] = {k: {} for k in apps}
    for x, y in sorted(_tiles_of(pts, 11)):
        for kind, c in apps.items():
            for band, (low, high, _n) in _bands(_tile(c, "density", 11, x, y)).items():
                seen[kind][band] = (low, high)
    assert seen["sqlite"] == seen["postgis"]
    for band, (low, high) in seen["sqlite"].items():
        props = bands[band]["properties"]
        assert low == pytest.approx(props["lower"]) and high == pytest.approx(props["upper"])
    assert set(seen["sqlite"]) == set(bands)


@pytest.mark.parametrize("role", ["partner", "rural_team"])
def test_incident_tiles_are_refused_to_partners_and_the_rural_team(apps, role) -> None:
    for kind, admin in apps.items():
        with TestClient(admin.app) as c:
            as_role(c, role)
            r = c.get("/tiles/incidents/10/509/329.mvt", params=PERIOD)
            assert r.status_code == 403, (kind, r.text)
            density = c.get("/tiles/density/10/509/329.mvt", params=PERIOD)
            assert density.status_code == (403 if role == "partner" else 200) or (
                role == "rural_team" and density.status_code == 204), (kind, density.text)


def test_tiles_need_a_key(apps) -> None:
    with TestClient(apps["sqlite"].app) as c:
        assert c.get("/tiles/incidents/10/509/329.mvt").status_code == 401


@pytest.mark.parametrize(("path", "field"), [
    ("/tiles/incidents/23/0/0.mvt", "z"),
    ("/tiles/incidents/-1/0/0.mvt", "z"),
    ("/tiles/incidents/3/8/0.mvt", "x"),
    ("/tiles/incidents/3/0/8.mvt", "y"),
    ("/tiles/incidents/3/0/x.mvt", "y"),
    ("/tiles/density/3/0/99.mvt", "y"),
    ("/tiles/density/30/0/0.mvt", "z"),
])
def test_bad_tile_addresses_are_refused_naming_the_field(apps, path, field) -> None:
    for client in apps.values():
        r = client.get(path, params=PERIOD)
        assert r.status_code == 422, r.text
        assert field in r.text


def test_bad_selection_and_unknown_layer(apps) -> None:
    for client in apps.values():
        r = client.get("/tiles/incidents/10/509/329.mvt", params={"from": "2024-13"})
        assert r.status_code == 422 and "from" in r.text
        r = client.get("/tiles/incidents/10/509/329.mvt", params={"priority": "nope"})
        assert r.status_code == 422 and "priority" in r.text
        assert client.get("/tiles/roads/10/509/329.mvt").status_code == 404
        # the offline basemap's route is still its own: none registered here
        r = client.get("/tiles/10/509/329.png")
        assert r.status_code == 404 and "offline basemap" in r.text
