"""Date parsing shared by the readers: whole columns of dates or months to UTC seconds.

Precision codes are :class:`~geodata.schema.Precision`; a year outside
[:data:`MIN_YEAR`, :data:`MAX_YEAR`] is not a date.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geodata.schema import Precision

MIN_YEAR, MAX_YEAR = 1900, 2100


def month_starts(values: np.ndarray, timezone: str) -> tuple[np.ndarray, np.ndarray]:
    """Parse ``YYYY-MM`` strings as the first instant of that month in ``timezone``.

    Returns int64 seconds since the epoch (UTC) and a mask of the values that parsed.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    starts = np.zeros(len(uniques) + 1, dtype=np.int64)
    ok = np.zeros(len(uniques) + 1, dtype=bool)
    for k, u in enumerate(uniques):
        text = str(u).strip()
        if len(text) == 7 and text[4] == "-" and text[:4].isdigit() and text[5:].isdigit():
            year, month = int(text[:4]), int(text[5:])
            if MIN_YEAR <= year <= MAX_YEAR and 1 <= month <= 12:
                starts[k] = pd.Timestamp(year=year, month=month, day=1, tz=timezone).value // 10**9
                ok[k] = True
    return starts[codes], ok[codes]


_HAS_TIME = r"\d{1,2}:\d{2}"
_HAS_OFFSET = r"(?:[zZ]|[+-]\d{2}:?\d{2})$"
_MONTH_ONLY = r"\d{4}-\d{2}"
_UK_FORMATS = ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y")
_US_FORMATS = ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y")


def parse_datetimes(
    values: np.ndarray, *, timezone: str, fmt: str | None = None, dayfirst: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse date or date-time strings.

    Accepted without a format: ISO 8601 (``2024-03-05``, ``2024-03-05T21:40``, with or without
    a UTC offset), ``YYYY-MM`` (month precision), and ``dd/mm/yyyy[ HH:MM[:SS]]`` (or
    ``mm/dd/yyyy`` when ``dayfirst`` is False). With ``fmt`` (a strftime format) only that
    format is accepted. Times without an offset are local to ``timezone``: an hour that occurs
    twice when clocks go back is read as the first (summer-time) one, and a time skipped when
    clocks go forward is moved forward by the gap.

    Returns
    -------
    seconds
        int64 seconds since the epoch (UTC).
    precision
        uint8 :class:`~geodata.schema.Precision` codes.
    ok
        Boolean mask of the values that parsed to a year from 1900 to 2100.
    """
    s = pd.Series(values, dtype=object).str.strip()
    n = len(s)
    seconds = np.zeros(n, dtype=np.int64)
    precision = np.full(n, Precision.EXACT, dtype=np.uint8)
    ok = np.zeros(n, dtype=bool)
    if n == 0:
        return seconds, precision, ok
    has_time = s.str.contains(_HAS_TIME, regex=True).to_numpy(dtype=bool)
    precision[~has_time] = Precision.DAY
    month_only = np.zeros(n, dtype=bool)
    if fmt is None:
        month_only = s.str.fullmatch(_MONTH_ONLY).to_numpy(dtype=bool)
        if month_only.any():
            seconds[month_only], ok[month_only] = month_starts(s[month_only].to_numpy(), timezone)
            precision[month_only] = Precision.MONTH
    offset = has_time & s.str.contains(_HAS_OFFSET, regex=True).to_numpy(dtype=bool)
    for aware in (False, True):
        todo = ~month_only & (offset if aware else ~offset)
        if not todo.any():
            continue
        sub = s[todo]
        dtype = "datetime64[s, UTC]" if aware else "datetime64[s]"
        parsed = pd.Series(pd.NaT, index=sub.index, dtype=dtype)
        formats = (fmt,) if fmt else ("ISO8601", *(_UK_FORMATS if dayfirst else _US_FORMATS))
        for f in formats:
            missing = parsed.isna()
            if not missing.any():
                break
            try:
                with np.errstate(all="ignore"):
                    attempt = pd.to_datetime(sub[missing], format=f, errors="coerce", utc=aware)
                if not aware and getattr(attempt.dt, "tz", None) is not None:
                    continue
                parsed[missing] = attempt.dt.as_unit("s")
            except (ValueError, OverflowError, pd.errors.OutOfBoundsDatetime):
                continue  # such values stay unparsed and are rejected as bad dates
        if aware:
            utc = parsed
        else:
            utc = parsed.dt.tz_localize(
                timezone, ambiguous=np.ones(len(parsed), dtype=bool), nonexistent="shift_forward"
            ).dt.tz_convert("UTC")
        good = utc.notna().to_numpy(dtype=bool).copy()
        years = utc.dt.year.to_numpy(dtype=np.float64, na_value=np.nan)
        good &= (years >= MIN_YEAR) & (years <= MAX_YEAR)
        secs = np.zeros(len(utc), dtype=np.int64)
        if good.any():
            secs[good] = utc[good].dt.as_unit("s").astype("int64").to_numpy()
        where = np.flatnonzero(todo)
        seconds[where] = secs
        ok[where] = good
    return seconds, precision, ok
