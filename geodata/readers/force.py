"""Reader for a force's own crime export (CSV) with a configurable column mapping.

A force's records management system exports exact date-times and often grid references; the
column names differ from force to force, so a :class:`ForceExportMapping` (a small TOML file)
says which column is which. Without one, the standard layout is assumed:
``incident_id, occurred_at, crime_type, easting, northing, location, lsoa_code, outcome``
(``longitude``/``latitude`` instead of ``easting``/``northing`` also work).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import BinaryIO

import numpy as np

from geodata.coords import WGS84
from geodata.errors import InvalidFile, InvalidMapping
from geodata.readers._checks import (
    BAD_DATE,
    RowChecks,
    show,
    strip,
)
from geodata.readers._chunk import (
    ChunkFields,
    columns_of,
    finish_chunk,
    header_index,
)
from geodata.readers._dates import (
    parse_datetimes,
)
from geodata.readers._text import TextSource
from geodata.readers.base import IncidentReader, ReadOptions
from geodata.schema import ReadChunk


@dataclass(frozen=True)
class ForceExportMapping:
    """Which column of a force export holds what, and how to read dates and coordinates.

    Column names are matched ignoring case and surrounding spaces. Give either ``x``/``y``
    (eastings/northings in ``coordinates_crs``, metres) or ``lon``/``lat`` (WGS84).

    Parameters
    ----------
    occurred_at
        Date-time (or date) column. ISO 8601, ``YYYY-MM`` and ``dd/mm/yyyy[ HH:MM[:SS]]`` are
        read without a format; set ``date_format`` (strftime) for anything else.
    crime_type
        The offence or crime-type column, mapped through the taxonomy.
    time
        Optional separate time-of-day column, joined to ``occurred_at``.
    id
        The force's own reference; without one, ids are derived from the row's content.
    """

    occurred_at: str = "occurred_at"
    crime_type: str = "crime_type"
    x: str | None = "easting"
    y: str | None = "northing"
    lon: str | None = None
    lat: str | None = None
    id: str | None = "incident_id"
    time: str | None = None
    location: str | None = "location"
    lsoa_code: str | None = "lsoa_code"
    outcome: str | None = "outcome"
    weight: str | None = None
    date_format: str | None = None
    dayfirst: bool = True
    timezone: str | None = None
    coordinates_crs: str = "EPSG:27700"
    delimiter: str = ","

    def __post_init__(self) -> None:
        if (self.x is None) != (self.y is None) or (self.lon is None) != (self.lat is None):
            raise InvalidMapping("give both x and y, or both lon and lat")
        if self.x is None and self.lon is None:
            raise InvalidMapping("the mapping needs x/y (easting/northing) or lon/lat columns")
        if len(self.delimiter) != 1:
            raise InvalidMapping("delimiter must be one character")

    @classmethod
    def from_toml(cls, path: str | Path) -> ForceExportMapping:
        """Load a mapping from a TOML file with ``[columns]`` and ``[format]`` tables.

        Raises
        ------
        InvalidMapping
            If the file is unreadable or names keys this mapping does not have.
        """
        p = Path(path)
        try:
            text = p.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidMapping(f"cannot read mapping {p}: {exc}") from exc
        return cls.from_toml_text(text, source=str(p))

    @classmethod
    def from_toml_text(cls, text: str, *, source: str = "mapping") -> ForceExportMapping:
        """Parse a mapping from TOML text (see :meth:`from_toml`).

        Raises
        ------
        InvalidMapping
            If the text is not TOML, nests too deeply, names unknown keys or gives a value of
            the wrong type (column names and formats are text; ``dayfirst`` is true or false).
        """
        p = source
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InvalidMapping(f"{p}: not valid TOML: {exc}") from exc
        except RecursionError:  # tomllib recurses into nested arrays and inline tables
            raise InvalidMapping(f"{p}: the TOML nests arrays or tables too deeply to be a "
                                 "column mapping (its values are column names and formats)"
                                 ) from None
        known = {f.name for f in fields(cls)}
        values: dict[str, object] = {}
        for table in ("columns", "format"):
            section = data.get(table, {})
            if not isinstance(section, dict):
                raise InvalidMapping(f"{p}: [{table}] must be a table")
            for key, value in section.items():
                if key not in known:
                    raise InvalidMapping(f"{p}: unknown key {key!r} in [{table}]")
                kind, wanted = (bool, "true or false") if key == "dayfirst" else (str, "text")
                if not isinstance(value, kind):
                    raise InvalidMapping(f"{p}: {key!r} in [{table}] must be {wanted}, not "
                                         f"{_toml_type(value)}")
                values[key] = None if value == "" else value
        if values.get("lon") and "x" not in values:
            values.setdefault("x", None)
            values.setdefault("y", None)
        try:
            return cls(**values)  # type: ignore[arg-type]
        except (TypeError, InvalidMapping) as exc:
            raise InvalidMapping(f"{p}: {exc}") from exc

    def columns(self) -> dict[str, str]:
        """The role of each mapped column: ``{role: column name}``."""
        roles = ("occurred_at", "crime_type", "x", "y", "lon", "lat", "id", "time",
                 "location", "lsoa_code", "outcome", "weight")
        return {r: getattr(self, r) for r in roles if getattr(self, r)}


def _toml_type(value: object) -> str:
    """What a TOML value is, in words."""
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return f"{type(value).__name__} {value!r}"[:80]


def default_mapping_for(header: list[str]) -> ForceExportMapping | None:
    """The standard mapping fitted to a header (grid or lon/lat, optional columns dropped),
    or None when the header lacks the standard required columns."""
    idx = header_index(header)
    if "occurred_at" not in idx or "crime_type" not in idx:
        return None
    if "easting" in idx and "northing" in idx:
        coords: dict[str, str | None] = {"x": "easting", "y": "northing"}
    elif "longitude" in idx and "latitude" in idx:
        coords = {"x": None, "y": None, "lon": "longitude", "lat": "latitude"}
    else:
        return None
    optional: dict[str, str | None] = {
        k: (k if k in idx else None)
        for k in ("location", "lsoa_code", "outcome", "weight", "incident_id")
    }
    optional["id"] = optional.pop("incident_id")
    return ForceExportMapping(**coords, **optional)  # type: ignore[arg-type]


class ForceCsvReader(IncidentReader):
    """Stream a force export CSV as chunks of incidents and rejected rows.

    Parameters
    ----------
    source
        A path or a binary file object.
    mapping
        Which column is which; None fits the standard layout to the header.
    name
        Shown in messages and reports.
    options
        Taxonomy, area check, CRS, time zone and chunk size.

    Raises
    ------
    InvalidFile
        While iterating, if the file is empty or lacks the mapped columns.
    """

    format = "force-export"
    namespace = "force"
    time_precision = "as the export gives it (date-time, date or month)"

    def __init__(
        self,
        source: str | os.PathLike[str] | BinaryIO,
        *,
        mapping: ForceExportMapping | None = None,
        name: str = "",
        options: ReadOptions | None = None,
    ) -> None:
        super().__init__(source, name=name, options=options)
        self.mapping = mapping

    def __iter__(self) -> Iterator[ReadChunk]:
        opts = self.options
        self.stats.area_check = opts.resolved_area().description
        delimiter = self.mapping.delimiter if self.mapping else ","
        with TextSource(self.source, name=self.name) as text:
            self.stats.source = text.name
            self.stats.total_bytes = text.total_bytes
            _line, header = text.header(delimiter=delimiter)
            mapping = self._mapping_for(text.name, header)
            self.mapping = mapping
            idx = header_index(header)
            timezone = mapping.timezone or opts.timezone
            occurrences: dict[bytes, int] = {}
            for lines, rows, bad_rows in text.chunks(len(header), opts.chunk_rows):
                self.stats.records += len(rows) + len(bad_rows)
                checks = RowChecks(lines)
                fields = _chunk_fields(mapping, idx, lines, rows, checks, timezone,
                                       may_hold_nul=text.saw_nul)
                table = finish_chunk(checks, fields, reader=self, occurrences=occurrences)
                yield ReadChunk(table, checks.rejected(bad_rows), text.bytes_read)
            self.stats.blank_lines = text.blank_lines
            self.stats.encoding_fallback_bytes = text.fallback_bytes

    def _mapping_for(self, name: str, header: list[str]) -> ForceExportMapping:
        """The mapping given, else the standard layout's if the header has it; every column it
        names must be in the header."""
        mapping = self.mapping or default_mapping_for(header)
        if mapping is None:
            raise InvalidFile(
                f"{name}: not a data.police.uk file, and not a force export in the "
                "standard layout (occurred_at, crime_type, easting/northing or "
                "longitude/latitude); give a column mapping (--mapping FILE.toml); found "
                f"columns {show(','.join(header), 200)}"
            )
        idx = header_index(header)
        missing = [
            f"{role} column {column!r}"
            for role, column in mapping.columns().items()
            if column.strip().casefold() not in idx
        ]
        if missing:
            raise InvalidFile(
                f"{name}: the mapping names columns the file lacks: "
                f"{', '.join(missing)}; found {show(','.join(header), 200)}"
            )
        return mapping


def _chunk_fields(mapping: ForceExportMapping, idx: dict[str, int], lines: np.ndarray,
                  rows: np.ndarray, checks: RowChecks, timezone: str, *,
                  may_hold_nul: bool) -> ChunkFields:
    """A chunk's fields by the mapping, its date-times parsed (unparsed ones flagged)."""
    cols = columns_of(rows)
    n = len(rows)

    def col(name: str | None) -> np.ndarray:
        if name is None:
            return np.full(n, "", dtype=object)
        return cols[idx[name.strip().casefold()]]

    when = col(mapping.occurred_at)
    if mapping.time:
        when = np.array(
            [f"{d} {t}".strip() for d, t in zip(when, col(mapping.time), strict=True)],
            dtype=object,
        )
    seconds, precision, ok = parse_datetimes(
        when, timezone=timezone, fmt=mapping.date_format, dayfirst=mapping.dayfirst
    )
    checks.flag(
        ~ok,
        BAD_DATE,
        f"{mapping.occurred_at} {{}} is not a date "
        + (f"in the format {mapping.date_format!r}" if mapping.date_format else
           "(ISO 8601, YYYY-MM or dd/mm/yyyy [HH:MM[:SS]])"),
        when,
    )
    geographic = mapping.lon is not None
    a_name = mapping.lon if geographic else mapping.x
    b_name = mapping.lat if geographic else mapping.y
    return ChunkFields(
        lines=lines,
        occurred_at=seconds,
        precision=precision,
        coords=(col(a_name), col(b_name)),
        coord_names=(str(a_name), str(b_name)),
        coord_crs=WGS84 if geographic else mapping.coordinates_crs,
        crime_type=col(mapping.crime_type),
        crime_column=mapping.crime_type,
        ids=col(mapping.id),
        id_content=cols,  # every column counts
        text={
            "location_text": col(mapping.location),
            "lsoa_code": strip(col(mapping.lsoa_code)),
            "outcome": col(mapping.outcome),
        },
        weight=col(mapping.weight) if mapping.weight else None,
        weight_name=mapping.weight or "weight",
        text_names={"location_text": mapping.location or "location",
                    "lsoa_code": mapping.lsoa_code or "lsoa_code",
                    "outcome": mapping.outcome or "outcome"},
        id_name=mapping.id or "id",
        may_hold_nul=may_hold_nul,
    )


def read_force_csv(
    source: str | os.PathLike[str] | BinaryIO,
    *,
    mapping: ForceExportMapping | None = None,
    name: str = "",
    options: ReadOptions | None = None,
) -> ForceCsvReader:
    """Return a streaming reader for a force export CSV (see :class:`ForceCsvReader`)."""
    return ForceCsvReader(source, mapping=mapping, name=name, options=options)
