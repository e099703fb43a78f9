"""API keys, the audit log and secrets in both stores (embedded and PostGIS, the real server)."""

from __future__ import annotations

import sqlite3
import time

import psycopg
import pytest

from geodata.stores import SQLiteStore
from geodata.stores.base import Store
from geodata.stores.postgis import PostGISStore


def test_keys_are_stored_hashed_listed_and_revoked(store: Store) -> None:
    made = store.add_key("k1", name="Analyst A", role="analyst", secret_hash="ab" * 32)
    assert made["key_id"] == "k1" and made["revoked_at"] is None and "secret_hash" not in made
    store.add_key("k2", name="Partner B", role="partner", secret_hash="cd" * 32)
    assert store.key_hash("k1") == ("analyst", "ab" * 32)
    assert [k["key_id"] for k in store.list_keys()] == ["k1", "k2"]
    assert store.revoke_key("k1") and not store.revoke_key("k1") and not store.revoke_key("zz")
    assert store.key_hash("k1") is None and store.key_hash("k2") is not None
    assert next(k for k in store.list_keys() if k["key_id"] == "k1")["revoked_at"]


def test_the_audit_log_is_append_only(store: Store) -> None:
    for n in range(3):
        store.audit(key_id="k1", role="analyst", action="read_incidents", path="/v1/incidents",
                    filter={"priority": "rural", "n": n}, rows=10 * n)
    log = store.audit_log()
    assert [e["filter"]["n"] for e in log] == [2, 1, 0] and log[0]["rows"] == 20
    assert [e["filter"]["n"] for e in store.audit_log(limit=1, before=log[0]["entry_id"])] == [1]
    if isinstance(store, PostGISStore):
        with psycopg.connect(store.url, autocommit=True) as conn:
            conn.execute(f'SET search_path TO "{store.schema}", public')
            for statement in ("UPDATE audit_log SET rows = 0", "DELETE FROM audit_log",
                              "TRUNCATE audit_log"):
                with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                    conn.execute(statement)
    else:
        assert isinstance(store, SQLiteStore)
        with sqlite3.connect(store.path) as conn:
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                conn.execute("UPDATE audit_log SET rows = 0")
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                conn.execute("DELETE FROM audit_log")
    assert len(store.audit_log()) == 3


def test_secrets_are_made_once(store: Store) -> None:
    first = store.secret("session")
    assert len(first) == 64 and store.secret("session") == first
    assert store.secret("other") != first


def test_reading_the_secret_never_waits_for_a_writer(store: Store) -> None:
    """Every signed-in page request reads the session secret: it must not queue behind an
    ingest that holds the store's write lock."""
    first = store.secret("session")
    other = (PostGISStore(store.url, schema=store.schema, busy_timeout_s=0.5)
             if isinstance(store, PostGISStore) else SQLiteStore(store.path, busy_timeout_s=0.5))
    try:
        with pytest.raises(RuntimeError, match="without finish"), \
                store.writer(source="long ingest", format="police"):
            assert other.secret("session") == first
    finally:
        other.close()


def test_signed_out_sessions_stay_revoked_after_a_restart(store: Store) -> None:
    later = int(time.time()) + 3600
    assert not store.session_revoked("s1")
    assert store.revoke_session("s1", key_id="k1", expires_at=later)
    assert not store.revoke_session("s1", key_id="k1", expires_at=later)  # once
    assert store.revoke_session("old", key_id="k1", expires_at=int(time.time()) - 10)
    reopened = (PostGISStore(store.url, schema=store.schema) if isinstance(store, PostGISStore)
                else SQLiteStore(store.path))
    try:
        assert reopened.session_revoked("s1") and not reopened.session_revoked("s2")
        assert reopened.revoke_session("s3", key_id="k2", expires_at=later)
        assert not reopened.session_revoked("old")  # expired anyway: its record went
        assert store.session_revoked("s3")
    finally:
        reopened.close()
