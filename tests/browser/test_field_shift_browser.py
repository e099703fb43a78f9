"""A crew's shift on a tablet, in a real headless Chromium with touch and geolocation, portrait
(800x1280) and landscape (1024x768), served by the real service with tiles that never load:
the officer opens the crew's field view from the plan page, loses the signal, reloads, starts
the dwell timer on arrival, marks the visit, and the visit reaches the server exactly once,
with the officer's name, when the signal is back. Undo within the minute takes a visit back
(before it is sent: it never leaves the tablet; after: the server removes it). The header names
the plan, its date and the crew; the officer's position is drawn above the stop icons; every
touch target is at least 44 px; in landscape the map has at least half the screen.

The page's clock is Playwright's (installed at the shift's start), so late/early and the dwell
timer are checked against the plan's own times without waiting a quarter of an hour.
"""

from __future__ import annotations

import re
import time
import urllib.parse
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from bench._server import Server, sign_in
from tests.browser.conftest import demo_server

pytestmark = pytest.mark.browser
DEAD_TILES = "http://127.0.0.1:9/tiles/{z}/{x}/{y}.png"
NAME = "Friday late, the dales"
SIZES = {"portrait": (800, 1280), "landscape": (1024, 768)}
OFFICER = "PC Amy Hartley"
SMALL_TARGETS = """() => [...document.querySelectorAll(
    'button, a, input, textarea, select, summary, [role=button], .leaflet-control a')]
  .filter(e => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden')
  .map(e => { const r = e.getBoundingClientRect();
              return [e.tagName, (e.textContent || e.title || '').trim().slice(0, 30),
                      Math.round(r.width), Math.round(r.height)]; })
  .filter(t => t[2] < 44 || t[3] < 44)"""
ABOVE = """() => {
  // paint order, not just z-index: what is on top at the centre of the next stop's icon (the
  // position's pane ignores the pointer, so let it take part in the hit test for this check)
  const stop = document.querySelector('.stop-icon.next').getBoundingClientRect();
  const pane = document.querySelector('.leaflet-position-pane');
  pane.style.pointerEvents = 'auto';
  pane.querySelectorAll('*').forEach(e => { e.style.pointerEvents = 'auto'; });
  const top = document.elementFromPoint(stop.x + stop.width / 2, stop.y + stop.height / 2);
  pane.style.pointerEvents = 'none';
  return top ? top.className : null;
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, demo_files) -> Iterator[Server]:
    with demo_server(tmp_path_factory, demo_files, tiles=DEAD_TILES) as s:
        yield s


@pytest.fixture(scope="module")
def plan(server: Server) -> dict:
    return server.json("/v1/patrol-plans", {
        "name": NAME, "published": True,
        "shift": {"start": "2024-06-14T16:00", "end": "2024-06-15T02:00"},
        "rural_crime_team": {"vehicles": 2}, "time_limit_s": 0.5})


def _visits(server: Server, plan: dict, stop_ids: set[str]) -> list[dict]:
    got = server.json(f"/v1/patrol-plans/{plan['plan_id']}/visits")["visits"]
    return [v for v in got if v["stop_id"] in stop_ids]


def _outbox(page: Page, plan: dict) -> list[dict]:
    return page.evaluate("(k) => JSON.parse(localStorage.getItem(k) || '[]')",
                         "hotspot-outbox-" + plan["plan_id"])


def _shift_time(iso: str) -> datetime:
    return datetime.fromisoformat(iso)


@pytest.mark.parametrize("size", SIZES)
def test_a_crew_logs_its_first_visit_offline_from_the_plan_page(
        browser: Browser, server: Server, plan: dict, size: str, tmp_path: Path) -> None:
    width, height = SIZES[size]
    crews = [r for r in plan["routes"] if r["unit"] == "rural_crime_team"]
    crew = crews[0] if size == "portrait" else crews[1]  # one crew per tablet, visits apart
    stops = [s for s in crew["stops"] if s["kind"] == "hotspot"]
    first, second = stops[0], stops[1]
    ids = {s["stop_id"] for s in stops}
    # the officer stands at the first stop: the position and the stop's icon are on one spot
    context = browser.new_context(
        viewport={"width": width, "height": height}, device_scale_factor=1, is_mobile=True,
        has_touch=True, timezone_id="Europe/London", permissions=["geolocation"],
        geolocation={"latitude": first["lat"], "longitude": first["lon"]})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    now = _shift_time(plan["shift"]["start"]) + timedelta(minutes=5)
    page.clock.install(time=now)
    sign_in(page, server.url, server.json("/v1/keys", {"name": f"RCT tablet {size}",
                                                       "role": "rural_team"})["key"])

    # from the plan page, the crew's own link
    page.goto(f"{server.url}/plans/{plan['plan_id']}")
    page.locator("#crews li", has_text=crew["label"]).get_by_text("Open field view").tap()
    page.wait_for_selector("body[data-offline-ready='1']", timeout=30_000)
    page.wait_for_function("() => navigator.serviceWorker && navigator.serviceWorker.controller !== null",
                           timeout=20_000)
    assert urllib.parse.unquote(page.url).endswith("?crew=" + crew["label"])
    assert page.locator("#plan-name").inner_text() == NAME
    assert page.locator("#plan-when").inner_text().startswith("Fri, 14 Jun 2024, 16:00")
    assert page.locator("#route-button").inner_text() == crew["label"]
    assert page.locator("#clock").inner_text() == "16:05"
    assert page.locator("#next h2").inner_text() == f"Next: 1. {first['name']}"
    assert page.locator("#stop-list li").count() == len(stops)

    # late/early against the stop's planned start; distance and bearing from the officer
    early = (_shift_time(first["start"]) - now).total_seconds() / 60
    timing = page.locator("#next .timing")
    if 5 < early < 90:
        assert timing.inner_text() == f"Now {round(early)} minutes early"
        assert "early" in (timing.get_attribute("class") or "")
    page.wait_for_selector(".me-icon", timeout=10_000)
    # the officer's dot is above the stop's icon (asked again while the map may still be
    # moving to the position it follows: a zoom animation moves the panes apart for a moment)
    top = page.evaluate(ABOVE)
    for _ in range(25):
        if top == "me-icon":
            break
        page.wait_for_timeout(200)
        top = page.evaluate(ABOVE)
    assert top == "me-icon"
    north = first["lat"] + 1000 / 111_195  # 1 km north of the stop
    context.set_geolocation({"latitude": north, "longitude": first["lon"]})
    page.wait_for_function("() => document.querySelector('#next .distance').textContent"
                           ".startsWith('1.0 km south (bearing 180')", timeout=10_000)
    geo = page.locator("#next a", has_text="Navigate").get_attribute("href") or ""
    assert geo.startswith(f"geo:{first['lat']:.6f},{first['lon']:.6f}")
    small = page.evaluate(SMALL_TARGETS)
    assert small == [], small
    if width > height:  # landscape: the map gets at least half the screen
        box = page.locator("#map").bounding_box()
        assert box and box["width"] * box["height"] >= 0.5 * width * height
    page.screenshot(path=str(tmp_path / f"field-{size}-open.png"))

    # no signal: reload; the plan, the crew and the last position come from the tablet
    context.set_offline(True)
    page.reload()
    page.wait_for_selector("body[data-ready='1']", timeout=20_000)
    assert "Offline" in page.locator("#status").inner_text()
    assert page.locator("#route-button").inner_text() == crew["label"]
    assert page.locator("#plan-name").inner_text() == NAME
    assert page.locator(".me-icon").count() == 1

    # arrive: the dwell timer runs the plan's 15 minutes
    tapped = time.monotonic()  # the page's clock also runs on by the real seconds from here
    page.locator("#next button.arrive").tap()
    assert page.locator("#next .dwell-time").inner_text() == "15:00 left of 15 min"
    page.clock.run_for(6 * 60_000)
    # (the timer ticks each second: within a second of nine minutes left)
    assert re.fullmatch(r"(8:59|9:00|9:01) left of 15 min",
                        page.locator("#next .dwell-time").inner_text())
    page.reload()  # a reload (or a crash) does not lose the timer
    page.wait_for_selector("body[data-ready='1']", timeout=20_000)
    page.clock.run_for(9 * 60_000)
    page.wait_for_selector("#next.arrived.done", timeout=5_000)
    assert page.locator("#next .dwell-time").inner_text().startswith("Dwell done")

    # mark the visit: the name is asked once and kept
    page.locator("#next .mark-next").tap()
    page.locator("#visit-officer").fill(OFFICER)
    page.locator("#visit-note").fill("Gate open, nobody about")
    page.locator("#visit-save").tap()
    real = time.monotonic() - tapped  # the real seconds between arrival and the visit's save
    assert page.locator("#officer-button").inner_text() == OFFICER
    assert len(_outbox(page, plan)) == 1
    assert page.locator("#next h2").inner_text() == f"Next: 2. {second['name']}"
    assert page.locator("#undo-bar").is_visible()

    # a second visit marked by mistake, undone within the minute: it never leaves the tablet
    page.locator("#next .mark-next").tap()
    assert page.locator("#visit-officer-row").is_hidden()  # asked once
    page.locator("#visit-save").tap()
    assert len(_outbox(page, plan)) == 2
    page.clock.run_for(20_000)
    page.locator("#undo-bar button.undo").tap()
    assert [v["stop_id"] for v in _outbox(page, plan)] == [first["stop_id"]]
    assert page.locator("#next h2").inner_text() == f"Next: 2. {second['name']}"
    page.screenshot(path=str(tmp_path / f"field-{size}-offline.png"))
    assert _visits(server, plan, ids) == []

    # the signal is back: the visit goes, once, with the officer and the dwell
    context.set_offline(False)
    page.wait_for_function("(k) => (localStorage.getItem(k) || '[]') === '[]'",
                           arg="hotspot-outbox-" + plan["plan_id"], timeout=30_000)
    page.reload()
    page.wait_for_selector("body[data-offline-ready='1']", timeout=20_000)
    got = _visits(server, plan, ids)
    assert len(got) == 1
    assert got[0]["stop_id"] == first["stop_id"] and got[0]["officer"] == OFFICER
    assert got[0]["note"] == "Gate open, nobody about"
    # what the visit records (not a speed): the page's clock was run on by the 15-minute
    # dwell, so the stored arrival and end are 15 minutes apart, plus the real seconds the
    # test itself took between the two taps (measured above: a slow machine takes more)
    dwell = datetime.fromisoformat(got[0]["ended_at"]) - datetime.fromisoformat(
        got[0]["visited_at"])
    assert 15 * 60 - 1 <= dwell.total_seconds() <= 15 * 60 + real + 1, (dwell, real)

    # a visit sent, then undone within the minute: the server removes it
    page.locator("#next .mark-next").tap()
    page.locator("#visit-save").tap()
    page.wait_for_function("(k) => (localStorage.getItem(k) || '[]') === '[]'",
                           arg="hotspot-outbox-" + plan["plan_id"], timeout=20_000)
    assert {v["stop_id"] for v in _visits(server, plan, ids)} == {first["stop_id"],
                                                                  second["stop_id"]}
    page.locator("#stop-list li").nth(1).get_by_role("button", name="Undo").tap()
    page.wait_for_function("(k) => (localStorage.getItem(k) || '[]') === '[]'",
                           arg="hotspot-outbox-" + plan["plan_id"], timeout=20_000)
    assert [v["stop_id"] for v in _visits(server, plan, ids)] == [first["stop_id"]]
    assert page.locator("#next h2").inner_text() == f"Next: 2. {second['name']}"
    # a minute on, the undo is gone
    page.locator("#next .mark-next").tap()
    page.locator("#visit-save").tap()
    page.clock.run_for(61_000)
    assert page.locator("#undo-bar").is_hidden()
    assert page.locator("#stop-list li.visited button", has_text="Undo").count() == 0
    assert not errors, errors
    context.close()


def test_arrived_far_from_the_stop_asks_first(browser: Browser, server: Server,
                                              tmp_path: Path) -> None:
    """An officer 20 km from the next stop (the wrong stop, or a tap meant for later) who taps
    "Arrived" is asked first, with the distance, and may still start the timer; the visit
    dialog says how far too. At the stop the timer starts at once and nothing is asked."""
    plan = server.json("/v1/patrol-plans", {
        "name": "Far from the stop", "published": True,
        "shift": {"start": "2024-06-14T16:00", "end": "2024-06-15T02:00"},
        "rural_crime_team": {"vehicles": 1}, "time_limit_s": 0.5})
    crew = next(r for r in plan["routes"] if r["unit"] == "rural_crime_team")
    first = next(s for s in crew["stops"] if s["kind"] == "hotspot")
    context = browser.new_context(
        viewport={"width": 800, "height": 1280}, device_scale_factor=1, is_mobile=True,
        has_touch=True, timezone_id="Europe/London", permissions=["geolocation"],
        geolocation={"latitude": first["lat"] + 20_000 / 111_195, "longitude": first["lon"]})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.clock.install(time=_shift_time(plan["shift"]["start"]) + timedelta(minutes=5))
    sign_in(page, server.url, server.json("/v1/keys", {"name": "RCT tablet far",
                                                       "role": "rural_team"})["key"])
    page.goto(f"{server.url}/field/{plan['plan_id']}?crew="
              + urllib.parse.quote(crew["label"], safe=""))
    page.wait_for_selector("body[data-ready='1']", timeout=30_000)
    page.wait_for_function("() => document.querySelector('#next .distance').textContent"
                           ".startsWith('20 km south')", timeout=10_000)
    timer = "hotspot-arrived-" + plan["plan_id"]
    # where stop icons crowd, the next stop's is drawn on top of the others
    assert page.evaluate("""() => {
      const z = e => Number(e.closest('.leaflet-marker-icon').style.zIndex);
      const next = z(document.querySelector('.stop-icon.next'));
      const rest = [...document.querySelectorAll('.stop-icon:not(.next)')];
      return rest.length > 0 && rest.every(e => z(e) < next); }""")

    page.locator("#next button.arrive").tap()
    warning = page.locator("#next .far-warning")
    assert warning.inner_text() == \
        f"Your position is 20 km from 1. {first['name']}. Start its timer anyway?"
    assert page.locator("#next .dwell-time").count() == 0
    assert page.evaluate("(k) => localStorage.getItem(k)", timer) is None
    assert page.evaluate(SMALL_TARGETS) == []
    page.screenshot(path=str(tmp_path / "field-far-ask.png"))
    page.locator("#next button.not-yet").tap()
    assert warning.count() == 0 and page.locator("#next button.arrive").count() == 1

    page.locator("#next .mark-next").tap()
    assert page.locator("#visit-far").inner_text() == \
        "Your position is 20 km from this stop: is it the right one?"
    page.screenshot(path=str(tmp_path / "field-far-visit.png"))
    page.locator("#visit-cancel").tap()

    page.locator("#next button.arrive").tap()
    page.locator("#next button.arrive-anyway").tap()
    assert page.locator("#next .dwell-time").inner_text() == "15:00 left of 15 min"
    assert page.evaluate("(k) => JSON.parse(localStorage.getItem(k)).stop_id", timer) == \
        first["stop_id"]
    page.locator("#next .stop-timer").tap()

    # asked far away, then near: the question goes by itself
    page.locator("#next button.arrive").tap()
    assert warning.count() == 1
    context.set_geolocation({"latitude": first["lat"], "longitude": first["lon"]})
    page.wait_for_function("() => document.querySelector('#next .distance').textContent"
                           " === 'At the stop'", timeout=10_000)
    warning.wait_for(state="detached", timeout=10_000)
    assert page.locator("#next button.arrive-anyway").count() == 0

    # at the stop: no question
    page.locator("#next button.arrive").tap()
    assert page.locator("#next .dwell-time").inner_text() == "15:00 left of 15 min"
    assert page.locator("#next .far-warning").count() == 0
    page.locator("#next .mark-next").tap()
    assert page.locator("#visit-far").is_hidden()
    page.locator("#visit-cancel").tap()
    assert not errors, errors
    context.close()
