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
        (:func:`hotspot.backtest.neighbourhood.neighbourhood_cells`).

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

Where things are: what a candidate is and the fairness rule in :mod:`~hotspot.backtest.candidate`;
the candidates in :mod:`~hotspot.backtest.candidates`, :mod:`~hotspot.backtest.squares` (the
forecast) and :mod:`~hotspot.backtest.neighbourhood`; the folds and their scores in
:mod:`~hotspot.backtest.rolling`; the result in :mod:`~hotspot.backtest.result`; the choice in
:mod:`~hotspot.backtest.choice`. Every public name is importable from ``hotspot.backtest``.
"""

from __future__ import annotations

from hotspot.backtest.candidate import (
    MAX_PLACE_M,
    MAX_PLACES,
    MIN_PLACE_M,
    Candidate,
    FitFunction,
    check_places,
)
from hotspot.backtest.candidates import (
    dbscan_places,
    default_candidates,
    gistar_cells,
    kde_cells,
    naive_cells,
)
from hotspot.backtest.choice import choose
from hotspot.backtest.neighbourhood import neighbourhood_cells
from hotspot.backtest.result import COLUMNS, BacktestResult
from hotspot.backtest.rolling import SHARES, fold_months, rolling_origin
from hotspot.backtest.squares import forecast_squares

__all__ = [
    "COLUMNS",
    "MAX_PLACES",
    "MAX_PLACE_M",
    "MIN_PLACE_M",
    "SHARES",
    "BacktestResult",
    "Candidate",
    "FitFunction",
    "check_places",
    "choose",
    "dbscan_places",
    "default_candidates",
    "fold_months",
    "forecast_squares",
    "gistar_cells",
    "kde_cells",
    "naive_cells",
    "neighbourhood_cells",
    "rolling_origin",
]
