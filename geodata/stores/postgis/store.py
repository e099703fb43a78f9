"""The PostGIS store: opening it, its connections, an ingest's write transaction and health;
plain records (layers, plans, keys, products...) come from the shared mixins, incident reads
from :mod:`.reading`."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb
from psycopg_pool import PoolTimeout
from pyproj import CRS

from geodata.errors import InvalidValue, StoreUnavailable
from geodata.schema import DEFAULT_CRS, DEFAULT_TIMEZONE
from geodata.stores._business import BusinessRecords
from geodata.stores._neighbours import NeighbourRecords
from geodata.stores._plan_records import PlanRecords
from geodata.stores._presets import PresetRecords
from geodata.stores._relational import RelationalStore
from geodata.stores._reports import ReportRecords
from geodata.stores._shared import check_force_crs, check_text, now
from geodata.stores._stop_search import StopSearchRecords
from geodata.stores.base import FORCE
from geodata.stores.postgis import regional
from geodata.stores.postgis.connection import (
    DEFAULT_SCHEMA,
    PostGISConnections,
    migrate,
    unavailable,
)
from geodata.stores.postgis.reading import ColumnReader
from geodata.stores.postgis.regional import PLAIN, REGIONAL, RegionalWriter, check_layout
from geodata.stores.postgis.writer import PostGISWriter

if TYPE_CHECKING:
    from psycopg_pool import ConnectionPool


log = logging.getLogger(__name__)


def _srid(crs: str) -> int:
    code = CRS.from_user_input(crs).to_epsg()
    if code is None:
        raise InvalidValue(f"the PostGIS store needs a CRS with an EPSG code, not {crs}",
                           field="crs")
    return int(code)


class PostGISStore(RelationalStore, PlanRecords, ReportRecords, BusinessRecords,
                  NeighbourRecords, PresetRecords, StopSearchRecords, ColumnReader):
    """The store in a PostgreSQL database with PostGIS, in its own schema; made by :meth:`open`.

    Parameters
    ----------
    connections
        The store's connections (its schema already migrated).
    store_id, crs, timezone
        The store's identity, force CRS (projected, metres) and time zone, as it records them.
    srid
        The EPSG code of ``crs``.
    layout
        How ``incidents`` is partitioned: ``"plain"`` (by ingest) or ``"regional"`` (by force,
        then by month; :mod:`.regional`).
    force
        The force whose incidents this store reads (its ``Falls within`` name), None for all.
    """

    kind = "postgis"
    _dialect = "postgis"

    def __init__(self, connections: PostGISConnections, *, store_id: str, crs: str,
                 timezone: str, srid: int, layout: str = PLAIN,
                 force: str | None = None) -> None:
        self._connections = connections
        self.store_id = store_id
        self.crs = crs
        self.timezone = timezone
        self.srid = srid
        self.layout = layout
        self.force = force

    @classmethod
    def open(
        cls,
        url: str,
        *,
        schema: str = DEFAULT_SCHEMA,
        crs: str = DEFAULT_CRS,
        timezone: str = DEFAULT_TIMEZONE,
        busy_timeout_s: float = 60.0,
        connect_timeout_s: float = 3.0,
        max_connections: int = 8,
        create: bool = True,
        layout: str | None = None,
        force: str | None = None,
    ) -> PostGISStore:
        """Connect, create the store's schema (and the postgis extension, when allowed) if it
        is missing, and apply the schema migrations it has not had yet.

        Parameters
        ----------
        url
            A libpq connection URL (``postgresql://user@host:5432/database``).
        schema
            The schema that holds this store (created when missing).
        crs, timezone
            For a new store: the force CRS (projected, metres, with an EPSG code) and time
            zone. An existing store keeps its own.
        busy_timeout_s
            How long an ingest waits for another ingest of the same store, seconds.
        connect_timeout_s
            How long to wait for a connection before answering that the database is
            unavailable.
        max_connections
            Size of the connection pool.
        create
            Create the schema (and the postgis extension, when allowed) if missing.
        layout
            How ``incidents`` is partitioned: ``"plain"`` (by ingest: one force's store) or
            ``"regional"`` (by force, then by month: a region's store, see :mod:`.regional`).
            A store takes its layout while it holds no incident (a new store: plain unless
            told); None opens a store in the layout it has. A store holding incidents in the
            plain layout is converted by :meth:`convert_to_regional`.
        force
            Read only this force's incidents (its ``Falls within`` name, e.g. ``"Essex
            Police"``): the service of one force in a region's store. Selections, records,
            tiles and DBSCAN in the database are that force's; ingests, counts, the data version
            and everything else are the store's.

        Raises
        ------
        StoreUnavailable
            If the database cannot be reached, PostGIS is not installed, or the schema holds
            something else.
        InvalidValue
            If ``schema`` is not a lower-case SQL name, ``crs`` not a projected CRS in
            metres, ``layout`` not a layout or not the one of a store holding incidents, or
            ``force`` empty.
        """
        if layout is not None:
            check_layout(layout)
        if force is not None:
            check_text(force, "the force")
            if not force.strip():
                raise InvalidValue("force must name a force, not be empty", field="force")
        connections = PostGISConnections(
            url, schema=schema, busy_timeout_s=busy_timeout_s,
            connect_timeout_s=connect_timeout_s, max_connections=max_connections)
        check_force_crs(crs)
        connections.open()
        try:
            meta = migrate(connections, crs, timezone, create=create)
            store = cls(connections, store_id=meta["store_id"], crs=meta["crs"],
                        timezone=meta["timezone"], srid=_srid(meta["crs"]),
                        layout=meta.get("layout", PLAIN), force=force)
            if layout is not None and layout != store.layout:
                store._take_layout(layout)
        except BaseException:
            connections.close()
            raise
        return store

    def _take_layout(self, layout: str) -> None:
        """Give a store that holds no incident ``layout`` (see :meth:`open`)."""
        with self._writing() as conn:
            current = self._meta(conn, "layout") or PLAIN
            if current != layout:
                if conn.execute("SELECT EXISTS (SELECT 1 FROM incidents)").fetchone() != (False,):
                    hint = (" (convert it with PostGISStore.convert_to_regional())"
                            if layout == REGIONAL else "")
                    raise InvalidValue(
                        f"the store holds incidents in the {current} layout, not the {layout} "
                        f"one{hint}", field="layout")
                if layout == REGIONAL:
                    regional.convert(conn, self.timezone)
                else:
                    raise InvalidValue("a regional store does not go back to the plain layout",
                                       field="layout")
        self.layout = layout

    def convert_to_regional(self) -> int:
        """Rebuild the store's incidents in the regional layout, in place and in one
        transaction (holding the store's write lock; readers wait for it): every incident
        keeps its row id and identity, and the data version stays (the data has not changed).
        Nothing happens to a store already regional. Returns the number of incidents moved.

        Other processes with the store open go on working: an ingest asks the layout under
        the lock, and readers read ``incidents`` whatever its partitions."""
        with self._writing() as conn:
            if (self._meta(conn, "layout") or PLAIN) == REGIONAL:
                self.layout = REGIONAL
                return 0
            moved = regional.convert(conn, self.timezone)
        self.layout = REGIONAL
        return moved

    def partitions(self) -> dict[str, list[str]]:
        """In the regional layout, the months (``YYYY-MM``) each force has a table for, by
        force name; empty in the plain layout."""
        with self._connection() as conn:
            found = regional.partitions(conn) if self.layout == REGIONAL else {}
            names = dict(conn.execute("SELECT code, value FROM strings WHERE code = ANY(%s)",
                                      (list(found),)).fetchall()) if found else {}
        return {str(names.get(f, f)): [f"{k // 12:04d}-{k % 12 + 1:02d}" for k in sorted(ks)]
                for f, ks in sorted(found.items(), key=lambda t: str(names.get(t[0], t[0])))}

    # -- connections ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The libpq connection URL."""
        return self._connections.url

    @property
    def schema(self) -> str:
        """The schema that holds this store."""
        return self._connections.schema

    @property
    def busy_timeout_s(self) -> float:
        """How long an ingest waits for another ingest of the same store, seconds."""
        return self._connections.busy_timeout_s

    @property
    def pool(self) -> ConnectionPool:
        """The connection pool."""
        return self._connections.pool

    def _connection(self) -> Any:
        """A pooled connection (see :meth:`PostGISConnections.conn`)."""
        return self._connections.conn()

    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Connection[Any]]:
        with self._connections.conn() as conn, conn.transaction():
            yield conn

    _snapshot = _transaction

    def _writing(self) -> Any:
        return self._connections.writing()

    def _json(self, value: Any, *, lenient: bool = True, sort_keys: bool = False) -> Any:
        return Jsonb(value, dumps=functools.partial(
            json.dumps, default=str if lenient else None, sort_keys=sort_keys))

    def _before_publishing(self, conn: Any) -> None:
        """Two publications at once take turns (a lock on the table)."""
        conn.execute("LOCK TABLE published_products IN SHARE ROW EXCLUSIVE MODE")

    def migrations(self) -> list[dict[str, Any]]:
        """The schema migrations applied, oldest first."""
        with self._connection() as conn:
            rows = conn.execute(
                "SELECT version, name, applied_at FROM schema_migrations ORDER BY version"
            ).fetchall()
        return [{"version": int(v), "name": n, "applied_at": a.isoformat(timespec="seconds")}
                for v, n, a in rows]

    def close(self) -> None:
        """Close the connection pool."""
        self._connections.close()

    def drop(self) -> None:
        """Delete the store: its schema and everything in it (for tests and tear-down)."""
        with self._connection() as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                sql.Identifier(self.schema)))

    def __repr__(self) -> str:
        force = "" if self.force is None else f", force={self.force!r}"
        return f"PostGISStore(schema={self.schema!r}, layout={self.layout!r}{force})"

    # -- writing incidents ----------------------------------------------------------------------

    def count(self) -> int:
        """Number of incidents stored."""
        with self._connection() as conn:
            return int(self._meta(conn, "incidents") or 0)

    @contextmanager
    def writer(
        self, *, source: str, format: str, purpose: str = FORCE
    ) -> Iterator[PostGISWriter]:
        """Open the write transaction of one ingest (see :meth:`Store.writer`)."""
        check_text(source, "the source's name")
        check_text(format, "the format")
        try:
            with self._writing() as conn:
                self._claim(conn, purpose)
                # asked under the lock: another process may have converted the store
                layout = self._meta(conn, "layout") or PLAIN
                self.layout = layout
                kind = RegionalWriter if layout == REGIONAL else PostGISWriter
                row = conn.execute(
                    "INSERT INTO ingests (source, format, started_at) VALUES (%s, %s, %s) "
                    "RETURNING ingest_id", (source, format, now()),
                ).fetchone()
                assert row is not None
                # a second connection for what the ingest asks while its own streams rows
                # (see PostGISWriter): a connection of its own, made once the lock is held,
                # not one from the pool, which ingests queueing for the lock may have taken
                with self._connections.connect() as side:
                    w = kind(self, conn, side, int(row[0]))
                    try:
                        yield w
                        if not w.finished:
                            raise RuntimeError("writer left without finish(): rolled back")
                    finally:
                        w.close()
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise unavailable(exc) from exc

    def _codes(self, conn: psycopg.Connection[Any], values: Sequence[str]) -> dict[str, int]:
        """Codes of strings in the dictionary, adding the new ones (inside the transaction)."""
        wanted = sorted(set(values))
        if not wanted:
            return {}
        conn.execute(
            "INSERT INTO strings (value) SELECT unnest(%s::text[]) ON CONFLICT DO NOTHING",
            (wanted,),
        )
        rows = conn.execute(
            "SELECT value, code FROM strings WHERE value = ANY(%s)", (wanted,)
        ).fetchall()
        return {str(v): int(c) for v, c in rows}

    def health(self) -> dict[str, Any]:
        """Whether the store answers and what it holds; never raises."""
        try:
            with self._connection() as conn:
                return {
                    "ok": True,
                    "kind": self.kind,
                    "schema": self.schema,
                    "data_version": self._version(conn),
                    "purpose": self._meta(conn, "purpose"),
                    "incidents": int(self._meta(conn, "incidents") or 0),
                    "layers": [r[0] for r in conn.execute("SELECT kind FROM layers ORDER BY kind")],
                    "crs": self.crs,
                }
        except (StoreUnavailable, psycopg.Error) as exc:
            # the driver's text names hosts, users and databases: to the log, not the answer
            # (the public /health shows this part)
            log.warning("health: the database is unavailable", exc_info=exc)
            return {"ok": False, "kind": self.kind,
                    "error": f"database unavailable ({type(exc).__name__})"}
