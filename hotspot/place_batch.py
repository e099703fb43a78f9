"""The peaks of many hotspot areas in two compiled calls, for :mod:`hotspot.places`.

A split (:func:`hotspot.places.split_places`) makes each area's density grid
(:class:`hotspot.place_grid.AreaGrid`) and takes its places one after the other. For a large
area that is a few compiled calls among much compiled work; for a small one (tens of
incidents, the usual area of a force's own data) the calls around the work cost more than the
work: a hundred Python-level steps an area. Here the areas' grids are made by
:func:`hotspot._gridnative.area_grids` and their places taken by
:func:`hotspot._gridnative.area_places`, each one call for a batch of areas (up to
:data:`BATCH_POINTS` incidents), with the same
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
               should_stop: ShouldStop | None = None,
               most: int | None = None) -> list[AreaPeaks | None]:
    """The peaks of each area: its points ``xy[members[a]]`` ((n, 2) metres, n >= 1) and
    weights ``w[members[a]]``, its polygon ``geoms[a]``; split into places no wider than
    ``d`` metres (``split[a]``: the steps of :func:`hotspot.places._split_area`, with its
    ``disc``) or kept whole (the densest cell of its grid). None for an area left to the
    per-area steps (see the module docstring). The areas are made in batches of at most
    :data:`BATCH_POINTS` incidents and about :data:`BATCH_CELLS` cells (each batch's points
    copied, no more), ``should_stop`` checked between them. With ``most`` (the limit of
    places), the areas are made in order until their peaks would pass it: that area and those
    after it are None (the per-area steps refuse them as the limit says), so no more than
    ``most`` peaks are made here."""
    k = len(members)
    out: list[AreaPeaks | None] = [None] * k
    if k == 0:
        return out
    r = d / 2
    c = d / CELLS_PER_PLACE
    kernel, ki, kj, kval = _kernel((r - 1.5 * c) / c)
    bar, rr = barred_cells(r, c)
    bounds = np.ascontiguousarray(shapely.bounds(geoms))
    setup = _Setup(xy, w, members, geoms, bounds, split, *_rings(geoms), c, kernel, ki, kj,
                   kval, r, disc, bar, rr, min_incidents, native)
    sizes = np.array([m.size for m in members], dtype=np.int64)
    pad = setup.kr + 2
    # the grid of each area's polygon (its points may reach beyond: known per batch)
    cells = ((np.ceil((bounds[:, 2] - bounds[:, 0]) / c) + 2 * pad + 1)
             * (np.ceil((bounds[:, 3] - bounds[:, 1]) / c) + 2 * pad + 1))
    here = (np.isin(shapely.get_type_id(geoms), (3, 6)) & np.asarray(shapely.is_valid(geoms))
            & (cells <= AREA_CELLS))
    batch: list[int] = []
    in_cells = points = 0.0
    left = int(sizes.sum()) if most is None else min(int(most), int(sizes.sum()))
    for a in [*np.flatnonzero(here).tolist(), -1]:
        if a >= 0 and (not batch or (in_cells + cells[a] <= BATCH_CELLS
                                     and points + sizes[a] <= BATCH_POINTS)):
            batch.append(a)
            in_cells += cells[a]
            points += sizes[a]
            continue
        if batch:
            check(should_stop, "while splitting areas into places")
            chosen = np.asarray(batch, dtype=np.int64)
            budget = int(min(points, left))  # (places are never more than points)
            found, made, stopped = _batch(setup, chosen, budget)
            for a_, peaks in found.items():
                out[a_] = peaks
            left -= made
            if stopped:
                break
        batch, in_cells, points = ([a], cells[a], sizes[a]) if a >= 0 else ([], 0.0, 0.0)
    return out


@dataclass
class _Setup:
    """What every batch of one :func:`area_peaks` works from: the incidents, the areas (their
    members, polygons, polygons' bounds, whether each is split, and their rings:
    :func:`_rings`), the grid's cells (``c`` metres) and kernel, the place's radius ``r``,
    disc and barred cells, ``min_incidents`` and the compiled steps."""

    xy: np.ndarray
    w: np.ndarray
    members: Sequence[np.ndarray]
    geoms: np.ndarray
    bounds: np.ndarray
    split: np.ndarray
    coords: np.ndarray
    ring_bounds: np.ndarray
    area_rings: np.ndarray
    c: float
    kernel: np.ndarray
    ki: np.ndarray
    kj: np.ndarray
    kval: np.ndarray
    r: float
    disc: Disc
    bar: np.ndarray
    rr: int
    min_incidents: int
    native: ModuleType

    @property
    def kr(self) -> int:
        """The kernel's reach, cells."""
        return int(self.kernel.shape[0] // 2)


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


def _batch(s: _Setup, chosen: np.ndarray,
           most: int) -> tuple[dict[int, AreaPeaks | None], int, bool]:
    """The peaks of the areas ``chosen`` (positions in the arguments of :func:`area_peaks`),
    by the two compiled calls and one GEOS call between them; an area whose grid, with its
    points, is over :data:`AREA_CELLS` cells is left out (None). Made in order until the
    peaks would pass ``most`` (then that area and those after it are None); returns the peaks
    made and whether it stopped there."""
    kr, c = s.kr, s.c
    idx = np.concatenate([s.members[a] for a in chosen.tolist()])
    q = np.ascontiguousarray(s.xy[idx])
    qw = np.ascontiguousarray(s.w[idx])
    p = np.concatenate([[0], np.cumsum([s.members[a].size for a in chosen.tolist()])])
    p = p.astype(np.int64)
    # each area's grid, as AreaGrid makes it: over its polygon and its points, padded
    gb = s.bounds[chosen]
    minx = np.minimum(gb[:, 0], np.minimum.reduceat(q[:, 0], p[:-1]))
    miny = np.minimum(gb[:, 1], np.minimum.reduceat(q[:, 1], p[:-1]))
    maxx = np.maximum(gb[:, 2], np.maximum.reduceat(q[:, 0], p[:-1]))
    maxy = np.maximum(gb[:, 3], np.maximum.reduceat(q[:, 1], p[:-1]))
    pad = kr + 2
    nc = np.ceil((maxx - minx) / c).astype(np.int64) + 2 * pad + 1
    nr = np.ceil((maxy - miny) / c).astype(np.int64) + 2 * pad + 1
    fits = nr.astype(np.float64) * nc <= AREA_CELLS  # (no int64 wrap for absurd spans)
    if not fits.all():  # points far beyond their polygon: those areas are left out
        out: dict[int, AreaPeaks | None] = dict.fromkeys(chosen.tolist())
        if not fits.any():
            return out, 0, False
        inner, total, stopped = _batch(s, chosen[fits], most)
        out.update(inner)
        return out, total, stopped
    ax0, ay1 = minx - pad * c, maxy + pad * c
    lightest = np.minimum.reduceat(np.where(qw > 0, qw, np.inf), p[:-1])
    tol = (1e-9 * np.where(np.isfinite(lightest), lightest, 1.0)
           * float(s.kernel[s.kernel > 0].min()))
    gstart = np.concatenate([[0], np.cumsum(nr * nc)]).astype(np.int64)
    density = np.zeros(int(gstart[-1]))
    state = np.zeros(int(gstart[-1]), dtype=np.int8)
    smoothed = s.native.area_grids(
        q, qw, p, ax0, ay1, nr, nc, np.ascontiguousarray(gb), c, kr, s.ki, s.kj, s.kval,
        place_grid._FFT_FROM, s.coords, s.ring_bounds, s.area_rings[chosen],
        s.area_rings[chosen + 1], gstart, density, state)
    for t in np.flatnonzero(~smoothed).tolist():  # too many cells: by FFT, as AreaGrid does
        g0, g1 = gstart[t], gstart[t + 1]
        full = np.asarray(fftconvolve(density[g0:g1].reshape(nr[t], nc[t]), s.kernel,
                                      mode="full"))
        density[g0:g1] = full[kr:kr + nr[t], kr:kr + nc[t]].ravel()
    unsure = np.flatnonzero(state == 2)
    if unsure.size:  # cells a hair from an edge: asked of GEOS (its boundary counts as in)
        of = np.searchsorted(gstart, unsure, side="right") - 1
        i, j = np.divmod(unsure - gstart[of], nc[of])
        asked = np.unique(of)
        prepared = prepared_copies(s.geoms[chosen[asked]])
        state[unsure] = shapely.intersects_xy(prepared[np.searchsorted(asked, of)],
                                              ax0[of] + (j + 0.5) * c, ay1[of] - (i + 0.5) * c)
    n = int(p[-1])
    place_of = np.full(n, -1, dtype=np.int64)
    peak_cell = np.full(n, -1, dtype=np.int64)
    peak_density = np.zeros(n)
    made = np.full(chosen.size, -1, dtype=np.int64)
    split = np.ascontiguousarray(s.split[chosen])
    total, stopped = s.native.area_places(
        q, qw, p, ax0, ay1, nr, nc, gstart, density, state, tol, split, s.r, s.disc.sure,
        s.disc.ring, s.disc.sign, c, s.rr + 2, kr, s.ki, s.kj, s.kval, s.bar, s.rr,
        place_grid._FFT_FROM, _TIE, s.min_incidents, place_of, peak_cell, peak_density, made,
        int(most))
    found: dict[int, AreaPeaks | None] = {}
    for t, a in enumerate(chosen.tolist()):
        k = int(made[t])
        if k < 0:
            found[a] = None
            continue
        cell = peak_cell[p[t]:p[t] + k]
        cell = cell[cell >= 0]
        i, j = np.divmod(cell, nc[t])
        centres = np.column_stack([ax0[t] + (j + 0.5) * c, ay1[t] - (i + 0.5) * c])
        found[a] = AreaPeaks(centres, peak_density[p[t]:p[t] + cell.size].copy(),
                             place_of[p[t]:p[t + 1]] if split[t] else None)
    return found, int(total), bool(stopped)
