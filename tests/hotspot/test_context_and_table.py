"""Context classes on hand-made layers, and the hotspot table's columns."""

from __future__ import annotations

import json
from collections.abc import Callable

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from hotspot import ContextLayers, InvalidParameter, analyse
from hotspot.context import incident_context

CRS = "EPSG:27700"
TOWN = box(0, 0, 2000, 2000)             # built-up
CENTRE = box(800, 800, 1200, 1200)       # town centre inside it
LAYERS = ContextLayers(
    town_centres=gpd.GeoDataFrame({"name": ["Thornbury"]}, geometry=[CENTRE], crs=CRS),
    built_up_areas=gpd.GeoDataFrame({"name": ["Thornbury"]}, geometry=[TOWN], crs=CRS),
    heritage_sites=gpd.GeoDataFrame(
        {"name": ["Market Cross", "St Mary's Church", "Old Barn"],
         "designation": ["Scheduled monument", "Listed building, grade I",
                         "Listed building, grade II"]},
        geometry=[Point(1000, 1000), Point(1800, 300), Point(6000, 6000)], crs=CRS),
    rural_lsoas={"E01000099"},
)


def test_each_incident_gets_one_class_by_precedence():
    xy = np.array([
        [1000, 1050],   # in the centre, beside the market cross: town centre wins
        [1750, 350],    # near the church, outside the centre: heritage site
        [1500, 1500],   # in town, nothing near: urban
        [5000, 5000],   # outside the built-up area: rural
        [1500, 1600],   # in town, but in a rural LSOA: rural
        [6100, 6000],   # outside, near the barn: heritage site
    ], dtype=float)
    lsoa = np.array(["", "", "", "", "E01000099", ""], dtype=object)
    ctx = incident_context(xy, lsoa, LAYERS)
    assert [("town_centre", "heritage_site", "rural", "urban")[c] for c in ctx.cls] == [
        "town_centre", "heritage_site", "urban", "rural", "rural", "heritage_site"]
    assert list(ctx.town_centre) == [0, -1, -1, -1, -1, -1]


def test_the_heritage_filter_matches_whole_designations():
    only_top = ContextLayers(heritage_sites=LAYERS.heritage_sites,
                             heritage_designations=["grade I", "Scheduled monument"])
    assert list(only_top.sites()["name"]) == ["Market Cross", "St Mary's Church"]  # not grade II
    # sites inside a town centre do not make heritage hotspots
    assert list(LAYERS.sites()["name"]) == ["St Mary's Church", "Old Barn"]
    with pytest.raises(InvalidParameter, match="heritage_distance_m"):
        ContextLayers(heritage_distance_m=-1)


def incidents_at(points: list[tuple[float, float, int]], **columns: object) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    parts = [rng.normal((x, y), 15, (n, 2)) for x, y, n in points]
    xy = np.concatenate(parts)
    return pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], **columns})


def test_hotspots_are_classified_named_and_ranked():
    frame = incidents_at([(1000, 1000, 60), (1780, 320, 30), (5000, 5000, 20), (1500, 1500, 40)])
    frame["category"] = ["shoplifting"] * 60 + ["heritage_crime"] * 30 + ["agricultural_theft"] \
        * 20 + ["residential_burglary"] * 40
    result = analyse(frame, crs=CRS, method="dbscan", layers=LAYERS, eps_m=60, min_samples=5)
    table = result.hotspots
    by_class = dict(zip(table["context_class"], table["place"], strict=True))
    assert by_class == {"town_centre": "Thornbury", "heritage_site": "St Mary's Church",
                        "rural": "near Thornbury", "urban": "Thornbury"}
    assert list(table["rank"]) == [1, 2, 3, 4] and table["id"].iloc[0] == "dbscan-001"
    tc = table[table["context_class"] == "town_centre"].iloc[0]
    assert tc["team"] == "town_centre_officers" and tc["share_town_centre"] == 1.0
    assert tc["heritage_sites"] == []  # the market cross is inside the town centre
    assert tc["category_mix"] == {"shoplifting": 60} and tc["top_category"] == "shoplifting"
    heritage = table[table["context_class"] == "heritage_site"].iloc[0]
    assert heritage["heritage_sites"] == ["St Mary's Church"]
    assert heritage["team"] == "rural_crime_team"
    assert sorted(set(result.labels)) == sorted(table["id"])  # every incident is in one


def test_profiles_dates_and_trend():
    frame = incidents_at([(1000, 1000, 50)])
    # every incident on a Friday at 22:00 local time (summer: 21:00 UTC)
    frame["occurred_at"] = int(pd.Timestamp("2024-07-05T21:00:00Z").value // 10**9)
    frame["precision"] = 0
    previous = incidents_at([(1000, 1000, 10)])
    result = analyse(frame, crs=CRS, method="dbscan", layers=LAYERS, eps_m=60, min_samples=5,
                     previous=previous)
    row = result.hotspots.iloc[0]
    assert row["peak_hours"] == [22] and row["peak_days"] == ["Fri"]
    assert np.array(row["profile"]).shape == (7, 24) and row["profile"][4][22] == 50
    assert row["first_date"] == row["last_date"] == "2024-07-05"
    assert row["previous_incidents"] == 10 and row["trend"] == "up" and row["trend_ratio"] == 5.0
    monthly = frame.assign(precision=2)
    row = analyse(monthly, crs=CRS, method="dbscan", eps_m=60, min_samples=5).hotspots.iloc[0]
    assert row["profile"] is None and "month-only" in row["profile_note"]
    assert row["first_date"] == "2024-07" and row["trend"] == "unknown"


def test_previous_and_history_given_as_functions_are_taken_beside_the_engine():
    """A caller may give the previous period and the emerging months as functions that read
    them (a store's reads, beside the engine): the same answer as given the frames, each
    function called once, in a thread of the analysis's own; None from one is none given."""
    import threading

    from hotspot._threads import threads

    rng = np.random.default_rng(4)
    month_starts = pd.date_range("2023-08-01", periods=12, freq="MS", tz="UTC")
    months = []
    for i, start in enumerate(month_starts):  # a place growing month after month
        part = incidents_at([(1000, 1000, 10 + 4 * i), (1600, 400, 12)])
        part["occurred_at"] = int(start.value // 10**9) + rng.integers(0, 20 * 86400, len(part))
        months.append(part)
    history = pd.concat(months, ignore_index=True)
    history["harm"] = 1.0
    frame = history[history["occurred_at"] >= int(month_starts[6].value // 10**9)]
    frame = frame.reset_index(drop=True)
    previous = history[history["occurred_at"] < int(month_starts[6].value // 10**9)]
    given = analyse(frame, crs=CRS, method="dbscan", layers=LAYERS, eps_m=60, min_samples=5,
                    previous=previous, history=history)
    called: dict[str, list[threading.Thread]] = {"previous": [], "history": []}

    def reader(name: str, value: pd.DataFrame | None) -> Callable[[], pd.DataFrame | None]:
        def read() -> pd.DataFrame | None:
            called[name].append(threading.current_thread())
            return value
        return read

    read = analyse(frame, crs=CRS, method="dbscan", layers=LAYERS, eps_m=60, min_samples=5,
                   previous=reader("previous", previous), history=reader("history", history))
    assert [len(v) for v in called.values()] == [1, 1]
    if threads() > 1:
        assert threading.current_thread() not in called["previous"] + called["history"]
    assert given.info["emerging"] == read.info["emerging"] and given.info["emerging"]
    pd.testing.assert_frame_equal(given.hotspots.drop(columns="geometry"),
                                  read.hotspots.drop(columns="geometry"))
    assert (given.hotspots["trend"] != "unknown").all()
    none = analyse(frame, crs=CRS, method="dbscan", eps_m=60, min_samples=5,
                   previous=lambda: None, history=lambda: None)
    plain = analyse(frame, crs=CRS, method="dbscan", eps_m=60, min_samples=5)
    pd.testing.assert_frame_equal(none.hotspots.drop(columns="geometry"),
                                  plain.hotspots.drop(columns="geometry"))
    # a history read without its times is refused as a history given as a frame is
    broken = history.astype({"occurred_at": float})
    broken.loc[3, "occurred_at"] = np.nan
    with pytest.raises(InvalidParameter, match="1 of the history have no time"):
        analyse(frame, crs=CRS, method="dbscan", eps_m=60, min_samples=5,
                history=lambda: broken)


def test_empty_selection_and_unknown_parameters():
    empty = analyse(pd.DataFrame({"x": [], "y": []}), crs=CRS, method="kde", bandwidth_m=100)
    assert len(empty.hotspots) == 0 and empty.info["note"] == "no incidents in the selection"
    with pytest.raises(InvalidParameter, match="eps_m is a parameter of dbscan, not of kde"):
        analyse(incidents_at([(0, 0, 5)]), crs=CRS, method="kde", eps_m=100)
    with pytest.raises(InvalidParameter, match="method must be one of"):
        analyse(incidents_at([(0, 0, 5)]), crs=CRS, method="kmeans")



@pytest.mark.parametrize("missing", [pd.NaT, np.nan])
def test_incidents_without_a_time_are_refused_naming_the_column_and_rows(missing):
    # a time missing as NaT (datetimes) or NaN (seconds as floats) was a pandas overflow
    # deep in the table's dates; now a clear refusal before any work
    frame = incidents_at([(1000, 1000, 50)])
    if missing is pd.NaT:
        frame["occurred_at"] = pd.Timestamp("2024-07-05T21:00:00")
    else:
        frame["occurred_at"] = float(pd.Timestamp("2024-07-05T21:00:00Z").value // 10**9)
    frame.loc[[7, 30], "occurred_at"] = missing
    with pytest.raises(InvalidParameter, match=r"2 of the incidents have no time "
                       r"\(occurred_at\), first at rows \[7, 30\]") as caught:
        analyse(frame, crs=CRS, method="dbscan", eps_m=60, min_samples=5)
    assert caught.value.parameter == "occurred_at"
    with pytest.raises(InvalidParameter, match="1 of the history have no time"):
        analyse(frame.drop(index=[7, 30]), crs=CRS, method="dbscan", eps_m=60, min_samples=5,
                history=frame.drop(index=[7]))
    done = analyse(frame.drop(index=[7, 30]), crs=CRS, method="dbscan", eps_m=60,
                   min_samples=5)
    assert done.hotspots.iloc[0]["first_date"] == "2024-07-05"



def test_times_with_a_zone_are_read_as_utc_and_other_values_refused():
    frame = incidents_at([(1000, 1000, 50)])
    frame["precision"] = 0
    frame["occurred_at"] = pd.Timestamp("2024-07-05T21:00:00")  # UTC, no zone
    want = analyse(frame, crs=CRS, method="dbscan", eps_m=60, min_samples=5).hotspots.iloc[0]
    zoned = frame.assign(occurred_at=pd.Timestamp("2024-07-06T05:00:00+08:00"))
    got = analyse(zoned, crs=CRS, method="dbscan", eps_m=60, min_samples=5).hotspots.iloc[0]
    assert got["profile"][4][22] == 50 and got["first_date"] == "2024-07-05"
    assert got["profile"] == want["profile"] and got["last_date"] == want["last_date"]
    assert str(zoned["occurred_at"].dtype).endswith("+08:00]")  # the caller's frame as it was
    with pytest.raises(InvalidParameter, match=r"must be seconds since the epoch .* such as "
                       r"'2024-07-05'"):
        analyse(frame.assign(occurred_at="2024-07-05"), crs=CRS, method="dbscan", eps_m=60,
                min_samples=5)
    seconds = int(pd.Timestamp("2024-07-05T21:00:00Z").value // 10**9)
    boxed = frame.assign(occurred_at=pd.Series([seconds] * len(frame), dtype=object))
    row = analyse(boxed, crs=CRS, method="dbscan", eps_m=60, min_samples=5).hotspots.iloc[0]
    assert row["profile"] == want["profile"]


def test_feature_collection_is_rfc7946():
    frame = incidents_at([(461_000, 451_000, 40)], category="asb")
    result = analyse(frame, crs=CRS, method="kde", bandwidth_m=50, cell_size_m=10)
    fc = json.loads(json.dumps(result.to_feature_collection({"data_version": "x.1"})))
    assert fc["type"] == "FeatureCollection" and "crs" not in fc
    assert fc["metadata"]["parameters"]["bandwidth_m"] == 50
    assert fc["metadata"]["data_version"] == "x.1"
    feature = fc["features"][0]
    lon, lat = feature["geometry"]["coordinates"][0][0]
    assert -2 < lon < 0 and 53 < lat < 55
    assert feature["id"] == "kde-001" and feature["properties"]["category_mix"] == {"asb": 40}
    # RFC 7946 section 3.1.6: exterior rings counter-clockwise, holes clockwise
    import shapely

    for f in fc["features"]:
        for part in shapely.get_parts(shapely.geometry.shape(f["geometry"])):
            assert part.exterior.is_ccw
            assert not any(ring.is_ccw for ring in part.interiors)


def test_rounded_keeps_shapes_valid_and_rings_as_rfc7946_has_them():
    import numpy as np
    import shapely

    from hotspot.geojson import rounded

    clockwise = shapely.Polygon([(0, 0), (0, 1), (1, 1), (1, 0)],  # a hole, both rings CW
                                holes=[[(0.2, 0.2), (0.8, 0.2), (0.8, 0.8), (0.2, 0.8)]])
    # a slit 0.03 wide, whose two sides rounding to 0.1 puts on one line
    sliver = shapely.Polygon([(0, 0), (3, 0), (3, 1), (1.54, 1), (1.54, 0.2), (1.51, 0.2),
                              (1.51, 1), (0, 1)])
    assert sliver.is_valid
    round_only = shapely.set_precision(sliver, 0.1, mode="pointwise")
    assert not round_only.is_valid  # what rounding each coordinate alone would give
    out = rounded(np.array([clockwise, sliver, shapely.Point(0.123, 0.456)], dtype=object), 0.1)
    assert out[0].exterior.is_ccw and not out[0].interiors[0].is_ccw
    assert out[0].equals(clockwise) and shapely.is_valid(out).all()
    assert out[1].equals(shapely.set_precision(sliver, 0.1))  # valid-output mode's shape
    assert shapely.get_coordinates(out[2]).tolist() == [[0.1, 0.5]]
    empty = rounded(np.array([shapely.Polygon(), None], dtype=object), 0.1)
    assert empty[0].geom_type == "Polygon" and empty[0].is_empty and empty[1] is None


def test_a_place_with_no_town_or_area_is_named_by_its_street_alone():
    """A place outside every town and area has no ``place`` (NaN in the table): its name is
    its street, never "Farm Lane, nan"."""
    import geopandas as gpd
    import numpy as np
    import shapely

    from hotspot.analysis import _street_names

    table = gpd.GeoDataFrame({
        "top_locations": [["On or near Farm Lane"], ["On or near High Street"], []],
        "place": [np.nan, "Thornbury", None],
        "context_class": ["rural", "town_centre", "rural"],
    }, geometry=[shapely.Point(0, 0)] * 3, crs="EPSG:27700")
    _street_names(table)
    names = list(table["name"])
    assert names[:2] == ["Farm Lane", "High Street, Thornbury"]
    assert not isinstance(names[2], str)  # no street, no place: no name (not "nan")


@pytest.mark.parametrize("codes", ["categorical", "array", "none"])
def test_only_the_incidents_in_places_are_classified_and_as_they_would_be(codes):
    """The analysis classifies the incidents in a place only (a place's class is made of
    theirs): each gets what classifying every incident gives it."""
    from hotspot.analysis import _members_context

    rng = np.random.default_rng(4)
    xy = rng.uniform(-500, 6500, (4000, 2))
    raw = rng.choice(["E01000099", "E01000001", ""], 4000)
    lsoa = {"categorical": pd.Series(pd.Categorical(raw)), "array": raw.astype(object),
            "none": None}[codes]
    labels = np.where(rng.random(4000) < 0.3, rng.integers(0, 9, 4000), -1)
    whole = incident_context(xy, lsoa, LAYERS)
    some = _members_context(xy, lsoa, labels, LAYERS)
    member = labels >= 0
    for got, want in ((some.cls, whole.cls), (some.town_centre, whole.town_centre),
                      (some.heritage, whole.heritage)):
        np.testing.assert_array_equal(got[member], want[member])
    assert (some.cls[~member] == 3).all() and (some.town_centre[~member] == -1).all()
    assert len(set(whole.cls[member].tolist())) == 4  # every class is among them


def test_nearest_heritage_site_within_reach_is_geos_nearest() -> None:
    """Each incident's site is GEOS's nearest within the distance (inclusive), the first of
    equally near ones; points and polygons as sites."""
    import shapely

    from hotspot.context import _nearest_site

    rng = np.random.default_rng(11)
    centres = rng.uniform(0, 5_000, (25, 2))
    sites = np.asarray([Point(x, y) if i % 3 else Point(x, y).buffer(30)
                        for i, (x, y) in enumerate(centres)], dtype=object)
    xy = np.concatenate([rng.uniform(-500, 5_500, (40_000, 2)),
                         centres + rng.normal(0, 150, centres.shape),
                         [[centres[1, 0] + 200.0, centres[1, 1]]]])  # exactly 200 m away
    got = _nearest_site(sites, xy, 200.0)
    a, b = shapely.STRtree(sites).query_nearest(shapely.points(xy), max_distance=200.0,
                                                all_matches=True)
    want = np.full(len(xy), -1)
    for i, j in sorted(zip(a.tolist(), b.tolist(), strict=True), reverse=True):
        want[i] = j  # the lowest index last
    assert np.array_equal(got, want)
    assert got[-1] == 1 and (got >= 0).sum() > 1_000
    twins = np.asarray([Point(0, 0), Point(100, 0), Point(0, 0)], dtype=object)
    assert _nearest_site(twins, np.array([[50.0, 0.0], [1.0, 0.0], [400.0, 0.0]]),
                         200.0).tolist() == [0, 0, -1]


def test_a_week_profile_with_narrow_labels_is_as_with_int64() -> None:
    """``build_table`` is public: labels given as int16 (hotspot 300 of 301) make the same
    profiles as int64 labels (the hour-of-week key is made in 64 bits, not wrapped)."""
    from hotspot.table import build_table

    shapes = gpd.GeoDataFrame(geometry=[box(i * 10, 0, i * 10 + 5, 5) for i in range(301)],
                              crs=CRS)
    friday = int(pd.Timestamp("2024-07-05 22:30", tz="Europe/London").timestamp())
    incidents = pd.DataFrame({"x": np.full(5, 3002.0), "y": np.full(5, 2.0),
                              "occurred_at": np.full(5, friday, dtype=np.int64),
                              "precision": np.zeros(5, dtype=np.uint8)})
    labels = np.full(5, 300, dtype=np.int16)
    got = build_table("kde", incidents, labels, shapes)
    want = build_table("kde", incidents, labels.astype(np.int64), shapes)
    assert got["profile"].iloc[300][4][22] == 5  # Friday, 22:00 local (BST)
    assert got["profile"].tolist() == want["profile"].tolist()
    assert got["peak_days"].iloc[300] == ["Fri"] and got["peak_hours"].iloc[300] == [22]


@pytest.mark.parametrize("with_harm", [True, False])
def test_the_tables_compiled_sums_are_numpys(monkeypatch, with_harm: bool) -> None:
    """The table's sums, time ranges and counts of values by one compiled pass each (a process
    that loaded the compiled steps) and by numpy: the same table to the last bit, with
    incidents in no place, weights, harm, missing and blank values, and times of every
    precision across a change of the clocks."""
    import hotspot.table as table
    from hotspot._native import native_steps

    assert native_steps() is not None  # numba: a dependency
    rng = np.random.default_rng(7)
    n, k = 60_000, 40
    shapes = gpd.GeoDataFrame(geometry=[box(i * 500, 0, i * 500 + 400, 400) for i in range(k)],
                              crs=CRS)
    labels = rng.integers(-1, k, n)
    labels[labels == 7] = -1  # a place with no incidents
    start = int(pd.Timestamp("2024-03-20", tz="UTC").timestamp())
    names = np.array(["On or near High Street", " ", "On or near Mill Lane", "Car park"],
                     dtype=object)
    incidents = pd.DataFrame({
        "x": np.where(labels >= 0, labels, 0) * 500 + rng.uniform(0, 400, n),
        "y": rng.uniform(0, 400, n),
        "weight": rng.choice([1.0, 0.1, 28.0], n),
        "occurred_at": start + rng.integers(0, 20 * 86_400, n),  # 31 March: the clocks change
        "precision": rng.choice(np.array([0, 0, 0, 1, 2], dtype=np.uint8), n),
        "category": pd.Categorical.from_codes(rng.integers(-1, 3, n),
                                              ["burglary", "drugs", "vehicle-crime"]),
        "location_text": pd.Categorical.from_codes(rng.integers(-1, 4, n), names),
    })
    if with_harm:
        incidents["harm"] = rng.uniform(0, 300, n)
    incidents.loc[labels == 3, "precision"] = 2  # a place with months only

    def made() -> str:
        got = table.build_table("dbscan", incidents, labels, shapes, timezone="Europe/London")
        return json.dumps(got.drop(columns="geometry").to_dict("list"), default=str)

    def sums() -> list[np.ndarray]:  # unrounded, from narrow labels and read-only columns
        narrow = labels.astype(np.int16)
        columns = [incidents[c].to_numpy(float) for c in ("x", "y", "weight")]
        for column in columns:
            column.flags.writeable = False
        harm = incidents["harm"].to_numpy(float) if with_harm else None
        wide = table._checked_labels(narrow, n, k)
        t = incidents["occurred_at"].to_numpy(np.int64)
        prec = incidents["precision"].to_numpy(np.int64)
        return [a for a in (*table._sums(wide, k, *columns, harm),
                            *table._time_ranges(wide, k, t, prec)) if a is not None]

    assert table.loaded_native_steps() is not None
    compiled, compiled_sums = made(), sums()
    monkeypatch.setattr(table, "loaded_native_steps", lambda: None)
    assert made() == compiled
    for got, want in zip(sums(), compiled_sums, strict=True):
        np.testing.assert_array_equal(got, want)
    one = json.loads(compiled)
    assert one["incidents"][7] == 0 and one["time_precision"][3] == "month"
    assert one["profile"][3] is None and one["profile"][0] is not None
    assert all(" " not in tops for tops in one["top_locations"])


@pytest.mark.parametrize("labels", [np.zeros(4, dtype=np.int64), np.array([0, 0, 0, -2]),
                                    np.array([0, 0, 0, 2]), np.array([0.0, 0.0, 1.0, 1.0])])
def test_the_table_refuses_labels_that_are_not_its_hotspots(labels) -> None:
    from hotspot.table import build_table

    shapes = gpd.GeoDataFrame(geometry=[box(0, 0, 5, 5), box(10, 0, 15, 5)], crs=CRS)
    incidents = pd.DataFrame({"x": [1.0, 2.0, 11.0], "y": [1.0, 2.0, 1.0]})
    if labels.size == 4 and labels.dtype != np.float64 and labels.min() >= 0 \
            and labels.max() < 2:
        incidents = pd.concat([incidents, incidents.iloc[:1]])  # the right length: accepted
        assert build_table("kde", incidents, labels, shapes)["incidents"].tolist() == [4, 0]
        incidents = incidents.iloc[:3]  # one label too many
    else:
        incidents = pd.concat([incidents, incidents.iloc[:1]])
    with pytest.raises(InvalidParameter) as refused:
        build_table("kde", incidents, labels, shapes)
    assert refused.value.parameter == "labels"


def test_the_hotspots_compiled_class_sums_are_numpys(monkeypatch) -> None:
    """A hotspot's shares of each class and its town centre or site by weight: by one compiled
    pass each (a process that loaded the compiled steps) and by numpy's masked copies, the
    same columns to the last bit (weights that sum inexactly, incidents in no hotspot)."""
    import hotspot.context as context
    from hotspot._native import native_steps

    assert native_steps() is not None and context.loaded_native_steps() is not None
    rng = np.random.default_rng(9)
    n = 20_000
    xy = rng.uniform(-500, 6500, (n, 2))
    hotspots = gpd.GeoDataFrame(geometry=[box(x, y, x + 400, y + 400) for x, y in
                                          rng.uniform(0, 6000, (30, 2))], crs=CRS)
    # ten hotspots in the town centre, ten in the rest of the town, ten beyond it
    import shapely

    where = np.where(shapely.contains_xy(CENTRE, *xy.T), 0,
                     np.where(shapely.contains_xy(TOWN, *xy.T), 10, 20))
    labels = np.where(rng.random(n) < 0.7, where + rng.integers(0, 10, n), -1)
    weights = rng.choice([0.1, 1.0, 2.5, 28.0], n)
    found = incident_context(xy, None, LAYERS)

    def classified() -> str:
        out = context.classify_hotspots(hotspots, labels, weights, found, LAYERS)
        return json.dumps({c: np.asarray(v).tolist() for c, v in out.items()})

    native = context.loaded_native_steps()
    calls: list[int] = []
    real = native.pair_sums
    monkeypatch.setattr(native, "pair_sums", lambda *a: (calls.append(1), real(*a))[1])
    compiled = classified()
    assert len(calls) == 3  # the classes, the town centres, the sites: compiled
    # the sums themselves, unrounded: by class, and by town centre
    for other, width in ((found.cls, len(context.CLASSES)), (found.town_centre, 1)):
        keys, sums = context._pair_sums(labels, other, weights, 30, width)
        sel = (labels >= 0) & (other >= 0)
        want = np.bincount(labels[sel] * width + other[sel], weights=weights[sel],
                           minlength=30 * width)
        np.testing.assert_array_equal(keys, np.flatnonzero(np.bincount(
            labels[sel] * width + other[sel], minlength=30 * width)))
        np.testing.assert_array_equal(sums, want[keys])
    # a label past the hotspots is left out as numpy's steps leave it, not written past them
    assert context._pair_sums(np.append(labels, 30), np.append(found.cls, 0),
                              np.append(weights, 1.0), 30, 4) is None
    monkeypatch.setattr(context, "loaded_native_steps", lambda: None)
    assert classified() == compiled
    one = json.loads(compiled)
    assert len(set(one["context_class"])) >= 2
    assert {"Thornbury", "near Thornbury"} & set(one["place"])
    shares = np.array([one[f"share_{c}"] for c in context.CLASSES])
    assert np.allclose(shares.sum(axis=0), 1.0, atol=1e-3)


def test_the_compiled_recent_shares_are_numpys(monkeypatch) -> None:
    """Each hotspot's share of its weight in the later half of the period, by one compiled
    pass (a process that loaded the compiled steps) and by numpy: the same to the last bit,
    incidents at the middle itself counted late, none in a hotspot, zero weights; float
    times left to numpy."""
    import hotspot.rank as rank
    from hotspot._native import native_steps

    assert native_steps() is not None and rank.loaded_native_steps() is not None
    rng = np.random.default_rng(11)
    n, k = 50_000, 25
    labels = np.where(rng.random(n) < 0.8, rng.integers(0, k, n), -1)
    labels[labels == 4] = -1  # a hotspot with nothing: 0.5
    weights = rng.choice([0.0, 0.1, 1.0, 7.5, 28.0], n)
    weights[labels == 9] = -0.5  # outside the contract, yet the same either way
    weights[np.flatnonzero(labels == 11)[:1]] = np.nan
    infinite = np.flatnonzero(labels == 12)[-1:]  # past the rows set at the middle below
    weights[infinite] = np.inf  # early: numpy's inf * 0.0 makes the recent sum NaN
    t = rng.integers(1_700_000_000, 1_700_000_000 + 60 * 86_400, n)
    t[infinite] = 1_700_000_000
    period = (1_700_000_000, 1_700_000_000 + 60 * 86_400)
    t[:50] = 1_700_000_000 + 30 * 86_400  # at the middle: late
    t[50:100] = 1_700_000_000 + 30 * 86_400 - 1  # a second before it
    native = rank.loaded_native_steps()
    calls: list[int] = []
    real = native.recent_sums
    monkeypatch.setattr(native, "recent_sums", lambda *a: (calls.append(1), real(*a))[1])
    with np.errstate(invalid="ignore"):  # the infinite weight's NaN / inf
        compiled = rank.recent_share(labels, weights, t, k, period)
        assert calls == [1]  # the compiled pass made it
        floats = rank.recent_share(labels, weights, t + 0.75, k, period)
        assert calls == [1]  # float times: numpy's steps
        monkeypatch.setattr(rank, "loaded_native_steps", lambda: None)
        np.testing.assert_array_equal(rank.recent_share(labels, weights, t, k, period),
                                      compiled)
        np.testing.assert_array_equal(rank.recent_share(labels, weights, t + 0.75, k, period),
                                      floats)
    assert compiled[4] == 0.5 and 0.3 < np.delete(compiled, [9, 11, 12]).mean() < 0.7
    assert compiled[11] == 0.5 and np.isnan(compiled[12])  # a NaN total: unknown
