"""The embedded store's ingest writer: new incidents as column blocks in Z-order, each block
indexed by its bounding box in the R*Tree, inside the ingest's one transaction."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from geodata.schema import NUMERIC_FIELDS, TEXT_FIELDS, IncidentTable
from geodata.stores._columns import KeySet, encode_numeric, encode_strings
from geodata.stores._shared import batch_identities, morton_order
from geodata.stores.base import DUPLICATE_IN_STORE, INSERTED

if TYPE_CHECKING:
    import sqlite3

    from geodata.stores.sqlite.store import SQLiteStore

BLOCK_ROWS = 16_384
"""Most incidents in one block."""

U64 = np.dtype("uint64")
ALL_COLUMNS = ("uid_hi", "uid_lo", *NUMERIC_FIELDS, *TEXT_FIELDS)
"""The column blobs of a block: the identity's two halves, then every field."""


class SQLiteWriter:
    """Writes incidents into one open transaction; see :meth:`SQLiteStore.writer`."""

    def __init__(
        self,
        store: SQLiteStore,
        conn: sqlite3.Connection,
        ingest_id: int,
        existing: KeySet,
        next_rid: int,
    ) -> None:
        self.store = store
        self.conn = conn
        self.ingest_id = ingest_id
        self.existing = existing
        self.this_ingest = KeySet()
        self.next_rid = next_rid
        self.finished = False
        self.inserted = 0

    def add(self, table: IncidentTable) -> np.ndarray:
        """Store the new incidents of ``table``; return the int8 status of each row."""
        if len(table) == 0:
            return np.full(0, INSERTED, dtype=np.int8)
        status, hi, lo, _repeated = batch_identities(table, self.store.crs, self.this_ingest)
        status[self.existing.contains(hi, lo)] = DUPLICATE_IN_STORE
        new = np.flatnonzero(status == INSERTED)
        if new.size:
            self.this_ingest.add(hi[new], lo[new])
            self._write_blocks(table.take(new), hi[new], lo[new])
        return status

    def _write_blocks(self, table: IncidentTable, hi: np.ndarray, lo: np.ndarray) -> None:
        cols = table.columns
        order = morton_order(cols["x"], cols["y"])
        for start in range(0, order.shape[0], BLOCK_ROWS):
            idx = order[start : start + BLOCK_ROWS]
            x, y, t = cols["x"][idx], cols["y"][idx], cols["occurred_at"][idx]
            values: list[Any] = [
                self.ingest_id,
                table.namespace,
                self.next_rid,
                int(idx.shape[0]),
                int(t.min()),
                int(t.max()),
                encode_numeric(hi[idx], U64),
                encode_numeric(lo[idx], U64),
            ]
            values += [encode_numeric(cols[c][idx], dt) for c, dt in NUMERIC_FIELDS.items()]
            values += [encode_strings(cols[c][idx], plain=c == "id") for c in TEXT_FIELDS]
            names = ("ingest_id", "namespace", "rid_start", "n", "tmin", "tmax", *ALL_COLUMNS)
            cur = self.conn.execute(
                f"INSERT INTO blocks ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                values,
            )
            self.conn.execute(
                "INSERT INTO blocks_rtree (block_id, minx, maxx, miny, maxy) VALUES (?,?,?,?,?)",
                (cur.lastrowid, float(x.min()), float(x.max()), float(y.min()), float(y.max())),
            )
            self.next_rid += int(idx.shape[0])
            self.inserted += int(idx.shape[0])

    def end_of_input(self) -> None:
        """Nothing to start early: SQLite's work is done as each batch is added."""

    def finish(self, summary: dict[str, Any]) -> str:
        """Record the ingest and commit; return the data version after it."""
        self.store._record_ingest(self.conn, self.ingest_id, summary)
        version = (
            self.store._bump_version(self.conn)
            if self.inserted
            else self.store._version(self.conn)
        )
        self.conn.execute("COMMIT")
        self.finished = True
        return version
