"""The retail partnership's pages, pure: the partners' form and the planner map's business
reports layer (data in, HTML out; text from data escaped)."""

from __future__ import annotations

import geopandas as gpd
import shapely

from api.services.hotspot_map import business_reports_url
from maps import PageOptions, hotspot_map_page
from maps.business_form import business_form_page


def _report(**change: object) -> dict:
    return {"report_id": "br_0123456789abcdef", "type": "shoplifting",
            "type_label": "Shoplifting", "occurred_at": "2026-11-20T14:30:00+00:00",
            "business": "Corner Shop", "value_pence": 1250,
            "place": {"lon": -1.54231, "lat": 54.00213, "x": 1.0, "y": 2.0}, **change}


def test_the_form_has_labelled_fields_and_escapes_what_it_lists() -> None:
    page = business_form_page(
        [_report(business='<img src=x onerror="alert(1)"> & Co', type_label="</td><b>")],
        count=3, types=[("shoplifting", "Shoplifting"), ("other", "Other <odd>")],
        who="<Shop>", note="Not police data & never counted")
    for field in ("br-when", "br-type", "br-lat", "br-lon", "br-gridref", "br-business",
                  "br-value", "br-description"):
        assert f'for="{field}"' in page and f'id="{field}"' in page
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt; &amp; Co" in page
    assert "<img" not in page and "<b>" not in page and "&lt;/td&gt;&lt;b&gt;" in page
    assert "Other &lt;odd&gt;" in page and "(signed in as &lt;Shop&gt;)" in page
    assert "£12.50" in page and "54.00213, -1.54231" in page
    assert "The latest 1 are listed." in page and 'id="br-count">3<' in page
    assert 'name="viewport"' in page and "Use my location" in page
    assert "http://" not in page and "https://" not in page  # nothing from elsewhere


def test_the_planner_map_reads_business_reports_apart_and_live() -> None:
    url = business_reports_url({"selection": {"from": "2024-07-01T00:00:00+01:00",
                                              "to": "2025-01-01T00:00:00+00:00"}})
    assert url == ("/v1/business-reports?from=2024-07-01T00%3A00%3A00%2B01%3A00&"
                   "to=2025-01-01T00%3A00%3A00%2B00%3A00&format=geojson&limit=5000")
    assert business_reports_url({}) == "/v1/business-reports?format=geojson&limit=5000"
    empty = gpd.GeoDataFrame({"rank": []}, geometry=gpd.GeoSeries([], crs="EPSG:27700"))
    layers = {"force_boundary": gpd.GeoDataFrame(
        {"name": ["F"]}, geometry=[shapely.box(400_000, 400_000, 420_000, 420_000)],
        crs="EPSG:27700")}
    page = hotspot_map_page(empty, layers, PageOptions(tiles_url=None,
                                                       business_reports_url=url))
    assert '"' + url.replace("&", "\\u0026") + '"' in page  # as a script string, escaped
    assert "not police-recorded crime" in page
    assert "Business reports" in page and ".textContent" in page and "innerHTML" not in page
    inline = hotspot_map_page(empty, layers, PageOptions(tiles_url=None, inline=True,
                                                         business_reports_url=url))
    assert "/v1/business-reports" not in inline  # a file opened from disk has no service
    assert "/v1/business-reports" not in hotspot_map_page(empty, layers,
                                                          PageOptions(tiles_url=None))
