"""Access control through the real app: keys, roles, sessions for the pages, the audit log."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from api.access import ACCESS, ROLES, new_key
from api.app import create_app
from geodata.demo import load_demo
from geodata.stores import SQLiteStore
from tests.api.test_api import settings_for, upload
from tests.conftest import NORTH_YORKSHIRE, sign_in_client

pytestmark = pytest.mark.real_data


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, demo_files) -> Iterator[tuple[TestClient,
                                                                                 dict[str, str]]]:
    root = tmp_path_factory.mktemp("access")
    store = SQLiteStore.open(root / "demo.sqlite")
    load_demo(store, demo_files)
    keys = {role: new_key(store, name=role, role=role)[0] for role in ROLES}
    # the walks below send every operation three times as one key: past any request rate
    with TestClient(create_app(settings_for(root, rate_limit_burst=100_000), store=store,
                               demo=True)) as c:
        published = c.post("/v1/products", json={"period": "2024-06"}, headers=_as(keys, "analyst"))
        assert published.status_code == 201
        yield c, keys
    store.close()


def _as(keys: dict[str, str], role: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {keys[role]}"} if role else {}


def test_nothing_but_health_docs_and_sign_in_is_open(demo) -> None:
    c, _keys = demo
    for path in ("/health", "/docs", "/redoc", "/openapi.json", "/login", "/field/sw.js",
                 "/static/leaflet/leaflet.js"):
        assert c.get(path).status_code == 200, path
    for path in ("/v1/incidents", "/v1/hotspots", "/v1/density", "/v1/layers",
                 "/v1/patrol-plans", "/v1/taxonomy", "/v1/ingests", "/v1/keys", "/v1/audit"):
        r = c.get(path)
        assert r.status_code == 401, path
        assert r.headers["www-authenticate"].startswith("Bearer")
        assert "Authorization: Bearer" in r.json()["detail"]
    page = c.get("/v1/hotspots/map", params={"priority": "rural"},
                 headers={"Accept": "text/html"}, follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=%2Fv1%2Fhotspots%2Fmap%3Fpriority%3Drural"
    bad = {"Authorization": "Bearer hsk_000000000000_" + "x" * 43}
    assert c.get("/v1/hotspots", headers=bad).status_code == 401
    assert c.get("/v1/hotspots", headers={"Authorization": "Bearer nonsense"}).status_code == 401


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("GET", "/v1/incidents?limit=1", {"admin", "analyst"}),
    ("GET", "/v1/hotspots?priority=rural", set(ROLES)),  # partners: the published product
    ("GET", "/v1/products", set(ROLES)),
    ("GET", "/v1/products/2024-06", set(ROLES)),
    ("GET", "/v1/layers", {"admin", "analyst", "rural_team"}),
    ("GET", "/v1/patrol-plans", {"admin", "analyst", "rural_team"}),
    ("GET", "/v1/taxonomy", set(ROLES)),
    ("GET", "/v1/ingests", {"admin", "analyst"}),
    ("GET", "/v1/keys", {"admin"}),
    ("GET", "/v1/audit", {"admin"}),
])
def test_roles(demo, method: str, path: str, allowed: set[str]) -> None:
    c, keys = demo
    for role in ROLES:
        r = c.request(method, path, headers=_as(keys, role))
        if role in allowed:
            assert r.status_code == 200, (role, path, r.text)
        else:
            assert r.status_code == 403, (role, path)
            assert role in r.json()["detail"]


def test_only_staff_ingest_and_make_plans(demo) -> None:
    c, keys = demo
    for role in ("rural_team", "partner"):
        with NORTH_YORKSHIRE.open("rb") as f:
            r = c.post("/v1/incidents", headers=_as(keys, role),
                       files={"file": ("x.csv", f, "text/csv")})
        assert r.status_code == 403
        assert c.post("/v1/patrol-plans", headers=_as(keys, role), json={}).status_code == 403


def test_every_endpoint_declares_its_roles(demo) -> None:
    c, _keys = demo
    spec = c.get("/openapi.json").json()
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            assert (method.upper(), path) in ACCESS, (method, path)
            assert op["x-roles"], (method, path)
            if op["x-roles"] != ["public"]:
                assert op["security"] == [{"apiKey": []}, {"session": []}]
    hidden = [("GET", "/"), ("GET", "/login"), ("POST", "/login"), ("POST", "/logout"),
              ("GET", "/docs"), ("GET", "/redoc"), ("GET", "/field/sw.js")]
    assert all(h in ACCESS for h in hidden)
    assert "apiKey" in spec["components"]["securitySchemes"]


def test_pages_sign_in_with_a_session_cookie(demo) -> None:
    c, keys = demo
    with TestClient(c.app) as browser:
        form = browser.get("/login?next=/v1/hotspots/map%3Fpriority%3Drural")
        assert 'name="next" value="/v1/hotspots/map?priority=rural"' in form.text
        wrong = sign_in_client(browser, "hsk_nope")
        assert wrong.status_code == 401 and "not valid" in wrong.text
        r = sign_in_client(browser, keys["rural_team"], next="//evil.example/x")
        assert r.status_code == 303 and r.headers["location"] == "/plans"  # never off-site
        session, token = (c for c in r.headers.get_list("set-cookie")
                          if c.startswith(("hotspot_session=", "hotspot_csrf=")))
        assert "HttpOnly" in session and "SameSite=strict" in session
        assert "HttpOnly" not in token and "SameSite=strict" in token  # the pages read it
        assert browser.get("/v1/whoami").json() == {"key_id": keys["rural_team"][4:16],
                                                    "role": "rural_team", "via": "session"}
        assert browser.get("/", params={"priority": "rural"}).status_code == 200
        assert browser.get("/v1/incidents").status_code == 403  # the role still counts
        forged = browser.cookies["hotspot_session"][:-2] + "xx"
        browser.cookies.clear()
        browser.cookies.set("hotspot_session", forged)
        assert browser.get("/v1/whoami").status_code == 401  # a forged signature


def test_each_role_lands_on_its_own_first_page(demo) -> None:
    """Signed in with nowhere in particular to go: planners on the hotspot map, the Rural Crime
    Team on the plans (their crews' field views), partners on the published products; a page
    the person was going to is kept whatever the role."""
    c, keys = demo
    for role, first in (("admin", "/"), ("analyst", "/"), ("rural_team", "/plans"),
                        ("partner", "/products")):
        with TestClient(c.app) as browser:
            r = sign_in_client(browser, keys[role])
            assert r.status_code == 303 and r.headers["location"] == first, role
            page = browser.get(first)
            assert page.status_code == 200, (role, page.text[:200])
        with TestClient(c.app) as browser:
            r = sign_in_client(browser, keys[role], next="/products?period=2024-06")
            assert r.headers["location"] == "/products?period=2024-06", role


def test_keys_are_made_and_revoked_by_admins(demo) -> None:
    c, keys = demo
    made = c.post("/v1/keys", headers=_as(keys, "admin"),
                  json={"name": "BCRP partner", "role": "partner"})
    assert made.status_code == 201 and made.json()["key"].startswith("hsk_")
    token = made.json()["key"]
    listed = c.get("/v1/keys", headers=_as(keys, "admin")).json()
    assert made.json()["key_id"] in {k["key_id"] for k in listed}
    assert all("key" not in k and "secret_hash" not in k for k in listed)
    assert c.get("/v1/taxonomy", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert c.post("/v1/keys", headers=_as(keys, "admin"),
                  json={"name": "x", "role": "superuser"}).status_code == 422
    with TestClient(c.app) as browser:  # a session of the key ends with it
        sign_in_client(browser, token)
        assert browser.get("/v1/whoami").status_code == 200
        gone = c.delete(f"/v1/keys/{made.json()['key_id']}", headers=_as(keys, "admin"))
        assert gone.status_code == 200
        assert browser.get("/v1/whoami").status_code == 401
    assert c.get("/v1/taxonomy", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert c.delete(f"/v1/keys/{made.json()['key_id']}",
                    headers=_as(keys, "admin")).status_code == 404


def test_incident_reads_and_ingests_are_audited(tmp_path: Path) -> None:
    with TestClient(create_app(settings_for(tmp_path))) as c:
        store = c.app.state.store
        token, record = new_key(store, name="analyst", role="analyst")
        c.headers["Authorization"] = f"Bearer {token}"
        assert upload(c, NORTH_YORKSHIRE).status_code == 201
        r = c.get("/v1/incidents", params={"priority": "rural", "limit": 7})
        assert r.status_code == 200
        c.get("/v1/hotspots")  # not incident-level: not audited
        admin, _ = new_key(store, name="admin", role="admin")
        log = c.get("/v1/audit", headers={"Authorization": f"Bearer {admin}"}).json()["entries"]
        assert [e["action"] for e in log] == ["read_incidents", "ingest"]
        read, ingested = log
        assert read["key_id"] == record["key_id"] and read["role"] == "analyst"
        assert read["rows"] == len(r.json()["features"]) and read["filter"]["limit"] == 7
        assert ingested["rows"] == 5288 and ingested["path"] == "/v1/incidents"


def _pairs(text: str) -> set[tuple[str, str]]:
    """Every pair of numbers written next to each other (JSON arrays, WKT), to 5 decimals."""
    found = re.findall(r"(-?\d+\.\d+)[,\s]+(-?\d+\.\d+)", text)
    return {(f"{float(a):.5f}", f"{float(b):.5f}") for a, b in found}


def _strings(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set().union(*(_strings(v) for v in value.values()), *(_strings(k) for k in value))
    if isinstance(value, list):
        return set().union(*(_strings(v) for v in value))
    return set()


def test_partners_never_see_an_incident(demo) -> None:
    """Every endpoint, as a partner: no incident position (WGS84 or metres) and no incident
    text in any answer; a published product's hotspots, shapes on the 250 m grid."""
    c, keys = demo
    store = c.app.state.store
    cols = store.incidents()
    positions = {(f"{lon:.5f}", f"{lat:.5f}") for lon, lat in zip(cols.lon, cols.lat,
                                                                  strict=True)}
    metres = {(f"{x:.5f}", f"{y:.5f}") for x, y in zip(cols.x, cols.y, strict=True)}
    texts = {r["location_text"] for r in store.incident_records(None, limit=50_000).records
             if r.get("location_text")}
    assert len(positions) > 1000 and len(texts) > 20
    spec = c.get("/openapi.json").json()
    answered = 0
    # the OGC collections and vector tiles named as an attacker would: the incidents (and a
    # tile over the busiest part of the force), then what a partner may read
    lon, lat = float(np.median(cols.lon)), float(np.median(cols.lat))
    tiles = []
    for z in (10, 15):
        n = 2 ** z
        tx = int((lon + 180) / 360 * n)
        ty = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
        tiles.append({"{z}": str(z), "{x}": str(tx), "{y}": str(ty)})
    names = [{"{collection_id}": "incidents", "{feature_id}": "1", "{name}": "fuzz", **tiles[1]},
             {"{collection_id}": "products-hotspots", "{feature_id}": "1", **tiles[0]}]
    urls, seen = [], set()
    for path, operations in spec["paths"].items():
        for method in operations:
            for sub in names if "{" in path else names[:1]:
                url = path.replace("{plan_id}", "0123456789abcdef").replace(
                    "{kind}", "heritage_sites").replace("{key_id}", "000000000000").replace(
                    "{period}", "2024-06")
                for k, v in sub.items():
                    url = url.replace(k, v)
                urls.append((method, url))
    for method, url in dict.fromkeys(urls):
        for variant in ({}, {"Accept": "text/csv"}, {"Accept": "application/geo+json"}):
            r = c.request(method.upper(), url, headers={**_as(keys, "partner"), **variant},
                          json={} if method == "post" else None)
            assert r.status_code < 500, (method, url, r.text)
            if r.status_code >= 400:
                assert r.status_code in (401, 403, 404, 405, 422), (method, url)
                continue
            answered += 1
            seen.add(url)
            assert not _pairs(r.text) & positions, (method, url)
            assert not _pairs(r.text) & metres, (method, url)
            body = r.json() if "json" in r.headers["content-type"] else r.text
            found = _strings(body) if not isinstance(body, str) else \
                {cell.strip('"') for line in body.splitlines() for cell in line.split(",")}
            assert not found & texts, (method, url, found & texts)
    assert answered >= 6  # health, taxonomy, whoami, hotspots, products (and their CSVs)
    assert {"/ogc/collections/products-hotspots/items", "/ogc/collections"} <= seen
    assert "/ogc/collections/incidents/items" not in seen
    view = c.get("/v1/hotspots", params={"priority": "rural"}, headers=_as(keys, "partner"))
    full = c.get("/v1/hotspots", params={"priority": "rural"}, headers=_as(keys, "analyst"))
    assert view.json()["metadata"]["product"]["period"] == "2024-06"
    privacy = view.json()["metadata"]["privacy"]
    assert privacy["min_incidents"] == 5 and privacy["grid_m"] == 250
    assert view.headers["etag"] != full.headers["etag"]
    for f in view.json()["features"]:
        props = f["properties"]
        assert props["incidents"] >= 5 and "top_locations" not in props
        assert "centroid_lon" not in props and "profile" not in props
        assert props["peak_hours"] is None and props["peak_days"] is None
    # the shapes are made of 250 m squares of the force CRS
    from pyproj import Transformer

    to_bng = Transformer.from_crs("EPSG:4326", store.crs, always_xy=True)
    every = c.get("/v1/hotspots", headers=_as(keys, "partner")).json()["features"]
    ring = every[0]["geometry"]["coordinates"][0]
    ring = ring[0] if isinstance(ring[0][0], list) else ring
    for lon, lat in ring:
        x, y = to_bng.transform(lon, lat)
        assert abs(x / 250 - round(x / 250)) < 0.01 and abs(y / 250 - round(y / 250)) < 0.01
