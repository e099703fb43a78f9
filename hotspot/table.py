"""The hotspot table: one row per hotspot, the same columns whichever method found it.

Columns: ``id``, ``method``, ``geometry`` (polygon, analysis CRS), ``centroid_x``/``centroid_y``
(metres) and ``centroid_lon``/``centroid_lat`` (WGS84), ``incidents``, ``weight`` (what the
method counted: incidents, or their harm), ``harm`` (days of custody, :mod:`geodata.harm`;
NaN when the incidents carry none), ``area_m2``,
``density_per_km2`` (incidents per km2 of the polygon), ``peak_density`` (weight per km2
at the place's density peak, :mod:`hotspot.places`),
``category_mix`` (category: incidents, most first), ``top_category``, ``top_locations`` (the
three location descriptions most recorded in it), ``first_date``,
``last_date``, ``time_precision``, ``profile`` (7 x 24 incidents by day of week, Monday first,
and hour of day, local time; None when no incident has a time of day), ``profile_incidents``,
``peak_hours``, ``peak_days``, ``profile_note``, ``previous_incidents``, ``trend_ratio``,
``trend``, the context columns of :mod:`hotspot.context`, ``score`` and ``rank``.

The **trend** compares a hotspot's incidents with those inside its polygon in the previous
period of equal length: ``up`` or ``down`` when a two-sided binomial test of the split
(current, previous) under equal rates gives p < 0.05, else ``flat``; ``unknown`` without a
previous period.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.special import bdtr

from hotspot._native import loaded_native_steps
from hotspot._numeric import binom_test_two_sided
from hotspot.errors import InvalidParameter
from hotspot.inside import point_hits
from hotspot.localtime import local_clock_seconds
from hotspot.points import to_wgs84

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
EXACT, DAY, MONTH = 0, 1, 2
PRECISION_NAMES = {EXACT: "exact", DAY: "day", MONTH: "month"}


def _local_times(seconds: np.ndarray, timezone: str) -> pd.DatetimeIndex:
    return pd.to_datetime(seconds, unit="s", utc=True).tz_convert(timezone)


def build_table(
    method: str,
    incidents: pd.DataFrame,
    labels: np.ndarray,
    shapes: gpd.GeoDataFrame,
    *,
    timezone: str = "Europe/London",
    previous: pd.DataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Per-hotspot statistics of the incidents (context, score and rank are added later).

    Parameters
    ----------
    method
        ``"kde"`` or ``"dbscan"``.
    incidents
        Columns ``x``, ``y`` (metres) and optionally ``weight``, ``category``,
        ``occurred_at`` (seconds since the epoch, UTC), ``precision`` (0 exact, 1 day, 2 month).
    labels
        The hotspot (row of ``shapes``) of each incident, -1 for none.
    shapes
        The hotspot polygons, in the analysis CRS.
    timezone
        Local time zone for hours and dates.
    previous
        Incidents (``x``, ``y``) of the previous period of equal length, for the trend.

    Raises
    ------
    InvalidParameter
        ``labels`` not one whole number per incident from -1 to ``len(shapes) - 1``.
    """
    k = len(shapes)
    crs = shapes.crs
    n = len(incidents)
    labels = _checked_labels(labels, n, k)
    x = incidents["x"].to_numpy(float)
    y = incidents["y"].to_numpy(float)
    w = incidents["weight"].to_numpy(float) if "weight" in incidents else np.ones(n)
    harm = incidents["harm"].to_numpy(float) if "harm" in incidents else None
    counts, wsum, sx, sy, hsum = _sums(labels, k, x, y, w, harm)
    safe = np.maximum(wsum, 1e-300)
    cx = sx / safe
    cy = sy / safe
    geoms = np.asarray(shapes.geometry.values, dtype=object)
    area = shapely.area(geoms) if k else np.empty(0)
    lon, lat = to_wgs84(crs).transform(cx, cy) if k else (np.empty(0), np.empty(0))
    table: dict[str, Any] = {
        "method": [method] * k,
        "centroid_x": cx.round(1),
        "centroid_y": cy.round(1),
        "centroid_lon": np.round(lon, 6),
        "centroid_lat": np.round(lat, 6),
        "incidents": counts.astype(np.int64),
        "weight": wsum,
        "harm": hsum.round(1) if hsum is not None else np.full(k, np.nan),
        "area_m2": np.round(area, 1),
        "density_per_km2": np.where(area > 0, counts / np.maximum(area, 1e-9) * 1e6, 0.0).round(2),
        "peak_density": shapes["peak_density"].to_numpy(float).round(2)
        if "peak_density" in shapes else np.full(k, np.nan),
    }
    table.update(_categories(incidents, labels, k))
    table["top_locations"] = _locations(incidents, labels, k)
    table.update(_times(incidents, labels, k, timezone))
    table.update(_trend(counts, geoms, previous))
    return gpd.GeoDataFrame(table, geometry=shapes.geometry.values, crs=crs)


def _checked_labels(labels: Any, n: int, k: int) -> np.ndarray:
    """``labels`` as int64 (the compiled passes index with them unchecked, and numpy's keys
    made from narrow integers would wrap), refused unless one per incident from -1 to
    ``k - 1``."""
    arr = np.asarray(labels)
    if arr.shape != (n,) or (arr.size and not np.issubdtype(arr.dtype, np.integer)):
        raise InvalidParameter(f"labels must be one whole number per incident ({n}), not "
                               f"{arr.dtype} of shape {arr.shape}", parameter="labels")
    arr = arr.astype(np.int64, copy=False)
    if arr.size and (int(arr.min()) < -1 or int(arr.max()) >= k):
        raise InvalidParameter(f"labels must be from -1 (no hotspot) to {k - 1} (the hotspots' "
                               f"rows), not {int(arr.min())} to {int(arr.max())}",
                               parameter="labels")
    return arr


def _sums(labels: np.ndarray, k: int, x: np.ndarray, y: np.ndarray, w: np.ndarray,
          harm: np.ndarray | None,
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Per place (``labels``: each incident's, -1 none): its incidents, and the sums of ``w``,
    ``x * w``, ``y * w`` and ``harm`` (None without), each added in the incidents' order (as
    ``np.bincount`` adds them): in one compiled pass when this process has loaded the
    compiled steps (the same sums to the last bit), else by five bincounts."""
    native = loaded_native_steps()
    if native is not None and labels.size:
        count, ws, sx, sy, hs = native.label_sums(
            np.ascontiguousarray(labels, dtype=np.int64), k, np.ascontiguousarray(x),
            np.ascontiguousarray(y), np.ascontiguousarray(w, dtype=np.float64),
            # without harm, x stands in unread (the same argument types: one compiled form)
            np.ascontiguousarray(harm if harm is not None else x), harm is not None)
        return count, ws, sx, sy, (hs if harm is not None else None)
    # -1 (no place) counted in a first bin that is dropped: no copy of every column masked
    # to the places' incidents
    shifted = labels + 1

    def by_place(values: np.ndarray | None = None) -> np.ndarray:
        return np.bincount(shifted, weights=values, minlength=k + 1)[1:k + 1]

    return (by_place().astype(np.int64), by_place(w), by_place(x * w), by_place(y * w),
            by_place(harm) if harm is not None else None)


def _codes(values: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """A categorical column as (codes, categories as an object array of strings-or-values),
    codes -1 for missing; None for any other column."""
    if not isinstance(getattr(values, "dtype", None), pd.CategoricalDtype):
        return None
    cat = pd.Categorical(values)
    return np.asarray(cat.codes, dtype=np.int64), np.asarray(cat.categories, dtype=object)


def _counted(labels: np.ndarray, codes: np.ndarray, names: np.ndarray,
             usable: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Incidents per (hotspot, value) over the incidents with a usable value, ordered as
    ``sort_values(["h", "n", "c"], ascending=[True, False, True])`` orders them: by hotspot,
    most first, then by the value itself (its name's sort order)."""
    m = names.size
    k = int(labels.max()) + 1 if labels.size else 0
    native = loaded_native_steps()
    if native is not None and 0 < k * m <= max(4 * labels.size, 1 << 20):
        # few (place, value) cells: counted in one compiled pass over every incident
        tally = native.label_value_tally(np.ascontiguousarray(labels, dtype=np.int64),
                                         np.ascontiguousarray(codes, dtype=np.int64),
                                         np.ascontiguousarray(usable, dtype=np.bool_), m, k * m)
        uniq = np.flatnonzero(tally)
        n = tally[uniq]
    else:
        member = (labels >= 0) & (codes >= 0)
        member[member] = usable[codes[member]]
        lab, code = labels[member], codes[member]
        key = lab * m + code
        cells = (int(lab.max()) + 1) * m if lab.size else 0
        if cells <= max(4 * key.size, 1 << 20):  # few (place, value) cells: counted at once
            tally = np.bincount(key, minlength=cells)
            uniq = np.flatnonzero(tally)
            n = tally[uniq]
        else:  # many distinct values: sorted
            uniq, n = np.unique(key, return_counts=True)
    h, c = np.divmod(uniq, m)
    name_rank = np.empty(m, dtype=np.int64)
    name_rank[np.argsort(names, kind="stable")] = np.arange(m)
    order = np.lexsort((name_rank[c], -n, h))
    return h[order], c[order], n[order]


def _categories(incidents: pd.DataFrame, labels: np.ndarray, k: int) -> dict[str, Any]:
    if "category" not in incidents or k == 0:
        return {"category_mix": [{} for _ in range(k)], "top_category": [None] * k}
    coded = _codes(incidents["category"])
    mix: list[dict[str, int]] = [{} for _ in range(k)]
    if coded is not None and all(isinstance(c, str) for c in coded[1]):
        codes, names = coded
        h, c, n = _counted(labels, codes, names, np.ones(names.size, dtype=bool))
        text = names.astype(str).tolist()  # Python strings: plain JSON as they are
        for hh, cc, m in zip(h.tolist(), c.tolist(), n.tolist(), strict=True):
            mix[hh][text[cc]] = m
        return {"category_mix": mix, "top_category": [next(iter(m), None) for m in mix]}
    member = labels >= 0
    frame = pd.DataFrame({"h": labels[member],
                          "c": np.asarray(incidents["category"], dtype=object)[member]})
    counts = frame.groupby(["h", "c"], sort=False).size().reset_index(name="n")
    counts = counts.sort_values(["h", "n", "c"], ascending=[True, False, True], kind="stable")
    for h, c, m in zip(counts["h"].tolist(), counts["c"].tolist(), counts["n"].tolist(),
                       strict=True):
        mix[h][str(c)] = int(m)
    return {"category_mix": mix, "top_category": [next(iter(m), None) for m in mix]}


def _locations(incidents: pd.DataFrame, labels: np.ndarray, k: int, top: int = 3) -> list[list[str]]:
    """The location descriptions most recorded in each hotspot (blanks left out)."""
    if "location_text" not in incidents or k == 0:
        return [[] for _ in range(k)]
    out: list[list[str]] = [[] for _ in range(k)]
    coded = _codes(incidents["location_text"])
    if coded is not None and all(isinstance(c, str) for c in coded[1]):
        codes, names = coded
        usable = np.asarray([c.strip() != "" for c in names], dtype=bool)
        h, c, _n = _counted(labels, codes, names, usable)
        first = np.r_[True, h[1:] != h[:-1]]
        start = np.maximum.accumulate(np.where(first, np.arange(h.size), 0)) if h.size else h
        keep = (np.arange(h.size) - start) < top
        text = names.astype(str).tolist()  # Python strings: plain JSON as they are
        for hh, cc in zip(h[keep].tolist(), c[keep].tolist(), strict=True):
            out[hh].append(text[cc])
        return out
    member = labels >= 0
    frame = pd.DataFrame({"h": labels[member],
                          "loc": np.asarray(incidents["location_text"], dtype=object)[member]})
    frame = frame[frame["loc"].notna() & (frame["loc"].astype(str).str.strip() != "")]
    counts = frame.groupby(["h", "loc"], sort=False, observed=True).size().reset_index(name="n")
    counts = counts.sort_values(["h", "n", "loc"], ascending=[True, False, True], kind="stable")
    for h, loc in zip(counts["h"].tolist(), counts["loc"].tolist(), strict=True):
        if len(out[h]) < top:
            out[h].append(str(loc))
    return out


def _times(incidents: pd.DataFrame, labels: np.ndarray, k: int, timezone: str) -> dict[str, Any]:
    empty: dict[str, Any] = {
        "first_date": [None] * k, "last_date": [None] * k, "time_precision": [None] * k,
        "profile": [None] * k, "profile_incidents": np.zeros(k, dtype=np.int64),
        "peak_hours": [[] for _ in range(k)], "peak_days": [[] for _ in range(k)],
        "profile_note": ["no dates in the data"] * k,
    }
    if "occurred_at" not in incidents or k == 0:
        return empty
    t = incidents["occurred_at"].to_numpy()
    if np.issubdtype(t.dtype, np.datetime64):
        t = t.astype("datetime64[s]").astype(np.int64)
    t = t.astype(np.int64)
    prec = (incidents["precision"].to_numpy(np.int64) if "precision" in incidents
            else np.zeros(t.shape[0], dtype=np.int64))
    first, last, coarsest, finest, count, exacts = _time_ranges(labels, k, t, prec)
    has = count > 0
    local_first = _local_times(np.where(has, first, 0), timezone)
    local_last = _local_times(np.where(has, last, 0), timezone)
    profile = np.zeros((k, 7, 24), dtype=np.int64)
    if exacts:
        timed = (labels >= 0) & (prec == EXACT)
        clock = local_clock_seconds(t[timed], timezone)  # local wall clock, s
        # the hour of the week from Monday 00:00: 1970-01-01 00:00 was a Thursday's, 72 hours
        # on; (day * 24 + hour) as ((clock // 86400 + 3) % 7, clock // 3600 % 24) give them
        key = np.multiply(labels[timed], 7 * 24, dtype=np.int64)
        key += (clock // 3600 + 72) % (7 * 24)
        profile = np.bincount(key, minlength=k * 7 * 24).reshape(k, 7, 24)
    n_exact = profile.sum(axis=(1, 2))
    out = dict(empty)
    monthly = coarsest == MONTH
    out["first_date"] = _dates(local_first, monthly, has)
    out["last_date"] = _dates(local_last, monthly, has)
    names = np.array([PRECISION_NAMES[p] for p in (EXACT, DAY, MONTH)] + ["mixed"], dtype=object)
    precision = names[np.where(coarsest == finest, np.clip(coarsest, EXACT, MONTH), 3)]
    out["time_precision"] = [p if h else None
                             for p, h in zip(precision.tolist(), has.tolist(), strict=True)]
    timed = n_exact > 0
    out["profile"] = [p if m else None for p, m in zip(profile.tolist(), timed.tolist(),
                                                       strict=True)]
    out["profile_incidents"] = n_exact
    out["peak_hours"] = _tops(profile.sum(axis=1), 3, timed)
    days = np.asarray(DAYS, dtype=object)
    out["peak_days"] = [days[d].tolist() for d in _tops(profile.sum(axis=2), 2, timed)]
    out["profile_note"] = [
        None if m == c else
        ("times unknown: month-only data (data.police.uk gives months only)" if m == 0 else
         f"profile from the {m} of {c} incidents with a time of day")
        for m, c in zip(n_exact, count, strict=True)
    ]
    return out


def _time_ranges(labels: np.ndarray, k: int, t: np.ndarray, prec: np.ndarray,
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """Per place (``labels``: each incident's, -1 none): the earliest and latest time ``t``
    (seconds), the coarsest and finest precision, the incidents, and how many placed incidents
    have an exact time: in one compiled pass when this process has loaded the compiled steps,
    else by numpy over the placed incidents."""
    native = loaded_native_steps()
    if native is not None and labels.size:
        first, last, coarsest, finest, count, exacts = native.label_time_ranges(
            np.ascontiguousarray(labels, dtype=np.int64), k, np.ascontiguousarray(t),
            np.ascontiguousarray(prec), MONTH, EXACT)
        return first, last, coarsest, finest, count, int(exacts)
    member = labels >= 0
    lab, t, prec = labels[member], t[member], prec[member]
    first = np.full(k, np.iinfo(np.int64).max)
    last = np.full(k, np.iinfo(np.int64).min)
    np.minimum.at(first, lab, t)
    np.maximum.at(last, lab, t)
    coarsest = np.zeros(k, dtype=np.int64)
    finest = np.full(k, MONTH, dtype=np.int64)
    np.maximum.at(coarsest, lab, prec)
    np.minimum.at(finest, lab, prec)
    return (first, last, coarsest, finest, np.bincount(lab, minlength=k),
            int((prec == EXACT).sum()))


def _dates(stamps: pd.DatetimeIndex, monthly: np.ndarray, has: np.ndarray) -> list[str | None]:
    """Each local time's date, ``YYYY-MM-DD`` (``YYYY-MM`` where ``monthly``), None where not
    ``has``."""
    days = np.datetime_as_string(stamps.tz_localize(None).to_numpy().astype("datetime64[D]"),
                                 unit="D")
    text = np.where(monthly, days.astype("<U7"), days).tolist()
    return [t if h else None for t, h in zip(text, has.tolist(), strict=True)]


def _tops(values: np.ndarray, n: int, rows: np.ndarray) -> list[list[int]]:
    """For each row of ``values`` (k x m counts) the columns of its ``n`` largest counts above
    0, largest first (ties: the first column first); [] for rows not in ``rows``."""
    order = np.argsort(-values, axis=1, kind="stable")[:, :n]
    top = np.take_along_axis(values, order, axis=1) > 0
    return [[i for i, t in zip(o, keep, strict=True) if t] if r else []
            for o, keep, r in zip(order.tolist(), top.tolist(), rows.tolist(), strict=True)]


def _trend(counts: np.ndarray, geoms: np.ndarray, previous: pd.DataFrame | None) -> dict[str, Any]:
    k = counts.shape[0]
    if previous is None:
        return {"previous_incidents": [None] * k, "trend_ratio": [None] * k,
                "trend": ["unknown"] * k}
    before = np.zeros(k, dtype=np.int64)
    if len(previous) and k:
        xy = np.column_stack([previous["x"].to_numpy(float), previous["y"].to_numpy(float)])
        _src, tgt = point_hits(geoms, xy, "within")
        # a point in two overlapping hotspots counts for both
        before = np.bincount(tgt, minlength=k).astype(np.int64)
    ratio = [round(c / p, 3) if p else None for c, p in
             zip(counts.tolist(), before.tolist(), strict=True)]
    return {"previous_incidents": before, "trend_ratio": ratio,
            "trend": trend_labels(counts, before)}


_CLEAR = 1e-6
"""Relative margin around 5 % outside which the closed form's p-value decides the label."""


def trend_labels(current: np.ndarray, previous: np.ndarray) -> list[str]:
    """:func:`trend_label` of each pair, vectorised: with the two periods equally likely the
    two-sided binomial p-value is 2 P(X <= min(current, previous)) (the distribution is
    symmetric), one ``scipy.special.bdtr`` call for all; a p-value within a millionth of 5 % (or a
    count over a million, where the exact test's tolerance for equal probabilities could count one
    more value) goes to :func:`trend_label` itself, so the labels are exactly its."""
    c = np.asarray(current, dtype=np.int64)
    p = np.asarray(previous, dtype=np.int64)
    n = c + p
    pvalue = np.minimum(1.0, 2.0 * bdtr(np.minimum(c, p), n, 0.5))
    pvalue[c == p] = 1.0
    out = np.where(pvalue < 0.05, np.where(c > p, "up", "down"), "flat").astype(object)
    exact = (np.abs(pvalue - 0.05) <= 0.05 * _CLEAR) | (n > 1_000_000)
    for i in np.flatnonzero(exact):
        out[i] = trend_label(int(c[i]), int(p[i]))
    return [str(v) for v in out]


def trend_label(current: int, previous: int) -> str:
    """``up``, ``down`` or ``flat``: whether ``current`` incidents differ from ``previous`` (in a
    period of the same length) more than chance would make them (two-sided binomial test at
    5 %, the two periods equally likely)."""
    if current + previous == 0:
        return "flat"
    pvalue = binom_test_two_sided(current, current + previous, 0.5)
    return ("up" if current > previous else "down") if pvalue < 0.05 else "flat"
