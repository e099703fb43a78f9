"""The PostGIS store's ingest writer: new incidents streamed by one long binary COPY into a
table of the ingest's own, sealed into a partition every :data:`PART_ROWS` rows, while the
caller reads on (see :class:`PostGISWriter`)."""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql

from geodata.schema import TEXT_FIELDS, IncidentTable
from geodata.stores import _pgcopy, _pipeline
from geodata.stores._columns import KeySet
from geodata.stores._shared import batch_identities, morton_order
from geodata.stores.base import DUPLICATE_IN_STORE, INSERTED

if TYPE_CHECKING:
    from geodata.stores.postgis.store import PostGISStore

CODED = tuple(f for f in TEXT_FIELDS if f != "id")
"""Text columns kept as codes into ``strings`` (the id is kept as text: it is mostly unique)."""
I8, I4, I2 = np.dtype("int64"), np.dtype("int32"), np.dtype("int16")
F8, F4 = np.dtype("float64"), np.dtype("float32")

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


class PostGISWriter:
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
        keys = _pgcopy.build([("ord", order, I4), ("uid_hi", shi[order], I8),
                              ("uid_lo", slo[order], I8)])
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
        if self.part is None:
            bucket = self.side.execute("SELECT nextval('incident_bucket')").fetchone()
            assert bucket is not None
            self.part = _Part(int(bucket[0]))
            self.pipe.submit(functools.partial(self._open, self.part))
        part = self.part
        fixed = self._columns(table, hi, lo, factors, part.bucket)
        blocks = _pgcopy.row_blocks(fixed, [str(v) for v in factors.cols["id"]])
        self.pipe.submit(functools.partial(self._write, part, blocks))
        part.rows += n
        self.inserted += n
        if part.rows >= PART_ROWS:
            self.pipe.submit(functools.partial(self._seal, part))
            self.part = None

    def _columns(self, table: IncidentTable, hi: np.ndarray, lo: np.ndarray,
                 factors: _Factors, bucket: int) -> list[tuple[str, np.ndarray, np.dtype]]:
        """The fixed-width columns of the rows in ``factors`` (every column of
        :data:`_COPY_COLUMNS` but the id, in that order), their text as dictionary codes and
        their row ids taken from the store's sequence."""
        n = len(hi)
        cols = factors.cols
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
            ("bucket", np.full(n, bucket), I8),
            ("rid", rid, I8),
            ("uid_hi", hi.view(np.int64), I8),
            ("uid_lo", lo.view(np.int64), I8),
            ("ingest_id", np.full(n, self.ingest_id), I8),
            ("namespace", np.full(n, lookup[table.namespace]), I4),
            ("occurred_at", cols["occurred_at"], I8),
            ("precision", cols["precision"], I2),
            ("x", cols["x"], F8), ("y", cols["y"], F8),
            ("lon", cols["lon"], F8), ("lat", cols["lat"], F8),
            ("weight", cols["weight"], F4),
        ]
        for c in CODED:
            codes, found = factors.codes[c]
            table_codes = np.array([lookup[str(u)] for u in found], dtype=np.int64)
            fixed.append((c, table_codes[codes], I4))
        fixed.append(("geom", geom.view("V25"), np.dtype("V25")))
        assert (*(name for name, _v, _d in fixed), "id") == _COPY_COLUMNS
        return fixed

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
        self.store._record_ingest(conn, self.ingest_id, summary)
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
