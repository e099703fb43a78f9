"""Busiest cells with informed ties: a candidate for the backtest (:mod:`hotspot.backtest`).

The naive baseline ranks the cells of a fixed grid by their count in the fitting months and
breaks ties by position (west to east, then south to north). On data.police.uk months and on
sparse exact-location data most cells at the edge of an area budget hold the same small count
(one or two incidents), so which of them the budget takes is decided by their position, and
after a few months of one county the occupied cells do not fill 1 % of the force area, which
leaves budget unused. :func:`neighbourhood_cells` keeps the baseline's ranking and changes
only those two things:

1. cells are ranked by their count in the fitting months (as the baseline), ties broken by the
   **neighbourhood count**: the counts smoothed by a Gaussian of sd ``smooth_m`` metres (a cell
   among busy cells before a lone one), then by position as the baseline;
2. after every occupied cell come the **empty cells near crime** (neighbourhood count above
   zero: within 4 sd in x and in y of a cell with crime), ranked by their neighbourhood
   count: the budget a force can patrol is filled where new map points are most likely.

Its places are the baseline's grid cells (aligned on multiples of ``cell_size_m``), so any gain
is from the order alone. Coordinates are metres in a projected CRS (EPSG:27700, EPSG:32618).

Measured (``docs/backtest.md``, "Can 1.1x be reached?"): Essex 2018-01..06, 5 expanding
folds, mean PAI at the budget over the best naive baseline's 1.006 / 1.008 / 1.008 at 0.1 /
0.5 / 1 % (no fold below 1.000); New York vehicle thefts 2017 (12 folds) 0.994 / 1.075 /
1.036. Upper bounds (an oracle, a leave-one-month-out fit) show 1.1x is out of reach on Essex
for any method predicting from the months' counts.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.ndimage import gaussian_filter
from shapely.geometry.base import BaseGeometry

from hotspot import coverage as cov
from hotspot.backtest.candidate import MAX_PLACES, Candidate, check_cell_size
from hotspot.errors import InvalidParameter

MAX_GRID_CELLS = 25_000_000
"""Largest dense grid (cells) the neighbourhood count is drawn on (float32: 100 MB)."""
TRUNCATE = 4.0
"""The Gaussian is cut at this many sd: cells farther than that from every incident are not
ranked."""


def _candidates(count: np.ndarray, neigh: np.ndarray, limit: int) -> np.ndarray:
    """The flat indices of the cells that can be among the first ``limit`` in the order of
    :func:`neighbourhood_cells` (count, then neighbourhood, both descending): every occupied
    cell, and of the empty cells near crime only those whose neighbourhood count reaches the
    ``need``-th largest (ties kept, so the order after sorting is the same as over all)."""
    occupied = np.flatnonzero(count > 0)
    need = limit - occupied.size
    if need <= 0 or not neigh.size:
        return occupied
    empty = np.flatnonzero((count == 0) & (neigh > 1e-6 * neigh.max()))
    if empty.size > need:
        kth = np.partition(neigh[empty], empty.size - need)[empty.size - need]
        empty = empty[neigh[empty] >= kth]
    return np.sort(np.concatenate([occupied, empty]))


def neighbourhood_cells(
    *,
    cell_size_m: float = 50.0,
    smooth_m: float = 250.0,
    max_places: int = MAX_PLACES,
    name: str | None = None,
) -> Candidate:
    """The busiest cells of the fitting months, ties broken by the neighbourhood count, then
    the empty cells near crime (the rule in the module docstring).

    Parameters
    ----------
    cell_size_m
        Side of the grid cells (metres, 50-250: a patrol place); the grid is aligned on
        multiples of it, as the naive baseline's.
    smooth_m
        Sd (metres, > 0) of the Gaussian giving the neighbourhood count.
    max_places
        Most cells ranked.
    name
        The candidate's name (default ``cells_<cell>m_nbr<smooth>m``).

    Returns
    -------
    Candidate
        Family ``forecast``; ``fit(train, crs, boundary)`` gives 50 m (``cell_size_m``)
        squares ranked best first with ``score`` = the cell's count (0 for the fill).

    Raises
    ------
    InvalidParameter
        ``cell_size_m`` outside 50-250 m, ``smooth_m`` not positive, ``max_places`` < 1; at
        fit time, a grid of more than :data:`MAX_GRID_CELLS` cells.
    """
    check_cell_size(cell_size_m)
    if not np.isfinite(smooth_m) or smooth_m <= 0:
        raise InvalidParameter(f"smooth_m must be a positive number of metres, not {smooth_m}",
                               parameter="smooth_m")
    if int(max_places) < 1:
        raise InvalidParameter(f"max_places must be >= 1, not {max_places}",
                               parameter="max_places")
    sd_cells = smooth_m / cell_size_m
    pad = int(np.ceil(TRUNCATE * sd_cells)) + 1

    def fit(train: pd.DataFrame, crs: str, boundary: BaseGeometry | None) -> gpd.GeoDataFrame:
        x = train["x"].to_numpy(np.float64)
        y = train["y"].to_numpy(np.float64)
        if x.size == 0:
            return gpd.GeoDataFrame({"score": np.empty(0)},
                                    geometry=gpd.GeoSeries([], crs=crs), crs=crs)
        col = np.floor(x / cell_size_m).astype(np.int64)
        row = np.floor(y / cell_size_m).astype(np.int64)
        c0, r0 = int(col.min()) - pad, int(row.min()) - pad
        shape = (int(row.max()) - r0 + pad + 1, int(col.max()) - c0 + pad + 1)
        if shape[0] * shape[1] > MAX_GRID_CELLS:
            raise InvalidParameter(
                f"the incidents span {shape[0] * shape[1]:,} cells of {cell_size_m:g} m, over "
                f"{MAX_GRID_CELLS:,}: use larger cells or fewer incidents",
                parameter="cell_size_m")
        flat = (row - r0) * shape[1] + (col - c0)
        count = np.bincount(flat, minlength=shape[0] * shape[1]).astype(np.float64)
        neigh = gaussian_filter(count.reshape(shape).astype(np.float32), sd_cells,
                                mode="constant", truncate=TRUNCATE).ravel()
        ranked = _candidates(count, neigh, int(max_places))
        rr, cc = np.divmod(ranked, shape[1])
        # count, then neighbourhood count (both descending), then west-east, south-north
        order = np.lexsort((rr, cc, -neigh[ranked], -count[ranked]))[:int(max_places)]
        at = ranked[order]
        boxes = cov.cell_boxes(cc[order] + c0, rr[order] + r0, cell_size_m)
        return gpd.GeoDataFrame({"score": count[at]}, geometry=gpd.GeoSeries(boxes, crs=crs),
                                crs=crs)

    label = name or f"cells_{cell_size_m:g}m_nbr{smooth_m:g}m"
    return Candidate(label, "forecast", fit,
                     {"cell_size_m": cell_size_m, "smooth_m": smooth_m})
