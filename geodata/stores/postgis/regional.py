"""The PostGIS store's regional layout: incidents partitioned by force, then by month.

A region's store holds several forces' incidents, and a selection names a force (the store is
opened for one, see :meth:`PostGISStore.open`) and a period, so the planner reads only the
partitions of that force and those months. ``incidents`` is partitioned by list on ``force``
(the code of the ``Falls within`` text in ``strings``) into one table per force,
``incidents_f<code>``, itself partitioned by range on ``occurred_at`` into one table per month,
``incidents_f<code>_<YYYY>_<MM>``: from the first instant of the month in the store's time zone
(where data.police.uk's months begin, see :mod:`geodata.readers.police`) to the first instant of
the next. Each month's table has its own indexes (GiST on the point, the period, the category
with the period); the partitioned tables above them have none, so that a month's table is loaded
before its indexes are built, once, instead of maintaining them row by row.

Identity: a partitioned table's unique keys must hold its partition keys, and an incident's
identity (source kind + id) does not, so identities stay in the narrow ``incident_keys`` table
of every PostGIS store, as in the plain layout, with the same exactly-once ingest (the store's
lock, an anti-join against the committed keys, the ingest's own repeats dropped on the client).

Partitions are made when an ingest first meets a force or a month, inside the ingest's
transaction: an ingest that fails leaves none behind, and none is made that holds nothing. A
partition is attached to its parent empty (``ATTACH PARTITION``, which takes a lock that lets
readers go on, unlike ``CREATE TABLE ... PARTITION OF``), the ingest's one COPY into
``incidents`` routes each row to its month, and the indexes of the partitions the ingest made
are built when it has stopped writing to them (at the latest when its input ends). There is no
default partition, so attaching a partition never has to scan one.

The layout is chosen when a store is made (``layout="regional"``); a store holding incidents in
the plain layout is converted in place, in one transaction, by :func:`convert` (rows, row ids,
identities and the data version unchanged).
"""

from __future__ import annotations

import datetime as dt
import functools
from contextlib import suppress
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import numpy as np
import psycopg
from psycopg import sql

from geodata.errors import InvalidValue
from geodata.schema import IncidentTable
from geodata.stores import _pgcopy
from geodata.stores.postgis import writer as plain
from geodata.stores.postgis.writer import _COPY_COLUMNS, I8, PostGISWriter, _Factors

if TYPE_CHECKING:
    from geodata.stores.postgis.store import PostGISStore

PLAIN = "plain"
REGIONAL = "regional"
LAYOUTS = (PLAIN, REGIONAL)
"""The PostGIS store's layouts of ``incidents`` (recorded in ``meta`` under ``layout``; a store
without the entry has the plain one)."""

INDEXES = (("geom", "USING gist (geom)"), ("period", "(occurred_at)"),
           ("category", "(category, occurred_at)"))
"""The indexes of each month's table: name suffix and definition."""


def check_layout(layout: str) -> str:
    """``layout`` if it is one of :data:`LAYOUTS`.

    Raises
    ------
    InvalidValue
        Naming the field ``layout``.
    """
    if layout not in LAYOUTS:
        raise InvalidValue(f"layout must be one of {', '.join(LAYOUTS)}, not {layout!r}",
                           field="layout")
    return layout


def month_key(year: int, month: int) -> int:
    """A month as one integer: months since the start of year 0."""
    return year * 12 + month - 1


def month_start(key: int, tz: ZoneInfo) -> int:
    """The first instant of month ``key`` (:func:`month_key`) in time zone ``tz``, seconds since
    the epoch (UTC)."""
    year, m = divmod(key, 12)
    return int(dt.datetime(year, m + 1, 1, tzinfo=tz).timestamp())


def month_of(seconds: int, tz: ZoneInfo) -> int:
    """The month (:func:`month_key`) in time zone ``tz`` that holds instant ``seconds``."""
    local = dt.datetime.fromtimestamp(seconds, tz)
    return month_key(local.year, local.month)


def month_keys(occurred_at: np.ndarray, tz: ZoneInfo) -> np.ndarray:
    """The month (:func:`month_key`) of each instant of ``occurred_at`` (int64 seconds since
    the epoch), in time zone ``tz``: a binary search among the month starts of the range."""
    if occurred_at.size == 0:
        return np.empty(0, dtype=np.int64)
    first = month_of(int(occurred_at.min()), tz)
    last = month_of(int(occurred_at.max()), tz)
    starts = np.array([month_start(k, tz) for k in range(first, last + 2)], dtype=np.int64)
    return np.searchsorted(starts, occurred_at, side="right").astype(np.int64) - 1 + first


def force_table(force: int) -> str:
    """The name of the partition of force code ``force`` (partitioned by month)."""
    return f"incidents_f{force}"


def month_table(force: int, key: int) -> str:
    """The name of the partition of force code ``force`` and month ``key``."""
    year, m = divmod(key, 12)
    return f"incidents_f{force}_{year:04d}_{m + 1:02d}"


def partitions(conn: psycopg.Connection[Any], root: str = "incidents") -> dict[int, set[int]]:
    """The month partitions under ``root`` (in the connection's schema), by force code: the
    months (:func:`month_key`) each force has a table for."""
    rows = conn.execute(
        "SELECT f.relname, m.relname FROM pg_inherits fi "
        "JOIN pg_class f ON f.oid = fi.inhrelid "
        "LEFT JOIN pg_inherits mi ON mi.inhparent = f.oid "
        "LEFT JOIN pg_class m ON m.oid = mi.inhrelid "
        "WHERE fi.inhparent = to_regclass(%s)", (root,)).fetchall()
    out: dict[int, set[int]] = {}
    for force_name, month_name in rows:
        force = int(str(force_name).removeprefix("incidents_f"))
        months = out.setdefault(force, set())
        if month_name is not None:
            _f, year, m = str(month_name).rsplit("_", 2)
            months.add(month_key(int(year), int(m)))
    return out


def add_partitions(conn: psycopg.Connection[Any], pairs: list[tuple[int, int]],
                   known: dict[int, set[int]], tz: ZoneInfo, *, root: str = "incidents") -> None:
    """Make the (empty, index-less) month tables of ``pairs`` (force code, month key) that
    ``known`` does not hold, and the force tables above them, attached under ``root``; record
    them in ``known``."""
    for force, key in pairs:
        if key in known.get(force, ()):
            continue
        if force not in known:
            table = sql.Identifier(force_table(force))
            conn.execute(sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS) "
                                 "PARTITION BY RANGE (occurred_at)").format(
                                     table, sql.Identifier(root)))
            conn.execute(sql.SQL("ALTER TABLE {} ATTACH PARTITION {} FOR VALUES IN ({})").format(
                sql.Identifier(root), table, sql.Literal(force)))
            known[force] = set()
        table = sql.Identifier(month_table(force, key))
        conn.execute(sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS)").format(
            table, sql.Identifier(root)))
        conn.execute(sql.SQL("ALTER TABLE {} ATTACH PARTITION {} FOR VALUES FROM ({}) TO ({})")
                     .format(sql.Identifier(force_table(force)), table,
                             sql.Literal(month_start(key, tz)),
                             sql.Literal(month_start(key + 1, tz))))
        known[force].add(key)


def build_indexes(conn: psycopg.Connection[Any], table: str) -> None:
    """Build the indexes of a month's table (:data:`INDEXES`)."""
    for suffix, definition in INDEXES:
        conn.execute(sql.SQL("CREATE INDEX {} ON {} " + definition).format(
            sql.Identifier(f"{table}_{suffix}"), sql.Identifier(table)))


def _pairs(force: np.ndarray, months: np.ndarray) -> list[tuple[int, int]]:
    """The distinct (force code, month key) pairs of rows."""
    both = np.unique(np.stack([force.astype(np.int64), months]), axis=1)
    return [(int(f), int(m)) for f, m in both.T]


def convert(conn: psycopg.Connection[Any], timezone: str) -> int:
    """Rebuild ``incidents`` (plain layout) in the regional layout, in place, inside the
    caller's transaction (which holds the store's write lock): every row keeps its row id,
    identity and values; the data version does not change (the data has not). Returns the
    number of incidents moved.

    The new tree is made with empty month tables, filled by one ``INSERT ... SELECT`` that
    routes each row to its month, then the indexes are built, the old table dropped and the
    new one renamed; readers wait for the transaction (it locks ``incidents``) and then see
    the new layout whole.
    """
    tz = ZoneInfo(timezone)
    conn.execute("LOCK TABLE incidents IN ACCESS EXCLUSIVE MODE")
    conn.execute("CREATE TABLE incidents_regional (LIKE incidents INCLUDING DEFAULTS) "
                 "PARTITION BY LIST (force)")
    span = conn.execute("SELECT min(occurred_at), max(occurred_at) FROM incidents").fetchone()
    known: dict[int, set[int]] = {}
    if span is not None and span[0] is not None:
        first, last = month_of(int(span[0]), tz), month_of(int(span[1]), tz)
        starts = [month_start(k, tz) for k in range(first, last + 2)]
        # width_bucket over the same month starts as the ingest uses: bucket i is month
        # first + i - 1
        pairs = [(int(f), first + int(b) - 1) for f, b in conn.execute(
            "SELECT DISTINCT force, width_bucket(occurred_at, %s::bigint[]) FROM incidents",
            (starts,)).fetchall()]
        add_partitions(conn, pairs, known, tz, root="incidents_regional")
    columns = sql.SQL(", ").join(map(sql.Identifier, _COPY_COLUMNS))
    moved = conn.execute(sql.SQL("INSERT INTO incidents_regional ({}) SELECT {} FROM incidents")
                         .format(columns, columns)).rowcount
    for force, months in known.items():
        for key in months:
            build_indexes(conn, month_table(force, key))
    conn.execute("DROP TABLE incidents")
    conn.execute("ALTER TABLE incidents_regional RENAME TO incidents")
    conn.execute("INSERT INTO meta (key, value) VALUES ('layout', %s) "
                 "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (REGIONAL,))
    return int(moved)


class RegionalWriter(PostGISWriter):
    """An ingest's writer for the regional layout (see :class:`PostGISWriter` for the caller's
    side, which is the same: which incidents are new, their binary COPY).

    The worker streams the new rows by COPY into ``incidents`` itself, which routes each row to
    its month's table. Before rows of a force-month with no table yet are sent, the worker ends
    the COPY and makes the table (empty, attached, no index; it then starts a new COPY). Every
    :data:`~geodata.stores.postgis.writer.PART_ROWS` rows it ends the COPY to add the part's
    identities to ``incident_keys`` (in key order, by binary COPY) and to build the indexes of
    the tables this ingest made and no longer writes to (none of the part's rows went there),
    while the caller reads on; the rest are built when the input ends.
    """

    def __init__(self, store: PostGISStore, conn: psycopg.Connection[Any],
                 side: psycopg.Connection[Any], ingest_id: int) -> None:
        super().__init__(store, conn, side, ingest_id)
        self.tz = ZoneInfo(store.timezone)
        self.known = partitions(conn)
        """The month tables there are, or will be once the worker has made them."""
        self.unindexed: set[tuple[int, int]] = set()
        """Month tables this ingest made whose indexes are not built (or asked for) yet."""
        self.touched: set[tuple[int, int]] = set()
        """Of those, the ones the current part has sent rows to."""
        self.part_rows = 0
        self.part_keys: list[tuple[np.ndarray, np.ndarray]] = []
        self._tables = {f: set(months) for f, months in self.known.items()}
        """The month tables there are (the worker's own copy)."""
        self._copying: Any = None  # the worker's open COPY: the copy() context manager
        self._copy: Any = None  # and the psycopg Copy it gave

    def _send(self, table: IncidentTable, rows: np.ndarray, hi: np.ndarray,
              lo: np.ndarray, factors: _Factors) -> None:
        n = rows.size
        fixed = self._columns(table, hi, lo, factors, 0)
        force = next(values for name, values, _dtype in fixed if name == "force")
        pairs = _pairs(force, month_keys(factors.cols["occurred_at"], self.tz))
        new = [p for p in pairs if p[1] not in self.known.get(p[0], ())]
        if new:
            for f, key in new:
                self.known.setdefault(f, set()).add(key)
            self.unindexed.update(new)
            self.pipe.submit(functools.partial(self._add_partitions, new))
        self.touched.update(p for p in pairs if p in self.unindexed)
        blocks = _pgcopy.row_blocks(fixed, [str(v) for v in factors.cols["id"]])
        self.pipe.submit(functools.partial(self._write_rows, blocks))
        self.part_keys.append((hi, lo))
        self.part_rows += n
        self.inserted += n
        if self.part_rows >= plain.PART_ROWS:
            self._end_part(done=self.unindexed - self.touched)

    def _end_part(self, done: set[tuple[int, int]]) -> None:
        """Hand the worker the part's keys and the tables whose indexes are due; start a new
        part."""
        if not self.part_keys and not done:
            return
        keys, self.part_keys = self.part_keys, []
        self.unindexed -= done
        self.touched = set()
        self.part_rows = 0
        self.pipe.submit(functools.partial(
            self._seal_part, keys, sorted(month_table(f, k) for f, k in done)))

    def end_of_input(self) -> None:
        if self.input_ended:
            return
        self.input_ended = True
        self._end_part(done=set(self.unindexed))
        if self.first_load:
            self.pipe.submit(self._restore_key)

    def close(self) -> None:
        self.pipe.abort()
        self._prober.shutdown(wait=True, cancel_futures=True)
        if self._copying is not None:
            copying, self._copying, self._copy = self._copying, None, None
            abandoned = RuntimeError("ingest abandoned")
            # the server drops what it had; a broken connection: the rollback will say so
            with suppress(psycopg.Error):
                copying.__exit__(RuntimeError, abandoned, None)

    # -- the worker thread, on the ingest's connection ----------------------------------------

    def _end_copy(self) -> None:
        if self._copying is not None:
            self._copy.write(_pgcopy.TRAILER)
            copying, self._copying, self._copy = self._copying, None, None
            copying.__exit__(None, None, None)  # waits for the server to have stored every row

    def _add_partitions(self, pairs: list[tuple[int, int]]) -> None:
        self._end_copy()
        add_partitions(self.conn, pairs, self._tables, self.tz)

    def _write_rows(self, blocks: list[memoryview]) -> None:
        if self._copying is None:
            # (no FREEZE: PostgreSQL takes it for a table, not for a partitioned one)
            self._copying = self.conn.cursor().copy(sql.SQL(
                "COPY incidents (" + ", ".join(_COPY_COLUMNS) + ") FROM STDIN (FORMAT BINARY)"))
            self._copy = self._copying.__enter__()
            self._copy.write(_pgcopy.HEADER)
        for block in blocks:
            self._copy.write(block)

    def _seal_part(self, keys: list[tuple[np.ndarray, np.ndarray]], tables: list[str]) -> None:
        """End the COPY, add the part's identities to ``incident_keys`` and build the indexes
        of ``tables``."""
        self._end_copy()
        if keys:
            hi = np.concatenate([k[0] for k in keys]).view(np.int64)
            lo = np.concatenate([k[1] for k in keys]).view(np.int64)
            order = np.lexsort((lo, hi))
            data = _pgcopy.build([("uid_hi", hi[order], I8), ("uid_lo", lo[order], I8)])
            with self.conn.cursor().copy(
                    "COPY incident_keys (uid_hi, uid_lo) FROM STDIN (FORMAT BINARY)") as cp:
                cp.write(data)
        for table in tables:
            build_indexes(self.conn, table)
