"""Splitting hotspot areas into patrol-scale places (hotspot.places), on hand-made cases."""

from __future__ import annotations

import functools
import itertools
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely

from hotspot.errors import InvalidParameter, WorkLimitExceeded
from hotspot.places import split_places, widest_extent_m

CRS = "EPSG:27700"
ORIGIN = np.array([500_000.0, 200_000.0])


def _areas(*geoms: shapely.Geometry) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"cluster": np.arange(len(geoms))}, geometry=list(geoms), crs=CRS)


def _shift(geom: shapely.Geometry) -> shapely.Geometry:
    return shapely.transform(geom, lambda c: c + ORIGIN)


@pytest.fixture
def three_on_a_line() -> tuple[np.ndarray, gpd.GeoDataFrame, np.ndarray]:
    """A 1 km street (a 40 m wide strip) with three tight clusters 400 m apart, densest first
    from the west, and a thin scatter along the whole street."""
    rng = np.random.default_rng(7)
    centres = np.array([[100.0, 20.0], [500.0, 20.0], [900.0, 20.0]])
    clusters = [rng.normal(c, 15.0, (n, 2)) for c, n in zip(centres, (300, 250, 200), strict=True)]
    scatter = np.column_stack([rng.uniform(0, 1000, 60), rng.uniform(5, 35, 60)])
    xy = np.clip(np.concatenate([*clusters, scatter]), [0, 0.5], [1000, 39.5]) + ORIGIN
    return xy, _areas(_shift(shapely.box(0, 0, 1000, 40))), centres + ORIGIN


def test_widest_extent_is_the_diameter():
    geoms = [shapely.box(0, 0, 300, 400), shapely.Point(5, 5), shapely.LineString([(0, 0), (3, 4)]),
             shapely.Point(0, 0).buffer(100, quad_segs=64), shapely.Polygon()]
    got = widest_extent_m(gpd.GeoSeries(geoms))
    assert got == pytest.approx([500.0, 0.0, 5.0, 200.0, 0.0], rel=1e-12)
    assert (got <= [500.0, 0.0, 5.0, 200.0 + 1e-9, 0.0]).all()  # never above the true diameter
    assert widest_extent_m([]).shape == (0,)


def test_widest_extent_is_the_largest_distance_between_two_vertices_in_both_steps():
    # every pair of hull vertices, compiled and in numpy, to the same bits as scipy's
    # all-pairs distances; shapes of a few to thousands of vertices (the compiled loop skips
    # the points that cannot beat the best pair: never the answer)
    from scipy.spatial.distance import pdist

    from hotspot import _gridnative
    from hotspot.places import _squared_diameter

    rng = np.random.default_rng(11)
    geoms = [shapely.Point(0, 0).buffer(r, quad_segs=q) for r, q in ((3.0, 2), (250.0, 64),
                                                                     (1e4, 1000))]
    geoms += [shapely.convex_hull(shapely.multipoints(rng.normal(ORIGIN, s, (n, 2))))
              for s, n in ((5.0, 3), (80.0, 200), (400.0, 5000))]
    geoms += [shapely.union_all([shapely.box(x, 0, x + 10, 10) for x in (0, 50, 400)])]
    hulls = shapely.convex_hull(np.array(geoms, dtype=object))
    coords, index = shapely.get_coordinates(hulls, return_index=True)
    _present, starts = np.unique(index, return_index=True)
    bounds = np.append(starts, coords.shape[0]).astype(np.int64)
    compiled = _gridnative.hull_diameters(coords, bounds)
    plain = [_squared_diameter(coords[a:b]) for a, b in itertools.pairwise(bounds)]
    brute = [float(pdist(coords[a:b]).max()) for a, b in itertools.pairwise(bounds)]
    assert compiled.tolist() == plain
    assert np.sqrt(compiled) == pytest.approx(brute, rel=1e-12)
    assert widest_extent_m(geoms).tolist() == np.sqrt(compiled).tolist()  # numba is loaded here


def test_a_small_cluster_stays_one_place():
    rng = np.random.default_rng(1)
    xy = rng.normal(ORIGIN + 50, 10.0, (40, 2))
    area = shapely.buffer(shapely.convex_hull(shapely.multipoints(xy)), 5.0)
    labels = np.zeros(40, dtype=np.int64)
    labels[:3] = -1  # three incidents outside every area stay outside every place
    split = split_places(xy, None, labels, _areas(area))
    assert len(split.places) == 1
    place = split.places.iloc[0]
    assert place["parent"] == 0 and place["incidents"] == 37 and not place["split"]
    assert place.geometry.equals(area)
    assert (split.labels == np.where(labels >= 0, 0, -1)).all()
    assert split.areas["places"].tolist() == [1]
    assert np.hypot(place["peak_x"] - ORIGIN[0] - 50, place["peak_y"] - ORIGIN[1] - 50) < 15


def test_a_street_of_three_clusters_splits_at_the_three_peaks(three_on_a_line):
    xy, areas, centres = three_on_a_line
    split = split_places(xy, None, np.zeros(len(xy), dtype=np.int64), areas, min_incidents=40)
    places = split.places
    assert len(places) == 3 and places["split"].all() and (places["parent"] == 0).all()
    assert split.areas["places"].tolist() == [3]
    # densest first, each centred on its cluster (within a grid cell of 12.5 m and the noise)
    peaks = places[["peak_x", "peak_y"]].to_numpy()
    assert np.hypot(*(peaks - centres).T).max() < 15
    assert (places["width_m"] <= 250.0).all()
    assert (widest_extent_m(places.geometry) <= 250.0).all()
    geoms = places.geometry.to_numpy()
    for i in range(3):  # disjoint (they may share an edge, never an area)
        for j in range(i + 1, 3):
            assert shapely.area(shapely.intersection(geoms[i], geoms[j])) < 1e-6
    # every incident of a place lies in its polygon; the clusters' incidents are all placed
    for p in range(3):
        members = xy[split.labels == p]
        assert shapely.intersects_xy(geoms[p], members[:, 0], members[:, 1]).all()
        assert members.shape[0] == places["incidents"].iloc[p]
    assert (split.labels[:750] >= 0).mean() > 0.99
    assert places["incidents"].iloc[0] >= places["incidents"].iloc[2]


def test_an_even_carpet_splits_into_places_none_wider_than_the_maximum():
    g = np.arange(5.0, 1000.0, 10.0)
    xy = np.array(np.meshgrid(g, g)).reshape(2, -1).T + ORIGIN
    areas = _areas(_shift(shapely.box(0, 0, 1000, 1000)))
    split = split_places(xy, None, np.zeros(len(xy), dtype=np.int64), areas, max_place_m=250.0)
    places = split.places
    # a 1 km square holds at least (1000 / 250)^2 = 16 discs' worth of places
    assert len(places) >= 16
    assert (widest_extent_m(places.geometry) <= 250.0).all()
    assert np.bincount(split.labels[split.labels >= 0]).tolist() == places["incidents"].tolist()
    union = shapely.union_all(places.geometry.to_numpy())
    assert union.area == pytest.approx(places.area.sum(), rel=1e-9)  # disjoint
    assert (split.labels >= 0).all()  # min_incidents 1: every incident finds a place
    # peaks are at least a place radius apart
    peaks = places[["peak_x", "peak_y"]].to_numpy()
    gaps = np.hypot(*(peaks[:, None, :] - peaks[None, :, :]).transpose(2, 0, 1))
    assert gaps[np.triu_indices(len(peaks), 1)].min() > 125.0


def test_min_incidents_drops_small_remainders(three_on_a_line):
    xy, areas, _ = three_on_a_line
    labels = np.zeros(len(xy), dtype=np.int64)
    every = split_places(xy, None, labels, areas, min_incidents=1)
    kept = split_places(xy, None, labels, areas, min_incidents=40)
    assert len(every.places) > 3 and len(kept.places) == 3
    assert every.places["incidents"].min() < 40
    assert (kept.places["incidents"] >= 40).all()
    assert (every.labels >= 0).all()
    dropped = kept.labels < 0
    assert 0 < dropped.sum() <= 60  # only scattered incidents lose their place
    # the kept places are the first three of the full split, unchanged
    assert np.array_equal(kept.labels, np.where(every.labels < 3, every.labels, -1))
    # an area no wider than a place with fewer incidents than min_incidents has no place
    few = split_places(xy[:5], None, np.zeros(5, dtype=np.int64),
                       _areas(shapely.buffer(shapely.Point(*xy[0]), 20)), min_incidents=6)
    assert len(few.places) == 0 and (few.labels == -1).all() and few.areas["places"].tolist() == [0]


def test_the_split_is_deterministic_and_ignores_the_input_order(three_on_a_line):
    xy, areas, _ = three_on_a_line
    labels = np.zeros(len(xy), dtype=np.int64)
    a = split_places(xy, None, labels, areas, min_incidents=5)
    b = split_places(xy, None, labels, areas, min_incidents=5)
    assert np.array_equal(a.labels, b.labels)
    assert a.places.drop(columns="geometry").equals(b.places.drop(columns="geometry"))
    perm = np.random.default_rng(3).permutation(len(xy))
    c = split_places(xy[perm], None, labels, areas, min_incidents=5)
    assert np.array_equal(c.labels, a.labels[perm])
    assert np.allclose(c.places[["peak_x", "peak_y"]], a.places[["peak_x", "peak_y"]])


def test_weights_move_the_peaks():
    # two clusters 600 m apart in one strip: by count the west one is densest, by harm the east
    rng = np.random.default_rng(5)
    west = rng.normal([100.0, 20.0], 10.0, (100, 2))
    east = rng.normal([700.0, 20.0], 10.0, (50, 2))
    xy = np.concatenate([west, east]) + ORIGIN
    areas = _areas(_shift(shapely.box(0, 0, 800, 40)))
    labels = np.zeros(150, dtype=np.int64)
    by_count = split_places(xy, None, labels, areas)
    harm = np.r_[np.ones(100), np.full(50, 10.0)]
    by_harm = split_places(xy, harm, labels, areas)
    assert by_count.places["peak_x"].iloc[0] < ORIGIN[0] + 400 < by_harm.places["peak_x"].iloc[0]
    assert by_harm.places["weight"].iloc[0] == pytest.approx(500.0)


def test_areas_split_separately_and_labels_follow_the_places(three_on_a_line):
    xy, areas, _ = three_on_a_line
    far = np.random.default_rng(2).normal(ORIGIN + np.array([5000.0, 5000.0]), 10.0, (50, 2))
    both = np.concatenate([xy, far])
    two = _areas(areas.geometry.iloc[0], shapely.buffer(shapely.Point(*(ORIGIN + 5000)), 60))
    labels = np.r_[np.zeros(len(xy), dtype=np.int64), np.ones(50, dtype=np.int64)]
    split = split_places(both, None, labels, two, min_incidents=40)
    assert split.places["parent"].tolist() == [0, 0, 0, 1]
    assert split.areas["places"].tolist() == [3, 1]
    assert (split.labels[-50:] == 3).all()
    assert split.areas["width_m"].iloc[0] == pytest.approx(np.hypot(1000, 40), rel=1e-4)


def test_the_number_of_places_is_bounded(three_on_a_line):
    xy, areas, _ = three_on_a_line
    labels = np.zeros(len(xy), dtype=np.int64)
    with pytest.raises(WorkLimitExceeded) as err:
        split_places(xy, None, labels, areas, max_place_m=20.0, max_places=10)
    assert err.value.parameter == "max_place_m" and err.value.limit == 10


@pytest.mark.parametrize("bad", [0.0, -250.0, float("nan"), float("inf"), "wide", None])
def test_a_bad_width_is_refused_by_name(three_on_a_line, bad):
    xy, areas, _ = three_on_a_line
    with pytest.raises(InvalidParameter, match="max_place_m") as err:
        split_places(xy, None, np.zeros(len(xy), dtype=np.int64), areas, max_place_m=bad)
    assert err.value.parameter == "max_place_m"


def test_bad_inputs_are_refused_by_name(three_on_a_line):
    xy, areas, _ = three_on_a_line
    labels = np.zeros(len(xy), dtype=np.int64)
    with pytest.raises(InvalidParameter) as err:
        split_places(xy, None, labels, areas, min_incidents=0)
    assert err.value.parameter == "min_incidents"
    with pytest.raises(InvalidParameter) as err:
        split_places(xy, None, labels + 1, areas)
    assert err.value.parameter == "area_labels"
    with pytest.raises(InvalidParameter) as err:
        split_places(xy, -np.ones(len(xy)), labels, areas)
    assert err.value.parameter == "weights"


@pytest.mark.parametrize("hole", [shapely.Polygon(), None])
def test_incidents_in_an_area_without_a_polygon_are_refused_by_name(three_on_a_line, hole):
    xy, areas, _ = three_on_a_line
    shapes = gpd.GeoDataFrame(geometry=[areas.geometry.iloc[0], hole], crs=areas.crs)
    labels = np.zeros(len(xy), dtype=np.int64)
    # an empty area nobody is labelled to makes no place, as before
    assert split_places(xy, None, labels, shapes).areas["places"].tolist()[1] == 0
    labels[-1] = 1
    with pytest.raises(InvalidParameter, match="area_shapes row 1") as err:
        split_places(xy, None, labels, shapes)
    assert err.value.parameter == "area_shapes"


def test_no_incidents_no_places():
    split = split_places(np.empty((0, 2)), None, np.empty(0, dtype=np.int64),
                         _areas(_shift(shapely.box(0, 0, 500, 500))))
    assert len(split.places) == 0 and split.labels.shape == (0,)
    assert split.areas["places"].tolist() == [0] and split.places.crs == CRS


def test_ties_go_north_west_first():
    # four identical squares of four incidents at the corners of a 700 m area: equal peaks
    square = np.array([[0, 0], [100, 0], [0, 100], [100, 100]], dtype=float)
    corners = np.array([[0.0, 600.0], [600.0, 600.0], [0.0, 0.0], [600.0, 0.0]])
    xy = (corners[:, None, :] + square[None, :, :]).reshape(-1, 2)
    xy += ORIGIN
    areas = _areas(_shift(shapely.box(-10, -10, 710, 710)))
    split = split_places(xy, None, np.zeros(16, dtype=np.int64), areas)
    peaks = split.places[["peak_x", "peak_y"]].to_numpy() - ORIGIN
    assert np.abs(peaks - [[50, 650], [650, 650], [50, 50], [650, 50]]).max() < 12.5
    assert split.labels.tolist() == np.repeat([0, 1, 2, 3], 4).tolist()


def test_places_widths_are_their_diameters_and_can_be_left_out(three_on_a_line):
    """Each place's width_m is its own diameter (a whole area's: the area's), measured at the
    end in one call; ``place_widths=False`` (the hotspot answer, the backtest) leaves the
    column out and changes nothing else."""
    xy, areas, _centres = three_on_a_line
    town = _shift(shapely.box(3000, 0, 3100, 100))  # narrower than 250 m: kept whole
    in_town = ORIGIN + np.random.default_rng(4).uniform([3010, 10], [3090, 90], (50, 2))
    labels = np.concatenate([np.zeros(len(xy), dtype=np.int64), np.ones(50, dtype=np.int64)])
    xy = np.concatenate([xy, in_town])
    both = _areas(areas.geometry.iloc[0], town)
    split = split_places(xy, None, labels, both, min_incidents=40)
    places = split.places
    assert places["split"].tolist() == [True, True, True, False]
    want = widest_extent_m(places.geometry)
    want[~places["split"].to_numpy()] = split.areas["width_m"].to_numpy()[1]
    np.testing.assert_array_equal(places["width_m"].to_numpy(), want)
    bare = split_places(xy, None, labels, both, min_incidents=40, place_widths=False)
    assert "width_m" not in bare.places.columns
    np.testing.assert_array_equal(bare.labels, split.labels)
    assert bare.places.drop(columns="geometry").equals(
        places.drop(columns=["geometry", "width_m"]))
    assert shapely.equals_exact(bare.places.geometry.values, places.geometry.values,
                                tolerance=0).all()


def test_no_areas_no_places():
    none = gpd.GeoDataFrame({"cluster": np.empty(0, dtype=np.int64)},
                            geometry=gpd.GeoSeries([], crs=CRS), crs=CRS)
    split = split_places(ORIGIN + np.zeros((3, 2)), None, np.full(3, -1, dtype=np.int64), none)
    assert len(split.places) == 0 and (split.labels == -1).all() and len(split.areas) == 0


def _assert_same_split(got: Any, want: Any) -> None:
    """Two splits (PlaceSplit) the same to the last bit: labels, every column, polygons."""
    np.testing.assert_array_equal(got.labels, want.labels)
    for column in ("parent", "peak_x", "peak_y", "peak_density", "incidents", "weight",
                   "width_m", "split"):
        np.testing.assert_array_equal(got.places[column].to_numpy(),
                                      want.places[column].to_numpy(), err_msg=column)
    assert shapely.equals_exact(got.places.geometry.values, want.places.geometry.values,
                                tolerance=0).all()


def test_the_compiled_loops_make_the_same_places_to_the_last_bit(monkeypatch):
    """From NATIVE_FROM incidents the peaks are found and taken out by compiled loops: the same
    arithmetic in the same order, so the same places, peaks, densities and shapes as numpy's
    (a city of many blobs and a weighted scatter, split into a few hundred places)."""
    import hotspot.places as places
    from hotspot._native import native_steps

    rng = np.random.default_rng(18)
    blobs = rng.uniform(0, 4000, (60, 2))
    in_town = np.clip(rng.normal([4350.0, 150.0], 60.0, (150, 2)), [4101, 1], [4599, 299])
    xy = np.concatenate([rng.normal(b, rng.uniform(20, 120), (int(rng.integers(50, 900)), 2))
                         for b in blobs] + [rng.uniform(0, 4000, (3000, 2)), in_town]) + ORIGIN
    weights = rng.choice([1.0, 2.5, 28.0], xy.shape[0])
    city = _shift(shapely.Polygon([(0, 0), (4000, 0), (4000, 2500), (2500, 4000), (0, 4000)]))
    town = _shift(shapely.box(4100, 0, 4600, 300))
    inside = shapely.contains_xy(city, xy[:, 0], xy[:, 1])
    labels = np.where(inside, 0, -1)
    labels[-len(in_town):] = 1
    areas = _areas(city, town)

    def split() -> places.PlaceSplit:
        return split_places(xy, weights, labels, areas, max_place_m=250.0, min_incidents=3)

    native = native_steps()
    assert native is not None  # numba is a dependency, never skipped
    import hotspot.place_batch as place_batch

    monkeypatch.setattr(places, "NATIVE_FROM", 0)  # the compiled loops, at this size
    ffts: list[tuple[int, ...]] = []
    fft = place_batch.fftconvolve

    def recorded_fft(a: np.ndarray, *args: object, **kwargs: object) -> np.ndarray:
        ffts.append(a.shape)
        return fft(a, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(place_batch, "fftconvolve", recorded_fft)
    compiled = split()  # the two areas cut together (hotspot.place_batch)
    assert native.area_places.signatures and len(ffts) == 1  # the city smoothed by FFT
    # and each area cut alone by the compiled loops (an area the batch leaves to them)
    density = native.place_density
    smoothed: list[bool] = []

    def place_density(*args: object) -> tuple[np.ndarray, bool]:
        grid, done = density(*args)
        smoothed.append(done)
        return grid, done

    monkeypatch.setattr(native, "place_density", place_density)
    monkeypatch.setattr(places, "_cut_together", lambda areas, *args: [None] * len(areas))
    alone = split()
    assert native.take_places.signatures and density.signatures  # they ran
    assert sorted(smoothed) == [False, True]  # the town smoothed there, the city by FFT
    monkeypatch.setattr(places, "native_steps", lambda: None)
    monkeypatch.setattr(places, "loaded_native_steps", lambda: None)
    plain = split()
    assert len(plain.places) > 200
    for other in (compiled, alone):
        _assert_same_split(other, plain)


def test_places_the_compiled_loop_leaves_to_python_are_the_same(monkeypatch):
    """A place whose points the compiled loop cannot take out without the FFT is made by the
    steps in Python, and the loop goes on: the same places as numpy's, to the last bit (the
    FFT from a small patch here, so that it happens again and again)."""
    import hotspot.place_grid as place_grid
    import hotspot.places as places

    rng = np.random.default_rng(4)
    xy = np.concatenate([rng.normal(c, 70.0, (400, 2)) for c in rng.uniform(0, 2000, (12, 2))])
    xy += ORIGIN
    city = _shift(shapely.box(-400, -400, 2400, 2400))
    areas = _areas(city)
    labels = np.zeros(xy.shape[0], dtype=np.int64)
    monkeypatch.setattr(place_grid, "_FFT_FROM", 4_000)
    states: list[int] = []
    take = place_grid.AreaGrid.take_places

    def recorded(self: place_grid.AreaGrid, *args: object) -> tuple:
        out = take(self, *args)  # type: ignore[arg-type]
        states.append(out[3])
        return out

    monkeypatch.setattr(place_grid.AreaGrid, "take_places", recorded)
    monkeypatch.setattr(places, "NATIVE_FROM", 0)
    compiled = split_places(xy, None, labels, areas, max_place_m=250.0, max_places=500)
    assert states.count(2) > 10 and states[-1] == 0  # left to Python often, then done
    monkeypatch.setattr(places, "native_steps", lambda: None)
    monkeypatch.setattr(places, "loaded_native_steps", lambda: None)
    plain = split_places(xy, None, labels, areas, max_place_m=250.0, max_places=500)
    assert len(plain.places) > 40
    np.testing.assert_array_equal(compiled.labels, plain.labels)
    for column in ("peak_x", "peak_y", "peak_density", "incidents", "weight"):
        np.testing.assert_array_equal(compiled.places[column].to_numpy(),
                                      plain.places[column].to_numpy(), err_msg=column)
    assert shapely.equals_exact(compiled.places.geometry.values, plain.places.geometry.values,
                                tolerance=0).all()
    # the limit of places refuses at the same place, in the compiled loop's chunks too
    monkeypatch.undo()
    monkeypatch.setattr(places, "NATIVE_FROM", 0)
    made = len(plain.places)
    assert len(split_places(xy, None, labels, areas, max_place_m=250.0,
                            max_places=made).places) == made
    for limit in (made - 1, 7):
        with pytest.raises(WorkLimitExceeded) as refused:
            split_places(xy, None, labels, areas, max_place_m=250.0, max_places=limit)
        assert refused.value.found == limit + 1


def test_areas_cut_together_make_the_same_places_to_the_last_bit(monkeypatch):
    """Areas cut together (hotspot.place_batch: their grids and places in two compiled calls,
    their polygons together) make the same places, peaks, densities, widths and polygons as
    each area cut alone by numpy, in threads or not (a grid smoothed by FFT among them); an
    area too large for those steps (its polygon, or its points far beyond it) is left to the
    per-area ones; and the limit of places refuses where it does without them."""
    import hotspot.place_batch as place_batch
    import hotspot.places as places
    from hotspot._threads import set_threads, threads

    rng = np.random.default_rng(23)
    groups: list[np.ndarray] = []
    geoms: list[shapely.Geometry] = []
    for centre in rng.uniform(0, 20_000, (40, 2)):  # DBSCAN-like areas, whole or split
        pts = rng.normal(centre, rng.uniform(15, 160), (int(rng.integers(5, 400)), 2))
        groups.append(pts)
        geoms.append(shapely.convex_hull(shapely.multipoints(pts)).buffer(30, quad_segs=8))
    x, y = 25_000.0, 0.0
    two = rng.normal([x, y], 40, (120, 2))
    two[60:, 0] += 450
    groups.append(two)  # two parts: a disc's intersection with only the part it touches
    geoms.append(shapely.union_all([shapely.convex_hull(shapely.multipoints(two[:60])),
                                    shapely.convex_hull(shapely.multipoints(two[60:]))]
                                   ).buffer(25))
    ring = rng.uniform(-400, 400, (300, 2)) + np.array([x, 3000])
    groups.append(ring)  # a hole
    geoms.append(shapely.box(x - 410, 2590, x + 410, 3410).difference(
        shapely.Point(x, 3000).buffer(120)))
    groups.append(np.column_stack([rng.uniform(0, 900, 40), np.full(40, 9000.0)]) + np.array([x, 0]))
    geoms.append(shapely.Polygon([(x, 9000.0), (x + 900, 9000.000001), (x + 900, 9000.5),
                                  (x, 9000.0)]))  # a sliver
    groups.append(rng.uniform(0, [3000, 1000], (1500, 2)) + np.array([x, 12_000]))  # sparse: the FFT
    geoms.append(shapely.box(x, 12_000, x + 3000, 13_000))
    groups.append(rng.uniform(0, 14_000, (80, 2)) + np.array([x + 5000, 0]))  # too large
    geoms.append(shapely.box(x + 5000, 0, x + 19_000, 14_000))
    far = rng.normal([x, 20_000], 30, (50, 2))
    far[-3:] += 14_000  # a few points far beyond a small polygon: its grid too large too
    groups.append(far)
    geoms.append(shapely.Point(x, 20_000).buffer(120))
    xy = np.concatenate(groups) + ORIGIN
    labels = np.repeat(np.arange(len(groups)), [g.shape[0] for g in groups])
    order = rng.permutation(xy.shape[0])
    xy, labels = xy[order], labels[order]
    weights = rng.choice([0.0, 1.0, 2.5, 28.0], xy.shape[0])
    areas = _areas(*[_shift(g) for g in geoms])
    assert (np.bincount(labels) < places.SMALL_AREA).all()
    answered: list[bool] = []
    peaks = place_batch.area_peaks

    def recorded(*args: object, **kwargs: object) -> list:
        out = peaks(*args, **kwargs)  # type: ignore[arg-type]
        answered.extend(p is not None for p in out)
        return out

    monkeypatch.setattr(places, "area_peaks", recorded)
    monkeypatch.setattr(places, "NATIVE_FROM", 0)
    ffts = 0
    fft = place_batch.fftconvolve

    def counted_fft(*args: object, **kwargs: object) -> np.ndarray:
        nonlocal ffts
        ffts += 1
        return fft(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(place_batch, "fftconvolve", counted_fft)

    def split(limit: int | None = None) -> places.PlaceSplit:
        return split_places(xy, weights, labels, areas, max_place_m=250.0, min_incidents=3,
                            max_places=limit)

    together = split()
    assert answered.count(True) == len(groups) - 2 and answered.count(False) == 2
    assert ffts == 1  # the sparse area's grid smoothed by FFT, between the compiled calls
    was = threads()
    try:
        set_threads(1)
        alone_thread = split()
    finally:
        set_threads(was)
    monkeypatch.setattr(places, "native_steps", lambda: None)
    monkeypatch.setattr(places, "loaded_native_steps", lambda: None)
    plain = split()
    assert len(plain.places) > 150 and (plain.areas["places"] == 1).sum() > 5
    for other in (together, alone_thread):
        _assert_same_split(other, plain)
    made = len(plain.places)
    for limit in (made - 1, 5, 0):
        refused = []
        for native in (True, False):
            monkeypatch.undo()
            monkeypatch.setattr(places, "NATIVE_FROM", 0)
            drawn: list[int] = []
            monkeypatch.setattr(places, "_place_shapes",
                                functools.partial(_counted_shapes, places._place_shapes, drawn))
            if not native:
                monkeypatch.setattr(places, "native_steps", lambda: None)
                monkeypatch.setattr(places, "loaded_native_steps", lambda: None)
            with pytest.raises(WorkLimitExceeded) as err:
                split(limit)
            refused.append(err.value.found)
            if native:  # no more peaks made and drawn together than the limit allows (in
                # each thread's group of areas)
                assert sum(drawn) <= threads() * limit
        assert refused == [limit + 1, limit + 1]


def _counted_shapes(shapes: Any, drawn: list[int], discs: np.ndarray, *args: Any) -> Any:
    """``shapes(discs, *args)`` (hotspot.places._place_shapes), the discs counted in ``drawn``."""
    drawn.append(discs.shape[0])
    return shapes(discs, *args)


def test_the_compiled_scan_of_an_area_grid_answers_as_geos_does():
    # every grid point of every shape: inside, outside or on the boundary exactly as GEOS's
    # intersects_xy says, on shapes made to be awkward for a scan: edges and vertices right
    # on the grid's points and rows, holes, several parts, near-horizontal edges, a hair-thin
    # spike, convex buffered hulls as DBSCAN makes them; and invalid shapes go to GEOS whole
    from hotspot import _gridnative
    from hotspot.place_grid import inside_grid, ring_coordinates

    rng = np.random.default_rng(17)
    xs = ORIGIN[0] + (np.arange(80) + 0.5) * 12.5
    ys = ORIGIN[1] + 1000 - (np.arange(70) + 0.5) * 12.5
    x0, y0 = ORIGIN[0], ORIGIN[1] + 1000 - 70 * 12.5
    on_grid = shapely.box(xs[10], ys[60], xs[50], ys[5])  # every edge through grid points
    holed = shapely.box(x0 + 50, y0 + 50, x0 + 900, y0 + 800).difference(
        shapely.Point(x0 + 400, y0 + 400).buffer(150))
    parts = shapely.union_all([shapely.box(x0 + 12.5 * i, y0 + 100, x0 + 12.5 * (i + 1), y0 + 300)
                               for i in range(0, 60, 3)])
    sliver = shapely.Polygon([(x0, y0 + 300.0), (x0 + 990, y0 + 300.000001),
                              (x0 + 990, y0 + 301), (x0, y0 + 300.0)])
    spike = shapely.Polygon([(xs[3], ys[3]), (xs[70], ys[3] - 1e-7), (xs[3], ys[60])])
    hulls = [shapely.convex_hull(shapely.multipoints(rng.normal((x0 + 500, y0 + 450), 120,
                                                                (40, 2)))).buffer(30, quad_segs=8)
             for _ in range(20)]
    bowtie = shapely.Polygon([(x0, y0), (x0 + 800, y0 + 800), (x0 + 800, y0), (x0, y0 + 800)])
    hair = shapely.box(xs[5] - 3.0, ys[50], xs[40] - 1e-9, ys[2] + 1e-9)  # points a hair out
    shapes = [on_grid, hair, holed, parts, sliver, spike, bowtie, *hulls]
    for geom in shapes:
        gx, gy = np.meshgrid(xs, ys)
        expected = shapely.intersects_xy(geom, gx, gy)
        assert (inside_grid(geom, xs, ys, _gridnative) == expected).all(), geom.wkt[:60]
        assert (inside_grid(geom, xs, ys, None) == expected).all()
    # the scan alone is sure of nearly every point of these shapes and right where it is sure
    for geom in (holed, parts, *hulls):
        state = _gridnative.polygon_cells(*ring_coordinates(geom), xs, ys)
        expected = shapely.intersects_xy(geom, *np.meshgrid(xs, ys))
        sure = state != 2
        assert sure.mean() > 0.97
        assert ((state == 1) == expected)[sure].all()
    # lists are taken as arrays; grids the scan would misread are refused
    assert (inside_grid(hulls[0], xs.tolist(), ys.tolist(), _gridnative)
            == shapely.intersects_xy(hulls[0], *np.meshgrid(xs, ys))).all()
    for wrong in ((xs[::-1], ys), (xs, ys[::-1])):
        with pytest.raises(ValueError, match="xs increasing and rows ys decreasing"):
            inside_grid(hulls[0], *wrong, _gridnative)
