"""A fine raster of weighted points for :func:`hotspot._griddbscan.grid_dbscan` on dense data:
the weight within eps of a point, bounded from four table lookups or exact.

Coordinates and eps are in the same units (metres in a projected CRS).
"""

from __future__ import annotations

import numpy as np

from hotspot._gridcells import batches, expand_ranges, radix_order

RASTER_CELLS = 8_000_000
"""Largest fine raster (its table and cell index: 128 MB)."""


class WeightRaster:
    """A fine raster of the points (cells of about eps / 8) for dense data: a summed-area
    table of their weight, and the points ordered row by row, cell by cell.

    It gives, for any point, bounds of the weight within eps (the square inscribed in the
    circle and the square around it: four lookups each) and the exact weight: the cells of
    each raster row wholly inside the circle summed from the table, and only the points of the
    cells the circle's edge crosses compared one by one.
    """

    def __init__(self, px: np.ndarray, py: np.ndarray, w: np.ndarray, eps: float,
                 cell: float) -> None:
        self.eps, self.cell = eps, cell
        self.x0, self.y0 = float(px.min()), float(py.min())
        self.columns = int((float(px.max()) - self.x0) / cell) + 1
        self.rows = int((float(py.max()) - self.y0) / cell) + 1
        col = np.minimum(((px - self.x0) / cell).astype(np.int64), self.columns - 1)
        row = np.minimum(((py - self.y0) / cell).astype(np.int64), self.rows - 1)
        key = row * self.columns + col
        per_cell = np.bincount(key, weights=w, minlength=self.columns * self.rows)
        table = np.zeros((self.rows + 1, self.columns + 1))
        table[1:, 1:] = per_cell.reshape(self.rows, self.columns)
        np.cumsum(table, axis=0, out=table)
        np.cumsum(table, axis=1, out=table)
        self.table = table
        """Summed-area table: ``table[r, c]`` the weight of rows < r and columns < c."""
        self.tol = 1e-9 * max(float(table[-1, -1]), 1.0)
        """Rounding allowance of sums taken from the table."""
        order = radix_order(key)
        self.point_x, self.point_y, self.point_weight = px[order], py[order], w[order]
        self.start = np.searchsorted(key[order], np.arange(self.columns * self.rows + 1))
        """First point (row by row, cell by cell) of each raster cell."""

    @classmethod
    def build(cls, px: np.ndarray, py: np.ndarray, w: np.ndarray,
              eps: float) -> WeightRaster | None:
        """The raster, or None when cells fine enough would be too many."""
        width, height = float(np.ptp(px)), float(np.ptp(py))
        cell = eps / 8
        if (width / cell + 2) * (height / cell + 2) > RASTER_CELLS:
            cell = float(np.sqrt((width + eps) * (height + eps) / RASTER_CELLS))
            if cell > eps / 3:  # too coarse to save work
                return None
        return cls(px, py, w, eps, cell)

    def _block(self, c0: np.ndarray, c1: np.ndarray, r0: np.ndarray,
               r1: np.ndarray) -> np.ndarray:
        """Weight of the cells in columns [c0, c1) and rows [r0, r1) (clipped)."""
        c0, c1 = np.clip(c0, 0, self.columns), np.clip(c1, 0, self.columns)
        r0, r1 = np.clip(r0, 0, self.rows), np.clip(r1, 0, self.rows)
        c1, r1 = np.maximum(c1, c0), np.maximum(r1, r0)
        s = self.table
        return np.asarray(s[r1, c1] - s[r0, c1] - s[r1, c0] + s[r0, c0])

    def bounds(self, qx: np.ndarray, qy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds of the weight within eps of each point."""
        u, v = (qx - self.x0) / self.cell, (qy - self.y0) / self.cell
        a = self.eps / np.sqrt(2.0) * (1 - 1e-9) / self.cell  # cells wholly in the inner square
        lower = self._block(np.ceil(u - a).astype(np.int64), np.floor(u + a).astype(np.int64),
                            np.ceil(v - a).astype(np.int64), np.floor(v + a).astype(np.int64))
        e = self.eps * (1 + 1e-9) / self.cell  # cells touching the outer square
        upper = self._block(np.floor(u - e).astype(np.int64),
                            np.floor(u + e).astype(np.int64) + 1,
                            np.floor(v - e).astype(np.int64),
                            np.floor(v + e).astype(np.int64) + 1)
        return lower - self.tol, upper + self.tol

    def exact(self, qx: np.ndarray, qy: np.ndarray) -> np.ndarray:
        """The weight within eps (squared distance <= eps^2) of each point, raster row by
        raster row: the cells wholly inside the circle from the table, the points of the cells
        its edge cuts one by one."""
        cell = self.cell
        u, v = (qx - self.x0) / cell, (qy - self.y0) / cell
        reach = int(np.ceil(self.eps / cell)) + 1
        out = np.zeros(qx.shape[0])
        base_row = np.floor(v).astype(np.int64)
        for d in range(-reach, reach + 1):
            row = base_row + d
            ok = np.flatnonzero((row >= 0) & (row < self.rows))
            if ok.shape[0] == 0:
                continue
            r = row[ok]
            outer_first, inner_first, inner_end, outer_end = self._row_span(u[ok], v[ok], r)
            out[ok] += self._block(inner_first, inner_end, r, r + 1)
            # the cut cells, left [outer_first, inner_first) and right [inner_end, outer_end):
            # contiguous point ranges
            for c0, c1 in ((outer_first, inner_first), (inner_end, outer_end)):
                self._add_points_within(qx, qy, ok, r * self.columns + c0,
                                        r * self.columns + c1, out)
        return out

    def _row_span(self, u: np.ndarray, v: np.ndarray, r: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Columns of raster row ``r`` the circle of each point (at raster coordinates u, v)
        reaches: ``[outer_first, outer_end)`` touched, ``[inner_first, inner_end)`` wholly
        inside (empty when none is)."""
        cell, eps = self.cell, self.eps
        eps2 = eps * eps
        # vertical distances (metres) from the point to the row's band [r, r + 1)
        below, above = (r - v) * cell, (r + 1 - v) * cell
        dy_min = np.where(below > 0, below, np.where(above < 0, -above, 0.0))
        dy_max = np.maximum(np.abs(below), np.abs(above))
        outer = np.sqrt(np.maximum(eps2 * (1 + 2e-9) - dy_min * dy_min, 0.0)) / cell
        touch = dy_min <= eps * (1 + 1e-9)
        inner_sq = eps2 * (1 - 2e-9) - dy_max * dy_max
        inner = np.sqrt(np.maximum(inner_sq, 0.0)) / cell
        has_inner = inner_sq > 0
        outer_first = np.clip(np.floor(u - outer).astype(np.int64), 0, self.columns)
        outer_end = np.clip(np.floor(u + outer).astype(np.int64) + 1, 0, self.columns)
        inner_first = np.clip(np.ceil(u - inner).astype(np.int64), outer_first, outer_end)
        inner_end = np.clip(np.floor(u + inner).astype(np.int64), inner_first, outer_end)
        inner_end = np.where(has_inner, inner_end, inner_first)
        outer_end = np.where(touch, outer_end, outer_first)
        inner_first, inner_end = np.minimum(inner_first, outer_end), np.minimum(inner_end,
                                                                                  outer_end)
        return outer_first, inner_first, inner_end, outer_end

    def _add_points_within(self, qx: np.ndarray, qy: np.ndarray, owners: np.ndarray,
                           first_cell: np.ndarray, end_cell: np.ndarray,
                           out: np.ndarray) -> None:
        """Add to ``out[owners[i]]`` the weight of the points of raster cells
        ``[first_cell[i], end_cell[i])`` (flat indexes) within eps of that point."""
        eps2 = self.eps * self.eps
        lo, hi = self.start[first_cell], self.start[end_cell]
        count = hi - lo
        has = np.flatnonzero(count > 0)
        if has.shape[0] == 0:
            return
        owners, lo, count = owners[has], lo[has], count[has]
        for b in batches(count):
            k, q = expand_ranges(lo[b], count[b])
            who = owners[b][k]
            ddx, ddy = self.point_x[q] - qx[who], self.point_y[q] - qy[who]
            hit = ddx * ddx + ddy * ddy <= eps2
            out += np.bincount(who[hit], weights=self.point_weight[q[hit]],
                               minlength=out.shape[0])
