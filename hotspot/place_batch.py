"""The peaks of many small hotspot areas in two compiled calls, for :mod:`hotspot.places`.

A split (:func:`hotspot.places.split_places`) makes each area's density grid
(:class:`hotspot.place_grid.AreaGrid`) and takes its places one after the other. For a large
area that is a few compiled calls among much compiled work; for a small one (tens of
incidents, the usual area of a force's own data) the calls around the work cost more than the
work: a hundred Python-level steps an area. Here the areas' grids are made by
:func:`hotspot._gridnative.area_grids` and their places taken by
:func:`hotspot._gridnative.area_places`, each one call for a few hundred areas, with the same
steps and arithmetic as an :class:`~hotspot.place_grid.AreaGrid` and
:func:`hotspot.places._split_area` (so the same peaks, densities and members, to the last
bit); between the two, the cells whose inside the compiled scan cannot be sure of are asked of
GEOS in one call. Coordinates are metres in the areas' projected CRS (EPSG:27700 for Great
Britain).

A grid with too many cells to smooth cell by cell is smoothed by FFT between the two calls, as
an :class:`~hotspot.place_grid.AreaGrid` smooths it. An area these steps cannot make as the
per-area steps would (a place whose removal needs the FFT, an area that is not a valid
polygon, or a grid over :data:`AREA_CELLS` cells) is answered None: its caller makes it by
the per-area steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType

import numpy as np
import shapely

from hotspot import place_grid
from hotspot._numeric import fftconvolve
from hotspot.cancel import ShouldStop, check
from hotspot.inside import prepared_copies
from hotspot.place_grid import _TIE, CELLS_PER_PLACE, _kernel, barred_cells

AREA_CELLS = 1_000_000
"""Most grid cells of an area made here (larger ones are made alone, by
:class:`~hotspot.place_grid.AreaGrid`)."""
BATCH_CELLS = 4_000_000
"""Most grid cells of the areas made in one pair of compiled calls (9 bytes each)."""
BATCH_POINTS = 200_000
"""Most incidents of the areas made in one pair of compiled calls (``should_stop`` is
checked between them)."""


@dataclass(frozen=True)
class Disc:
    """A place's disc around (0, 0) as :func:`hotspot.places._split_area` makes it: its
    ring ((k, 2) metres, closed, convex), the ring's sign (1 counter-clockwise, -1
    clockwise) and the distance (metres) within which a point is inside it for sure."""

    ring: np.ndarray
    sign: float
    sure: float


@dataclass
class AreaPeaks:
    """The peaks of one area: their centres ((k, 2) metres) and densities (weight per km2),
    in the order they were taken, and for an area split into places each of its points'
    place (0..k-1, -1 none; None for an area kept whole, whose one peak is its densest cell,
    or no peak when no cell has weight)."""

    centres: np.ndarray
    density: np.ndarray
    place_of: np.ndarray | None


def area_peaks(xy: np.ndarray, w: np.ndarray, members: Sequence[np.ndarray], geoms: np.ndarray,
               split: np.ndarray, d: float, min_incidents: int, disc: Disc, native: ModuleType,
               should_stop: ShouldStop | None = None) -> list[AreaPeaks | None]:
    """The peaks of each area: its points ``xy[members[a]]`` ((n, 2) metres, n >= 1) and
    weights ``w[members[a]]``, its polygon ``geoms[a]``; split into places no wider than
    ``d`` metres (``split[a]``: the steps of :func:`hotspot.places._split_area`, with its
    ``disc``) or kept whole (the densest cell of its grid). None for an area left to the
    per-area steps (see the module docstring). ``should_stop`` is checked between batches of
    areas."""
    k = len(members)
    out: list[AreaPeaks | None] = [None] * k
    if k == 0:
        return out
    r = d / 2
    c = d / CELLS_PER_PLACE
    kernel, ki, kj, kval = _kernel((r - 1.5 * c) / c)
    kr = kernel.shape[0] // 2
    pad = kr + 2
    kernel_least = float(kernel[kernel > 0].min())
    sizes = np.array([m.size for m in members], dtype=np.int64)
    pstart = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    idx = np.concatenate(members)
    pts = np.ascontiguousarray(xy[idx])
    ww = np.ascontiguousarray(w[idx])
    bounds = np.ascontiguousarray(shapely.bounds(geoms))
    minx = np.minimum(bounds[:, 0], np.minimum.reduceat(pts[:, 0], pstart[:-1]))
    miny = np.minimum(bounds[:, 1], np.minimum.reduceat(pts[:, 1], pstart[:-1]))
    maxx = np.maximum(bounds[:, 2], np.maximum.reduceat(pts[:, 0], pstart[:-1]))
    maxy = np.maximum(bounds[:, 3], np.maximum.reduceat(pts[:, 1], pstart[:-1]))
    x0 = minx - pad * c
    y1 = maxy + pad * c
    cols = np.ceil((maxx - minx) / c).astype(np.int64) + 2 * pad + 1
    rows = np.ceil((maxy - miny) / c).astype(np.int64) + 2 * pad + 1
    lightest = np.minimum.reduceat(np.where(ww > 0, ww, np.inf), pstart[:-1])
    tol = 1e-9 * np.where(np.isfinite(lightest), lightest, 1.0) * kernel_least
    here = (np.isin(shapely.get_type_id(geoms), (3, 6)) & np.asarray(shapely.is_valid(geoms))
            & (rows * cols <= AREA_CELLS))
    coords, ring_bounds, area_rings = _rings(geoms)
    bar, rr = barred_cells(r, c)
    batch: list[int] = []
    cells = points = 0
    for a in [*np.flatnonzero(here).tolist(), -1]:
        if a >= 0 and (not batch or (cells + rows[a] * cols[a] <= BATCH_CELLS
                                     and points + sizes[a] <= BATCH_POINTS)):
            batch.append(a)
            cells += int(rows[a] * cols[a])
            points += int(sizes[a])
            continue
        if batch:
            check(should_stop, "while splitting areas into places")
            chosen = np.asarray(batch, dtype=np.int64)
            found = _batch(native, chosen, pts, ww, pstart, x0, y1, rows, cols, bounds, tol,
                           split, geoms, coords, ring_bounds, area_rings, c, kernel, ki, kj,
                           kval, r, disc, bar, rr, min_incidents)
            for a_, peaks in zip(batch, found, strict=True):
                out[a_] = peaks
        batch, cells, points = ([a], int(rows[a] * cols[a]), int(sizes[a])) if a >= 0 \
            else ([], 0, 0)
    return out


def _rings(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The coordinates of every ring of every (Multi)Polygon of ``geoms`` ((m, 2), each ring
    closed, the areas in order), where each ring starts (the end last) and each area's first
    ring (its end last): :func:`hotspot.place_grid.ring_coordinates` of each area, at once."""
    parts, part_area = shapely.get_parts(geoms, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
    ring_bounds = np.searchsorted(coord_ring, np.arange(len(rings) + 1)).astype(np.int64)
    area_rings = np.searchsorted(part_area[ring_part], np.arange(len(geoms) + 1))
    return np.ascontiguousarray(coords), ring_bounds, area_rings.astype(np.int64)


def _batch(native: ModuleType, chosen: np.ndarray, pts: np.ndarray, w: np.ndarray,
           pstart: np.ndarray, x0: np.ndarray, y1: np.ndarray, rows: np.ndarray,
           cols: np.ndarray, bounds: np.ndarray, tol: np.ndarray, split: np.ndarray,
           geoms: np.ndarray, coords: np.ndarray, ring_bounds: np.ndarray,
           area_rings: np.ndarray, c: float, kernel: np.ndarray, ki: np.ndarray,
           kj: np.ndarray, kval: np.ndarray, r: float, disc: Disc, bar: np.ndarray, rr: int,
           min_incidents: int) -> list[AreaPeaks | None]:
    """The peaks of the areas ``chosen`` (positions in the arrays of :func:`area_peaks`), by
    the two compiled calls and one GEOS call between them."""
    kr = kernel.shape[0] // 2
    first, last = int(chosen[0]), int(chosen[-1])
    if last - first + 1 == chosen.size:  # a run of areas: their points are one slice
        p = pstart[first:last + 2] - pstart[first]
        q, qw = pts[pstart[first]:pstart[last + 1]], w[pstart[first]:pstart[last + 1]]
    else:
        p = np.concatenate([[0], np.cumsum(pstart[chosen + 1] - pstart[chosen])]).astype(np.int64)
        q = np.concatenate([pts[pstart[a]:pstart[a + 1]] for a in chosen.tolist()])
        qw = np.concatenate([w[pstart[a]:pstart[a + 1]] for a in chosen.tolist()])
    nr, nc = rows[chosen], cols[chosen]
    gstart = np.concatenate([[0], np.cumsum(nr * nc)]).astype(np.int64)
    density = np.zeros(int(gstart[-1]))
    state = np.zeros(int(gstart[-1]), dtype=np.int8)
    ax0, ay1 = np.ascontiguousarray(x0[chosen]), np.ascontiguousarray(y1[chosen])
    done = native.area_grids(q, qw, p, ax0, ay1, nr, nc, np.ascontiguousarray(bounds[chosen]),
                             c, kr, ki, kj, kval, place_grid._FFT_FROM, coords, ring_bounds,
                             area_rings[chosen], area_rings[chosen + 1], gstart, density,
                             state)
    for t in np.flatnonzero(~done).tolist():  # many cells to smooth: by FFT, as AreaGrid does
        g0, g1 = gstart[t], gstart[t + 1]
        full = np.asarray(fftconvolve(density[g0:g1].reshape(nr[t], nc[t]), kernel, mode="full"))
        density[g0:g1] = full[kr:kr + nr[t], kr:kr + nc[t]].ravel()
    done[:] = True
    unsure = np.flatnonzero(state == 2)
    if unsure.size:  # cells a hair from an edge: asked of GEOS (its boundary counts as in)
        of = np.searchsorted(gstart, unsure, side="right") - 1
        i, j = np.divmod(unsure - gstart[of], nc[of])
        prepared = prepared_copies(geoms[chosen[np.unique(of)]])
        which = np.searchsorted(np.unique(of), of)
        state[unsure] = shapely.intersects_xy(prepared[which], ax0[of] + (j + 0.5) * c,
                                              ay1[of] - (i + 0.5) * c)
    n = int(p[-1])
    place_of = np.full(n, -1, dtype=np.int64)
    peak_cell = np.full(n, -1, dtype=np.int64)
    peak_density = np.zeros(n)
    made = np.full(chosen.size, -1, dtype=np.int64)
    native.area_places(q, qw, p, ax0, ay1, nr, nc, gstart, density, state,
                       np.ascontiguousarray(tol[chosen]), done,
                       np.ascontiguousarray(split[chosen]), r, disc.sure, disc.ring, disc.sign,
                       c, rr + 2, kr, ki, kj, kval, bar, rr, place_grid._FFT_FROM, _TIE,
                       min_incidents, place_of, peak_cell, peak_density, made)
    out: list[AreaPeaks | None] = []
    for t in range(chosen.size):
        k = int(made[t])
        if k < 0:
            out.append(None)
            continue
        cell = peak_cell[p[t]:p[t] + k]
        cell = cell[cell >= 0]
        i, j = np.divmod(cell, nc[t])
        centres = np.column_stack([ax0[t] + (j + 0.5) * c, ay1[t] - (i + 0.5) * c])
        out.append(AreaPeaks(centres, peak_density[p[t]:p[t] + cell.size].copy(),
                             place_of[p[t]:p[t + 1]] if split[chosen[t]] else None))
    return out
