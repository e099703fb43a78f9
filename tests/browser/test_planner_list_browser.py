"""The planner's map as a newcomer meets it (issue 14): hotspots found from a ranked list, the #1
hotspot clicked at its centre opening its own popup (not a police station's), rank symbols of a
readable size above every other marker, a legend that folds away on a tablet, and plain words
(the period named, taxonomy labels, thousands separators, hours in order, the download named
after the place and period).

Real service, real demo store, Debian's headless Chromium, no tiles and no internet.
"""

from __future__ import annotations

import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from bench._server import Server, open_offline, sign_in
from geodata.taxonomy import Taxonomy
from tests.browser.conftest import demo_server

pytestmark = pytest.mark.browser



@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, demo_files) -> Iterator[Server]:
    with demo_server(tmp_path_factory, demo_files, tiles="none") as srv:
        yield srv


@pytest.fixture(scope="module")
def top(server: Server) -> list[dict]:
    """The page's hotspots as the API gives them for the page's default period."""
    collection = server.json("/v1/hotspots?from=2024-07&to=2024-12")
    return [f["properties"] for f in collection["features"]]


def _tablet(browser: Browser, server: Server) -> Page:
    context = browser.new_context(viewport={"width": 800, "height": 1280}, has_touch=True,
                                  is_mobile=True, geolocation={"latitude": 54.1,
                                                               "longitude": -1.2},
                                  permissions=["geolocation"])
    page = context.new_page()
    page.route("**/*", lambda r: r.continue_() if "127.0.0.1" in r.request.url
               else r.abort("internetdisconnected"))
    sign_in(page, server.url, server.key)
    page.goto(server.url + "/", wait_until="load")
    page.wait_for_selector("path.hs-hotspot", state="attached")
    page.wait_for_timeout(300)
    return page


def _centre_pixel(page: Page, lat: float, lon: float) -> tuple[float, float]:
    """The page pixel of a WGS84 point on the planner's map."""
    xy = page.evaluate(
        """([lat, lon]) => {
            const map = Object.values(window).find(v => v instanceof L.Map);
            const p = map.latLngToContainerPoint([lat, lon]);
            const box = map.getContainer().getBoundingClientRect();
            return [box.left + p.x, box.top + p.y];
        }""", [lat, lon])
    return float(xy[0]), float(xy[1])


def _popup_title(page: Page) -> str:
    page.wait_for_selector(".leaflet-popup-content .hs-title", timeout=5_000)
    return page.locator(".leaflet-popup-content .hs-title").inner_text()


def test_the_page_opens_on_the_last_six_whole_months_against_the_six_before(
        browser: Browser, server: Server, top: list[dict]):
    page, watch = open_offline(browser, server.url + "/", key=server.key)
    summary = page.locator("#hs-controls .hs-summary").inner_text()
    # the demo runs to 31 Dec 2024: July to December, against January to June
    assert summary.startswith("1 Jul \u2013 31 Dec 2024, against 1 Jan \u2013 30 Jun 2024")
    assert page.locator("#hs-controls input[name=from]").input_value() == "2024-07"
    assert page.locator("#hs-controls input[name=to]").input_value() == "2024-12"
    assert page.locator("path.hs-hotspot").count() == len(top)
    # trends are known for every place in that period
    assert {p["trend"] for p in top} <= {"up", "down", "flat"}
    # thousands separators; the data version only in the details line, not the summary
    assert re.search(r"\b\d{1,3}(,\d{3})+ incidents", summary)
    assert "data " not in summary and "PAI" not in summary
    details = page.locator("#hs-controls .hs-details")
    assert "Data version" in (details.text_content() or "")
    assert watch.errors == [] and watch.outside == []
    page.close()


def test_clicking_the_first_hotspot_at_its_centre_opens_its_popup(
        browser: Browser, server: Server, top: list[dict], tmp_path: Path):
    page, watch = open_offline(browser, server.url + "/", key=server.key)
    page.set_viewport_size({"width": 1440, "height": 900})
    page.wait_for_timeout(300)
    first = top[0]
    assert first["rank"] == 1
    # the centre as the API gives it, at the zoom the page opens with
    x, y = _centre_pixel(page, first["centroid_lat"], first["centroid_lon"])
    hit = page.evaluate("([x, y]) => { const e = document.elementFromPoint(x, y); "
                        "return [e.className, e.getAttribute('data-rank')]; }", [x, y])
    assert "hs-symbol" in hit[0] and hit[1] == "1", hit
    page.mouse.click(x, y)
    title = _popup_title(page)
    assert title == f"#1 {first['name']}"
    assert "Police" not in page.locator(".leaflet-popup-content").inner_text()
    page.screenshot(path=str(tmp_path / "first-clicked.png"))
    assert watch.errors == [] and watch.outside == []
    page.close()


def test_ranked_places_show_as_symbols_of_24_px_above_every_other_marker(
        browser: Browser, server: Server, top: list[dict]):
    page, watch = open_offline(browser, server.url + "/", key=server.key)
    page.set_viewport_size({"width": 1440, "height": 900})
    page.wait_for_timeout(300)
    symbols = page.locator(".hs-symbol")
    shown = min(50, len(top))
    assert symbols.count() == shown
    for i in range(shown):
        box = symbols.nth(i).bounding_box()
        assert box is not None and box["width"] >= 24 and box["height"] >= 24
    ranks = sorted(int(t) for t in symbols.all_inner_texts())
    assert ranks == list(range(1, shown + 1))
    # no hotspot's centre is covered by a police station, base or heritage-site marker
    covered = []
    for p in top[:shown]:
        x, y = _centre_pixel(page, p["centroid_lat"], p["centroid_lon"])
        cls = page.evaluate("([x, y]) => { const e = document.elementFromPoint(x, y); "
                            "return (e.closest('.leaflet-marker-icon') || e).className.baseVal "
                            "|| (e.closest('.leaflet-marker-icon') || e).className; }", [x, y])
        if "hs-point" in str(cls):
            covered.append(p["rank"])
    assert covered == []
    # zoomed in to streets (zoom 15), every place has its symbol
    page.evaluate("""() => { const map = Object.values(window).find(v => v instanceof L.Map);
        map.setZoom(15, {animate: false}); }""")
    page.wait_for_timeout(200)
    assert page.locator(".hs-symbol").count() == min(len(top), 1000)
    page.evaluate("""() => { const map = Object.values(window).find(v => v instanceof L.Map);
        map.setZoom(10, {animate: false}); }""")
    page.wait_for_timeout(200)
    assert page.locator(".hs-symbol").count() == shown
    # panes: hotspots and their symbols above the reference points
    z = page.evaluate("""() => ['hs-points', 'hs-hotspots', 'hs-symbols'].map(
        n => +getComputedStyle(document.querySelector('.leaflet-' + n + '-pane')).zIndex)""")
    assert z[0] < z[1] < z[2]
    # a heritage site's symbol is not the heritage hotspots' purple
    colour = page.evaluate("""() => getComputedStyle(
        document.querySelector('.hs-point-heritage_sites span')).backgroundColor""")
    assert colour != "rgb(123, 47, 168)"
    assert watch.errors == [] and watch.outside == []
    page.close()


def test_the_list_zooms_to_a_place_and_opens_it_by_mouse_and_keyboard(
        browser: Browser, server: Server, top: list[dict]):
    page, watch = open_offline(browser, server.url + "/", key=server.key)
    page.set_viewport_size({"width": 1440, "height": 900})
    rows = page.locator("#hs-list button.hs-row-button")
    assert rows.count() == len(top)
    assert page.locator("#hs-list details").get_attribute("open") is not None
    third = top[2]
    row = page.locator('#hs-list button[data-rank="3"]')
    text = row.inner_text()
    assert third["name"] in text and f"{third['incidents']:,}" in text
    assert "Town centre officers" in text or "Rural Crime Team" in text \
        or "Neighbourhood policing" in text
    assert re.search(r"Rising|Falling|Steady", text)
    zoom = page.evaluate("() => Object.values(window).find(v => v instanceof L.Map).getZoom()")
    row.click()
    assert _popup_title(page) == f"#3 {third['name']}"
    assert page.evaluate(
        "() => Object.values(window).find(v => v instanceof L.Map).getZoom()") > zoom
    # the keyboard: Tab reaches the rows, Enter opens one
    page.locator('#hs-list button[data-rank="2"]').focus()
    page.keyboard.press("Enter")
    page.wait_for_timeout(200)
    assert _popup_title(page) == f"#2 {top[1]['name']}"
    assert watch.errors == [] and watch.outside == []
    page.close()


def test_about_these_figures_opened_pushes_the_list_down_instead_of_covering_it(
        browser: Browser, server: Server):
    page, watch = open_offline(browser, server.url + "/", key=server.key)
    page.set_viewport_size({"width": 1440, "height": 900})

    def gap() -> float:  # list's top less the controls' bottom, px (negative: they overlap)
        controls = page.locator("#hs-controls").bounding_box()
        listed = page.locator("#hs-list").bounding_box()
        assert controls is not None and listed is not None
        return listed["y"] - (controls["y"] + controls["height"])

    assert gap() >= 0
    page.locator("#hs-controls details summary").click()
    page.wait_for_timeout(200)
    assert page.locator("#hs-controls details").get_attribute("open") is not None
    assert gap() >= 0  # the words about the figures stay readable
    page.locator("#hs-controls details summary").click()
    page.wait_for_timeout(200)
    assert 0 <= gap() <= 20  # and the list comes back up when they are folded
    assert watch.errors == [] and watch.outside == []
    page.close()


def test_a_period_that_ends_before_it_starts_is_named_in_the_form_not_an_error_page(
        browser: Browser, server: Server):
    page, watch = open_offline(browser, server.url + "/", key=server.key)
    address = page.url
    page.fill('#hs-controls input[name="from"]', "2024-12")
    page.fill('#hs-controls input[name="to"]', "2024-01")
    page.locator("#hs-controls button[type=submit]").click()
    page.wait_for_timeout(500)
    assert page.url == address  # not sent: no page of the service's JSON error
    message = page.locator('#hs-controls input[name="to"]').evaluate("e => e.validationMessage")
    assert "end after it starts" in message
    page.fill('#hs-controls input[name="to"]', "2024-12")  # one month: fine
    assert page.locator('#hs-controls input[name="to"]').evaluate("e => e.validity.valid")
    assert watch.errors == [] and watch.outside == []
    page.close()


def test_on_a_tablet_the_list_and_legend_are_drawers_that_leave_the_map_clear(
        browser: Browser, server: Server, top: list[dict]):
    page = _tablet(browser, server)
    size = page.viewport_size
    assert size is not None
    area = size["width"] * size["height"]

    def covered(selector: str) -> float:
        box = page.locator(selector).bounding_box()
        assert box is not None
        return box["width"] * box["height"] / area

    # both closed when the page opens: together under 5 % of the map
    assert page.locator("#hs-legend details").get_attribute("open") is None
    assert page.locator("#hs-list details").get_attribute("open") is None
    assert covered("#hs-legend") + covered("#hs-list") < 0.05
    # the legend opened covers at most a quarter of the map
    page.locator("#hs-legend summary").click()
    assert page.locator("#hs-legend .hs-density").is_visible() or \
        page.locator("#hs-legend").evaluate("e => e.scrollHeight > e.clientHeight")
    assert covered("#hs-legend") <= 0.25
    page.locator("#hs-legend summary").click()
    # the list opened, a place chosen: the drawer closes and the place's popup shows
    page.locator("#hs-list summary").click()
    page.locator('#hs-list button[data-rank="1"]').click()
    assert _popup_title(page) == f"#1 {top[0]['name']}"
    assert page.locator("#hs-list details").get_attribute("open") is None
    # rows are touch targets of 44 px at least
    page.locator("#hs-list summary").click()
    box = page.locator('#hs-list button[data-rank="1"]').bounding_box()
    assert box is not None and box["height"] >= 44
    page.context.close()


def test_the_legend_names_every_layer_and_the_density_scale_in_numbers(
        browser: Browser, server: Server):
    page, watch = open_offline(browser, server.url + "/", key=server.key)
    legend = page.locator("#hs-legend").inner_text()
    for words in ("Force boundary", "Town centre (area)", "Built-up area", "Heritage site",
                  "Police station or patrol base", "Incidents per km\u00b2"):
        assert words in legend, words
    ticks = page.locator("#hs-legend .hs-ticks span").all_inner_texts()
    assert ticks[0] == "0" and len(ticks) == 4
    numbers = [float(t.replace(",", "")) for t in ticks]
    assert numbers == sorted(numbers) and numbers[-1] > 0
    assert watch.errors == []
    page.close()


def test_popups_speak_plainly(browser: Browser, server: Server, top: list[dict]):
    page, watch = open_offline(browser, server.url + "/", key=server.key)
    page.evaluate("() => hotspotPlanner.show(1)")
    text = page.locator(".leaflet-popup-content").inner_text()
    labels = {k: c.label for k, c in Taxonomy.load().categories.items()}
    first = top[0]
    for key in first["category_mix"]:
        if "_" in key or key == "asb":
            assert re.search(rf"(^|\s){re.escape(key)}(\s|$)", text) is None, key
            assert key.replace("_", " ") not in text.split("Reference")[0], key
    shown = page.locator(".leaflet-popup-content .hs-mix th").all_inner_texts()
    assert shown[0] == labels[max(first["category_mix"], key=first["category_mix"].get)]
    # hours in the order of the day
    hours = re.findall(r"(\d\d):00\u2013", page.locator(".leaflet-popup-content .hs-facts")
                       .inner_text())
    assert hours and hours == sorted(hours)
    # dates in words ("1 Jul 2024 to 31 Dec 2024"), not ISO
    assert re.search(r"Recorded\s+\d{1,2} [A-Z][a-z]{2} \d{4} to \d{1,2} [A-Z][a-z]{2} \d{4}",
                     text), text
    # the place's id only on the reference line, not in the main text
    main, _, ref = text.partition("Reference:")
    assert first["id"] not in main and first["id"] in ref
    assert watch.errors == []
    page.close()


def test_the_download_is_named_after_the_place_and_period(server: Server):
    request = urllib.request.Request(server.url + "/?download=1", headers=server.auth)
    with urllib.request.urlopen(request) as response:
        disposition = response.headers["Content-Disposition"]
    assert disposition == ('attachment; filename="demo-shire-hotspots-2024-07-to-2024-12.html"')
