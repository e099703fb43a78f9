"""The embedded store's connection handling and schema: one connection a thread to the file,
transactions (``BEGIN IMMEDIATE`` for writers, who queue), and the migrations in
``geodata/sql/sqlite/*.sql`` (applied in order, counted in ``PRAGMA user_version``)."""

from __future__ import annotations

import logging
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from importlib import resources
from pathlib import Path
from typing import Any

from geodata.errors import StoreUnavailable
from geodata.stores._shared import now, refuse_newer

log = logging.getLogger(__name__)


class SQLiteConnections:
    """Connections to one store file: one a thread, made when a thread first asks.

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
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []

    def conn(self) -> sqlite3.Connection:
        """This thread's connection (autocommit: transactions are begun by :meth:`transaction`).

        Raises
        ------
        StoreUnavailable
            If the file cannot be opened.
        """
        conn = getattr(self._local, "conn", None)
        if conn is None:
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
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    @contextmanager
    def transaction(self, immediate: bool = True) -> Iterator[sqlite3.Connection]:
        """A transaction on this thread's connection, committed on leaving the block and rolled
        back on an error; ``immediate``: take the write lock at once (writers queue for it).

        Raises
        ------
        StoreUnavailable
            If another writer held the store for longer than ``busy_timeout_s``.
        """
        conn = self.conn()
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
        """Close every connection made."""
        with self._lock:
            for conn in self._connections:
                with suppress(sqlite3.Error):
                    conn.close()
            self._connections.clear()
        self._local = threading.local()


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
    conn = connections.conn()
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
