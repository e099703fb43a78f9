"""The rolling-origin backtest (:func:`rolling_origin`): the folds (fit on earlier months, test
on the next), and each candidate's places scored at equal shares of the force area.

Coordinates are metres in a projected CRS; areas m2; the measures are those of
:mod:`hotspot.coverage`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from hotspot import coverage as cov
from hotspot.backtest.candidate import Candidate, check_places, train_xy
from hotspot.backtest.result import COLUMNS, BacktestResult
from hotspot.cancel import ShouldStop, check
from hotspot.errors import InvalidParameter
from hotspot.inside import prepared_copies
from hotspot.points import check_crs, convex_hull

SHARES = (0.001, 0.005, 0.01)
"""Default area shares: 0.1, 0.5 and 1 % of the force area."""


def fold_months(months: Sequence[int] | np.ndarray, fit_months: int | None = None,
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
    crs = check_crs(crs)
    shares_t = _check_request(incidents, candidates, shares)
    data, boundary, force_area = _incidents_inside(incidents, boundary)
    folds = fold_months(data["month"].to_numpy(), fit_months, test_months)
    if not folds:
        raise InvalidParameter("no fold: the incidents need at least two months (a month to "
                               "fit on and a later one to test on)", parameter="incidents")
    month = data["month"].to_numpy()
    rows: list[dict[str, Any]] = []
    previous: dict[tuple[str, float], np.ndarray] = {}
    for test, fit in folds:
        fold = _Fold.of(data, month, test, fit, boundary, reference_cell_m)
        for cand in candidates:
            check(should_stop, f"before candidate {cand.name}")
            rows.extend(_score_candidate(cand, fold, crs, boundary, shares_t, force_area,
                                         previous))
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    return BacktestResult(
        folds=frame, shares=shares_t, candidates=tuple(c.name for c in candidates),
        families={c.name: c.family for c in candidates},
        params={c.name: dict(c.params) for c in candidates},
        months=tuple(int(m) for m in sorted(set(month.tolist()))), fit_months=fit_months,
        force_area_m2=force_area, crs=crs, reference_cell_m=float(reference_cell_m),
        seconds=time.perf_counter() - started,
    )


def _check_request(incidents: pd.DataFrame, candidates: Sequence[Candidate],
                   shares: Sequence[float]) -> tuple[float, ...]:
    """The shares as floats, after checking the columns, the shares and the names."""
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
    return shares_t


def _incidents_inside(incidents: pd.DataFrame, boundary: BaseGeometry | None
                      ) -> tuple[pd.DataFrame, BaseGeometry, float]:
    """The incidents inside the force area (``weight`` 1 where missing, integer months), the
    force area (default: the convex hull of the incidents) and its area (m2)."""
    data = incidents.copy()
    if "weight" not in data:
        data["weight"] = 1.0
    data["month"] = data["month"].astype(np.int64)
    xy_all = train_xy(data)
    if boundary is None:
        boundary = convex_hull(xy_all)
    boundary = prepared_copies(boundary)  # this backtest's own: the caller's may be shared
    force_area = float(shapely.area(boundary))
    if force_area <= 0:
        raise InvalidParameter("the boundary has no area", parameter="boundary")
    inside = shapely.contains_xy(boundary, xy_all[:, 0], xy_all[:, 1])
    return data[inside].reset_index(drop=True), boundary, force_area


@dataclass
class _Fold:
    """One fold: the fitting incidents, and the indexes every candidate's selections query."""

    test: int
    fit: list[int]
    train: pd.DataFrame
    n_test: int
    n_fit: int
    test_points: shapely.STRtree
    train_points: shapely.STRtree
    best_curve: Callable[[float | np.ndarray], np.ndarray]
    """H* by area (m2): the denominator of PEI*."""

    @classmethod
    def of(cls, data: pd.DataFrame, month: np.ndarray, test: int, fit: list[int],
           boundary: BaseGeometry, reference_cell_m: float) -> _Fold:
        train = data[np.isin(month, fit)]
        fit_xy = train_xy(train)
        test_xy = train_xy(data[month == test])
        return cls(test=test, fit=fit, train=train, n_test=test_xy.shape[0],
                   n_fit=fit_xy.shape[0], test_points=cov.point_index(test_xy),
                   train_points=cov.point_index(fit_xy),
                   best_curve=cov.best_curve(test_xy, reference_cell_m, boundary=boundary))


def _score_candidate(cand: Candidate, fold: _Fold, crs: str, boundary: BaseGeometry,
                     shares: tuple[float, ...], force_area: float,
                     previous: dict[tuple[str, float], np.ndarray]) -> list[dict[str, Any]]:
    """Fit ``cand`` on the fold and score its places at every share: the rows of
    :data:`COLUMNS`, ``seconds`` the fit and selections (shared by the shares). ``previous``
    holds each (candidate, share)'s selection of the last fold, for the stability."""
    t0 = time.perf_counter()
    places = cand.fit(fold.train, crs, boundary)
    check_places(places, cand.name)
    prep = cov.prepare(places.geometry, boundary=boundary)
    rows = [_score_share(cand, fold, prep, s, force_area, previous) for s in shares]
    elapsed = time.perf_counter() - t0
    for r in rows:
        r["seconds"] = elapsed
    return rows


def _score_share(cand: Candidate, fold: _Fold, prep: cov.Prepared, share: float,
                 force_area: float, previous: dict[tuple[str, float], np.ndarray]
                 ) -> dict[str, Any]:
    """The measures of the places ``prep`` selects at ``share`` of the force area."""
    idx, area, pieces = prep.select_pieces(share * force_area)
    sel = prep.clipped[idx]
    n_test, n_in = fold.n_test, int(cov.inside_any(sel, fold.test_points).sum())
    n_fit_in = int(cov.inside_any(sel, fold.train_points).sum())
    h = cov.hit_rate(n_in, n_test)
    best = float(fold.best_curve(area)) if n_test else float("nan")
    key = (cand.name, share)
    # pieces are disjoint with the selection's union: no union of the selection
    stab = (cov.jaccard(previous[key], pieces, disjoint=True)
            if key in previous else float("nan"))
    previous[key] = pieces
    return {
        "test_month": fold.test, "fit_first": fold.fit[0], "fit_last": fold.fit[-1],
        "candidate": cand.name, "family": cand.family, "share": share,
        "hit_rate": h, "pai": cov.pai(h, area, force_area),
        "pai_at_budget": h / share if np.isfinite(h) else float("nan"),
        "rri": cov.rri(n_in, n_fit_in, n_test, fold.n_fit),
        "pei_star": cov.pei_star(h, best), "best_hit_rate": best,
        "places": int(idx.size),
        "median_place_m2": float(np.median(prep.areas[idx])) if idx.size else float("nan"),
        "area_m2": area, "area_share": area / force_area, "stability": stab,
        "n_test": n_test, "n_test_inside": n_in,
    }
