"""The embedded store's column readers: a selection of incidents read block by block (the
R*Tree and each block's time range pick the blocks, numpy the rows), as columns or as a page of
records."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from geodata.coords import lonlat_bounds_in
from geodata.errors import InvalidValue
from geodata.schema import NUMERIC_FIELDS, TEXT_FIELDS, IncidentColumns, IncidentFilter
from geodata.stores._columns import decode_numeric, decode_string_values, decode_strings
from geodata.stores._shared import check_extra_columns, incident_record
from geodata.stores.base import RecordPage, page_bounds
from geodata.stores.sqlite.writer import ALL_COLUMNS

if TYPE_CHECKING:
    import sqlite3


class BlockReader:
    """Reading incidents back from the blocks (mixed into :class:`SQLiteStore`)."""

    crs: str
    timezone: str

    if TYPE_CHECKING:  # the store's own (see SQLiteStore)

        def _connection(self) -> AbstractContextManager[sqlite3.Connection]: ...

        def _transaction(
            self, immediate: bool = True
        ) -> AbstractContextManager[sqlite3.Connection]: ...

        def _version(self, conn: Any) -> str: ...

    def count(self) -> int:
        """Number of incidents stored."""
        with self._connection() as conn:
            return int(conn.execute("SELECT coalesce(sum(n), 0) FROM blocks").fetchone()[0])

    def holds_incidents(self, flt: IncidentFilter | None = None) -> bool:
        """Whether any incident matches ``flt`` (see :meth:`Store.holds_incidents`): the
        blocks that may match are decoded only as far as the filter needs, up to the first
        block with a match."""
        with self._transaction(immediate=False) as conn:
            for _match in self._scan(conn, flt or IncidentFilter(), ()):
                return True
        return False

    def time_span(self, flt: IncidentFilter | None = None) -> tuple[int, int] | None:
        """The earliest and latest ``occurred_at`` of the incidents matching ``flt`` (see
        :meth:`Store.time_span`): of every incident, each block's time range (kept as it is
        written); else of the matching rows of the blocks that may match."""
        flt = flt or IncidentFilter()
        with self._transaction(immediate=False) as conn:
            if flt == IncidentFilter():
                lo, hi = conn.execute("SELECT min(tmin), max(tmax) FROM blocks").fetchone()
                return None if lo is None else (int(lo), int(hi))
            first: int | None = None
            last: int | None = None
            for _bid, _rid, mask, blobs in self._scan(conn, flt, ["occurred_at"]):
                t = decode_numeric(blobs["occurred_at"], NUMERIC_FIELDS["occurred_at"])[mask]
                if t.size:
                    first = int(t.min()) if first is None else min(first, int(t.min()))
                    last = int(t.max()) if last is None else max(last, int(t.max()))
        return None if first is None or last is None else (first, last)

    def _scan(
        self, conn: sqlite3.Connection, flt: IncidentFilter, columns: Sequence[str]
    ) -> Iterator[tuple[int, int, np.ndarray, dict[str, bytes]]]:
        """Yield ``(block_id, rid_start, mask, blobs)`` for the blocks that may match."""
        unknown = set(columns) - set(ALL_COLUMNS)
        if unknown:
            raise InvalidValue(f"unknown incident columns: {sorted(unknown)}", field="columns")
        base = ["x", "y", "occurred_at", "category"]
        if flt.lonlat_bbox is not None:
            base += ["lon", "lat"]
        need = list(dict.fromkeys([*base, *columns]))
        sql = [f"SELECT block_id, rid_start, n, {', '.join(need)} FROM blocks WHERE 1 = 1"]
        params: list[Any] = []
        if flt.start is not None:
            sql.append("AND tmax >= ?")
            params.append(flt.start)
        if flt.end is not None:
            sql.append("AND tmin < ?")
            params.append(flt.end)
        boxes = [flt.bbox] if flt.bbox is not None else []
        if flt.lonlat_bbox is not None:
            box = lonlat_bounds_in(flt.lonlat_bbox, self.crs)
            if box is None:  # wholly beyond the CRS's area of use, where nothing is stored
                return
            boxes.append(box)
        for minx, miny, maxx, maxy in boxes:
            sql.append(
                "AND block_id IN (SELECT block_id FROM blocks_rtree "
                "WHERE maxx >= ? AND minx <= ? AND maxy >= ? AND miny <= ?)"
            )
            params += [minx, maxx, miny, maxy]
        sql.append("ORDER BY block_id")
        wanted = set(flt.categories) if flt.categories is not None else None
        for row in conn.execute(" ".join(sql), params):
            block_id, rid_start, n = row[0], row[1], row[2]
            blobs = dict(zip(need, row[3:], strict=True))
            mask = np.ones(n, dtype=bool)
            if flt.start is not None or flt.end is not None:
                t = decode_numeric(blobs["occurred_at"], NUMERIC_FIELDS["occurred_at"])
                if flt.start is not None:
                    mask &= t >= flt.start
                if flt.end is not None:
                    mask &= t < flt.end
            for box, cx, cy in ((flt.bbox, "x", "y"), (flt.lonlat_bbox, "lon", "lat")):
                if box is not None:
                    minx, miny, maxx, maxy = box
                    x = decode_numeric(blobs[cx], NUMERIC_FIELDS[cx])
                    y = decode_numeric(blobs[cy], NUMERIC_FIELDS[cy])
                    mask &= (x >= minx) & (x <= maxx) & (y >= miny) & (y <= maxy)
            if wanted is not None:
                codes, uniques = decode_strings(blobs["category"])
                hit = np.array([u in wanted for u in uniques] + [False], dtype=bool)
                mask &= hit[codes]
            if mask.any():
                yield int(block_id), int(rid_start), mask, blobs

    def incidents(
        self, flt: IncidentFilter | None = None, *, extra: Sequence[str] = (),
        lonlat: bool = True,
    ) -> IncidentColumns:
        """Select incidents as columns (see :meth:`Store.incidents`)."""
        flt = flt or IncidentFilter()
        check_extra_columns(extra)
        numeric = ("x", "y", *(("lon", "lat") if lonlat else ()), "occurred_at", "precision",
                   "weight")
        parts: dict[str, list[np.ndarray]] = {c: [] for c in (*numeric, "rid")}
        text_cols = ("category", *[c for c in extra if c != "category"])
        codes: dict[str, list[np.ndarray]] = {c: [] for c in text_cols}
        vocab: dict[str, dict[str, int]] = {c: {} for c in text_cols}
        with self._transaction(immediate=False) as conn:
            version = self._version(conn)
            for _bid, rid_start, mask, blobs in self._scan(conn, flt, [*numeric, *text_cols]):
                whole = bool(mask.all())  # the usual case: no copy of each column to mask it
                for c in numeric:
                    values = decode_numeric(blobs[c], NUMERIC_FIELDS[c])
                    parts[c].append(values if whole else values[mask])
                parts["rid"].append(rid_start + (np.arange(mask.size) if whole
                                                 else np.flatnonzero(mask)))
                for c in text_cols:
                    local, uniques = decode_strings(blobs[c])
                    seen = vocab[c]
                    to_global = np.array(
                        [seen.setdefault(u, len(seen)) for u in uniques] + [-1], dtype=np.int64
                    )
                    codes[c].append(to_global[local if whole else local[mask]])

        def cat(c: str) -> pd.Categorical[str]:
            values = np.concatenate(codes[c]) if codes[c] else np.empty(0, dtype=np.int64)
            # the codes index the vocabulary they were made with: nothing to check
            return pd.Categorical.from_codes(values, categories=pd.Index(list(vocab[c])),
                                             validate=False)

        def num(c: str, dtype: np.dtype) -> np.ndarray:
            return np.concatenate(parts[c]) if parts.get(c) else np.empty(0, dtype)

        return IncidentColumns(
            x=num("x", NUMERIC_FIELDS["x"]),
            y=num("y", NUMERIC_FIELDS["y"]),
            lon=num("lon", NUMERIC_FIELDS["lon"]),
            lat=num("lat", NUMERIC_FIELDS["lat"]),
            occurred_at=num("occurred_at", NUMERIC_FIELDS["occurred_at"]),
            precision=num("precision", NUMERIC_FIELDS["precision"]),
            category=cat("category"),
            weight=num("weight", NUMERIC_FIELDS["weight"]),
            rid=num("rid", np.dtype("int64")),
            crs=self.crs,
            data_version=version,
            extra={c: cat(c) for c in extra},
        )

    def incident_records(
        self, flt: IncidentFilter | None = None, *, offset: int = 0, limit: int = 100
    ) -> RecordPage:
        """One page of incidents with every field, ordered by time then row id."""
        flt = flt or IncidentFilter()
        rids: list[np.ndarray] = []
        times: list[np.ndarray] = []
        starts: list[int] = []
        with self._transaction(immediate=False) as conn:
            version = self._version(conn)
            for _bid, rid_start, mask, blobs in self._scan(conn, flt, ["occurred_at"]):
                idx = np.flatnonzero(mask)
                rids.append(rid_start + idx)
                times.append(decode_numeric(blobs["occurred_at"], NUMERIC_FIELDS["occurred_at"])[idx])
                starts.append(rid_start)
            rid = np.concatenate(rids) if rids else np.empty(0, dtype=np.int64)
            t = np.concatenate(times) if times else np.empty(0, dtype=np.int64)
            total = int(rid.shape[0])
            lo, hi = page_bounds(total, offset, limit)
            order = np.lexsort((rid, t))[lo:hi]
            records = self._page_records(conn, starts, rid[order]) if order.size else []
        return RecordPage(total=total, offset=lo, records=records, data_version=version)

    def _page_records(self, conn: sqlite3.Connection, starts: list[int],
                      page: np.ndarray) -> list[dict[str, Any]]:
        """The records of the row ids ``page``, in that order (``starts``: the first row id of
        each block the selection read, ascending)."""
        first_rids = np.asarray(starts)
        block_of = np.searchsorted(first_rids, page, side="right") - 1
        decoded = self._decoded_blocks(conn, sorted({starts[i] for i in block_of}))
        records: list[dict[str, Any]] = []
        for r in page:
            rs = starts[int(np.searchsorted(first_rids, r, side="right") - 1)]
            records.append(self._record(decoded[rs], int(r - rs), int(r)))
        return records

    @staticmethod
    def _decoded_blocks(conn: sqlite3.Connection,
                        rid_starts: list[int]) -> dict[int, dict[str, np.ndarray]]:
        """Every column of the blocks that start at ``rid_starts``, decoded, by first row id."""
        marks = ",".join("?" * len(rid_starts))
        blocks = {
            int(r[0]): r
            for r in conn.execute(
                f"SELECT rid_start, namespace, {', '.join(ALL_COLUMNS[2:])} "
                f"FROM blocks WHERE rid_start IN ({marks})",
                rid_starts,
            )
        }
        decoded: dict[int, dict[str, np.ndarray]] = {}
        for rs, row in blocks.items():
            cols: dict[str, np.ndarray] = {"namespace": np.array([row[1]])}
            for name, blob in zip(ALL_COLUMNS[2:], row[2:], strict=True):
                if name in NUMERIC_FIELDS:
                    cols[name] = decode_numeric(blob, NUMERIC_FIELDS[name])
                else:
                    cols[name] = decode_string_values(blob)
            decoded[rs] = cols
        return decoded

    def _record(self, cols: dict[str, np.ndarray], i: int, rid: int) -> dict[str, Any]:
        return incident_record(
            rid=rid, ident=cols["id"][i], namespace=str(cols["namespace"][0]),
            occurred_at=int(cols["occurred_at"][i]), precision=int(cols["precision"][i]),
            texts={name: cols[name][i] for name in TEXT_FIELDS[1:]},
            numbers={name: cols[name][i] for name in ("x", "y", "lon", "lat", "weight")},
            timezone=self.timezone,
        )
