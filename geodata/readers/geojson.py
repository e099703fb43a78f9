"""Reader for incidents as GeoJSON points (or as JSON incident records).

A FeatureCollection is streamed with ijson, so a file of a million features is read in bounded
memory; newline-delimited GeoJSON (one Feature per line, ``.geojsonl``/``.ndjson``) is read line
by line. Coordinates are WGS84 longitude/latitude (RFC 7946); a legacy top-level ``crs`` member
naming another CRS (as older QGIS exports write) is honoured. Rows are numbered by feature
(1-based), or by line for newline-delimited files.

Other systems may send plain JSON records instead: a list of objects (or
``{"incidents": [...]}``) with ``occurred_at``, ``crime_type``, and ``lon``/``lat`` (WGS84) or
``easting``/``northing`` (the force CRS), read the same way.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import ijson
import numpy as np
from pyproj import CRS

from geodata.coords import WGS84
from geodata.errors import InvalidFile
from geodata.readers._bytes import open_binary, open_head
from geodata.readers._checks import (
    BAD_DATE,
    NOT_A_POINT,
    RowChecks,
    show,
    strip,
)
from geodata.readers._chunk import (
    ChunkFields,
    finish_chunk,
)
from geodata.readers._dates import (
    parse_datetimes,
)
from geodata.readers._nesting import DepthGuard, nests_deeper_than, too_deep
from geodata.readers._text import MALFORMED
from geodata.readers.base import IncidentReader, ReadOptions
from geodata.schema import ReadChunk, RejectedRow


@dataclass(frozen=True)
class GeoJsonMapping:
    """Which feature property holds what; each entry lists names tried in order."""

    id: tuple[str, ...] = ("incident_id", "crime_id", "id", "Crime ID")
    occurred_at: tuple[str, ...] = ("occurred_at", "datetime", "date", "month", "Month")
    crime_type: tuple[str, ...] = ("crime_type", "Crime type", "offence", "category", "type")
    location: tuple[str, ...] = ("location_text", "location", "Location")
    lsoa_code: tuple[str, ...] = ("lsoa_code", "LSOA code")
    outcome: tuple[str, ...] = ("outcome", "Last outcome category")
    weight: tuple[str, ...] = ("weight",)


_CRS_NAME = re.compile(rb'"crs"\s*:\s*\{.{0,300}?"name"\s*:\s*"([^"]+)"', re.DOTALL)


class GeoJsonReader(IncidentReader):
    """Stream GeoJSON point features as chunks of incidents and rejected rows.

    Raises
    ------
    InvalidFile
        While iterating, if the file is not GeoJSON or its JSON breaks off part-way (nothing
        of such a file is stored: the ingest is one transaction).
    """

    format = "geojson"
    namespace = "geojson"
    time_precision = "as each feature gives it (date-time, date or month)"

    def __init__(
        self,
        source: str | os.PathLike[str] | BinaryIO,
        *,
        mapping: GeoJsonMapping | None = None,
        name: str = "",
        options: ReadOptions | None = None,
    ) -> None:
        super().__init__(source, name=name, options=options)
        self.mapping = mapping or GeoJsonMapping()
        self._occurrences: dict[bytes, int] = {}

    def _open(self) -> tuple[BinaryIO, bool]:
        f, own, self.name = open_binary(self.source, self.name)
        return f, own

    def __iter__(self) -> Iterator[ReadChunk]:
        f, own = self._open()
        self.stats.source = self.name
        try:
            text_head, self.stats.total_bytes = open_head(f, self.name)
            if text_head[:1] not in (b"{", b"\x1e", b"["):
                raise InvalidFile(
                    f"{self.name}: not GeoJSON or JSON incidents (it does not start with "
                    "'{' or '[')"
                )
            source_crs = WGS84
            m = _CRS_NAME.search(text_head)
            if m:
                try:
                    source_crs = CRS.from_user_input(m.group(1).decode()).to_string()
                except Exception as exc:  # pyproj raises its own CRSError
                    raise InvalidFile(f"{self.name}: unknown crs {m.group(1)!r}") from exc
                if CRS.from_user_input(source_crs).equals(CRS.from_user_input("OGC:CRS84")):
                    source_crs = WGS84
            first_line = text_head.split(b"\n", 1)[0]
            sequence = text_head[:1] == b"\x1e" or _is_feature_line(first_line)
            records = _records_prefix(text_head)
            if records is not None:
                features, source_crs = self._records(f, records, source_crs)
            elif sequence:
                features = self._lines(f)
            else:
                features = self._collection(f)
            yield from self._chunks(features, source_crs, f)
        finally:
            if own:
                f.close()

    def _guarded(self, f: BinaryIO) -> Any:
        """``f`` as ijson reads it: refused once the JSON nests past :data:`MAX_DEPTH`."""
        return DepthGuard(f, InvalidFile(too_deep(self.name)))

    def _collection(self, f: BinaryIO) -> Iterator[tuple[int, Any]]:
        try:
            yield from enumerate(ijson.items(self._guarded(f), "features.item", use_float=True),
                                 1)
        except ijson.JSONError as exc:
            raise _json_error(self.name, exc) from exc

    def _records(
        self, f: BinaryIO, prefix: str, source_crs: str
    ) -> tuple[Iterator[tuple[int, Any]], str]:
        """JSON incident records (a list, or ``{"incidents": [...]}``) as point features.

        Each record carries ``lon``/``lat`` (or ``longitude``/``latitude``, WGS84) or
        ``easting``/``northing`` (or ``x``/``y``, metres in the force CRS); the first record
        decides which for the whole file.
        """
        items = ijson.items(self._guarded(f), prefix, use_float=True)
        try:
            first = next(items, None)
        except ijson.JSONError as exc:
            raise _json_error(self.name, exc) from exc
        keys = set(first) if isinstance(first, dict) else set()
        grid = not ({"lon", "lat"} <= keys or {"longitude", "latitude"} <= keys) and (
            {"easting", "northing"} <= keys or {"x", "y"} <= keys)
        crs = self.options.crs if grid else source_crs
        pairs = (("easting", "northing"), ("x", "y")) if grid else (
            ("lon", "lat"), ("longitude", "latitude"))

        def as_feature(rec: Any, k: int) -> Any:
            if not isinstance(rec, dict):
                return RejectedRow(k, MALFORMED, "not a JSON object with the incident's fields")
            a, b = next(((rec.get(p), rec.get(q)) for p, q in pairs if p in rec and q in rec),
                        (None, None))
            geom = None if a is None or b is None else {"type": "Point", "coordinates": [a, b]}
            return {"type": "Feature", "id": rec.get("id"), "geometry": geom, "properties": rec}

        def generate() -> Iterator[tuple[int, Any]]:
            if first is None:
                return
            yield 1, as_feature(first, 1)
            try:
                for k, rec in enumerate(items, 2):
                    yield k, as_feature(rec, k)
            except ijson.JSONError as exc:
                raise _json_error(self.name, exc) from exc

        return generate(), crs

    def _lines(self, f: BinaryIO) -> Iterator[tuple[int, Any]]:
        for k, raw in enumerate(f, 1):
            line = raw.strip(b"\x1e \t\r\n\xef\xbb\xbf")
            if not line:
                continue
            if nests_deeper_than(line):
                yield k, RejectedRow(k, MALFORMED, too_deep("the feature").split(": ", 1)[1])
                continue
            try:
                yield k, json.loads(line)
            except ValueError as exc:
                yield k, RejectedRow(k, MALFORMED, f"not a JSON feature: {exc}")

    def _chunks(
        self, features: Iterator[tuple[int, Any]], source_crs: str, f: BinaryIO
    ) -> Iterator[ReadChunk]:
        size = self.options.chunk_rows
        batch: list[tuple[int, Any]] = []
        for item in features:
            batch.append(item)
            if len(batch) >= size:
                yield self._chunk(batch, source_crs, f)
                batch = []
        if batch:
            yield self._chunk(batch, source_crs, f)

    def _chunk(self, batch: list[tuple[int, Any]], source_crs: str, f: BinaryIO) -> ReadChunk:
        opts = self.options
        self.stats.area_check = opts.resolved_area().description
        self.stats.records += len(batch)
        pre_rejected = [item for _, item in batch if isinstance(item, RejectedRow)]
        feats = [(k, item) for k, item in batch if not isinstance(item, RejectedRow)]
        lines = np.array([k for k, _ in feats], dtype=np.int64)
        checks = RowChecks(lines)
        a, b, not_point, props = _points_and_properties(feats)
        checks.flag(
            not_point,
            NOT_A_POINT,
            lambda i: "the feature is not a Point with coordinates "
            f"(geometry type {show(_geom_type(feats[i][1]))})",
        )

        def prop(names: tuple[str, ...]) -> np.ndarray:
            return _first_property(props, names)

        m = self.mapping
        when = prop(m.occurred_at)
        seconds, precision, ok = parse_datetimes(when, timezone=opts.timezone)
        checks.flag(
            ~ok,
            BAD_DATE,
            lambda i: f"date {show(when[i])} is not a date (ISO 8601, YYYY-MM or dd/mm/yyyy)",
        )
        fields = ChunkFields(
            lines=lines,
            occurred_at=seconds,
            precision=precision,
            coords=(a, b),
            coord_names=("longitude", "latitude") if source_crs == WGS84 else ("x", "y"),
            coord_crs=source_crs,
            crime_type=prop(m.crime_type),
            crime_column="crime_type",
            ids=prop(m.id),
            id_content=lambda blank: [np.array(
                [json.dumps(feats[i][1], sort_keys=True, default=str)
                 for i in np.flatnonzero(blank)], dtype=object)],
            text={
                "location_text": prop(m.location),
                "lsoa_code": strip(prop(m.lsoa_code)),
                "outcome": prop(m.outcome),
            },
            weight=prop(m.weight),
            text_names={"location_text": "location"},
        )
        table = finish_chunk(checks, fields, reader=self, occurrences=self._occurrences)
        try:
            done = f.tell()
        except (OSError, ValueError):
            done = 0
        return ReadChunk(table, checks.rejected(pre_rejected), done)


def _points_and_properties(
    feats: list[tuple[int, Any]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict[str, Any]]]:
    """Each feature's two coordinates as text ("" when it has none), whether it has a geometry
    that is not a point, and its properties (with its ``id`` when the properties have none)."""
    n = len(feats)
    a = np.empty(n, dtype=object)
    b = np.empty(n, dtype=object)
    not_point = np.zeros(n, dtype=bool)
    props: list[dict[str, Any]] = []
    for i, (_k, feature) in enumerate(feats):
        geom = feature.get("geometry") if isinstance(feature, dict) else None
        coords = geom.get("coordinates") if isinstance(geom, dict) else None
        a[i] = b[i] = ""
        if geom is None:
            pass  # an unlocated feature: rejected below as missing coordinates
        elif (
            isinstance(geom, dict)
            and geom.get("type") == "Point"
            and isinstance(coords, list)
            and len(coords) >= 2
        ):
            a[i], b[i] = str(coords[0]), str(coords[1])
        else:
            not_point[i] = True
        given = feature.get("properties") if isinstance(feature, dict) else None
        p = dict(given) if isinstance(given, dict) else {}
        if isinstance(feature, dict) and feature.get("id") is not None:
            p.setdefault("id", feature["id"])
        props.append(p)
    return a, b, not_point, props


def _first_property(props: list[dict[str, Any]], names: tuple[str, ...]) -> np.ndarray:
    """Each feature's first non-blank property of the names, as text ("" when none)."""
    out = np.empty(len(props), dtype=object)
    for i, p in enumerate(props):
        value = next((p[k] for k in names if p.get(k) not in (None, "")), "")
        out[i] = "" if value is None else str(value)
    return out


def _geom_type(feature: Any) -> str:
    geom = feature.get("geometry") if isinstance(feature, dict) else None
    return str(geom.get("type")) if isinstance(geom, dict) else "none"


def _records_prefix(head: bytes) -> str | None:
    """The ijson prefix of incident records, or None for GeoJSON features."""
    if head[:1] == b"[":
        return "item"
    if re.match(rb'\{\s*"incidents"\s*:', head):
        return "incidents.item"
    return None


def _is_feature_line(line: bytes) -> bool:
    if nests_deeper_than(line):
        return False
    try:
        obj = json.loads(line)
    except ValueError:
        return False
    return isinstance(obj, dict) and obj.get("type") == "Feature"


def read_geojson(
    source: str | os.PathLike[str] | BinaryIO,
    *,
    mapping: GeoJsonMapping | None = None,
    name: str = "",
    options: ReadOptions | None = None,
) -> GeoJsonReader:
    """Return a streaming reader for GeoJSON point incidents (see :class:`GeoJsonReader`)."""
    return GeoJsonReader(source, mapping=mapping, name=name, options=options)


def _json_error(name: str, exc: Exception) -> InvalidFile:
    """The reader's error for JSON it cannot parse (nothing of the file is stored)."""
    if "integer overflow" in str(exc):
        return InvalidFile(f"{name}: a whole number in the file is beyond what 64-bit integers "
                           f"hold, and the file cannot be read: {exc}")
    return InvalidFile(f"{name}: the JSON breaks off or is malformed: {exc}")
