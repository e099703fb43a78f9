"""The candidates the backtest compares: the naive baseline (busiest cells), KDE cells, DBSCAN
places, Gi* cells, and :func:`default_candidates`, the list the product backtests.

Each function returns a :class:`~hotspot.backtest.candidate.Candidate`; coordinates are metres in
a projected CRS. The forecast is in :mod:`hotspot.backtest.squares`, the busiest cells with
informed ties in :mod:`hotspot.backtest.neighbourhood`.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from hotspot import coverage as cov
from hotspot._numeric import xy_bounds
from hotspot.backtest.candidate import (
    MAX_PLACE_M,
    MAX_PLACES,
    MIN_PLACE_M,
    Candidate,
    at_least,
    check_cell_size,
    ranked_cells,
    ranked_places,
    train_weights,
    train_xy,
)
from hotspot.backtest.neighbourhood import neighbourhood_cells
from hotspot.backtest.squares import forecast_squares
from hotspot.dbscan import DBSCANHotspots
from hotspot.gistar import gi_star_grid
from hotspot.kde import kde_grid
from hotspot.places import split_places, widest_extent_m


def naive_cells(cell_size_m: float, *, weighted: bool = False,
                max_places: int = MAX_PLACES) -> Candidate:
    """The busiest cells of the fitting months (the baseline): square cells of
    ``cell_size_m`` metres aligned on multiples of it, ranked by count (weight when
    ``weighted``), ties west to east then south to north."""
    check_cell_size(cell_size_m)

    def fit(train: pd.DataFrame, crs: str, boundary: BaseGeometry | None) -> gpd.GeoDataFrame:
        w = train_weights(train) if weighted else None
        col, row, count = cov.cell_counts(train_xy(train), cell_size_m, w)
        return ranked_cells(col, row, count, cell_size_m, crs, max_places)

    return Candidate(f"naive_{cell_size_m:g}m", "naive", fit,
                     {"cell_size_m": cell_size_m, "weighted": weighted})


def kde_cells(bandwidth_m: float, *, cell_size_m: float = 50.0,
              max_places: int = MAX_PLACES) -> Candidate:
    """Cells of a Gaussian KDE (:func:`hotspot.kde.kde_grid`, bandwidth ``bandwidth_m``) of
    ``cell_size_m`` metres, ranked by density (incidents weighted by ``weight``)."""
    check_cell_size(cell_size_m)

    def fit(train: pd.DataFrame, crs: str, boundary: BaseGeometry | None) -> gpd.GeoDataFrame:
        xy = train_xy(train)
        # the grid aligned on multiples of the cell size, like the baselines'
        bounds = np.asarray(xy_bounds(xy))
        lo = np.floor((bounds[:2] - 4 * bandwidth_m) / cell_size_m) * cell_size_m
        hi = np.ceil((bounds[2:] + 4 * bandwidth_m) / cell_size_m) * cell_size_m
        grid = kde_grid(xy, crs=crs, weights=train_weights(train), bandwidth_m=bandwidth_m,
                        cell_size_m=cell_size_m, bounds=(lo[0], lo[1], hi[0], hi[1]))
        values = grid.values
        flat = values.ravel()
        take = min(max_places, int((flat > 0).sum()))
        top = np.argpartition(-flat, take - 1)[:take] if take else np.empty(0, dtype=np.int64)
        rr, cc = np.unravel_index(top, values.shape)
        x0 = grid.x0 + cc * grid.cell_size_m
        y0 = grid.y1 - (rr + 1) * grid.cell_size_m
        col = np.round(x0 / cell_size_m).astype(np.int64)
        row = np.round(y0 / cell_size_m).astype(np.int64)
        return ranked_cells(col, row, values[rr, cc], cell_size_m, crs, max_places)

    return Candidate(f"kde_{bandwidth_m:g}m", "kde", fit,
                     {"bandwidth_m": bandwidth_m, "cell_size_m": cell_size_m})


def dbscan_places(eps_m: float, *, max_place_m: float = MAX_PLACE_M,
                  max_places: int = MAX_PLACES) -> Candidate:
    """DBSCAN clusters (:class:`hotspot.dbscan.DBSCANHotspots`, ``eps_m``, the automatic
    threshold) split into places no wider than ``max_place_m``
    (:func:`hotspot.places.split_places`), ranked by incidents per m2 of each place."""
    def fit(train: pd.DataFrame, crs: str, boundary: BaseGeometry | None) -> gpd.GeoDataFrame:
        xy = train_xy(train)
        est = DBSCANHotspots(eps_m=eps_m).fit(xy, crs=crs)
        geoms, count, cx, cy, parent = _dbscan_places(xy, est.labels_, est.hotspots_,
                                                      max_place_m, crs)
        geoms = at_least(geoms, MIN_PLACE_M)
        density = count / np.maximum(shapely.area(geoms), 1.0)
        _, inverse, times = np.unique(density, return_inverse=True, return_counts=True)
        tied = (times[inverse] > 1) & np.isnan(cx)
        if tied.any():  # the peaks of whole areas only break ties: drawn for those alone
            cx[tied], cy[tied] = _whole_area_peaks(xy, est.labels_, est.hotspots_,
                                                   parent[tied], max_place_m, crs)
        order = np.lexsort((cy, cx, -density))[:max_places]
        return ranked_places(geoms[order], density[order] * 1e6, crs)

    return Candidate(f"dbscan_{eps_m:g}m", "dbscan", fit,
                     {"eps_m": eps_m, "max_place_m": max_place_m})


def _dbscan_places(xy: np.ndarray, labels: np.ndarray, areas: gpd.GeoDataFrame,
                   max_place_m: float, crs: str
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The places of :func:`hotspot.places.split_places` (geometry, incidents, peak x, peak
    y, area) in its order, with the areas no wider than ``max_place_m`` (kept whole)
    taken as they are: split_places draws a density grid for each of them only to report
    its peak, which the DBSCAN candidate needs only to break ties (NaN here; see
    :func:`_whole_area_peaks`). The wide areas go to split_places as they would."""
    k = len(areas)
    shapes = np.asarray(areas.geometry.values, dtype=object)
    if k == 0:
        e = np.empty(0)
        return shapes, e, e, e.copy(), np.empty(0, dtype=np.int64)
    member = labels >= 0
    count = np.bincount(labels[member], minlength=k)
    wide = widest_extent_m(shapes) > max_place_m  # split_places' test, on the same areas
    whole = np.flatnonzero(~wide & (count > 0))
    parts_parent = [whole]
    parts = [(shapes[whole], count[whole].astype(np.float64), np.full(whole.size, np.nan),
              np.full(whole.size, np.nan))]
    ids = np.flatnonzero(wide)
    if ids.size:
        sub = member & np.isin(labels, ids)
        split = split_places(xy[sub], None, np.searchsorted(ids, labels[sub]),
                             areas.iloc[ids].reset_index(drop=True),
                             max_place_m=max_place_m, max_places=None, crs=crs,
                             place_widths=False)
        p = split.places
        parts_parent.append(ids[p["parent"].to_numpy()])
        parts.append((np.asarray(p.geometry.values, dtype=object),
                      p["incidents"].to_numpy(np.float64), p["peak_x"].to_numpy(np.float64),
                      p["peak_y"].to_numpy(np.float64)))
    parent = np.concatenate(parts_parent)
    order = np.argsort(parent, kind="stable")  # split_places' order: by area, then peak
    geoms, count_, px, py = (np.concatenate([q[i] for q in parts])[order] for i in range(4))
    return geoms, count_, px, py, parent[order]


def _whole_area_peaks(xy: np.ndarray, labels: np.ndarray, areas: gpd.GeoDataFrame,
                      which: np.ndarray, max_place_m: float, crs: str
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Peaks (x, y) of the whole areas ``which`` (rows of ``areas``, each no wider than
    ``max_place_m``), as :func:`hotspot.places.split_places` reports them."""
    ids = np.unique(which)
    sub = np.isin(labels, ids)
    split = split_places(xy[sub], None, np.searchsorted(ids, labels[sub]),
                         areas.iloc[ids].reset_index(drop=True), max_place_m=max_place_m,
                         max_places=None, crs=crs, place_widths=False)
    p = split.places
    at = np.searchsorted(ids[p["parent"].to_numpy()], which)
    return p["peak_x"].to_numpy(np.float64)[at], p["peak_y"].to_numpy(np.float64)[at]


def gistar_cells(cell_size_m: float, *, max_places: int = MAX_PLACES) -> Candidate:
    """Gi* (:func:`hotspot.gistar.gi_star_grid`, FDR on, the default neighbourhood) on cells
    of ``cell_size_m`` metres; occupied cells ranked by z-score (significant hot cells first),
    ties by count, then position."""
    check_cell_size(cell_size_m)

    def fit(train: pd.DataFrame, crs: str, boundary: BaseGeometry | None) -> gpd.GeoDataFrame:
        xy = train_xy(train)
        grid = gi_star_grid(xy, cell_size_m=cell_size_m, weights=train_weights(train),
                            boundary=boundary, crs=crs)
        ok = (grid.counts > 0) & np.isfinite(grid.z)
        rr, cc = np.nonzero(ok)
        ox, oy = grid.origin
        x0 = ox + cc * cell_size_m
        y0 = oy - (rr + 1) * cell_size_m
        z, n = grid.z[rr, cc], grid.counts[rr, cc]
        order = np.lexsort((y0, x0, -n, -z))[:max_places]
        x0, y0 = x0[order], y0[order]
        boxes = shapely.box(x0, y0, x0 + cell_size_m, y0 + cell_size_m)
        return ranked_places(np.asarray(boxes, dtype=object), z[order], crs)

    return Candidate(f"gistar_{cell_size_m:g}m", "gistar", fit, {"cell_size_m": cell_size_m})


def default_candidates(*, gistar: bool = True, dbscan: bool = True,
                       neighbourhood: bool = True) -> list[Candidate]:
    """The candidates of the module docstring: naive 50/100/250 m cells, KDE 50/100/200 m,
    DBSCAN eps 100/150 m (when ``dbscan``), Gi* 50/100 m (when ``gistar``), the forecast, and
    the busiest 50 m cells with ties broken by their neighbourhood
    (:func:`hotspot.backtest.neighbourhood.neighbourhood_cells`, when ``neighbourhood``).

    The DBSCAN candidates cost most (splitting their clusters into places: 2-4 s a fit of
    190,000 incidents, against 0.1-0.5 s for each other candidate; ``docs/backtest.md``) and
    have lost to the naive baseline on every data set tried: ``dbscan=False`` for a quick
    backtest."""
    out = [naive_cells(50.0), naive_cells(100.0), naive_cells(250.0),
           kde_cells(50.0), kde_cells(100.0), kde_cells(200.0)]
    if dbscan:
        out += [dbscan_places(100.0), dbscan_places(150.0)]
    if gistar:
        out += [gistar_cells(50.0), gistar_cells(100.0)]
    out.append(forecast_squares())
    if neighbourhood:
        out.append(neighbourhood_cells())
    return out
