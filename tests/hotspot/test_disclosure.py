"""Grid counts, small-count suppression and hotspots of squares (hotspot.disclosure).

Besides hand-checked cases, an attacker: for every published square, every way the held-back
counts could add up to what the published ones leave over (each a whole number from 0 to the
remainder); no held-back count may come out the same non-zero number in every way, nor may a
remainder from 1 to min_count - 1 be left over.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from hotspot.disclosure import (
    HELD_BACK,
    GridCounts,
    disclosed,
    grid_counts,
    hot_threshold,
    square_hotspots,
    suppress,
)
from hotspot.errors import InvalidParameter

K = 5


def _table(rows: list[list[int]]) -> GridCounts:
    counts = np.array(rows, dtype=np.int64)
    ij = np.column_stack([np.arange(len(rows)), np.zeros(len(rows))]).astype(np.int64)
    return GridCounts(ij, counts, 250.0)


def _row(groups: list[int]) -> list[int]:
    return [sum(groups), *groups]


def test_grid_counts_by_square_and_group() -> None:
    xy = np.array([[10.0, 10.0], [240.0, 249.9], [250.0, 0.0], [-1.0, 5.0], [10.0, 20.0]])
    grid = grid_counts(xy, np.array([0, 1, 1, 0, 0]), n_groups=2, cell_size_m=250.0)
    assert grid.ij.tolist() == [[-1, 0], [0, 0], [1, 0]]
    assert grid.counts.tolist() == [[1, 1, 0], [3, 2, 1], [1, 0, 1]]
    assert grid.bounds()[0].tolist() == [-250.0, 0.0, 0.0, 250.0]


@pytest.mark.parametrize(("groups", "shown"), [
    ([30, 12, 0, 0], [30, 12, None, None]),    # only zeros held back: all else shown
    ([30, 12, 3, 0], [30, None, None, None]),  # 3 alone would be total - 42: 12 goes too
    ([30, 12, 3, 4], [30, 12, None, None]),    # 7 over two groups (and not 4 + 4)
    ([30, 12, 4, 4], [30, None, None, None]),  # 8 = 4 + 4 would give both away
    ([9, 1, 0, 0], [None, None, None, None]),  # only the total is left
    ([6, 7, 0, 0], [6, 7, None, None]),
])
def test_complementary_suppression_cases(groups: list[int], shown: list[int | None]) -> None:
    out = suppress(_table([_row(groups)]), K)
    assert out.counts[0, 0] == sum(groups)
    assert [None if v == HELD_BACK else int(v) for v in out.counts[0, 1:]] == shown
    assert disclosed(out, K).size == 0


def test_small_squares_are_left_out_and_zeros_held_back() -> None:
    out = suppress(_table([_row([2, 1]), _row([5, 0]), _row([4, 4])]), K)
    assert out.counts.tolist() == [[5, 5, HELD_BACK]]  # 3 out; 8 = 4 + 4 gives both: out


def test_a_square_whose_groups_are_all_at_the_threshold_goes() -> None:
    out = suppress(_table([_row([4, 4, 4])]), K)
    assert len(out) == 0  # 12 = 3 x 4 would say each is 4


def _attack(published: GridCounts, k: int) -> list[int]:
    """Rows where the held-back counts give something away (see the module docstring)."""
    found = []
    for n, row in enumerate(published.counts):
        total, groups = int(row[0]), row[1:]
        held = np.flatnonzero(groups == HELD_BACK)
        rest = total - int(groups[groups != HELD_BACK].sum())
        if total < k or ((groups != HELD_BACK) & (groups < k)).any():
            found.append(n)
            continue
        if not held.size:
            if rest:
                found.append(n)
            continue
        if 0 < rest < k:
            found.append(n)
            continue
        # every way the held-back groups could hold `rest`; first those below k (primary)
        for bound in (k - 1, rest):
            ways = [w for w in itertools.product(range(bound + 1), repeat=held.size)
                    if sum(w) == rest]
            if ways:
                fixed = [len({w[i] for w in ways}) == 1 and ways[0][i] > 0
                         for i in range(held.size)]
                if any(fixed):
                    found.append(n)
                break
    return found


def test_no_published_table_gives_a_count_away() -> None:
    rng = np.random.default_rng(7)
    rows = []
    for _ in range(3000):
        scale = rng.choice([1, 3, 8, 30])
        rows.append(_row(rng.poisson(rng.random(4) * scale).tolist()))
    table = _table(rows)
    out = suppress(table, K)
    assert 0 < len(out) < len(table)
    assert _attack(out, K) == []
    assert disclosed(out, K).size == 0
    # the attacker is not toothless: holding back only the small counts gives many away
    naive = _table([r for r in rows if r[0] >= K])
    naive.counts[:, 1:][naive.counts[:, 1:] < K] = HELD_BACK
    assert len(_attack(naive, K)) > 100
    assert set(_attack(naive, K)) <= set(disclosed(naive, K).tolist())


def test_bad_parameters() -> None:
    with pytest.raises(InvalidParameter, match="min_count"):
        suppress(_table([_row([5])]), 1)
    with pytest.raises(InvalidParameter, match="cell_size_m"):
        grid_counts(np.zeros((1, 2)), np.zeros(1), n_groups=1, cell_size_m=0)
    with pytest.raises(InvalidParameter, match="group"):
        grid_counts(np.zeros((1, 2)), np.array([3]), n_groups=2, cell_size_m=250)


def test_square_hotspots_join_touching_squares_ranked_by_sum() -> None:
    ij = np.array([[0, 0], [1, 1], [5, 5], [5, 6], [9, 0], [20, 20]])
    values = np.array([5, 6, 9, 9, 30, 0])
    labels, totals = square_hotspots(ij, values)
    assert totals.tolist() == [30, 18, 11]
    assert labels.tolist() == [2, 2, 1, 1, 0, -1]  # diagonal neighbours join; 0 joins nothing
    assert square_hotspots(ij[:0], values[:0])[1].size == 0


def test_hot_threshold_keeps_the_busiest_squares_holding_the_share() -> None:
    assert hot_threshold(np.array([10, 5, 5, 0, 1]), 0.5) == 5  # 10 of 21 is not half
    assert hot_threshold(np.array([40, 5, 5, 0, 1]), 0.5) == 40
    assert hot_threshold(np.array([0, 0])) == 1 and hot_threshold(np.array([7]), 1.0) == 7
    with pytest.raises(InvalidParameter, match="share"):
        hot_threshold(np.array([1]), 0)
