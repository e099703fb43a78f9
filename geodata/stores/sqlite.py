"""The embedded store: one SQLite file, incidents kept as column blocks under an R*Tree.

Why blocks rather than one table row per incident: reading a million incidents back through
``sqlite3`` one row at a time costs about a second in tuple-building alone, and inserting them
with a unique index on a random 128-bit key costs seven. Here each ingest writes its new
incidents as blocks of up to :data:`BLOCK_ROWS` rows, ordered along a Morton (Z-order) curve so
every block covers a compact area; each column of a block is one BLOB (numbers as raw arrays,
text dictionary-encoded). The R*Tree indexes the blocks' bounding boxes and each block records
its time range, so a query reads only the blocks it can match and then filters rows with numpy.

Identity: an incident is the BLAKE2b-128 hash of its namespace and id. Each ingest loads the
stored keys (16 bytes an incident) inside its write transaction, so duplicates are found with
two binary searches per batch and no other writer can slip in between.

Durability: WAL journal, ``synchronous=FULL``, one transaction per ingest. A failed or killed
ingest leaves the file exactly as it was.
"""

from __future__ import annotations

import json
import logging
import secrets
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from geodata.coords import lonlat_bounds_in
from geodata.errors import PublicationConflict, StoreUnavailable
from geodata.schema import (
    DEFAULT_CRS,
    DEFAULT_TIMEZONE,
    NUMERIC_FIELDS,
    TEXT_FIELDS,
    IncidentColumns,
    IncidentFilter,
    IncidentTable,
)
from geodata.stores._columns import (
    KeySet,
    decode_numeric,
    decode_string_values,
    decode_strings,
    encode_numeric,
    encode_strings,
)
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
    now_us,
    overlap_message,
    plan_record,
    plan_summary,
    product_record,
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

BLOCK_ROWS = 16_384
"""Most incidents in one block."""

_U64 = np.dtype("uint64")
_ALL_COLUMNS = ("uid_hi", "uid_lo", *NUMERIC_FIELDS, *TEXT_FIELDS)


class SQLiteStore:
    """The embedded store in one SQLite file.

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
    ValueError
        If ``crs`` is not a projected CRS in metres.
    """

    kind = "sqlite"

    def __init__(
        self,
        path: str | Path,
        *,
        crs: str = DEFAULT_CRS,
        timezone: str = DEFAULT_TIMEZONE,
        busy_timeout_s: float = 60.0,
        create: bool = True,
    ) -> None:
        self.path = Path(path).expanduser()
        self.busy_timeout_s = busy_timeout_s
        check_force_crs(crs)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        if not self.path.exists():
            if not create:
                raise StoreUnavailable("no store exists at the given location")
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreUnavailable(
                    f"cannot create the folder for the store: {exc.strerror}"
                ) from exc
        try:
            self._migrate(crs, timezone)
            meta = dict(self._conn().execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.DatabaseError as exc:
            self.close()
            log.error("cannot open %s as a store: %s", self.path, exc)
            raise StoreUnavailable(
                "the database file is not a hotspot store (or is damaged)"
            ) from exc
        self.store_id = meta["store_id"]
        self.crs = meta["crs"]
        self.timezone = meta["timezone"]

    # -- connections and schema ------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
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
    def _transaction(self, immediate: bool = False) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
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

    def _migrate(self, crs: str, timezone: str) -> None:
        conn = self._conn()
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            log.warning("store %s: journal mode is %s, not WAL", self.path, mode)
        scripts = sorted(
            (int(p.name.split("_", 1)[0]), p)
            for p in resources.files("geodata").joinpath("sql/sqlite").iterdir()
            if p.name.endswith(".sql")
        )
        latest = scripts[-1][0] if scripts else 0
        if conn.execute("PRAGMA user_version").fetchone()[0] >= latest:
            return
        with self._transaction(immediate=True):
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                tables = conn.execute(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
                ).fetchone()[0]
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

    def migrations(self) -> list[dict[str, Any]]:
        """The schema migrations applied (the embedded store applies them when it opens)."""
        version = int(self._conn().execute("PRAGMA user_version").fetchone()[0])
        scripts = sorted(p.name for p in resources.files("geodata").joinpath("sql/sqlite")
                         .iterdir() if p.name.endswith(".sql"))
        return [{"version": int(n.split("_", 1)[0]), "name": n, "applied_at": None}
                for n in scripts if int(n.split("_", 1)[0]) <= version]

    def close(self) -> None:
        """Close every connection this object opened."""
        with self._lock:
            for conn in self._connections:
                with suppress(sqlite3.Error):
                    conn.close()
            self._connections.clear()
        self._local = threading.local()

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path)!r})"

    # -- metadata -----------------------------------------------------------------------------

    def _meta(self, conn: sqlite3.Connection, key: str) -> str | None:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _version(self, conn: sqlite3.Connection) -> str:
        return f"{self.store_id[:8]}.{self._meta(conn, 'data_version')}"

    def _bump_version(self, conn: sqlite3.Connection) -> str:
        conn.execute(
            "UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) "
            "WHERE key = 'data_version'"
        )
        return self._version(conn)

    def data_version(self) -> str:
        """An opaque string that changes whenever incidents or layers change."""
        return self._version(self._conn())

    def purpose(self) -> str | None:
        """``"demo"``, ``"force"``, or None while nothing has been stored."""
        return self._meta(self._conn(), "purpose")

    def _claim(self, conn: sqlite3.Connection, purpose: str) -> None:
        current = self._meta(conn, "purpose")
        check_purpose(current, purpose)
        if current is None:
            conn.execute("INSERT INTO meta (key, value) VALUES ('purpose', ?)", (purpose,))

    def claim_purpose(self, purpose: str) -> None:
        """Mark the store as holding demo or force data (see :class:`Store`)."""
        with self._transaction(immediate=True) as conn:
            self._claim(conn, purpose)

    # -- writing incidents --------------------------------------------------------------------

    @contextmanager
    def writer(
        self, *, source: str, format: str, purpose: str = FORCE
    ) -> Iterator[_SQLiteWriter]:
        """Open the write transaction of one ingest (see :meth:`Store.writer`)."""
        check_text(source, "the source's name")
        check_text(format, "the format")
        with self._transaction(immediate=True) as conn:
            self._claim(conn, purpose)
            cur = conn.execute(
                "INSERT INTO ingests (source, format, started_at) VALUES (?, ?, ?)",
                (source, format, now()),
            )
            his, los = [], []
            for hi, lo in conn.execute("SELECT uid_hi, uid_lo FROM blocks"):
                his.append(decode_numeric(hi, _U64))
                los.append(decode_numeric(lo, _U64))
            existing = KeySet()
            if his:
                existing.add(np.concatenate(his), np.concatenate(los))
            next_rid = conn.execute(
                "SELECT coalesce(max(rid_start + n), 1) FROM blocks"
            ).fetchone()[0]
            w = _SQLiteWriter(self, conn, int(cur.lastrowid or 0), existing, int(next_rid))
            yield w
            if not w.finished:
                raise RuntimeError("writer left without finish(): rolled back")

    # -- reading incidents --------------------------------------------------------------------

    def count(self) -> int:
        """Number of incidents stored."""
        return int(self._conn().execute("SELECT coalesce(sum(n), 0) FROM blocks").fetchone()[0])

    def _scan(
        self, conn: sqlite3.Connection, flt: IncidentFilter, columns: Sequence[str]
    ) -> Iterator[tuple[int, int, np.ndarray, dict[str, bytes]]]:
        """Yield ``(block_id, rid_start, mask, blobs)`` for the blocks that may match."""
        unknown = set(columns) - set(_ALL_COLUMNS)
        if unknown:
            raise ValueError(f"unknown incident columns: {sorted(unknown)}")
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
        self, flt: IncidentFilter | None = None, *, extra: Sequence[str] = ()
    ) -> IncidentColumns:
        """Select incidents as columns (see :meth:`Store.incidents`)."""
        flt = flt or IncidentFilter()
        bad = [c for c in extra if c not in TEXT_FIELDS]
        if bad:
            raise ValueError(f"extra columns must be text fields {TEXT_FIELDS}, not {bad}")
        numeric = ("x", "y", "lon", "lat", "occurred_at", "precision", "weight")
        parts: dict[str, list[np.ndarray]] = {c: [] for c in (*numeric, "rid")}
        text_cols = ("category", *[c for c in extra if c != "category"])
        codes: dict[str, list[np.ndarray]] = {c: [] for c in text_cols}
        vocab: dict[str, dict[str, int]] = {c: {} for c in text_cols}
        with self._transaction() as conn:
            version = self._version(conn)
            for _bid, rid_start, mask, blobs in self._scan(conn, flt, [*numeric, *text_cols]):
                for c in numeric:
                    parts[c].append(decode_numeric(blobs[c], NUMERIC_FIELDS[c])[mask])
                parts["rid"].append(rid_start + np.flatnonzero(mask))
                for c in text_cols:
                    local, uniques = decode_strings(blobs[c])
                    seen = vocab[c]
                    to_global = np.array(
                        [seen.setdefault(u, len(seen)) for u in uniques] + [-1], dtype=np.int64
                    )
                    codes[c].append(to_global[local[mask]])

        def cat(c: str) -> pd.Categorical[str]:
            values = np.concatenate(codes[c]) if codes[c] else np.empty(0, dtype=np.int64)
            return pd.Categorical.from_codes(values, categories=pd.Index(list(vocab[c])))

        def num(c: str, dtype: np.dtype) -> np.ndarray:
            return np.concatenate(parts[c]) if parts[c] else np.empty(0, dtype=dtype)

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
        with self._transaction() as conn:
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
            page = rid[order]
            records: list[dict[str, Any]] = []
            if page.size:
                block_of = np.searchsorted(np.asarray(starts), page, side="right") - 1
                wanted = sorted({starts[i] for i in block_of})
                marks = ",".join("?" * len(wanted))
                blocks = {
                    int(r[0]): r
                    for r in conn.execute(
                        f"SELECT rid_start, namespace, {', '.join(_ALL_COLUMNS[2:])} "
                        f"FROM blocks WHERE rid_start IN ({marks})",
                        wanted,
                    )
                }
                decoded: dict[int, dict[str, np.ndarray]] = {}
                for rs, row in blocks.items():
                    cols: dict[str, np.ndarray] = {"namespace": np.array([row[1]])}
                    for name, blob in zip(_ALL_COLUMNS[2:], row[2:], strict=True):
                        if name in NUMERIC_FIELDS:
                            cols[name] = decode_numeric(blob, NUMERIC_FIELDS[name])
                        else:
                            cols[name] = decode_string_values(blob)
                    decoded[rs] = cols
                for r in page:
                    rs = starts[int(np.searchsorted(np.asarray(starts), r, side="right") - 1)]
                    records.append(self._record(decoded[rs], int(r - rs), int(r)))
        return RecordPage(total=total, offset=lo, records=records, data_version=version)

    def _record(self, cols: dict[str, np.ndarray], i: int, rid: int) -> dict[str, Any]:
        return incident_record(
            rid=rid, ident=cols["id"][i], namespace=str(cols["namespace"][0]),
            occurred_at=int(cols["occurred_at"][i]), precision=int(cols["precision"][i]),
            texts={name: cols[name][i] for name in TEXT_FIELDS[1:]},
            numbers={name: cols[name][i] for name in ("x", "y", "lon", "lat", "weight")},
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
        with self._transaction(immediate=True) as conn:
            self._claim(conn, purpose)
            conn.execute("DELETE FROM layer_features WHERE kind = ?", (layer.kind,))
            conn.execute("DELETE FROM layers WHERE kind = ?", (layer.kind,))
            conn.execute(
                "INSERT INTO layers (kind, source, added_at, features, info) VALUES (?,?,?,?,?)",
                (layer.kind, layer.source, now(), len(frame), json.dumps(layer.info)),
            )
            conn.executemany(
                "INSERT INTO layer_features (kind, fid, name, props, geom) VALUES (?,?,?,?,?)",
                (
                    (layer.kind, i, names[i], prop_rows[i], geoms[i])
                    for i in range(len(frame))
                ),
            )
            self._bump_version(conn)

    def get_layer(self, kind: str) -> ReferenceLayer | None:
        """The stored layer of that kind, or None."""
        from geodata.layers import ReferenceLayer, frame_from_rows

        with self._transaction() as conn:
            head = conn.execute(
                "SELECT source, added_at, info FROM layers WHERE kind = ?", (kind,)
            ).fetchone()
            if head is None:
                return None
            rows = conn.execute(
                "SELECT name, props, geom FROM layer_features WHERE kind = ? ORDER BY fid",
                (kind,),
            ).fetchall()
        frame = frame_from_rows(kind, rows, self.crs)
        return ReferenceLayer(
            kind=kind, frame=frame, source=head[0], added_at=head[1], info=json.loads(head[2])
        )

    def list_layers(self) -> list[LayerInfo]:
        """The stored layers."""
        rows = self._conn().execute(
            "SELECT kind, source, added_at, features, info FROM layers ORDER BY kind"
        ).fetchall()
        return [LayerInfo(r[0], r[1], r[2], int(r[3]), json.loads(r[4])) for r in rows]

    # -- housekeeping -------------------------------------------------------------------------

    def ingests(self, limit: int = 50) -> list[dict[str, Any]]:
        """The most recent ingests, newest first."""
        rows = self._conn().execute(
            "SELECT ingest_id, source, format, started_at, finished_at, records, accepted, "
            "duplicates, rejected FROM ingests WHERE finished_at IS NOT NULL "
            "ORDER BY ingest_id DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [dict(zip(INGEST_COLUMNS, r, strict=True)) for r in rows]

    # -- patrol plans and visits --------------------------------------------------------------

    def put_plan(self, plan_id: str, *, shift_start: str, shift_end: str, data_version: str,
                 request: dict[str, Any], plan: dict[str, Any], created_by: str = "",
                 published_at: str | None = None,
                 links: dict[str, str] | None = None) -> None:
        """Store a patrol plan under a new id (see :class:`Store`)."""
        check_text(request, "the plan request")
        check_text(plan, "the plan")
        check_text({"created_by": created_by, "links": links or {}}, "the plan")
        with self._transaction(immediate=True) as conn:
            conn.execute(
                "INSERT INTO patrol_plans (plan_id, created_at, shift_start, shift_end, "
                "data_version, request, plan, published_at, created_by) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (plan_id, now(), shift_start, shift_end, data_version,
                 json.dumps(request, default=str), json.dumps(plan), published_at, created_by))
            conn.executemany(
                "INSERT OR IGNORE INTO plan_links (code, plan_id, crew) VALUES (?, ?, ?)",
                [(code, plan_id, crew) for crew, code in (links or {}).items()])

    def get_plan(self, plan_id: str) -> dict[str, Any] | None:
        """A stored plan, or None (see :class:`Store`)."""
        conn = self._conn()
        row = conn.execute(
            "SELECT plan_id, created_at, shift_start, shift_end, data_version, published_at, "
            "created_by, request, plan FROM patrol_plans WHERE plan_id = ?",
            (plan_id,)).fetchone()
        if row is None:
            return None
        return {**plan_record(row[:7]), "request": json.loads(row[7]),
                "plan": json.loads(row[8]), "links": self._links(conn, plan_id)}

    @staticmethod
    def _links(conn: sqlite3.Connection, plan_id: str) -> dict[str, str]:
        return dict(conn.execute("SELECT crew, code FROM plan_links WHERE plan_id = ? "
                                 "ORDER BY crew", (plan_id,)).fetchall())

    def list_plans(self, limit: int = 50, *, published_only: bool = False) -> list[dict[str, Any]]:
        """The most recent plans (or published plans), newest first."""
        where = "WHERE published_at IS NOT NULL " if published_only else ""
        rows = self._conn().execute(
            "SELECT plan_id, created_at, shift_start, shift_end, data_version, published_at, "
            "created_by, json_extract(plan, '$.totals'), json_extract(request, '$.name'), "
            "(SELECT count(*) FROM plan_visits v WHERE v.plan_id = p.plan_id) "
            "FROM patrol_plans p " + where + "ORDER BY created_at DESC, plan_id LIMIT ?",
            (limit,)).fetchall()
        return [plan_summary(r[:7], {"totals": json.loads(r[7] or "{}")}, name=r[8],
                             visits=r[9]) for r in rows]

    def publish_plan(self, plan_id: str, when: str) -> str | None:
        """Publish a plan once (see :class:`Store`)."""
        with self._transaction(immediate=True) as conn:
            conn.execute("UPDATE patrol_plans SET published_at = ? "
                         "WHERE plan_id = ? AND published_at IS NULL", (when, plan_id))
            row = conn.execute("SELECT published_at FROM patrol_plans WHERE plan_id = ?",
                               (plan_id,)).fetchone()
        return None if row is None else str(row[0])

    def add_plan_links(self, plan_id: str, links: dict[str, str]) -> dict[str, str]:
        """Give crews without one a short-link code (see :class:`Store`)."""
        check_text(links, "the plan's links")
        with self._transaction(immediate=True) as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO plan_links (code, plan_id, crew) VALUES (?, ?, ?)",
                [(code, plan_id, crew) for crew, code in links.items()])
            return self._links(conn, plan_id)

    def find_plan_link(self, code: str) -> dict[str, str] | None:
        """The plan and crew of a short-link code, or None (see :class:`Store`)."""
        row = self._conn().execute("SELECT plan_id, crew FROM plan_links WHERE code = ?",
                                   (code,)).fetchone()
        return None if row is None else {"plan_id": row[0], "crew": row[1]}

    def add_visit(self, visit: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Record a visit once (see :class:`Store`)."""
        check_text(visit, "the visit")
        with self._transaction(immediate=True) as conn:
            cur = conn.execute(
                "INSERT OR IGNORE INTO plan_visits (visit_id, plan_id, stop_id, hotspot_id, "
                "visited_at, received_at, note, officer, ended_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (visit["visit_id"], visit["plan_id"], visit["stop_id"], visit.get("hotspot_id"),
                 visit["visited_at"], now(), visit.get("note", ""), visit.get("officer", ""),
                 visit.get("ended_at")))
            created = cur.rowcount == 1
            row = conn.execute("SELECT " + ", ".join(VISIT_COLUMNS) + " FROM plan_visits "
                               "WHERE visit_id = ?", (visit["visit_id"],)).fetchone()
        return visit_record(row), created

    def plan_visits(self, plan_id: str) -> list[dict[str, Any]]:
        """The visits logged against a plan, oldest first."""
        rows = self._conn().execute(
            "SELECT " + ", ".join(VISIT_COLUMNS) + " FROM plan_visits WHERE plan_id = ? "
            "ORDER BY visited_at, visit_id", (plan_id,)).fetchall()
        return [visit_record(r) for r in rows]

    def cancel_visit(self, plan_id: str, visit_id: str) -> dict[str, Any] | None:
        """Remove a visit of a plan once (see :class:`Store`)."""
        with self._transaction(immediate=True) as conn:
            row = conn.execute("SELECT " + ", ".join(VISIT_COLUMNS) + " FROM plan_visits "
                               "WHERE visit_id = ? AND plan_id = ?", (visit_id, plan_id)).fetchone()
            if row is None:
                return None
            conn.execute("DELETE FROM plan_visits WHERE visit_id = ?", (visit_id,))
        return visit_record(row)

    # -- access: keys, audit, secrets --------------------------------------------------------

    def add_key(self, key_id: str, *, name: str, role: str, secret_hash: str) -> dict[str, Any]:
        """Store an API key (see :class:`Store`)."""
        check_text(name, "the key's name")
        with self._transaction(immediate=True) as conn:
            conn.execute("INSERT INTO api_keys (key_id, name, role, secret_hash, created_at) "
                         "VALUES (?, ?, ?, ?, ?)", (key_id, name, role, secret_hash, now()))
            row = conn.execute("SELECT " + ", ".join(KEY_COLUMNS) + " FROM api_keys "
                               "WHERE key_id = ?", (key_id,)).fetchone()
        return key_record(row)

    def key_hash(self, key_id: str) -> tuple[str, str] | None:
        """(role, hash) of a live key, or None."""
        row = self._conn().execute("SELECT role, secret_hash FROM api_keys WHERE key_id = ? "
                                   "AND revoked_at IS NULL", (key_id,)).fetchone()
        return None if row is None else (str(row[0]), str(row[1]))

    def list_keys(self) -> list[dict[str, Any]]:
        """Every key, without hashes."""
        rows = self._conn().execute("SELECT " + ", ".join(KEY_COLUMNS) + " FROM api_keys "
                                    "ORDER BY created_at, key_id").fetchall()
        return [key_record(r) for r in rows]

    def revoke_key(self, key_id: str) -> bool:
        """Revoke a key."""
        with self._transaction(immediate=True) as conn:
            cur = conn.execute("UPDATE api_keys SET revoked_at = ? WHERE key_id = ? "
                               "AND revoked_at IS NULL", (now(), key_id))
        return cur.rowcount == 1

    def revoke_session(self, session_id: str, *, key_id: str, expires_at: int) -> bool:
        """Revoke a page session (records of sessions expired by now are dropped)."""
        with self._transaction(immediate=True) as conn:
            conn.execute("DELETE FROM revoked_sessions WHERE expires_at < ?",
                         (int(time.time()),))
            cur = conn.execute("INSERT OR IGNORE INTO revoked_sessions (session_id, key_id, "
                               "revoked_at, expires_at) VALUES (?, ?, ?, ?)",
                               (session_id, key_id, now(), int(expires_at)))
        return cur.rowcount == 1

    def session_revoked(self, session_id: str) -> bool:
        """Whether a page session was revoked."""
        row = self._conn().execute("SELECT 1 FROM revoked_sessions WHERE session_id = ?",
                                   (session_id,)).fetchone()
        return row is not None

    def audit(self, *, key_id: str | None, role: str | None, action: str, path: str,
              filter: dict[str, Any], rows: int) -> None:
        """Append to the audit log."""
        check_text([action, path, filter], "the audit entry")
        with self._transaction(immediate=True) as conn:
            conn.execute("INSERT INTO audit_log (at, key_id, role, action, path, filter, rows) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (now(), key_id, role, action, path,
                          json.dumps(filter, default=str, sort_keys=True), int(rows)))

    def audit_log(self, limit: int = 100, before: int | None = None) -> list[dict[str, Any]]:
        """Audit entries, newest first."""
        rows = self._conn().execute(
            "SELECT " + ", ".join(AUDIT_COLUMNS) + " FROM audit_log WHERE entry_id < ? "
            "ORDER BY entry_id DESC LIMIT ?", (before or 2**62, limit)).fetchall()
        return [audit_record(r) for r in rows]

    def secret(self, name: str) -> str:
        """A random secret kept in the store's metadata, made on first use."""
        key = f"secret:{name}"
        value = self._meta(self._conn(), key)  # a read: no write lock on every request
        if value is not None:
            return value
        with self._transaction(immediate=True) as conn:
            conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)",
                         (key, secrets.token_hex(32)))
            return str(self._meta(conn, key))

    # -- published products -------------------------------------------------------------------

    def add_product(self, kind: str, period: str, *, start: int, end: int, data_version: str,
                    summary: dict[str, Any], document: str) -> dict[str, Any]:
        """Publish a product (see :class:`Store`)."""
        with self._transaction(immediate=True) as conn:
            other = conn.execute(
                "SELECT period FROM published_products WHERE kind = ? AND period_start < ? "
                "AND period_end > ? ORDER BY period_start LIMIT 1", (kind, end, start)).fetchone()
            if other is not None:
                raise PublicationConflict(overlap_message(kind, period, other[0]))
            conn.execute(
                "INSERT INTO published_products (kind, period, period_start, period_end, "
                "published_at, data_version, summary, document) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (kind, period, int(start), int(end), now(), data_version, json.dumps(summary),
                 document))
            row = conn.execute("SELECT " + ", ".join(PRODUCT_COLUMNS) + " FROM published_products "
                               "WHERE kind = ? AND period = ?", (kind, period)).fetchone()
        return product_record(row)

    def product(self, kind: str, period: str) -> tuple[dict[str, Any], str] | None:
        """A published product's listing and document text, or None (see :class:`Store`)."""
        row = self._conn().execute(
            "SELECT " + ", ".join(PRODUCT_COLUMNS) + ", document FROM published_products "
            "WHERE kind = ? AND period = ?", (kind, period)).fetchone()
        return None if row is None else (product_record(row[:-1]), str(row[-1]))

    def list_products(self, kind: str, limit: int = 500) -> list[dict[str, Any]]:
        """The published products of a kind, latest period first (see :class:`Store`)."""
        rows = self._conn().execute(
            "SELECT " + ", ".join(PRODUCT_COLUMNS) + " FROM published_products WHERE kind = ? "
            "ORDER BY period_start DESC LIMIT ?", (kind, limit)).fetchall()
        return [product_record(r) for r in rows]

    # -- stored backtests ---------------------------------------------------------------------

    def put_backtest(self, key: str, *, data_version: str, summary: dict[str, Any],
                     document: str) -> dict[str, Any]:
        """Store a backtest's result under its key, replacing any (see :class:`Store`)."""
        check_backtest_key(key)
        check_text([data_version, summary], "the backtest's listing")
        check_text(document, "the backtest document")
        with self._transaction(immediate=True) as conn:
            conn.execute(
                "INSERT INTO backtests (key, data_version, created_at, summary, document) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET "
                "data_version = excluded.data_version, created_at = excluded.created_at, "
                "summary = excluded.summary, document = excluded.document",
                (key, data_version, now_us(), json.dumps(summary), document))
            row = conn.execute("SELECT " + ", ".join(BACKTEST_COLUMNS) + " FROM backtests "
                               "WHERE key = ?", (key,)).fetchone()
        return backtest_record(row)

    def get_backtest(self, key: str) -> tuple[dict[str, Any], str] | None:
        """A stored backtest's listing and document text, or None (see :class:`Store`)."""
        check_backtest_key(key)
        row = self._conn().execute(
            "SELECT " + ", ".join(BACKTEST_COLUMNS) + ", document FROM backtests WHERE key = ?",
            (key,)).fetchone()
        return None if row is None else (backtest_record(row[:-1]), str(row[-1]))

    def list_backtests(self, limit: int = 50) -> list[dict[str, Any]]:
        """The stored backtests' listings, newest first (see :class:`Store`)."""
        rows = self._conn().execute(
            "SELECT " + ", ".join(BACKTEST_COLUMNS) + " FROM backtests "
            "ORDER BY created_at DESC, key LIMIT ?", (max(int(limit), 0),)).fetchall()
        return [backtest_record(r) for r in rows]

    def health(self) -> dict[str, Any]:
        """Whether the store answers and what it holds; never raises."""
        try:
            conn = self._conn()
            return {
                "ok": True,
                "kind": self.kind,
                "data_version": self._version(conn),
                "purpose": self._meta(conn, "purpose"),
                "incidents": self.count(),
                "layers": [i.kind for i in self.list_layers()],
                "crs": self.crs,
            }
        except (sqlite3.Error, StoreUnavailable) as exc:
            log.exception("store health check failed")
            return {"ok": False, "kind": self.kind, "error": f"store unavailable: {type(exc).__name__}"}


class _SQLiteWriter:
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
                encode_numeric(hi[idx], _U64),
                encode_numeric(lo[idx], _U64),
            ]
            values += [encode_numeric(cols[c][idx], dt) for c, dt in NUMERIC_FIELDS.items()]
            values += [encode_strings(cols[c][idx], plain=c == "id") for c in TEXT_FIELDS]
            names = ("ingest_id", "namespace", "rid_start", "n", "tmin", "tmax", *_ALL_COLUMNS)
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
        self.conn.execute(
            "UPDATE ingests SET finished_at = ?, records = ?, accepted = ?, duplicates = ?, "
            "rejected = ?, summary = ? WHERE ingest_id = ?",
            (now(), *ingest_counts(summary), json.dumps(summary, default=str), self.ingest_id),
        )
        version = (
            self.store._bump_version(self.conn)
            if self.inserted
            else self.store._version(self.conn)
        )
        self.conn.execute("COMMIT")
        self.finished = True
        return version
