"""The embedded store (one SQLite file): opening it, its connection, an ingest's write
transaction and health; plain records (layers, plans, keys, products...) come from the shared
mixins, incident reads from :mod:`.blocks`."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from geodata.errors import StoreUnavailable
from geodata.schema import DEFAULT_CRS, DEFAULT_TIMEZONE, IncidentFilter
from geodata.stores._business import BusinessRecords
from geodata.stores._columns import KeySet, decode_numeric
from geodata.stores._neighbours import NeighbourRecords
from geodata.stores._plan_records import PlanRecords
from geodata.stores._presets import PresetRecords
from geodata.stores._relational import RelationalStore
from geodata.stores._reports import ReportRecords
from geodata.stores._shared import check_force_crs, check_text, now
from geodata.stores._stop_search import StopSearchRecords
from geodata.stores.base import FORCE
from geodata.stores.sqlite.blocks import BlockReader
from geodata.stores.sqlite.connection import SQLiteConnections, applied_migrations, migrate
from geodata.stores.sqlite.writer import U64, SQLiteWriter
from geodata.tiles import MAX_FEATURES as MAX_TILE_FEATURES
from geodata.tiles import incident_tile_of, shapes_tile, tile_filter

log = logging.getLogger(__name__)


class SQLiteStore(RelationalStore, PlanRecords, ReportRecords, BusinessRecords,
                  NeighbourRecords, PresetRecords, StopSearchRecords, BlockReader):
    """The embedded store in one SQLite file; made by :meth:`open`.

    Parameters
    ----------
    connections
        The connections to the store's file (already migrated).
    store_id, crs, timezone
        The store's identity, force CRS (projected, metres) and time zone, as it records them.
    """

    kind = "sqlite"
    _dialect = "sqlite"

    def __init__(self, connections: SQLiteConnections, *, store_id: str, crs: str,
                 timezone: str) -> None:
        self._connections = connections
        self.store_id = store_id
        self.crs = crs
        self.timezone = timezone

    @classmethod
    def open(
        cls,
        path: str | Path,
        *,
        crs: str = DEFAULT_CRS,
        timezone: str = DEFAULT_TIMEZONE,
        busy_timeout_s: float = 60.0,
        create: bool = True,
    ) -> SQLiteStore:
        """Open the store file, creating it (and its folder) when it is missing, and apply the
        schema migrations it has not had yet.

        Parameters
        ----------
        path
            The store file; created (with its folder) when missing and ``create`` is True.
        crs
            Force CRS for a new store (projected, metres). An existing store keeps its own.
        timezone
            Force time zone for a new store.
        busy_timeout_s
            How long a writer waits for another writer to finish, in seconds.
        create
            Create the file when it does not exist.

        Raises
        ------
        StoreUnavailable
            If the file cannot be opened or is not a store of this project.
        InvalidValue
            If ``crs`` is not a projected CRS in metres.
        """
        path = Path(path).expanduser()
        check_force_crs(crs)
        if not path.exists():
            if not create:
                raise StoreUnavailable("no store exists at the given location")
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreUnavailable(
                    f"cannot create the folder for the store: {exc.strerror}"
                ) from exc
        connections = SQLiteConnections(path, busy_timeout_s)
        try:
            meta = migrate(connections, crs, timezone)
        except sqlite3.DatabaseError as exc:
            connections.close()
            log.error("cannot open %s as a store: %s", path, exc)
            raise StoreUnavailable(
                "the database file is not a hotspot store (or is damaged)"
            ) from exc
        except BaseException:  # refused (a later release's schema) or stopped: nothing left open
            connections.close()
            raise
        return cls(connections, store_id=meta["store_id"], crs=meta["crs"],
                   timezone=meta["timezone"])

    # -- connections ----------------------------------------------------------------------------

    @property
    def path(self) -> Path:
        """The store file."""
        return self._connections.path

    @property
    def busy_timeout_s(self) -> float:
        """How long a writer waits for another writer to finish, in seconds."""
        return self._connections.busy_timeout_s

    def _transaction(self, immediate: bool = True) -> Any:
        return self._connections.transaction(immediate)

    def _connection(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._connections.connection()

    def _snapshot(self) -> Any:
        return self._transaction(immediate=False)

    def _writing(self) -> Any:
        return self._transaction(immediate=True)

    def _json(self, value: Any, *, lenient: bool = True, sort_keys: bool = False) -> Any:
        return json.dumps(value, default=str if lenient else None, sort_keys=sort_keys)

    def migrations(self) -> list[dict[str, Any]]:
        """The schema migrations applied (the embedded store applies them when it opens)."""
        with self._connection() as conn:
            return applied_migrations(conn)

    def close(self) -> None:
        """Close every connection this object opened."""
        self._connections.close()

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path)!r})"

    # -- writing incidents ----------------------------------------------------------------------

    @contextmanager
    def writer(
        self, *, source: str, format: str, purpose: str = FORCE
    ) -> Iterator[SQLiteWriter]:
        """Open the write transaction of one ingest (see :meth:`Store.writer`)."""
        check_text(source, "the source's name")
        check_text(format, "the format")
        with self._transaction(immediate=True) as conn:
            self._claim(conn, purpose)
            cur = conn.execute(
                "INSERT INTO ingests (source, format, started_at) VALUES (?, ?, ?)",
                (source, format, now()),
            )
            w = SQLiteWriter(self, conn, int(cur.lastrowid or 0), _stored_keys(conn),
                             _next_rid(conn))
            yield w
            if not w.finished:
                raise RuntimeError("writer left without finish(): rolled back")

    # -- vector tiles (geodata.tiles.TileStore) --------------------------------------------------

    def incident_tile(self, flt: IncidentFilter, z: int, x: int, y: int, *,
                      limit: int = MAX_TILE_FEATURES) -> tuple[bytes, int]:
        """The incidents of ``flt`` in tile ``z/x/y`` as MVT bytes (see
        :meth:`geodata.tiles.TileStore.incident_tile`), encoded with mapbox-vector-tile."""
        narrowed = tile_filter(flt, z, x, y)
        if narrowed is None:
            return b"", 0
        return incident_tile_of(self.incidents(narrowed, extra=("crime_type",)), z, x, y,
                                limit=limit)

    def shapes_tile(self, geometries: Sequence[Any], properties: Mapping[str, Sequence[Any]],
                    z: int, x: int, y: int, *, layer: str) -> bytes:
        """Shapes (EPSG:3857 metres) clipped to tile ``z/x/y`` as MVT bytes (see
        :meth:`geodata.tiles.TileStore.shapes_tile`), encoded with mapbox-vector-tile."""
        return shapes_tile(geometries, properties, z, x, y, layer=layer)

    def health(self) -> dict[str, Any]:
        """Whether the store answers and what it holds; never raises."""
        try:
            with self._connection() as conn:
                version, purpose = self._version(conn), self._meta(conn, "purpose")
            return {
                "ok": True,
                "kind": self.kind,
                "data_version": version,
                "purpose": purpose,
                "incidents": self.count(),
                "layers": [i.kind for i in self.list_layers()],
                "crs": self.crs,
            }
        except (sqlite3.Error, StoreUnavailable) as exc:
            log.exception("store health check failed")
            return {"ok": False, "kind": self.kind, "error": f"store unavailable: {type(exc).__name__}"}


def _stored_keys(conn: sqlite3.Connection) -> KeySet:
    """The identities of every stored incident (read inside the ingest's transaction)."""
    his, los = [], []
    for hi, lo in conn.execute("SELECT uid_hi, uid_lo FROM blocks"):
        his.append(decode_numeric(hi, U64))
        los.append(decode_numeric(lo, U64))
    existing = KeySet()
    if his:
        existing.add(np.concatenate(his), np.concatenate(los))
    return existing


def _next_rid(conn: sqlite3.Connection) -> int:
    """The row id the next stored incident gets."""
    return int(conn.execute("SELECT coalesce(max(rid_start + n), 1) FROM blocks").fetchone()[0])
