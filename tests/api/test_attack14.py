"""Issue 14's new surfaces attacked as their users could (real app on the demo, both stores):
a Rural Crime Team key reading a draft plan through a hotspot's page, a compressed page that
reflects the address holding the session's CSRF token unmasked (BREACH), visit times at the
calendar's ends answered 500 instead of a 422 naming the field."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.access import new_key
from api.csrf import unmasked
from tests.api.test_api import served_demo
from tests.conftest import STORE_KINDS, as_role, make_store, sign_in_client

SHIFT = {"start": "2024-06-14T16:00", "end": "2024-06-15T02:00"}
BODY = {"shift": SHIFT, "rural_crime_team": {"vehicles": 1},
        "town_centre_officers": {"Thornbury": 1}, "hotspots": {"method": "dbscan"},
        "time_limit_s": 0.3}


@pytest.fixture(scope="module", params=STORE_KINDS)
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
        demo_files: Any) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("attack14")
    with served_demo(make_store(request.param, root, request), root, demo_files) as c:
        yield as_role(c)


def _key(app: TestClient, role: str) -> str:
    token, _ = new_key(app.app.state.store, name=f"attack {role}", role=role)  # type: ignore[attr-defined]
    return token


def _auth(app: TestClient, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {_key(app, role)}"}


def _first_hotspot_stop(plan: dict[str, Any]) -> dict[str, Any]:
    return next(s for r in plan["routes"] for s in r["stops"] if s.get("hotspot_id"))


def test_a_hotspot_page_names_no_draft_plan_to_the_rural_team(app: TestClient) -> None:
    name = "Draft only for planners 7f3a"
    r = app.post("/v1/patrol-plans", json={**BODY, "name": name}, headers=_auth(app, "analyst"))
    assert r.status_code == 201, r.text
    plan = r.json()
    assert plan["published"] is False
    hotspot = _first_hotspot_stop(plan)["hotspot_id"]
    page = f"/hotspots/{hotspot}?method=dbscan"
    rural = _auth(app, "rural_team")
    # the plan itself is refused to the Rural Crime Team while it is a draft ...
    assert app.get(f"/v1/patrol-plans/{plan['plan_id']}", headers=rural).status_code == 409
    # ... and its hotspot's page does not list it (name, shift, visits planned) either
    seen = app.get(page, headers=rural)
    assert seen.status_code == 200, seen.text
    assert name not in seen.text and plan["plan_id"] not in seen.text
    # planners see their draft there; once published, so does the team
    planner = app.get(page, headers=_auth(app, "analyst")).text
    assert name in planner and plan["plan_id"] in planner
    published = app.post(f"/v1/patrol-plans/{plan['plan_id']}/publish")
    assert published.status_code == 200, published.text
    assert name in app.get(page, headers=rural).text


def _hidden_tokens(text: str) -> list[str]:
    return re.findall(r'name="csrf_token" value="([^"]*)"', text)


def test_the_hotspot_page_holds_the_csrf_token_only_masked(app: TestClient) -> None:
    """The page is gzipped and writes what the address holds (the id on a 404 page, the
    parameters in its links): the session's token in it must change with every answer."""
    browser = TestClient(app.app, base_url=str(app.base_url))
    assert sign_in_client(browser, _key(app, "rural_team")).status_code == 303
    token = browser.cookies.get("hotspot_csrf")
    session = browser.cookies.get("hotspot_session")
    assert token and session
    for path in ("/hotspots/dbscan-001?method=dbscan", "/hotspots/dbscan-9999?method=dbscan"):
        first, second = browser.get(path), browser.get(path)
        assert first.status_code in (200, 404), first.text
        assert first.headers.get("content-encoding") == "gzip"
        assert token not in first.text and token not in second.text, path
        shown = _hidden_tokens(first.text) + _hidden_tokens(second.text)
        assert len(shown) == 2 and shown[0] != shown[1], shown  # masked afresh every time
        assert all(unmasked(t) == token for t in shown)  # and still the session's token
        assert "method=dbscan" in first.text  # the address is written back into the page
    # the page's sign-out form still works with the masked token, and ends the session
    out = browser.post("/logout", data={"csrf_token": shown[0]},
                       headers={"Origin": str(browser.base_url).rstrip("/")},
                       follow_redirects=False)
    assert out.status_code == 303, out.text
    browser.cookies.set("hotspot_session", session)
    assert browser.get("/hotspots/dbscan-001?method=dbscan",
                       follow_redirects=False).status_code in (303, 401)


@pytest.mark.parametrize(("times", "field"), [
    ({"visited_at": "0001-01-01T00:00:00+01:00"}, "visited_at"),
    ({"visited_at": "9999-12-31T23:59:59-01:00"}, "visited_at"),
    ({"visited_at": "2024-06-14T17:00", "ended_at": "9999-12-31T23:59:59-05:00"}, "ended_at"),
])
def test_visit_times_past_the_calendar_are_a_422_naming_the_field(
        app: TestClient, times: dict[str, str], field: str) -> None:
    plan = app.post("/v1/patrol-plans", json={**BODY, "published": True}).json()
    stop = _first_hotspot_stop(plan)
    r = app.post(f"/v1/patrol-plans/{plan['plan_id']}/visits",
                 json={"visit_id": f"edge-{field}-{len(times)}-0001", "stop_id": stop["stop_id"],
                       **times}, headers=_auth(app, "rural_team"))
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field
    assert app.get(f"/v1/patrol-plans/{plan['plan_id']}/visits").json()["visits"] == []


@pytest.mark.parametrize("shift", [
    {"start": "9999-12-31T18:00", "end": "9999-12-31T23:00"},
    {"start": "0001-01-01T00:00+05:00", "end": "0001-01-01T05:00+05:00"},
])
def test_a_shift_in_year_1_or_9999_is_a_422_not_a_plan_that_breaks_the_list(
        app: TestClient, shift: dict[str, str]) -> None:
    made = app.post("/v1/patrol-plans", json={**BODY, "shift": shift})
    assert made.status_code == 422, made.text
    assert made.json()["field"] == "shift.start"
    plan = app.post("/v1/patrol-plans", json=BODY).json()
    copied = app.post(f"/v1/patrol-plans/{plan['plan_id']}/copy", json={"shift": shift})
    assert copied.status_code == 422 and copied.json()["field"] == "shift.start", copied.text


def test_a_stored_plan_with_a_shift_at_the_calendars_end_does_not_break_the_lists(
        app: TestClient) -> None:
    """A plan stored before shifts were checked (or by another program): the plans page and
    the list are every crew's way in, so one plan must not make them a 500."""
    store = app.app.state.store  # type: ignore[attr-defined]
    # midnight UTC on 1 January of year 1 is before it in London's local mean time (-0:01:15)
    store.put_plan("00000000000009a9", shift_start="0001-01-01T00:00:00+00:00",
                   shift_end="0001-01-01T05:00:00+00:00", data_version="old",
                   request={"name": "Year one"}, plan={"routes": []},
                   published_at="2024-01-01T00:00:00+00:00")
    for role in ("analyst", "rural_team"):
        listed = app.get("/v1/patrol-plans", headers=_auth(app, role))
        assert listed.status_code == 200, listed.text
        assert "00000000000009a9" in {p["plan_id"] for p in listed.json()}
        assert app.get("/plans", headers=_auth(app, role)).status_code == 200


def test_pages_made_for_the_caller_are_private(app: TestClient) -> None:
    """Each of these pages holds the caller's session (its masked CSRF token) and what its
    role may see (drafts, the plan form): no shared cache may keep them."""
    plan = app.post("/v1/patrol-plans", json={**BODY, "published": True}).json()
    hotspot = _first_hotspot_stop(plan)["hotspot_id"]
    for role in ("analyst", "rural_team"):
        for path in ("/", "/plans", f"/plans/{plan['plan_id']}", f"/field/{plan['plan_id']}",
                     f"/hotspots/{hotspot}?method=dbscan", "/products",
                     f"/v1/patrol-plans/{plan['plan_id']}/briefing"):
            r = app.get(path, headers=_auth(app, role))
            assert r.status_code == 200, (path, r.text[:200])
            assert "private" in r.headers["cache-control"], (role, path, r.headers)


def test_many_newer_drafts_do_not_hide_published_plans_from_the_team(app: TestClient) -> None:
    """The team's list was the latest N plans with the drafts then taken out: planners saving
    drafts (copies for the coming weeks) emptied it."""
    published = app.post("/v1/patrol-plans", json={**BODY, "name": "Out on the road",
                                                   "published": True}).json()
    store = app.app.state.store  # type: ignore[attr-defined]
    time.sleep(1.1)  # plans are stamped to the second: the drafts must be strictly newer
    for i in range(120):  # newer than the published plan
        store.put_plan(f"d{i:015x}", shift_start="2024-06-21T16:00:00+01:00",
                       shift_end="2024-06-22T02:00:00+01:00", data_version="old",
                       request={"name": f"Draft {i}"}, plan={"routes": []})
    rural = _auth(app, "rural_team")
    listed = app.get("/v1/patrol-plans", params={"limit": 5}, headers=rural).json()
    assert published["plan_id"] in {p["plan_id"] for p in listed}
    assert all(p["published"] for p in listed) and len(listed) <= 5
    assert f"/plans/{published['plan_id']}" in app.get("/plans", headers=rural).text
    planners = app.get("/v1/patrol-plans", params={"limit": 5}).json()  # drafts included
    assert len(planners) == 5 and all(p["name"].startswith("Draft ") for p in planners)
