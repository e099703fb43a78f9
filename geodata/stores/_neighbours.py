"""A neighbouring force's incidents, a separate labelled source, written once for both stores
(SQL in ``geodata/sql/queries/neighbours.sql``).

They live in their own table (``neighbour_incidents``), which no analysis of the force's own
incidents reads: loading them changes neither the force's incidents nor its data version (they
have a version of their own, :meth:`NeighbourRecords.neighbour_version`). A neighbour's row
that the force's own incidents hold (same namespace and id: the same data.police.uk Crime ID)
is not stored, so nothing is ever counted twice.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from geodata.errors import InvalidValue
from geodata.schema import IncidentColumns, IncidentFilter, IncidentTable, incident_uids
from geodata.stores._columns import KeySet, decode_numeric
from geodata.stores._relational import SQLRunner
from geodata.stores._shared import check_text, iso_text

_U64 = np.dtype("uint64")
_FAR = 2**62
"""A time bound beyond any incident (seconds)."""
MAX_SOURCE_CHARS = 100
"""The longest label of a neighbour."""
_TEXT = ("source", "id", "category", "crime_type", "location_text", "lsoa_code")
READER_NAMESPACES = ("police.uk", "force", "geojson")
"""The namespaces the readers give ids in."""
_CRIME_ID = re.compile(r"^[0-9a-fA-F]{64}$")
"""A data.police.uk Crime ID (a SHA-256 in hex): the same crime wherever it is found."""


def check_source(source: str) -> str:
    """A neighbour's label, trimmed.

    Raises
    ------
    InvalidValue
        If it is empty, longer than :data:`MAX_SOURCE_CHARS` or holds control characters
        (``field`` ``"source"``).
    """
    label = " ".join(str(source).split())
    if label.casefold() == "force":
        raise InvalidValue("\"force\" names the force's own incidents; give the neighbouring "
                           "force's name (e.g. \"Westmarch Police\")", field="source")
    if not label or len(label) > MAX_SOURCE_CHARS or any(ord(c) < 32 for c in str(source)
                                                          if c not in " \t"):
        raise InvalidValue(f"a neighbour's label must be 1 to {MAX_SOURCE_CHARS} printable "
                           "characters (e.g. \"Westmarch Police\")", field="source")
    return label


class NeighbourRecords(SQLRunner):
    """:class:`~geodata.stores.base.NeighbourStore` over a store's connections."""

    def add_neighbour_incidents(self, source: str, table: IncidentTable) -> dict[str, int]:
        """Store a neighbouring force's incidents under the label ``source`` (see
        :class:`~geodata.stores.base.NeighbourStore`)."""
        label = check_source(source)
        if table.crs != self.crs:
            raise InvalidValue(f"incidents are in {table.crs}, the store is in {self.crs}",
                               field="crs")
        n = len(table)
        counts = {"offered": n, "accepted": 0, "duplicates_of_force": 0, "repeated": 0}
        if n == 0:
            return counts
        cols = table.columns
        check_text({k: list(cols[k]) for k in _TEXT if k in cols}, "the neighbour's incidents")
        with self._transaction() as conn:
            of_force = self._of_force(conn, table.namespace, cols["id"])
            rows = [{
                "source": label, "id": str(cols["id"][i]),
                "occurred_at": int(cols["occurred_at"][i]), "precision": int(cols["precision"][i]),
                "category": str(cols["category"][i]), "crime_type": str(cols["crime_type"][i]),
                "x": float(cols["x"][i]), "y": float(cols["y"][i]), "lon": float(cols["lon"][i]),
                "lat": float(cols["lat"][i]), "location_text": str(cols["location_text"][i]),
                "lsoa_code": str(cols["lsoa_code"][i]),
            } for i in np.flatnonzero(~of_force).tolist()]
            before = int(self._one(conn, "count_neighbour_incidents")[0])
            if rows:
                self._run_many(conn, "add_neighbour_incident", rows)
            added = int(self._one(conn, "count_neighbour_incidents")[0]) - before
            if added:
                self._run(conn, "bump_neighbour_version")
        counts["duplicates_of_force"] = int(of_force.sum())
        counts["accepted"] = added
        counts["repeated"] = len(rows) - added
        return counts

    def _of_force(self, conn: Any, namespace: str, ids: np.ndarray) -> np.ndarray:
        """Whether the force's own incidents hold each id: the same identity (namespace and
        id, as the force's own ingests tell incidents apart), or, for a data.police.uk Crime
        ID (64 hex digits, unique to one crime nationally), the same id in any of the
        readers' namespaces (a force export may carry the Crime ID as its own id)."""
        hi, lo = incident_uids(namespace, ids)
        held = self._force_holds(conn, namespace, hi, lo)
        crime = np.array([bool(_CRIME_ID.match(str(i))) for i in ids], dtype=bool)
        if crime.any():
            for other in READER_NAMESPACES:
                if other != namespace:
                    ohi, olo = incident_uids(other, ids[crime])
                    held[crime] |= self._force_holds(conn, other, ohi, olo)
        return held

    def _force_holds(self, conn: Any, namespace: str, hi: np.ndarray,
                     lo: np.ndarray) -> np.ndarray:
        """Whether the force's own incidents hold each identity ``(hi, lo)`` (a boolean mask)."""
        found = KeySet()
        if self._dialect == "sqlite":
            his, los = [], []
            for bhi, blo in self._all(conn, "force_keys_of_namespace", namespace=namespace):
                his.append(decode_numeric(bhi, _U64))
                los.append(decode_numeric(blo, _U64))
            if his:
                found.add(np.concatenate(his), np.concatenate(los))
        else:
            rows = self._all(conn, "force_keys_of_namespace",
                             his=hi.view(np.int64).tolist(), los=lo.view(np.int64).tolist())
            if rows:
                both = np.array(rows, dtype=np.int64).reshape(-1, 2).view(_U64)
                found.add(np.ascontiguousarray(both[:, 0]), np.ascontiguousarray(both[:, 1]))
        if found.size == 0:
            return np.zeros(hi.shape[0], dtype=bool)
        return found.contains(hi, lo)

    def neighbour_incidents(self, flt: IncidentFilter | None = None, *,
                            sources: tuple[str, ...] | None = None) -> IncidentColumns:
        """A neighbouring force's incidents as columns (see
        :class:`~geodata.stores.base.NeighbourStore`)."""
        flt = flt or IncidentFilter()
        start = flt.start if flt.start is not None else -_FAR
        end = flt.end if flt.end is not None else _FAR
        with self._connection() as conn:
            rows = self._all(conn, "neighbour_incidents", start=start, end=end)
            version = self._neighbour_version(conn)
        frame = pd.DataFrame(rows, columns=["source", "id", "occurred_at", "precision",
                                            "category", "crime_type", "x", "y", "lon", "lat",
                                            "location_text", "lsoa_code"])
        keep = np.ones(len(frame), dtype=bool)
        if sources is not None:
            keep &= frame["source"].isin(list(sources)).to_numpy()
        if flt.categories is not None:
            keep &= frame["category"].isin(list(flt.categories)).to_numpy()
        x, y = frame["x"].to_numpy(np.float64), frame["y"].to_numpy(np.float64)
        lon, lat = frame["lon"].to_numpy(np.float64), frame["lat"].to_numpy(np.float64)
        if flt.bbox is not None:
            minx, miny, maxx, maxy = flt.bbox
            keep &= (x >= minx) & (x <= maxx) & (y >= miny) & (y <= maxy)
        if flt.lonlat_bbox is not None:
            w, s, e, n = flt.lonlat_bbox
            keep &= (lon >= w) & (lon <= e) & (lat >= s) & (lat <= n)
        frame = frame[keep]
        return IncidentColumns(
            x=frame["x"].to_numpy(np.float64), y=frame["y"].to_numpy(np.float64),
            lon=frame["lon"].to_numpy(np.float64), lat=frame["lat"].to_numpy(np.float64),
            occurred_at=frame["occurred_at"].to_numpy(np.int64),
            precision=frame["precision"].to_numpy(np.uint8),
            category=pd.Categorical(frame["category"].astype(str)),
            weight=np.ones(len(frame), dtype=np.float32),
            rid=np.arange(len(frame), dtype=np.int64), crs=self.crs, data_version=version,
            extra={k: pd.Categorical(frame[k].astype(str))
                   for k in ("source", "crime_type", "location_text", "lsoa_code")})

    def neighbour_sources(self) -> list[dict[str, Any]]:
        """Every neighbour loaded (see :class:`~geodata.stores.base.NeighbourStore`)."""
        with self._connection() as conn:
            rows = self._all(conn, "neighbour_sources")
        return [{"source": r[0], "incidents": int(r[1]), "first": int(r[2]), "last": int(r[3]),
                 "loaded_at": iso_text(r[4])} for r in rows]

    def _neighbour_version(self, conn: Any) -> str:
        row = self._one(conn, "neighbour_version")
        return f"{self.store_id[:8]}.n{row[0] if row is not None else 0}"

    def neighbour_version(self) -> str:
        """An opaque string that changes whenever a neighbour's incidents are added."""
        with self._connection() as conn:
            return self._neighbour_version(conn)
