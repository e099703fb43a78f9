"""Reader for data.police.uk outcomes CSV files (``YYYY-MM-<force>-outcomes.csv``), as downloaded.

Columns: Crime ID, Month, Reported by, Falls within, Longitude, Latitude, Location, LSOA code,
LSOA name, Outcome type. Each row says that the crime with that Crime ID reached that outcome in
that month; the store joins rows to the crimes it holds by Crime ID (an outcome updates an
incident, never adds one). What real files do, and what this reader does about it:

- A crime has one row per month in which its outcome changed, so a Crime ID can recur within a
  file and across months: every row is kept, in file order (the loader lets the latest month win).
- A row without a Crime ID cannot be joined to anything: rejected (``missing_crime_id``).
- A row with a Month that is not ``YYYY-MM`` is rejected (``bad_date``); a blank Outcome type
  is rejected (``missing_outcome``).
- Coordinates (WGS84 longitude/latitude) are informative only: blank, non-numeric, 0,0 or out of
  range ones become NaN, and the row is kept (the join uses the Crime ID).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np
import pandas as pd

from geodata.errors import InvalidFile
from geodata.readers._checks import (
    BAD_DATE,
    RejectedKeeper,
    RowChecks,
    check_nul,
    parse_numbers,
    show,
    strip,
)
from geodata.readers._chunk import columns_of, header_index
from geodata.readers._dates import month_starts
from geodata.readers._text import TextSource
from geodata.readers.police import POLICE_COLUMNS
from geodata.schema import RejectedRow

OUTCOMES_COLUMNS: tuple[str, ...] = (*POLICE_COLUMNS[:POLICE_COLUMNS.index("Crime type")],
                                     "Outcome type")
"""The street-level file's columns up to its Crime type, then the Outcome type."""
REQUIRED_COLUMNS: tuple[str, ...] = ("Crime ID", "Month", "Outcome type")
FRAME_COLUMNS: tuple[str, ...] = ("crime_id", "month", "outcome", "lon", "lat")

MISSING_CRIME_ID = "missing_crime_id"
MISSING_OUTCOME = "missing_outcome"

_CHUNK_ROWS = 50_000


def looks_like_outcomes_header(fields: list[str]) -> bool:
    """True when a CSV header has the columns of a data.police.uk outcomes file.

    A street-level file (which has a ``Last outcome category`` and a ``Crime type``) is not one.
    """
    idx = header_index(fields)
    return all(c.casefold() in idx for c in REQUIRED_COLUMNS) and "crime type" not in idx


@dataclass
class OutcomesStats:
    """What the outcomes reader learned about a source."""

    format: str = "police.uk-outcomes"
    source: str = ""
    records: int = 0
    """Data records seen (header and blank lines not counted)."""
    accepted: int = 0
    blank_lines: int = 0
    encoding_fallback_bytes: int = 0
    """Bytes that were not valid UTF-8 and were read as Windows-1252."""
    unlocated: int = 0
    """Accepted rows without usable coordinates (lon/lat NaN)."""
    months: dict[str, int] = field(default_factory=dict)
    """Accepted rows per month (``YYYY-MM``)."""
    outcome_types: dict[str, int] = field(default_factory=dict)
    """Accepted rows per Outcome type."""
    total_bytes: int | None = None

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready dict."""
        return {
            "format": self.format,
            "source": self.source,
            "records": self.records,
            "accepted": self.accepted,
            "rejected": self.records - self.accepted,
            "encoding_fallback_bytes": self.encoding_fallback_bytes,
            "unlocated": self.unlocated,
            "months": dict(sorted(self.months.items())),
            "outcome_types": dict(sorted(self.outcome_types.items())),
        }


@dataclass(frozen=True)
class OutcomesRead:
    """An outcomes file read into memory.

    ``frame`` has one row per accepted record, in file order: ``crime_id`` (str), ``month``
    (str ``YYYY-MM``), ``outcome`` (str, the Outcome type as written), ``lon``/``lat`` (float64
    WGS84 degrees, NaN when the row has no usable coordinates).
    """

    frame: pd.DataFrame
    stats: OutcomesStats
    rejected: list[RejectedRow]
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    """Every rejected row counted by reason (``rejected`` may keep only the first few)."""
    passed_on: bool = False
    """Whether each rejected row was already given to the reader's ``on_rejected``."""


def lonlat_or_nan(lon_text: np.ndarray, lat_text: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Parse WGS84 longitude/latitude text; NaN for both where either is blank, not a number,
    not finite, 0,0 (data.police.uk's "could not place") or out of range."""
    lon, _lb, _lbad = parse_numbers(lon_text)
    lat, _ab, _abad = parse_numbers(lat_text)
    with np.errstate(invalid="ignore"):
        good = (
            np.isfinite(lon)
            & np.isfinite(lat)
            & ~((lon == 0) & (lat == 0))
            & (np.abs(lon) <= 180)
            & (np.abs(lat) <= 90)
        )
    return np.where(good, lon, np.nan), np.where(good, lat, np.nan)


def read_outcomes(
    source: str | os.PathLike[str] | BinaryIO,
    *,
    name: str = "",
    max_rows: int | None = None,
    keep_rejected: int | None = None,
    on_rejected: Callable[[RejectedRow], None] | None = None,
) -> OutcomesRead:
    """Read a data.police.uk outcomes CSV (see the module text for what is kept and rejected).

    Parameters
    ----------
    source
        A path or a binary file object (left open).
    name
        Shown in messages and reports (defaults to the file name).
    max_rows
        Stop (:class:`~geodata.errors.TooManyRecords`) past this many records.
    keep_rejected
        Keep at most this many rejected rows in the result (all are counted by reason).
    on_rejected
        Called with every rejected row, as it is found.

    Raises
    ------
    InvalidFile
        If the file cannot be opened, is empty, or its header is not an outcomes header.
    TooManyRecords
        Past ``max_rows`` records.
    """
    stats = OutcomesStats()
    frames: list[pd.DataFrame] = []
    rejected = RejectedKeeper(keep_rejected, on_rejected, max_rows)
    with TextSource(source, name=name) as text:
        stats.source = text.name
        stats.total_bytes = text.total_bytes
        _line, header = text.header()
        idx = header_index(header)
        missing = [c for c in REQUIRED_COLUMNS if c.casefold() not in idx]
        if missing or "crime type" in idx:
            why = ("it has a Crime type column (a street-level file, not an outcomes file)"
                   if "crime type" in idx else f"the header lacks {', '.join(missing)}")
            raise InvalidFile(
                f"{text.name}: not a data.police.uk outcomes CSV: {why}; expected "
                f"{', '.join(OUTCOMES_COLUMNS)}; found {show(','.join(header), 200)}"
            )
        for lines, rows, bad_rows in text.chunks(len(header), _CHUNK_ROWS):
            n = len(rows)
            stats.records += n + len(bad_rows)
            cols = columns_of(rows)

            def col(column: str, cols: list[np.ndarray] = cols, n: int = n) -> np.ndarray:
                i = idx.get(column.casefold())
                return cols[i] if i is not None else np.full(n, "", dtype=object)

            checks = RowChecks(lines)
            crime_id = strip(col("Crime ID"))
            month = strip(col("Month"))
            outcome = strip(col("Outcome type"))
            if text.saw_nul:
                check_nul(checks, {"Crime ID": crime_id, "Month": month, "Outcome type": outcome})
            checks.flag(crime_id == "", MISSING_CRIME_ID,
                        "Crime ID is blank: the outcome cannot be joined to a crime")
            _starts, month_ok = month_starts(month, "UTC")
            checks.flag(~month_ok, BAD_DATE, "Month {} is not a month (YYYY-MM)", month)
            checks.flag(outcome == "", MISSING_OUTCOME, "Outcome type is blank")
            lon, lat = lonlat_or_nan(col("Longitude"), col("Latitude"))
            keep = checks.ok
            part = pd.DataFrame({
                "crime_id": crime_id[keep],
                "month": month[keep],
                "outcome": outcome[keep],
                "lon": lon[keep].astype(np.float64),
                "lat": lat[keep].astype(np.float64),
            })
            frames.append(part)
            rejected.add(checks.rejected(bad_rows))
            rejected.check_rows(stats.records)
            stats.accepted += len(part)
            stats.unlocated += int(part["lon"].isna().sum())
            for key, count in part["month"].value_counts().items():
                stats.months[str(key)] = stats.months.get(str(key), 0) + int(count)
            for key, count in part["outcome"].value_counts().items():
                stats.outcome_types[str(key)] = stats.outcome_types.get(str(key), 0) + int(count)
        stats.blank_lines = text.blank_lines
        stats.encoding_fallback_bytes = text.fallback_bytes
    frame = (pd.concat(frames, ignore_index=True) if frames
             else pd.DataFrame({c: pd.Series(dtype=object if c in ("crime_id", "month", "outcome")
                                             else np.float64) for c in FRAME_COLUMNS}))
    return OutcomesRead(frame=frame, stats=stats, rejected=rejected.sorted_rows(),
                        rejected_by_reason=rejected.by_reason,
                        passed_on=on_rejected is not None)
