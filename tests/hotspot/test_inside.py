"""hotspot.inside: the grid gives exactly GEOS's (point, polygon) pairs."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
import shapely.affinity

from hotspot.errors import InvalidParameter
from hotspot.inside import any_hit, first_hit, point_hits


def _geos(geoms: np.ndarray, xy: np.ndarray, predicate: str) -> set[tuple[int, int]]:
    a, b = shapely.STRtree(geoms).query(shapely.points(xy), predicate=predicate)
    return set(zip(a.tolist(), b.tolist(), strict=True))


def _polygons(rng: np.random.Generator, k: int) -> np.ndarray:
    """Discs, squares, rings with holes, a multipolygon, a line, a point and an empty one,
    overlapping here and there."""
    centres = rng.uniform(0, 20_000, (k, 2))
    out: list[object] = []
    for i, (x, y) in enumerate(centres):
        r = float(rng.uniform(30, 400))
        kind = i % 5
        if kind == 0:
            out.append(shapely.Point(x, y).buffer(r, quad_segs=16))
        elif kind == 1:
            out.append(shapely.box(x - r, y - r, x + r, y + r))
        elif kind == 2:
            out.append(shapely.Point(x, y).buffer(r).difference(shapely.Point(x, y).buffer(r / 2)))
        elif kind == 3:
            out.append(shapely.MultiPolygon([shapely.box(x, y, x + r, y + r),
                                             shapely.box(x + 2 * r, y, x + 3 * r, y + r)]))
        else:
            out.append(shapely.Polygon([(x, y), (x + r, y + r / 3), (x + r / 4, y + r)]))
    out += [shapely.LineString([(100, 100), (5_000, 5_000)]), shapely.Point(700, 700),
            shapely.Polygon(), None]
    return np.asarray(out, dtype=object)


def _points(rng: np.random.Generator, geoms: np.ndarray, n: int) -> np.ndarray:
    """Random points, many near the polygons, and points on vertices and edges."""
    xy = [rng.uniform(-500, 20_500, (n, 2))]
    present = [g for g in geoms if g is not None and not shapely.is_empty(g)]
    verts = shapely.get_coordinates(np.asarray(present, dtype=object))
    xy.append(verts[rng.choice(len(verts), min(len(verts), n // 4), replace=False)])
    mids = (verts[:-1] + verts[1:]) / 2
    xy.append(mids[rng.choice(len(mids), min(len(mids), n // 4), replace=False)])
    edges = shapely.get_coordinates(shapely.segmentize(shapely.boundary(
        np.asarray([g for g in present if shapely.area(g) > 0], dtype=object)), 2.0))
    near = edges[rng.choice(len(edges), n, replace=False)]
    xy.append(near + rng.normal(0, 3.0, near.shape))  # a few metres off the edges
    cents = shapely.get_coordinates(shapely.centroid(np.asarray(present, dtype=object)))
    xy.append(np.repeat(cents, 5, axis=0) + rng.normal(0, 200, (len(cents) * 5, 2)))
    xy.append(np.array([[700.0, 700.0], [2_000.0, 2_000.0], [np.nan, 1.0]]))
    return np.concatenate(xy)


@pytest.mark.parametrize("predicate", ["within", "intersects"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_same_pairs_as_geos(predicate: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    geoms = _polygons(rng, 300)
    xy = _points(rng, geoms, 40_000)
    a, b = point_hits(geoms, xy, predicate)
    got = set(zip(a.tolist(), b.tolist(), strict=True))
    assert len(got) == a.size  # no pair twice
    want = _geos(geoms, xy, predicate)
    assert got == want
    assert len(want) > 5_000  # the test tests something
    first = first_hit(geoms, xy, predicate)
    expect = np.full(len(xy), -1)
    for p, g in sorted(want, reverse=True):
        expect[p] = g
    assert np.array_equal(first, expect)
    assert np.array_equal(any_hit(geoms, xy, predicate), expect >= 0)


def test_few_points_and_large_polygons() -> None:
    rng = np.random.default_rng(5)
    county = shapely.Point(0, 0).buffer(30_000, quad_segs=64)
    holed = county.difference(shapely.box(-5_000, -5_000, 5_000, 5_000))
    geoms = np.asarray([holed, shapely.box(-1_000, -1_000, 1_000, 1_000)], dtype=object)
    for n in (10, 50_000):
        xy = rng.uniform(-31_000, 31_000, (n, 2))
        xy[:4] = [[5_000, 0], [-1_000, 300], [30_000, 0], [0, 0]]  # on edges, inside
        for predicate in ("within", "intersects"):
            a, b = point_hits(geoms, xy, predicate)
            assert set(zip(a.tolist(), b.tolist(), strict=True)) == _geos(geoms, xy, predicate)


def test_long_edges_and_points_a_hair_off_them() -> None:
    """Edges many cells long, diagonal and along the axes, with points a micrometre either
    side of them and on them: each cell an edge crosses is tested by GEOS, none is taken
    whole by mistake (the cells are marked by the pieces of each edge, a cell long)."""
    rng = np.random.default_rng(7)
    geoms = np.asarray([
        shapely.Polygon([(0, 0), (20_000, 3_000), (1_000, 9_000)]),  # long, thin diagonals
        shapely.box(2_000, 2_000, 2_400, 18_000),  # long along the axes
        shapely.affinity.rotate(shapely.box(10_000, 10_000, 16_000, 16_000), 30),
        shapely.Polygon([(5_000, 5_000), (5_000.001, 15_000), (5_000.002, 5_000)]),  # a sliver
    ], dtype=object)
    edges = shapely.get_coordinates(shapely.segmentize(shapely.boundary(geoms), 7.0))
    normal = rng.normal(size=edges.shape)
    xy = np.concatenate([edges, edges + 1e-6 * normal, edges - 1e-6 * normal,
                         rng.uniform(-1_000, 21_000, (20_000, 2))])
    for predicate in ("within", "intersects"):
        a, b = point_hits(geoms, xy, predicate)
        got = set(zip(a.tolist(), b.tolist(), strict=True))
        assert got == _geos(geoms, xy, predicate)
        assert len(got) > 10_000


def test_polygons_in_a_corner_of_the_points() -> None:
    """Most points lie outside the polygons' common bounding box (two town centres in a
    county): they skip the grid, and the pairs still name the points by their input index."""
    rng = np.random.default_rng(9)
    geoms = _polygons(rng, 40)
    geoms = np.asarray([None if g is None else shapely.affinity.scale(
        g, 0.05, 0.05, origin=(0, 0)) for g in geoms], dtype=object)  # all within 1 km
    xy = np.concatenate([rng.uniform(-30_000, 30_000, (60_000, 2)),
                         rng.uniform(0, 1_000, (30_000, 2)), [[np.nan, 5.0]]])
    rng.shuffle(xy)
    for predicate in ("within", "intersects"):
        a, b = point_hits(geoms, xy, predicate)
        got = set(zip(a.tolist(), b.tolist(), strict=True))
        assert got == _geos(geoms, xy, predicate)
        assert len(got) > 100
        held = np.zeros(len(xy), dtype=bool)
        held[[p for p, _g in got]] = True
        assert np.array_equal(any_hit(geoms, xy, predicate), held)


def test_nothing_and_refusals() -> None:
    xy = np.zeros((3, 2))
    assert point_hits([], xy)[0].size == 0
    assert point_hits([shapely.box(0, 0, 1, 1)], np.empty((0, 2)))[0].size == 0
    with pytest.raises(InvalidParameter, match="predicate"):
        point_hits([shapely.box(0, 0, 1, 1)], xy, "contains")
    with pytest.raises(InvalidParameter, match="xy"):
        point_hits([shapely.box(0, 0, 1, 1)], np.zeros(3))


def test_leaves_the_polygons_unprepared() -> None:
    geoms = np.asarray([shapely.box(0, 0, 100, 100), shapely.box(50, 50, 300, 300)],
                       dtype=object)
    shapely.prepare(geoms[1])
    point_hits(geoms, np.random.default_rng(0).uniform(0, 300, (5_000, 2)))
    assert shapely.is_prepared(geoms).tolist() == [False, True]


def test_threads_sharing_polygons_each_test_their_own_copies() -> None:
    # GEOS prepared geometries are not thread-safe, and preparing one changes the object: two
    # threads testing points against the same polygons (a cached result's, a force's layers)
    # once crashed the process (a double free) when one un-prepared what the other was using
    import threading

    from hotspot.inside import prepared_copies

    rng = np.random.default_rng(3)
    geoms = np.asarray(shapely.buffer(shapely.points(rng.uniform(0, 5000, (400, 2))), 150,
                                      quad_segs=16), dtype=object)
    pts = rng.uniform(0, 5000, (60_000, 2))
    want = point_hits(geoms, pts, "intersects")
    failures: list[BaseException] = []

    def hammer() -> None:
        try:
            for _ in range(15):
                got = point_hits(geoms, pts, "intersects")
                assert all(np.array_equal(a, b) for a, b in zip(got, want, strict=True))
        except BaseException as exc:  # reported below
            failures.append(exc)

    workers = [threading.Thread(target=hammer) for _ in range(3)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    assert failures == []
    assert not shapely.is_prepared(geoms).any()
    copies = prepared_copies(geoms[:3])
    assert shapely.is_prepared(copies).all() and not shapely.is_prepared(geoms[:3]).any()
    assert all(c is not g for c, g in zip(copies, geoms[:3], strict=True))
    assert shapely.equals_exact(copies, geoms[:3], tolerance=0).all()
    one = prepared_copies(geoms[0])
    assert isinstance(one, shapely.Polygon) and shapely.is_prepared(one)
    z = shapely.Point(1.0, 2.0, 3.0)
    assert shapely.get_coordinates(prepared_copies(z), include_z=True).tolist() == [[1, 2, 3]]


def test_one_prepared_copy_per_thread_is_kept_for_the_same_object() -> None:
    import threading

    from hotspot.inside import prepared_copy

    area = shapely.buffer(shapely.Point(0.0, 0.0), 1000.0)
    mine = prepared_copy(area)
    assert mine is not area and shapely.is_prepared(mine) and not shapely.is_prepared(area)
    assert prepared_copy(area) is mine  # kept: not copied and prepared again
    other: list[object] = []
    t = threading.Thread(target=lambda: other.append(prepared_copy(area)))
    t.start()
    t.join()
    assert other[0] is not mine  # another thread has its own
    assert prepared_copy(shapely.buffer(shapely.Point(0.0, 0.0), 1000.0)) is not mine


@pytest.mark.parametrize("seed", [0, 1])
def test_the_compiled_lookup_finds_the_numpy_steps_cells(monkeypatch, seed: int) -> None:
    # points on the grid's lines and corners, a hair either side, outside, NaN and infinite:
    # the compiled lookup (a process that loaded the compiled steps) and numpy's agree
    import hotspot.inside as module
    from hotspot._native import loaded_native_steps, native_steps

    assert native_steps() is not None and loaded_native_steps() is not None  # numba: a dependency
    rng = np.random.default_rng(seed)
    geoms = _polygons(rng, 200)
    grid = module._EdgeGrid.build(geoms)
    assert grid is not None and grid.index is None
    j = rng.integers(-3, grid.ncols + 3, 20_000)
    i = rng.integers(-3, grid.nrows + 3, 20_000)
    on_lines = np.column_stack([grid.ox + j * grid.c, grid.oy + i * grid.c])
    xy = np.concatenate([
        on_lines, np.nextafter(on_lines, -np.inf), np.nextafter(on_lines, np.inf),
        _points(rng, geoms, 20_000),
        np.array([[np.inf, 1.0], [1.0, -np.inf], [np.nan, np.nan], [-1e300, 1e300]])])
    compiled = grid.cells(xy)
    monkeypatch.setattr(module, "loaded_native_steps", lambda: None)
    plain = grid.cells(xy)
    np.testing.assert_array_equal(compiled, plain)
    assert (plain >= 0).sum() > 10_000 and (plain < 0).sum() > 1_000


def test_the_rings_are_the_boundaries_coordinates() -> None:
    # the edge cells are cut from the polygons' own coordinates, not their boundaries (GEOS
    # makes those): the same coordinates, order and polygons, holes and parts included
    import hotspot.inside as module

    polys = _polygons(np.random.default_rng(5), 300)
    polys = polys[np.isin(shapely.get_type_id(polys), module._POLYGONAL)]
    polys = np.append(polys, shapely.Polygon())
    want, want_index = shapely.get_coordinates(shapely.boundary(polys), return_index=True)
    got, got_index = module._rings(polys)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got_index, want_index)
    assert {shapely.get_num_interior_rings(g) > 0 for g in polys} == {True, False}
    assert (shapely.get_type_id(polys) == 6).sum() > 10


@pytest.mark.parametrize("cells", [50, 4_000, 250_000])
def test_the_compiled_edge_cells_are_the_numpy_steps_cells(monkeypatch, cells: int) -> None:
    # a grid's cells on the polygons' edges, marked by the compiled steps piece by piece and
    # by numpy's: the same grid (coarse: segments within one cell; fine: long edges cut into
    # hundreds of pieces); and both refuse boundaries too long to cut
    import hotspot.inside as module
    from hotspot._native import loaded_native_steps, native_steps

    assert native_steps() is not None and loaded_native_steps() is not None  # numba: a dependency
    rng = np.random.default_rng(cells)
    geoms = np.concatenate([_polygons(rng, 300), np.asarray([shapely.Polygon(
        [(0, 0), (20_000, 3.5), (19_000, 20_000), (0.25, 0.25)])], dtype=object)])

    def build() -> module._EdgeGrid | None:
        return module._EdgeGrid.build(geoms, cells)

    compiled = build()
    monkeypatch.setattr(module, "loaded_native_steps", lambda: None)
    plain = build()
    assert compiled is not None and plain is not None
    for name in ("starts", "entry_g", "entry_edge", "_whole"):
        np.testing.assert_array_equal(getattr(compiled, name), getattr(plain, name),
                                      err_msg=name)
    assert plain.entry_edge.sum() > 100
    # the most pieces numpy's steps cut these boundaries into (bisected), then either side
    lo, hi = 0, module.MAX_SAMPLES
    while hi - lo > 1:
        monkeypatch.setattr(module, "MAX_SAMPLES", (lo + hi) // 2)
        lo, hi = (lo, (lo + hi) // 2) if build() is not None else ((lo + hi) // 2, hi)
    assert hi > 1_000
    monkeypatch.setattr(module, "loaded_native_steps", loaded_native_steps)
    for most, refused in ((hi, False), (hi - 1, True)):
        monkeypatch.setattr(module, "MAX_SAMPLES", most)
        assert (build() is None) == refused


def test_compiled_steps_still_being_loaded_by_another_thread_are_not_used(monkeypatch):
    """While a thread imports the compiled steps (numba compiling or loading them: seconds),
    the module is in sys.modules before its functions are: another thread asking whether they
    are loaded is told no, and takes numpy's path, rather than failing on a missing function
    (a context class made beside a first DBSCAN did)."""
    import sys
    import types

    from hotspot._native import loaded_native_steps, native_steps

    real = native_steps()
    assert real is not None and loaded_native_steps() is real
    half = types.ModuleType("hotspot._gridnative")  # what the importing thread has made so far
    monkeypatch.setitem(sys.modules, "hotspot._gridnative", half)
    assert loaded_native_steps() is None
    half.LOADED = True  # type: ignore[attr-defined]
    assert loaded_native_steps() is half


def _counted_builds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sizes of the grids built from now on (hotspot.inside._EdgeGrid.build), one a build."""
    from hotspot import inside

    built: list[int] = []
    real = inside._EdgeGrid.build.__func__  # type: ignore[attr-defined]

    def counted(cls: type, arr: np.ndarray, *args: object) -> object:
        built.append(arr.size)
        return real(cls, arr, *args)

    monkeypatch.setattr(inside._EdgeGrid, "build", classmethod(counted))
    return built


@pytest.mark.parametrize("predicate", ["within", "intersects"])
def test_few_points_among_many_small_polygons_go_straight_to_geos(monkeypatch,
                                                                 predicate: str) -> None:
    # the places of a half-year of published data: thousands of 64-gons and a few points
    # each; the grid is built only where it pays (more points a vertex, or large polygons)
    from hotspot import inside

    rng = np.random.default_rng(11)
    centres = rng.uniform(0, 40_000, (2_000, 2))
    geoms = shapely.buffer(shapely.points(centres), 125.0, quad_segs=16)
    built = _counted_builds(monkeypatch)
    vertices = int(shapely.get_num_coordinates(geoms).sum())
    few = np.concatenate([rng.uniform(0, 40_000, (20_000, 2)),
                          np.repeat(centres, 3, axis=0) + rng.normal(0, 100, (6_000, 2))])
    many = np.concatenate([few] * 5)
    assert len(few) < inside.FEW_PER_VERTEX * vertices < len(many)
    for xy, grids in ((few, 0), (many, 1)):
        a, b = point_hits(geoms, xy, predicate)
        got = set(zip(a.tolist(), b.tolist(), strict=True))
        assert got == _geos(geoms, xy, predicate) and len(got) > 1_000
        assert np.array_equal(any_hit(geoms, xy, predicate),
                              np.isin(np.arange(len(xy)), a))
        assert len(built) == 2 * grids
        built.clear()
    # a large polygon among them: the grid, whatever the points
    county = shapely.Point(20_000, 20_000).buffer(20_000, quad_segs=128)
    point_hits(np.append(geoms, county), few, predicate)
    assert len(built) == 1


@pytest.mark.parametrize("predicate", ["within", "intersects"])
def test_a_kept_grid_gives_the_same_pairs_and_is_made_once(monkeypatch, predicate: str) -> None:

    rng = np.random.default_rng(7)
    geoms = _polygons(rng, 200)
    xy = _points(rng, geoms, 20_000)
    want = _geos(geoms, xy, predicate)
    built = _counted_builds(monkeypatch)
    for _ in range(3):  # the grid made at the first call only, every call the same pairs
        a, b = point_hits(geoms, xy, predicate, keep=True)
        assert set(zip(a.tolist(), b.tolist(), strict=True)) == want
    assert len(built) == 1
    first = first_hit(geoms, xy, predicate, keep=True)
    assert np.array_equal(any_hit(geoms, xy, predicate, keep=True), first >= 0)
    assert len(built) == 1
    point_hits(geoms, xy, predicate)  # not kept: made for the call
    assert len(built) == 2
    # equal geometries that are other objects (a layer read again) are not the same key
    again = np.asarray([None if g is None else shapely.from_wkb(shapely.to_wkb(g))
                        for g in geoms], dtype=object)
    a, b = point_hits(again, xy, predicate, keep=True)
    assert set(zip(a.tolist(), b.tolist(), strict=True)) == want and len(built) == 3
    # nor the same objects in another order
    point_hits(geoms[::-1], xy, predicate, keep=True)
    assert len(built) == 4


def test_kept_values_are_bounded_by_count_and_bytes(monkeypatch) -> None:
    from hotspot import inside

    monkeypatch.setattr(inside, "_kept", type(inside._kept)())
    monkeypatch.setattr(inside, "KEPT_VALUES", 3)
    monkeypatch.setattr(inside, "KEPT_BYTES", 10**6)
    layers = [np.asarray([shapely.box(i, 0, i + 1, 1)], dtype=object) for i in range(5)]
    made: list[int] = []

    def make(i: int) -> int:
        made.append(i)
        return i

    for i, layer in enumerate(layers):
        assert inside.kept_for(layer, "t", lambda i=i: make(i)) == i
    assert made == [0, 1, 2, 3, 4]
    inside.kept_for(layers[4], "t", lambda: make(-1))  # kept
    inside.kept_for(layers[0], "t", lambda: make(0))  # the oldest went
    assert made == [0, 1, 2, 3, 4, 0]
    inside.kept_for(layers[4], "other", lambda: make(9))  # another value of the same objects
    assert made[-1] == 9
    assert len(inside._kept) == 3
    # by bytes, the value's and its geometries' (one box: 480): over the budget, made but not
    # kept; two that do not fit together keep the later
    assert inside.geometry_bytes(layers[0]) == 5 * 16 + 400
    inside._kept.clear()
    monkeypatch.setattr(inside, "KEPT_BYTES", 1_000)
    inside.kept_for(layers[1], "big", lambda: make(101), size=lambda _v: 600)
    inside.kept_for(layers[1], "big", lambda: make(101), size=lambda _v: 600)
    assert made[-2:] == [101, 101] and len(inside._kept) == 0
    inside.kept_for(layers[2], "b", lambda: make(60), size=lambda _v: 50)
    inside.kept_for(layers[3], "b", lambda: make(61), size=lambda _v: 50)
    assert [v[2] for v in inside._kept.values()] == [530]
    inside.kept_for(layers[3], "b", lambda: make(-2), size=lambda _v: 50)
    assert made[-1] == 61  # still kept
    inside.kept_for(layers[2], "b", lambda: make(62), size=lambda _v: 50)
    assert made[-1] == 62  # it had gone


def test_a_scattered_grid_counts_its_hash_index() -> None:
    from hotspot.inside import _EdgeGrid

    rng = np.random.default_rng(5)  # tiny squares far apart: too sparse for dense blocks
    geoms = np.asarray([shapely.box(x, y, x + 1, y + 1) for x, y in
                        rng.uniform(0, 1e9, (300, 2))], dtype=object)
    grid = _EdgeGrid.build(geoms)
    assert grid is not None and grid.index is not None
    arrays = sum(a.nbytes for a in vars(grid).values() if isinstance(a, np.ndarray))
    assert _EdgeGrid.nbytes(grid) >= arrays + grid.index.nbytes
