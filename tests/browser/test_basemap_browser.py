"""The map with no internet in a real headless Chromium, served by the real service with every
other address blocked: the planner's map shows the store's roads and place names with no tiles
at all (a screenshot of the map area is checked for road-coloured pixels, and the names are
text in the page, placed clear of each other), at 1440x900 and as an 800x1280 touch tablet;
with a vector MBTiles made from the demo's roads registered, its tiles draw (protomaps-leaflet
from npm) in place of the store's roads; the field view keeps its route's area for use with no
signal, within its budget, and draws it offline.

Screenshots go to ``$HOTSPOT_SCREENSHOTS`` when set (to look at), else the test's folder.
"""

from __future__ import annotations

import base64
import os
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
from playwright.sync_api import Browser, Page, Route

from api.services.basemap import register
from api.settings import Settings
from bench._server import Server, Watch, open_offline, serving, sign_in
from geodata.demo import load_demo
from geodata.stores import SQLiteStore
from tests.geodata.test_basemaps import make_raster_tiles, make_vector_tiles, png, tile_of

pytestmark = pytest.mark.browser

ROAD_COLOURS = [(0xF3, 0xCF, 0x72), (0xF8, 0xE6, 0xA8), (0x9A, 0x7A, 0x22), (0xA8, 0x92, 0x5A)]
"""basemap.js's A and B roads (fills and casings)."""
BACKGROUND = (0xF4, 0xF1, 0xEA)
VIEWS: dict[str, dict[str, Any]] = {"desktop": {"viewport": {"width": 1440, "height": 900}},
         "tablet": {"viewport": {"width": 800, "height": 1280}, "has_touch": True,
                    "is_mobile": True, "geolocation": {"latitude": 54.23, "longitude": -1.0},
                    "permissions": ["geolocation"]}}

COUNT_PIXELS = """async ([png, road, background]) => {
    const img = new Image();
    img.src = "data:image/png;base64," + png;
    await img.decode();
    const c = document.createElement("canvas");
    c.width = img.width; c.height = img.height;
    const g = c.getContext("2d");
    g.drawImage(img, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    let roads = 0, other = 0;
    const near = (i, [r, gg, b], tol) => Math.abs(d[i] - r) <= tol &&
        Math.abs(d[i + 1] - gg) <= tol && Math.abs(d[i + 2] - b) <= tol;
    for (let i = 0; i < d.length; i += 4) {
        if (road.some(col => near(i, col, 10))) roads++;
        else if (!near(i, background, 6)) other++;
    }
    return {roads, other, total: d.length / 4};
}"""

LABELS = """() => Array.from(document.querySelectorAll('.hs-bm-label'))
    .filter(e => e.parentNode.style.visibility !== 'hidden')
    .map(e => { const r = e.getBoundingClientRect();
                return {text: e.textContent, l: r.left, r: r.right, t: r.top, b: r.bottom}; })"""


def _folder(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("HOTSPOT_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory, demo_files) -> Path:
    db = tmp_path_factory.mktemp("basemap-demo") / "demo.sqlite"
    store = SQLiteStore.open(db)
    load_demo(store, demo_files)
    store.close()
    return db


@pytest.fixture(scope="module")
def no_tiles(tmp_path_factory: pytest.TempPathFactory, demo_db: Path) -> Iterator[Server]:
    """The demo with no tiles at all (HOTSPOT_TILE_URL=none) and no offline basemap."""
    with serving(tmp_path_factory.mktemp("srv"), demo_db, demo=True, tiles="none") as server:
        yield server


def _open(browser: Browser, server: Server, view: str, path: str = "/") -> tuple[Page, Watch]:
    context = browser.new_context(**VIEWS[view])
    page = context.new_page()
    watch = Watch()
    def route(r: Route) -> None:  # the network beyond this machine is not there
        if "127.0.0.1" in r.request.url:
            watch.local.append(r.request.url)
            r.continue_()
        else:
            watch.outside.append(r.request.url)
            r.abort("internetdisconnected")

    page.route("**/*", route)
    page.on("console", lambda m: watch.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: watch.errors.append(f"uncaught: {e}"))
    sign_in(page, server.url, server.key)
    page.goto(server.url + path)
    page.wait_for_selector(".hs-bm-label", state="attached", timeout=20_000)
    page.wait_for_timeout(800)  # the last blocks and the names' placing
    return page, watch


def _pixels(page: Page) -> dict[str, int]:
    box = page.locator(".leaflet-container").first.bounding_box()
    assert box is not None
    shot = page.screenshot(clip=box)
    return dict(page.evaluate(COUNT_PIXELS, [base64.b64encode(shot).decode(),
                                             [list(c) for c in ROAD_COLOURS], list(BACKGROUND)]))


def _no_overlaps(labels: list[dict[str, Any]]) -> None:
    for i, a in enumerate(labels):
        for b in labels[i + 1:]:
            assert not (a["l"] < b["r"] - 1 and a["r"] > b["l"] + 1 and a["t"] < b["b"] - 1
                        and a["b"] > b["t"] + 1), (a["text"], b["text"])


@pytest.mark.parametrize("view", ["desktop", "tablet"])
def test_the_planners_map_reads_with_no_tiles(browser: Browser, no_tiles: Server, view: str,
                                              tmp_path: Path) -> None:
    page, watch = _open(browser, no_tiles, view)
    labels = page.evaluate(LABELS)
    names = {x["text"] for x in labels}
    assert {"Thornbury", "Elmsford"} <= names and len(names) >= 8, names
    _no_overlaps(labels)
    assert page.locator(".hs-bm-label").first.evaluate(
        "e => getComputedStyle(e).textShadow") != "none"  # a halo
    seen = _pixels(page)
    assert seen["roads"] > 400, seen  # the A and B roads, from the store
    assert seen["other"] > seen["total"] * 0.02, seen  # names, markers, the boundary
    page.screenshot(path=str(_folder(tmp_path) / f"basemap-planner-{view}.png"))
    # closer in: tracks and streets, road names
    page.evaluate("""() => { const map = Object.values(window).find(v => v instanceof L.Map);
                             map.setZoom(13, {animate: false}); }""")
    page.wait_for_timeout(1500)
    page.screenshot(path=str(_folder(tmp_path) / f"basemap-planner-{view}-zoom13.png"))
    assert page.locator(".hs-bm-label").count() > 0
    assert watch.outside == [] and watch.errors == [], (watch.outside, watch.errors)
    assert any("/v1/basemap?bbox=" in u for u in watch.local)
    assert not any("/static/vendor/" in u for u in watch.local)  # no vector library needed
    page.context.close()


def test_the_plan_map_draws_the_roads_too(browser: Browser, no_tiles: Server,
                                          tmp_path: Path) -> None:
    plan = no_tiles.json("/v1/patrol-plans", {
        "shift": {"start": "2024-06-14T16:00", "end": "2024-06-15T02:00"},
        "rural_crime_team": {"vehicles": 1}, "time_limit_s": 0.5})
    page, watch = _open(browser, no_tiles, "desktop", f"/v1/patrol-plans/{plan['plan_id']}/map")
    assert len(page.evaluate(LABELS)) >= 3
    assert _pixels(page)["roads"] > 200
    page.screenshot(path=str(_folder(tmp_path) / "basemap-plan-map.png"))
    assert watch.errors == [] and watch.outside == []
    page.context.close()


def test_the_downloaded_map_carries_its_roads_and_names(browser: Browser, no_tiles: Server,
                                                        tmp_path: Path) -> None:
    request = urllib.request.Request(no_tiles.url + "/?download=1", headers=no_tiles.auth)
    page_file = tmp_path / "map.html"
    page_file.write_bytes(urllib.request.urlopen(request).read())
    page, watch = open_offline(browser, page_file.as_uri(), wait_for=".hs-bm-label")
    page.wait_for_timeout(500)
    page.screenshot(path=str(_folder(tmp_path) / "basemap-downloaded.png"))
    assert {"Thornbury", "Elmsford"} <= {x["text"] for x in page.evaluate(LABELS)}
    assert _pixels(page)["roads"] > 150
    assert watch.errors == [] and watch.outside == []
    assert not [u for u in watch.local if u.startswith("http")]  # nothing from the service
    page.close()


@pytest.fixture(scope="module")
def vector_basemap(tmp_path_factory: pytest.TempPathFactory, demo_db: Path,
                   demo_files) -> Iterator[Server]:
    """The demo with the default (unreachable) online tiles and a vector MBTiles of the demo's
    roads registered as `hotspot basemap add` does."""
    folder = tmp_path_factory.mktemp("vector-srv")
    tiles = make_vector_tiles(demo_files, folder / "roads.mbtiles")
    register(Settings(data_dir=folder), tiles)
    with serving(folder, demo_db, demo=True, tiles=None) as server:
        yield server


def test_a_registered_vector_basemap_draws_its_tiles(browser: Browser, vector_basemap: Server,
                                                     tmp_path: Path) -> None:
    page, watch = _open(browser, vector_basemap, "desktop")
    page.wait_for_selector(".leaflet-tile-pane canvas.leaflet-tile-loaded", timeout=20_000)
    page.wait_for_timeout(1000)
    drawn = page.evaluate("""() => Array.from(
        document.querySelectorAll('.leaflet-tile-pane canvas.leaflet-tile')).map(c => {
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let n = 0;
            for (let i = 0; i < d.length; i += 4) {
                // not the background: a road, a track or the boundary
                if (Math.abs(d[i] - 0xf4) + Math.abs(d[i + 1] - 0xf1) + Math.abs(d[i + 2] - 0xea) > 30) n++;
            }
            return n; })""")
    assert len(drawn) >= 4 and sum(1 for n in drawn if n > 100) >= 2, drawn
    state = page.evaluate("""() => { const map = Object.values(window).find(v => v instanceof L.Map);
        const s = map._hsBasemap; return {roads: s.layers.show.roads, names: s.layers.show.names,
                                          vector: s.tilejson.vector}; }""")
    # the basemap has roads, so the store's are not drawn twice; it has no names, so the
    # store's names stay
    assert state == {"roads": False, "names": True, "vector": True}
    assert {"Thornbury", "Elmsford"} <= {x["text"] for x in page.evaluate(LABELS)}
    tiles = [u for u in watch.local if "/tiles/" in u and ".mvt" in u]
    assert tiles and any("/static/vendor/protomaps-leaflet.js" in u for u in watch.local)
    assert watch.outside == []  # the online tiles are not asked for at all
    assert not [e for e in watch.errors if "Failed to load resource" not in e], watch.errors
    seen = _pixels(page)
    assert seen["roads"] > 400, seen
    page.screenshot(path=str(_folder(tmp_path) / "basemap-vector-tiles.png"))
    page.context.close()


def test_a_registered_image_basemap_draws_its_tiles(browser: Browser, demo_db: Path,
                                                    demo_files, tmp_path: Path) -> None:
    """Image tiles (PNG, made here, pale green) over the county at zoom 7 to 12: drawn with
    Leaflet instead of the online tiles; the store's roads and town names give way to the
    basemap's own."""
    county = gpd.read_file(demo_files.layers["force_boundary"]).to_crs(4326)
    w, s, e, n = county.total_bounds
    green = png((200, 230, 200), 256)
    tiles = {}
    for z in range(7, 13):
        x0, y0 = tile_of(w, n, z)
        x1, y1 = tile_of(e, s, z)
        tiles.update({(z, x, y): green for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)})
    folder = tmp_path / "raster-srv"
    folder.mkdir()
    register(Settings(data_dir=folder), make_raster_tiles(folder / "green.mbtiles", tiles))
    with serving(folder, demo_db, demo=True, tiles=None) as server:
        context = browser.new_context(**VIEWS["desktop"])
        page = context.new_page()
        sign_in(page, server.url, server.key)

        def late(route: Any) -> None:  # a slow link: the page has fitted its hotspots first
            time.sleep(1.5)
            route.continue_()

        page.route("**/tiles/tiles.json", late)
        page.goto(server.url + "/")
        page.wait_for_selector(".leaflet-tile-pane img.leaflet-tile-loaded", timeout=20_000)
        page.wait_for_timeout(1000)
        loaded = page.eval_on_selector_all(
            ".leaflet-tile-pane img.leaflet-tile-loaded", "els => els.map(e => e.src)")
        assert loaded and all("/tiles/" in u and ".png?v=" in u for u in loaded), loaded
        state = page.evaluate("""() => { const m = Object.values(window).find(v => v instanceof L.Map);
            return [m._hsBasemap.layers.show.roads, m._hsBasemap.layers.show.names]; }""")
        assert state == [False, False]
        credit = page.locator(".leaflet-control-attribution")
        assert "<b>Test</b> & co" in credit.inner_text()  # the file's own words, as text
        assert credit.locator("b").count() == 0
        assert _pixels(page)["roads"] < 50  # the store's roads are not drawn over the basemap
        shot = page.screenshot(clip=page.locator(".leaflet-container").first.bounding_box())
        counted = page.evaluate(COUNT_PIXELS, [base64.b64encode(shot).decode(),
                                               [[200, 230, 200]], list(BACKGROUND)])
        assert counted["roads"] > counted["total"] * 0.2, counted  # the green tiles
        page.screenshot(path=str(_folder(tmp_path) / "basemap-image-tiles.png"))
        context.close()


def test_the_field_view_keeps_its_area_for_no_signal(browser: Browser, vector_basemap: Server,
                                                     tmp_path: Path) -> None:
    plan = vector_basemap.json("/v1/patrol-plans", {
        "published": True,
        "shift": {"start": "2024-06-14T16:00", "end": "2024-06-15T02:00"},
        "rural_crime_team": {"vehicles": 1}, "time_limit_s": 0.5})
    key = vector_basemap.json("/v1/keys", {"name": "RCT tablet", "role": "rural_team"})["key"]
    context = browser.new_context(**VIEWS["tablet"])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, vector_basemap.url, key)
    page.goto(f"{vector_basemap.url}/field/{plan['plan_id']}")
    page.wait_for_function("() => window.HotspotBasemap && window.HotspotBasemap.kept",
                           timeout=60_000)
    kept = page.evaluate("() => window.HotspotBasemap.kept")
    assert kept["complete"] and kept["kept"] == kept["wanted"] > 20, kept
    assert 0 < kept["bytes"] <= kept["budgetBytes"] == 50 * 1024 * 1024
    stored = page.evaluate("""async () => (await (await caches.open('hotspot-field-map-v1'))
        .keys()).map(r => new URL(r.url).pathname)""")
    assert any(p.endswith("/protomaps-leaflet.js") for p in stored)  # the vector library too
    assert any(p.endswith(".mvt") for p in stored) and "/v1/basemap" in stored
    page.wait_for_function("() => navigator.serviceWorker.controller !== null",
                           timeout=20_000)

    context.set_offline(True)
    page.reload()
    page.wait_for_selector(".hs-bm-label", state="attached", timeout=20_000)
    page.wait_for_selector(".leaflet-tile-pane canvas.leaflet-tile-loaded", timeout=20_000)
    page.wait_for_timeout(1000)
    assert len(page.evaluate(LABELS)) >= 2
    assert _pixels(page)["roads"] > 200
    page.screenshot(path=str(_folder(tmp_path) / "basemap-field-offline.png"))
    assert errors == []
    context.close()
