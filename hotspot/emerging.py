"""Emerging hot spots: Gi* per month of a space-time cube, a Mann-Kendall trend per cell, and
Esri's pattern classes.

Following Esri, "How Emerging Hot Spot Analysis works" (ArcGIS Pro documentation, Space Time
Pattern Mining toolbox, ``learnmoreemerging.htm``): each bin (cell x month) gets a Gi* z-score
and a hot/cold confidence with FDR correction; each cell gets the Mann-Kendall trend of its Gi*
z-scores over the months (the "intensity of clustering", as Esri; the trend of the plain counts
is given too, for information); then each cell gets one class (the classes and the rules
that give them: :mod:`hotspot.emerging_classes`).

Departures from Esri's tool, both deliberate: each month's Gi* is purely spatial (Esri's
default neighbourhood also takes the previous time step) and compares a cell with that month's
own mean and s.d. (Esri compares with the whole cube), so a county-wide rise or fall in
recorded crime does not turn every cell hot or cold: the class says where crime concentrates,
month after month. The neighbourhood is the one of :func:`hotspot.gistar.gi_star_grid`.

**Sparse cubes.** Gi*'s normal p-values are anti-conservative when most cells of a month are
empty: a couple of incidents in one 3 x 3 block can pass FDR, and chance makes "new" and
"sporadic" hot spots (``bench.gistar``: 100,000 incidents a year over 3,600 km2 in 100 m cells
gave 3,392 new hot spot cells; in 250 m cells, 1). Choose cells that hold a few incidents a
month where crime is, or read the classes only inside hotspots of the whole period (which is
how :func:`classes_of_polygons` is meant to be used, and what :func:`classes_of_hotspots` does
for :func:`hotspot.analysis.analyse`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely
from scipy.special import ndtr

from hotspot.cancel import ShouldStop, check
from hotspot.emerging_classes import CLASS_DESCRIPTIONS as CLASS_DESCRIPTIONS  # re-exported
from hotspot.emerging_classes import CLASS_LABELS as CLASS_LABELS  # re-exported
from hotspot.emerging_classes import CLASS_NAMES, classify_series
from hotspot.errors import InvalidParameter, WorkLimitExceeded
from hotspot.gistar import LEVELS, confidence_levels
from hotspot.gistar_grid import (
    CellGrid,
    Layout,
    Neighbourhood,
    check_p_values,
    check_points,
    gi_star,
    lay_out_grid,
)
from hotspot.kde import MAX_CELLS
from hotspot.localtime import local_month_ordinals

if TYPE_CHECKING:
    import geopandas as gpd


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
    xy, w = check_points(xy, weights)
    check_p_values(p_values, weights)
    month_of = _check_months(month, n_months, xy.shape[0])
    if confidence not in LEVELS:
        raise InvalidParameter(f"confidence must be 90, 95 or 99 (per cent), not "
                               f"{confidence!r}", parameter="confidence")
    if not 0 < trend_alpha < 1:
        raise InvalidParameter(f"trend_alpha must be between 0 and 1, not {trend_alpha!r}",
                               parameter="trend_alpha")
    layout = _cube_layout(xy, cell_size_m, bounds, boundary, distance_m, k, n_months, max_cells)
    counts = _monthly_counts(layout, xy, month_of, w, int(n_months))
    z, conf = _monthly_gi_star(counts, layout, k, p_values, fdr, should_stop)
    check(should_stop, "before the trends")
    study = layout.in_study.ravel()
    level = LEVELS[confidence]
    codes, trend_z, trend_p = _classes(z, conf, study, level, trend_alpha)
    count_trend = mann_kendall(counts.reshape(int(n_months), study.size)[:, study])

    def spread(values: np.ndarray, fill: float, dtype: Any = np.float64) -> np.ndarray:
        out = np.full(study.size, fill, dtype=dtype)
        out[study] = values
        return out.reshape(layout.shape)

    return EmergingGrid(
        origin=layout.origin, cell_size_m=layout.cell, shape=layout.shape,
        n_months=int(n_months), counts=counts, z=z, confidence=conf,
        trend_z=spread(trend_z, np.nan), trend_p=spread(trend_p, np.nan),
        count_trend_tau=spread(count_trend.tau, np.nan), count_trend_p=spread(count_trend.p, np.nan),
        classes=spread(codes, -1, np.int8), in_study=layout.in_study,
        distance_m=layout.distance_m, k=k, fdr=bool(fdr), level=level,
        trend_alpha=float(trend_alpha), crs=crs,
    )


def _check_months(month: Any, n_months: Any, n: int) -> np.ndarray:
    """Each incident's month (0 to ``n_months - 1``) as int64, ``n_months`` from 2 to 1200;
    refuses others naming the parameter."""
    if not isinstance(n_months, (int, np.integer)) or isinstance(n_months, bool) \
            or not 2 <= n_months <= 1200:
        raise InvalidParameter(f"n_months must be a whole number from 2 to 1200, not "
                               f"{n_months!r}", parameter="n_months")
    month_of = np.asarray(month)
    if month_of.shape != (n,) or (month_of.size and not np.issubdtype(month_of.dtype, np.integer)):
        raise InvalidParameter("month must give one whole number per incident",
                               parameter="month")
    month_of = month_of.astype(np.int64)
    if month_of.size and (month_of.min() < 0 or month_of.max() >= n_months):
        raise InvalidParameter(f"month must be from 0 to n_months - 1 ({n_months - 1})",
                               parameter="month")
    return month_of


def _cube_layout(xy: np.ndarray, cell_size_m: float, bounds: Any, boundary: Any,
                 distance_m: float | None, k: int | None, n_months: int,
                 max_cells: int | None) -> Layout:
    """The Gi* grid every month shares (:func:`hotspot.gistar_grid.lay_out_grid`), its cells at most
    ``max_cells`` bins over the months; a larger cube is refused naming ``cell_size_m``."""
    limit = None if max_cells is None else max(1, int(max_cells) // int(n_months))
    try:
        return lay_out_grid(xy, cell_size_m, bounds, boundary, distance_m, k, limit)
    except WorkLimitExceeded as exc:
        assert max_cells is not None
        raise WorkLimitExceeded(
            f"the space-time cube would have {n_months} months x {exc.found:,} cells, more "
            f"than the limit of {max_cells:,} bins: use a larger cell_size_m, fewer months or "
            "a smaller area", found=int(n_months) * exc.found, limit=int(max_cells),
            parameter="cell_size_m", kind="grid_cells") from exc


def _monthly_counts(layout: Layout, xy: np.ndarray, month_of: np.ndarray, w: np.ndarray,
                    n_months: int) -> np.ndarray:
    """The cube: the weight of each month's incidents in each cell (months x rows x cols);
    incidents off the grid are left out."""
    rows, cols = layout.shape
    flat = layout.cells(xy)
    on = flat >= 0
    size = rows * cols
    return np.bincount(month_of[on] * size + flat[on], weights=w[on],
                       minlength=n_months * size).reshape(n_months, rows, cols)


def _monthly_gi_star(counts: np.ndarray, layout: Layout, k: int | None, p_values: str, fdr: bool,
                     should_stop: ShouldStop | None) -> tuple[np.ndarray, np.ndarray]:
    """Each month's Gi* z-scores and confidence levels (-99..99, 0 not significant) per cell,
    over the same neighbourhood."""
    neighbourhood = Neighbourhood(layout.in_study, layout.cell, distance_m=layout.distance_m, k=k)
    z = np.empty(counts.shape)
    conf = np.empty(counts.shape, dtype=np.int8)
    for t in range(counts.shape[0]):
        check(should_stop, "while computing Gi* month by month")
        z[t], p = gi_star(counts[t], layout.in_study, neighbourhood, p_values=p_values)
        conf[t] = confidence_levels(z[t], p, layout.in_study, fdr=fdr)
    return z, conf


def _classes(z: np.ndarray, conf: np.ndarray, study: np.ndarray, level: int,
             trend_alpha: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per study cell: the class code (:func:`classify_series`) and the Mann-Kendall trend of
    its z-scores (z and p; NaN where no month is hot or cold, as only there it matters)."""
    n_months = z.shape[0]
    z_study = z.reshape(n_months, -1)[:, study]
    conf_study = conf.reshape(n_months, -1)[:, study]
    hot, cold = conf_study >= level, conf_study <= -level
    # the trend of z matters only where a month is hot or cold: test those cells alone
    seen = np.flatnonzero((hot | cold).any(axis=0))
    z_trend = mann_kendall(z_study[:, seen]) if seen.size else None
    trend = np.zeros(z_study.shape[1], dtype=np.int8)
    trend_z = np.full(z_study.shape[1], np.nan)
    trend_p = np.full(z_study.shape[1], np.nan)
    if z_trend is not None:
        trend[seen] = z_trend.trend(trend_alpha)
        trend_z[seen] = z_trend.z
        trend_p[seen] = z_trend.p
    return classify_series(hot, cold, trend), trend_z, trend_p


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


EMERGING_CELL_M = 200.0
"""Cell of the emerging hot spot cube, metres: monthly counts of a street-level cell are mostly
0 or 1, too few for a trend; 200 m cells (a 300 m band) hold enough in a month of a town."""
EMERGING_MAX_MONTHS = 36
"""Most months in the cube (the latest): bounds its size on a long selection."""
EMERGING_MIN_MONTHS = 3
"""Fewest months for emerging classes (Esri asks for 10 or more for a trend with any power)."""


def classes_of_hotspots(
    source: pd.DataFrame, table: gpd.GeoDataFrame, w: np.ndarray | None,
    weight_column: str | None,
    boundary: Any, crs: str, max_grid_cells: int | None, should_stop: ShouldStop | None,
    timezone: str,
) -> tuple[list[str | None], dict[str, Any]]:
    """Each hotspot's emerging hot spot class over the local months (``timezone``) of the
    incidents ``source`` (``x``, ``y`` metres in ``crs``, ``occurred_at``), in a cube of
    :data:`EMERGING_CELL_M` cells over the latest :data:`EMERGING_MAX_MONTHS` months, and a
    summary; None each, with a note, when there are too few months or the cube would be over
    ``max_grid_cells``. ``w``: the incidents' weights (else the ``weight_column``, else ones);
    weighted when ``weight_column`` is given. For :func:`hotspot.analysis.analyse`: the cube
    (:func:`emerging_cube`, which needs no hotspot) then the classes of the hotspots'
    polygons (:func:`classes_in_cube`)."""
    if not len(table):
        return [], {"note": "no dated incidents"}
    cube = emerging_cube(source, w, weight_column, boundary, crs, max_grid_cells, should_stop,
                         timezone)
    return classes_in_cube(cube, table)


@dataclass
class EmergingCube:
    """The emerging hot spot cube of a selection's incidents (:func:`emerging_cube`): its
    grid, or None with a note saying why there is none."""

    grid: EmergingGrid | None
    info: dict[str, Any]


def emerging_cube(
    source: pd.DataFrame, w: np.ndarray | None, weight_column: str | None, boundary: Any,
    crs: str, max_grid_cells: int | None, should_stop: ShouldStop | None, timezone: str,
) -> EmergingCube:
    """The cube :func:`classes_of_hotspots` classifies hotspots in (the same parameters;
    none of the hotspots themselves, so it can be made while they are found)."""
    if "occurred_at" not in source or not len(source):
        return EmergingCube(None, {"note": "no dated incidents"})
    month, n_months, first = _local_months(source["occurred_at"].to_numpy(), timezone)
    if n_months > EMERGING_MAX_MONTHS:  # the latest months: a bounded cube
        keep = month >= n_months - EMERGING_MAX_MONTHS
        source, month = source[keep], month[keep] - (n_months - EMERGING_MAX_MONTHS)
        if w is not None:
            w = w[keep]
        year, month0 = divmod(int(first[:4]) * 12 + int(first[5:7]) - 1 + n_months
                              - EMERGING_MAX_MONTHS, 12)
        n_months, first = EMERGING_MAX_MONTHS, f"{year:04d}-{month0 + 1:02d}"
    if n_months < EMERGING_MIN_MONTHS:
        return EmergingCube(None, {"months": n_months, "note": (
            f"emerging classes need at least {EMERGING_MIN_MONTHS} months of data; this "
            f"selection has {n_months}")})
    weighted = weight_column is not None
    if w is None:
        w = (source[weight_column].to_numpy(float)
             if weight_column is not None and weight_column in source else np.ones(len(source)))
    xy = np.column_stack([source["x"].to_numpy(float), source["y"].to_numpy(float)])
    try:
        grid = emerging_hotspots(xy, month, n_months, cell_size_m=EMERGING_CELL_M,
                                 weights=w if weighted else None, boundary=boundary,
                                 max_cells=max_grid_cells, crs=crs, should_stop=should_stop)
    except WorkLimitExceeded as exc:  # the places stand without their classes
        return EmergingCube(None, {"months": n_months, "note": f"no emerging classes: {exc}"})
    return EmergingCube(grid, {"months": n_months, "first_month": first,
                               "cell_size_m": EMERGING_CELL_M})


def classes_in_cube(cube: EmergingCube, table: gpd.GeoDataFrame,
                    ) -> tuple[list[str | None], dict[str, Any]]:
    """Each hotspot's emerging class in ``cube`` (None each when it has no grid) and the
    summary :func:`classes_of_hotspots` gives."""
    k = len(table)
    if cube.grid is None or not k:
        return [None] * k, dict(cube.info)
    classes = classes_of_polygons(cube.grid, table.geometry.values)
    counts = pd.Series([c for c in classes if c]).value_counts()
    return [c or None for c in classes], {
        **cube.info, "hotspots_by_class": {str(c): int(v) for c, v in counts.items()}}


def _local_months(occurred_at: np.ndarray, timezone: str) -> tuple[np.ndarray, int, str]:
    """Local calendar month of each time (seconds, UTC, or datetime64) counted from the first:
    (index from 0, months from the first to the last, the first as ``YYYY-MM``); a month stored
    as its first local instant (data.police.uk) stays in its own month."""
    t = np.asarray(occurred_at)
    if np.issubdtype(t.dtype, np.datetime64):
        t = t.astype("datetime64[s]").astype(np.int64)
    months = local_month_ordinals(t.astype(np.int64), timezone)
    first = int(months.min())
    return months - first, int(months.max() - first) + 1, f"{first // 12:04d}-{first % 12 + 1:02d}"
