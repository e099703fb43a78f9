"""The PostGIS store: the production store, the same interface as the embedded one.

Layout (``geodata/sql/postgis/*.sql``, applied in order and recorded in ``schema_migrations``):
one row per incident with a point geometry in the force CRS (GiST index) and indexes for the
period and the category; text columns are codes into one ``strings`` dictionary, so a row is
narrow and fixed-width. ``incidents`` is partitioned by ingest: a large ingest is one partition
(its indexes built once, after loading), small ingests share one. The identity of every stored
incident is in ``incident_keys`` (a partitioned table cannot enforce uniqueness across its
partitions). Everything lives in the store's own schema (``hotspot`` by default), so a database
can hold several stores (a force's and a test run's) that never see each other.

Writing: an ingest is one transaction on its own connection, holding the store's advisory lock
(ingests of one store queue, so overlapping uploads at the same moment store each incident
exactly once and never deadlock). The client reads and prepares batch after batch while a
worker thread streams the new incidents into the server by one long binary COPY (built with
numpy, no Python object per row) into a table of the ingest's own with no index; every
:data:`PART_ROWS` incidents that table is sealed — its keys added to ``incident_keys``, its
indexes built once, attached as a partition — while the client reads on, so parsing and the
server's work overlap on two cores. Which incidents are new is asked on a second connection
(an anti-join against ``incident_keys``: what is committed is what was stored before this
ingest, as the lock keeps other writers out; the ingest's own repeats are dropped on the
client), as are the codes of new strings and blocks of row ids. A store with nothing in it
skips those probes and builds the key table's primary key once, at the end. Re-ingesting adds
nothing; a failed or cut-off ingest leaves nothing behind (the transaction rolls back, COPY and
partitions with it).

Reading: a selection comes back as one row of ``bytea`` aggregates, one per column, each the
column's binary values end to end (``string_agg(float8send(x), '')``): a million incidents
arrive as a dozen byte strings that numpy reads in place.

Faults: a database that is down or unreachable, or a connection cut mid-way, raise
:class:`~geodata.errors.StoreUnavailable` (the API answers 503); the connection pool checks
connections before use and reconnects on its own when the database is back.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import secrets
import uuid
import zlib
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool, PoolTimeout
from pyproj import CRS

from geodata.coords import lonlat_bounds_in
from geodata.errors import InvalidText, PublicationConflict, StoreUnavailable
from geodata.schema import (
    DEFAULT_CRS,
    DEFAULT_TIMEZONE,
    NUMERIC_FIELDS,
    TEXT_FIELDS,
    IncidentColumns,
    IncidentFilter,
    IncidentTable,
)
from geodata.stores import _pgcopy, _pipeline
from geodata.stores._columns import KeySet
from geodata.stores._shared import (
    AUDIT_COLUMNS,
    BACKTEST_COLUMNS,
    INGEST_COLUMNS,
    KEY_COLUMNS,
    PRODUCT_COLUMNS,
    VISIT_COLUMNS,
    audit_record,
    backtest_record,
    batch_identities,
    check_backtest_key,
    check_force_crs,
    check_purpose,
    check_text,
    incident_record,
    ingest_counts,
    key_record,
    layer_rows,
    morton_order,
    now,
    overlap_message,
    plan_record,
    plan_summary,
    product_record,
    route_lines_wkt,
    visit_record,
)
from geodata.stores.base import (
    DUPLICATE_IN_STORE,
    FORCE,
    INSERTED,
    LayerInfo,
    RecordPage,
    page_bounds,
)

if TYPE_CHECKING:
    from geodata.layers import ReferenceLayer

log = logging.getLogger(__name__)

DEFAULT_SCHEMA = "hotspot"
CODED = tuple(f for f in TEXT_FIELDS if f != "id")
"""Text columns kept as codes into ``strings`` (the id is kept as text: it is mostly unique)."""
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_I8, _I4, _I2 = np.dtype("int64"), np.dtype("int32"), np.dtype("int16")
_F8, _F4 = np.dtype("float64"), np.dtype("float32")
_READ: dict[str, tuple[str, np.dtype]] = {
    "rid": ("int8send", _I8), "x": ("float8send", _F8), "y": ("float8send", _F8),
    "lon": ("float8send", _F8), "lat": ("float8send", _F8),
    "occurred_at": ("int8send", _I8), "precision": ("int2send", _I2),
    "weight": ("float4send", _F4), **dict.fromkeys(CODED, ("int4send", _I4)),
}
"""How each column travels out: its send function and width."""


def _srid(crs: str) -> int:
    code = CRS.from_user_input(crs).to_epsg()
    if code is None:
        raise ValueError(f"the PostGIS store needs a CRS with an EPSG code, not {crs}")
    return int(code)


def _unavailable(exc: BaseException) -> StoreUnavailable:
    log.error("PostGIS store unavailable: %s", exc)
    if isinstance(exc, PoolTimeout):
        return StoreUnavailable("the database does not answer (no connection could be made)")
    return StoreUnavailable(f"the database is unavailable ({type(exc).__name__}); try again")


def migration_scripts() -> list[tuple[int, str, Any]]:
    """The schema migrations, in order: (version, file name, resource)."""
    return sorted(
        (int(p.name.split("_", 1)[0]), p.name, p)
        for p in resources.files("geodata").joinpath("sql/postgis").iterdir()
        if p.name.endswith(".sql")
    )


class PostGISStore:
    """The store in a PostgreSQL database with PostGIS, in its own schema.

    Parameters
    ----------
    url
        A libpq connection URL (``postgresql://user@host:5432/database``).
    schema
        The schema that holds this store (created when missing).
    crs, timezone
        For a new store: the force CRS (projected, metres, with an EPSG code) and time zone.
        An existing store keeps its own.
    busy_timeout_s
        How long an ingest waits for another ingest of the same store, seconds.
    connect_timeout_s
        How long to wait for a connection before answering that the database is unavailable.
    max_connections
        Size of the connection pool.
    create
        Create the schema (and the postgis extension, when allowed) if missing.

    Raises
    ------
    StoreUnavailable
        If the database cannot be reached, PostGIS is not installed, or the schema holds
        something else.
    """

    kind = "postgis"

    def __init__(
        self,
        url: str,
        *,
        schema: str = DEFAULT_SCHEMA,
        crs: str = DEFAULT_CRS,
        timezone: str = DEFAULT_TIMEZONE,
        busy_timeout_s: float = 60.0,
        connect_timeout_s: float = 3.0,
        max_connections: int = 8,
        create: bool = True,
    ) -> None:
        if not _SCHEMA_NAME.match(schema):
            raise ValueError(f"schema must be a lower-case SQL name, not {schema!r}")
        check_force_crs(crs)
        self.url = url
        self.schema = schema
        self.busy_timeout_s = busy_timeout_s
        self._lock_key = zlib.crc32(f"hotspot:{schema}".encode()) & 0x7FFFFFFF

        self._connect_kwargs: dict[str, Any] = {
            "autocommit": True, "connect_timeout": max(1, round(connect_timeout_s)),
            "application_name": f"hotspot:{schema}"}
        self.pool = ConnectionPool(
            url,
            min_size=0,
            max_size=max_connections,
            kwargs=self._connect_kwargs,
            configure=self._configure,
            check=ConnectionPool.check_connection,
            timeout=connect_timeout_s,
            reconnect_timeout=0,
            open=False,
            name=f"hotspot-{schema}",
        )
        self.pool.open(wait=False)
        try:
            meta = self._migrate(crs, timezone, create=create)
        except BaseException:
            self.pool.close()
            raise
        self.store_id = meta["store_id"]
        self.crs = meta["crs"]
        self.timezone = meta["timezone"]
        self.srid = _srid(self.crs)

    # -- connections and schema ------------------------------------------------------------

    def _configure(self, conn: psycopg.Connection[Any]) -> None:
        conn.execute(sql.SQL("SET search_path TO {}, public").format(sql.Identifier(self.schema)))

    @contextmanager
    def _conn(self) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection; a database that is down becomes :class:`StoreUnavailable`, and
        text PostgreSQL cannot hold (U+0000, which every writer checks for first)
        :class:`InvalidText`."""
        try:
            with self.pool.connection() as conn:
                yield conn
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise _unavailable(exc) from exc
        except psycopg.DataError as exc:
            if isinstance(exc, psycopg.errors.UntranslatableCharacter) or "NUL" in str(exc):
                raise InvalidText("the text holds a NUL character (U+0000), which the store "
                                  "cannot keep") from exc
            raise

    def _migrate(self, crs: str, timezone: str, *, create: bool) -> dict[str, str]:
        """Apply the migrations not yet applied (under an advisory lock, so two processes
        starting together apply each once) and return the store's metadata."""
        scripts = migration_scripts()
        try:  # a connection of its own: a refused connection answers at once, not at the
            # pool's timeout
            conn = psycopg.connect(self.url, **self._connect_kwargs)
        except psycopg.OperationalError as exc:
            raise _unavailable(exc) from exc
        try:
            with conn:
                self._configure(conn)
                return self._migrate_on(conn, scripts, crs, timezone, create=create)
        except psycopg.OperationalError as exc:
            raise _unavailable(exc) from exc

    def _migrate_on(self, conn: psycopg.Connection[Any], scripts: list[tuple[int, str, Any]],
                    crs: str, timezone: str, *, create: bool) -> dict[str, str]:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock_key,))
            exists = conn.execute(
                "SELECT 1 FROM pg_namespace WHERE nspname = %s", (self.schema,)
            ).fetchone()
            if not exists:
                if not create:
                    raise StoreUnavailable("no store exists in the given schema")
                conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(self.schema)))
            self._ensure_postgis(conn)
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, "
                "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}
            if not done:
                others = conn.execute(
                    "SELECT count(*) FROM pg_tables WHERE schemaname = %s "
                    "AND tablename <> 'schema_migrations'", (self.schema,)
                ).fetchone()
                if others and others[0]:
                    raise StoreUnavailable(
                        f"the schema {self.schema!r} holds tables of another application"
                    )
            for number, name, script in scripts:
                if number not in done:
                    log.info("store %s: applying migration %s", self.schema, name)
                    conn.execute(script.read_text("utf-8"))
                    conn.execute(
                        "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                        (number, name),
                    )
            if not done:
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('store_id', %s), ('crs', %s), "
                    "('timezone', %s), ('created_at', %s), ('data_version', '0'), "
                    "('incidents', '0')",
                    (uuid.uuid4().hex, crs, timezone, now()),
                )
            return {str(k): str(v) for k, v in conn.execute("SELECT key, value FROM meta")}

    @staticmethod
    def _ensure_postgis(conn: psycopg.Connection[Any]) -> None:
        if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'").fetchone():
            return
        available = conn.execute(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'"
        ).fetchone()
        if not available:
            major = int(conn.info.server_version) // 10000
            raise StoreUnavailable(
                f"PostGIS is not installed on the database server: install the Debian package "
                f"postgresql-{major}-postgis-3 (apt-get install postgresql-{major}-postgis-3)"
            )
        try:
            with conn.transaction():
                conn.execute("CREATE EXTENSION IF NOT EXISTS postgis SCHEMA public")
        except psycopg.errors.InsufficientPrivilege as exc:
            raise StoreUnavailable(
                "the postgis extension is not enabled in this database and this user may not "
                f"enable it: ask an administrator to run CREATE EXTENSION postgis in "
                f"{conn.info.dbname!r}"
            ) from exc

    def migrations(self) -> list[dict[str, Any]]:
        """The schema migrations applied, oldest first."""
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT version, name, applied_at FROM schema_migrations ORDER BY version"
            ).fetchall()
        return [{"version": int(v), "name": n, "applied_at": a.isoformat(timespec="seconds")}
                for v, n, a in rows]

    def close(self) -> None:
        """Close the connection pool."""
        self.pool.close()

    def drop(self) -> None:
        """Delete the store: its schema and everything in it (for tests and tear-down)."""
        with self._conn() as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                sql.Identifier(self.schema)))

    def __repr__(self) -> str:
        return f"PostGISStore(schema={self.schema!r})"

    # -- metadata -----------------------------------------------------------------------------

    @staticmethod
    def _meta(conn: psycopg.Connection[Any], key: str) -> str | None:
        row = conn.execute("SELECT value FROM meta WHERE key = %s", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _version(self, conn: psycopg.Connection[Any]) -> str:
        return f"{self.store_id[:8]}.{self._meta(conn, 'data_version')}"

    def _bump_version(self, conn: psycopg.Connection[Any]) -> str:
        conn.execute("UPDATE meta SET value = (value::bigint + 1)::text WHERE key = 'data_version'")
        return self._version(conn)

    def data_version(self) -> str:
        """An opaque string that changes whenever incidents or layers change."""
        with self._conn() as conn:
            return self._version(conn)

    def purpose(self) -> str | None:
        """``"demo"``, ``"force"``, or None while nothing has been stored."""
        with self._conn() as conn:
            return self._meta(conn, "purpose")

    def _claim(self, conn: psycopg.Connection[Any], purpose: str) -> None:
        check_purpose(self._meta(conn, "purpose"), purpose)
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('purpose', %s) ON CONFLICT DO NOTHING",
            (purpose,),
        )

    @contextmanager
    def _writing(self) -> Iterator[psycopg.Connection[Any]]:
        """A write transaction holding the store's write lock (writers queue, as in SQLite)."""
        with self._conn() as conn:
            try:
                with conn.transaction():
                    conn.execute(
                        sql.SQL("SET LOCAL lock_timeout = {}").format(
                            sql.Literal(f"{int(self.busy_timeout_s * 1000)}ms")))
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock_key,))
                    yield conn
            except psycopg.errors.LockNotAvailable as exc:
                raise StoreUnavailable(
                    f"the store is busy (another writer held it for {self.busy_timeout_s:g} s); "
                    "try again"
                ) from exc

    def claim_purpose(self, purpose: str) -> None:
        """Mark the store as holding demo or force data (see :class:`Store`)."""
        with self._writing() as conn:
            self._claim(conn, purpose)

    # -- writing incidents --------------------------------------------------------------------

    @contextmanager
    def writer(
        self, *, source: str, format: str, purpose: str = FORCE
    ) -> Iterator[_PostGISWriter]:
        """Open the write transaction of one ingest (see :meth:`Store.writer`)."""
        check_text(source, "the source's name")
        check_text(format, "the format")
        try:
            with self._writing() as conn:
                self._claim(conn, purpose)
                row = conn.execute(
                    "INSERT INTO ingests (source, format, started_at) VALUES (%s, %s, %s) "
                    "RETURNING ingest_id", (source, format, now()),
                ).fetchone()
                assert row is not None
                # a second connection for what the ingest asks while its own streams rows
                # (see _PostGISWriter): a connection of its own, made once the lock is held,
                # not one from the pool, which ingests queueing for the lock may have taken
                with psycopg.connect(self.url, **self._connect_kwargs) as side:
                    self._configure(side)
                    w = _PostGISWriter(self, conn, side, int(row[0]))
                    try:
                        yield w
                        if not w.finished:
                            raise RuntimeError("writer left without finish(): rolled back")
                    finally:
                        w.close()
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise _unavailable(exc) from exc

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

    # -- reading incidents --------------------------------------------------------------------

    def count(self) -> int:
        """Number of incidents stored."""
        with self._conn() as conn:
            return int(self._meta(conn, "incidents") or 0)

    def _where(
        self, conn: psycopg.Connection[Any], flt: IncidentFilter
    ) -> tuple[sql.Composable, list[Any]] | None:
        """The WHERE clause of a filter (None when nothing can match)."""
        parts: list[sql.Composable] = [sql.SQL("TRUE")]
        params: list[Any] = []
        if flt.start is not None:
            parts.append(sql.SQL("occurred_at >= %s"))
            params.append(flt.start)
        if flt.end is not None:
            parts.append(sql.SQL("occurred_at < %s"))
            params.append(flt.end)
        if flt.categories is not None:
            codes = [c for (c,) in conn.execute(
                "SELECT code FROM strings WHERE value = ANY(%s)", (list(flt.categories),))]
            if not codes:
                return None
            parts.append(sql.SQL("category = ANY(%s)"))
            params.append(codes)
        boxes = [flt.bbox] if flt.bbox is not None else []
        if flt.lonlat_bbox is not None:
            box = lonlat_bounds_in(flt.lonlat_bbox, self.crs)
            if box is None:  # wholly beyond the CRS's area of use, where nothing is stored
                return None
            boxes.append(box)
            w, s, e, n = flt.lonlat_bbox
            parts.append(sql.SQL("lon BETWEEN %s AND %s AND lat BETWEEN %s AND %s"))
            params += [w, e, s, n]
        for minx, miny, maxx, maxy in boxes:
            parts.append(sql.SQL(
                "geom && ST_MakeEnvelope(%s, %s, %s, %s, %s) "
                "AND x BETWEEN %s AND %s AND y BETWEEN %s AND %s"))
            params += [minx, miny, maxx, maxy, self.srid, minx, maxx, miny, maxy]
        return sql.SQL(" AND ").join(parts), params

    def incidents(
        self, flt: IncidentFilter | None = None, *, extra: Sequence[str] = ()
    ) -> IncidentColumns:
        """Select incidents as columns (see :meth:`Store.incidents`)."""
        flt = flt or IncidentFilter()
        bad = [c for c in extra if c not in TEXT_FIELDS]
        if bad:
            raise ValueError(f"extra columns must be text fields {TEXT_FIELDS}, not {bad}")
        if "id" in extra:
            raise ValueError("the id is not available as a column of the PostGIS store")
        names = ["rid", "x", "y", "lon", "lat", "occurred_at", "precision", "weight",
                 "category", *[c for c in extra if c != "category"]]
        cols: dict[str, np.ndarray] = {}
        with self._conn() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            version = self._version(conn)
            where = self._where(conn, flt)
            if where is not None:
                aggregates = sql.SQL(", ").join(
                    sql.SQL("coalesce(string_agg({}({}), ''::bytea), ''::bytea)").format(
                        sql.SQL(_READ[c][0]), sql.Identifier(c))
                    for c in names
                )
                query = sql.SQL("SELECT {} FROM incidents WHERE {}").format(aggregates, where[0])
                with conn.cursor(binary=True) as cur:
                    row = cur.execute(query, where[1]).fetchone()
                assert row is not None
                for c, blob in zip(names, row, strict=True):
                    cols[c] = np.frombuffer(blob, _READ[c][1].newbyteorder(">")).astype(
                        _READ[c][1])
            else:
                cols = {c: np.empty(0, _READ[c][1]) for c in names}
            order = np.argsort(cols["rid"], kind="stable")
            cols = {c: v[order] for c, v in cols.items()}
            coded = ["category", *[c for c in extra if c != "category"]]
            used = np.unique(np.concatenate([cols[c] for c in coded]))
            vocab = dict(conn.execute(
                "SELECT code, value FROM strings WHERE code = ANY(%s)",
                ([int(c) for c in used],)).fetchall())

        def cat(c: str) -> pd.Categorical[str]:
            uniq, inverse = np.unique(cols[c], return_inverse=True)
            return pd.Categorical.from_codes(
                inverse.astype(np.int64), categories=pd.Index([vocab[int(u)] for u in uniq]))

        return IncidentColumns(
            x=cols["x"], y=cols["y"], lon=cols["lon"], lat=cols["lat"],
            occurred_at=cols["occurred_at"],
            precision=cols["precision"].astype(NUMERIC_FIELDS["precision"]),
            category=cat("category"), weight=cols["weight"].astype(NUMERIC_FIELDS["weight"]),
            rid=cols["rid"], crs=self.crs, data_version=version,
            extra={c: cat(c) for c in extra},
        )

    def cluster_dbscan(
        self, flt: IncidentFilter | None, *, eps_m: float, min_samples: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """DBSCAN of the selected incidents inside the database (PostGIS's ST_ClusterDBSCAN:
        a point is core with at least ``min_samples`` incidents, itself included, within
        ``eps_m`` metres). Returns ``(rid, label)`` ordered by row id, -1 for noise."""
        flt = flt or IncidentFilter()
        if not (eps_m > 0 and int(min_samples) >= 1):
            raise ValueError("eps_m must be > 0 and min_samples >= 1")
        with self._conn() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            where = self._where(conn, flt)
            if where is None:
                return np.empty(0, np.int64), np.empty(0, np.int64)
            query = sql.SQL(
                "SELECT coalesce(string_agg(int8send(rid), ''::bytea), ''::bytea), "
                "coalesce(string_agg(int4send(coalesce(cid, -1)), ''::bytea), ''::bytea) "
                "FROM (SELECT rid, ST_ClusterDBSCAN(geom, %s, %s) OVER () AS cid "
                "FROM incidents WHERE {}) AS clustered"
            ).format(where[0])
            with conn.cursor(binary=True) as cur:
                row = cur.execute(query, [float(eps_m), int(min_samples), *where[1]]).fetchone()
        assert row is not None
        rid = np.frombuffer(row[0], ">i8").astype(np.int64)
        label = np.frombuffer(row[1], ">i4").astype(np.int64)
        order = np.argsort(rid, kind="stable")
        return rid[order], label[order]

    def incident_records(
        self, flt: IncidentFilter | None = None, *, offset: int = 0, limit: int = 100
    ) -> RecordPage:
        """One page of incidents with every field, ordered by time then row id."""
        flt = flt or IncidentFilter()
        text = ", ".join(f"(SELECT value FROM strings WHERE code = i.{c}) AS {c}" for c in CODED)
        with self._conn() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            version = self._version(conn)
            where = self._where(conn, flt)
            if where is None:
                return RecordPage(total=0, offset=0, records=[], data_version=version)
            total_row = conn.execute(
                sql.SQL("SELECT count(*) FROM incidents WHERE {}").format(where[0]), where[1]
            ).fetchone()
            total = int(total_row[0]) if total_row else 0
            lo, hi = page_bounds(total, offset, limit)
            rows = conn.execute(
                sql.SQL(
                    "SELECT rid, id, (SELECT value FROM strings WHERE code = i.namespace), "
                    "occurred_at, precision, x, y, lon, lat, weight, " + text
                    + " FROM incidents i WHERE {} ORDER BY occurred_at, rid LIMIT %s OFFSET %s"
                ).format(where[0]),
                [*where[1], hi - lo, lo],
            ).fetchall() if hi > lo else []
        records = [self._record(r) for r in rows]
        return RecordPage(total=total, offset=lo, records=records, data_version=version)

    def _record(self, r: tuple[Any, ...]) -> dict[str, Any]:
        return incident_record(
            rid=r[0], ident=r[1], namespace=r[2], occurred_at=r[3], precision=r[4],
            texts=dict(zip(CODED, r[10:], strict=True)),
            numbers=dict(zip(("x", "y", "lon", "lat", "weight"), r[5:10], strict=True)),
            timezone=self.timezone,
        )

    # -- reference layers ---------------------------------------------------------------------

    def put_layer(self, layer: ReferenceLayer, *, purpose: str = FORCE) -> None:
        """Store a reference layer, replacing the layer of that kind, atomically.

        Raises
        ------
        StorePurposeError
            If the store holds the other purpose's data.
        """
        frame = layer.frame
        names, prop_rows, geoms = layer_rows(frame)
        with self._writing() as conn:
            self._claim(conn, purpose)
            conn.execute("DELETE FROM layers WHERE kind = %s", (layer.kind,))
            conn.execute(
                "INSERT INTO layers (kind, source, added_at, features, info) "
                "VALUES (%s, %s, %s, %s, %s)",
                (layer.kind, layer.source, now(), len(frame), json.dumps(layer.info)),
            )
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO layer_features (kind, fid, name, props, geom) VALUES "
                    "(%s, %s, %s, %s, ST_SetSRID(ST_GeomFromWKB(%s), %s))",
                    [(layer.kind, i, names[i], prop_rows[i], geoms[i], self.srid)
                     for i in range(len(frame))],
                )
            self._bump_version(conn)

    def get_layer(self, kind: str) -> ReferenceLayer | None:
        """The stored layer of that kind, or None."""
        from geodata.layers import ReferenceLayer, frame_from_rows

        with self._conn() as conn, conn.transaction():
            head = conn.execute(
                "SELECT source, added_at, info::text FROM layers WHERE kind = %s", (kind,)
            ).fetchone()
            if head is None:
                return None
            rows = conn.execute(
                "SELECT name, props::text, ST_AsBinary(geom) FROM layer_features "
                "WHERE kind = %s ORDER BY fid", (kind,),
            ).fetchall()
        frame = frame_from_rows(
            kind, [(r[0], r[1], None if r[2] is None else bytes(r[2])) for r in rows], self.crs)
        return ReferenceLayer(
            kind=kind, frame=frame, source=head[0], added_at=head[1], info=json.loads(head[2])
        )

    def list_layers(self) -> list[LayerInfo]:
        """The stored layers."""
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT kind, source, added_at, features, info::text FROM layers ORDER BY kind"
            ).fetchall()
        return [LayerInfo(r[0], r[1], r[2], int(r[3]), json.loads(r[4])) for r in rows]

    # -- housekeeping -------------------------------------------------------------------------

    def ingests(self, limit: int = 50) -> list[dict[str, Any]]:
        """The most recent ingests, newest first."""
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT ingest_id, source, format, started_at, finished_at, records, accepted, "
                "duplicates, rejected FROM ingests WHERE finished_at IS NOT NULL "
                "ORDER BY ingest_id DESC LIMIT %s", (limit,),
            ).fetchall()
        return [dict(zip(INGEST_COLUMNS, r, strict=True)) for r in rows]

    # -- patrol plans and visits --------------------------------------------------------------

    def put_plan(self, plan_id: str, *, shift_start: str, shift_end: str, data_version: str,
                 request: dict[str, Any], plan: dict[str, Any], created_by: str = "",
                 published_at: str | None = None,
                 links: dict[str, str] | None = None) -> None:
        """Store a patrol plan under a new id, with its routes as WGS84 lines."""
        check_text(request, "the plan request")
        check_text(plan, "the plan")
        check_text({"created_by": created_by, "links": links or {}}, "the plan")
        with self._conn() as conn, conn.transaction():
            conn.execute(
                "INSERT INTO patrol_plans (plan_id, created_at, shift_start, shift_end, "
                "data_version, request, plan, routes, published_at, created_by) "
                "VALUES (%s, now(), %s, %s, %s, %s, %s, ST_Multi(ST_GeomFromText(%s, 4326)), "
                "%s, %s)",
                (plan_id, shift_start, shift_end, data_version,
                 Jsonb(request, dumps=_json_dumps), Jsonb(plan), route_lines_wkt(plan),
                 published_at, created_by))
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO plan_links (code, plan_id, crew) VALUES (%s, %s, %s) "
                    "ON CONFLICT DO NOTHING",
                    [(code, plan_id, crew) for crew, code in (links or {}).items()])

    def get_plan(self, plan_id: str) -> dict[str, Any] | None:
        """A stored plan, or None (see :class:`Store`)."""
        if "\x00" in plan_id:  # nothing stored holds U+0000 (and PostgreSQL refuses it)
            return None
        with self._conn() as conn:
            row = conn.execute(
                "SELECT plan_id, created_at, shift_start, shift_end, data_version, "
                "published_at, created_by, request, plan FROM patrol_plans WHERE plan_id = %s",
                (plan_id,)).fetchone()
            if row is None:
                return None
            links = self._links(conn, plan_id)
        return {**plan_record(row[:7]), "request": row[7], "plan": row[8], "links": links}

    @staticmethod
    def _links(conn: psycopg.Connection[Any], plan_id: str) -> dict[str, str]:
        return {r[0]: r[1] for r in conn.execute(
            "SELECT crew, code FROM plan_links WHERE plan_id = %s ORDER BY crew", (plan_id,))}

    def list_plans(self, limit: int = 50, *, published_only: bool = False) -> list[dict[str, Any]]:
        """The most recent plans (or published plans), newest first."""
        where = "WHERE published_at IS NOT NULL " if published_only else ""
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT plan_id, created_at, shift_start, shift_end, data_version, "
                "published_at, created_by, plan -> 'totals', request ->> 'name', "
                "(SELECT count(*) FROM plan_visits v WHERE v.plan_id = p.plan_id) "
                "FROM patrol_plans p " + where + "ORDER BY created_at DESC, plan_id LIMIT %s",
                (limit,)).fetchall()
        return [plan_summary(r[:7], {"totals": r[7] or {}}, name=r[8], visits=r[9])
                for r in rows]

    def publish_plan(self, plan_id: str, when: str) -> str | None:
        """Publish a plan once (see :class:`Store`)."""
        if "\x00" in plan_id:
            return None
        with self._conn() as conn, conn.transaction():
            conn.execute("UPDATE patrol_plans SET published_at = %s "
                         "WHERE plan_id = %s AND published_at IS NULL", (when, plan_id))
            row = conn.execute("SELECT published_at FROM patrol_plans WHERE plan_id = %s",
                               (plan_id,)).fetchone()
        return None if row is None else row[0].isoformat()

    def add_plan_links(self, plan_id: str, links: dict[str, str]) -> dict[str, str]:
        """Give crews without one a short-link code (see :class:`Store`)."""
        check_text(links, "the plan's links")
        with self._conn() as conn, conn.transaction():
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO plan_links (code, plan_id, crew) VALUES (%s, %s, %s) "
                    "ON CONFLICT DO NOTHING",
                    [(code, plan_id, crew) for crew, code in links.items()])
            return self._links(conn, plan_id)

    def find_plan_link(self, code: str) -> dict[str, str] | None:
        """The plan and crew of a short-link code, or None (see :class:`Store`)."""
        if "\x00" in code:
            return None
        with self._conn() as conn:
            row = conn.execute("SELECT plan_id, crew FROM plan_links WHERE code = %s",
                               (code,)).fetchone()
        return None if row is None else {"plan_id": row[0], "crew": row[1]}

    def add_visit(self, visit: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Record a visit once (``ON CONFLICT DO NOTHING`` on the device's id)."""
        check_text(visit, "the visit")
        cols = ", ".join(VISIT_COLUMNS)
        with self._conn() as conn, conn.transaction():
            row = conn.execute(
                f"INSERT INTO plan_visits ({cols}) "
                "VALUES (%s, %s, %s, %s, %s, now(), %s, %s, %s) "
                f"ON CONFLICT (visit_id) DO NOTHING RETURNING {cols}",
                (visit["visit_id"], visit["plan_id"], visit["stop_id"], visit.get("hotspot_id"),
                 visit["visited_at"], visit.get("note", ""), visit.get("officer", ""),
                 visit.get("ended_at"))).fetchone()
            created = row is not None
            if row is None:
                row = conn.execute(f"SELECT {cols} FROM plan_visits WHERE visit_id = %s",
                                   (visit["visit_id"],)).fetchone()
        assert row is not None
        return visit_record(row), created

    def plan_visits(self, plan_id: str) -> list[dict[str, Any]]:
        """The visits logged against a plan, oldest first."""
        if "\x00" in plan_id:
            return []
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT " + ", ".join(VISIT_COLUMNS) + " FROM plan_visits WHERE plan_id = %s "
                "ORDER BY visited_at, visit_id", (plan_id,)).fetchall()
        return [visit_record(r) for r in rows]

    def cancel_visit(self, plan_id: str, visit_id: str) -> dict[str, Any] | None:
        """Remove a visit of a plan once (``DELETE ... RETURNING``: of two cancellations at
        once, one gets the visit)."""
        if "\x00" in plan_id or "\x00" in visit_id:
            return None
        with self._conn() as conn, conn.transaction():
            row = conn.execute(
                "DELETE FROM plan_visits WHERE visit_id = %s AND plan_id = %s RETURNING " +
                ", ".join(VISIT_COLUMNS), (visit_id, plan_id)).fetchone()
        return None if row is None else visit_record(row)

    # -- access: keys, audit, secrets --------------------------------------------------------

    def add_key(self, key_id: str, *, name: str, role: str, secret_hash: str) -> dict[str, Any]:
        """Store an API key (see :class:`Store`)."""
        check_text(name, "the key's name")
        with self._conn() as conn, conn.transaction():
            row = conn.execute(
                "INSERT INTO api_keys (key_id, name, role, secret_hash, created_at) "
                "VALUES (%s, %s, %s, %s, now()) RETURNING " + ", ".join(KEY_COLUMNS),
                (key_id, name, role, secret_hash)).fetchone()
        assert row is not None
        return key_record(row)

    def key_hash(self, key_id: str) -> tuple[str, str] | None:
        """(role, hash) of a live key, or None."""
        if "\x00" in key_id:
            return None
        with self._conn() as conn:
            row = conn.execute("SELECT role, secret_hash FROM api_keys WHERE key_id = %s "
                               "AND revoked_at IS NULL", (key_id,)).fetchone()
        return None if row is None else (str(row[0]), str(row[1]))

    def list_keys(self) -> list[dict[str, Any]]:
        """Every key, without hashes."""
        with self._conn() as conn:
            rows = conn.execute("SELECT " + ", ".join(KEY_COLUMNS) + " FROM api_keys "
                                "ORDER BY created_at, key_id").fetchall()
        return [key_record(r) for r in rows]

    def revoke_key(self, key_id: str) -> bool:
        """Revoke a key."""
        if "\x00" in key_id:
            return False
        with self._conn() as conn, conn.transaction():
            cur = conn.execute("UPDATE api_keys SET revoked_at = now() WHERE key_id = %s "
                               "AND revoked_at IS NULL", (key_id,))
            return cur.rowcount == 1

    def revoke_session(self, session_id: str, *, key_id: str, expires_at: int) -> bool:
        """Revoke a page session (records of sessions expired by now are dropped)."""
        with self._conn() as conn, conn.transaction():
            conn.execute("DELETE FROM revoked_sessions WHERE expires_at < "
                         "extract(epoch FROM now())")
            cur = conn.execute("INSERT INTO revoked_sessions (session_id, key_id, expires_at) "
                               "VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                               (session_id, key_id, int(expires_at)))
            return cur.rowcount == 1

    def session_revoked(self, session_id: str) -> bool:
        """Whether a page session was revoked."""
        with self._conn() as conn:
            row = conn.execute("SELECT 1 FROM revoked_sessions WHERE session_id = %s",
                               (session_id,)).fetchone()
        return row is not None

    def audit(self, *, key_id: str | None, role: str | None, action: str, path: str,
              filter: dict[str, Any], rows: int) -> None:
        """Append to the audit log."""
        check_text([action, path, filter], "the audit entry")
        with self._conn() as conn, conn.transaction():
            conn.execute("INSERT INTO audit_log (at, key_id, role, action, path, filter, rows) "
                         "VALUES (now(), %s, %s, %s, %s, %s, %s)",
                         (key_id, role, action, path, Jsonb(filter, dumps=_json_dumps),
                          int(rows)))

    def audit_log(self, limit: int = 100, before: int | None = None) -> list[dict[str, Any]]:
        """Audit entries, newest first."""
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT " + ", ".join(AUDIT_COLUMNS) + " FROM audit_log WHERE entry_id < %s "
                "ORDER BY entry_id DESC LIMIT %s", (before or 2**62, limit)).fetchall()
        return [audit_record(r) for r in rows]

    def secret(self, name: str) -> str:
        """A random secret kept in the store's metadata, made on first use."""
        key = f"secret:{name}"
        with self._conn() as conn:  # a read first: no write on every request
            value = self._meta(conn, key)
        if value is not None:
            return value
        with self._conn() as conn, conn.transaction():
            conn.execute("INSERT INTO meta (key, value) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                         (key, secrets.token_hex(32)))
            value = self._meta(conn, key)
        assert value is not None
        return value

    # -- published products -------------------------------------------------------------------

    def add_product(self, kind: str, period: str, *, start: int, end: int, data_version: str,
                    summary: dict[str, Any], document: str) -> dict[str, Any]:
        """Publish a product (see :class:`Store`); two publications at once take turns (a
        lock on the table), so two overlapping products can never both be stored."""
        cols = ", ".join(PRODUCT_COLUMNS)
        with self._conn() as conn, conn.transaction():
            conn.execute("LOCK TABLE published_products IN SHARE ROW EXCLUSIVE MODE")
            other = conn.execute(
                "SELECT period FROM published_products WHERE kind = %s AND period_start < %s "
                "AND period_end > %s ORDER BY period_start LIMIT 1", (kind, end, start)).fetchone()
            if other is not None:
                raise PublicationConflict(overlap_message(kind, period, other[0]))
            row = conn.execute(
                "INSERT INTO published_products (kind, period, period_start, period_end, "
                "data_version, summary, document) VALUES (%s, %s, %s, %s, %s, %s, %s) "
                f"RETURNING {cols}",
                (kind, period, int(start), int(end), data_version,
                 Jsonb(summary, dumps=_json_dumps), document)).fetchone()
        assert row is not None  # INSERT ... RETURNING gives the row
        return product_record(row)

    def product(self, kind: str, period: str) -> tuple[dict[str, Any], str] | None:
        """A published product's listing and document text, or None (see :class:`Store`)."""
        with self._conn() as conn:
            row = conn.execute(
                "SELECT " + ", ".join(PRODUCT_COLUMNS) + ", document FROM published_products "
                "WHERE kind = %s AND period = %s", (kind, period)).fetchone()
        return None if row is None else (product_record(row[:-1]), str(row[-1]))

    def list_products(self, kind: str, limit: int = 500) -> list[dict[str, Any]]:
        """The published products of a kind, latest period first (see :class:`Store`)."""
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT " + ", ".join(PRODUCT_COLUMNS) + " FROM published_products "
                "WHERE kind = %s ORDER BY period_start DESC LIMIT %s", (kind, limit)).fetchall()
        return [product_record(r) for r in rows]

    # -- stored backtests ---------------------------------------------------------------------

    def put_backtest(self, key: str, *, data_version: str, summary: dict[str, Any],
                     document: str) -> dict[str, Any]:
        """Store a backtest's result under its key, replacing any (see :class:`Store`); two
        writers of one key at once take turns on its row (the last one's result stays)."""
        check_backtest_key(key)
        check_text([data_version, summary], "the backtest's listing")
        check_text(document, "the backtest document")
        cols = ", ".join(BACKTEST_COLUMNS)
        with self._conn() as conn, conn.transaction():
            row = conn.execute(
                "INSERT INTO backtests (key, data_version, created_at, summary, document) "
                "VALUES (%s, %s, now(), %s, %s) ON CONFLICT (key) DO UPDATE SET "
                "data_version = excluded.data_version, created_at = excluded.created_at, "
                f"summary = excluded.summary, document = excluded.document RETURNING {cols}",
                (key, data_version, Jsonb(summary, dumps=_json_dumps), document)).fetchone()
        assert row is not None  # INSERT ... RETURNING gives the row
        return backtest_record(row)

    def get_backtest(self, key: str) -> tuple[dict[str, Any], str] | None:
        """A stored backtest's listing and document text, or None (see :class:`Store`)."""
        check_backtest_key(key)
        with self._conn() as conn:
            row = conn.execute(
                "SELECT " + ", ".join(BACKTEST_COLUMNS) + ", document FROM backtests "
                "WHERE key = %s", (key,)).fetchone()
        return None if row is None else (backtest_record(row[:-1]), str(row[-1]))

    def list_backtests(self, limit: int = 50) -> list[dict[str, Any]]:
        """The stored backtests' listings, newest first (see :class:`Store`)."""
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT " + ", ".join(BACKTEST_COLUMNS) + " FROM backtests "
                "ORDER BY created_at DESC, key LIMIT %s", (max(int(limit), 0),)).fetchall()
        return [backtest_record(r) for r in rows]

    def health(self) -> dict[str, Any]:
        """Whether the store answers and what it holds; never raises."""
        try:
            with self._conn() as conn:
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


def _json_dumps(value: Any) -> str:
    return json.dumps(value, default=str)


OWN_PARTITION_MIN = 20_000
"""Incidents from which an ingest's table becomes a partition (fewer join the shared one)."""
PART_ROWS = 250_000
"""Incidents after which an ingest's table is sealed (its keys recorded, its indexes built, and
attached as a partition) while the client reads on; the next rows go into a new table."""
_EWKB = np.dtype([("order", "u1"), ("type", "<u4"), ("srid", "<u4"), ("x", "<f8"), ("y", "<f8")])
"""A point as EWKB (little-endian, with SRID): what PostGIS reads from binary COPY."""
_EWKB_POINT_WITH_SRID = 1 | 0x20000000
_COPY_COLUMNS = ("bucket", "rid", "uid_hi", "uid_lo", "ingest_id", "namespace", "occurred_at",
                 "precision", "x", "y", "lon", "lat", "weight", *CODED, "geom", "id")
"""The columns of ``incidents``, in the order the ingest's binary COPY sends them."""


def _factorize(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize``, with a shortcut for a column holding one value throughout (a file's
    force, an empty context): comparing each value costs a third of hashing it."""
    if (len(values) and values[-1] == values[0] and bool((values[:64] == values[0]).all())
            and bool((values == values[0]).all())):  # (a sample first: most columns vary)
        return np.zeros(len(values), dtype=np.intp), values[:1]
    codes, uniques = pd.factorize(values)
    return codes, np.asarray(uniques)


class _Factors:
    """Rows of a batch (``cols``) with their text columns factorised (``codes``: for each
    coded column, the code of each row into that column's strings, and the strings)."""

    def __init__(self, cols: dict[str, np.ndarray],
                 codes: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
        self.cols = cols
        self.codes = codes

    @classmethod
    def of(cls, table: IncidentTable, rows: np.ndarray) -> _Factors:
        """Rows ``rows`` of ``table``, factorised."""
        whole = rows.size == len(table)
        cols = table.columns if whole else {k: v[rows] for k, v in table.columns.items()}
        return cls(cols, {c: _factorize(cols[c]) for c in CODED})

    def subset(self, keep: np.ndarray) -> _Factors:
        """The rows where ``keep`` is True (the strings stay: some may then go unused)."""
        if keep.all():
            return self
        return _Factors({k: v[keep] for k, v in self.cols.items()},
                        {c: (codes[keep], found) for c, (codes, found) in self.codes.items()})


class _Part:
    """One table of an ingest's incidents, on its way to becoming a partition."""

    def __init__(self, bucket: int) -> None:
        self.bucket = bucket
        self.table = f"incidents_b{bucket}"
        self.rows = 0
        self.copying: Any = None  # while its COPY is open: the cursor's copy() context manager
        self.copy: Any = None  # and the psycopg Copy it gave (both the worker thread's)


class _PostGISWriter:
    """Writes incidents into one open transaction; see :meth:`PostGISStore.writer`.

    Two connections and two threads share the work. The caller's thread reads the file and,
    for each batch, works out which incidents are new and builds their binary COPY; it asks the
    side connection (autocommit) which identities are already stored (the store's lock keeps
    other writers out, so what is committed is what was there before this ingest), for the codes
    of new strings and for blocks of row ids. The ingest's own connection, in a worker thread,
    streams the rows by one long COPY into a table with no index; every :data:`PART_ROWS`
    rows that table is sealed (keys into ``incident_keys``, indexes built once, attached as a
    partition) while the caller reads on, so the server's work overlaps the client's instead
    of following it. A store with no incident at all loads ``incident_keys`` without its
    primary key, built once when the input ends.
    """

    def __init__(self, store: PostGISStore, conn: psycopg.Connection[Any],
                 side: psycopg.Connection[Any], ingest_id: int) -> None:
        self.store = store
        self.conn = conn
        self.side = side
        self.ingest_id = ingest_id
        self.this_ingest = KeySet()
        self.finished = False
        self.inserted = 0
        self.codes: dict[str, int] = {}
        self.part: _Part | None = None  # the part batches go to (the caller's thread)
        self._open_part: _Part | None = None  # the part whose COPY is open (the worker's)
        self.input_ended = False
        self.pipe = _pipeline.Pipeline(depth=4, name=f"hotspot-ingest-{ingest_id}")
        self._prober = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hotspot-probe")
        self._mostly_new = True
        row = conn.execute("SELECT EXISTS (SELECT 1 FROM incident_keys)").fetchone()
        self.first_load = not (row and row[0])
        """Nothing stored yet: no identity can be a duplicate, and the key table's primary key
        is dropped and built once at the end (a sort, against a million index insertions)."""
        if self.first_load:
            conn.execute("ALTER TABLE incident_keys DROP CONSTRAINT incident_keys_pkey")

    # -- the caller's thread ------------------------------------------------------------------

    def add(self, table: IncidentTable) -> np.ndarray:
        """Store the new incidents of ``table``; return the int8 status of each row."""
        if self.input_ended:
            raise RuntimeError("add() after end_of_input()")
        if len(table) == 0:
            return np.full(0, INSERTED, dtype=np.int8)
        status, hi, lo, repeated = batch_identities(table, self.store.crs, self.this_ingest)
        cand = np.flatnonzero(~repeated)
        if cand.size == 0:
            return status
        self.this_ingest.add(hi[cand], lo[cand])
        factors = None
        if not self.first_load:
            # the server probes the key table while this thread factorises the text columns
            # (when the last batch was mostly new: after that, most of that work is used)
            probe = self._prober.submit(self._new_rows, hi[cand], lo[cand])
            if self._mostly_new:
                factors = _Factors.of(table, cand)
            new = probe.result()
            self._mostly_new = bool(new.mean() >= 0.5)
            status[cand[~new]] = DUPLICATE_IN_STORE
            cand = cand[new]
            if factors is not None:
                factors = factors.subset(new)
        if cand.size:
            self._send(table, cand, hi[cand], lo[cand], factors or _Factors.of(table, cand))
        return status

    def _new_rows(self, hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
        """A mask of the identities not in ``incident_keys`` as committed before this ingest
        (asked on the side connection; the ingest's own repeats were dropped on the client)."""
        # in key order, so that the index probes walk the key index's pages in order (half the
        # time of probing in row order)
        shi, slo = hi.view(np.int64), lo.view(np.int64)
        order = np.lexsort((slo, shi))
        keys = _pgcopy.build([("ord", order, _I4), ("uid_hi", shi[order], _I8),
                              ("uid_lo", slo[order], _I8)])
        with self.side.transaction(), self.side.cursor(binary=True) as cur:
            cur.execute("CREATE TEMPORARY TABLE probe_keys (ord integer, uid_hi bigint, "
                        "uid_lo bigint) ON COMMIT DROP")
            with cur.copy("COPY probe_keys (ord, uid_hi, uid_lo) FROM STDIN (FORMAT BINARY)") as cp:
                cp.write(keys)
            row = cur.execute(
                "SELECT coalesce(string_agg(int4send(ord), ''::bytea), ''::bytea) "
                "FROM probe_keys b WHERE NOT EXISTS (SELECT 1 FROM incident_keys k "
                "WHERE k.uid_hi = b.uid_hi AND k.uid_lo = b.uid_lo)"
            ).fetchone()
        assert row is not None
        new = np.zeros(hi.size, dtype=bool)
        new[np.frombuffer(row[0], ">i4").astype(np.int64)] = True
        return new

    def _lookup(self, values: list[str]) -> dict[str, int]:
        """Codes of strings, asking the store only for those this ingest has not met yet (new
        strings are committed at once: a dictionary entry nothing refers to is harmless)."""
        unknown = [v for v in values if v not in self.codes]
        if unknown:
            self.codes.update(self.store._codes(self.side, unknown))
        return self.codes

    def _send(self, table: IncidentTable, rows: np.ndarray, hi: np.ndarray,
              lo: np.ndarray, factors: _Factors) -> None:
        """Build the binary COPY of ``rows`` of ``table`` (its text columns factorised in
        ``factors``) and hand it to the worker."""
        n = rows.size
        cols = factors.cols
        if self.part is None:
            bucket = self.side.execute("SELECT nextval('incident_bucket')").fetchone()
            assert bucket is not None
            self.part = _Part(int(bucket[0]))
            self.pipe.submit(functools.partial(self._open, self.part))
        part = self.part
        # text columns as dictionary codes: the strings of this batch, once each
        lookup = self._lookup([table.namespace, *(
            str(u) for c in CODED for u in factors.codes[c][1])])
        # row ids along a Z-order curve, taken from the sequence in one step (writers hold the
        # store's lock, so the block is this ingest's alone)
        last = self.side.execute(
            "SELECT setval('incident_rid', nextval('incident_rid') + %s - 1)", (n,)).fetchone()
        assert last is not None
        rid = np.empty(n, dtype=np.int64)
        rid[morton_order(cols["x"], cols["y"])] = np.arange(int(last[0]) - n + 1, int(last[0]) + 1)
        geom = np.zeros(n, dtype=_EWKB)
        geom["order"], geom["type"], geom["srid"] = 1, _EWKB_POINT_WITH_SRID, self.store.srid
        geom["x"], geom["y"] = cols["x"], cols["y"]
        fixed: list[tuple[str, np.ndarray, np.dtype]] = [
            ("bucket", np.full(n, part.bucket), _I8),
            ("rid", rid, _I8),
            ("uid_hi", hi.view(np.int64), _I8),
            ("uid_lo", lo.view(np.int64), _I8),
            ("ingest_id", np.full(n, self.ingest_id), _I8),
            ("namespace", np.full(n, lookup[table.namespace]), _I4),
            ("occurred_at", cols["occurred_at"], _I8),
            ("precision", cols["precision"], _I2),
            ("x", cols["x"], _F8), ("y", cols["y"], _F8),
            ("lon", cols["lon"], _F8), ("lat", cols["lat"], _F8),
            ("weight", cols["weight"], _F4),
        ]
        for c in CODED:
            codes, found = factors.codes[c]
            table_codes = np.array([lookup[str(u)] for u in found], dtype=np.int64)
            fixed.append((c, table_codes[codes], _I4))
        fixed.append(("geom", geom.view("V25"), np.dtype("V25")))
        assert (*(name for name, _v, _d in fixed), "id") == _COPY_COLUMNS
        blocks = _pgcopy.row_blocks(fixed, [str(v) for v in cols["id"]])
        self.pipe.submit(functools.partial(self._write, part, blocks))
        part.rows += n
        self.inserted += n
        if part.rows >= PART_ROWS:
            self.pipe.submit(functools.partial(self._seal, part))
            self.part = None

    def end_of_input(self) -> None:
        """Seal the last part and, after a first load, build the key table's primary key, in
        the worker, while the caller summarises the ingest."""
        if self.input_ended:
            return
        self.input_ended = True
        if self.part is not None:
            self.pipe.submit(functools.partial(self._seal, self.part))
            self.part = None
        if self.first_load:
            self.pipe.submit(self._restore_key)

    def finish(self, summary: dict[str, Any]) -> str:
        """Record the ingest; return the data version after it (the store commits on leaving
        the writer's block)."""
        self.end_of_input()
        self.pipe.drain()
        conn = self.conn
        conn.execute(
            "UPDATE ingests SET finished_at = %s, records = %s, accepted = %s, duplicates = %s, "
            "rejected = %s, summary = %s WHERE ingest_id = %s",
            (now(), *ingest_counts(summary), json.dumps(summary, default=str), self.ingest_id),
        )
        if self.inserted:
            conn.execute(
                "UPDATE meta SET value = (value::bigint + %s)::text WHERE key = 'incidents'",
                (self.inserted,),
            )
            version = self.store._bump_version(conn)
        else:
            version = self.store._version(conn)
        self.finished = True
        return version

    def close(self) -> None:
        """Stop the worker; end a COPY left open (an ingest that failed) so the transaction
        can roll back."""
        self.pipe.abort()
        self._prober.shutdown(wait=True, cancel_futures=True)
        part, self._open_part = self._open_part, None
        if part is not None and part.copying is not None:
            copying, part.copying, part.copy = part.copying, None, None
            abandoned = RuntimeError("ingest abandoned")
            # the server drops what it had; a broken connection: the rollback will say so
            with suppress(psycopg.Error):
                copying.__exit__(RuntimeError, abandoned, None)

    # -- the worker thread, on the ingest's connection ----------------------------------------

    def _open(self, part: _Part) -> None:
        """Create the part's table and start its COPY (FREEZE: the rows are written frozen,
        as the table is new in this transaction, so no later pass rewrites them)."""
        conn, table = self.conn, sql.Identifier(part.table)
        conn.execute(sql.SQL("CREATE TABLE {} (LIKE incidents INCLUDING DEFAULTS)").format(table))
        part.copying = conn.cursor().copy(sql.SQL(
            "COPY {} (" + ", ".join(_COPY_COLUMNS) + ") FROM STDIN (FORMAT BINARY, FREEZE)"
        ).format(table))
        part.copy, self._open_part = part.copying.__enter__(), part
        part.copy.write(_pgcopy.HEADER)

    def _restore_key(self) -> None:
        self.conn.execute("ALTER TABLE incident_keys ADD CONSTRAINT incident_keys_pkey "
                          "PRIMARY KEY (uid_hi, uid_lo)")

    def _write(self, part: _Part, blocks: list[memoryview]) -> None:
        for block in blocks:
            part.copy.write(block)

    def _seal(self, part: _Part) -> None:
        """End the part's COPY, record its keys, and make it a partition with its indexes (or
        move its rows into the shared partition when there are few)."""
        conn, table = self.conn, sql.Identifier(part.table)
        part.copy.write(_pgcopy.TRAILER)
        copying, part.copying, part.copy = part.copying, None, None
        copying.__exit__(None, None, None)  # waits for the server to have stored every row
        self._open_part = None
        conn.execute(sql.SQL("INSERT INTO incident_keys (uid_hi, uid_lo) SELECT uid_hi, uid_lo "
                             "FROM {}" + ("" if self.first_load else " ORDER BY uid_hi, uid_lo"))
                     .format(table))
        if part.rows >= OWN_PARTITION_MIN:
            conn.execute(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} CHECK (bucket = {})").format(
                table, sql.Identifier(f"{part.table}_bucket"), sql.Literal(part.bucket)))
            for name, definition in (("geom", "USING gist (geom)"),
                                     ("period", "(occurred_at)"),
                                     ("category", "(category, occurred_at)")):
                conn.execute(sql.SQL("CREATE INDEX {} ON {} " + definition).format(
                    sql.Identifier(f"{part.table}_{name}"), table))
            conn.execute(sql.SQL("ALTER TABLE incidents ATTACH PARTITION {} FOR VALUES IN ({})")
                         .format(table, sql.Literal(part.bucket)))
        else:
            columns = ", ".join(_COPY_COLUMNS[1:])
            conn.execute(sql.SQL("INSERT INTO incidents (" + ", ".join(_COPY_COLUMNS) + ") "
                                 "SELECT 0, " + columns + " FROM {}").format(table))
            conn.execute(sql.SQL("DROP TABLE {}").format(table))
