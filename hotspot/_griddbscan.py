"""Exact DBSCAN in the plane on a grid, with point weights, in numpy.

The grid has cells of side ``eps / sqrt(2)``, so any two points of one cell are within ``eps``
of each other. That gives three shortcuts that keep the work close to one pass over the points:

1. **Core points.** A point is core when the weight within ``eps`` of it (itself included)
   reaches its threshold. A cell whose own weight reaches the threshold makes all its points
   core. Otherwise each of the 20 cells that can hold neighbours is classed against the point
   by the nearest and farthest distance to the cell's rectangle: wholly within ``eps`` (its
   whole weight counts), wholly beyond (nothing counts), or cut by the circle; only cut cells,
   and only for points not yet decided, are checked point by point.
2. **Clusters.** All core points of a cell are connected. Two neighbouring cells are connected
   when some pair of their core points is within ``eps``: decided by the bounding boxes of
   their core points when possible, then by eight extreme points of each cell, and only then
   by all pairs. Connected components of the cell graph are the clusters.
3. **Border points** take the cluster of a core point within ``eps`` (the first cell found,
   as scikit-learn leaves the choice to visiting order).

Distances are compared squared (``dx*dx + dy*dy <= eps*eps``), as scikit-learn's trees do, so
points exactly ``eps`` apart are neighbours in both. Clusters are numbered in the order of
their first core point in the input, as scikit-learn numbers them, so core points get the same
labels as :class:`sklearn.cluster.DBSCAN` with the same ``min_samples`` and ``sample_weight``.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
from scipy.ndimage import uniform_filter1d
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

_OFFSETS = np.array(
    [(dx, dy) for dx in range(-2, 3) for dy in range(-2, 3)
     if (dx, dy) != (0, 0) and not (abs(dx) == 2 and abs(dy) == 2)],
    dtype=np.int64,
)
"""The 20 cells around a cell that can hold points within eps of a point in it."""
_ANCHOR_DIRECTIONS = np.array(
    [(1, 0), (0, 1), (1, 1), (1, -1), (-1, 0), (0, -1), (-1, -1), (-1, 1)]
)
"""The directions of the eight extreme points of :func:`_anchors`, in its order."""
_HALF = np.array([(dx > 0) or (dx == 0 and dy > 0) for dx, dy in _OFFSETS])
_PAIR_BUDGET = 2_000_000
"""Most point pairs expanded at once (bounds memory to tens of MB)."""
_RASTER_FROM = 20_000
"""Undecided points from which a fine raster (:class:`_Raster`) is worth building."""
_RASTER_CELLS = 8_000_000
"""Largest fine raster (its table and cell index: 128 MB)."""


def _radix_order(key: np.ndarray) -> np.ndarray:
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


def _expand(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For ranges ``[starts[i], starts[i]+counts[i])``: (owner i of each item, item index)."""
    total = int(counts.sum())
    owner = np.repeat(np.arange(starts.shape[0]), counts)
    first = np.cumsum(counts) - counts
    item = np.arange(total, dtype=np.int64) - np.repeat(first - starts, counts)
    return owner, item


def _batches(counts: np.ndarray, budget: int = _PAIR_BUDGET) -> list[slice]:
    """Split consecutive items so each batch expands to at most ``budget`` pairs (at least one)."""
    if counts.shape[0] == 0:
        return []
    cum = np.cumsum(counts)
    cuts = [0]
    while cuts[-1] < counts.shape[0]:
        base = cum[cuts[-1] - 1] if cuts[-1] else 0
        nxt = int(np.searchsorted(cum, base + budget, side="right"))
        cuts.append(max(nxt, cuts[-1] + 1))
    return [slice(a, b) for a, b in pairwise(cuts)]


def _axis_distances(f: np.ndarray, side: float) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
    """Along one axis, for points at ``f`` in [0, side) of their cell: the squared nearest and
    farthest distances to the cells ``d`` = -2..2 cells away."""
    near: dict[int, np.ndarray] = {}
    far: dict[int, np.ndarray] = {}
    for d in (-2, -1, 0, 1, 2):
        lo, hi = d * side - f, (d + 1) * side - f  # signed offsets to that cell's edges
        n = lo if d > 0 else (-hi if d < 0 else np.zeros_like(f))
        near[d] = n * n
        far[d] = np.maximum(lo * lo, hi * hi)
    return near, far


def _box_distances(
    a: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Squared nearest and farthest distances between boxes given as (n, 4) minx,miny,maxx,maxy."""
    gx = np.maximum(np.maximum(b[:, 0] - a[:, 2], a[:, 0] - b[:, 2]), 0.0)
    gy = np.maximum(np.maximum(b[:, 1] - a[:, 3], a[:, 1] - b[:, 3]), 0.0)
    fx = np.maximum(a[:, 2] - b[:, 0], b[:, 2] - a[:, 0])
    fy = np.maximum(a[:, 3] - b[:, 1], b[:, 3] - a[:, 1])
    return gx * gx + gy * gy, fx * fx + fy * fy


def grid_dbscan(
    xy: np.ndarray, eps: float, threshold: float | np.ndarray, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Exact weighted DBSCAN of 2-D points.

    Parameters
    ----------
    xy
        (n, 2) float64 coordinates (metres in a projected CRS).
    eps
        Neighbourhood radius in the units of ``xy`` (> 0).
    threshold
        Weight a point's neighbourhood (itself included) must reach for it to be core: one
        number (scikit-learn's ``min_samples``) or one per point.
    weights
        (n,) non-negative weights (scikit-learn's ``sample_weight``); 1 each by default.

    Returns
    -------
    labels
        int64 cluster of each point, -1 for noise, numbered as scikit-learn numbers them.
    core
        Boolean mask of the core points.
    """
    xy = np.asarray(xy, dtype=np.float64)
    n = xy.shape[0]
    labels = np.full(n, -1, dtype=np.int64)
    core_out = np.zeros(n, dtype=bool)
    if n == 0:
        return labels, core_out
    unweighted = weights is None
    w_in = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    scalar = np.ndim(threshold) == 0
    t_in = np.asarray(threshold, dtype=np.float64)
    if not scalar:
        t_in = np.broadcast_to(t_in, (n,))
    eps = float(eps)
    eps2 = eps * eps
    tight, loose = eps2 * (1 - 1e-9), eps2 * (1 + 1e-9)
    side = eps / np.sqrt(2.0) * (1 - 1e-12)

    # -- cells: points sorted by cell, cells as ranges --------------------------------------
    x0, y0 = xy[:, 0].min(), xy[:, 1].min()
    cx = np.floor((xy[:, 0] - x0) / side).astype(np.int64) + 2
    cy = np.floor((xy[:, 1] - y0) / side).astype(np.int64) + 2
    stride = int(cy.max()) + 3
    key = cx * stride + cy
    order = _radix_order(key)
    key = key[order]
    px, py = xy[order, 0], xy[order, 1]
    w = w_in if unweighted else w_in[order]
    t = t_in if scalar else t_in[order]
    bounds = np.flatnonzero(np.diff(key)) + 1
    start = np.concatenate([[0], bounds])
    count = np.diff(np.concatenate([start, [n]]))
    ukey = key[start]
    ncell = ukey.shape[0]
    cell = np.repeat(np.arange(ncell), count)
    cell_w = count.astype(np.float64) if unweighted else np.add.reduceat(w, start)
    rx0 = x0 + (ukey // stride - 2) * side
    ry0 = y0 + (ukey % stride - 2) * side
    nbr = _Neighbours(ukey, stride, int(cx.max()) + 3)
    cell_w0 = np.append(cell_w, 0.0)  # index -1 (no cell) weighs nothing

    # -- core points ------------------------------------------------------------------------
    core = cell_w[cell] >= t
    # a cell whose 21-cell neighbourhood weighs less than every threshold in it has no core
    reach = nbr.stencil_sum(cell_w)
    lowest = t if scalar else np.minimum.reduceat(t, start)
    hopeless = reach < lowest - 1e-6 * np.maximum(1.0, lowest)  # rounding never makes one
    todo = np.flatnonzero(~core & ~hopeless[cell])
    raster = _Raster.build(px, py, w, eps) if todo.shape[0] >= _RASTER_FROM else None
    if raster is not None:
        for part in np.array_split(todo, max(1, todo.shape[0] // 65_536)):
            if part.shape[0] == 0:
                continue
            qt = t if scalar else t[part]
            lower, upper = raster.bounds(px[part], py[part])
            sure = lower >= qt
            core[part[sure]] = True
            rest = np.flatnonzero(~sure & (upper >= qt))
            if rest.shape[0]:
                qr = qt if scalar else qt[rest]
                core[part[rest]] = raster.exact(px[part[rest]], py[part[rest]]) >= qr
        todo = todo[:0]
    for part in np.array_split(todo, max(1, todo.shape[0] // 65_536)):
        if part.shape[0] == 0:
            continue
        c = cell[part]
        qt = t if scalar else t[part]
        fx = px[part] - rx0[c]  # position inside the own cell, in [0, side)
        fy = py[part] - ry0[c]
        acc = cell_w[c].copy()
        upper = acc.copy()
        cut_owner: list[np.ndarray] = []
        cut_cell: list[np.ndarray] = []
        # squared nearest and farthest distances along each axis to the cells 2 left to 2 right
        near_x, far_x = _axis_distances(fx, side)
        near_y, far_y = _axis_distances(fy, side)
        for j, (dx, dy) in enumerate(_OFFSETS.tolist()):
            other = nbr.at(c, j)
            weight = cell_w0[other]
            whole = far_x[dx] + far_y[dy] <= tight
            cut = ~whole & (near_x[dx] + near_y[dy] <= loose) & (weight > 0)
            acc += weight * whole
            upper += weight * (whole | cut)
            sel = np.flatnonzero(cut)
            cut_owner.append(sel)
            cut_cell.append(other[sel])
        decided = (acc >= qt) | (upper < qt)
        owners = np.concatenate(cut_owner)
        cells = np.concatenate(cut_cell)
        keep = ~decided[owners]
        owners, cells = owners[keep], cells[keep]
        qx, qy = px[part], py[part]
        for b in _batches(count[cells]):
            k, q = _expand(start[cells[b]], count[cells[b]])
            who = owners[b][k]
            ddx, ddy = px[q] - qx[who], py[q] - qy[who]
            hit = ddx * ddx + ddy * ddy <= eps2
            acc += np.bincount(who[hit], weights=w[q[hit]], minlength=part.shape[0])
        core[part] = acc >= qt

    # -- clusters of core points: connected cells -------------------------------------------
    core_idx = np.flatnonzero(core)
    if core_idx.shape[0] == 0:
        return labels, core_out
    ccell = cell[core_idx]
    cstart = np.concatenate([[0], np.flatnonzero(np.diff(ccell)) + 1])
    ccount = np.diff(np.concatenate([cstart, [core_idx.shape[0]]]))
    cells_with_core = ccell[cstart]
    slot = np.full(ncell, -1, dtype=np.int64)
    slot[cells_with_core] = np.arange(cells_with_core.shape[0])
    cxs, cys = px[core_idx], py[core_idx]
    box = np.column_stack([
        np.minimum.reduceat(cxs, cstart), np.minimum.reduceat(cys, cstart),
        np.maximum.reduceat(cxs, cstart), np.maximum.reduceat(cys, cstart),
    ])
    anchors = _anchors(cxs, cys, cstart, ccount)
    edges_a: list[np.ndarray] = []
    edges_b: list[np.ndarray] = []
    open_a: list[np.ndarray] = []
    open_b: list[np.ndarray] = []
    for j in np.flatnonzero(_HALF).tolist():
        other = nbr.at(cells_with_core, j)
        ok = np.flatnonzero((other >= 0) & (slot[np.maximum(other, 0)] >= 0))
        a, b = ok, slot[other[ok]]
        near, far = _box_distances(box[a], box[b])
        linked = far <= tight
        maybe = ~linked & (near <= loose)
        if maybe.any():
            ia, ib = a[maybe], b[maybe]
            # only the extreme points facing the other cell can be the near ones
            dx, dy = _OFFSETS[j]
            facing = _ANCHOR_DIRECTIONS @ np.array([dx, dy])
            fa, fb = np.flatnonzero(facing > 0), np.flatnonzero(facing < 0)
            ax, ay = anchors[ia][:, fa, 0][:, :, None], anchors[ia][:, fa, 1][:, :, None]
            bx, by = anchors[ib][:, fb, 0][:, None, :], anchors[ib][:, fb, 1][:, None, :]
            by_anchor = ((ax - bx) ** 2 + (ay - by) ** 2 <= eps2).any(axis=(1, 2))
            sub = np.flatnonzero(maybe)
            linked[sub[by_anchor]] = True
            rest = sub[~by_anchor]  # decided below, all offsets at once
            open_a.append(a[rest])
            open_b.append(b[rest])
        edges_a.append(a[linked])
        edges_b.append(b[linked])
    if open_a:
        oa, ob = np.concatenate(open_a), np.concatenate(open_b)
        if oa.shape[0]:
            hit = _any_pair_within(cstart[oa], ccount[oa], cstart[ob], ccount[ob], cxs, cys,
                                   eps2)
            edges_a.append(oa[hit])
            edges_b.append(ob[hit])
    m = cells_with_core.shape[0]
    ea, eb = np.concatenate(edges_a), np.concatenate(edges_b)
    graph = coo_matrix((np.ones(ea.shape[0], dtype=np.int8), (ea, eb)), shape=(m, m))
    _n, comp = connected_components(graph, directed=False)

    # number clusters by their first core point in the input, as scikit-learn does
    comp_of_core = comp[np.repeat(np.arange(m), ccount)]
    first = np.full(comp.max() + 1, n, dtype=np.int64)
    np.minimum.at(first, comp_of_core, order[core_idx])
    rank = np.empty_like(first)
    rank[np.argsort(first, kind="stable")] = np.arange(first.shape[0])
    lab_sorted = np.full(n, -1, dtype=np.int64)
    lab_sorted[core_idx] = rank[comp_of_core]

    # -- border points ----------------------------------------------------------------------
    cell_label = np.full(ncell, -1, dtype=np.int64)
    cell_label[cells_with_core] = rank[comp]
    border = np.flatnonzero(~core)
    own = cell_label[cell[border]]
    lab_sorted[border] = own
    left = border[own < 0]
    left = left[nbr.near(cells_with_core)[cell[left]]]  # some core cell within reach
    if left.shape[0]:
        # every (border candidate, neighbour cell with core points) pair, all offsets at once
        cl = cell[left]
        owner_parts, slot_parts = [], []
        for j in range(_OFFSETS.shape[0]):
            other = nbr.at(cl, j)
            sl = np.where(other >= 0, slot[np.maximum(other, 0)], -1)
            has = np.flatnonzero(sl >= 0)
            owner_parts.append(has)
            slot_parts.append(sl[has])
        ow, sl = np.concatenate(owner_parts), np.concatenate(slot_parts)
        p = left[ow]
        qbox = np.column_stack([px[p], py[p], px[p], py[p]])
        near, far = _box_distances(qbox, box[sl])
        found = far <= tight
        check = np.flatnonzero(~found & (near <= loose))
        if check.shape[0]:
            found[check] = _any_pair_within(
                p[check], np.ones(check.shape[0], dtype=np.int64), cstart[sl[check]],
                ccount[sl[check]], px, py, eps2, b_x=cxs, b_y=cys,
            )
        hit = np.flatnonzero(found)  # in offset order within each point: the first one wins
        first = hit[np.unique(ow[hit], return_index=True)[1]]
        lab_sorted[left[ow[first]]] = cell_label[cells_with_core[sl[first]]]

    labels[order] = lab_sorted
    core_out[order] = core
    return labels, core_out


class _Raster:
    """A fine raster of the points (cells of about eps / 8) for dense data: a summed-area
    table of their weight, and the points ordered row by row, cell by cell.

    It gives, for any point, bounds of the weight within eps (the square inscribed in the
    circle and the square around it: four lookups each) and the exact weight: the cells of
    each raster row wholly inside the circle summed from the table, and only the points of the
    cells the circle's edge crosses compared one by one.
    """

    def __init__(self, px: np.ndarray, py: np.ndarray, w: np.ndarray, eps: float,
                 f: float) -> None:
        self.eps, self.f = eps, f
        self.x0, self.y0 = float(px.min()), float(py.min())
        self.nx = int((float(px.max()) - self.x0) / f) + 1
        self.ny = int((float(py.max()) - self.y0) / f) + 1
        col = np.minimum(((px - self.x0) / f).astype(np.int64), self.nx - 1)
        row = np.minimum(((py - self.y0) / f).astype(np.int64), self.ny - 1)
        key = row * self.nx + col
        per_cell = np.bincount(key, weights=w, minlength=self.nx * self.ny)
        sat = np.zeros((self.ny + 1, self.nx + 1))
        sat[1:, 1:] = per_cell.reshape(self.ny, self.nx)
        np.cumsum(sat, axis=0, out=sat)
        np.cumsum(sat, axis=1, out=sat)
        self.sat = sat
        self.tol = 1e-9 * max(float(sat[-1, -1]), 1.0)
        """Rounding allowance of sums taken from the table."""
        order = _radix_order(key)
        self.fx, self.fy, self.fw = px[order], py[order], w[order]
        self.start = np.searchsorted(key[order], np.arange(self.nx * self.ny + 1))

    @classmethod
    def build(cls, px: np.ndarray, py: np.ndarray, w: np.ndarray, eps: float) -> _Raster | None:
        """The raster, or None when cells fine enough would be too many."""
        width, height = float(np.ptp(px)), float(np.ptp(py))
        f = eps / 8
        if (width / f + 2) * (height / f + 2) > _RASTER_CELLS:
            f = float(np.sqrt((width + eps) * (height + eps) / _RASTER_CELLS))
            if f > eps / 3:  # too coarse to save work
                return None
        return cls(px, py, w, eps, f)

    def _block(self, c0: np.ndarray, c1: np.ndarray, r0: np.ndarray,
               r1: np.ndarray) -> np.ndarray:
        """Weight of the cells in columns [c0, c1) and rows [r0, r1) (clipped)."""
        c0, c1 = np.clip(c0, 0, self.nx), np.clip(c1, 0, self.nx)
        r0, r1 = np.clip(r0, 0, self.ny), np.clip(r1, 0, self.ny)
        c1, r1 = np.maximum(c1, c0), np.maximum(r1, r0)
        s = self.sat
        return np.asarray(s[r1, c1] - s[r0, c1] - s[r1, c0] + s[r0, c0])

    def bounds(self, qx: np.ndarray, qy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds of the weight within eps of each point."""
        u, v = (qx - self.x0) / self.f, (qy - self.y0) / self.f
        a = self.eps / np.sqrt(2.0) * (1 - 1e-9) / self.f  # cells wholly in the inner square
        lower = self._block(np.ceil(u - a).astype(np.int64), np.floor(u + a).astype(np.int64),
                            np.ceil(v - a).astype(np.int64), np.floor(v + a).astype(np.int64))
        e = self.eps * (1 + 1e-9) / self.f  # cells touching the outer square
        upper = self._block(np.floor(u - e).astype(np.int64),
                            np.floor(u + e).astype(np.int64) + 1,
                            np.floor(v - e).astype(np.int64),
                            np.floor(v + e).astype(np.int64) + 1)
        return lower - self.tol, upper + self.tol

    def exact(self, qx: np.ndarray, qy: np.ndarray) -> np.ndarray:
        """The weight within eps (squared distance <= eps^2) of each point."""
        f, eps = self.f, self.eps
        eps2 = eps * eps
        u, v = (qx - self.x0) / f, (qy - self.y0) / f
        reach = int(np.ceil(eps / f)) + 1
        out = np.zeros(qx.shape[0])
        base_row = np.floor(v).astype(np.int64)
        for d in range(-reach, reach + 1):
            row = base_row + d
            ok = np.flatnonzero((row >= 0) & (row < self.ny))
            if ok.shape[0] == 0:
                continue
            r, uu, vv = row[ok], u[ok], v[ok]
            # vertical distances (metres) from the point to the row's band [r, r + 1)
            below, above = (r - vv) * f, (r + 1 - vv) * f
            dy_min = np.where(below > 0, below, np.where(above < 0, -above, 0.0))
            dy_max = np.maximum(np.abs(below), np.abs(above))
            outer = np.sqrt(np.maximum(eps2 * (1 + 2e-9) - dy_min * dy_min, 0.0)) / f
            touch = dy_min <= eps * (1 + 1e-9)
            inner_sq = eps2 * (1 - 2e-9) - dy_max * dy_max
            inner = np.sqrt(np.maximum(inner_sq, 0.0)) / f
            has_inner = inner_sq > 0
            co0 = np.clip(np.floor(uu - outer).astype(np.int64), 0, self.nx)
            co1 = np.clip(np.floor(uu + outer).astype(np.int64) + 1, 0, self.nx)
            ci0 = np.clip(np.ceil(uu - inner).astype(np.int64), co0, co1)
            ci1 = np.clip(np.floor(uu + inner).astype(np.int64), ci0, co1)
            ci1 = np.where(has_inner, ci1, ci0)
            co1 = np.where(touch, co1, co0)
            ci0, ci1 = np.minimum(ci0, co1), np.minimum(ci1, co1)
            out[ok] += self._block(ci0, ci1, r, r + 1)
            # the cut cells, left [co0, ci0) and right [ci1, co1): contiguous point ranges
            first = r * self.nx
            for c0, c1 in ((co0, ci0), (ci1, co1)):
                lo, hi = self.start[first + c0], self.start[first + c1]
                cnt = hi - lo
                has = np.flatnonzero(cnt > 0)
                if has.shape[0] == 0:
                    continue
                owners, lo_h, cnt_h = ok[has], lo[has], cnt[has]
                for b in _batches(cnt_h):
                    k, q = _expand(lo_h[b], cnt_h[b])
                    who = owners[b][k]
                    ddx, ddy = self.fx[q] - qx[who], self.fy[q] - qy[who]
                    hit = ddx * ddx + ddy * ddy <= eps2
                    out += np.bincount(who[hit], weights=self.fw[q[hit]],
                                       minlength=out.shape[0])
        return out


class _Neighbours:
    """Finds the 20 neighbour cells of occupied cells: a dense lookup table when the grid is
    not much larger than the number of occupied cells, else binary search over cell keys."""

    def __init__(self, ukey: np.ndarray, stride: int, width: int) -> None:
        self.ukey = ukey
        self.stride = stride
        self.width = width
        n = ukey.shape[0]
        size = width * stride
        self.table: np.ndarray | None = None
        if size <= max(8 * n, 4_000_000):
            self.table = np.full(size + 2 * stride + 3, -1, dtype=np.int64)
            self.table[ukey] = np.arange(n)

    def at(self, cells: np.ndarray, j: int) -> np.ndarray:
        """The neighbour at offset ``j`` of each cell (-1 where that cell is empty)."""
        dx, dy = _OFFSETS[j]
        target = self.ukey[cells] + dx * self.stride + dy
        if self.table is not None:
            return self.table[target]
        idx = np.minimum(np.searchsorted(self.ukey, target), self.ukey.shape[0] - 1)
        return np.where(self.ukey[idx] == target, idx, -1)

    def near(self, cells: np.ndarray) -> np.ndarray:
        """Boolean mask over all cells: the cell is one of ``cells`` or a neighbour of one."""
        mark = np.zeros(self.ukey.shape[0], dtype=bool)
        mark[cells] = True
        for j in range(_OFFSETS.shape[0]):
            other = self.at(cells, j)
            mark[other[other >= 0]] = True
        return mark

    def stencil_sum(self, values: np.ndarray) -> np.ndarray:
        """For each cell, the sum of ``values`` over itself and its 20 neighbours (to within
        floating-point rounding: compare with a tolerance)."""
        if self.table is not None:  # a separable 5 x 5 box filter, minus the 4 corners
            dense = np.zeros(self.width * self.stride)
            dense[self.ukey] = values
            grid = dense.reshape(self.width, self.stride)
            box = uniform_filter1d(uniform_filter1d(grid, 5, axis=1, mode="constant"), 5,
                                   axis=0, mode="constant").ravel()[self.ukey] * 25.0
            s = self.stride
            corners = (dense[self.ukey - 2 * s - 2] + dense[self.ukey - 2 * s + 2]
                       + dense[self.ukey + 2 * s - 2] + dense[self.ukey + 2 * s + 2])
            return np.asarray(box - corners)
        out = values.astype(np.float64).copy()
        padded = np.append(values.astype(np.float64), 0.0)
        every = np.arange(self.ukey.shape[0])
        for j in range(_OFFSETS.shape[0]):
            out += padded[self.at(every, j)]
        return out


def _anchors(x: np.ndarray, y: np.ndarray, start: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Eight extreme points of each group (along x, y and the diagonals, both ways)."""
    group = np.repeat(np.arange(start.shape[0]), count)
    out = np.empty((start.shape[0], 8, 2))
    for k, proj in enumerate((x, y, x + y, x - y, -x, -y, -x - y, y - x)):
        top = np.maximum.reduceat(proj, start)
        at = np.flatnonzero(proj == top[group])
        first = at[np.concatenate([[0], np.flatnonzero(np.diff(group[at])) + 1])]
        out[:, k, 0] = x[first]
        out[:, k, 1] = y[first]
    return out


def _any_pair_within(
    a_start: np.ndarray,
    a_count: np.ndarray,
    b_start: np.ndarray,
    b_count: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    eps2: float,
    *,
    b_x: np.ndarray | None = None,
    b_y: np.ndarray | None = None,
) -> np.ndarray:
    """For each i: is some point of range A_i within eps of some point of range B_i?

    Only the points of A within eps of B's bounding box (and of B within eps of A's) can
    be in such a pair, so each side is filtered first and the pairs formed from the rest.
    Ranges are taken a batch at a time, so memory stays bounded however dense the points.
    """
    result = np.zeros(a_start.shape[0], dtype=bool)
    for sl in _batches(a_count + b_count):
        result[sl] = _any_pair_within_batch(a_start[sl], a_count[sl], b_start[sl], b_count[sl],
                                            x, y, eps2, b_x=b_x, b_y=b_y)
    return result


def _any_pair_within_batch(
    a_start: np.ndarray,
    a_count: np.ndarray,
    b_start: np.ndarray,
    b_count: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    eps2: float,
    *,
    b_x: np.ndarray | None = None,
    b_y: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`_any_pair_within` for one batch of ranges."""
    bx = x if b_x is None else b_x
    by = y if b_y is None else b_y
    m = a_start.shape[0]
    result = np.zeros(m, dtype=bool)
    if m == 0:
        return result
    a_box = _boxes(a_start, a_count, x, y)
    b_box = _boxes(b_start, b_count, bx, by)
    pa, qa = _near_box(a_start, a_count, x, y, b_box, eps2)
    pb, qb = _near_box(b_start, b_count, bx, by, a_box, eps2)
    # group the kept points by pair: both lists are ordered by pair already
    na = np.bincount(pa, minlength=m)
    nb_ = np.bincount(pb, minlength=m)
    a_first = np.concatenate([[0], np.cumsum(na)[:-1]])
    b_first = np.concatenate([[0], np.cumsum(nb_)[:-1]])
    sizes = na * nb_
    for sl in _batches(sizes):
        owner, ka = _expand(a_first[sl], na[sl])  # each kept A point of the batch
        k, rb = _expand(np.zeros_like(ka), nb_[sl][owner])
        pair = owner[k]
        ia = qa[ka[k]]
        ib = qb[b_first[sl][pair] + rb]
        dx, dy = x[ia] - bx[ib], y[ia] - by[ib]
        hit = dx * dx + dy * dy <= eps2
        res = np.zeros(sizes[sl].shape[0], dtype=bool)
        res[pair[hit]] = True
        result[sl] = res
    return result


def _boxes(start: np.ndarray, count: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Bounding boxes (minx, miny, maxx, maxy) of point ranges."""
    owner, item = _expand(start, count)
    box = np.empty((start.shape[0], 4))
    box[:, 0] = np.minimum.reduceat(x[item], np.concatenate([[0], np.cumsum(count)[:-1]]))
    box[:, 1] = np.minimum.reduceat(y[item], np.concatenate([[0], np.cumsum(count)[:-1]]))
    box[:, 2] = np.maximum.reduceat(x[item], np.concatenate([[0], np.cumsum(count)[:-1]]))
    box[:, 3] = np.maximum.reduceat(y[item], np.concatenate([[0], np.cumsum(count)[:-1]]))
    del owner
    return box


def _near_box(
    start: np.ndarray, count: np.ndarray, x: np.ndarray, y: np.ndarray, box: np.ndarray,
    eps2: float,
) -> tuple[np.ndarray, np.ndarray]:
    """The points of each range within eps of the range's box: (range index, point index)."""
    owner, item = _expand(start, count)
    b = box[owner]
    gx = np.maximum(np.maximum(b[:, 0] - x[item], x[item] - b[:, 2]), 0.0)
    gy = np.maximum(np.maximum(b[:, 1] - y[item], y[item] - b[:, 3]), 0.0)
    keep = gx * gx + gy * gy <= eps2 * (1 + 1e-9)
    return owner[keep], item[keep]
