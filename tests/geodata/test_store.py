"""The store interface, run against every store: idempotency, atomicity, queries, versions."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from geodata.errors import StorePurposeError, StoreUnavailable, UnsupportedStore
from geodata.ingest import ingest
from geodata.readers import ReadOptions, read_force_csv, read_police_csv
from geodata.readers.base import IncidentReader
from geodata.schema import IncidentFilter
from geodata.stores import SQLiteStore, open_store
from geodata.stores.postgis import PostGISStore
from tests.conftest import LINCOLNSHIRE, NORTH_YORKSHIRE, ROOT, STORE_KINDS
from tests.waits import line_within


def lines_of(path: Path) -> list[str]:
    return path.read_text("utf-8-sig").splitlines(keepends=True)


@pytest.mark.real_data
def test_ingest_is_idempotent_on_a_real_file(store):
    first = ingest(store, read_police_csv(NORTH_YORKSHIRE))
    assert (first.accepted, first.duplicates, first.rejected) == (5288, 0, 39)
    assert first.accepted_lines.ranges == [[2, 5289]]
    version = store.data_version()
    second = ingest(store, read_police_csv(NORTH_YORKSHIRE))
    assert (second.accepted, second.duplicates_in_store, second.rejected) == (0, 5288, 39)
    assert second.duplicate_lines.ranges == [[2, 5289]]
    assert store.count() == 5288
    assert store.data_version() == version  # nothing changed, so the cache stays valid
    asb = store.incidents(IncidentFilter(categories=("asb",)))
    assert len(asb) == 1521 - 28  # every ASB row with coordinates, identical ones included


@pytest.mark.real_data
def test_stacking_summary_on_real_months(store_factory):
    for path, busiest in ((NORTH_YORKSHIRE, 28), (LINCOLNSHIRE, 50)):
        report = ingest(store_factory(), read_police_csv(path))
        st = report.stacking
        assert st["max_on_one_point"] == busiest
        assert st["distinct_points"] == {NORTH_YORKSHIRE: 2849, LINCOLNSHIRE: 2750}[path]
        assert 0 < st["share_on_busiest_1pct_of_points"] < 0.5
        assert st["busiest_points"][0]["incidents"] == busiest


@pytest.mark.real_data
def test_overlapping_files_store_each_incident_once(store, tmp_path):
    rows = lines_of(LINCOLNSHIRE)
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text(rows[0] + "".join(rows[1:3001:3]))  # every third of the first 3000 rows
    b.write_text(rows[0] + "".join(rows[1:]))
    ids_a = set(read_police_csv(a).read_all().incidents.columns["id"])
    ids_b = set(read_police_csv(b).read_all().incidents.columns["id"])
    ingest(store, read_police_csv(a))
    # small batches, a third of them already stored, then all new (the PostGIS store
    # factorises a batch while the key table is probed when the batch before was mostly new,
    # and keeps the new rows' share of it)
    report = ingest(store, read_police_csv(b, options=ReadOptions(chunk_rows=400)))
    assert report.duplicates_in_store == len(ids_a & ids_b) > 900
    assert store.count() == len(ids_a | ids_b) == len(ids_b)
    whole = read_police_csv(LINCOLNSHIRE).read_all().incidents.columns
    got = store.incidents()

    def rows(x, y, t, cat) -> list:
        return sorted(zip(np.asarray(x).tolist(), np.asarray(y).tolist(),
                          np.asarray(t).tolist(), [str(c) for c in np.asarray(cat)],
                          strict=True))

    assert rows(got.x, got.y, got.occurred_at, got.category) == rows(
        whole["x"], whole["y"], whole["occurred_at"], whole["category"])


def _slices(tmp_path: Path, spans: list[tuple[int, int]]) -> list[Path]:
    """Files of the Lincolnshire month's data lines ``lo:hi`` (line 0 is the header)."""
    rows = lines_of(LINCOLNSHIRE)
    paths = []
    for k, (lo, hi) in enumerate(spans):
        p = tmp_path / f"part{k}.csv"
        p.write_text(rows[0] + "".join(rows[lo:hi]))
        paths.append(p)
    return paths


def _ingest_at_once(store, paths: list[Path]) -> list[BaseException]:
    """Ingest every file in a thread of its own, all at once; return what they raised."""
    errors: list[BaseException] = []

    def run(p: Path) -> None:
        try:
            ingest(store, read_police_csv(p))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(p,)) for p in paths]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


@pytest.mark.real_data
def test_concurrent_overlapping_ingests(store, tmp_path):
    paths = _slices(tmp_path, [(1, 3500), (1500, 5000), (3000, 5672), (1, 5672)])
    assert _ingest_at_once(store, paths) == []
    assert store.count() == 5671
    got = store.incidents()
    assert len(np.unique(got.rid)) == 5671


@pytest.mark.real_data
def test_postgis_more_concurrent_ingests_than_pooled_connections(postgres_url, tmp_path):
    """Ingests queueing for the store's lock hold the pool's connections; the one holding the
    lock still gets the second connection it asks on (made outside the pool)."""
    paths = _slices(tmp_path, [(1, 3500), (1500, 5000), (1, 5672)])
    store = PostGISStore.open(postgres_url, schema="small_pool", max_connections=2,
                         connect_timeout_s=1)
    # both pooled connections are taken while one ingest runs
    assert _ingest_at_once(store, paths[:2]) == []
    ingest(store, read_police_csv(paths[2]))
    assert store.count() == 5671 and len(np.unique(store.incidents().rid)) == 5671
    store.drop()


class _Exploding(IncidentReader):
    """A reader that gives ``good`` chunks (one by default) and then fails."""

    format = "police.uk"
    namespace = "police.uk"

    def __init__(self, inner: IncidentReader, good: int = 1) -> None:
        super().__init__("exploding.csv", options=inner.options)
        self.inner = inner
        self.good = good

    def __iter__(self) -> Iterator:
        for k, chunk in enumerate(self.inner):
            if k == self.good:
                raise OSError("the disk went away")
            yield chunk


@pytest.mark.real_data
def test_a_failed_ingest_leaves_the_store_as_it_was(store):
    ingest(store, read_police_csv(LINCOLNSHIRE))
    version, count = store.data_version(), store.count()
    reader = _Exploding(read_police_csv(NORTH_YORKSHIRE, options=ReadOptions(chunk_rows=1000)))
    with pytest.raises(OSError, match="disk went away"):
        ingest(store, reader)
    assert store.count() == count
    assert store.data_version() == version
    assert [i["source"] for i in store.ingests()] == ["2024-03-lincolnshire-street.csv"]


@pytest.mark.slow
@pytest.mark.real_data
def test_killing_an_ingest_half_way_leaves_nothing_half_written(tmp_path):
    from bench._synth import write_police_csv

    big = write_police_csv(tmp_path / "big.csv", 400_000)
    path = tmp_path / "store.sqlite"
    store = SQLiteStore.open(path)
    ingest(store, read_police_csv(LINCOLNSHIRE))
    version, count = store.data_version(), store.count()
    store.close()
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        from geodata.ingest import ingest
        from geodata.readers import ReadOptions, read_police_csv
        from geodata.stores import SQLiteStore
        store = SQLiteStore.open({str(path)!r})
        def progress(done, total):
            print("chunk", done, flush=True)
        ingest(store, read_police_csv({str(big)!r}, options=ReadOptions(chunk_rows=20000)),
               on_progress=progress)
        print("finished", flush=True)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    seen = [line_within(proc.stdout, "ingest progress") for _ in range(3)]  # three chunks
    assert all(s.startswith("chunk") for s in seen)
    wal = Path(str(path) + "-wal")
    assert wal.exists() and wal.stat().st_size > 1_000_000  # blocks really were being written
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    reopened = SQLiteStore.open(path)
    assert reopened.count() == count
    assert reopened.data_version() == version
    with reopened._connection() as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    again = ingest(reopened, read_police_csv(LINCOLNSHIRE))
    assert again.accepted == 0 and again.duplicates_in_store == 5671
    reopened.close()


@pytest.mark.slow
@pytest.mark.real_data
def test_killing_a_postgis_ingest_half_way_leaves_nothing_behind(tmp_path, postgres_url):
    import psycopg

    from bench._synth import write_police_csv

    big = write_police_csv(tmp_path / "big.csv", 400_000)
    store = PostGISStore.open(postgres_url, schema="killed")
    ingest(store, read_police_csv(LINCOLNSHIRE))
    version, count = store.data_version(), store.count()
    store.close()
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        from geodata.ingest import ingest
        from geodata.readers import ReadOptions, read_police_csv
        from geodata.stores.postgis import PostGISStore
        store = PostGISStore.open({postgres_url!r}, schema="killed")
        def progress(done, total):
            print("chunk", done, flush=True)
        ingest(store, read_police_csv({str(big)!r}, options=ReadOptions(chunk_rows=20000)),
               on_progress=progress)
        print("finished", flush=True)
    """)
    with psycopg.connect(postgres_url, autocommit=True) as watcher:
        size = "SELECT pg_database_size(current_database())"
        size_before = watcher.execute(size).fetchone()[0]
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        seen = [line_within(proc.stdout, "ingest progress") for _ in range(3)]
        assert all(s.startswith("chunk") for s in seen)
        # the rows really were being written (the database's files grew), inside a transaction
        # nobody else can see
        grown = watcher.execute(size).fetchone()[0]
        assert grown > size_before + 1_000_000
        assert watcher.execute("SELECT count(*) FROM killed.incidents").fetchone()[0] == count
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdout.close()
        reopened = PostGISStore.open(postgres_url, schema="killed")
        assert reopened.count() == count and reopened.data_version() == version
        assert watcher.execute("SELECT count(*) FROM killed.incidents").fetchone()[0] == count
        assert [i["source"] for i in reopened.ingests()] == ["2024-03-lincolnshire-street.csv"]
    again = ingest(reopened, read_police_csv(LINCOLNSHIRE))
    assert again.accepted == 0 and again.duplicates_in_store == 5671
    reopened.close()


def test_queries_match_a_brute_force_filter(store, demo_files):
    assert not store.holds_incidents() and not store.holds_incidents(IncidentFilter(start=0))
    assert store.time_span() is None and store.time_span(IncidentFilter(start=0)) is None
    ingest(store, read_force_csv(demo_files.force_export))
    truth = read_force_csv(demo_files.force_export).read_all().incidents.columns
    t, cat, x, y = truth["occurred_at"], truth["category"], truth["x"], truth["y"]
    lon, lat = truth["lon"], truth["lat"]
    start, end = int(np.quantile(t, 0.3)), int(np.quantile(t, 0.6))
    bbox = (460_000.0, 468_000.0, 466_000.0, 474_000.0)
    # a window holding one instant's incidents, and the widest gap between two instants
    instants = np.unique(t)
    gap = int(np.argmax(np.diff(instants)))
    one = int(instants[len(instants) // 2])
    cases = [
        (IncidentFilter(start=one, end=one + 1), t == one),
        (IncidentFilter(start=int(instants[gap]) + 1, end=int(instants[gap + 1])),
         np.zeros(len(t), bool)),
        (IncidentFilter(end=int(instants[0])), np.zeros(len(t), bool)),
        (IncidentFilter(start=int(instants[-1])), t == instants[-1]),
        (IncidentFilter(), np.ones(len(t), bool)),
        (IncidentFilter(start=start, end=end), (t >= start) & (t < end)),
        (IncidentFilter(categories=("shoplifting", "asb")), np.isin(cat, ["shoplifting", "asb"])),
        (IncidentFilter(bbox=bbox),
         (x >= bbox[0]) & (x <= bbox[2]) & (y >= bbox[1]) & (y <= bbox[3])),
        (IncidentFilter(lonlat_bbox=(-1.06, 54.12, -1.02, 54.14)),
         (lon >= -1.06) & (lon <= -1.02) & (lat >= 54.12) & (lat <= 54.14)),
        (IncidentFilter(start=start, categories=("violence_sexual",), bbox=bbox),
         (t >= start) & (cat == "violence_sexual") & (x >= bbox[0]) & (x <= bbox[2])
         & (y >= bbox[1]) & (y <= bbox[3])),
        (IncidentFilter(categories=("poaching",), start=0, end=1), np.zeros(len(t), bool)),
    ]
    for flt, expected in cases:
        got = store.incidents(flt, extra=("lsoa_code",))
        assert len(got) == int(expected.sum()), flt
        assert store.holds_incidents(flt) == bool(expected.any()), flt
        assert store.time_span(flt) == ((int(t[expected].min()), int(t[expected].max()))
                                        if expected.any() else None), flt
        bare = store.incidents(flt, lonlat=False)  # the same rows, without lon and lat
        assert len(bare.lon) == len(bare.lat) == 0 and bare.lon.dtype == got.lon.dtype
        for column in ("x", "y", "occurred_at", "precision", "weight", "rid"):
            assert np.array_equal(getattr(bare, column), getattr(got, column)), (flt, column)
        assert list(bare.category) == list(got.category)
        assert sorted(zip(got.x.tolist(), got.y.tolist(), got.occurred_at.tolist(), strict=True)) \
            == sorted(zip(x[expected].tolist(), y[expected].tolist(), t[expected].tolist(),
                          strict=True))
        assert set(got.category) <= set(cat[expected])
        assert len(got.extra["lsoa_code"]) == len(got)
    gdf = store.incidents(IncidentFilter(categories=("shoplifting",))).to_geodataframe()
    assert gdf.crs.to_epsg() == 27700 and (gdf["category"] == "shoplifting").all()


def test_pages_cover_every_incident_once_in_time_order(store, demo_files):
    ingest(store, read_force_csv(demo_files.force_export))
    flt = IncidentFilter(categories=("asb", "shoplifting"))
    total = len(store.incidents(flt))
    seen: list[int] = []
    times: list[str] = []
    offset = 0
    while True:
        page = store.incident_records(flt, offset=offset, limit=333)
        assert page.total == total
        if not page.records:
            break
        seen += [r["rid"] for r in page.records]
        times += [r["occurred_at"] for r in page.records]
        offset += len(page.records)
    assert len(seen) == len(set(seen)) == total
    stamps = np.array([np.datetime64(t[:19]) for t in times])
    assert (np.diff(stamps.astype("int64")) >= -3600).all()  # local times: only DST can step back
    rec = page_one = store.incident_records(flt, limit=1).records[0]
    assert rec["category"] in ("asb", "shoplifting") and rec["precision"] == "exact"
    assert page_one["id"].startswith("DS-")


@pytest.mark.real_data
def test_data_version_changes_with_data(store, demo_files):
    from geodata.layers import read_layer

    v0 = store.data_version()
    ingest(store, read_police_csv(LINCOLNSHIRE))
    v1 = store.data_version()
    assert v1 != v0
    ingest(store, read_police_csv(LINCOLNSHIRE))
    assert store.data_version() == v1
    store.put_layer(read_layer("town_centres", demo_files.layers["town_centres"]))
    assert store.data_version() not in (v0, v1)


@pytest.mark.real_data
def test_demo_and_force_data_never_mix(store_factory, demo_files):
    from geodata.demo import load_demo

    force = store_factory()
    ingest(force, read_police_csv(LINCOLNSHIRE))
    with pytest.raises(StorePurposeError, match="holds a force's data"):
        load_demo(force, demo_files)
    demo = store_factory()
    load_demo(demo, demo_files)
    with pytest.raises(StorePurposeError, match="holds the demo force area"):
        ingest(demo, read_police_csv(LINCOLNSHIRE))
    assert demo.purpose() == "demo" and force.purpose() == "force"


def test_open_store_urls(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rel = open_store("sqlite:///rel.sqlite")
    assert Path(rel.path) == Path("rel.sqlite")
    absolute = open_store(f"sqlite:///{tmp_path}/abs.sqlite")
    assert Path(absolute.path) == tmp_path / "abs.sqlite"
    rel.close()
    absolute.close()
    with pytest.raises(UnsupportedStore, match="unknown database URL scheme 'mysql'"):
        open_store("mysql://localhost/x")
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(StoreUnavailable, match="not a hotspot store"):
        open_store(junk)
    with pytest.raises(StoreUnavailable, match="no store exists"):
        open_store(tmp_path / "missing.sqlite", create=False)


@pytest.mark.parametrize("kind", STORE_KINDS)
@pytest.mark.real_data
def test_a_busy_store_says_so(tmp_path, kind: str, request):
    if kind == "sqlite":
        path = tmp_path / "s.sqlite"
        first, second = SQLiteStore.open(path, busy_timeout_s=0.2), SQLiteStore.open(path, busy_timeout_s=0.2)
    else:
        url = request.getfixturevalue("postgres_url")
        first = PostGISStore.open(url, schema="busy", busy_timeout_s=0.2)
        second = PostGISStore.open(url, schema="busy", busy_timeout_s=0.2)
    with first.writer(source="a", format="police.uk") as w:
        with pytest.raises(StoreUnavailable, match="the store is busy"):
            ingest(second, read_police_csv(io.BytesIO(LINCOLNSHIRE.read_bytes())))
        w.finish({})
    first.close()
    second.close()


@pytest.mark.parametrize("crs", ["EPSG:4326", "EPSG:2263", "not a crs"])
def test_a_store_refuses_a_force_crs_not_in_metres(tmp_path, crs: str):
    with pytest.raises(ValueError, match=r"unknown CRS|projected in metres"):
        SQLiteStore.open(tmp_path / "s.sqlite", crs=crs)
    utm = SQLiteStore.open(tmp_path / "ok.sqlite", crs="EPSG:32630")
    assert utm.crs == "EPSG:32630"
    utm.close()


def test_open_store_postgis_urls(postgres_url: str):
    store = open_store(f"{postgres_url}?schema=opened")
    assert isinstance(store, PostGISStore) and store.schema == "opened" and store.count() == 0
    store.close()
    again = open_store(f"{postgres_url}?schema=opened", create=False)
    assert again.store_id == store.store_id  # the same store, found again
    again.close()
    with pytest.raises(StoreUnavailable, match="no store exists"):
        open_store(f"{postgres_url}?schema=never_made", create=False)
    with pytest.raises(ValueError, match="schema must be"):
        open_store(f"{postgres_url}?schema=Robert');DROP")
    # nothing listens on port 9: a clear refusal in seconds, not a hang or a traceback
    with pytest.raises(StoreUnavailable, match=r"does not answer|unavailable|nothing answers"):
        PostGISStore.open("postgresql://postgres@127.0.0.1:9/test", connect_timeout_s=1)


def test_migrations_run_once_from_two_processes_at_once(postgres_url: str):
    from concurrent.futures import ThreadPoolExecutor

    import psycopg

    with ThreadPoolExecutor(4) as pool:
        stores = list(pool.map(lambda _i: PostGISStore.open(postgres_url, schema="racing"), range(4)))
    assert len({s.store_id for s in stores}) == 1
    for s in stores:
        s.close()
    with psycopg.connect(postgres_url) as conn:
        rows = conn.execute("SELECT version, count(*) FROM racing.schema_migrations "
                            "GROUP BY version").fetchall()
    assert rows and all(n == 1 for _v, n in rows)


def test_a_store_upgraded_by_a_later_release_is_refused(postgres_url: str):
    """A store whose schema a later release has migrated (a migration this release does not
    know) is refused, saying so, rather than read and written by code that does not know it;
    nothing is applied or changed."""
    import psycopg

    from geodata.stores.postgis import migration_scripts

    PostGISStore.open(postgres_url, schema="later").close()
    later = max(number for number, _n, _s in migration_scripts()) + 1
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("INSERT INTO later.schema_migrations (version, name) VALUES (%s, %s)",
                     (later, f"{later:04d}_later.sql"))
        before = conn.execute("SELECT version FROM later.schema_migrations").fetchall()
    for attempt in (lambda: PostGISStore.open(postgres_url, schema="later"),
                    lambda: open_store(f"{postgres_url}?schema=later", create=False)):
        with pytest.raises(StoreUnavailable, match=rf"later release \(its migration {later}"):
            attempt()
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT version FROM later.schema_migrations").fetchall() == before


def test_a_database_without_postgis_rights_is_named(postgres_url: str):
    import psycopg

    from tests.conftest import POSTGRES_URL, _with_database

    name = postgres_url.rsplit("/", 1)[-1] + "_bare"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute("DO $$ BEGIN CREATE ROLE hotspot_plain LOGIN; "
                      "EXCEPTION WHEN duplicate_object THEN NULL; END $$")
        admin.execute(f'CREATE DATABASE "{name}" OWNER hotspot_plain')
    try:
        url = _with_database(POSTGRES_URL, name, user="hotspot_plain")
        with pytest.raises(StoreUnavailable, match="CREATE EXTENSION postgis"):
            PostGISStore.open(url, schema="plain")
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.real_data
def test_postgis_partitions_hold_the_same_incidents(monkeypatch, postgres_url, tmp_path):
    import psycopg

    import geodata.stores.postgis.writer as module
    from geodata.readers import read_geojson

    monkeypatch.setattr(module, "OWN_PARTITION_MIN", 1000)  # the real files get their own
    small = tmp_path / "three.geojson"
    small.write_text('{"type": "FeatureCollection", "features": [' + ",".join(
        f'{{"type": "Feature", "id": "g{i}", "geometry": {{"type": "Point", "coordinates": '
        f'[-0.54, 53.2{i}]}}, "properties": {{"occurred_at": "2024-03-05T22:10:00Z", '
        f'"crime_type": "Hare coursing"}}}}' for i in range(3)) + "]}")
    pg = PostGISStore.open(postgres_url, schema="parts")
    lite = SQLiteStore.open(tmp_path / "same.sqlite")
    for store in (pg, lite):
        for reader in (read_police_csv(LINCOLNSHIRE), read_geojson(small),
                       read_police_csv(NORTH_YORKSHIRE)):
            ingest(store, reader)
    with psycopg.connect(postgres_url) as conn:
        parts = _partitions(conn, "parts")
    assert len(parts) == 3 and "incidents_shared" in parts  # two files, one shared
    assert pg.count() == lite.count() == 5671 + 3 + 5288
    for flt in (None, IncidentFilter(categories=("asb", "hare_coursing")),
                IncidentFilter(bbox=(440000.0, 430000.0, 480000.0, 470000.0)),
                IncidentFilter(start=1704067200, lonlat_bbox=(-1.0, 52.5, 0.5, 53.5))):
        a, b = pg.incidents(flt), lite.incidents(flt)
        key_a = np.lexsort((a.occurred_at, a.y, a.x))
        key_b = np.lexsort((b.occurred_at, b.y, b.x))
        assert len(a) == len(b) > 0
        assert np.array_equal(a.x[key_a], b.x[key_b]) and np.array_equal(a.y[key_a], b.y[key_b])
        assert list(np.asarray(a.category)[key_a]) == list(np.asarray(b.category)[key_b])
        assert (pg.incident_records(flt, limit=5).total
                == lite.incident_records(flt, limit=5).total == len(a))
    again = ingest(pg, read_police_csv(LINCOLNSHIRE))
    assert again.accepted == 0 and again.duplicates_in_store == 5671
    pg.close()
    lite.close()


@pytest.mark.real_data
def test_a_version_1_postgis_store_upgrades_with_its_data(postgres_url):
    import psycopg

    from geodata.stores.postgis import migration_scripts

    current = PostGISStore.open(postgres_url, schema="v_now")
    ingest(current, read_police_csv(LINCOLNSHIRE))
    first = migration_scripts()[0][2].read_text("utf-8")
    columns = ("uid_hi, uid_lo, rid, ingest_id, namespace, id, occurred_at, precision, x, y, "
               "lon, lat, weight, category, crime_type, location_text, lsoa_code, lsoa_name, "
               "outcome, context, force, geom")
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        # a store as version 1 left it, holding the same incidents
        conn.execute("CREATE SCHEMA v_old")
        conn.execute("SET search_path TO v_old, public")
        conn.execute(first)
        conn.execute("CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text "
                     "NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
        conn.execute("INSERT INTO schema_migrations (version, name) VALUES (1, '0001_init.sql')")
        conn.execute("INSERT INTO meta SELECT * FROM v_now.meta")
        conn.execute("INSERT INTO strings OVERRIDING SYSTEM VALUE SELECT * FROM v_now.strings")
        conn.execute("INSERT INTO ingests OVERRIDING SYSTEM VALUE SELECT * FROM v_now.ingests")
        conn.execute(f"INSERT INTO incidents ({columns}) OVERRIDING SYSTEM VALUE "
                     f"SELECT {columns} FROM v_now.incidents")
        for table, column in (("ingests", "ingest_id"), ("strings", "code")):
            conn.execute(f"SELECT setval(pg_get_serial_sequence('v_old.{table}', '{column}'), "
                         f"(SELECT max({column}) FROM v_old.{table}))")
    upgraded = PostGISStore.open(postgres_url, schema="v_old")
    assert [m["version"] for m in upgraded.migrations()] == [v for v, _n, _r in migration_scripts()]
    assert upgraded.count() == current.count() == 5671
    a, b = upgraded.incidents(), current.incidents()
    assert np.array_equal(a.rid, b.rid) and np.array_equal(a.x, b.x)
    again = ingest(upgraded, read_police_csv(LINCOLNSHIRE))  # the identities came along
    assert again.accepted == 0 and again.duplicates_in_store == 5671
    more = ingest(upgraded, read_police_csv(NORTH_YORKSHIRE))
    assert more.accepted == 5288 and upgraded.count() == 5671 + 5288
    assert len(np.unique(upgraded.incidents().rid)) == 5671 + 5288  # no row id used twice
    upgraded.close()
    current.close()


def test_postgis_keys_stay_unique_when_a_first_load_rebuilds_the_key_index(tmp_path,
                                                                          postgres_url):
    """A first load (an empty store) loads the key table without its primary key and builds
    it once at the end; later ingests, small or larger than what is stored, insert their keys
    in key order. Either way each incident is stored once, and the primary key is there
    afterwards."""
    import csv as csvmod

    import psycopg

    from bench._synth import write_police_csv

    whole = write_police_csv(tmp_path / "whole.csv", 90_000)
    with whole.open(newline="", encoding="utf-8") as f:
        rows = list(csvmod.reader(f))

    def part(name: str, a: int, b: int) -> Path:
        path = tmp_path / name
        with path.open("w", newline="", encoding="utf-8") as f:
            csvmod.writer(f, lineterminator="\n").writerows([rows[0], *rows[1 + a:1 + b]])
        return path

    reference = SQLiteStore.open(tmp_path / "reference.sqlite")
    expected = ingest(reference, read_police_csv(whole)).accepted
    reference.close()
    store = PostGISStore.open(postgres_url, schema="rebuild_keys")
    first = ingest(store, read_police_csv(part("a.csv", 0, 30_000)))  # rebuild (empty store)
    second = ingest(store, read_police_csv(part("b.csv", 20_000, 45_000)))  # in key order
    third = ingest(store, read_police_csv(part("c.csv", 10_000, 90_000)))  # more than stored
    assert first.accepted + second.accepted + third.accepted == store.count() == expected
    again = ingest(store, read_police_csv(whole))
    assert again.accepted == 0 and again.duplicates_in_store == expected
    with psycopg.connect(postgres_url) as conn:
        pk = _primary_key(conn, "rebuild_keys")
        keys = conn.execute("SELECT count(*) FROM rebuild_keys.incident_keys").fetchone()
    assert pk == 1 and keys == (expected,)
    store.drop()


def _partitions(conn, schema: str) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace n ON n.oid = p.relnamespace "
        "WHERE n.nspname = %s AND p.relname = 'incidents' ORDER BY 1", (schema,)).fetchall()]


def _ingest_tables(conn, schema: str) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = %s AND tablename LIKE 'incidents_b%%' "
        "ORDER BY 1", (schema,)).fetchall()]


def _primary_key(conn, schema: str) -> int:
    return conn.execute("SELECT count(*) FROM pg_constraint c JOIN pg_namespace n "
                        "ON n.oid = c.connamespace WHERE n.nspname = %s "
                        "AND c.conname = 'incident_keys_pkey' AND c.contype = 'p'",
                        (schema,)).fetchone()[0]


@pytest.mark.real_data
def test_postgis_large_ingests_are_sealed_in_parts_on_the_way(monkeypatch, postgres_url,
                                                             tmp_path):
    """An ingest seals a table every PART_ROWS incidents (a partition each) and puts a
    remainder under OWN_PARTITION_MIN into the shared partition; the store then holds exactly
    what the embedded store holds, each incident once, with the key table's primary key."""
    import psycopg

    import geodata.stores.postgis.writer as module

    monkeypatch.setattr(module, "PART_ROWS", 2_400)
    monkeypatch.setattr(module, "OWN_PARTITION_MIN", 1_000)
    pg = PostGISStore.open(postgres_url, schema="in_parts")
    lite = SQLiteStore.open(tmp_path / "same.sqlite")
    options = ReadOptions(chunk_rows=600)
    for store in (pg, lite):
        first = ingest(store, read_police_csv(NORTH_YORKSHIRE, options=options))  # a first load
        second = ingest(store, read_police_csv(LINCOLNSHIRE, options=options))  # keys probed
        assert (first.accepted, second.accepted) == (5288, 5671)
    with psycopg.connect(postgres_url) as conn:
        parts = _partitions(conn, "in_parts")
        # 5288 rows: 2400 + 2400 sealed on the way, 488 into the shared partition; 5671 rows:
        # 2400 + 2400 sealed on the way, 871 shared
        assert len(parts) == 5 and "incidents_shared" in parts
        assert sorted(_ingest_tables(conn, "in_parts")) == sorted(
            p for p in parts if p != "incidents_shared")
        sizes = conn.execute("SELECT bucket, count(*) FROM in_parts.incidents GROUP BY 1 "
                             "ORDER BY 1").fetchall()
        assert sorted(n for _b, n in sizes) == [488 + 871, 2400, 2400, 2400, 2400]
        assert _primary_key(conn, "in_parts") == 1
        assert conn.execute("SELECT count(*) FROM in_parts.incident_keys").fetchone()[0] == (
            5288 + 5671)
    a, b = pg.incidents(), lite.incidents()
    key_a, key_b = np.lexsort((a.occurred_at, a.y, a.x)), np.lexsort((b.occurred_at, b.y, b.x))
    assert len(a) == len(b) == 5288 + 5671 == len(np.unique(a.rid))
    assert np.array_equal(a.x[key_a], b.x[key_b]) and np.array_equal(a.y[key_a], b.y[key_b])
    assert list(np.asarray(a.category)[key_a]) == list(np.asarray(b.category)[key_b])
    for path, stored in ((NORTH_YORKSHIRE, 5288), (LINCOLNSHIRE, 5671)):
        again = ingest(pg, read_police_csv(path, options=options))
        assert again.accepted == 0 and again.duplicates_in_store == stored
    pg.drop()
    lite.close()


@pytest.mark.parametrize("before", [None, LINCOLNSHIRE], ids=["first_load", "more"])
@pytest.mark.real_data
def test_postgis_an_ingest_failing_after_sealed_parts_leaves_nothing(monkeypatch, postgres_url,
                                                                    before):
    """A reader failing mid-file, with one part sealed and attached and the next part's COPY
    open, leaves no row, key, table or dropped primary key behind."""
    import psycopg

    import geodata.stores.postgis.writer as module

    class Patient(module._pipeline.Pipeline):
        def abort(self) -> None:  # queued jobs run first: the next part's COPY is then open
            self._stop()

    states = []

    def close(self: module.PostGISWriter, close=module.PostGISWriter.close) -> None:
        self.pipe.abort()
        part = self._open_part
        states.append((self.inserted, part is not None and part.copying is not None))
        close(self)

    monkeypatch.setattr(module._pipeline, "Pipeline", Patient)
    monkeypatch.setattr(module.PostGISWriter, "close", close)
    monkeypatch.setattr(module, "PART_ROWS", 1_500)
    monkeypatch.setattr(module, "OWN_PARTITION_MIN", 1_000)
    schema = "failed_parts" if before is None else "failed_parts_more"
    store = PostGISStore.open(postgres_url, schema=schema)
    if before is not None:
        ingest(store, read_police_csv(before))
    count, version = store.count(), store.data_version()
    with psycopg.connect(postgres_url) as conn:
        tables, parts = _ingest_tables(conn, schema), _partitions(conn, schema)
    assert len(parts) == (1 if before is None else 2)  # parts are sealed between batches
    reader = _Exploding(read_police_csv(NORTH_YORKSHIRE, options=ReadOptions(chunk_rows=1000)),
                        good=3)
    with pytest.raises(OSError, match="disk went away"):
        ingest(store, reader)
    inserted, copy_open = states[-1]
    assert inserted > 2_000 and copy_open  # a part sealed, the next one's COPY under way
    assert store.count() == count and store.data_version() == version
    with psycopg.connect(postgres_url) as conn:
        assert _ingest_tables(conn, schema) == tables
        assert _partitions(conn, schema) == parts
        assert _primary_key(conn, schema) == 1
        assert conn.execute(f"SELECT count(*) FROM {schema}.incident_keys").fetchone()[0] == count
    done = ingest(store, read_police_csv(NORTH_YORKSHIRE, options=ReadOptions(chunk_rows=1000)))
    assert done.accepted == 5288 and store.count() == count + 5288
    store.drop()


def test_postgis_pool_checks_only_a_connection_something_arrived_on(postgres_url: str,
                                                                    monkeypatch):
    """A pooled connection is lent without the empty query's round trip while nothing has
    arrived on its socket; one whose backend was terminated in the pool is checked, found
    broken and replaced, and the next query works (the pool's full check, counted here, runs
    only then)."""
    import psycopg
    from psycopg_pool import ConnectionPool

    real = ConnectionPool.check_connection
    checked: list[object] = []

    def counted(conn: psycopg.Connection) -> None:
        checked.append(conn)
        real(conn)

    monkeypatch.setattr(ConnectionPool, "check_connection", staticmethod(counted))
    store = PostGISStore.open(postgres_url, schema="quiet")
    try:
        version = store.data_version()
        for _ in range(5):
            assert store.data_version() == version
        assert checked == []
        database = postgres_url.rsplit("/", 1)[-1]
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            ended = admin.execute(  # waits (up to 5 s) until each backend has gone
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000)) "
                "FROM pg_stat_activity WHERE datname = %s AND application_name = %s",
                (database, "hotspot:quiet")).fetchone()
        assert ended is not None and ended[0] >= 1
        assert store.data_version() == version
        assert len(checked) >= 1 and checked[0].closed  # found broken, and replaced
        checked.clear()
        assert store.data_version() == version and checked == []
    finally:
        store.close()


def test_an_embedded_store_upgraded_by_a_later_release_is_refused(tmp_path: Path):
    """The embedded store's file at a schema version a later release made: refused, saying
    so, and left as it was."""
    import sqlite3

    from geodata.stores.sqlite.connection import _scripts

    path = tmp_path / "later.sqlite"
    SQLiteStore.open(path).close()
    later = _scripts()[-1][0] + 1
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {later}")
    with pytest.raises(StoreUnavailable, match=rf"later release \(its migration {later}"):
        SQLiteStore.open(path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == later


def test_closing_the_embedded_store_leaves_a_connection_in_use_to_its_thread(tmp_path: Path):
    """A store closed (a service stopping, a test's fixture ending) while another thread reads:
    that thread's connection is closed as its read ends, never under it (Python's ``sqlite3``
    crashes the whole process when a connection is closed while a statement runs on it, as a
    test run once did)."""
    import sqlite3

    store = SQLiteStore.open(tmp_path / "closing.sqlite")
    inside, closed = threading.Event(), threading.Event()
    seen: dict[str, object] = {}

    def read() -> None:
        with store._connection() as conn:
            inside.set()
            assert closed.wait(30)
            seen["version"] = store._version(conn)  # after close(): still this thread's to use
            seen["conn"] = conn

    reader = threading.Thread(target=read)
    reader.start()
    assert inside.wait(30)
    store.close()
    closed.set()
    reader.join(30)
    assert seen["version"] == store.data_version()  # a new connection for this thread
    conn = seen["conn"]
    assert isinstance(conn, sqlite3.Connection)
    with pytest.raises(sqlite3.ProgrammingError, match="closed database"):
        conn.execute("SELECT 1")  # closed by its own thread as the read ended
    with store._connection() as mine:
        pass
    store.close()
    with pytest.raises(sqlite3.ProgrammingError, match="closed database"):
        mine.execute("SELECT 1")  # one no block used: closed at once


def test_embedded_store_blocks_within_a_block_keep_its_connection_through_a_close(
        tmp_path: Path):
    """A block within a block uses the outer one's connection even after ``close()`` (with
    another, a write inside a transaction the outer block began would wait for the whole busy
    timeout, then fail)."""
    store = SQLiteStore.open(tmp_path / "nested.sqlite", busy_timeout_s=1)
    with store._connection() as outer:
        store.close()
        with store._connection() as inner:
            assert inner is outer
        with store._transaction() as inner:
            assert inner is outer
            inner.execute("INSERT INTO meta (key, value) VALUES ('nested', 'yes')")
    assert store.purpose() is None  # the store answers again, on a new connection
    with store._connection() as conn:
        assert conn is not outer
        assert conn.execute("SELECT value FROM meta WHERE key = 'nested'").fetchone() == ("yes",)
    store.close()


def test_a_thread_that_ends_leaves_no_embedded_store_connection_open(tmp_path: Path):
    """A service's worker threads come and go; each one's connection is closed as it ends
    (kept open, they would use up the process's files in a long-running service)."""
    import gc
    import sqlite3

    store = SQLiteStore.open(tmp_path / "threads.sqlite")
    made: list[sqlite3.Connection] = []

    def read() -> None:
        with store._connection() as conn:
            made.append(conn)
            store.data_version()

    for _ in range(5):
        t = threading.Thread(target=read)
        t.start()
        t.join(30)
    gc.collect()
    assert len(made) == 5 and len({id(c) for c in made}) == 5
    for conn in made:
        with pytest.raises(sqlite3.ProgrammingError, match="closed database"):
            conn.execute("SELECT 1")
    assert store.count() == 0  # this thread's own is open
    store.close()


def test_a_postgis_store_opens_while_an_ingest_holds_it(postgres_url: str):
    """An ingest holds the store's lock to its end; a service instance starting or a command
    run meanwhile opens the store at once (it has every migration: nothing to wait for). A
    store that needs a migration waits for the lock at most ``busy_timeout_s``, then says so;
    one a later release upgraded is refused at once."""
    import uuid

    schema = f"t_{uuid.uuid4().hex[:12]}"
    store = PostGISStore.open(postgres_url, schema=schema)
    try:
        opened: list[PostGISStore] = []
        with store._writing():  # the writers' lock, as an ingest holds it
            t = threading.Thread(
                target=lambda: opened.append(PostGISStore.open(postgres_url, schema=schema)))
            t.start()
            t.join(20)
            assert opened, "opening the store waited for the ingest"
        opened[0].close()
        with store._connections.conn() as conn:
            last = conn.execute("DELETE FROM schema_migrations WHERE version = "
                                "(SELECT max(version) FROM schema_migrations) "
                                "RETURNING version, name").fetchone()
        try:
            with store._writing(), pytest.raises(StoreUnavailable,
                                                 match="needs a schema migration"):
                PostGISStore.open(postgres_url, schema=schema, busy_timeout_s=1)
        finally:
            with store._connections.conn() as conn:
                conn.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                             last)
        # a later release's migration: refused at once, not taken for one to wait for
        with store._connections.conn() as conn:
            conn.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, 'later')",
                         (last[0] + 1,))
        with store._writing(), pytest.raises(StoreUnavailable, match="later release"):
            PostGISStore.open(postgres_url, schema=schema, busy_timeout_s=1)
    finally:
        store.close()
