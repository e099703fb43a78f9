"""CQL2 filters over GeoDataFrames (api.services.ogc_filter): hand-made frames checked by hand,
then hypothesis properties against a row-by-row oracle with SQL's three-valued logic, the
errors (field and message), the CRS handling and the bounds on work."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, box

from api.errors import InvalidInput
from api.services.ogc_filter import (
    CRS84,
    MAX_DEPTH,
    MAX_FILTER_CHARS,
    MAX_VERTICES,
    Queryable,
    _like_matcher,
    compile_filter,
    queryables_schema,
)

BNG = "http://www.opengis.net/def/crs/EPSG/0/27700"
EPSG4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"
CATEGORIES = ("burglary", "robbery", "vehicle-crime", "O'Brien")

QUERYABLES = (
    Queryable("category", "string", "Crime category", CATEGORIES),
    Queryable("priority", "integer", "Priority"),
    Queryable("trend", "number", "Trend"),
    Queryable("month", "string", "Month (YYYY-MM)"),
    Queryable("geometry", "geometry", "Location"),
)


def frame(crs: int | str = 27700) -> gpd.GeoDataFrame:
    """Five rows in York (EPSG:27700 metres), one with nulls everywhere but its month."""
    rows = gpd.GeoDataFrame(
        {
            "category": ["burglary", "robbery", "vehicle-crime", None, "O'Brien"],
            "priority": [1, 2, 3, None, 2],
            "trend": [0.5, -1.0, 2.25, None, 0.0],
            "month": ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05"],
        },
        geometry=[Point(460000, 450000), Point(461000, 451000), Point(462000, 452000), None,
                  Point(460500, 450500)],
        crs=27700,
        index=[10, 11, 12, 13, 14],  # not a RangeIndex on purpose
    )
    return rows if crs == 27700 else rows.to_crs(crs)


def rows(text: str, *, crs: int | str = 27700, **kwargs: Any) -> list[int]:
    f = frame(crs)
    mask = compile_filter(text, QUERYABLES, **kwargs).mask(f)
    assert mask.dtype == bool and mask.shape == (len(f),)
    return [int(i) for i in f.index[mask]]


# --------------------------------------------------------------------------------------------
# hand-checked answers

@pytest.mark.parametrize(("text", "expected"), [
    ("category = 'burglary'", [10]),
    ("category <> 'burglary'", [11, 12, 14]),  # the null row is unknown, not kept
    ("NOT category = 'burglary'", [11, 12, 14]),
    ("priority >= 2", [11, 12, 14]),
    ("priority > 2", [12]),
    ("priority < 2", [10]),
    ("priority <= 2", [10, 11, 14]),
    ("trend < 0", [11]),
    ("trend = 2.25", [12]),
    ("priority BETWEEN 2 AND 3", [11, 12, 14]),
    ("priority NOT BETWEEN 2 AND 3", [10]),
    ("category IN ('burglary', 'robbery')", [10, 11]),
    ("category NOT IN ('burglary', 'robbery')", [12, 14]),
    ("priority IN (1, 3)", [10, 12]),
    ("category LIKE 'rob%'", [11]),
    ("category LIKE '_obbery'", [11]),
    ("category LIKE '%crime'", [12]),
    ("category NOT LIKE '%bb%'", [10, 12, 14]),
    ("category LIKE 'r.bbery'", []),  # '.' is a plain character in CQL2 LIKE
    ("category IS NULL", [13]),
    ("category IS NOT NULL", [10, 11, 12, 14]),
    ("geometry IS NULL", [13]),
    ("category = 'O''Brien'", [14]),
    ('"category" = \'robbery\'', [11]),
    ("CASEI(category) = CASEI('BURGLARY')", [10]),
    ("month >= '2024-02' AND month < '2024-04'", [11, 12]),
    ("priority = 1 OR trend < 0", [10, 11]),
    ("priority + 1 > 3", [12]),
    ("priority * 2 = trend * 4", [10]),
    ("-priority < -2", [12]),  # a property negated (pygeofilter negates numbers only)
    ("- -priority = 1", [10]),
    ("-(priority + 1) = -2", [10]),
    ("priority - -1 = 2", [10]),
    ("category = 'robbery' and (priority = 2 or priority = 3)", [11]),
    ("INCLUDE", [10, 11, 12, 13, 14]),
    ("EXCLUDE", []),
    ("category = 'not-a-category'", []),
    ("category = 'x' OR category IS NULL", [13]),
    ("NOT (category = 'x' AND priority = 1)", [10, 11, 12, 14]),
])
def test_hand_checked_answers(text: str, expected: list[int]) -> None:
    assert rows(text) == expected


def test_whitespace_other_than_spaces_is_accepted() -> None:
    assert rows("category = 'robbery'\n  AND\tpriority = 2\r\n") == [11]


@pytest.mark.parametrize("crs", [27700, 4326, 3857])
def test_s_intersects_with_a_crs84_polygon_whatever_the_frame_crs(crs: int) -> None:
    # around rows 10 and 14 (460000..460500 E, 450000..450500 N), not 11 or 12
    corners = gpd.GeoSeries([box(459900, 449900, 460600, 450600)], crs=27700).to_crs(4326)
    x0, y0, x1, y1 = corners.total_bounds
    polygon = f"POLYGON(({x0} {y0}, {x1} {y0}, {x1} {y1}, {x0} {y1}, {x0} {y0}))"
    assert rows(f"S_INTERSECTS(geometry, {polygon})", crs=crs) == [10, 14]
    assert rows(f"S_WITHIN(geometry, {polygon})", crs=crs) == [10, 14]
    assert rows(f"S_DISJOINT(geometry, {polygon})", crs=crs) == [11, 12]
    assert rows(f"BBOX(geometry, {x0}, {y0}, {x1}, {y1})", crs=crs) == [10, 14]
    assert rows(f"NOT S_INTERSECTS(geometry, {polygon})", crs=crs) == [11, 12]


def test_filter_crs_british_national_grid_and_epsg_4326_axis_order() -> None:
    bng = "S_INTERSECTS(geometry, POLYGON((459900 449900, 460600 449900, 460600 450600, " \
          "459900 450600, 459900 449900)))"
    assert rows(bng, filter_crs=BNG) == [10, 14]
    assert rows(bng, filter_crs="EPSG:27700", crs=4326) == [10, 14]
    lon, lat = gpd.GeoSeries([Point(461000, 451000)], crs=27700).to_crs(4326).iloc[0].coords[0]
    # EPSG:4326 in OGC axis order is latitude first; CRS84 longitude first
    assert rows(f"S_INTERSECTS(geometry, POINT({lat} {lon}))".replace(
        f"POINT({lat} {lon})", f"POLYGON(({lat - 1e-5} {lon - 1e-5}, {lat + 1e-5} {lon - 1e-5},"
        f" {lat + 1e-5} {lon + 1e-5}, {lat - 1e-5} {lon + 1e-5}, {lat - 1e-5} {lon - 1e-5}))"),
        filter_crs=EPSG4326) == [11]
    assert rows(f"S_INTERSECTS(geometry, POLYGON(({lon - 1e-5} {lat - 1e-5}, "
                f"{lon + 1e-5} {lat - 1e-5}, {lon + 1e-5} {lat + 1e-5}, {lon - 1e-5} "
                f"{lat + 1e-5}, {lon - 1e-5} {lat - 1e-5})))", filter_crs=CRS84) == [11]


def test_spatial_predicates_with_the_property_on_either_side() -> None:
    square = "POLYGON((459900 449900, 460600 449900, 460600 450600, 459900 450600, " \
             "459900 449900))"
    assert rows(f"S_CONTAINS({square}, geometry)", filter_crs=BNG) == [10, 14]
    assert rows(f"S_INTERSECTS({square}, geometry)", filter_crs=BNG) == [10, 14]
    assert rows(f"S_CONTAINS(geometry, {square})", filter_crs=BNG) == []
    assert rows("S_EQUALS(geometry, POINT(461000 451000))", filter_crs=BNG) == [11]
    assert rows(f"RELATE(geometry, {square}, 'T*F**F***')", filter_crs=BNG) == [10, 14]
    assert rows(f"RELATE({square}, geometry, 'T*****FF*')", filter_crs=BNG) == [10, 14]


def test_cql2_json_gives_the_same_answers_as_text() -> None:
    cases = [
        ({"op": "=", "args": [{"property": "category"}, "robbery"]}, [11]),
        ({"op": "and", "args": [{"op": ">=", "args": [{"property": "priority"}, 2]},
                                {"op": "not", "args": [
                                    {"op": "=", "args": [{"property": "category"},
                                                         "robbery"]}]}]}, [12, 14]),
        ({"op": "between", "args": [{"property": "priority"}, 2, 3]}, [11, 12, 14]),
        ({"op": "in", "args": [{"property": "category"}, ["burglary", "robbery"]]}, [10, 11]),
        ({"op": "like", "args": [{"property": "category"}, "rob%"]}, [11]),
        ({"op": "isNull", "args": [{"property": "category"}]}, [13]),
        ({"op": "s_intersects", "args": [{"property": "geometry"},
                                         {"bbox": [459900, 449900, 460600, 450600]}]}, [10, 14]),
        ({"op": "s_intersects", "args": [{"property": "geometry"},
                                         {"type": "Point", "coordinates": [461000, 451000]}]},
         [11]),
    ]
    for document, expected in cases:
        assert rows(json.dumps(document), lang="cql2-json", filter_crs=BNG) == expected, document


def test_an_empty_frame_gives_an_empty_mask() -> None:
    empty = frame().iloc[:0]
    assert compile_filter("priority = 1", QUERYABLES).mask(empty).shape == (0,)


def test_compiled_filter_reports_the_properties_it_names() -> None:
    compiled = compile_filter("category = 'x' AND S_INTERSECTS(geometry, POINT(0 51))",
                              QUERYABLES)
    assert compiled.properties == frozenset({"category", "geometry"})
    assert compiled.filter_crs == CRS84


# --------------------------------------------------------------------------------------------
# errors: field and message

def error(text: str, **kwargs: Any) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        compile_filter(text, QUERYABLES, **kwargs)
    assert caught.value.status == 422
    return caught.value


def test_unknown_property_is_named_with_the_queryables() -> None:
    e = error("colour = 'red'")
    assert e.field == "filter"
    assert "'colour'" in str(e) and "category, geometry, month, priority, trend" in str(e)
    assert "did you mean 'category'" in str(error("Category = 'x'"))


def test_parse_errors_give_the_position() -> None:
    e = error("category = = 'x'")
    assert e.field == "filter" and "character 12 near \"= 'x'\"" in str(e), str(e)
    assert "at the end" in str(error("category ="))
    assert "cql2-json" in str(error("{not json", lang="cql2-json"))
    assert "character 2" in str(error("{not json", lang="cql2-json"))


@pytest.mark.parametrize(("text", "words"), [
    ("category = 1", "quote text values"),
    ("priority = 'high'", "is a number"),
    ("priority LIKE '1%'", "LIKE matches text"),
    ("category LIKE priority", "must be a quoted string"),
    ("category IN (priority)", "must hold values"),
    ("geometry = 'x'", "like with like"),
    ("S_INTERSECTS(category, POINT(0 51))", "is a string"),
    ("category", "at the end"),
    ("month T_AFTER TIMESTAMP('2024-01-01T00:00:00Z')", "not supported"),
    ("month >= DATE('2024-01-01')", "compare month as text"),
    ("FOO(category) = 'x'", "not supported"),
    ("S_INTERSECTS(geometry, POINT(460000 450000))", "filter-crs=http"),
    ("S_INTERSECTS(geometry, POLYGON((0 50, 1 51, 1 50, 0 51, 0 50)))", "not valid"),
    ("S_INTERSECTS(geometry, SRID=27700;POINT(460000 450000))", "could not parse"),
    ("priority < 1e999", "not finite"),
    ("BBOX(geometry, 1, 51, 0, 50)", "minx <= maxx"),
    ("RELATE(geometry, POINT(0 51), 'XYZ')", "DE-9IM"),
    ("category LIKE 'a\\'", "escape"),
    ("", "empty"),
])
def test_bad_filters_say_what_is_wrong(text: str, words: str) -> None:
    e = error(text)
    assert e.field == "filter"
    assert words in str(e), str(e)


def test_bad_filter_lang_and_filter_crs_name_their_field() -> None:
    e = error("priority = 1", lang="cql-json")
    assert e.field == "filter-lang" and "cql2-text" in str(e)
    # the draft's name, which GDAL 3.6's OAPIF driver sends, is read as cql2-text
    assert rows("priority = 1", lang="cql-text") == [10]
    e = error("priority = 1", filter_crs="http://www.opengis.net/def/crs/EPSG/0/32630")
    assert e.field == "filter-crs" and BNG in str(e)
    e = error("BBOX(geometry, 0, 0, 1, 1, 'EPSG:9999')")
    assert e.field == "filter"


def test_work_is_bounded() -> None:
    assert "limit is 4,096" in str(error("priority = 1 OR " * 300 + "priority = 1"))
    assert "too many terms" in str(error(" OR ".join(["trend=1"] * 300)))
    deep = "NOT (" * (MAX_DEPTH + 1) + "priority = 1" + ")" * (MAX_DEPTH + 1)
    assert len(deep) <= MAX_FILTER_CHARS
    assert "nested too deeply" in str(error(deep))
    many = ",".join(f"{i % 9} {i % 7}" for i in range(MAX_VERTICES + 1))
    lines = f"S_INTERSECTS(geometry, LINESTRING({many}))"
    assert len(lines) <= MAX_FILTER_CHARS
    assert "too many vertices" in str(error(lines, filter_crs=BNG))
    points = [[i % 9, i % 7] for i in range(MAX_VERTICES + 1)]
    as_json = json.dumps({"op": "s_intersects", "args": [
        {"property": "geometry"}, {"type": "LineString", "coordinates": points}]},
        separators=(",", ":"))
    assert len(as_json) <= MAX_FILTER_CHARS
    assert "too many vertices" in str(error(as_json, lang="cql2-json", filter_crs=BNG))
    json_deep = '[' * 1500 + ']' * 1500
    assert "nested too deeply" in str(error(json_deep, lang="cql2-json"))
    nots = '{"op":"not","args":[' * 60 + '{"op":"=","args":[1,1]}' + "]}" * 60
    assert "nested too deeply" in str(error(nots, lang="cql2-json"))
    # a long chain of AND is one level, not too deep
    chain = " AND ".join(["priority >= 0"] * (MAX_DEPTH * 3))
    assert rows(chain) == [10, 11, 12, 14]


def test_like_is_linear_on_a_pattern_that_backtracks_a_regex_exponentially() -> None:
    match = _like_matcher("%a%a%a%a%a%a%a%a%a%a%a%a%b", wildcard="%", singlechar="_",
                          escape="\\", nocase=False)
    assert not match("a" * 3000)
    assert match("a" * 3000 + "b")


# --------------------------------------------------------------------------------------------
# properties against an oracle

Oracle = Callable[[dict[str, Any]], bool | None]


def _like_oracle(pattern: str) -> Callable[[str], bool]:
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return lambda s: re.fullmatch(regex, s, flags=re.DOTALL) is not None


def _cmp(column: str, op: str, value: Any) -> Oracle:
    ops: dict[str, Callable[[Any, Any], bool]] = {
        "=": lambda a, b: a == b, "<>": lambda a, b: a != b, "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}
    return lambda row: None if row[column] is None else ops[op](row[column], value)


def _quote(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


OPS = st.sampled_from(["=", "<>", "<", "<=", ">", ">="])
WORDS = st.sampled_from([*CATEGORIES, "", "rob", "zzz"])


@st.composite
def atoms(draw: st.DrawFn) -> tuple[str, Oracle]:
    kind = draw(st.sampled_from(["cat", "pri", "in", "like", "null", "between", "space"]))
    if kind == "cat":
        op, word = draw(OPS), draw(WORDS)
        return f"category {op} {_quote(word)}", _cmp("category", op, word)
    if kind == "pri":
        op, k = draw(OPS), draw(st.integers(-1, 4))
        return f"priority {op} {k}", _cmp("priority", op, k)
    if kind == "in":
        words = draw(st.lists(WORDS, min_size=1, max_size=3))
        return (f"category IN ({', '.join(map(_quote, words))})",
                lambda row: None if row["category"] is None else row["category"] in words)
    if kind == "like":
        pattern = draw(st.text(alphabet="rob%_-y'c", max_size=6))
        matcher = _like_oracle(pattern)
        return (f"category LIKE {_quote(pattern)}",
                lambda row: None if row["category"] is None else matcher(row["category"]))
    if kind == "null":
        return "priority IS NULL", lambda row: row["priority"] is None
    if kind == "between":
        lo, hi = sorted(draw(st.lists(st.integers(-1, 4), min_size=2, max_size=2)))
        return (f"priority BETWEEN {lo} AND {hi}",
                lambda row: None if row["priority"] is None else lo <= row["priority"] <= hi)
    x0, y0 = draw(st.integers(0, 4)), draw(st.integers(0, 4))
    area = box(x0, y0, x0 + draw(st.integers(1, 3)), y0 + draw(st.integers(1, 3)))
    return (f"S_INTERSECTS(geometry, {area.wkt})",
            lambda row: None if row["geometry"] is None else row["geometry"].intersects(area))


def _and(a: bool | None, b: bool | None) -> bool | None:
    if a is False or b is False:
        return False
    return None if a is None or b is None else True


def _or(a: bool | None, b: bool | None) -> bool | None:
    if a is True or b is True:
        return True
    return None if a is None or b is None else False


def _not(a: bool | None) -> bool | None:
    return None if a is None else not a


def expressions() -> st.SearchStrategy[tuple[str, Oracle]]:
    def extend(children: st.SearchStrategy[tuple[str, Oracle]]) -> st.SearchStrategy[Any]:
        def combine(op: str, a: tuple[str, Oracle], b: tuple[str, Oracle]) -> tuple[str, Oracle]:
            (ta, fa), (tb, fb) = a, b
            if op == "AND":
                return f"({ta}) AND ({tb})", lambda row: _and(fa(row), fb(row))
            return f"({ta}) OR ({tb})", lambda row: _or(fa(row), fb(row))

        negated = children.map(lambda c: (f"NOT ({c[0]})",
                                          (lambda f: lambda row: _not(f(row)))(c[1])))
        return st.one_of(st.builds(combine, st.sampled_from(["AND", "OR"]), children, children),
                         negated)

    return st.recursive(atoms(), extend, max_leaves=6)


@st.composite
def frames(draw: st.DrawFn) -> gpd.GeoDataFrame:
    n = draw(st.integers(1, 12))
    category = draw(st.lists(st.one_of(st.none(), WORDS), min_size=n, max_size=n))
    priority = draw(st.lists(st.one_of(st.none(), st.integers(0, 3)), min_size=n, max_size=n))
    points = draw(st.lists(st.one_of(st.none(), st.tuples(st.integers(0, 6), st.integers(0, 6))),
                           min_size=n, max_size=n))
    return gpd.GeoDataFrame(
        {"category": category, "priority": [float("nan") if p is None else p for p in priority]},
        geometry=[None if p is None else Point(p) for p in points], crs=27700)


def _records(f: gpd.GeoDataFrame) -> list[dict[str, Any]]:
    out = []
    for category, priority, geometry in zip(f["category"], f["priority"], f.geometry,
                                            strict=True):
        out.append({"category": None if not isinstance(category, str) else category,
                    "priority": None if np.isnan(priority) else int(priority),
                    "geometry": geometry})
    return out


PROPERTY_SETTINGS = settings(max_examples=150, deadline=None,
                             suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(frames(), expressions())
def test_mask_agrees_with_a_row_by_row_three_valued_oracle(f: gpd.GeoDataFrame,
                                                           expr: tuple[str, Oracle]) -> None:
    text, oracle = expr
    mask = compile_filter(text, QUERYABLES, filter_crs=BNG).mask(f)
    expected = [oracle(row) is True for row in _records(f)]
    assert mask.tolist() == expected, text


@PROPERTY_SETTINGS
@given(frames(), expressions(), expressions())
def test_and_or_not_compose_like_masks(f: gpd.GeoDataFrame, a: tuple[str, Oracle],
                                       b: tuple[str, Oracle]) -> None:
    def m(text: str) -> np.ndarray:
        return compile_filter(text, QUERYABLES, filter_crs=BNG).mask(f)

    ma, mb, not_a = m(a[0]), m(b[0]), m(f"NOT ({a[0]})")
    assert (m(f"({a[0]}) AND ({b[0]})") == (ma & mb)).all()
    assert (m(f"({a[0]}) OR ({b[0]})") == (ma | mb)).all()
    assert not (not_a & ma).any()  # never both; with nulls, possibly neither
    assert (m(f"NOT ({a[0]})") == m(f"NOT (NOT (NOT ({a[0]})))")).all()
    complete = f[["category", "priority"]].notna().all(axis=1).to_numpy() & f.geometry.notna()
    assert ((not_a | ma)[complete.to_numpy()]).all()  # no nulls: exactly one holds


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab%_\\", max_size=8), st.text(alphabet="ab%_", max_size=10))
def test_like_matcher_agrees_with_a_regular_expression(pattern: str, value: str) -> None:
    if pattern.count("\\") and re.search(r"\\$", pattern.replace("\\\\", "")):
        return  # a trailing escape is an error, tested above
    regex, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            regex += re.escape(pattern[i + 1])
            i += 2
            continue
        regex += ".*" if c == "%" else "." if c == "_" else re.escape(c)
        i += 1
    match = _like_matcher(pattern, wildcard="%", singlechar="_", escape="\\", nocase=False)
    assert match(value) == (re.fullmatch(regex, value, flags=re.DOTALL) is not None)


@settings(max_examples=400, deadline=None)
@given(st.one_of(
    st.text(max_size=80),
    st.text(alphabet="()'\" =<>!%_,.-0123456789eE ANDORNOTLIKEINSBETWEENULLcategorypriority"
                     "geometryS_INTERSECTSPOINTPOLYGON", max_size=120)))
def test_any_text_compiles_or_is_invalid_input_naming_filter(text: str) -> None:
    try:
        compiled = compile_filter(text, QUERYABLES)
    except InvalidInput as exc:
        field = exc.field
    else:
        assert compiled.mask(frame()).dtype == bool
        return
    assert field == "filter"


@settings(max_examples=200, deadline=None)
@given(st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
              st.text(max_size=10), st.just({"property": "category"})),
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.sampled_from(["op", "args", "property", "bbox", "type",
                                         "coordinates", "function", "lower"]),
                        st.one_of(children, st.sampled_from(
                            ["=", "and", "or", "not", "like", "in", "between", "isNull",
                             "s_intersects", "Point", "casei", "category"])),
                        max_size=3)),
    max_leaves=10))
def test_any_json_compiles_or_is_invalid_input_naming_filter(document: Any) -> None:
    try:
        compiled = compile_filter(json.dumps(document), QUERYABLES, lang="cql2-json")
    except InvalidInput as exc:
        field = exc.field
    else:
        assert compiled.mask(frame()).dtype == bool
        return
    assert field == "filter"


# --------------------------------------------------------------------------------------------
# queryables document

def test_queryables_schema_is_a_json_schema_of_the_queryables() -> None:
    doc = queryables_schema(QUERYABLES, id_url="http://h/ogc/collections/c/queryables",
                            title="Hotspots")
    assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert doc["$id"] == "http://h/ogc/collections/c/queryables"
    assert doc["type"] == "object" and doc["title"] == "Hotspots"
    assert doc["additionalProperties"] is False
    assert list(doc["properties"]) == ["category", "priority", "trend", "month", "geometry"]
    assert doc["properties"]["category"] == {"title": "Crime category", "type": "string",
                                             "enum": list(CATEGORIES)}
    assert doc["properties"]["priority"]["type"] == "integer"
    assert doc["properties"]["geometry"]["format"] == "geometry-any"
    assert "type" not in doc["properties"]["geometry"]
    json.dumps(doc)  # serialisable as is


def test_a_queryable_type_outside_the_four_is_refused() -> None:
    with pytest.raises(ValueError, match="type must be one of"):
        Queryable("x", "date", "X")
