"""The planner's map in headless Chromium, offline: with a large selection (every incident of
the demo, more than the page draws as GeoJSON) its incidents come from
/tiles/incidents/{z}/{x}/{y}.mvt through the vendored protomaps-leaflet, nothing from outside;
with a small one (one month) they are GeoJSON points; the rural team gets no incidents."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from bench._server import Server, open_offline, sign_in
from maps.hotspot_map import INCIDENT_TILES_ABOVE
from tests.browser.conftest import demo_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, demo_files) -> Iterator[Server]:
    with demo_server(tmp_path_factory, demo_files, tiles="none") as s:
        yield s


def _tiled(page) -> dict:
    page.wait_for_function("() => window.hotspotPlanner && hotspotPlanner.tiled.mode !== null",
                           timeout=20_000)
    return page.evaluate("() => ({mode: hotspotPlanner.tiled.mode, "
                         "count: hotspotPlanner.tiled.count})")


def test_a_large_selection_draws_its_incidents_from_vector_tiles(browser: Browser,
                                                                 server: Server,
                                                                 tmp_path: Path) -> None:
    page, watch = open_offline(browser, f"{server.url}/?from=&to=", key=server.key)
    page.set_viewport_size({"width": 1440, "height": 900})
    state = _tiled(page)
    assert state["mode"] == "tiles" and state["count"] > INCIDENT_TILES_ABOVE
    # off at first, and nothing fetched for it until it is ticked
    page.wait_for_timeout(500)
    assert not [u for u in watch.local
                if "/tiles/incidents/" in u or "/tiles/density/" in u or "/static/vendor/" in u]
    page.locator(".hs-toggle-incidents input").check()
    # the tiles were asked for and answered, and drawn on canvases in the points' pane
    page.wait_for_function(
        "() => performance.getEntriesByType('resource').some(e => "
        "e.name.includes('/tiles/incidents/') && e.responseStatus === 200)", timeout=20_000)
    assert any("/static/vendor/protomaps-leaflet.js" in u for u in watch.local)
    tiles = [u for u in watch.local if "/tiles/incidents/" in u]
    assert tiles and all("from=&to=" in u for u in tiles)
    inked = """() => {
        const canvases = document.querySelectorAll('.leaflet-hs-points-pane canvas');
        let inked = 0;
        canvases.forEach(c => {
          const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          for (let i = 3; i < d.length; i += 4) { if (d[i] > 0) { inked++; } }
        });
        return {canvases: canvases.length, inked: inked};
    }"""
    # painted a moment after the tiles arrive: wait for ink (a page that never paints fails)
    page.wait_for_function(f"() => ({inked})().inked > 500", timeout=20_000)
    drawn = page.evaluate(inked)
    assert drawn["canvases"] >= 1 and drawn["inked"] > 500, drawn
    # a row of the legend, with its count, one neutral colour (not a team's)
    assert page.locator(".hs-toggle-incidents .hs-key-label").inner_text() == \
        "Every incident, tiled"
    assert page.locator(".hs-toggle-incidents .hs-count").inner_text() == \
        f"{state['count']:,}"
    page.wait_for_timeout(500)  # let the last tiles paint for the picture
    page.screenshot(path=str(tmp_path / "planner-tiled-incidents-1440x900.png"))
    assert watch.outside == [] and watch.dialogs == []
    assert not [e for e in watch.errors if "tiles" in e or "uncaught" in e], watch.errors
    page.close()


def test_a_small_selection_draws_geojson_points(browser: Browser, server: Server) -> None:
    month = server.json("/v1/incidents?limit=1")["features"][0]["properties"]["occurred_at"][:7]
    page, watch = open_offline(browser, f"{server.url}/?from={month}&to={month}",
                               key=server.key)
    state = _tiled(page)
    assert state["mode"] == "geojson" and 0 < state["count"] <= INCIDENT_TILES_ABOVE
    page.locator(".hs-toggle-incidents input").check()
    page.wait_for_function("() => hotspotPlanner.tiled.incidents !== null", timeout=20_000)
    assert page.locator(".leaflet-hs-points-pane path").count() == state["count"]
    assert not [u for u in watch.local if "/tiles/incidents/" in u]
    page.close()


def test_the_rural_team_gets_no_incidents(browser: Browser, server: Server) -> None:
    key = str(server.json("/v1/keys", {"name": "rural", "role": "rural_team"})["key"])
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url))
    sign_in(page, server.url, key)
    page.goto(f"{server.url}/?from=&to=")
    page.wait_for_selector("path.hs-hotspot", timeout=15_000)
    page.wait_for_timeout(1500)
    assert page.evaluate("() => hotspotPlanner.tiled.mode") is None
    assert not [u for u in seen if "/tiles/incidents/" in u or "/v1/incidents" in u]
    assert page.locator(".hs-toggle-density").count() == 1  # contours: field roles may
    page.close()


def test_on_a_tablet_the_legend_rows_and_zoom_buttons_take_a_finger(browser: Browser,
                                                                    server: Server) -> None:
    """800 x 1280, touch: the two new rows sit in the legend (not over the form's Show
    button), the zoom buttons are 44 px, and the nav bar leaves the name out to keep its
    links room, with nothing showing past sign-out."""
    context = browser.new_context(viewport={"width": 800, "height": 1280}, has_touch=True,
                                  is_mobile=True)
    page = context.new_page()
    sign_in(page, server.url, server.key)
    page.goto(f"{server.url}/?from=&to=")
    page.wait_for_selector("#hs-incidents-toggle", state="attached", timeout=20_000)
    show = page.locator("#hs-controls button[type=submit], #hs-controls input[type=submit]")
    box = show.first.bounding_box()
    assert box is not None
    on_top = page.evaluate("([x, y]) => document.elementFromPoint(x, y).closest('#hs-controls')"
                           " !== null", [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2])
    assert on_top  # the Show button is what a finger there presses
    zoom = page.locator(".leaflet-control-zoom-in").bounding_box()
    assert zoom is not None and zoom["width"] >= 44 and zoom["height"] >= 44
    assert not page.locator("nav.hs-nav .hs-nav-who").is_visible()
    form = page.locator("nav.hs-nav form").bounding_box()
    assert form is not None and form["x"] + form["width"] <= 800
    context.close()


def test_a_rural_team_tablet_sees_every_link_of_the_bar_above_the_map(browser: Browser,
                                                                      server: Server) -> None:
    """800 x 1280, touch, the Rural Crime Team's key: the bar above the planner's map is one
    row, and each of its links shows whole, left of sign-out (none scrolled under it)."""
    key = str(server.json("/v1/keys", {"name": "rural bar", "role": "rural_team"})["key"])
    context = browser.new_context(viewport={"width": 800, "height": 1280}, has_touch=True,
                                  is_mobile=True)
    page = context.new_page()
    sign_in(page, server.url, key)
    page.goto(f"{server.url}/?from=&to=")
    page.wait_for_selector("nav.hs-nav form", timeout=20_000)
    form = page.locator("nav.hs-nav form").bounding_box()
    links = page.evaluate("""() => [...document.querySelectorAll('nav.hs-nav a')].map(a => {
        const b = a.getBoundingClientRect(); return [a.textContent, b.left, b.right, b.top]; })""")
    assert form is not None and form["x"] + form["width"] <= 800
    assert [t for t, *_ in links] == ["Hotspot map", "Patrol plans", "Persistent ASB",
                                      "Leaflets", "Products", "API docs"]
    hidden = [t for t, left, right, top in links
              if left < 0 or right > form["x"] + 0.5 or top != links[0][3]]
    assert hidden == [], (hidden, form, links)
    context.close()
