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


def local_clock_seconds(seconds: np.ndarray, timezone: str) -> np.ndarray:
    """Each instant's local wall-clock time in ``timezone`` as whole seconds since 1970-01-01
    00:00 local (so ``// 3600 % 24`` is the local hour and ``(// 86400 + 3) % 7`` the day of
    the week, Monday 0), as pandas' ``tz_convert`` gives it, without converting every instant.

    The zone's offset from UTC is read (by pandas) once at the start and once at the end of
    each hour from the first instant's to the last's (or of each hour holding an instant, when
    they are decades apart); an hour in which they differ holds a change of the clocks, and
    only its instants are converted one by one.

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
    hour = t // 3600
    first = int(hour.min())
    span = int(hour.max()) - first + 1
    if span <= max(4 * t.size, 100_000):  # every hour from the first to the last
        hours, which = first + np.arange(span, dtype=np.int64), hour - first
    else:  # a few instants decades apart: only their hours
        hours, which = np.unique(hour, return_inverse=True)
        which = which.reshape(t.shape)
    start, end = (_offsets(hours * 3600 + edge, timezone) for edge in (0, 3599))
    out = t + start[which]
    changing = start != end
    if changing.any():
        inside = changing[which]
        out[inside] = t[inside] + _offsets(t[inside], timezone)
    return out


def _offsets(seconds: np.ndarray, timezone: str) -> np.ndarray:
    """The zone's offset from UTC (seconds) at each instant, by pandas."""
    utc = pd.to_datetime(seconds, unit="s", utc=True).as_unit("s")
    local = utc.tz_convert(timezone).tz_localize(None)
    return np.asarray(local.asi8 - utc.tz_localize(None).asi8, dtype=np.int64)
