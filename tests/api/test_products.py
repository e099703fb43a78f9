"""Published products through the real app, and the differencing attacks of a partner.

A partner used to be able to bisect the period, the bbox and the method's parameters of
``GET /v1/hotspots`` and watch a hotspot's count (or the count of suppressed hotspots) to place
one hare-coursing incident to the square metre and the minute. Now a partner reads published
products only; these tests replay those attacks and check that nothing finer than a published
square and month can be learnt, on both stores.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from pyproj import Transformer

from api.access import new_key
from api.app import create_app
from api.services.products import HOTSPOT_COLUMNS, KIND, NOT_BROKEN_DOWN
from geodata.demo import load_demo
from geodata.ingest import ingest
from geodata.readers import ReadOptions, open_reader
from geodata.stores import Store
from geodata.stores.base import DEMO
from hotspot.disclosure import HELD_BACK, GridCounts, disclosed
from tests.api.test_api import settings_for
from tests.conftest import STORE_KINDS, make_store

K = 5
GRID = 250.0


@pytest.fixture
def served(store_factory: Callable[[], Store], tmp_path: Path,
           demo_files) -> Iterator[tuple[TestClient, Store, dict[str, str]]]:
    store = store_factory()
    load_demo(store, demo_files)
    with TestClient(create_app(settings_for(tmp_path, rate_limit_per_minute=0), store=store,
                               demo=True)) as c:
        keys = {role: new_key(store, name=role, role=role)[0]
                for role in ("analyst", "partner", "admin")}
        keys["partner2"] = new_key(store, name="another partner", role="partner")[0]
        yield c, store, keys


@pytest.fixture(scope="module", params=STORE_KINDS)
def june_published(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                   demo_files) -> Iterator[tuple[TestClient, Store, dict[str, str]]]:
    """As :func:`served` with 2024-06 published (and that publication checked), one store of
    each kind for the module: for the tests that only read it (a partner's refused queries)."""
    root = tmp_path_factory.mktemp("products")
    store = make_store(request.param, root, request)
    load_demo(store, demo_files)
    with TestClient(create_app(settings_for(root, rate_limit_per_minute=0), store=store,
                               demo=True)) as c:
        keys = {role: new_key(store, name=role, role=role)[0]
                for role in ("analyst", "partner", "admin")}
        assert _publish(c, keys, "2024-06").status_code == 201
        yield c, store, keys
    store.close()


def _as(keys: dict[str, str], role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {keys[role]}"}


def _hare(store: Store, lon: float, lat: float, when: str) -> None:
    """One hare-coursing incident at an exact place and time (the victim to protect)."""
    record = [{"id": f"hare-{when}", "occurred_at": when, "crime_type": "Hare coursing",
               "lon": lon, "lat": lat}]
    reader = open_reader(io.BytesIO(json.dumps(record).encode()), format="geojson",
                         name="hare.json", options=ReadOptions(crs=store.crs,
                                                               timezone=store.timezone))
    report = ingest(store, reader, purpose=DEMO)
    assert report.to_dict()["counts"]["accepted"] == 1


def _remote_point(store: Store) -> tuple[float, float]:
    """A place inside the demo force with no incident within 1 km (WGS84)."""
    cols = store.incidents()
    xs, ys = cols.x, cols.y
    for x in np.arange(xs.min() + 2000, xs.max() - 2000, 500.0):
        for y in np.arange(ys.min() + 2000, ys.max() - 2000, 500.0):
            if (np.hypot(xs - x, ys - y) > 1000).all():
                lon, lat = Transformer.from_crs(store.crs, "EPSG:4326",
                                                always_xy=True).transform(x + 37.0, y + 81.0)
                return float(lon), float(lat)
    raise AssertionError("no remote point in the demo")


def _publish(c: TestClient, keys: dict[str, str], period: str) -> Any:
    return c.post("/v1/products", json={"period": period}, headers=_as(keys, "analyst"))


def _table(doc: dict[str, Any]) -> GridCounts:
    sq = doc["squares"]
    ij = np.column_stack([np.round(np.asarray(sq["x"]) / GRID),
                          np.round(np.asarray(sq["y"]) / GRID)]).astype(np.int64)
    counts = np.array([[HELD_BACK if sq[g][n] is None else sq[g][n] for g in doc["groups"]]
                       for n in range(len(sq["x"]))], dtype=np.int64).reshape(-1, len(doc["groups"]))
    return GridCounts(ij, counts, GRID)


def test_publish_read_and_nothing_else_for_partners(served) -> None:
    c, store, keys = served
    lon, lat = _remote_point(store)
    _hare(store, lon, lat, "2024-06-12T03:14:00")
    assert _publish(c, keys, "2024-06").status_code == 201
    r = _publish(c, keys, "2024-05")
    assert r.status_code == 201 and r.headers["location"] == "/v1/products/2024-05"
    assert r.json()["summary"]["squares"] > 0

    # the product: every published count at least K; held back so nothing can be worked out
    product = c.get("/v1/products/2024-06", headers=_as(keys, "partner"))
    assert product.status_code == 200
    stored = json.loads(store.product(KIND, "2024-06")[1])
    table = _table(stored)
    shown = table.counts[table.counts != HELD_BACK]
    assert shown.size and (shown[shown > 0] >= K).all() and (table.counts[:, 0] >= K).all()
    assert disclosed(table, K).size == 0
    # no square holds the hare-coursing incident: it is alone in its square
    x, y = Transformer.from_crs("EPSG:4326", store.crs, always_xy=True).transform(lon, lat)
    mine = (x // GRID, y // GRID)
    assert mine not in {tuple(r) for r in table.ij.tolist()}

    # the partner's hotspots: sums of published square counts, nothing else
    view = c.get("/v1/hotspots", params={"period": "2024-06"}, headers=_as(keys, "partner"))
    assert view.status_code == 200
    body = view.json()
    assert body["metadata"]["product"]["period"] == "2024-06"
    assert "suppress" not in view.text  # no count of what was held back
    by_square = {tuple(r): n for r, n in zip(table.ij.tolist(), table.counts[:, 0], strict=True)}
    to_bng = Transformer.from_crs("EPSG:4326", store.crs, always_xy=True)
    for f in body["features"]:
        props = f["properties"]
        assert list(props) == list(HOTSPOT_COLUMNS)
        assert props["incidents"] >= K and props["peak_hours"] is None
        assert sum(props["category_mix"].values()) == props["incidents"]
        assert all(v >= K for k, v in props["category_mix"].items() if k != NOT_BROKEN_DOWN)
        # every vertex is a corner of the force grid (no incident's position)
        rings = f["geometry"]["coordinates"]
        points = np.array(rings, dtype=object)
        flat = re.findall(r"(-?\d+\.\d+), (-?\d+\.\d+)", str(points.tolist()))
        xs, ys = to_bng.transform([float(a) for a, _ in flat], [float(b) for _, b in flat])
        assert np.allclose(np.asarray(xs) / GRID, np.round(np.asarray(xs) / GRID), atol=0.01)
        assert np.allclose(np.asarray(ys) / GRID, np.round(np.asarray(ys) / GRID), atol=0.01)
    total = sum(f["properties"]["incidents"] for f in body["features"])
    published = sum(by_square.values())
    assert published / 2 <= total <= published  # the busiest squares, holding half or more

    # the same bytes for every partner, and for from/to naming the month
    again = c.get("/v1/hotspots", params={"from": "2024-06", "to": "2024-06"},
                  headers=_as(keys, "partner2"))
    assert again.content == view.content and again.headers["etag"] == view.headers["etag"]
    assert c.get("/v1/hotspots", headers=_as(keys, "partner")).content == view.content  # latest
    csv = c.get("/v1/hotspots", params={"period": "2024-06", "format": "csv"},
                headers=_as(keys, "partner"))
    assert csv.status_code == 200 and csv.text.startswith("id,rank,score")
    rural = c.get("/v1/hotspots", params={"period": "2024-06", "priority": "rural"},
                  headers=_as(keys, "partner"))
    assert rural.status_code == 200
    assert all(f["properties"]["priority"] == "rural" for f in rural.json()["features"])


ATTACKS = [
    ({"bbox": "-1.5,53.8,-0.5,54.5"}, "bbox"),
    ({"min_samples": "1", "eps_m": "1"}, "eps_m"),
    ({"from": "2024-06-12T03:00", "to": "2024-06-12T04:00"}, "from"),
    ({"from": "2024-06-01", "to": "2024-06-30"}, "from"),
    ({"from": "2024-06", "to": "2024-07"}, "to"),
    ({"category": "hare_coursing"}, "category"),
    ({"method": "kde"}, "method"),
    ({"method": "dbscan", "period": "2024-06"}, "method"),
    ({"town": "Thornbury"}, "town"),
    ({"weighted": "true"}, "weighted"),
    ({"heritage_distance_m": "10"}, "heritage_distance_m"),
    ({"period": "2024-06-12"}, "period"),
    ({"period": "2024-W24"}, "period"),
    ({"priority": "hare_coursing"}, "priority"),
]


@pytest.mark.parametrize(("params", "field"), ATTACKS)
def test_a_partner_can_vary_nothing(june_published, params: dict[str, str],
                                    field: str) -> None:
    c, _store, keys = june_published
    r = c.get("/v1/hotspots", params=params, headers=_as(keys, "partner"))
    assert r.status_code == 422, (params, r.text)
    assert r.json()["field"] == field


def test_products_never_overlap_nor_change(served) -> None:
    """Product-to-product subtraction: a quarter over a published month, the same month twice,
    or the month again after late data, would each give a difference away."""
    c, store, keys = served
    assert _publish(c, keys, "2024-06").status_code == 201
    before = c.get("/v1/products/2024-06", headers=_as(keys, "partner")).content
    hotspots = c.get("/v1/hotspots", params={"period": "2024-06"},
                     headers=_as(keys, "partner")).content
    for period in ("2024-06", "2024-Q2"):
        r = _publish(c, keys, period)
        assert r.status_code == 409, period
        assert "2024-06" in r.json()["detail"]
    # late data for the month: the product stays as published (nothing to subtract)
    lon, lat = _remote_point(store)
    for minute in range(K + 2):
        _hare(store, lon, lat, f"2024-06-20T02:{minute:02d}:00")
    assert c.get("/v1/products/2024-06", headers=_as(keys, "partner")).content == before
    assert c.get("/v1/hotspots", params={"period": "2024-06"},
                 headers=_as(keys, "partner")).content == hotspots
    # the store itself refuses to change a published product
    with pytest.raises(Exception, match="never changed"):
        _sql(store, "UPDATE published_products SET document = '{}'")
    with pytest.raises(Exception, match="never changed"):
        _sql(store, "DELETE FROM published_products")
    assert c.get("/v1/products/2024-06", headers=_as(keys, "partner")).content == before


def _sql(store: Store, statement: str) -> None:
    if store.kind == "sqlite":
        with store._transaction(immediate=True) as conn:  # type: ignore[attr-defined]
            conn.execute(statement)
    else:
        with store._connection() as conn, conn.transaction():  # type: ignore[attr-defined]
            conn.execute(statement)


def test_publishing_rules(served) -> None:
    c, _store, keys = served
    cases = [
        ({"period": "2024-13"}, 422, "period"),
        ({"period": "2024-6"}, 422, "period"),
        ({"period": "2999-01"}, 422, "period"),     # not over yet
        ({"period": "2020-01"}, 422, "period"),     # no data: a product is never changed
        ({"period": "2024-06", "grid_m": 10}, 422, None),
    ]
    for body, status, field in cases:
        r = c.post("/v1/products", json=body, headers=_as(keys, "analyst"))
        assert r.status_code == status, (body, r.text)
        if field:
            assert r.json().get("field") == field, r.json()
    for role in ("partner",):
        r = c.post("/v1/products", json={"period": "2024-06"}, headers=_as(keys, role))
        assert r.status_code == 403
    assert _publish(c, keys, "2024-Q1").status_code == 201
    listed = c.get("/v1/products", headers=_as(keys, "partner")).json()
    assert [p["period"] for p in listed] == ["2024-Q1"] and "data_version" not in listed[0]
    assert c.get("/v1/products", headers=_as(keys, "analyst")).json()[0]["data_version"]
    assert listed[0]["summary"]["months"] == ["2024-01", "2024-02", "2024-03"]
    assert c.get("/v1/products/2024-02", headers=_as(keys, "partner")).status_code == 404
    assert c.get("/v1/hotspots", params={"period": "2024-02"},
                 headers=_as(keys, "partner")).status_code == 404
    quarter = c.get("/v1/hotspots", params={"from": "2024-01", "to": "2024-03"},
                    headers=_as(keys, "partner"))
    assert quarter.status_code == 200
    assert quarter.json()["metadata"]["product"]["period"] == "2024-Q1"
    squares = c.get("/v1/products/2024-Q1", params={"format": "csv"},
                    headers=_as(keys, "partner"))
    assert squares.text.splitlines()[0].startswith("square_x,square_y,size_m,centre_lon")
    etag = squares.headers["etag"]
    assert c.get("/v1/products/2024-Q1", params={"format": "csv"},
                 headers={**_as(keys, "partner"), "If-None-Match": etag}).status_code == 304


def test_nothing_published_yet_says_how(served) -> None:
    c, _store, keys = served
    r = c.get("/v1/hotspots", headers=_as(keys, "partner"))
    assert r.status_code == 404 and "hotspot publish" in r.json()["detail"]
    # analysts still analyse as they like, and may name a period too
    r = c.get("/v1/hotspots", params={"period": "2024-Q2", "priority": "rural"},
              headers=_as(keys, "analyst"))
    assert r.status_code == 200
    sel = r.json()["metadata"]["selection"]
    assert sel["from"].startswith("2024-04-01") and sel["to"].startswith("2024-07-01")


def test_a_partner_signs_in_to_the_products_page_and_out(served) -> None:
    from tests.conftest import sign_in_client

    c, _store, keys = served
    assert _publish(c, keys, "2024-06").status_code == 201
    with TestClient(c.app) as browser:
        signed = sign_in_client(browser, keys["partner"])
        assert signed.status_code == 303 and signed.headers["location"] == "/products"
        page = browser.get("/products")
        assert "(null)" not in page.text and "held back (not shown)" in page.text  # words
        assert page.status_code == 200 and "2024-06" in page.text
        assert "/v1/hotspots?period=2024-06&amp;format=csv" in page.text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        # masked afresh in every page (api.csrf.masked: compression must not leak it)
        from api.csrf import unmasked

        assert token and unmasked(token.group(1)) == browser.cookies.get("hotspot_csrf")
        csv = browser.get("/v1/hotspots", params={"period": "2024-06", "format": "csv"})
        assert csv.status_code == 200 and csv.text.startswith("id,rank")
        out = browser.post("/logout", data={"csrf_token": token.group(1)},
                           headers={"Origin": str(browser.base_url).rstrip("/")},
                           follow_redirects=False)
        assert out.status_code == 303
        assert browser.get("/products", headers={"Accept": "text/html"},
                           follow_redirects=False).status_code == 303  # to the sign-in page


def test_health_tells_counts_to_staff_only(served) -> None:
    """Live counts read before and after an upload would say how many incidents it held, and
    so how many a product holds back."""
    c, _store, keys = served
    for role in (None, "partner"):
        body = c.get("/health", headers=_as(keys, role) if role else {}).json()
        assert body["status"] == "ok" and set(body["store"]) <= {"ok", "kind"}, role
    staff = c.get("/health", headers=_as(keys, "analyst")).json()["store"]
    assert staff["incidents"] > 1000 and staff["data_version"]
