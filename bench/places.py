"""Benchmark: splitting hotspot areas into patrol-scale places (hotspot.places) on real data.

Data: Essex, data.police.uk street-level crime, January 2018 and January-June 2018
(``../shared/data/real/essex-2018-h1/``, EPSG:27700). Areas: KDE at bandwidth 250 m (share 0.5,
min_incidents 5) and DBSCAN with its defaults (eps 150 m, min_samples auto). Each area is split
into places no wider than 250 m, min_incidents 5.

Peers, in the same run on the same areas: the method that made the areas (its fit), and the
naive split: 176.8 m square tiles (250 m across the diagonal) clipped to the area, one place per
occupied tile.

Run: ``python -m bench.places``. Every task runs in its own process.
"""

from __future__ import annotations

import argparse

from bench._runner import ROOT, print_header, print_row, run_task

DATA = ROOT.parent / "shared" / "data" / "real" / "essex-2018-h1"

LOAD = """
import numpy as np
from geodata.readers import read_police_csv
from hotspot.kde import KDEHotspots
from hotspot.dbscan import DBSCANHotspots
def load(paths):
    parts = []
    for p in paths:
        inc = read_police_csv(p).read_all().incidents
        parts.append(np.column_stack([inc.columns["x"], inc.columns["y"]]).astype(float))
    return np.concatenate(parts)
xy = load(PATHS)
def areas(method):
    est = (KDEHotspots(bandwidth_m=250.0, min_incidents=5) if method == "kde"
           else DBSCANHotspots())
    t = time.perf_counter()
    est.fit(xy, crs="EPSG:27700")
    return est, time.perf_counter() - t
"""

SPLIT = LOAD + """
from hotspot.places import split_places, widest_extent_m
est, fit_s = areas(METHOD)
split_places(xy[:10], None, np.zeros(10, dtype=np.int64), est.hotspots_.iloc[:1])  # warm up
times = []
for _ in range(REPEAT):
    t = time.perf_counter()
    s = split_places(xy, None, est.labels_, est.hotspots_, max_place_m=250.0, min_incidents=5)
    times.append(time.perf_counter() - t)
w = s.areas["width_m"].to_numpy()
done(seconds=min(times), fit_seconds=fit_s, incidents=len(xy), areas=len(w),
     wide=int((w > 250).sum()), widest_area=float(w.max()), places=len(s.places),
     widest_place=float(s.places["width_m"].max()),
     placed=int((s.labels >= 0).sum()), in_areas=int((est.labels_ >= 0).sum()),
     most=int(s.areas["places"].max()))
"""

TILES = LOAD + """
import geopandas as gpd, shapely
est, fit_s = areas(METHOD)
side = 250.0 / np.sqrt(2.0)
times = []
for _ in range(REPEAT):
    t = time.perf_counter()
    lab = est.labels_
    m = lab >= 0
    tx = np.floor(xy[m, 0] / side).astype(np.int64)
    ty = np.floor(xy[m, 1] / side).astype(np.int64)
    key, inv = np.unique(np.column_stack([lab[m], tx, ty]), axis=0, return_inverse=True)
    counts = np.bincount(inv.ravel())
    keep = counts >= 5
    k = key[keep]
    boxes = shapely.box(k[:, 1] * side, k[:, 2] * side, (k[:, 1] + 1) * side, (k[:, 2] + 1) * side)
    geoms = np.asarray(est.hotspots_.geometry.values, dtype=object)[k[:, 0]]
    tiles = shapely.intersection(boxes, geoms)
    times.append(time.perf_counter() - t)
done(seconds=min(times), places=int(keep.sum()))
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    months = sorted(str(p) for p in DATA.glob("2018-0*-essex-street.csv"))
    if not months:
        raise SystemExit(f"the Essex files were not found in {DATA}")
    for label, paths in (("January 2018", months[:1]), ("January-June 2018", months)):
        print_header(f"Essex, {label}: areas split into places <= 250 m (min_incidents 5)")
        for method in ("kde", "dbscan"):
            values = {"PATHS": paths, "METHOD": method, "REPEAT": args.repeat}
            r = run_task("split", SPLIT, values)
            name = "KDE 250 m" if method == "kde" else "DBSCAN defaults"
            print_row(f"{name}: the method's fit (peer)",
                      {"seconds": r["fit_seconds"], "peak_mb": r["peak_mb"]},
                      f"{r['areas']} areas of {r['incidents']:,} incidents")
            print_row(f"{name}: split_places", r,
                      f"{r['places']} places, widest {r['widest_place']:.1f} m")
            tiles = run_task("tiles", TILES, values)
            print_row(f"{name}: naive 177 m tiles clipped (peer)", tiles,
                      f"{tiles['places']} tiles of >= 5 incidents")
            print(f"\n    {name}: {r['wide']} of {r['areas']} areas wider than 250 m (widest "
                  f"{r['widest_area']:,.0f} m, split into {r['most']} places); "
                  f"{r['placed']:,} of {r['in_areas']:,} area incidents in a place\n")


if __name__ == "__main__":
    main()
