"""The planner's page in a real headless Chromium, served by the real service on 127.0.0.1 with
every other address blocked: it renders, names no outside asset, opens popups, and shows text
from data as text.

Needs Debian's ``chromium`` (``make test`` installs it) and Playwright from PyPI, which drives it
through ``executable_path`` (no browser download).
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from bench._server import Server, open_offline, serving
from geodata.demo import demo_months, load_demo
from geodata.stores import SQLiteStore

EVIL = ["<img src=x onerror=alert(1)>", "${alert(1)}", "Back`tick` Lane `+alert(1)+`"]

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory, demo_files) -> Path:
    db = tmp_path_factory.mktemp("browser-demo") / "demo.sqlite"
    store = SQLiteStore.open(db)
    load_demo(store, demo_files)
    store.close()
    return db


@pytest.fixture(scope="module")
def offline_server(tmp_path_factory: pytest.TempPathFactory, demo_db: Path) -> Iterator[Server]:
    """The demo, with no basemap at all: nothing on the page may fail."""
    with serving(tmp_path_factory.mktemp("srv"), demo_db, demo=True, tiles="none") as server:
        yield server


def _click_hotspot(page: Page, rank: int = 1) -> str:
    """Click a hotspot polygon as a person would (zoomed to it first) and return the popup.
    (A hotspot's feature has a context class: the basemap's labels have ranks too.)"""
    page.evaluate(
        """(rank) => {
            const map = Object.values(window).find(v => v instanceof L.Map);
            let target = null;
            map.eachLayer(l => { if (l.feature && l.feature.properties &&
                                     l.feature.properties.context_class &&
                                     l.feature.properties.rank === rank) target = l; });
            map.fitBounds(target.getBounds(), {animate: false, maxZoom: 16});
        }""", rank)
    page.wait_for_timeout(300)
    box = page.viewport_size
    assert box is not None
    page.mouse.click(box["width"] / 2, box["height"] / 2)
    popup = page.wait_for_selector(".leaflet-popup-content", timeout=5_000)
    assert popup is not None
    page.wait_for_timeout(400)  # the popup's fade-in and pan, for the screenshots
    return popup.inner_text()


def test_the_planner_page_works_with_no_network(browser: Browser, offline_server: Server,
                                                tmp_path: Path):
    page, watch = open_offline(browser, offline_server.url + "/", key=offline_server.key)
    months = demo_months()  # the page opens on the last 6 months of the store
    expected = offline_server.json(f"/v1/hotspots?from={months[-6]}&to={months[-1]}")
    hotspots = page.locator("path.hs-hotspot")
    assert hotspots.count() == len(expected["features"]) > 5
    for cls in ("town_centre", "rural", "heritage_site", "urban"):
        assert page.locator(f"path.hs-{cls}").count() > 0, cls
    assert page.locator("#hs-legend").is_visible()
    assert page.locator("#hs-controls form").is_visible()
    assert page.locator(".leaflet-control-scale").is_visible()
    assert page.locator(".leaflet-control-layers").count() == 1
    assert page.locator("img.leaflet-image-layer").count() == 1  # the density overlay
    text = _click_hotspot(page)
    top = expected["features"][0]["properties"]
    assert f"#1 {top.get('name') or top['place'] or top['id']}" in text and "Incidents" in text
    assert "By category" in text and "Trend" in text
    # the counts by category, largest first, add up to the hotspot's incidents
    counts = [int(v.replace(",", "")) for v in
              page.locator(".leaflet-popup-content .hs-mix td").all_inner_texts()]
    assert sum(counts) == top["incidents"] and counts[:-1] == sorted(counts[:-1], reverse=True)
    page.screenshot(path=str(tmp_path / "planner.png"))
    assert (tmp_path / "planner.png").stat().st_size > 10_000
    assert watch.errors == [] and watch.dialogs == []
    assert watch.outside == []
    assert any("/static/leaflet/leaflet.js" in u for u in watch.local)
    page.close()


def test_the_controls_reload_the_page_through_the_api(browser: Browser, offline_server: Server):
    page, watch = open_offline(browser, offline_server.url + "/", key=offline_server.key)
    everything = page.locator("path.hs-hotspot").count()
    page.select_option("#hs-controls select[name=priority]", "rural")
    page.select_option("#hs-controls select[name=method]", "kde")
    with page.expect_navigation():
        page.click("#hs-controls button[type=submit]")
    page.wait_for_selector("path.hs-hotspot", state="attached")
    assert "priority=rural" in page.url and "method=kde" in page.url
    rural = page.locator("path.hs-hotspot")
    assert 0 < rural.count() < everything
    assert page.locator("path.hs-town_centre").count() == 0
    assert page.locator("#hs-controls select[name=method]").input_value() == "kde"
    assert watch.errors == [] and watch.outside == []
    page.close()


def test_layers_still_show_when_the_basemap_cannot_load(browser: Browser, demo_db: Path,
                                                        tmp_path: Path):
    # the default basemap: OpenStreetMap, which cannot be reached from here
    with serving(tmp_path, demo_db, demo=True, tiles=None) as server:
        page, watch = open_offline(browser, server.url + "/", key=server.key)
        assert page.locator("path.hs-hotspot").count() > 5
        assert page.locator("#hs-legend").is_visible()
        assert "OpenStreetMap" in page.locator(".leaflet-control-attribution").inner_text()
        assert "#1" in _click_hotspot(page)
        page.screenshot(path=str(tmp_path / "no-tiles.png"))
        # the only things asked of the outside were tiles, and their failure broke nothing
        assert watch.outside and all("tile.openstreetmap.org" in u for u in watch.outside)
        assert all("Failed to load resource" in e for e in watch.errors), watch.errors
        page.close()


def test_the_downloaded_page_opens_from_disk(browser: Browser, offline_server: Server,
                                             tmp_path: Path):
    request = urllib.request.Request(offline_server.url + "/?download=1",
                                     headers=offline_server.auth)
    html = urllib.request.urlopen(request).read()
    plan = tmp_path / "plan.html"
    plan.write_bytes(html)
    page, watch = open_offline(browser, plan.as_uri())
    assert page.locator("path.hs-hotspot").count() > 5
    assert "#1" in _click_hotspot(page)
    assert watch.errors == [] and watch.outside == []
    assert not [u for u in watch.local if u.startswith("http")]  # nothing from the service
    page.close()


def test_text_from_data_stays_text(browser: Browser, tmp_path: Path):
    db = tmp_path / "force.sqlite"
    store = SQLiteStore.open(db)
    store.close()
    with serving(tmp_path, db, demo=False, tiles="none") as server:
        features = [{"type": "Feature", "id": f"x{i}",
                     "geometry": {"type": "Point",
                                  "coordinates": [-1.0815 + (i % 4) * 2e-5, 53.9590]},
                     "properties": {"occurred_at": "2024-03-05T22:10:00Z",
                                    "crime_type": "Shoplifting", "location": EVIL[i % 3]}}
                    for i in range(12)]
        report = server.json("/v1/incidents", {"type": "FeatureCollection",
                                               "features": features},
                             content_type="application/geo+json")
        assert report["counts"]["accepted"] == 12
        page, watch = open_offline(browser, server.url + "/?min_samples=5", key=server.key)
        assert page.locator("path.hs-hotspot").count() == 1
        text = _click_hotspot(page)
        for evil in EVIL:
            assert evil in text, (evil, text)
        page.mouse.move(10, 10)
        assert page.locator('img[src="x"]').count() == 0
        page.wait_for_timeout(300)  # an onerror would have fired by now
        assert watch.dialogs == [] and watch.errors == [] and watch.outside == []
        page.close()
