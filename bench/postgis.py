"""Benchmark: the PostGIS store: ingest, reading back, and DBSCAN inside the database.

Targets (issue 5): 1,000,000 data.police.uk rows ingested into PostGIS at >= 150,000 rows/s end
to end; 1,000,000 incidents read back as columns in <= 1 s; DBSCAN inside PostGIS
(ST_ClusterDBSCAN) timed beside the Python DBSCAN on the same 100,000 and 1,000,000 points.

Peers in the same run: the embedded store on the same file (first loads of the two stores in
turn, ``--repeats`` times, median shown, as a shared machine's runs differ by 10% or more), and
a plain psycopg ``fetchall`` of the same columns (one Python tuple per row).

Needs a PostgreSQL server with PostGIS (``make test`` sets one up): HOTSPOT_BENCH_POSTGRES_URL,
default ``postgresql://postgres@127.0.0.1:5432/test``; everything goes in a schema of its own,
dropped at the end. Run: ``make bench`` or ``python -m bench.postgis``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import uuid
from pathlib import Path
from typing import Any

from bench._runner import print_header, print_row, run_task

URL = os.environ.get("HOTSPOT_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")

INGEST = """
from geodata.ingest import ingest
from geodata.readers import read_police_csv
from geodata.stores import open_store
store = open_store(STORE)
t = time.perf_counter()
report = ingest(store, read_police_csv(CSV))
done(seconds=time.perf_counter() - t, rows=report.records, stored=report.accepted,
     duplicates=report.duplicates)
"""

READ = """
from geodata.schema import IncidentFilter
from geodata.stores import open_store
store = open_store(STORE)
flt = IncidentFilter(categories=("asb",), bbox=(440000.0, 430000.0, 480000.0, 470000.0)) \\
    if SUBSET else None
store.incidents(flt)
times = []
for _ in range(5):
    t = time.perf_counter()
    cols = store.incidents(flt)
    times.append(time.perf_counter() - t)
done(seconds=min(times), rows=len(cols), median=sorted(times)[2])
"""

FETCHALL = """
import psycopg, numpy as np
from geodata.stores import open_store
store = open_store(STORE)
conn = psycopg.connect(store.url)
q = f"SELECT rid, x, y, lon, lat, occurred_at, precision, weight, category FROM {store.schema}.incidents"
times = []
for _ in range(3):
    t = time.perf_counter()
    rows = conn.execute(q).fetchall()
    x = np.fromiter((r[1] for r in rows), float, len(rows))
    times.append(time.perf_counter() - t)
done(seconds=min(times), rows=len(rows))
"""

POINTS_INTO_STORE = """
import numpy as np
from bench.hotspots import POINTS
exec(POINTS)
from geodata.schema import IncidentTable, NUMERIC_FIELDS, TEXT_FIELDS
from geodata.stores import open_store
xy, _ = county(N)
xy += (400_000.0, 400_000.0)
n = len(xy)
cols = {k: np.full(n, "", dtype=object) for k in TEXT_FIELDS}
cols["id"] = np.array([f"p{i}" for i in range(n)], dtype=object)
cols["category"] = np.full(n, "other_theft", dtype=object)
cols.update({"x": xy[:, 0], "y": xy[:, 1], "lon": np.zeros(n), "lat": np.zeros(n),
             "occurred_at": np.zeros(n, dtype=np.int64), "precision": np.full(n, 2, np.uint8),
             "weight": np.ones(n, np.float32)})
store = open_store(STORE)
with store.writer(source="points", format="bench") as w:
    w.add(IncidentTable(columns=cols, line=np.arange(n), namespace="bench"))
    w.finish({})
done(seconds=0.0, rows=n)
"""

DBSCAN_NUMPY = """
from geodata.stores import open_store
from hotspot import DBSCANHotspots
store = open_store(STORE)
cols = store.incidents()
DBSCANHotspots(eps_m=150, min_samples=MIN_SAMPLES).fit(cols.xy[:2000], crs=cols.crs)
times = []
for _ in range(3):
    t = time.perf_counter()
    est = DBSCANHotspots(eps_m=150, min_samples=MIN_SAMPLES).fit(cols.xy, crs=cols.crs)
    times.append(time.perf_counter() - t)
done(seconds=min(times), clusters=est.n_clusters_, rows=len(cols))
"""

DBSCAN_POSTGIS = """
from geodata.stores import open_store
store = open_store(STORE)
times = []
for _ in range(REPEATS):
    t = time.perf_counter()
    rid, labels = store.cluster_dbscan(None, eps_m=150, min_samples=MIN_SAMPLES)
    times.append(time.perf_counter() - t)
done(seconds=min(times), clusters=len(set(labels[labels >= 0].tolist())), rows=len(rid))
"""


def _drop(url: str) -> None:
    import psycopg

    from geodata.stores import _split_schema

    conninfo, schema = _split_schema(url)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def main(argv: list[str] | None = None) -> None:
    from bench._synth import write_police_csv

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--repeats", type=int, default=3,
                        help="first loads of each store, in turn (the median is shown)")
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="hotspot-bench-pg-"))
    work.mkdir(parents=True, exist_ok=True)
    csv_path = write_police_csv(work / f"police-{args.rows}.csv", args.rows)
    more_path = write_police_csv(work / f"police-{args.rows}-more.csv", args.rows,
                                 first=args.rows)
    tag = uuid.uuid4().hex[:8]
    first_loads = max(1, args.repeats)
    pgs = [f"{URL}?schema=bench_{tag}_load{k}" for k in range(first_loads)]
    pg = pgs[-1]
    try:
        print_header(f"Ingest and read back: {args.rows:,} data.police.uk rows "
                     f"({csv_path.stat().st_size / 1e6:.0f} MB)")
        # first loads into empty stores, PostGIS and the embedded peer in turn, so that both
        # see the same machine (a shared one: runs differ by 10% or more)
        loads: dict[str, list[dict[str, Any]]] = {"pg": [], "sqlite": []}
        for k in range(first_loads):
            sqlite = work / f"store-{tag}-{k}.sqlite"
            loads["pg"].append(run_task("ingest", INGEST, {"STORE": pgs[k], "CSV": str(csv_path)}))
            loads["sqlite"].append(run_task("peer", INGEST, {"STORE": str(sqlite),
                                                             "CSV": str(csv_path)}))
            if k < first_loads - 1:
                _drop(pgs[k])
                sqlite.unlink()
        for name, key in (("PostGIS ingest (median)", "pg"),
                          ("peer: embedded store ingest (median)", "sqlite")):
            runs = sorted(loads[key], key=lambda r: r["seconds"])
            r = runs[len(runs) // 2]
            print_row(name, r, f"{r['rows'] / r['seconds']:,.0f} rows/s, {r['stored']:,} new")
            each = " / ".join(f"{x['seconds']:.2f}" for x in loads[key])
            print(f"| {'  each run, in order: ' + each + ' s':<52} |{'':11}|{'':10}|{'':42}|")
        name = "PostGIS re-ingest, all duplicates"
        r = run_task(name, INGEST, {"STORE": pg, "CSV": str(csv_path)})
        print_row(name, r, f"{r['rows'] / r['seconds']:,.0f} rows/s, {r['stored']:,} new")
        r = run_task("read", READ, {"STORE": pg, "SUBSET": False})
        print_row("PostGIS read back as columns", r, f"{r['rows']:,} incidents, median "
                  f"{r['median']:.3f} s")
        r = run_task("read subset", READ, {"STORE": pg, "SUBSET": True})
        print_row("PostGIS read back, one category and a bbox", r, f"{r['rows']:,} incidents")
        r = run_task("read sqlite", READ, {"STORE": str(sqlite), "SUBSET": False})
        print_row("peer: embedded store read back as columns", r, f"{r['rows']:,} incidents")
        r = run_task("fetchall", FETCHALL, {"STORE": pg})
        print_row("peer: psycopg fetchall of the same columns", r, f"{r['rows']:,} rows")
        # (after the reads, which are of the first file's incidents)
        name = "PostGIS ingest of as many new rows into that store"
        r = run_task(name, INGEST, {"STORE": pg, "CSV": str(more_path)})
        print_row(name, r, f"{r['rows'] / r['seconds']:,.0f} rows/s, {r['stored']:,} new")
        _drop(pg)

        for n, min_samples, repeats in ((100_000, 11, 3), (1_000_000, 40, 1)):
            print_header(f"DBSCAN, eps 150 m, min_samples {min_samples}, {n:,} points "
                         "(the engine benchmark's county)")
            points = f"{URL}?schema=bench_{tag}_{n}"
            run_task("points", POINTS_INTO_STORE, {"STORE": points, "N": n})
            ours = run_task("numpy", DBSCAN_NUMPY, {"STORE": points, "MIN_SAMPLES": min_samples})
            print_row("hotspot DBSCAN (numpy, in the service)", ours,
                      f"{ours['clusters']} clusters")
            db = run_task("postgis", DBSCAN_POSTGIS, {"STORE": points, "MIN_SAMPLES": min_samples,
                                                     "REPEATS": repeats})
            print_row("PostGIS ST_ClusterDBSCAN (in the database)", db,
                      f"{db['clusters']} clusters; {db['seconds'] / ours['seconds']:.0f}x")
            _drop(points)
    finally:
        for url in (*pgs, f"{URL}?schema=bench_{tag}_100000", f"{URL}?schema=bench_{tag}_1000000"):
            _drop(url)


if __name__ == "__main__":
    main()
