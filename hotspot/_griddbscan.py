"""Exact DBSCAN in the plane on a grid, with point weights, in numpy (or compiled, for many
points, when numba is installed).

The grid has cells of side ``eps / sqrt(2)``, so any two points of one cell are within ``eps``
of each other. That gives three shortcuts that keep the work close to one pass over the points:

1. **Core points.** A point is core when the weight within ``eps`` of it (itself included)
   reaches its threshold. A cell whose own weight reaches the threshold makes all its points
   core. Otherwise each of the 24 cells that can hold neighbours is classed against the point
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

The steps are the functions below, in order: :func:`_bin_points` (points sorted by cell),
:func:`_find_core_points`, :func:`_connect_core_cells` and :func:`_number_clusters`, and
:func:`_label_points` (core, then border points). The cells and their neighbours are in
:mod:`hotspot._gridcells`, the distance tests in :mod:`hotspot._gridpairs`, the fine raster in
:mod:`hotspot._gridraster`.

From ``_NATIVE_FROM`` points on, when numba is installed, the same grid and the same tests run
as compiled loops instead (:mod:`hotspot._gridnative`, via :func:`_cluster_natively`): a point
stops counting as soon as its threshold is reached or out of reach, and union-find never
compares two cells already in one cluster, which is what the dense case (a fixed threshold
the background reaches, one cluster over the whole area) needs. The results are the same
point for point (tests compare both with scikit-learn, all pairs and each other). The first
call in a process pays numba's start-up (import and loading the code cached on disk), so
small inputs stay with numpy.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass
from types import ModuleType

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from hotspot._gridcells import (
    FORWARD,
    NEIGHBOUR_OFFSETS,
    Neighbours,
    batches,
    expand_ranges,
    radix_order,
)
from hotspot._gridpairs import (
    ANCHOR_DIRECTIONS,
    anchors,
    any_pair_within,
    axis_distances,
    box_distances,
)
from hotspot._gridraster import WeightRaster
from hotspot._native import native_steps
from hotspot._threads import run_each, threads

_RASTER_FROM = 20_000
"""Undecided points from which a fine raster (:class:`WeightRaster`) is worth building."""
_CHUNK = 65_536
"""About how many undecided points are tested for core at once."""
_NATIVE_FROM = 50_000
"""Points from which the compiled steps (:mod:`hotspot._gridnative`) are used, when numba is
installed: below, importing numba and loading its cached code costs more than it saves."""
NATIVE_FROM = _NATIVE_FROM
"""The same, public: a service decides from it whether to load the compiled steps at start."""


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
    reach = _Reach.of(eps, float(np.abs(xy).max()))
    native = native_steps() if n >= _NATIVE_FROM else None
    grid = _bin_points(xy, reach.cell_side, threshold, weights, native)
    if native is not None:
        order, core, labels[order] = _cluster_natively(native, grid, reach)
        core_out[order] = core
        return labels, core_out
    core = _find_core_points(grid, reach)
    if core.any():
        groups = _group_core_points(grid, core)
        component = _connect_core_cells(grid, groups, reach)
        cluster_of_group = _number_clusters(grid, groups, component)
        labels[grid.order] = _label_points(grid, core, groups, cluster_of_group, reach)
    core_out[grid.order] = core
    return labels, core_out


@dataclass(frozen=True)
class _Reach:
    """The radius eps and the squared distances it is compared with."""

    eps: float
    squared: float
    """eps * eps: two points are neighbours when ``dx*dx + dy*dy <= squared``."""
    surely_within: float
    """A squared farthest distance at most this is within eps whatever the rounding."""
    maybe_within: float
    """A squared nearest distance above this is beyond eps whatever the rounding."""
    slack: float = 0.0
    """Metres by which the rounding of coordinates as large as the points' may move a point
    or a cell's corner (a few units in the last place of the largest coordinate)."""

    @classmethod
    def of(cls, eps: float, scale: float = 0.0) -> _Reach:
        """The reach of ``eps`` for points whose coordinates are at most ``scale`` in size
        (metres): a cell's square, placed from its grid position, and a point binned into it
        may be off by :attr:`slack`, so the squares' distances are compared with that much
        room (as well as a relative 1e-9 for the distances' own rounding)."""
        eps = float(eps)
        eps2 = eps * eps
        slack = float(16 * np.finfo(np.float64).eps / 2 * scale)
        inner = max(eps - slack, 0.0)
        return cls(eps, eps2, inner * inner * (1 - 1e-9), (eps + slack) ** 2 * (1 + 1e-9),
                   slack)

    @property
    def cell_side(self) -> float:
        """Side of the grid's cells: any two points of one cell are within eps, however the
        rounding of their coordinates (:attr:`slack`) has binned them."""
        return float(max(self.eps - 2 * self.slack, self.eps / 2) / np.sqrt(2.0)
                     * (1 - 1e-12))


@dataclass
class _Grid:
    """The points sorted by cell, and the occupied cells as ranges of them."""

    order: np.ndarray
    """Input index of each sorted point."""
    x: np.ndarray
    y: np.ndarray
    weight: np.ndarray
    threshold: np.ndarray
    """One threshold for all (0-d) or one per sorted point."""
    one_threshold: bool
    start: np.ndarray
    """First sorted point of each cell."""
    count: np.ndarray
    """Points in each cell."""
    cell: np.ndarray
    """Cell of each sorted point."""
    cell_weight: np.ndarray
    corner_x: np.ndarray
    """West edge of each cell."""
    corner_y: np.ndarray
    """South edge of each cell."""
    neighbours: Neighbours

    def threshold_of(self, points: np.ndarray) -> np.ndarray:
        """The core threshold of some sorted points (0-d when one for all)."""
        return self.threshold if self.one_threshold else self.threshold[points]


def _bin_points(xy: np.ndarray, side: float, threshold: float | np.ndarray,
                weights: np.ndarray | None, native: ModuleType | None = None) -> _Grid:
    """Sort the points by cell of side ``side`` (two cells of margin on each side); with
    the compiled steps, by counting when the grid is not much larger than the points."""
    n = xy.shape[0]
    unweighted = weights is None
    w_in = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    one_threshold = np.ndim(threshold) == 0
    t_in = np.asarray(threshold, dtype=np.float64)
    if not one_threshold:
        t_in = np.broadcast_to(t_in, (n,))
    x0, y0 = xy[:, 0].min(), xy[:, 1].min()
    column = np.floor((xy[:, 0] - x0) / side).astype(np.int64) + 2
    row = np.floor((xy[:, 1] - y0) / side).astype(np.int64) + 2
    stride = int(row.max()) + 3
    key = column * stride + row
    size = (int(column.max()) + 3) * stride
    if native is not None and size <= max(8 * n, 4_000_000):
        order = native.counting_order(key, size)
    else:
        order = radix_order(key)
    key = key[order]
    weight = w_in if unweighted else w_in[order]
    start = np.concatenate([[0], np.flatnonzero(np.diff(key)) + 1])
    count = np.diff(np.concatenate([start, [n]]))
    cell_key = key[start]
    return _Grid(
        order=order, x=np.take(xy[:, 0], order), y=np.take(xy[:, 1], order), weight=weight,
        threshold=t_in if one_threshold else t_in[order], one_threshold=one_threshold,
        start=start, count=count, cell=np.repeat(np.arange(cell_key.shape[0]), count),
        cell_weight=count.astype(np.float64) if unweighted else np.add.reduceat(weight, start),
        corner_x=x0 + (cell_key // stride - 2) * side,
        corner_y=y0 + (cell_key % stride - 2) * side,
        neighbours=Neighbours(cell_key, stride, size // stride),
    )


# -- compiled steps (numba), for large inputs ----------------------------------------------------


def warm_up_compiled() -> bool:
    """Load the compiled steps now (compiling and caching them on disk the first time, some
    seconds), so that the first large analysis of a process does not wait for them: DBSCAN's,
    KDE's binning, the point-in-polygon grid's edges and lookup, the hotspot table's passes
    and the places' loops (which every split uses once a process has loaded numba), each with
    the argument types the analyses pass. For a service to call at start-up. False when
    numba is not installed (nothing to load)."""
    native = native_steps()
    if native is None:
        return False
    xy = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [50.0, 50.0]])
    reach = _Reach.of(2.0)
    _cluster_natively(native, _bin_points(xy, reach.cell_side, 2.0, None, native), reach)
    native.linear_binning(xy, np.ones(4), 0.0, 60.0, 5.0, 12, 12)
    native.locate_cells(xy, 0.0, 0.0, 10.0, 8, 8, 1, 8, np.zeros(64, dtype=np.int32),
                        np.zeros(1, dtype=np.int32))
    one = np.zeros(1, dtype=np.int64)
    native.mark_edge_cells(xy, np.zeros(4, dtype=np.int64), -10.0, -10.0, 100.0, one, one, one,
                           one, one, one + 1, np.zeros(1, dtype=bool), 100)
    labels = np.array([0, -1, 0, 1])  # the hotspot table's passes, its columns read-only (as
    columns = np.ascontiguousarray(xy.T)  # pandas' to_numpy gives them)
    columns.flags.writeable = False
    native.label_sums(labels, 2, columns[0], columns[1], columns[0], columns[1], True)
    native.label_time_ranges(labels, 2, np.arange(4), np.zeros(4, dtype=np.int64), 2, 0)
    native.label_value_tally(labels, labels, np.ones(2, dtype=bool), 2, 4)
    stored = np.arange(4)  # times as pandas gives a column (read-only), or made from dates
    stored.flags.writeable = False
    for weights in (np.ones(4), columns[0]):  # the hotspots' classes: weights of 1, or harm
        native.pair_sums(labels, labels, weights, 2, 4)
        for times in (stored, np.arange(4)):
            native.recent_sums(labels, weights, times, 1.5, 2)
    from hotspot.places import warm_up_places  # not at the top: places' grid imports kde

    warm_up_places(native)
    return True


def _cluster_natively(native: ModuleType, grid: _Grid,
                      reach: _Reach) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Core mask and labels of the points by the compiled steps: the points of the cells
    looked into by sub-cell sorted by sub-cell (in place: ``grid`` is this call's own),
    core points, cells joined by union-find, clusters numbered by their first core point in
    the input, then the border points. Returns the input index of each point in that order
    (``grid.order``, re-sorted within cells), its core flag and label."""
    nb = grid.neighbours
    table = nb.table if nb.table is not None else np.empty(0, dtype=np.int64)
    near = native.neighbour_cells(nb.keys, nb.stride, table, native.OFFSETS)
    cells = (grid.start, grid.count)
    threshold = np.ascontiguousarray(np.atleast_1d(grid.threshold), dtype=np.float64)
    sub_start, sub_weight, slot = native.sub_cells(  # the grid's points re-sorted in place
        grid.x, grid.y, grid.weight, threshold, grid.order, *cells, grid.cell_weight, near,
        grid.corner_x, grid.corner_y, reach.cell_side, native.SUB)
    core = np.zeros(grid.x.shape[0], dtype=bool)

    def core_of(cells_from: int, cells_to: int) -> None:
        native.core_points(
            grid.x, grid.y, grid.weight, threshold, *cells, grid.cell_weight, sub_start,
            sub_weight, slot, native.SUB, grid.corner_x, grid.corner_y, near, native.OFFSETS,
            native.NEAREST_FIRST, reach.cell_side, reach.squared, reach.surely_within,
            reach.maybe_within, core, cells_from, cells_to)

    run_each([functools.partial(core_of, a, b) for a, b in _cell_ranges(grid)])
    root = native.link_core_cells(grid.x, grid.y, core, *cells, near, native.FORWARD,
                                  reach.squared, reach.surely_within, reach.maybe_within)
    first = native.first_core_of_roots(root, core, *cells, grid.order)
    roots = np.flatnonzero(root == np.arange(root.shape[0]))
    cluster = np.full(root.shape[0], -1, dtype=np.int64)
    cluster[roots[np.argsort(first[roots], kind="stable")]] = np.arange(roots.shape[0])
    cell_label = np.where(root >= 0, cluster[np.maximum(root, 0)], -1)
    labels = native.label_border_points(
        grid.x, grid.y, core, cell_label, *cells, grid.corner_x, grid.corner_y, near,
        native.OFFSETS, reach.cell_side, reach.squared, reach.maybe_within)
    return grid.order, core, labels


def _cell_ranges(grid: _Grid) -> list[tuple[int, int]]:
    """The cells cut into consecutive ranges of about equal numbers of points, for threads
    to take one at a time: a few per thread (the work per point varies across the area), and
    none under about ``_CHUNK`` points."""
    n, cells = grid.x.shape[0], grid.start.shape[0]
    parts = min(4 * threads(), max(1, n // _CHUNK)) if threads() > 1 else 1
    bounds = np.searchsorted(grid.start, np.linspace(0, n, parts + 1)[1:-1])
    edges = np.unique(np.concatenate([[0], bounds, [cells]])).tolist()
    return list(itertools.pairwise(edges))


# -- core points ------------------------------------------------------------------------------


def _find_core_points(grid: _Grid, reach: _Reach) -> np.ndarray:
    """Core mask of the sorted points: whole cells heavy enough, then the undecided points
    on the fine raster (many of them) or against the cells around them."""
    core = grid.cell_weight[grid.cell] >= grid.threshold
    undecided = _undecided_points(grid, core)
    raster = (WeightRaster.build(grid.x, grid.y, grid.weight, reach.eps)
              if undecided.shape[0] >= _RASTER_FROM else None)
    for part in np.array_split(undecided, max(1, undecided.shape[0] // _CHUNK)):
        if part.shape[0] == 0:
            continue
        if raster is not None:
            _core_on_raster(grid, raster, part, core)
        else:
            core[part] = _core_from_neighbour_cells(grid, part, reach)
    return core


def _undecided_points(grid: _Grid, core: np.ndarray) -> np.ndarray:
    """Points not core by their own cell, in a cell whose 25-cell neighbourhood could still
    reach the threshold (one weighing less than every threshold in it has no core point)."""
    around = grid.neighbours.stencil_sum(grid.cell_weight)
    lowest = (grid.threshold if grid.one_threshold
              else np.minimum.reduceat(grid.threshold, grid.start))
    hopeless = around < lowest - 1e-6 * np.maximum(1.0, lowest)  # rounding never makes one
    return np.flatnonzero(~core & ~hopeless[grid.cell])


def _core_on_raster(grid: _Grid, raster: WeightRaster, part: np.ndarray,
                    core: np.ndarray) -> None:
    """Mark the core points of ``part``: by the raster's bounds, exactly where they straddle
    the threshold."""
    threshold = grid.threshold_of(part)
    lower, upper = raster.bounds(grid.x[part], grid.y[part])
    sure = lower >= threshold
    core[part[sure]] = True
    rest = np.flatnonzero(~sure & (upper >= threshold))
    if rest.shape[0]:
        rest_threshold = threshold if grid.one_threshold else threshold[rest]
        core[part[rest]] = raster.exact(grid.x[part[rest]], grid.y[part[rest]]) >= rest_threshold


def _core_from_neighbour_cells(grid: _Grid, part: np.ndarray, reach: _Reach) -> np.ndarray:
    """Core or not, for the points ``part``: the weight of the neighbour cells wholly within
    eps, and the points of the cells the circle cuts for the points still undecided."""
    threshold = grid.threshold_of(part)
    within, upper, cut_owner, cut_cell = _weight_of_neighbour_cells(grid, part, reach)
    decided = (within >= threshold) | (upper < threshold)
    keep = ~decided[cut_owner]
    _add_weight_in_cut_cells(grid, part, cut_owner[keep], cut_cell[keep], reach.squared,
                             within)
    return np.asarray(within >= threshold)


def _weight_of_neighbour_cells(
    grid: _Grid, part: np.ndarray, reach: _Reach
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For each point of ``part``: the weight surely within eps (its own cell and the
    neighbour cells wholly within eps), an upper bound (those and the cells the circle cuts),
    and the cut cells as pairs (position in ``part``, cell)."""
    cell = grid.cell[part]
    weight_of = np.append(grid.cell_weight, 0.0)  # index -1 (no cell) weighs nothing
    # squared nearest and farthest distances along each axis to the cells 2 left to 2 right,
    # from the position inside the own cell, in [0, side)
    near_x, far_x = axis_distances(grid.x[part] - grid.corner_x[cell], reach.cell_side)
    near_y, far_y = axis_distances(grid.y[part] - grid.corner_y[cell], reach.cell_side)
    within = grid.cell_weight[cell].copy()
    upper = within.copy()
    cut_owner: list[np.ndarray] = []
    cut_cell: list[np.ndarray] = []
    for j, (dx, dy) in enumerate(NEIGHBOUR_OFFSETS.tolist()):
        other = grid.neighbours.at(cell, j)
        weight = weight_of[other]
        whole = far_x[dx] + far_y[dy] <= reach.surely_within
        cut = ~whole & (near_x[dx] + near_y[dy] <= reach.maybe_within) & (weight > 0)
        within += weight * whole
        upper += weight * (whole | cut)
        sel = np.flatnonzero(cut)
        cut_owner.append(sel)
        cut_cell.append(other[sel])
    return within, upper, np.concatenate(cut_owner), np.concatenate(cut_cell)


def _add_weight_in_cut_cells(grid: _Grid, part: np.ndarray, owner: np.ndarray,
                             cell: np.ndarray, eps2: float, within: np.ndarray) -> None:
    """Add to ``within`` the weight of the points of each cut cell within eps of its owner
    point, pair by pair (in bounded batches)."""
    qx, qy = grid.x[part], grid.y[part]
    for batch in batches(grid.count[cell]):
        k, q = expand_ranges(grid.start[cell[batch]], grid.count[cell[batch]])
        who = owner[batch][k]
        ddx, ddy = grid.x[q] - qx[who], grid.y[q] - qy[who]
        hit = ddx * ddx + ddy * ddy <= eps2
        within += np.bincount(who[hit], weights=grid.weight[q[hit]], minlength=part.shape[0])


# -- clusters of core points: connected cells ---------------------------------------------------


@dataclass
class _CoreGroups:
    """The core points grouped by cell (one group per cell holding core points)."""

    points: np.ndarray
    """Sorted index of each core point, group by group."""
    start: np.ndarray
    """First core point (into ``points``) of each group."""
    count: np.ndarray
    cell: np.ndarray
    """Grid cell of each group."""
    group_of_cell: np.ndarray
    """Group of each grid cell (-1: no core point)."""
    x: np.ndarray
    y: np.ndarray
    box: np.ndarray
    """Bounding box of each group's core points (minx, miny, maxx, maxy)."""


def _group_core_points(grid: _Grid, core: np.ndarray) -> _CoreGroups:
    points = np.flatnonzero(core)
    cell_of_core = grid.cell[points]
    start = np.concatenate([[0], np.flatnonzero(np.diff(cell_of_core)) + 1])
    count = np.diff(np.concatenate([start, [points.shape[0]]]))
    cell = cell_of_core[start]
    group_of_cell = np.full(grid.start.shape[0], -1, dtype=np.int64)
    group_of_cell[cell] = np.arange(cell.shape[0])
    x, y = grid.x[points], grid.y[points]
    box = np.column_stack([
        np.minimum.reduceat(x, start), np.minimum.reduceat(y, start),
        np.maximum.reduceat(x, start), np.maximum.reduceat(y, start),
    ])
    return _CoreGroups(points, start, count, cell, group_of_cell, x, y, box)


def _connect_core_cells(grid: _Grid, groups: _CoreGroups, reach: _Reach) -> np.ndarray:
    """Connected component of each group: neighbour groups are linked when some pair of
    their core points is within eps (by their boxes, their extreme points, then all pairs)."""
    extreme = anchors(groups.x, groups.y, groups.start, groups.count)
    links_a: list[np.ndarray] = []
    links_b: list[np.ndarray] = []
    open_a: list[np.ndarray] = []
    open_b: list[np.ndarray] = []
    for j in np.flatnonzero(FORWARD).tolist():
        other = grid.neighbours.at(groups.cell, j)
        ok = np.flatnonzero((other >= 0) & (groups.group_of_cell[np.maximum(other, 0)] >= 0))
        a, b = ok, groups.group_of_cell[other[ok]]
        linked, undecided = _link_by_boxes_and_anchors(groups.box, extreme, a, b, j, reach)
        open_a.append(a[undecided])
        open_b.append(b[undecided])
        links_a.append(a[linked])
        links_b.append(b[linked])
    pending_a, pending_b = np.concatenate(open_a), np.concatenate(open_b)
    if pending_a.shape[0]:  # decided here, all offsets at once
        hit = any_pair_within(groups.start[pending_a], groups.count[pending_a],
                              groups.start[pending_b], groups.count[pending_b], groups.x,
                              groups.y, reach.squared)
        links_a.append(pending_a[hit])
        links_b.append(pending_b[hit])
    m = groups.cell.shape[0]
    link_a, link_b = np.concatenate(links_a), np.concatenate(links_b)
    graph = coo_matrix((np.ones(link_a.shape[0], dtype=np.int8), (link_a, link_b)),
                       shape=(m, m))
    _n, component = connected_components(graph, directed=False)
    return np.asarray(component)


def _link_by_boxes_and_anchors(
    box: np.ndarray, extreme: np.ndarray, a: np.ndarray, b: np.ndarray, j: int, reach: _Reach
) -> tuple[np.ndarray, np.ndarray]:
    """For the pairs of groups ``a[i]``, ``b[i]`` (``b`` at offset ``j`` of ``a``): linked
    (mask), and the positions still undecided (to compare point by point)."""
    near, far = box_distances(box[a], box[b])
    linked = far <= reach.surely_within
    maybe = ~linked & (near <= reach.maybe_within)
    if not maybe.any():
        return linked, np.empty(0, dtype=np.int64)
    ia, ib = a[maybe], b[maybe]
    # only the extreme points facing the other cell can be the near ones
    dx, dy = NEIGHBOUR_OFFSETS[j]
    facing = ANCHOR_DIRECTIONS @ np.array([dx, dy])
    fa, fb = np.flatnonzero(facing > 0), np.flatnonzero(facing < 0)
    ax, ay = extreme[ia][:, fa, 0][:, :, None], extreme[ia][:, fa, 1][:, :, None]
    bx, by = extreme[ib][:, fb, 0][:, None, :], extreme[ib][:, fb, 1][:, None, :]
    by_anchor = ((ax - bx) ** 2 + (ay - by) ** 2 <= reach.squared).any(axis=(1, 2))
    sub = np.flatnonzero(maybe)
    linked[sub[by_anchor]] = True
    return linked, sub[~by_anchor]


def _number_clusters(grid: _Grid, groups: _CoreGroups, component: np.ndarray) -> np.ndarray:
    """Cluster of each group: the components numbered in the order of their first core point
    in the input, as scikit-learn numbers them."""
    component_of_core = component[np.repeat(np.arange(groups.cell.shape[0]), groups.count)]
    first = np.full(component.max() + 1, grid.order.shape[0], dtype=np.int64)
    np.minimum.at(first, component_of_core, grid.order[groups.points])
    rank = np.empty_like(first)
    rank[np.argsort(first, kind="stable")] = np.arange(first.shape[0])
    return np.asarray(rank[component])


# -- labels of the core and border points ------------------------------------------------------


def _label_points(grid: _Grid, core: np.ndarray, groups: _CoreGroups,
                  cluster_of_group: np.ndarray, reach: _Reach) -> np.ndarray:
    """Label of each sorted point: a core point its group's cluster; a border point the
    cluster of a core point within eps, its own cell's, else the first neighbour cell (in
    offset order) holding one; -1 for noise."""
    labels = np.full(grid.order.shape[0], -1, dtype=np.int64)
    labels[groups.points] = cluster_of_group[np.repeat(np.arange(groups.cell.shape[0]),
                                                       groups.count)]
    cell_label = np.full(grid.start.shape[0], -1, dtype=np.int64)
    cell_label[groups.cell] = cluster_of_group
    border = np.flatnonzero(~core)
    own = cell_label[grid.cell[border]]
    labels[border] = own
    left = border[own < 0]
    left = left[grid.neighbours.near(groups.cell)[grid.cell[left]]]  # some core cell in reach
    if left.shape[0] == 0:
        return labels
    owner, group = _neighbour_groups(grid, groups, left)
    found = _group_within(grid, groups, left[owner], group, reach)
    hit = np.flatnonzero(found)  # in offset order within each point: the first one wins
    first = hit[np.unique(owner[hit], return_index=True)[1]]
    labels[left[owner[first]]] = cell_label[groups.cell[group[first]]]
    return labels


def _neighbour_groups(grid: _Grid, groups: _CoreGroups,
                      points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every (position in ``points``, neighbour group) pair, offset by offset."""
    cell = grid.cell[points]
    owner_parts, group_parts = [], []
    for j in range(NEIGHBOUR_OFFSETS.shape[0]):
        other = grid.neighbours.at(cell, j)
        group = np.where(other >= 0, groups.group_of_cell[np.maximum(other, 0)], -1)
        has = np.flatnonzero(group >= 0)
        owner_parts.append(has)
        group_parts.append(group[has])
    return np.concatenate(owner_parts), np.concatenate(group_parts)


def _group_within(grid: _Grid, groups: _CoreGroups, points: np.ndarray, group: np.ndarray,
                  reach: _Reach) -> np.ndarray:
    """For each i: is some core point of ``group[i]`` within eps of point ``points[i]``?"""
    px, py = grid.x[points], grid.y[points]
    near, far = box_distances(np.column_stack([px, py, px, py]), groups.box[group])
    found = far <= reach.surely_within
    check = np.flatnonzero(~found & (near <= reach.maybe_within))
    if check.shape[0]:
        found[check] = any_pair_within(
            points[check], np.ones(check.shape[0], dtype=np.int64), groups.start[group[check]],
            groups.count[group[check]], grid.x, grid.y, reach.squared, b_x=groups.x,
            b_y=groups.y,
        )
    return np.asarray(found)
