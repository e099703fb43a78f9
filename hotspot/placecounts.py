"""What happened inside one hotspot's polygon: counts by month, by category and by hour of the
week, for a hotspot's own page.

Pure computation on arrays (no I/O): the caller reads the incidents around the polygon (a
bounding box) and passes them in; the polygon decides which count (an incident on its edge
counts).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely

from hotspot.inside import prepared_copies

EXACT = 0
"""The precision code of an incident whose time of day is known (:mod:`hotspot.table`)."""


@dataclass
class PlaceCounts:
    """Counts of the incidents inside a polygon.

    Attributes
    ----------
    incidents
        Incidents inside in the period.
    by_category
        Category key -> incidents inside in the period, largest first (ties by key).
    by_month
        ``YYYY-MM`` (local) -> incidents inside, for every month asked for (0 where none).
    hour_of_week
        7 x 24 counts (Monday first, hour 0-23, local time) of the incidents inside in the
        period whose time of day is known; None when none has one.
    timed
        How many of ``incidents`` have a time of day.
    """

    incidents: int
    by_category: dict[str, int]
    by_month: dict[str, int]
    hour_of_week: np.ndarray | None
    timed: int
    months_with_data: tuple[str, str] | None = None
    """The first and last month (``YYYY-MM``) with any incident given (of any category,
    inside or not): the months the data covers here."""


def local_months(seconds: np.ndarray, timezone: str) -> np.ndarray:
    """``YYYY-MM`` (object array) of each time (seconds since the epoch, UTC) in ``timezone``."""
    if not len(seconds):
        return np.empty(0, dtype=object)
    local = pd.to_datetime(np.asarray(seconds, dtype=np.int64), unit="s", utc=True) \
        .tz_convert(timezone)
    return np.asarray(local.strftime("%Y-%m"), dtype=object)


def month_range(first: str, last: str) -> list[str]:
    """Every ``YYYY-MM`` from ``first`` to ``last``, both included (empty if ``last`` is
    earlier)."""
    start, end = pd.Period(first, freq="M"), pd.Period(last, freq="M")
    n = (end - start).n + 1
    return [str(start + i) for i in range(max(n, 0))]


def place_counts(
    polygon: Any,
    x: np.ndarray,
    y: np.ndarray,
    occurred_at: np.ndarray,
    precision: np.ndarray,
    category: Sequence[str] | np.ndarray,
    *,
    period: tuple[int | None, int | None] = (None, None),
    months: Sequence[str] = (),
    timezone: str = "Europe/London",
    selected: np.ndarray | None = None,
) -> PlaceCounts:
    """Count the incidents inside ``polygon`` (shapely, same CRS as ``x``/``y``, metres).

    Parameters
    ----------
    polygon
        The hotspot's polygon; an incident on its boundary is inside.
    x, y
        Incident coordinates (metres).
    occurred_at
        Seconds since the epoch (UTC): the start of each incident's period.
    precision
        0 exact (time of day known), 1 day, 2 month.
    category
        Each incident's taxonomy key.
    period
        ``[start, end)`` in seconds since the epoch for the totals, categories and hours
        (None: open).
    months
        The months (``YYYY-MM``, local) to count by month, whatever the period.
    timezone
        Local time zone for months, days and hours.
    selected
        Which incidents are of the selection's categories (None: all): only these are counted;
        the others still tell which months hold data (``months_with_data``).

    Returns
    -------
    PlaceCounts
    """
    n = len(x)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    t = np.asarray(occurred_at, dtype=np.int64)
    prec = np.asarray(precision, dtype=np.int64)
    cats = np.asarray(category, dtype=object)
    keep = np.ones(n, dtype=bool) if selected is None else np.asarray(selected, dtype=bool)
    month_of = local_months(t, timezone)
    with_data = (str(month_of.min()), str(month_of.max())) if n else None
    inside = (shapely.intersects_xy(prepared_copies(polygon), x, y) & keep if n
              else np.zeros(0, dtype=bool))
    start, end = period
    in_period = inside.copy()
    if start is not None:
        in_period &= t >= start
    if end is not None:
        in_period &= t < end
    counts = pd.Series(cats[in_period]).value_counts()
    by_category = dict(sorted(((str(k), int(v)) for k, v in counts.items()),
                              key=lambda kv: (-kv[1], kv[0])))
    wanted = list(months)
    per_month = pd.Series(month_of[inside]).value_counts()
    by_month = {m: int(per_month.get(m, 0)) for m in wanted}
    timed_mask = in_period & (prec == EXACT)
    grid = None
    if timed_mask.any():
        local = pd.to_datetime(t[timed_mask], unit="s", utc=True).tz_convert(timezone)
        grid = np.zeros((7, 24), dtype=np.int64)
        np.add.at(grid, (local.day_of_week.to_numpy(), local.hour.to_numpy()), 1)
    return PlaceCounts(incidents=int(in_period.sum()), by_category=by_category,
                       by_month=by_month, hour_of_week=grid, timed=int(timed_mask.sum()),
                       months_with_data=with_data)
