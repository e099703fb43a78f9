"""Business reports (the retail partnership) through the real HTTP app on the demo force area,
in both stores: validation, who reads what, limits, apart from police data, and the published
product's suppressed business group (hand counts)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient

from api.access import new_key
from api.services.business import (
    dominance_suppress,
    parse_grid_reference,
    product_group_geojson,
)
from api.services.hotspots import force_area, latest_complete_month
from api.services.products import KIND
from geodata.coords import transform
from hotspot.disclosure import HELD_BACK
from hotspot.gridref import grid_reference
from tests.api.test_api import served_demo
from tests.conftest import STORE_KINDS, csrf_headers, sign_in_client

PER_HOUR = 20
"""The test app's submissions a key may make an hour: 5 at once."""
PER_DAY = 5
"""The test app's reports a key may store a day."""


@pytest.fixture(scope="module", params=STORE_KINDS)
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
        demo_files) -> Iterator[TestClient]:
    from tests.conftest import make_store

    root = tmp_path_factory.mktemp("business-api")
    with served_demo(make_store(request.param, root, request), root, demo_files,
                     business_reports_per_hour=PER_HOUR,
                     business_reports_per_day=PER_DAY) as c:
        yield c


def _key(app: TestClient, role: str, name: str = "") -> dict[str, str]:
    token, _ = new_key(app.app.state.store, name=name or f"test {role}", role=role)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def inside(app: TestClient) -> dict[str, float]:
    """A point well inside the demo force area: x, y (store CRS) and lon, lat."""
    store = app.app.state.store
    point = shapely.point_on_surface(force_area(store).buffer(-2000))
    lon, lat, _ = transform(np.array([point.x]), np.array([point.y]), store.crs, "EPSG:4326")
    return {"x": point.x, "y": point.y, "lon": float(lon[0]), "lat": float(lat[0])}


def _body(inside: dict[str, float], **change: Any) -> dict[str, Any]:
    when = (datetime.now(UTC) - timedelta(days=2)).replace(microsecond=0)
    body = {"occurred_at": when.isoformat(), "type": "shoplifting",
            "place": {"lon": inside["lon"], "lat": inside["lat"]}, "value_pence": 1299,
            "business": "Corner Shop", "description": "Two bottles taken from the shelf"}
    body.update(change)
    return body


def test_a_partner_reads_back_its_own_only(app: TestClient, inside: dict) -> None:
    a, b = _key(app, "partner", "Shop A"), _key(app, "partner", "Shop B")
    analyst = _key(app, "analyst")
    r = app.post("/v1/business-reports", json=_body(inside), headers=a)
    assert r.status_code == 201, r.text
    mine = r.json()
    assert r.headers["location"] == f"/v1/business-reports/{mine['report_id']}"
    assert mine["source"] == "business_report" and mine["type_label"] == "Shoplifting"
    assert mine["taxonomy_category"] == "shoplifting" and mine["value_pence"] == 1299
    assert abs(mine["place"]["lon"] - inside["lon"]) < 1e-5
    assert abs(mine["place"]["x"] - inside["x"]) < 0.5  # the same place in the force CRS
    theirs = app.post("/v1/business-reports", headers=b, json=_body(
        inside, type="abuse_of_staff", value_pence=None, business="Shop B")).json()
    assert theirs["taxonomy_category"] == "public_order" and theirs["value_pence"] is None

    listed = app.get("/v1/business-reports", headers=a).json()
    assert listed["scope"] == "own" and listed["count"] == 1
    assert [x["report_id"] for x in listed["reports"]] == [mine["report_id"]]
    assert [x["report_id"] for x in app.get("/v1/business-reports", headers=b).json()[
        "reports"]] == [theirs["report_id"]]
    assert app.get(f"/v1/business-reports/{mine['report_id']}", headers=a).json() == mine
    answers = [app.get(f"/v1/business-reports/{rid}", headers=a)
               for rid in (theirs["report_id"], "br_0123456789abcdef")]
    assert [r.status_code for r in answers] == [404, 404]  # another's: as one that is not there
    assert answers[0].json()["detail"].replace(theirs["report_id"], "ID") == \
        answers[1].json()["detail"].replace("br_0123456789abcdef", "ID")
    geo = app.get("/v1/business-reports", params={"format": "geojson"}, headers=a).json()
    assert [f["properties"]["report_id"] for f in geo["features"]] == [mine["report_id"]]

    every = app.get("/v1/business-reports", headers=analyst).json()
    assert every["scope"] == "all"
    audit = app.app.state.store.audit_log(limit=20)
    assert audit[0]["action"] == "business_reports_read"  # staff reading them all: logged
    assert any(e["action"] == "business_report_submit" and e["filter"] == {
        "report_id": mine["report_id"]} for e in audit)
    assert {mine["report_id"], theirs["report_id"]} <= {x["report_id"] for x in every["reports"]}
    assert app.get(f"/v1/business-reports/{theirs['report_id']}", headers=analyst).json() == \
        theirs
    day = mine["occurred_at"][:10]
    before = (datetime.fromisoformat(day) - timedelta(days=1)).date().isoformat()
    assert app.get("/v1/business-reports", params={"from": day, "to": day},
                   headers=analyst).json()["count"] >= 2
    assert app.get("/v1/business-reports", params={"to": before},
                   headers=analyst).json()["count"] == 0
    r = app.get("/v1/business-reports", params={"from": "last week"}, headers=analyst)
    assert r.status_code == 422 and r.json()["field"] == "from"
    for method, path in (("get", "/v1/business-reports"), ("post", "/v1/business-reports"),
                         ("get", f"/v1/business-reports/{mine['report_id']}"),
                         ("get", "/report-incident")):
        r = app.request(method.upper(), path, headers=_key(app, "rural_team"),
                        json=_body(inside) if method == "post" else None)
        assert r.status_code == 403, (path, r.text)
        assert app.request(method.upper(), path).status_code == 401


def _now_minus(**delta: float) -> str:
    return (datetime.now(UTC) - timedelta(**delta)).isoformat()


@pytest.mark.parametrize(("change", "field"), [
    ({"occurred_at": "yesterday"}, "occurred_at"),
    ({"occurred_at": _now_minus(days=-1)}, "occurred_at"),  # tomorrow
    ({"occurred_at": _now_minus(days=400)}, "occurred_at"),
    ({"type": "murder"}, "type"),
    ({"type": None}, "type"),
    ({"place": {}}, "place"),
    ({"place": {"lon": -1.5}}, "place.lat"),
    ({"place": {"lon": -1.5, "lat": 54.0, "grid_ref": "SE 1 1"}}, "place"),
    ({"place": {"lon": -0.1276, "lat": 51.5072}}, "place.lon"),  # London: not the force area
    ({"place": {"lon": 200, "lat": 54.0}}, "place.lon"),
    ({"place": {"x": 100.0, "y": 100.0}}, "place.x"),
    ({"place": {"grid_ref": "XX 1234 5678"}}, "place.grid_ref"),
    ({"place": {"grid_ref": "SE 123 45"}}, "place.grid_ref"),
    ({"place": {"grid_ref": "TQ 30 80"}}, "place.grid_ref"),  # London again
    ({"place": {"postcode": "YO1 7HH"}}, "place.postcode"),
    ({"value_pence": -1}, "value_pence"),
    ({"value_pence": 10**12}, "value_pence"),
    ({"value_pence": 12.5}, "value_pence"),
    ({"business": "x" * 201}, "business"),
    ({"description": "x" * 2001}, "description"),
    ({"description": "nul \x00 here"}, "description"),
    ({"business": "bell \x07"}, "business"),
    ({"shop_id": 7}, "shop_id"),
    # F3: C1 controls, bidirectional controls, line separators (and a line break in a name)
    ({"business": "Shop\u202eevil\u202c"}, "business"),
    ({"business": "Shop \u2066isolated\u2069"}, "business"),
    ({"business": "Shop \u200f"}, "business"),
    ({"business": "Shop\u200eA"}, "business"),
    ({"business": "Two\nlines"}, "business"),
    ({"description": "line1\u0085line2"}, "description"),
    ({"description": "red \u009b[31m"}, "description"),
    ({"description": "a\u2028b"}, "description"),
    ({"description": "a\u2029b"}, "description"),
    ({"description": "a\u202ab"}, "description"),
    # F7: whole pence as a JSON integer only
    ({"value_pence": True}, "value_pence"),
    ({"value_pence": "12"}, "value_pence"),
    ({"value_pence": 12.0}, "value_pence"),
])
def test_each_field_is_checked(app: TestClient, inside: dict, change: dict, field: str) -> None:
    analyst = _key(app, "analyst")  # a new key: the submission limit is per key
    r = app.post("/v1/business-reports", json=_body(inside, **change), headers=analyst)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field, r.json()


def test_text_is_stored_in_nfc_and_a_description_keeps_its_lines(app: TestClient,
                                                                 inside: dict) -> None:
    r = app.post("/v1/business-reports", headers=_key(app, "partner"), json=_body(
        inside, business="Cafe\u0301 \u05e9\u05dc\u05d5\u05dd",
        description="line 1\nline 2\tand a tab"))
    assert r.status_code == 201, r.text
    assert r.json()["business"] == "Caf\u00e9 \u05e9\u05dc\u05d5\u05dd"  # one character, é
    assert r.json()["description"] == "line 1\nline 2\tand a tab"


@pytest.mark.parametrize(("when", "said"), [
    ("2026-03-29T01:30", "the clocks went forward"),  # 01:00 to 02:00 is skipped in London
    ("2025-03-30T01:59:59", "the clocks went forward"),
    ("2026-10-25T01:30", "+01:00 for the first or 2026-10-25T01:30+00:00 for the second"),
    ("2025-10-26T01:00", "happened twice"),
])
def test_a_local_time_the_clocks_skip_or_repeat_needs_its_offset(
        app: TestClient, inside: dict, when: str, said: str) -> None:
    assert app.app.state.store.timezone == "Europe/London"
    r = app.post("/v1/business-reports", headers=_key(app, "partner"),
                 json=_body(inside, occurred_at=when))
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "occurred_at" and said in r.json()["detail"]
    assert "UTC offset" in r.json()["detail"]


def test_a_body_not_declared_json_is_refused_with_415(app: TestClient, inside: dict) -> None:
    key = _key(app, "partner")
    body = json.dumps(_body(inside)).encode()
    for content_type in ("application/xml", "text/plain", "application/x-www-form-urlencoded",
                         "multipart/form-data; boundary=x", None):
        headers = {**key, **({"Content-Type": content_type} if content_type else {})}
        r = app.post("/v1/business-reports", content=body, headers=headers)
        assert r.status_code == 415, (content_type, r.text)
        assert r.json()["field"] == "content-type" and "application/json" in r.json()["detail"]
    r = app.post("/v1/business-reports", content=body,
                 headers={**key, "Content-Type": "application/json; charset=utf-8"})
    assert r.status_code == 201, r.text


def test_staff_reading_one_report_is_in_the_audit_log(app: TestClient, inside: dict) -> None:
    partner, analyst = _key(app, "partner"), _key(app, "analyst")
    made = app.post("/v1/business-reports", headers=partner, json=_body(inside)).json()
    store = app.app.state.store
    assert app.get(f"/v1/business-reports/{made['report_id']}", headers=partner).status_code \
        == 200
    assert store.audit_log(limit=1)[0]["action"] == "business_report_submit"  # its own: not
    assert app.get(f"/v1/business-reports/{made['report_id']}", headers=analyst).status_code \
        == 200
    entry = store.audit_log(limit=1)[0]
    assert entry["action"] == "business_report_read" and entry["role"] == "analyst"
    assert entry["filter"] == {"report_id": made["report_id"]} and entry["rows"] == 1


def test_a_key_stores_at_most_its_reports_a_day(app: TestClient, inside: dict) -> None:
    token, record = new_key(app.app.state.store, name="busy shop", role="partner")
    key = {"Authorization": f"Bearer {token}"}
    assert [app.post("/v1/business-reports", headers=key, json=_body(inside)).status_code
            for _ in range(PER_DAY)] == [201] * PER_DAY
    r = app.post("/v1/business-reports", headers=key, json=_body(inside))
    assert r.status_code == 429 and r.json()["error"] == "rate_limited"
    assert "HOTSPOT_BUSINESS_REPORTS_PER_DAY" in r.json()["detail"], r.json()
    assert f"has sent {PER_DAY} business reports today" in r.json()["detail"]
    assert 0 < int(r.headers["retry-after"]) <= 25 * 3600  # until the force's midnight
    store = app.app.state.store
    assert store.count_business_submissions(
        record["key_id"], since=datetime.now(UTC) - timedelta(days=1)) == PER_DAY
    assert app.get("/v1/business-reports", headers=key).json()["count"] == PER_DAY
    assert app.post("/v1/business-reports", headers=_key(app, "partner"),
                    json=_body(inside)).status_code == 201  # another key: its own day


def test_a_place_by_grid_reference_or_force_coordinates(app: TestClient, inside: dict) -> None:
    key = _key(app, "partner")
    ref = grid_reference(inside["x"], inside["y"], 8) or ""  # the demo's CRS is the BNG
    assert ref and app.app.state.store.crs == "EPSG:27700"
    e, n = parse_grid_reference(ref)  # the centre of its 10 m square
    by_ref = app.post("/v1/business-reports", headers=key,
                      json=_body(inside, place={"grid_ref": ref})).json()
    assert (by_ref["place"]["x"], by_ref["place"]["y"]) == (e, n)
    assert abs(e - inside["x"]) <= 10 and abs(n - inside["y"]) <= 10
    by_xy = app.post("/v1/business-reports", headers=key,
                     json=_body(inside, place={"x": inside["x"], "y": inside["y"]})).json()
    assert abs(by_xy["place"]["lon"] - inside["lon"]) < 1e-5
    day = (datetime.now(UTC) - timedelta(days=30)).strftime("%Y-%m-%d")
    naive = app.post("/v1/business-reports", headers=key,
                     json=_body(inside, occurred_at=f"{day}T12:00")).json()
    assert naive["occurred_at"][:16] == f"{day}T12:00"  # the force's local time, as given
    assert naive["occurred_at"][16:] in (":00+00:00", ":00+01:00")  # Europe/London


def test_grid_references_are_read_as_ordnance_survey_prints_them() -> None:
    assert parse_grid_reference("TG 51409 13177") == (651409.5, 313177.5)
    assert parse_grid_reference("nn16607120") == (216605.0, 771205.0)
    assert parse_grid_reference("SE 29 55") == (429500.0, 455500.0)  # 1 km square
    for e, n in ((430_123.0, 450_987.0), (216_600.0, 771_200.0), (651_409.0, 313_177.0)):
        x, y = parse_grid_reference(grid_reference(e, n, 10) or "")
        assert (x - 0.5, y - 0.5) == (e, n)


def test_submissions_are_rate_limited_per_key(app: TestClient, inside: dict) -> None:
    key, other = _key(app, "partner"), _key(app, "partner")
    burst = min(PER_HOUR, max(5, PER_HOUR // 10))
    answers = [app.post("/v1/business-reports", headers=key,
                        json=_body(inside, type="nothing" if i == 0 else "other")).status_code
               for i in range(burst)]
    assert answers == [422] + [201] * (burst - 1)  # a refused body takes its token too
    r = app.post("/v1/business-reports", headers=key, json=_body(inside))
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert r.json()["error"] == "rate_limited"
    assert app.get("/v1/business-reports", headers=key).status_code == 200  # reads still go
    assert app.post("/v1/business-reports", headers=other, json=_body(inside)).status_code == 201


def test_the_body_size_is_limited_before_it_is_read(app: TestClient, inside: dict) -> None:
    key = _key(app, "partner")
    big = json.dumps(_body(inside, description="x" * 40_000)).encode()
    r = app.post("/v1/business-reports", content=big,
                 headers={**key, "Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error"] == "upload_too_large"
    r = app.post("/v1/business-reports", content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 401  # no key: refused before the body is read
    # the longest fields, every character escaped as a JSON surrogate pair, still fit
    widest = json.dumps(_body(inside, business="\U0001F600" * 200,
                              description="\U0001F600" * 2000)).encode()
    assert len(widest) > 16 * 1024
    r = app.post("/v1/business-reports", content=widest,
                 headers={**key, "Content-Type": "application/json"})
    assert r.status_code == 201, r.text


def test_police_data_and_hotspots_are_unchanged(app: TestClient, inside: dict) -> None:
    analyst = _key(app, "analyst")
    store = app.app.state.store
    version = store.data_version()
    query = {"method": "dbscan", "from": "2024-01", "to": "2024-12"}
    before = app.get("/v1/hotspots", params=query, headers=analyst)
    incidents = app.get("/v1/incidents", params={"limit": 1}, headers=analyst).json()
    key = _key(app, "partner")
    for _ in range(3):  # a burst of reports in one place: no police hotspot comes of it
        assert app.post("/v1/business-reports", headers=key,
                        json=_body(inside)).status_code == 201
    after = app.get("/v1/hotspots", params=query, headers=analyst)
    assert store.data_version() == version
    assert after.headers["x-data-version"] == before.headers["x-data-version"]
    assert after.json()["features"] == before.json()["features"]
    assert app.get("/v1/incidents", params={"limit": 1}, headers=analyst).json().get(
        "numberMatched") == incidents.get("numberMatched")


A, B, C = "aaaaaaaaaaaa", "bbbbbbbbbbbb", "cccccccccccc"
"""Three partner keys' ids."""


def test_the_published_product_has_a_business_group_no_partner_can_difference(
        app: TestClient) -> None:
    store = app.app.state.store
    month = latest_complete_month(store)
    assert month is not None
    start = int(datetime.fromisoformat(f"{month}-15T12:00+00:00").timestamp())
    base = shapely.point_on_surface(force_area(store).buffer(-3000))
    i0, j0 = int(base.x // 250), int(base.y // 250)
    # per square (i offset): {(type, key): reports}; shoplifting is the theft group,
    # abuse_of_staff staff, fraud other. k = 5: a count shows when it minus its largest key's
    # reports in it is at least 5 (the dominance rule)
    plan: dict[int, dict[tuple[str, str], int]] = {
        # F1: A's 4 and B's 1: 5 - 4 = 1 -> held back (a threshold alone showed 5, and A read 1)
        0: {("shoplifting", A): 4, ("shoplifting", B): 1},
        # A not the largest: B's 7 and A's 1: 8 - 7 = 1 -> held back (B would read 1)
        2: {("shoplifting", A): 1, ("shoplifting", B): 7},
        # three keys, 2 + 6 + 5: 13 - 6 = 7 -> shown, theft alike; the empty groups held back
        4: {("shoplifting", A): 2, ("shoplifting", B): 6, ("shoplifting", C): 5},
        # 16 - A's 10 = 6: shown; theft 11 - 6 = 5 shown; staff 5 - A's 4 = 1 held, and the
        # held-back part (5: A 4, B 1) fails too -> only the total (else A reads 16 - 11 - 4 = 1)
        6: {("shoplifting", A): 6, ("shoplifting", B): 5, ("abuse_of_staff", A): 4,
            ("abuse_of_staff", B): 1},
        # 30 - A's 12 = 18: shown; theft 18 - 6 = 12 shown; staff 6 - 3 and other 6 - 3 held,
        # together 12 - A's 6 = 6 >= 5 -> the breakdown stays
        8: {("shoplifting", A): 6, ("shoplifting", B): 6, ("shoplifting", C): 6,
            ("abuse_of_staff", A): 3, ("abuse_of_staff", B): 3, ("fraud", A): 3,
            ("fraud", C): 3},
        # one key alone, 13 reports: 13 - 13 = 0 -> held back (a threshold alone showed 13)
        10: {("shoplifting", A): 7, ("abuse_of_staff", A): 3, ("fraud", A): 3},
    }
    for di, reports in plan.items():
        for (kind, who), n in reports.items():
            for _ in range(n):
                store.add_business_report({
                    "submitted_by": who, "occurred_at": start, "category": kind,
                    "x": (i0 + di) * 250 + 125.0, "y": j0 * 250 + 125.0, "lon": 0.0,
                    "lat": 0.0, "business": "Secret Shop", "value_pence": 999,
                    "description": "private words"})
    r = app.post("/v1/products", json={"period": month}, headers=_key(app, "analyst"))
    assert r.status_code == 201, r.text
    _listing, text = store.product(KIND, month)
    for private in ("Secret Shop", "private words", "value_pence", A, B, C, "br_"):
        assert private not in text  # no text, value, submitter or report of its own
    group = json.loads(text)["business_reports"]
    assert group["groups"] == ["all", "theft", "staff", "other"]
    sq = group["squares"]
    rows = {(round(x / 250) - i0, round(y / 250) - j0): [sq[g][n] for g in group["groups"]]
            for n, (x, y) in enumerate(zip(sq["x"], sq["y"], strict=True))}
    assert rows == {(4, 0): [13, 13, None, None], (6, 0): [16, None, None, None],
                    (8, 0): [30, 18, None, None]}
    assert group["published_total"] == 59
    # every partner taking its own reports away from any count shown is left with 5 or more
    kinds = {"theft": ("shoplifting",), "staff": ("abuse_of_staff",), "other": ("fraud",)}
    for (di, _dj), row in rows.items():
        for who in (A, B, C):
            for g, shown in zip(group["groups"], row, strict=True):
                own = sum(n for (kind, w), n in plan[di].items()
                          if w == who and (g == "all" or kind in kinds[g]))
                assert shown is None or shown - own >= 5, (di, who, g)
            held = [g for g, v in zip(group["groups"][1:], row[1:], strict=True) if v is None]
            if len(held) < 3:  # the total minus the groups shown: what the held-back hold
                rest = row[0] - sum(v for v in row[1:] if v is not None)
                own = sum(n for (kind, w), n in plan[di].items()
                          if w == who and any(kind in kinds[g] for g in held))
                assert rest == 0 or rest - own >= 5, (di, who)
    served = product_group_geojson(json.loads(text))
    assert served is not None and len(served["features"]) == 3
    assert sorted(f["properties"]["all"] for f in served["features"]) == [13, 16, 30]
    for f in served["features"]:  # each square is the 250 m cell, in WGS84
        (w, s), _, (e, n), *_ = f["geometry"]["coordinates"][0]
        assert 0.003 < e - w < 0.005 and 0.002 < n - s < 0.003
    police = json.loads(text)
    assert not {"theft", "staff"} & set(police["groups"])  # never added to the police counts
    assert "the one partner that sent most of them" in group["note"]


def test_the_form_page_lists_only_the_partners_own(app: TestClient, inside: dict) -> None:
    a, b = _key(app, "partner", "Form A"), _key(app, "partner", "Form B")
    app.post("/v1/business-reports", headers=a,
             json=_body(inside, business="<script>alert(1)</script> & Sons"))
    app.post("/v1/business-reports", headers=b, json=_body(inside, business="Other Shop B"))
    page = app.get("/report-incident", headers=a)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    text = page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Sons" in text
    assert "<script>alert(1)" not in text and "Other Shop B" not in text
    assert 'for="br-when"' in text and 'for="br-gridref"' in text and "Your reports" in text


def test_a_session_needs_the_pages_csrf_token(app: TestClient, inside: dict) -> None:
    token, _ = new_key(app.app.state.store, name="session partner", role="partner")
    with TestClient(app.app) as browser:
        assert sign_in_client(browser, token, next="/report-incident").status_code == 303
        r = browser.post("/v1/business-reports", json=_body(inside),
                         headers={"Origin": str(browser.base_url).rstrip("/")})
        assert r.status_code == 403
        r = browser.post("/v1/business-reports", json=_body(inside), headers=csrf_headers(browser))
        assert r.status_code == 201, r.text


def test_no_key_subtracting_its_own_reports_learns_a_small_count() -> None:
    """Random squares of 0 to 30 reports from up to 4 keys over 3 groups: every count shown,
    and what the held-back groups hold together, minus any one key's reports in it, is at
    least k; a square is left out only when its total fails that."""
    rng = np.random.default_rng(16)
    k, n = 5, 4000
    square = rng.integers(0, 300, n)
    groups = rng.integers(0, 3, n)
    keys = [f"key{v}" for v in rng.integers(0, 4, n)]
    xy = np.column_stack([square * 250 + 125.0, np.full(n, 125.0)])
    table = dominance_suppress(xy, groups, keys, n_groups=3, cell_size_m=250, min_count=k)
    shown = {int(i): row for i, row in zip(table.ij[:, 0], table.counts, strict=True)}
    for s in range(300):
        mine = square == s
        own = {key: np.bincount(groups[mine & (np.array(keys) == key)], minlength=3)
               for key in {"key0", "key1", "key2", "key3"}}
        counts = np.bincount(groups[mine], minlength=3)
        if s not in shown:
            assert not mine.any() or any(counts.sum() - o.sum() < k for o in own.values())
            continue
        row = shown[s]
        assert row[0] == counts.sum()
        held = row[1:] == HELD_BACK
        assert (row[1:][~held] == counts[~held]).all()
        for o in own.values():
            assert row[0] - o.sum() >= k
            assert (counts[~held] - o[~held] >= k).all()
            rest = counts[held].sum()
            if not held.all():
                assert rest == 0 or rest - o[held].sum() >= k
    assert 0 < len(shown) < 300 and (table.counts[:, 1:] != HELD_BACK).any()
    assert (table.counts[:, 1:] == HELD_BACK).any()


def test_the_forms_examples_are_places_it_accepts(app: TestClient, inside: dict) -> None:
    key = _key(app, "partner", "Shop E")
    page = app.get("/report-incident", headers=key)
    assert page.status_code == 200
    hints = re.findall(r'<span class="hint">e\.g\.\s+([^<]+)</span>', page.text)
    lat, lon, ref = (h.strip() for h in hints[:3])
    for place in ({"grid_ref": ref}, {"lat": float(lat), "lon": float(lon)}):
        r = app.post("/v1/business-reports", headers=key, json=_body(inside, place=place))
        assert r.status_code == 201, (place, r.text)
