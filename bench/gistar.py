"""Benchmark: Getis-Ord Gi* with FDR and emerging hot spots, against PySAL's esda.

Points: the county of ``bench.hotspots`` (30 Gaussian hotspots, sd 200 m, 30 % of the points,
over a uniform background on 60 km x 60 km). Targets (issue 13):

- Gi* with Benjamini-Hochberg FDR on 1,000,000 incidents, 100 m cells over the county
  (600 x 600 = 360,000 cells), default neighbourhood (the 3 x 3 block): under 2 s.
- The peer, ``esda.G_Local(star=True, transform="B", permutations=0)`` with libpysal's queen
  lattice (the same neighbourhood) and ``esda.fdr``, on the grids it runs in reasonable time,
  with the largest difference of z-scores from ours.
- Emerging hot spots: 12 months x 100,000 and 1,000,000 incidents on the same grid.

Run: ``python -m bench.gistar``. Every task runs in its own process (peak MB is its own).
"""

from __future__ import annotations

import argparse

from bench._runner import print_header, print_row, run_task
from bench.hotspots import POINTS

OURS = POINTS + """
from hotspot.gistar import gi_star_grid
xy, _ = county(N)
side = 60_000 / CELLS
gi_star_grid(xy[:1000], cell_size_m=side, bounds=(0, 0, 60_000, 60_000), **OPTIONS)  # imports
times = []
for _ in range(5):
    t = time.perf_counter()
    g = gi_star_grid(xy, cell_size_m=side, bounds=(0, 0, 60_000, 60_000), **OPTIONS)
    times.append(time.perf_counter() - t)
np.save(OUT, g.z.ravel()) if OUT else None
done(seconds=min(times), cells=int(g.in_study.sum()), hot=int((g.confidence > 0).sum()),
     cold=int((g.confidence < 0).sum()))
"""

ESTIMATOR = POINTS + """
from hotspot.gistar import GiStarHotspots
xy, centres = county(N)
GiStarHotspots().fit(xy[:1000], crs="EPSG:27700")
times = []
for _ in range(3):
    t = time.perf_counter()
    est = GiStarHotspots(cell_size_m=100, bounds=(0, 0, 60_000, 60_000)).fit(
        xy, crs="EPSG:27700")
    times.append(time.perf_counter() - t)
found = {int(est.labels_[np.argmin(np.hypot(*(xy - c).T))]) for c in centres}
done(seconds=min(times), hotspots=len(est.hotspots_), planted_found=len(found - {-1}),
     cells=int(est.hotspots_["cells"].sum()))
"""

FLOOR = POINTS + """
from scipy.ndimage import correlate
xy, _ = county(N)
times = []
for _ in range(5):
    t = time.perf_counter()
    i = (xy[:, 1] // 100).astype(np.int64).clip(0, 599) * 600 \\
        + (xy[:, 0] // 100).astype(np.int64).clip(0, 599)
    grid = np.bincount(i, minlength=600 * 600).reshape(600, 600).astype(float)
    s = correlate(grid, np.ones((3, 3)), mode="constant")
    order = np.sort(s.ravel())
    times.append(time.perf_counter() - t)
done(seconds=min(times))
"""

ESDA = POINTS + """
import warnings
warnings.simplefilter("ignore")
import esda, libpysal
from scipy.stats import norm
xy, _ = county(N)
side = 60_000 / CELLS
col = np.clip((xy[:, 0] // side).astype(np.int64), 0, CELLS - 1)
row = np.clip(((60_000 - xy[:, 1]) // side).astype(np.int64), 0, CELLS - 1)
y = np.bincount(row * CELLS + col, minlength=CELLS * CELLS).astype(float)
t = time.perf_counter()
w = libpysal.weights.lat2W(CELLS, CELLS, rook=False)
weights_s = time.perf_counter() - t
t = time.perf_counter()
g = esda.G_Local(y, w, transform="B", star=True, permutations=0)
p = 2 * norm.sf(np.abs(g.Zs))
cuts = [esda.fdr(p, a) for a in (0.1, 0.05, 0.01)]
stat_s = time.perf_counter() - t
ours = np.load(OURS)
done(seconds=weights_s + stat_s, weights_s=weights_s, stat_s=stat_s,
     worst_dz=float(np.abs(ours - g.Zs).max()))
"""

EMERGING = POINTS + """
from hotspot.emerging import emerging_hotspots
xy, _ = county(N)
month = np.random.default_rng(3).integers(0, 12, N)
emerging_hotspots(xy[:1000], month[:1000], 12, cell_size_m=100, bounds=(0, 0, 60_000, 60_000))
times = []
for _ in range(3):
    t = time.perf_counter()
    g = emerging_hotspots(xy, month, 12, cell_size_m=100, bounds=(0, 0, 60_000, 60_000))
    times.append(time.perf_counter() - t)
found = {k: v for k, v in g.counts_by_class().items() if v and k != "no_pattern"}
done(seconds=min(times), classes=found)
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-peer", action="store_true", help="skip esda")
    args = parser.parse_args(argv)

    print_header("Gi* with FDR, 100 m cells over 60 x 60 km (360,000 cells), 3 x 3 block")
    for n in (10_000, 100_000, 1_000_000):
        r = run_task("ours", OURS, {"N": n, "CELLS": 600, "OPTIONS": {}, "OUT": ""})
        print_row(f"hotspot gi_star_grid, {n:,} incidents", r,
                  f"{r['hot']:,} hot, {r['cold']:,} cold cells")
    r = run_task("ours", OURS, {"N": 1_000_000, "CELLS": 600, "OPTIONS": {"k": 8}, "OUT": ""})
    print_row("  the same, k=8 nearest cells (edges reach further)", r,
              f"{r['hot']:,} hot cells")
    r = run_task("ours", OURS, {"N": 1_000_000, "CELLS": 600,
                                "OPTIONS": {"distance_m": 1000.0}, "OUT": ""})
    print_row("  the same, a 1 km band (317 cells, by FFT)", r, f"{r['hot']:,} hot cells")
    est = run_task("estimator", ESTIMATOR, {"N": 1_000_000})
    print_row("GiStarHotspots (95 %, polygons), 1,000,000", est,
              f"{est['hotspots']} hotspots, {est['planted_found']}/30 planted found")
    floor = run_task("floor", FLOOR, {"N": 1_000_000})
    print_row("floor: bincount + 3 x 3 correlate + one sort, 1,000,000", floor, "")

    if not args.skip_peer:
        print_header("Peer: esda.G_Local(star=True, transform='B', permutations=0) + esda.fdr")
        for cells in (100, 200, 300):
            out = f"/tmp/bench-gistar-{cells}.npy"
            n = 100_000
            ours = run_task("ours", OURS, {"N": n, "CELLS": cells, "OPTIONS": {}, "OUT": out})
            print_row(f"hotspot gi_star_grid, {cells} x {cells} cells, {n:,}", ours,
                      f"{ours['hot']:,} hot cells")
            peer = run_task("esda", ESDA, {"N": n, "CELLS": cells, "OURS": out})
            print_row(f"esda (lat2W {peer['weights_s']:.1f} s + G_Local, fdr)", peer,
                      f"max |z - ours| {peer['worst_dz']:.1e}")

    print_header("Emerging hot spots: 12 months, 100 m cells over 60 x 60 km")
    for n in (100_000, 1_000_000):
        r = run_task("emerging", EMERGING, {"N": n})
        classes = ", ".join(f"{k} {v:,}" for k, v in r["classes"].items())
        print_row(f"hotspot emerging_hotspots, {n:,} incidents", r, classes[:40])
        print(f"    cells by class: {classes}")


if __name__ == "__main__":
    main()
