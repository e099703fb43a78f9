"""Benchmark: ingest of data.police.uk rows into the embedded store, and loading them back.

Targets (issue 2): 1,000,000 rows ingested at >= 100,000 rows/s end to end; 1,000,000
incidents loaded back as columns in <= 0.5 s; peak memory of the ingest under 1 GiB.

Peers, measured in the same run on the same file: pandas.read_csv (parsing only, no
validation or storage), a geopandas pipeline (read_csv, pyproj, GeoDataFrame.to_file to a
GeoPackage), and for loading back, geopandas.read_file of that GeoPackage and a plain SQLite
table read with sqlite3. Every task runs in its own process, so each peak memory is its own.

Run: ``make bench`` or ``python -m bench.ingest --rows 1000000``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from bench._runner import run_task

TASKS = {
    "hotspot ingest (embedded store)": """
from geodata.ingest import ingest
from geodata.readers import read_police_csv
from geodata.stores import SQLiteStore
store = SQLiteStore.open(STORE)
t = time.perf_counter()
report = ingest(store, read_police_csv(CSV))
s = time.perf_counter() - t
done(seconds=s, rows=report.records, stored=report.accepted, rejected=report.rejected)
""",
    "hotspot re-ingest, all duplicates": """
from geodata.ingest import ingest
from geodata.readers import read_police_csv
from geodata.stores import SQLiteStore
store = SQLiteStore.open(STORE)
t = time.perf_counter()
report = ingest(store, read_police_csv(CSV))
s = time.perf_counter() - t
done(seconds=s, rows=report.records, stored=report.accepted, duplicates=report.duplicates)
""",
    "hotspot load back as columns": """
from geodata.stores import SQLiteStore
store = SQLiteStore.open(STORE)
times = []
for _ in range(5):
    t = time.perf_counter()
    cols = store.incidents()
    times.append(time.perf_counter() - t)
done(seconds=min(times), rows=len(cols), median=sorted(times)[2])
""",
    "hotspot load back, one category and a bbox": """
from geodata.schema import IncidentFilter
from geodata.stores import SQLiteStore
store = SQLiteStore.open(STORE)
flt = IncidentFilter(categories=("asb",), bbox=(440000.0, 430000.0, 480000.0, 470000.0))
times = []
for _ in range(5):
    t = time.perf_counter()
    cols = store.incidents(flt)
    times.append(time.perf_counter() - t)
done(seconds=min(times), rows=len(cols))
""",
    "peer: pandas.read_csv (parse only)": """
import pandas as pd
t = time.perf_counter()
df = pd.read_csv(CSV, dtype=str, keep_default_na=False)
done(seconds=time.perf_counter() - t, rows=len(df))
""",
    "peer: geopandas pipeline to GeoPackage": """
import geopandas as gpd, pandas as pd
t = time.perf_counter()
df = pd.read_csv(CSV, dtype={"Longitude": float, "Latitude": float})
df = df.dropna(subset=["Longitude", "Latitude"])
gdf = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df.Longitude, df.Latitude), crs=4326)
gdf = gdf.to_crs(27700)
gdf.to_file(GPKG, driver="GPKG", engine="pyogrio")
done(seconds=time.perf_counter() - t, rows=len(df))
""",
    "peer: geopandas.read_file (GeoPackage)": """
import geopandas as gpd
t = time.perf_counter()
gdf = gpd.read_file(GPKG, engine="pyogrio", columns=["Crime type"])
done(seconds=time.perf_counter() - t, rows=len(gdf))
""",
    "peer: plain SQLite table, write rows": """
import sqlite3, csv, os
if os.path.exists(ROWDB): os.remove(ROWDB)
c = sqlite3.connect(ROWDB)
c.execute("create table inc(id text primary key, month text, lon real, lat real, type text, loc text)")
t = time.perf_counter()
with open(CSV, newline="") as f:
    r = csv.reader(f); next(r)
    c.executemany("insert or ignore into inc values (?,?,?,?,?,?)",
                  ((row[0] or None, row[1], row[4] or None, row[5] or None, row[9], row[6]) for row in r))
c.commit()
done(seconds=time.perf_counter() - t, rows=c.execute("select count(*) from inc").fetchone()[0])
""",
    "peer: plain SQLite table, read columns": """
import sqlite3, numpy as np
c = sqlite3.connect(ROWDB)
times = []
for _ in range(3):
    t = time.perf_counter()
    rows = c.execute("select lon, lat, month, type from inc").fetchall()
    lon = np.fromiter((r[0] or 0.0 for r in rows), float, len(rows))
    times.append(time.perf_counter() - t)
done(seconds=min(times), rows=len(rows))
""",
}


def main(argv: list[str] | None = None) -> None:
    from bench._synth import write_police_csv

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--work", type=Path, default=None, help="folder for the files")
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="hotspot-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    csv_path = write_police_csv(work / f"police-{args.rows}.csv", args.rows)
    store = work / "store.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(str(store) + suffix).unlink(missing_ok=True)
    paths = {"CSV": str(csv_path), "STORE": str(store), "GPKG": str(work / "peer.gpkg"),
             "ROWDB": str(work / "rows.sqlite")}
    Path(paths["GPKG"]).unlink(missing_ok=True)
    results = {}
    print(f"{args.rows:,} data.police.uk rows ({csv_path.stat().st_size / 1e6:.0f} MB), "
          f"{work}\n")
    print(f"| {'task':<44} | {'seconds':>8} | {'rows/s':>10} | {'rows':>10} | {'peak MB':>8} |")
    print(f"|{'-' * 46}|{'-' * 10}|{'-' * 12}|{'-' * 12}|{'-' * 10}|")
    for name, body in TASKS.items():
        r = run_task(name, body, paths)
        results[name] = r
        rate = r["rows"] / r["seconds"] if r["seconds"] else float("inf")
        print(f"| {name:<44} | {r['seconds']:>8.3f} | {rate:>10,.0f} | {r['rows']:>10,} | "
              f"{r['peak_mb']:>8.0f} |", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
