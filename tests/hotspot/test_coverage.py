"""Area budgets and the prospective measures (hit rate, PAI, RRI, PEI*, stability) on hand-made
cases with known answers. Metres, EPSG:27700-like coordinates."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely

from hotspot.coverage import (
    best_hit_rate,
    cell_counts,
    hit_rate,
    inside_any,
    jaccard,
    pai,
    pei_star,
    prepare,
    rri,
    select_by_area,
    union_area,
)
from hotspot.errors import InvalidParameter


def square(x: float, y: float, side: float) -> shapely.Polygon:
    return shapely.box(x, y, x + side, y + side)


# --- select_by_area ----------------------------------------------------------------------------

def test_select_keeps_rank_order_and_skips_a_place_that_would_overflow():
    places = [square(0, 0, 100), square(1000, 0, 200), square(2000, 0, 50),
              square(3000, 0, 100)]
    # 10,000 + 40,000 would overflow 15,000: the 200 m square is skipped, the 50 m one fits,
    # the last 100 m one would overflow again
    assert select_by_area(places, 15_000).tolist() == [0, 2]
    assert select_by_area(places, 0).tolist() == []
    assert select_by_area(places, 1e9).tolist() == [0, 1, 2, 3]


def test_select_counts_overlaps_once():
    a = square(0, 0, 100)
    b = square(50, 0, 100)  # half of it already covered by a: adds 5,000 m2
    c = square(0, 0, 100)   # inside a: adds nothing, so it is not kept
    d = square(500, 0, 100)
    assert select_by_area([a, b, c, d], 15_000).tolist() == [0, 1]
    prep = prepare([a, b, c, d])
    idx, area = prep.select(25_000)
    assert idx.tolist() == [0, 1, 3]
    assert area == pytest.approx(25_000)
    assert union_area([a, b, d]) == pytest.approx(25_000)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_union_area_of_places_disjoint_within_their_area_equals_the_whole_union(seed):
    """Places cut from overlapping areas (each area's places disjoint, touching one another,
    those of different areas overlapping): the area summed by groups is the union's."""
    rng = np.random.default_rng(seed)
    geoms: list[object] = []
    area_of: list[int] = []
    for a in range(30):
        cx, cy = rng.uniform(0, 3_000, 2)
        blob = shapely.Point(cx, cy).buffer(float(rng.uniform(100, 600)))
        taken = shapely.Polygon()
        for _ in range(int(rng.integers(1, 8))):
            px, py = np.asarray(blob.centroid.coords[0]) + rng.normal(0, 200, 2)
            disc = shapely.Point(px, py).buffer(125.0)
            place = disc.intersection(blob).difference(taken)
            taken = taken.union(disc)
            geoms.append(place)
            area_of.append(a)
    geoms += [None, shapely.Polygon()]
    area_of += [0, 1]
    arr = np.asarray(geoms, dtype=object)
    labels = np.asarray(area_of)
    boundary = shapely.box(200, 200, 2_600, 2_900)
    for clip in (None, boundary):
        whole = union_area(arr, boundary=clip)
        by_area = union_area(arr, boundary=clip, disjoint_within=labels)
        assert by_area == pytest.approx(whole, rel=1e-9, abs=1e-6)
    overlapping = float(np.nansum(shapely.area(arr)))  # the areas overlap: no mere sum
    assert overlapping > union_area(arr) * 1.05
    # one group: a plain sum; distinct labels for all: everything unioned
    apart = [square(0, 0, 10), square(10, 0, 10), square(100, 0, 5)]
    assert union_area(apart, disjoint_within=np.zeros(3)) == pytest.approx(225)
    assert union_area([square(0, 0, 10), square(5, 0, 10)],
                      disjoint_within=np.arange(2)) == pytest.approx(150)
    with pytest.raises(InvalidParameter, match="disjoint_within"):
        union_area(apart, disjoint_within=np.zeros(2))


def test_grid_cells_that_touch_do_not_count_as_overlapping():
    cells = [square(x, 0, 50) for x in (0, 50, 100, 150)]
    idx, area = prepare(cells).select(7_500)
    assert idx.tolist() == [0, 1, 2]
    assert area == pytest.approx(7_500)


def test_select_clips_to_the_boundary():
    boundary = shapely.box(0, 0, 1000, 1000)
    half_out = square(-50, 0, 100)   # 5,000 m2 inside
    outside = square(2000, 0, 100)   # nothing inside: never kept
    full = square(500, 500, 100)
    assert select_by_area([half_out, outside, full], 5_000, boundary=boundary).tolist() == [0]
    idx, area = prepare([half_out, outside, full], boundary=boundary).select(15_000)
    assert idx.tolist() == [0, 2]
    assert area == pytest.approx(15_000)


def test_select_refuses_a_negative_budget():
    with pytest.raises(InvalidParameter) as err:
        select_by_area([square(0, 0, 10)], -1)
    assert err.value.parameter == "budget_m2"


def test_select_scales_to_a_county_grid():
    rng = np.random.default_rng(0)
    col = rng.permutation(20_000)
    cells = shapely.box(col * 50.0, 0, col * 50.0 + 50, 50)
    idx = select_by_area(cells, 2_500 * 7_000)
    assert idx.tolist() == list(range(7_000))


# --- measures ----------------------------------------------------------------------------------

def test_hit_rate_pai_and_their_edges():
    # 30 of 120 incidents in places covering 2 km2 of a 400 km2 force: H 0.25, share 0.005
    assert hit_rate(30, 120) == 0.25
    assert pai(0.25, 2e6, 400e6) == pytest.approx(50.0)
    assert math.isnan(hit_rate(0, 0))
    assert math.isnan(pai(0.25, 0.0, 400e6))
    with pytest.raises(InvalidParameter):
        pai(0.25, 1.0, 0.0)


def test_rri_is_levines_ratio_form():
    # fitting: 40 of 200 inside; test: 30 of 100 inside -> (30 / 40) / (100 / 200) = 1.5
    assert rri(30, 40, 100, 200) == pytest.approx(1.5)
    # equal to the test hit rate over the fitting hit rate
    assert rri(30, 40, 100, 200) == pytest.approx((30 / 100) / (40 / 200))
    assert math.isnan(rri(3, 0, 100, 200))


def test_inside_any_counts_points_on_an_edge_once():
    places = [square(0, 0, 50), square(50, 0, 50)]
    xy = np.array([[10.0, 10.0], [50.0, 25.0], [75.0, 25.0], [500.0, 500.0]])
    assert inside_any(places, xy).tolist() == [True, True, True, False]


def test_cell_counts_use_a_grid_aligned_on_multiples_of_the_cell():
    xy = np.array([[10.0, 10.0], [49.0, 49.0], [50.0, 10.0], [-1.0, 0.0]])
    col, row, n = cell_counts(xy, 50.0)
    got = sorted(zip(col.tolist(), row.tolist(), n.tolist(), strict=True))
    assert got == [(-1, 0, 1.0), (0, 0, 2.0), (1, 0, 1.0)]


def test_best_hit_rate_is_the_busiest_cells_of_the_test_period():
    # 50 m cells: 6 incidents in one cell, 3 in another, 1 in a third (10 in all)
    xy = np.array([[10, 10]] * 6 + [[110, 10]] * 3 + [[210, 10]], dtype=float)
    one, two, half = 2_500.0, 5_000.0, 1_250.0
    assert best_hit_rate(xy, [one, two, half]).tolist() == pytest.approx([0.6, 0.9, 0.3])
    assert best_hit_rate(xy, 1e9)[0] == pytest.approx(1.0)
    # a cell half outside the boundary holds its incidents on half the area: it goes first
    boundary = shapely.box(0, -1000, 1000, 1000).difference(shapely.box(100, 25, 150, 50))
    assert best_hit_rate(xy, [1_250.0], boundary=boundary)[0] == pytest.approx(0.3)
    assert pei_star(0.45, 0.6) == pytest.approx(0.75)
    assert math.isnan(pei_star(0.1, 0.0))


def test_jaccard_of_two_selections():
    a = [square(0, 0, 100)]
    b = [square(50, 0, 100)]
    assert jaccard(a, b) == pytest.approx(5_000 / 15_000)
    assert jaccard(a, a) == pytest.approx(1.0)
    assert jaccard(a, [square(500, 0, 10)]) == 0.0
    assert math.isnan(jaccard([], []))


def test_jaccard_of_disjoint_cells_takes_the_fast_path_with_the_same_answer():
    a = [square(x, 0, 50) for x in (0, 50, 100)]
    b = [square(x, 25, 50) for x in (25, 75, 500)]
    assert jaccard(a, b, disjoint=True) == pytest.approx(jaccard(a, b))
