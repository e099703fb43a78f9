"""OGC API - Features through the real app on both stores (the test demo loaded): landing page,
conformance, the OpenAPI 3.0 description, each role's collections, paging with next links in
a stable order, CRS84 and British National Grid, bbox and bbox-crs, datetime, CQL2 filters and
queryables as parameters, item by id, and presets as collections."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient
from pyproj import Transformer
from shapely.geometry import shape

from api.access import new_key
from geodata.schema import IncidentFilter
from tests.api.test_api import served_demo
from tests.conftest import STORE_KINDS, make_store

BNG = "http://www.opengis.net/def/crs/EPSG/0/27700"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
ITEMS = "/ogc/collections/{}/items"
ROLES = ("admin", "analyst", "rural_team", "partner")


@pytest.fixture(scope="module", params=STORE_KINDS)
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
        demo_files) -> Iterator[tuple[TestClient, dict[str, str]]]:
    root = tmp_path_factory.mktemp("ogc-api")
    with served_demo(make_store(request.param, root, request), root, demo_files) as c:
        store = c.app.state.store
        keys = {role: new_key(store, name=f"ogc {role}", role=role)[0] for role in ROLES}
        store.add_preset("every", title="Every hotspot", parameters={})
        store.add_preset("rural-kde", parameters={"method": "kde", "priority": "rural",
                                                  "bandwidth_m": "300"})
        r = c.post("/v1/products", json={"period": "2024-06"}, headers=_as(keys, "analyst"))
        assert r.status_code == 201, r.text
        yield c, keys


def _as(keys: dict[str, str], role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {keys[role]}"}


def _get(app, path: str, role: str = "analyst", **params: Any):
    c, keys = app
    return c.get(path, params=params, headers=_as(keys, role))


def _all(app, collection: str, role: str = "analyst", **params: Any) -> list[dict[str, Any]]:
    """Every feature, one page of 500 (the test settings' maximum) at most."""
    body = _get(app, ITEMS.format(collection), role, limit=500, **params).json()
    assert body["numberReturned"] == body["numberMatched"] == len(body["features"])
    return body["features"]


def test_landing_conformance_and_openapi_30(app) -> None:
    landing = _get(app, "/ogc").json()
    rels = {link["rel"]: link for link in landing["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= set(rels)
    assert rels["service-desc"]["type"] == "application/vnd.oai.openapi+json;version=3.0"
    assert rels["data"]["href"].endswith("/ogc/collections")
    conforms = _get(app, "/ogc/conformance").json()["conformsTo"]
    for part in ("ogcapi-features-1/1.0/conf/core", "ogcapi-features-1/1.0/conf/oas30",
                 "ogcapi-features-2/1.0/conf/crs", "ogcapi-features-3/1.0/conf/filter",
                 "cql2/1.0/conf/cql2-text"):
        assert any(c.endswith(part) for c in conforms), part
    r = _get(app, "/ogc/api")
    assert r.headers["content-type"] == "application/vnd.oai.openapi+json;version=3.0"
    doc = r.json()
    assert doc["openapi"].startswith("3.0.")
    assert set(doc["paths"]) >= {"/ogc", "/ogc/collections",
                                 "/ogc/collections/{collection_id}/items",
                                 "/ogc/collections/{collection_id}/items/{feature_id}"}
    text = r.text
    assert '"type":"null"' not in text.replace(" ", "") and '"const"' not in text
    params = {p["name"]: p for p in doc["paths"]["/ogc/collections/{collection_id}/items"]
              ["get"]["parameters"]}
    assert {"limit", "bbox", "bbox-crs", "datetime", "crs", "filter", "filter-lang"} <= set(params)
    assert params["limit"]["schema"]["minimum"] == 1
    assert params["crs"]["schema"].get("nullable") is True
    assert all(not p.startswith("/v1") for p in doc["paths"])


def test_each_role_sees_its_collections(app) -> None:
    ids = {role: [c["id"] for c in _get(app, "/ogc/collections", role).json()["collections"]]
           for role in ROLES}
    assert ids["partner"] == ["products-hotspots"]
    assert "incidents" in ids["analyst"] and "incidents" in ids["admin"]
    assert "incidents" not in ids["rural_team"]
    for role in ("admin", "analyst", "rural_team"):
        assert {"hotspots-every", "hotspots-rural-kde", "layer-roads", "layer-force_boundary",
                "products-hotspots"} <= set(ids[role])
    one = _get(app, "/ogc/collections").json()["collections"][0]
    assert one["crs"] == [CRS84, BNG] and one["storageCrs"] == BNG
    w, s, e, n = one["extent"]["spatial"]["bbox"][0]
    assert -3 < w < e < 1 and 53 < s < n < 55
    for path in ("/ogc/collections/incidents", ITEMS.format("incidents"),
                 ITEMS.format("hotspots-every"), ITEMS.format("layer-roads"),
                 "/ogc/collections/layer-roads/queryables", ITEMS.format("incidents") + "/1"):
        r = _get(app, path, "partner")
        assert r.status_code == 404 and r.json()["field"] == "collectionId", path
    r = _get(app, ITEMS.format("incidents"), "rural_team")
    assert r.status_code == 404
    c, _keys = app
    assert c.get("/ogc/collections").status_code == 401
    assert c.get(ITEMS.format("products-hotspots")).status_code == 401
    assert c.get("/ogc/collections", headers={"X-API-Key": _keys["partner"]}).json()[
        "collections"][0]["id"] == "products-hotspots"


def test_paging_follows_next_links_in_a_stable_order(app) -> None:
    every = _all(app, "hotspots-every")
    assert len(every) > 20
    assert [f["properties"]["rank"] for f in every] == list(range(1, len(every) + 1))
    c, keys = app
    url: str | None = ITEMS.format("hotspots-every") + "?limit=7"
    seen: list[str] = []
    pages = 0
    while url is not None:
        body = c.get(url, headers=_as(keys, "analyst")).json()
        assert body["numberMatched"] == len(every)
        assert body["numberReturned"] == len(body["features"]) <= 7
        seen += [f["id"] for f in body["features"]]
        links = {link["rel"]: link["href"] for link in body["links"]}
        assert links["self"] and links["collection"].endswith("/ogc/collections/hotspots-every")
        url = links.get("next")
        pages += 1
    assert seen == [f["id"] for f in every]
    assert pages == -(-len(every) // 7)
    past = _get(app, ITEMS.format("hotspots-every"), offset=len(every) + 5).json()
    assert past["features"] == [] and past["numberMatched"] == len(every)
    over = _get(app, ITEMS.format("layer-roads"), limit=100_000).json()
    assert over["numberReturned"] == min(over["numberMatched"], 500)  # served as the maximum


def test_crs84_and_british_national_grid(app) -> None:
    wgs = _get(app, ITEMS.format("layer-patrol_bases"))
    bng = _get(app, ITEMS.format("layer-patrol_bases"), crs=BNG)
    assert wgs.headers["content-crs"] == f"<{CRS84}>"
    assert bng.headers["content-crs"] == f"<{BNG}>"
    assert wgs.headers["content-type"].startswith("application/geo+json")
    to_bng = Transformer.from_crs("OGC:CRS84", "EPSG:27700", always_xy=True)
    for a, b in zip(wgs.json()["features"], bng.json()["features"], strict=True):
        assert a["id"] == b["id"]
        lon, lat = a["geometry"]["coordinates"]
        x, y = b["geometry"]["coordinates"]
        assert -3 < lon < 1 and 53 < lat < 55 and 400_000 < x < 520_000
        assert np.allclose(to_bng.transform(lon, lat), (x, y), atol=0.05)
    one = bng.json()["features"][0]["id"]
    item = _get(app, ITEMS.format("layer-patrol_bases") + f"/{one}", crs=BNG)
    assert item.headers["content-crs"] == f"<{BNG}>"
    assert item.json()["geometry"] == bng.json()["features"][0]["geometry"]
    for name in ("crs", "bbox-crs"):
        r = _get(app, ITEMS.format("layer-roads"), **{name: "EPSG:3857"})
        assert r.status_code == 422 and r.json()["field"] == name


def test_bbox_in_crs84_and_in_bng_select_what_touches_it(app) -> None:
    roads = _all(app, "layer-roads")
    box = (-1.10, 54.10, -1.00, 54.16)
    inside = [f["id"] for f in roads if shape(f["geometry"]).intersects(shapely.box(*box))]
    assert 0 < len(inside) < len(roads)
    got = [f["id"] for f in _all(app, "layer-roads", bbox=",".join(map(str, box)))]
    assert got == inside
    to_bng = Transformer.from_crs("OGC:CRS84", "EPSG:27700", always_xy=True)
    x0, y0 = to_bng.transform(-1.05, 54.12)
    square = f"{x0 - 500},{y0 - 500},{x0 + 500},{y0 + 500}"
    in_bng = [f["id"] for f in _all(app, "layer-roads", bbox=square, **{"bbox-crs": BNG})]
    to_wgs = Transformer.from_crs("EPSG:27700", "OGC:CRS84", always_xy=True)
    ring = shapely.box(x0 - 500, y0 - 500, x0 + 500, y0 + 500)
    wgs_ring = shapely.transform(ring, lambda xy: np.column_stack(to_wgs.transform(*xy.T)))
    assert in_bng == [f["id"] for f in roads if shape(f["geometry"]).intersects(wgs_ring)]
    for bad in ("1,2,3", "a,b,c,d", "-1,55,-2,54", "200,0,201,1", "nan,0,1,1"):
        r = _get(app, ITEMS.format("layer-roads"), bbox=bad)
        assert r.status_code == 422 and r.json()["field"] == "bbox", bad


def test_datetime_selects_incidents_of_the_span(app) -> None:
    c, _keys = app
    store = c.app.state.store
    start, end = 1_704_067_200, 1_706_745_600  # 2024-01-01T00:00Z, 2024-02-01T00:00Z
    expected = len(store.incidents(IncidentFilter(start=start, end=end)).rid)
    assert 0 < expected < store.count()
    body = _get(app, ITEMS.format("incidents"), datetime="2024-01-01T00:00:00Z/2024-01-31",
                limit=1).json()
    assert body["numberMatched"] == expected
    later = _get(app, ITEMS.format("incidents"), datetime="2024-12-01T00:00:00Z/..").json()
    assert 0 < later["numberMatched"] < store.count()
    assert all(f["properties"]["month"] == "2024-12" for f in later["features"])
    day = _get(app, ITEMS.format("incidents"), datetime="2024-01-16", limit=500).json()
    assert all(f["properties"]["occurred_at"].startswith("2024-01-16")
               for f in day["features"])
    hot = _get(app, ITEMS.format("hotspots-every"), datetime="1999-01-01/1999-12-31").json()
    assert hot["numberMatched"] == 0
    for bad in ("yesterday", "2024-02-01/2024-01-01", "../..", "2024-13-01"):
        r = _get(app, ITEMS.format("incidents"), datetime=bad)
        assert r.status_code == 422 and r.json()["field"] == "datetime", bad


def test_cql2_filters_and_queryables_as_parameters(app) -> None:
    every = _all(app, "hotspots-every")
    rural = [f["id"] for f in every if f["properties"]["class"] == "rural"]
    assert 0 < len(rural) < len(every)
    assert [f["id"] for f in _all(app, "hotspots-every", filter="class = 'rural'")] == rural
    assert [f["id"] for f in _all(app, "hotspots-every", **{"class": "rural"})] == rural
    big = [f["id"] for f in every if f["properties"]["class"] == "rural"
           and f["properties"]["incidents"] >= 20]
    assert [f["id"] for f in _all(app, "hotspots-every",
                                  filter="class = 'rural' AND incidents >= 20")] == big
    area = "POLYGON((-1.10 54.10, -1.00 54.10, -1.00 54.16, -1.10 54.16, -1.10 54.10))"
    touching = [f["id"] for f in every
                if shape(f["geometry"]).intersects(shapely.from_wkt(area))]
    assert touching
    got = _all(app, "hotspots-every", filter=f"S_INTERSECTS(geometry, {area})")
    assert [f["id"] for f in got] == touching
    rural_incidents = _get(app, ITEMS.format("incidents"), filter="priority = 'rural'",
                           limit=5).json()
    assert all(f["properties"]["priority"] == "rural" for f in rural_incidents["features"])
    q = _get(app, "/ogc/collections/hotspots-every/queryables")
    assert q.headers["content-type"].startswith("application/schema+json")
    assert {"category", "priority", "class", "trend", "month", "geometry"} <= set(
        q.json()["properties"])
    for params, field in (({"filter": "colour = 'red'"}, "filter"),
                          ({"filter": "class = "}, "filter"),
                          ({"filter": "class = 'rural'", "filter-lang": "sql"}, "filter-lang"),
                          ({"filter": "S_INTERSECTS(geometry, POINT(0 0))",
                            "filter-crs": "EPSG:9999"}, "filter-crs"),
                          ({"colour": "red"}, "colour"),
                          ({"incidents": "many"}, "incidents")):
        r = _get(app, ITEMS.format("hotspots-every"), **params)
        assert r.status_code == 422 and r.json()["field"] == field, (params, r.text)


def test_item_by_id_and_a_missing_one(app) -> None:
    first = _get(app, ITEMS.format("hotspots-every"), limit=1).json()["features"][0]
    r = _get(app, ITEMS.format("hotspots-every") + f"/{first['id']}")
    assert r.status_code == 200 and r.headers["content-crs"] == f"<{CRS84}>"
    one = r.json()
    assert {k: one[k] for k in ("type", "id", "geometry", "properties")} == first
    assert {link["rel"] for link in one["links"]} == {"self", "collection"}
    r = _get(app, ITEMS.format("hotspots-every") + "/no-such-hotspot")
    assert r.status_code == 404 and r.json()["field"] == "featureId"


def test_a_preset_collection_is_its_hotspots(app) -> None:
    c, keys = app
    direct = c.get("/v1/hotspots", params={"method": "kde", "priority": "rural",
                                          "bandwidth_m": 300},
                   headers=_as(keys, "analyst")).json()["features"]
    served = _all(app, "hotspots-rural-kde")
    assert [f["id"] for f in served] == [f["properties"]["id"] for f in direct]
    assert {f["properties"]["priority"] for f in served} <= {"rural"}
    r = c.post("/v1/presets", json={"name": "latest", "parameters": {"period": "latest"}},
               headers=_as(keys, "analyst"))
    assert r.status_code == 201, r.text
    latest = _all(app, "hotspots-latest")
    months = {f["properties"]["month"] for f in latest}
    assert months == {"2024-12"}  # the demo's last complete month
    assert c.delete("/v1/presets/latest", headers=_as(keys, "analyst")).status_code == 204
    assert _get(app, ITEMS.format("hotspots-latest")).status_code == 404


def test_a_partner_reads_the_published_hotspots(app) -> None:
    c, keys = app
    features = _all(app, "products-hotspots", "partner")
    product = c.get("/v1/products/2024-06", headers=_as(keys, "partner"))
    assert product.status_code == 200
    published = c.get("/v1/hotspots", params={"period": "2024-06"},
                      headers=_as(keys, "partner")).json()["features"]
    mine = [f for f in features if f["properties"]["priority"] == "all"]
    assert [f["properties"]["rank"] for f in mine] == [f["properties"]["rank"] for f in published]
    assert {f["properties"]["period"] for f in features} == {"2024-06"}
    for f in features:  # nothing but published properties
        assert set(f["properties"]) <= {*published[0]["properties"], "category", "class",
                                        "month"}
    r = _get(app, ITEMS.format("products-hotspots"), "partner", filter="priority = 'all'")
    assert r.json()["numberMatched"] == len(published)


def test_a_plans_routes_and_stops_are_collections(app) -> None:
    from tests.api.test_plans_api import BODY

    c, keys = app
    r = c.post("/v1/patrol-plans", json={**BODY, "name": "OGC draft"},
               headers=_as(keys, "analyst"))
    assert r.status_code in (200, 201), r.text
    plan = r.json()
    pid = plan["plan_id"]
    listed = {x["id"]: x for x in _get(app, "/ogc/collections").json()["collections"]}
    staff = list(listed)
    assert f"plan-{pid}-routes" in staff and f"plan-{pid}-stops" in staff
    assert listed[f"plan-{pid}-routes"]["title"] == "Plan OGC draft (draft): routes"
    field = [x["id"] for x in _get(app, "/ogc/collections", "rural_team").json()["collections"]]
    assert f"plan-{pid}-routes" not in field  # a draft: staff only
    routes = _all(app, f"plan-{pid}-routes")
    assert sorted(f["properties"]["route"] for f in routes) == sorted(
        x["label"] for x in plan["routes"])
    assert all(f["geometry"]["type"] == "MultiLineString" for f in routes)
    stops = _all(app, f"plan-{pid}-stops", crs=BNG)
    planned = sum(1 for x in plan["routes"] for s in x["stops"])
    assert len(stops) == planned and all(f["geometry"]["type"] == "Point" for f in stops)
    assert all(400_000 < f["geometry"]["coordinates"][0] < 520_000 for f in stops)
    assert _get(app, ITEMS.format(f"plan-{pid}-stops"), "rural_team").status_code == 404
    assert _get(app, ITEMS.format("plan-0123456789abcdef-routes")).status_code == 404


@pytest.mark.parametrize(("params", "field"), [
    ({"filter-crs": "EPSG:9999"}, "filter-crs"),          # checked with no filter too
    ({"filter-lang": "sql"}, "filter-lang"),
    ({"bbox": "0,0,1e300,1e300", "bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/27700"},
     "bbox"),
    ({"bbox": "-2e7,0,1,1", "bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/27700"}, "bbox"),
])
def test_items_refuse_what_they_cannot_use_even_unused(app, params: dict, field: str) -> None:
    r = _get(app, ITEMS.format("layer-roads"), **params)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field


def test_collections_say_what_they_are_and_whose_data(app) -> None:
    from api.formats import ATTRIBUTION, OGL_URL

    listed = {x["id"]: x for x in _get(app, "/ogc/collections").json()["collections"]}
    roads = _get(app, "/ogc/collections/layer-roads").json()
    assert roads["description"].startswith("Roads: the force's reference layer, loaded from ")
    assert "attribution" not in roads  # the force's own file, not data.police.uk's
    incidents = _get(app, "/ogc/collections/incidents").json()
    assert incidents["attribution"] == ATTRIBUTION
    assert {"rel": "license", "type": "text/html", "title": "Open Government Licence v3.0",
            "href": OGL_URL} in incidents["links"]
    assert all("{" not in c["description"] for c in listed.values())  # words, not JSON


def test_collections_carry_their_own_extent_where_it_is_known(app) -> None:
    listed = {x["id"]: x for x in _get(app, "/ogc/collections").json()["collections"]}
    boundary = listed["layer-force_boundary"]["extent"]["spatial"]["bbox"][0]
    bases = listed["layer-patrol_bases"]["extent"]["spatial"]["bbox"][0]
    # the bases lie inside the force, in a smaller box than the whole force's
    assert boundary[0] <= bases[0] <= bases[2] <= boundary[2]
    assert boundary[1] <= bases[1] <= bases[3] <= boundary[3]
    assert (bases[2] - bases[0]) * (bases[3] - bases[1]) < \
        (boundary[2] - boundary[0]) * (boundary[3] - boundary[1])
    # the partners' view spans the periods published
    interval = listed["products-hotspots"]["extent"]["temporal"]["interval"][0]
    periods = [p["period"] for p in _get(app, "/v1/products").json()]
    assert interval[0][:7] == min(periods)[:7] and interval[1][:4] == max(periods)[:4]


def test_a_bbox_keeps_the_points_just_inside_its_edges(app) -> None:
    """British National Grid bends lines of latitude: a CRS84 box moved into it by its four
    corners misses points near its edges. Boxes whose southern edge runs a few metres south of
    an incident (at the force's longitude, far from the grid's central meridian) keep it."""
    incidents = _all(app, "incidents", datetime="2024-06-01/2024-06-30")
    assert incidents
    for f in incidents[:40]:
        lon, lat = f["geometry"]["coordinates"]
        for west, east in ((lon - 3.0, lon + 0.5), (lon - 0.5, lon + 3.0)):  # wide: edges bend
            box = f"{west},{lat - 0.00005},{east},{lat + 0.8}"
            got = _get(app, ITEMS.format("incidents"), limit=500, bbox=box,
                       datetime="2024-06-01/2024-06-30").json()
            assert f["id"] in {g["id"] for g in got["features"]}, (f["id"], box)
            # and a filter literal of the same box keeps it too
            wkt = (f"POLYGON(({west} {lat - 0.00005},{east} {lat - 0.00005},{east} {lat + 0.8},"
                   f"{west} {lat + 0.8},{west} {lat - 0.00005}))")
            got = _get(app, ITEMS.format("incidents"), limit=500,
                       filter=f"S_INTERSECTS(geometry,{wkt})",
                       datetime="2024-06-01/2024-06-30").json()
            assert f["id"] in {g["id"] for g in got["features"]}, (f["id"], wkt)


def test_a_limit_past_the_maximum_is_served_as_the_maximum(app) -> None:
    r = _get(app, ITEMS.format("layer-roads"), limit=10_000_000)
    assert r.status_code == 200, r.text
    assert r.json()["numberReturned"] <= 500  # the test settings' HOTSPOT_MAX_PAGE_SIZE


def test_one_product_of_the_partners_view_by_its_period(app) -> None:
    """As the API page says: ``period=2024-06`` picks that product's hotspots alone."""
    every = _all(app, "products-hotspots", "partner")
    june = _all(app, "products-hotspots", "partner", period="2024-06")
    assert june and {f["properties"]["period"] for f in june} == {"2024-06"}
    assert [f["id"] for f in june] == [f["id"] for f in every
                                       if f["properties"]["period"] == "2024-06"]
    assert _get(app, ITEMS.format("products-hotspots"), "partner",
                period="2023-01").json()["numberMatched"] == 0
    same = _all(app, "products-hotspots", "partner", filter="period = '2024-06'")
    assert [f["id"] for f in same] == [f["id"] for f in june]
