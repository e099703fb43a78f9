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
    other = (PostGISStore.open(store.url, schema=store.schema, busy_timeout_s=0.5)
             if isinstance(store, PostGISStore) else SQLiteStore.open(store.path, busy_timeout_s=0.5))
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
    reopened = (PostGISStore.open(store.url, schema=store.schema) if isinstance(store, PostGISStore)
                else SQLiteStore.open(store.path))
    try:
        assert reopened.session_revoked("s1") and not reopened.session_revoked("s2")
        assert reopened.revoke_session("s3", key_id="k2", expires_at=later)
        assert not reopened.session_revoked("old")  # expired anyway: its record went
        assert store.session_revoked("s3")
    finally:
        reopened.close()


def test_every_store_offers_the_focused_protocols_and_its_capabilities(store: Store) -> None:
    from geodata.stores import (
        AccessStore,
        ClustersInDatabase,
        IncidentStore,
        LayerStore,
        PlanStore,
        ProductStore,
        StoreHealth,
    )

    for protocol in (Store, IncidentStore, LayerStore, PlanStore, AccessStore, ProductStore,
                     StoreHealth):
        assert isinstance(store, protocol), protocol.__name__
    # in-database DBSCAN is a capability of the PostGIS store only, checked as such
    assert isinstance(store, ClustersInDatabase) == (store.kind == "postgis")


def test_store_errors_name_the_offending_field(store: Store, tmp_path) -> None:
    from geodata.errors import GeodataError, InvalidValue

    with pytest.raises(InvalidValue, match="purpose must be one of") as caught:
        store.claim_purpose("training")
    assert caught.value.field == "purpose" and isinstance(caught.value, ValueError)
    with pytest.raises(InvalidValue, match="extra columns must be text fields") as caught:
        store.incidents(extra=["x"])
    assert caught.value.field == "extra" and isinstance(caught.value, GeodataError)
    with pytest.raises(InvalidValue, match="projected in metres") as caught:
        SQLiteStore.open(tmp_path / "wgs84.sqlite", crs="EPSG:4326")
    assert caught.value.field == "crs"


def test_opening_is_explicit_and_a_store_object_only_holds_what_it_is_given(tmp_path) -> None:
    opened = SQLiteStore.open(tmp_path / "s.sqlite")  # connects, creates, migrates
    assert opened.migrations() and opened.data_version().endswith(".0")
    # the constructor connects to nothing and creates nothing: it keeps what open() found
    again = SQLiteStore(opened._connections, store_id=opened.store_id, crs=opened.crs,
                        timezone=opened.timezone)
    assert again.data_version() == opened.data_version()
    opened.close()


def test_the_shared_queries_are_written_for_each_database() -> None:
    from geodata.stores._queries import queries

    lite, pg = queries("sqlite"), queries("postgis")
    assert "list_plans" in lite and "list_plans" in pg
    # a query only one database has is one the other store does another way: outcomes written
    # into the embedded store's column blocks, or into PostGIS's rows; tiles made by ST_AsMVT
    assert lite.keys() - pg.keys() == {"block_outcomes", "set_block_outcomes"}
    assert pg.keys() - lite.keys() == {"incident_outcomes_of", "set_incident_outcomes",
                                       "incident_tile", "shapes_tile"}
    assert "?" not in "".join(q.text for q in lite.values())  # named parameters throughout
    assert ":limit" in lite["list_backtests"].text and "%(limit)s" in pg["list_backtests"].text
    # the clock: PostgreSQL's own now(), a parameter made when the query runs for SQLite
    assert "now()" in pg["add_key"].text and lite["add_key"].clocks == ("now",)
    assert "now" in lite["add_key"].bind({"key_id": "k"})
    assert "json_extract(plan, '$.totals')" in lite["list_plans"].text
    assert "plan -> 'totals'" in pg["list_plans"].text
    assert pg["add_plan"].uses("routes") and not lite["add_plan"].uses("routes")
