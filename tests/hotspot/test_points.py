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
