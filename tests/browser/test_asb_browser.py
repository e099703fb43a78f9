"""Persistent ASB in a real headless Chromium, served by the real service with no tiles: the
``/asb`` page (the ranked table with month strips, nearby places and category mix, the map's
circles, the downloads) and the "Persistent ASB" overlay of the planner's map, whose hotspot
that holds a persistent place says so; on a desktop and a touch tablet.

Screenshots go to ``$HOTSPOT_SCREENSHOTS`` when set (to look at), else the test's folder.
"""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Browser
from pyproj import Transformer

from bench._server import Server, Watch, open_offline, serving, sign_in
from geodata.stores import SQLiteStore
from tests.browser.conftest import DEAD_TILES

pytestmark = pytest.mark.browser

YORK = (460_000.0, 451_000.0)  # EPSG:27700
MONTHS = [f"2024-{m:02d}" for m in range(1, 13)]
HEAD = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,"
        "LSOA name,Crime type,Last outcome category,Context")
TABLET = {"viewport": {"width": 800, "height": 1280}, "device_scale_factor": 1,
          "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1440, "height": 900}}


def planted_csv(seed: int = 5) -> str:
    """A year of data.police.uk rows around York: "Market Place" with ASB every month (3 a
    month), "Coppergate" 120 m east with ASB in 8 months (1 each), "<b>Mill Lane</b>" 3 km
    away with ASB in 7 months (2 each); a shopping street of 40 shoplifting a month within
    60 m of Market Place (a hotspot around the first two); 100 other crimes a month over
    8 km."""
    rng = np.random.default_rng(seed)
    to_wgs = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
    rows: list[tuple[float, float, str, str, str]] = []
    for i, month in enumerate(MONTHS):
        rows += [(0, 0, month, "Anti-social behaviour", "On or near Market Place")] * 3
        if i % 3 != 2:  # months 1, 2, 4, 5, 7, 8, 10, 11
            rows.append((120, 0, month, "Anti-social behaviour", "On or near Coppergate"))
        if i < 7:
            rows += [(3000, 2000, month, "Anti-social behaviour", "On or near <b>Mill Lane</b>")] * 2
        shops = [(-40, 20), (30, -30), (50, 40), (-20, -50)]
        for k in range(40):
            sx, sy = shops[k % 4]
            rows.append((sx, sy, month, "Shoplifting", "On or near Shambles"))
        for rx, ry in rng.uniform(-4000, 4000, (100, 2)):
            rows.append((float(round(rx)), float(round(ry)), month, "Criminal damage and arson",
                         "On or near Some Road"))
    lines = [HEAD]
    for n, (dx, dy, month, kind, where) in enumerate(rows):
        lon, lat = to_wgs.transform(YORK[0] + dx, YORK[1] + dy)
        cid = "" if kind == "Anti-social behaviour" else f"c{n}"
        lines.append(f"{cid},{month},North Yorkshire Police,North Yorkshire Police,"
                     f"{lon:.6f},{lat:.6f},\"{where}\",E01000001,York 001A,{kind},,")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    db = tmp_path_factory.mktemp("asb") / "force.sqlite"
    SQLiteStore.open(db).close()
    with serving(tmp_path_factory.mktemp("server"), db, demo=False, tiles=DEAD_TILES) as s:
        req = urllib.request.Request(f"{s.url}/v1/incidents", data=planted_csv().encode(),
                                     headers={**s.auth, "Content-Type": "text/csv"})
        with urllib.request.urlopen(req, timeout=300) as r:
            assert r.status in (200, 201)
        yield s


def _errors(watch: Watch) -> list[str]:
    """The page's errors but the tiles that never load (their address is a dead port)."""
    return [e for e in watch.errors if "ERR_UNSAFE_PORT" not in e]


def _shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("HOTSPOT_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_the_asb_page(browser: Browser, server: Server, tmp_path: Path) -> None:
    page, watch = open_offline(browser, f"{server.url}/asb", wait_for="#asb-table",
                               key=server.key)
    rows = page.locator("#asb-table tbody tr")
    assert rows.count() == 3
    first = rows.nth(0).inner_text()
    assert "On or near Market Place" in first and "12 of 12" in first and "36" in first
    assert "On or near Coppergate" in rows.nth(1).inner_text()
    assert "8 of 12" in rows.nth(1).inner_text()
    third = rows.nth(2).inner_text()
    assert "<b>Mill Lane</b>" in third  # data text shown as text
    assert page.locator("#asb-table b:has-text('Mill Lane')").count() == 0
    # the strip: one bar per month, the zero months grey
    assert rows.nth(1).locator("svg.strip rect").count() == 12
    assert rows.nth(1).locator("svg.strip rect.off").count() == 4
    # nearby: Market Place and Coppergate are 120 m apart
    assert "#2 On or near Coppergate" in first and "120 m" in first
    # the mix around Market Place: 160 shoplifting a... every incident within 250 m
    assert "Shoplifting" in first and "480" in first
    # the map: a circle per place, drawn with no tiles; selecting one marks its row
    page.wait_for_selector("path.asb-place", state="attached")
    assert page.locator("path.asb-place").count() == 3
    assert page.locator("#asb-map .leaflet-tile-loaded").count() == 0
    page.locator("#asb-table button.show-on-map").first.click()
    assert "picked" in (rows.nth(0).get_attribute("class") or "")
    hrefs = [a.get_attribute("href") or "" for a in page.locator(".downloads a").all()]
    assert any("format=csv" in h for h in hrefs) and any("format=geojson" in h for h in hrefs)
    assert page.locator('nav.hs-nav a[aria-current="page"]').inner_text() == "Persistent ASB"
    assert not _errors(watch) and not watch.dialogs and not watch.outside, watch
    shots = _shots(tmp_path)
    for name, options in (("asb-desktop", DESKTOP), ("asb-tablet", TABLET)):
        context = browser.new_context(**options)
        other = context.new_page()
        other.route("**/*", lambda r: r.continue_() if "127.0.0.1" in r.request.url
                    else r.abort("internetdisconnected"))
        sign_in(other, server.url, server.key)
        other.goto(f"{server.url}/asb", wait_until="load")
        other.wait_for_selector("path.asb-place", state="attached")
        # nothing sideways: the page fits its width
        width = other.evaluate("document.documentElement.scrollWidth")
        assert width <= (800 if name.endswith("tablet") else 1440), (name, width)
        other.screenshot(path=str(shots / f"{name}.png"), full_page=True)
        context.close()
    page.close()


def test_a_form_change_reloads_with_the_parameters(browser: Browser, server: Server) -> None:
    page, _watch = open_offline(browser, f"{server.url}/asb", wait_for="#asb-table",
                                key=server.key)
    page.fill("#f-min", "8")
    with page.expect_navigation():
        page.click(".asb-form button[type=submit]")
    assert "min_months=8" in page.url
    assert page.locator("#asb-table tbody tr").count() == 2  # Mill Lane has 7 months
    page.close()


def test_the_planner_flags_persistent_places(browser: Browser, server: Server,
                                             tmp_path: Path) -> None:
    page, watch = open_offline(browser, f"{server.url}/", key=server.key)
    page.wait_for_selector("path.hs-asb-place", state="attached")
    assert page.locator("path.hs-asb-place").count() == 3
    legend = page.locator("#hs-legend .hs-asb").inner_text()
    assert "Repeat ASB locations" in legend and "at least 6 of the last 12 months" in legend
    assert page.locator("#hs-legend .hs-asb .hs-count").inner_text() == "3"
    assert page.locator("#hs-legend .hs-asb a").get_attribute("href") == "/asb"
    page.locator("#hs-asb-toggle").uncheck()  # the switch takes them off the map
    assert page.locator("path.hs-asb-place").count() == 0
    page.locator("#hs-asb-toggle").check()
    assert page.locator("path.hs-asb-place").count() == 3
    # the hotspot around Market Place says it holds the two persistent places
    text = page.evaluate("""() => {
        const map = Object.values(window).find(v => v instanceof L.Map);
        let hit = null;
        map.eachLayer(l => { if (l.feature && l.feature.properties &&
            l.feature.properties.persistent_asb) hit = l; });
        if (!hit) return null;
        hit.openPopup();
        return document.querySelector('.leaflet-popup-content').innerText;
    }""")
    assert text is not None
    assert "Persistent ASB" in text
    assert "2 persistent ASB places here" in text and "On or near Market Place (12 of 12 months)" in text
    # each marker's tooltip: its place and months, data text as text
    tips = page.evaluate("""() => {
        for (const t of document.querySelectorAll('path.hs-asb-place')) {
            const r = t.getBoundingClientRect();
            const at = {bubbles: true, view: window, clientX: r.left + r.width / 2,
                        clientY: r.top + r.height / 2};
            t.dispatchEvent(new MouseEvent('mouseover', at));
            t.dispatchEvent(new MouseEvent('mousemove', at));
        }
        return [...document.querySelectorAll('.leaflet-tooltip')].map(t => t.textContent);
    }""")
    assert any("Persistent ASB #3: On or near <b>Mill Lane</b>" in t
               and "ASB in 7 of 12 months, 14 incidents" in t for t in tips), tips
    assert page.locator(".leaflet-tooltip b").count() == 0
    assert not _errors(watch) and not watch.dialogs, watch
    shots = _shots(tmp_path)
    for name, options in (("planner-asb-desktop", DESKTOP), ("planner-asb-tablet", TABLET)):
        context = browser.new_context(**options)
        other = context.new_page()
        other.route("**/*", lambda r: r.continue_() if "127.0.0.1" in r.request.url
                    else r.abort("internetdisconnected"))
        sign_in(other, server.url, server.key)
        other.goto(f"{server.url}/", wait_until="load")
        other.wait_for_selector("path.hs-asb-place", state="attached")
        other.evaluate("""() => {
            const map = Object.values(window).find(v => v instanceof L.Map);
            let hit = null;
            map.eachLayer(l => { if (l.feature && l.feature.properties &&
                l.feature.properties.persistent_asb) hit = l; });
            if (hit) { map.setView(hit.getBounds().getCenter(), 16, {animate: false});
                       hit.openPopup(); }
        }""")
        other.wait_for_timeout(500)
        other.screenshot(path=str(shots / f"{name}.png"))
        context.close()
    page.close()
