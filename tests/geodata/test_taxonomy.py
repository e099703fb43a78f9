"""The taxonomy data file: every data.police.uk type and the local rural and ASB types."""

from __future__ import annotations

import numpy as np
import pytest

from geodata.errors import InvalidTaxonomy
from geodata.taxonomy import Taxonomy, normalise_type

POLICE_TYPES = [
    "Anti-social behaviour", "Bicycle theft", "Burglary", "Criminal damage and arson", "Drugs",
    "Other crime", "Other theft", "Possession of weapons", "Public order", "Robbery",
    "Shoplifting", "Theft from the person", "Vehicle crime", "Violence and sexual offences",
]


@pytest.fixture(scope="module")
def tax() -> Taxonomy:
    return Taxonomy.load()


@pytest.mark.parametrize("crime_type", POLICE_TYPES)
def test_every_police_uk_type_is_mapped(tax: Taxonomy, crime_type: str):
    key = tax.lookup(crime_type)
    assert key is not None and key != "other"


@pytest.mark.parametrize(
    ("crime_type", "priority", "group"),
    [
        ("Agricultural theft", "rural", "agricultural"),
        ("Plant and machinery theft", "rural", "agricultural"),
        ("Livestock theft", "rural", "agricultural"),
        ("Fuel theft", "rural", "agricultural"),
        ("Wildlife crime", "rural", "wildlife"),
        ("Heritage crime", "rural", "heritage"),
        ("Hare coursing", "rural", "wildlife"),
        ("Poaching", "rural", "wildlife"),
        ("Fly-tipping", "asb", "fly_tipping"),
        ("Anti-social behaviour", "asb", "asb"),
        ("Shoplifting", "theft_burglary_robbery", "retail"),
        ("Burglary - residential", "theft_burglary_robbery", "residential_burglary"),
        ("Vehicle crime", "theft_burglary_robbery", "vehicle_crime"),
        ("County lines", "serious_organised", "organised_crime"),
        ("Violence and sexual offences", "other", "violence"),
    ],
)
def test_local_types_reach_the_plan_priorities(tax: Taxonomy, crime_type: str, priority: str,
                                                group: str):
    cat = tax.categories[tax.lookup(crime_type) or ""]
    assert (cat.priority, cat.group) == (priority, group)


def test_matching_ignores_case_spacing_and_punctuation(tax: Taxonomy):
    assert tax.lookup("anti-social-behaviour") == tax.lookup(" ANTI SOCIAL  behaviour ") == "asb"
    assert tax.lookup("violent-crime") == "violence_sexual"  # data.police.uk API slug
    assert normalise_type("Fly-tipping!") == "fly tipping"


def test_map_types_marks_unknown_and_blank(tax: Taxonomy):
    keys, known, blank = tax.map_types(np.array(["Burglary", "Wombat theft", " "], dtype=object))
    assert list(keys) == ["burglary", None, None]
    assert list(known) == [True, False, False]
    assert list(blank) == [False, False, True]


def test_priority_expansion(tax: Taxonomy):
    rural = set(tax.categories_for("rural"))
    assert {"agricultural_theft", "hare_coursing", "heritage_crime", "poaching"} <= rural


def test_a_force_can_edit_its_own_file(tmp_path):
    own = tmp_path / "tax.toml"
    own.write_text("""
[priorities]
rural = "Rural"
other = "Other"
[categories.sheep_rustling]
priority = "rural"
source_types = ["Sheep rustling"]
[categories.other]
priority = "other"
""")
    tax = Taxonomy.load(own)
    assert tax.lookup("Sheep Rustling") == "sheep_rustling"
    assert tax.lookup("Burglary") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[priorities]\nx='y'\n[categories.a]\npriority='x'\n", "needs a category named 'other'"),
        ("[priorities]\nx='y'\n[categories.other]\npriority='nope'\n", "names priority 'nope'"),
        ("[categories.other]\npriority='x'\n", "needs \\[priorities\\]"),
        ("[priorities\n", "not valid TOML"),
        ("[priorities]\nx='y'\n[categories.other]\npriority='x'\n[categories.b]\npriority='x'\n"
         "source_types=['Other']\n", "claimed by both"),
    ],
)
def test_a_broken_taxonomy_file_is_named(tmp_path, text: str, message: str):
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    with pytest.raises(InvalidTaxonomy, match=message):
        Taxonomy.load(bad)
