"""The backtest's fast paths give what the plain computation gives, on small cases: point
indexes (grid cells by their bounds), the selection's disjoint pieces, the forecast on the
occupied lattice cells, and the DBSCAN candidate's whole areas. Metres in EPSG:27700."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from scipy.ndimage import maximum_filter

from hotspot import coverage as cov
from hotspot.backtest import (
    MIN_PLACE_M,
    dbscan_places,
    default_candidates,
    forecast_squares,
)
from hotspot.backtest.candidate import at_least
from hotspot.backtest.candidates import _dbscan_places, _whole_area_peaks
from hotspot.backtest.squares import _non_overlapping

CRS = "EPSG:27700"


def test_a_point_index_finds_the_same_points_as_the_plain_test():
    rng = np.random.default_rng(1)
    cells = cov.cell_boxes(np.arange(5), np.arange(5), 50.0)  # rectangles: by their bounds
    disc = shapely.Point(400, 400).buffer(60)  # not a rectangle: by intersects
    tilted = shapely.Polygon([(300, 0), (350, 50), (300, 100), (250, 50)])  # 5 coords, a diamond
    geoms = np.concatenate([cells, [disc, tilted]])
    xy = np.concatenate([rng.uniform(0, 500, (2000, 2)),
                         [[50, 50], [100, 75], [250, 250], [300, 0], [275, 75], [340, 400]]])
    plain = cov.inside_any(geoms, xy)
    assert plain.any() and not plain.all()
    assert cov.inside_any(geoms, cov.point_index(xy)).tolist() == plain.tolist()
    # the diamond's bounding box holds (260, 10), the diamond does not
    assert not cov.inside_any([tilted], cov.point_index(np.array([[260.0, 10.0]])))[0]
    assert cov.inside_any([], cov.point_index(xy)).sum() == 0


def test_only_exact_axis_aligned_rectangles_take_the_bounds_test():
    box = shapely.box(0, 0, 50, 50)
    diamond = shapely.Polygon([(25, 0), (50, 25), (25, 50), (0, 25)])
    line = shapely.Polygon([(0, 0), (50, 0), (50, 0), (0, 0)])
    holed = shapely.box(0, 0, 50, 50).difference(shapely.box(10, 10, 20, 20))
    out = cov._axis_boxes(np.array([box, diamond, line, holed, box.buffer(1)], dtype=object))
    assert out.tolist() == [True, False, False, False, False]


def test_selection_pieces_are_disjoint_and_give_the_same_stability():
    squares = [shapely.box(0, 0, 100, 100), shapely.box(50, 50, 150, 150),
               shapely.box(300, 0, 350, 50), shapely.box(120, 120, 200, 200)]
    prep = cov.prepare(squares)
    idx, area, pieces = prep.select_pieces(1e9)
    assert idx.tolist() == [0, 1, 2, 3]
    assert float(shapely.area(pieces).sum()) == pytest.approx(area)
    assert shapely.area(shapely.union_all(pieces)) == pytest.approx(area)
    assert float(shapely.area(shapely.intersection(pieces[0], pieces[1]))) == 0.0
    assert prep.select(1e9)[1] == area
    other = [shapely.box(25, 25, 125, 125), shapely.box(100, 100, 180, 180)]
    _, _, other_pieces = cov.prepare(other).select_pieces(1e9)
    sel = prep.clipped[idx]
    assert cov.jaccard(other_pieces, pieces, disjoint=True) == pytest.approx(
        cov.jaccard(other, sel), rel=1e-12)


def _forecast_reference(xy: np.ndarray, lattice: float, m: int) -> list[tuple[float, float]]:
    """The forecast's rule on a dense lattice with a plain greedy pass (no prior)."""
    col = np.floor(xy[:, 0] / lattice).astype(int)
    row = np.floor(xy[:, 1] / lattice).astype(int)
    c0, r0 = col.min() - m, row.min() - m
    shape = (row.max() - r0 + m + 1, col.max() - c0 + m + 1)
    grid = np.zeros(shape)
    np.add.at(grid, (row - r0, col - c0), 1.0)
    box = np.zeros(shape)
    for dr in range(m):
        for dc in range(m):
            box[:shape[0] - dr, :shape[1] - dc] += grid[dr:, dc:]
    peak = (box > 0) & (box >= maximum_filter(box, size=2 * m - 1, mode="constant"))
    rr, cc = np.nonzero(peak)
    s = box[rr, cc]
    order = np.lexsort((rr, cc, -s))
    taken = np.zeros(shape, dtype=bool)
    out = []
    for r, c in zip(rr[order], cc[order], strict=True):
        if not taken[r:r + m, c:c + m].any():
            taken[r:r + m, c:c + m] = True
            out.append(((c + c0) * lattice, (r + r0) * lattice))
    return out


@pytest.mark.parametrize("lattice", [25.0, 10.0, 50.0])
def test_the_forecast_keeps_the_squares_of_the_plain_rule(lattice):
    rng = np.random.default_rng(3)
    points = rng.uniform(0, 1_000, (40, 2))
    xy = points[rng.integers(0, 40, 600)] + rng.normal(0, 8, (600, 2))  # recurring map points
    train = pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "month": 0, "weight": 1.0})
    places = forecast_squares(lattice_m=lattice).fit(train, CRS, None)
    corners = shapely.bounds(np.asarray(places.geometry.values, dtype=object))[:, :2]
    expected = _forecast_reference(xy, lattice, round(50.0 / lattice))
    assert [tuple(c) for c in corners.tolist()] == [tuple(map(float, e)) for e in expected]


def test_greedy_pass_over_crowded_peaks_matches_the_full_pass():
    # a plateau of four squares two cells wide, each overlapping the others; one apart;
    # two side by side (touching, not overlapping)
    rr = np.array([0, 0, 1, 1, 10, 20, 20])
    cc = np.array([0, 1, 0, 1, 10, 0, 2])
    assert _non_overlapping(rr, cc, 2).tolist() == [0, 4, 5, 6]
    assert _non_overlapping(rr, cc, 1).tolist() == [0, 1, 2, 3, 4, 5, 6]


def test_dbscan_candidate_takes_whole_areas_as_split_places_does():
    from hotspot.dbscan import DBSCANHotspots
    from hotspot.places import split_places

    rng = np.random.default_rng(5)
    spots = np.array([[1_000, 1_000], [3_000, 1_000], [5_000, 5_000], [7_000, 2_000]], float)
    narrow = np.repeat(spots, 15, axis=0)  # single map points: whole areas, equal densities
    street = np.column_stack([rng.uniform(0, 900, 300) + 2_000, rng.normal(4_000, 5, 300)])
    xy = np.concatenate([narrow, street, rng.uniform(0, 8_000, (200, 2))])
    est = DBSCANHotspots(eps_m=100.0).fit(xy, crs=CRS)
    ref = split_places(xy, None, est.labels_, est.hotspots_, max_place_m=250.0,
                       max_places=None, crs=CRS).places
    geoms, count, px, py, parent = _dbscan_places(xy, est.labels_, est.hotspots_, 250.0, CRS)
    assert ref["split"].any() and (~ref["split"]).sum() >= 4
    assert parent.tolist() == ref["parent"].tolist()
    assert count.tolist() == ref["incidents"].tolist()
    assert all(shapely.equals_exact(geoms, np.asarray(ref.geometry.values, dtype=object), 0))
    split = ref["split"].to_numpy()
    assert px[split].tolist() == ref["peak_x"].to_numpy()[split].tolist()
    assert py[split].tolist() == ref["peak_y"].to_numpy()[split].tolist()
    assert np.isnan(px[~split]).all()
    # and the candidate ranks them as it did with every peak drawn (ties by peak)
    train = pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "month": 0, "weight": 1.0})
    places = dbscan_places(100.0).fit(train, CRS, None)
    g = at_least(np.asarray(ref.geometry.values, dtype=object), MIN_PLACE_M)
    density = ref["incidents"].to_numpy(float) / np.maximum(shapely.area(g), 1.0)
    order = np.lexsort((ref["peak_y"].to_numpy(), ref["peak_x"].to_numpy(), -density))
    assert all(shapely.equals_exact(np.asarray(places.geometry.values, dtype=object),
                                    g[order], 0))
    # the peaks drawn for tied whole areas are split_places' own
    whole = np.flatnonzero(~split)
    wx, wy = _whole_area_peaks(xy, est.labels_, est.hotspots_, parent[whole], 250.0, CRS)
    assert wx.tolist() == ref["peak_x"].to_numpy()[whole].tolist()
    assert wy.tolist() == ref["peak_y"].to_numpy()[whole].tolist()


def test_default_candidates_without_dbscan():
    full = [c.name for c in default_candidates()]
    quick = [c.name for c in default_candidates(dbscan=False)]
    assert quick == [n for n in full if not n.startswith("dbscan_")]
    assert len(full) == 12 and len(quick) == 10  # the service's ten (api.services.backtests)
    assert full[-1] == "cells_50m_nbr250m"
    assert [c.name for c in default_candidates(neighbourhood=False)] == full[:-1]
