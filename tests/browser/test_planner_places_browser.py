"""The planner's map of patrol-scale places, in a real headless Chromium on the demo served by
the real service (no basemap): the town centre as several places named after streets, popups
with harm, pattern and area, colouring by team or by emerging class with a legend that
follows, a filter that takes a class's places off the map (mouse and keyboard), the area
budget that reloads with ``area_share``, and the page on a desktop and a touch tablet.

Screenshots go to ``$HOTSPOT_SCREENSHOTS`` when set (to look at), else the test's folder.
"""

from __future__ import annotations

import math
import os
import re
import time
import urllib.error
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, FloatRect, Page

from api.services.hotspots import map_summary
from bench._server import Server, open_offline, sign_in
from geodata.demo import demo_months
from hotspot.emerging import CLASS_DESCRIPTIONS, CLASS_LABELS
from maps.styles import CLASS_COLOURS, EMERGING_COLOURS, EMERGING_UNCLASSED
from tests.browser.conftest import demo_server

pytestmark = pytest.mark.browser

DESKTOP = {"viewport": {"width": 1440, "height": 900}}
TABLET = {"viewport": {"width": 800, "height": 1280}, "device_scale_factor": 1,
          "is_mobile": True, "has_touch": True, "geolocation": {"latitude": 54.13,
                                                                "longitude": -1.04},
          "permissions": ["geolocation"]}

FILLS = """() => [...document.querySelectorAll('path.hs-hotspot')].map(p => ({
    cls: p.getAttribute('class'), fill: p.getAttribute('fill')}))"""

ZOOM_TO = """(rank) => {
    const map = Object.values(window).find(v => v instanceof L.Map);
    let target = null;
    map.eachLayer(l => { if (l.feature && l.feature.properties &&
                             l.feature.properties.context_class &&
                             l.feature.properties.rank === rank) target = l; });
    map.setView(target.getBounds().getCenter(), 16, {animate: false});
}"""

OPEN_POPUP = """(rank) => {
    const map = Object.values(window).find(v => v instanceof L.Map);
    let target = null;
    map.eachLayer(l => { if (l.feature && l.feature.properties &&
                             l.feature.properties.context_class &&
                             l.feature.properties.rank === rank) target = l; });
    target.openPopup();
    return document.querySelector('.leaflet-popup-content').innerText;
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, demo_files) -> Iterator[Server]:
    with demo_server(tmp_path_factory, demo_files, tiles="none") as s:
        yield s


@pytest.fixture(scope="module")
def places(server: Server) -> list[dict[str, Any]]:
    """The properties of every place the planner's page shows (its default request: the
    demo's last 6 months)."""
    months = demo_months()
    query = f"/v1/hotspots?from={months[-6]}&to={months[-1]}"
    return [f["properties"] for f in server.json(query)["features"]]


@pytest.fixture(scope="module")
def all_places(server: Server) -> list[dict[str, Any]]:
    """Every place of every month in the store (the page asked for ``from=&to=``)."""
    return [f["properties"] for f in server.json("/v1/hotspots")["features"]]


EVERY_MONTH = "/?from=&to="
"""The planner's page over every month in the store (empty From and To)."""


def _shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("HOTSPOT_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _colour_by(page: Page, key: str) -> None:
    if page.locator("#hs-legend details").get_attribute("open") is None:
        page.click("#hs-legend summary")  # closed on a small screen until asked for
    page.check(f'#hs-legend input[name="hs-colour"][value="{key}"]')
    page.wait_for_timeout(100)


def test_the_town_centre_is_several_places_named_after_streets(browser: Browser,
                                                                 server: Server,
                                                                 places: list[dict[str, Any]]):
    areas = Counter(p["area_id"] for p in places if p["context_class"] == "town_centre")
    area, n = areas.most_common(1)[0]
    inside = [p for p in places if p["area_id"] == area]
    assert n >= 3 and all(p["parent"] == area for p in inside)
    assert len({p["street"] for p in inside}) >= 3  # named after different streets
    top = min(inside, key=lambda p: p["rank"])
    page, watch = open_offline(browser, server.url + "/", key=server.key)
    page.evaluate(ZOOM_TO, top["rank"])
    text = page.evaluate(OPEN_POPUP, top["rank"])
    assert f"#{top['rank']} {top['name']}" in text and top["street"] in text
    assert re.search(r"Harm\s+[\d,]+ days \(approximate\)", text), text
    assert f"{math.floor(top['harm'] + 0.5):,} days" in text  # Math.round: half up
    assert CLASS_LABELS[top["emerging"]] in text and CLASS_DESCRIPTIONS[top["emerging"]] in text
    assert f"one of {len(inside)} places of one busy area" in text
    assert f"(area {area})" in text.split("Reference:")[1]  # the id, out of the main text
    # a tooltip says the same in one line
    page.keyboard.press("Escape")
    shown = page.evaluate("""(rank) => {
        const map = Object.values(window).find(v => v instanceof L.Map);
        let t = null;
        map.eachLayer(l => { if (l.feature && l.feature.properties &&
                                 l.feature.properties.context_class &&
                                 l.feature.properties.rank === rank) t = l; });
        t.openTooltip(); return t.getTooltip().getElement().textContent; }""", top["rank"])
    assert top["name"] in shown and "harm" in shown and CLASS_LABELS[top["emerging"]] in shown
    assert watch.errors == [] and watch.outside == [] and watch.dialogs == []
    page.close()


def test_colour_by_pattern_switches_the_legend_and_the_colours(browser: Browser,
                                                                server: Server,
                                                                all_places: list[dict[str, Any]]):
    places = all_places  # every month: more places, more classes
    page, watch = open_offline(browser, server.url + EVERY_MONTH, key=server.key)
    legend = page.locator("#hs-legend")
    team_key, pattern_key = (legend.locator('.hs-key[data-key="team"]'),
                             legend.locator('.hs-key[data-key="emerging"]'))
    assert team_key.is_visible() and not pattern_key.is_visible()
    before = page.evaluate(FILLS)
    assert before and all(f["fill"] == CLASS_COLOURS[_team(f["cls"])] for f in before)
    _colour_by(page, "emerging")
    assert pattern_key.is_visible() and not team_key.is_visible()
    # the legend lists each class present, with its count of places
    counts = Counter(p["emerging"] or "" for p in places)
    rows = pattern_key.locator(".hs-key-row")
    listed = {rows.nth(i).locator("input").get_attribute("value"):
              int(rows.nth(i).locator(".hs-count").inner_text().replace(",", ""))
              for i in range(rows.count())}
    assert listed == dict(counts) and len(listed) >= 3
    assert "persistent_hot" in listed and CLASS_LABELS["persistent_hot"] in pattern_key.inner_text()
    after = page.evaluate(FILLS)
    assert all(f["fill"] == EMERGING_COLOURS.get(_emerging(f["cls"]), EMERGING_UNCLASSED)
               for f in after)
    assert [f["fill"] for f in after] != [f["fill"] for f in before]
    assert "colour=emerging" in page.url
    # and back
    _colour_by(page, "team")
    assert [f["fill"] for f in page.evaluate(FILLS)] == [f["fill"] for f in before]
    assert watch.errors == [] and watch.outside == []
    page.close()


def test_unticking_a_class_takes_its_places_off_the_map(browser: Browser, server: Server,
                                                         places: list[dict[str, Any]]):
    page, watch = open_offline(browser, server.url + "/", key=server.key)
    total = page.locator("path.hs-hotspot").count()
    assert total == len(places)
    _colour_by(page, "emerging")
    persistent = sum(p["emerging"] == "persistent_hot" for p in places)
    assert page.locator("path.hs-em-persistent_hot").count() == persistent > 0
    page.uncheck('#hs-legend input[data-key="emerging"][value="persistent_hot"]')
    assert page.locator("path.hs-em-persistent_hot").count() == 0
    assert page.locator("path.hs-hotspot").count() == total - persistent
    assert "hide=persistent_hot" in page.url
    # a reload keeps the colours and the filter (they live in the address's #fragment)
    page.reload(wait_until="load")
    page.wait_for_selector("path.hs-hotspot", state="attached")
    assert page.locator("path.hs-em-persistent_hot").count() == 0
    assert not page.is_checked('#hs-legend input[data-key="emerging"][value="persistent_hot"]')
    page.check('#hs-legend input[data-key="emerging"][value="persistent_hot"]')
    assert page.locator("path.hs-hotspot").count() == total
    # by keyboard alone: arrows move between the colour choices, space ticks a box
    _colour_by(page, "team")
    page.focus('#hs-legend input[name="hs-colour"][value="team"]')
    page.keyboard.press("ArrowRight")
    assert page.is_checked('#hs-legend input[name="hs-colour"][value="emerging"]')
    page.keyboard.press("Tab")
    focused = page.evaluate("() => [document.activeElement.dataset.key, "
                            "document.activeElement.value]")
    assert focused[0] == "emerging"
    page.keyboard.press("Space")
    hidden = sum((p["emerging"] or "") == focused[1] for p in places)
    assert page.locator("path.hs-hotspot").count() == total - hidden
    assert watch.errors == [] and watch.outside == []
    page.close()


def test_the_area_budget_reloads_with_area_share(browser: Browser, server: Server,
                                                  all_places: list[dict[str, Any]]):
    places = all_places  # every month: more places than a budget of 0.1 % keeps
    page, watch = open_offline(browser, server.url + EVERY_MONTH, key=server.key)
    methods = page.locator('#hs-controls select[name="method"] option')
    assert methods.all_inner_texts() == ["DBSCAN clusters", "Kernel density", "Gi* hot spots",
                                         "Best in backtest"]
    summary = page.locator(".hs-summary").inner_text()
    assert re.search(r"\d+ places \([\d.]+ % of the force area\) hold \d+ % of the", summary)
    # how concentrated the places are (the PAI, in words) is in the details line
    about = page.locator("#hs-controls .hs-details").text_content() or ""
    assert "retrospective" in about and "times the force area's average" in about
    assert "PAI" not in summary + about
    _colour_by(page, "emerging")
    page.select_option('#hs-controls select[name="area_share"]', "0.001")
    with page.expect_navigation():
        page.click("#hs-controls button[type=submit]")
    page.wait_for_selector("path.hs-hotspot", state="attached")
    assert "area_share=0.001" in page.url and "colour=emerging" in page.url
    kept = page.locator("path.hs-hotspot").count()
    assert 0 < kept < len(places)
    assert page.locator('#hs-controls select[name="area_share"]').input_value() == "0.001"
    assert "area budget" in page.locator(".hs-summary").inner_text()
    assert page.is_checked('#hs-legend input[name="hs-colour"][value="emerging"]')
    # "All places" leaves the budget out of the request (not area_share=)
    page.select_option('#hs-controls select[name="area_share"]', "")
    with page.expect_navigation():
        page.click("#hs-controls button[type=submit]")
    page.wait_for_selector("path.hs-hotspot", state="attached")
    assert "area_share" not in page.url
    assert page.locator("path.hs-hotspot").count() == len(places)
    # the best method in the backtest needs a budget: choosing it picks one
    page.select_option('#hs-controls select[name="method"]', "auto")
    assert page.locator('#hs-controls select[name="area_share"]').input_value() == "0.005"
    assert watch.errors == [] and watch.outside == []
    page.close()


def _overlap(a: FloatRect | None, b: FloatRect | None) -> bool:
    assert a is not None and b is not None
    return not (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
                or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])


@pytest.mark.parametrize("device", ["desktop", "tablet"])
def test_the_page_on_a_desktop_and_a_tablet(browser: Browser, server: Server, device: str,
                                            tmp_path: Path):
    context = browser.new_context(**(DESKTOP if device == "desktop" else TABLET))
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(server.url)
               or r.request.url.startswith("data:") else r.abort("internetdisconnected"))
    sign_in(page, server.url, server.key)
    page.goto(server.url + "/", wait_until="load")
    page.wait_for_selector("path.hs-hotspot", state="attached")
    shots = _shots(tmp_path)
    page.screenshot(path=str(shots / f"planner-places-{device}-county.png"))
    page.evaluate(ZOOM_TO, 1)
    _colour_by(page, "emerging")
    page.wait_for_timeout(200)
    page.screenshot(path=str(shots / f"planner-places-{device}-pattern.png"))
    page.evaluate(OPEN_POPUP, 1)
    page.wait_for_timeout(400)
    page.screenshot(path=str(shots / f"planner-places-{device}-popup.png"))
    viewport = page.viewport_size
    assert viewport is not None
    legend = page.locator("#hs-legend").bounding_box()
    controls = page.locator("#hs-controls").bounding_box()
    attribution = page.locator(".leaflet-control-attribution").bounding_box()
    scale = page.locator(".leaflet-control-scale").bounding_box()
    popup = page.locator(".leaflet-popup-content-wrapper").bounding_box()
    assert legend is not None and controls is not None and popup is not None
    # nothing a planner needs sits under something else, and all of it is on the screen
    assert not _overlap(legend, controls) and not _overlap(legend, attribution)
    assert not _overlap(scale, attribution)
    assert popup["y"] >= controls["y"] + controls["height"]  # the popup is not under them
    assert not _overlap(popup, legend)
    assert legend["y"] >= 0 and legend["y"] + legend["height"] <= viewport["height"]
    assert legend["x"] + legend["width"] <= viewport["width"]
    if device == "tablet":  # every control a finger can hit: 44 px
        targets = page.locator("#hs-controls select, #hs-controls button, "
                               "#hs-legend .hs-key-row:visible, #hs-legend summary, "
                               "#hs-legend .hs-colour-by label")
        heights = [b["height"] for b in (targets.nth(i).bounding_box()
                                         for i in range(targets.count())) if b]
        assert len(heights) >= 8 and min(heights) >= 44, heights
    assert errors == []
    context.close()


def test_best_in_backtest_says_what_it_chose_in_plain_words(browser: Browser, server: Server,
                                                            tmp_path: Path):
    query = "/v1/hotspots?method=auto&area_share=0.005"
    deadline = time.monotonic() + 300
    choice = None
    while choice is None:  # the first request starts the backtest of the store's months
        try:
            choice = server.json(query)["metadata"]["choice"]
        except urllib.error.HTTPError as exc:
            refused = (exc.code, exc.read().decode())
            if exc.code not in (400, 503) or "backtest" not in refused[1] \
                    or time.monotonic() > deadline:
                pytest.fail(f"method=auto: {refused}")
            time.sleep(3)
    page, watch = open_offline(browser, server.url + "/?method=auto&area_share=0.005",
                               key=server.key)
    headline = page.locator("#hs-controls .hs-headline")
    assert headline.inner_text() == choice["sentence"]
    assert int(headline.evaluate("e => getComputedStyle(e).fontWeight")) >= 600
    rest = page.locator("#hs-controls .hs-summary:not(.hs-headline)").inner_text()
    assert choice["sentence"] not in rest and "best in the backtest" in rest
    assert "PAI" not in headline.inner_text() + rest
    assert page.locator('#hs-controls select[name="method"]').input_value() == "auto"
    assert page.locator('#hs-controls select[name="area_share"]').input_value() == "0.005"
    page.screenshot(path=str(_shots(tmp_path) / "planner-places-desktop-best.png"))
    legend = page.locator("#hs-legend").bounding_box()
    attribution = page.locator(".leaflet-control-attribution").bounding_box()
    assert not _overlap(legend, attribution)
    assert watch.errors == [] and watch.outside == []
    page.close()


def test_the_summary_says_what_the_backtest_chose_in_plain_words():
    choice = {"method": "auto", "family": "gistar", "candidate": "gistar-100m",
              "months": ["2018-01", "2018-05"],
              "share": 0.005, "prospective": {"hit_rate": 0.24, "pai": 48.0},
              "sentence": "These places are 0.5 % of the force area; over the last 5 months "
                          "such places held 24 % of the next month's crime."}
    info = {"hotspots": 49, "area_share": 0.001, "hit_rate": 0.35, "incidents": 5000,
            "pai": 346.68, "pai_basis": "retrospective"}
    chosen = map_summary("auto", info, "v1", choice=choice)
    assert chosen.startswith(choice["sentence"]) and "Gi* hot spots" in chosen
    assert "PAI" not in chosen
    assert choice["sentence"] not in map_summary("auto", info, "v1", choice=choice,
                                                 sentence=False)
    plain = map_summary("dbscan", info, "v1")
    assert plain.startswith("DBSCAN clusters: 49 places (0.10 % of the force area) hold 35 % "
                            "of the 5,000 incidents they were drawn from")
    assert "retrospective" in plain and "347 times" in plain and "PAI" not in plain


def _team(cls: str) -> str:
    return next(c for c in CLASS_COLOURS if f"hs-{c} " in f"{cls} ")


def _emerging(cls: str) -> str:
    found = re.search(r"hs-em-(\S+)", cls)
    assert found is not None
    return "" if found.group(1) == "none" else found.group(1)
