"""The briefing's structure: a page per crew, grid references, tick boxes, the map's parts,
escaped text, the look-for keys (the printed result is checked in tests/browser)."""

from __future__ import annotations

import copy
import itertools
import re

from api.services.briefing import add_grid_refs
from maps.briefing import briefing_page
from maps.crew_map import _chips, _runs, crew_map, route_bbox

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
