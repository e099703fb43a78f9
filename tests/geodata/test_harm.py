"""Harm weights: the built-in (approximate) table, force CCHI tables, and weights per incident."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geodata.errors import InvalidHarmTable
from geodata.harm import BUILTIN_ORIGIN, HarmTable
from geodata.taxonomy import OTHER, Taxonomy

POLICE_TYPES = [
    "Anti-social behaviour", "Bicycle theft", "Burglary", "Criminal damage and arson", "Drugs",
    "Other crime", "Other theft", "Possession of weapons", "Public order", "Robbery",
    "Shoplifting", "Theft from the person", "Vehicle crime", "Violence and sexual offences",
]

FORCE_CSV = """code,name,harm_days,source
028/01,Burglary - residential,40,Force CCHI table 2023
034/01,Robbery of personal property,365,Force CCHI table 2023
046/00,Theft from shops and stalls,1,Force CCHI table 2023
"""


@pytest.fixture(scope="module")
def builtin() -> HarmTable:
    return HarmTable.builtin()


def write(tmp_path: Path, text: str, name: str = "cchi.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# -- the built-in table ---------------------------------------------------------------------------


@pytest.mark.parametrize("crime_type", POLICE_TYPES)
def test_builtin_weighs_every_police_uk_type_by_name(builtin: HarmTable, crime_type: str):
    found = builtin.lookup(crime_type=crime_type)
    assert found is not None
    row, approximate = found
    assert row.harm_days > 0 and approximate


def test_builtin_weighs_every_taxonomy_category_but_other(builtin: HarmTable):
    tax = Taxonomy.load()
    for key in tax.categories:
        found = builtin.lookup(category=key)
        assert (found is None) == (key == OTHER), key


def test_every_builtin_row_states_a_source_and_is_approximate(builtin: HarmTable):
    rows = builtin.describe()
    assert len(rows) == len(builtin.rows) >= 14 + 9  # police.uk types, rural types, fly-tipping
    for row in rows:
        assert row["approximate"] is True and row["table"] == "built-in"
        source = str(row["source"])
        assert "approximate" in source.casefold()
        assert source.startswith(("CCHI rule (Sherman, Neyroud & Neyroud 2016)", "Nominal"))
    assert builtin.origin == BUILTIN_ORIGIN


def test_builtin_orders_robbery_above_burglary_above_shoplifting_above_asb(builtin: HarmTable):
    w = builtin.weights(["Robbery", "Burglary", "Shoplifting", "Anti-social behaviour"]).values
    assert w.tolist() == [365.0, 28.0, 5.0, 1.0]


# -- loading a force table ------------------------------------------------------------------------


def test_a_good_force_table_loads(tmp_path: Path):
    table = HarmTable.load(write(tmp_path, FORCE_CSV))
    assert [r.code for r in table.rows] == ["028/01", "034/01", "046/00"]
    assert [r.harm_days for r in table.rows] == [40.0, 365.0, 1.0]
    assert table.origin == "cchi.csv" and not table.approximate
    assert table.fallback is HarmTable.builtin()
    described = table.describe()
    assert described[0] == {"code": "028/01", "name": "Burglary - residential", "harm_days": 40.0,
                            "source": "Force CCHI table 2023", "table": "force",
                            "approximate": False}
    assert len(described) == 3 + len(HarmTable.builtin().rows)
    assert len(table.describe(include_fallback=False)) == 3


def test_header_aliases_bom_and_missing_source_column(tmp_path: Path):
    text = "\ufeffOffence Code,Offence,CCHI\n8A,Assault with injury,14\n"
    table = HarmTable.load(write(tmp_path, text, "force.csv"))
    assert table.rows[0].harm_days == 14.0
    assert table.rows[0].source == "force table force.csv"


def test_path_none_gives_the_builtin_table():
    assert HarmTable.load(None) is HarmTable.builtin()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("9,Theft,abc,S\n", "line 3, column 'harm_days': 'abc' is not a number of days"),
        ("9,Theft,-3,S\n", "line 3, column 'harm_days': '-3' is not a harm"),
        ("9,Theft,inf,S\n", "line 3, column 'harm_days': 'inf' is not a harm"),
        ("9,Theft,,S\n", "line 3, column 'harm_days': blank"),
        (",Theft,2,S\n", "line 3, column 'code': blank"),
        ("9,,2,S\n", "line 3, column 'name': blank"),
        ("9,Theft,2,\n", "line 3, column 'source': blank"),
        ("7,Theft,2,S,extra\n", "line 3 has 5 fields; the header has 4"),
    ],
)
def test_bad_rows_name_the_line_and_column(tmp_path: Path, body: str, message: str):
    text = "code,name,harm_days,source\n1,Robbery,365,S\n" + body
    with pytest.raises(InvalidHarmTable, match="cchi.csv: " + message.replace("(", r"\(")):
        HarmTable.load(write(tmp_path, text))


def test_duplicate_codes_name_both_lines(tmp_path: Path):
    text = "code,name,harm_days,source\n028/01,Burglary,40,S\n\n034/01,Robbery,365,S\n028/01,Other,2,S\n"
    with pytest.raises(InvalidHarmTable, match=r"line 5, column 'code': code '028/01' is already "
                                               r"on line 2"):
        HarmTable.load(write(tmp_path, text))


def test_a_name_twice_with_another_harm_is_refused_but_the_same_harm_is_not(tmp_path: Path):
    same = "code,name,harm_days,source\n1,Theft,5,S\n2,theft,5,S\n"
    assert len(HarmTable.load(write(tmp_path, same)).rows) == 2
    other = "code,name,harm_days,source\n1,Theft,5,S\n2,theft,7,S\n"
    with pytest.raises(InvalidHarmTable, match=r"line 3, column 'name': offence 'theft' is "
                                               r"already on line 2 with another harm"):
        HarmTable.load(write(tmp_path, other))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ("code,name,harm_days,source\n", "a header but no rows"),
        ("code,name,source\n1,Theft,S\n", "no column 'harm_days'"),
        ("offence,harm\nTheft,5\n", "no column 'code'"),
    ],
)
def test_bad_files_say_what_is_wrong(tmp_path: Path, text: str, message: str):
    with pytest.raises(InvalidHarmTable, match=message):
        HarmTable.load(write(tmp_path, text))


def test_a_missing_file_is_named(tmp_path: Path):
    with pytest.raises(InvalidHarmTable, match=r"cannot read harm table .*nope\.csv"):
        HarmTable.load(tmp_path / "nope.csv")


# -- weights --------------------------------------------------------------------------------------


def test_weights_for_a_mixed_array_with_a_force_table(tmp_path: Path):
    table = HarmTable.load(write(tmp_path, FORCE_CSV))
    crime_type = np.array(
        ["Burglary - residential", "028/01", "robbery of personal property", "Theft from farm",
         "Shoplifting", "Mystery", "Mystery", "", "Burglary - residential"],
        dtype=object,
    )
    category = np.array(
        ["residential_burglary", "residential_burglary", "robbery", "agricultural_theft",
         "shoplifting", "other", "other", "other", "residential_burglary"],
        dtype=object,
    )
    w = table.weights(crime_type, category)
    # force rows by name or code; the farm theft and data.police.uk "Shoplifting" (not a name in
    # the force table) fall back to the built-in table; the rest are unmatched (7.5 days).
    assert w.values.tolist() == [40.0, 40.0, 365.0, 7.5, 5.0, 7.5, 7.5, 7.5, 40.0]
    assert w.approximate
    assert w.fallback_count == 2
    assert w.unmatched == {"Mystery": 2, "": 1}
    assert w.unmatched_value == 7.5
    assert w.sources[0] == "Force CCHI table 2023"
    assert len(w.sources) == 4 and w.sources[-1].startswith("unmatched crime types: 7.5 days")
    summary = w.to_dict()
    assert summary["incidents"] == 9 and summary["total_harm_days"] == pytest.approx(520.0)


def test_a_force_table_alone_is_not_approximate(tmp_path: Path):
    table = HarmTable.load(write(tmp_path, FORCE_CSV))
    w = table.weights(["Theft from shops and stalls", "Robbery of personal property"])
    assert w.values.tolist() == [1.0, 365.0]
    assert not w.approximate and w.unmatched == {} and w.fallback_count == 0
    assert w.sources == ("Force CCHI table 2023",)


def test_offence_codes_come_before_crime_types(tmp_path: Path):
    table = HarmTable.load(write(tmp_path, FORCE_CSV))
    w = table.weights(["Robbery", "Robbery"], offence_code=["046/00", ""])
    assert w.values.tolist() == [1.0, 365.0]  # by code; then the built-in "Robbery" row
    assert w.fallback_count == 1


def test_without_fallback_a_force_table_leaves_other_types_unmatched(tmp_path: Path):
    table = HarmTable.load(write(tmp_path, FORCE_CSV), fallback=False)
    w = table.weights(["Shoplifting", "Theft from shops and stalls"], ["shoplifting", "shoplifting"],
                      unmatched_value=0.0)
    assert w.values.tolist() == [0.0, 1.0]
    assert w.unmatched == {"Shoplifting": 1} and w.approximate


def test_weights_accept_categoricals_and_series(builtin: HarmTable):
    types = pd.Categorical(["Robbery", "Drugs", "Robbery", None])
    w = builtin.weights(types, pd.Series(["robbery", "drugs", "robbery", "asb"]))
    assert w.values.tolist() == [365.0, 5.0, 365.0, 1.0]  # the blank type weighed by category
    assert w.unmatched == {}


def test_categoricals_weigh_as_their_texts_do(builtin: HarmTable):
    # the store hands its columns over as categoricals, whose codes are used as they are:
    # unused categories, missing values and any order of categories change nothing
    rng = np.random.default_rng(5)
    texts = np.array([*POLICE_TYPES, "Unknown", None], dtype=object)[rng.integers(0, 16, 3000)]
    cats = np.array(["robbery", "drugs", "asb", None], dtype=object)[rng.integers(0, 4, 3000)]
    plain = builtin.weights(texts, cats)
    for order in (sorted, lambda u: sorted(u, reverse=True)):
        used = order({t for t in texts if t is not None})
        types = pd.Categorical(texts, categories=[*used, "Never seen"])
        categories = pd.Series(pd.Categorical(cats, categories=order(
            {c for c in cats if c is not None} | {"burglary"})))
        coded = builtin.weights(types, categories)
        assert coded.values.tolist() == plain.values.tolist()
        assert (coded.unmatched, coded.sources, coded.fallback_count, coded.approximate) == (
            plain.unmatched, plain.sources, plain.fallback_count, plain.approximate)


def test_weights_of_nothing(builtin: HarmTable):
    w = builtin.weights(np.empty(0, dtype=object), np.empty(0, dtype=object))
    assert w.values.shape == (0,) and not w.approximate and w.sources == ()


def test_weights_refuse_arrays_of_other_lengths_and_bad_unmatched_values(builtin: HarmTable):
    with pytest.raises(ValueError, match="category has 1 values but crime_type has 2"):
        builtin.weights(["Robbery", "Drugs"], ["robbery"])
    with pytest.raises(ValueError, match="unmatched_value must be a number of days >= 0"):
        builtin.weights(["Robbery"], unmatched_value=-1)


def test_weights_of_many_incidents_match_one_by_one_lookups(builtin: HarmTable):
    rng = np.random.default_rng(3)
    types = np.array([*POLICE_TYPES, "Unknown"], dtype=object)[rng.integers(0, 15, 5000)]
    w = builtin.weights(types)
    expected = [(found[0].harm_days if (found := builtin.lookup(t)) else 7.5) for t in types[:200]]
    assert w.values[:200].tolist() == expected
    assert w.unmatched == {"Unknown": int((types == "Unknown").sum())}
