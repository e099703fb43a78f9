"""Counts that may leave the force: grid squares, small-count suppression, hotspots of squares.

Partners (a retail crime partnership, councils, neighbouring forces) receive *published
products*, never the answer to a query: one table per period of incident counts on the fixed
force grid, with small counts held back so that nothing finer can be worked out from it. This
module is the pure part of that: arrays in, arrays and polygons out.

The table
    Every incident falls in one square of ``cell_size_m`` metres of the force CRS's grid
    (square ``(i, j)`` covers ``[i * size, (i + 1) * size) x [j * size, (j + 1) * size)``, in
    metres from the CRS origin). A square's counts are its total (``all``) and one count per
    group (the plan's priorities), and the groups add up to the total.

Primary suppression
    A square whose total is under ``min_count`` is left out altogether (it is not told apart
    from a square with no incident). In a square that is published, a group count under
    ``min_count`` is held back (shown as null).

Complementary suppression
    In a published square the held-back groups add up to the total minus the groups shown: so
    one held-back group alone would be given away by subtraction. A square's breakdown is
    therefore shown only when the small groups alone can be held back safely: they hold
    **nothing** (all zero), or **at least ``min_count`` incidents over at least two groups**,
    and not ``min_count - 1`` in each of them or of fewer of them (a group that is always
    empty would leave the others pinned). Otherwise *every* group of the square is held back and
    only its total is shown. Holding back more than the small groups but not all of them (the
    smallest group still shown, say) would tell an attacker who knows the rule that the extra
    group is at most the smallest one shown, which can pin a held-back count exactly (a
    square 47 = 21 + 8 + 7 + two held back: 11 over two groups, one of them at most 4 and the
    other at most 7, so 4 and 7). With this rule a held-back group is either one of the small
    ones, all of which are known to be under ``min_count`` and which add up to a number at
    least two ways, or one of a square showing nothing but its total; no held-back count can
    be worked out, whatever the attacker knows of the rule (a test replays every way a
    square's counts could have been to check it). Nothing else in a product is a count of its
    own: a hotspot's counts are sums of the squares' published counts.

Hotspots of squares
    A group's hotspots are made of its busiest published squares: those whose count of the
    group is shown and at least :func:`hot_threshold` (the busiest squares that together hold
    half of the group's published incidents); touching squares (8 neighbours) form one
    hotspot, and hotspots are ranked by the sum of their counts.

Products of different periods never overlap in time (the store refuses it), so no product can
be subtracted from another either: that is the whole of the differencing defence, and
:func:`disclosed` checks a table against it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from hotspot.errors import InvalidParameter

HELD_BACK = -1
"""The value of a count that is held back (suppressed) in :attr:`GridCounts.counts`."""


@dataclass(frozen=True)
class GridCounts:
    """Incident counts on the force grid, one row per square.

    Attributes
    ----------
    ij
        (n, 2) int64 square indices: ``x // cell_size_m``, ``y // cell_size_m`` (force CRS).
    counts
        (n, 1 + groups) int64: the square's total, then one count per group;
        :data:`HELD_BACK` where a count is held back.
    cell_size_m
        The square's side, metres.
    """

    ij: np.ndarray
    counts: np.ndarray
    cell_size_m: float

    def __len__(self) -> int:
        return int(self.ij.shape[0])

    def bounds(self) -> np.ndarray:
        """(n, 4) minx, miny, maxx, maxy of each square, metres in the force CRS."""
        lo = self.ij.astype(np.float64) * self.cell_size_m
        return np.column_stack([lo, lo + self.cell_size_m])


def grid_counts(xy: np.ndarray, groups: np.ndarray, *, n_groups: int,
                cell_size_m: float) -> GridCounts:
    """Count incidents per square of the force grid, in total and per group (nothing held back).

    Parameters
    ----------
    xy
        (n, 2) incident coordinates, metres in the force's projected CRS.
    groups
        (n,) int group index of each incident, ``0 <= g < n_groups``.
    n_groups
        How many groups there are.
    cell_size_m
        The grid's square side, metres (> 0).

    Returns
    -------
    GridCounts
        Squares holding at least one incident, ordered by (i, j).

    Raises
    ------
    InvalidParameter
        For a non-positive cell size, a group out of range or coordinates that are not finite.
    """
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    groups = np.asarray(groups, dtype=np.int64).reshape(-1)
    if not (np.isfinite(cell_size_m) and cell_size_m > 0):
        raise InvalidParameter(f"cell_size_m must be a positive number of metres, not {cell_size_m!r}")
    if groups.shape[0] != xy.shape[0]:
        raise InvalidParameter(f"{xy.shape[0]} points but {groups.shape[0]} group indices")
    if xy.size and not np.isfinite(xy).all():
        raise InvalidParameter("the coordinates must be finite numbers (metres)")
    if groups.size and (groups.min() < 0 or groups.max() >= n_groups):
        raise InvalidParameter(f"group indices must be from 0 to {n_groups - 1}")
    ij = np.floor(xy / cell_size_m).astype(np.int64)
    if not len(ij):
        return GridCounts(np.empty((0, 2), np.int64), np.empty((0, 1 + n_groups), np.int64),
                          float(cell_size_m))
    squares, where = np.unique(ij, axis=0, return_inverse=True)
    where = where.reshape(-1)
    counts = np.zeros((len(squares), 1 + n_groups), dtype=np.int64)
    counts[:, 0] = np.bincount(where, minlength=len(squares))
    np.add.at(counts, (where, 1 + groups), 1)
    return GridCounts(squares, counts, float(cell_size_m))


def suppress(grid: GridCounts, min_count: int) -> GridCounts:
    """The publishable table: primary and complementary suppression (see the module notes).

    Returns a new :class:`GridCounts` holding only the squares whose total is at least
    ``min_count``, with held-back group counts set to :data:`HELD_BACK`. The input is not
    changed.

    Raises
    ------
    InvalidParameter
        If ``min_count`` is under 2 (a threshold of 1 holds nothing back).
    """
    if int(min_count) != min_count or min_count < 2:
        raise InvalidParameter(f"min_count must be a whole number of at least 2, not {min_count!r}")
    k = int(min_count)
    keep = grid.counts[:, 0] >= k
    ij = grid.ij[keep].copy()
    out = grid.counts[keep].copy()
    groups = out[:, 1:]
    held = groups < k
    m = held.sum(axis=1)
    rest = np.where(held, groups, 0).sum(axis=1)  # what the small groups hold
    held[_leaks(m, rest, k)] = True  # the small groups cannot go alone: only the total shows
    groups[held] = HELD_BACK
    return GridCounts(ij, out, grid.cell_size_m)


def _leaks(m: np.ndarray, rest: np.ndarray, k: int) -> np.ndarray:
    """Whether ``m`` held-back groups, all under ``k``, holding ``rest`` incidents give one
    away: one alone, a remainder under ``k``, or ``k - 1`` in each of ``m`` of them or of
    fewer (someone who knows that some groups are always empty, a priority with no category
    say, counts only the others: 8 over three groups, one of them always empty, is 4 + 4)."""
    at_most = (rest % (k - 1) == 0) & (rest // (k - 1) <= m) if k > 1 else np.ones_like(m, bool)
    return (m > 0) & (rest > 0) & ((m < 2) | (rest < k) | at_most)


def disclosed(published: GridCounts, min_count: int) -> np.ndarray:
    """Indices of squares whose published row breaks the rule of :func:`suppress`: empty for a
    table it made.

    A row is sound when its total and every count shown are at least ``min_count``, and either
    no group is shown (only the total), or what the held-back groups hold (the total minus the
    groups shown) is nothing, or is from ``min_count`` to less than ``min_count - 1`` times
    their number over at least two groups: then no held-back count can be worked out.
    """
    k = int(min_count)
    total = published.counts[:, 0]
    groups = published.counts[:, 1:]
    held = groups == HELD_BACK
    shown_small = (~held & (groups < k)).any(axis=1) | (total < k)
    m = held.sum(axis=1)
    rest = total - np.where(held, 0, groups).sum(axis=1)
    only_total = m == groups.shape[1]
    leaks = ~only_total & (_leaks(m, rest, k) | (rest > m * (k - 1)))
    return np.flatnonzero(shown_small | leaks | (rest < 0) | ((m == 0) & (rest != 0)))


Rule = Callable[[GridCounts, int], GridCounts]
"""A suppression rule: the true table and ``min_count`` in, the published table out."""


def worked_out(published: GridCounts, min_count: int, *, rule: Rule = suppress,
               max_ways: int = 200_000, empty: Sequence[int] = ()) -> tuple[np.ndarray, np.ndarray]:
    """The attack of someone who knows the ``rule``: which published squares give a held-back
    count away.

    For each square with something held back, every way the held-back groups could split what
    they hold (the total minus the groups shown) is run through ``rule``; the ways that give
    the same published row are the ones the attacker cannot tell apart. A held-back count
    that is the same non-zero number in all of them is worked out. ``empty`` names groups
    (0 = the first after the total) the attacker knows hold nothing.

    Returns
    -------
    (worked_out, not_tried)
        Indices of squares that give a count away, and of squares with more than
        ``max_ways`` ways to try (left out, so that a caller can say so).

    Raises
    ------
    ValueError
        If a published row is not one the ``rule`` makes from any of its ways.
    """
    found: list[int] = []
    skipped: list[int] = []
    for n, row in enumerate(published.counts):
        groups = row[1:]
        held = np.flatnonzero(groups == HELD_BACK)
        if not held.size:
            continue
        rest = int(row[0] - groups[groups != HELD_BACK].sum())
        if math.comb(rest + held.size - 1, held.size - 1) > max_ways:
            skipped.append(n)
            continue
        ways = np.repeat(groups[None, :], 1, axis=0)
        if held.size > 1:
            splits = _splits(rest, held.size)
            ways = np.repeat(groups[None, :], len(splits), axis=0)
            ways[:, held] = splits
        else:
            ways[:, held] = rest
        candidates = GridCounts(np.zeros((len(ways), 2), np.int64),
                                np.column_stack([ways.sum(axis=1), ways]), published.cell_size_m)
        replayed = rule(candidates, min_count)
        same = ((replayed.counts == row).all(axis=1) if len(replayed) == len(ways)
                else np.zeros(len(ways), dtype=bool))
        if not same.any():
            raise ValueError(f"square {n}: the published row is not one the rule makes")
        if empty:
            same &= (ways[:, list(empty)] == 0).all(axis=1)
        possible = ways[same][:, held]
        if ((possible == possible[:1]).all(axis=0) & (possible[0] > 0)).any():
            found.append(n)
    return np.array(found, dtype=np.int64), np.array(skipped, dtype=np.int64)


def _splits(total: int, parts: int) -> np.ndarray:
    """Every way of splitting ``total`` into ``parts`` whole numbers >= 0, one per row."""
    cuts = np.array(list(itertools.combinations(range(total + parts - 1), parts - 1)),
                    dtype=np.int64).reshape(-1, parts - 1)
    edges = np.column_stack([np.full(len(cuts), -1), cuts,
                             np.full(len(cuts), total + parts - 1)])
    return np.diff(edges, axis=1) - 1


def hot_threshold(values: np.ndarray, share: float = 0.5) -> int:
    """The smallest count among the busiest squares that together hold ``share`` of the total
    of ``values`` (counts under 1 ignored); 1 if there is nothing.

    Raises
    ------
    InvalidParameter
        If ``share`` is not in (0, 1].
    """
    if not 0 < share <= 1:
        raise InvalidParameter(f"share must be in (0, 1], not {share!r}")
    v = np.sort(np.asarray(values, dtype=np.int64)[np.asarray(values) > 0])[::-1]
    if not v.size:
        return 1
    reach = int(np.searchsorted(np.cumsum(v), share * v.sum(), side="left"))
    return int(v[min(reach, v.size - 1)])


def square_hotspots(ij: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group squares into hotspots: 8-neighbour connected squares with a positive value.

    Parameters
    ----------
    ij
        (n, 2) square indices (distinct).
    values
        (n,) the count of each square; squares with a value under 1 (held back) join nothing.

    Returns
    -------
    (labels, totals)
        ``labels[s]``: the hotspot of square ``s`` (-1 if none), hotspots numbered by rank
        (0 = the largest sum; ties go to the hotspot whose first square comes first);
        ``totals[h]``: the sum of hotspot ``h``'s values.
    """
    ij = np.asarray(ij, dtype=np.int64).reshape(-1, 2)
    values = np.asarray(values, dtype=np.int64).reshape(-1)
    member = np.flatnonzero(values > 0)
    labels = np.full(ij.shape[0], -1, dtype=np.int64)
    if not member.size:
        return labels, np.empty(0, dtype=np.int64)
    cells = ij[member]
    lo = cells.min(axis=0) - 1
    span = int(cells[:, 1].max() - lo[1] + 2)
    keys = (cells[:, 0] - lo[0]) * span + (cells[:, 1] - lo[1])
    order = np.argsort(keys)
    sorted_keys = keys[order]
    src: list[np.ndarray] = []
    dst: list[np.ndarray] = []
    for di, dj in ((1, 0), (0, 1), (1, 1), (1, -1)):
        wanted = keys + di * span + dj
        pos = np.clip(np.searchsorted(sorted_keys, wanted), 0, len(keys) - 1)
        hit = sorted_keys[pos] == wanted
        src.append(np.flatnonzero(hit))
        dst.append(order[pos[hit]])
    a, b = np.concatenate(src), np.concatenate(dst)
    n = len(member)
    graph = coo_matrix((np.ones(a.size), (a, b)), shape=(n, n))
    _count, component = connected_components(graph, directed=False)
    sums = np.bincount(component, weights=values[member]).astype(np.int64)
    first = np.full(sums.size, n, dtype=np.int64)
    np.minimum.at(first, component, np.arange(n))
    rank_of = np.empty(sums.size, dtype=np.int64)
    rank_of[np.lexsort((first, -sums))] = np.arange(sums.size)
    labels[member] = rank_of[component]
    totals = np.empty(sums.size, dtype=np.int64)
    totals[rank_of] = sums
    return labels, totals
