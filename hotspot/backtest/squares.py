"""The forecast candidate (:func:`forecast_squares`): recency-weighted counts in 50 m squares
placed on a fine lattice, with a neighbourhood prior, kept greedily without overlap.

data.police.uk moves every crime to one of a fixed set of anonymous map points, and the same
points recur month after month, so the busiest small cells of past months predict well; a fixed
grid cuts a cluster of points that straddles a grid line in two (or four) cells, each of which
ranks low. The forecast's squares are the same 50 m squares as the finest naive baseline (same
shape, same area), placed where the crime is rather than where the grid falls. Coordinates are
metres in a projected CRS.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.ndimage import gaussian_filter, maximum_filter
from shapely.geometry.base import BaseGeometry

from hotspot.backtest.candidate import (
    MAX_PLACES,
    Candidate,
    check_cell_size,
    ranked_places,
    train_weights,
    train_xy,
)
from hotspot.errors import InvalidParameter


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
    _check_options(cell_size_m, lattice_m, half_life_months, smooth_m, prior)
    m = round(cell_size_m / lattice_m)

    def fit(train: pd.DataFrame, crs: str, boundary: BaseGeometry | None) -> gpd.GeoDataFrame:
        xy = train_xy(train)
        if xy.shape[0] == 0:
            return ranked_places(np.empty(0, dtype=object), np.empty(0), crs)
        w = _incident_weights(train, half_life_months, weighted)
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
        return ranked_places(np.asarray(boxes, dtype=object), s[k], crs)

    params = {"cell_size_m": cell_size_m, "lattice_m": lattice_m,
              "half_life_months": half_life_months, "smooth_m": smooth_m, "prior": prior,
              "weighted": weighted}
    return Candidate(name, "forecast", fit, params)


def _check_options(cell_size_m: float, lattice_m: float, half_life_months: float | None,
                   smooth_m: float, prior: float) -> None:
    """Raise :class:`InvalidParameter` for an option of :func:`forecast_squares` out of range."""
    check_cell_size(cell_size_m)
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


def _incident_weights(train: pd.DataFrame, half_life_months: float | None,
                      weighted: bool) -> np.ndarray:
    """Step 1 of the rule: recency (and, when ``weighted``, harm) weight of each incident."""
    w = np.ones(len(train))
    if half_life_months is not None:
        month = train["month"].to_numpy(np.float64)
        w = 0.5 ** ((month.max() - month) / half_life_months)
    if weighted:
        w = w * train_weights(train)
    return w


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
