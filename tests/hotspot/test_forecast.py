"""hotspot.backtest.neighbourhood.neighbourhood_cells: the naive ranking with ties broken by the
neighbourhood and the budget filled near crime, on hand-made cases. Metres in EPSG:27700."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from hotspot.backtest import check_places, choose, naive_cells, rolling_origin
from hotspot.backtest.neighbourhood import neighbourhood_cells
from hotspot.errors import InvalidParameter

CRS = "EPSG:27700"


def frame(points: list[tuple[float, float]], month: int = 0) -> pd.DataFrame:
    xy = np.asarray(points, dtype=np.float64)
    return pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "month": month, "weight": 1.0})


def corners(places) -> list[tuple[float, float]]:
    b = shapely.bounds(np.asarray(places.geometry.values, dtype=object))
    return [(float(x), float(y)) for x, y in b[:, :2]]


def test_count_first_then_the_busier_neighbourhood_breaks_the_tie():
    # cells (0, 0) and (100, 0) hold 2 each; the one at 1,000 m east also has a cell of 1
    # next to it, so it wins the tie though the naive baseline (west first) puts it second
    pts = [(10, 10)] * 2 + [(1_010, 10)] * 2 + [(1_060, 10)] + [(5_010, 10)] * 3
    places = neighbourhood_cells(smooth_m=100).fit(frame(pts), CRS, None)
    got = corners(places)
    assert got[:4] == [(5_000, 0), (1_000, 0), (0, 0), (1_050, 0)]
    assert places["score"].to_numpy()[:4].tolist() == [3, 2, 2, 1]
    naive = corners(naive_cells(50.0).fit(frame(pts), CRS, None))
    assert naive[:3] == [(5_000, 0), (0, 0), (1_000, 0)]


def test_empty_cells_near_crime_come_after_every_occupied_cell():
    pts = [(10, 10)] * 4 + [(3_010, 10)]
    places = neighbourhood_cells(smooth_m=100).fit(frame(pts), CRS, None)
    score = places["score"].to_numpy()
    got = corners(places)
    assert got[:2] == [(0, 0), (3_000, 0)]
    assert (score[2:] == 0).all() and len(places) > 2
    # the first fill cells touch the busier cell, not the lone one
    assert set(got[2:6]) == {(-50, 0), (50, 0), (0, -50), (0, 50)}
    # nothing beyond 4 sd (400 m, in x or y) of the cells with crime
    b = shapely.bounds(np.asarray(places.geometry.values, dtype=object))
    far = np.minimum(np.maximum(abs(b[:, 0]), abs(b[:, 1])),
                     np.maximum(abs(b[:, 0] - 3_000), abs(b[:, 1])))
    assert far.max() == 400


def test_places_are_grid_cells_that_pass_the_fairness_rule():
    rng = np.random.default_rng(1)
    pts = rng.uniform(0, 2_000, (300, 2))
    places = neighbourhood_cells(cell_size_m=100, smooth_m=200, max_places=50).fit(
        frame([tuple(p) for p in pts]), CRS, None)
    assert len(places) == 50
    check_places(places, "nbr")
    b = shapely.bounds(np.asarray(places.geometry.values, dtype=object))
    assert np.allclose(b[:, 2] - b[:, 0], 100) and np.allclose(b[:, :2] % 100, 0)
    assert len({tuple(r) for r in b}) == 50  # no cell twice


def test_empty_training_months_give_no_places():
    empty = pd.DataFrame({"x": [], "y": [], "month": [], "weight": []})
    assert len(neighbourhood_cells().fit(empty, CRS, None)) == 0


@pytest.mark.parametrize(("kwargs", "parameter"), [
    ({"cell_size_m": 20.0}, "cell_size_m"), ({"cell_size_m": 300.0}, "cell_size_m"),
    ({"smooth_m": 0.0}, "smooth_m"), ({"smooth_m": float("nan")}, "smooth_m"),
    ({"max_places": 0}, "max_places")])
def test_bad_parameters_name_themselves(kwargs, parameter):
    with pytest.raises(InvalidParameter) as e:
        neighbourhood_cells(**kwargs)
    assert e.value.parameter == parameter


def test_a_grid_too_large_is_refused_before_it_is_drawn():
    with pytest.raises(InvalidParameter) as e:
        neighbourhood_cells().fit(frame([(0, 0), (400_000, 400_000)]), CRS, None)
    assert e.value.parameter == "cell_size_m"


def test_in_the_backtest_it_beats_the_baseline_when_ties_decide():
    # every month: 2 incidents on each of 40 map points in a town (its own 50 m cell each,
    # 100 m apart) and 2 on each of 40 isolated points far west (lower x, so the naive
    # baseline takes them first on ties); the next month's crime also falls on fresh points
    # of the town. The budget (0.1 % of 100 km2 = 40 cells) takes 40 of the 80 tied cells.
    town = np.array([(505_010.0 + 100 * i, 105_010.0 + 100 * j)
                     for i in range(8) for j in range(5)])
    lone = np.array([(500_010.0 + 0.0 * i, 100_010.0 + 1_000 * i) for i in range(10)]
                    + [(501_010.0, 100_010.0 + 1_000 * i) for i in range(10)]
                    + [(502_010.0, 100_010.0 + 1_000 * i) for i in range(10)]
                    + [(503_010.0, 100_010.0 + 1_000 * i) for i in range(10)])
    rng = np.random.default_rng(0)
    frames = []
    for m in range(3):
        fresh = town[rng.integers(0, 40, 30)] + 50.0  # the cells between the town's points
        pts = np.concatenate([np.repeat(town, 2, axis=0), np.repeat(lone[m::3][:1], 1, axis=0),
                              np.repeat(lone, 2, axis=0) if m == 0 else lone, fresh])
        frames.append(pd.DataFrame({"x": pts[:, 0], "y": pts[:, 1], "month": m}))
    data = pd.concat(frames, ignore_index=True)
    boundary = shapely.box(500_000, 100_000, 510_000, 110_000)
    cands = [naive_cells(50.0), naive_cells(100.0), naive_cells(250.0),
             neighbourhood_cells(smooth_m=100.0)]
    result = rolling_origin(data, cands, crs=CRS, boundary=boundary, shares=(0.001, 0.005))
    s = result.summary().set_index(["candidate", "share"])["pai_at_budget"]
    for share in (0.001, 0.005):
        best = max(s[(c.name, share)] for c in cands[:3])
        assert s[("cells_50m_nbr100m", share)] > best
    assert choose(result) == "cells_50m_nbr100m"
