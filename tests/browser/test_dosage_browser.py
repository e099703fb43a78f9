"""Patrol dosage in a real headless Chromium, served by the real service with no tiles: visits
logged with a start and an end (and some with no end) through the real API, then the plan's
page shows, per crew and per hotspot, the planned visits against those made, the share and the
minutes on site, and the hotspots never visited; a hotspot's page shows the same for the plans
that went there. Every figure is checked against a hand count of the visits sent; on a desktop
(1440x900) and a touch tablet (800x1280), where nothing runs off the screen.

Screenshots go to ``$HOTSPOT_SCREENSHOTS`` when set (to look at), else the test's folder.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from bench._server import Server, open_offline, sign_in
from tests.browser.conftest import demo_server

pytestmark = pytest.mark.browser

HOTSPOTS = {"method": "dbscan", "from": "2024-01", "to": "2024-06"}
QUERY = "method=dbscan&from=2024-01&to=2024-06"
TABLET = {"viewport": {"width": 800, "height": 1280}, "device_scale_factor": 1,
          "is_mobile": True, "has_touch": True}


def _mins(m: float) -> str:
    n = math.floor(m + 0.5)
    return f"{n} min" if n < 60 else f"{n // 60} h {n % 60:02d} min"


def _pct(made: int, planned: int) -> str:
    return f"{math.floor(round(made / planned, 4) * 100 + 0.5)}%"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _at(iso: str, minutes: int) -> str:
    return (datetime.fromisoformat(iso) + timedelta(minutes=minutes)).isoformat()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, demo_files) -> Iterator[Server]:
    with demo_server(tmp_path_factory, demo_files, tiles="none") as s:
        yield s


@pytest.fixture(scope="module")
def shift(server: Server) -> dict[str, Any]:
    """A published plan with visits logged: at the first crew's first stop 14 minutes timed
    and then again with no end; at its second stop, no end; at the second crew's first stop 9
    minutes timed. With the hand count of what they deliver."""
    plan = server.json("/v1/patrol-plans", {
        "name": "Friday lates", "published": True,
        "shift": {"start": "2024-06-14T16:00", "end": "2024-06-15T02:00"},
        "rural_crime_team": {"vehicles": 1}, "town_centre_officers": {"Thornbury": 1},
        "hotspots": HOTSPOTS, "time_limit_s": 0.5})
    crews = [(r["label"], [s for s in r["stops"] if s.get("stop_id")]) for r in plan["routes"]]
    crews = [(label, stops) for label, stops in crews if stops]
    assert len(crews) >= 2 and len(crews[0][1]) >= 2, "the demo plan has two crews with stops"
    (first, mine), (second, theirs) = crews[0], crews[1]
    a, c, b = mine[0], mine[1], theirs[0]
    sent = [  # (stop, minutes from its planned start, minutes on site or None)
        (a, 0, 14), (a, 20, None), (c, 0, None), (b, 3, 9)]
    for n, (stop, offset, length) in enumerate(sent):
        start = _at(stop["start"], offset)
        body = {"visit_id": f"dosage-visit-{n:04d}", "stop_id": stop["stop_id"],
                "visited_at": start, "officer": "PC Hartley"}
        if length is not None:
            body["ended_at"] = _at(start, length)
        server.json(f"/v1/patrol-plans/{plan['plan_id']}/visits", body)
    stops = [s for _, ss in crews for s in ss]
    made = {a["stop_id"], b["stop_id"], c["stop_id"]}
    by_hotspot: dict[str, list[dict]] = {}
    for s in stops:
        by_hotspot.setdefault(s["hotspot_id"], []).append(s)
    return {"plan": plan, "crews": crews, "stops": stops, "made": made, "sent": sent,
            "first": first, "second": second, "a": a, "by_hotspot": by_hotspot}


def _shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("HOTSPOT_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _rows(page: Page, caption: str) -> dict[str, list[str]]:
    table = page.locator("table.dose", has=page.locator("caption", has_text=caption))
    out: dict[str, list[str]] = {}
    for row in table.locator("tbody tr").all():
        cells = [" ".join(c.split()) for c in row.locator("td").all_inner_texts()]
        out[cells[0]] = cells[1:]
    return out


def _check_plan_page(page: Page, shift: dict[str, Any]) -> None:
    page.wait_for_selector("table.dose")
    stops, made = shift["stops"], shift["made"]
    planned_min = sum(s["dwell_min"] for s in stops)
    # 4 visits: 14 + 9 minutes timed, 2 with no end; 3 planned stops made
    assert " ".join(page.locator("#visit-summary").inner_text().split()) == (
        f"3 of {_plural(len(stops), 'planned visit')} made ({_pct(3, len(stops))}) \u00b7 "
        f"23 min on site of {_mins(planned_min)} planned")
    assert page.locator(".dose-logged").inner_text() == "4 visits logged in all"
    assert page.locator(".dose-note").first.inner_text().startswith("2 visits had no end time")
    crews = _rows(page, "By crew")
    for label, mine, minutes, untimed in ((shift["first"], shift["crews"][0][1], 14, 2),
                                          (shift["second"], shift["crews"][1][1], 9, 0)):
        done = sum(1 for s in mine if s["stop_id"] in made)
        want = [f"{done} of {len(mine)}", _pct(done, len(mine)),
                f"{_mins(minutes)} of {_mins(sum(s['dwell_min'] for s in mine))}"
                + (f" + {untimed} visits with no end time" if untimed else "")]
        assert crews[label] == want, (label, crews[label], want)
    hotspots = _rows(page, "Hotspots visited")  # those with none are listed apart
    assert len(hotspots) == sum(1 for ss in shift["by_hotspot"].values()
                                if any(s["stop_id"] in made for s in ss))
    a = shift["a"]
    here = shift["by_hotspot"][a["hotspot_id"]]
    done = sum(1 for s in here if s["stop_id"] in made)
    place = a["name"]  # "#3 Cemetery Road": with its rank, as on the map
    assert hotspots[place][:2] == [f"{done} of {len(here)}", _pct(done, len(here))]
    never = [h for h, ss in shift["by_hotspot"].items()
             if not any(s["stop_id"] in made for s in ss)]
    assert page.locator("#dosage h3").inner_text() == (
        f"Never visited ({len(never)})" if never else "Never visited")
    assert page.locator(".never-visited li").count() == len(never)
    link = page.locator("a.dose-hotspot", has_text=place).first
    assert link.get_attribute("href") == f"/hotspots/{a['hotspot_id']}?{QUERY}"


def test_the_plan_page_on_a_desktop(browser: Browser, server: Server, shift: dict,
                                    tmp_path: Path) -> None:
    plan = shift["plan"]
    page, watch = open_offline(browser, f"{server.url}/plans/{plan['plan_id']}",
                               wait_for="table.dose", key=server.key)
    page.set_viewport_size({"width": 1440, "height": 900})
    _check_plan_page(page, shift)
    page.locator("#visit-summary").scroll_into_view_if_needed()
    page.screenshot(path=str(_shots(tmp_path) / "plan-dosage-1440x900.png"))
    # the whole of the visits section, as the side panel scrolls through it
    page.evaluate("document.getElementById('side').style.overflow = 'visible'")
    page.locator("#visits").screenshot(path=str(_shots(tmp_path) / "plan-dosage-visits.png"))
    assert not watch.errors and not watch.dialogs, (watch.errors, watch.dialogs)
    assert not watch.outside
    page.close()


def test_the_plan_page_on_a_touch_tablet(browser: Browser, server: Server, shift: dict,
                                         tmp_path: Path) -> None:
    context = browser.new_context(**TABLET)  # type: ignore[arg-type]
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, server.url, server.key)
    page.goto(f"{server.url}/plans/{shift['plan']['plan_id']}", wait_until="load")
    _check_plan_page(page, shift)
    assert page.evaluate("document.documentElement.scrollWidth") <= 800
    side = page.locator("#side").bounding_box()
    assert side is not None
    for table in page.locator("table.dose").all():
        box = table.bounding_box()
        assert box is not None and box["x"] >= side["x"] - 1
        assert box["x"] + box["width"] <= side["x"] + side["width"] + 1, box
    for link in page.locator("a.dose-hotspot").all():
        box = link.bounding_box()
        assert box is not None and box["height"] >= 44, (link.inner_text(), box)
    page.locator("#visit-summary").scroll_into_view_if_needed()
    page.screenshot(path=str(_shots(tmp_path) / "plan-dosage-800x1280.png"))
    assert not errors, errors
    context.close()


def _check_hotspot_page(page: Page, shift: dict[str, Any]) -> None:
    a, made, plan = shift["a"], shift["made"], shift["plan"]
    here = shift["by_hotspot"][a["hotspot_id"]]
    done = sum(1 for s in here if s["stop_id"] in made)
    ids = {s["stop_id"] for s in here}
    timed = sum(m for s, _, m in shift["sent"] if s["stop_id"] in ids and m is not None)
    untimed = sum(1 for s, _, m in shift["sent"] if s["stop_id"] in ids and m is None)
    planned_min = sum(s["dwell_min"] for s in here)
    summary = " ".join(page.locator(".dose-summary").inner_text().split())
    assert summary == (
        f"{done} of {_plural(len(here), 'planned visit')} made ({_pct(done, len(here))}) in "
        f"1 plan \u00b7 {_mins(timed)} on site of {_mins(planned_min)} planned"
        + (f", not counting {_plural(untimed, 'visit')} with no end time." if untimed else "."))
    rows = page.locator("section.plans tbody tr")
    assert rows.count() == 1
    cells = [" ".join(c.split()) for c in rows.first.locator("td").all_inner_texts()]
    assert cells[0].startswith("Friday lates")
    assert cells[2:5] == [f"{done} of {len(here)}", _pct(done, len(here)),
                          f"{_mins(timed)} of {_mins(planned_min)}"]
    if untimed:
        assert cells[5] == str(untimed)
    assert "\u2248" not in page.locator("section.plans").inner_text()  # nothing estimated
    link = rows.first.locator("a")
    assert link.get_attribute("href") == f"/plans/{plan['plan_id']}"


def test_the_hotspot_page_on_a_desktop_and_a_tablet(browser: Browser, server: Server,
                                                    shift: dict, tmp_path: Path) -> None:
    url = f"{server.url}/hotspots/{shift['a']['hotspot_id']}?{QUERY}"
    page, watch = open_offline(browser, url, wait_for="section.plans", key=server.key)
    page.set_viewport_size({"width": 1440, "height": 900})
    _check_hotspot_page(page, shift)
    page.locator("section.plans").scroll_into_view_if_needed()
    page.screenshot(path=str(_shots(tmp_path) / "hotspot-dosage-1440x900.png"))
    assert not watch.errors and not watch.dialogs, (watch.errors, watch.dialogs)
    page.close()

    context = browser.new_context(**TABLET)  # type: ignore[arg-type]
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, server.url, server.key)
    page.goto(url, wait_until="load")
    page.wait_for_selector("section.plans")
    _check_hotspot_page(page, shift)
    assert page.evaluate("document.documentElement.scrollWidth") <= 800
    for td in page.locator("section.plans td").all():  # every figure on the screen
        box = td.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 800, box
    page.locator("section.plans").scroll_into_view_if_needed()
    page.screenshot(path=str(_shots(tmp_path) / "hotspot-dosage-800x1280.png"))
    assert not errors, errors
    context.close()


def test_a_plan_with_no_visits_yet_says_what_it_asks_for(browser: Browser,
                                                         server: Server) -> None:
    plan = server.json("/v1/patrol-plans", {
        "name": "Saturday earlies", "published": True,
        "shift": {"start": "2024-06-15T08:00", "end": "2024-06-15T16:00"},
        "rural_crime_team": {"vehicles": 1}, "hotspots": HOTSPOTS, "time_limit_s": 0.5})
    stops = [s for r in plan["routes"] for s in r["stops"] if s.get("stop_id")]
    page, watch = open_offline(browser, f"{server.url}/plans/{plan['plan_id']}",
                               wait_for=".leaflet-marker-icon", key=server.key)
    # a locator assertion, not a string of JavaScript: the page's CSP forbids eval, which
    # Playwright needs to poll an expression when the first look finds it false (a slow run)
    expect(page.locator("#visit-summary")).not_to_have_text(re.compile(r"^\s*Loading"),
                                                             timeout=20_000)
    assert " ".join(page.locator("#visit-summary").inner_text().split()) == (
        f"No visits logged yet. The plan asks for {_plural(len(stops), 'visit')} to hotspots, "
        f"{_mins(sum(s['dwell_min'] for s in stops))} on site in all.")
    assert page.locator("table.dose").count() == 0  # no tables of noughts
    assert not watch.errors, watch.errors
    page.close()
