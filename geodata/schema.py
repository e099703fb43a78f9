"""The incident schema: columns that travel between readers, stores and the analysis.

An incident is one recorded crime or anti-social behaviour report. Incidents always travel as
columns (numpy arrays), never as one Python object per row.

Fields (see ``docs`` and the README for the full description):

``id``            the source's own id (data.police.uk "Crime ID"); where the source has none, a
                  stable content hash plus an occurrence number (see :mod:`geodata.readers.police`)
``occurred_at``   int64 seconds since 1970-01-01 UTC: the start of the period the incident is
                  known to lie in
``precision``     how precisely ``occurred_at`` is known: :class:`Precision` EXACT, DAY or MONTH
``category``      taxonomy key (see :mod:`geodata.taxonomy`)
``crime_type``    the crime type as the source spelled it
``x``, ``y``      metres in the force's projected CRS (default EPSG:27700)
``lon``, ``lat``  WGS84 degrees
``location_text``, ``lsoa_code``, ``lsoa_name``, ``outcome``, ``context``, ``force``
                  text as the source gave it ("" when absent)
``weight``        float32 harm or count weight, 1.0 unless the source gives one
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np
import pandas as pd

DEFAULT_CRS = "EPSG:27700"
"""British National Grid: the default projected CRS of a force (metres)."""

DEFAULT_TIMEZONE = "Europe/London"
"""Local time zone of a force: naive date-times in force exports are read in it."""


class Precision(IntEnum):
    """How precisely an incident's time is known."""

    EXACT = 0
    """Date and time of day (force exports)."""
    DAY = 1
    """Date only."""
    MONTH = 2
    """Month only (data.police.uk street-level files)."""


PRECISION_NAMES: dict[int, str] = {p.value: p.name.lower() for p in Precision}

TEXT_FIELDS: tuple[str, ...] = (
    "id",
    "category",
    "crime_type",
    "location_text",
    "lsoa_code",
    "lsoa_name",
    "outcome",
    "context",
    "force",
)
"""String columns of an incident, in storage order."""

NUMERIC_FIELDS: dict[str, np.dtype] = {
    "occurred_at": np.dtype("int64"),
    "precision": np.dtype("uint8"),
    "x": np.dtype("float64"),
    "y": np.dtype("float64"),
    "lon": np.dtype("float64"),
    "lat": np.dtype("float64"),
    "weight": np.dtype("float32"),
}
"""Numeric columns of an incident and their dtypes."""


@dataclass(frozen=True)
class RejectedRow:
    """A source row that was not accepted, with where it was and why.

    ``line`` is the 1-based line of the file on which the row starts (for GeoJSON, the 1-based
    number of the feature). ``reason`` is a stable machine-readable code; ``detail`` is a
    sentence for people.
    """

    line: int
    reason: str
    detail: str

    def to_dict(self) -> dict[str, object]:
        """Return the row as a JSON-ready dict."""
        return {"line": self.line, "reason": self.reason, "detail": self.detail}


@dataclass
class IncidentTable:
    """Valid incidents as columns of equal length, plus the source line of each.

    Attributes
    ----------
    columns
        Every name in :data:`TEXT_FIELDS` (object arrays of ``str``) and in
        :data:`NUMERIC_FIELDS` (arrays of that dtype).
    line
        int64 array: the source line (or feature number) of each incident.
    namespace
        Where the ids come from (``"police.uk"``, ``"force"``...). Two incidents are the same
        incident when namespace and id are equal.
    crs
        The CRS of ``x`` and ``y``.
    """

    columns: dict[str, np.ndarray]
    line: np.ndarray
    namespace: str
    crs: str = DEFAULT_CRS

    def __len__(self) -> int:
        return int(self.line.shape[0])

    def take(self, index: np.ndarray) -> IncidentTable:
        """Return the rows at ``index`` (an integer or boolean array) as a new table."""
        return IncidentTable(
            columns={k: v[index] for k, v in self.columns.items()},
            line=self.line[index],
            namespace=self.namespace,
            crs=self.crs,
        )

    @classmethod
    def empty(cls, namespace: str, crs: str = DEFAULT_CRS) -> IncidentTable:
        """Return a table with no rows."""
        cols: dict[str, np.ndarray] = {k: np.empty(0, dtype=object) for k in TEXT_FIELDS}
        cols.update({k: np.empty(0, dtype=dt) for k, dt in NUMERIC_FIELDS.items()})
        return cls(columns=cols, line=np.empty(0, dtype=np.int64), namespace=namespace, crs=crs)

    @classmethod
    def concat(cls, tables: Sequence[IncidentTable]) -> IncidentTable:
        """Concatenate tables that share a namespace and CRS."""
        if not tables:
            raise ValueError("concat needs at least one table")
        first = tables[0]
        return cls(
            columns={k: np.concatenate([t.columns[k] for t in tables]) for k in first.columns},
            line=np.concatenate([t.line for t in tables]),
            namespace=first.namespace,
            crs=first.crs,
        )

    def to_geodataframe(self):  # -> geopandas.GeoDataFrame (imported lazily: it is slow to load)
        """Return the incidents as a GeoDataFrame of points in :attr:`crs`."""
        import geopandas as gpd

        df = pd.DataFrame({k: self.columns[k] for k in (*TEXT_FIELDS, *NUMERIC_FIELDS)})
        df["occurred_at"] = pd.to_datetime(df["occurred_at"], unit="s", utc=True)
        df["line"] = self.line
        return gpd.GeoDataFrame(
            df, geometry=gpd.points_from_xy(df["x"], df["y"]), crs=self.crs
        )


@dataclass(frozen=True)
class ReadChunk:
    """One piece of a streamed read: valid incidents and rejected rows, in file order."""

    incidents: IncidentTable
    rejected: list[RejectedRow] = field(default_factory=list)
    bytes_read: int = 0
    """Bytes of the source consumed so far (for progress bars)."""


UID_DTYPE = np.dtype("uint64")


def incident_uids(namespace: str, ids: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
    """Return the 128-bit identity of incidents as two uint64 arrays ``(hi, lo)``.

    The identity is the BLAKE2b-128 hash of ``namespace`` and the incident's id, so the same
    incident gets the same identity in every store and on every re-ingest.
    """
    base = hashlib.blake2b(namespace.encode() + b"\x1f", digest_size=16)
    out: list[bytes] = []
    append, copy = out.append, base.copy
    for i in ids:
        h = copy()
        h.update(i.encode())
        append(h.digest())
    digests = b"".join(out)
    both = np.frombuffer(digests, dtype=">u8").astype(UID_DTYPE).reshape(-1, 2)
    return np.ascontiguousarray(both[:, 0]), np.ascontiguousarray(both[:, 1])


@dataclass(frozen=True)
class IncidentFilter:
    """A selection of incidents.

    ``start``/``end`` are seconds since the epoch (UTC); an incident is selected when its
    ``occurred_at`` (the start of its period, so the first instant of its month for month-only
    data) lies in ``[start, end)``. ``bbox`` is ``(minx, miny, maxx, maxy)`` in the store's CRS
    (metres); ``lonlat_bbox`` is ``(min lon, min lat, max lon, max lat)`` in WGS84 degrees,
    matched exactly against each incident's longitude/latitude. ``categories`` are taxonomy
    keys. ``None`` means no constraint.
    """

    start: int | None = None
    end: int | None = None
    categories: tuple[str, ...] | None = None
    bbox: tuple[float, float, float, float] | None = None
    lonlat_bbox: tuple[float, float, float, float] | None = None

    def __post_init__(self) -> None:
        if self.start is not None and self.end is not None and self.start >= self.end:
            raise ValueError("the period's start must be before its end")
        for box in (self.bbox, self.lonlat_bbox):
            if box is not None:
                minx, miny, maxx, maxy = box
                if not (minx <= maxx and miny <= maxy):
                    raise ValueError("bbox must be (minx, miny, maxx, maxy) with min <= max")


@dataclass
class IncidentColumns:
    """Selected incidents as columns: what the analysis consumes.

    Attributes
    ----------
    x, y
        float64 metres in :attr:`crs`.
    lon, lat
        float64 WGS84 degrees.
    occurred_at
        int64 seconds since the epoch (UTC), start of the incident's period.
    precision
        uint8 :class:`Precision` codes.
    category
        pandas Categorical of taxonomy keys.
    weight
        float32 weights (1.0 unless the source gave one).
    rid
        int64 row ids of the store, ascending (stable within one data version).
    extra
        Further text columns that were asked for, as pandas Categoricals.
    crs
        CRS of ``x``/``y``.
    data_version
        The store's data version when the selection was made.
    """

    x: np.ndarray
    y: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    occurred_at: np.ndarray
    precision: np.ndarray
    category: pd.Categorical[str]
    weight: np.ndarray
    rid: np.ndarray
    crs: str
    data_version: str
    extra: dict[str, pd.Categorical[str]] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def xy(self) -> np.ndarray:
        """An (n, 2) float64 array of projected coordinates (metres)."""
        return np.column_stack([self.x, self.y])

    def to_geodataframe(self):  # -> geopandas.GeoDataFrame
        """Return the selection as a GeoDataFrame of points in :attr:`crs`."""
        import geopandas as gpd

        df = pd.DataFrame(
            {
                "rid": self.rid,
                "occurred_at": pd.to_datetime(self.occurred_at, unit="s", utc=True),
                "precision": pd.Categorical.from_codes(
                    self.precision.astype(np.int8), categories=[p.name.lower() for p in Precision]
                ),
                "category": self.category,
                "weight": self.weight,
                "lon": self.lon,
                "lat": self.lat,
                **self.extra,
            }
        )
        return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(self.x, self.y), crs=self.crs)
