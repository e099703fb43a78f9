"""Vectorised parsing and validation shared by the readers.

Every check works on whole columns of a chunk. A row that fails a check is flagged with the
first reason that applies and a sentence that names the value at fault; it is never dropped
without a trace.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from geodata.coords import WGS84, AreaCheck, TransformInfo, transform
from geodata.schema import NUMERIC_FIELDS, TEXT_FIELDS, IncidentTable, Precision, RejectedRow
from geodata.taxonomy import OTHER, Taxonomy, UnknownTypePolicy

MIN_YEAR, MAX_YEAR = 1900, 2100

# Stable reason codes (see README, "Rejected rows").
BAD_DATE = "bad_date"
MISSING_COORDINATES = "missing_coordinates"
NON_NUMERIC_COORDINATES = "non_numeric_coordinates"
INVALID_COORDINATES = "invalid_coordinates"
UNPLACED = "unplaced_zero_coordinates"
OUT_OF_RANGE = "out_of_range_coordinates"
OUTSIDE_CRS_AREA = "outside_crs_area"
OUTSIDE_FORCE_AREA = "outside_force_area"
MISSING_CRIME_TYPE = "missing_crime_type"
UNKNOWN_CRIME_TYPE = "unknown_crime_type"
BAD_WEIGHT = "bad_weight"
NOT_A_POINT = "not_a_point"
NUL_CHARACTER = "nul_character"
"""A text field holds U+0000. PostgreSQL's ``text`` cannot hold that character, so the PostGIS
store could not keep the row, while SQLite could; rather than let the answer depend on the
store (or alter the source's text, and with it derived ids, by dropping the character), every
reader rejects such a row, naming the field, and both stores keep the same rows. A NUL in a CSV
is nearly always damage (a file padded with zeros, UTF-16 read as UTF-8), not text."""


class RowChecks:
    """The verdict on each row of a chunk: accepted, or rejected with a reason and a detail."""

    def __init__(self, lines: np.ndarray) -> None:
        self.lines = lines
        n = lines.shape[0]
        self.bad = np.zeros(n, dtype=bool)
        self.reason = np.empty(n, dtype=object)
        self.detail = np.empty(n, dtype=object)

    def flag(
        self,
        mask: np.ndarray,
        reason: str,
        detail: Callable[[int], str] | str,
        *values: np.ndarray,
    ) -> None:
        """Reject the rows in ``mask`` not rejected yet.

        ``detail`` is a function of the row index that returns the sentence, or a template
        whose ``{}`` fields are filled with the row's ``values``, quoted.
        """
        idx = np.flatnonzero(mask & ~self.bad)
        if idx.size:
            self.bad[idx] = True
            self.reason[idx] = reason
            if isinstance(detail, str):
                template = detail
                self.detail[idx] = [
                    template.format(*(show(v[i]) for v in values)) for i in idx.tolist()
                ]
            else:
                self.detail[idx] = [detail(int(i)) for i in idx]

    @property
    def ok(self) -> np.ndarray:
        """Boolean mask of the rows still accepted."""
        return ~self.bad

    def rejected(self, extra: Sequence[RejectedRow] = ()) -> list[RejectedRow]:
        """Return the rejected rows of the chunk (with ``extra`` ones), in line order."""
        idx = np.flatnonzero(self.bad)
        rows = [
            RejectedRow(int(self.lines[i]), str(self.reason[i]), str(self.detail[i])) for i in idx
        ]
        if extra:
            rows.extend(extra)
            rows.sort(key=lambda r: r.line)
        return rows


def show(value: object, limit: int = 60) -> str:
    """Quote a source value for a message, shortened to ``limit`` characters."""
    text = str(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return repr(text)


_SPACE = " \t\r\n\f\v\xa0"


def _has_space(text: str) -> bool:
    """Whether ``text`` holds any of :data:`_SPACE` (one fast scan each, not a regex)."""
    return any(ch in text for ch in _SPACE)


def strip(values: np.ndarray) -> np.ndarray:
    """Strip surrounding whitespace from an object array of strings (a copy).

    Real files rarely need it, so one C-speed scan for any whitespace at all decides whether
    to strip value by value.
    """
    out = np.array(values, dtype=object, copy=True)
    if out.size and _has_space("".join(out)):
        out[:] = [v.strip() for v in out]
    return out


def _fast_floats(values: np.ndarray) -> np.ndarray | None:
    """Python's ``float`` value by value (blank as NaN): twice as fast as pandas' parser, and
    the same numbers for ASCII text without ``_`` (which only ``float`` reads as a digit
    separator); None when the text is not like that or some value is not a number."""
    try:
        joined = "".join(values)
    except TypeError:
        return None
    if not joined.isascii() or "_" in joined:
        return None
    try:
        return np.fromiter((float(v) if v else np.nan for v in values), dtype=np.float64,
                           count=values.shape[0])
    except ValueError:
        return None


def parse_numbers(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse strings as float64.

    Returns
    -------
    numbers
        float64 (NaN where blank or not a number).
    blank
        True where the string is empty or whitespace.
    non_numeric
        True where the string is not blank and not a number (``"nan"`` and ``"inf"`` parse).
    """
    n = values.shape[0]
    numbers = _fast_floats(values)
    if numbers is None:
        numbers = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan
        )
    blank = np.zeros(n, dtype=bool)
    non_numeric = np.zeros(n, dtype=bool)
    for i in np.flatnonzero(np.isnan(numbers)):  # only the few that did not parse
        text = str(values[i]).strip()
        if not text:
            blank[i] = True
        elif text.lower() not in ("nan", "+nan", "-nan"):
            non_numeric[i] = True
    return numbers, blank, non_numeric


@dataclass(frozen=True)
class Coordinates:
    """Both coordinate pairs of each row of a chunk and the transformation used."""

    x: np.ndarray
    y: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    transform: TransformInfo | None


def check_coordinates(
    checks: RowChecks,
    a_text: np.ndarray,
    b_text: np.ndarray,
    *,
    names: tuple[str, str],
    source_crs: str,
    area: AreaCheck,
    zero_means_unplaced: bool,
) -> Coordinates:
    """Parse, validate and transform a pair of coordinate columns.

    ``a``/``b`` are longitude/latitude when ``source_crs`` is WGS84, else easting/northing in
    ``source_crs``. Flags, in order: missing, non-numeric, not finite, the 0,0 that
    data.police.uk writes for crimes it could not place (when ``zero_means_unplaced``), out of
    range, outside the CRS's area of use, outside the force area.
    """
    na, nb = names
    a, a_blank, a_bad = parse_numbers(a_text)
    b, b_blank, b_bad = parse_numbers(b_text)
    checks.flag(
        a_blank | b_blank,
        MISSING_COORDINATES,
        lambda i: f"no coordinates ({na} {show(a_text[i])}, {nb} {show(b_text[i])}): "
        "the source could not place this incident",
    )
    checks.flag(
        a_bad | b_bad,
        NON_NUMERIC_COORDINATES,
        lambda i: f"coordinates are not numbers: {na} {show(a_text[i])}, {nb} {show(b_text[i])}",
    )
    finite = np.isfinite(a) & np.isfinite(b)
    checks.flag(
        ~finite,
        INVALID_COORDINATES,
        lambda i: f"coordinates are not finite numbers: {na} {show(a_text[i])}, "
        f"{nb} {show(b_text[i])}",
    )
    if zero_means_unplaced:
        checks.flag(
            (a == 0) & (b == 0),
            UNPLACED,
            lambda i: "coordinates 0,0: the source could not place this incident "
            "(data.police.uk writes 0,0 for crimes it could not place within 20 km of a map point)",
        )
    a = np.where(finite, a, 0.0)
    b = np.where(finite, b, 0.0)
    geographic = source_crs == WGS84
    if geographic:
        checks.flag(
            (np.abs(a) > 180) | (np.abs(b) > 90),
            OUT_OF_RANGE,
            lambda i: f"{na} {a[i]:g} / {nb} {b[i]:g} is not a longitude/latitude",
        )
        lon, lat = a, b
        x, y, info = transform(a, b, WGS84, area.crs)
    else:
        x, y = a, b
        if source_crs != area.crs:
            x, y, _info = transform(a, b, source_crs, area.crs)
        lon, lat, info = transform(x, y, area.crs, WGS84)
    good = np.isfinite(x) & np.isfinite(y) & np.isfinite(lon) & np.isfinite(lat)
    checks.flag(
        ~good | ~area.in_crs_area(lon, lat),
        OUTSIDE_CRS_AREA,
        lambda i: f"{na} {a[i]:g}, {nb} {b[i]:g} lies outside the area of use of {area.crs}",
    )
    if area.has_boundary:
        inside = np.zeros(x.shape, dtype=bool)
        ok = np.flatnonzero(checks.ok)
        inside[ok] = area.in_force_area(x[ok], y[ok])
        checks.flag(
            ~inside,
            OUTSIDE_FORCE_AREA,
            lambda i: f"{na} {a[i]:g}, {nb} {b[i]:g} lies more than {area.buffer_m:g} m "
            "outside the force boundary",
        )
    return Coordinates(x=x, y=y, lon=lon, lat=lat, transform=info)


def check_crime_types(
    checks: RowChecks,
    crime_types: np.ndarray,
    taxonomy: Taxonomy,
    policy: UnknownTypePolicy,
    unknown_counts: dict[str, int],
    *,
    column: str,
) -> np.ndarray:
    """Map crime types onto taxonomy keys, flagging blank and (under a strict policy) unknown ones.

    Unknown types are counted in ``unknown_counts`` whatever the policy, so the report names them.
    """
    keys, known, blank = taxonomy.map_types(crime_types)
    checks.flag(blank, MISSING_CRIME_TYPE, lambda i: f"{column} is blank")
    unknown = ~known & ~blank & checks.ok
    if unknown.any():
        names, counts = np.unique(
            np.array([str(t).strip() for t in crime_types[unknown]]), return_counts=True
        )
        for name, count in zip(names, counts, strict=True):
            unknown_counts[str(name)] = unknown_counts.get(str(name), 0) + int(count)
        if policy is UnknownTypePolicy.REJECT:
            checks.flag(
                unknown,
                UNKNOWN_CRIME_TYPE,
                lambda i: f"{column} {show(crime_types[i])} is not in the taxonomy "
                f"({taxonomy.source})",
            )
        else:
            keys = keys.copy()
            keys[unknown] = OTHER
    return keys


def _holds_nul(values: np.ndarray) -> bool:
    try:
        return "\x00" in "".join(values)  # one C-speed scan for the whole column
    except TypeError:
        return any("\x00" in str(v) for v in values)


def check_nul(checks: RowChecks, columns: dict[str, np.ndarray]) -> None:
    """Reject the rows whose text holds U+0000 (see :data:`NUL_CHARACTER`), naming the field.

    ``columns`` maps each field's name, as the source calls it, to its text.
    """
    for name, values in columns.items():
        if values.shape[0] and _holds_nul(values):
            mask = np.fromiter(("\x00" in str(v) for v in values), dtype=bool,
                               count=values.shape[0])
            checks.flag(mask, NUL_CHARACTER,
                        f"{name} holds a NUL character (U+0000), which is not text a store "
                        "can keep")


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


def derived_ids(content_columns: Sequence[np.ndarray], occurrences: dict[bytes, int]) -> np.ndarray:
    """Stable ids for rows whose source has none: a content hash plus an occurrence number.

    Rows identical in every column are separate reports (data.police.uk has over a thousand
    such anti-social behaviour rows in a real force-month), so the n-th row with a given
    content gets ``derived-<hash>-<n>``: every one is kept, and a re-ingest of the same file
    gives every row the same id again. ``occurrences`` carries the counts across the chunks of
    one file.
    """
    if not content_columns or len(content_columns[0]) == 0:
        return np.empty(0, dtype=object)
    b2 = hashlib.blake2b
    digests = [
        b2(c.encode("utf-8", "surrogatepass"), digest_size=10).digest()
        for c in map("\x1f".join, zip(*content_columns, strict=True))
    ]
    codes, uniques = pd.factorize(np.array(digests, dtype=object))
    rank = pd.Series(codes).groupby(codes).cumcount().to_numpy()
    base = np.array([occurrences.get(u, 0) for u in uniques], dtype=np.int64)
    counts = np.bincount(codes, minlength=len(uniques))
    for u, b, c in zip(uniques, base.tolist(), counts.tolist(), strict=True):
        occurrences[u] = b + c
    k = (base[codes] + rank).tolist()
    hexes = [u.hex() for u in uniques]
    return np.array(
        [f"derived-{hexes[c]}-{n}" for c, n in zip(codes.tolist(), k, strict=True)], dtype=object
    )


def build_table(
    *,
    keep: np.ndarray,
    lines: np.ndarray,
    namespace: str,
    crs: str,
    text: dict[str, np.ndarray],
    numeric: dict[str, np.ndarray],
) -> IncidentTable:
    """Assemble the accepted rows of a chunk into an :class:`IncidentTable`."""
    n_keep = int(keep.sum())
    cols: dict[str, np.ndarray] = {}
    for name in TEXT_FIELDS:
        col = text.get(name)
        cols[name] = col[keep] if col is not None else np.full(n_keep, "", dtype=object)
    for name, dtype in NUMERIC_FIELDS.items():
        col = numeric.get(name)
        if col is None:
            if name == "weight":
                cols[name] = np.ones(n_keep, dtype=dtype)
                continue
            raise KeyError(f"numeric column {name} is required")
        cols[name] = np.asarray(col[keep], dtype=dtype)
    return IncidentTable(columns=cols, line=lines[keep], namespace=namespace, crs=crs)


def header_index(header: list[str]) -> dict[str, int]:
    """Map normalised header names (stripped, case-folded) to their positions."""
    out: dict[str, int] = {}
    for i, name in enumerate(header):
        key = name.strip().lstrip("\ufeff").casefold()
        out.setdefault(key, i)
    return out


def columns_of(table: np.ndarray) -> list[np.ndarray]:
    """The columns of an ``(n, ncols)`` object array of fields."""
    return [table[:, i] for i in range(table.shape[1])]


@dataclass
class ChunkFields:
    """The fields of a chunk that every reader validates the same way (see :func:`finish_chunk`).

    ``coords`` are the two coordinate columns as text, named ``coord_names``, in ``coord_crs``
    (WGS84 longitude/latitude, or eastings/northings). ``ids`` may hold blanks, which get ids
    derived from ``id_content``: the columns whose content identifies a row (or a function of
    the mask of blank ids that returns those columns, for content that is costly to build).
    ``weight`` is a text column of weights or None. ``text`` holds the other text fields.
    """

    lines: np.ndarray
    occurred_at: np.ndarray
    precision: np.ndarray
    coords: tuple[np.ndarray, np.ndarray]
    coord_names: tuple[str, str]
    coord_crs: str
    crime_type: np.ndarray
    crime_column: str
    ids: np.ndarray
    id_content: list[np.ndarray] | Callable[[np.ndarray], list[np.ndarray]]
    text: dict[str, np.ndarray]
    weight: np.ndarray | None = None
    weight_name: str = "weight"
    text_names: dict[str, str] = field(default_factory=dict)
    """The source's name of each field of ``text`` (for messages; default the field's)."""
    id_name: str = "id"
    may_hold_nul: bool = True
    """False when the reader knows no text of the chunk holds U+0000 (skips that check)."""


def finish_chunk(
    checks: RowChecks,
    fields: ChunkFields,
    *,
    reader: Any,
    occurrences: dict[bytes, int],
) -> IncidentTable:
    """Check coordinates, crime types and weights, give blank ids derived ids, and assemble the
    accepted rows of a chunk (dates are checked by the caller, which knows their format)."""
    opts = reader.options
    area = opts.resolved_area()
    if fields.may_hold_nul:
        check_nul(checks, {fields.id_name: fields.ids, fields.crime_column: fields.crime_type,
                           **{fields.text_names.get(k, k): v for k, v in fields.text.items()}})
    coords = check_coordinates(
        checks, *fields.coords, names=fields.coord_names, source_crs=fields.coord_crs,
        area=area, zero_means_unplaced=True,
    )
    reader.stats.transform = reader.stats.transform or coords.transform
    keys = check_crime_types(
        checks, fields.crime_type, opts.resolved_taxonomy(), opts.unknown_types,
        reader.stats.unknown_types, column=fields.crime_column,
    )
    numeric = {
        "occurred_at": fields.occurred_at, "precision": fields.precision,
        "x": coords.x, "y": coords.y, "lon": coords.lon, "lat": coords.lat,
    }
    if fields.weight is not None:
        w_text, name = fields.weight, fields.weight_name
        values, blank, bad = parse_numbers(w_text)
        invalid = bad | (~blank & ~(np.isfinite(values) & (values >= 0)))
        checks.flag(invalid, BAD_WEIGHT, f"{name} {{}} is not a weight >= 0", w_text)
        numeric["weight"] = np.where(blank | invalid, 1.0, values).astype(np.float32)
    ids = strip(fields.ids)
    blank_id = ids == ""
    if blank_id.any():
        content = fields.id_content
        columns = content(blank_id) if callable(content) else [c[blank_id] for c in content]
        ids[blank_id] = derived_ids(columns, occurrences)
    return build_table(
        keep=checks.ok,
        lines=fields.lines,
        namespace=reader.namespace,
        crs=area.crs,
        text={"id": ids, "category": keys, "crime_type": fields.crime_type, **fields.text},
        numeric=numeric,
    )
