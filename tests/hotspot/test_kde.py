"""Binned KDE against the exact sum, hotspot areas, and bad parameters."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from hotspot import InvalidParameter, InvalidPoints, KDEHotspots, kde_grid, kde_hotspots
from hotspot._native import native_steps
from hotspot.kde import density_threshold, rule_of_thumb_bandwidth

CRS = "EPSG:27700"


@pytest.fixture
def blobs() -> np.ndarray:
    rng = np.random.default_rng(7)
    a = rng.normal((461_000, 451_000), 80, (600, 2))
    b = rng.normal((465_000, 453_000), 120, (400, 2))
    noise = rng.uniform((455_000, 445_000), (470_000, 460_000), (300, 2))
    return np.concatenate([a, b, noise])


def exact(grid, xy: np.ndarray, rows: np.ndarray, cols: np.ndarray, kernel: str) -> np.ndarray:
    cx = grid.x0 + (cols + 0.5) * grid.cell_size_m
    cy = grid.y1 - (rows + 0.5) * grid.cell_size_m
    d2 = (cx[:, None] - xy[None, :, 0]) ** 2 + (cy[:, None] - xy[None, :, 1]) ** 2
    h = grid.bandwidth_m
    if kernel == "gaussian":
        k = np.exp(-d2 / (2 * h * h)) / (2 * np.pi * h * h)
    else:
        k = np.where(d2 < h * h, 3 / (np.pi * h * h) * (1 - d2 / (h * h)) ** 2, 0.0)
    return k.sum(axis=1) * 1e6


@pytest.mark.parametrize(("kernel", "tolerance"), [("gaussian", 0.01), ("quartic", 0.03)])
def test_binned_kde_agrees_with_the_exact_sum(blobs: np.ndarray, kernel: str, tolerance: float):
    grid = kde_grid(blobs, crs=CRS, bandwidth_m=200, cell_size_m=20, kernel=kernel)
    rows, cols = np.nonzero(grid.values > 0.1 * grid.peak)
    pick = np.random.default_rng(0).choice(rows.size, 300, replace=False)
    want = exact(grid, blobs, rows[pick], cols[pick], kernel)
    got = grid.values[rows[pick], cols[pick]]
    assert np.max(np.abs(got - want) / want) < tolerance
    # the kernel's mass is all on the grid: density x area sums to the incidents
    mass = grid.values.sum() * (grid.cell_size_m**2) / 1e6
    assert mass == pytest.approx(len(blobs), rel=1e-3)


def test_binning_by_hand_and_beyond_the_edges():
    from hotspot.kde import _linear_binning

    # 2 x 2 cells of 50 m, centres at x 25 and 75, y 75 (row 0, north) and 25: a point a
    # quarter cell west and north of the south-east centre puts 9/16 on it, 3/16 on the cells
    # west and north of it, 1/16 on the north-west; points off the grid land on its edge
    xy = np.array([[62.5, 37.5], [-500.0, 10.0], [10.0, 900.0], [900.0, -900.0]])
    got = _linear_binning(xy, np.array([16.0, 1.0, 2.0, 4.0]), 0.0, 100.0, 50.0, 2, 2)
    want = np.array([[1.0, 3.0], [3.0, 9.0]])
    want[1, 0] += 1.0  # far west, between the rows' centres but below the north one's
    want[0, 0] += 2.0  # far north, a little west of the first column's centre
    want[1, 1] += 4.0  # far south-east
    np.testing.assert_allclose(got, want)


@pytest.mark.parametrize("seed", range(4))
def test_compiled_binning_gives_the_numpy_binning(monkeypatch, seed: int):
    assert native_steps() is not None  # numba is a dependency, never skipped
    import hotspot.kde as module
    from hotspot._griddbscan import warm_up_compiled

    assert warm_up_compiled()  # loaded: the compiled binning is used from here on

    rng = np.random.default_rng(seed)
    xy = rng.uniform(-300, 3300, (5000, 2))  # some beyond the grid on every side
    w = rng.uniform(0, 3, 5000)
    rows, cols = int(rng.integers(1, 70)), int(rng.integers(1, 70))
    want = module._linear_binning(xy, w, 0.0, 3000.0, 45.0, rows, cols)
    monkeypatch.setattr(module, "_NATIVE_FROM", 0)
    got = module._bin(xy, w, 0.0, 3000.0, 45.0, rows, cols)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    assert got.sum() == pytest.approx(w.sum(), rel=1e-12)


def test_grid_geometry_and_weights(blobs: np.ndarray):
    grid = kde_grid(blobs, crs=CRS, bandwidth_m=200, cell_size_m=25)
    a, b, c, d, e, f = grid.transform
    assert (a, b, d, e) == (25.0, 0.0, 0.0, -25.0) and (c, f) == (grid.x0, grid.y1)
    minx, miny, maxx, maxy = grid.bounds
    assert minx <= blobs[:, 0].min() - 800 and maxx >= blobs[:, 0].max() + 800  # 4 bandwidths
    assert miny <= blobs[:, 1].min() - 800 and maxy >= blobs[:, 1].max() + 800
    doubled = kde_grid(blobs, crs=CRS, bandwidth_m=200, cell_size_m=25,
                       weights=np.full(len(blobs), 2.0))
    np.testing.assert_allclose(doubled.values, 2 * grid.values)


def test_rule_of_thumb_bandwidth():
    rng = np.random.default_rng(0)
    xy = rng.normal(0, 1000, (10_000, 2))
    # 0.9 * min(SD, sqrt(1/ln 2) * Dm) * n^-0.2 with SD = sqrt(2) * 1000, Dm = 1177
    assert rule_of_thumb_bandwidth(xy) == pytest.approx(0.9 * 1414 * 10_000**-0.2, rel=0.03)
    grid = kde_grid(xy + 500_000, crs=CRS)
    assert grid.bandwidth_m == pytest.approx(rule_of_thumb_bandwidth(xy), rel=1e-9)


def test_two_hotspot_areas_with_their_incidents(blobs: np.ndarray):
    est = KDEHotspots(bandwidth_m=100, cell_size_m=20, share=0.6).fit(blobs, crs=CRS)
    areas = est.hotspots_
    assert len(areas) == 2
    a = np.bincount(est.labels_[:600][est.labels_[:600] >= 0]).argmax()
    b = np.bincount(est.labels_[600:1000][est.labels_[600:1000] >= 0]).argmax()
    assert a != b
    assert (est.labels_[:600] == a).mean() > 0.9 and (est.labels_[600:1000] == b).mean() > 0.75
    assert areas.geometry.iloc[a].contains(gpd.points_from_xy([461_000], [451_000])[0])
    assert areas["incidents"].iloc[a] == (est.labels_ == a).sum()
    assert (areas["peak_density"] >= est.threshold_).all()
    # an area is its cells: area a multiple of the cell area
    assert (np.round(areas.area / 400, 6) % 1 == 0).all()


def test_thresholds():
    grid = kde_grid(np.array([[0.0, 0.0], [1000.0, 0.0]]) + 400_000, crs=CRS, bandwidth_m=100)
    everything = density_threshold(grid, share=1.0)
    assert everything == pytest.approx(grid.values[grid.values > 0].min())
    assert density_threshold(grid, percentile=0) == pytest.approx(everything)
    half = density_threshold(grid, share=0.5)
    assert everything < half < grid.peak
    with pytest.raises(InvalidParameter, match="either"):
        density_threshold(grid)
    with pytest.raises(InvalidParameter, match="share"):
        density_threshold(grid, share=0)
    with pytest.raises(InvalidParameter, match="percentile"):
        density_threshold(grid, percentile=100)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"bandwidth_m": 0}, "bandwidth_m must be a positive"),
        ({"bandwidth_m": -10}, "bandwidth_m must be a positive"),
        ({"bandwidth_m": 100_000}, "larger than the area"),
        ({"bandwidth_m": 100, "cell_size_m": 0}, "cell_size_m must be a number of metres"),
        ({"bandwidth_m": 100, "cell_size_m": 200}, "must not exceed bandwidth_m"),
        ({"bandwidth_m": 5000, "cell_size_m": 1}, "more than the limit"),
        ({"bandwidth_m": 100, "kernel": "epanechnikov"}, "kernel must be one of"),
        ({"bandwidth_m": 100, "threshold": "top ten"}, "threshold must be"),
    ],
)
def test_bad_parameters_are_named(blobs: np.ndarray, kwargs: dict, message: str):
    with pytest.raises(InvalidParameter, match=message):
        KDEHotspots(**kwargs).fit(blobs, crs=CRS)


def test_no_incidents_one_incident_and_geographic_points():
    with pytest.raises(InvalidParameter, match="no incidents"):
        kde_grid(np.empty((0, 2)), crs=CRS, bandwidth_m=100)
    with pytest.raises(InvalidParameter, match="single incident: give bandwidth_m"):
        kde_grid(np.array([[1.0, 2.0]]), crs=CRS)
    one = kde_hotspots(np.array([[460_000.0, 450_000.0]]), crs=CRS, bandwidth_m=100)
    assert len(one) == 1 and one["incidents"].iloc[0] == 1
    with pytest.raises(InvalidPoints, match="geographic"):
        kde_grid(np.array([[-1.08, 53.96], [-1.0, 54.0]]), crs="EPSG:4326", bandwidth_m=100)


def test_a_wide_area_coarsens_the_default_cell_instead_of_refusing():
    # two forces side by side: ~200 km across with a street-level bandwidth
    xy = np.array([[300_000.0, 300_000.0], [500_000.0, 500_000.0], [400_000.0, 420_000.0]])
    grid = kde_grid(xy, crs=CRS, bandwidth_m=250, max_cells=4_000_000)
    assert 50 < grid.cell_size_m <= 125 and grid.values.size <= 4_000_000
    assert grid.values.sum() * (grid.cell_size_m / 1000) ** 2 == pytest.approx(3, rel=1e-3)
    # a cell size the caller chose is theirs: refused, not changed
    with pytest.raises(InvalidParameter, match="more than the limit"):
        kde_grid(xy, crs=CRS, bandwidth_m=250, cell_size_m=50, max_cells=4_000_000)
    # and beyond half the bandwidth the default is refused too
    with pytest.raises(InvalidParameter, match="more than the limit"):
        kde_grid(xy, crs=CRS, bandwidth_m=250, max_cells=100_000)


def test_areas_are_valid_polygons_whose_cells_meet_at_corners_and_edges():
    """Cells at or above the threshold joined by an edge or only a corner (8-connected) make one
    area: a valid (Multi)Polygon of exactly their squares, on a grid whose origin and cell size
    are not round numbers. An edge two cells share must be one number in both (west + col * c
    + c and west + (col + 1) * c can differ in the last bit, and the coverage union then drew
    rings crossing themselves: every KDE area of the 10^6 bench was invalid)."""
    from hotspot.kde import DensityGrid, grid_areas

    values = (np.random.default_rng(1).random((12, 12)) > 0.45).astype(float)
    c = 21.2
    grid = DensityGrid(values=values, x0=460363.89535176236, y1=491403.4117038784,
                       cell_size_m=c, crs="EPSG:27700", bandwidth_m=60.0, kernel="quartic",
                       total_weight=1.0)
    rr, cc = np.nonzero(values)  # an incident at every hot cell's centre
    xy = np.column_stack([grid.x0 + (cc + 0.5) * c, grid.y1 - (rr + 0.5) * c])
    _labels, areas = grid_areas(grid, 0.5, xy, np.ones(rr.size))
    geoms = np.asarray(areas.geometry.values, dtype=object)
    assert len(areas) >= 3
    assert shapely.is_valid(geoms).all(), shapely.is_valid_reason(geoms)
    assert shapely.area(geoms).sum() == pytest.approx(values.sum() * c * c, rel=1e-9)
