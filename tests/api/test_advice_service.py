"""The composition of a place's advice (api.services.advice) on hand-made mixes: the main
categories (a tenth or more, the largest always), their advice for the chosen audience, a
priority mix's advice, the area and period in words, and the audience parameter."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from api.errors import InvalidInput
from api.services.advice import (
    area_words,
    category_advice,
    counted_words,
    months_words,
    parse_audience,
    period_words,
    priority_advice,
    product_leaflet,
    shown_count,
    shown_keys,
)
from geodata.advice import PreventionAdvice
from geodata.taxonomy import Taxonomy
from maps.leaflet import leaflet_html


def test_a_town_centre_of_shoplifting_gets_the_shop_advice_first() -> None:
    advice, taxonomy = PreventionAdvice.load(), Taxonomy.load()
    # 80 shoplifting, 15 ASB, 5 public order: public order is under a tenth, so not a main one
    got = category_advice(advice, taxonomy, {"shoplifting": 80, "asb": 15, "public_order": 5},
                          "town_centre")
    assert got.choice.audience == "businesses" and got.choice.because == "mix"
    shop = advice.categories["shoplifting"].businesses
    asb = advice.categories["asb"].businesses
    texts = [p.text for p in got.points]
    assert texts == [shop[0], asb[0], shop[1], asb[1], shop[2], shop[3]]
    assert advice.categories["public_order"].businesses[0] not in texts
    assert got.contact == advice.contact
    # the share is not printed exactly (the page may be saved or passed on)
    assert "more than half of what was recorded here is shoplifting." in got.reason(
        "town_centre", "shoplifting")
    assert "%" not in got.reason("town_centre", "shoplifting")


def test_a_rural_place_gets_farms_advice_and_the_rural_contact() -> None:
    advice, taxonomy = PreventionAdvice.load(), Taxonomy.load()
    got = category_advice(advice, taxonomy, {"asb": 3, "hare_coursing": 2}, "rural")
    assert got.choice.audience == "farms" and got.choice.because == "class"
    assert got.points[0].text == advice.categories["asb"].farms[0]
    assert got.points[1].text == advice.categories["hare_coursing"].farms[0]
    assert 4 <= len(got.points) <= 6
    assert "Rural Crime Team" in got.contact
    # asked for another audience: theirs, topped up from the general advice
    asked = category_advice(advice, taxonomy, {"hare_coursing": 2}, "rural", audience="heritage")
    assert asked.choice.because == "asked" and len(asked.points) == 4
    assert all(p.source == advice.general.source for p in asked.points)  # type: ignore[union-attr]


def test_a_published_hotspots_advice_comes_from_its_priorities(
        write: Callable[..., Path]) -> None:
    advice = PreventionAdvice.load()
    mix = {"theft_burglary_robbery": 9, "not broken down": 8}
    got = priority_advice(advice, mix, "town_centre")
    assert got.choice.audience == "businesses"
    assert [p.text for p in got.points] == list(
        advice.priorities["theft_burglary_robbery"].businesses[:6])
    # a force that leans a priority: more than half of the incidents decides
    path = write("advice.toml", "[audiences.by_priority]\nrural = 'farms'\n"
                                "[priority_advice.rural]\nsource = 'Ours'\n"
                                "farms = ['Lock the yard.']\n")
    own = PreventionAdvice.load(path)
    leaning = priority_advice(own, {"rural": 6, "asb": 4}, "heritage_site")
    assert leaning.choice.audience == "farms" and leaning.points[0].text == "Lock the yard."
    # the held-back part counts in the total, so it can keep a lean under half
    held = priority_advice(own, {"rural": 6, "not broken down": 7}, "heritage_site")
    assert held.choice.audience == "heritage"


@pytest.mark.parametrize(("place", "cls", "words"), [
    ("Thornbury", "town_centre", "Thornbury town centre"),
    ("Coldharbour", "rural", "The countryside around Coldharbour"),
    ("near Westerdale End", "rural", "The countryside near Westerdale End"),
    ("St Mary's Church, Ashby Moor", "heritage_site", "St Mary's Church, Ashby Moor"),
    ("Elmsford", "urban", "Elmsford"),
    (None, "urban", "Hotspot 7"),
    (float("nan"), "rural", "Hotspot 7"),
    ("  ", "urban", "Hotspot 7"),
])
def test_the_area_in_words(place: object, cls: str, words: str) -> None:
    assert area_words(place, cls, fallback="Hotspot 7") == words


def test_months_in_words_and_the_audience_parameter() -> None:
    assert months_words("2024-06", "2024-06") == "June 2024"
    assert months_words("2024-01", "2024-06") == "January to June 2024"
    assert months_words("2023-11", "2024-02") == "November 2023 to February 2024"
    assert months_words(None, "2024-02") == "the period analysed"
    assert parse_audience(None) is None and parse_audience(" ") is None
    assert parse_audience("Farms") == "farms"
    with pytest.raises(InvalidInput) as caught:
        parse_audience("<b>shops</b>")
    assert caught.value.field == "audience"


@pytest.mark.parametrize(("n", "least", "words"), [
    (1, 5, "fewer than 5"), (4, 5, "fewer than 5"), (5, 5, "about 5"), (7, 5, "about 5"),
    (8, 5, "about 10"), (12, 5, "about 10"), (13, 5, "about 15"), (97, 5, "about 95"),
    (98, 5, "about 100"), (104, 5, "about 100"), (105, 5, "about 110"),
    (1234, 5, "about 1,230"), (9, 10, "fewer than 10"), (2, 2, "fewer than 5"),
])
def test_a_leaflets_counts_hold_back_small_ones_and_round_the_rest(n: int, least: int,
                                                                   words: str) -> None:
    assert shown_count(n, least) == words


def test_overlapping_selections_cannot_be_subtracted_to_a_small_count() -> None:
    # a hotspot of 40 and the same with one more incident (a victim's): the leaflets agree
    assert shown_count(40, 5) == shown_count(41, 5) == "about 40"
    assert shown_count(250, 5) == shown_count(251, 5) == shown_count(254, 5) == "about 250"


def test_a_small_category_is_named_only_when_it_is_the_only_one() -> None:
    assert shown_keys({"shoplifting": 40, "violence_sexual": 4}, 5) == ["shoplifting"]
    assert shown_keys({"hare_coursing": 1}, 5) == []  # never named alone either
    assert shown_keys({"poaching": 4, "hare_coursing": 3}, 5) == []
    assert shown_keys({"asb": 9, "not broken down": 30}, 5) == ["asb"]
    advice, taxonomy = PreventionAdvice.load(), Taxonomy.load()
    # the small category gives no advice of its own (its steps could name it)
    got = category_advice(advice, taxonomy, {"shoplifting": 40, "vehicle_crime": 4},
                          "town_centre", min_count=5)
    assert not {p.text for p in got.points} & set(advice.categories["vehicle_crime"].businesses)
    assert got.points[0].text == advice.categories["shoplifting"].businesses[0]
    # none named: the largest ones' priority speaks
    farm = category_advice(advice, taxonomy, {"poaching": 4, "hare_coursing": 3}, "rural",
                           min_count=5)
    assert farm.points[0].text == advice.priorities["rural"].farms[0]


def test_what_was_counted_and_when_follow_the_selection() -> None:
    taxonomy = Taxonomy.load()
    assert counted_words(taxonomy, None) == ("crime or incident of anti-social behaviour",
                                             "crimes and incidents of anti-social behaviour")
    assert counted_words(taxonomy, ["violence_sexual"]) == ("crime", "crimes")
    assert counted_words(taxonomy, ["asb", "fly_tipping"])[1] == (
        "incidents of anti-social behaviour")
    assert counted_words(taxonomy, ["asb", "shoplifting"])[1] == (
        "crimes and incidents of anti-social behaviour")
    sel = {"from": "2024-12-24T00:00:00+00:00", "to": "2024-12-27T00:00:00+00:00"}
    assert period_words(sel, {}) == "24 to 26 December 2024"
    assert period_words({"from": "2024-12-24T00:00:00+00:00",
                         "to": "2024-12-25T00:00:00+00:00"}, {}) == "24 December 2024"
    assert period_words({"from": "2024-11-30T00:00:00+00:00",
                         "to": "2025-01-03T00:00:00+00:00"}, {}) == (
        "30 November 2024 to 2 January 2025")
    assert period_words({"from": "2024-06-01T00:00:00+01:00",
                         "to": "2024-07-01T00:00:00+01:00"}, {}) == "June 2024"
    assert period_words({"from": "2024-01-01T00:00:00+00:00",
                         "to": "2024-07-01T00:00:00+01:00"}, {}) == "January to June 2024"
    assert period_words({}, {"first_date": "2024-03-02", "last_date": "2024-05-30"}) == (
        "March to May 2024")


def test_a_published_hotspot_not_broken_down_says_so_in_one_line() -> None:
    # finding F5: the busiest hotspots' mix is all held back; no made-up category "(250)"
    advice, taxonomy = PreventionAdvice.load(), Taxonomy.load()
    props = {"rank": 1, "place": "Thornbury", "context_class": "town_centre", "incidents": 250,
             "category_mix": {"not broken down": 250}}
    data = product_leaflet(props, {"months": ["2024-12"]}, advice, taxonomy, audience=None,
                           href="/products/2024-12/hotspots/1/leaflet")
    assert data.categories == [] and data.incidents == 250  # the published count, as published
    assert data.mix_note.startswith("Not broken down by kind")
    assert data.audience_label == "Businesses"  # from the class
    assert data.reason == ("This leaflet is for businesses: this is a town centre (what was "
                           "recorded here is not broken down by kind, so the setting decides).")
    page = leaflet_html(data)
    assert "mainly" not in page and "(250)" not in page
    # partly broken down: the priorities, then the held-back part, as before
    props["category_mix"] = {"theft_burglary_robbery": 150, "not broken down": 100}
    part = product_leaflet(props, {"months": ["2024-12"]}, advice, taxonomy, audience=None,
                           href="/x")
    assert part.categories[0] == ("Theft, burglary and robbery", 150) and not part.mix_note
