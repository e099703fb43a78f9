"""A hotspot's own page in a real headless Chromium, served by the real service with no basemap
and every other address blocked: the outline on the map, the charts, the advice, the patrols
that went there; on a desktop and on a touch tablet, reached from the planner's popup.

Screenshots go to ``$HOTSPOT_SCREENSHOTS`` when set (to look at), else the test's folder.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from bench._server import Server, open_offline, sign_in
from tests.browser.conftest import demo_server

pytestmark = pytest.mark.browser

QUERY = "method=dbscan&from=2024-01&to=2024-06"
TABLET = {"viewport": {"width": 800, "height": 1280}, "device_scale_factor": 1,
          "is_mobile": True, "has_touch": True,
          "geolocation": {"latitude": 54.23, "longitude": -1.35},
          "permissions": ["geolocation"]}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, demo_files) -> Iterator[Server]:
    with demo_server(tmp_path_factory, demo_files, tiles="none") as s:
        yield s


@pytest.fixture(scope="module")
def visited(server: Server) -> dict:
    """A published plan over the same hotspots (a draft's visits are not counted), with one of
    its stops visited (no end time: no minutes on site are counted for it)."""
    plan = server.json("/v1/patrol-plans", {
        "name": "Friday lates", "published": True,
        "shift": {"start": "2024-06-14T16:00", "end": "2024-06-15T02:00"},
        "rural_crime_team": {"vehicles": 1}, "town_centre_officers": {"Thornbury": 1},
        "hotspots": {"method": "dbscan", "from": "2024-01", "to": "2024-06"},
        "time_limit_s": 0.5})
    stop = next(s for r in plan["routes"] for s in r["stops"] if s.get("stop_id"))
    server.json(f"/v1/patrol-plans/{plan['plan_id']}/visits",
                {"visit_id": "browser-visit-0001", "stop_id": stop["stop_id"],
                 "visited_at": stop["start"]})
    return {"plan": plan, "stop": stop}


def _shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("HOTSPOT_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _check_page(page: Page, hotspot: dict) -> None:
    assert page.locator("h1").inner_text().startswith(f"#{hotspot['rank']} ")
    assert page.locator("path.leaflet-interactive").count() >= 1  # the outline
    assert page.locator("svg.month-chart g.month").count() == 18  # 6 months and 12 before
    assert page.locator("svg.bar-chart g.bar").count() >= 1
    assert page.locator("svg.heat-grid g.cell").count() == 7 * 24  # the demo has times
    assert page.locator(".advice article").count() >= 1
    assert page.locator("svg.chart title").first.text_content()


def test_the_page_on_a_desktop_from_the_planner_popup(browser: Browser, server: Server,
                                                     visited: dict, tmp_path: Path) -> None:
    page, watch = open_offline(browser, f"{server.url}/?{QUERY}", key=server.key)
    page.set_viewport_size({"width": 1440, "height": 900})
    hotspots = server.json(f"/v1/hotspots?{QUERY}")["features"]
    stop_id = visited["stop"]["hotspot_id"]
    target = next(f["properties"] for f in hotspots if f["properties"]["id"] == stop_id)
    page.evaluate(
        """(id) => {
            const map = Object.values(window).find(v => v instanceof L.Map);
            map.eachLayer(l => { if (l.feature && l.feature.properties &&
                                     l.feature.properties.id === id) l.openPopup(); });
        }""", stop_id)
    link = page.locator(".leaflet-popup-content a.hs-page-link")
    link.wait_for(timeout=5_000)
    # at the popup's top: in view without scrolling the popup (the facts below it are long)
    box = link.bounding_box()
    frame = page.locator(".leaflet-popup-content-wrapper").bounding_box()
    assert box and frame and box["y"] + box["height"] <= frame["y"] + frame["height"]
    assert box["y"] - frame["y"] < 120 and box["height"] >= 44
    href = link.get_attribute("href")
    assert href is not None and href.startswith(f"/hotspots/{stop_id}?") and "from=2024-01" in href
    with page.expect_navigation(wait_until="commit"):  # the page answered: the charts next
        link.click()
    page.wait_for_selector("svg.month-chart")
    page.wait_for_timeout(300)
    _check_page(page, target)
    plans = page.locator("section.plans tbody tr")
    assert plans.count() == 1
    cells = [" ".join(c.split()) for c in plans.first.locator("td").all_inner_texts()]
    assert cells[0].startswith("Friday lates") and cells[2].startswith("1 of ")
    # no end time sent: no minutes counted, the visit counted as having none (never guessed)
    assert cells[4].startswith("0 min of ") and cells[5] == "1"
    page.screenshot(path=str(_shots(tmp_path) / "hotspot-page-1440x900.png"), full_page=False)
    page.screenshot(path=str(_shots(tmp_path) / "hotspot-page-1440-full.png"), full_page=True)
    assert not watch.errors and not watch.dialogs, (watch.errors, watch.dialogs)
    assert not watch.outside  # tiles=none: nothing beyond this machine is asked for
    page.close()


def test_the_page_on_a_touch_tablet(browser: Browser, server: Server, tmp_path: Path) -> None:
    context = browser.new_context(**TABLET)  # type: ignore[arg-type]
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, server.url, server.key)
    hotspots = server.json(f"/v1/hotspots?{QUERY}")["features"]
    top = hotspots[0]["properties"]
    page.goto(f"{server.url}/hotspots/{top['id']}?{QUERY}", wait_until="load")
    page.wait_for_selector("svg.month-chart")
    page.wait_for_timeout(300)
    _check_page(page, top)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 800, width  # nothing runs off the side of the screen
    # touch targets (the map's attribution line is small print, as on every Leaflet map)
    for link in page.locator("main a:not(.leaflet-control-attribution a)").all():
        box = link.bounding_box()
        if box is not None and link.is_visible():
            assert box["height"] >= 44, (link.inner_text(), box)
    for chart in page.locator("svg.chart").all():
        box = chart.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 800
    page.screenshot(path=str(_shots(tmp_path) / "hotspot-page-800x1280.png"), full_page=False)
    page.screenshot(path=str(_shots(tmp_path) / "hotspot-page-800-full.png"), full_page=True)
    assert not errors, errors
    context.close()



def test_the_plan_map_links_its_stops_to_their_pages(browser: Browser, server: Server,
                                                     visited: dict) -> None:
    plan, stop = visited["plan"], visited["stop"]
    page, watch = open_offline(browser, f"{server.url}/v1/patrol-plans/{plan['plan_id']}/map",
                               wait_for=".leaflet-marker-icon", key=server.key)
    href = ""
    for marker in page.locator(".stop-number").all():  # the stop's numbered marker
        if marker.inner_text().strip() != str(stop["seq"]):
            continue
        marker.dispatch_event("click")
        link = page.locator(".leaflet-popup-content a.hotspot-page")
        link.wait_for(timeout=5_000)
        href = link.get_attribute("href") or ""
        if href.startswith(f"/hotspots/{stop['hotspot_id']}?"):
            break
    assert href.startswith(f"/hotspots/{stop['hotspot_id']}?") and "from=2024-01" in href
    # the link followed by its own click event, as the markers' popups are opened: a mouse
    # click at the link's place could land on the map while the popup's pan still moved it
    # (seen under both xdist workers: no request for the page ever reached the server)
    with page.expect_navigation(wait_until="commit"):  # the page answered: the charts next
        link.dispatch_event("click")
    page.wait_for_selector("svg.month-chart")
    assert page.locator("section.plans tbody tr").count() == 1
    assert not watch.errors, watch.errors
    page.close()
