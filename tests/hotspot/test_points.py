"""Points collapsed onto their distinct coordinates: first-seen order, counts and weights."""

from __future__ import annotations

import numpy as np
import pytest

from hotspot.points import collapse


def stacks_by_hand(xy: np.ndarray, weights: np.ndarray) -> tuple[list, list, list, list]:
    """Distinct points in first-seen order, with counts, summed weights and each point's."""
    seen: dict[tuple[float, float], int] = {}
    count: list[int] = []
    weight: list[float] = []
    inverse = []
    for (x, y), w in zip(xy.tolist(), weights.tolist(), strict=True):
        k = seen.setdefault((x, y), len(seen))
        if k == len(count):
            count.append(0)
            weight.append(0.0)
        count[k] += 1
        weight[k] += w
        inverse.append(k)
    return list(seen), count, weight, inverse


@pytest.mark.parametrize("seed", range(6))
def test_stacks_are_the_distinct_points_in_first_seen_order(seed: int):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 3000))
    # map points shared by many incidents, and points sharing one axis's value only
    xy = np.round(rng.uniform(400_000, 401_000, (n, 2)) / (1 + 50 * (seed % 3))) * (
        1 + 50 * (seed % 3))
    xy[: n // 4, 0] = xy[0, 0]
    xy = xy[rng.permutation(n)]
    weights = rng.integers(1, 5, n).astype(float)
    got = collapse(xy, weights)
    points, count, weight, inverse = stacks_by_hand(xy, weights)
    np.testing.assert_array_equal(got.xy, np.array(points).reshape(-1, 2))
    np.testing.assert_array_equal(got.count, count)
    np.testing.assert_array_equal(got.weight, weight)  # small integers: exact in any order
    np.testing.assert_array_equal(got.inverse, inverse)
    np.testing.assert_array_equal(got.xy[got.inverse], xy)


def test_no_points_and_unweighted_points():
    empty = collapse(np.empty((0, 2)))
    assert empty.xy.shape == (0, 2) and empty.inverse.shape == (0,)
    got = collapse(np.array([[1.0, 2.0], [2.0, 1.0], [1.0, 2.0]]))
    np.testing.assert_array_equal(got.xy, [[1.0, 2.0], [2.0, 1.0]])
    np.testing.assert_array_equal(got.count, [2.0, 1.0])
    np.testing.assert_array_equal(got.weight, [2.0, 1.0])
    np.testing.assert_array_equal(got.inverse, [0, 1, 0])


def test_the_convex_hull_is_geos_own_to_the_last_bit():
    """convex_hull (qhull's candidates, then GEOS) gives GEOS's hull of all the points, the
    same coordinates in the same order: scattered, stacked (data.police.uk's map points),
    on a lattice (many points on the hull's edges), on a circle, on one line."""
    import shapely

    from hotspot.points import HULL_FROM, convex_hull

    rng = np.random.default_rng(3)
    lattice = np.stack(np.meshgrid(np.arange(40) * 12.5, np.arange(40) * 12.5), -1)
    circle = rng.normal(0, 1, (5_000, 2))
    circle /= np.hypot(circle[:, 0], circle[:, 1])[:, None]
    cases = [rng.normal(0, 3_000, (20_000, 2)), rng.uniform(0, 1_000, (HULL_FROM, 2)),
             np.concatenate([lattice.reshape(-1, 2)] * 3),
             np.repeat(rng.normal(0, 100, (30, 2)), 200, axis=0), circle * 1_000,
             np.column_stack([np.linspace(0, 1, 5_000), np.linspace(0, 2, 5_000)]),
             rng.normal(0, 50, (10, 2))]
    for xy in cases:
        xy = xy + np.array([500_000.0, 200_000.0])
        want = shapely.convex_hull(shapely.multipoints(xy))
        got = convex_hull(xy)
        assert shapely.equals_exact(got, want, tolerance=0), len(xy)
        assert shapely.area(got) == shapely.area(want)
