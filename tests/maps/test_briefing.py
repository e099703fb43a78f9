"""The briefing's structure: a page per crew, grid references, tick boxes, the map's parts,
escaped text, the look-for keys (the printed result is checked in tests/browser)."""

from __future__ import annotations

import copy
import itertools
import math
import re

import pytest

import api.services.briefing as briefing_service
from api.services.briefing import add_grid_refs, briefing_extras
from maps.briefing import briefing_page
from maps.crew_map import CHIP_JOIN_MM, _chips, _runs, crew_map, route_bbox

SHIFT = {"start": "2024-06-14T16:00+01:00", "end": "2024-06-15T02:00+01:00"}


def _stop(seq: int, kind: str, name: str, lon: float, lat: float, start: str,
          **extra: object) -> dict:
    return {"seq": seq, "kind": kind, "name": name, "lon": lon, "lat": lat,
            "arrival": start, "start": start, "departure": start, **extra}


def _route(label: str, stops: list[dict], **extra: object) -> dict:
    hot = [s for s in stops if s["kind"] == "hotspot"]
    return {"unit": "rural_crime_team", "label": label, "town": None,
            "legs": [[[a["lon"], a["lat"]], [b["lon"], b["lat"]]]
                     for a, b in itertools.pairwise(stops)],
            "stops": stops, "empty_reason": None,
            "totals": {"stops": len(hot), "distance_m": 12_345.0, "start": stops[0]["departure"],
                       "end": stops[-1]["arrival"]}, **extra}


BASE = ("Hub <b>", -1.30, 54.20)
LOOK = [{"category": "asb", "label": "Anti-social behaviour", "incidents": 9, "share": 0.6,
         "advice": "Groups gathering"},
        {"category": "heritage_sites", "label": "Heritage sites nearby", "incidents": 0,
         "share": 0.0, "advice": "Check: St Mary's <script>"}]
ROUTE = _route("Vehicle <1>", [
    _stop(0, "base", *BASE, "2024-06-14T16:00+01:00"),
    _stop(1, "hotspot", "#3 Ashby <i>", -1.25, 54.22, "2024-06-14T16:20+01:00",
          departure="2024-06-14T16:35+01:00", idle_min=0.0, look_for=LOOK,
          windows=[["2024-06-14T16:00+01:00", "2024-06-15T01:45+01:00"]], grid_ref=None),
    _stop(2, "hotspot", "#5 Moor", -1.20, 54.25, "2024-06-14T17:40+01:00",
          departure="2024-06-14T17:55+01:00", idle_min=45.0, look_for=LOOK[:1],
          windows=[["2024-06-14T17:00+01:00", "2024-06-14T18:00+01:00"],
                   ["2024-06-14T22:00+01:00", "2024-06-14T23:00+01:00"]],
          grid_ref="SE 12345 67890"),
    _stop(3, "base", *BASE, "2024-06-14T18:30+01:00"),
])
EMPTY = _route("Town <2>", [_stop(0, "base", *BASE, "2024-06-14T16:00+01:00"),
                            _stop(1, "base", *BASE, "2024-06-14T16:00+01:00")],
               empty_reason="no town-centre hotspots in <Elmsford> for this period")
EMPTY["legs"] = []
BASEMAP = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "properties": {"layer": "road", "class": "a_road", "rank": 1,
                                       "name": "A1 <x>"},
     "geometry": {"type": "LineString", "coordinates": [[-1.32, 54.245], [-1.22, 54.245]]}},
    {"type": "Feature", "properties": {"layer": "road", "class": "track", "rank": 5,
                                       "name": ""},
     "geometry": {"type": "LineString", "coordinates": [[-1.3, 54.25], [-1.2, 54.2]]}},
    {"type": "Feature", "properties": {"layer": "area", "kind": "village"},
     "geometry": {"type": "Polygon", "coordinates": [[[-1.26, 54.21], [-1.24, 54.21],
                                                      [-1.24, 54.23], [-1.26, 54.21]]]}},
    {"type": "Feature", "properties": {"layer": "label", "kind": "village",
                                       "name": "Ashby <Moor>"},
     "geometry": {"type": "Point", "coordinates": [-1.22, 54.215]}},
]}
DOC = {"plan_id": "p1", "name": "Friday <lates>", "shift": SHIFT, "options": {"dwell_min": 15},
       "routes": [ROUTE, EMPTY], "attribution": "Data: OGL",
       "warnings": [{"route": "Vehicle <1>", "kind": "idle",
                     "message": "Vehicle <1> waits 45 min in all at 1 stop"}]}


def test_a_page_per_crew_with_grid_refs_ticks_and_qr() -> None:
    doc = copy.deepcopy(DOC)
    add_grid_refs(doc)  # what the service does for the base and older plans' stops
    html = briefing_page(doc, basemaps={"Vehicle <1>": BASEMAP},
                         crew_urls={"Vehicle <1>": "https://h.example/f/ABCD2345",
                                    "Town <2>": "https://h.example/f/WXYZ6789"})
    assert html.count('<section class="crew') == 2
    first, second = html.split('<section class="crew')[1:]
    assert "SE 12345 67890" in first  # the plan's grid ref
    refs = re.findall(r"\b[HJNOST][A-HJ-Z] \d{5} \d{5}\b", first)
    assert len(refs) == 4  # the base (twice) and the stop with none are worked out
    assert first.count('<span class="box"></span>') == 2  # a tick box per stop, none for base
    assert "<th scope=\"col\">Notes</th>" in first
    assert "wait 45 min" in first and "waits 45 min in all" in first
    # the second window of stop 2 is not the one its visit falls in
    assert "17:00–18:00" in first and "22:00–23:00" not in first
    assert 'class="qr"' in first and "<span>h.example</span>" in first
    assert '<span class="qr-path">/f/ABCD2345</span>' in first  # the code on a line of its own
    assert "No stops for this crew:</strong> no town-centre hotspots in &lt;Elmsford&gt;" in second
    assert 'class="qr-path">/f/WXYZ6789<' in second and 'class="crew-map"' in second
    assert "<table>" not in second  # no empty stop list: where to start from, with its ref
    assert re.search(r"Patrol from Hub &lt;b&gt;\s+\([HJNOST][A-HJ-Z] \d{5} \d{5}\)", second)
    # look-for keys: a letter per category, and the heritage sites once
    assert "<dt>A Anti-social behaviour:</dt>" in first
    assert "St Mary&#39;s &lt;script&gt;" in first
    for raw in ("<b>", "<i>", "<1>", "<lates>", "<script>", "<Moor>", "<x>"):
        assert raw not in html
    assert "15 min on the spot" in html


def test_the_map_draws_roads_names_the_route_a_scale_bar_and_north() -> None:
    svg = crew_map(ROUTE, BASEMAP, height_mm=90.0)
    assert svg.startswith('<svg class="crew-map" viewBox="0 0 190.0 90.0"')
    assert svg.count('stroke-dasharray="1.2 0.8"') == 1  # the track
    assert svg.count('stroke="#f7c66b"') == 1  # the A road's fill over its casing
    assert "Ashby &lt;Moor&gt;" in svg and "A1 &lt;x&gt;" in svg
    assert 'class="scale-bar"' in svg and re.search(r">\d+(\.\d)? km<", svg)
    assert 'class="north-arrow"' in svg and ">N</text>" in svg
    assert svg.count('class="base-mark"') == 1 and ">Base</text>" in svg
    assert ">1</text>" in svg and ">2</text>" in svg
    assert crew_map(EMPTY | {"stops": []}, None).startswith('<p class="no-map">')


def test_a_village_the_route_stops_in_is_named_beside_its_stop() -> None:
    # the village's name point is under stop 1, whose chip covers every spot just beside it:
    # the name goes a little further out instead of being left off
    village = {"type": "Feature", "properties": {"layer": "label", "kind": "village",
                                                 "name": "Ashby"},
               "geometry": {"type": "Point", "coordinates": [-1.25, 54.22]}}
    svg = crew_map(ROUTE, {"type": "FeatureCollection", "features": [village]}, height_mm=90.0)
    name = re.search(r'<text x="([\d.]+)" y="([\d.]+)"[^>]*>Ashby</text>', svg)
    chip = re.search(r'<text x="([\d.]+)" y="([\d.]+)"[^>]*>1</text>', svg)
    assert name and chip, svg
    (nx, ny), (cx, cy) = (map(float, m.groups()) for m in (name, chip))
    assert abs(ny - cy) < 10 and abs(nx - cx) < 20  # mm: beside the stop, not across the map


def test_route_box_has_a_least_span_and_a_margin() -> None:
    w, s, e, n = route_bbox(ROUTE) or (0, 0, 0, 0)
    assert w < -1.30 and e > -1.20 and s < 54.20 and n > 54.25
    w, s, e, n = route_bbox(EMPTY) or (0, 0, 0, 0)
    assert (n - s) * 111_320 >= 1500  # a base alone still gets a map around it
    assert route_bbox({"stops": [], "legs": []}) is None


def test_stop_numbers_on_one_spot_share_a_chip() -> None:
    assert _runs(["2", "3", "11", "12", "13", "14", "7"]) == "2,3,7,11–14"
    chips = _chips([(10.0, 10.0, "1"), (11.0, 10.5, "2"), (60.0, 40.0, "3"),
                    (10.5, 10.0, "4")])
    assert sorted(c[2] for c in chips) == ["1,2,4", "3"]


def test_a_draft_says_so_on_every_page() -> None:
    doc = {**copy.deepcopy(DOC), "published": False}
    html = briefing_page(doc)
    assert html.count("DRAFT: not published") == html.count('<section class="crew')
    assert "DRAFT" not in briefing_page({**copy.deepcopy(DOC), "published": True})


def test_the_short_link_under_a_qr_code_keeps_its_code_whole() -> None:
    from maps.briefing import _link_lines

    assert _link_lines("https://h.example/f/ABCD2345") == {
        "link_host": "h.example", "link_path": "/f/ABCD2345"}
    # a service under a path: the path goes with the address, the code stays on its own
    assert _link_lines("https://h.example/hotspots/f/ABCD2345") == {
        "link_host": "h.example/hotspots", "link_path": "/f/ABCD2345"}
    # no short link (a plan stored before them): one line that may wrap
    assert _link_lines("https://h.example/field/0123456789abcdef?crew=Vehicle%201") == {
        "link_host": "h.example/field/0123456789abcdef?crew=Vehicle%201", "link_path": ""}
    assert _link_lines("") == {"link_host": "", "link_path": ""}


def _numbers(chip: str) -> list[int]:
    """The stop numbers a chip stands for ("2,3,7–9": 2, 3, 7, 8, 9)."""
    out: list[int] = []
    for part in chip.split(","):
        a, _, b = part.partition("–")
        out += list(range(int(a), int(b or a) + 1))
    return out


def test_a_chip_never_joins_stops_far_apart_on_the_page() -> None:
    # stops 3 mm apart in a row, 33 mm end to end: each overlaps the next one's chip, but a
    # chain of overlaps must not make one chip of them all
    points = [(20.0 + 3.0 * i, 30.0, str(i + 1)) for i in range(12)]
    chips = _chips(points)
    assert len(chips) > 1
    for x, y, text in chips:
        for n in _numbers(text):
            px, py, _ = points[n - 1]
            assert math.hypot(px - x, py - y) <= CHIP_JOIN_MM, (text, n)
    assert sorted(n for c in chips for n in _numbers(c[2])) == list(range(1, 13))


def _chip_boxes(svg: str) -> list[tuple[float, float, float, float, str]]:
    """Each chip's box (x0, y0, x1, y1 in mm, with its outline) and number."""
    return [(float(x) - 0.25, float(y) - 0.25, float(x) + float(w) + 0.25,
             float(y) + 5.2 + 0.25, text)
            for x, y, w, text in re.findall(
                r'<rect x="(-?[\d.]+)" y="(-?[\d.]+)" width="([\d.]+)" height="5.2" rx="2.6"'
                r'[^>]*/><text[^>]*>([^<]*)</text>', svg)]


def test_every_stop_prints_whole_inside_the_map() -> None:
    # a route from north to south on a low map: its box fills the map's height, and stops at
    # its ends sit on the top and bottom edges; a crew shuttling between two places east and
    # west has a wide chip of many numbers on the west edge
    north_south = _route("N-S", [_stop(0, "base", "Hub", -1.0, 54.0, "2024-06-14T16:00+01:00"),
                                 _stop(1, "hotspot", "North", -1.0, 54.3, "2024-06-14T17:00+01:00"),
                                 _stop(2, "hotspot", "South", -1.0, 53.95, "2024-06-14T18:00+01:00"),
                                 _stop(3, "base", "Hub", -1.0, 54.0, "2024-06-14T19:00+01:00")])
    shuttle = _route("E-W", [_stop(0, "base", "Hub", -1.1, 54.0, "2024-06-14T16:00+01:00"),
                             *(_stop(i, "hotspot", f"#{i}", -1.5 if i % 2 else -1.1, 54.0,
                                     "2024-06-14T17:00+01:00") for i in range(1, 14)),
                             _stop(14, "base", "Hub", -1.1, 54.0, "2024-06-14T19:00+01:00")])
    for route, height in ((north_south, 30.0), (shuttle, 60.0)):
        svg = crew_map(route, None, height_mm=height)
        boxes = _chip_boxes(svg)
        assert boxes, svg
        for x0, y0, x1, y1, text in boxes:
            assert x0 >= 0 and y0 >= 0 and x1 <= 190.0 and y1 <= height, (route["label"], text)
        legs = [tuple(map(float, xy)) for d in re.findall(r'<path (?:class="leg" )?d="([^"]+)" '
                                                          r'fill="none" stroke="#fff" '
                                                          r'stroke-width="2.2"', svg)
                for xy in re.findall(r"[ML](-?[\d.]+) (-?[\d.]+)", d)]
        assert legs and all(1.1 <= x <= 188.9 and 1.1 <= y <= height - 1.1 for x, y in legs)
    assert "1,3,5,7,9,11,13" in svg  # the revisits of the west place share their chip


def test_chips_too_close_to_share_one_move_apart() -> None:
    # stops 5 mm apart (too far to share a chip) with chips of several numbers: the later
    # chips move beside their stops, a line from each to a dot on its stop
    stops = [_stop(0, "base", "Hub", -1.30, 54.20, "2024-06-14T16:00+01:00")]
    for i in range(1, 13):
        lon = -1.30 + 0.01 * (i % 4)  # four places a little apart, each visited three times
        stops.append(_stop(i, "hotspot", f"#{i}", lon, 54.22, "2024-06-14T17:00+01:00"))
    stops.append(_stop(13, "base", "Hub", -1.30, 54.20, "2024-06-14T19:00+01:00"))
    svg = crew_map(_route("Close", stops), None, height_mm=60.0)
    boxes = _chip_boxes(svg)
    assert sorted(n for *_box, text in boxes for n in _numbers(text)) == list(range(1, 13))
    for a, b in itertools.combinations(boxes, 2):
        overlap_x = min(a[2], b[2]) - max(a[0], b[0])
        overlap_y = min(a[3], b[3]) - max(a[1], b[1])
        assert overlap_x <= 0.1 or overlap_y <= 0.1, (a, b)
    assert 'class="leader"' in svg


def test_the_basemap_covers_the_whole_map(monkeypatch: pytest.MonkeyPatch) -> None:
    # the page's map is 190 mm wide and as tall as the page leaves: its basemap is asked for
    # all the map shows, not only the route's own box (roads in a square in the middle)
    asked: list[tuple[float, float, float, float]] = []

    def features(store: object, bbox: tuple[float, float, float, float], zoom: int,
                 **kw: object) -> dict:
        asked.append(bbox)
        return {"type": "FeatureCollection", "features": []}

    monkeypatch.setattr(briefing_service, "basemap_features", features)
    doc = copy.deepcopy(DOC)
    extras = briefing_extras(None, doc, "https://h.example")  # type: ignore[arg-type]
    html = briefing_page(doc, **extras)
    height = float(re.findall(r'<svg class="crew-map" viewBox="0 0 190.0 ([\d.]+)"', html)[0])
    w, s, e, n = asked[0]
    assert (w, s, e, n) == asked[1]  # the roads, then the names, over the same box
    # a road from the box's north-west corner to its south-east one crosses the map from
    # corner to corner
    road = {"type": "Feature", "properties": {"layer": "road", "rank": 3, "name": ""},
            "geometry": {"type": "LineString", "coordinates": [[w, n], [e, s]]}}
    svg = crew_map(ROUTE, {"type": "FeatureCollection", "features": [road]}, height_mm=height)
    line = re.search(r'<path (?:class="road" )?d="M(-?[\d.]+) (-?[\d.]+)L(-?[\d.]+) '
                     r'(-?[\d.]+)" fill="none" stroke="#777"', svg)  # the road's casing
    assert line, svg
    x0, y0, x1, y1 = map(float, line.groups())
    assert max(abs(x0), abs(y0), abs(x1 - 190.0), abs(y1 - height)) <= 0.1, line.groups()


def test_busiest_is_the_place_s_busiest_hours_or_any_time() -> None:
    # stop 1's place has too few incidents with a time of day: its window is the whole shift;
    # stop 2's place is busy 17:00-18:00, cut in two for two visits (its window a half)
    doc = copy.deepcopy(DOC)
    route = doc["routes"][0]
    route["stops"][1]["hotspot_id"] = "h1"
    route["stops"][2].update(hotspot_id="h2", visit=1, visits=2,
                             windows=[["2024-06-14T17:00+01:00", "2024-06-14T17:25+01:00"]])
    route["stops"][2]["start"] = "2024-06-14T17:10+01:00"
    doc["hotspots"] = [
        {"hotspot_id": "h1", "profile_used": False,
         "peak_windows": [["2024-06-14T16:00+01:00", "2024-06-15T01:45+01:00"]]},
        {"hotspot_id": "h2", "profile_used": True,
         "peak_windows": [["2024-06-14T17:00+01:00", "2024-06-14T18:00+01:00"]]}]
    html = briefing_page(doc)
    cells = re.findall(r'<td class="window">([^<]*)</td>', html)
    assert cells[1:3] == ["any time", "17:00–18:00"], cells
    assert "16:00–01:45" not in html and "17:25" not in html
    footer = re.search(r"<footer>(.*?)</footer>", html, re.S)
    assert footer and "busiest hours within the shift, ending by 01:45" in footer.group(1)
    assert "any time: too few incidents" in footer.group(1)


def test_the_legend_says_where_advice_it_had_no_room_for_is() -> None:
    # thirty stops with eight categories of long advice: the map needs the room, so the legend
    # gives up the advice of the rarest categories, and says where to find it
    look = [{"category": f"c{i}", "label": f"Category {i}", "advice": "Long advice " * 12}
            for i in range(8)]
    stops = [_stop(0, "base", *BASE, "2024-06-14T16:00+01:00")]
    for i in range(1, 31):
        stops.append(_stop(i, "hotspot", f"#{i} Place", -1.30 + i / 1000, 54.2,
                           "2024-06-14T17:00+01:00", look_for=look[i % 8:i % 8 + 2]
                           if i > 8 else look[i - 1:i]))
    stops.append(_stop(31, "base", *BASE, "2024-06-14T23:00+01:00"))
    html = briefing_page({**copy.deepcopy(DOC), "routes": [_route("Busy", stops)]})
    given_up = re.search(r'<p class="given-up">What to do for ([A-H, ]+): in the field view',
                         html)
    assert given_up, html
    for key in given_up.group(1).split(", "):
        assert re.search(rf"<dt>{key} Category \d</dt>", html)  # named, without its advice
    assert '<p class="given-up">' not in briefing_page(copy.deepcopy(DOC))
