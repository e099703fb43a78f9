"""Rolling-origin backtest of hotspot methods at equal area, and the choice of a method.

A hotspot map is a prediction ("patrol here next month"), so every method is judged on months it
did not see. :func:`rolling_origin` fits each **candidate** on months 1..k (all earlier months,
or the last ``fit_months``) and tests on month k+1, for every k, at equal shares of the force
area (0.1, 0.5 and 1 % by default: what a force can patrol); :func:`choose` picks the method
to ship. Coordinates are metres in a projected CRS (EPSG:27700 for Great Britain, EPSG:32618
for New York); areas are m2; the measures are those of :mod:`hotspot.coverage`.

Candidates
    A candidate is a name and a function ``fit(train, crs, boundary) -> places``: ``train`` a
    DataFrame with ``x``, ``y`` (metres), ``weight`` and ``month`` (an integer, consecutive
    months consecutive integers), ``boundary`` the force area (a shapely polygon, or None);
    ``places`` a GeoDataFrame of ranked places (best first) with ``geometry`` and ``score``.
    The backtest takes places in that order until the area budget is spent
    (:func:`hotspot.coverage.select_by_area`).

Fairness rule (every candidate obeys it; :func:`check_places` enforces it)
    Every place is a real patrol area **at least 50 m and at most 250 m across** (the sides of
    its bounding box, before clipping), so no candidate can raise its PAI with tiny polygons
    drawn round single map points, and none wins with a blob nobody can patrol in one visit.
    Area is the true area of the union of the places kept, clipped to the force boundary.
    Every candidate sees the same fitting incidents (those inside the boundary), and is tested
    on the same test incidents (those inside the boundary).

The candidates of :func:`default_candidates`
    ``naive_50m``, ``naive_100m``, ``naive_250m``  the busiest cells of the fitting months
        (cells of a fixed grid aligned on multiples of the cell size; ties by position, west
        to east then south to north): the baseline every method must beat;
    ``kde_<b>m``  cells of 50 m of a Gaussian KDE of bandwidth b, ranked by density;
    ``dbscan_<e>m``  DBSCAN clusters (eps e, the automatic threshold) split into places no
        wider than 250 m (:func:`hotspot.places.split_places`), ranked by their incidents per m2;
    ``gistar_<c>m``  Gi* cells of c m (FDR on), ranked by z-score: the significant hot cells
        first;
    ``forecast``  the method designed here to beat the baseline (:func:`forecast_squares`).
    ``cells_50m_nbr250m``  the busiest 50 m cells with ties broken by their neighbourhood's
        count, the budget filled with the empty cells nearest crime
        (:func:`hotspot.forecast.neighbourhood_cells`).

The forecast (:func:`forecast_squares`)
    data.police.uk moves every crime to one of a fixed set of anonymous map points, and the
    same points recur month after month, so the busiest small cells of past months predict
    well. The naive baseline loses some of that by its fixed grid: a cluster of points 30 m
    across that straddles a grid line is cut in two (or four) cells, each of which ranks low.
    The forecast counts (recency-weighted) incidents in every 50 m square on a 10 m lattice,
    adds a little of the smoothed neighbourhood count (a prior for squares whose own history
    is thin), and keeps the best squares greedily, each one not overlapping those kept before
    it (non-maximum suppression). Its places are the same 50 m squares as the finest baseline
    (same shape, same area), placed where the crime is rather than where the grid falls.

Choosing (:func:`choose`)
    The comparison is at equal area: ``pai_at_budget`` = H / s (hit rate over the share asked
    for), which is Chainey's PAI when the places fill the budget and does not reward a method
    for leaving budget unused. A candidate is *eligible* when its mean ``pai_at_budget`` over
    the folds is at least that of the best naive baseline at every share; among the eligible,
    the one with the best mean, over the shares, of its mean ``pai_at_budget`` relative to the
    best naive baseline's at that share wins (ties: the earlier candidate). When nothing
    beats the baselines everywhere, the naive baseline with the best relative mean wins: the
    product never ships a method that loses to the baseline on the force's own history.

Everything is deterministic: no randomness, ties broken by position.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.ndimage import gaussian_filter, maximum_filter
from shapely.geometry.base import BaseGeometry

from hotspot import coverage as cov
from hotspot.cancel import ShouldStop, check
from hotspot.errors import InvalidParameter

SHARES = (0.001, 0.005, 0.01)
"""Default area shares: 0.1, 0.5 and 1 % of the force area."""
MIN_PLACE_M = 50.0
"""Narrowest place allowed (bounding-box side, metres)."""
MAX_PLACE_M = 250.0
"""Widest place allowed (bounding-box side, metres)."""
MAX_PLACES = 25_000
"""Most places a candidate ranks (enough for 1 % of a 3,700 km2 county in 50 m squares)."""

FitFunction = Callable[[pd.DataFrame, str, BaseGeometry | None], gpd.GeoDataFrame]
"""``fit(train, crs, boundary) -> ranked places`` (see the module docstring)."""


@dataclass(frozen=True)
class Candidate:
    """A named, parameterised method: ``fit(train, crs, boundary)`` gives ranked places.

    ``family`` is ``naive``, ``kde``, ``dbscan``, ``gistar``, ``forecast`` (or the caller's
    own); ``params`` are the parameters (for reports and for fitting the chosen one again).
    """

    name: str
    family: str
    fit: FitFunction
    params: Mapping[str, Any] = field(default_factory=dict)


def _places(geoms: np.ndarray, score: np.ndarray, crs: str) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"score": np.asarray(score, dtype=np.float64)},
                            geometry=gpd.GeoSeries(geoms, crs=crs), crs=crs)


def _ranked_cells(col: np.ndarray, row: np.ndarray, score: np.ndarray, cell_size_m: float,
                  crs: str, max_places: int) -> gpd.GeoDataFrame:
    """Cells ranked by score (highest first), ties west to east then south to north."""
    order = np.lexsort((row, col, -score))[:max_places]
    return _places(cov.cell_boxes(col[order], row[order], cell_size_m), score[order], crs)


def _xy(train: pd.DataFrame) -> np.ndarray:
    return np.column_stack([train["x"].to_numpy(np.float64), train["y"].to_numpy(np.float64)])


def _weights(train: pd.DataFrame) -> np.ndarray:
    if "weight" in train:
        return train["weight"].to_numpy(np.float64)
    return np.ones(len(train))


# --- candidates -----------------------------------------------------------------------------


def naive_cells(cell_size_m: float, *, weighted: bool = False,
                max_places: int = MAX_PLACES) -> Candidate:
    """The busiest cells of the fitting months (the baseline): square cells of
    ``cell_size_m`` metres aligned on multiples of it, ranked by count (weight when
    ``weighted``), ties west to east then south to north."""
    _check_cell(cell_size_m)

    def fit(train: pd.DataFrame, crs: str, boundary: BaseGeometry | None) -> gpd.GeoDataFrame:
        w = _weights(train) if weighted else None
        col, row, count = cov.cell_counts(_xy(train), cell_size_m, w)
        return _ranked_cells(col, row, count, cell_size_m, crs, max_places)

    return Candidate(f"naive_{cell_size_m:g}m", "naive", fit,
                     {"cell_size_m": cell_size_m, "weighted": weighted})


def kde_cells(bandwidth_m: float, *, cell_size_m: float = 50.0,
              max_places: int = MAX_PLACES) -> Candidate:
    """Cells of a Gaussian KDE (:func:`hotspot.kde.kde_grid`, bandwidth ``bandwidth_m``) of
    ``cell_size_m`` metres, ranked by density (incidents weighted by ``weight``)."""
    _check_cell(cell_size_m)
    from hotspot.kde import kde_grid

    def fit(train: pd.DataFrame, crs: str, boundary: BaseGeometry | None) -> gpd.GeoDataFrame:
        xy = _xy(train)
        # the grid aligned on multiples of the cell size, like the baselines'
        lo = np.floor((xy.min(axis=0) - 4 * bandwidth_m) / cell_size_m) * cell_size_m
        hi = np.ceil((xy.max(axis=0) + 4 * bandwidth_m) / cell_size_m) * cell_size_m
        grid = kde_grid(xy, crs=crs, weights=_weights(train), bandwidth_m=bandwidth_m,
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
        return _ranked_cells(col, row, values[rr, cc], cell_size_m, crs, max_places)

    return Candidate(f"kde_{bandwidth_m:g}m", "kde", fit,
                     {"bandwidth_m": bandwidth_m, "cell_size_m": cell_size_m})


def dbscan_places(eps_m: float, *, max_place_m: float = MAX_PLACE_M,
                  max_places: int = MAX_PLACES) -> Candidate:
    """DBSCAN clusters (:class:`hotspot.dbscan.DBSCANHotspots`, ``eps_m``, the automatic
    threshold) split into places no wider than ``max_place_m``
    (:func:`hotspot.places.split_places`), ranked by incidents per m2 of each place."""
    from hotspot.dbscan import DBSCANHotspots

    def fit(train: pd.DataFrame, crs: str, boundary: BaseGeometry | None) -> gpd.GeoDataFrame:
        xy = _xy(train)
        est = DBSCANHotspots(eps_m=eps_m).fit(xy, crs=crs)
        geoms, count, cx, cy, parent = _dbscan_places(xy, est.labels_, est.hotspots_,
                                                      max_place_m, crs)
        geoms = _at_least(geoms, MIN_PLACE_M)
        density = count / np.maximum(shapely.area(geoms), 1.0)
        _, inverse, times = np.unique(density, return_inverse=True, return_counts=True)
        tied = (times[inverse] > 1) & np.isnan(cx)
        if tied.any():  # the peaks of whole areas only break ties: drawn for those alone
            cx[tied], cy[tied] = _whole_area_peaks(xy, est.labels_, est.hotspots_,
                                                   parent[tied], max_place_m, crs)
        order = np.lexsort((cy, cx, -density))[:max_places]
        return _places(geoms[order], density[order] * 1e6, crs)

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
    from hotspot.places import split_places, widest_extent_m

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
                             max_place_m=max_place_m, max_places=None, crs=crs)
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
    from hotspot.places import split_places

    ids = np.unique(which)
    sub = np.isin(labels, ids)
    split = split_places(xy[sub], None, np.searchsorted(ids, labels[sub]),
                         areas.iloc[ids].reset_index(drop=True), max_place_m=max_place_m,
                         max_places=None, crs=crs)
    p = split.places
    at = np.searchsorted(ids[p["parent"].to_numpy()], which)
    return p["peak_x"].to_numpy(np.float64)[at], p["peak_y"].to_numpy(np.float64)[at]


def gistar_cells(cell_size_m: float, *, max_places: int = MAX_PLACES) -> Candidate:
    """Gi* (:func:`hotspot.gistar.gi_star_grid`, FDR on, the default neighbourhood) on cells
    of ``cell_size_m`` metres; occupied cells ranked by z-score (significant hot cells first),
    ties by count, then position."""
    _check_cell(cell_size_m)
    from hotspot.gistar import gi_star_grid

    def fit(train: pd.DataFrame, crs: str, boundary: BaseGeometry | None) -> gpd.GeoDataFrame:
        xy = _xy(train)
        grid = gi_star_grid(xy, cell_size_m=cell_size_m, weights=_weights(train),
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
        return _places(np.asarray(boxes, dtype=object), z[order], crs)

    return Candidate(f"gistar_{cell_size_m:g}m", "gistar", fit, {"cell_size_m": cell_size_m})


def forecast_squares(
    *,
    cell_size_m: float = 50.0,
    lattice_m: float = 25.0,
    half_life_months: float | None = None,
    smooth_m: float = 200.0,
    prior: float = 0.0,
    weighted: bool = False,
    max_places: int = MAX_PLACES,
    name: str = "forecast",
) -> Candidate:
    """The forecast: recency-weighted counts in squares of ``cell_size_m`` placed on a
    ``lattice_m`` lattice, with a neighbourhood prior, kept greedily without overlap.

    Rule (all in metres; months are the ``month`` integers of the fitting incidents):

    1. weight of an incident = ``0.5 ** ((last_month - month) / half_life_months)`` (1 when
       ``half_life_months`` is None: every fitting month counts the same), times its
       ``weight`` (harm) when ``weighted``;
    2. W(p) = the weight inside the square of side ``cell_size_m`` whose lower-left corner is
       lattice point p (a box sum on the lattice);
    3. score S(p) = W(p) + ``prior`` x (W smoothed by a Gaussian of sd ``smooth_m``): the
       square's own history, plus a little of its neighbourhood's, which ranks squares that
       have a thin or no history of their own by the crime around them (an empirical-Bayes
       style shrinkage towards the local mean);
    4. candidate squares are the local maxima of S (over the squares it overlaps), taken in
       order of S (ties west to east, south to north); a square is kept when it overlaps no
       square kept before it. Kept squares are disjoint, so the area of the first n is n
       squares.

    Returns a :class:`Candidate` named ``name``.
    """
    _check_cell(cell_size_m)
    if not np.isfinite(lattice_m) or lattice_m <= 0 or cell_size_m % lattice_m:
        raise InvalidParameter(
            f"lattice_m must be a positive divisor of cell_size_m ({cell_size_m:g} m), not "
            f"{lattice_m}", parameter="lattice_m")
    if half_life_months is not None and not half_life_months > 0:
        raise InvalidParameter("half_life_months must be positive (months) or None",
                               parameter="half_life_months")
    if not np.isfinite(prior) or prior < 0:
        raise InvalidParameter(f"prior must be >= 0, not {prior}", parameter="prior")
    if not np.isfinite(smooth_m) or smooth_m <= 0:
        raise InvalidParameter(f"smooth_m must be positive metres, not {smooth_m}",
                               parameter="smooth_m")
    m = round(cell_size_m / lattice_m)

    def fit(train: pd.DataFrame, crs: str, boundary: BaseGeometry | None) -> gpd.GeoDataFrame:
        xy = _xy(train)
        if xy.shape[0] == 0:
            return _places(np.empty(0, dtype=object), np.empty(0), crs)
        month = train["month"].to_numpy(np.float64)
        w = np.ones(xy.shape[0])
        if half_life_months is not None:
            w = 0.5 ** ((month.max() - month) / half_life_months)
        if weighted:
            w = w * _weights(train)
        col = np.floor(xy[:, 0] / lattice_m).astype(np.int64)
        row = np.floor(xy[:, 1] / lattice_m).astype(np.int64)
        if prior > 0:
            rr, cc, s = _forecast_peaks_dense(col, row, w, m, prior, smooth_m / lattice_m)
        else:
            rr, cc, s = _forecast_peaks_sparse(col, row, w, m)
        order = np.lexsort((rr, cc, -s))
        rr, cc, s = rr[order], cc[order], s[order]
        k = _non_overlapping(rr, cc, m)[:max_places]
        x0 = cc[k] * lattice_m
        y0 = rr[k] * lattice_m
        boxes = shapely.box(x0, y0, x0 + cell_size_m, y0 + cell_size_m)
        return _places(np.asarray(boxes, dtype=object), s[k], crs)

    params = {"cell_size_m": cell_size_m, "lattice_m": lattice_m,
              "half_life_months": half_life_months, "smooth_m": smooth_m, "prior": prior,
              "weighted": weighted}
    return Candidate(name, "forecast", fit, params)


def _forecast_peaks_dense(col: np.ndarray, row: np.ndarray, w: np.ndarray, m: int,
                          prior: float, smooth_cells: float
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, column, score) of the local maxima of the forecast's score on a dense lattice
    (lattice cells: column = floor(x / lattice), row = floor(y / lattice)); for ``prior`` > 0,
    whose Gaussian smoothing needs the whole lattice."""
    pad = m + int(np.ceil(3 * smooth_cells))
    c0, r0 = int(col.min()) - pad, int(row.min()) - pad
    shape = (int(row.max()) - r0 + pad + 1, int(col.max()) - c0 + pad + 1)
    grid = np.bincount((row - r0) * shape[1] + (col - c0), weights=w,
                       minlength=shape[0] * shape[1]).reshape(shape)
    # W at (r, c) = weight in lattice cells r..r+m-1, c..c+m-1 (square's lower-left at r, c)
    box = np.zeros(shape)
    for dr in range(m):
        for dc in range(m):
            box[:shape[0] - dr, :shape[1] - dc] += grid[dr:, dc:]
    del grid
    score = box + prior * gaussian_filter(box, smooth_cells, mode="constant", truncate=3.0)
    peak = (score > 1e-12) & (score >= maximum_filter(score, size=2 * m - 1, mode="constant"))
    rr, cc = np.nonzero(peak)
    return rr + r0, cc + c0, score[rr, cc]


def _forecast_peaks_sparse(col: np.ndarray, row: np.ndarray, w: np.ndarray, m: int
                           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What :func:`_forecast_peaks_dense` gives with no prior, on the occupied lattice cells
    only: the same box sums, added in the same order (so the same floating-point numbers),
    and the same local-maximum test (a square's score is 0 where no incident is near)."""
    # keys row * width + column; 2m columns of margin each side so that no square or window
    # neighbour wraps to another row
    c0, r0 = int(col.min()) - 2 * m, int(row.min()) - m
    width = int(col.max()) - c0 + 2 * m + 1
    cells, inverse = np.unique((row - r0) * width + (col - c0), return_inverse=True)
    value = np.bincount(inverse, weights=w, minlength=cells.size)

    def lookup(keys: np.ndarray, table: np.ndarray, values: np.ndarray) -> np.ndarray:
        at = np.minimum(np.searchsorted(table, keys), table.size - 1)
        return np.where(table[at] == keys, values[at], 0.0)

    shifts = [dr * width + dc for dr in range(m) for dc in range(m)]
    squares = np.unique(np.concatenate([cells - d for d in shifts]))
    score = np.zeros(squares.size)
    for d in shifts:  # the dense loop's order: dr, then dc
        score += lookup(squares + d, cells, value)
    top = np.zeros(squares.size)  # the window's maximum; squares with no incident score 0
    for dr in range(-(m - 1), m):
        for dc in range(-(m - 1), m):
            np.maximum(top, lookup(squares + dr * width + dc, squares, score), out=top)
    peak = (score > 1e-12) & (score >= top)
    rr, cc = np.divmod(squares[peak], width)
    return rr + r0, cc + c0, score[peak]


def _non_overlapping(rr: np.ndarray, cc: np.ndarray, m: int) -> np.ndarray:
    """Positions (into the ranked squares at lattice row ``rr``, column ``cc``, m cells wide)
    kept greedily: a square is kept when it overlaps no square kept before it.

    The squares are local maxima over the (2m-1)-cell window of the squares they overlap, so
    two overlapping ones have the same score: only squares with another one in their window
    can be refused. The greedy pass runs in rounds, vectorised: a square is decided when all
    the earlier-ranked squares overlapping it are, and kept when none of them was kept. The
    outcome is that of the one-by-one greedy pass."""
    n = rr.size
    if n == 0 or m == 1:
        return np.arange(n, dtype=np.int64)
    span = int(cc.max() - cc.min()) + 2 * m + 1
    key = (rr - rr.min() + m) * span + (cc - cc.min() + m)
    sorted_key = np.sort(key)
    offsets = [dr * span + dc for dr in range(-(m - 1), m) for dc in range(-(m - 1), m)
               if dr or dc]
    # earlier[i, j]: the j-th ranked square before i that overlaps it (-1: none)
    by_key = np.argsort(key, kind="stable")
    earlier = np.full((n, len(offsets)), -1, dtype=np.int64)
    for j, d in enumerate(offsets):
        probe = key + d
        at = np.minimum(np.searchsorted(sorted_key, probe), n - 1)
        hit = sorted_key[at] == probe
        other = np.where(hit, by_key[at], -1)
        earlier[:, j] = np.where(other < np.arange(n), other, -1)
    # the greedy pass in rounds: a square is decided once every earlier square overlapping it
    # is; it is kept when none of those was kept (what the one-by-one pass decides)
    has = earlier >= 0
    decided = np.logical_not(np.any(has, axis=1))
    keep = decided.copy()
    safe = np.where(has, earlier, 0)
    todo = np.flatnonzero(~decided)
    while todo.size:
        h, e = has[todo], safe[todo]
        ready = (decided[e] | ~h).all(axis=1)
        now = todo[ready]
        keep[now] = ~(keep[e[ready]] & h[ready]).any(axis=1)
        decided[now] = True
        todo = todo[~ready]
    return np.flatnonzero(keep)


def default_candidates(*, gistar: bool = True, dbscan: bool = True,
                       neighbourhood: bool = True) -> list[Candidate]:
    """The candidates of the module docstring: naive 50/100/250 m cells, KDE 50/100/200 m,
    DBSCAN eps 100/150 m (when ``dbscan``), Gi* 50/100 m (when ``gistar``), the forecast, and
    the busiest 50 m cells with ties broken by their neighbourhood
    (:func:`hotspot.forecast.neighbourhood_cells`, when ``neighbourhood``).

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
        from hotspot.forecast import neighbourhood_cells  # it imports this module

        out.append(neighbourhood_cells())
    return out


def _check_cell(cell_size_m: float) -> None:
    if not np.isfinite(cell_size_m) or not MIN_PLACE_M <= cell_size_m <= MAX_PLACE_M:
        raise InvalidParameter(
            f"cell_size_m must be from {MIN_PLACE_M:g} to {MAX_PLACE_M:g} m (a patrol place), "
            f"not {cell_size_m}", parameter="cell_size_m")


def _at_least(geoms: np.ndarray, width_m: float) -> np.ndarray:
    """Places narrower than ``width_m`` grown to it: unioned with the square of that side
    centred on their bounding box (a place on one map point is a 50 m square, not a dot)."""
    b = shapely.bounds(geoms)
    narrow = ((b[:, 2] - b[:, 0]) < width_m) | ((b[:, 3] - b[:, 1]) < width_m)
    if narrow.any():
        cx = (b[narrow, 0] + b[narrow, 2]) / 2
        cy = (b[narrow, 1] + b[narrow, 3]) / 2
        h = width_m / 2
        squares = shapely.box(cx - h, cy - h, cx + h, cy + h)
        geoms = geoms.copy()
        geoms[narrow] = shapely.union(geoms[narrow], squares)
    return geoms


def check_places(places: gpd.GeoDataFrame, name: str, *, min_m: float = MIN_PLACE_M,
                 max_m: float = MAX_PLACE_M) -> None:
    """Raise :class:`InvalidParameter` when a place breaks the fairness rule (bounding-box
    sides from ``min_m`` to ``max_m`` metres; 1 cm tolerance)."""
    if len(places) == 0:
        return
    b = shapely.bounds(np.asarray(places.geometry.values, dtype=object))
    w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    small = np.minimum(w, h) < min_m - 0.01
    big = np.maximum(w, h) > max_m + 0.01
    if small.any() or big.any():
        raise InvalidParameter(
            f"candidate {name!r} drew {int(small.sum())} places narrower than {min_m:g} m and "
            f"{int(big.sum())} wider than {max_m:g} m: every place must be a patrol area from "
            f"{min_m:g} to {max_m:g} m across", parameter="candidates")


# --- the backtest ---------------------------------------------------------------------------

COLUMNS = ("test_month", "fit_first", "fit_last", "candidate", "family", "share", "hit_rate",
           "pai", "pai_at_budget", "rri", "pei_star", "best_hit_rate", "places",
           "median_place_m2", "area_m2", "area_share", "stability", "n_test", "n_test_inside",
           "seconds")
"""Columns of :attr:`BacktestResult.folds`."""


@dataclass
class BacktestResult:
    """Per fold x candidate x share measures (:attr:`folds`, columns :data:`COLUMNS`).

    ``hit_rate`` H, ``pai`` (Chainey: H over the actual area share), ``pai_at_budget`` (H over
    the share asked for: the comparison at equal area), ``rri`` (Levine's ratio form),
    ``pei_star`` (H / H*, H* over the same area with the reference cells of
    ``reference_cell_m``), ``best_hit_rate`` H*, ``places`` kept and their ``median_place_m2``,
    ``area_m2`` and ``area_share`` actually covered, ``stability`` (Jaccard index of the area
    kept with the previous fold's, NaN on the first fold), ``n_test`` and ``n_test_inside``
    (counts), ``seconds`` (the candidate's fit and selections, shared by its shares).
    """

    folds: pd.DataFrame
    shares: tuple[float, ...]
    candidates: tuple[str, ...]
    families: dict[str, str]
    params: dict[str, dict[str, Any]]
    months: tuple[int, ...]
    fit_months: int | None
    force_area_m2: float
    crs: str
    reference_cell_m: float
    seconds: float

    def summary(self) -> pd.DataFrame:
        """Per candidate and share: means over the folds (and the minimum of ``pai``,
        ``pai_at_budget`` and ``hit_rate``), ``folds`` counted; rows in candidate order."""
        f = self.folds
        g = f.groupby(["candidate", "share"], sort=False)
        mean_cols = ["hit_rate", "pai", "pai_at_budget", "rri", "pei_star", "best_hit_rate",
                     "places", "median_place_m2", "area_share", "stability", "seconds"]
        out = g[mean_cols].mean()
        for c in ("hit_rate", "pai", "pai_at_budget"):
            out[f"{c}_min"] = g[c].min()
        out["folds"] = g.size()
        out = out.reset_index()
        out["family"] = out["candidate"].map(self.families)
        return out

    def best(self, share: float) -> str:
        """The candidate with the best mean ``pai_at_budget`` at ``share`` (ties: the earlier
        candidate)."""
        s = self.summary()
        at = s[np.isclose(s["share"], share)]
        if at.empty:
            raise InvalidParameter(f"share {share} was not backtested; shares: "
                                   f"{', '.join(f'{x:g}' for x in self.shares)}",
                                   parameter="share")
        i = int(np.argmax(at["pai_at_budget"].to_numpy()))
        return str(at["candidate"].iloc[i])

    def table(self, metric: str = "pai_at_budget") -> pd.DataFrame:
        """``metric`` per candidate (rows) and share x test month (columns), with the mean and
        minimum over the folds."""
        if metric not in self.folds.columns:
            raise InvalidParameter(f"metric must be a column of the folds, not {metric!r}",
                                   parameter="metric")
        wide = self.folds.pivot_table(index="candidate", columns=["share", "test_month"],
                                      values=metric, sort=False)
        parts = []
        for s in self.shares:
            block = pd.DataFrame(wide[s]).copy()
            values = block.to_numpy(dtype=np.float64)
            block["mean"] = np.nanmean(values, axis=1)
            block["min"] = np.nanmin(values, axis=1)
            block.columns = pd.MultiIndex.from_product([[s], list(block.columns)])
            parts.append(block)
        out = pd.concat(parts, axis=1)
        return out.loc[[c for c in self.candidates if c in out.index]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the setup, the per-fold rows and the summary (NaN as None)."""
        def rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
            clean = frame.astype(object).where(frame.notna(), None)
            return [{str(k): (v.item() if hasattr(v, "item") else v) for k, v in r.items()}
                    for r in clean.to_dict(orient="records")]
        return {
            "shares": list(self.shares),
            "candidates": [{"name": c, "family": self.families[c], "params": self.params[c]}
                           for c in self.candidates],
            "months": list(self.months),
            "fit_months": self.fit_months,
            "force_area_m2": self.force_area_m2,
            "crs": self.crs,
            "reference_cell_m": self.reference_cell_m,
            "seconds": self.seconds,
            "chosen": choose(self),
            "folds": rows(self.folds),
            "summary": rows(self.summary()),
        }


def fold_months(months: Sequence[int], fit_months: int | None = None,
                test_months: Sequence[int] | None = None) -> list[tuple[int, list[int]]]:
    """The folds: (test month, fitting months) for every month that has at least one earlier
    month in ``months``; the fitting months are all earlier ones (``fit_months`` None) or
    those of the last ``fit_months`` months before it. ``test_months`` keeps only those."""
    if fit_months is not None and (not isinstance(fit_months, (int, np.integer))
                                   or fit_months < 1):
        raise InvalidParameter(f"fit_months must be a whole number of months >= 1 or None, "
                               f"not {fit_months!r}", parameter="fit_months")
    ms = sorted({int(m) for m in months})
    out = []
    for t in ms:
        if test_months is not None and t not in test_months:
            continue
        lo = -np.inf if fit_months is None else t - fit_months
        fit = [m for m in ms if lo <= m < t]
        if fit:
            out.append((t, fit))
    return out


def rolling_origin(
    incidents: pd.DataFrame,
    candidates: Sequence[Candidate],
    *,
    crs: str,
    boundary: BaseGeometry | None,
    fit_months: int | None = None,
    shares: Sequence[float] = SHARES,
    test_months: Sequence[int] | None = None,
    reference_cell_m: float = 50.0,
    should_stop: ShouldStop | None = None,
) -> BacktestResult:
    """Fit every candidate on months 1..k and test it on month k+1, for every k.

    Parameters
    ----------
    incidents
        DataFrame with ``x``, ``y`` (metres in ``crs``), ``month`` (integers; consecutive
        months are consecutive integers, e.g. ``year * 12 + month - 1``) and optionally
        ``weight`` (harm; passed to the candidates, the measures count incidents).
    candidates
        :class:`Candidate` s (names unique), e.g. :func:`default_candidates`.
    crs
        Projected CRS of ``x``, ``y`` (metres).
    boundary
        The force area (shapely polygon in ``crs``): incidents outside it are left out of
        fitting and testing, places are clipped to it, and shares are of its area. None: the
        convex hull of all the incidents.
    fit_months
        Fit on all earlier months (None, an expanding window) or the last ``fit_months``.
    shares
        Area shares (0-1] to select at.
    test_months
        Test only these months (default: every month with an earlier one).
    reference_cell_m
        Cell side (metres) of the best possible selection behind PEI*
        (:func:`hotspot.coverage.best_hit_rate`): the finest place allowed, 50 m, by
        default, the same for every candidate so that PEI* compares them.
    should_stop
        Checked between candidates (:mod:`hotspot.cancel`).

    Raises
    ------
    InvalidParameter
        Missing columns, no fold, shares out of range, duplicate candidate names, a
        candidate breaking the fairness rule.
    """
    started = time.perf_counter()
    from hotspot.points import check_crs

    crs = check_crs(crs)
    missing = {"x", "y", "month"} - set(incidents.columns)
    if missing:
        raise InvalidParameter(f"incidents need columns x, y (metres) and month; missing "
                               f"{', '.join(sorted(missing))}", parameter="incidents")
    shares_t = tuple(float(s) for s in shares)
    if not shares_t or any(not 0 < s <= 1 for s in shares_t):
        raise InvalidParameter(f"shares must be in (0, 1], not {list(shares)}",
                               parameter="shares")
    names = [c.name for c in candidates]
    if not names or len(set(names)) != len(names):
        raise InvalidParameter("candidates must be a non-empty list with unique names",
                               parameter="candidates")
    data = incidents.copy()
    if "weight" not in data:
        data["weight"] = 1.0
    data["month"] = data["month"].astype(np.int64)
    xy_all = _xy(data)
    if boundary is None:
        boundary = shapely.convex_hull(shapely.multipoints(xy_all))
    shapely.prepare(boundary)
    force_area = float(shapely.area(boundary))
    if force_area <= 0:
        raise InvalidParameter("the boundary has no area", parameter="boundary")
    inside = shapely.contains_xy(boundary, xy_all[:, 0], xy_all[:, 1])
    data = data[inside].reset_index(drop=True)
    folds = fold_months(data["month"].to_numpy(), fit_months, test_months)
    if not folds:
        raise InvalidParameter("no fold: the incidents need at least two months (a month to "
                               "fit on and a later one to test on)", parameter="incidents")
    month = data["month"].to_numpy()
    rows: list[dict[str, Any]] = []
    previous: dict[tuple[str, float], np.ndarray] = {}
    for test, fit in folds:
        train = data[np.isin(month, fit)]
        train_xy = _xy(train)
        test_xy = _xy(data[month == test])
        n_test, n_fit = test_xy.shape[0], train_xy.shape[0]
        # one index of each fold's points, queried by every candidate's selections
        test_pts, train_pts = cov.point_index(test_xy), cov.point_index(train_xy)
        curve = cov.best_curve(test_xy, reference_cell_m, boundary=boundary)
        for cand in candidates:
            check(should_stop, f"before candidate {cand.name}")
            t0 = time.perf_counter()
            places = cand.fit(train, crs, boundary)
            check_places(places, cand.name)
            prep = cov.prepare(places.geometry, boundary=boundary)
            fold_rows = []
            for s in shares_t:
                idx, area, pieces = prep.select_pieces(s * force_area)
                sel = prep.clipped[idx]
                n_in = int(cov.inside_any(sel, test_pts).sum())
                n_fit_in = int(cov.inside_any(sel, train_pts).sum())
                h = cov.hit_rate(n_in, n_test)
                best = float(curve(area)) if n_test else float("nan")
                key = (cand.name, s)
                # pieces are disjoint with the selection's union: no union of the selection
                stab = (cov.jaccard(previous[key], pieces, disjoint=True)
                        if key in previous else float("nan"))
                previous[key] = pieces
                fold_rows.append({
                    "test_month": test, "fit_first": fit[0], "fit_last": fit[-1],
                    "candidate": cand.name, "family": cand.family, "share": s,
                    "hit_rate": h, "pai": cov.pai(h, area, force_area),
                    "pai_at_budget": h / s if np.isfinite(h) else float("nan"),
                    "rri": cov.rri(n_in, n_fit_in, n_test, n_fit),
                    "pei_star": cov.pei_star(h, best), "best_hit_rate": best,
                    "places": int(idx.size),
                    "median_place_m2": float(np.median(prep.areas[idx])) if idx.size
                    else float("nan"),
                    "area_m2": area, "area_share": area / force_area, "stability": stab,
                    "n_test": n_test, "n_test_inside": n_in,
                })
            elapsed = time.perf_counter() - t0
            for r in fold_rows:
                r["seconds"] = elapsed
            rows.extend(fold_rows)
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    return BacktestResult(
        folds=frame, shares=shares_t, candidates=tuple(names),
        families={c.name: c.family for c in candidates},
        params={c.name: dict(c.params) for c in candidates},
        months=tuple(int(m) for m in sorted(set(month.tolist()))), fit_months=fit_months,
        force_area_m2=force_area, crs=crs, reference_cell_m=float(reference_cell_m),
        seconds=time.perf_counter() - started,
    )


def choose(result: BacktestResult, shares: Sequence[float] | None = None) -> str:
    """The candidate to ship (the rule in the module docstring), over ``shares`` (default:
    all the backtested shares).

    Eligible: mean ``pai_at_budget`` at least the best naive baseline's at every share.
    Winner: the eligible candidate with the best mean, over the shares, of its mean
    ``pai_at_budget`` over the best naive baseline's (ties: the earlier candidate); when no
    candidate is eligible, the naive baseline with the best such mean.

    Raises
    ------
    InvalidParameter
        A share that was not backtested, or no naive baseline among the candidates.
    """
    use = result.shares if shares is None else tuple(float(s) for s in shares)
    s = result.summary()
    naive = [c for c in result.candidates if result.families[c] == "naive"]
    if not naive:
        raise InvalidParameter("choose needs a naive baseline among the candidates",
                               parameter="candidates")
    ratios = {c: [] for c in result.candidates}  # type: dict[str, list[float]]
    for share in use:
        at = s[np.isclose(s["share"], share)].set_index("candidate")
        if at.empty:
            raise InvalidParameter(f"share {share} was not backtested", parameter="shares")
        base = float(at.loc[naive, "pai_at_budget"].max())
        for c in result.candidates:
            v = (float(at["pai_at_budget"].to_numpy(np.float64)[at.index.get_loc(c)])
                 if c in at.index else float("nan"))
            ratios[c].append(v / base if base > 0 else float("nan"))
    mean = {c: float(np.mean(r)) if np.isfinite(r).all() else -np.inf
            for c, r in ratios.items()}
    eligible = [c for c in result.candidates
                if np.isfinite(ratios[c]).all() and min(ratios[c]) >= 1.0]
    pool = eligible or naive
    return max(pool, key=lambda c: (mean[c], -result.candidates.index(c)))
