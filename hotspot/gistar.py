"""Getis-Ord Gi* hot and cold spots on a grid, with false-discovery-rate control.

Incidents are counted (or their weights summed: harm) on a square grid of ``cell_size_m``
cells; every cell of the study area is an observation, empty cells included. The local
statistic of cell *i* (Getis & Ord 1992; Ord & Getis 1995, eq. 4, the "star" form that counts
the cell itself) is the z-score

    Gi* = (sum_j w_ij x_j - xbar W_i) / (S sqrt((n S1_i - W_i^2) / (n - 1)))

with ``x`` the cell counts, ``n`` the number of study cells, ``xbar`` and ``S`` their mean and
(population) standard deviation, ``W_i = sum_j w_ij`` and ``S1_i = sum_j w_ij^2`` (both the
number of neighbours with binary weights, the cell itself included). This is the statistic of
Esri's Hot Spot Analysis and PySAL's ``esda.G_Local(star=True, transform="B").Zs``. P-values
are two-sided from the standard normal.

- **Study area.** The cells whose centre lies inside ``boundary`` (a shapely polygon in the
  same CRS, such as the force area), else every cell of the grid. Only study cells are
  observations, neighbours, or part of the mean and s.d.; incidents in other cells are
  ignored. Without ``bounds`` the grid covers the boundary's bounds, or the incidents' extent
  padded by the neighbourhood's reach. Cells are half-open: ``[x0 + j c, x0 + (j + 1) c)``.
- **Neighbourhood (binary weights).** Either a *distance band*: every study cell whose centre
  is within ``distance_m`` of the cell's centre (inclusive), itself included; cells at the edge
  of the study area simply have fewer neighbours. Or the *k nearest* study cells by centre
  distance, plus every cell tied with the k-th (grid distances tie a lot: the 4 cells at one
  cell's distance, the 4 diagonals...), plus the cell itself: ``k=8`` is the 3 x 3 block,
  ``k=4`` the rook cross, ``k=6`` also 3 x 3 (ties kept). At an edge the k nearest reach
  further out (an adaptive band), so every cell has at least k neighbours.
- **Default neighbourhood: a band of 1.5 cells**, the smallest that gives every interior cell
  its 8 surrounding cells (the diagonal is at sqrt(2) = 1.41 cells; 1.5 keeps it clear of
  rounding). A hot spot is then a cell that is busy *and* sits among busy cells, at the scale
  of a few cells (300 m at 100 m cells: a patrol beat), not a smoothed district. Esri's
  rules of thumb (the distance at which every feature has one neighbour, or the peak of
  incremental spatial autocorrelation) pick county-scale bands on police data whose points
  recur month after month; give ``distance_m`` for a wider view.
- **Significance.** Benjamini-Hochberg false-discovery-rate control by default, as Esri's
  Optimized Hot Spot Analysis: a cell is significant at 90/95/99 % when its p-value passes BH
  at alpha 0.10/0.05/0.01 over all study cells. ``confidence`` is Esri's ``Gi_Bin``: +3/+2/+1
  hot at 99/95/90 %, -1/-2/-3 cold, 0 not significant. With ``fdr=False`` the plain p-value
  is compared with alpha (many false hot spots on a large grid).
- **Sparse grids.** The normal p-values assume many incidents per neighbourhood. On fine
  cells most blocks are empty and the normal tail is far too thin: under complete spatial
  randomness (uniform points; figures in docs/benchmarks.md), 10,000
  incidents on 100 m cells over 60 x 60 km make 9,547 "hot" cells after FDR, one block around
  nearly every incident; 100,000 make 471; 1,000,000 (2.8 a cell) 7. Esri's tool behaves the
  same (its Optimized Hot Spot Analysis chooses coarse cells for this reason). With
  ``p_values="poisson"`` the p-value is instead the exact two-sided Poisson test of the
  neighbourhood's count ``s`` against ``W_i xbar`` (``2 min(P(X >= s), P(X <= s))``, capped at
  1): the z-score stays Gi*'s, and random points give no hot cells at any of those densities.
  It assumes variance = mean: on real, over-dispersed crime it calls more cells hot than the
  normal (Essex, 100 m: 453 hotspots on 6.6 % of the force area, against 341 on 1.8 %). With
  ``p_values="empirical"`` the null is a sum of W_i cells drawn at random from the grid's own
  counts (the exact law, by FFT convolution of their histogram): no false hot cells on random
  points either, and it allows for over-dispersion, so an isolated busy map point among empty
  cells is not a cluster; on the Essex months, where single points hold hundreds of crimes,
  nothing passes FDR at 50 or 100 m. The default stays Esri's normal p-values.
- **Cost.** Binning is one ``numpy.bincount``; the neighbourhood sums are a correlation of the
  grid with the disc (``scipy.ndimage`` for small discs, FFT for large ones), so the cost
  grows with cells, not incidents x cells. The k-nearest rule uses the same disc inside the
  study area and a k-d tree for the few edge cells.

This module holds the result (:class:`GiStarGrid`), the significance and the hotspot areas; the
grid's layout, the neighbourhoods and the statistic itself are in :mod:`hotspot.gistar_grid`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
from scipy.ndimage import label

from hotspot.cancel import EVERY, ShouldStop, check
from hotspot.errors import InvalidParameter, WorkLimitExceeded
from hotspot.gistar_grid import (
    DEFAULT_BAND_CELLS,
    P_VALUES,
    CellGrid,
    Neighbourhood,
    cell_boxes,
    check_p_values,
    check_points,
    gi_star,
    lay_out_grid,
)
from hotspot.kde import MAX_CELLS, union_of_cells
from hotspot.points import as_xy

ALPHAS = (0.10, 0.05, 0.01)
"""Significance levels of confidence 1, 2 and 3 (90, 95 and 99 %)."""
LEVELS = {90: 1, 95: 2, 99: 3}
"""Confidence (per cent) to the ``confidence`` grid's level."""


@dataclass(frozen=True)
class GiStarGrid(CellGrid):
    """Gi* z-scores of the cells of a grid; ``[row, col]`` arrays with row 0 at the north edge.

    Attributes
    ----------
    origin
        (west, north) edges of the grid, metres in ``crs``.
    cell_size_m
        Cell side, metres.
    shape
        (rows, columns).
    counts
        Incidents (or summed weights) in each cell; 0 outside the study area.
    z, p
        Gi* z-score and two-sided p-value of each study cell; NaN outside it.
    confidence
        int8: +3/+2/+1 hot spot at 99/95/90 %, -1/-2/-3 cold spot, 0 not significant (and
        outside the study area); with FDR control when ``fdr``.
    in_study
        Cells that are observations (centre inside the boundary).
    neighbours
        Study cells in each cell's neighbourhood, itself included (``W_i``); 0 outside.
    distance_m, k
        The neighbourhood used: a distance band in metres, or k nearest cells (the other None).
    fdr
        Whether significance is Benjamini-Hochberg controlled.
    crs
        The projected CRS of the coordinates (None when not given).
    """

    origin: tuple[float, float]
    cell_size_m: float
    shape: tuple[int, int]
    counts: np.ndarray
    z: np.ndarray
    p: np.ndarray
    confidence: np.ndarray
    in_study: np.ndarray
    neighbours: np.ndarray
    distance_m: float | None
    k: int | None
    fdr: bool
    crs: str | None = None

    @property
    def transform(self) -> tuple[float, float, float, float, float, float]:
        """Affine (a, b, c, d, e, f): x = c + a * col, y = f + e * row (cell corners)."""
        c = self.cell_size_m
        return (c, 0.0, self.origin[0], 0.0, -c, self.origin[1])

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(minx, miny, maxx, maxy) of the grid in metres."""
        rows, cols = self.shape
        c = self.cell_size_m
        x0, y1 = self.origin
        return (x0, y1 - rows * c, x0 + cols * c, y1)

    @property
    def study_cells(self) -> int:
        """Number of observations (cells of the study area)."""
        return int(self.in_study.sum())



def gi_star_grid(
    xy: np.ndarray,
    *,
    cell_size_m: float,
    weights: np.ndarray | None = None,
    bounds: tuple[float, float, float, float] | None = None,
    boundary: Any = None,
    distance_m: float | None = None,
    k: int | None = None,
    fdr: bool = True,
    p_values: str = "normal",
    max_cells: int | None = MAX_CELLS,
    crs: str | None = None,
    should_stop: ShouldStop | None = None,
) -> GiStarGrid:
    """Getis-Ord Gi* of the incidents counted on a grid, with hot/cold confidence per cell.

    Parameters
    ----------
    xy
        (n, 2) projected coordinates, metres (``crs``; see :func:`hotspot.points.as_xy`).
    cell_size_m
        Cell side, metres.
    weights
        Weight of each incident (harm); 1 each by default.
    bounds
        (minx, miny, maxx, maxy) of the grid, metres; default the boundary's bounds, or the
        incidents' extent padded by the neighbourhood's reach.
    boundary
        Shapely polygon (same CRS): the study area is the cells whose centre is inside it.
        None: every cell of the grid.
    distance_m
        Distance band, metres (at least ``cell_size_m``); default ``1.5 * cell_size_m`` (the
        3 x 3 block) unless ``k`` is given.
    k
        Use the k nearest study cells instead (ties with the k-th kept; the cell itself added).
    fdr
        Benjamini-Hochberg control of the false discovery rate over the study cells.
    p_values
        ``"normal"`` (Esri, esda: two-sided from the standard normal), ``"poisson"``
        (two-sided exact Poisson test of the neighbourhood's count against W_i times the mean
        count) or ``"empirical"`` (against the sum of W_i cells drawn from the grid's counts);
        the last two take incident counts only, no weights: see "Sparse grids" above.
    max_cells
        Refuse grids of more cells than this (None: no limit).
    crs
        Stored on the result.
    should_stop
        Checked between stages (:mod:`hotspot.cancel`).

    Raises
    ------
    InvalidParameter
        Bad cell size, band, k, weights, bounds or boundary; fewer than two study cells.
    WorkLimitExceeded
        A grid of more than ``max_cells`` cells (``parameter="cell_size_m"``).
    """
    xy, w = check_points(xy, weights)
    check_p_values(p_values, weights)
    layout = lay_out_grid(xy, cell_size_m, bounds, boundary, distance_m, k, max_cells)
    check(should_stop, "after laying out the grid")
    counts = layout.count(xy, w)
    nb = Neighbourhood(layout.in_study, layout.cell, distance_m=layout.distance_m, k=k)
    check(should_stop, "after the neighbourhood")
    z, p = gi_star(counts, layout.in_study, nb, p_values=p_values)
    check(should_stop, "before the significance")
    conf = confidence_levels(z, p, layout.in_study, fdr=fdr)
    return GiStarGrid(
        origin=layout.origin, cell_size_m=layout.cell, shape=layout.shape, counts=counts,
        z=z, p=p, confidence=conf, in_study=layout.in_study,
        neighbours=nb.size.astype(np.int32), distance_m=layout.distance_m, k=k, fdr=bool(fdr),
        crs=crs,
    )


def fdr_threshold(p: np.ndarray, alpha: float) -> float:
    """Benjamini-Hochberg cut-off: the largest p-value p_(i) with p_(i) <= i * alpha / m
    (m tests, p sorted ascending). Reject every p <= the cut-off; 0.0 when none passes (then
    no p-value is 0, so none is rejected)."""
    return _fdr_thresholds(np.sort(np.asarray(p, dtype=np.float64).ravel()), (alpha,))[0]


def _fdr_thresholds(ordered: np.ndarray, alphas: tuple[float, ...], *,
                    m: int | None = None) -> list[float]:
    """BH cut-offs of the ``m`` tests whose smallest p-values are ``ordered`` (ascending; all
    of them when ``m`` is None: p-values above every alpha can be left out)."""
    m = ordered.size if m is None else m
    rank = np.arange(1, ordered.size + 1) / m if m else np.empty(0)
    out = []
    for alpha in alphas:
        ok = np.flatnonzero(ordered <= alpha * rank)
        out.append(float(ordered[ok[-1]]) if ok.size else 0.0)
    return out


def confidence_levels(z: np.ndarray, p: np.ndarray, in_study: np.ndarray, *,
                      fdr: bool = True) -> np.ndarray:
    """Esri's Gi_Bin: +3/+2/+1 hot (z > 0) at 99/95/90 %, -1..-3 cold, 0 otherwise (int8).

    With ``fdr`` a cell is significant at a level when its p-value passes Benjamini-Hochberg
    at that alpha (:data:`ALPHAS`) over the study cells; else when p <= alpha."""
    ps = p[in_study]
    if fdr:  # only p <= the largest alpha can pass; m counts every study cell
        small = np.sort(ps[ps <= max(ALPHAS)])
        cuts = _fdr_thresholds(small, ALPHAS, m=ps.size)
    else:
        cuts = list(ALPHAS)
    level = np.zeros(ps.shape, dtype=np.int8)
    for cut in cuts:  # the cut-offs shrink with alpha: each level passed adds one
        level += ps <= cut
    level[z[in_study] < 0] *= -1
    conf = np.zeros(z.shape, dtype=np.int8)
    conf[in_study] = level
    return conf


@dataclass
class GiStarHotspots:
    """Gi* hotspots: contiguous significant hot cells (estimator).

    Parameters
    ----------
    cell_size_m, distance_m, k, fdr, p_values, bounds, boundary, max_cells
        As in :func:`gi_star_grid`. Default 100 m cells and a 150 m band (3 x 3 cells).
    confidence
        90, 95 or 99: hotspot cells are hot at this confidence or more.
    min_incidents
        Drop hotspots holding fewer incidents than this.
    max_areas
        Refuse (:class:`~hotspot.errors.WorkLimitExceeded`) more hotspots than this, counted
        before any polygon is drawn; None: no limit.

    Attributes (after :meth:`fit`)
    ------------------------------
    grid_
        The :class:`GiStarGrid`.
    labels_
        Hotspot of each input incident (-1 outside every hotspot).
    hotspots_
        GeoDataFrame: ``cluster``, ``incidents``, ``weight``, ``cells``, ``z_max``,
        ``confidence`` (90/95/99: the best of its cells), ``geometry`` (its cells, merged;
        8-connected cells make one hotspot).
    """

    cell_size_m: float = 100.0
    distance_m: float | None = None
    k: int | None = None
    fdr: bool = True
    p_values: str = "normal"
    confidence: int = 95
    min_incidents: int = 1
    bounds: tuple[float, float, float, float] | None = None
    boundary: Any = None
    max_cells: int | None = MAX_CELLS
    max_areas: int | None = None
    grid_: GiStarGrid = field(init=False, repr=False)
    labels_: np.ndarray = field(init=False, repr=False)
    hotspots_: gpd.GeoDataFrame = field(init=False, repr=False)

    def fit(
        self, X: Any, y: Any = None, sample_weight: np.ndarray | None = None, *,  # noqa: N803
        crs: Any = None, should_stop: ShouldStop | None = None,
    ) -> GiStarHotspots:
        """Compute Gi* of ``X`` on the grid and draw its significant hot areas.

        Raises
        ------
        InvalidParameter
            A parameter out of range (the message names it).
        WorkLimitExceeded
            A grid over ``max_cells``, or more than ``max_areas`` hotspots.
        AnalysisCancelled
            ``should_stop`` answered True.
        """
        if self.confidence not in LEVELS:
            raise InvalidParameter(f"confidence must be 90, 95 or 99 (per cent), not "
                                   f"{self.confidence!r}", parameter="confidence")
        if not isinstance(self.min_incidents, (int, np.integer)) or self.min_incidents < 1:
            raise InvalidParameter(f"min_incidents must be a whole number at least 1, not "
                                   f"{self.min_incidents!r}", parameter="min_incidents")
        xy, crs_ = as_xy(X, crs)
        self.grid_ = gi_star_grid(
            xy, cell_size_m=self.cell_size_m, weights=sample_weight, bounds=self.bounds,
            boundary=self.boundary, distance_m=self.distance_m, k=self.k, fdr=self.fdr,
            p_values=self.p_values,
            max_cells=self.max_cells, crs=crs_, should_stop=should_stop,
        )
        w = np.ones(xy.shape[0]) if sample_weight is None else np.asarray(sample_weight, float)
        self.labels_, self.hotspots_ = hot_areas(
            self.grid_, xy, w, level=LEVELS[self.confidence],
            min_incidents=int(self.min_incidents), max_areas=self.max_areas,
            should_stop=should_stop)
        return self


def gistar_hotspots(
    points: Any, *, crs: Any = None, sample_weight: np.ndarray | None = None, **options: Any
) -> gpd.GeoDataFrame:
    """Hotspots of :class:`GiStarHotspots` fitted on ``points`` (the functional twin)."""
    return GiStarHotspots(**options).fit(points, sample_weight=sample_weight, crs=crs).hotspots_


def hot_areas(
    grid: GiStarGrid, xy: np.ndarray, weights: np.ndarray, *, level: int = 2,
    min_incidents: int = 1, max_areas: int | None = None,
    should_stop: ShouldStop | None = None,
) -> tuple[np.ndarray, gpd.GeoDataFrame]:
    """Contiguous (8-connected) cells hot at ``level`` (1/2/3: 90/95/99 %) or more, as
    polygons, with the incidents whose cell falls in each (labels -1 elsewhere).

    Areas are counted before any polygon is drawn: more than ``max_areas`` areas of at least
    ``min_incidents`` incidents raise :class:`~hotspot.errors.WorkLimitExceeded`."""
    mask = grid.confidence >= level
    regions, count = label(mask, structure=np.ones((3, 3), dtype=bool))
    row, col = grid.cell_of(xy)
    on = row >= 0
    point_region = np.full(xy.shape[0], -1, dtype=np.int64)
    point_region[on] = regions[row[on], col[on]] - 1
    incidents = np.bincount(point_region[point_region >= 0], minlength=count)
    keep = np.flatnonzero(incidents >= min_incidents)
    if max_areas is not None and keep.size > max_areas:
        raise WorkLimitExceeded(
            f"Gi* finds {keep.size:,} hotspots of at least {min_incidents} incidents, more "
            f"than the limit of {max_areas:,} hotspots an analysis may describe: raise "
            "min_incidents or confidence, or narrow the selection",
            found=int(keep.size), limit=max_areas, parameter="min_incidents", kind="hotspots")
    remap = np.full(count + 1, -1, dtype=np.int64)
    remap[keep] = np.arange(keep.size)
    labels = remap[point_region]
    rr, cc = np.nonzero(mask)
    region_of_cell = regions[rr, cc] - 1
    order = np.argsort(region_of_cell, kind="stable")
    starts = np.searchsorted(region_of_cell[order], keep)
    ends = np.searchsorted(region_of_cell[order], keep, side="right")
    geoms: list[Any] = []
    z_max = np.empty(keep.size)
    best = np.empty(keep.size, dtype=np.int64)
    cells = (ends - starts).astype(np.int64)
    for i, (a, b) in enumerate(zip(starts, ends, strict=True)):
        if i % EVERY == 0:
            check(should_stop, "while drawing hotspot areas")
        idx = order[a:b]
        geoms.append(union_of_cells(cell_boxes(rr[idx], cc[idx], grid.origin,
                                               grid.cell_size_m)))
        z_max[i] = float(grid.z[rr[idx], cc[idx]].max())
        best[i] = int(grid.confidence[rr[idx], cc[idx]].max())
    kept = labels >= 0
    weight = np.bincount(labels[kept], weights=weights[kept], minlength=keep.size)
    percent = np.array([0, 90, 95, 99], dtype=np.int64)
    frame = gpd.GeoDataFrame(
        {
            "cluster": np.arange(keep.size),
            "incidents": incidents[keep].astype(np.int64),
            "weight": weight,
            "cells": cells,
            "z_max": z_max,
            "confidence": percent[best],
        },
        geometry=gpd.GeoSeries(geoms, crs=grid.crs),
        crs=grid.crs,
    )
    return labels, frame


__all__ = [
    "ALPHAS",
    "DEFAULT_BAND_CELLS",
    "LEVELS",
    "P_VALUES",
    "CellGrid",
    "GiStarGrid",
    "GiStarHotspots",
    "confidence_levels",
    "fdr_threshold",
    "gi_star_grid",
    "gistar_hotspots",
    "hot_areas",
]
