"""The products page names its periods in words ("December 2024"), as every other page does."""

from __future__ import annotations

from maps.products import period_words, products_page


def test_periods_in_words() -> None:
    assert period_words("2024-12") == "December 2024"
    assert period_words("2024-01") == "January 2024"
    assert period_words("2024-Q2") == "April to June 2024"
    assert period_words("2024-Q4") == "October to December 2024"
    assert period_words("2024-13") == "2024-13" and period_words(None) == ""


def test_the_page_heads_the_latest_product_in_words_and_keeps_its_code_in_links() -> None:
    product = {"period": "2024-Q3", "published_at": "2024-10-02T09:00:00+00:00",
               "summary": {"squares": 1234, "hotspots": 7}}
    page = products_page([product], [], latest="2024-Q3", labels={}, note="n", grid_m=250,
                         attribution="a")
    assert "The busiest hotspots of July to September 2024" in page
    assert '<td class="when">July to September 2024</td>' in page
    assert "/v1/products/2024-Q3?format=csv" in page and "1,234" in page


def test_a_held_back_share_is_not_called_a_small_count() -> None:
    # Thornbury's 245 incidents, every priority held back: 245 is not a "small count"
    hotspot = {"rank": 1, "place": "Thornbury", "context_class": "town_centre", "incidents": 245,
               "category_mix": {"not broken down": 245}, "trend": "flat",
               "previous_incidents": 282, "area_m2": 250_000.0}
    product = {"period": "2024-12", "published_at": "2025-01-02T09:00:00+00:00",
               "summary": {"squares": 10, "hotspots": 1}}
    page = products_page([product], [hotspot], latest="2024-12", labels={}, note="n",
                         grid_m=250, attribution="a")
    # every priority held back: said in words, not as a count that reads like an error
    assert "Only the total is published: some priorities have small counts" in page
    assert "(small counts): 245" not in page and "not broken down" not in page
    # part held back: the rest named, the held-back part counted
    hotspot["category_mix"] = {"theft_burglary_robbery": 8, "not broken down": 26}
    page = products_page([product], [hotspot], latest="2024-12",
                         labels={"theft_burglary_robbery": "Theft, burglary and robbery"},
                         note="n", grid_m=250, attribution="a")
    assert ("Theft, burglary and robbery: 8; not broken down (held back to protect small "
            "counts): 26") in page
