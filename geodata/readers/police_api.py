"""Reader for crimes from the data.police.uk API: its JSON, and the flattened CSV tools make of it.

The API's ``crimes-street`` and ``crimes-at-location`` answers are JSON arrays of crimes::

    [{"category": "burglary", "location_type": "Force",
      "location": {"latitude": "53.959718", "street": {"id": 1051215,
                   "name": "On or near St Saviourgate"}, "longitude": "-1.078010"},
      "context": "", "outcome_status": {"category": "Under investigation", "date": "2016-09"},
      "persistent_id": "6229...d738", "id": 51053937, "location_subtype": "", "month": "2016-09"}]

and tools that flatten them (R's ukpolice, pandas' ``json_normalize``) write CSVs with columns
like ``category, persistent_id, date, lat, long, street_id, street_name, context, id,
location_type, location_subtype, outcome_status`` (``location.latitude``,
``outcome_status.category`` and ``month`` are read as well). What this reader does with them:

- ``category`` is a slug (``anti-social-behaviour``, ``violent-crime``): it is stored as the
  crime type the street-level CSVs give (``Anti-social behaviour``, ``Violence and sexual
  offences``), so both sources map onto the same taxonomy categories; a slug this reader does not
  know is kept as written and the taxonomy decides (counted as an unknown type when it has none).
- ``persistent_id`` is the Crime ID of the street-level CSVs: the id, in the same namespace
  (``police.uk``), so a crime loaded from both is stored once. Anti-social behaviour usually
  has none; such rows get ``derived-<content hash>-<n>`` like the street reader's (the API's
  own ``id`` and the outcome are left out of the hash: data.police.uk renumbers and updates
  them when it republishes a month).
- The month is all the time there is: ``occurred_at`` is the first instant of the month in the
  force's time zone, precision MONTH.
- Crimes with no location (``crimes-no-location``, ``location: null``, blank coordinates) and
  those at 0,0 are rejected with their own reasons; coordinates far outside the force are
  rejected by the force-area check like every reader's.
- ``location.street.name`` goes to ``location_text``; ``outcome_status.category`` to
  ``outcome``; ``context`` to ``context``; a ``location_type`` of ``BTP`` sets ``force`` to
  British Transport Police (the API gives no force otherwise). There is no LSOA.

Rows are numbered by line for the CSV and by the crime's 1-based position in the JSON array.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any, BinaryIO

import ijson
import numpy as np

from geodata.coords import WGS84
from geodata.errors import InvalidFile
from geodata.readers._bytes import open_binary, open_head
from geodata.readers._checks import BAD_DATE, RowChecks, show, strip
from geodata.readers._chunk import ChunkFields, columns_of, finish_chunk, header_index
from geodata.readers._dates import month_starts
from geodata.readers._nesting import DepthGuard, too_deep
from geodata.readers._text import MALFORMED, MAX_LINE_BYTES, TextSource
from geodata.readers.base import IncidentReader, ReadOptions
from geodata.readers.geojson import _json_error
from geodata.schema import Precision, ReadChunk, RejectedRow

CATEGORY_SLUGS: dict[str, str] = {
    "anti-social-behaviour": "Anti-social behaviour",
    "bicycle-theft": "Bicycle theft",
    "burglary": "Burglary",
    "criminal-damage-arson": "Criminal damage and arson",
    "drugs": "Drugs",
    "other-theft": "Other theft",
    "possession-of-weapons": "Possession of weapons",
    "public-order": "Public order",
    "robbery": "Robbery",
    "shoplifting": "Shoplifting",
    "theft-from-the-person": "Theft from the person",
    "vehicle-crime": "Vehicle crime",
    "violent-crime": "Violence and sexual offences",
    "other-crime": "Other crime",
    # before May 2013
    "public-disorder-weapons": "Public disorder and weapons",
}
"""The API's category slugs (``/api/crime-categories``) and the crime types the street-level CSVs
write for them."""

# Names each field goes by in flattened CSVs, tried in order (compared case-folded).
_CSV_NAMES: dict[str, tuple[str, ...]] = {
    "category": ("category",),
    "persistent_id": ("persistent_id", "persistent id"),
    "month": ("month", "date"),
    "lat": ("lat", "latitude", "location.latitude", "location_latitude"),
    "lon": ("long", "lng", "lon", "longitude", "location.longitude", "location_longitude"),
    "street_id": ("street_id", "location.street.id", "location_street_id"),
    "street_name": ("street_name", "location.street.name", "location_street_name"),
    "context": ("context",),
    "location_type": ("location_type",),
    "location_subtype": ("location_subtype",),
    "outcome": ("outcome_status", "outcome_status.category", "outcome_status_category",
                "outcome_category"),
}
_REQUIRED = ("category", "month", "lat", "lon")
_FIELDS = tuple(_CSV_NAMES)
_ID_CONTENT = ("month", "category", "lat", "lon", "street_id", "street_name", "context",
               "location_type", "location_subtype")
_TEXT_NAMES = {"location_text": "street name", "outcome": "outcome_status",
               "context": "context", "force": "location_type"}
BTP = "British Transport Police"


def _find(idx: dict[str, int], field: str) -> int | None:
    return next((idx[n] for n in _CSV_NAMES[field] if n in idx), None)


def looks_like_police_api_header(fields: list[str]) -> bool:
    """True when a CSV header is a flattened data.police.uk API crime list (category,
    persistent_id, a month and coordinates)."""
    idx = header_index(fields)
    return "persistent_id" in idx and all(_find(idx, f) is not None for f in _REQUIRED)


_JSON_HEAD = re.compile(rb'^\s*\[\s*\{')


def looks_like_police_api_json(head: bytes) -> bool:
    """True when the first bytes of a file are a data.police.uk API crime list: a JSON array
    whose first object has ``category``, ``persistent_id`` and ``location`` members."""
    text = head.lstrip(b"\xef\xbb\xbf")
    if not _JSON_HEAD.match(text):
        return False
    first = text[:8192]
    return all(re.search(rb'"' + key + rb'"\s*:', first) is not None
               for key in (b"category", b"persistent_id", b"location"))


def category_crime_types(slugs: np.ndarray) -> np.ndarray:
    """The street-level CSV crime type of each API category slug (unknown slugs as written)."""
    out = np.empty(len(slugs), dtype=object)
    for i, slug in enumerate(slugs.tolist()):
        text = str(slug).strip()
        out[i] = CATEGORY_SLUGS.get(text.casefold(), text)
    return out


def _text(value: Any) -> str:
    """A JSON value as the text a CSV would hold ("" for null)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _flatten(crime: dict[str, Any]) -> dict[str, str]:
    """One API crime object as the flattened fields (text)."""
    location = crime.get("location")
    location = location if isinstance(location, dict) else {}
    street = location.get("street")
    street = street if isinstance(street, dict) else {}
    outcome = crime.get("outcome_status")
    if isinstance(outcome, dict):
        outcome = outcome.get("category")
    month = crime.get("month")
    if month in (None, ""):
        month = crime.get("date")
    return {
        "category": _text(crime.get("category")),
        "persistent_id": _text(crime.get("persistent_id")),
        "month": _text(month),
        "lat": _text(location.get("latitude")),
        "lon": _text(location.get("longitude")),
        "street_id": _text(street.get("id")),
        "street_name": _text(street.get("name")),
        "context": _text(crime.get("context")),
        "location_type": _text(crime.get("location_type")),
        "location_subtype": _text(crime.get("location_subtype")),
        "outcome": _text(outcome),
    }


class PoliceApiReader(IncidentReader):
    """Stream crimes from data.police.uk API JSON or its flattened CSV as chunks of incidents.

    Parameters
    ----------
    source
        A path or a seekable binary file object (JSON array or CSV; told apart by the first
        bytes).
    name
        Shown in messages and reports (defaults to the file name).
    options
        Taxonomy, area check, CRS, time zone and chunk size.

    Raises
    ------
    InvalidFile
        While iterating, if the file is empty, compressed, neither a JSON array nor a CSV with
        the API's columns, or its JSON breaks off (nothing of such a file is stored).

    Examples
    --------
    >>> result = PoliceApiReader("york_crime_2016-09.csv").read_all()  # doctest: +SKIP
    >>> len(result.incidents), len(result.rejected)  # doctest: +SKIP
    (1814, 0)
    """

    format = "police-api"
    namespace = "police.uk"
    time_precision = "month (data.police.uk gives the month only)"

    def __iter__(self) -> Iterator[ReadChunk]:
        self.stats.area_check = self.options.resolved_area().description
        self._occurrences: dict[bytes, int] = {}
        f, own = self._open()
        try:
            stripped, self.stats.total_bytes = open_head(f, self.name)
            if stripped[:1] == b"[":
                yield from self._json(f)
            elif stripped[:1] == b"{":
                raise InvalidFile(
                    f"{self.name}: not a data.police.uk API crime list: the JSON is an object, "
                    "not an array of crimes (GeoJSON? use format geojson)")
            else:
                yield from self._csv(f)
        finally:
            if own:
                f.close()

    def _open(self) -> tuple[BinaryIO, bool]:
        f, own, self.name = open_binary(self.source, self.name)
        return f, own

    # -- JSON ---------------------------------------------------------------------------------

    def _json(self, f: BinaryIO) -> Iterator[ReadChunk]:
        self.stats.source = self.name
        items = ijson.items(DepthGuard(f, InvalidFile(too_deep(self.name))), "item",
                            use_float=True)
        size = self.options.chunk_rows
        lines: list[int] = []
        rows: list[dict[str, str]] = []
        bad: list[RejectedRow] = []
        k = 0
        try:
            for k, crime in enumerate(items, 1):
                self.stats.records += 1
                flat = _flatten(crime) if isinstance(crime, dict) else None
                if flat is not None and sum(map(len, flat.values())) > MAX_LINE_BYTES:
                    bad.append(RejectedRow(k, MALFORMED, "the crime's fields hold more than "
                                           f"{MAX_LINE_BYTES:,} characters (the longest line "
                                           "a CSV may have): not a crime record"))
                elif flat is not None:
                    lines.append(k)
                    rows.append(flat)
                else:
                    bad.append(RejectedRow(k, MALFORMED, "not a JSON object with a crime's "
                                           f"members (found {type(crime).__name__})"))
                if len(rows) + len(bad) >= size:
                    yield self._chunk(np.array(lines, dtype=np.int64), _columns(rows), bad,
                                      _tell(f))
                    lines, rows, bad = [], [], []
        except ijson.JSONError as exc:
            raise _json_error(f"{self.name} (after crime {k})", exc) from exc
        if rows or bad:
            yield self._chunk(np.array(lines, dtype=np.int64), _columns(rows), bad, _tell(f))

    # -- flattened CSV ------------------------------------------------------------------------

    def _csv(self, f: BinaryIO) -> Iterator[ReadChunk]:
        with TextSource(f, name=self.name) as text:
            self.stats.source = text.name
            _line, header = text.header()
            idx = header_index(header)
            where = {field: _find(idx, field) for field in _FIELDS}
            missing = [_CSV_NAMES[field][0] for field in _REQUIRED if where[field] is None]
            if missing:
                raise InvalidFile(
                    f"{text.name}: not a data.police.uk API crime list: the header lacks "
                    f"{', '.join(missing)}; expected category, persistent_id, month (or date), "
                    f"lat, long and the API's other fields; found {show(','.join(header), 200)}"
                )
            for lines, table, bad_rows in text.chunks(len(header), self.options.chunk_rows):
                self.stats.records += len(table) + len(bad_rows)
                cols = columns_of(table)
                n = len(table)
                fields = {
                    field: cols[i] if (i := where[field]) is not None
                    else np.full(n, "", dtype=object)
                    for field in _FIELDS
                }
                self.stats.encoding_fallback_bytes = text.fallback_bytes
                yield self._chunk(lines, fields, bad_rows, text.bytes_read,
                                  may_hold_nul=text.saw_nul)
            self.stats.blank_lines = text.blank_lines
            self.stats.encoding_fallback_bytes = text.fallback_bytes

    # -- both ---------------------------------------------------------------------------------

    def _chunk(
        self,
        lines: np.ndarray,
        cols: dict[str, np.ndarray],
        bad_rows: list[RejectedRow],
        done: int,
        *,
        may_hold_nul: bool = True,
    ) -> ReadChunk:
        opts = self.options
        n = len(lines)
        checks = RowChecks(lines)
        month = strip(cols["month"])
        starts, ok = month_starts(month, opts.timezone)
        checks.flag(~ok, BAD_DATE, "month {} is not a month (YYYY-MM)", month)
        location_type = strip(cols["location_type"])
        force = np.array([BTP if str(t).upper() == "BTP" else "" for t in location_type.tolist()],
                         dtype=object)
        fields = ChunkFields(
            lines=lines,
            occurred_at=starts,
            precision=np.full(n, Precision.MONTH, dtype=np.uint8),
            coords=(cols["lon"], cols["lat"]),
            coord_names=("longitude", "latitude"),
            coord_crs=WGS84,
            crime_type=category_crime_types(cols["category"]),
            crime_column="category",
            ids=cols["persistent_id"],
            id_content=[cols[c] for c in _ID_CONTENT],
            text={
                "location_text": cols["street_name"],
                "outcome": cols["outcome"],
                "context": cols["context"],
                "force": force,
            },
            text_names=_TEXT_NAMES,
            id_name="persistent_id",
            may_hold_nul=may_hold_nul,
        )
        table = finish_chunk(checks, fields, reader=self, occurrences=self._occurrences)
        return ReadChunk(table, checks.rejected(bad_rows), done)


def _columns(rows: list[dict[str, str]]) -> dict[str, np.ndarray]:
    n = len(rows)
    out: dict[str, np.ndarray] = {}
    for field in _FIELDS:
        col = np.empty(n, dtype=object)
        col[:] = [r[field] for r in rows]
        out[field] = col
    return out


def _tell(f: BinaryIO) -> int:
    try:
        return int(f.tell())
    except (OSError, ValueError):
        return 0


def read_police_api(
    source: str | os.PathLike[str] | BinaryIO,
    *,
    name: str = "",
    options: ReadOptions | None = None,
) -> PoliceApiReader:
    """Return a streaming reader for data.police.uk API crimes, JSON or flattened CSV (see
    :class:`PoliceApiReader`)."""
    return PoliceApiReader(source, name=name, options=options)
