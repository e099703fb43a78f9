"""Near-repeat risk: the Knox test of space-time clustering, and the risk zones it implies.

After a burglary or a vehicle theft, the homes and streets nearby are at raised risk for a few
days or weeks (Townsley, Homel & Chaseling 2003; Johnson et al. 2007). The **Knox test** (Knox
1964) measures it: count the pairs of incidents that are close in space *and* in time, and
compare with what the same places and the same dates would give if timing and place were
unrelated. As in the Near Repeat Calculator (Ratcliffe 2009) and Johnson et al. (2007), the
expected counts come from a Monte Carlo permutation test: the dates are shuffled among the
incidents (the places stay where they are), and the pairs counted again.

Bands, and how a pair is counted
--------------------------------
Distance bands and day bands are given by their edges, ``(0, 100, 200, 400, 800)`` metres and
``(0, 7, 14, 21, 28)`` days by default. Every band is **left-closed, right-open**:

- a pair at distance ``d`` (Euclidean, metres in the projected CRS) is in band ``[a, b)`` when
  ``a <= d < b``. **Same-location pairs** (``d = 0``: data.police.uk map points, repeat
  victimisation of one address) are in the first band; to see them on their own, start the
  bands with ``(0, 1, ...)`` (``[0, 1)`` m is then "the same place").
- a pair ``|t_i - t_j|`` days apart is in ``[a, b)`` days when ``a <= |t_i - t_j| < b``.
  **Same-day pairs** are in the first band. With exact times the gap is fractional (a theft
  6 days 23 hours after another is in ``[0, 7)``); with dates only, whole days: ``[0, 7)`` holds
  the gaps 0 to 6 days.
- pairs at or beyond the last distance edge or the last day edge are not tabulated (they do not
  change the other cells: each cell is tested on its own).

The Near Repeat Calculator labels its bands differently: "same location", then ``1 to 100``,
``101 to 200`` m (right-closed), and ``0 to 7``, ``8 to 14`` days (whole days, the first band
eight days wide). Its figures are therefore close to, not identical with, these.

Formulas
--------
For cell ``(k, l)`` (distance band ``k``, day band ``l``):

    O_kl  = #{ pairs i < j : d_ij in band k and |t_i - t_j| in band l }
    E_kl  = (1 / R) * sum_r O_kl^(r)        (O recounted with the dates permuted, R times)
    ratio = O_kl / E_kl                      (the Knox ratio; NaN when E_kl = 0)
    p_kl  = (1 + #{ r : O_kl^(r) >= O_kl }) / (1 + R)

A cell is **significant** when ``p_kl <= alpha`` (0.05) and its ratio is above 1 (more pairs
than chance: a near repeat; fewer would be a "near-repeat immunity" and is reported but never
drawn). With ``R = 99`` the smallest p is 0.01.

The near-repeat zone
--------------------
:meth:`KnoxResult.significant_extent` reads one distance and one number of days off the table:
the **largest block of elevated cells anchored at the origin** (distance bands ``0..K`` and day
bands ``0..L``, every cell in it significant *and* with a Knox ratio of at least ``min_ratio``,
1.2 by default: 20 % more pairs than chance), largest by number of cells; ties go to the block
with the higher ratio, then to the farther distance. The zone is then ``(upper edge of band K,
upper edge of day band L)``: "within 200 m, for 14 days". None when the first cell (closest,
soonest) is not elevated. The block's ratio (its observed pairs over its expected pairs) is the
"times higher" of the plain reading.

Why a ratio floor: with tens of thousands of incidents a 5 % excess is significant (New York's
vehicle thefts: every band out to 800 m in the first week), and a zone stretched to it would
dilute the 1.5-2x risk next door into a 1.1x risk over a whole neighbourhood.

References
----------
- Knox, E. G. (1964). The detection of space-time interactions. *Journal of the Royal
  Statistical Society, Series C (Applied Statistics)*, 13(1), 25-30.
- Townsley, M., Homel, R., & Chaseling, J. (2003). Infectious burglaries: a test of the near
  repeat hypothesis. *British Journal of Criminology*, 43(3), 615-633.
- Johnson, S. D., Bernasco, W., Bowers, K. J., Elffers, H., Ratcliffe, J., Rengert, G., &
  Townsley, M. (2007). Space-time patterns of risk: a cross national assessment of residential
  burglary victimization. *Journal of Quantitative Criminology*, 23(3), 201-219.
- Ratcliffe, J. H. (2009). *Near Repeat Calculator* (version 1.3). Temple University,
  Philadelphia, PA, and the National Institute of Justice, Washington, DC.

The result, its zone and reading are :class:`~hotspot.nearrepeat_result.KnoxResult`
(re-exported here).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from hotspot.cancel import ShouldStop, check
from hotspot.errors import InvalidParameter, InvalidPoints, WorkLimitExceeded
from hotspot.nearrepeat_result import ALPHA, MIN_RATIO, KnoxResult
from hotspot.points import check_crs

DISTANCE_BANDS_M = (0.0, 100.0, 200.0, 400.0, 800.0)
"""Default distance band edges, metres (left-closed, right-open)."""
DAY_BANDS = (0.0, 7.0, 14.0, 21.0, 28.0)
"""Default day band edges (left-closed, right-open)."""
MAX_PERMUTATIONS = 999
"""Most permutations one test may run."""
MAX_PAIRS = 10_000_000
"""Most pairs (within the largest distance) one test may count: each permutation recounts
them all (about 26 ns a pair on this machine, 0.07 s a permutation for New York's 2.8 million
pairs within 800 m; docs/near-repeat.md)."""
MAX_WORK = 1_000_000_000
"""Most pair counts (pairs x (permutations + 1)) one test may do: about 30 s here."""
MAX_DISTANCE_M = 10_000.0
"""Largest distance edge, metres: a near repeat is a street-scale effect."""
MAX_DAYS = 366.0
"""Largest day edge."""
MAX_BANDS = 50
"""Most bands of either kind."""
MIN_DAY_PRECISE_SHARE = 0.9
"""Share of the incidents that must be dated to the day (or better) for a test."""
_CHUNK = 4_000_000
"""Pairs recounted at a time (bounds the memory of one permutation)."""


# --- dates --------------------------------------------------------------------------------------

def require_exact_dates(precision: Any, *, min_share: float = MIN_DAY_PRECISE_SHARE,
                        parameter: str = "occurred_at") -> np.ndarray:
    """Which incidents are dated to the day or better; refuse data that mostly is not.

    Parameters
    ----------
    precision
        Per incident: 0 exact (date and time), 1 day, 2 month (as :mod:`hotspot.table`).
    min_share
        The share of incidents (0-1) that must be dated to the day or better.
    parameter
        The name the refusal gives.

    Returns
    -------
    numpy.ndarray
        Boolean mask: True for the incidents the test may use (precision 0 or 1).

    Raises
    ------
    InvalidParameter
        Fewer than ``min_share`` of the incidents (or fewer than two) are dated to the day:
        a Knox test on month-only dates would be a fake result, so none is given.
    """
    prec = np.asarray(precision)
    if prec.ndim != 1:
        raise InvalidParameter(f"precision must be one code per incident, not shape {prec.shape}",
                               parameter=parameter)
    usable = prec <= 1
    n = prec.shape[0]
    good = int(usable.sum())
    if n == 0 or good < 2 or good < min_share * n:
        months = int((prec >= 2).sum())
        raise InvalidParameter(
            "near-repeat analysis needs dates to the day; "
            f"{good:,} of the {n:,} incidents selected are dated to the day or better "
            f"({months:,} to the month only), and at least {min_share:.0%} must be. "
            "data.police.uk gives months only, so its files cannot show near repeats (days "
            "after an incident): load the force's own export with dates of occurrence",
            parameter=parameter)
    return usable


def local_days(seconds: Any, timezone: str = "UTC") -> np.ndarray:
    """Days since 1970-01-01 on the local wall clock of ``timezone`` (float).

    Gaps between local dates are then whole days across a daylight-saving change (a date-only
    incident stored at local midnight is not 23 hours after the one before).

    Parameters
    ----------
    seconds
        Seconds since the epoch, UTC (as the stores keep ``occurred_at``).
    timezone
        An IANA time zone name.
    """
    s = np.asarray(seconds, dtype=np.int64)
    if s.size == 0:
        return np.empty(0)
    local = pd.to_datetime(s, unit="s", utc=True).tz_convert(timezone).tz_localize(None)
    wall = local.to_numpy().astype("datetime64[s]").astype(np.int64)
    return wall.astype(np.float64) / 86_400.0


# --- the test -----------------------------------------------------------------------------------

def _edges(values: Sequence[float], name: str, most: float, unit: str) -> np.ndarray:
    try:
        edges = np.asarray([float(v) for v in values], dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidParameter(f"{name} must be numbers ({unit})", parameter=name) from None
    if edges.ndim != 1 or not 2 <= edges.size <= MAX_BANDS + 1:
        raise InvalidParameter(f"{name} must be 2 to {MAX_BANDS + 1} edges ({unit}), starting at 0",
                               parameter=name)
    if not np.isfinite(edges).all() or edges[0] != 0 or (np.diff(edges) <= 0).any():
        raise InvalidParameter(f"{name} must start at 0 and increase strictly ({unit})",
                               parameter=name)
    if edges[-1] > most:
        raise InvalidParameter(f"{name} must end at most at {most:g} {unit} (got {edges[-1]:g})",
                               parameter=name)
    return edges


def _pairs(xy: np.ndarray, reach: float, max_pairs: int) -> tuple[np.ndarray, np.ndarray,
                                                                   np.ndarray]:
    """(i, j, distance) of the pairs i < j closer than ``reach`` metres, counted first (the
    tree's count is cheap) and refused past ``max_pairs``."""
    n = xy.shape[0]
    if n < 2:
        return np.empty(0, np.int32), np.empty(0, np.int32), np.empty(0)
    tree = cKDTree(xy)
    within = (int(tree.count_neighbors(tree, reach)) - n) // 2  # ordered pairs, self included
    if within > max_pairs:
        raise WorkLimitExceeded(
            f"{within:,} pairs of incidents lie within {reach:g} m of each other, more than the "
            f"limit of {max_pairs:,}: use a smaller last distance band (distance_bands_m), or a "
            "shorter period or fewer categories", found=within, limit=max_pairs,
            parameter="distance_bands_m", kind="pairs")
    pairs = tree.query_pairs(reach, output_type="ndarray")
    index = np.int32 if n < 2**31 else np.int64  # half the memory of the pairs
    i = pairs[:, 0].astype(index)
    j = pairs[:, 1].astype(index)
    del pairs
    dist = np.hypot(xy[i, 0] - xy[j, 0], xy[i, 1] - xy[j, 1])
    keep = dist < reach  # right-open: the tree's ball is closed
    if keep.all():
        return i, j, dist
    return i[keep], j[keep], dist[keep]


def _count(days: np.ndarray, i: np.ndarray, j: np.ndarray, dband: np.ndarray,
           day_edges: np.ndarray, nd: int) -> np.ndarray:
    """(nd, nt) pairs per cell; ``dband`` is each pair's distance band.

    Most pairs are further apart in time than the last day edge: only those closer are put in
    bands (a comparison for every pair, a search for the few)."""
    nt = day_edges.size - 1
    last = day_edges[-1]
    counts = np.zeros(nd * nt, dtype=np.int64)
    for start in range(0, i.size, _CHUNK):
        gap = np.abs(days.take(i[start:start + _CHUNK]) - days.take(j[start:start + _CHUNK]))
        near = np.flatnonzero(gap < last)
        tband = np.searchsorted(day_edges, gap[near], side="right") - 1  # 0..nt-1
        counts += np.bincount(dband[start + near].astype(np.int64) * nt + tband,
                              minlength=nd * nt)
    return counts.reshape(nd, nt)


def knox_test(
    xy: Any,
    days: Any,
    *,
    distance_bands_m: Sequence[float] = DISTANCE_BANDS_M,
    day_bands: Sequence[float] = DAY_BANDS,
    permutations: int = 99,
    seed: int | None = 0,
    alpha: float = ALPHA,
    min_ratio: float = MIN_RATIO,
    max_pairs: int = MAX_PAIRS,
    max_permutations: int = MAX_PERMUTATIONS,
    max_work: int = MAX_WORK,
    should_stop: ShouldStop | None = None,
) -> KnoxResult:
    """Knox test of space-time clustering with a Monte Carlo permutation test.

    Parameters
    ----------
    xy
        (n, 2) incident coordinates, metres in a projected CRS.
    days
        (n,) incident dates as float days since any origin (exact dates: see
        :func:`require_exact_dates`, :func:`local_days`).
    distance_bands_m
        Distance band edges, metres, from 0, increasing (left-closed, right-open).
    day_bands
        Day band edges, from 0, increasing (left-closed, right-open).
    permutations
        Monte Carlo permutations of the dates (0 to ``max_permutations``).
    seed
        Seed of the ``numpy.random.Generator`` that draws them (None: fresh entropy).
    alpha
        Significance level of a cell (0-1).
    min_ratio
        Smallest Knox ratio of a cell of the near-repeat zone (at least 1).
    max_pairs, max_permutations, max_work
        The work bounds: pairs within the last distance edge, permutations, and pairs x
        (permutations + 1).
    should_stop
        Checked between permutations (:mod:`hotspot.cancel`).

    Returns
    -------
    KnoxResult

    Raises
    ------
    InvalidParameter
        A band, permutation count or alpha out of range, naming it.
    WorkLimitExceeded
        Too many pairs (``distance_bands_m``) or pairs x permutations (``permutations``).
    InvalidPoints
        ``xy`` is not (n, 2) finite, or ``days`` not n finite numbers.
    AnalysisCancelled
        ``should_stop`` answered True.

    Examples
    --------
    >>> xy = [[0, 0], [50, 0], [5000, 0], [5050, 0]]
    >>> result = knox_test(xy, [0, 3, 100, 200], permutations=0)
    >>> int(result.observed[0, 0])  # (0, 1): 50 m and 3 days apart
    1
    """
    pts, t = _check_incidents(xy, days)
    distance_edges = _edges(distance_bands_m, "distance_bands_m", MAX_DISTANCE_M, "m")
    day_edges = _edges(day_bands, "day_bands", MAX_DAYS, "days")
    _check_test_options(permutations, max_permutations, alpha, min_ratio)
    i, j, dband = _pairs_by_band(pts, distance_edges, max_pairs, permutations, max_work,
                                 should_stop)
    observed, expected, exceed = _permutation_test(
        t, i, j, dband, distance_edges.size - 1, day_edges, permutations, seed, should_stop)
    return KnoxResult(
        distance_edges_m=tuple(float(v) for v in distance_edges),
        day_edges=tuple(float(v) for v in day_edges), observed=observed, expected=expected,
        exceed=exceed, permutations=int(permutations), seed=seed, incidents=int(pts.shape[0]),
        pairs=int(i.size), alpha=float(alpha), min_ratio=float(min_ratio),
        notes=_notes(permutations, alpha))


def _check_incidents(xy: Any, days: Any) -> tuple[np.ndarray, np.ndarray]:
    """The (n, 2) coordinates (metres) and the n days, as floats, checked."""
    pts = np.asarray(xy, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise InvalidPoints(f"xy must be an (n, 2) array of metres, not shape {pts.shape}")
    t = np.asarray(days, dtype=np.float64)
    if t.shape != (pts.shape[0],):
        raise InvalidPoints(f"days must hold one value per incident ({pts.shape[0]}), not shape "
                            f"{t.shape}")
    if not (np.isfinite(pts).all() and np.isfinite(t).all()):
        raise InvalidPoints("some coordinates or days are NaN or infinite")
    return pts, t


def _check_test_options(permutations: int, max_permutations: int, alpha: float,
                        min_ratio: float) -> None:
    if isinstance(permutations, bool) or not isinstance(permutations, int | np.integer) \
            or not 0 <= permutations <= max_permutations:
        raise InvalidParameter(f"permutations must be a whole number from 0 to "
                               f"{max_permutations} (got {permutations!r})",
                               parameter="permutations")
    if not 0 < alpha < 1:
        raise InvalidParameter(f"alpha must be between 0 and 1 (got {alpha!r})", parameter="alpha")
    if not 1 <= min_ratio <= 100:
        raise InvalidParameter(f"min_ratio must be from 1 to 100 (got {min_ratio!r})",
                               parameter="min_ratio")


def _pairs_by_band(pts: np.ndarray, dedges: np.ndarray, max_pairs: int, permutations: int,
                   max_work: int, should_stop: ShouldStop | None
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(i, j, distance band) of the pairs closer than the last distance edge, refused when
    they or their counts over the permutations are too many."""
    check(should_stop, "before counting pairs")
    i, j, dist = _pairs(pts, float(dedges[-1]), max_pairs)
    work = i.size * (permutations + 1)
    if work > max_work:
        raise WorkLimitExceeded(
            f"{i.size:,} pairs x {permutations + 1} counts = {work:,} pair counts, more than the "
            f"limit of {max_work:,}: use fewer permutations (at most "
            f"{max(0, max_work // max(i.size, 1) - 1):,} here) or a smaller last distance band",
            found=work, limit=max_work, parameter="permutations", kind="pair_counts")
    dband = (np.searchsorted(dedges, dist, side="right") - 1).astype(np.int8)
    return i, j, dband


def _permutation_test(t: np.ndarray, i: np.ndarray, j: np.ndarray, dband: np.ndarray,
                      nd: int, tedges: np.ndarray, permutations: int, seed: int | None,
                      should_stop: ShouldStop | None
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pairs counted per cell (``nd`` distance bands x the day bands of ``tedges``), then
    recounted with the dates shuffled ``permutations`` times: (observed, mean count of the
    shuffles (NaN with none), how many shuffles reached the observed count)."""
    observed = _count(t, i, j, dband, tedges, nd)
    nt = tedges.size - 1
    total = np.zeros((nd, nt))
    exceed = np.zeros((nd, nt), dtype=np.int64)
    rng = np.random.default_rng(seed)
    for _r in range(permutations):
        check(should_stop, "between permutations")
        counts = _count(t[rng.permutation(t.size)], i, j, dband, tedges, nd)
        total += counts
        exceed += counts >= observed
    expected = total / permutations if permutations else np.full((nd, nt), np.nan)
    return observed, expected, exceed


def _notes(permutations: int, alpha: float) -> list[str]:
    if permutations and permutations < 19:
        return [f"with {permutations} permutations no p-value can reach {alpha:g}: use 99 "
                "or more"]
    return []


# --- risk zones ---------------------------------------------------------------------------------

def risk_zones(xy: Any, days: Any, result: KnoxResult, *, as_of_day: float,
               crs: Any, resolution: int = 16) -> gpd.GeoDataFrame:
    """Prospective near-repeat risk zones on ``as_of_day``: a disc around each recent incident.

    Each incident dated in ``(as_of_day - D, as_of_day]`` (``D`` the zone's days) gets a disc
    of the zone's distance, at risk from its date until ``D`` days later. Discs are **not
    merged**: each keeps its own expiry, so a map can fade or drop them one by one (dissolve
    them for a single layer). Empty when the test found no zone.

    Parameters
    ----------
    xy, days
        The incidents (metres in ``crs``; float days, the same origin as ``as_of_day``).
    result
        The Knox test of these (or comparable) incidents.
    as_of_day
        The day the zones are drawn for (float days, same origin).
    crs
        The projected CRS of ``xy``.
    resolution
        Segments per quarter circle of each disc.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``incident`` (row of the input), ``from_day``, ``until_day``, ``distance_m``,
        ``days``, ``ratio`` (the zone's Knox ratio) and the disc ``geometry`` in ``crs``.
    """
    crs = check_crs(crs)
    pts = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    t = np.asarray(days, dtype=np.float64)
    if t.shape != (pts.shape[0],):
        raise InvalidPoints("days must hold one value per incident")
    columns = ["incident", "from_day", "until_day", "distance_m", "days", "ratio"]
    extent = result.significant_extent()
    if extent is None:
        return gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs=crs)
    distance, span = extent
    recent = np.flatnonzero((t <= as_of_day) & (t > as_of_day - span))
    centres = shapely.points(pts[recent]) if recent.size else np.empty(0, dtype=object)
    discs = shapely.buffer(centres, distance, quad_segs=resolution) if recent.size else centres
    ratio = result.zone_ratio()
    return gpd.GeoDataFrame({
        "incident": recent.astype(np.int64),
        "from_day": t[recent],
        "until_day": t[recent] + span,
        "distance_m": np.full(recent.size, distance),
        "days": np.full(recent.size, span),
        "ratio": np.full(recent.size, np.nan if ratio is None else round(ratio, 3)),
    }, geometry=discs, crs=crs)


__all__ = [
    "ALPHA",
    "DAY_BANDS",
    "DISTANCE_BANDS_M",
    "MAX_BANDS",
    "MAX_DAYS",
    "MAX_DISTANCE_M",
    "MAX_PAIRS",
    "MAX_PERMUTATIONS",
    "MAX_WORK",
    "MIN_DAY_PRECISE_SHARE",
    "MIN_RATIO",
    "KnoxResult",
    "knox_test",
    "local_days",
    "require_exact_dates",
    "risk_zones",
]
