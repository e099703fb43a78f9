"""Benchmark: a region's store at 10^7 incidents, the plain and the regional PostGIS layouts side
by side (issue 18, scope 6; ``docs/scaling.md``).

The region (:mod:`bench._region`): five forces, 24 months, one data.police.uk file per force per
month (real rows repeated with fresh Crime IDs), ingested in the order a region's monthly
releases come (every force's file of a month, then the next month's), each file one ingest, into
two stores in the same database: the plain layout (partitioned by ingest) and the regional one
(by force, then month). Measured for each, in the same run:

- ingest: rows/s over the whole region, and of the next month's release (one file a force)
  into the stores holding 24 months;
- selection as columns (:meth:`PostGISStore.incidents`): one force one month, one force a year,
  the whole region one month; best and median of five, with the tables PostgreSQL's plan reads
  (the regional layout's pruning: one table, twelve, five);
- the whole answer, uncached ``GET /v1/hotspots`` (DBSCAN with the automatic threshold, and
  KDE) of one force for a month and for a quarter, through the real app (in process, by HTTP
  over ASGI) serving the store opened for that force;
- the plain store converted to the regional layout in place
  (:meth:`PostGISStore.convert_to_regional`, one transaction).

Each file is ingested into each store in turn, and each selection and answer is timed on one
layout then the other, so both see the same (shared, noisy) machine.

Needs a PostgreSQL server with PostGIS: HOTSPOT_BENCH_POSTGRES_URL, default
``postgresql://postgres@127.0.0.1:5432/test``; the stores go in schemas of their own, dropped at
the end unless ``--keep``. The files (2 GB at 10^7) go in ``--work``. Run:
``python -m bench.scaling --rows 10000000 --work /tmp/region``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import uuid
from pathlib import Path

from bench._runner import print_header, print_row, run_task

URL = os.environ.get("HOTSPOT_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")

INGEST = """
import os
from geodata.ingest import ingest
from geodata.readers import read_police_csv
from geodata.stores.postgis import PostGISStore
stores = {layout: PostGISStore.open(URL, schema=schema, layout=layout)
          for layout, schema in SCHEMAS.items()}
each = {layout: [] for layout in stores}
loads = []
for path in FILES:  # each file into every layout in turn: both see the same machine
    for layout, store in stores.items():
        t = time.perf_counter()
        report = ingest(store, read_police_csv(path))
        each[layout].append((time.perf_counter() - t, report.accepted))
    loads.append(os.getloadavg()[0])
out = {}
for layout, store in stores.items():
    runs = each[layout]
    with store.pool.connection() as conn:
        size = conn.execute("SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
                            "JOIN pg_namespace n ON n.oid = c.relnamespace "
                            "WHERE n.nspname = %s AND c.relkind IN ('r', 'i')",
                            (SCHEMAS[layout],)).fetchone()[0]
        tables = conn.execute("SELECT count(*) FROM pg_class c JOIN pg_namespace n "
                              "ON n.oid = c.relnamespace WHERE n.nspname = %s "
                              "AND c.relkind = 'r' AND c.relname LIKE 'incidents%%'",
                              (SCHEMAS[layout],)).fetchone()[0]
        if ANALYZE:  # (statistics for the selections; not timed)
            conn.execute(f"ANALYZE {SCHEMAS[layout]}.incidents")
    out[layout] = dict(seconds=sum(s for s, _ in runs), rows=sum(n for _, n in runs),
                       slowest=max(s for s, _ in runs), bytes=int(size), tables=int(tables))
done(seconds=0.0, layouts=out, load=sum(loads) / len(loads))
"""

SELECT = """
import statistics
from geodata.schema import IncidentFilter
from geodata.stores.postgis import PostGISStore
store = PostGISStore.open(URL, schema=SCHEMA, force=FORCE, create=False)
flt = IncidentFilter(start=START, end=END)
times = []
for _ in range(REPEATS):
    t = time.perf_counter()
    cols = store.incidents(flt)
    times.append(time.perf_counter() - t)
done(seconds=min(times), median=statistics.median(times), first=times[0], rows=len(cols),
     tables=len(store.selection_tables(flt)))
"""

ANSWER = """
import statistics
from fastapi.testclient import TestClient
from api.access import new_key
from api.app import create_app
from api.settings import Settings
from geodata.stores.postgis import PostGISStore
store = PostGISStore.open(URL, schema=SCHEMA, force=FORCE, create=False)
key, _record = new_key(store, name="scaling benchmark", role="admin")
app = create_app(Settings(data_dir=DATA_DIR), store=store)
out = {}
with TestClient(app) as client:
    auth = {"Authorization": f"Bearer {key}"}
    for method, param, base in (("dbscan", "eps_m", 150.0), ("kde", "bandwidth_m", 250.0)):
        times = []
        for k in range(REPEATS):  # a parameter changed a little each time: never cached
            t = time.perf_counter()
            r = client.get("/v1/hotspots", params={"period": PERIOD, "method": method,
                                                   param: f"{base + k / 10:g}"}, headers=auth)
            times.append(time.perf_counter() - t)
            assert r.status_code == 200, r.text[:300]
        out[method] = statistics.median(times)
        out[method + "_hotspots"] = len(r.json()["features"])
done(seconds=out["dbscan"], **out)
"""


CONVERT = """
from geodata.stores.postgis import PostGISStore
store = PostGISStore.open(URL, schema=SCHEMA, create=False)
before = store.data_version()
t = time.perf_counter()
moved = store.convert_to_regional()
seconds = time.perf_counter() - t
assert store.data_version() == before and store.count() == moved
done(seconds=seconds, rows=moved, months=sum(map(len, store.partitions().values())))
"""


def _next_month(month: str) -> str:
    year, m = (int(p) for p in month.split("-"))
    return f"{year + m // 12:04d}-{m % 12 + 1:02d}"


def _drop(url: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _period(month: str, n: int, timezone: str = "Europe/London") -> tuple[int, int]:
    """``[start, end)`` of ``n`` months from ``month`` (``YYYY-MM``), seconds, local months."""
    from zoneinfo import ZoneInfo

    from geodata.stores.postgis.regional import month_key, month_start

    year, m = (int(p) for p in month.split("-"))
    tz = ZoneInfo(timezone)
    return month_start(month_key(year, m), tz), month_start(month_key(year, m) + n, tz)


def main(argv: list[str] | None = None) -> None:
    from bench._region import FORCES, write_region

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=float, default=1e6, help="incidents in the region")
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--work", type=Path, default=None, help="folder for the files")
    parser.add_argument("--url", default=URL)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--answer-repeats", type=int, default=3)
    parser.add_argument("--layouts", default="plain,regional")
    parser.add_argument("--keep", action="store_true", help="keep the stores (schemas)")
    parser.add_argument("--no-convert", dest="convert", action="store_false",
                        help="skip converting the plain store to the regional layout")
    parser.add_argument("--reuse", default="", help="schema prefix of kept stores: no ingest")
    parser.add_argument("--phases", default="ingest,release,select,answer,convert",
                        help="which parts to run (comma-separated)")
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="hotspot-bench-region-"))
    files = write_region(work, int(args.rows), n_months=args.months)
    months = sorted({m for _f, m, _p in files})
    forces = sorted({f for f, _m, _p in files})
    last_month, year = months[-1], months[-12:] if len(months) >= 12 else months
    force = FORCES[0].name
    layouts = args.layouts.split(",")
    prefix = args.reuse or f"scaling_{uuid.uuid4().hex[:6]}"
    schemas = {layout: f"{prefix}_{layout}" for layout in layouts}
    try:
        def ingest_rows(title: str, paths: list[Path], *, analyze: bool) -> None:
            print_header(title)
            r = run_task("ingest", INGEST, {"URL": args.url, "SCHEMAS": schemas,
                                            "FILES": [str(p) for p in paths],
                                            "ANALYZE": analyze})
            for layout in layouts:
                x = {**r["layouts"][layout], "peak_mb": r["peak_mb"]}
                disk = f"{x['bytes'] / 2**30:.2f} GiB in {x['tables']} tables"
                print_row(f"{layout}", x, f"{x['rows'] / x['seconds']:,.0f} rows/s, "
                          f"slowest file {x['slowest']:.1f} s")
                print(f"| {'  ' + layout + ': the store on disk (tables, indexes)':<52} |"
                      f"{'':11}|{'':10}| {disk:<40} |", flush=True)
            print(f"\n(load average during the ingest: {r['load']:.1f} on {os.cpu_count()} "
                  "cores)", flush=True)

        phases = set(args.phases.split(","))
        if not args.reuse and "ingest" in phases:
            ingest_rows(f"Ingest of the region: {len(files)} files ({len(forces)} forces x "
                        f"{len(months)} months), {int(args.rows):,} rows, one ingest per file, "
                        "each file into each layout in turn", [p for _f, _m, p in files],
                        analyze=True)
        # the next month's release, into stores holding every month so far
        release = [] if "release" not in phases else write_region(work, int(args.rows) // len(months),
                               forces=len(forces), n_months=1,
                               first_month=_next_month(months[-1]))
        if release:
            ingest_rows(f"A month's release into the stores of {len(months)} months: "
                        f"{len(release)} files ({_next_month(months[-1])}), "
                        f"{len(release) * (int(args.rows) // len(files)):,} rows, each file "
                        "into each layout in turn", [p for _f, _m, p in release],
                        analyze=False)

        if "select" in phases:
            print_header(f"Selection as columns (PostGISStore.incidents), best of {args.repeats}")
            cases = [
                (f"one force, one month ({last_month})", force, _period(last_month, 1)),
                (f"one force, a year ({year[0]} to {year[-1]})", force,
                 _period(year[0], len(year))),
                (f"whole region, one month ({last_month})", None, _period(last_month, 1)),
            ]
            for name, scope, (start, end) in cases:
                for layout in layouts:
                    r = run_task("select", SELECT, {
                        "URL": args.url, "SCHEMA": schemas[layout], "FORCE": scope,
                        "START": start, "END": end, "REPEATS": args.repeats})
                    print_row(f"{layout}: {name}", r,
                              f"{r['rows']:,} rows, {r['tables']} tables read; median "
                              f"{r['median']:.3f}, first {r['first']:.3f}")

        if "answer" in phases:
            print_header(f"Whole answer: uncached GET /v1/hotspots of {force}, median of "
                         f"{args.answer_repeats} (app in process, HTTP over ASGI)")
            q = int(last_month[5:]) - 1
            quarter = f"{last_month[:4]}-Q{q // 3 + 1}"
            for period in (last_month, quarter):
                for layout in layouts:
                    r = run_task("answer", ANSWER, {
                        "URL": args.url, "SCHEMA": schemas[layout], "FORCE": force,
                        "PERIOD": period, "REPEATS": args.answer_repeats,
                        "DATA_DIR": str(work / f"app-{layout}")})
                    print_row(f"{layout}: {period}, DBSCAN (auto)", r,
                              f"{r['dbscan_hotspots']} hotspots")
                    print_row(f"{layout}: {period}, KDE", {"seconds": r["kde"],
                                                           "peak_mb": r["peak_mb"]},
                              f"{r['kde_hotspots']} hotspots")
        if args.convert and "convert" in phases and "plain" in layouts:
            print_header("Maintenance: the plain store converted to the regional layout in "
                         "place (one transaction)")
            r = run_task("convert", CONVERT, {"URL": args.url, "SCHEMA": schemas["plain"]})
            print_row("plain -> regional (PostGISStore.convert_to_regional)", r,
                      f"{r['rows'] / r['seconds']:,.0f} rows/s, {r['months']} month tables")
    finally:
        if not args.keep:
            for schema in schemas.values():
                _drop(args.url, schema)


if __name__ == "__main__":
    main()
