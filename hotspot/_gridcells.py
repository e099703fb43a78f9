"""The cells of :func:`hotspot._griddbscan.grid_dbscan`'s grid: the 24 neighbour cells, their
lookup, and point ranges (sorting by cell, expanding ranges in bounded batches).

Cells have side ``eps / sqrt(2)`` (metres, or whatever unit the points are in); a cell is known
by its key ``column * stride + row``, and the points of a cell are one range of the points
sorted by key.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
from scipy.ndimage import uniform_filter1d

NEIGHBOUR_OFFSETS = np.array(
    [(dx, dy) for dx in range(-2, 3) for dy in range(-2, 3)
     if (dx, dy) != (0, 0) and not (abs(dx) == 2 and abs(dy) == 2)]
    + [(-2, -2), (-2, 2), (2, -2), (2, 2)],
    dtype=np.int64,
)
"""The 24 cells around a cell that can hold points within eps of a point in it (column, row):
the 20 of the 5 x 5 square without its corners, then the four corners, whose nearest point is
``side * sqrt(2)``, a hair under eps (almost always rejected by that distance, but a pair of
points at opposite corners can be within eps)."""
FORWARD = np.array([(dx > 0) or (dx == 0 and dy > 0) for dx, dy in NEIGHBOUR_OFFSETS])
"""The offsets pointing east (or north in the same column): each pair of neighbours once."""
PAIR_BUDGET = 2_000_000
"""Most point pairs expanded at once (bounds memory to tens of MB)."""


def radix_order(key: np.ndarray) -> np.ndarray:
    """A stable argsort of non-negative int64 keys, 16 bits at a time (numpy radix-sorts
    16-bit integers): five times faster than a comparison sort here."""
    order = np.arange(key.shape[0])
    top = int(key.max()) if key.shape[0] else 0
    shift = 0
    while True:
        digit = ((key[order] >> shift) & 0xFFFF).astype(np.uint16)
        order = order[np.argsort(digit, kind="stable")]
        shift += 16
        if top >> shift == 0:
            return order


def expand_ranges(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For ranges ``[starts[i], starts[i]+counts[i])``: (owner i of each item, item index)."""
    total = int(counts.sum())
    owner = np.repeat(np.arange(starts.shape[0]), counts)
    first = np.cumsum(counts) - counts
    item = np.arange(total, dtype=np.int64) - np.repeat(first - starts, counts)
    return owner, item


def batches(counts: np.ndarray, budget: int = PAIR_BUDGET) -> list[slice]:
    """Split consecutive items so each batch expands to at most ``budget`` pairs (at least one)."""
    if counts.shape[0] == 0:
        return []
    cumulative = np.cumsum(counts)
    cuts = [0]
    while cuts[-1] < counts.shape[0]:
        base = cumulative[cuts[-1] - 1] if cuts[-1] else 0
        after = int(np.searchsorted(cumulative, base + budget, side="right"))
        cuts.append(max(after, cuts[-1] + 1))
    return [slice(a, b) for a, b in pairwise(cuts)]


class Neighbours:
    """Finds the 24 neighbour cells of occupied cells: a dense lookup table when the grid is
    not much larger than the number of occupied cells, else binary search over cell keys.

    ``keys`` are the sorted keys ``column * stride + row`` of the occupied cells; ``width`` the
    number of columns (so the dense grid is ``width * stride`` cells)."""

    def __init__(self, keys: np.ndarray, stride: int, width: int) -> None:
        self.keys = keys
        self.stride = stride
        self.width = width
        n = keys.shape[0]
        size = width * stride
        self.table: np.ndarray | None = None
        if size <= max(8 * n, 4_000_000):
            self.table = np.full(size + 2 * stride + 3, -1, dtype=np.int64)
            self.table[keys] = np.arange(n)

    def at(self, cells: np.ndarray, j: int) -> np.ndarray:
        """The neighbour at offset ``j`` of each cell (-1 where that cell is empty)."""
        dx, dy = NEIGHBOUR_OFFSETS[j]
        target = self.keys[cells] + dx * self.stride + dy
        if self.table is not None:
            return self.table[target]
        idx = np.minimum(np.searchsorted(self.keys, target), self.keys.shape[0] - 1)
        return np.where(self.keys[idx] == target, idx, -1)

    def near(self, cells: np.ndarray) -> np.ndarray:
        """Boolean mask over all cells: the cell is one of ``cells`` or a neighbour of one."""
        mark = np.zeros(self.keys.shape[0], dtype=bool)
        mark[cells] = True
        for j in range(NEIGHBOUR_OFFSETS.shape[0]):
            other = self.at(cells, j)
            mark[other[other >= 0]] = True
        return mark

    def stencil_sum(self, values: np.ndarray) -> np.ndarray:
        """For each cell, the sum of ``values`` over itself and its 24 neighbours (to within
        floating-point rounding: compare with a tolerance)."""
        if self.table is not None:  # a separable 5 x 5 box filter
            dense = np.zeros(self.width * self.stride)
            dense[self.keys] = values
            grid = dense.reshape(self.width, self.stride)
            box = uniform_filter1d(uniform_filter1d(grid, 5, axis=1, mode="constant"), 5,
                                   axis=0, mode="constant").ravel()[self.keys] * 25.0
            return np.asarray(box)
        out = values.astype(np.float64).copy()
        padded = np.append(values.astype(np.float64), 0.0)
        every = np.arange(self.keys.shape[0])
        for j in range(NEIGHBOUR_OFFSETS.shape[0]):
            out += padded[self.at(every, j)]
        return out
