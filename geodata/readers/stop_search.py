"""Reader for data.police.uk stop and search CSV files (``YYYY-MM-<force>-stop-and-search.csv``).

Columns: Type, Date, Part of a policing operation, Policing operation, Latitude, Longitude,
Gender, Age range, Self-defined ethnicity, Officer-defined ethnicity, Legislation, Object of
search, Outcome, Outcome linked to object of search, Removal of more than just outer clothing.
What real files do, and what this reader does about it:

- Date is an ISO 8601 date-time with a UTC offset (``2024-03-01T09:15:00+00:00``): read as
  seconds since the epoch (UTC); a date-time without an offset is local to the force's time
  zone. A row whose Date is not a date is rejected (``bad_date``).
- Many searches have no location (blank Latitude/Longitude) and some have 0,0: they are kept,
  with x, y, lon and lat NaN (they still count in summaries by month, object and outcome).
- Coordinates that are given but not numbers, out of range or (with a force boundary) far
  outside the force are rejected with the same reasons as the incident readers.
- The yes/no columns hold ``True``/``False`` (or blank): read as True, False or None; any other
  text is None and counted in the stats (``unreadable_flags``).
- Older files lack some columns (``Outcome linked to object of search``, ``Removal of more than
  just outer clothing``): they read as blank/None.
- The API's ``stops-street``/``stops-force`` answers (a JSON array of searches: ``datetime``,
  ``operation``, ``operation_name``, ``location`` or null, ``outcome`` or ``outcome_object``,
  ``outcome_linked_to_object_of_search``, ``removal_of_more_than_outer_clothing``, ...) read the
  same way, rows numbered by their 1-based position in the array.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import ijson
import numpy as np
import pandas as pd

from geodata.coords import WGS84, AreaCheck, TransformInfo
from geodata.errors import InvalidFile
from geodata.readers._bytes import open_binary
from geodata.readers._checks import (
    BAD_DATE,
    RejectedKeeper,
    RowChecks,
    check_coordinates,
    check_nul,
    parse_numbers,
    show,
    strip,
)
from geodata.readers._chunk import columns_of, header_index
from geodata.readers._dates import parse_datetimes
from geodata.readers._nesting import DepthGuard, too_deep
from geodata.readers._text import MALFORMED, TextSource
from geodata.readers.base import ReadOptions
from geodata.readers.geojson import _json_error
from geodata.schema import RejectedRow

STOP_SEARCH_COLUMNS: tuple[str, ...] = (
    "Type",
    "Date",
    "Part of a policing operation",
    "Policing operation",
    "Latitude",
    "Longitude",
    "Gender",
    "Age range",
    "Self-defined ethnicity",
    "Officer-defined ethnicity",
    "Legislation",
    "Object of search",
    "Outcome",
    "Outcome linked to object of search",
    "Removal of more than just outer clothing",
)
REQUIRED_COLUMNS: tuple[str, ...] = ("Type", "Date", "Object of search")

_TEXT = {
    "type": "Type",
    "operation": "Policing operation",
    "gender": "Gender",
    "age_range": "Age range",
    "self_defined_ethnicity": "Self-defined ethnicity",
    "officer_defined_ethnicity": "Officer-defined ethnicity",
    "legislation": "Legislation",
    "object_of_search": "Object of search",
    "outcome": "Outcome",
}
_FLAGS = {
    "part_of_operation": "Part of a policing operation",
    "outcome_linked": "Outcome linked to object of search",
    "removal_of_clothing": "Removal of more than just outer clothing",
}
FRAME_COLUMNS: tuple[str, ...] = (
    "occurred_at", "x", "y", "lon", "lat", "type", "part_of_operation", "operation", "gender",
    "age_range", "self_defined_ethnicity", "officer_defined_ethnicity", "legislation",
    "object_of_search", "outcome", "outcome_linked", "removal_of_clothing",
)
_TRUE = frozenset({"true", "yes", "y", "1"})
_FALSE = frozenset({"false", "no", "n", "0"})


def looks_like_stop_search_header(fields: list[str]) -> bool:
    """True when a CSV header has the columns of a data.police.uk stop and search file."""
    idx = header_index(fields)
    return all(c.casefold() in idx for c in REQUIRED_COLUMNS)


@dataclass
class StopSearchStats:
    """What the stop and search reader learned about a source."""

    format: str = "police.uk-stop-and-search"
    source: str = ""
    records: int = 0
    """Data records seen (header and blank lines not counted)."""
    accepted: int = 0
    blank_lines: int = 0
    encoding_fallback_bytes: int = 0
    unlocated: int = 0
    """Accepted searches without a location (blank or 0,0 coordinates)."""
    unreadable_flags: int = 0
    """Yes/no values that were neither true nor false nor blank (read as None)."""
    months: dict[str, int] = field(default_factory=dict)
    """Accepted searches per month (``YYYY-MM``, UTC)."""
    transform: TransformInfo | None = None
    area_check: str = ""
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
            "unreadable_flags": self.unreadable_flags,
            "months": dict(sorted(self.months.items())),
            "coordinate_transformation": self.transform.to_dict() if self.transform else None,
            "area_check": self.area_check,
        }


@dataclass(frozen=True)
class StopSearchRead:
    """A stop and search file read into memory.

    ``frame`` has one row per accepted search, in file order: ``occurred_at`` (int64 seconds
    since the epoch, UTC), ``x``/``y`` (float64 metres in the store CRS, ``options.crs``),
    ``lon``/``lat`` (float64 WGS84 degrees) -- all four NaN for a search without a location --,
    the text columns (str, blank when absent) and the yes/no columns ``part_of_operation``,
    ``outcome_linked``, ``removal_of_clothing`` (object: True, False or None).
    """

    frame: pd.DataFrame
    stats: StopSearchStats
    rejected: list[RejectedRow]
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    """Every rejected row counted by reason (``rejected`` may keep only the first few)."""
    passed_on: bool = False
    """Whether each rejected row was already given to the reader's ``on_rejected``."""


def _flags(values: np.ndarray) -> tuple[np.ndarray, int]:
    out = np.empty(len(values), dtype=object)
    unreadable = 0
    for i, v in enumerate(values.tolist()):
        t = str(v).strip().casefold()
        if t in _TRUE:
            out[i] = True
        elif t in _FALSE:
            out[i] = False
        else:
            out[i] = None
            unreadable += bool(t)
    return out, unreadable


def _empty_frame() -> pd.DataFrame:
    dtypes: dict[str, object] = dict.fromkeys(FRAME_COLUMNS, object)
    dtypes.update(occurred_at=np.int64, x=np.float64, y=np.float64, lon=np.float64,
                  lat=np.float64)
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in dtypes.items()})  # type: ignore[call-overload]


def read_stop_search(
    source: str | os.PathLike[str] | BinaryIO,
    options: ReadOptions | None = None,
    *,
    name: str = "",
    max_rows: int | None = None,
    keep_rejected: int | None = None,
    on_rejected: Callable[[RejectedRow], None] | None = None,
) -> StopSearchRead:
    """Read a data.police.uk stop and search CSV, or the API's JSON of searches (see the module
    text for what is kept).

    Parameters
    ----------
    source
        A path or a binary file object (left open).
    options
        The store CRS (``x``/``y``), the area check and the force time zone; chunk size.
    name
        Shown in messages and reports (defaults to the file name).
    max_rows, keep_rejected, on_rejected
        As :func:`geodata.readers.outcomes.read_outcomes` takes them: stop past ``max_rows``
        records (:class:`~geodata.errors.TooManyRecords`), keep the first ``keep_rejected``
        rejected rows (all counted), give each to ``on_rejected``.

    Raises
    ------
    InvalidFile
        If the file cannot be opened, is empty, its header is not a stop and search header, or
        its JSON breaks off.
    """
    opts = options or ReadOptions()
    area = opts.resolved_area()
    stats = StopSearchStats(area_check=area.description)
    frames: list[pd.DataFrame] = []
    rejected = RejectedKeeper(keep_rejected, on_rejected, max_rows)
    f, own, shown = open_binary(source, name)
    try:
        pos = f.tell()
        head = f.read(65536)
        f.seek(pos)
        if head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"[":
            stats.source = shown
            for lines, cols, bad_rows in _json_chunks(f, shown, opts.chunk_rows):
                stats.records += len(lines) + len(bad_rows)
                frame, rows = _chunk(lines, cols.__getitem__, len(lines), bad_rows,
                                     opts=opts, area=area, stats=stats, may_hold_nul=True)
                frames.append(frame)
                rejected.add(rows)
                rejected.check_rows(stats.records)
        else:
            with TextSource(f, name=shown) as text:
                stats.source = text.name
                stats.total_bytes = text.total_bytes
                _line, header = text.header()
                idx = header_index(header)
                missing = [c for c in REQUIRED_COLUMNS if c.casefold() not in idx]
                if missing:
                    raise InvalidFile(
                        f"{text.name}: not a data.police.uk stop and search CSV: the header "
                        f"lacks {', '.join(missing)}; expected {', '.join(STOP_SEARCH_COLUMNS)}; "
                        f"found {show(','.join(header), 200)}"
                    )
                for lines, table, bad_rows in text.chunks(len(header), opts.chunk_rows):
                    n = len(table)
                    stats.records += n + len(bad_rows)
                    fields = columns_of(table)

                    def col(column: str, fields: list[np.ndarray] = fields,
                            n: int = n) -> np.ndarray:
                        i = idx.get(column.casefold())
                        return fields[i] if i is not None else np.full(n, "", dtype=object)

                    frame, rows = _chunk(lines, col, n, bad_rows, opts=opts, area=area,
                                         stats=stats, may_hold_nul=text.saw_nul)
                    frames.append(frame)
                    rejected.add(rows)
                    rejected.check_rows(stats.records)
                stats.blank_lines = text.blank_lines
                stats.encoding_fallback_bytes = text.fallback_bytes
    finally:
        if own:
            f.close()
    frame = pd.concat(frames, ignore_index=True) if frames else _empty_frame()
    return StopSearchRead(frame=frame, stats=stats, rejected=rejected.sorted_rows(),
                          rejected_by_reason=rejected.by_reason,
                          passed_on=on_rejected is not None)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


def _api_search(item: dict[str, Any]) -> dict[str, str]:
    """One search of the API's ``stops-street``/``stops-force`` answer as the CSV's columns."""
    location = item.get("location")
    location = location if isinstance(location, dict) else {}
    outcome = item.get("outcome")
    if not isinstance(outcome, str) or not outcome:  # older answers: false, and outcome_object
        obj = item.get("outcome_object")
        outcome = obj.get("name") if isinstance(obj, dict) else ""
    return {
        "Type": _text(item.get("type")),
        "Date": _text(item.get("datetime")),
        "Part of a policing operation": _text(item.get("operation")),
        "Policing operation": _text(item.get("operation_name")),
        "Latitude": _text(location.get("latitude")),
        "Longitude": _text(location.get("longitude")),
        "Gender": _text(item.get("gender")),
        "Age range": _text(item.get("age_range")),
        "Self-defined ethnicity": _text(item.get("self_defined_ethnicity")),
        "Officer-defined ethnicity": _text(item.get("officer_defined_ethnicity")),
        "Legislation": _text(item.get("legislation")),
        "Object of search": _text(item.get("object_of_search")),
        "Outcome": _text(outcome),
        "Outcome linked to object of search": _text(item.get("outcome_linked_to_object_of_search")),
        "Removal of more than just outer clothing": _text(
            item.get("removal_of_more_than_outer_clothing")),
    }


def _json_chunks(
    f: BinaryIO, name: str, size: int
) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray], list[RejectedRow]]]:
    """The API's JSON array of searches in chunks: positions (1-based), columns, rejected."""
    items = ijson.items(DepthGuard(f, InvalidFile(too_deep(name))), "item", use_float=True)
    lines: list[int] = []
    rows: list[dict[str, str]] = []
    bad: list[RejectedRow] = []

    def flush() -> tuple[np.ndarray, dict[str, np.ndarray], list[RejectedRow]]:
        cols: dict[str, np.ndarray] = {}
        for column in STOP_SEARCH_COLUMNS:
            col = np.empty(len(rows), dtype=object)
            col[:] = [r[column] for r in rows]
            cols[column] = col
        return np.array(lines, dtype=np.int64), cols, bad

    k = 0
    try:
        for k, item in enumerate(items, 1):
            if isinstance(item, dict):
                lines.append(k)
                rows.append(_api_search(item))
            else:
                bad.append(RejectedRow(k, MALFORMED, "not a JSON object with a search's members "
                                       f"(found {type(item).__name__})"))
            if len(rows) + len(bad) >= size:
                yield flush()
                lines, rows, bad = [], [], []
    except ijson.JSONError as exc:
        raise _json_error(f"{name} (after search {k})", exc) from exc
    if rows or bad:
        yield flush()


def _chunk(
    lines: np.ndarray,
    column: Callable[[str], np.ndarray],
    n: int,
    bad_rows: list[RejectedRow],
    *,
    opts: ReadOptions,
    area: AreaCheck,
    stats: StopSearchStats,
    may_hold_nul: bool,
) -> tuple[pd.DataFrame, list[RejectedRow]]:
    """Check and convert one chunk of searches (``column`` gives each CSV column's text)."""

    def col(name: str) -> np.ndarray:
        return strip(column(name))

    checks = RowChecks(lines)
    texts = {k: col(v) for k, v in _TEXT.items()}
    if may_hold_nul:
        check_nul(checks, {_TEXT[k]: v for k, v in texts.items()})
    date = col("Date")
    seconds, _precision, date_ok = parse_datetimes(date, timezone=opts.timezone)
    checks.flag(~date_ok, BAD_DATE, "Date {} is not a date", date)
    lon_text, lat_text = col("Longitude"), col("Latitude")
    lon_num, lon_blank, _b1 = parse_numbers(lon_text)
    lat_num, lat_blank, _b2 = parse_numbers(lat_text)
    unlocated = lon_blank | lat_blank | ((lon_num == 0) & (lat_num == 0))
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    placed = np.flatnonzero(~unlocated & checks.ok)
    if placed.size:
        sub = RowChecks(lines[placed])
        got = check_coordinates(
            sub, lon_text[placed], lat_text[placed], names=("Longitude", "Latitude"),
            source_crs=WGS84, area=area, zero_means_unplaced=False,
        )
        stats.transform = stats.transform or got.transform
        ok = sub.ok
        x[placed[ok]], y[placed[ok]] = got.x[ok], got.y[ok]
        lon[placed[ok]], lat[placed[ok]] = got.lon[ok], got.lat[ok]
        for reason in np.unique(sub.reason[sub.bad].astype(str)):
            which = sub.bad & (sub.reason == reason)
            mask = np.zeros(n, dtype=bool)
            mask[placed[which]] = True
            details: dict[int, str] = dict(zip(
                placed[which].tolist(), map(str, sub.detail[which].tolist()), strict=True))
            checks.flag(mask, str(reason), details.__getitem__)
    keep = checks.ok
    part: dict[str, object] = {
        "occurred_at": seconds[keep].astype(np.int64),
        "x": x[keep], "y": y[keep], "lon": lon[keep], "lat": lat[keep],
    }
    for key, values in texts.items():
        part[key] = values[keep]
    for key, name in _FLAGS.items():
        values, unreadable = _flags(col(name)[keep])
        part[key] = values
        stats.unreadable_flags += unreadable
    frame = pd.DataFrame(part)[list(FRAME_COLUMNS)]
    for key in _FLAGS:
        frame[key] = frame[key].astype(object)
    stats.accepted += len(frame)
    stats.unlocated += int(unlocated[keep].sum())
    months = pd.to_datetime(frame["occurred_at"], unit="s", utc=True).dt.strftime("%Y-%m")
    for month, count in months.value_counts().items():
        stats.months[str(month)] = stats.months.get(str(month), 0) + int(count)
    return frame, checks.rejected(bad_rows)
