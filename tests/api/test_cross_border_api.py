"""Cross-border hotspots and border products through the real app on the demo force area, in
both stores: a neighbour's file is a separate source, never counted with the force's; a
cluster planted across the force boundary is found whole, with counts by source that match a
hand count; the border product holds back small counts and is the same for everyone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient
from pyproj import Transformer

from api.access import new_key
from api.app import create_app
from api.services.border_products import KIND as BORDER
from api.services.products import KIND as PARTNER
from geodata.demo import load_demo
from geodata.ingest import ingest
from geodata.layers import FORCE_BOUNDARY
from geodata.neighbours import load_neighbour, neighbour_read_options
from geodata.readers import ReadOptions, open_reader
from geodata.stores import Store
from geodata.stores.base import DEMO
from tests.api.test_api import settings_for
from tests.conftest import STORE_KINDS, make_store

HEADER = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,"
          "LSOA name,Crime type,Last outcome category,Context\n")
NEIGHBOUR = "Northmoor Police"
"""Our planted neighbour (the demo already holds its own, Westmarch Police)."""
K = 5
GRID = 250.0
DBSCAN = {"method": "dbscan", "eps_m": 100, "min_samples": 5, "period": "2024-06"}


def _rows(force: str, points: list[tuple[float, float]], crs: str, prefix: str) -> list[str]:
    to_wgs = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    out = []
    for n, (x, y) in enumerate(points):
        lon, lat = to_wgs.transform(x, y)
        out.append(f"{prefix}{n:03d},2024-06,{force},{force},{lon:.7f},{lat:.7f},"
                   f"On or near Border Lane,E01000001,Border 001A,Vehicle crime,"
                   f"Under investigation,\n")
    return out


def _quiet_border_point(store: Store) -> tuple[Any, float, float]:
    """The force area, and a point of its boundary with no demo incident (the force's or its
    neighbour's) within 2 km."""
    area = shapely.union_all(store.get_layer(FORCE_BOUNDARY).frame.geometry.values)
    edge = shapely.boundary(area)
    own, theirs = store.incidents(), store.neighbour_incidents()
    x, y = np.concatenate([own.x, theirs.x]), np.concatenate([own.y, theirs.y])
    for d in np.arange(0, edge.length, 250.0):
        p = edge.interpolate(d)
        if (np.hypot(x - p.x, y - p.y) > 2000).all():
            return area, float(p.x), float(p.y)
    raise AssertionError("no quiet stretch of the demo boundary")


def _planted(area: Any, px: float, py: float) -> tuple[list[tuple[float, float]],
                                                       list[tuple[float, float]]]:
    """Points within 60 m of (px, py) (one place: narrower than max_place_m) at least 15 m
    from the boundary: those inside the force, those outside."""
    edge = shapely.boundary(area)
    inside, outside = [], []
    for dx in np.arange(-60, 61, 15.0):
        for dy in np.arange(-60, 61, 15.0):
            x, y = px + dx + 0.5, py + dy + 0.5
            if shapely.distance(shapely.Point(x, y), edge) < 15:
                continue
            (inside if area.contains(shapely.Point(x, y)) else outside).append((x, y))
    return inside, outside


@pytest.fixture(scope="module", params=STORE_KINDS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
          demo_files) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("cross-border")
    store = make_store(request.param, root, request)
    load_demo(store, demo_files)
    area, px, py = _quiet_border_point(store)
    inside, outside = _planted(area, px, py)
    assert len(inside) >= 10 and len(outside) >= 10
    force_file = root / "force-2024-06-street.csv"
    force_file.write_text(HEADER + "".join(_rows("Demo Police", inside, store.crs, "xb-f-")))
    opts = ReadOptions(crs=store.crs, timezone=store.timezone)
    assert ingest(store, open_reader(force_file, options=opts), purpose=DEMO).accepted == \
        len(inside)
    # the neighbour's file: its own cluster outside, one row the force holds (the same Crime
    # ID), one row twice, and one lone incident 1.5 km out (a square of one: held back)
    lone = (px + 1500.0, py)
    if area.contains(shapely.Point(lone)):
        lone = (px - 1500.0, py)
    rows = _rows(NEIGHBOUR, [*outside, lone], store.crs, "xb-n-")
    rows.append(_rows(NEIGHBOUR, [inside[0]], store.crs, "xb-f-")[0])  # the force's own
    rows.append(rows[0])  # repeated in the file
    neighbour_file = root / "westmarch-2024-06-street.csv"
    neighbour_file.write_text(HEADER + "".join(rows))
    yield {"store": store, "root": root, "inside": inside, "outside": outside, "lone": lone,
           "neighbour_file": neighbour_file, "area": area}
    store.close()


def _client(world: dict[str, Any]) -> TestClient:
    return TestClient(create_app(settings_for(world["root"], rate_limit_per_minute=0),
                                 store=world["store"], demo=True))


def _key(store: Store, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {new_key(store, name=role, role=role)[0]}"}


def test_cross_border_hotspot_found_whole_and_never_double_counted(world) -> None:
    store = world["store"]
    with _client(world) as c:
        analyst = _key(store, "analyst")
        before = c.get("/v1/hotspots", params=DBSCAN, headers=analyst)
        assert before.status_code == 200
        # our neighbour not loaded yet: the planted force half alone
        alone = c.get("/v1/cross-border", params=DBSCAN, headers=analyst)
        assert alone.status_code == 200, alone.text
        assert NEIGHBOUR not in alone.json()["metadata"]["band"]["by_source"]
        half = [f["properties"] for f in alone.json()["features"]
                if f["properties"]["spans_border"] is False
                and f["properties"]["sources"] == {"force": len(world["inside"])}]
        assert half  # found, but only its force half
    version = store.data_version()
    report = load_neighbour(store, open_reader(world["neighbour_file"],
                                               options=neighbour_read_options(store)),
                            source=NEIGHBOUR)
    n_out = len(world["outside"])
    assert report["counts"] == {"records": n_out + 3, "accepted": n_out + 1,
                                "duplicates_of_force": 1, "repeated": 1, "rejected": 0}
    assert store.data_version() == version  # the force's data did not change
    with _client(world) as c:  # a new app: nothing cached
        analyst = _key(store, "analyst")
        after = c.get("/v1/hotspots", params=DBSCAN, headers=analyst)
        assert after.headers["x-data-version"] == before.headers["x-data-version"]
        # the force's hotspots unchanged
        assert after.json()["features"] == before.json()["features"]
        r = c.get("/v1/cross-border", params=DBSCAN, headers=analyst)
        assert r.status_code == 200, r.text
        body = r.json()
    n_in = len(world["inside"])
    assert body["metadata"]["band"]["by_source"][NEIGHBOUR] == n_out + 1  # the lone one too
    assert NEIGHBOUR in body["metadata"]["neighbours"]
    planted = [f["properties"] for f in body["features"]
               if f["properties"]["sources"].get(NEIGHBOUR)]
    assert len(planted) == 1  # found whole: one hotspot across the border
    hot = planted[0]
    assert hot["sources"] == {"force": n_in, NEIGHBOUR: n_out}  # the hand count
    assert hot["incidents"] == n_in + n_out == sum(hot["sources"].values())
    assert hot["spans_border"] is True
    assert hot["area_sources"] == hot["sources"] and hot["area_spans_border"] is True
    assert hot["share_outside_force"] == round(n_out / (n_in + n_out), 4)
    for f in body["features"]:  # every hotspot's sources add up
        assert sum(f["properties"]["sources"].values()) == f["properties"]["incidents"]
    # a narrower band still holds it; a band too wide or a bad method is refused naming it
    with _client(world) as c:
        analyst = _key(store, "analyst")
        # distance_m is the band for every method (FastAPI fills Gi*'s parameter of the same
        # name from it too: it once refused kde and dbscan, and made Gi*'s neighbourhood the band)
        for method in ({**DBSCAN}, {"method": "kde", "period": "2024-06"},
                       {"method": "gistar", "period": "2024-06"}):
            r = c.get("/v1/cross-border", params={**method, "distance_m": 1999}, headers=analyst)
            assert r.status_code == 200, (method, r.text)
            meta = r.json()["metadata"]
            assert meta["band"]["distance_m"] == 1999
            assert meta["parameters"].get("distance_m") != 1999, meta["parameters"]
        for method in ("get", "post"):  # the docs describe the band, not Gi*'s parameter
            spec = c.app.openapi()["paths"]["/v1/cross-border"][method]["parameters"]
            band = [p for p in spec if p["name"] == "distance_m"]
            assert len(band) == 1 and "force boundary" in band[0]["schema"]["description"]
        tiny = c.get("/v1/cross-border", params={**DBSCAN, "distance_m": 2}, headers=analyst)
        assert tiny.status_code == 200, tiny.text  # (Gi*'s bounds once refused a band < 5 m)
        narrow = c.get("/v1/cross-border", params={**DBSCAN, "distance_m": 1999}, headers=analyst)
        assert [f["properties"]["sources"] for f in narrow.json()["features"]
                if f["properties"]["sources"].get(NEIGHBOUR)] == [hot["sources"]]
        for params, field in (({**DBSCAN, "distance_m": 20001}, "distance_m"),
                              ({**DBSCAN, "distance_m": 0}, "distance_m"),
                              ({"method": "auto", "period": "2024-06"}, "method"),
                              ({**DBSCAN, "period": "2024-13"}, "period")):
            bad = c.get("/v1/cross-border", params=params, headers=analyst)
            assert bad.status_code == 422 and field in bad.text, (params, bad.text)


def test_roles(world) -> None:
    store = world["store"]
    with _client(world) as c:
        for role in ("partner", "rural_team"):
            r = c.get("/v1/cross-border", params=DBSCAN, headers=_key(store, role))
            assert r.status_code == 403
        partner = _key(store, "partner")
        assert c.post("/v1/border-products", json={"period": "2024-06"},
                      headers=partner).status_code == 403
        assert c.get("/v1/border-products", headers=partner).status_code == 200


def _published_neighbour_squares(world: dict[str, Any]) -> dict[tuple[int, int], int]:
    """The neighbour's squares by hand: its stored rows (the planted ones and the lone one),
    counted per 250 m square, those of at least K kept."""
    counts: dict[tuple[int, int], int] = {}
    for x, y in [*world["outside"], world["lone"]]:
        key = (int(x // GRID), int(y // GRID))
        counts[key] = counts.get(key, 0) + 1
    return {k: v for k, v in counts.items() if v >= K}


def test_border_product_is_suppressed_fixed_and_the_same_for_everyone(world) -> None:
    store = world["store"]
    if NEIGHBOUR not in {s["source"] for s in store.neighbour_sources()}:
        load_neighbour(store, open_reader(world["neighbour_file"],
                                          options=neighbour_read_options(store)),
                       source=NEIGHBOUR)
    with _client(world) as c:
        analyst, partner = _key(store, "analyst"), _key(store, "partner")
        first = c.post("/v1/border-products", json={"period": "2024-06"}, headers=analyst)
        assert first.status_code == 422 and "partner product" in first.text  # publish it first
        assert c.post("/v1/products", json={"period": "2024-06"},
                      headers=analyst).status_code == 201
        made = c.post("/v1/border-products", json={"period": "2024-06"}, headers=analyst)
        assert made.status_code == 201, made.text
        assert made.headers["location"] == "/v1/border-products/2024-06"
        # never changed, never overlapping
        assert c.post("/v1/border-products", json={"period": "2024-06"},
                      headers=analyst).status_code == 409
        assert c.post("/v1/border-products", json={"period": "2024-Q2"},
                      headers=analyst).status_code in (409, 422)
        listed = c.get("/v1/border-products", headers=partner).json()
        assert [p["period"] for p in listed] == ["2024-06"]
        assert "data_version" not in listed[0]
        doc_text = c.get("/v1/border-products/2024-06", headers=partner)
        assert doc_text.status_code == 200
        # asking twice, or with anything else, gives the same bytes
        again = c.get("/v1/border-products/2024-06", params={"distance_m": 100, "bbox": "1,2,3,4"},
                      headers=_key(store, "partner"))
        assert again.content == doc_text.content
        assert c.get("/v1/border-products/2024-06",
                     headers=analyst).content == doc_text.content
        geo = c.get("/v1/border-products/2024-06", params={"format": "geojson"}, headers=partner)
        csv = c.get("/v1/border-products/2024-06", params={"format": "csv"}, headers=partner)
        assert geo.status_code == csv.status_code == 200
        assert c.get("/v1/border-products/2024-07", headers=partner).status_code == 404
    doc = doc_text.json()
    assert doc == json.loads(store.product(BORDER, "2024-06")[1])
    sq = doc["squares"]
    keys = [(round(x / GRID), round(y / GRID)) for x, y in zip(sq["x"], sq["y"], strict=True)]
    # the neighbour's published squares are exactly the hand count's squares of K or more
    theirs = {k: v for k, v in zip(keys, sq["counts"][NEIGHBOUR], strict=True) if v is not None}
    assert theirs == _published_neighbour_squares(world)
    lone = (int(world["lone"][0] // GRID), int(world["lone"][1] // GRID))
    assert lone not in theirs  # a square of one incident is held back
    # the force's counts are the partner product's, not one of them new
    partner_doc = json.loads(store.product(PARTNER, "2024-06")[1])
    psq = partner_doc["squares"]
    published = {(round(x / GRID), round(y / GRID)): v
                 for x, y, v in zip(psq["x"], psq["y"], psq["all"], strict=True)}
    for k, v in zip(keys, sq["counts"]["force"], strict=True):
        assert v == published.get(k)
    every = [v for s in doc["sources"] for v in sq["counts"][s] if v is not None]
    assert every and min(every) >= K
    # the hotspots: sums of published counts, by source, adding up
    assert doc["hotspots"]
    for f in doc["hotspots"]:
        p = f["properties"]
        assert sum(p["sources"].values()) == p["incidents"]
    spanning = [f["properties"] for f in doc["hotspots"]
                if f["properties"]["sources"].get(NEIGHBOUR)]
    assert spanning and spanning[0]["spans_border"] is True
    # its counts by source: the sums of its squares' published counts (a hand sum)
    shape = shapely.geometry.shape(next(f for f in doc["hotspots"]
                                        if f["properties"] is spanning[0])["geometry"])
    held = [n for n, b in enumerate(sq["bounds_wgs84"])
            if shape.contains(shapely.Point((b[0] + b[2]) / 2, (b[1] + b[3]) / 2))]
    assert held  # its squares, found from the published shapes alone
    assert spanning[0]["sources"] == {s: sum(sq["counts"][s][n] or 0 for n in held)
                                      for s in doc["sources"]}
    assert "data_version" not in doc and "xb-" not in doc_text.text


def test_upload_a_neighbours_file(world) -> None:
    store = world["store"]
    text = world["neighbour_file"].read_text()
    with _client(world) as c:
        version = store.data_version()
        r = c.post("/v1/incidents", params={"neighbour": "Eastfold Police"}, content=text,
                   headers={**_key(store, "analyst"), "Content-Type": "text/csv"})
        assert r.status_code == 201, r.text
        n_out = len(world["outside"])
        assert r.json()["counts"] == {"records": n_out + 3, "accepted": n_out + 1,
                                      "duplicates_of_force": 1, "repeated": 1, "rejected": 0}
        assert r.json()["source"] == "Eastfold Police"
        assert store.data_version() == version
        again = c.post("/v1/incidents", params={"neighbour": "Eastfold Police"}, content=text,
                       headers={**_key(store, "analyst"), "Content-Type": "text/csv"})
        assert again.status_code == 200 and again.json()["counts"]["accepted"] == 0
        bad = c.post("/v1/incidents", params={"neighbour": "force"}, content=text,
                     headers={**_key(store, "analyst"), "Content-Type": "text/csv"})
        assert bad.status_code == 422 and bad.json()["field"] == "neighbour"
        assert c.post("/v1/incidents", params={"neighbour": "Eastfold Police"}, content=text,
                      headers={**_key(store, "partner"), "Content-Type": "text/csv"}
                      ).status_code == 403
        audited = [e for e in store.audit_log() if e["action"] == "ingest"]
        assert audited[0]["filter"]["neighbour"] == "Eastfold Police"
