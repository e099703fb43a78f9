"""Grid counts, small-count suppression and hotspots of squares (hotspot.disclosure).

Besides hand-checked cases, an attacker who knows the rule: for every published square, every
way its counts could have been (every split of what is held back among the held-back groups)
is run through the same suppression, and the splits that give the same published row are
kept; no held-back count may come out the same non-zero number in all of them.
"""

from __future__ import annotations

import numpy as np
import pytest

from bench.products import smallest_shown_too
from hotspot.disclosure import (
    HELD_BACK,
    GridCounts,
    Rule,
    disclosed,
    grid_counts,
    hot_threshold,
    square_hotspots,
    suppress,
    worked_out,
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
    ([30, 12, 0, 0], [30, 12, None, None]),      # only zeros held back: all else shown
    ([30, 12, 3, 0], [None, None, None, None]),  # 3 alone would be total - 42: total only
    ([30, 12, 3, 4], [30, 12, None, None]),      # 7 over two small groups (and not 4 + 4)
    ([30, 12, 4, 4], [None, None, None, None]),  # 8 = 4 + 4 would give both away
    ([9, 1, 0, 0], [None, None, None, None]),
    ([6, 7, 0, 0], [6, 7, None, None]),
    ([7, 21, 8, 7, 4], [None] * 5),              # 4 alone: holding back 7 too would tell
    ([10, 4, 4, 0], [None] * 4),                 # 8 = 4 + 4 if the last group is always empty
])
def test_complementary_suppression_cases(groups: list[int], shown: list[int | None]) -> None:
    out = suppress(_table([_row(groups)]), K)
    assert out.counts[0, 0] == sum(groups)
    assert [None if v == HELD_BACK else int(v) for v in out.counts[0, 1:]] == shown
    assert disclosed(out, K).size == 0


def test_small_squares_are_left_out_and_zeros_held_back() -> None:
    out = suppress(_table([_row([2, 1]), _row([5, 0]), _row([4, 4])]), K)
    assert out.counts.tolist() == [[5, 5, HELD_BACK], [8, HELD_BACK, HELD_BACK]]


def _attack(published: GridCounts, k: int, rule: Rule = suppress) -> list[int]:
    found, not_tried = worked_out(published, k, rule=rule, max_ways=2_000_000)
    assert not_tried.size == 0
    return found.tolist()


@pytest.mark.parametrize("n_groups", [4, 5])
def test_no_published_table_gives_a_count_away(n_groups: int) -> None:
    rng = np.random.default_rng(7 + n_groups)
    rows = []
    for _ in range(700 if n_groups == 4 else 300):
        scale = rng.choice([1, 3, 6, 9]) * (4 / n_groups)
        rows.append(_row(rng.poisson(rng.random(n_groups) * scale * 1.6).tolist()))
    table = _table(rows)
    out = suppress(table, K)
    assert 0 < len(out) < len(table)
    kinds = {"only the total": 0, "a breakdown holding back": 0}
    for row in out.counts:
        held = (row[1:] == HELD_BACK).sum()
        if held == n_groups:
            kinds["only the total"] += 1
        elif held:
            kinds["a breakdown holding back"] += 1
    assert min(kinds.values()) >= 10, kinds  # the test sees both kinds of row
    assert _attack(out, K) == []
    assert disclosed(out, K).size == 0


def test_the_attacker_is_not_toothless() -> None:
    """Holding back the smallest group still shown, as an earlier rule did, gives counts away
    to an attacker who knows that rule (a square 47 = 7 + 21 + 8 + 7 + 4 published as
    47, -, 21, 8, 7, -: the 11 held back are 4 and 7); so does holding back only the small
    counts."""
    earlier = smallest_shown_too(_table([_row([7, 21, 8, 7, 4])]), K)
    assert earlier.counts[0].tolist() == [47, HELD_BACK, 21, 8, 7, HELD_BACK]
    assert _attack(earlier, K, smallest_shown_too) == [0]
    assert disclosed(earlier, K).tolist() == [0]
    rng = np.random.default_rng(3)
    naive = _table([_row(rng.poisson(rng.random(4) * 9).tolist()) for _ in range(500)])
    naive = GridCounts(naive.ij[naive.counts[:, 0] >= K], naive.counts[naive.counts[:, 0] >= K],
                       naive.cell_size_m)
    naive.counts[:, 1:][naive.counts[:, 1:] < K] = HELD_BACK
    assert len(disclosed(naive, K)) > 50


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


def test_groups_known_to_be_empty_give_nothing_away() -> None:
    """Someone who knows a group is always empty (a priority with no category) counts only the
    others: a square 18 = 10 + 4 + 4 + (always 0) must not show 10 alone."""
    rng = np.random.default_rng(11)
    rows = [_row([*rng.poisson(rng.random(3) * 6).tolist(), 0]) for _ in range(600)]
    out = suppress(_table(rows), K)
    found, not_tried = worked_out(out, K, empty=[3], max_ways=2_000_000)
    assert not_tried.size == 0 and found.tolist() == []
    assert suppress(_table([_row([10, 4, 4, 0])]), K).counts[0].tolist() == [18] + [HELD_BACK] * 4
