"""The embedded store's connection handling and schema: one connection a thread to the file,
transactions (``BEGIN IMMEDIATE`` for writers, who queue), and the migrations in
``geodata/sql/sqlite/*.sql`` (applied in order, counted in ``PRAGMA user_version``)."""

from __future__ import annotations

import logging
import sqlite3
import threading
import uuid
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from importlib import resources
from pathlib import Path
from typing import Any

from geodata.errors import StoreUnavailable
from geodata.stores._shared import now, refuse_newer

log = logging.getLogger(__name__)


class _Held:
    """One thread's connection, and how deep that thread is in blocks using it: a connection
    is closed only by its own thread or while no block uses it (Python's ``sqlite3`` crashes the
    process when a connection is closed while another thread runs a statement on it). The
    thread holds it; when the thread ends, it is closed (see ``__del__``)."""

    __slots__ = ("__weakref__", "closed", "closing", "conn", "depth", "guard")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.depth = 0
        self.closing = False
        self.closed = False
        self.guard = threading.Lock()

    def close(self) -> None:
        """Close the connection now when no block uses it, or else when its last one ends."""
        with self.guard:
            if self.depth:
                self.closing = True
                return
            self.closing = False
            self.closed = True
        with suppress(sqlite3.Error):
            self.conn.close()

    def __del__(self) -> None:
        # the thread holding it ended (nothing else holds it): closed, not left for the
        # collector, so a service whose worker threads come and go keeps no file open for each
        with suppress(Exception):  # at the interpreter's exit, sqlite3's names may be gone
            self.conn.close()


class SQLiteConnections:
    """Connections to one store file: one a thread, made when a thread first asks.

    Each use of a connection is a block (:meth:`connection`, :meth:`transaction`), so that
    :meth:`close` never closes a connection under a statement another thread is running: it
    closes the connections no block uses at once, and each other one as its block ends.

    Parameters
    ----------
    path
        The store file.
    busy_timeout_s
        How long a writer waits for another writer to finish, in seconds.
    """

    def __init__(self, path: Path, busy_timeout_s: float) -> None:
        self.path = path
        self.busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        """Each thread's connection (replaced by :meth:`close`: the next block opens anew)."""
        self._inside = threading.local()
        """The connection of the block a thread is in (a block within it uses the same one,
        even after :meth:`close`)."""
        self._lock = threading.Lock()
        self._held: weakref.WeakSet[_Held] = weakref.WeakSet()

    def _this_thread(self) -> _Held:
        """This thread's connection (autocommit: transactions are begun by :meth:`transaction`).

        Raises
        ------
        StoreUnavailable
            If the file cannot be opened.
        """
        held: _Held | None = getattr(self._local, "held", None)
        if held is None:
            try:
                conn = sqlite3.connect(
                    self.path,
                    isolation_level=None,
                    check_same_thread=False,
                    timeout=self.busy_timeout_s,
                )
            except sqlite3.Error as exc:
                log.error("cannot open %s: %s", self.path, exc)
                raise StoreUnavailable("the store's database file cannot be opened") from exc
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = FULL")
            held = _Held(conn)
            self._local.held = held
            with self._lock:
                self._held.add(held)
        return held

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection for the block (autocommit: transactions are begun by
        :meth:`transaction`); :meth:`close` leaves it open until the block ends.

        Raises
        ------
        StoreUnavailable
            If the file cannot be opened.
        """
        held: _Held | None = getattr(self._inside, "held", None)
        if held is not None:  # a block within this thread's block: its connection, as it is
            with held.guard:
                held.depth += 1
        else:
            while True:
                held = self._this_thread()
                with held.guard:
                    if not held.closed:
                        held.depth += 1
                        break
                # closed between this thread finding it and taking it: the next one is new
            self._inside.held = held
        try:
            yield held.conn
        finally:
            with held.guard:
                held.depth -= 1
                outermost = not held.depth
                close = held.closing and outermost
            if outermost:
                self._inside.held = None
            if close:
                held.close()

    @contextmanager
    def transaction(self, immediate: bool = True) -> Iterator[sqlite3.Connection]:
        """A transaction on this thread's connection, committed on leaving the block and rolled
        back on an error; ``immediate``: take the write lock at once (writers queue for it).

        Raises
        ------
        StoreUnavailable
            If another writer held the store for longer than ``busy_timeout_s``.
        """
        with self.connection() as conn:
            try:
                conn.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
            except sqlite3.OperationalError as exc:
                log.warning("store %s busy: %s", self.path, exc)
                raise StoreUnavailable(
                    f"the store is busy (another writer held it for {self.busy_timeout_s:g} s); "
                    "try again"
                ) from exc
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            else:
                if conn.in_transaction:
                    conn.execute("COMMIT")

    def close(self) -> None:
        """Close every connection made: those no block uses now, the others as their blocks
        end (each in its own thread). A thread asking after this gets a new connection."""
        with self._lock:
            held, self._held = list(self._held), weakref.WeakSet()
            self._local = threading.local()
        for each in held:
            each.close()


def _scripts() -> list[tuple[int, Any]]:
    """The schema migrations, in order: (version, resource)."""
    return sorted(
        (int(p.name.split("_", 1)[0]), p)
        for p in resources.files("geodata").joinpath("sql/sqlite").iterdir()
        if p.name.endswith(".sql")
    )


def migrate(connections: SQLiteConnections, crs: str, timezone: str) -> dict[str, str]:
    """Apply the migrations not yet applied (a new store gets ``crs`` and ``timezone``) and
    return the store's metadata.

    Raises
    ------
    sqlite3.DatabaseError
        If the file is not a store of this project (or is damaged).
    """
    with connections.connection() as conn:
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            log.warning("store %s: journal mode is %s, not WAL", connections.path, mode)
        scripts = _scripts()
        latest = scripts[-1][0] if scripts else 0
        applied = int(conn.execute("PRAGMA user_version").fetchone()[0])
        refuse_newer(applied, latest)
        if applied < latest:
            with connections.transaction(immediate=True):
                _apply(conn, scripts, crs, timezone)
        return dict(conn.execute("SELECT key, value FROM meta").fetchall())


def _apply(conn: sqlite3.Connection, scripts: list[tuple[int, Any]], crs: str,
           timezone: str) -> None:
    """Apply the scripts newer than the file's version, inside the caller's transaction."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version == 0:
        tables = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
        if tables:
            raise sqlite3.DatabaseError("it holds tables of another application")
    for number, script in scripts:
        if number > version:
            for statement in script.read_text("utf-8").split(";\n"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
    if version == 0:
        conn.executemany(
            "INSERT INTO meta (key, value) VALUES (?, ?)",
            [
                ("store_id", uuid.uuid4().hex),
                ("crs", crs),
                ("timezone", timezone),
                ("created_at", now()),
                ("data_version", "0"),
            ],
        )


def applied_migrations(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """The schema migrations applied to the file, oldest first (SQLite records no time)."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    return [{"version": number, "name": script.name, "applied_at": None}
            for number, script in _scripts() if number <= version]
