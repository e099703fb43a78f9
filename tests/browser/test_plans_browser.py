"""The plans page in a real headless Chromium, served by the real service on the demo with tiles
that never load: a planner makes a plan through the form, previews it on the map, saves it,
publishes it, sees it in the list and copies it to another shift; bad input is named; a Rural
Crime Team officer sees the published plan only, and its crew's short link opens the field view.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from api.cli.demo import DEMO_PLAN_NAME
from bench._server import Server, sign_in
from tests.browser.conftest import demo_server

pytestmark = pytest.mark.browser
DEAD_TILES = "http://127.0.0.1:9/tiles/{z}/{x}/{y}.png"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, demo_files) -> Iterator[Server]:
    with demo_server(tmp_path_factory, demo_files, tiles=DEAD_TILES) as s:
        yield s


def _watched(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
    page.on("console", lambda m: errors.append(m.text)
            if m.type == "error" and ("Content Security Policy" in m.text
                                      or "Uncaught" in m.text) else None)
    return errors


def _fill_form(page: Page, name: str) -> None:
    page.fill("#f-name", name)
    page.fill("#f-start", "2024-06-14T16:00")
    page.fill("#f-end", "2024-06-15T02:00")
    page.fill("#f-vehicles", "2")
    page.fill("input[data-town='Thornbury']", "1")
    page.fill("#f-from", "2024-01")
    page.fill("#f-to", "2024-06")
    page.fill("#f-dwell", "15")


def test_a_planner_makes_previews_saves_publishes_and_copies_a_plan(
        browser: Browser, server: Server) -> None:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    errors = _watched(page)
    sign_in(page, server.url, server.key)
    page.goto(f"{server.url}/plans")
    assert page.locator("nav.hs-nav a[aria-current='page']").inner_text() == "Patrol plans"
    # the choices come from the store and the taxonomy
    assert page.locator("#f-base option").count() >= 1
    assert page.locator("input[data-town]").count() >= 2
    assert page.locator("#f-priority option").count() >= 2

    # a bad input is named before anything is sent
    page.click("#preview-button")
    page.wait_for_selector("#form-errors:not([hidden])")
    assert page.locator("#form-errors").inner_text().startswith("Name:")
    assert page.get_attribute("#f-name", "aria-invalid") == "true"
    page.fill("#f-name", "Browser Friday")
    page.fill("#f-start", "")
    page.click("#preview-button")
    page.wait_for_selector("#form-errors:not([hidden])")
    assert "Shift starts" in page.locator("#form-errors").inner_text()
    assert page.get_attribute("#f-start", "aria-invalid") == "true"

    # nothing to plan: the service's 422 is shown naming the field, not a broken page
    _fill_form(page, "Browser Friday")
    page.fill("#f-vehicles", "0")
    page.fill("input[data-town='Thornbury']", "0")
    page.click("#preview-button")
    page.locator("#form-errors", has_text="nothing to plan").wait_for(timeout=60_000)
    said = page.locator("#form-errors").inner_text()
    assert said.startswith("Rural Crime Team:") and "rural_crime_team" not in said  # plain words
    assert page.get_attribute("#f-vehicles", "aria-invalid") == "true"

    # preview: drawn on the map, not stored
    _fill_form(page, "Browser Friday")
    page.click("#preview-button")
    page.wait_for_selector("#preview:not([hidden])", timeout=60_000)
    page.wait_for_selector("#preview-map .stop-number", timeout=60_000)
    assert page.locator("#preview-map path.leaflet-interactive").count() >= 2  # route lines
    assert re.search(r"\d+ stops on 3 routes", page.locator("#preview-summary").inner_text())
    assert page.locator("#preview-routes li").count() >= 3
    # not stored: the only plan is the demo's own (hotspot serve --demo publishes one)
    assert [p["name"] for p in server.json("/v1/patrol-plans")] == [DEMO_PLAN_NAME]

    # save: the plan's page with each crew's short link and QR code, marked draft
    assert page.locator("#save-preview").inner_text() == "Save as draft"  # what it does
    with page.expect_navigation():
        page.click("#save-preview")
    assert re.search(r"/plans/[0-9a-f]{16}$", page.url)
    pid = page.url.rsplit("/", 1)[1]
    page.wait_for_selector("#crews .crew-qr svg")
    assert page.locator("#crews .crew-qr svg").count() == 3
    assert page.locator("#crews a.short").count() == 3
    assert "draft" in page.locator("#crews .draft-note").inner_text()
    assert page.locator("header h1 .draft-tag").inner_text() == "draft"
    stored = server.json(f"/v1/patrol-plans/{pid}")
    assert stored["name"] == "Browser Friday" and stored["published"] is False
    assert stored["request"]["dwell_min"] == 15
    assert stored["request"]["hotspots"] == {"from": "2024-01", "to": "2024-06"}
    assert stored["request"]["town_centre_officers"] == {"Thornbury": 1}

    # publish from the list
    page.goto(f"{server.url}/plans")
    row = page.locator(f"tr[data-plan='{pid}']")
    assert "Draft" in row.inner_text() and "Browser Friday" in row.inner_text()
    assert "benchmark or test run" in row.inner_text()  # who made it: the key's name
    with page.expect_navigation():
        row.locator("button.publish").click()
    row = page.locator(f"tr[data-plan='{pid}']")
    assert "Published" in row.inner_text()
    assert server.json(f"/v1/patrol-plans/{pid}")["published"] is True
    page.goto(f"{server.url}/plans/{pid}")  # its page says so too, as it said draft before
    assert page.locator("header h1 .published-tag").inner_text() == "published"
    assert page.locator("header h1 .draft-tag").count() == 0
    page.goto(f"{server.url}/plans")
    row = page.locator(f"tr[data-plan='{pid}']")

    # copy to another shift: the dialog offers the same time a week later
    row.locator("button.copy").click()
    page.wait_for_selector("#copy-dialog[open]")
    assert page.input_value("#c-start") == "2024-06-21T16:00"
    assert page.input_value("#c-end") == "2024-06-22T02:00"
    page.fill("#c-name", "Browser Friday, next week")
    with page.expect_navigation(timeout=60_000):
        page.click("#copy-go")
    rows = page.locator("#plan-list tbody tr")
    assert rows.count() == 3  # the two, and the demo's own plan
    first = rows.first.inner_text()  # newest first
    assert "Browser Friday, next week" in first and "Fri 21 Jun 2024 16:00" in first
    assert "Draft" in first
    assert errors == []
    context.close()


def test_the_rural_team_sees_published_plans_and_follows_a_short_link(
        browser: Browser, server: Server) -> None:
    published = server.json("/v1/patrol-plans", {
        "name": "Saturday earlies", "published": True, "time_limit_s": 0.3,
        "shift": {"start": "2024-06-15T08:00", "end": "2024-06-15T16:00"},
        "rural_crime_team": {"vehicles": 1}})
    draft = server.json("/v1/patrol-plans", {
        "name": "Secret draft", "time_limit_s": 0.3,
        "shift": {"start": "2024-06-16T08:00", "end": "2024-06-16T16:00"},
        "rural_crime_team": {"vehicles": 1}})
    rural = server.json("/v1/keys", {"name": "RCT tablet 7", "role": "rural_team"})["key"]
    context = browser.new_context(viewport={"width": 800, "height": 1280}, is_mobile=True,
                                  has_touch=True, device_scale_factor=2)
    page = context.new_page()
    errors = _watched(page)
    sign_in(page, server.url, rural)
    assert page.url == f"{server.url}/plans"  # where the team lands: its plans
    text = page.locator("main").inner_text()
    assert "Saturday earlies" in text and "Secret draft" not in text
    assert page.locator("#plan-form").count() == 0 and page.locator("button.publish").count() == 0
    page.click("text=Saturday earlies")
    page.wait_for_selector("#crews a.short")
    short = page.locator("#crews a.short").first.get_attribute("href")
    label = published["routes"][0]["label"]
    assert short is not None and short == published["links"]["crews"][label]["short"]
    page.goto(server.url + short)
    assert page.url.startswith(f"{server.url}/field/{published['plan_id']}?crew=")
    page.wait_for_selector("body[data-ready='1']", timeout=30_000)
    # a draft gives a page that says so
    answer = page.goto(f"{server.url}/field/{draft['plan_id']}")
    assert answer is not None and answer.status == 409
    assert "not published yet" in page.locator("h1").inner_text()
    assert errors == []
    context.close()


def test_a_town_officers_plan_opens_on_its_streets_not_the_county(
        browser: Browser, server: Server) -> None:
    # the hotspots it leaves out lie all over the county; its stops lie in one town centre
    plan = server.json("/v1/patrol-plans", {
        "name": "Thornbury on foot", "time_limit_s": 0.3,
        "shift": {"start": "2024-06-14T18:00", "end": "2024-06-15T02:00"},
        "rural_crime_team": {"vehicles": 0}, "town_centre_officers": {"Thornbury": 1},
        "hotspots": {"from": "2024-01", "to": "2024-06"}})
    stops = [s for r in plan["routes"] for s in r["stops"] if s["kind"] != "base"]
    assert stops and any(h["left_out"] for h in plan["hotspots"])
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    errors = _watched(page)
    sign_in(page, server.url, server.key)
    page.goto(f"{server.url}/plans/{plan['plan_id']}")
    page.wait_for_selector(".stop-number")
    box = page.locator("#map").bounding_box()
    marks = [page.locator(".stop-number").nth(i).bounding_box()
             for i in range(page.locator(".stop-number").count())]
    assert box is not None and len(marks) == len(stops)
    xs = [m["x"] + m["width"] / 2 for m in marks if m is not None]
    ys = [m["y"] + m["height"] / 2 for m in marks if m is not None]
    # every stop in view, spread over the map as on a street map (at the county's zoom one
    # town's stops were a heap some 30 px across)
    assert all(box["x"] <= x <= box["x"] + box["width"] for x in xs)
    assert all(box["y"] <= y <= box["y"] + box["height"] for y in ys)
    assert max(max(xs) - min(xs), max(ys) - min(ys)) > 250
    assert errors == []
    page.close()
