"""Incident readers: data.police.uk street-level CSV and API crimes, force exports, GeoJSON points.

Every reader streams a source in chunks (bounded memory) and returns the valid incidents and
the rejected rows, each with its line and reason. :func:`open_reader` picks the reader from the
file's extension and header.
"""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path
from typing import BinaryIO

from geodata.errors import InvalidFile
from geodata.readers._bytes import compressed_kind
from geodata.readers.base import IncidentReader, ReadOptions, ReadResult, ReadStats
from geodata.readers.force import ForceCsvReader, ForceExportMapping, read_force_csv
from geodata.readers.geojson import GeoJsonMapping, GeoJsonReader, read_geojson
from geodata.readers.police import (
    POLICE_COLUMNS,
    PoliceCsvReader,
    looks_like_police_header,
    read_police_csv,
)
from geodata.readers.police_api import (
    PoliceApiReader,
    looks_like_police_api_header,
    looks_like_police_api_json,
    read_police_api,
)

FORMATS = ("auto", "police", "police-api", "force", "geojson")

__all__ = [
    "FORMATS",
    "POLICE_COLUMNS",
    "ForceCsvReader",
    "ForceExportMapping",
    "GeoJsonMapping",
    "GeoJsonReader",
    "IncidentReader",
    "PoliceApiReader",
    "PoliceCsvReader",
    "ReadOptions",
    "ReadResult",
    "ReadStats",
    "open_reader",
    "read_force_csv",
    "read_geojson",
    "read_police_api",
    "read_police_csv",
]


def sniff_format(head: bytes, name: str = "") -> str:
    """Guess ``"police"``, ``"police-api"``, ``"force"`` or ``"geojson"`` from a file's first
    bytes and name (``"police-api"``: a data.police.uk API crime list, JSON or flattened CSV).

    Never raises: bytes that are no format at all (compressed, binary, a header cut by a bare
    carriage return) give ``"force"``, whose reader then refuses the file naming the problem.
    """
    suffix = Path(name).suffix.lower()
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if looks_like_police_api_json(stripped):
        return "police-api"
    if suffix in (".geojson", ".json", ".geojsonl", ".geojsons", ".ndjson") or stripped[:1] in (
        b"{",
        b"[",
        b"\x1e",
    ):
        return "geojson"
    if compressed_kind(head):
        return "force"  # the CSV reader refuses it, saying so
    text = head.decode("utf-8", "replace").lstrip("\ufeff")
    line = re.split(r"\r\n|\r|\n", text, maxsplit=1)[0]  # a bare CR ends a line too
    try:
        first = next(csv.reader([line]), [])
    except csv.Error:  # not a CSV header: the force reader says what it found
        return "force"
    if looks_like_police_header(first):
        return "police"
    return "police-api" if looks_like_police_api_header(first) else "force"


def open_reader(
    source: str | os.PathLike[str] | BinaryIO,
    *,
    format: str = "auto",
    name: str = "",
    options: ReadOptions | None = None,
    mapping: ForceExportMapping | None = None,
) -> IncidentReader:
    """Return the reader for a source.

    Parameters
    ----------
    source
        A path or a seekable binary file object.
    format
        ``"auto"`` (from extension and header), ``"police"`` (data.police.uk street-level CSV),
        ``"police-api"`` (data.police.uk API crimes: its JSON or a flattened CSV of it),
        ``"force"`` (force export CSV; ``mapping`` says which column is which) or ``"geojson"``.

    Raises
    ------
    InvalidFile
        If the source cannot be opened or the format is unknown.
    """
    if format not in FORMATS:
        raise InvalidFile(f"unknown format {format!r}; use one of {', '.join(FORMATS)}")
    if format == "auto":
        if mapping is not None:
            format = "force"
        elif isinstance(source, (str, os.PathLike)):
            try:
                with open(source, "rb") as f:
                    head = f.read(65536)
            except OSError as exc:
                raise InvalidFile(f"cannot open {source}: {exc.strerror}") from exc
            format = sniff_format(head, str(source))
        else:
            pos = source.tell()
            head = source.read(65536)
            source.seek(pos)
            format = sniff_format(head, name or str(getattr(source, "name", "")))
    if format == "police":
        return PoliceCsvReader(source, name=name, options=options)
    if format == "police-api":
        return PoliceApiReader(source, name=name, options=options)
    if format == "force":
        return ForceCsvReader(source, mapping=mapping, name=name, options=options)
    return GeoJsonReader(source, name=name, options=options)
