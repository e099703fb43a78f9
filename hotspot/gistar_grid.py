"""The grid and the statistic under Gi* (shared by :mod:`hotspot.gistar` and
:mod:`hotspot.emerging`): the grid laid over the study area, each study cell's binary
neighbourhood, and the Gi* z-score with its p-values.

The rules (study area, neighbourhood, p-values) are in :mod:`hotspot.gistar`'s docstring.
Coordinates are metres in a projected CRS; grids are ``[row, col]`` with row 0 at the north.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from scipy.ndimage import correlate
from scipy.spatial import cKDTree
from scipy.special import ndtr, pdtr, pdtrc

from hotspot._numeric import fftconvolve, xy_bounds
from hotspot.errors import InvalidParameter, WorkLimitExceeded

P_VALUES = ("normal", "poisson", "empirical")
"""How p-values are computed: Gi*'s normal approximation, an exact Poisson test, or the exact
law of a sum of W_i cells drawn from the grid's own counts."""
DEFAULT_BAND_CELLS = 1.5
"""Default distance band, in cells: the 3 x 3 block (8 neighbours and the cell)."""
_FFT_ABOVE = 121
"""Discs of more cells than this (radius > ~6 cells) are summed by FFT, smaller ones directly."""


class CellGrid:
    """Cells of a square grid: ``origin`` (west, north edges, metres), ``cell_size_m`` and
    ``shape`` (rows, columns), row 0 at the north edge; shared by :class:`GiStarGrid` and
    :class:`hotspot.emerging.EmergingGrid`."""

    origin: tuple[float, float]
    cell_size_m: float
    shape: tuple[int, int]

    def cell_of(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row, col) of the cell holding each point; (-1, -1) for points off the grid."""
        return locate_cells(np.asarray(xy, dtype=np.float64), self.origin, self.cell_size_m,
                        self.shape)

    def cell_polygons(self, mask: np.ndarray) -> np.ndarray:
        """Square polygons (shapely, metres) of the cells where ``mask`` is True, row-major."""
        rr, cc = np.nonzero(mask)
        return cell_boxes(rr, cc, self.origin, self.cell_size_m)


def check_points(xy: Any, weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """The (n, 2) float coordinates (metres) and the weights (1 each by default), checked."""
    xy = np.asarray(xy, dtype=np.float64)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise InvalidParameter(f"xy must be an (n, 2) array of metres, not shape {xy.shape}",
                               parameter="xy")
    if not np.isfinite(xy).all():
        raise InvalidParameter("some coordinates are NaN or infinite", parameter="xy")
    n = xy.shape[0]
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (n,) or not np.isfinite(w).all() or (w < 0).any():
        raise InvalidParameter("weights must be one finite number >= 0 per incident",
                               parameter="weights")
    return xy, w


def check_p_values(p_values: str, weights: np.ndarray | None) -> None:
    """Raise :class:`InvalidParameter` for an unknown ``p_values``, or weights with an exact
    test (those count incidents)."""
    if p_values not in P_VALUES:
        raise InvalidParameter(f"p_values must be one of {', '.join(P_VALUES)}, not "
                               f"{p_values!r}", parameter="p_values")
    if p_values != "normal" and weights is not None:
        raise InvalidParameter(f"p_values={p_values!r} tests incident counts: it takes no "
                               "weights (use 'normal' with harm)", parameter="p_values")


@dataclass(frozen=True)
class Layout:
    """A grid laid out: ``origin`` (west, north edges, metres), ``cell`` side (metres),
    ``shape`` (rows, columns), the study cells, and the distance band (None with k)."""

    origin: tuple[float, float]
    cell: float
    shape: tuple[int, int]
    in_study: np.ndarray
    distance_m: float | None

    def cells(self, xy: np.ndarray) -> np.ndarray:
        """Flat index of each point's study cell, -1 off the grid or outside the study (the
        cells of :func:`locate_cells`, the points off it left out before the index is made:
        half its time for the 10^6 incidents of an emerging cube)."""
        rows, cols = self.shape
        col = np.floor((xy[:, 0] - self.origin[0]) / self.cell)
        row = np.floor((self.origin[1] - xy[:, 1]) / self.cell)
        on = (col >= 0) & (col < cols) & (row >= 0) & (row < rows)
        flat = np.full(xy.shape[0], -1, dtype=np.int64)
        cell = (row[on] * cols + col[on]).astype(np.int64)
        flat[on] = np.where(self.in_study.ravel()[cell], cell, -1)
        return flat

    def count(self, xy: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Summed weight ``w`` of the points in each study cell (a [row, col] grid)."""
        flat = self.cells(xy)
        on = flat >= 0
        size = self.shape[0] * self.shape[1]
        return np.bincount(flat[on], weights=w[on], minlength=size).reshape(self.shape)


def lay_out_grid(
    xy: np.ndarray, cell_size_m: float, bounds: tuple[float, float, float, float] | None,
    boundary: Any, distance_m: float | None, k: int | None, max_cells: int | None,
) -> Layout:
    """The grid of ``cell_size_m`` cells (metres) over ``bounds`` (default: the boundary's
    bounds, or the incidents' extent padded by the neighbourhood's reach), its study cells
    and the distance band (default 1.5 cells; None with ``k``), the options checked.

    Raises
    ------
    InvalidParameter
        Bad cell size, band, k, boundary or bounds; fewer than two study cells (or not more
        than ``k``).
    WorkLimitExceeded
        More than ``max_cells`` cells.
    """
    cell = _check_cell_size(cell_size_m)
    reach, distance_m = _neighbourhood_reach(cell, distance_m, k)
    _check_boundary(boundary)
    minx, miny, maxx, maxy = _grid_extent(xy, bounds, boundary, reach)
    cols = max(1, int(np.ceil((maxx - minx) / cell - 1e-9)))
    rows = max(1, int(np.ceil((maxy - miny) / cell - 1e-9)))
    if max_cells is not None and rows * cols > max_cells:
        raise WorkLimitExceeded(
            f"the grid would have {rows:,} x {cols:,} = {rows * cols:,} cells, more than the "
            f"limit of {max_cells:,}: use a larger cell_size_m or a smaller area",
            found=rows * cols, limit=int(max_cells), parameter="cell_size_m", kind="grid_cells")
    origin = (minx, miny + rows * cell)
    in_study = _study_cells(boundary, origin, cell, (rows, cols), k)
    return Layout(origin=origin, cell=cell, shape=(rows, cols), in_study=in_study,
                  distance_m=distance_m)


def _check_cell_size(cell_size_m: float) -> float:
    if not isinstance(cell_size_m, (int, float, np.number)) or not np.isfinite(cell_size_m) \
            or cell_size_m < 0.01:
        raise InvalidParameter(f"cell_size_m must be a number of metres, at least 0.01, not "
                               f"{cell_size_m!r}", parameter="cell_size_m")
    return float(cell_size_m)


def _neighbourhood_reach(cell: float, distance_m: float | None,
                         k: int | None) -> tuple[float, float | None]:
    """How far (metres) a neighbourhood reaches on an unbounded grid, and the distance band
    (the default 1.5 cells when neither it nor ``k`` is given; None with ``k``)."""
    if distance_m is not None and k is not None:
        raise InvalidParameter("give distance_m or k, not both", parameter="k")
    if k is not None:
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or not 1 <= k <= 1000:
            raise InvalidParameter(f"k must be a whole number of cells from 1 to 1000, not {k!r}",
                                   parameter="k")
        return float(np.sqrt(knn_ring(int(k))[0]) * cell), distance_m
    if distance_m is None:
        distance_m = DEFAULT_BAND_CELLS * cell
    if not isinstance(distance_m, (int, float, np.number)) or not np.isfinite(distance_m) \
            or distance_m < cell:
        raise InvalidParameter(
            f"distance_m must be a number of metres at least cell_size_m ({cell:g} m), so "
            f"that every cell has neighbours, not {distance_m!r}", parameter="distance_m")
    distance_m = float(distance_m)
    return distance_m, distance_m


def _check_boundary(boundary: Any) -> None:
    if boundary is not None and (not isinstance(boundary, (shapely.Polygon, shapely.MultiPolygon))
                                 or boundary.is_empty or not np.isfinite(boundary.bounds).all()
                                 or shapely.area(boundary) <= 0):
        raise InvalidParameter("boundary must be a shapely polygon or multipolygon (metres, the "
                               "points' CRS) with an area", parameter="boundary")


def _grid_extent(xy: np.ndarray, bounds: tuple[float, float, float, float] | None,
                 boundary: Any, reach: float) -> tuple[float, float, float, float]:
    """(minx, miny, maxx, maxy) the grid covers, metres."""
    if bounds is None:
        if boundary is not None:
            minx, miny, maxx, maxy = (float(v) for v in boundary.bounds)
        elif xy.shape[0] == 0:
            raise InvalidParameter("there are no incidents: give bounds (or a boundary) to "
                                   "map", parameter="bounds")
        else:
            x0, y0, x1, y1 = xy_bounds(xy)
            minx, miny, maxx, maxy = x0 - reach, y0 - reach, x1 + reach, y1 + reach
        return minx, miny, maxx, maxy
    try:
        minx, miny, maxx, maxy = (float(v) for v in bounds)
    except (TypeError, ValueError) as exc:
        raise InvalidParameter("bounds must be (minx, miny, maxx, maxy) in metres",
                               parameter="bounds") from exc
    if not (np.isfinite([minx, miny, maxx, maxy]).all() and maxx > minx and maxy > miny):
        raise InvalidParameter("bounds must be (minx, miny, maxx, maxy) with min < max",
                               parameter="bounds")
    return minx, miny, maxx, maxy


def _study_cells(boundary: Any, origin: tuple[float, float], cell: float,
                 shape: tuple[int, int], k: int | None) -> np.ndarray:
    """The study cells (all, or those whose centre is inside ``boundary``); at least two, and
    more than ``k``."""
    in_study = (np.ones(shape, dtype=bool) if boundary is None
                else cells_inside(boundary, origin, cell, shape))
    studied = int(in_study.sum())
    if studied < 2:
        raise InvalidParameter(
            f"the study area holds {studied} cell(s) of {cell:g} m: Gi* needs at least two; use "
            "a smaller cell_size_m or a larger boundary", parameter="cell_size_m")
    if k is not None and studied <= k:
        raise InvalidParameter(f"k ({k}) must be less than the number of study cells "
                               f"({studied})", parameter="k")
    return in_study


def cells_inside(boundary: Any, origin: tuple[float, float], cell: float,
                  shape: tuple[int, int]) -> np.ndarray:
    """Cells whose centre is inside ``boundary`` (a polygon or multipolygon, holes allowed), by
    scanlines: each row's centre line crosses the rings' edges at sorted x, and the cells
    between the 1st and 2nd, 3rd and 4th... crossings are inside (even-odd rule). As
    ``shapely.contains_xy`` at the cell centres (a tenth of its time on a county), except for a
    centre exactly on the boundary, which may count either way."""
    rows, cols = shape
    x0, y1 = origin
    rings = shapely.get_rings(shapely.get_parts(boundary))
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    same = ring[1:] == ring[:-1]
    a, b = coords[:-1][same], coords[1:][same]
    lo, hi = np.minimum(a[:, 1], b[:, 1]), np.maximum(a[:, 1], b[:, 1])
    # the rows whose centre y = y1 - (r + 0.5) cell has lo <= y < hi
    t_hi = (y1 - hi) / cell - 0.5
    first = np.maximum(np.floor(t_hi).astype(np.int64) + 1, 0)
    last = np.minimum(np.floor((y1 - lo) / cell - 0.5).astype(np.int64), rows - 1)
    n = np.maximum(last - first + 1, 0)
    seg = np.repeat(np.arange(n.size), n)
    r = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n) + first[seg]
    cy = y1 - (r + 0.5) * cell
    xa, ya, xb, yb = a[seg, 0], a[seg, 1], b[seg, 0], b[seg, 1]
    x = xa + (cy - ya) * (xb - xa) / (yb - ya)
    order = np.lexsort((x, r))
    r, x = r[order], x[order]
    # cells with left < centre x < right, between each pair of crossings of a row
    c0 = np.clip(np.floor((x[0::2] - x0) / cell - 0.5).astype(np.int64) + 1, 0, cols)
    c1 = np.clip(np.ceil((x[1::2] - x0) / cell - 0.5).astype(np.int64), 0, cols)
    rr = r[0::2]
    ok = c1 > c0
    diff = np.zeros((rows, cols + 1), dtype=np.int32)
    np.add.at(diff, (rr[ok], c0[ok]), 1)
    np.add.at(diff, (rr[ok], c1[ok]), -1)
    return np.asarray(np.cumsum(diff[:, :cols], axis=1) > 0)


def locate_cells(xy: np.ndarray, origin: tuple[float, float], cell: float,
                 shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(row, col) of the cell holding each point; (-1, -1) for points off the grid."""
    rows, cols = shape
    col = np.floor((xy[:, 0] - origin[0]) / cell)
    row = np.floor((origin[1] - xy[:, 1]) / cell)
    on = (col >= 0) & (col < cols) & (row >= 0) & (row < rows)
    return (np.where(on, row, -1).astype(np.int64), np.where(on, col, -1).astype(np.int64))


def cell_boxes(rr: np.ndarray, cc: np.ndarray, origin: tuple[float, float],
               cell: float) -> np.ndarray:
    """Square polygons (shapely, metres) of the cells (row, col); an edge two cells share is
    the same number in both (computed from the same line of the grid)."""
    x0 = origin[0] + cc * cell
    y1 = origin[1] - rr * cell
    return np.asarray(shapely.box(x0, origin[1] - (rr + 1) * cell, origin[0] + (cc + 1) * cell,
                                  y1))


def knn_ring(k: int) -> tuple[int, np.ndarray]:
    """Squared radius (cells^2) of the k nearest cells of an unbounded lattice, ties kept, and
    the offsets (di, dj) within it, self included."""
    half = int(np.ceil(np.sqrt(k))) + 2
    d = np.arange(-half, half + 1)
    di, dj = np.meshgrid(d, d, indexing="ij")
    d2 = (di * di + dj * dj).ravel()
    r2 = int(np.sort(d2)[k])  # d2 sorted: index 0 is the cell itself
    return r2, np.column_stack([di.ravel(), dj.ravel()])[d2 <= r2]


def disc(radius2_cells: float) -> np.ndarray:
    """Binary footprint of the cells whose centre offset (cells) has d^2 <= radius2."""
    r = int(np.floor(np.sqrt(radius2_cells)))
    d = np.arange(-r, r + 1)
    return ((d[:, None] ** 2 + d[None, :] ** 2) <= radius2_cells).astype(np.float64)


class Neighbourhood:
    """Binary Gi* neighbourhoods of the study cells: ``sum(values)`` gives sum_j w_ij x_j,
    ``size`` gives W_i (= S1_i with binary weights)."""

    def __init__(self, in_study: np.ndarray, cell: float, *, distance_m: float | None,
                 k: int | None) -> None:
        self.in_study = in_study
        self.full = bool(in_study.all())
        self.mask = in_study
        self.k = k
        self.edge = np.empty(0, dtype=np.int64)
        self.edge_rows = np.empty(0, dtype=np.int64)
        self.edge_members = np.empty(0, dtype=np.int64)
        if k is None:
            assert distance_m is not None
            self.footprint = disc((distance_m / cell) ** 2 * (1 + 1e-9))
            self.size = self._count()
        else:
            self._knn(in_study, k)
        n = float(in_study.sum())
        spread = n - self.size  # sqrt(W_i (n - W_i) / (n - 1)), in place: one grid at a time
        spread *= self.size
        np.maximum(spread, 0.0, out=spread)
        spread /= n - 1
        self.spread = np.sqrt(spread, out=spread)

    def _count(self) -> np.ndarray:
        """Study cells in each cell's disc (0 outside the study area)."""
        size = self._correlate(self.mask.astype(np.float64))
        np.rint(size, out=size)
        if not self.full:
            size[~self.mask] = 0.0
        return size

    def _knn(self, in_study: np.ndarray, k: int) -> None:
        r2, _ = knn_ring(k)
        self.footprint = disc(r2 + 1e-9)
        full = self._count()
        # cells with k in-study cells inside the lattice's k-radius have exactly that disc;
        # the rest (near the edge of the study area) take theirs from a k-d tree
        self.edge = np.flatnonzero((in_study & (full - 1 < k)).ravel())
        self.size = full
        if self.edge.size:
            shape = in_study.shape
            study = np.flatnonzero(in_study.ravel())
            sr, sc = np.divmod(study, shape[1])
            er, ec = np.divmod(self.edge, shape[1])
            tree = cKDTree(np.column_stack([sr, sc]).astype(np.float64))
            pts = np.column_stack([er, ec]).astype(np.float64)
            dk = tree.query(pts, k=k + 1)[0][:, -1]
            lists = tree.query_ball_point(pts, dk + 1e-6, return_sorted=False)
            lengths = np.fromiter((len(v) for v in lists), dtype=np.int64, count=len(lists))
            self.edge_rows = np.repeat(np.arange(self.edge.size), lengths)
            self.edge_members = study[np.concatenate([np.asarray(v, dtype=np.int64)
                                                      for v in lists])]
            self.size.ravel()[self.edge] = lengths

    def _correlate(self, values: np.ndarray) -> np.ndarray:
        if self.footprint.size > _FFT_ABOVE:
            out = fftconvolve(values, self.footprint, mode="same")  # symmetric footprint
            return np.asarray(out)
        return np.asarray(correlate(values, self.footprint, mode="constant", cval=0.0))

    def sum(self, values: np.ndarray) -> np.ndarray:
        """sum over each study cell's neighbours of ``values`` (zero outside the study)."""
        x = values if self.full else np.where(self.mask, values, 0.0)
        out = self._correlate(x)
        if not self.full:
            out[~self.mask] = 0.0
        # FFT round-off: sums of values >= 0 are >= 0
        if self.footprint.size > _FFT_ABOVE and (values >= 0).all():
            np.maximum(out, 0.0, out=out)
        if self.edge.size:
            flat = x.ravel()
            out.ravel()[self.edge] = np.bincount(self.edge_rows, weights=flat[self.edge_members],
                                                 minlength=self.edge.size)
        return out


def gi_star(counts: np.ndarray, in_study: np.ndarray, nb: Neighbourhood, *,
             p_values: str = "normal") -> tuple[np.ndarray, np.ndarray]:
    """Gi* z-scores and two-sided p-values (NaN outside the study area)."""
    counts = np.asarray(counts, dtype=np.float64)
    x = counts.ravel() if nb.full else counts[in_study]
    mean = float(x.mean())
    sd = float(x.std())  # population s.d.; two passes, so exactly 0 for equal counts
    z = nb.sum(counts)
    if p_values == "poisson":
        expected = mean * nb.size
        local = np.rint(z)  # integer counts: FFT round-off only
        upper = pdtrc(local - 1, expected)  # P(X >= s), X ~ Poisson(W_i mean)
        lower = pdtr(local, expected)  # P(X <= s)
        p_exact = np.minimum(1.0, 2.0 * np.minimum(upper, lower))
        p_exact[local <= 0] = np.minimum(1.0, 2.0 * lower[local <= 0])
        del upper, lower, local
    elif p_values == "empirical":
        p_exact = empirical_p(np.rint(x).astype(np.int64), np.rint(z).astype(np.int64),
                               nb.size.astype(np.int64), in_study)
    z -= mean * nb.size
    if sd > 0:
        z /= sd
        with np.errstate(divide="ignore", invalid="ignore"):
            z /= nb.spread  # sqrt((n W_i - W_i^2) / (n - 1)); 0 when W_i = n
        z[nb.spread == 0] = 0.0
    else:
        z[:] = 0.0
    if not nb.full:
        z[~in_study] = np.nan
    if p_values != "normal":
        p = p_exact
        p[~in_study] = np.nan
        return z, p
    p = np.abs(z)
    np.negative(p, out=p)
    ndtr(p, out=p)
    p *= 2.0
    return z, p


def empirical_p(x: np.ndarray, local: np.ndarray, size: np.ndarray,
                 in_study: np.ndarray) -> np.ndarray:
    """Two-sided p-values of neighbourhood sums against the sum of W_i cells drawn at random
    (with replacement) from the study cells' own counts: 2 min(P(S >= s), P(S <= s)), S the
    W_i-fold convolution of the counts' histogram (by FFT)."""
    pmf = np.bincount(x) / x.size
    p = np.full(local.shape, np.nan)
    for w in np.unique(size[in_study]):
        cells = in_study & (size == w)
        length = int(w) * (pmf.size - 1) + 1
        nfft = 1 << int(np.ceil(np.log2(max(length, 2))))
        law = np.fft.irfft(np.fft.rfft(pmf, nfft) ** int(w), nfft)[:length]
        np.maximum(law, 0.0, out=law)  # FFT round-off (about 1e-16) below zero
        law /= law.sum()
        lower = np.cumsum(law)
        upper = np.cumsum(law[::-1])[::-1]
        s = np.clip(local[cells], 0, length - 1)
        p[cells] = np.minimum(1.0, 2.0 * np.minimum(upper[s], lower[s]))
    return p
