"""The planner's page in a real headless Chromium, served by the real service on 127.0.0.1 with
every other address blocked: it renders, names no outside asset, opens popups, and shows text
from data as text.

Needs Debian's ``chromium`` (``make test`` installs it) and Playwright from PyPI, which drives it
through ``executable_path`` (no browser download).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, Route, sync_playwright

from geodata.demo import load_demo
from geodata.stores import SQLiteStore

CHROMIUM = os.environ.get("HOTSPOT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-default-apps"]
EVIL = ["<img src=x onerror=alert(1)>", "${alert(1)}", "Back`tick` Lane `+alert(1)+`"]

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path


def _serve(tmp: Path, database: Path, *, demo: bool, tiles: str | None) -> Server:
    port = _free_port()
    env = dict(os.environ)
    env.pop("HOTSPOT_DATABASE_URL", None)
    env["HOTSPOT_DATA_DIR"] = str(tmp)
    if tiles is None:
        env.pop("HOTSPOT_TILE_URL", None)
    else:
        env["HOTSPOT_TILE_URL"] = tiles
    log = tmp / f"server-{port}.log"
    args = [sys.executable, "-c", "from api.cli import app; app()", "serve", "--host",
            "127.0.0.1", "--port", str(port), "--database", str(database), "--log-level",
            "warning"] + (["--demo"] if demo else [])
    with log.open("wb") as out:
        process = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server stopped: {log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                if r.status == 200:
                    return Server(url, process, log)
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"the server did not start: {log.read_text()}")


def _stop(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(10)
    except subprocess.TimeoutExpired:
        server.process.kill()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium "
                    "(or set HOTSPOT_CHROMIUM)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory, demo_files) -> Path:
    db = tmp_path_factory.mktemp("browser-demo") / "demo.sqlite"
    store = SQLiteStore(db)
    load_demo(store, demo_files)
    store.close()
    return db


@pytest.fixture(scope="module")
def offline_server(tmp_path_factory: pytest.TempPathFactory, demo_db: Path) -> Iterator[Server]:
    """The demo, with no basemap at all: nothing on the page may fail."""
    server = _serve(tmp_path_factory.mktemp("srv"), demo_db, demo=True, tiles="none")
    yield server
    _stop(server)


@dataclass
class Watch:
    """What a page did: console errors, uncaught errors, dialogs, requests blocked."""

    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    local: list[str] = field(default_factory=list)


def _open(browser: Browser, url: str) -> tuple[Page, Watch]:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    watch = Watch()

    def route(r: Route) -> None:
        host = urlsplit(r.request.url).hostname
        if r.request.url.startswith(("data:", "blob:", "file:")) or host == "127.0.0.1":
            watch.local.append(r.request.url)
            r.continue_()
        else:  # the network beyond this machine is not there
            watch.outside.append(r.request.url)
            r.abort("internetdisconnected")

    page.route("**/*", route)
    page.on("console", lambda m: watch.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: watch.errors.append(f"uncaught: {e}"))

    def dialog(d) -> None:  # an alert() would mean text from data ran as script
        watch.dialogs.append(d.message)
        d.dismiss()

    page.on("dialog", dialog)
    page.goto(url, wait_until="load")
    page.wait_for_selector("path.hs-hotspot", state="attached", timeout=15_000)
    return page, watch


def _click_hotspot(page: Page, rank: int = 1) -> str:
    """Click a hotspot polygon as a person would (zoomed to it first) and return the popup."""
    page.evaluate(
        """(rank) => {
            const map = Object.values(window).find(v => v instanceof L.Map);
            let target = null;
            map.eachLayer(l => { if (l.feature && l.feature.properties &&
                                     l.feature.properties.rank === rank) target = l; });
            map.fitBounds(target.getBounds(), {animate: false, maxZoom: 16});
        }""", rank)
    page.wait_for_timeout(300)
    box = page.viewport_size
    assert box is not None
    page.mouse.click(box["width"] / 2, box["height"] / 2)
    popup = page.wait_for_selector(".leaflet-popup-content", timeout=5_000)
    assert popup is not None
    return popup.inner_text()


def test_the_planner_page_works_with_no_network(browser: Browser, offline_server: Server,
                                                tmp_path: Path):
    page, watch = _open(browser, offline_server.url + "/")
    expected = json.loads(urllib.request.urlopen(offline_server.url + "/v1/hotspots").read())
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
    assert f"#1 {top['place'] or top['id']}" in text and "Incidents" in text
    assert "By category" in text and "Trend" in text
    page.screenshot(path=str(tmp_path / "planner.png"))
    assert (tmp_path / "planner.png").stat().st_size > 10_000
    assert watch.errors == [] and watch.dialogs == []
    assert watch.outside == []
    assert any("/static/leaflet/leaflet.js" in u for u in watch.local)
    page.close()


def test_the_controls_reload_the_page_through_the_api(browser: Browser, offline_server: Server):
    page, watch = _open(browser, offline_server.url + "/")
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
    server = _serve(tmp_path, demo_db, demo=True, tiles=None)  # the default: OpenStreetMap
    try:
        page, watch = _open(browser, server.url + "/")
        assert page.locator("path.hs-hotspot").count() > 5
        assert page.locator("#hs-legend").is_visible()
        assert "OpenStreetMap" in page.locator(".leaflet-control-attribution").inner_text()
        assert "#1" in _click_hotspot(page)
        page.screenshot(path=str(tmp_path / "no-tiles.png"))
        # the only things asked of the outside were tiles, and their failure broke nothing
        assert watch.outside and all("tile.openstreetmap.org" in u for u in watch.outside)
        assert all("Failed to load resource" in e for e in watch.errors), watch.errors
        page.close()
    finally:
        _stop(server)


def test_the_downloaded_page_opens_from_disk(browser: Browser, offline_server: Server,
                                             tmp_path: Path):
    html = urllib.request.urlopen(offline_server.url + "/?download=1").read()
    plan = tmp_path / "plan.html"
    plan.write_bytes(html)
    page, watch = _open(browser, plan.as_uri())
    assert page.locator("path.hs-hotspot").count() > 5
    assert "#1" in _click_hotspot(page)
    assert watch.errors == [] and watch.outside == []
    assert not [u for u in watch.local if u.startswith("http")]  # nothing from the service
    page.close()


def test_text_from_data_stays_text(browser: Browser, tmp_path: Path):
    db = tmp_path / "force.sqlite"
    store = SQLiteStore(db)
    store.close()
    server = _serve(tmp_path, db, demo=False, tiles="none")
    try:
        features = [{"type": "Feature", "id": f"x{i}",
                     "geometry": {"type": "Point",
                                  "coordinates": [-1.0815 + (i % 4) * 2e-5, 53.9590]},
                     "properties": {"occurred_at": "2024-03-05T22:10:00Z",
                                    "crime_type": "Shoplifting", "location": EVIL[i % 3]}}
                    for i in range(12)]
        request = urllib.request.Request(
            server.url + "/v1/incidents", method="POST",
            data=json.dumps({"type": "FeatureCollection", "features": features}).encode(),
            headers={"content-type": "application/geo+json"})
        assert urllib.request.urlopen(request).status == 201
        page, watch = _open(browser, server.url + "/?min_samples=5")
        assert page.locator("path.hs-hotspot").count() == 1
        text = _click_hotspot(page)
        for evil in EVIL:
            assert evil in text, (evil, text)
        page.mouse.move(10, 10)
        assert page.locator('img[src="x"]').count() == 0
        page.wait_for_timeout(300)  # an onerror would have fired by now
        assert watch.dialogs == [] and watch.errors == [] and watch.outside == []
        page.close()
    finally:
        _stop(server)
