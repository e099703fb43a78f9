"""Distance tests of :func:`hotspot._griddbscan.grid_dbscan`: from a point to the cells around
it, between boxes, and "is some point of range A within eps of some point of range B".

Distances are in the units of the points (metres in a projected CRS) and compared squared.
"""

from __future__ import annotations

import numpy as np

from hotspot._gridcells import batches, expand_ranges

ANCHOR_DIRECTIONS = np.array(
    [(1, 0), (0, 1), (1, 1), (1, -1), (-1, 0), (0, -1), (-1, -1), (-1, 1)]
)
"""The directions of the eight extreme points of :func:`anchors`, in its order."""


def axis_distances(f: np.ndarray, side: float) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
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


def box_distances(
    a: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Squared nearest and farthest distances between boxes given as (n, 4) minx,miny,maxx,maxy."""
    gx = np.maximum(np.maximum(b[:, 0] - a[:, 2], a[:, 0] - b[:, 2]), 0.0)
    gy = np.maximum(np.maximum(b[:, 1] - a[:, 3], a[:, 1] - b[:, 3]), 0.0)
    fx = np.maximum(a[:, 2] - b[:, 0], b[:, 2] - a[:, 0])
    fy = np.maximum(a[:, 3] - b[:, 1], b[:, 3] - a[:, 1])
    return gx * gx + gy * gy, fx * fx + fy * fy


def anchors(x: np.ndarray, y: np.ndarray, start: np.ndarray, count: np.ndarray) -> np.ndarray:
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


def any_pair_within(
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

    Ranges index ``x``, ``y`` (B's index ``b_x``, ``b_y`` when given); ``eps2`` is eps squared.
    Only the points of A within eps of B's bounding box (and of B within eps of A's) can
    be in such a pair, so each side is filtered first and the pairs formed from the rest.
    Ranges are taken a batch at a time, so memory stays bounded however dense the points.
    """
    result = np.zeros(a_start.shape[0], dtype=bool)
    for batch in batches(a_count + b_count):
        result[batch] = _any_pair_within_batch(
            a_start[batch], a_count[batch], b_start[batch], b_count[batch], x, y, eps2,
            b_x=b_x, b_y=b_y)
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
    """:func:`any_pair_within` for one batch of ranges."""
    bx = x if b_x is None else b_x
    by = y if b_y is None else b_y
    m = a_start.shape[0]
    result = np.zeros(m, dtype=bool)
    if m == 0:
        return result
    a_box = _range_boxes(a_start, a_count, x, y)
    b_box = _range_boxes(b_start, b_count, bx, by)
    a_range, a_point = _near_box(a_start, a_count, x, y, b_box, eps2)
    b_range, b_point = _near_box(b_start, b_count, bx, by, a_box, eps2)
    # group the kept points by pair: both lists are ordered by pair already
    a_kept = np.bincount(a_range, minlength=m)
    b_kept = np.bincount(b_range, minlength=m)
    a_first = np.concatenate([[0], np.cumsum(a_kept)[:-1]])
    b_first = np.concatenate([[0], np.cumsum(b_kept)[:-1]])
    sizes = a_kept * b_kept
    for batch in batches(sizes):
        owner, ka = expand_ranges(a_first[batch], a_kept[batch])  # each kept A point of it
        k, rb = expand_ranges(np.zeros_like(ka), b_kept[batch][owner])
        pair = owner[k]
        ia = a_point[ka[k]]
        ib = b_point[b_first[batch][pair] + rb]
        dx, dy = x[ia] - bx[ib], y[ia] - by[ib]
        hit = dx * dx + dy * dy <= eps2
        found = np.zeros(sizes[batch].shape[0], dtype=bool)
        found[pair[hit]] = True
        result[batch] = found
    return result


def _range_boxes(start: np.ndarray, count: np.ndarray, x: np.ndarray, y: np.ndarray
                 ) -> np.ndarray:
    """Bounding boxes (minx, miny, maxx, maxy) of point ranges."""
    _owner, item = expand_ranges(start, count)
    box = np.empty((start.shape[0], 4))
    box[:, 0] = np.minimum.reduceat(x[item], np.concatenate([[0], np.cumsum(count)[:-1]]))
    box[:, 1] = np.minimum.reduceat(y[item], np.concatenate([[0], np.cumsum(count)[:-1]]))
    box[:, 2] = np.maximum.reduceat(x[item], np.concatenate([[0], np.cumsum(count)[:-1]]))
    box[:, 3] = np.maximum.reduceat(y[item], np.concatenate([[0], np.cumsum(count)[:-1]]))
    return box


def _near_box(
    start: np.ndarray, count: np.ndarray, x: np.ndarray, y: np.ndarray, box: np.ndarray,
    eps2: float,
) -> tuple[np.ndarray, np.ndarray]:
    """The points of each range within eps of the range's box: (range index, point index)."""
    owner, item = expand_ranges(start, count)
    b = box[owner]
    gx = np.maximum(np.maximum(b[:, 0] - x[item], x[item] - b[:, 2]), 0.0)
    gy = np.maximum(np.maximum(b[:, 1] - y[item], y[item] - b[:, 3]), 0.0)
    keep = gx * gx + gy * gy <= eps2 * (1 + 1e-9)
    return owner[keep], item[keep]
