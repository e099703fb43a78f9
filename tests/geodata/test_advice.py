"""The prevention advice data file: every category of the taxonomy has advice (its own or its
priority's), every entry names its source, and a malformed file is refused naming the entry."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from geodata.advice import PreventionAdvice
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
