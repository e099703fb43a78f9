"""Local calendar months of many instants, fast: each instant's month is found among the
instants at which the local months begin (a few dozen, made by pandas' time-zone rules), by a
binary search, instead of converting every instant to a local date.

The result is the same as ``pandas.to_datetime(t, unit="s", utc=True).tz_convert(tz)``'s
``year * 12 + month - 1`` for every instant, across summer time and in zones whose clocks
change at midnight: a month begins at the first instant whose local date is its first day
(the local midnight; where the clocks skip midnight, the first local time after the gap;
where midnight happens twice, the first of the two).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_EPOCH_ORDINAL = 1970 * 12
"""The month ordinal (``year * 12 + month - 1``) of January 1970."""


def local_month_ordinals(seconds: np.ndarray, timezone: str) -> np.ndarray:
    """``year * 12 + month - 1`` of each instant's local date in ``timezone`` (an IANA name).

    Parameters
    ----------
    seconds
        Instants, whole seconds since the epoch (UTC), any shape.

    Returns
    -------
    numpy.ndarray
        int64, the shape of ``seconds``.
    """
    t = np.asarray(seconds, dtype=np.int64)
    if t.size == 0:
        return np.empty(t.shape, dtype=np.int64)
    ends = pd.to_datetime(np.array([t.min(), t.max()]), unit="s", utc=True).tz_convert(timezone)
    first, last = (int(d.year) * 12 + int(d.month) - 1 for d in ends)
    ordinals = np.arange(first + 1, last + 1, dtype=np.int64)
    if ordinals.size == 0:
        return np.full(t.shape, first, dtype=np.int64)
    starts = pd.DatetimeIndex((ordinals - _EPOCH_ORDINAL).astype("datetime64[M]")
                              .astype("datetime64[ns]"))
    begin = starts.tz_localize(timezone, ambiguous=np.ones(ordinals.size, dtype=bool),
                               nonexistent="shift_forward")
    bounds = begin.asi8 // 1_000_000_000  # each month's first instant, seconds (UTC)
    return first + np.searchsorted(bounds, t, side="right").astype(np.int64)
