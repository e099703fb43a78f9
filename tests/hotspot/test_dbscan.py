"""DBSCAN: the same core points and labels as scikit-learn, on hand-made and random points."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import DBSCAN

from hotspot import DBSCANHotspots, InvalidParameter, InvalidPoints, auto_min_samples
from hotspot._griddbscan import grid_dbscan
from hotspot._native import native_steps

CRS = "EPSG:27700"


def same_as_sklearn(xy: np.ndarray, eps: float, min_samples: float, weights=None) -> None:
    sk = DBSCAN(eps=eps, min_samples=min_samples).fit(xy, sample_weight=weights)
    labels, core = grid_dbscan(xy, eps, min_samples, weights)
    sk_core = np.zeros(len(xy), dtype=bool)
    sk_core[sk.core_sample_indices_] = True
    np.testing.assert_array_equal(core, sk_core)
    np.testing.assert_array_equal(labels[core], sk.labels_[core])  # core labels identical
    np.testing.assert_array_equal(labels == -1, sk.labels_ == -1)  # same noise
    # a border point joins a cluster of some core point within eps (either, as in sklearn)
    for i in np.flatnonzero(~core & (labels >= 0)):
        d = np.hypot(*(xy[core] - xy[i]).T)
        assert labels[i] in set(labels[core][d <= eps])


def use_engine(monkeypatch, engine: str) -> None:
    """Make grid_dbscan take one of its paths whatever the number of points: the numpy steps
    against the cells around each point, the numpy steps on the fine raster, or the compiled
    (numba) steps."""
    if engine == "native":
        assert native_steps() is not None  # numba is a dependency: never a silent numpy run
        monkeypatch.setattr("hotspot._griddbscan._NATIVE_FROM", 0)
        return
    monkeypatch.setattr("hotspot._griddbscan._NATIVE_FROM", 10**12)
    if engine == "fine-raster":  # count every undecided point on the fine raster, however few
        monkeypatch.setattr("hotspot._griddbscan._RASTER_FROM", 0)


ENGINES = ["cells", "fine-raster", "native"]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("seed", range(12))
def test_random_points_match_scikit_learn(monkeypatch, seed: int, engine: str):
    use_engine(monkeypatch, engine)
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 2500))
    xy = rng.uniform(0, 2000, (n, 2))
    if seed % 3 == 0:  # a lattice: many pairs exactly eps apart, many duplicates
        xy = np.round(xy / 25) * 25
    if seed % 3 == 1:  # dense blobs in sparse noise
        centres = rng.uniform(0, 2000, (4, 2))
        xy = np.concatenate([xy, *(rng.normal(c, 20, (300, 2)) for c in centres)])
    eps = float(rng.choice([25.0, 50.0, 75.5]))
    weights = rng.integers(1, 6, len(xy)).astype(float) if seed % 2 else None
    same_as_sklearn(xy, eps, int(rng.integers(1, 25)), weights)


@pytest.mark.parametrize("seed", range(6))
def test_dense_points_counted_on_the_fine_raster_match_scikit_learn(monkeypatch, seed: int):
    # the fine raster is built only when many points are undecided: force it on small inputs
    import hotspot._griddbscan as module
    from hotspot._gridraster import WeightRaster

    monkeypatch.setattr(module, "_RASTER_FROM", 0)
    monkeypatch.setattr(module, "_NATIVE_FROM", 10**12)
    rng = np.random.default_rng(100 + seed)
    centres = rng.uniform(0, 600, (3, 2))
    xy = np.concatenate([rng.uniform(0, 600, (800, 2)),
                         *(rng.normal(c, 40, (600, 2)) for c in centres)])
    if seed % 2:
        xy = np.round(xy / 5) * 5  # stacked points and exact-eps pairs
    weights = rng.integers(1, 4, len(xy)).astype(float) if seed % 3 == 0 else None
    eps = 30.0
    same_as_sklearn(xy, eps, int(rng.integers(15, 60)), weights)
    # both of the raster's steps really ran here (so this test checks them)
    calls: list[str] = []
    for name in ("bounds", "exact"):
        original = getattr(WeightRaster, name)
        monkeypatch.setattr(WeightRaster, name,
                            lambda self, *a, _o=original, _n=name: calls.append(_n) or _o(self, *a))
    grid_dbscan(xy, eps, 30, weights)
    assert {"bounds", "exact"} <= set(calls)


def brute_force_dbscan(xy: np.ndarray, eps: float, threshold: np.ndarray,
                       weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DBSCAN with one threshold per point, from all pairs: core mask, and the components of
    the core points (numbered by their first core point)."""
    d2 = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1)
    near = d2 <= eps * eps
    core = (near * weights[None, :]).sum(1) >= threshold
    labels = np.full(len(xy), -1)
    cluster = 0
    for i in np.flatnonzero(core):
        if labels[i] >= 0:
            continue
        labels[i], todo = cluster, [i]
        while todo:
            j = todo.pop()
            for k in np.flatnonzero(near[j] & core & (labels < 0)):
                labels[k] = cluster
                todo.append(k)
        cluster += 1
    return core, labels


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("seed", range(6))
def test_one_threshold_per_point_matches_all_pairs(monkeypatch, seed: int, engine: str):
    use_engine(monkeypatch, engine)
    rng = np.random.default_rng(200 + seed)
    centres = rng.uniform(0, 800, (3, 2))
    xy = np.concatenate([rng.uniform(0, 800, (700, 2)),
                         *(rng.normal(c, 30, (250, 2)) for c in centres)])
    if seed % 2:
        xy = np.round(xy / 10) * 10  # stacked points and exact-eps pairs
    weights = rng.integers(1, 4, len(xy)).astype(float) if seed % 3 == 0 else np.ones(len(xy))
    threshold = rng.integers(3, 40, len(xy)).astype(float)
    eps = 30.0
    core, want = brute_force_dbscan(xy, eps, threshold, weights)
    labels, got_core = grid_dbscan(xy, eps, threshold, weights)
    np.testing.assert_array_equal(got_core, core)
    np.testing.assert_array_equal(labels[core], want[core])
    d2 = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1)
    for i in np.flatnonzero(~core):  # border points: a cluster of a core point within eps
        reach = set(want[core & (d2[i] <= eps * eps)])
        assert (labels[i] in reach) if reach else labels[i] == -1


@pytest.mark.parametrize("seed", range(4))
def test_compiled_steps_give_the_numpy_steps_labels(monkeypatch, seed: int):
    # the same core points and the same labels, border points included, point for point; on
    # far-apart clumps the grid is too sparse for a lookup table (sorted keys, merged)
    assert native_steps() is not None  # numba is a dependency, never skipped
    import hotspot._griddbscan as module

    rng = np.random.default_rng(300 + seed)
    clumps = rng.uniform(0, 2e6 if seed % 2 else 3000, (6, 2))
    xy = np.concatenate([rng.normal(c, 60, (700, 2)) for c in clumps])
    weights = rng.integers(1, 4, len(xy)).astype(float) if seed % 2 else None
    results = []
    for native_from in (10**12, 0):
        monkeypatch.setattr(module, "_NATIVE_FROM", native_from)
        results.append(grid_dbscan(xy, 25.0, 6, weights))
    np.testing.assert_array_equal(results[0][1], results[1][1])
    np.testing.assert_array_equal(results[0][0], results[1][0])
    assert results[0][0].max() >= 5



@pytest.mark.parametrize("seed", range(4))
def test_compiled_core_points_by_sub_cells_are_exact(monkeypatch, seed: int):
    # cells of 40+ points looked into by their 16 sub-cells, with each point's threshold at
    # its exact neighbourhood weight, or one more or less: a sub-cell wrongly taken as wholly
    # within or beyond eps flips some point; on a 5 m lattice many pairs are exactly eps apart
    from scipy.spatial import cKDTree

    import hotspot._griddbscan as module

    native = native_steps()
    assert native is not None  # numba is a dependency, never skipped
    rng = np.random.default_rng(700 + seed)
    centres = rng.uniform(100, 500, (4, 2))
    xy = np.concatenate([rng.uniform(0, 600, (14_000, 2)),
                         *(rng.normal(c, 25, (1_500, 2)) for c in centres)])
    if seed % 2:
        xy = np.round(xy / 5) * 5
    weights = rng.integers(1, 4, len(xy)).astype(float) if seed >= 2 else np.ones(len(xy))
    eps = 30.0
    tree = cKDTree(xy)
    exact = np.empty(len(xy))
    for i, near in enumerate(tree.query_ball_point(xy, eps * (1 + 1e-6))):
        near = np.asarray(near)
        d2 = ((xy[near] - xy[i]) ** 2).sum(1)
        exact[i] = weights[near][d2 <= eps * eps].sum()
    threshold = exact + rng.choice([-1.0, 0.0, 1.0], len(xy))
    monkeypatch.setattr(module, "_NATIVE_FROM", 0)
    labels, core = grid_dbscan(xy, eps, threshold, weights)
    np.testing.assert_array_equal(core, exact >= threshold)
    monkeypatch.setattr(module, "_NATIVE_FROM", 10**12)
    numpy_labels, numpy_core = grid_dbscan(xy, eps, threshold, weights)
    np.testing.assert_array_equal(core, numpy_core)
    np.testing.assert_array_equal(labels, numpy_labels)
    # the sub-cells were really looked into: many cells split, many points left undecided
    reach = module._Reach.of(eps)
    grid = module._bin_points(xy, reach.cell_side, threshold, weights, native)
    nb = grid.neighbours
    table = nb.table if nb.table is not None else np.empty(0, dtype=np.int64)
    near_cells = native.neighbour_cells(nb.keys, nb.stride, table, native.OFFSETS)
    _start, _weight, slot = native.sub_cells(
        grid.x, grid.y, grid.weight, grid.threshold, grid.order, grid.start, grid.count,
        grid.cell_weight, near_cells, grid.corner_x, grid.corner_y, reach.cell_side,
        native.SUB)
    assert (slot >= 0).sum() > 50
    assert (grid.cell_weight[grid.cell] < grid.threshold).sum() > 5_000



def test_coordinates_millions_of_metres_out_and_a_small_eps_stay_exact(monkeypatch):
    # eps 1 m near 9.9e6 m (a UTM northing): a cell's square placed from the point's own
    # cell is an ulp of the coordinates (1.9e-9 m) off the square its points were binned in,
    # more than a relative 1e-9 of eps^2 allows; the point q (row 2), just beyond eps of p
    # (row 1), sits in a cell split into sub-cells (rows 3..) that must not be taken as
    # wholly within eps (found by a review of the sub-cells)
    monkeypatch.setattr("hotspot._griddbscan._NATIVE_FROM", 0)
    xy = np.array([
        [9900000.0, 9900000.0],
        [9902439.35907147, 9902033.591839563],
        [9902438.81128831, 9902032.755219214],
        [9902439.203580316, 9902032.59867421],
        [9902439.09972755, 9902032.528059574],
        [9902439.035009407, 9902032.605114594],
        [9902439.028095067, 9902032.53259689],
        [9902439.253447905, 9902032.547787743],
        [9902439.281586608, 9902032.688828774],
        [9902439.195002852, 9902032.501271032],
        [9902439.229753131, 9902032.613285104],
        [9902439.177180711, 9902032.46078429],
        [9902439.287898766, 9902032.67252849],
        [9902439.254178576, 9902032.659646181],
        [9902439.02419491, 9902032.504725065],
        [9902439.265930897, 9902032.684928339],
        [9902439.03291978, 9902032.453586703],
        [9902439.229798071, 9902032.532089423],
        [9902439.073103257, 9902032.479526615],
        [9902439.267564213, 9902032.56439637],
        [9902439.176568706, 9902032.662255678],
        [9902439.108191669, 9902032.50225663],
        [9902439.142974345, 9902032.451735009],
        [9902439.031430358, 9902032.551445702],
        [9902439.058572963, 9902032.49316913],
        [9902439.213101573, 9902032.46269],
        [9902439.206473181, 9902032.601163948],
        [9902439.197477538, 9902032.521505186],
        [9902439.131940745, 9902032.627090016],
        [9902439.305473907, 9902032.493452651],
        [9902439.300842471, 9902032.70349099],
        [9902439.217320899, 9902032.540289912],
        [9902439.20739801, 9902032.466859734],
        [9902439.218142485, 9902032.614959817],
        [9902439.133423936, 9902032.69926007],
        [9902439.061631406, 9902032.561578631],
        [9902439.227488063, 9902032.707020126],
        [9902439.172012987, 9902032.57841305],
        [9902439.111169998, 9902032.55729398],
        [9902439.160835335, 9902032.612444017],
        [9902439.275005497, 9902032.718476957],
        [9902439.287607746, 9902032.705422966],
        [9902439.124620108, 9902032.567141578]])
    eps = 1.0
    d = xy - xy[1]
    d2 = d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1]
    assert d2[2] > eps * eps  # q is beyond eps of p, by about 1e-10 m2
    threshold = np.full(len(xy), 1e9)
    threshold[1] = float((d2 <= eps * eps).sum()) + 1  # p is core only if q is counted
    _labels, core = grid_dbscan(xy, eps, threshold)
    assert not core[1]



@pytest.mark.parametrize("engine", ENGINES)
def test_a_neighbour_in_the_cell_two_away_on_both_axes_counts(monkeypatch, engine: str):
    # a point at a cell's north-east corner and one exactly within eps of it in the cell two
    # columns and two rows on: that corner cell's nearest point is a hair under eps (the numpy
    # steps looked at 20 neighbour cells, without the four corners, found by a review)
    import math

    from hotspot._griddbscan import _Reach

    use_engine(monkeypatch, engine)
    eps = 30.0
    side, scale = 0.0, 0.0
    while side != _Reach.of(eps, scale).cell_side:  # the grid's own side for these points
        side = _Reach.of(eps, scale).cell_side
        p = math.nextafter(side, 0.0)
        q = p + eps / math.sqrt(2.0)
        while (q - p) ** 2 * 2 > eps * eps:
            q = math.nextafter(q, 0.0)
        scale = q
    xy = np.array([[0.0, 0.0], [p, p], [q, q]])
    assert np.floor(xy / side).tolist() == [[0.0, 0.0], [0.0, 0.0], [2.0, 2.0]]
    labels, core = grid_dbscan(xy, eps, 2.0)
    assert core.tolist() == [True, True, True]
    assert labels.tolist() == [0, 0, 0]


def test_two_tight_clusters_and_scattered_noise():
    rng = np.random.default_rng(1)
    a = rng.normal((460_000, 450_000), 20, (40, 2))
    b = rng.normal((462_000, 451_000), 20, (25, 2))
    noise = np.array([[455_000, 445_000], [470_000, 455_000], [461_000, 449_000]], dtype=float)
    est = DBSCANHotspots(eps_m=60, min_samples=5).fit(np.concatenate([a, b, noise]), crs=CRS)
    assert est.n_clusters_ == 2
    assert list(est.labels_[:40]) == [0] * 40 and list(est.labels_[40:65]) == [1] * 25
    assert list(est.labels_[65:]) == [-1, -1, -1]
    assert list(est.hotspots_["incidents"]) == [40, 25]
    assert est.hotspots_.crs.to_epsg() == 27700
    # polygons: the members' hull buffered by eps/2
    assert est.hotspots_.geometry.iloc[0].contains(est.hotspots_.geometry.iloc[0].centroid)
    assert est.hotspots_.geometry.buffer(0).area.min() > np.pi * 30**2


def test_one_busy_map_point_is_a_hotspot_by_itself():
    stacked = np.repeat([[460_000.0, 450_000.0]], 12, axis=0)
    spread = np.array([[460_500.0, 450_500.0], [461_000.0, 449_000.0]])
    est = DBSCANHotspots(eps_m=100, min_samples=10).fit(np.concatenate([stacked, spread]), crs=CRS)
    assert est.n_clusters_ == 1
    assert est.hotspots_["incidents"].iloc[0] == 12
    assert est.hotspots_.geometry.iloc[0].area == pytest.approx(np.pi * 50**2, rel=0.02)


def test_weights_count_in_the_core_test_only_when_asked():
    xy = np.array([[0.0, 0.0], [10.0, 0.0]])
    by_count = DBSCANHotspots(eps_m=20, min_samples=5).fit(xy, sample_weight=np.array([3, 3]),
                                                           crs=CRS)
    assert by_count.n_clusters_ == 0
    by_weight = DBSCANHotspots(eps_m=20, min_samples=5, weight_by="weight").fit(
        xy, sample_weight=np.array([3.0, 3.0]), crs=CRS)
    assert by_weight.n_clusters_ == 1


def test_empty_and_single_point():
    empty = DBSCANHotspots(eps_m=100, min_samples=3).fit(np.empty((0, 2)), crs=CRS)
    assert empty.n_clusters_ == 0 and empty.labels_.shape == (0,)
    one = DBSCANHotspots(eps_m=100).fit(np.array([[1.0, 2.0]]), crs=CRS)
    assert one.n_clusters_ == 0 and list(one.labels_) == [-1]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"eps_m": 0}, "eps_m must be a positive"),
        ({"eps_m": -5}, "eps_m must be a positive"),
        ({"eps_m": float("nan")}, "eps_m must be a positive"),
        ({"min_samples": 0}, "min_samples must be a positive"),
        ({"min_samples": "lots"}, "min_samples must be a number or 'auto'"),
        ({"weight_by": "harm"}, "weight_by"),
        ({"background_m": 100}, "background_m must be at least twice eps_m"),
        ({"alpha": 2}, "alpha"),
        ({"alpha": 5e-324}, "alpha must be from 1e-12"),
    ],
)
def test_bad_parameters_are_named(kwargs: dict, message: str):
    pts = np.random.default_rng(0).uniform(0, 1000, (50, 2))
    with pytest.raises(InvalidParameter, match=message):
        DBSCANHotspots(**kwargs).fit(pts, crs=CRS)


def test_geographic_or_missing_crs_is_refused():
    pts = np.array([[-1.08, 53.96], [-1.07, 53.95]])
    with pytest.raises(InvalidPoints, match=r"geographic CRS.*reproject"):
        DBSCANHotspots().fit(pts, crs="EPSG:4326")
    with pytest.raises(InvalidPoints, match="no CRS"):
        DBSCANHotspots().fit(pts)


def county(n_background: int, per_hotspot: int, *, side: float = 20_000.0,
           seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Eight Gaussian hotspots (sd 150 m) over a uniform background in a square of ``side`` m."""
    rng = np.random.default_rng(seed)
    grid = np.array([(i, j) for i in (0.2, 0.5, 0.8) for j in (0.2, 0.5, 0.8)][:8])
    centres = grid * side
    hot = np.concatenate([rng.normal(c, 150, (per_hotspot, 2)) for c in centres])
    return np.concatenate([rng.uniform(0, side, (n_background, 2)), hot]), centres


@pytest.mark.parametrize(("background", "per_hotspot"), [(4_000, 100), (80_000, 2_000)])
def test_auto_min_samples_keeps_hotspots_hotspots_at_any_scale(background: int, per_hotspot: int):
    xy, centres = county(background, per_hotspot)
    est = DBSCANHotspots(eps_m=150).fit(xy, crs="EPSG:27700")
    # every planted hotspot is found, and little else: not one area-wide cluster
    assert 8 <= est.n_clusters_ <= 10
    hit = {int(est.labels_[np.argmin(np.hypot(*(xy - c).T))]) for c in centres}
    assert -1 not in hit and len(hit) == 8
    assert est.hotspots_["incidents"].max() < 2 * per_hotspot
    # eps 150 m with min_samples 10 does not survive the change of scale: at 200 incidents per
    # km2 the background itself joins into one cluster over the whole area
    fixed = DBSCANHotspots(eps_m=150, min_samples=10).fit(xy, crs="EPSG:27700")
    if background > 10_000:
        assert fixed.hotspots_["incidents"].max() > 0.5 * len(xy)
    else:
        assert fixed.n_clusters_ >= 8


def test_auto_rule_follows_the_local_background():
    xy, _ = county(80_000, 2_000)
    thresholds, info = auto_min_samples(xy, np.ones(len(xy)), 150.0)
    # a background of 80,000 over 400 km2: 200 incidents per km2, 14 within 150 m
    assert 170 < info["median_background_per_km2"] < 230
    assert thresholds.min() >= 14
    # the thresholds inside the hotspots stay near the background's (the median ignores them)
    assert info["min_samples_range"][1] <= 3 * info["min_samples_median"]


def test_warming_up_loads_every_compiled_step():
    assert native_steps() is not None  # numba is a dependency, never skipped
    from hotspot import _gridnative
    from hotspot._griddbscan import warm_up_compiled

    assert warm_up_compiled()
    steps = [_gridnative.sub_cells, _gridnative.core_points, _gridnative.link_core_cells,
             _gridnative.first_core_of_roots, _gridnative.label_border_points,
             _gridnative.neighbour_cells, _gridnative.counting_order,
             _gridnative.linear_binning, _gridnative.locate_cells]
    assert all(step.signatures for step in steps)
