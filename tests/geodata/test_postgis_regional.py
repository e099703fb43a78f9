"""The PostGIS store's regional layout: incidents partitioned by force, then by month.

Against the real PostgreSQL: partitions made by the ingest that first meets a force-month (in its
transaction), indexes on each month's table, selections whose plan reads only the tables of the
force and the months asked for, incidents stored exactly once, a failed ingest leaving nothing,
and a plain store converted in place with nothing lost. The store interface's own tests run
against a regional store too (``test_postgis_regional_suite.py``).
"""

from __future__ import annotations

import csv
import datetime as dt
import threading
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import psycopg
import pytest

from geodata.errors import InvalidValue
from geodata.ingest import ingest
from geodata.readers import ReadOptions, read_police_csv
from geodata.schema import IncidentFilter
from geodata.stores import SQLiteStore
from geodata.stores.postgis import PostGISStore, regional
from tests.geodata.test_store import _Exploding

LONDON = ZoneInfo("Europe/London")
HEADER = ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude",
          "Location", "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context"]
FORCES = {"Essex Police": (0.55, 51.75), "Lincolnshire Police": (-0.45, 53.1),
          "North Yorkshire Police": (-1.3, 54.1)}
TYPES = ["Burglary", "Anti-social behaviour", "Vehicle crime", "Violence and sexual offences"]


def police_csv(path: Path, rows: dict[tuple[str, str], int], *, first: int = 0) -> Path:
    """A data.police.uk file with ``rows[(force, month)]`` incidents of each force-month;
    Crime IDs ``<force>-<month>-<k>`` for k from ``first`` (ASB rows have none, and differ by
    place), so two files with overlapping ranges share incidents."""
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(HEADER)
        for (force, month), n in rows.items():
            lon0, lat0 = FORCES[force]
            for k in range(first, first + n):
                kind = TYPES[k % len(TYPES)]
                ident = "" if kind == "Anti-social behaviour" else f"{force[:5]}-{month}-{k}"
                # placed by k (not at random): the same k is the same incident in every file
                lon = lon0 + (k % 97) * 0.003 + (k // 97) * 1e-5
                lat = lat0 + (k % 89) * 0.002
                w.writerow([ident, month, force, force, f"{lon:.6f}", f"{lat:.6f}",
                            f"On or near Place {k % 13}", "E01000001", "Somewhere 001A", kind,
                            "Under investigation", ""])
    return path


def month_period(month: str, n: int = 1) -> tuple[int, int]:
    """``[start, end)`` of ``n`` months from ``month`` in the store's time zone, seconds."""
    year, m = (int(p) for p in month.split("-"))
    key = regional.month_key(year, m)
    return regional.month_start(key, LONDON), regional.month_start(key + n, LONDON)


def month_tables(conn: psycopg.Connection, schema: str) -> dict[str, int]:
    """The month tables of a regional store and the rows each holds."""
    names = [r[0] for r in conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind = 'r' AND c.relname ~ '^incidents_f[0-9]+_'",
        (schema,)).fetchall()]
    counts = {}
    for t in names:
        row = conn.execute(f"SELECT count(*) FROM {schema}.{t}").fetchone()
        assert row is not None
        counts[t] = int(row[0])
    return counts


def same_incidents(a, b) -> None:
    """Two selections hold the same incidents (row ids differ between stores)."""
    key_a, key_b = np.lexsort((a.occurred_at, a.y, a.x)), np.lexsort((b.occurred_at, b.y, b.x))
    assert len(a) == len(b)
    assert np.array_equal(a.x[key_a], b.x[key_b]) and np.array_equal(a.y[key_a], b.y[key_b])
    assert np.array_equal(a.occurred_at[key_a], b.occurred_at[key_b])
    assert list(np.asarray(a.category)[key_a]) == list(np.asarray(b.category)[key_b])


SPRING = {(f, m): n for f, n in zip(FORCES, (300, 200, 100), strict=True)
          for m in ("2024-02", "2024-03", "2024-04")}
"""Three forces, three months (April begins at 23:00 UTC on 31 March: British Summer Time)."""


@pytest.fixture
def spring(tmp_path: Path) -> Path:
    return police_csv(tmp_path / "spring.csv", SPRING)


def test_an_ingest_makes_a_partition_per_force_and_month_with_its_indexes(postgres_url, spring,
                                                                         tmp_path):
    store = PostGISStore.open(postgres_url, schema="reg_parts", layout="regional")
    lite = SQLiteStore.open(tmp_path / "same.sqlite")
    assert store.partitions() == {}
    for s in (store, lite):
        assert ingest(s, read_police_csv(spring)).accepted == 1800
    assert store.partitions() == {f: ["2024-02", "2024-03", "2024-04"] for f in FORCES}
    with psycopg.connect(postgres_url) as conn:
        tables = month_tables(conn, "reg_parts")
        codes = dict(conn.execute("SELECT value, code FROM reg_parts.strings").fetchall())
        for (force, month), n in SPRING.items():
            year, m = month.split("-")
            assert tables[f"incidents_f{codes[force]}_{year}_{m}"] == n
        # each month's table has its own three indexes; the partitioned tables above none
        indexes = conn.execute(
            "SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = 'reg_parts' "
            "AND tablename LIKE 'incidents%%'").fetchall()
        by_table: dict[str, list[str]] = {}
        for table, definition in indexes:
            by_table.setdefault(table, []).append(definition)
        assert set(by_table) == set(tables)
        for definitions in by_table.values():
            assert len(definitions) == 3
            assert any("USING gist (geom)" in d for d in definitions)
            assert any("btree (occurred_at)" in d for d in definitions)
            assert any("btree (category, occurred_at)" in d for d in definitions)
        # the partition bounds are the months' first instants in the store's time zone
        bound = conn.execute(
            "SELECT pg_get_expr(c.relpartbound, c.oid) FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = 'reg_parts' AND c.relname = %s",
            (f"incidents_f{codes['Essex Police']}_2024_04",)).fetchone()[0]
    april = month_period("2024-04")
    assert april[0] == int(dt.datetime(2024, 3, 31, 23, tzinfo=dt.UTC).timestamp())
    assert bound == f"FOR VALUES FROM ('{april[0]}') TO ('{april[1]}')"
    for flt in (None, IncidentFilter(start=april[0], end=april[1]),
                IncidentFilter(categories=("asb", "burglary")),
                IncidentFilter(bbox=(500000.0, 150000.0, 650000.0, 300000.0))):
        same_incidents(store.incidents(flt), lite.incidents(flt))
        assert store.incident_records(flt, limit=3).total == len(lite.incidents(flt))
    store.drop()
    lite.close()


def test_a_selection_reads_only_the_partitions_of_its_force_and_months(postgres_url, spring):
    """EXPLAIN of the query the store runs: the planner prunes every table outside the force
    and the period (as the plain layout, partitioned by ingest, cannot)."""
    store = PostGISStore.open(postgres_url, schema="reg_prune", layout="regional")
    ingest(store, read_police_csv(spring))
    essex = PostGISStore.open(postgres_url, schema="reg_prune", force="Essex Police")
    assert essex.layout == "regional"  # the layout the store has
    with psycopg.connect(postgres_url) as conn:
        code = conn.execute("SELECT code FROM reg_prune.strings WHERE value = 'Essex Police'"
                            ).fetchone()[0]
    march, april = month_period("2024-03"), month_period("2024-04")
    one_month = IncidentFilter(start=april[0], end=april[1])
    assert essex.selection_tables(one_month) == [f"incidents_f{code}_2024_04"]
    assert len(essex.incidents(one_month)) == 300
    assert sorted(essex.selection_tables(IncidentFilter(start=march[0], end=april[1]))) == [
        f"incidents_f{code}_2024_03", f"incidents_f{code}_2024_04"]
    assert len(essex.selection_tables()) == 3  # the force's every month
    # the whole region's month: that month of each force
    whole = store.selection_tables(one_month)
    assert len(whole) == 3 and all(t.endswith("_2024_04") for t in whole)
    assert len(store.incidents(one_month)) == 600
    # categories and boxes filter inside the month's table
    asb = IncidentFilter(start=april[0], end=april[1], categories=("asb",))
    assert essex.selection_tables(asb) == [f"incidents_f{code}_2024_04"]
    assert len(essex.incidents(asb)) == 75
    # a period with no month stored reads nothing
    assert essex.selection_tables(IncidentFilter(*month_period("2023-01"))) == []
    essex.close()
    store.drop()


def test_a_store_opened_for_one_force_reads_only_its_incidents(postgres_url, spring, tmp_path):
    whole = PostGISStore.open(postgres_url, schema="reg_scope", layout="regional")
    ingest(whole, read_police_csv(spring))
    lincs = PostGISStore.open(postgres_url, schema="reg_scope", force="Lincolnshire Police")
    alone = SQLiteStore.open(tmp_path / "lincs.sqlite")
    ingest(alone, read_police_csv(police_csv(
        tmp_path / "lincs.csv", {k: n for k, n in SPRING.items() if k[0] == "Lincolnshire Police"})))
    for flt in (None, IncidentFilter(*month_period("2024-03")),
                IncidentFilter(categories=("vehicle_crime",))):
        same_incidents(lincs.incidents(flt), alone.incidents(flt))
        assert lincs.incident_records(flt, limit=2).total == len(alone.incidents(flt))
        assert lincs.time_span(flt) == alone.time_span(flt) is not None
    rid, _labels = lincs.cluster_dbscan(None, eps_m=500, min_samples=3)
    assert np.array_equal(rid, lincs.incidents().rid) and len(rid) == 600
    # a tile holding Lincolnshire and North Yorkshire (z 6: 5.6 W to 0, 52.4 N to 55.8 N)
    # shows Lincolnshire's incidents only
    assert lincs.incident_tile(IncidentFilter(), 6, 31, 20)[1] == 600
    assert whole.incident_tile(IncidentFilter(), 6, 31, 20)[1] == 600 + 300
    # ingests, counts and versions are the store's
    assert lincs.count() == whole.count() == 1800
    assert lincs.data_version() == whole.data_version()
    nobody = PostGISStore.open(postgres_url, schema="reg_scope", force="Nowhere Constabulary")
    assert len(nobody.incidents()) == 0 and nobody.selection_tables() == []
    assert nobody.time_span() is None and whole.time_span() is not None
    with pytest.raises(InvalidValue) as err:
        PostGISStore.open(postgres_url, schema="reg_scope", force="  ")
    assert err.value.field == "force"
    for s in (lincs, nobody, alone):
        s.close()
    whole.drop()


def test_a_regional_ingest_stores_each_incident_once(postgres_url, tmp_path):
    """Overlapping files, one after another and at the same time, and a repeat: each incident
    is stored once (the identities are kept apart from the partitions, in incident_keys)."""
    early = police_csv(tmp_path / "early.csv", {("Essex Police", "2024-01"): 400,
                                                ("Essex Police", "2024-02"): 400})
    late = police_csv(tmp_path / "late.csv", {("Essex Police", "2024-02"): 400,
                                              ("Essex Police", "2024-03"): 400,
                                              ("Lincolnshire Police", "2024-03"): 50}, first=200)
    lite = SQLiteStore.open(tmp_path / "same.sqlite")
    expected = sum(ingest(lite, read_police_csv(p)).accepted for p in (early, late))
    assert expected == 400 + 600 + 400 + 50
    store = PostGISStore.open(postgres_url, schema="reg_once", layout="regional")
    errors: list[BaseException] = []

    def run(path: Path) -> None:
        try:
            ingest(store, read_police_csv(path, options=ReadOptions(chunk_rows=150)))
        except BaseException as exc:  # handed to the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(p,)) for p in (early, late, early)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.count() == expected == len(np.unique(store.incidents().rid))
    same_incidents(store.incidents(), lite.incidents())
    again = ingest(store, read_police_csv(late))
    assert again.accepted == 0 and again.duplicates_in_store == 850
    with psycopg.connect(postgres_url) as conn:
        keys = conn.execute("SELECT count(*) FROM reg_once.incident_keys").fetchone()[0]
        assert keys == expected
        assert sum(month_tables(conn, "reg_once").values()) == expected
    assert store.partitions() == {"Essex Police": ["2024-01", "2024-02", "2024-03"],
                                  "Lincolnshire Police": ["2024-03"]}
    store.drop()
    lite.close()


@pytest.mark.parametrize("before", [False, True], ids=["first_load", "more"])
def test_a_failed_regional_ingest_leaves_no_partition_row_or_key(monkeypatch, postgres_url,
                                                                 tmp_path, before):
    """A reader failing after parts were sealed (keys recorded, indexes of finished months
    built) and new months' tables made: the transaction takes all of it back."""
    import geodata.stores.postgis.writer as module

    monkeypatch.setattr(module, "PART_ROWS", 500)
    states = []

    def close(self, close=regional.RegionalWriter.close) -> None:
        self.pipe.drain()  # what was queued ran: parts sealed, tables made, a COPY open
        states.append((self.inserted, sum(map(len, self._tables.values())),
                       self._copying is not None))
        close(self)

    monkeypatch.setattr(regional.RegionalWriter, "close", close)
    schema = f"reg_failed_{int(before)}"
    store = PostGISStore.open(postgres_url, schema=schema, layout="regional")
    if before:
        ingest(store, read_police_csv(police_csv(
            tmp_path / "before.csv", {("Essex Police", "2024-01"): 300})))
    count, version, parts = store.count(), store.data_version(), store.partitions()
    months = {("Essex Police", m): 400 for m in ("2024-01", "2024-02", "2024-03", "2024-04")}
    path = police_csv(tmp_path / "months.csv", {**months, ("Lincolnshire Police", "2024-04"): 400})
    reader = _Exploding(read_police_csv(path, options=ReadOptions(chunk_rows=300)),
                        good=5 + before)  # (the rows stored before are not new)
    with pytest.raises(OSError, match="disk went away"):
        ingest(store, reader)
    inserted, tables, copy_open = states[-1]
    assert inserted == 1500 and tables >= 4 and copy_open  # Essex's four months at least
    assert store.count() == count and store.data_version() == version
    assert store.partitions() == parts
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute(f"SELECT count(*) FROM {schema}.incident_keys").fetchone()[0] == count
        assert conn.execute(
            "SELECT count(*) FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace "
            "WHERE n.nspname = %s AND c.conname = 'incident_keys_pkey'", (schema,)
        ).fetchone()[0] == 1
        assert sum(month_tables(conn, schema).values()) == count
    done = ingest(store, read_police_csv(path, options=ReadOptions(chunk_rows=300)))
    assert done.accepted == 2000 - (300 if before else 0)
    store.drop()


def test_months_met_mid_ingest_get_their_tables_and_indexes(monkeypatch, postgres_url, tmp_path):
    """Small parts, months interleaved in the file: tables made as months appear, indexes of
    the tables no longer written built on the way, the others at the end."""
    import geodata.stores.postgis.writer as module

    monkeypatch.setattr(module, "PART_ROWS", 350)
    rows = {("North Yorkshire Police", f"2023-{m:02d}"): 150 for m in range(1, 13)}
    path = police_csv(tmp_path / "year.csv", rows)
    store = PostGISStore.open(postgres_url, schema="reg_mid", layout="regional")
    lite = SQLiteStore.open(tmp_path / "same.sqlite")
    for s in (store, lite):
        assert ingest(s, read_police_csv(path, options=ReadOptions(chunk_rows=100))).accepted \
            == 1800
    assert store.partitions() == {"North Yorkshire Police": [f"2023-{m:02d}"
                                                             for m in range(1, 13)]}
    with psycopg.connect(postgres_url) as conn:
        assert set(month_tables(conn, "reg_mid").values()) == {150}
        n_indexes = conn.execute("SELECT count(*) FROM pg_indexes WHERE schemaname = 'reg_mid' "
                                 "AND tablename LIKE 'incidents_f%%'").fetchone()[0]
    assert n_indexes == 3 * 12
    same_incidents(store.incidents(), lite.incidents())
    store.drop()
    lite.close()


def test_converting_a_plain_store_keeps_every_incident(monkeypatch, postgres_url, spring,
                                                       tmp_path):
    """In place, in one transaction: the same rows (row ids and all), the same identities, the
    same data version (the data has not changed); ingests go on in the new layout."""
    import geodata.stores.postgis.writer as module

    monkeypatch.setattr(module, "OWN_PARTITION_MIN", 1000)  # one ingest its own partition
    store = PostGISStore.open(postgres_url, schema="reg_convert")
    ingest(store, read_police_csv(spring))  # 1800 rows: a partition of its own
    small = police_csv(tmp_path / "small.csv", {("Essex Police", "2024-05"): 40})
    ingest(store, read_police_csv(small))  # into the shared partition
    assert store.layout == "plain" and store.partitions() == {}
    before = store.incidents(extra=("force", "crime_type"))
    records = store.incident_records(limit=2000)
    version, count = store.data_version(), store.count()
    other = PostGISStore.open(postgres_url, schema="reg_convert")  # another process's view

    assert store.convert_to_regional() == count == 1840
    assert store.layout == "regional"
    assert store.convert_to_regional() == 0  # once
    after = store.incidents(extra=("force", "crime_type"))
    assert store.data_version() == version and store.count() == count
    for field in ("rid", "x", "y", "lon", "lat", "occurred_at", "precision", "weight"):
        assert np.array_equal(getattr(before, field), getattr(after, field)), field
    for c in ("force", "crime_type"):
        assert list(before.extra[c]) == list(after.extra[c])
    assert list(before.category) == list(after.category)
    assert store.incident_records(limit=2000).records == records.records
    assert store.partitions() == {"Essex Police": ["2024-02", "2024-03", "2024-04", "2024-05"],
                                  "Lincolnshire Police": ["2024-02", "2024-03", "2024-04"],
                                  "North Yorkshire Police": ["2024-02", "2024-03", "2024-04"]}
    april = month_period("2024-04")
    assert len(store.selection_tables(IncidentFilter(*april))) == 3
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'reg_convert' "
                            "AND tablename ~ '^incidents_(b|shared)'").fetchone()[0] == 0
    # the identities came along; the other process's ingest writes the new layout
    again = ingest(other, read_police_csv(spring))
    assert again.accepted == 0 and again.duplicates_in_store == 1800
    more = police_csv(tmp_path / "june.csv", {("Essex Police", "2024-06"): 60})
    assert ingest(other, read_police_csv(more)).accepted == 60
    assert other.layout == "regional"
    assert store.partitions()["Essex Police"][-1] == "2024-06"
    assert len(np.unique(store.incidents().rid)) == count + 60
    other.close()
    store.drop()


def test_a_conversion_that_fails_leaves_the_plain_store_whole(monkeypatch, postgres_url, spring):
    store = PostGISStore.open(postgres_url, schema="reg_convert_fails")
    ingest(store, read_police_csv(spring))
    before = store.incidents()
    built = []

    def failing(conn, table, build=regional.build_indexes):
        if built:
            raise OSError("the disk is full")
        build(conn, table)
        built.append(table)

    monkeypatch.setattr(regional, "build_indexes", failing)
    with pytest.raises(OSError, match="disk is full"):
        store.convert_to_regional()
    monkeypatch.undo()
    reopened = PostGISStore.open(postgres_url, schema="reg_convert_fails")
    assert reopened.layout == "plain" and reopened.partitions() == {}
    after = reopened.incidents()
    assert np.array_equal(before.rid, after.rid) and np.array_equal(before.x, after.x)
    assert ingest(reopened, read_police_csv(spring)).accepted == 0
    reopened.close()
    store.drop()


def test_the_layout_is_chosen_when_the_store_is_made(postgres_url, spring):
    made = PostGISStore.open(postgres_url, schema="reg_choose", layout="regional")
    assert made.layout == "regional"
    assert PostGISStore.open(postgres_url, schema="reg_choose").layout == "regional"
    with pytest.raises(InvalidValue) as err:
        PostGISStore.open(postgres_url, schema="reg_choose", layout="plain")
    assert err.value.field == "layout"
    with pytest.raises(InvalidValue) as err:
        PostGISStore.open(postgres_url, schema="reg_choose_x", layout="by-county")
    assert err.value.field == "layout"
    # a plain store holding nothing takes the layout; holding incidents, it is converted
    plain = PostGISStore.open(postgres_url, schema="reg_choose_plain")
    assert plain.layout == "plain"
    assert PostGISStore.open(postgres_url, schema="reg_choose_plain",
                             layout="regional").layout == "regional"
    full = PostGISStore.open(postgres_url, schema="reg_choose_full")
    ingest(full, read_police_csv(spring))
    with pytest.raises(InvalidValue, match="convert_to_regional") as err:
        PostGISStore.open(postgres_url, schema="reg_choose_full", layout="regional")
    assert err.value.field == "layout"
    for s in (made, plain, full):
        s.drop()


def test_month_keys_follow_the_local_calendar():
    # the instants either side of each month's first instant (local midnight: 23:00 UTC
    # the day before in summer time)
    starts = [regional.month_start(regional.month_key(2024, m), LONDON) for m in range(1, 13)]
    instants = np.array([s + d for s in starts for d in (-1, 0, 1)], dtype=np.int64)
    keys = regional.month_keys(instants, LONDON)
    expected = [regional.month_key(2024, m) + d for m in range(1, 13) for d in (-1, 0, 0)]
    assert keys.tolist() == expected
    assert [regional.month_of(int(t), LONDON) for t in instants] == expected
    assert regional.month_table(7, regional.month_key(2024, 4)) == "incidents_f7_2024_04"


def test_a_database_url_chooses_the_layout_and_the_force(postgres_url, spring):
    from geodata.stores import open_store

    made = open_store(f"{postgres_url}?schema=reg_url&layout=regional")
    assert isinstance(made, PostGISStore) and made.layout == "regional" and made.force is None
    ingest(made, read_police_csv(spring))
    essex = open_store(f"{postgres_url}?schema=reg_url&force=Essex+Police")
    assert isinstance(essex, PostGISStore)
    assert essex.layout == "regional" and essex.force == "Essex Police"
    assert len(essex.incidents()) == 900 and len(made.incidents()) == 1800
    with pytest.raises(InvalidValue) as err:
        open_store(f"{postgres_url}?schema=reg_url&layout=flat")
    assert err.value.field == "layout"
    essex.close()
    made.drop()
