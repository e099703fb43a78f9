"""Plans made in the browser: preview, drafts and publishing, copies to another shift, crews'
short links and QR codes, who may do what (real app on the demo, both stores)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from api.access import new_key
from tests.api.test_api import served_demo
from tests.conftest import STORE_KINDS, as_role, make_store

SHIFT = {"start": "2024-06-14T16:00", "end": "2024-06-15T02:00"}  # a Friday evening
BODY = {"name": "Friday lates", "shift": SHIFT, "rural_crime_team": {"vehicles": 2},
        "town_centre_officers": {"Thornbury": 1}, "hotspots": {"method": "dbscan"},
        "time_limit_s": 0.3}


@pytest.fixture(scope="module", params=STORE_KINDS)
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
        demo_files: Any) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("plan-publishing")
    with served_demo(make_store(request.param, root, request), root, demo_files) as c:
        yield as_role(c)


def _key(app: TestClient, role: str, name: str | None = None) -> dict[str, str]:
    store = app.app.state.store  # type: ignore[attr-defined]
    token, _ = new_key(store, name=name or f"test {role}", role=role)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def keys(app: TestClient) -> dict[str, dict[str, str]]:
    return {"analyst": _key(app, "analyst", "Insp. Amy Shaw"),
            "rural_team": _key(app, "rural_team", "RCT tablet 1"),
            "partner": _key(app, "partner")}


@pytest.fixture(scope="module")
def draft(app: TestClient, keys: dict[str, dict[str, str]]) -> dict[str, Any]:
    r = app.post("/v1/patrol-plans", json=BODY, headers=keys["analyst"])
    assert r.status_code == 201, r.text
    return r.json()


def test_a_new_plan_is_a_draft_with_a_maker_and_crew_links(draft: dict[str, Any]) -> None:
    assert draft["published"] is False and draft["published_at"] is None
    assert draft["created_by"] == "Insp. Amy Shaw"
    crews = draft["links"]["crews"]
    labels = [r["label"] for r in draft["routes"]]
    assert list(crews) == labels and len(labels) == 3
    pid = draft["plan_id"]
    for link in crews.values():
        assert link["field"].startswith(f"/field/{pid}?crew=")
        assert re.fullmatch(r"/f/[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{8}", link["short"])
    assert len({link["short"] for link in crews.values()}) == len(labels)
    assert "published" not in draft["request"]


def test_preview_is_not_stored(app: TestClient) -> None:
    before = {p["plan_id"] for p in app.get("/v1/patrol-plans").json()}
    r = app.post("/v1/patrol-plans/preview", json={**BODY, "name": "Just looking"})
    assert r.status_code == 200, r.text
    plan = r.json()
    assert plan["plan_id"] is None and plan["name"] == "Just looking"
    assert plan["routes"] and plan["totals"]["stops"] > 0
    assert all(v == {"field": None, "short": None} for v in plan["links"]["crews"].values())
    assert {p["plan_id"] for p in app.get("/v1/patrol-plans").json()} == before


def test_the_rural_team_sees_only_published_plans(app: TestClient, keys: dict[str, Any],
                                                  draft: dict[str, Any]) -> None:
    pid = draft["plan_id"]
    rural = keys["rural_team"]
    listed = app.get("/v1/patrol-plans", headers=rural).json()
    assert pid not in {p["plan_id"] for p in listed}
    for path in (f"/v1/patrol-plans/{pid}", f"/v1/patrol-plans/{pid}/field-data"):
        r = app.get(path, headers=rural)
        assert r.status_code == 409, r.text
        assert r.json()["field"] == "plan_id" and "not published it yet" in r.json()["detail"]
    page = app.get(f"/field/{pid}", headers=rural)
    assert page.status_code == 409 and "text/html" in page.headers["content-type"]
    assert "This plan is not published yet" in page.text and "Friday lates" in page.text
    # planners open the draft as a preview, marked so
    planner = app.get(f"/field/{pid}", headers=keys["analyst"])
    assert planner.status_code == 200 and "Draft: not published" in planner.text
    # the rural team may not publish
    r = app.post(f"/v1/patrol-plans/{pid}/publish", headers=rural)
    assert r.status_code == 403
    assert app.get(f"/v1/patrol-plans/{pid}", headers=rural).status_code == 409


def test_publishing_opens_the_plan_to_the_field(app: TestClient, keys: dict[str, Any]) -> None:
    made = app.post("/v1/patrol-plans", json={**BODY, "name": "To publish"},
                    headers=keys["analyst"]).json()
    pid = made["plan_id"]
    r = app.post(f"/v1/patrol-plans/{pid}/publish", headers=keys["analyst"])
    assert r.status_code == 200, r.text
    first = r.json()["published_at"]
    assert r.json()["published"] is True and first
    again = app.post(f"/v1/patrol-plans/{pid}/publish", headers=keys["analyst"]).json()
    assert again["published_at"] == first  # publishing twice keeps the first time
    rural = keys["rural_team"]
    assert app.get(f"/v1/patrol-plans/{pid}/field-data", headers=rural).status_code == 200
    field = app.get(f"/field/{pid}", headers=rural)
    assert field.status_code == 200 and "Draft: not published" not in field.text
    listed = app.get("/v1/patrol-plans", headers=rural).json()
    entry = next(p for p in listed if p["plan_id"] == pid)
    assert entry["published"] and entry["name"] == "To publish" and entry["visits"] == 0
    assert entry["created_by"] == "Insp. Amy Shaw"
    assert app.post("/v1/patrol-plans/0123456789abcdef/publish").status_code == 404


def test_published_at_creation(app: TestClient) -> None:
    r = app.post("/v1/patrol-plans", json={**BODY, "published": True})
    assert r.status_code == 201 and r.json()["published"] is True
    r = app.post("/v1/patrol-plans", json={**BODY, "published": "perhaps"})
    assert r.status_code == 422


def test_short_links_lead_to_the_crew(app: TestClient, keys: dict[str, Any],
                                      draft: dict[str, Any]) -> None:
    pid = draft["plan_id"]
    label, link = next(iter(draft["links"]["crews"].items()))
    for code in (link["short"], link["short"].lower()):  # typed in lower case too
        r = app.get(code, headers=keys["rural_team"], follow_redirects=False)
        assert r.status_code == 303
        assert r.headers["location"] == link["field"]
    assert app.get(link["field"], headers=keys["analyst"]).status_code == 200
    # an unknown (or malformed) code: a page that says so
    for bad in ("/f/ZZZZ2222", "/f/abc", "/f/" + "9" * 300):
        r = app.get(bad, headers=keys["rural_team"], follow_redirects=False)
        assert r.status_code == 404 and "No plan has that short link" in r.text
    # partners have no field role; nobody signed in gets no redirect
    assert app.get(link["short"], headers=keys["partner"],
                   follow_redirects=False).status_code == 403
    anonymous = TestClient(app.app)
    r = anonymous.get(link["short"], follow_redirects=False)
    assert r.status_code == 401
    # a tablet that scans the code before signing in goes to the sign-in page, and back
    r = anonymous.get(link["short"], headers={"Accept": "text/html"}, follow_redirects=False)
    assert r.status_code in (302, 303, 307)
    assert r.headers["location"].startswith("/login") and quote(link["short"], safe="") in \
        r.headers["location"]
    assert pid in link["field"] and label


def test_plan_page_shows_each_crews_short_link_and_qr(app: TestClient, keys: dict[str, Any],
                                                      draft: dict[str, Any]) -> None:
    pid = draft["plan_id"]
    for path in (f"/plans/{pid}", f"/v1/patrol-plans/{pid}/map"):
        page = app.get(path, headers=keys["analyst"])
        assert page.status_code == 200
        html = page.text
        assert html.count('<svg role="img"') == len(draft["routes"])
        for link in draft["links"]["crews"].values():
            assert f'href="{link["short"]}"' in html
            assert "testserver" + link["short"] in html  # the printed address is absolute
        assert 'id="publish-plan"' in html and "draft" in html
        assert '<nav class="hs-nav"' in html and 'href="/plans" aria-current="page"' in html
    assert app.get(f"/plans/{pid}", headers=keys["rural_team"]).status_code == 409
    assert app.get(f"/v1/patrol-plans/{pid}/briefing",
                   headers=keys["rural_team"]).status_code == 409


def test_public_url_makes_the_printed_links(tmp_path: Path, demo_files: Any) -> None:
    from geodata.stores import SQLiteStore

    store = SQLiteStore.open(tmp_path / "s.sqlite")
    with served_demo(store, tmp_path, demo_files,
                     public_url="https://hotspots.example.police.uk") as c:
        as_role(c)
        plan = c.post("/v1/patrol-plans", json=BODY).json()
        html = c.get(f"/plans/{plan['plan_id']}").text
        short = next(iter(plan["links"]["crews"].values()))["short"]
        assert f"hotspots.example.police.uk{short}" in html
        assert f"QR code: {plan['routes'][0]['label']}, https://hotspots.example.police.uk" in html


def test_copy_to_another_shift(app: TestClient, keys: dict[str, Any],
                               draft: dict[str, Any]) -> None:
    pid = draft["plan_id"]
    shift = {"start": "2024-06-21T16:00", "end": "2024-06-22T02:00"}
    r = app.post(f"/v1/patrol-plans/{pid}/copy", json={"shift": shift}, headers=keys["analyst"])
    assert r.status_code == 201, r.text
    copy = r.json()
    assert copy["plan_id"] != pid and copy["name"] == "Friday lates"
    assert copy["shift"]["start"].startswith("2024-06-21T16:00")
    assert copy["published"] is False
    assert copy["request"] == {**draft["request"], "shift": {"start": "2024-06-21T16:00:00",
                                                               "end": "2024-06-22T02:00:00"}}
    assert set(copy["links"]["crews"]) == set(draft["links"]["crews"])
    assert all(copy["links"]["crews"][k]["short"] != draft["links"]["crews"][k]["short"]
               for k in copy["links"]["crews"])
    named = app.post(f"/v1/patrol-plans/{pid}/copy",
                     json={"shift": shift, "name": "Next Friday", "published": True}).json()
    assert named["name"] == "Next Friday" and named["published"] is True
    # bad copies name the field
    bad = app.post(f"/v1/patrol-plans/{pid}/copy",
                   json={"shift": {"start": "2024-06-21T16:00", "end": "2024-06-21T08:00"}})
    assert bad.status_code == 422 and bad.json()["field"] == "shift"
    bad = app.post(f"/v1/patrol-plans/{pid}/copy", json={"shift": {"start": "soon"}})
    assert bad.status_code == 422
    assert bad.json()["field"] in ("shift.start", "shift.end")
    assert app.post(f"/v1/patrol-plans/{pid}/copy", json={"shift": shift},
                    headers=keys["rural_team"]).status_code == 403
    assert app.post("/v1/patrol-plans/0123456789abcdef/copy",
                    json={"shift": shift}).status_code == 404


@pytest.mark.parametrize(("change", "field"), [
    ({"shift": {"start": "2024-06-14T16:00", "end": "2024-06-14T08:00"}}, "shift"),
    ({"dwell_min": 0}, "dwell_min"),
    ({"rural_crime_team": {"vehicles": 1, "base": "Nowhere"}}, "rural_crime_team.base"),
    ({"town_centre_officers": {"Atlantis": 1}}, "town_centre_officers"),
    ({"hotspots": {"from": "2024-13"}}, "hotspots.from"),
    ({"hotspots": {"priority": "parking"}}, "hotspots.priority"),
    ({"name": "x" * 201}, "name"),
])
def test_bad_form_input_is_a_4xx_naming_the_field(app: TestClient, change: dict[str, Any],
                                                  field: str) -> None:
    for path in ("/v1/patrol-plans/preview", "/v1/patrol-plans"):
        r = app.post(path, json={**BODY, **change})
        assert 400 <= r.status_code < 500, (path, r.status_code, r.text[:300])
        body = r.json()
        assert body["field"] == field, body
        assert body["detail"], body


def test_roles_on_the_new_endpoints(app: TestClient, keys: dict[str, Any],
                                    draft: dict[str, Any]) -> None:
    pid = draft["plan_id"]
    partner, rural = keys["partner"], keys["rural_team"]
    for method, path in (("POST", "/v1/patrol-plans/preview"), ("POST", f"/v1/patrol-plans/{pid}/copy"),
                         ("POST", f"/v1/patrol-plans/{pid}/publish"), ("GET", "/plans"),
                         ("GET", f"/plans/{pid}"), ("GET", "/f/ABCD2345")):
        assert app.request(method, path, headers=partner, json={}).status_code == 403, path
    assert app.post("/v1/patrol-plans/preview", json=BODY, headers=rural).status_code == 403


def test_plans_page_lists_and_offers_the_form_to_planners(app: TestClient, keys: dict[str, Any],
                                                          draft: dict[str, Any]) -> None:
    html = app.get("/plans", headers=keys["analyst"]).text
    assert 'id="plan-form"' in html and "Friday lates" in html and "Insp. Amy Shaw" in html
    assert "Fri 14 Jun 2024 16:00 to 02:00 next day" in html
    assert ">Draft<" in html and 'class="publish"' in html
    for base in ("Thornbury", "Priority"):  # a town's officers, the priorities from the taxonomy
        assert base in html
    rural = app.get("/plans", headers=keys["rural_team"]).text
    assert 'id="plan-form"' not in rural and 'class="publish"' not in rural
    assert f'href="/plans/{draft["plan_id"]}"' not in rural  # drafts are not listed


def test_visits_keep_the_officer_and_the_end_of_the_dwell(app: TestClient,
                                                          keys: dict[str, Any]) -> None:
    plan = app.post("/v1/patrol-plans", json={**BODY, "published": True}).json()
    pid = plan["plan_id"]
    stop = next(s for s in plan["routes"][0]["stops"] if s["kind"] == "hotspot")
    base = {"stop_id": stop["stop_id"], "visited_at": "2024-06-14T18:00:00+01:00"}
    old = app.post(f"/v1/patrol-plans/{pid}/visits",
                   json={**base, "visit_id": "dev-old-client-1"}, headers=keys["rural_team"])
    assert old.status_code == 201 and old.json()["ended_at"] is None
    new = app.post(f"/v1/patrol-plans/{pid}/visits",
                   json={**base, "visit_id": "dev-new-client-1", "officer": " PC Amy Holt ",
                         "ended_at": "2024-06-14T18:15:00+01:00"}, headers=keys["rural_team"])
    assert new.status_code == 201, new.text
    assert new.json()["officer"] == "PC Amy Holt"
    assert new.json()["ended_at"].startswith("2024-06-14T17:15:00")  # UTC
    for bad, field in (({"officer": "x" * 101}, "officer"),
                       ({"ended_at": "2024-06-14T17:00:00+01:00"}, "ended_at"),
                       ({"ended_at": "later"}, "ended_at")):
        r = app.post(f"/v1/patrol-plans/{pid}/visits",
                     json={**base, "visit_id": "dev-bad-client-1", **bad})
        assert r.status_code == 422, r.text
        assert r.json()["field"] == field, r.json()
    listed = {p["plan_id"]: p for p in app.get("/v1/patrol-plans").json()}
    assert listed[pid]["visits"] == 2


def test_saving_a_preview_stores_the_plan_previewed(app: TestClient) -> None:
    body = {**BODY, "name": "Seen first", "seed": 7}
    seen = app.post("/v1/patrol-plans/preview", json=body).json()
    saved = app.post("/v1/patrol-plans", json={**body, "published": True}).json()
    assert saved["routes"] == seen["routes"] and saved["totals"] == seen["totals"]
    assert saved["data_version"] == seen["data_version"] and saved["published"]
    again = app.post("/v1/patrol-plans", json=body).json()  # the preview is used once
    assert again["plan_id"] != saved["plan_id"] and again["published"] is False
