"""What every incident reader shares: streaming in chunks, and what it learned on the way."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from geodata.coords import AreaCheck, TransformInfo
from geodata.schema import DEFAULT_CRS, DEFAULT_TIMEZONE, IncidentTable, ReadChunk, RejectedRow
from geodata.taxonomy import Taxonomy, UnknownTypePolicy


@dataclass
class ReadStats:
    """What a reader learned about a source while reading it."""

    format: str
    source: str
    records: int = 0
    """Data records seen (header and blank lines not counted)."""
    blank_lines: int = 0
    encoding_fallback_bytes: int = 0
    """Bytes that were not valid UTF-8 and were read as Windows-1252."""
    unknown_types: dict[str, int] = field(default_factory=dict)
    unknown_type_policy: str = UnknownTypePolicy.OTHER.value
    transform: TransformInfo | None = None
    area_check: str = ""
    time_precision: str = ""
    total_bytes: int | None = None

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready dict."""
        return {
            "format": self.format,
            "source": self.source,
            "records": self.records,
            "encoding_fallback_bytes": self.encoding_fallback_bytes,
            "unknown_crime_types": dict(sorted(self.unknown_types.items())),
            "unknown_crime_type_policy": self.unknown_type_policy,
            "coordinate_transformation": self.transform.to_dict() if self.transform else None,
            "area_check": self.area_check,
            "time_precision": self.time_precision,
        }


@dataclass(frozen=True)
class ReadOptions:
    """Options every reader takes.

    Parameters
    ----------
    taxonomy
        Maps source crime types onto categories (the packaged default when None).
    area
        Which coordinates to accept; None accepts anything in the area of use of ``crs``.
    crs
        The force CRS (projected, metres) that ``x``/``y`` are given in.
    timezone
        The force's local time zone, for dates without an offset.
    unknown_types
        What to do with crime types not in the taxonomy.
    chunk_rows
        Rows per yielded chunk.
    """

    taxonomy: Taxonomy | None = None
    area: AreaCheck | None = None
    crs: str = DEFAULT_CRS
    timezone: str = DEFAULT_TIMEZONE
    unknown_types: UnknownTypePolicy = UnknownTypePolicy.OTHER
    chunk_rows: int = 50_000

    def resolved_taxonomy(self) -> Taxonomy:
        """The taxonomy to use."""
        return self.taxonomy if self.taxonomy is not None else _default_taxonomy()

    def resolved_area(self) -> AreaCheck:
        """The area check to use."""
        return self.area if self.area is not None else AreaCheck(crs=self.crs)


_DEFAULT: list[Taxonomy] = []


def _default_taxonomy() -> Taxonomy:
    if not _DEFAULT:
        _DEFAULT.append(Taxonomy.load())
    return _DEFAULT[0]


class IncidentReader:
    """Base of the readers: iterate to get :class:`ReadChunk` objects; :attr:`stats` after."""

    format = "?"
    namespace = "?"
    time_precision = ""
    """What the source says about time (for reports)."""

    def __init__(
        self,
        source: str | os.PathLike[str] | BinaryIO,
        *,
        name: str = "",
        options: ReadOptions | None = None,
    ) -> None:
        self.source = source
        self.name = name
        self.options = options or ReadOptions()
        self.stats = ReadStats(
            format=self.format,
            source="",
            unknown_type_policy=self.options.unknown_types.value,
            time_precision=self.time_precision,
        )

    def __iter__(self) -> Iterator[ReadChunk]:  # pragma: no cover - abstract
        raise NotImplementedError

    def read_all(self) -> ReadResult:
        """Read the whole source into memory (for tests, notebooks and small files)."""
        tables: list[IncidentTable] = []
        rejected: list[RejectedRow] = []
        for chunk in self:
            tables.append(chunk.incidents)
            rejected.extend(chunk.rejected)
        table = (
            IncidentTable.concat(tables)
            if tables
            else IncidentTable.empty(self.namespace, self.options.crs)
        )
        return ReadResult(incidents=table, rejected=rejected, stats=self.stats)


@dataclass(frozen=True)
class ReadResult:
    """A whole source read into memory."""

    incidents: IncidentTable
    rejected: list[RejectedRow]
    stats: ReadStats
