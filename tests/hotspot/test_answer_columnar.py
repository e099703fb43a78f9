"""The columnar steps of the hotspot answer give what the row-by-row ones gave: the trend
labels (one binom.cdf call against scipy's binomtest per hotspot), the GeoJSON properties and
geometries (per column and one coordinates pass, against mapping() and _json_value per
cell), and the LSOA lookup of a Categorical."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import orjson
import pandas as pd
import pytest
import shapely
from shapely.geometry import mapping

from hotspot.context import _in_set
from hotspot.geojson import (
    _geometries,
    _json_column,
    _json_value,
    feature_collection,
    wgs84_geometries,
    wgs84_geometry_json,
)
from hotspot.table import trend_label, trend_labels


def test_trend_labels_are_binomtests() -> None:
    grid_c, grid_p = np.meshgrid(np.arange(0, 60), np.arange(0, 60))
    c, p = grid_c.ravel(), grid_p.ravel()
    rng = np.random.default_rng(3)
    big = rng.integers(0, 40_000, 150)
    c = np.r_[c, big]
    p = np.r_[p, (big * rng.uniform(0.95, 1.05, big.size)).astype(np.int64)]
    got = trend_labels(c, p)
    want = [trend_label(int(a), int(b)) for a, b in zip(c, p, strict=True)]
    assert got == want
    assert {"up", "down", "flat"} <= set(got)


def _old_properties(frame: pd.DataFrame) -> list[dict[str, object]]:
    return [{str(k): _json_value(v) for k, v in rec.items()} for rec in frame.to_dict("records")]


def test_json_columns_are_the_json_values_of_each_cell() -> None:
    frame = pd.DataFrame({
        "id": ["a", "b", "c"],
        "n": np.array([1, 2, 3], dtype=np.int64),
        "flag": np.array([True, False, True]),
        "x": np.array([1.5, np.nan, np.inf]),
        "mix": [{"theft": 3}, {}, {"burglary": np.int64(2)}],
        "profile": [[[0, 1], [2, 3]], None, np.array([1, 2])],
        "name": ["High Street", None, float("nan")],
        "ratio": [0.5, None, np.float64(np.nan)],
    })
    columns = {c: _json_column(frame[c]) for c in frame.columns}
    got = [{c: columns[c][i] for c in frame.columns} for i in range(len(frame))]
    assert json.dumps(got) == json.dumps(_old_properties(frame))


def test_nested_cells_not_plain_somewhere_deep_are_made_plain() -> None:
    """Lists whose items are all plain kinds pass as they are; a NaN or a numpy number deep in
    a list or a dict, or a key that is not a string, makes the cell go through _json_value."""
    frame = pd.DataFrame({"id": list("abcdef"), "cell": [
        [[0, 1], [2, 3.5]],
        [[0.5, float("nan")], [1, 2]],
        ["x", float("inf"), None, True],
        [{"a": [1, np.int64(2)]}, {"b": 1.5}],
        {1: "one", "two": [0.25, -float("inf")]},
        {"ok": [1, "two", None, False, 2.5]},
    ]})
    got = _json_column(frame["cell"])
    want = [{str(k): _json_value(v) for k, v in rec.items()}["cell"]
            for rec in frame.to_dict("records")]
    assert json.dumps(got) == json.dumps(want)
    assert got[1] == [[0.5, None], [1, 2]] and got[4] == {"1": "one", "two": [0.25, None]}


def test_columns_of_one_kind_are_checked_whole_and_still_made_plain() -> None:
    """A column whose cells are all lists (of lists) or all dicts is checked at once, level by
    level: plain ones pass as they are, and one bad value deep in one cell (a NaN, a numpy
    number, a key that is not a string) still sends the cells through _json_value."""
    week = [[h + 24 * d for h in range(24)] for d in range(7)]
    columns = {
        "plain_lists": [week, [[0] * 24] * 7, []],
        "nan_deep": [week, [[0.5] * 24] * 6 + [[float("nan")] * 24], []],
        "numpy_deep": [[[1, 2]], [[np.int64(3)]], [[4.5]]],
        "plain_dicts": [{"theft": 3, "asb": 1}, {}, {"burglary": 2.5}],
        "int_key": [{"theft": 3}, {7: 1}, {}],
        "inf_value": [{"theft": 3}, {"asb": float("inf")}, {}],
    }
    for name, cells in columns.items():
        frame = pd.DataFrame({"cell": pd.Series(cells, dtype=object)})
        got = _json_column(frame["cell"])
        want = [_json_value(v) for v in cells]
        assert json.dumps(got, allow_nan=False) == json.dumps(want, allow_nan=False), name
        if name.startswith("plain"):
            assert all(g is c for g, c in zip(got, cells, strict=True)), name  # as they were


def test_geometries_are_their_mappings() -> None:
    disc = shapely.Point(0, 0).buffer(10, quad_segs=4)
    holed = disc.difference(shapely.Point(0, 0).buffer(3, quad_segs=2))
    multi = shapely.MultiPolygon([shapely.box(20, 0, 21, 1), holed])
    geoms = np.asarray([disc, holed, multi, shapely.Polygon(), shapely.Point(1, 2),
                        shapely.box(0, 0, 1, 1), shapely.Polygon([(0, 0, 1), (1, 0, 1),
                                                                  (1, 1, 1)])], dtype=object)
    got = _geometries(geoms)
    assert json.dumps(got) == json.dumps([mapping(g) for g in geoms])


def test_geometries_as_json_text_are_the_same_json() -> None:
    """The polygons' JSON text (made from coordinate arrays) is orjson's text of their plain
    geometries, and a collection with them as fragments is written to the same bytes as the
    plain collection (which stays plain JSON for any writer)."""
    disc = shapely.Point(450_000, 450_000).buffer(100, quad_segs=8)
    holed = disc.difference(shapely.Point(450_000, 450_000).buffer(30, quad_segs=4))
    multi = shapely.MultiPolygon([shapely.box(451_000, 450_000, 451_010, 450_010), holed])
    geoms = np.asarray([disc, holed, multi, shapely.Polygon(), shapely.box(0, 0, 1, 1)],
                       dtype=object)
    text = wgs84_geometry_json(geoms, "EPSG:27700")
    plain = wgs84_geometries(geoms, "EPSG:27700")
    assert text == [orjson.dumps(g) for g in plain]
    table = gpd.GeoDataFrame({"id": list("abcde"), "rank": np.arange(1, 6)},
                             geometry=geoms, crs="EPSG:27700")
    meta = {"method": "kde", "note": "test"}
    as_dicts = feature_collection(table, meta)
    assert json.loads(json.dumps(as_dicts)) == as_dicts  # plain JSON data
    with_text = feature_collection(table, meta, geometries=text, fragments=True)
    assert orjson.dumps(with_text) == orjson.dumps(as_dicts)
    assert orjson.dumps(feature_collection(table, meta, geometries=plain, fragments=True)) \
        == orjson.dumps(as_dicts)
    assert feature_collection(table, meta, geometries=text) == as_dicts


def test_rural_lsoas_of_a_categorical_and_of_strings() -> None:
    codes = pd.Categorical(["E01", "E02", None, "E03", "E01"])
    wanted = frozenset({"E01", "E03"})
    want = [True, False, False, True, True]
    assert _in_set(codes, wanted).tolist() == want
    assert _in_set(pd.Series(codes), wanted).tolist() == want
    assert _in_set(np.asarray(codes, dtype=object), wanted).tolist() == want


def test_categories_and_locations_of_categoricals_are_those_of_strings() -> None:
    from hotspot.table import _categories, _locations

    rng = np.random.default_rng(7)
    n, k = 20_000, 40
    cats = np.array(["theft", "burglary", "asb", "drugs", "Arson", "vehicle"], dtype=object)
    locs = np.array([f"On or near Street {i}" for i in range(300)] + ["", "  "], dtype=object)
    category = cats[rng.integers(0, cats.size, n)]
    category[rng.random(n) < 0.05] = None
    where = locs[np.minimum(rng.zipf(1.5, n), locs.size) - 1]
    where[rng.random(n) < 0.05] = None
    labels = rng.integers(-1, k, n)
    labels[:50] = 3  # ties: equal counts ordered by name
    plain = pd.DataFrame({"category": category, "location_text": where})
    coded = pd.DataFrame({"category": pd.Categorical(category),
                          "location_text": pd.Categorical(where)})
    assert _categories(coded, labels, k) == _categories(plain, labels, k)
    assert _locations(coded, labels, k) == _locations(plain, labels, k)
    assert any(len(x) == 3 for x in _locations(coded, labels, k))


def test_the_hits_counted_by_membership_are_the_incidents_inside_the_polygons() -> None:
    """The accuracy's hits count a place's own incidents without locating them: the same
    weight as locating every incident in the hotspot polygons, for both methods, with and
    without an area budget (the budget's path counts the kept places' incidents), weighted,
    with incidents on the anonymous points of police data (many on one spot) and noise."""
    from hotspot.analysis import analyse
    from hotspot.coverage import inside_any

    rng = np.random.default_rng(11)
    centres = rng.uniform(0, 6_000, (40, 2))
    spots = np.concatenate([rng.normal(c, rng.uniform(40, 400), (25, 2)) for c in centres])
    xy = np.concatenate([spots[rng.integers(0, len(spots), 12_000)],  # stacked
                         rng.uniform(-500, 6_500, (3_000, 2))])  # noise
    frame = pd.DataFrame({"x": 400_000 + xy[:, 0], "y": 300_000 + xy[:, 1],
                          "weight": rng.choice([1.0, 2.5, 7.0], len(xy))})
    runs = [("dbscan", {"eps_m": 120.0}), ("kde", {"bandwidth_m": 200.0})]
    seen_noise_inside = 0
    for method, params in runs:
        for budget in (None, 0.05):
            result = analyse(frame, crs="EPSG:27700", method=method, weighted=True,
                             area_share=budget, **params)
            geoms = np.asarray(result.hotspots.geometry.values, dtype=object)
            assert len(geoms) > 5, (method, budget)
            inside = inside_any(geoms, frame[["x", "y"]].to_numpy())
            want = round(float(frame["weight"].to_numpy()[inside].sum()))
            assert result.info["incidents_in_hotspots"] == want, (method, budget)
            seen_noise_inside += int((inside & (result.labels == "")).sum())
    assert seen_noise_inside > 0  # incidents of no place inside a polygon were located too


@pytest.mark.parametrize("compiled", [True, False])
def test_the_heaviest_town_centre_of_each_hotspot_is_pandas_groupby_pick(
        monkeypatch, compiled: bool) -> None:
    """classify_hotspots names a hotspot by the town centre (or site) weighing most in it,
    ties to the lowest index: by one compiled pass (a process that loaded the compiled steps)
    or one unique and bincount, as the groupby, sort and drop_duplicates it replaced chose;
    incidents in no hotspot or near no centre (-1) are left out."""
    import hotspot.context as context
    from hotspot._native import native_steps

    assert native_steps() is not None and context.loaded_native_steps() is not None
    native = context.loaded_native_steps()
    calls: list[int] = []
    real = native.pair_sums
    monkeypatch.setattr(native, "pair_sums", lambda *a: (calls.append(1), real(*a))[1])
    if not compiled:
        monkeypatch.setattr(context, "loaded_native_steps", lambda: None)
    _heaviest = context._heaviest
    rng = np.random.default_rng(1)
    assert _heaviest(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0), 3) == ([], [])
    assert _heaviest(np.full(4, -1), np.zeros(4, np.int64), np.ones(4), 3) == ([], [])
    # ten incidents of 0.1 (summed: 1.0 less an ulp) against one of 1.0: a tie, the first
    ten = np.array([0.1] * 10 + [1.0])
    assert _heaviest(np.zeros(11, np.int64), np.array([0] * 10 + [1]), ten, 1) == ([0], [0])
    for _ in range(100):
        n = int(rng.integers(1, 300))
        h, i = rng.integers(-1, 20, n), rng.integers(-1, int(rng.integers(1, 8)), n)
        w = rng.choice([1.0, 2.5, 7.5, 30.0, 0.0], n)  # harm days: many ties, some nil
        sel = (h >= 0) & (i >= 0)
        want = (pd.DataFrame({"h": h[sel], "i": i[sel], "w": w[sel]})
                .groupby(["h", "i"])["w"].sum().reset_index()
                .sort_values(["h", "w", "i"], ascending=[True, False, True], kind="stable")
                .drop_duplicates("h"))
        assert _heaviest(h, i, w, 20) == (want["h"].tolist(), want["i"].tolist())
    assert (len(calls) > 90) == compiled  # the compiled pass, or numpy's steps
