"""The retail partnership's form in a real headless Chromium on a touch tablet, served by the
real service on the demo with tiles that never load: a partner fills it in with the tablet's
position, sends it, sees it in its list (and another partner does not); a bad place is named;
an analyst sees the reports as their own layer and count on the planner's map."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import shapely
from playwright.sync_api import Browser, Page

from api.services.hotspots import force_area, latest_complete_month
from bench._server import Server, serving, sign_in
from geodata.coords import transform
from geodata.demo import load_demo
from geodata.stores import SQLiteStore
from tests.browser.conftest import DEAD_TILES

pytestmark = pytest.mark.browser
SHOTS = Path("/work/helpers/h6")
TABLET = {"viewport": {"width": 800, "height": 1280}, "is_mobile": True, "has_touch": True,
          "device_scale_factor": 1}


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory, demo_files) -> tuple[Path, dict]:
    """The demo store with three business reports of its latest whole month at a point
    inside the force area (WGS84 ``place``)."""
    db = tmp_path_factory.mktemp("demo") / "demo.sqlite"
    store = SQLiteStore.open(db)
    try:
        load_demo(store, demo_files)
        point = shapely.point_on_surface(force_area(store).buffer(-2000))
        lon, lat, _ = transform(np.array([point.x]), np.array([point.y]), store.crs,
                                "EPSG:4326")
        month = latest_complete_month(store)
        # reports of the demo's period, as the demo's own would be (the API takes the last
        # year's only): what an analyst's map of the period shows
        when = int(datetime.fromisoformat(f"{month}-10T15:00+00:00").timestamp())
        for kind in ("shoplifting", "abuse_of_staff", "shoplifting"):
            store.add_business_report({
                "submitted_by": "demo00000000", "occurred_at": when, "category": kind,
                "x": point.x, "y": point.y, "lon": float(lon[0]), "lat": float(lat[0]),
                "business": "Market Street Pharmacy", "value_pence": 2500, "description": ""})
    finally:
        store.close()
    return db, {"lon": float(lon[0]), "lat": float(lat[0])}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory,
           stored: tuple[Path, dict]) -> Iterator[Server]:
    with serving(tmp_path_factory.mktemp("server"), stored[0], demo=True,
                 tiles=DEAD_TILES) as s:
        yield s


@pytest.fixture(scope="module")
def place(stored: tuple[Path, dict]) -> dict[str, float]:
    return stored[1]


def _partner(server: Server, name: str) -> str:
    return str(server.json("/v1/keys", {"name": name, "role": "partner"})["key"])


def _watched(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
    page.on("console", lambda m: errors.append(m.text)
            if m.type == "error" and ("Content Security Policy" in m.text
                                      or "Uncaught" in m.text) else None)
    return errors


def test_a_partner_reports_from_a_tablet(browser: Browser, server: Server,
                                         place: dict[str, float]) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(**TABLET, geolocation={
        "longitude": place["lon"], "latitude": place["lat"], "accuracy": 12},
        permissions=["geolocation"])
    page = context.new_page()
    errors = _watched(page)
    sign_in(page, server.url, _partner(server, "Market Street Pharmacy"))
    page.goto(f"{server.url}/report-incident")
    assert page.locator("nav.hs-nav a[aria-current='page']").inner_text() == "Business reports"
    assert page.locator("#br-count").inner_text() == "0"
    assert page.input_value("#br-when")  # now, filled in
    # nothing chosen: named before anything is sent
    page.tap("#br-submit")
    assert page.locator("#status").inner_text() == "Choose what happened."
    assert page.get_attribute("#br-type", "aria-invalid") == "true"
    page.select_option("#br-type", "shoplifting")
    # a grid reference outside the force area: the service's 422 is shown, the field marked
    page.fill("#br-gridref", "TQ 3000 8000")
    page.tap("#br-submit")
    page.locator("#status.error", has_text="outside").wait_for()
    assert page.get_attribute("#br-gridref", "aria-invalid") == "true"
    page.fill("#br-gridref", "")
    # the tablet's own position
    page.tap("#br-locate")
    page.locator("#status.ok", has_text="Location filled in").wait_for()
    assert abs(float(page.input_value("#br-lat")) - place["lat"]) < 1e-5
    page.fill("#br-value", "12.50")
    page.fill("#br-business", "Market Street <Pharmacy>")
    page.fill("#br-description", "Razor blades taken from the display")
    page.screenshot(path=str(SHOTS / "form-tablet-800x1280.png"), full_page=True)
    page.tap("#br-submit")
    page.locator("#status.ok", has_text="Sent: reference br_").wait_for()
    assert page.locator("#br-count").inner_text() == "1"
    row = page.locator("#br-list tbody tr").first.inner_text()
    assert "Shoplifting" in row and "Market Street <Pharmacy>" in row and "£12.50" in row
    page.reload()  # stored: the page lists it from the service, escaped
    assert page.locator("#br-list tbody tr").count() == 1
    assert "Market Street <Pharmacy>" in page.locator("#br-list tbody tr").first.inner_text()
    page.screenshot(path=str(SHOTS / "form-tablet-after-800x1280.png"), full_page=True)
    assert errors == []
    context.close()

    other = browser.new_context(viewport={"width": 1440, "height": 900})
    page = other.new_page()
    sign_in(page, server.url, _partner(server, "Another Shop"))
    page.goto(f"{server.url}/report-incident")
    assert page.locator("#br-count").inner_text() == "0"  # another partner's are not here
    assert "Pharmacy" not in page.content()
    page.screenshot(path=str(SHOTS / "form-desktop-1440x900.png"), full_page=True)
    other.close()


def test_an_analyst_sees_them_as_their_own_layer(browser: Browser, server: Server,
                                                 place: dict[str, float]) -> None:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    errors = _watched(page)
    sign_in(page, server.url, server.key)
    page.goto(f"{server.url}/", wait_until="load")
    page.locator("#hs-business-count").wait_for(timeout=120_000)
    assert page.locator("#hs-business-count").inner_text() == "3"
    section = page.locator("#hs-legend .hs-business")  # in the legend, under the map layers
    assert section.inner_text().count("not police-recorded") == 1
    markers = "path.leaflet-interactive[fill='#00838f']"
    assert page.locator(markers).count() == 0  # off at first: the police map shows alone
    page.click("#hs-business-toggle")
    assert page.locator(markers).count() == 3
    page.screenshot(path=str(SHOTS / "planner-business-layer-1440x900.png"))
    assert errors == []
    context.close()


def test_the_rural_team_map_asks_for_no_business_reports(browser: Browser,
                                                         server: Server) -> None:
    key = str(server.json("/v1/keys", {"name": "rural", "role": "rural_team"})["key"])
    context = browser.new_context(viewport={"width": 800, "height": 1280}, is_mobile=True,
                                  has_touch=True)
    page = context.new_page()
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "business-reports" in r.url else None)
    refused: list[str] = []
    page.on("response", lambda r: refused.append(r.url) if r.status == 403 else None)
    sign_in(page, server.url, key)
    page.goto(f"{server.url}/", wait_until="load")
    page.locator("#hs-legend").wait_for(timeout=120_000)
    page.wait_for_load_state("networkidle")
    assert page.locator("nav.hs-nav").get_attribute("data-role") == "rural_team"
    assert asked == [] and refused == []  # nothing it may not read, so no refusal either
    assert page.locator("#hs-business-count").count() == 0
    context.close()


def test_a_long_unbroken_name_never_widens_the_page(browser: Browser, server: Server,
                                                    place: dict[str, float]) -> None:
    token = _partner(server, "Long Name Shop")
    body = {"occurred_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
            "type": "shoplifting", "place": place, "business": "W" * 200,
            "description": "x" * 300}
    req = urllib.request.Request(f"{server.url}/v1/business-reports",
                                 data=json.dumps(body).encode(), method="POST", headers={
                                     "Authorization": f"Bearer {token}",
                                     "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        assert r.status == 201
    for options, name in ((TABLET, "800x1280"),
                          ({"viewport": {"width": 1440, "height": 900}}, "1440x900")):
        context = browser.new_context(**options)
        page = context.new_page()
        sign_in(page, server.url, token)
        page.goto(f"{server.url}/report-incident")
        assert "W" * 20 in page.locator("#br-list tbody tr").first.inner_text()
        widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1] == options["viewport"]["width"], (name, widths)  # type: ignore[index]
        page.screenshot(path=str(SHOTS / f"form-long-name-{name}.png"), full_page=True)
        context.close()
