"""The density grid that places a hotspot area's peaks, for :mod:`hotspot.places`.

:class:`AreaGrid` holds the smoothed weight of one area's incidents not yet in a place, on a
grid of cells ``max_place_m / 20`` metres wide (coarser for very large areas) over the area,
in the area's projected CRS (metres): where the next peak is, and the update when a place
takes its incidents.
"""

from __future__ import annotations

import functools
from types import ModuleType
from typing import Any

import numpy as np
import shapely

from hotspot._numeric import fftconvolve
from hotspot.errors import WorkLimitExceeded
from hotspot.inside import prepared_copies
from hotspot.kde import _quartic

MAX_PLACE_CELLS = 4_000_000
"""Most grid cells for one area's density before its cells are coarsened."""
CELLS_PER_PLACE = 20
"""Grid cells across one place (``max_place_m / 20`` metres each)."""
_TIE = 1e-9  # relative: densities this close to the top are a tie, broken by position
_FFT_FROM = 250_000  # non-zero patch cells times kernel cells from which a patch is smoothed by FFT


@functools.lru_cache(maxsize=16)
def _kernel(radius_cells: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The quartic kernel of ``radius_cells`` cells (:func:`hotspot.kde._quartic`), the rows
    and columns of its non-zero cells and their values: made once for each radius (every
    area of a split shares one)."""
    kernel = _quartic(radius_cells)
    ki, kj = np.nonzero(kernel)
    return kernel, ki, kj, kernel[ki, kj]


def inside_grid(geom: Any, xs: np.ndarray, ys: np.ndarray,
                native: ModuleType | None = None) -> np.ndarray:
    """(len(ys), len(xs)) whether each point of the grid of columns at ``xs`` (increasing) and
    rows at ``ys`` (decreasing), metres in ``geom``'s CRS, intersects ``geom`` (GEOS's
    ``intersects_xy``: its boundary counts). With ``native``, a valid polygon's grid is
    found by the compiled scan of its rings' crossings (:func:`hotspot._gridnative.
    polygon_cells`), and only the points it cannot be sure of (a hair from an edge, or on a
    row through a vertex) are asked of GEOS: the same answer for each point. Refuses
    (ValueError) columns not increasing or rows not strictly decreasing, which the scan
    relies on."""
    xs = np.asarray(xs, dtype=np.float64)
    ys = np.asarray(ys, dtype=np.float64)
    if xs.ndim != 1 or ys.ndim != 1 or (np.diff(xs) < 0).any() or (np.diff(ys) >= 0).any():
        raise ValueError("inside_grid needs columns xs increasing and rows ys decreasing")
    kinds = shapely.get_type_id(geom)
    if native is not None and kinds in (3, 6) and shapely.is_valid(geom):  # (Multi)Polygon
        state = native.polygon_cells(*ring_coordinates(geom), np.ascontiguousarray(xs),
                                     np.ascontiguousarray(ys))
        inside = state == 1
        row, col = np.nonzero(state == 2)
        if row.size:
            inside[row, col] = shapely.intersects_xy(prepared_copies(geom), xs[col], ys[row])
        return inside
    gx, gy = np.meshgrid(xs, ys)
    return np.asarray(shapely.intersects_xy(prepared_copies(geom), gx, gy))


def barred_cells(r: float, c: float) -> tuple[np.ndarray, int]:
    """The cells a peak bars around itself on a grid of cells ``c`` metres wide: a square of
    ``2 * rr + 1`` cells, True where a cell's centre is within ``r`` metres of the peak's, and
    ``rr``."""
    rr = int(np.ceil(r / c))
    off = np.arange(-rr, rr + 1) * c
    return off[:, None] ** 2 + off[None, :] ** 2 <= r * r, rr


def ring_coordinates(geom: Any) -> tuple[np.ndarray, np.ndarray]:
    """The coordinates of every ring of a (Multi)Polygon ((n, 2), each ring closed) and where
    each ring starts, with the end last (int64): :func:`hotspot._gridnative.polygon_cells`'
    input."""
    rings = shapely.get_rings(shapely.get_parts(geom))
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    return coords, np.searchsorted(ring, np.arange(len(rings) + 1)).astype(np.int64)


class AreaGrid:
    """The smoothed weight of one area's incidents not yet in a place, on a grid over the area.

    The incidents' weights are shared among the four cell centres around each (linear binning)
    and smoothed with the quartic kernel (FFT convolution); ``density`` is 0 at cells that may
    not be peaks (outside the area, or within a place radius of an earlier peak) and where only
    round-off is left.

    With ``native`` (:mod:`hotspot._gridnative`), :meth:`densest` and :meth:`remove` run as
    compiled loops with the same arithmetic in the same order: the same peaks and densities
    to the last bit, without the dozen numpy calls a place.
    """

    def __init__(self, pts: np.ndarray, w: np.ndarray, geom: Any, d: float,
                 native: ModuleType | None = None) -> None:
        self.native = native
        r = d / 2
        c = d / CELLS_PER_PLACE
        minx, miny, maxx, maxy = shapely.bounds(geom)
        minx, miny = min(minx, pts[:, 0].min()), min(miny, pts[:, 1].min())
        maxx, maxy = max(maxx, pts[:, 0].max()), max(maxy, pts[:, 1].max())
        cells = ((maxx - minx) / c + 4) * ((maxy - miny) / c + 4)
        if cells > MAX_PLACE_CELLS:  # a very large area: coarser cells, up to d / 8
            c = float(np.sqrt((maxx - minx + 4 * c) * (maxy - miny + 4 * c) / MAX_PLACE_CELLS))
            if c > d / 8:
                raise WorkLimitExceeded(
                    f"an area {maxx - minx:,.0f} m x {maxy - miny:,.0f} m is too large to split "
                    f"into places no wider than {d:g} m: raise max_place_m, or narrow the "
                    "selection", found=int(cells), limit=MAX_PLACE_CELLS,
                    parameter="max_place_m", kind="grid_cells")
        self.c = c
        self.rk = r - 1.5 * c  # kernel reach + binning spread stay inside the place's disc
        kernel, ki, kj, kval = _kernel(self.rk / c)  # copies: the caller's own
        self.kernel, self.ki, self.kj, self.kval = kernel.copy(), ki.copy(), kj.copy(), kval.copy()
        self.kr = self.kernel.shape[0] // 2
        pad = self.kr + 2
        self.x0 = minx - pad * c
        self.y1 = maxy + pad * c
        self.cols = int(np.ceil((maxx - minx) / c)) + 2 * pad + 1
        self.rows = int(np.ceil((maxy - miny) / c)) + 2 * pad + 1
        self.density = self._smoothed(pts, w)
        # FFT round-off: far below what one incident of the lightest weight leaves anywhere
        # its kernel reaches, so zeroing it drops nothing real
        positive = w[w > 0]
        self.tol = 1e-9 * (float(positive.min()) if positive.size else 1.0) * float(
            self.kernel[self.kernel > 0].min())
        cx = self.x0 + (np.arange(self.cols) + 0.5) * c
        cy = self.y1 - (np.arange(self.rows) + 0.5) * c
        # only the cell centres in the area's bounding box (edges included) can be in it
        gx0, gy0, gx1, gy1 = shapely.bounds(geom)
        cols = np.flatnonzero((cx >= gx0) & (cx <= gx1))
        rows = np.flatnonzero((cy >= gy0) & (cy <= gy1))
        self.allowed = np.zeros((self.rows, self.cols), dtype=bool)
        if cols.size and rows.size:  # contiguous: the centres are in order
            self.allowed[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1] = inside_grid(
                geom, cx[cols[0]:cols[-1] + 1], cy[rows[0]:rows[-1] + 1], native)
        if not self.allowed.any():  # a sliver or a point: any cell may be its peak
            self.allowed[:] = True
        self.density[~self.allowed | (self.density < self.tol)] = 0.0
        self._bar: np.ndarray | None = None
        self._row_max = native.row_maxima(self.density) if native is not None else None

    def _smoothed(self, pts: np.ndarray, w: np.ndarray) -> np.ndarray:
        """The incidents' density on the grid: binned, smoothed by the kernel, cropped to the
        grid (compiled in one pass when the grid has the compiled steps, to the same bits)."""
        kr = self.kr
        if self.native is not None:
            grid, smoothed = self.native.place_density(
                pts, w, self.x0, self.y1, self.c, self.rows, self.cols, kr, self.ki, self.kj,
                self.kval, _FFT_FROM)
            if smoothed:
                return np.asarray(grid)
            full = np.asarray(fftconvolve(grid, self.kernel, mode="full"))
        else:
            binned = np.zeros((self.rows, self.cols))
            self._bin(binned, pts, w, 0, 0)
            full = self._smooth_patch(binned)
        return full[kr:kr + self.rows, kr:kr + self.cols].copy()

    def _bin(self, out: np.ndarray, pts: np.ndarray, w: np.ndarray, i0: int, j0: int) -> None:
        """Add the linear binning of ``pts`` to ``out``, whose cell (0, 0) is the grid's
        (i0, j0)."""
        c = self.c
        u = (pts[:, 0] - self.x0) / c - 0.5
        v = (self.y1 - pts[:, 1]) / c - 0.5
        j = np.floor(u).astype(np.int64)
        i = np.floor(v).astype(np.int64)
        fu, fv = u - j, v - i
        i, j = i - i0, j - j0
        for di, dj, share in ((0, 0, (1 - fu) * (1 - fv)), (0, 1, fu * (1 - fv)),
                              (1, 0, (1 - fu) * fv), (1, 1, fu * fv)):
            np.add.at(out, (i + di, j + dj), w * share)

    def densest(self) -> int | None:
        """Flat index of the peak cell (ties: the first in row-major order, north-west first);
        None when no cell has weight left."""
        if self.native is not None and self._row_max is not None:
            cell = int(self.native.densest_cell(self.density, self._row_max, _TIE))
            return None if cell < 0 else cell
        flat = self.density.ravel()
        top = float(flat.max())
        if top <= 0:
            return None
        return int(np.flatnonzero(flat >= top * (1 - _TIE))[0])

    def centre(self, cell: int) -> tuple[float, float]:
        """(x, y) of a cell's centre, metres."""
        i, j = divmod(cell, self.cols)
        return (self.x0 + (j + 0.5) * self.c, self.y1 - (i + 0.5) * self.c)

    def per_km2(self, cell: int | None) -> float:
        """Density at a cell, weight per km2."""
        if cell is None:
            return 0.0
        return float(self.density.ravel()[cell]) * 1e6 / (self.c * self.c)

    def _smooth_patch(self, patch: np.ndarray) -> np.ndarray:
        """``patch`` convolved with the kernel ("full" output): a sum of shifted kernels over
        its few non-zero cells (an FFT only when they are many)."""
        nz = np.flatnonzero(patch)
        if nz.size * self.kval.size > _FFT_FROM:
            return np.asarray(fftconvolve(patch, self.kernel, mode="full"))
        p = patch.shape[1]
        q = (patch.shape[0] + 2 * self.kr, p + 2 * self.kr)
        bi, bj = np.divmod(nz, p)
        flat = (bi[:, None] + self.ki[None, :]) * q[1] + (bj[:, None] + self.kj[None, :])
        values = patch.ravel()[nz][:, None] * self.kval[None, :]
        return np.bincount(flat.ravel(), weights=values.ravel(),
                           minlength=q[0] * q[1]).reshape(q)

    def _barred(self, r: float) -> tuple[np.ndarray, int, int]:
        """The cells a peak bars around itself (:func:`barred_cells`), ``rr``, and the reach
        of the patch its incidents are binned on."""
        if self._bar is None:
            self._bar, _rr = barred_cells(r, self.c)
        rr = self._bar.shape[0] // 2
        return self._bar, rr, rr + 2

    def take_places(self, buckets: Any, r: float, sure: float, ring: np.ndarray,
                    sign: float, remaining: np.ndarray, left: int, min_incidents: int,
                    most: int, place_of: np.ndarray, first_place: int,
                    ) -> tuple[np.ndarray, np.ndarray, int, int]:
        """Up to ``most`` places made by the compiled loop (:func:`hotspot._gridnative.
        take_places`, the steps of :func:`hotspot.places._split_area` for each): their cells
        and densities (per km2), the points left, and why it stopped (0 nothing left, 1
        ``most`` made, 2 the next place needs :meth:`remove`'s FFT: the caller makes it)."""
        if self.native is None or self._row_max is None:
            raise ValueError("take_places needs the compiled steps")
        bar, rr, reach = self._barred(r)
        cells = np.empty(most, dtype=np.int64)
        dens = np.empty(most)
        made, left, state = self.native.take_places(
            self.density, self.allowed, self._row_max, buckets.pts, buckets.w, buckets.order,
            buckets.start, buckets.ncols, buckets.nrows, buckets.x0, buckets.y0, r, sure, ring,
            sign, self.x0, self.y1, self.c, reach, self.kr, self.ki, self.kj, self.kval,
            self.tol, bar, rr, _FFT_FROM, _TIE, remaining, left, min_incidents, most,
            place_of, first_place, cells, dens, buckets.out, buckets.rim, buckets.taken)
        return cells[:made], dens[:made], int(left), int(state)

    def remove(self, pts: np.ndarray, w: np.ndarray, cell: int, r: float) -> None:
        """Take incidents within ``r`` of ``cell`` out of the density (their smoothed weight,
        on the window they reach) and bar cells within ``r`` of it from being peaks."""
        i, j = divmod(cell, self.cols)
        bar, rr, reach = self._barred(r)
        if self.native is not None and self.native.place_remove(
                self.density, self.allowed, pts, w, self.x0, self.y1, self.c, i, j, reach,
                self.kr, self.ki, self.kj, self.kval, self.tol, bar, rr, _FFT_FROM,
                self._row_max):
            return
        if pts.shape[0]:
            patch = np.zeros((2 * reach + 2, 2 * reach + 2))
            self._bin(patch, pts, w, i - reach, j - reach)
            smooth = self._smooth_patch(patch)
            a0, b0 = i - reach - self.kr, j - reach - self.kr  # grid cell of smooth[0, 0]
            g0, g1 = max(0, a0), min(self.rows, a0 + smooth.shape[0])
            h0, h1 = max(0, b0), min(self.cols, b0 + smooth.shape[1])
            window = self.density[g0:g1, h0:h1]
            window -= smooth[g0 - a0:g1 - a0, h0 - b0:h1 - b0]
            window[(window < self.tol) | ~self.allowed[g0:g1, h0:h1]] = 0.0
        a0, a1 = max(0, i - rr), min(self.rows, i + rr + 1)
        b0, b1 = max(0, j - rr), min(self.cols, j + rr + 1)
        near = bar[a0 - i + rr:a1 - i + rr, b0 - j + rr:b1 - j + rr]
        self.allowed[a0:a1, b0:b1] &= ~near
        self.density[a0:a1, b0:b1][near] = 0.0
        if self.native is not None:  # the compiled steps' row maxima (a rare path for them)
            self._row_max = self.native.row_maxima(self.density)
