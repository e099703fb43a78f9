"""The printable leaflet and the products page's advice: every string from data escaped, the
parts a leaflet must have (the area in words, the main categories, the steps in order, who to
contact, where it all comes from), and no script."""

from __future__ import annotations

import re
from dataclasses import replace

from markupsafe import escape

from maps.leaflet import LeafletData, leaflet_html, towns_html
from maps.products import products_page

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>&amp;"\'</style>'


def _data(text: str = "Lock the door.", **changes: object) -> LeafletData:
    base = LeafletData(
        area="Thornbury town centre", audience_label="Businesses",
        period="January to June 2024", incidents=1234,
        categories=[("Shoplifting", 800), ("Anti-social behaviour", 200)],
        points=[(f"{text} {i}", f"Source {i % 2}") for i in range(5)],
        contact="Call 101.", note="From memory.", attribution="OGL v3.0.",
        made_from="Made from hotspot dbscan-001.", reason="This leaflet is for businesses.",
        others=[("residents", "/hotspots/dbscan-001/leaflet?method=dbscan&audience=residents")],
        back=("Back", "/hotspots/dbscan-001?method=dbscan"))
    return replace(base, **changes)  # type: ignore[arg-type]


def test_a_leaflet_has_its_parts_in_order() -> None:
    page = leaflet_html(_data())
    assert "<script" not in page  # no script at all
    assert "Crime prevention advice for businesses" in page
    assert "<h1>Thornbury town centre</h1>" in page
    assert "From January to June 2024 the police" in page and "1,234" in page
    assert "<li>Shoplifting (800)</li>" in page
    steps = re.findall(r"<li>(Lock the door\. \d)</li>", page)
    assert steps == [f"Lock the door. {i}" for i in range(5)]
    # who to contact comes after the steps; the sources, once each, in the footer
    assert page.index("Lock the door. 4") < page.index("Who to contact") < page.index("Call 101.")
    assert "Advice follows: Source 0; Source 1. From memory." in page
    assert "OGL v3.0." in page and "Made from hotspot dbscan-001." in page
    assert "@page { size: A4 portrait" in page
    # the links of the screen bar keep their query, escaped for the attribute
    assert 'href="/hotspots/dbscan-001/leaflet?method=dbscan&amp;audience=residents"' in page


def test_a_single_month_and_no_incidents_read_well() -> None:
    page = leaflet_html(_data(period="June 2024", incidents=0, categories=[]))
    assert "In June 2024 the police" in page and "recorded no crimes" in page


def test_every_string_from_data_is_escaped_on_a_leaflet() -> None:
    data = _data(text=HOSTILE, area=HOSTILE, audience_label=HOSTILE, period=HOSTILE,
                 categories=[(HOSTILE, 3)], points=[(HOSTILE, HOSTILE)] * 4, contact=HOSTILE,
                 note=HOSTILE, attribution=HOSTILE, made_from=HOSTILE, reason=HOSTILE,
                 others=[(HOSTILE, HOSTILE)], back=(HOSTILE, HOSTILE), counted=HOSTILE)
    page = leaflet_html(data, who=HOSTILE)
    assert "<script" not in page and "<img" not in page and "</style>" not in page.split(
        "</head>")[1]
    assert str(escape(HOSTILE)) in page
    assert page.count("<style>") == 1  # the data's "</style>" cannot close the style sheet


def test_the_towns_list_links_each_town_escaped() -> None:
    page = towns_html(["Ashby Moor", HOSTILE])
    assert 'href="/leaflets/towns/Ashby%20Moor"' in page
    assert 'href="/leaflets/towns/Ashby%20Moor?audience=businesses"' in page
    assert "<script" not in page and "<img" not in page
    assert "No town centres" in towns_html([])


def test_the_products_page_shows_each_hotspots_advice_escaped() -> None:
    hotspot = {"rank": 1, "place": "Thornbury", "context_class": "town_centre",
               "incidents": 20, "category_mix": {"asb": 7, "not broken down": 13},
               "trend": "unknown", "previous_incidents": None, "area_m2": 120_000.0}
    product = {"period": "2024-06", "published_at": "2024-07-02T09:00:00+00:00",
               "summary": {"squares": 4, "hotspots": 1}}
    advice = {"audience_label": "Businesses", "points": ["Light entrances.", HOSTILE],
              "contact": HOSTILE}
    page = products_page([product], [hotspot], latest="2024-06", labels={}, note="n",
                         grid_m=250, attribution="a", advice=[advice], advice_note=HOSTILE)
    assert "For businesses (2 steps)" in page and "<li>Light entrances.</li>" in page
    assert 'href="/products/2024-06/hotspots/1/leaflet"' in page
    assert "<script" not in page and "<img" not in page
    assert page.count(str(escape(HOSTILE))) == 3
    # without advice the page is as before
    assert "Printable leaflet" not in products_page(
        [product], [hotspot], latest="2024-06", labels={}, note="n", grid_m=250,
        attribution="a")


def test_a_count_of_one_is_singular_and_counts_in_words_print_as_given() -> None:
    one = leaflet_html(_data(period="June 2024", incidents=1, categories=[("Shoplifting", 1)],
                             counted="crimes", counted_one="crime"))
    assert "recorded 1 crime in this\narea" in one and "1 crimes" not in one
    held = leaflet_html(_data(period="24 December 2024", incidents="fewer than 5",
                              categories=[], counted="crimes", counted_one="crime",
                              mix_note="Of several kinds, none with 5 or more.",
                              counts_note="Counts under 5 are shown as fewer than 5."))
    assert "On 24 December 2024 the police\nrecorded fewer than 5 crimes in this\narea." in held
    assert '<p class="recorded mix">Of several kinds, none with 5 or more.</p>' in held
    assert 'class="cats"' not in held  # no list without categories
    assert "<p>Counts under 5 are shown as fewer than 5.</p></footer>" in held
    rounded = leaflet_html(_data(incidents="about 250", categories=[("Shoplifting", "about 200")]))
    assert "recorded about 250 crimes and incidents" in rounded
    assert "<li>Shoplifting (about 200)</li>" in rounded

