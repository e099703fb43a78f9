"""The plain relational records both stores keep alike, written once: metadata and purpose,
reference layers and the ingest log, API keys, sessions, the audit log, secrets, products and
backtests.

Each store mixes :class:`RelationalStore` in and supplies its connection handling
(``_connection()`` to read, ``_snapshot()`` to read in one transaction, ``_transaction()``
to write, ``_writing()`` to write holding the store's write lock) and how a JSON value goes
to its database (``_json``); the SQL is in ``geodata/sql/queries/*.sql`` (see
:mod:`geodata.stores._queries`). Patrol plans and visits are in
:mod:`geodata.stores._plan_records`.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager, closing
from typing import TYPE_CHECKING, Any

from geodata.errors import PublicationConflict
from geodata.stores._queries import Query, queries
from geodata.stores._shared import (
    INGEST_COLUMNS,
    audit_record,
    backtest_record,
    check_backtest_key,
    check_purpose,
    check_text,
    ingest_counts,
    key_record,
    layer_rows,
    now,
    overlap_message,
    product_record,
)
from geodata.stores.base import FORCE, LayerInfo

if TYPE_CHECKING:
    from geodata.layers import ReferenceLayer

NUL = "\x00"
"""U+0000: no stored key holds it (every writer refuses it), so a key with it finds nothing."""


def from_json(value: Any) -> Any:
    """A JSON column's value as data: SQLite gives the JSON text, PostgreSQL's ``jsonb`` the
    data already."""
    return json.loads(value) if isinstance(value, str) else value


class SQLRunner:
    """Runs the named queries of one database over the store's own connections."""

    _dialect: str
    """``"sqlite"`` or ``"postgis"``: whose variant of each query this store runs."""
    store_id: str
    crs: str
    srid: int | None = None
    """The EPSG code of stored geometries, where the database keeps them as such (PostGIS)."""

    def _connection(self) -> AbstractContextManager[Any]:
        """A connection to read with (no transaction of its own)."""
        raise NotImplementedError

    def _snapshot(self) -> AbstractContextManager[Any]:
        """A connection inside a read transaction (what it reads is one state of the store)."""
        raise NotImplementedError

    def _transaction(self) -> AbstractContextManager[Any]:
        """A connection inside a write transaction, committed on leaving the block."""
        raise NotImplementedError

    def _writing(self) -> AbstractContextManager[Any]:
        """A write transaction holding the store's write lock (writers of incidents and layers
        queue on it)."""
        raise NotImplementedError

    def _json(self, value: Any, *, lenient: bool = True, sort_keys: bool = False) -> Any:
        """``value`` as a parameter for a JSON column (``lenient``: what JSON cannot hold is
        written as its ``str``)."""
        raise NotImplementedError

    def _query(self, name: str) -> Query:
        return queries(self._dialect)[name]

    def _run(self, conn: Any, name: str, /, **params: Any) -> Any:
        """Run the query ``name`` on ``conn``; return the driver's cursor."""
        query = self._query(name)
        return conn.execute(query.text, query.bind(params))

    def _one(self, conn: Any, name: str, /, **params: Any) -> Any:
        """The first row of the query ``name``, or None."""
        return self._run(conn, name, **params).fetchone()

    def _all(self, conn: Any, name: str, /, **params: Any) -> list[Any]:
        """Every row of the query ``name``."""
        return list(self._run(conn, name, **params).fetchall())

    def _new_data_version(self, conn: Any) -> None:
        """Move the data version on: its counter, and a random part (see ``_bump_version``)."""
        self._run(conn, "bump_data_version")
        self._run(conn, "set_data_epoch", value=secrets.token_hex(4))

    def _run_many(self, conn: Any, name: str, rows: Iterable[Mapping[str, Any]]) -> None:
        """Run the query ``name`` once for each row of parameters."""
        query = self._query(name)
        with closing(conn.cursor()) as cur:
            cur.executemany(query.text, [query.bind(r) for r in rows])


class RelationalStore(SQLRunner):
    """Metadata and purpose, reference layers, the ingest log, access records, products and
    backtests."""

    # -- metadata and purpose -------------------------------------------------------------------

    def _meta(self, conn: Any, key: str) -> str | None:
        row = self._one(conn, "meta_value", key=key)
        return None if row is None else str(row[0])

    def _version(self, conn: Any) -> str:
        parts = dict(self._all(conn, "data_version_parts"))
        epoch = parts.get("data_epoch")
        return f"{self.store_id[:8]}.{parts.get('data_version')}" + (f".{epoch}" if epoch else "")

    def _bump_version(self, conn: Any) -> str:
        """A new data version: the counter moves on, with a random part of its own, so that
        a store restored from an older backup never reuses a version a lost change had (a
        shared cache or a client's ETag would take its answers for the restored data)."""
        self._new_data_version(conn)
        return self._version(conn)

    def data_version(self) -> str:
        """An opaque string that changes whenever incidents or layers change."""
        with self._connection() as conn:
            return self._version(conn)

    def purpose(self) -> str | None:
        """``"demo"``, ``"force"``, or None while nothing has been stored."""
        with self._connection() as conn:
            return self._meta(conn, "purpose")

    def _claim(self, conn: Any, purpose: str) -> None:
        check_purpose(self._meta(conn, "purpose"), purpose)
        self._run(conn, "claim_purpose", purpose=purpose)

    def claim_purpose(self, purpose: str) -> None:
        """Mark the store as holding demo or force data (see :class:`Store`)."""
        with self._writing() as conn:
            self._claim(conn, purpose)

    # -- reference layers, the ingest log --------------------------------------------------------

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
            self._run(conn, "delete_layer", kind=layer.kind)  # and its features, by cascade
            self._run(conn, "add_layer", kind=layer.kind, source=layer.source, added_at=now(),
                      features=len(frame), info=json.dumps(layer.info))
            self._run_many(conn, "add_layer_feature", [
                {"kind": layer.kind, "fid": i, "name": names[i], "props": prop_rows[i],
                 "geom": geoms[i], "srid": self.srid} for i in range(len(frame))])
            self._bump_version(conn)

    def get_layer(self, kind: str) -> ReferenceLayer | None:
        """The stored layer of that kind, or None."""
        from geodata.layers import ReferenceLayer, frame_from_rows

        with self._snapshot() as conn:
            head = self._one(conn, "layer", kind=kind)
            if head is None:
                return None
            rows = self._all(conn, "layer_features", kind=kind)
        frame = frame_from_rows(
            kind, [(r[0], r[1], None if r[2] is None else bytes(r[2])) for r in rows], self.crs)
        return ReferenceLayer(
            kind=kind, frame=frame, source=head[0], added_at=head[1], info=from_json(head[2])
        )

    def list_layers(self) -> list[LayerInfo]:
        """The stored layers."""
        with self._connection() as conn:
            rows = self._all(conn, "list_layers")
        return [LayerInfo(r[0], r[1], r[2], int(r[3]), from_json(r[4])) for r in rows]

    def _record_ingest(self, conn: Any, ingest_id: int, summary: dict[str, Any]) -> None:
        """Write a finished ingest's counts and summary into the ingest log."""
        records, accepted, duplicates, rejected = ingest_counts(summary)
        self._run(conn, "finish_ingest", finished_at=now(), records=records, accepted=accepted,
                  duplicates=duplicates, rejected=rejected,
                  summary=json.dumps(summary, default=str), ingest_id=ingest_id)

    def ingests(self, limit: int = 50) -> list[dict[str, Any]]:
        """The most recent ingests, newest first."""
        with self._connection() as conn:
            rows = self._all(conn, "list_ingests", limit=limit)
        return [dict(zip(INGEST_COLUMNS, r, strict=True)) for r in rows]

    # -- access: keys, sessions, audit, secrets -------------------------------------------------

    def add_key(self, key_id: str, *, name: str, role: str, secret_hash: str) -> dict[str, Any]:
        """Store an API key (see :class:`Store`)."""
        check_text(name, "the key's name")
        with self._transaction() as conn:
            self._run(conn, "add_key", key_id=key_id, name=name, role=role,
                      secret_hash=secret_hash)
            row = self._one(conn, "key", key_id=key_id)
        return key_record(row)

    def key_hash(self, key_id: str) -> tuple[str, str] | None:
        """(role, hash) of a live key, or None."""
        if NUL in key_id:
            return None
        with self._connection() as conn:
            row = self._one(conn, "key_hash", key_id=key_id)
        return None if row is None else (str(row[0]), str(row[1]))

    def list_keys(self) -> list[dict[str, Any]]:
        """Every key, without hashes."""
        with self._connection() as conn:
            rows = self._all(conn, "list_keys")
        return [key_record(r) for r in rows]

    def revoke_key(self, key_id: str) -> bool:
        """Revoke a key."""
        if NUL in key_id:
            return False
        with self._transaction() as conn:
            return bool(self._run(conn, "revoke_key", key_id=key_id).rowcount == 1)

    def revoke_session(self, session_id: str, *, key_id: str, expires_at: int) -> bool:
        """Revoke a page session (records of sessions expired by now are dropped)."""
        with self._transaction() as conn:
            self._run(conn, "forget_expired_sessions")
            cur = self._run(conn, "revoke_session", session_id=session_id, key_id=key_id,
                            expires_at=int(expires_at))
            return bool(cur.rowcount == 1)

    def session_revoked(self, session_id: str) -> bool:
        """Whether a page session was revoked."""
        with self._connection() as conn:
            return self._one(conn, "session_revoked", session_id=session_id) is not None

    def audit(self, *, key_id: str | None, role: str | None, action: str, path: str,
              filter: dict[str, Any], rows: int) -> None:
        """Append to the audit log."""
        check_text([action, path, filter], "the audit entry")
        with self._transaction() as conn:
            self._run(conn, "add_audit_entry", key_id=key_id, role=role, action=action,
                      path=path, filter=self._json(filter, sort_keys=True), rows=int(rows))

    def audit_log(self, limit: int = 100, before: int | None = None) -> list[dict[str, Any]]:
        """Audit entries, newest first."""
        with self._connection() as conn:
            rows = self._all(conn, "audit_log", before=before or 2**62, limit=limit)
        return [audit_record(r) for r in rows]

    def secret(self, name: str) -> str:
        """A random secret kept in the store's metadata, made on first use."""
        key = f"secret:{name}"
        with self._connection() as conn:  # a read first: no write on every request
            value = self._meta(conn, key)
        if value is not None:
            return value
        with self._transaction() as conn:
            self._run(conn, "add_secret", key=key, value=secrets.token_hex(32))
            value = self._meta(conn, key)
        assert value is not None
        return value

    # -- published products and stored backtests -------------------------------------------------

    def _before_publishing(self, conn: Any) -> None:
        """Make concurrent publications take turns (nothing to do where a write transaction
        already excludes other writers)."""

    def add_product(self, kind: str, period: str, *, start: int, end: int, data_version: str,
                    summary: dict[str, Any], document: str) -> dict[str, Any]:
        """Publish a product (see :class:`Store`); two publications at once take turns, so two
        overlapping products can never both be stored."""
        with self._transaction() as conn:
            self._before_publishing(conn)
            other = self._one(conn, "overlapping_product", kind=kind, period_start=start,
                              period_end=end)
            if other is not None:
                raise PublicationConflict(overlap_message(kind, period, other[0]))
            self._run(conn, "add_product", kind=kind, period=period, period_start=int(start),
                      period_end=int(end), data_version=data_version,
                      summary=self._json(summary), document=document)
            row = self._one(conn, "product", kind=kind, period=period)
        return product_record(row[:-1])

    def product(self, kind: str, period: str) -> tuple[dict[str, Any], str] | None:
        """A published product's listing and document text, or None (see :class:`Store`)."""
        with self._connection() as conn:
            row = self._one(conn, "product", kind=kind, period=period)
        return None if row is None else (product_record(row[:-1]), str(row[-1]))

    def list_products(self, kind: str, limit: int = 500) -> list[dict[str, Any]]:
        """The published products of a kind, latest period first (see :class:`Store`)."""
        with self._connection() as conn:
            rows = self._all(conn, "list_products", kind=kind, limit=limit)
        return [product_record(r) for r in rows]

    def put_backtest(self, key: str, *, data_version: str, summary: dict[str, Any],
                     document: str) -> dict[str, Any]:
        """Store a backtest's result under its key, replacing any (see :class:`Store`); two
        writers of one key at once take turns on its row (the last one's result stays)."""
        check_backtest_key(key)
        check_text([data_version, summary], "the backtest's listing")
        check_text(document, "the backtest document")
        with self._transaction() as conn:
            self._run(conn, "put_backtest", key=key, data_version=data_version,
                      summary=self._json(summary), document=document)
            row = self._one(conn, "backtest", key=key)
        return backtest_record(row[:-1])

    def get_backtest(self, key: str) -> tuple[dict[str, Any], str] | None:
        """A stored backtest's listing and document text, or None (see :class:`Store`)."""
        check_backtest_key(key)
        with self._connection() as conn:
            row = self._one(conn, "backtest", key=key)
        return None if row is None else (backtest_record(row[:-1]), str(row[-1]))

    def list_backtests(self, limit: int = 50) -> list[dict[str, Any]]:
        """The stored backtests' listings, newest first (see :class:`Store`)."""
        with self._connection() as conn:
            rows = self._all(conn, "list_backtests", limit=max(int(limit), 0))
        return [backtest_record(r) for r in rows]
