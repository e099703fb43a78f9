"""Compiled steps of :func:`hotspot._griddbscan.grid_dbscan` (numba), for large inputs, and
the linear binning of :func:`hotspot.kde.kde_grid` in one pass (:func:`linear_binning`).

The same grid as the numpy steps (cells of side ``eps / sqrt(2)``, points sorted by cell, see
:mod:`hotspot._gridcells`), the same tests (squared distances ``dx*dx + dy*dy <= eps*eps``,
cells wholly within or beyond eps decided by their rectangle with the same rounding
allowance), but point by point in compiled loops, so a point stops counting as soon as its
threshold is reached and two core cells already in one cluster are never compared again:

- :func:`counting_order` (points sorted by cell when the grid is dense) and
  :func:`neighbour_cells` (the 24 neighbours of each cell, looked up once);
- :func:`sub_cells` (each cell's points sorted by the 16 squares of its sides cut in four)
  and :func:`core_points`: the core mask;
- :func:`link_core_cells`: union-find over the cells holding core points (a root per cell);
- :func:`first_core_of_roots`: the first core point (input order) of each cluster, to number
  them as scikit-learn does;
- :func:`label_border_points`: the cluster of each border point (its own cell's, else the
  first neighbour cell in offset order holding a core point within eps).

And :func:`label_sums`, :func:`label_time_ranges` and :func:`label_value_tally`, the hotspot
table's sums, time ranges and counts of values in one pass each (:mod:`hotspot.table`), and
:func:`pair_sums`, the hotspots' weights by class, town centre or site (:mod:`hotspot.context`),
and :func:`recent_sums`, their weights in the later half of the period (:mod:`hotspot.rank`)
(numba checks no bounds: their callers keep every label and value below the sizes they give);
and :func:`locate_cells` and :func:`mark_edge_cells`, the cell of each point in
:mod:`hotspot.inside`'s grid and the grid's cells on the polygons' edges (its numpy steps'
arithmetic, for a process that has loaded these steps already);
:func:`hull_diameters`, the widths of :func:`hotspot.places.widest_extent_m`; and
:func:`polygon_cells`, the cells of an area grid inside its area
(:func:`hotspot.place_grid.inside_grid`).

And the places' steps (:mod:`hotspot.places`, :mod:`hotspot.place_grid`), each with the numpy
steps' arithmetic in their order (tested equal to the last bit): :func:`place_density` (an
area grid's first density), :func:`take_places` (the greedy loop, place after place: the
densest cell by :func:`densest_cell` and :func:`row_maxima`, the points of its disc by
:func:`disc_members`, their weight taken out by :func:`place_remove`); and the same for many
areas in two calls (:mod:`hotspot.place_batch`): :func:`area_grids` (each area's density and
which of its cells are inside it) and :func:`area_places` (the rest of its grid, then its
places).

Compiled code is cached on disk (``cache=True``): in ``__pycache__`` beside this file, or, when
that is read-only, numba's user cache (``~/.cache/numba``, or ``NUMBA_CACHE_DIR`` when set).
Where no cache directory is writable, the functions are compiled in memory on first use.
Importing this module raises ImportError when numba is not installed; the caller then keeps
to the numpy steps.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numba
import numpy as np

from hotspot._gridcells import NEIGHBOUR_OFFSETS

OFFSETS = np.ascontiguousarray(NEIGHBOUR_OFFSETS)
"""The 24 neighbour offsets of :data:`hotspot._gridcells.NEIGHBOUR_OFFSETS` (the 20 of the
5 x 5 square without its corners, then the four corners)."""
NEAREST_FIRST = np.argsort(np.abs(OFFSETS).sum(axis=1) + 0.5 * np.abs(OFFSETS).max(axis=1),
                           kind="stable")
"""The offsets (positions in :data:`OFFSETS`) from the nearest cells to the farthest: the
order a point counts its neighbours in, so it reaches its threshold soonest."""
FORWARD = np.flatnonzero([(dx > 0) or (dx == 0 and dy > 0) for dx, dy in OFFSETS.tolist()])
"""The offsets (positions in :data:`OFFSETS`) pointing east, or north in the same column:
each pair of neighbour cells once."""


def _jit(fn: Callable[..., Any]) -> Any:
    """Compile lazily, cached on disk when some cache directory is writable."""
    try:
        return numba.njit(cache=True, nogil=True)(fn)
    except RuntimeError:  # numba found no writable cache directory: compile on each start
        return numba.njit(nogil=True)(fn)


def _inline(fn: Callable[..., Any]) -> Any:
    """A small helper compiled into its callers (no call, no reference counting of the
    arrays passed)."""
    return numba.njit(inline="always")(fn)


@_jit
def counting_order(key: np.ndarray, size: int) -> np.ndarray:
    """A stable argsort of int64 keys in [0, size) by counting (for ``size`` not much more
    than the number of keys)."""
    first = np.zeros(size + 1, dtype=np.int64)
    for k in key:
        first[k + 1] += 1
    for k in range(size):
        first[k + 1] += first[k]
    order = np.empty(key.shape[0], dtype=np.int64)
    for i in range(key.shape[0]):
        k = key[i]
        order[first[k]] = i
        first[k] += 1
    return order


@_jit
def neighbour_cells(keys: np.ndarray, stride: int, table: np.ndarray,
                    offsets: np.ndarray) -> np.ndarray:
    """(cells, offsets) int32: the occupied cell at each offset of each cell, -1 where none.

    ``keys`` are the sorted cell keys ``column * stride + row``; ``table`` the dense lookup of
    :class:`hotspot._gridcells.Neighbours` (key -> cell, -1 for none), or empty when the grid
    is too sparse for one: then each offset is one merge of the sorted keys with themselves
    shifted (the keys of the cells at one offset are in the same order).
    """
    cells = keys.shape[0]
    m = offsets.shape[0]
    out = np.empty((cells, m), dtype=np.int32)
    if table.shape[0] > 0:
        for c in range(cells):
            for j in range(m):
                out[c, j] = table[keys[c] + offsets[j, 0] * stride + offsets[j, 1]]
        return out
    for j in range(m):
        delta = offsets[j, 0] * stride + offsets[j, 1]
        p = 0
        for c in range(cells):
            target = keys[c] + delta
            while p < cells and keys[p] < target:
                p += 1
            out[c, j] = p if p < cells and keys[p] == target else -1
    return out


@_inline
def _axis(d: int, f: float, side: float) -> tuple[float, float]:
    """Squared nearest and farthest distance along one axis from a point at ``f`` in its
    cell to the cell ``d`` cells away (as :func:`hotspot._gridpairs.axis_distances`)."""
    lo = d * side - f
    hi = (d + 1) * side - f
    near = lo if d > 0 else (-hi if d < 0 else 0.0)
    return near * near, max(lo * lo, hi * hi)


SUB = 4
"""Each cell's side cut in this many parts for :func:`core_points` (16 sub-cells a cell):
measured at 10^6 incidents, 145 a cell, as the fastest of 3 to 8."""
SUB_FROM = 32
"""Points from which a neighbour cell the circle cuts is looked at by its sub-cells; in a
cell with fewer, each point is measured (a sub-cell's test costs about one distance's)."""


@_jit
def sub_cells(x: np.ndarray, y: np.ndarray, w: np.ndarray, threshold: np.ndarray,
              order: np.ndarray, start: np.ndarray, count: np.ndarray,
              cell_weight: np.ndarray, near: np.ndarray, corner_x: np.ndarray,
              corner_y: np.ndarray, side: float,
              k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The cells :func:`core_points` looks into by sub-cells (``k`` x ``k`` squares of side
    ``side / k`` metres, numbered column by column), their points sorted by sub-cell **in
    place** (``x``, ``y``, ``w``, ``order``, and ``threshold`` when it is one per point).

    A cell is *split* when it holds at least :data:`SUB_FROM` points and is a neighbour of a
    cell with a point its own cell does not make core (``threshold`` one per sorted point,
    or of length 1; ``near`` as for :func:`core_points`). A split cell's points stay in its
    range, sorted by sub-cell, in their order within one; other cells are left as they are.
    Returns the first point of each sub-cell of each split cell and the end of its last
    (``k * k + 1`` entries a split cell), each sub-cell's weight (``k * k`` a split cell,
    summed in the new order) and each cell's rank among the split cells (-1 for a cell not
    split). A point a rounding beyond its cell's square takes the nearest sub-cell:
    :func:`core_points` tests a sub-cell's square with the same allowance as a cell's."""
    cells = start.shape[0]
    one = threshold.shape[0] == 1
    undecided = np.zeros(cells, dtype=np.bool_)  # some point its own cell leaves undecided
    for c in range(cells):
        if one:
            undecided[c] = cell_weight[c] < threshold[0]
            continue
        for i in range(start[c], start[c] + count[c]):
            if cell_weight[c] < threshold[i]:
                undecided[c] = True
                break
    slot = np.full(cells, -1, dtype=np.int64)
    split = 0
    longest = 0
    for c in range(cells):
        if count[c] < SUB_FROM:
            continue
        for j in range(near.shape[1]):  # the offsets are symmetric
            o = near[c, j]
            if o >= 0 and undecided[o]:
                slot[c] = split
                split += 1
                longest = max(longest, count[c])
                break
    kk = k * k
    part = side / k
    sub_start = np.empty(split * (kk + 1), dtype=np.int64)
    sub_weight = np.zeros(split * kk)
    tally = np.empty(kk + 1, dtype=np.int64)
    which = np.empty(longest, dtype=np.int64)
    new = np.empty(longest, dtype=np.int64)
    fx = np.empty(longest)
    fi = np.empty(longest, dtype=np.int64)
    for c in range(cells):
        if slot[c] < 0:
            continue
        s0 = start[c]
        m = count[c]
        base = slot[c] * kk
        first = slot[c] * (kk + 1)
        tally[:] = 0
        for i in range(m):
            a = min(max(int(np.floor((x[s0 + i] - corner_x[c]) / part)), 0), k - 1)
            b = min(max(int(np.floor((y[s0 + i] - corner_y[c]) / part)), 0), k - 1)
            which[i] = a * k + b
            tally[a * k + b + 1] += 1
        for q in range(kk):
            tally[q + 1] += tally[q]
        for q in range(kk + 1):
            sub_start[first + q] = s0 + tally[q]
        for i in range(m):
            new[tally[which[i]]] = i
            tally[which[i]] += 1
        for i in range(m):
            sub_weight[base + which[new[i]]] += w[s0 + new[i]]
        for arr in (x, y, w):
            for i in range(m):
                fx[i] = arr[s0 + new[i]]
            arr[s0:s0 + m] = fx[:m]
        if not one:
            for i in range(m):
                fx[i] = threshold[s0 + new[i]]
            threshold[s0:s0 + m] = fx[:m]
        for i in range(m):
            fi[i] = order[s0 + new[i]]
        order[s0:s0 + m] = fi[:m]
    return sub_start, sub_weight, slot


@_inline
def _span(lo: float, hi: float) -> tuple[float, float]:
    """Squared nearest and farthest distance from 0 to the interval ``[lo, hi]``."""
    near = lo if lo > 0 else (-hi if hi < 0 else 0.0)
    return near * near, max(lo * lo, hi * hi)


@_jit
def core_points(x: np.ndarray, y: np.ndarray, w: np.ndarray, threshold: np.ndarray,
                start: np.ndarray, count: np.ndarray, cell_weight: np.ndarray,
                sub_start: np.ndarray, sub_weight: np.ndarray, slot: np.ndarray, k: int,
                corner_x: np.ndarray, corner_y: np.ndarray, near: np.ndarray,
                offsets: np.ndarray, nearest_first: np.ndarray, side: float, eps2: float,
                surely_within: float, maybe_within: float, core: np.ndarray,
                first_cell: int, end_cell: int) -> None:
    """Core mask of the sorted points of cells ``[first_cell, end_cell)``, written into
    ``core`` (so that threads can each take a range of cells of one array). ``threshold`` is
    one per point or of length 1; ``near`` the neighbour cells (:func:`neighbour_cells`) at
    ``offsets``, visited in the order ``nearest_first``; the points sorted by sub-cell within
    each split cell, ``sub_start``, ``sub_weight`` and ``slot`` from :func:`sub_cells`
    (``k`` sub-cells a side).

    A point counts its own cell whole (all within eps), then the neighbour cells its
    rectangle puts wholly within eps (their whole weight) or beyond (nothing); if that has
    not decided it, the sub-cells of the split cells the circle cuts the same way, and only
    then the points of what the circle still cuts, one by one. It stops as soon as the
    weight counted reaches its threshold (adding non-negative weights never lowers a
    floating-point sum, so the full sum would reach it too) or the weight it could still
    reach falls short of it by more than any rounding.
    """
    one = threshold.shape[0] == 1
    m = offsets.shape[0]
    kk = k * k
    part = side / k
    cut = np.empty(m, dtype=np.int64)
    cut_at = np.empty(m, dtype=np.int64)
    ranges = np.empty((m * kk, 2), dtype=np.int64)  # what is left to measure point by point
    near_x = np.empty(k)
    far_x = np.empty(k)
    near_y = np.empty(k)
    far_y = np.empty(k)
    for c in range(first_cell, end_cell):
        s0 = start[c]
        s1 = s0 + count[c]
        own = cell_weight[c]
        looked_up = False
        around = own  # the weight of this cell and all its neighbours: a bound for each point
        slack = 0.0
        for i in range(s0, s1):
            t = threshold[0] if one else threshold[i]
            if own >= t:
                core[i] = True
                continue
            if not looked_up:
                for j in range(m):
                    o = near[c, j]
                    if o >= 0:
                        around += cell_weight[o]
                slack = 1e-9 * max(around, 1.0)  # far above the rounding of these sums
                looked_up = True
            if around < t - slack:
                continue
            px = x[i]
            py = y[i]
            fx = px - corner_x[c]
            fy = py - corner_y[c]
            within = own
            upper = around
            cuts = 0
            for j in nearest_first:
                o = near[c, j]
                if o < 0:
                    continue
                nx, fx2 = _axis(offsets[j, 0], fx, side)
                ny, fy2 = _axis(offsets[j, 1], fy, side)
                if nx + ny > maybe_within:
                    upper -= cell_weight[o]
                elif fx2 + fy2 <= surely_within:
                    within += cell_weight[o]
                else:
                    cut[cuts] = o
                    cut_at[cuts] = j
                    cuts += 1
            left = 0
            for h in range(cuts):
                if within >= t or upper < t - slack:
                    break
                o = cut[h]
                if slot[o] < 0:
                    ranges[left, 0] = start[o]
                    ranges[left, 1] = start[o] + count[o]
                    left += 1
                    continue
                west = offsets[cut_at[h], 0] * side - fx  # the cell's square from the point
                south = offsets[cut_at[h], 1] * side - fy
                for a in range(k):
                    near_x[a], far_x[a] = _span(west + a * part, west + (a + 1) * part)
                    near_y[a], far_y[a] = _span(south + a * part, south + (a + 1) * part)
                for a in range(k):
                    for b in range(k):
                        s = slot[o] * kk + a * k + b
                        weight = sub_weight[s]
                        s += slot[o]  # its first point: k * k + 1 entries a cell
                        if weight == 0.0:
                            continue
                        if near_x[a] + near_y[b] > maybe_within:
                            upper -= weight
                        elif far_x[a] + far_y[b] <= surely_within:
                            within += weight
                        else:
                            ranges[left, 0] = sub_start[s]
                            ranges[left, 1] = sub_start[s + 1]
                            left += 1
            r = 0
            while within < t and upper >= t - slack and r < left:
                for q in range(ranges[r, 0], ranges[r, 1]):
                    dx = x[q] - px
                    dy = y[q] - py
                    if dx * dx + dy * dy <= eps2:
                        within += w[q]
                    else:
                        upper -= w[q]
                r += 1
            core[i] = within >= t


@_inline
def _find(parent: np.ndarray, a: int) -> int:
    """Root of ``a`` (halving the path on the way)."""
    while parent[a] != a:
        parent[a] = parent[parent[a]]
        a = parent[a]
    return a


@_jit
def link_core_cells(x: np.ndarray, y: np.ndarray, core: np.ndarray, start: np.ndarray,
                    count: np.ndarray, near: np.ndarray, forward: np.ndarray, eps2: float,
                    surely_within: float, maybe_within: float) -> np.ndarray:
    """Root cell of each cell holding core points (-1 for the others): neighbour cells are
    joined when some pair of their core points is within eps (by the boxes of their core
    points when these decide, else pair by pair until one is found); cells already joined
    are not compared."""
    cells = start.shape[0]
    parent = np.full(cells, -1, dtype=np.int64)
    box = np.empty((cells, 4))
    for c in range(cells):
        s0 = start[c]
        for i in range(s0, s0 + count[c]):
            if core[i]:
                if parent[c] < 0:
                    parent[c] = c
                    box[c, 0] = x[i]
                    box[c, 1] = y[i]
                    box[c, 2] = x[i]
                    box[c, 3] = y[i]
                else:
                    box[c, 0] = min(box[c, 0], x[i])
                    box[c, 1] = min(box[c, 1], y[i])
                    box[c, 2] = max(box[c, 2], x[i])
                    box[c, 3] = max(box[c, 3], y[i])
    for c in range(cells):
        if parent[c] < 0:
            continue
        for j in forward:
            o = near[c, j]
            if o < 0 or parent[o] < 0:
                continue
            rc = _find(parent, c)
            ro = _find(parent, o)
            if rc == ro:
                continue
            gx = max(max(box[o, 0] - box[c, 2], box[c, 0] - box[o, 2]), 0.0)
            gy = max(max(box[o, 1] - box[c, 3], box[c, 1] - box[o, 3]), 0.0)
            if gx * gx + gy * gy > maybe_within:
                continue
            fx = max(box[c, 2] - box[o, 0], box[o, 2] - box[c, 0])
            fy = max(box[c, 3] - box[o, 1], box[o, 3] - box[c, 1])
            linked = fx * fx + fy * fy <= surely_within
            if not linked:
                for i in range(start[c], start[c] + count[c]):
                    if not core[i]:
                        continue
                    # only points within eps of the other's box can be in a pair
                    ex = max(max(box[o, 0] - x[i], x[i] - box[o, 2]), 0.0)
                    ey = max(max(box[o, 1] - y[i], y[i] - box[o, 3]), 0.0)
                    if ex * ex + ey * ey > maybe_within:
                        continue
                    for q in range(start[o], start[o] + count[o]):
                        if core[q]:
                            dx = x[q] - x[i]
                            dy = y[q] - y[i]
                            if dx * dx + dy * dy <= eps2:
                                linked = True
                                break
                    if linked:
                        break
            if linked:
                if rc < ro:
                    parent[ro] = rc
                else:
                    parent[rc] = ro
    for c in range(cells):
        if parent[c] >= 0:
            parent[c] = _find(parent, c)
    return parent


@_jit
def first_core_of_roots(root: np.ndarray, core: np.ndarray, start: np.ndarray,
                        count: np.ndarray, order: np.ndarray) -> np.ndarray:
    """For each root cell, the smallest input index of a core point in its cluster
    (``order.shape[0]`` for cells that are not roots)."""
    n = order.shape[0]
    first = np.full(root.shape[0], n, dtype=np.int64)
    for c in range(root.shape[0]):
        r = root[c]
        if r < 0:
            continue
        for i in range(start[c], start[c] + count[c]):
            if core[i] and order[i] < first[r]:
                first[r] = order[i]
    return first


@_jit
def label_border_points(x: np.ndarray, y: np.ndarray, core: np.ndarray,
                        cell_label: np.ndarray, start: np.ndarray, count: np.ndarray,
                        corner_x: np.ndarray, corner_y: np.ndarray, near: np.ndarray,
                        offsets: np.ndarray, side: float, eps2: float,
                        maybe_within: float) -> np.ndarray:
    """Label of each sorted point, given the cluster of each cell holding core points
    (``cell_label``, -1 elsewhere): a core point or a point of such a cell takes its cell's;
    another takes the cluster of the first neighbour cell (in offset order) with a core point
    within eps; -1 for noise."""
    labels = np.full(x.shape[0], -1, dtype=np.int64)
    m = offsets.shape[0]
    cells = start.shape[0]
    # the cells without a core point next to one that has some: only their points can be
    # border points of another cell
    reached = np.zeros(cells, dtype=np.bool_)
    for c in range(cells):
        if cell_label[c] < 0:
            continue
        for i in range(start[c], start[c] + count[c]):
            labels[i] = cell_label[c]
        for j in range(m):  # the offsets are symmetric: c is a neighbour of its neighbours
            o = near[c, j]
            if o >= 0 and cell_label[o] < 0:
                reached[o] = True
    for c in range(cells):
        if not reached[c]:
            continue
        s0 = start[c]
        s1 = s0 + count[c]
        for i in range(s0, s1):
            px = x[i]
            py = y[i]
            fx = px - corner_x[c]
            fy = py - corner_y[c]
            for j in range(m):
                o = near[c, j]
                if o < 0 or cell_label[o] < 0:
                    continue
                nx, _fx = _axis(offsets[j, 0], fx, side)
                ny, _fy = _axis(offsets[j, 1], fy, side)
                if nx + ny > maybe_within:
                    continue
                hit = False
                for q in range(start[o], start[o] + count[o]):
                    if core[q]:
                        dx = x[q] - px
                        dy = y[q] - py
                        if dx * dx + dy * dy <= eps2:
                            hit = True
                            break
                if hit:
                    labels[i] = cell_label[o]
                    break
    return labels


@_inline
def _bilinear(x: float, y: float, x0: float, y1: float, cell: float,
              ) -> tuple[float, float, float, float]:
    """Where a point falls among the cell centres of a grid with west edge ``x0``, north edge
    ``y1`` and cells ``cell`` metres wide (row 0 at the north): the row and column of the cell
    centre north-west of it (as floats) and its fractions of a cell south and east of that
    centre, with numpy's arithmetic of :func:`hotspot.kde._linear_binning`."""
    u = (x - x0) / cell - 0.5
    v = (y1 - y) / cell - 0.5
    j = np.floor(u)
    i = np.floor(v)
    return i, j, v - i, u - j


@_jit
def linear_binning(xy: np.ndarray, w: np.ndarray, x0: float, y1: float, cell: float,
                   rows: int, cols: int) -> np.ndarray:
    """:func:`hotspot.kde._linear_binning` in one pass over the points: each weight shared
    among the four cell centres around its point (bilinear weights), on a grid with one cell
    of margin all round whose margins are then folded onto the edge cells (a point beyond
    an edge puts its weight on the nearest edge cells). ``xy`` (n, 2) metres, ``x0``/``y1``
    the grid's west and north edges, row 0 at the north."""
    width = cols + 2
    out = np.zeros((rows + 2, width))
    for p in range(xy.shape[0]):
        i, j, fv, fu = _bilinear(xy[p, 0], xy[p, 1], x0, y1, cell)
        c = int(min(max(j, -1.0), cols - 1.0)) + 1
        r = int(min(max(i, -1.0), rows - 1.0)) + 1
        west = w[p] * (1 - fu)
        east = w[p] * fu
        out[r, c] += west * (1 - fv)
        out[r, c + 1] += east * (1 - fv)
        out[r + 1, c] += west * fv
        out[r + 1, c + 1] += east * fv
    for c in range(width):
        out[1, c] += out[0, c]
        out[rows, c] += out[rows + 1, c]
    for r in range(rows + 2):
        out[r, 1] += out[r, 0]
        out[r, cols] += out[r, cols + 1]
    return out[1:-1, 1:-1].copy()


@_inline
def _bin_shares(out: np.ndarray, pts: np.ndarray, w: np.ndarray, x0: float, y1: float,
                c: float, i0: int, j0: int) -> None:
    """Add the linear binning of ``pts`` (n, 2 metres) to ``out``, whose cell (0, 0) is the
    grid's ``(i0, j0)`` (west edge ``x0``, north edge ``y1``, cells ``c`` metres): share by
    share and point by point, as :meth:`hotspot.place_grid.AreaGrid._bin`'s ``np.add.at``
    adds them (so the same sums to the last bit). Each point is placed once (its cell and
    its four weighted shares, each by the same arithmetic), then the shares added."""
    n = pts.shape[0]
    width = out.shape[1]
    at = np.empty(n, dtype=np.int64)  # the cell of the north-west share, row-major
    part = np.empty((4, n))
    for p in range(n):
        fi, fj, fv, fu = _bilinear(pts[p, 0], pts[p, 1], x0, y1, c)
        at[p] = (int(fi) - i0) * width + int(fj) - j0
        part[0, p] = w[p] * ((1 - fu) * (1 - fv))
        part[1, p] = w[p] * (fu * (1 - fv))
        part[2, p] = w[p] * ((1 - fu) * fv)
        part[3, p] = w[p] * (fu * fv)
    flat = out.ravel()  # a view: ``out`` is C-contiguous (made by np.zeros here)
    for s in range(4):
        shift = (s // 2) * width + s % 2
        for p in range(n):
            flat[at[p] + shift] += part[s, p]


@_inline
def _nonzero_cells(grid: np.ndarray) -> int:
    """How many cells of ``grid`` are not zero."""
    nonzero = 0
    for a in range(grid.shape[0]):
        for b in range(grid.shape[1]):
            if grid[a, b] != 0:
                nonzero += 1
    return nonzero


@_inline
def _kernel_sums(grid: np.ndarray, kr: int, ki: np.ndarray, kj: np.ndarray,
                 kval: np.ndarray) -> np.ndarray:
    """``grid`` convolved with the kernel's non-zero cells (``ki``, ``kj``, ``kval``; reach
    ``kr``), "full" output: around each non-zero cell in row-major order, as
    :meth:`hotspot.place_grid.AreaGrid._smooth_patch`'s ``np.bincount`` sums them."""
    rows, cols = grid.shape
    smooth = np.zeros((rows + 2 * kr, cols + 2 * kr))
    # the kernel's cells in runs along its rows (ki, kj are in row-major order): each
    # target cell still gets one product from each source cell, the sources in the same
    # order, so the same sums to the last bit, with an inner loop over adjacent cells
    m = kval.shape[0]
    run_start = np.empty(m + 1, dtype=np.int64)
    runs = 0
    for t in range(m):
        if t == 0 or ki[t] != ki[t - 1] or kj[t] != kj[t - 1] + 1:
            run_start[runs] = t
            runs += 1
    run_start[runs] = m
    flat = smooth.ravel()
    width = smooth.shape[1]
    offset = np.empty(runs, dtype=np.uint64)  # each run's first target from the source's
    for r in range(runs):
        offset[r] = np.uint64(ki[run_start[r]] * width + kj[run_start[r]])
    for a in range(rows):
        for b in range(cols):
            value = grid[a, b]
            if value != 0:
                at = np.uint64(a * width + b)
                for r in range(runs):
                    t0 = np.uint64(run_start[r])
                    base = at + offset[r]
                    for u in range(np.uint64(run_start[r + 1]) - t0):  # unsigned: no wraparound
                        flat[base + u] += value * kval[t0 + u]
    return smooth


@_jit
def place_density(pts: np.ndarray, w: np.ndarray, x0: float, y1: float, c: float, rows: int,
                  cols: int, kr: int, ki: np.ndarray, kj: np.ndarray, kval: np.ndarray,
                  most_products: int) -> tuple[np.ndarray, bool]:
    """The smoothed density of :class:`hotspot.place_grid.AreaGrid` (``rows`` x ``cols``
    cells of ``c`` metres, west edge ``x0``, north edge ``y1``), with the same arithmetic in
    the same order as its numpy steps (so the same densities to the last bit): the linear
    binning of ``pts`` (n, 2 metres) share by share and point by point as ``np.add.at`` adds
    them, then the kernel's non-zero cells added around each non-zero cell in row-major order
    as ``np.bincount`` sums them, cropped by the kernel's reach ``kr``. Returns
    ``(density, True)``, or ``(binned, False)`` when the non-zero cells times the kernel's
    are more than ``most_products`` (the caller smooths the binned grid by FFT)."""
    binned = np.zeros((rows, cols))
    _bin_shares(binned, pts, w, x0, y1, c, 0, 0)
    if _nonzero_cells(binned) * kval.shape[0] > most_products:
        return binned, False
    smooth = _kernel_sums(binned, kr, ki, kj, kval)
    return smooth[kr:kr + rows, kr:kr + cols].copy(), True


@_jit
def place_remove(density: np.ndarray, allowed: np.ndarray, pts: np.ndarray, w: np.ndarray,
                 x0: float, y1: float, c: float, i: int, j: int, reach: int, kr: int,
                 ki: np.ndarray, kj: np.ndarray, kval: np.ndarray, tol: float,
                 bar: np.ndarray, rr: int, most_products: int, row_max: np.ndarray) -> bool:
    """:meth:`hotspot.place_grid.AreaGrid.remove` in one pass, with the same arithmetic in
    the same order (so the same densities to the last bit): the linear binning of ``pts``
    (n, 2 metres) on a patch of ``2 * reach + 2`` cells whose cell (0, 0) is the grid's
    ``(i - reach, j - reach)``, share by share and point by point as ``np.add.at`` adds them;
    the patch smoothed by the kernel's non-zero cells, cell by cell in row-major order as
    ``np.bincount`` sums them; that subtracted from ``density`` on the window it reaches,
    round-off below ``tol`` and cells not ``allowed`` zeroed; then the cells where ``bar`` (a
    ``2 * rr + 1`` square centred on cell ``(i, j)``) is True barred from being peaks; and
    ``row_max`` (each row's largest density, for :func:`densest_cell`) made again for the
    rows changed. Returns False, changing nothing, when the patch's non-zero cells times the
    kernel's are more than ``most_products`` (the caller smooths by FFT instead)."""
    rows, cols = density.shape
    n = pts.shape[0]
    if n:
        side = 2 * reach + 2
        patch = np.zeros((side, side))
        _bin_shares(patch, pts, w, x0, y1, c, i - reach, j - reach)
        if _nonzero_cells(patch) * kval.shape[0] > most_products:
            return False
        q = side + 2 * kr
        smooth = _kernel_sums(patch, kr, ki, kj, kval)
        a0 = i - reach - kr
        b0 = j - reach - kr
        for g in range(max(0, a0), min(rows, a0 + q)):
            for h in range(max(0, b0), min(cols, b0 + q)):
                left = density[g, h] - smooth[g - a0, h - b0]
                if left < tol or not allowed[g, h]:
                    left = 0.0
                density[g, h] = left
    for g in range(max(0, i - rr), min(rows, i + rr + 1)):
        for h in range(max(0, j - rr), min(cols, j + rr + 1)):
            if bar[g - i + rr, h - j + rr]:
                allowed[g, h] = False
                density[g, h] = 0.0
    first = max(0, i - rr)
    end = min(rows, i + rr + 1)
    if n:
        first = min(first, max(0, i - reach - kr))
        end = max(end, min(rows, i - reach - kr + 2 * reach + 2 + 2 * kr))
    for g in range(first, end):
        row_max[g] = _largest(density[g])
    return True


@_inline
def _largest(values: np.ndarray) -> float:
    """The largest of ``values``, and 0 when none is above 0 (as :func:`densest_cell` starts
    from 0)."""
    top = 0.0
    for v in values:
        if v > top:
            top = v
    return top


@_jit
def row_maxima(density: np.ndarray) -> np.ndarray:
    """Each row's largest density (0 when none is above 0), for :func:`densest_cell`."""
    out = np.empty(density.shape[0])
    for g in range(density.shape[0]):
        out[g] = _largest(density[g])
    return out


@_jit
def densest_cell(density: np.ndarray, row_max: np.ndarray, tie: float) -> int:
    """:meth:`hotspot.place_grid.AreaGrid.densest`: the first cell in row-major order whose
    density is at least ``top * (1 - tie)``; -1 when no cell has weight left. ``row_max``:
    each row's largest density (:func:`row_maxima`, kept by :func:`place_remove`), so only
    the row holding the answer is scanned."""
    top = _largest(row_max)
    if top <= 0:
        return -1
    least = top * (1 - tie)
    for g in range(row_max.shape[0]):
        if row_max[g] >= least:
            row = density[g]
            for h in range(row.shape[0]):
                if row[h] >= least:
                    return g * density.shape[1] + h
    return -1


@_jit
def disc_members(pts: np.ndarray, order: np.ndarray, start: np.ndarray, ncols: int,
                 nrows: int, x0: float, y0: float, side: float, cx: float, cy: float,
                 r: float, remaining: np.ndarray, sure: float, out: np.ndarray,
                 rim: np.ndarray) -> int:
    """The points still ``remaining`` within ``r`` metres of ``(cx, cy)``, for
    :func:`hotspot.places._split_area`: their indices ascending in ``out[:m]`` and, in
    ``rim[:m]``, whether each is farther than ``sure`` (so must be tested on the place's
    polygon); returns m. ``pts`` (n, 2) metres are bucketed in squares of ``side`` metres
    from ``(x0, y0)``, ``ncols`` x ``nrows`` of them: bucket ``b`` (row-major) holds
    ``order[start[b]:start[b + 1]]``."""
    c0 = max(0, int(np.floor((cx - r - x0) / side)))
    c1 = min(ncols - 1, int(np.floor((cx + r - x0) / side)))
    r0 = max(0, int(np.floor((cy - r - y0) / side)))
    r1 = min(nrows - 1, int(np.floor((cy + r - y0) / side)))
    m = 0
    # a point whose squared distance is over this is farther than r (the sum's rounding and
    # hypot's are a few parts in 10^16): its hypot is not needed
    beyond = r * r * (1 + 1e-9)
    # each bucket's points come ascending: its members are a run, and the runs are merged
    run_at = np.empty(max(0, r1 - r0 + 1) * max(0, c1 - c0 + 1) + 1, dtype=np.int64)
    runs = 0
    for row in range(r0, r1 + 1):
        for col in range(c0, c1 + 1):
            b = row * ncols + col
            run_at[runs] = m
            for t in range(start[b], start[b + 1]):
                k = order[t]
                if not remaining[k]:
                    continue
                dx = pts[k, 0] - cx
                dy = pts[k, 1] - cy
                if dx * dx + dy * dy <= beyond and np.hypot(dx, dy) <= r:
                    out[m] = k
                    m += 1
            if m > run_at[runs]:
                runs += 1
    run_at[runs] = m
    if runs > 1:
        _merge_runs(out, run_at, runs, m)
    inside = sure * sure * (1 - 1e-9) if sure > 0 else -1.0  # nearer than sure for sure
    for t in range(m):
        k = out[t]
        dx = pts[k, 0] - cx
        dy = pts[k, 1] - cy
        rim[t] = not dx * dx + dy * dy < inside and np.hypot(dx, dy) > sure
    return m


@_inline
def _merge_runs(out: np.ndarray, run_at: np.ndarray, runs: int, m: int) -> None:
    """``out[:m]`` in ascending order, from ``runs`` ascending runs (run ``q`` is
    ``out[run_at[q]:run_at[q + 1]]``) of distinct values: each next value the least of the
    runs' heads (a handful of runs, the buckets a disc covers: quicker than sorting)."""
    head = run_at[:runs].copy()
    merged = np.empty(m, dtype=out.dtype)
    for o in range(m):
        best = -1
        value = out[0]
        for q in range(runs):
            if head[q] < run_at[q + 1] and (best < 0 or out[head[q]] < value):
                best = q
                value = out[head[q]]
        merged[o] = value
        head[best] += 1
    out[:m] = merged


@_inline
def _in_ring(ring: np.ndarray, sign: float, px: float, py: float, qx: float,
             qy: float) -> bool:
    """Whether ``(qx, qy)`` is inside or on the convex ring ``ring`` (closed, (k, 2))
    moved to ``(px, py)``: every edge's cross product, times the ring's ``sign`` (1 counter-
    clockwise, -1 clockwise), at least 0 (as :func:`hotspot.places._in_discs` computes it)."""
    for e in range(ring.shape[0] - 1):
        ax = px + ring[e, 0]
        ay = py + ring[e, 1]
        bx = px + ring[e + 1, 0]
        by = py + ring[e + 1, 1]
        if sign * ((bx - ax) * (qy - ay) - (by - ay) * (qx - ax)) < 0:
            return False
    return True


@_jit
def take_places(density: np.ndarray, allowed: np.ndarray, row_max: np.ndarray,
                pts: np.ndarray, w: np.ndarray, order: np.ndarray, start: np.ndarray,
                ncols: int, nrows: int, bx0: float, by0: float, r: float, sure: float,
                ring: np.ndarray, sign: float, x0: float, y1: float, c: float, reach: int,
                kr: int, ki: np.ndarray, kj: np.ndarray, kval: np.ndarray, tol: float,
                bar: np.ndarray, rr: int, most_products: int, tie: float,
                remaining: np.ndarray, left: int, min_incidents: int, most: int,
                place_of: np.ndarray, first_place: int, peak_cell: np.ndarray,
                peak_density: np.ndarray, near: np.ndarray, rim: np.ndarray,
                taken: np.ndarray) -> tuple[int, int, int]:
    """Up to ``most`` places of one area, one after the other, as
    :func:`hotspot.places._split_area`'s loop makes them (the same steps, the same
    arithmetic): the densest cell (:func:`densest_cell`), the points still ``remaining``
    within the place radius ``r`` of its centre (:func:`disc_members`; those farther than
    ``sure`` tested on the disc's polygon, ``ring`` moved there), their weight taken out of
    the density and the cells near the peak barred (:func:`place_remove`). A peak that took
    no point is barred and skipped. Place ``first_place + k`` is written into ``place_of``
    of its points, its cell and density (per km2) into ``peak_cell[k]``, ``peak_density[k]``.

    Returns ``(made, left, state)``: the places made, the points left, and why it stopped:
    0 no cell or fewer than ``min_incidents`` points left; 1 ``most`` places made; 2 the next
    peak's points need the FFT (:func:`place_remove` refused them, nothing changed: the
    caller takes that place itself)."""
    cols = density.shape[1]
    made = 0
    while made < most:
        if left < min_incidents:
            return made, left, 0
        cell = densest_cell(density, row_max, tie)
        if cell < 0:
            return made, left, 0
        i = cell // cols
        j = cell % cols
        px = x0 + (j + 0.5) * c
        py = y1 - (i + 0.5) * c
        m = disc_members(pts, order, start, ncols, nrows, bx0, by0, r, px, py, r, remaining,
                         sure, near, rim)
        k = 0
        for t in range(m):
            q = near[t]
            if not rim[t] or _in_ring(ring, sign, px, py, pts[q, 0], pts[q, 1]):
                taken[k] = q
                k += 1
        dens = density[i, j] * 1e6 / (c * c)
        if not place_remove(density, allowed, pts[taken[:k]], w[taken[:k]], x0, y1, c, i, j,
                            reach, kr, ki, kj, kval, tol, bar, rr, most_products, row_max):
            return made, left, 2
        if k == 0:  # only round-off was left here: the cell is barred, go on
            continue
        for t in range(k):
            remaining[taken[t]] = False
            place_of[taken[t]] = first_place + made
        peak_cell[made] = cell
        peak_density[made] = dens
        made += 1
        left -= k
    return made, left, 1


@_jit
def locate_cells(pts: np.ndarray, ox: float, oy: float, c: float, nrows: int, ncols: int,
                 k: int, bcols: int, block_of: np.ndarray, cell_of: np.ndarray) -> np.ndarray:
    """Per point of ``pts`` ((n, 2), C order), the row of its cell among the grid's cells
    (the numpy steps of :meth:`hotspot.inside._EdgeGrid.cells` with its dense lookup: the
    same divisions and floors), -1 for a cell outside the grid or without a row, or a
    point that is not finite."""
    n = pts.shape[0]
    out = np.full(n, -1, dtype=np.int64)
    for i in range(n):
        u = (pts[i, 0] - ox) / c
        v = (pts[i, 1] - oy) / c
        if not (u >= 0 and u < ncols and v >= 0 and v < nrows):  # NaN fails each test
            continue
        col = int(np.floor(u))
        row = int(np.floor(v))
        block = block_of[(row // k) * bcols + col // k]
        if block >= 0:
            out[i] = cell_of[np.int64(block) * k * k + (row % k) * k + col % k]
    return out


@_jit
def mark_edge_cells(coords: np.ndarray, index: np.ndarray, ox: float, oy: float, c: float,
                    c0: np.ndarray, c1: np.ndarray, r0: np.ndarray, r1: np.ndarray,
                    offset: np.ndarray, wcols: np.ndarray, edge: np.ndarray,
                    most: int) -> bool:
    """Mark in ``edge`` the window cells on each polygon's boundary: the numpy steps of
    :func:`hotspot.inside._edge_cells` (each segment cut into pieces no longer than ``c``,
    each piece's box widened by a quarter cell), the same divisions, products and floors
    piece by piece, so the same cells. ``coords`` ((n, 2) metres) and ``index`` (each
    coordinate's polygon, ascending) are the boundaries' coordinates; ``c0``.. ``wcols``
    each polygon's window of cells and its first position in ``edge``. False, and nothing
    marked, when the pieces would be more than ``most``."""
    n = coords.shape[0]
    pieces = 0
    for v in range(n):
        if v + 1 < n and index[v + 1] == index[v]:
            dx, dy = coords[v + 1, 0] - coords[v, 0], coords[v + 1, 1] - coords[v, 1]
            pieces += max(int(np.ceil(np.hypot(dx, dy) / c)), 1)
        elif v == 0 or index[v - 1] != index[v]:
            pieces += 1
    if pieces > most:
        return False
    for v in range(n):
        g = index[v]
        joined_before = v > 0 and index[v - 1] == g
        joined_after = v + 1 < n and index[v + 1] == g
        if joined_after:  # the segment v -> v + 1, in pieces
            p0x, p0y = coords[v, 0], coords[v, 1]
            dx, dy = coords[v + 1, 0] - p0x, coords[v + 1, 1] - p0y
            m = max(int(np.ceil(np.hypot(dx, dy) / c)), 1)
            for k in range(m):
                t0, t1 = k / m, (k + 1) / m
                _mark_piece(edge, p0x + t0 * dx, p0x + t1 * dx, p0y + t0 * dy, p0y + t1 * dy,
                            ox, oy, c, c0[g], c1[g], r0[g], r1[g], offset[g], wcols[g])
        elif not joined_before:  # a lone vertex: a piece of its own
            x, y = coords[v, 0], coords[v, 1]
            _mark_piece(edge, x, x, y, y, ox, oy, c, c0[g], c1[g], r0[g], r1[g], offset[g],
                        wcols[g])
    return True


@_inline
def _mark_piece(edge: np.ndarray, ax: float, bx: float, ay: float, by: float, ox: float,
                oy: float, c: float, c0: int, c1: int, r0: int, r1: int, offset: int,
                width: int) -> None:
    umin, umax = (min(ax, bx) - ox) / c, (max(ax, bx) - ox) / c
    vmin, vmax = (min(ay, by) - oy) / c, (max(ay, by) - oy) / c
    lo_j = max(int(np.floor(umin - 1.25)) + 1, c0)
    hi_j = min(int(np.floor(umax + 0.25)), c1)
    lo_i = max(int(np.floor(vmin - 1.25)) + 1, r0)
    hi_i = min(int(np.floor(vmax + 0.25)), r1)
    base = offset + (lo_i - r0) * width + (lo_j - c0)
    for dj in range(4):
        if lo_j + dj > hi_j:
            break
        for di in range(4):
            if lo_i + di > hi_i:
                break
            edge[base + di * width + dj] = True


@_jit
def label_sums(labels: np.ndarray, k: int, x: np.ndarray, y: np.ndarray, w: np.ndarray,
               harm: np.ndarray, with_harm: bool,
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per label 0..k-1 (-1: none) in one pass: the count of its incidents and the sums of
    ``w``, ``x * w``, ``y * w`` and (``with_harm``) ``harm``, each added in the incidents'
    order, as ``np.bincount`` adds them: the same sums to the last bit
    (:func:`hotspot.table.build_table`)."""
    count = np.zeros(k, dtype=np.int64)
    ws = np.zeros(k)
    sx = np.zeros(k)
    sy = np.zeros(k)
    hs = np.zeros(k)
    for i in range(labels.shape[0]):
        g = labels[i]
        if g < 0:
            continue
        count[g] += 1
        ws[g] += w[i]
        sx[g] += x[i] * w[i]
        sy[g] += y[i] * w[i]
        if with_harm:
            hs[g] += harm[i]
    return count, ws, sx, sy, hs


@_jit
def label_time_ranges(labels: np.ndarray, k: int, t: np.ndarray, precision: np.ndarray,
                      coarsest_start: int, exact: int,
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                 int]:
    """Per label 0..k-1 (-1: none) in one pass: the earliest and latest ``t``, the coarsest
    and finest ``precision`` (the finest starting at ``coarsest_start``), the count, and how
    many labelled incidents have the ``exact`` precision (:func:`hotspot.table._times`)."""
    first = np.full(k, np.iinfo(np.int64).max, dtype=np.int64)
    last = np.full(k, np.iinfo(np.int64).min, dtype=np.int64)
    coarsest = np.zeros(k, dtype=np.int64)
    finest = np.full(k, coarsest_start, dtype=np.int64)
    count = np.zeros(k, dtype=np.int64)
    exacts = 0
    for i in range(labels.shape[0]):
        g = labels[i]
        if g < 0:
            continue
        first[g] = min(first[g], t[i])
        last[g] = max(last[g], t[i])
        coarsest[g] = max(coarsest[g], precision[i])
        finest[g] = min(finest[g], precision[i])
        count[g] += 1
        if precision[i] == exact:
            exacts += 1
    return first, last, coarsest, finest, count, exacts


@_jit
def label_value_tally(labels: np.ndarray, codes: np.ndarray, usable: np.ndarray,
                      m: int, cells: int) -> np.ndarray:
    """Incidents per (label, value) cell ``label * m + code``, over the labelled incidents
    (label >= 0) with a value (code >= 0) that is ``usable``: ``np.bincount`` of those keys
    with ``minlength=cells`` (:func:`hotspot.table._counted`)."""
    tally = np.zeros(cells, dtype=np.int64)
    for i in range(labels.shape[0]):
        g = labels[i]
        c = codes[i]
        if g >= 0 and c >= 0 and usable[c]:
            tally[g * m + c] += 1
    return tally


@_jit
def pair_sums(labels: np.ndarray, other: np.ndarray, w: np.ndarray, width: int,
              cells: int) -> tuple[np.ndarray, np.ndarray]:
    """Per cell ``label * width + other`` over the incidents with both a label and an
    ``other`` (each >= 0): how many, and the sum of their ``w`` added in the incidents' order
    (as ``np.bincount`` adds them): a hotspot's weight by context class, town centre or
    heritage site (:func:`hotspot.context.classify_hotspots`). Every label must be below
    ``cells // width`` and every ``other`` below ``width``, and ``other`` and ``w`` as long as
    ``labels``: nothing here checks."""
    count = np.zeros(cells, dtype=np.int64)
    sums = np.zeros(cells)
    for i in range(labels.shape[0]):
        g = labels[i]
        o = other[i]
        if g >= 0 and o >= 0:
            count[g * width + o] += 1
            sums[g * width + o] += w[i]
    return count, sums


@_jit
def recent_sums(labels: np.ndarray, w: np.ndarray, t: np.ndarray, middle: float,
                k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per label 0..k-1 (-1: none) in one pass: the sum of ``w``, and of ``w`` times whether
    ``t`` is ``middle`` or later (1.0 or 0.0, as numpy's ``w * late``), each added in the
    incidents' order (as ``np.bincount`` adds them): the same sums to the last bit, whatever
    the weights (:func:`hotspot.rank.recent_share`). Every label must be below ``k``, and
    ``w`` and ``t`` as long as ``labels``: nothing here checks."""
    total = np.zeros(k)
    recent = np.zeros(k)
    for i in range(labels.shape[0]):
        g = labels[i]
        if g < 0:
            continue
        total[g] += w[i]
        recent[g] += w[i] * (1.0 if t[i] >= middle else 0.0)
    return total, recent


@_jit
def hull_diameters(xy: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The largest squared distance between two of each geometry's points (``xy[starts[g]:
    starts[g + 1]]``, (n, 2) metres): the same differences, squares and sums as the numpy
    steps of :func:`hotspot.places.widest_extent_m`, so the same bits. A point farther from
    none of the others than the best pair so far (bounded by the geometry's box) is skipped:
    its pairs cannot be larger."""
    k = starts.shape[0] - 1
    out = np.zeros(k)
    for g in range(k):
        a, b = starts[g], starts[g + 1]
        if b - a < 2:
            continue
        x0, y0, x1, y1 = xy[a, 0], xy[a, 1], xy[a, 0], xy[a, 1]
        for i in range(a, b):
            x0, x1 = min(x0, xy[i, 0]), max(x1, xy[i, 0])
            y0, y1 = min(y0, xy[i, 1]), max(y1, xy[i, 1])
        best = 0.0
        for i in range(a, b):
            xi, yi = xy[i, 0], xy[i, 1]
            fx = max(xi - x0, x1 - xi)
            fy = max(yi - y0, y1 - yi)
            if fx * fx + fy * fy < best * (1 - 1e-9):  # no pair of it reaches the best
                continue
            for j in range(i + 1, b):
                dx = xy[j, 0] - xi
                dy = xy[j, 1] - yi
                d2 = dx * dx + dy * dy
                if d2 > best:
                    best = d2
        out[g] = best
    return out


@_jit
def polygon_cells(xy: np.ndarray, ring_bounds: np.ndarray, cx: np.ndarray,
                  cy: np.ndarray) -> np.ndarray:
    """Whether each point of a grid (columns at ``cx``, increasing; rows at ``cy``, strictly
    decreasing; metres) is inside a valid polygon whose rings are ``xy[ring_bounds[r]:
    ring_bounds[r + 1]]`` (closed, (n, 2)): 1 inside, 0 outside, by the crossings of each
    row with the rings (even-odd); 2 where the arithmetic cannot be sure (a row through a
    vertex, or a point within the rounding bound of a crossing), for the caller to decide
    by an exact predicate."""
    ny, nx = cy.shape[0], cx.shape[0]
    out = np.zeros((ny, nx), dtype=np.int8)
    unsure = np.zeros(ny, dtype=np.bool_)
    count = np.zeros(ny + 1, dtype=np.int64)
    neg = -cy  # increasing, for the rows an edge spans
    for sweep in range(2):  # count each row's crossings, then fill them in
        if sweep == 1:
            for i in range(ny):
                count[i + 1] += count[i]
            xs = np.empty(count[ny])
            bound = np.empty(count[ny])
            filled = count[:ny].copy()
        for r in range(ring_bounds.shape[0] - 1):
            for e in range(ring_bounds[r], ring_bounds[r + 1] - 1):
                x1, y1, x2, y2 = xy[e, 0], xy[e, 1], xy[e + 1, 0], xy[e + 1, 1]
                size = max(abs(x1), abs(x2), abs(y1), abs(y2)) + 1.0
                near = 1e-12 * size  # far beyond the rounding of a coordinate's difference
                lo, hi = min(y1, y2) - near, max(y1, y2) + near
                first = np.searchsorted(neg, -hi)
                last = np.searchsorted(neg, -lo, side="right")
                for i in range(first, last):
                    y = cy[i]
                    if abs(y - y1) <= near or abs(y - y2) <= near:
                        unsure[i] = True
                        continue
                    if (y1 < y) == (y2 < y):
                        continue
                    if sweep == 0:
                        count[i + 1] += 1
                        continue
                    dy = y2 - y1
                    k = filled[i]
                    xs[k] = x1 + (y - y1) * (x2 - x1) / dy
                    bound[k] = near * (2.0 + abs(x2 - x1) / abs(dy))
                    filled[i] = k + 1
    for i in range(ny):
        if unsure[i]:
            out[i, :] = 2
            continue
        a, b = count[i], count[i + 1]
        if a == b:
            continue
        row_x = np.sort(xs[a:b])
        widest = bound[a:b].max()  # one bound for the row: the crossings stay in order
        k = 0
        m = b - a
        for j in range(nx):
            x = cx[j]
            while k < m and row_x[k] + widest < x:
                k += 1
            if k < m and row_x[k] - widest <= x:
                out[i, j] = 2
            elif k % 2 == 1:
                out[i, j] = 1
    return out


@_jit
def area_grids(pts: np.ndarray, w: np.ndarray, pstart: np.ndarray, x0: np.ndarray,
               y1: np.ndarray, rows: np.ndarray, cols: np.ndarray, bounds: np.ndarray,
               c: float, kr: int, ki: np.ndarray, kj: np.ndarray, kval: np.ndarray,
               most_products: int, coords: np.ndarray, ring_bounds: np.ndarray,
               first_ring: np.ndarray, end_ring: np.ndarray, gstart: np.ndarray,
               density: np.ndarray, state: np.ndarray) -> np.ndarray:
    """The first half of :class:`hotspot.place_grid.AreaGrid` for many areas in one call
    (:mod:`hotspot.place_batch`): area ``a``'s points ``pts[pstart[a]:pstart[a + 1]]`` (n, 2
    metres) and weights, its grid of ``rows[a]`` x ``cols[a]`` cells of ``c`` metres (west
    edge ``x0[a]``, north edge ``y1[a]``) at ``density[gstart[a]:gstart[a + 1]]`` (row-major):
    the density of :func:`place_density`, and in ``state`` whether each cell centre within
    the area's box (``bounds[a]``: minx, miny, maxx, maxy) is inside its polygon, whose rings
    are ``ring_bounds[first_ring[a]:end_ring[a] + 1]`` of ``coords`` (1 inside, 0
    outside or beyond the box, 2 unsure: :func:`polygon_cells`). Returns whether each area
    was smoothed here (False: it needs the FFT, and ``density`` holds its binned weights, for
    the caller to smooth)."""
    k = pstart.shape[0] - 1
    done = np.zeros(k, dtype=np.bool_)
    for a in range(k):
        nr, nc = rows[a], cols[a]
        grid, smoothed = place_density(pts[pstart[a]:pstart[a + 1]], w[pstart[a]:pstart[a + 1]],
                                       x0[a], y1[a], c, nr, nc, kr, ki, kj, kval,
                                       most_products)
        done[a] = smoothed
        g0 = gstart[a]
        density[g0:g0 + nr * nc] = grid.ravel()
        # the cell centres in the area's box (edges included): a contiguous block
        j0, j1, i0, i1 = nc, -1, nr, -1
        for j in range(nc):
            x = x0[a] + (j + 0.5) * c
            if x >= bounds[a, 0] and x <= bounds[a, 2]:
                j0, j1 = min(j0, j), max(j1, j)
        for i in range(nr):
            y = y1[a] - (i + 0.5) * c
            if y >= bounds[a, 1] and y <= bounds[a, 3]:
                i0, i1 = min(i0, i), max(i1, i)
        if j1 < j0 or i1 < i0:
            continue
        cx = np.empty(j1 - j0 + 1)
        for j in range(j0, j1 + 1):
            cx[j - j0] = x0[a] + (j + 0.5) * c
        cy = np.empty(i1 - i0 + 1)
        for i in range(i0, i1 + 1):
            cy[i - i0] = y1[a] - (i + 0.5) * c
        inside = polygon_cells(coords, ring_bounds[first_ring[a]:end_ring[a] + 1], cx, cy)
        for i in range(i0, i1 + 1):
            for j in range(j0, j1 + 1):
                state[g0 + i * nc + j] = inside[i - i0, j - j0]
    return done


@_jit
def area_places(pts: np.ndarray, w: np.ndarray, pstart: np.ndarray, x0: np.ndarray,
                y1: np.ndarray, rows: np.ndarray, cols: np.ndarray, gstart: np.ndarray,
                density: np.ndarray, state: np.ndarray, tol: np.ndarray, split: np.ndarray,
                r: float, sure: float, ring: np.ndarray, sign: float, c: float, reach: int,
                kr: int, ki: np.ndarray, kj: np.ndarray, kval: np.ndarray, bar: np.ndarray,
                rr: int, most_products: int, tie: float, min_incidents: int,
                place_of: np.ndarray, peak_cell: np.ndarray, peak_density: np.ndarray,
                made: np.ndarray, most: int) -> tuple[int, bool]:
    """The second half of :class:`hotspot.place_grid.AreaGrid` and the places of
    :func:`hotspot.places._split_area` for the areas whose grids :func:`area_grids` made
    (their densities smoothed, by it or by FFT), each as those steps make them (the same
    arithmetic in the same order): the cells inside (``state`` 1; none: every cell) keep
    their density, the others and round-off below ``tol[a]`` are zeroed; then, for an area
    to ``split``, the places of :func:`take_places`, numbered from 0 in
    ``place_of[pstart[a]:pstart[a + 1]]`` (-1: none), their cells and densities at
    ``peak_cell[pstart[a]:]`` and ``peak_density[pstart[a]:]``, their number in ``made[a]``;
    for an area kept whole, its densest cell (:func:`densest_cell`; -1: none) and density
    there (per km2) as its one peak. ``made[a]`` is -1 for an area whose places need the FFT
    (:func:`take_places`' state 2), for the steps in Python to make from the start.

    The areas are made in order until their peaks pass ``most`` (the limit of places): the
    area that would pass it and those after it are left as they are (``made`` -1). Returns
    the peaks made and whether it stopped there."""
    k = pstart.shape[0] - 1
    total = 0
    for a in range(k):
        p0, p1 = pstart[a], pstart[a + 1]
        n = p1 - p0
        nr, nc = rows[a], cols[a]
        g0 = gstart[a]
        dens = density[g0:g0 + nr * nc].reshape((nr, nc))
        allowed = np.empty((nr, nc), dtype=np.bool_)
        some = False
        for i in range(nr):
            for j in range(nc):
                inside = state[g0 + i * nc + j] == 1
                allowed[i, j] = inside
                some = some or inside
        if not some:  # a sliver or a point: any cell may be its peak
            allowed[:, :] = True
        for i in range(nr):
            for j in range(nc):
                if not allowed[i, j] or dens[i, j] < tol[a]:
                    dens[i, j] = 0.0
        row_max = row_maxima(dens)
        if not split[a]:
            if total + 1 > most:
                return total, True
            cell = densest_cell(dens, row_max, tie)
            peak_cell[p0] = cell
            peak_density[p0] = 0.0 if cell < 0 else dens[cell // nc, cell % nc] * 1e6 / (c * c)
            made[a] = 1
            total += 1
            continue
        area_pts = pts[p0:p1]
        bx0 = area_pts[0, 0]
        by0 = area_pts[0, 1]
        for t in range(n):
            bx0 = min(bx0, area_pts[t, 0])
            by0 = min(by0, area_pts[t, 1])
        col = np.empty(n, dtype=np.int64)
        row = np.empty(n, dtype=np.int64)
        for t in range(n):
            col[t] = int(np.floor((area_pts[t, 0] - bx0) / r))
            row[t] = int(np.floor((area_pts[t, 1] - by0) / r))
        bcols, brows = col.max() + 1, row.max() + 1
        key = row * bcols + col
        order = counting_order(key, bcols * brows)
        start = np.zeros(bcols * brows + 1, dtype=np.int64)
        for t in range(n):
            start[key[t] + 1] += 1
        for b in range(bcols * brows):
            start[b + 1] += start[b]
        remaining = np.ones(n, dtype=np.bool_)
        local = place_of[p0:p1]
        local[:] = -1
        left = most - total + 1  # places that would pass the limit (an area makes at most n)
        count, _left, why = take_places(
            dens, allowed, row_max, area_pts, w[p0:p1], order, start, bcols, brows, bx0, by0,
            r, sure, ring, sign, x0[a], y1[a], c, reach, kr, ki, kj, kval, tol[a], bar, rr,
            most_products, tie, remaining, n, min_incidents, min(n + 1, left), local, 0,
            peak_cell[p0:p1], peak_density[p0:p1], np.empty(n, dtype=np.int64),
            np.empty(n, dtype=np.bool_), np.empty(n, dtype=np.int64))
        if why == 1 and count >= left:  # over the limit: this area and the rest left
            return total, True
        made[a] = -1 if why == 2 else count
        if why != 2:
            total += count
    return total, False


LOADED = True
"""Set last: the module is whole (:func:`hotspot._native.loaded_native_steps` reads it)."""
