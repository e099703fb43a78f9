"""The persistent ASB page and the planner's overlay as HTML (maps.asb_page, maps.asb_layer):
the month strip drawn by hand count, data text escaped, the overlay in the planner's page."""

from __future__ import annotations

import re

import geopandas as gpd
from shapely.geometry import box

from maps.asb_page import asb_page_html, month_strip
from maps.hotspot_map import PageOptions, hotspot_map_page

ANSWER = {
    "end": "2024-03", "months": ["2024-01", "2024-02", "2024-03"],
    "parameters": {"months": 3, "min_months": 2, "radius_m": 250.0, "address_m": 5.0,
                   "categories": ["asb"]},
    "places_with_asb": 2, "asb_incidents": 5, "persistent": 1,
    "places": [{"rank": 1, "place_id": "460000-451000", "location": "<script>alert(1)</script>",
                "kind": "map_point", "lon": -1.08, "lat": 53.96, "x": 460000.0, "y": 451000.0,
                "months_with_asb": 2, "asb_incidents": 4, "first_month": "2024-01",
                "last_month": "2024-03", "longest_run": 1,
                "history": {"2024-01": 3, "2024-02": 0, "2024-03": 1},
                "nearby": [], "incidents_nearby": 9,
                "category_mix": [{"category": "asb", "label": "Anti-social behaviour",
                                  "incidents": 5},
                                 {"category": "drugs", "label": "Drugs", "incidents": 4}]}],
    "data_version": "v1", "crs": "EPSG:27700", "attribution": "Contains OGL data.",
    "privacy": "Staff only.", "reading": "1 place had anti-social behaviour ...",
}


def test_month_strip_by_hand() -> None:
    svg = month_strip({"2024-01": 3, "2024-02": 0, "2024-03": 1}, bar_px=7, height_px=30)
    bars = re.findall(r'<rect class="(on|off)" x="(\d+)" y="(\d+)" width="7" height="(\d+)">',
                      svg)
    # 3 is the busiest month: full height; 1 is a third; none is a 2 px tick
    assert bars == [("on", "0", "0", "30"), ("off", "9", "28", "2"), ("on", "18", "20", "10")]
    assert "<title>Feb 2024: 0 ASB incidents</title>" in svg
    assert 'aria-label="ASB in 2 of 3 months, Jan 2024 to Mar 2024"' in svg


def test_the_page_escapes_data_text() -> None:
    page = asb_page_html(ANSWER, nav="<nav></nav>", csv_url="/v1/asb/persistent?format=csv",
                         geojson_url="/v1/asb/persistent?format=geojson")
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "\\u003cscript>alert(1)\\u003c/script>" in page  # in the map's JSON, inert
    assert page.count('<tr id="place-') == 1
    assert 'href="/v1/asb/persistent?format=csv"' in page
    assert "Anti-social behaviour</span> <b>5</b>" in page


def test_the_planner_page_carries_the_overlay() -> None:
    hotspots = gpd.GeoDataFrame(
        {"id": ["h1"], "rank": [1], "context_class": ["urban"], "incidents": [10],
         "persistent_asb": ["1 persistent ASB place here: #1 High St (2 of 3 months)"]},
        geometry=[box(459_900, 450_900, 460_100, 451_100)], crs="EPSG:27700")
    overlay = {"places": {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-1.08, 53.96]},
         "properties": {"rank": 1, "place_id": "460000-451000", "location": "</script><b>",
                        "months_with_asb": 2, "asb_incidents": 4}}]},
        "months": 3, "min_months": 2}
    page = hotspot_map_page(hotspots, {}, PageOptions(tiles_url=None, persistent_asb=overlay))
    assert "hs-asb-place" in page and '"/asb"' in page
    assert "</script><b>" not in page  # the description is JSON-escaped in the script
    assert "1 persistent ASB place here" in page
    without = hotspot_map_page(hotspots, {}, PageOptions(tiles_url=None))
    assert "hs-asb-place" not in without
