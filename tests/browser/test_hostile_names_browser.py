"""Names from data, layers and requests are text on every page, in a real headless Chromium.

A demo store where a town centre and its built-up area ("a place"), a heritage site and both
patrol bases carry markup, and a plan whose Rural Crime Team base (given by position in the
request) and town base carry markup too. The plan map, the field view, the briefing and the
planner's map are opened with every tooltip and popup that shows those names; no element the
markup would make exists, and the markup is there as the literal text. Each page is also looked
at on a desktop (1440x900) and a tablet (800x1280, touch): the long names wrap inside the
viewport instead of running off it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, Dialog, Page

from bench._server import Server, serving, sign_in
from geodata.demo import DemoFiles, load_demo
from geodata.stores import SQLiteStore
from tests.conftest import demo_renamed

pytestmark = pytest.mark.browser


def _hostile(tag: str, text: str) -> str:
    return (f"<img src=x id=pwned-img-{tag}><b id=pwned-b-{tag} style=\"font-size:60px\">"
            f"{text}</b><a id=pwned-a-{tag} href=\"https://evil.example/\">click</a>")


PLACE = _hostile("place", "Thornbury")
"""The town centre and the built-up area of the demo's first town."""
SITE = _hostile("site", "Thornbury Castle")
"""A heritage site (a hotspot is planted at it)."""
STATION = _hostile("station", "Police Station")
"""The town centre officers' patrol base (in the layer, and named in the plan request)."""
HUB = _hostile("hub", "Rural Crime Hub")
"""The Rural Crime Team's patrol base in the layer."""
REQUEST_BASE = _hostile("request", "Yard")
"""The Rural Crime Team's base given by position in the plan request."""
RENAMED = {"town_centres": {"Thornbury": PLACE}, "built_up_areas": {"Thornbury": PLACE},
           "heritage_sites": {"Thornbury Castle": SITE},
           "patrol_bases": {"Thornbury Police Station": STATION,
                            "Elmsford Rural Crime Hub": HUB}}

PWNED = ("() => [...document.querySelectorAll('[id^=\"pwned\"], img[src=\"x\"], "
         "a[href^=\"https://evil\"]')].map(e => e.outerHTML)")
"""Every element the markup would have made (none, when names stay text)."""

OPEN_TOOLTIPS = """() => {
    // hover every interactive layer (markers, lines, circles, polygons) as a mouse would
    const targets = [...document.querySelectorAll('.leaflet-interactive')];
    for (const t of targets) {
        const r = t.getBoundingClientRect();
        const at = {bubbles: true, cancelable: true, view: window,
                    clientX: r.left + r.width / 2, clientY: r.top + r.height / 2};
        t.dispatchEvent(new MouseEvent('mouseover', at));
        t.dispatchEvent(new MouseEvent('mousemove', at));
    }
    return [...document.querySelectorAll('.leaflet-tooltip')].map(t => t.textContent);
}"""

OVERFLOW = """() => {
    // tooltips and popups wider than the viewport, or running off the page sideways
    const out = [];
    const w = document.documentElement.clientWidth, page = document.documentElement.scrollWidth;
    if (page > w + 1) out.push('page ' + page);
    for (const t of document.querySelectorAll('.leaflet-tooltip, .leaflet-popup-content-wrapper')) {
        const r = t.getBoundingClientRect();
        if (r.width > Math.min(w - 16, 420)) out.push(t.className + ' ' + Math.round(r.width));
    }
    return out;
}"""

LAST_POPUP = """() => {
    // the popup just opened (one closing fades out for a moment after it)
    const all = document.querySelectorAll('.leaflet-popup-content');
    return all.length ? all[all.length - 1].textContent : '';
}"""

DESKTOP = {"viewport": {"width": 1440, "height": 900}}
TABLET = {"viewport": {"width": 800, "height": 1280}, "device_scale_factor": 1,
          "is_mobile": True, "has_touch": True}
DEVICES: dict[str, dict[str, Any]] = {"desktop": DESKTOP, "tablet": TABLET}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, demo_files: DemoFiles) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("hostile-demo")
    store = SQLiteStore.open(folder / "demo.sqlite")
    load_demo(store, demo_renamed(demo_files, folder, RENAMED))
    store.close()
    with serving(tmp_path_factory.mktemp("hostile-srv"), folder / "demo.sqlite", demo=True,
                 tiles="none") as s:
        yield s


@pytest.fixture(scope="module")
def plan(server: Server) -> dict[str, Any]:
    hub = next(f for f in server.json("/v1/layers/patrol_bases")["features"]
               if f["properties"]["name"] == HUB)
    lon, lat = hub["geometry"]["coordinates"]
    made = server.json("/v1/patrol-plans", {
        "name": _hostile("plan", "Friday lates"), "published": True,
        "shift": {"start": "2024-06-14T16:00", "end": "2024-06-15T02:00"},
        "rural_crime_team": {"vehicles": 1, "base": {"name": REQUEST_BASE, "lon": lon,
                                                     "lat": lat}},
        "town_centre_officers": {PLACE: 1}, "town_bases": {PLACE: STATION},
        "time_limit_s": 0.5})
    names = {s["name"] for r in made["routes"] for s in r["stops"]}
    assert REQUEST_BASE in names and STATION in names
    assert any(PLACE in n for n in names) and any(SITE in n for n in names), names
    return made


def _page(browser: Browser, server: Server, device: str) -> tuple[Page, list[str]]:
    context = browser.new_context(**DEVICES[device])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    def dialog(d: Dialog) -> None:  # an alert() would mean a name ran as script
        errors.append("dialog " + d.message)
        d.dismiss()

    page.on("dialog", dialog)
    sign_in(page, server.url, server.key)
    return page, errors


def _close(page: Page) -> None:
    context = page.context
    page.close()
    context.close()


def _shot(page: Page, folder: Path, name: str) -> None:
    page.wait_for_timeout(250)
    page.screenshot(path=str(folder / f"{name}.png"))


def _assert_text(texts: list[str], *names: str) -> None:
    joined = "\n".join(texts)
    for name in names:
        assert name in joined, (name, texts)


@pytest.mark.parametrize("device", DEVICES)
def test_the_plan_map_shows_names_as_text(browser: Browser, server: Server, plan: dict,
                                          device: str, tmp_path: Path) -> None:
    page, errors = _page(browser, server, device)
    page.goto(f"{server.url}/v1/patrol-plans/{plan['plan_id']}/map")
    page.wait_for_selector(".stop-number")
    assert page.evaluate(PWNED) == []
    _assert_text([page.locator("body").inner_text()], PLACE, SITE, _hostile("plan", "Friday lates"))
    tips = page.evaluate(OPEN_TOOLTIPS)
    assert page.evaluate(PWNED) == []
    _assert_text(tips, PLACE, SITE, STATION, REQUEST_BASE)
    _shot(page, tmp_path, f"plan-{device}-tooltips")
    assert page.evaluate(OVERFLOW) == []
    # every stop's popup, opened as a person would
    popups = []
    for marker in page.locator(".stop-number").all():
        marker.dispatch_event("click")
        popups.append(page.evaluate(LAST_POPUP))
        assert page.evaluate(PWNED) == []
    _assert_text(popups, PLACE, SITE)
    _shot(page, tmp_path, f"plan-{device}-popup")
    assert page.evaluate(OVERFLOW) == []
    assert errors == []
    _close(page)


@pytest.mark.parametrize("device", DEVICES)
def test_the_field_view_shows_names_as_text(browser: Browser, server: Server, plan: dict,
                                            device: str, tmp_path: Path) -> None:
    page, errors = _page(browser, server, device)
    rural = next(r["label"] for r in plan["routes"] if r["unit"] == "rural_crime_team")
    page.goto(f"{server.url}/field/{plan['plan_id']}?crew={quote(rural, safe='')}")  # a crew's link
    page.wait_for_selector("body[data-ready='1']", timeout=20_000)
    tips = page.evaluate(OPEN_TOOLTIPS)
    assert page.evaluate(PWNED) == []
    # the Rural Crime Team's route: its base; the other hotspots and the heritage sites
    _assert_text(tips, REQUEST_BASE, PLACE, SITE)
    _shot(page, tmp_path, f"field-{device}-rural")
    assert page.evaluate(OVERFLOW) == []
    # the town's route: its base, its stops in the list and the next-stop panel
    page.locator("#route-button").click()
    _assert_text([page.locator("#route-choices").inner_text()], PLACE)
    _shot(page, tmp_path, f"field-{device}-routes")
    assert page.evaluate(OVERFLOW) == []
    page.locator("#route-choices button", has_text="officer 1").click()
    tips = page.evaluate(OPEN_TOOLTIPS)
    assert page.evaluate(PWNED) == []
    _assert_text(tips, STATION, PLACE)
    _assert_text([page.locator("#next").inner_text(), page.locator("#stop-list").inner_text(),
                  page.locator("#route-button").inner_text()], PLACE)
    page.locator("#next .mark-next").click()
    _assert_text([page.locator("#visit-title").inner_text()], PLACE)
    assert page.evaluate(PWNED) == []
    _shot(page, tmp_path, f"field-{device}-dialog")
    page.locator("#visit-cancel").click()
    _shot(page, tmp_path, f"field-{device}-town")
    assert page.evaluate(OVERFLOW) == []
    assert errors == []
    _close(page)


@pytest.mark.parametrize("device", DEVICES)
def test_the_briefing_shows_names_as_text(browser: Browser, server: Server, plan: dict,
                                          device: str, tmp_path: Path) -> None:
    page, errors = _page(browser, server, device)
    page.goto(f"{server.url}/v1/patrol-plans/{plan['plan_id']}/briefing")
    assert page.evaluate(PWNED) == []
    _assert_text([page.locator("body").inner_text()], PLACE, SITE, STATION, REQUEST_BASE)
    _shot(page, tmp_path, f"briefing-{device}")
    assert page.evaluate(OVERFLOW) == []
    assert errors == []
    _close(page)


@pytest.mark.parametrize("device", DEVICES)
def test_the_planners_map_shows_names_as_text(browser: Browser, server: Server,
                                              device: str, tmp_path: Path) -> None:
    page, errors = _page(browser, server, device)
    page.goto(f"{server.url}/")
    page.wait_for_selector("path.hs-hotspot", state="attached")
    tips = page.evaluate(OPEN_TOOLTIPS)
    assert page.evaluate(PWNED) == []
    _assert_text(tips, PLACE, SITE, STATION, HUB)
    _shot(page, tmp_path, f"planner-{device}-tooltips")
    assert page.evaluate(OVERFLOW) == []
    # every popup in turn (hotspots, places, heritage sites, bases)
    popups = page.evaluate("""() => {
        const map = Object.values(window).find(v => v instanceof L.Map);
        const texts = [], bad = [];
        map.eachLayer(l => {
            if (!l.feature || !l.getPopup || !l.getPopup()) return;
            l.openPopup();
            const c = [...document.querySelectorAll('.leaflet-popup-content')].pop();
            texts.push(c ? c.textContent : '');  // the one just opened (the last closing fades)
            if (document.querySelector('[id^="pwned"]')) bad.push(texts[texts.length - 1]);
        });
        return {texts, bad};
    }""")
    assert popups["bad"] == []
    _assert_text(popups["texts"], PLACE, SITE, STATION, HUB)
    page.evaluate("""(name) => {
        const map = Object.values(window).find(v => v instanceof L.Map);
        map.eachLayer(l => { if (l.feature && l.feature.properties.place &&
                                  l.feature.properties.place.includes(name)) l.openPopup(); });
    }""", "pwned-b-site")
    _shot(page, tmp_path, f"planner-{device}-popup")
    assert page.evaluate(PWNED) == []
    assert page.evaluate(OVERFLOW) == []
    assert errors == []
    _close(page)
