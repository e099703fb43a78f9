"""Benchmark: incident vector tiles (issue 17) from the two stores, side by side.

The same data.police.uk rows are loaded into the embedded store and into PostGIS; then the
same tiles are made by each: PostGIS inside the database (``ST_AsMVT``), the embedded store by
reading the tile's columns and encoding them with mapbox-vector-tile. Tiles: the busiest
tile at zoom 8 (most of a county) and 11 (a town), both thinned evenly to at most 25,000
incidents, and 14 (streets).
Each is made once to warm up, then five times; the fastest and the median are shown, with the
features and the tile's size. Run: ``python -m bench.tiles [--rows N]``; PostGIS at
HOTSPOT_BENCH_POSTGRES_URL (default ``postgresql://postgres@127.0.0.1:5432/test``), in a schema
of its own, dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import uuid
from pathlib import Path

from bench._runner import print_header, print_row, run_task
from bench.postgis import _drop

URL = os.environ.get("HOTSPOT_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")

LOAD = """
from geodata.ingest import ingest
from geodata.readers import read_police_csv
from geodata.stores import open_store
store = open_store(STORE)
t = time.perf_counter()
report = ingest(store, read_police_csv(CSV))
done(seconds=time.perf_counter() - t, rows=report.accepted)
"""

TILES = """
import math
import numpy as np
from geodata.schema import IncidentFilter
from geodata.stores import open_store
store = open_store(STORE)
cols = store.incidents()
# the busiest spot: the median point of the incidents, as a planner's view would centre
lon, lat = float(np.median(cols.lon)), float(np.median(cols.lat))
n = 2 ** Z
x = int((lon + 180) / 360 * n)
y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
flt = IncidentFilter()
data, count = store.incident_tile(flt, Z, x, y)
times = []
for _ in range(5):
    t = time.perf_counter()
    data, count = store.incident_tile(flt, Z, x, y)
    times.append(time.perf_counter() - t)
done(seconds=min(times), median=sorted(times)[2], incidents=count, kib=len(data) / 1024,
     tile=f"{Z}/{x}/{y}")
"""


def main(argv: list[str] | None = None) -> None:
    from bench._synth import write_police_csv

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="hotspot-bench-tiles-"))
    work.mkdir(parents=True, exist_ok=True)
    csv_path = write_police_csv(work / f"police-{args.rows}.csv", args.rows)
    pg_url = f"{URL}?schema=bench_tiles_{uuid.uuid4().hex[:8]}"
    stores = {"embedded (SQLite, mapbox-vector-tile)": str(work / "tiles.sqlite"),
              "PostGIS (ST_AsMVT)": pg_url}
    try:
        print_header(f"Incident vector tiles, {args.rows:,} data.police.uk rows")
        for name, url in stores.items():
            r = run_task(f"load {name}", LOAD, {"STORE": url, "CSV": str(csv_path)})
            print_row(f"load into {name}", r, f"{r['rows']:,} incidents")
        for z in (8, 11, 14):
            for name, url in stores.items():
                r = run_task(f"tile {z} {name}", TILES, {"STORE": url, "Z": z})
                print_row(f"z{z} tile {r['tile']}, {name}", r,
                          f"{r['incidents']:,} in it, {r['kib']:.0f} KiB, "
                          f"median {r['median']:.3f} s")
    finally:
        _drop(pg_url)


if __name__ == "__main__":
    main()
