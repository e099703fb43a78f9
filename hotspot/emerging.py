"""Emerging hot spots: Gi* per month of a space-time cube, a Mann-Kendall trend per cell, and
Esri's pattern classes.

Following Esri, "How Emerging Hot Spot Analysis works" (ArcGIS Pro documentation, Space Time
Pattern Mining toolbox, ``learnmoreemerging.htm``): each bin (cell x month) gets a Gi* z-score
and a hot/cold confidence with FDR correction; each cell gets the Mann-Kendall trend of its Gi*
z-scores over the months (the "intensity of clustering", as Esri; the trend of the plain counts
is given too, for information); then each cell gets one class.

Departures from Esri's tool, both deliberate: each month's Gi* is purely spatial (Esri's
default neighbourhood also takes the previous time step) and compares a cell with that month's
own mean and s.d. (Esri compares with the whole cube), so a county-wide rise or fall in
recorded crime does not turn every cell hot or cold: the class says where crime concentrates,
month after month. The neighbourhood is the one of :func:`hotspot.gistar.gi_star_grid`.

The classes, with the rule applied here (T months; a month is *hot* when the cell's Gi* is
significant hot at ``confidence`` per cent (90 by default) after FDR; *cold* likewise; "90 % of
the months" means at least 0.9 T of them, e.g. 11 of 12 or all 6 of 6; a *significant trend*
is a Mann-Kendall p-value <= ``trend_alpha`` (0.05), up or down by the sign of S). They are
tested in this order and the first that holds wins (Esri's order):

``new_hot``
    Hot in the final month and in no earlier month ("a statistically significant hot spot for
    the final time step and has never been a statistically significant hot spot before").
``consecutive_hot``
    Hot in an uninterrupted run of at least two months that ends with the final month, never
    hot before that run, and hot in less than 90 % of the months.
``intensifying_hot``
    Hot in at least 90 % of the months including the final one, and a significant upward
    trend of the Gi* z-scores.
``persistent_hot``
    Hot in at least 90 % of the months including the final one, with no significant trend.
    (Esri's sentence does not name the final month; requiring it keeps this class apart from
    ``historical_hot``.)
``diminishing_hot``
    Hot in at least 90 % of the months including the final one, and a significant downward
    trend.
``sporadic_hot``
    Hot in the final month, hot in less than 90 % of the months, on and off (not new, not
    consecutive), and never cold.
``oscillating_hot``
    Hot in the final month, hot in less than 90 % of the months, not new or consecutive, and
    cold in at least one earlier month.
``historical_hot``
    Not hot in the final month, but hot in at least 90 % of the months.

The ``*_cold`` classes are the same rules with hot and cold swapped (``intensifying_cold``: a
significant *downward* trend of z, getting colder; ``diminishing_cold``: upward). Every other
study cell is ``no_pattern``. With fewer than about 10 months the trend test has little power
(Esri asks for 10 time steps); the classes that need no trend still hold.

**Sparse cubes.** Gi*'s normal p-values are anti-conservative when most cells of a month are
empty: a couple of incidents in one 3 x 3 block can pass FDR, and chance makes "new" and
"sporadic" hot spots (``bench.gistar``: 100,000 incidents a year over 3,600 km2 in 100 m cells
gave 3,392 new hot spot cells; in 250 m cells, 1). Choose cells that hold a few incidents a
month where crime is, or read the classes only inside hotspots of the whole period (which is
how :func:`classes_of_polygons` is meant to be used).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from scipy.special import ndtr

from hotspot.cancel import ShouldStop, check
from hotspot.errors import InvalidParameter, WorkLimitExceeded
from hotspot.gistar import (
    LEVELS,
    CellGrid,
    _check_p_values,
    _check_points,
    _gi_star,
    _layout,
    _Neighbourhood,
    confidence_levels,
)
from hotspot.kde import MAX_CELLS

_PATTERNS = ("new", "consecutive", "intensifying", "persistent", "diminishing", "sporadic",
             "oscillating", "historical")
CLASS_NAMES: tuple[str, ...] = (
    "no_pattern", *(f"{p}_hot" for p in _PATTERNS), *(f"{p}_cold" for p in _PATTERNS))
"""Class keys; a cell's code in :attr:`EmergingGrid.classes` indexes this tuple."""

CLASS_LABELS: dict[str, str] = {
    name: "No pattern" if name == "no_pattern"
    else f"{name.split('_')[0].capitalize()} {name.split('_')[1]} spot"
    for name in CLASS_NAMES
}
"""Legend labels: ``"new_hot"`` -> ``"New hot spot"``."""

CLASS_DESCRIPTIONS: dict[str, str] = {
    "no_pattern": "No hot or cold pattern over the months.",
    "new_hot": "Hot in the latest month for the first time.",
    "consecutive_hot": "Hot for the last few months in a row, not before.",
    "intensifying_hot": "Hot almost every month, and getting hotter.",
    "persistent_hot": "Hot almost every month, with no clear trend.",
    "diminishing_hot": "Hot almost every month, but cooling down.",
    "sporadic_hot": "Hot in the latest month, on and off before.",
    "oscillating_hot": "Hot in the latest month, but cold in some earlier months.",
    "historical_hot": "Hot almost every month, but not in the latest one.",
    "new_cold": "Cold in the latest month for the first time.",
    "consecutive_cold": "Cold for the last few months in a row, not before.",
    "intensifying_cold": "Cold almost every month, and getting colder.",
    "persistent_cold": "Cold almost every month, with no clear trend.",
    "diminishing_cold": "Cold almost every month, but warming up.",
    "sporadic_cold": "Cold in the latest month, on and off before.",
    "oscillating_cold": "Cold in the latest month, but hot in some earlier months.",
    "historical_cold": "Cold almost every month, but not in the latest one.",
}
"""One plain-English sentence per class, for the map's legend."""


@dataclass(frozen=True)
class MannKendall:
    """Mann-Kendall trend test of each series (arrays of the series' count)."""

    s: np.ndarray
    """S = sum over i < j of sign(x_j - x_i)."""
    var_s: np.ndarray
    """Variance of S under no trend, corrected for ties."""
    z: np.ndarray
    """(S - 1) / sqrt(var) for S > 0, (S + 1) / sqrt(var) for S < 0, else 0."""
    p: np.ndarray
    """Two-sided p-value from the normal (1 when var is 0)."""
    tau: np.ndarray
    """Kendall's tau-a: S / (T (T - 1) / 2)."""
    sign: np.ndarray
    """Sign of S (int8: +1 up, -1 down, 0)."""

    def trend(self, alpha: float = 0.05) -> np.ndarray:
        """+1 significant upward trend (p <= alpha), -1 downward, 0 none (int8)."""
        return np.where(self.p <= alpha, self.sign, 0).astype(np.int8)


def mann_kendall(series: Any) -> MannKendall:
    """Mann-Kendall test (Mann 1945; Kendall 1975) of each column of a (T, N) array (or of a
    (T,) series), vectorised over the columns; as ``pymannkendall.original_test``.

    Raises
    ------
    InvalidParameter
        Fewer than 2 time steps, or values that are not finite.
    """
    x = np.asarray(series, dtype=np.float64)
    one = x.ndim == 1
    if one:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] < 2:
        raise InvalidParameter("series must be a (T, N) array with at least 2 time steps",
                               parameter="series")
    if not np.isfinite(x).all():
        raise InvalidParameter("series must be finite numbers", parameter="series")
    t, n = x.shape
    # constant series (an empty cell every month) have S = 0 and no variance: skip them
    varying = np.flatnonzero((x != x[0]).any(axis=0))
    v = np.ascontiguousarray(x[:, varying])  # rows contiguous: the pair loop reads rows
    s_v = np.zeros(varying.size, dtype=np.int32)  # int8 into int32 adds fast (int64: 10x slower)
    for i in range(t - 1):
        for j in range(i + 1, t):  # one pair of rows at a time: no (T, N) temporaries
            s_v += (v[j] > v[i]).view(np.int8)
            s_v -= (v[j] < v[i]).view(np.int8)
    # ties: sum over groups of size g of g (g - 1) (2g + 5) = sum over members of 6 (r^2 - 1),
    # r the member's rank within its group of equal values
    ordered = np.sort(v, axis=0)
    rank = np.ones(varying.size, dtype=np.int32)
    ties = np.zeros(varying.size, dtype=np.int64)
    for i in range(1, t):
        same = ordered[i] == ordered[i - 1]
        rank = (rank + 1) * same + (~same).view(np.int8)  # rank + 1 in a tie, else 1
        ties += 6 * (rank * rank - 1)
    s = np.zeros(n)
    s[varying] = s_v
    var = np.zeros(n)
    var[varying] = (t * (t - 1) * (2 * t + 5) - ties) / 18.0
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(var > 0, (s - np.sign(s)) / np.sqrt(var), 0.0)
    p = 2.0 * ndtr(-np.abs(z))
    tau = s / (t * (t - 1) / 2)
    sign = np.sign(s).astype(np.int8)
    if one:
        return MannKendall(s[0:1], var[0:1], z[0:1], p[0:1], tau[0:1], sign[0:1])
    return MannKendall(s, var, z, p, tau, sign)


def classify_series(hot: np.ndarray, cold: np.ndarray, trend: np.ndarray) -> np.ndarray:
    """Esri's class (code into :data:`CLASS_NAMES`) of each column, from (T, N) boolean hot
    and cold months and the (N,) trend of Gi* z (+1 up, -1 down, 0 none); rules in the module
    docstring."""
    hot = np.asarray(hot, dtype=bool)
    cold = np.asarray(cold, dtype=bool)
    trend = np.asarray(trend)
    out = np.zeros(hot.shape[1], dtype=np.int8)
    for offset, sig, other, up in ((1, hot, cold, 1), (1 + len(_PATTERNS), cold, hot, -1)):
        for code, rule in enumerate(_rules(sig, other, trend * up), start=offset):
            out[(out == 0) & rule] = code
    return out


def _rules(sig: np.ndarray, other: np.ndarray, trend: np.ndarray) -> list[np.ndarray]:
    t = sig.shape[0]
    n_sig = sig.sum(axis=0)
    final = sig[-1]
    most = n_sig * 10 >= 9 * t  # at least 90 % of the months, in integers
    run = np.zeros(sig.shape[1], dtype=np.int64)  # the final run's length
    alive = np.ones(sig.shape[1], dtype=bool)
    for i in range(t - 1, -1, -1):
        alive &= sig[i]
        run += alive
    new = final & (n_sig == 1)
    consecutive = final & (run >= 2) & (n_sig == run) & ~most
    on_off = final & ~most & ~new & ~consecutive
    ever_other = other.any(axis=0)
    return [
        new,
        consecutive,
        most & final & (trend > 0),
        most & final & (trend == 0),
        most & final & (trend < 0),
        on_off & ~ever_other,
        on_off & ever_other,
        most & ~final,
    ]


def month_index(occurred_at: Any) -> tuple[np.ndarray, int, str]:
    """Month of each incident counted from the first month present: (index from 0, number of
    months from the first to the last, the first month as ``"YYYY-MM"``).

    ``occurred_at``: seconds since the epoch (UTC) or ``datetime64`` values; months are UTC
    calendar months (data.police.uk months are stored as their first instant). Empty: no
    months (``n_months`` 0, ``""``).
    """
    t = np.asarray(occurred_at)
    if t.size == 0:
        return np.empty(0, dtype=np.int64), 0, ""
    if np.issubdtype(t.dtype, np.datetime64):
        months = t.astype("datetime64[M]").astype(np.int64)
    elif np.issubdtype(t.dtype, np.number):
        if not np.isfinite(t).all():
            raise InvalidParameter("occurred_at must be finite", parameter="occurred_at")
        months = t.astype("int64").astype("datetime64[s]").astype("datetime64[M]").astype(np.int64)
    else:
        raise InvalidParameter("occurred_at must be seconds since the epoch or datetime64",
                               parameter="occurred_at")
    first = int(months.min())
    index = months - first
    return index, int(index.max()) + 1, str(np.datetime64(first, "M"))


@dataclass(frozen=True)
class EmergingGrid(CellGrid):
    """A monthly space-time cube of Gi* and each cell's emerging hot spot class.

    ``[month, row, col]`` and ``[row, col]`` arrays, row 0 at the north edge; ``origin`` is the
    (west, north) corner in metres (``crs``), as :class:`hotspot.gistar.GiStarGrid`.
    """

    origin: tuple[float, float]
    cell_size_m: float
    shape: tuple[int, int]
    n_months: int
    counts: np.ndarray
    """(T, rows, cols) incidents (or weights) per month and cell."""
    z: np.ndarray
    """(T, rows, cols) Gi* z-scores (NaN outside the study area)."""
    confidence: np.ndarray
    """(T, rows, cols) int8 hot/cold confidence per month (Esri's Gi_Bin)."""
    trend_z: np.ndarray
    """(rows, cols) Mann-Kendall z of the Gi* z-scores over the months, for the cells hot or
    cold in at least one month (the only ones whose class uses it); NaN elsewhere."""
    trend_p: np.ndarray
    """(rows, cols) its two-sided p-value."""
    count_trend_tau: np.ndarray
    """(rows, cols) Kendall's tau of the counts over the months (information only)."""
    count_trend_p: np.ndarray
    """(rows, cols) its Mann-Kendall p-value."""
    classes: np.ndarray
    """(rows, cols) int8 code into :data:`CLASS_NAMES`; -1 outside the study area."""
    in_study: np.ndarray
    distance_m: float | None
    k: int | None
    fdr: bool
    level: int
    """Confidence level a month must reach to be hot/cold (1/2/3: 90/95/99 %)."""
    trend_alpha: float
    crs: str | None = None

    def class_names(self) -> np.ndarray:
        """(rows, cols) class key of each cell ("" outside the study area)."""
        names = np.asarray(("", *CLASS_NAMES), dtype=object)
        return names[self.classes.astype(np.int64) + 1]

    def counts_by_class(self) -> dict[str, int]:
        """Study cells in each class."""
        found = np.bincount(self.classes[self.in_study].astype(np.int64),
                            minlength=len(CLASS_NAMES))
        return {name: int(c) for name, c in zip(CLASS_NAMES, found, strict=True)}


def emerging_hotspots(
    xy: np.ndarray,
    month: np.ndarray,
    n_months: int,
    *,
    cell_size_m: float,
    weights: np.ndarray | None = None,
    bounds: tuple[float, float, float, float] | None = None,
    boundary: Any = None,
    distance_m: float | None = None,
    k: int | None = None,
    fdr: bool = True,
    p_values: str = "normal",
    confidence: int = 90,
    trend_alpha: float = 0.05,
    max_cells: int | None = MAX_CELLS,
    crs: str | None = None,
    should_stop: ShouldStop | None = None,
) -> EmergingGrid:
    """Emerging hot spot classes of the cells of a grid over ``n_months`` months.

    Parameters
    ----------
    xy
        (n, 2) projected coordinates, metres.
    month
        Month of each incident, an integer from 0 (the first) to ``n_months - 1`` (the final).
    n_months
        Length of the cube (at least 2; 10 or more for a trend with any power).
    cell_size_m, weights, bounds, boundary, distance_m, k, fdr, p_values
        As in :func:`hotspot.gistar.gi_star_grid`; the same grid and neighbourhood every month.
    confidence
        90, 95 or 99: a month is hot (cold) for a cell at this confidence or more.
    trend_alpha
        Significance of the Mann-Kendall trend (0 < alpha < 1).
    max_cells
        Refuse cubes of more bins (months x cells) than this.

    Raises
    ------
    InvalidParameter
        Bad months or any parameter of :func:`~hotspot.gistar.gi_star_grid`.
    WorkLimitExceeded
        More than ``max_cells`` bins.
    """
    xy, w = _check_points(xy, weights)
    _check_p_values(p_values, weights)
    if not isinstance(n_months, (int, np.integer)) or isinstance(n_months, bool) \
            or not 2 <= n_months <= 1200:
        raise InvalidParameter(f"n_months must be a whole number from 2 to 1200, not "
                               f"{n_months!r}", parameter="n_months")
    m = np.asarray(month)
    if m.shape != (xy.shape[0],) or (m.size and not np.issubdtype(m.dtype, np.integer)):
        raise InvalidParameter("month must give one whole number per incident",
                               parameter="month")
    m = m.astype(np.int64)
    if m.size and (m.min() < 0 or m.max() >= n_months):
        raise InvalidParameter(f"month must be from 0 to n_months - 1 ({n_months - 1})",
                               parameter="month")
    if confidence not in LEVELS:
        raise InvalidParameter(f"confidence must be 90, 95 or 99 (per cent), not "
                               f"{confidence!r}", parameter="confidence")
    if not 0 < trend_alpha < 1:
        raise InvalidParameter(f"trend_alpha must be between 0 and 1, not {trend_alpha!r}",
                               parameter="trend_alpha")
    limit = None if max_cells is None else max(1, int(max_cells) // int(n_months))
    try:
        layout = _layout(xy, cell_size_m, bounds, boundary, distance_m, k, limit)
    except WorkLimitExceeded as exc:
        assert max_cells is not None
        raise WorkLimitExceeded(
            f"the space-time cube would have {n_months} months x {exc.found:,} cells, more "
            f"than the limit of {max_cells:,} bins: use a larger cell_size_m, fewer months or "
            "a smaller area", found=int(n_months) * exc.found, limit=int(max_cells),
            parameter="cell_size_m", kind="grid_cells") from exc
    rows, cols = layout.shape
    flat = layout.cells(xy)
    on = flat >= 0
    size = rows * cols
    counts = np.bincount(m[on] * size + flat[on], weights=w[on],
                         minlength=int(n_months) * size).reshape(int(n_months), rows, cols)
    nb = _Neighbourhood(layout.in_study, layout.cell, distance_m=layout.distance_m, k=k)
    z = np.empty(counts.shape)
    conf = np.empty(counts.shape, dtype=np.int8)
    for t in range(int(n_months)):
        check(should_stop, "while computing Gi* month by month")
        z[t], p = _gi_star(counts[t], layout.in_study, nb, p_values=p_values)
        conf[t] = confidence_levels(z[t], p, layout.in_study, fdr=fdr)
    check(should_stop, "before the trends")
    study = layout.in_study.ravel()
    level = LEVELS[confidence]
    zs = z.reshape(int(n_months), size)[:, study]
    cs = conf.reshape(int(n_months), size)[:, study]
    hot, cold = cs >= level, cs <= -level
    # the trend of z matters only where a month is hot or cold: test those cells alone
    seen = np.flatnonzero((hot | cold).any(axis=0))
    mk = mann_kendall(zs[:, seen]) if seen.size else None
    trend = np.zeros(zs.shape[1], dtype=np.int8)
    trend_z = np.full(zs.shape[1], np.nan)
    trend_p = np.full(zs.shape[1], np.nan)
    if mk is not None:
        trend[seen] = mk.trend(trend_alpha)
        trend_z[seen] = mk.z
        trend_p[seen] = mk.p
    ck = mann_kendall(counts.reshape(int(n_months), size)[:, study])
    codes = classify_series(hot, cold, trend)

    def spread(values: np.ndarray, fill: float, dtype: Any = np.float64) -> np.ndarray:
        out = np.full(size, fill, dtype=dtype)
        out[study] = values
        return out.reshape(rows, cols)

    return EmergingGrid(
        origin=layout.origin, cell_size_m=layout.cell, shape=layout.shape,
        n_months=int(n_months), counts=counts, z=z, confidence=conf,
        trend_z=spread(trend_z, np.nan), trend_p=spread(trend_p, np.nan),
        count_trend_tau=spread(ck.tau, np.nan), count_trend_p=spread(ck.p, np.nan),
        classes=spread(codes, -1, np.int8), in_study=layout.in_study,
        distance_m=layout.distance_m, k=k, fdr=bool(fdr), level=level,
        trend_alpha=float(trend_alpha), crs=crs,
    )


def classes_of_polygons(grid: EmergingGrid, polygons: Any) -> list[str]:
    """The emerging class of each polygon (a hotspot), from the cells whose centre is inside
    it, each weighted by its incidents over all months: the class holding most incidents.

    Ties go to the class listed first in :data:`CLASS_NAMES` after ``no_pattern`` (hot
    before cold, Esri's order), ``no_pattern`` last. A polygon holding no incident in any cell
    (or no cell centre: smaller than a cell) takes the class of the cell under its
    representative point; "" when that is outside the study area or the grid.
    """
    geoms = np.asarray(getattr(polygons, "geometry", polygons), dtype=object).ravel()
    n = geoms.size
    if n == 0:
        return []
    names = np.asarray(("", *CLASS_NAMES), dtype=object)
    total = grid.counts.sum(axis=0)
    rr, cc = np.nonzero((total > 0) & grid.in_study)
    c = grid.cell_size_m
    cx = grid.origin[0] + (cc + 0.5) * c
    cy = grid.origin[1] - (rr + 0.5) * c
    tree = shapely.STRtree(geoms)
    pt, poly = tree.query(shapely.points(cx, cy), predicate="within")
    n_classes = len(CLASS_NAMES)
    votes = np.bincount(poly * n_classes + grid.classes[rr[pt], cc[pt]].astype(np.int64),
                        weights=total[rr[pt], cc[pt]], minlength=n * n_classes
                        ).reshape(n, n_classes)
    # preference on ties: the patterns in CLASS_NAMES order, then no_pattern
    order = np.r_[np.arange(1, n_classes), 0]
    best = order[np.argmax(votes[:, order], axis=1)]
    out = names[best + 1]
    empty = votes.sum(axis=1) <= 0
    if empty.any():
        reps = shapely.get_coordinates(shapely.point_on_surface(geoms[empty]))
        r, cl = grid.cell_of(reps)
        code = np.where(r >= 0, grid.classes[np.maximum(r, 0), np.maximum(cl, 0)], -1)
        out[empty] = names[code.astype(np.int64) + 1]
    return [str(v) for v in out]
