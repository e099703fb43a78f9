"""The PostGIS store's connection handling and schema: the connection pool (each connection
set to the store's schema), driver errors turned into store errors, the store's write lock,
and the migrations in ``geodata/sql/postgis/*.sql`` (recorded in ``schema_migrations``)."""

from __future__ import annotations

import logging
import re
import select
import uuid
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from typing import Any

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool, PoolTimeout

from geodata.errors import InvalidText, InvalidValue, StoreUnavailable
from geodata.stores._shared import now, refuse_newer

log = logging.getLogger(__name__)

DEFAULT_SCHEMA = "hotspot"
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


_URL = "the store's URL (HOTSPOT_DATABASE_URL or --database)"
_CAUSES = (
    (re.compile(r'role "[^"]*" does not exist|password authentication failed|'
                r'no pg_hba\.conf entry'),
     "the database refused the store's user (no such role, a wrong password, or not allowed "
     f"from this host): check the user in {_URL}; a new store's role and database are made "
     "once by an administrator (docs/operations.md, The PostGIS store)"),
    (re.compile(r'database "[^"]*" does not exist'),
     f"the database named in {_URL} does not exist: an administrator creates it once "
     "(createdb, then CREATE EXTENSION postgis: docs/operations.md, The PostGIS store)"),
    (re.compile(r"Connection refused|could not translate host name|No route to host"),
     f"nothing answers at the database's host and port in {_URL}: is PostgreSQL running "
     "there? Try again once it is"),
)
"""Connection faults that are set-up mistakes, not a passing outage, told by the driver's
message (PostgreSQL gives no SQLSTATE before a connection is made); the hints name no user,
database or host."""


def unavailable(exc: BaseException) -> StoreUnavailable:
    """The store error for a driver's connection fault: what to check when the message says
    it is a set-up mistake (:data:`_CAUSES`), else try again (the driver's text goes to the log
    only)."""
    log.error("PostGIS store unavailable: %s", exc)
    if isinstance(exc, PoolTimeout):
        return StoreUnavailable("the database does not answer (no connection could be made)")
    text = str(exc)
    for pattern, hint in _CAUSES:
        if pattern.search(text):
            return StoreUnavailable(hint)
    return StoreUnavailable(f"the database is unavailable ({type(exc).__name__}); try again")


def check_if_stirred(conn: psycopg.Connection[Any]) -> None:
    """The pool's check of a connection it is about to lend: the empty query's round trip
    (:meth:`ConnectionPool.check_connection`, raising if the connection is broken) only when
    something has arrived on the connection's socket while it sat idle in the pool.

    An idle connection has nothing to read: its last answer was read to the end. A backend that
    was terminated (``pg_terminate_backend``, a server restart or shutdown) sends its FATAL
    message and closes the socket; either makes the socket readable, so the full check runs,
    finds the connection broken, and the pool makes another. A healthy connection is therefore
    lent after one ``poll`` of its socket (microseconds) instead of a round trip to the server:
    a cached answer borrows two connections, and those round trips were about a tenth of its
    CPU, besides the server's own. (Go's MySQL driver makes the same test before reusing a
    connection.) A connection cut without a word (a network that drops packets) is found by
    neither test; its query fails as it would have after the check.
    """
    try:
        poller = select.poll()
        poller.register(conn.fileno(), select.POLLIN | select.POLLPRI)
        quiet = not poller.poll(0)
    except (OSError, ValueError, psycopg.Error):  # closed: let the full check say so
        quiet = False
    if not quiet:
        ConnectionPool.check_connection(conn)


class PostGISConnections:
    """The connections of one store: a pool for requests, and connections of their own for
    migrating and for an ingest's side questions. Nothing connects until asked.

    Parameters
    ----------
    url
        A libpq connection URL (``postgresql://user@host:5432/database``).
    schema
        The schema that holds the store (a lower-case SQL name).
    busy_timeout_s
        How long a writer waits for the store's write lock, seconds.
    connect_timeout_s
        How long to wait for a connection before answering that the database is unavailable.
    max_connections
        Size of the connection pool.

    Raises
    ------
    InvalidValue
        If ``schema`` is not a lower-case SQL name.
    """

    def __init__(self, url: str, *, schema: str, busy_timeout_s: float,
                 connect_timeout_s: float, max_connections: int) -> None:
        if not _SCHEMA_NAME.match(schema):
            raise InvalidValue(f"schema must be a lower-case SQL name, not {schema!r}",
                               field="schema")
        self.url = url
        self.schema = schema
        self.busy_timeout_s = busy_timeout_s
        self.lock_key = zlib.crc32(f"hotspot:{schema}".encode()) & 0x7FFFFFFF
        """The store's advisory lock: writers of incidents and layers, and migrations."""
        self.connect_kwargs: dict[str, Any] = {
            "autocommit": True, "connect_timeout": max(1, round(connect_timeout_s)),
            "application_name": f"hotspot:{schema}"}
        self.pool = ConnectionPool(
            url,
            min_size=0,
            max_size=max_connections,
            kwargs=self.connect_kwargs,
            configure=self.configure,
            check=check_if_stirred,
            timeout=connect_timeout_s,
            reconnect_timeout=0,
            open=False,
            name=f"hotspot-{schema}",
        )

    def configure(self, conn: psycopg.Connection[Any]) -> None:
        """Set a new connection to the store's schema."""
        conn.execute(sql.SQL("SET search_path TO {}, public").format(sql.Identifier(self.schema)))

    def connect(self) -> psycopg.Connection[Any]:
        """A connection of its own, outside the pool (a refused connection answers at once, not
        at the pool's timeout), set to the store's schema; the caller closes it.

        Raises
        ------
        StoreUnavailable
            If the database cannot be reached.
        """
        try:
            conn = psycopg.connect(self.url, **self.connect_kwargs)
        except psycopg.OperationalError as exc:
            raise unavailable(exc) from exc
        try:
            self.configure(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    @contextmanager
    def conn(self) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection; a database that is down becomes :class:`StoreUnavailable`, and
        text PostgreSQL cannot hold (U+0000, which every writer checks for first)
        :class:`InvalidText`."""
        try:
            with self.pool.connection() as conn:
                yield conn
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise unavailable(exc) from exc
        except psycopg.DataError as exc:
            if isinstance(exc, psycopg.errors.UntranslatableCharacter) or "NUL" in str(exc):
                raise InvalidText("the text holds a NUL character (U+0000), which the store "
                                  "cannot keep") from exc
            raise

    @contextmanager
    def writing(self) -> Iterator[psycopg.Connection[Any]]:
        """A write transaction holding the store's write lock (writers queue, as in SQLite).

        Raises
        ------
        StoreUnavailable
            If another writer held the lock for longer than ``busy_timeout_s``.
        """
        with self.conn() as conn:
            try:
                with conn.transaction():
                    conn.execute(
                        sql.SQL("SET LOCAL lock_timeout = {}").format(
                            sql.Literal(f"{int(self.busy_timeout_s * 1000)}ms")))
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (self.lock_key,))
                    yield conn
            except psycopg.errors.LockNotAvailable as exc:
                raise StoreUnavailable(
                    f"the store is busy (another writer held it for {self.busy_timeout_s:g} s); "
                    "try again"
                ) from exc

    def open(self) -> None:
        """Start the pool (it connects in the background, as requests come)."""
        self.pool.open(wait=False)

    def close(self) -> None:
        """Close the pool."""
        self.pool.close()


def migration_scripts() -> list[tuple[int, str, Any]]:
    """The schema migrations, in order: (version, file name, resource)."""
    return sorted(
        (int(p.name.split("_", 1)[0]), p.name, p)
        for p in resources.files("geodata").joinpath("sql/postgis").iterdir()
        if p.name.endswith(".sql")
    )


def migrate(connections: PostGISConnections, crs: str, timezone: str, *,
            create: bool) -> dict[str, str]:
    """Apply the migrations not yet applied (under the store's advisory lock, so two processes
    starting together apply each once; a new store gets ``crs`` and ``timezone``) and return
    the store's metadata.

    A store that has every migration is opened without the lock: the lock is also the writers'
    (an ingest holds it to its end), and an instance starting or a command run during a long
    ingest has nothing to wait for. A store that needs a migration waits for the lock at most
    ``busy_timeout_s``.

    Raises
    ------
    StoreUnavailable
        If the database cannot be reached, PostGIS is not installed, the schema is missing
        (and ``create`` is False) or it holds something else, or a store needing a migration
        was held by another process for longer than ``busy_timeout_s``.
    """
    try:
        conn = connections.connect()
        with conn:
            with conn.transaction():
                current = _meta_if_current(conn, connections.schema)
            if current is not None:
                return current
            return _migrate_locked(conn, connections, crs, timezone, create=create)
    except psycopg.errors.LockNotAvailable as exc:
        raise StoreUnavailable(
            f"the store needs a schema migration and another process has held it for "
            f"{connections.busy_timeout_s:g} s (an ingest, or another release upgrading it); "
            "try again when it is done") from exc
    except psycopg.OperationalError as exc:
        raise unavailable(exc) from exc


def _meta_if_current(conn: psycopg.Connection[Any], schema: str) -> dict[str, str] | None:
    """The store's metadata when it has PostGIS and every migration this release knows (and
    none newer), read without any lock; else None (:func:`_migrate_locked` decides)."""
    if not conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'").fetchone():
        return None
    table = conn.execute("SELECT to_regclass(%s)", (f"{schema}.schema_migrations",)).fetchone()
    if table is None or table[0] is None:
        return None
    done = {int(r[0]) for r in conn.execute(
        sql.SQL("SELECT version FROM {}.schema_migrations").format(sql.Identifier(schema)))}
    known = _refuse_newer(done)  # a later release's store: refused at once, no lock waited for
    if done != known:
        return None
    return {str(k): str(v) for k, v in conn.execute(
        sql.SQL("SELECT key, value FROM {}.meta").format(sql.Identifier(schema)))}


def _refuse_newer(done: set[int]) -> set[int]:
    """The migrations this release knows; raises StoreUnavailable when ``done`` (the store's)
    holds a later one (:func:`refuse_newer`)."""
    known = {n for n, _name, _script in migration_scripts()}
    refuse_newer(max(done, default=0), max(known, default=0))
    return known


def _migrate_locked(conn: psycopg.Connection[Any], connections: PostGISConnections, crs: str,
                    timezone: str, *, create: bool) -> dict[str, str]:
    """:func:`migrate`'s work under the store's advisory lock (waited for at most
    ``busy_timeout_s``)."""
    with conn.transaction():
        conn.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(
            sql.Literal(f"{int(connections.busy_timeout_s * 1000)}ms")))
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (connections.lock_key,))
        conn.execute("SET LOCAL lock_timeout TO DEFAULT")  # the migrations' own locks
        _ensure_schema(conn, connections.schema, create=create)
        _ensure_postgis(conn)
        done = _applied_versions(conn, connections.schema)
        _refuse_newer(done)
        for number, name, script in migration_scripts():
            if number not in done:
                log.info("store %s: applying migration %s", connections.schema, name)
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


def _ensure_schema(conn: psycopg.Connection[Any], schema: str, *, create: bool) -> None:
    exists = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
    if not exists:
        if not create:
            raise StoreUnavailable("no store exists in the given schema")
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))


def _applied_versions(conn: psycopg.Connection[Any], schema: str) -> set[int]:
    """The migrations applied to the schema (none: it must hold no other tables)."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, "
        "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
    )
    done = {int(r[0]) for r in conn.execute("SELECT version FROM schema_migrations")}
    if not done:
        others = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = %s "
            "AND tablename <> 'schema_migrations'", (schema,)
        ).fetchone()
        if others and others[0]:
            raise StoreUnavailable(f"the schema {schema!r} holds tables of another application")
    return done


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
