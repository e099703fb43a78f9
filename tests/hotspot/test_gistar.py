"""Getis-Ord Gi* on a grid against PySAL's esda, Benjamini-Hochberg by hand, hotspots, errors."""

from __future__ import annotations

import warnings

import esda
import libpysal
import numpy as np
import pytest
import shapely

from hotspot import InvalidParameter, InvalidPoints, WorkLimitExceeded
from hotspot.gistar import (
    GiStarHotspots,
    confidence_levels,
    fdr_threshold,
    gi_star_grid,
    gistar_hotspots,
)

CRS = "EPSG:27700"
X0, Y0 = 500_000.0, 200_000.0  # south-west corner of the small lattices


def lattice_points(counts: np.ndarray, cell: float = 100.0) -> np.ndarray:
    """Incidents at the centres of the cells of a (rows, cols) lattice, ``counts`` per cell,
    row 0 at the north, the lattice's south-west corner at (X0, Y0)."""
    rows = counts.shape[0]
    r, c = np.nonzero(counts)
    reps = counts[r, c]
    x = X0 + (np.repeat(c, reps) + 0.5) * cell
    y = Y0 + (rows - np.repeat(r, reps) - 0.5) * cell
    return np.column_stack([x, y])


def esda_z(y: np.ndarray, neighbours: dict[int, list[int]]) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # islands, deprecations inside libpysal
        w = libpysal.weights.W(neighbours, silence_warnings=True)
        return np.asarray(esda.G_Local(y, w, transform="B", star=True, permutations=0).Zs)


@pytest.fixture
def counts() -> np.ndarray:
    rng = np.random.default_rng(3)
    c = rng.poisson(1.5, (7, 9))
    c[2:4, 5:7] += 9  # a busy corner of 2 x 2 cells
    return c


def test_default_band_is_the_queen_lattice_and_agrees_with_esda(counts: np.ndarray):
    g = gi_star_grid(lattice_points(counts), cell_size_m=100,
                     bounds=(X0, Y0, X0 + 900, Y0 + 700))
    assert g.shape == (7, 9) and g.distance_m == 150.0 and g.k is None
    np.testing.assert_array_equal(g.counts, counts)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        queen = libpysal.weights.lat2W(7, 9, rook=False)  # row-major ids, like the grid
    want = esda_z(counts.ravel().astype(float), queen.neighbors)
    np.testing.assert_allclose(g.z.ravel(), want, atol=1e-10)
    # edges: a corner has 3 neighbours and itself, an edge cell 5, the interior 8
    assert g.neighbours[0, 0] == 4 and g.neighbours[0, 4] == 6 and g.neighbours[3, 4] == 9
    # the busy corner is hot, and two-sided p-values match the z-scores
    assert g.z[2:4, 5:7].min() > 2 and (g.confidence[2:4, 5:7] > 0).all()
    from scipy.stats import norm
    np.testing.assert_allclose(g.p, 2 * norm.sf(np.abs(g.z)), atol=1e-12)


def test_distance_band_agrees_with_libpysal_distance_band(counts: np.ndarray):
    g = gi_star_grid(lattice_points(counts), cell_size_m=100, distance_m=250,
                     bounds=(X0, Y0, X0 + 900, Y0 + 700))
    r, c = np.divmod(np.arange(63), 9)
    centres = np.column_stack([c * 100.0, -r * 100.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        band = libpysal.weights.DistanceBand(centres, threshold=250, binary=True,
                                             silence_warnings=True)
    want = esda_z(counts.ravel().astype(float), band.neighbors)
    np.testing.assert_allclose(g.z.ravel(), want, atol=1e-10)
    assert g.neighbours[3, 4] == 21  # d^2 <= 6.25 cells^2: 1 + 4 + 4 + 4 + 8


def test_a_wide_band_summed_by_fft_agrees_with_esda():
    rng = np.random.default_rng(5)
    counts = rng.poisson(2.0, (20, 24))
    g = gi_star_grid(lattice_points(counts), cell_size_m=100, distance_m=720,
                     bounds=(X0, Y0, X0 + 2400, Y0 + 2000))
    r, c = np.divmod(np.arange(counts.size), 24)
    d2 = (r[:, None] - r[None]) ** 2 + (c[:, None] - c[None]) ** 2
    near = {i: [int(j) for j in np.flatnonzero(d2[i] <= 7.2**2) if j != i]
            for i in range(counts.size)}
    np.testing.assert_allclose(g.z.ravel(), esda_z(counts.ravel().astype(float), near),
                               atol=1e-9)


def knn_with_ties(rows: np.ndarray, cols: np.ndarray, k: int) -> dict[int, list[int]]:
    """The documented rule, by brute force: the k nearest cells and every cell tied with the
    k-th."""
    d2 = (rows[:, None] - rows[None]) ** 2 + (cols[:, None] - cols[None]) ** 2
    out = {}
    for i in range(rows.size):
        others = np.delete(np.arange(rows.size), i)
        kth = np.sort(d2[i, others])[k - 1]
        out[i] = [int(j) for j in others if d2[i, j] <= kth]
    return out


@pytest.mark.parametrize("k", [4, 5, 8, 12])
def test_k_nearest_cells_with_ties_and_a_boundary_agree_with_esda(counts: np.ndarray, k: int):
    # a round study area: its edge cells reach further for their k neighbours
    boundary = shapely.Point(X0 + 450, Y0 + 350).buffer(330)
    g = gi_star_grid(lattice_points(counts), cell_size_m=100, k=k, boundary=boundary,
                     bounds=(X0, Y0, X0 + 900, Y0 + 700))
    study = np.flatnonzero(g.in_study.ravel())
    assert 20 < study.size < 63
    r, c = np.divmod(study, 9)
    near = knn_with_ties(r, c, k)
    assert all(len(v) >= k for v in near.values())
    np.testing.assert_array_equal(g.neighbours.ravel()[study],
                                  [len(near[i]) + 1 for i in range(study.size)])
    want = esda_z(g.counts.ravel()[study], near)
    np.testing.assert_allclose(g.z.ravel()[study], want, atol=1e-10)
    assert np.isnan(g.z[~g.in_study]).all() and (g.confidence[~g.in_study] == 0).all()


def test_the_boundary_decides_the_observations_and_drops_incidents_outside(counts):
    xy = lattice_points(counts)
    west = shapely.box(X0, Y0, X0 + 450, Y0 + 700)  # cell centres at 50..350 m east: 4 columns
    g = gi_star_grid(xy, cell_size_m=100, boundary=west, bounds=(X0, Y0, X0 + 900, Y0 + 700))
    assert g.in_study[:, :4].all() and not g.in_study[:, 4:].any()
    assert g.counts[:, 4:].sum() == 0 and g.counts.sum() == counts[:, :4].sum()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        queen = libpysal.weights.lat2W(7, 4, rook=False)
    want = esda_z(counts[:, :4].ravel().astype(float), queen.neighbors)
    np.testing.assert_allclose(g.z[:, :4].ravel(), want, atol=1e-10)
    # without bounds the grid is the boundary's bounding box
    h = gi_star_grid(xy, cell_size_m=100, boundary=west)
    assert h.bounds == pytest.approx((X0, Y0, X0 + 500, Y0 + 700))


def test_default_bounds_pad_the_incidents_by_the_band_and_cells_are_half_open():
    xy = np.array([[X0, Y0], [X0 + 1000, Y0 + 500]])
    g = gi_star_grid(xy, cell_size_m=100)
    assert g.bounds == pytest.approx((X0 - 150, Y0 - 150, X0 + 1150, Y0 + 650))
    assert g.counts.sum() == 2
    row, col = g.cell_of(np.array([[X0 - 150, Y0 + 650 - 1e-6], [X0 - 150.1, Y0],
                                   [X0 + 1150, Y0]]))
    assert (row[0], col[0]) == (0, 0) and row[1] == -1 and col[2] == -1
    polys = g.cell_polygons(np.eye(*g.shape, dtype=bool))
    assert len(polys) == min(g.shape)
    assert polys[0].bounds == pytest.approx((X0 - 150, Y0 + 550, X0 - 50, Y0 + 650))
    assert g.transform == (100.0, 0.0, X0 - 150, 0.0, -100.0, Y0 + 650)


def test_weights_are_summed_and_z_is_scale_free(counts: np.ndarray):
    xy = lattice_points(counts)
    bounds = (X0, Y0, X0 + 900, Y0 + 700)
    g = gi_star_grid(xy, cell_size_m=100, bounds=bounds)
    double = gi_star_grid(xy, cell_size_m=100, bounds=bounds, weights=np.full(len(xy), 2.0))
    np.testing.assert_allclose(double.counts, 2 * g.counts)
    np.testing.assert_allclose(double.z, g.z, atol=1e-12)
    # harm on one quiet cell's incidents makes it hot
    quiet = (xy[:, 0] < X0 + 100) & (xy[:, 1] < Y0 + 100)  # the south-west corner cell
    assert quiet.any()
    harm = gi_star_grid(xy, cell_size_m=100, bounds=bounds,
                        weights=np.where(quiet, 50.0, 1.0))
    assert harm.z[6, 0] > g.z[6, 0] + 2


def test_benjamini_hochberg_by_hand():
    p = np.array([0.042, 0.001, 0.216, 0.039, 0.06, 0.008, 0.205, 0.041, 0.074, 0.212])
    # sorted: 0.001 0.008 0.039 0.041 0.042 0.06 0.074 0.205 0.212 0.216; m = 10
    # alpha 0.05, i * 0.005: passes at i = 1, 2 only -> cut-off 0.008
    assert fdr_threshold(p, 0.05) == 0.008
    # alpha 0.10, i * 0.01: 0.042 <= 0.05 (i = 5) and 0.06 <= 0.06 (i = 6): step-up keeps
    # 0.039 and 0.041 too, though each fails its own i * alpha / m
    assert fdr_threshold(p, 0.10) == 0.06
    assert fdr_threshold(p, 0.01) == 0.001
    assert fdr_threshold(p[p > 0.03], 0.05) == 0.0  # none passes
    z = np.array([3.0, 3.3, -1.2, 2.1, -1.9, 2.7, 1.3, -2.0, 1.8, -1.2])
    conf = confidence_levels(z, p, np.ones(10, dtype=bool))
    assert conf.tolist() == [1, 3, 0, 1, -1, 2, 0, -1, 0, 0]
    raw = confidence_levels(z, p, np.ones(10, dtype=bool), fdr=False)
    assert raw.tolist() == [2, 3, 0, 2, -1, 3, 0, -2, 1, 0]


@pytest.mark.parametrize("alpha", [0.01, 0.05, 0.1])
def test_benjamini_hochberg_rejects_what_esda_fdr_rejects(alpha: float):
    rng = np.random.default_rng(11)
    p = np.concatenate([rng.uniform(0, 1, 900), rng.uniform(0, 0.0002, 100)])
    ours = p <= fdr_threshold(p, alpha)
    theirs = p < esda.fdr(p, alpha)
    assert 50 < ours.sum() < 1000
    np.testing.assert_array_equal(ours, theirs)


def test_fdr_is_stricter_than_raw_p_values():
    rng = np.random.default_rng(2)
    xy = rng.uniform((X0, Y0), (X0 + 5000, Y0 + 5000), (4000, 2))
    fdr = gi_star_grid(xy, cell_size_m=100, bounds=(X0, Y0, X0 + 5000, Y0 + 5000))
    raw = gi_star_grid(xy, cell_size_m=100, bounds=(X0, Y0, X0 + 5000, Y0 + 5000), fdr=False)
    # complete spatial randomness: raw p-values find ~10 % "hot or cold" cells, FDR (almost) none
    assert (raw.confidence != 0).mean() > 0.05
    assert (fdr.confidence != 0).mean() < 0.01


def test_equal_counts_have_no_hot_spots():
    counts = np.full((5, 5), 3)
    g = gi_star_grid(lattice_points(counts), cell_size_m=100, bounds=(X0, Y0, X0 + 500, Y0 + 500))
    assert (g.z == 0).all() and (g.p == 1).all() and (g.confidence == 0).all()


@pytest.fixture
def two_clusters() -> np.ndarray:
    rng = np.random.default_rng(7)
    a = rng.normal((X0 + 2000, Y0 + 2000), 60, (400, 2))
    b = rng.normal((X0 + 6000, Y0 + 5000), 60, (250, 2))
    noise = rng.uniform((X0, Y0), (X0 + 8000, Y0 + 8000), (2000, 2))
    return np.concatenate([a, b, noise])


def test_hotspots_are_contiguous_significant_hot_cells(two_clusters: np.ndarray):
    est = GiStarHotspots(cell_size_m=50, distance_m=100).fit(two_clusters, crs=CRS)
    spots = est.hotspots_
    assert list(spots.columns) == ["cluster", "incidents", "weight", "cells", "z_max",
                                   "confidence", "geometry"]
    assert spots.crs == CRS
    big = spots.sort_values("incidents", ascending=False).iloc[:2]
    centres = shapely.points([[X0 + 2000, Y0 + 2000], [X0 + 6000, Y0 + 5000]])
    assert {int(np.flatnonzero(spots.geometry.contains(c))[0]) for c in centres} == \
        set(big["cluster"])
    assert (est.labels_[:400] == big["cluster"].iloc[0]).mean() > 0.8
    for i, row in spots.iterrows():
        assert row["incidents"] == (est.labels_ == i).sum()
        assert row["geometry"].area == pytest.approx(row["cells"] * 50 * 50)
    assert set(spots["confidence"]) <= {95, 99} and (spots["z_max"] > 1.96).all()
    # every hotspot cell is hot at 95 % or more
    hot = est.grid_.confidence >= 2
    assert spots["cells"].sum() == hot.sum()
    # at 99 % the areas shrink
    strict = GiStarHotspots(cell_size_m=50, distance_m=100, confidence=99).fit(two_clusters,
                                                                               crs=CRS)
    assert strict.hotspots_["cells"].sum() < spots["cells"].sum()
    assert (strict.hotspots_["confidence"] == 99).all()
    # the functional twin
    twin = gistar_hotspots(two_clusters, crs=CRS, cell_size_m=50, distance_m=100)
    assert twin["incidents"].tolist() == spots["incidents"].tolist()


def test_min_incidents_and_the_limits(two_clusters: np.ndarray):
    est = GiStarHotspots(cell_size_m=50, distance_m=100, min_incidents=200).fit(two_clusters,
                                                                                crs=CRS)
    assert len(est.hotspots_) == 2 and (est.hotspots_["incidents"] >= 200).all()
    with pytest.raises(WorkLimitExceeded) as areas:
        GiStarHotspots(cell_size_m=50, distance_m=100, max_areas=1).fit(two_clusters, crs=CRS)
    assert areas.value.parameter == "min_incidents" and areas.value.kind == "hotspots"
    assert areas.value.found >= 2 and areas.value.limit == 1
    with pytest.raises(WorkLimitExceeded) as cells:
        GiStarHotspots(cell_size_m=10, max_cells=100_000).fit(two_clusters, crs=CRS)
    assert cells.value.parameter == "cell_size_m" and cells.value.kind == "grid_cells"
    assert cells.value.found > 100_000


@pytest.mark.parametrize(
    ("options", "parameter"),
    [
        ({"cell_size_m": 0}, "cell_size_m"),
        ({"cell_size_m": float("nan")}, "cell_size_m"),
        ({"distance_m": 50}, "distance_m"),
        ({"k": 0}, "k"),
        ({"k": 2.5}, "k"),
        ({"k": 8, "distance_m": 300}, "k"),
        ({"confidence": 80}, "confidence"),
        ({"min_incidents": 0}, "min_incidents"),
        ({"bounds": (1, 2, 0, 3)}, "bounds"),
        ({"boundary": "the county"}, "boundary"),
        ({"boundary": shapely.box(0, 0, 50, 50)}, "cell_size_m"),  # one cell at most
    ],
)
def test_bad_parameters_name_themselves(two_clusters, options, parameter):
    with pytest.raises(InvalidParameter) as bad:
        GiStarHotspots(**options).fit(two_clusters, crs=CRS)
    assert bad.value.parameter == parameter


def test_bad_points():
    with pytest.raises(InvalidPoints):
        GiStarHotspots().fit(np.array([[0.1, 51.5], [0.2, 51.6]]), crs="EPSG:4326")
    with pytest.raises(InvalidParameter) as weights:
        gi_star_grid(np.zeros((3, 2)), cell_size_m=100, weights=np.array([1.0, -1.0, 1.0]))
    assert weights.value.parameter == "weights"
    with pytest.raises(InvalidParameter) as nothing:
        gi_star_grid(np.empty((0, 2)), cell_size_m=100)
    assert nothing.value.parameter == "bounds"
    # no incidents but bounds: every cell equal, nothing significant
    empty = gi_star_grid(np.empty((0, 2)), cell_size_m=100, bounds=(0, 0, 1000, 1000))
    assert (empty.confidence == 0).all()


def test_the_study_area_is_the_cells_whose_centre_is_inside_the_boundary():
    # a multipolygon with a hole, and random polygons: as shapely.contains_xy at the centres
    rng = np.random.default_rng(4)
    shapes = [shapely.union(
        shapely.box(X0, Y0, X0 + 450, Y0 + 700).difference(
            shapely.box(X0 + 120, Y0 + 130, X0 + 310, Y0 + 290)),
        shapely.Point(X0 + 800, Y0 + 500).buffer(150))]
    shapes += [shapely.Polygon(rng.uniform((X0, Y0), (X0 + 1000, Y0 + 800), (12, 2))).buffer(0)
               for _ in range(20)]
    for boundary in shapes:
        if shapely.area(boundary) < 2e4:
            continue
        g = gi_star_grid(np.empty((0, 2)), cell_size_m=37, boundary=boundary,
                         bounds=(X0 - 20, Y0 - 30, X0 + 1030, Y0 + 820))
        rows, cols = g.shape
        cx = g.origin[0] + (np.arange(cols) + 0.5) * 37
        cy = g.origin[1] - (np.arange(rows) + 0.5) * 37
        want = shapely.contains_xy(boundary, cx[None, :], cy[:, None])
        np.testing.assert_array_equal(g.in_study, want)


def test_poisson_p_values_by_hand_and_on_random_points():
    from scipy.stats import poisson

    counts = np.zeros((5, 5), dtype=int)
    counts[2, 2] = 6
    counts[0, 0] = 1
    g = gi_star_grid(lattice_points(counts), cell_size_m=100, p_values="poisson",
                     bounds=(X0, Y0, X0 + 500, Y0 + 500))
    mean = 7 / 25
    # the centre's block holds 6 against 9 * mean expected: 2 P(X >= 6), X ~ Poisson(2.52)
    assert g.p[2, 2] == pytest.approx(2 * poisson.sf(5, 9 * mean), rel=1e-9)
    # a corner block (4 cells) holding 1: P(X <= 1) < P(X >= 1), so p = 2 P(X <= 1)
    lam = 4 * mean
    assert g.p[0, 0] == pytest.approx(min(1, 2 * min(poisson.cdf(1, lam), poisson.sf(0, lam))))
    # an empty block: 2 P(X = 0)
    assert g.p[4, 4] == pytest.approx(min(1.0, 2 * poisson.pmf(0, 4 * mean)))
    normal = gi_star_grid(lattice_points(counts), cell_size_m=100,
                          bounds=(X0, Y0, X0 + 500, Y0 + 500))
    np.testing.assert_allclose(g.z, normal.z)  # the z-score is Gi*'s either way
    # complete spatial randomness, sparse cells (0.075 a cell): the normal tail calls hundreds
    # of blocks hot; the exact test none
    rng = np.random.default_rng(8)
    xy = rng.uniform((X0, Y0), (X0 + 20_000, Y0 + 20_000), (3_000, 2))
    bounds = (X0, Y0, X0 + 20_000, Y0 + 20_000)
    assert (gi_star_grid(xy, cell_size_m=100, bounds=bounds).confidence > 0).sum() > 100
    assert (gi_star_grid(xy, cell_size_m=100, bounds=bounds,
                         p_values="poisson").confidence != 0).sum() == 0
    with pytest.raises(InvalidParameter) as bad:
        gi_star_grid(xy, cell_size_m=100, p_values="exact")
    assert bad.value.parameter == "p_values"
    with pytest.raises(InvalidParameter) as weighted:
        gi_star_grid(xy, cell_size_m=100, p_values="poisson", weights=np.ones(len(xy)))
    assert weighted.value.parameter == "p_values"


def test_empirical_p_values_against_the_convolved_histogram():
    counts = np.zeros((6, 6), dtype=int)
    counts[2:4, 2:4] = [[5, 3], [4, 6]]
    counts[0, 5] = 2
    g = gi_star_grid(lattice_points(counts), cell_size_m=100, p_values="empirical",
                     bounds=(X0, Y0, X0 + 600, Y0 + 600))
    pmf = np.bincount(counts.ravel()) / 36

    def law(w: int) -> np.ndarray:
        out = np.array([1.0])
        for _ in range(w):
            out = np.convolve(out, pmf)
        return out

    for (r, c), w in [((2, 2), 9), ((0, 5), 4), ((5, 0), 4), ((0, 2), 6)]:
        block = counts[max(r - 1, 0):r + 2, max(c - 1, 0):c + 2].sum()
        dist = law(w)
        want = min(1.0, 2 * min(dist[block:].sum(), dist[:block + 1].sum()))
        assert g.neighbours[r, c] == w
        assert g.p[r, c] == pytest.approx(want, rel=1e-9, abs=1e-15)
    rng = np.random.default_rng(8)
    xy = rng.uniform((X0, Y0), (X0 + 20_000, Y0 + 20_000), (3_000, 2))
    assert (gi_star_grid(xy, cell_size_m=100, bounds=(X0, Y0, X0 + 20_000, Y0 + 20_000),
                         p_values="empirical").confidence != 0).sum() == 0


def test_cell_squares_share_their_edges_to_the_last_bit():
    """Neighbouring cells' squares share one number for their common edge on a grid whose
    origin and cell size are not round, so the union of a hotspot's cells is valid (it drew
    rings crossing themselves when the east edge was west + c)."""
    from hotspot.gistar_grid import cell_boxes
    from hotspot.kde import union_of_cells

    rr, cc = np.nonzero(np.random.default_rng(1).random((12, 12)) > 0.45)
    boxes = cell_boxes(rr, cc, (460363.89535176236, 491403.4117038784), 21.2)
    assert shapely.is_valid(shapely.coverage_union_all(boxes))
    assert shapely.is_valid(union_of_cells(boxes))
    assert shapely.area(union_of_cells(boxes)) == pytest.approx(rr.size * 21.2 ** 2, rel=1e-9)
