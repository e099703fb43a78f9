"""Reader for data.police.uk street-level CSV files, exactly as downloaded.

Columns: Crime ID, Month, Reported by, Falls within, Longitude, Latitude, Location, LSOA code,
LSOA name, Crime type, Last outcome category, Context. What real files do, and what this
reader does about it:

- Dates are months only (``2024-03``): ``occurred_at`` is the first instant of the month in the
  force's time zone and ``precision`` is MONTH; no day or hour is invented.
- Anti-social behaviour rows have a blank Crime ID, and rows identical in every column are
  separate reports. Such rows get ``derived-<content hash>-<n>``, the n-th row with that
  content (Last outcome category and Context left out of the hash, because data.police.uk
  updates outcomes when it republishes a month), so every one is kept and a re-ingest of the
  same file recognises each again.
- Rows with no coordinates (crimes data.police.uk could not place) and rows at 0,0 are
  rejected with their own reasons, never guessed.
- Every crime sits on one of about 750,000 anonymous map points, so many share coordinates;
  they are all kept (the ingest report gives the share on the busiest points).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import BinaryIO

import numpy as np

from geodata.coords import WGS84
from geodata.errors import InvalidFile
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
    month_starts,
)
from geodata.readers._text import TextSource
from geodata.readers.base import IncidentReader, ReadOptions
from geodata.schema import Precision, ReadChunk

POLICE_COLUMNS: tuple[str, ...] = (
    "Crime ID",
    "Month",
    "Reported by",
    "Falls within",
    "Longitude",
    "Latitude",
    "Location",
    "LSOA code",
    "LSOA name",
    "Crime type",
    "Last outcome category",
    "Context",
)
REQUIRED_COLUMNS: tuple[str, ...] = ("Month", "Longitude", "Latitude", "Crime type")
_ID_CONTENT = (
    "Month",
    "Reported by",
    "Falls within",
    "Longitude",
    "Latitude",
    "Location",
    "LSOA code",
    "LSOA name",
    "Crime type",
)

_TEXT_NAMES = {"location_text": "Location", "lsoa_code": "LSOA code", "lsoa_name": "LSOA name",
               "outcome": "Last outcome category", "context": "Context", "force": "Falls within"}


def looks_like_police_header(fields: list[str]) -> bool:
    """True when a CSV header has the columns of a data.police.uk street-level file."""
    idx = header_index(fields)
    return all(c.casefold() in idx for c in REQUIRED_COLUMNS) and "crime id" in idx


class PoliceCsvReader(IncidentReader):
    """Stream a data.police.uk street-level CSV as chunks of incidents and rejected rows.

    Parameters
    ----------
    source
        A path or a binary file object.
    name
        Shown in messages and reports (defaults to the file name).
    options
        Taxonomy, area check, CRS, time zone and chunk size.

    Raises
    ------
    InvalidFile
        While iterating, if the file is empty or its header is not a data.police.uk header.

    Examples
    --------
    >>> result = PoliceCsvReader("2024-03-lincolnshire-street.csv").read_all()  # doctest: +SKIP
    >>> len(result.incidents), len(result.rejected)  # doctest: +SKIP
    (5671, 0)
    """

    format = "police.uk"
    namespace = "police.uk"
    time_precision = "month (data.police.uk gives the month only)"

    def __iter__(self) -> Iterator[ReadChunk]:
        opts = self.options
        self.stats.area_check = opts.resolved_area().description
        with TextSource(self.source, name=self.name) as text:
            self.stats.source = text.name
            self.stats.total_bytes = text.total_bytes
            _line, header = text.header()
            idx = header_index(header)
            missing = [c for c in REQUIRED_COLUMNS if c.casefold() not in idx]
            if missing:
                raise InvalidFile(
                    f"{text.name}: not a data.police.uk street-level CSV: the header lacks "
                    f"{', '.join(missing)}; expected {', '.join(POLICE_COLUMNS)}; found "
                    f"{show(','.join(header), 200)}"
                )
            occurrences: dict[bytes, int] = {}
            for lines, rows, bad_rows in text.chunks(len(header), opts.chunk_rows):
                self.stats.records += len(rows) + len(bad_rows)
                cols = columns_of(rows)

                def col(name: str, cols: list[np.ndarray] = cols, n: int = len(rows)) -> np.ndarray:
                    i = idx.get(name.casefold())
                    return cols[i] if i is not None else np.full(n, "", dtype=object)

                checks = RowChecks(lines)
                month_text = col("Month")
                starts, month_ok = month_starts(month_text, opts.timezone)
                checks.flag(
                    ~month_ok,
                    BAD_DATE,
                    "Month {} is not a month (YYYY-MM)",
                    month_text,
                )
                fields = ChunkFields(
                    lines=lines,
                    occurred_at=starts,
                    precision=np.full(len(rows), Precision.MONTH, dtype=np.uint8),
                    coords=(col("Longitude"), col("Latitude")),
                    coord_names=("Longitude", "Latitude"),
                    coord_crs=WGS84,
                    crime_type=col("Crime type"),
                    crime_column="Crime type",
                    ids=col("Crime ID"),
                    id_content=[col(c) for c in _ID_CONTENT],
                    text={
                        "location_text": col("Location"),
                        "lsoa_code": strip(col("LSOA code")),
                        "lsoa_name": col("LSOA name"),
                        "outcome": col("Last outcome category"),
                        "context": col("Context"),
                        "force": col("Falls within"),
                    },
                    text_names=_TEXT_NAMES,
                    id_name="Crime ID",
                    may_hold_nul=text.saw_nul,
                )
                table = finish_chunk(checks, fields, reader=self, occurrences=occurrences)
                self.stats.encoding_fallback_bytes = text.fallback_bytes
                yield ReadChunk(table, checks.rejected(bad_rows), text.bytes_read)
            self.stats.blank_lines = text.blank_lines
            self.stats.encoding_fallback_bytes = text.fallback_bytes


def read_police_csv(
    source: str | os.PathLike[str] | BinaryIO,
    *,
    name: str = "",
    options: ReadOptions | None = None,
) -> PoliceCsvReader:
    """Return a streaming reader for a data.police.uk street-level CSV (see :class:`PoliceCsvReader`)."""
    return PoliceCsvReader(source, name=name, options=options)
