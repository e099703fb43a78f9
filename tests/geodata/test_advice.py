"""The prevention advice data file: every category of the taxonomy has advice (its own or its
priority's), every entry names its source, and a malformed file is refused naming the file, the
line and the entry; whose advice a place gets (the pure choice of audience) and its steps."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from geodata.advice import (
    AUDIENCES,
    MAX_POINTS,
    MIN_POINTS,
    Advice,
    PreventionAdvice,
    advice_points,
    choose_audience,
)
from geodata.errors import InvalidAdvice
from geodata.taxonomy import Taxonomy


def test_the_packaged_advice_covers_every_category() -> None:
    advice = PreventionAdvice.load()
    taxonomy = Taxonomy.load()
    assert advice.from_memory and "memory" in advice.note  # said on the page
    for key, cat in taxonomy.categories.items():
        entry = advice.for_category(key, cat.priority)
        assert entry is not None, key
        assert entry.source.strip() and entry.by_audience(), key
    rural = advice.for_category("hare_coursing")
    assert rural is not None and "NFU Mutual" in rural.source and rural.farms
    heritage = advice.for_category("heritage_crime")
    assert heritage is not None and "Historic England" in heritage.source
    assert set(advice.categories) <= set(taxonomy.categories)  # no entry for a stray key


def test_a_category_without_advice_falls_back_to_its_priority() -> None:
    advice = PreventionAdvice.load()
    own = advice.for_category("other_crime", "other")
    assert own is not None and own is advice.priorities["other"]
    assert advice.for_category("no_such_category") is None


@pytest.mark.parametrize(("text", "words"), [
    ("[advice.x]\nresidents = ['a']\n", "[advice.x] needs a source"),
    ("[advice.x]\nsource = 'S'\nfarms = 'lock gates'\n", "farms must be a list"),
    ("[advice.x]\nsource = 'S'\nshops = ['a']\n", "unknown field 'shops'"),
    ("advice = 3\n", "[advice] must be a table"),
    ("[advice.x\n", "not valid TOML"),
])
def test_a_malformed_file_is_refused_naming_the_entry(write: Callable[..., Path], text: str,
                                                      words: str) -> None:
    path = write("advice.toml", text)
    with pytest.raises(InvalidAdvice) as caught:
        PreventionAdvice.load(path)
    assert words in str(caught.value) and str(path) in str(caught.value)


def test_a_forces_own_file(write: Callable[..., Path]) -> None:
    path = write("advice.toml", "[advice.shoplifting]\nsource = 'Our leaflet'\n"
                                "businesses = ['Join ShopWatch.', ' ']\n")
    advice = PreventionAdvice.load(path)
    entry = advice.for_category("shoplifting")
    assert entry is not None and entry.businesses == ("Join ShopWatch.",)
    assert entry.by_audience() == [("businesses", ("Join ShopWatch.",))]
    assert not advice.from_memory
    with pytest.raises(InvalidAdvice, match="cannot read"):
        PreventionAdvice.load(path.with_name("missing.toml"))


# --- audiences (scope 6 of issue 16) ---------------------------------------------------------

CLASSES = {"town_centre": "businesses", "rural": "farms", "heritage_site": "heritage",
           "urban": "residents"}
LEANS = {"shoplifting": "businesses", "business_burglary": "businesses",
         "residential_burglary": "residents", "hare_coursing": "farms",
         "heritage_crime": "heritage"}


@pytest.mark.parametrize(("cls", "mix", "audience", "because"), [
    # the class decides when no audience holds more than half of the incidents
    ("town_centre", {"asb": 6, "shoplifting": 4}, "businesses", "class"),
    ("rural", {"asb": 5, "vehicle_crime": 5}, "farms", "class"),
    ("heritage_site", {"criminal_damage_arson": 3, "heritage_crime": 3}, "heritage", "class"),
    ("urban", {"violence_sexual": 9}, "residents", "class"),
    # more than half leans to one audience: theirs, whatever the class
    ("urban", {"shoplifting": 7, "asb": 3}, "businesses", "mix"),      # a retail park
    ("rural", {"residential_burglary": 6, "asb": 4}, "residents", "mix"),  # a village
    ("town_centre", {"heritage_crime": 3, "asb": 2}, "heritage", "mix"),
    ("urban", {"shoplifting": 4, "business_burglary": 2, "asb": 5}, "businesses", "mix"),
    # exactly half is not more than half: the class
    ("urban", {"shoplifting": 5, "asb": 5}, "residents", "class"),
    # no class known, nothing leaning: residents
    (None, {"asb": 3}, "residents", "default"),
    ("somewhere_else", {}, "residents", "default"),
    # counts of zero or less lean nowhere and count nowhere
    ("rural", {"shoplifting": 0, "asb": -3}, "farms", "class"),
])
def test_the_audience_comes_from_the_class_unless_the_mix_leans_one_way(
        cls: str | None, mix: dict[str, int], audience: str, because: str) -> None:
    choice = choose_audience(cls, mix, by_class=CLASSES, leans=LEANS)
    assert (choice.audience, choice.because) == (audience, because)


def test_the_share_that_made_the_choice_is_said() -> None:
    choice = choose_audience("urban", {"shoplifting": 7, "asb": 3}, by_class=CLASSES,
                             leans=LEANS)
    assert choice.share == 0.7
    # two audiences each over the threshold cannot happen; a tie below it is the class's
    tie = choose_audience("heritage_site", {"shoplifting": 4, "hare_coursing": 4, "asb": 2},
                          by_class=CLASSES, leans=LEANS)
    assert tie.audience == "heritage" and tie.because == "class"
    # a lower threshold: a tie goes to the first audience in AUDIENCES order
    low = choose_audience("heritage_site", {"shoplifting": 4, "hare_coursing": 4, "asb": 2},
                          by_class=CLASSES, leans=LEANS, majority=0.3)
    assert low.audience == "businesses" and low.share == 0.4
    with pytest.raises(ValueError, match="majority"):
        choose_audience("urban", {}, by_class=CLASSES, leans=LEANS, majority=1.0)


def test_advice_points_take_each_main_category_in_turn_and_top_up() -> None:
    a = Advice("a", "S1", residents=("Lock up.", "Light up.", "Mark it."))
    b = Advice("b", "S2", residents=("lock up.", "Join a watch."), farms=("Gate it.",))
    general = Advice("general", "G", residents=("Report it.", "Know the neighbours."),
                     farms=("Farm Watch.", "Mark kit.", "Lock kit.", "Report it."))
    got = advice_points([a, b], "residents", general=general)
    # round robin: a1, b1 (the same as a1 but for case: dropped), a2, b2, a3; 4 already: no top-up
    assert [(p.text, p.source) for p in got] == [
        ("Lock up.", "S1"), ("Light up.", "S1"), ("Join a watch.", "S2"), ("Mark it.", "S1")]
    farms = advice_points([a, b], "farms", general=general)
    assert [p.text for p in farms] == ["Gate it.", "Farm Watch.", "Mark kit.", "Lock kit."]
    assert farms[1].source == "G"
    assert len(advice_points([a, b], "residents", most=2)) == 2
    assert advice_points([], "heritage") == []
    with pytest.raises(ValueError, match="audience"):
        advice_points([a], "shops")


def test_the_packaged_file_gives_every_audience_four_to_six_steps_anywhere() -> None:
    advice = PreventionAdvice.load()
    taxonomy = Taxonomy.load()
    assert set(advice.by_class) == {"town_centre", "rural", "heritage_site", "urban"}
    assert advice.by_class["heritage_site"] == "heritage"
    assert set(advice.by_category) <= set(taxonomy.categories)
    assert set(advice.by_priority) <= set(taxonomy.priorities)
    assert advice.general is not None
    for audience in AUDIENCES:
        assert len(advice.general.steps_for(audience)) >= MIN_POINTS, audience
        assert "999" in advice.contact_for(audience) and "101" in advice.contact_for(audience)
        for key, cat in taxonomy.categories.items():
            entry = advice.for_category(key, cat.priority)
            assert entry is not None
            points = advice_points([entry], audience, general=advice.general)
            assert MIN_POINTS <= len(points) <= MAX_POINTS, (key, audience)
        for key in taxonomy.priorities:
            assert key in advice.priorities, key
    heritage = advice.for_category("heritage_crime")
    assert heritage is not None and len(heritage.heritage) >= MIN_POINTS
    assert "memory" in advice.note and advice.from_memory


def test_a_forces_own_contact_and_audiences(write: Callable[..., Path]) -> None:
    path = write("advice.toml", "contact = 'Ring the front desk.'\n"
                                "[contact_by_audience]\nfarms = 'Ring the Rural Crime Team.'\n"
                                "[audiences.by_class]\nurban = 'businesses'\n"
                                "[audiences.by_category]\nasb = 'residents'\n")
    advice = PreventionAdvice.load(path)
    assert advice.contact_for("residents") == "Ring the front desk."
    assert advice.contact_for("farms") == "Ring the Rural Crime Team."
    assert advice.by_class == {"urban": "businesses"} and advice.by_category == {"asb": "residents"}
    bare = PreventionAdvice.load(write("bare.toml", "version = 1\n"))
    assert bare.by_class["town_centre"] == "businesses" and "999" in bare.contact


@pytest.mark.parametrize(("text", "line", "words"), [
    ("version = 1\n\n[advice.a]\nsource = 'S'\n\n[advice.x]\nresidents = ['a']\n", 6,
     "[advice.x] needs a source"),
    ("[advice.x]\nsource = 'S'\n\nfarms = 'lock gates'\n", 1, "farms must be a list"),
    ("version = 1\n[audiences.by_class]\nurban = 'residents'\nrural = 'farmers'\n", 4,
     "rural = 'farmers' is not an audience"),
    ("version = 1\n[audiences]\nby_town = {}\n", 3, "unknown table 'by_town'"),
    ("version = 1\n\n\n[advise.x]\nsource = 'S'\n", 4, "unknown table or field 'advise'"),
    ("version = 1\ncontact = ''\n", 2, "contact must be a line of text"),
    ("[contact_by_audience]\nshops = 'ring'\n", 2, "'shops' is not an audience"),
    ("[general_advice]\nresidents = ['a']\n", 1, "[general_advice] needs a source"),
    ("version = 1\n[advice.x\n", 2, "not valid TOML"),
    # longer than a one-page leaflet holds
    ("version = 1\n[advice.x]\nsource = 'S'\nfarms = ['" + "a" * 161 + "']\n", 2,
     "farms: a step of 161 characters"),
    ("version = 1\ncontact = '" + "c" * 241 + "'\n", 2, "contact is 241 characters"),
])
def test_a_malformed_file_is_refused_naming_the_file_and_line(
        write: Callable[..., Path], text: str, line: int, words: str) -> None:
    path = write("advice.toml", text)
    with pytest.raises(InvalidAdvice) as caught:
        PreventionAdvice.load(path)
    message = str(caught.value)
    assert str(path) in message and words in message, message
    assert f"line {line}" in message, message
