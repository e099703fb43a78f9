"""Patrol plans through the real HTTP app on the demo force area, in both stores."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.test_api import served_demo
from tests.conftest import CDN_URL, STORE_KINDS, as_role, make_store

SHIFT = {"start": "2024-06-14T16:00", "end": "2024-06-15T02:00"}  # a Friday evening
BODY = {"name": "Friday lates", "shift": SHIFT, "rural_crime_team": {"vehicles": 2},
        "town_centre_officers": {"Thornbury": 2}, "hotspots": {"method": "dbscan"},
        "time_limit_s": 0.5}


@pytest.fixture(scope="module", params=STORE_KINDS)
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
        demo_files) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("plans-api")
    with served_demo(make_store(request.param, root, request), root, demo_files) as c:
        yield as_role(c)


@pytest.fixture(scope="module")
def plan(app: TestClient) -> dict:
    r = app.post("/v1/patrol-plans", json=BODY)
    assert r.status_code == 201, r.text
    assert r.headers["location"] == f"/v1/patrol-plans/{r.json()['plan_id']}"
    return r.json()


def test_a_plan_is_made_stored_and_served(app: TestClient, plan: dict) -> None:
    assert plan["travel"]["model"] == "road_network"  # the demo has roads
    units = {r["unit"] for r in plan["routes"]}
    assert units == {"rural_crime_team", "town_centre_officers"}
    rural = [r for r in plan["routes"] if r["unit"] == "rural_crime_team"]
    assert len(rural) == 2 and sum(r["totals"]["stops"] for r in rural) >= 8
    for r in plan["routes"]:
        stops = r["stops"]
        assert stops[0]["kind"] == stops[-1]["kind"] == "base"
        assert stops[0]["name"] == stops[-1]["name"]
        for a, b in itertools.pairwise(stops):
            assert datetime.fromisoformat(b["arrival"]) >= datetime.fromisoformat(a["departure"])
        assert stops[-1]["arrival"] <= "2024-06-15T02:00+01:00"
        for s in stops[1:-1]:
            assert s["dwell_min"] == 15.0 and s["from_previous"]["distance_m"] >= 0
            assert any(w[0] <= s["start"] <= w[1] for w in s["windows"])
    reasons = {h["left_out"] for h in plan["hotspots"]}
    assert "no_team" in reasons  # urban hotspots
    assert all(h["why"] for h in plan["left_out"])
    assert plan["hotspot_parameters"]["method"] == "dbscan"
    assert "Open Government Licence" in plan["attribution"]
    again = app.get(f"/v1/patrol-plans/{plan['plan_id']}").json()
    assert again["routes"] == plan["routes"] and again["name"] == "Friday lates"
    listed = app.get("/v1/patrol-plans").json()
    assert plan["plan_id"] in {p["plan_id"] for p in listed}


def test_the_plan_as_geojson(app: TestClient, plan: dict) -> None:
    r = app.get(f"/v1/patrol-plans/{plan['plan_id']}",
                headers={"Accept": "application/geo+json"})
    assert r.headers["content-type"] == "application/geo+json"
    fc = r.json()
    kinds = [f["properties"]["kind"] for f in fc["features"]]
    assert kinds.count("route") == len(plan["routes"])
    assert kinds.count("stop") == plan["totals"]["stops"]
    for f in fc["features"]:
        coords = f["geometry"]["coordinates"]
        flat = [coords] if f["geometry"]["type"] == "Point" else [p for leg in coords for p in leg]
        assert all(-3 < lon < 0 and 53 < lat < 56 for lon, lat in flat)  # WGS84, lon first


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"shift": {"start": "2024-06-14T16:00", "end": "2024-06-14T08:00"}}, "shift", "ends"),
    ({"rural_crime_team": {"vehicles": 1, "base": {"lon": 0.5, "lat": 51.5}}},
     "rural_crime_team.base", "outside the force area"),
    ({"rural_crime_team": {"vehicles": 1, "base": "Nowhere Station"}},
     "rural_crime_team.base", "no patrol base called"),
    ({"town_centre_officers": {"Atlantis": 2}}, "town_centre_officers", "Thornbury"),
    ({"hotspots": {"eps_m": -5}}, "hotspots.eps_m", "greater than or equal to 5"),
    ({"hotspots": {"colour": "red"}}, "hotspots.colour", "not permitted"),
    ({"travel": {"model": "teleport"}}, "travel.model", None),
    ({"rural_crime_team": {"vehicles": 0}, "town_centre_officers": {}}, "rural_crime_team",
     "nothing to plan"),
])
def test_bad_requests_are_422_naming_the_field(app: TestClient, change: dict, field: str,
                                               words: str | None) -> None:
    r = app.post("/v1/patrol-plans", json={**BODY, **change})
    assert r.status_code == 422, r.text
    body = r.json()
    if isinstance(body["detail"], list):  # FastAPI's own validation: the field is in loc
        assert any(".".join(map(str, e["loc"][1:])) == field for e in body["detail"])
    else:
        assert body["field"] == field
    if words:
        assert words in str(body)


def test_no_hotspots_gives_a_clear_empty_plan(app: TestClient) -> None:
    r = app.post("/v1/patrol-plans", json={**BODY, "hotspots": {"from": "2010-01",
                                                                "to": "2010-02"}})
    assert r.status_code == 201
    body = r.json()
    assert body["totals"]["stops"] == 0 and body["hotspots"] == []
    assert "no hotspots" in body["notes"][0]
    # every crew is still in the plan, saying why it has nothing to do
    assert [r["label"] for r in body["routes"]] == [
        "Rural Crime Team vehicle 1", "Rural Crime Team vehicle 2", "Thornbury officer 1",
        "Thornbury officer 2"]
    assert all(r["empty_reason"] for r in body["routes"])
    assert {w["route"] for w in body["warnings"]} == {r["label"] for r in body["routes"]}


def test_a_crew_with_nothing_to_do_is_reported_and_briefed(app: TestClient) -> None:
    """Officers for a town whose town centre has no hotspot in the selection: a route with no
    stops and the reason, a warning, and a page of the briefing that says so."""
    r = app.post("/v1/patrol-plans", json={
        **BODY, "town_centre_officers": {"Thornbury": 2, "Elmsford": 1},
        "hotspots": {"method": "dbscan", "town": "Thornbury"}})
    assert r.status_code == 201, r.text
    plan = r.json()
    elmsford = next(rt for rt in plan["routes"] if rt["town"] == "Elmsford")
    assert elmsford["totals"]["stops"] == 0 and len(elmsford["stops"]) == 2
    assert elmsford["empty_reason"] == "no town-centre hotspots in Elmsford for this period"
    assert elmsford["stops"][0]["name"] == "Elmsford town centre"  # where they start from
    warning = next(w for w in plan["warnings"] if w["route"] == elmsford["label"])
    assert warning["kind"] == "no_stops" and "Elmsford" in warning["message"]
    town = [rt for rt in plan["routes"] if rt["town"] == "Thornbury"]
    assert len(town) == 2 and all(rt["totals"]["stops"] for rt in town)  # shared, both busy
    for rt in plan["routes"]:
        for s in rt["stops"]:
            assert re.fullmatch(r"SE \d{5} \d{5}", s["grid_ref"]), s["grid_ref"]
            assert s["idle_min"] == 0 or s["idle_min"] > plan["options"]["idle_threshold_min"]
        assert rt["totals"]["idle_min"] == round(sum(s["idle_min"] for s in rt["stops"]), 1)
    page = app.get(f"/v1/patrol-plans/{plan['plan_id']}/map").text
    assert warning["message"] in page  # the planner sees it before publishing
    html = app.get(f"/v1/patrol-plans/{plan['plan_id']}/briefing").text
    assert html.count('<section class="crew') == len(plan["routes"])
    assert "No stops for this crew:</strong> no town-centre hotspots in Elmsford" in html
    # each crew's QR code and short link, made absolute from the request's address
    assert html.count('class="qr"') == len(plan["routes"])
    for label, link in plan["links"]["crews"].items():
        # the address, then the code on a line of its own (maps.briefing._link_lines)
        assert f"<span>testserver</span>\n<span class=\"qr-path\">{link['short']}</span>" \
            in html, label
    # the maps: the store's roads and names under each route, a scale bar, a north arrow
    assert html.count('class="scale-bar"') == html.count('class="north-arrow"') == len(
        plan["routes"])
    assert "Thornbury town centre" in html and "Elmsford town centre" in html


def test_unknown_plans_are_404(app: TestClient) -> None:
    assert app.get("/v1/patrol-plans/0123456789abcdef").status_code == 404
    assert app.get("/v1/patrol-plans/not-an-id").status_code == 404
    assert app.get("/field/0123456789abcdef").status_code == 404


def test_visits_are_idempotent_and_checked(app: TestClient, plan: dict) -> None:
    pid = plan["plan_id"]
    stop = next(s for s in plan["routes"][0]["stops"] if s["kind"] == "hotspot")
    other = next(s for s in plan["routes"][1]["stops"] if s["kind"] == "hotspot")
    visit = {"visit_id": "0f1e2d3c-aaaa-4bbb-8ccc-123456789abc", "stop_id": stop["stop_id"],
             "visited_at": "2024-06-14T18:00:00+01:00", "note": "gate open; <b>no</b> script"}
    first = app.post(f"/v1/patrol-plans/{pid}/visits", json=visit)
    again = app.post(f"/v1/patrol-plans/{pid}/visits", json=visit)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    clash = app.post(f"/v1/patrol-plans/{pid}/visits", json={**visit, "stop_id": other["stop_id"]})
    assert clash.status_code == 409 and clash.json()["field"] == "visit_id"
    unknown = app.post(f"/v1/patrol-plans/{pid}/visits", json={**visit, "visit_id": "x" * 20,
                                                               "stop_id": "nope"})
    assert unknown.status_code == 422 and unknown.json()["field"] == "stop_id"
    got = app.get(f"/v1/patrol-plans/{pid}/visits").json()
    assert [v["visit_id"] for v in got["visits"]] == [visit["visit_id"]]
    assert got["by_stop"] == {stop["stop_id"]: 1} and got["stops_visited"] == 1
    assert got["visits"][0]["hotspot_id"] == stop["hotspot_id"]
    # the dosage: one planned stop made, its minutes not recorded (no end was sent)
    dose = got["dosage"]
    assert dose["totals"]["planned_visits"] == got["stops_planned"]
    assert (dose["totals"]["visits_made"], dose["totals"]["untimed_visits"]) == (1, 1)
    assert dose["totals"]["minutes_on_site"] == 0.0
    crew = next(c for c in dose["crews"] if c["crew"] == plan["routes"][0]["label"])
    assert crew["visits_made"] == 1
    assert stop["hotspot_id"] not in dose["never_visited"]
    timed = app.post(f"/v1/patrol-plans/{pid}/visits", json={
        "visit_id": "0f1e2d3c-bbbb-4bbb-8ccc-123456789abc", "stop_id": other["stop_id"],
        "visited_at": "2024-06-14T19:00:00+01:00", "ended_at": "2024-06-14T19:25:00+01:00"})
    assert timed.status_code == 201, timed.text
    dose = app.get(f"/v1/patrol-plans/{pid}/visits").json()["dosage"]
    assert dose["totals"]["visits_made"] == 2 and dose["totals"]["minutes_on_site"] == 25.0


def test_pages(app: TestClient, plan: dict) -> None:
    pid = plan["plan_id"]
    page = app.get(f"/v1/patrol-plans/{pid}/map").text
    briefing = app.get(f"/v1/patrol-plans/{pid}/briefing").text
    field = app.get(f"/field/{pid}").text
    for html in (page, briefing, field):
        assert not CDN_URL.search(html), CDN_URL.search(html)
        assert "<script src=\"http" not in html
    crews = plan["routes"]
    assert briefing.count('<section class="crew') == len(crews) >= 3  # a page per crew
    assert "@page { size: A4" in briefing and "<svg" in briefing
    assert "Rural Crime Team" in briefing and "Town centre officers, Thornbury" in briefing
    sw = app.get("/field/sw.js")
    assert sw.status_code == 200 and "javascript" in sw.headers["content-type"]
    data = app.get(f"/v1/patrol-plans/{pid}/field-data").json()
    assert data["plan"]["plan_id"] == pid
    assert data["heritage_sites"]["type"] == "FeatureCollection"


def test_briefing_escapes_data_text(tmp_path: Path) -> None:
    from maps.plan_pages import briefing_page

    doc = {"plan_id": "p", "name": "<script>alert(1)</script>", "shift": SHIFT,
           "routes": [{"unit": "rural_crime_team", "label": "v1", "town": None, "legs": [],
                       "totals": {"stops": 0, "distance_m": 0, "start": "2024-06-14T16:00",
                                  "end": "2024-06-14T16:00"},
                       "stops": [{"seq": 0, "kind": "base", "name": "<img onerror=x>",
                                  "lon": -1.0, "lat": 54.0, "arrival": "2024-06-14T16:00",
                                  "start": "2024-06-14T16:00", "departure": "2024-06-14T16:00"}]}]}
    html = briefing_page(doc)
    assert "<script>alert" not in html and "<img onerror" not in html


def test_errors_name_what_was_sent_without_sending_it_back(app: TestClient) -> None:
    """A 422 says which value was wrong, cut short: never the body (or a long value) back."""
    long = "x" * 20_000
    answers = [
        app.post("/v1/patrol-plans", json={**BODY, "hotspots": {long: 1}}),
        app.post("/v1/patrol-plans", json={**BODY, "town_bases": {long: "nowhere"}}),
        app.post("/v1/patrol-plans", json={**BODY, "town_centre_officers": {long: 1}}),
        app.post("/v1/patrol-plans", json={**BODY, "hotspots": {"category": long}}),
        app.get("/v1/hotspots", params={"category": ",".join([long[:5000]] * 3)}),
    ]
    for r in answers:
        assert r.status_code == 422, r.text[:300]
        assert len(r.content) < 3_000 and "x" * 100 not in r.text, r.text[:300]
        assert r.json()["detail"] and r.json().get("field")
