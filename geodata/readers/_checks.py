"""Row checks shared by the readers: reason codes, numbers, coordinates, crime types, NULs.

Every check works on whole columns of a chunk. A row that fails a check is flagged with the
first reason that applies and a sentence that names the value at fault; it is never dropped
without a trace.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geodata.coords import WGS84, AreaCheck, TransformInfo, transform
from geodata.schema import RejectedRow
from geodata.taxonomy import OTHER, Taxonomy, UnknownTypePolicy

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


def _parse_pair(
    checks: RowChecks,
    a_text: np.ndarray,
    b_text: np.ndarray,
    *,
    names: tuple[str, str],
    zero_means_unplaced: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Parse two coordinate columns, flagging missing, non-numeric, not finite and (when
    ``zero_means_unplaced``) 0,0 pairs; the numbers, 0 where not finite."""
    a_name, b_name = names
    a, a_blank, a_bad = parse_numbers(a_text)
    b, b_blank, b_bad = parse_numbers(b_text)
    checks.flag(
        a_blank | b_blank,
        MISSING_COORDINATES,
        lambda i: f"no coordinates ({a_name} {show(a_text[i])}, {b_name} {show(b_text[i])}): "
        "the source could not place this incident",
    )
    checks.flag(
        a_bad | b_bad,
        NON_NUMERIC_COORDINATES,
        lambda i: f"coordinates are not numbers: {a_name} {show(a_text[i])}, {b_name} {show(b_text[i])}",
    )
    finite = np.isfinite(a) & np.isfinite(b)
    checks.flag(
        ~finite,
        INVALID_COORDINATES,
        lambda i: f"coordinates are not finite numbers: {a_name} {show(a_text[i])}, "
        f"{b_name} {show(b_text[i])}",
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
    return a, b


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
    a_name, b_name = names
    a, b = _parse_pair(checks, a_text, b_text, names=names,
                       zero_means_unplaced=zero_means_unplaced)
    geographic = source_crs == WGS84
    if geographic:
        checks.flag(
            (np.abs(a) > 180) | (np.abs(b) > 90),
            OUT_OF_RANGE,
            lambda i: f"{a_name} {a[i]:g} / {b_name} {b[i]:g} is not a longitude/latitude",
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
        lambda i: f"{a_name} {a[i]:g}, {b_name} {b[i]:g} lies outside the area of use of {area.crs}",
    )
    if area.has_boundary:
        inside = np.zeros(x.shape, dtype=bool)
        ok = np.flatnonzero(checks.ok)
        inside[ok] = area.in_force_area(x[ok], y[ok])
        checks.flag(
            ~inside,
            OUTSIDE_FORCE_AREA,
            lambda i: f"{a_name} {a[i]:g}, {b_name} {b[i]:g} lies more than {area.buffer_m:g} m "
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


@dataclass
class RejectedKeeper:
    """The rejected rows of a reader that holds a whole file in memory (outcomes, stop and
    search): every row counted by reason and given to ``on_rejected`` as it is found, but only
    the first ``keep`` kept (None: all), so a file of junk cannot fill memory with its rejects;
    and past ``max_rows`` records read the reader stops (:class:`~geodata.errors.
    TooManyRecords`) instead of reading on."""

    keep: int | None = None
    on_rejected: Callable[[RejectedRow], None] | None = None
    max_rows: int | None = None

    def __post_init__(self) -> None:
        self.rows: list[RejectedRow] = []
        self.by_reason: dict[str, int] = {}

    def add(self, rows: Sequence[RejectedRow]) -> None:
        """Count, pass on and (up to ``keep``) keep a chunk's rejected rows."""
        for row in rows:
            self.by_reason[row.reason] = self.by_reason.get(row.reason, 0) + 1
            if self.on_rejected is not None:
                self.on_rejected(row)
            if self.keep is None or len(self.rows) < self.keep:
                self.rows.append(row)

    def check_rows(self, records: int) -> None:
        """Stop reading once more than ``max_rows`` records have been read."""
        from geodata.errors import TooManyRecords

        if self.max_rows is not None and records > self.max_rows:
            raise TooManyRecords(self.max_rows)

    def sorted_rows(self) -> list[RejectedRow]:
        """The kept rows in line order."""
        return sorted(self.rows, key=lambda r: r.line)
