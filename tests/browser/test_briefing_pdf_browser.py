"""The briefing printed to PDF by a real headless Chromium, as a planner prints it: one A4 page
per crew (a crew with no stops included), the OS grid references in the text, nothing cut off
at the foot of a page, and a map with roads and place names on every page.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser
from pypdf import PdfReader

from bench._server import Server, sign_in
from tests.browser.conftest import demo_server

pytestmark = pytest.mark.browser
A4_PT = (595.3, 841.9)
"""A4 in PDF points (210 x 297 mm)."""
GRID_REF = re.compile(r"\b[HJNOST][A-HJ-Z] \d{5} \d{5}\b")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, demo_files) -> Iterator[Server]:
    with demo_server(tmp_path_factory, demo_files, tiles="http://127.0.0.1:9/{z}/{x}/{y}.png") as s:
        yield s


@pytest.fixture(scope="module")
def plan(server: Server) -> dict:
    # Elmsford's officer gets nothing: the hotspots come from Thornbury only
    return server.json("/v1/patrol-plans", {
        "name": "Friday lates", "published": True,
        "shift": {"start": "2024-06-14T16:00", "end": "2024-06-15T02:00"},
        "rural_crime_team": {"vehicles": 2},
        "town_centre_officers": {"Thornbury": 2, "Elmsford": 1},
        "hotspots": {"method": "dbscan", "town": "Thornbury"}, "time_limit_s": 0.5})


@pytest.fixture(scope="module")
def night_plan(server: Server) -> dict:
    # four vehicles through a night: long lists of stops, the pages left the least room
    return server.json("/v1/patrol-plans", {
        "name": "Night cover", "published": True,
        "shift": {"start": "2024-06-14T20:00", "end": "2024-06-15T06:00"},
        "rural_crime_team": {"vehicles": 4}, "hotspots": {"method": "dbscan"},
        "time_limit_s": 0.5})


@pytest.fixture(scope="module")
def lates_plan(server: Server) -> dict:
    # the demo plan a reader reported: Rural Crime Team vehicles over the whole force and a
    # town officer, through an evening; routes reach the map's top and bottom edges
    return server.json("/v1/patrol-plans", {
        "name": "Friday lates", "published": True,
        "shift": {"start": "2024-06-14T16:00", "end": "2024-06-15T02:00"},
        "rural_crime_team": {"vehicles": 3}, "town_centre_officers": {"Thornbury": 1},
        "hotspots": {"method": "dbscan"}, "time_limit_s": 0.5})


def test_the_briefing_prints_one_a4_page_per_crew(browser: Browser, server: Server,
                                                   plan: dict) -> None:
    routes = plan["routes"]
    assert len(routes) == 5
    empty = [r for r in routes if not r["totals"]["stops"]]
    assert "Elmsford officer 1" in [r["label"] for r in empty]
    assert len(empty) < len(routes) - 1
    page = browser.new_page()
    sign_in(page, server.url, server.key)
    page.goto(f"{server.url}/v1/patrol-plans/{plan['plan_id']}/briefing")
    page.emulate_media(media="print")
    # nothing overflows a crew's page: each section's content fits its A4 height
    overflow = page.evaluate("""() => [...document.querySelectorAll('section.crew')].map(
        s => s.scrollHeight - s.clientHeight)""")
    assert len(overflow) == len(routes) and max(overflow) <= 1, overflow
    pdf = page.pdf(format="A4", print_background=True)
    page.close()
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == len(routes)
    for n, (sheet, route) in enumerate(zip(reader.pages, routes, strict=True)):
        box = sheet.mediabox
        assert abs(float(box.width) - A4_PT[0]) < 2 and abs(float(box.height) - A4_PT[1]) < 2
        text = unicodedata.normalize("NFKC", sheet.extract_text())  # ligatures to letters
        assert route["label"] in text, (n, text[:200])
        if route["totals"]["stops"]:
            refs = GRID_REF.findall(text)
            stops = [s for s in route["stops"] if s["kind"] == "hotspot"]
            assert {s["grid_ref"] for s in stops} <= set(refs)
            assert "Notes" in text and "Grid ref" in text
        else:
            assert "No stops for this crew" in text
            assert " ".join(route["empty_reason"].split()) in " ".join(text.split())
        # the map: a scale bar and place names from the store's layers, drawn with no tiles
        assert re.search(r"\b\d+ k?m\b", text)


def test_the_printed_page_shows_roads_names_and_the_qr_code(browser: Browser, server: Server,
                                                           plan: dict) -> None:
    page = browser.new_page(viewport={"width": 794, "height": 1123})
    sign_in(page, server.url, server.key)
    page.goto(f"{server.url}/v1/patrol-plans/{plan['plan_id']}/briefing")
    page.emulate_media(media="print")
    found = page.evaluate("""() => [...document.querySelectorAll('section.crew')].map(s => ({
        roads: s.querySelectorAll('svg.crew-map path[stroke-linecap]').length,
        names: [...s.querySelectorAll('svg.crew-map text.halo')].map(t => t.textContent),
        qr: !!s.querySelector('.qr-box svg.qr'),
        link: (s.querySelector('.qr-box') || {}).textContent || '',
        pathLines: (p => p ? p.getBoundingClientRect().height /
                         parseFloat(getComputedStyle(p).lineHeight) : 0)(
            s.querySelector('.qr-box .qr-path')),
        smallest: Math.min(...[...s.querySelectorAll('td, th, p, dt, dd, footer, h1')]
            .filter(e => e.textContent.trim()).map(e => parseFloat(getComputedStyle(e).fontSize)))
    }))""")
    page.close()
    assert len(found) == 5
    for crew in found:
        assert crew["roads"] > 3 and crew["names"], crew
        assert crew["qr"] and "/f/" in crew["link"], crew
        assert 0.5 < crew["pathLines"] < 1.5, crew  # the code on one line, never broken
        assert crew["smallest"] >= 10 * 96 / 72 - 0.01, crew  # 10 pt in CSS pixels
    assert any("Thornbury" in n for crew in found for n in crew["names"])


def test_every_map_prints_whole_inside_its_page(browser: Browser, server: Server,
                                                night_plan: dict) -> None:
    routes = night_plan["routes"]
    assert len(routes) == 4 and min(r["totals"]["stops"] for r in routes) > 0
    assert max(r["totals"]["stops"] for r in routes) >= 20  # a page with a long stop list
    page = browser.new_page()
    sign_in(page, server.url, server.key)
    page.goto(f"{server.url}/v1/patrol-plans/{night_plan['plan_id']}/briefing")
    page.emulate_media(media="print")
    # CSS pixels: each crew's page (its section, one printed page), its map's box on the page,
    # the map's drawing (its border, the last thing drawn) and the footer
    found = page.evaluate("""() => [...document.querySelectorAll('section.crew')].map(s => {
        const box = e => (b => [b.left, b.top, b.right, b.bottom])(e.getBoundingClientRect());
        const map = s.querySelector('svg.crew-map');
        return {label: s.getAttribute('aria-label'), page: box(s), map: box(map),
                drawing: box(map.lastElementChild), footer: box(s.querySelector('footer'))};
    })""")
    pdf = page.pdf(format="A4", print_background=True)
    page.close()
    assert len(PdfReader(io.BytesIO(pdf)).pages) == len(found) == len(routes)

    def inside(inner: list[float], outer: list[float]) -> bool:
        return (inner[0] >= outer[0] - 1 and inner[1] >= outer[1] - 1
                and inner[2] <= outer[2] + 1 and inner[3] <= outer[3] + 1)

    for crew in found:
        # the whole map on its page: none of it cut off at its foot, nor the page's footer
        assert inside(crew["drawing"], crew["map"]), crew
        assert inside(crew["map"], crew["page"]) and inside(crew["footer"], crew["page"]), crew


def _printed(browser: Browser, server: Server, plan: dict, script: str) -> list[dict]:
    """``script`` (a function of a crew's section) run on each crew's printed page."""
    page = browser.new_page(viewport={"width": 794, "height": 1123})
    sign_in(page, server.url, server.key)
    page.goto(f"{server.url}/v1/patrol-plans/{plan['plan_id']}/briefing")
    page.emulate_media(media="print")
    found = page.evaluate(f"""() => [...document.querySelectorAll('section.crew')].map(s => (
        {{label: s.getAttribute('aria-label'), ...({script})(s)}}))""")
    page.close()
    return found


_BOX = "e => (b => [b.left, b.top, b.right, b.bottom])(e.getBoundingClientRect())"
"""A page element's box in CSS pixels (left, top, right, bottom), as a script."""


@pytest.mark.parametrize("which", ["plan", "night_plan", "lates_plan"])
def test_every_stop_and_the_route_print_inside_the_map(browser: Browser, server: Server,
                                                        which: str,
                                                        request: pytest.FixtureRequest) -> None:
    found = _printed(browser, server, request.getfixturevalue(which), f"""s => {{
        const box = {_BOX}, map = s.querySelector('svg.crew-map');
        return {{map: box(map),
                 chips: [...map.querySelectorAll('rect[rx]')].map(r => [
                     ...box(r), r.nextElementSibling.textContent]),
                 legs: [...map.querySelectorAll('path.leg')].map(box)}}; }}""")
    for crew in found:
        left, top, right, bottom = crew["map"]
        for x0, y0, x1, y1, *text in crew["chips"] + crew["legs"]:
            # whole inside the map's border (CSS pixels; a chip's outline 1 px at most)
            assert (x0 >= left - 1 and y0 >= top - 1 and x1 <= right + 1
                    and y1 <= bottom + 1), (crew["label"], text, crew["map"], [x0, y0, x1, y1])


def test_the_roads_reach_across_a_town_officer_s_map(browser: Browser, server: Server,
                                                     plan: dict) -> None:
    # a town officer's route fits a small square: the map, as wide as the page, shows much
    # more round it, and its roads must reach out there too, not stop at the square
    found = _printed(browser, server, plan, f"""s => {{
        const box = {_BOX}, map = s.querySelector('svg.crew-map');
        return {{map: box(map), roads: [...map.querySelectorAll('path.road')].map(box),
                 legs: [...map.querySelectorAll('path.leg')].map(box)}}; }}""")
    towns = [c for c in found if "officer" in c["label"] and c["legs"]]
    assert towns
    for crew in towns:
        left, _top, right, _bottom = crew["map"]
        roads = [r for r in crew["roads"] if r[2] > left and r[0] < right]
        reach = min(right, max(r[2] for r in roads)) - max(left, min(r[0] for r in roads))
        # the demo's roads run out past Thornbury on both sides: drawn across nearly all
        # the map, not only the middle square the route's box makes of it
        assert reach > 0.9 * (right - left), (crew["label"], reach, crew["map"])


@pytest.mark.parametrize("which", ["plan", "night_plan", "lates_plan"])
def test_the_legend_gives_up_advice_only_for_want_of_room(browser: Browser, server: Server,
                                                          which: str,
                                                          request: pytest.FixtureRequest
                                                          ) -> None:
    found = _printed(browser, server, request.getfixturevalue(which), f"""s => {{
        const box = {_BOX}, foot = s.querySelector('footer');
        return {{given_up: (s.querySelector('p.given-up') || {{}}).textContent || '',
                 blank: box(foot)[1] - box(foot.previousElementSibling)[3],
                 named: [...s.querySelectorAll('dl.legend dt')].filter(
                     dt => !dt.nextElementSibling).map(dt => dt.textContent.split(' ')[0])}}; }}""")
    for crew in found:
        if crew["named"]:  # a key printed without its advice
            # for want of room: at most a couple of lines of the 10 pt text (4.4 mm, 17 CSS
            # pixels each) left blank above the footer
            assert crew["blank"] < 3 * 17, crew
            # and the page says where the advice is
            assert crew["given_up"].startswith(f"What to do for {', '.join(crew['named'])}:")
        else:  # every key with its advice: no line sending the crew elsewhere for it
            assert crew["given_up"] == "", crew
