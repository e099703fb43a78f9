"""Benchmark: KDE and DBSCAN hotspots against scikit-learn, the dbscan package and the floor.

Points: Gaussian hotspots (sd 200 m) plus a uniform background over a 60 km x 60 km county,
the same points for every contender. Targets (issue 3):

- KDE of 1,000,000 points on a 1,200 x 1,200 grid of 50 m cells, bandwidth 250 m: under
  0.15 s, next to the floor (one ``numpy.bincount`` pass and a separable Gaussian filter),
  agreeing with the exact KDE to 1% on cells above 10% of the peak; scikit-learn's
  KernelDensity timed on a sample of cells and extrapolated.
- DBSCAN, eps 150 m, min_samples 10, 100,000 points: at least 10x faster than scikit-learn's
  fastest configuration, with identical core labels; 1,000,000 points with the automatic
  threshold: under 1 s, under 1 GiB, real clusters rather than one giant.
- The whole hotspot table (both methods, classification, profiles) for the 50,000-incident
  demo: under 2 s.
- Issue 18: DBSCAN ahead of the best peer (the C++ ``dbscan`` package) at 10^5 and 10^6
  points, with min_samples 10 (at 10^6 the background joins into one cluster: the dense case)
  and with the automatic thresholds (the package at their median), exact (the same core
  points and clusters as scikit-learn and the package); KDE within 1.5x of the floor. The run
  ends with a side-by-side table, and the start-up the compiled steps (numba) add to a fresh
  process.

Run: ``make bench`` or ``python -m bench.hotspots`` (``--skip-demo``, ``--skip-kde``,
``--skip-sklearn-kde`` for a shorter run). Every task runs in its own process.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench._runner import print_header, print_row, run_task

POINTS = """
import numpy as np
def county(n, seed=0, hot_share=0.3, hotspots=30, sd=200.0):
    rng = np.random.default_rng(seed)
    n_hot = int(n * hot_share) // hotspots
    # 30 hotspots on a jittered 6 x 5 lattice, at least 5 km apart
    lattice = np.array([(i, j) for i in range(6) for j in range(5)], dtype=float)[:hotspots]
    jitter = np.random.default_rng(12345).uniform(-1_500, 1_500, (hotspots, 2))
    centres = 6_000 + lattice * np.array([9_600.0, 12_000.0]) + jitter
    parts = [rng.uniform(0, 60_000, (n - n_hot * hotspots, 2))]
    parts += [rng.normal(c, sd, (n_hot, 2)) for c in centres]
    return np.ascontiguousarray(np.concatenate(parts)), centres
"""

KDE_OURS = POINTS + """
from scipy.ndimage import gaussian_filter
from hotspot.kde import kde_grid
from hotspot._griddbscan import warm_up_compiled
xy, _ = county(N)
t = time.perf_counter()
warm_up_compiled()  # as a service does at its start (a one-off CLI run bins with numpy)
warm = time.perf_counter() - t
def floor():  # the floor task's work, timed here too, in turn with ours: a fair ratio on a
    # busy machine (the floor task still gives its own peak memory)
    i = (xy[:, 1] // 50).astype(np.int64) * 1200 + (xy[:, 0] // 50).astype(np.int64)
    grid = np.bincount(i, minlength=1200 * 1200).reshape(1200, 1200).astype(float)
    return gaussian_filter(grid, 5.0, mode="constant", truncate=4.0)
t = time.perf_counter()
kde_grid(xy, crs="EPSG:27700", bandwidth_m=250, cell_size_m=50, kernel=KERNEL,
         bounds=(0, 0, 59_950, 59_950))  # the first call in a fresh process
first = time.perf_counter() - t
floor()
times, floor_times = [], []
for _ in range(7):
    t = time.perf_counter()
    grid = kde_grid(xy, crs="EPSG:27700", bandwidth_m=250, cell_size_m=50, kernel=KERNEL,
                    bounds=(0, 0, 59_950, 59_950))
    times.append(time.perf_counter() - t)
    t = time.perf_counter()
    floor()
    floor_times.append(time.perf_counter() - t)
rows, cols = np.nonzero(grid.values > 0.1 * grid.peak)
pick = np.random.default_rng(1).choice(rows.size, 400, replace=False)
cx = grid.x0 + (cols[pick] + 0.5) * 50
cy = grid.y1 - (rows[pick] + 0.5) * 50
from scipy.spatial import cKDTree
tree = cKDTree(xy)
worst = 0.0
for x, y, r, c in zip(cx, cy, rows[pick], cols[pick]):
    idx = tree.query_ball_point([x, y], 250 * 5)
    d2 = ((xy[idx] - [x, y]) ** 2).sum(1)
    if KERNEL == "gaussian":
        k = np.exp(-d2 / (2 * 250.0**2)) / (2 * np.pi * 250.0**2)
    else:
        k = np.where(d2 < 250.0**2, 3 / (np.pi * 250.0**2) * (1 - d2 / 250.0**2) ** 2, 0)
    want = k.sum() * 1e6
    worst = max(worst, abs(grid.values[r, c] - want) / want)
done(seconds=min(times), grid=list(grid.shape), worst_error=worst, first_call=first,
     floor_here=min(floor_times), warm_up=warm)
"""

KDE_FLOOR = POINTS + """
from scipy.ndimage import gaussian_filter
xy, _ = county(N)
times = []
for _ in range(5):
    t = time.perf_counter()
    i = (xy[:, 1] // 50).astype(np.int64) * 1200 + (xy[:, 0] // 50).astype(np.int64)
    grid = np.bincount(i, minlength=1200 * 1200).reshape(1200, 1200).astype(float)
    smooth = gaussian_filter(grid, 5.0, mode="constant", truncate=4.0)
    times.append(time.perf_counter() - t)
done(seconds=min(times))
"""

KDE_SKLEARN = POINTS + """
from sklearn.neighbors import KernelDensity
xy, _ = county(N)
kd = KernelDensity(bandwidth=250.0, kernel="gaussian").fit(xy)  # exact, its default
rng = np.random.default_rng(2)
cells = rng.uniform(0, 60_000, (SAMPLE, 2))
t = time.perf_counter()
kd.score_samples(cells)
per_cell = (time.perf_counter() - t) / SAMPLE
done(seconds=per_cell * 1200 * 1200, measured_cells=SAMPLE, per_cell_s=per_cell)
"""

DBSCAN_OURS = POINTS + """
import hotspot._griddbscan as engine
from hotspot._native import native_steps
from hotspot.dbscan import auto_min_samples
from hotspot.points import collapse
xy, _ = county(N)
if MIN_SAMPLES == "auto":  # the thresholds DBSCANHotspots would use (not timed here)
    stacks = collapse(xy)
    xy, weight = stacks.xy, stacks.count
    threshold, info = auto_min_samples(xy, weight, 150.0)
    median = info["min_samples_median"]
else:
    weight, threshold, median = None, float(MIN_SAMPLES), float(MIN_SAMPLES)
if not NATIVE:
    engine._NATIVE_FROM = 10**12
t = time.perf_counter()
engine.grid_dbscan(xy, 150.0, threshold, weight)  # the first call in a fresh process
first = time.perf_counter() - t
times, cpu = [], []
for _ in range(3):
    t, c = time.perf_counter(), time.process_time()
    labels, core = engine.grid_dbscan(xy, 150.0, threshold, weight)
    times.append(time.perf_counter() - t)
    cpu.append(time.process_time() - c)
np.save(OUT, np.where(core, labels, -2))
native = NATIVE and xy.shape[0] >= engine._NATIVE_FROM and native_steps() is not None
done(seconds=min(times), cpu=min(cpu), first_call=first, clusters=int(labels.max()) + 1,
     median_min_samples=median, compiled=bool(native))
"""

DBSCAN_SKLEARN = POINTS + """
from sklearn.cluster import DBSCAN
xy, _ = county(N)
best = None
default = None
for algorithm in ("kd_tree", "ball_tree"):
    for jobs in (None, -1):
        t = time.perf_counter()
        model = DBSCAN(eps=150.0, min_samples=10, algorithm=algorithm, n_jobs=jobs).fit(xy)
        s = time.perf_counter() - t
        if best is None or s < best[0]:
            best = (s, f"{algorithm}, n_jobs={jobs}", model)
        if algorithm == "kd_tree" and jobs is None:
            default = s
s, algorithm, model = best
core = np.zeros(len(xy), dtype=bool)
core[model.core_sample_indices_] = True
ours = np.load(OURS)
same = bool((np.where(core, model.labels_, -2) == ours).all())
done(seconds=s, algorithm=algorithm, clusters=int(model.labels_.max()) + 1, identical=same,
     one_core=default)
"""

DBSCAN_PACKAGE = POINTS + """
import dbscan
xy, _ = county(N)
times, cpu = [], []
for _ in range(3):
    t, c = time.perf_counter(), time.process_time()
    labels, core = dbscan.DBSCAN(xy, eps=150.0, min_samples=MIN_SAMPLES)
    times.append(time.perf_counter() - t)
    cpu.append(time.process_time() - c)  # all its threads
same = None
if OURS:  # the same core points, and the same partition of them into clusters
    ours = np.load(OURS)
    same = bool(((ours != -2) == core).all())
    if same and core.any():
        pairs = np.unique(np.stack([ours[core], labels[core]]), axis=1)
        same = (np.unique(pairs[0]).size == pairs.shape[1] == np.unique(pairs[1]).size)
done(seconds=min(times), cpu=min(cpu), clusters=int(labels.max()) + 1, identical=same)
"""

DBSCAN_AUTO = POINTS + """
from hotspot.dbscan import DBSCANHotspots
xy, centres = county(N)
t = time.perf_counter()
DBSCANHotspots(eps_m=150).fit(xy, crs="EPSG:27700")  # the first call in a fresh process
first = time.perf_counter() - t
times = []
for _ in range(3):
    t = time.perf_counter()
    est = DBSCANHotspots(eps_m=150).fit(xy, crs="EPSG:27700")
    times.append(time.perf_counter() - t)
found = {int(est.labels_[np.argmin(np.hypot(*(xy - c).T))]) for c in centres}
largest = int(est.hotspots_["incidents"].max())
done(seconds=min(times), first_call=first, clusters=est.n_clusters_,
     planted_found=len(found - {-1}), largest=largest,
     median_min_samples=est.auto_["min_samples_median"])
"""

SAME_LABELS = """
import numpy as np
a, b = np.load(A), np.load(B)
done(seconds=0.0, identical=bool(a.shape == b.shape and (a == b).all()))
"""

START_UP = """
import os
if CACHE_DIR:  # an empty cache: numba compiles everything, as on a first install
    os.environ["NUMBA_CACHE_DIR"] = CACHE_DIR
t = time.perf_counter()
import numpy as np
import hotspot._griddbscan as engine
from hotspot._native import native_steps
base = time.perf_counter() - t
t = time.perf_counter()
native = native_steps()
imported = time.perf_counter() - t
xy = np.random.default_rng(0).uniform(0, 5_000, (30_000, 2))
engine._NATIVE_FROM = 0
t = time.perf_counter()
engine.grid_dbscan(xy, 150.0, 10)
first = time.perf_counter() - t
t = time.perf_counter()
engine.grid_dbscan(xy, 150.0, 10)
second = time.perf_counter() - t
done(seconds=imported + first - second, import_s=imported, first_s=first, second_s=second,
     numba=native is not None)
"""

DEMO_TABLE = """
import numpy as np, pandas as pd
from geodata.demo import write_demo, load_demo
from geodata.stores import SQLiteStore
from api.services.hotspots import context_layers, AnalysisOptions
from hotspot import analyse
files = write_demo(WORK + "/demo-files")
store = SQLiteStore.open(WORK + "/demo.sqlite")
if store.count() == 0:
    load_demo(store, files)
cols = store.incidents(extra=("lsoa_code",))
frame = pd.DataFrame({"x": cols.x, "y": cols.y, "category": cols.category,
                      "occurred_at": cols.occurred_at, "precision": cols.precision,
                      "lsoa_code": cols.extra["lsoa_code"]})
layers = context_layers(store, AnalysisOptions())
analyse(frame.head(500), crs=store.crs, method="dbscan", layers=layers)
times = []
for _ in range(3):
    t = time.perf_counter()
    kde = analyse(frame, crs=store.crs, method="kde", layers=layers, bandwidth_m=150.0)
    db = analyse(frame, crs=store.crs, method="dbscan", layers=layers)
    times.append(time.perf_counter() - t)
done(seconds=min(times), incidents=len(frame), kde_hotspots=len(kde.hotspots),
     dbscan_hotspots=len(db.hotspots), kde_pai=kde.info["pai"], dbscan_pai=db.info["pai"])
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--skip-package", action="store_true",
                        help="skip the dbscan package (if it is not installed)")
    parser.add_argument("--skip-kde", action="store_true", help="DBSCAN only")
    parser.add_argument("--skip-demo", action="store_true", help="skip the demo force area")
    parser.add_argument("--skip-sklearn-kde", action="store_true",
                        help="skip timing scikit-learn's KernelDensity on a sample of cells")
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="hotspot-bench-"))
    work.mkdir(parents=True, exist_ok=True)

    summary: list[tuple[str, float, float | None, str, str]] = []
    kde_gauss = None
    if not args.skip_kde:
        print_header("KDE, 1,000,000 points, 1,200 x 1,200 cells of 50 m, bandwidth 250 m")
        for kernel in ("gaussian", "quartic"):
            r = run_task("kde", KDE_OURS, {"N": 1_000_000, "KERNEL": kernel})
            print_row(f"hotspot kde_grid ({kernel})", r,
                      f"worst error {r['worst_error']:.2%} (cells >10% of peak); floor "
                      f"in turn {r['floor_here']:.3f} s; warm-up {r['warm_up']:.2f} s")
            kde_gauss = kde_gauss or r
        floor = run_task("floor", KDE_FLOOR, {"N": 1_000_000})
        print_row("floor: one bincount + separable Gaussian filter", floor, "")
        if not args.skip_sklearn_kde:
            sk = run_task("sklearn", KDE_SKLEARN, {"N": 1_000_000, "SAMPLE": 40})
            print_row("scikit-learn KernelDensity (extrapolated)", sk,
                      f"{sk['seconds'] / 3600:.1f} h for 1.44M cells ({sk['measured_cells']} "
                      "timed)")
        assert kde_gauss is not None
        summary.append(("KDE 10^6 (gaussian) vs the floor (timed in turn, one process)",
                        kde_gauss["seconds"], kde_gauss["floor_here"], "floor", ""))

    for n in (100_000, 1_000_000):
        size = "10^5" if n == 100_000 else "10^6"
        print_header(f"DBSCAN, eps 150 m, {n:,} points")
        for ms in (10, "auto"):
            out = str(work / f"ours-{n}-{ms}.npy")
            ours = run_task("ours", DBSCAN_OURS, {"N": n, "MIN_SAMPLES": ms, "OUT": out,
                                                  "NATIVE": True})
            how = "compiled" if ours["compiled"] else "numpy"
            print_row(f"hotspot grid DBSCAN ({how}), min_samples {ms}", ours,
                      f"{ours['clusters']} clusters; first call {ours['first_call']:.2f} s")
            exact = ""
            med = int(ours["median_min_samples"])
            peer = None
            if not args.skip_package:
                pkg = run_task("package", DBSCAN_PACKAGE, {
                    "N": n, "MIN_SAMPLES": med, "OURS": out if ms == 10 else ""})
                peer = pkg["seconds"]
                same = pkg["identical"]
                print_row(f"dbscan package (C++), min_samples {med}", pkg,
                          f"{pkg['clusters']} clusters"
                          + ("" if same is None else f", same core clusters: {same}"))
                if same is not None:
                    exact = f"= dbscan pkg: {same}"
            if n == 100_000 and ms == 10:
                sk = run_task("sklearn", DBSCAN_SKLEARN, {"N": n, "OURS": out})
                print_row(f"scikit-learn DBSCAN ({sk['algorithm']}, fastest)", sk,
                          f"{sk['clusters']} clusters, identical core labels: "
                          f"{sk['identical']}")
                exact = f"= scikit-learn: {sk['identical']}; " + exact
            if n == 100_000 and ms == "auto" and ours["compiled"]:
                ref = str(work / "numpy-auto.npy")
                nump = run_task("numpy", DBSCAN_OURS, {"N": n, "MIN_SAMPLES": ms, "OUT": ref,
                                                       "NATIVE": False})
                print_row("hotspot grid DBSCAN (numpy steps), min_samples auto", nump,
                          f"{nump['clusters']} clusters")
                same = run_task("same", SAME_LABELS, {"A": out, "B": ref})["identical"]
                exact = f"= numpy steps: {same}"
            label = f"DBSCAN {size}, min_samples {ms}"
            if ms == "auto":
                label += f" (engine; pkg at {med})"
            if peer is not None:
                exact = f"cpu {ours['cpu']:.3f} s vs {pkg['cpu']:.3f} s; " + exact
            summary.append((label, ours["seconds"], peer, "dbscan pkg", exact))
        auto = run_task("auto", DBSCAN_AUTO, {"N": n})
        print_row("hotspot DBSCANHotspots, min_samples auto (whole)", auto,
                  f"{auto['clusters']} clusters, {auto['planted_found']}/30 planted found, "
                  f"largest {auto['largest']:,}")
        peer_auto = next((s[2] for s in summary if s[0].startswith(f"DBSCAN {size}, "
                                                                    "min_samples auto")), None)
        summary.append((f"DBSCANHotspots {size} auto, whole fit (collapse, thresholds, "
                        "polygons)", auto["seconds"], peer_auto, "dbscan pkg", ""))

    cold = run_task("start-up", START_UP, {"CACHE_DIR": str(work / "numba-cache")})
    start = run_task("start-up", START_UP, {"CACHE_DIR": ""})
    print(f"\n    start-up of the compiled steps in a fresh process (numba "
          f"{'installed' if start['numba'] else 'NOT installed'}): import "
          f"{start['import_s']:.2f} s, first call {start['first_s']:.2f} s (loads the cached "
          f"code), next call {start['second_s']:.3f} s: {start['seconds']:.2f} s once per "
          f"process; with an empty cache (compiling, once per install) "
          f"{cold['seconds']:.1f} s")

    print("\nSide by side (seconds; each the best of 3 or 5 runs in its own process, after a "
          "first call)\n")
    print(f"| {'case':<70} | {'ours':>7} | {'peer':>7} | {'peer is':<10} | {'ours vs peer':<14} "
          "| cpu, exact |")
    print(f"|{'-' * 72}|{'-' * 9}|{'-' * 9}|{'-' * 12}|{'-' * 16}|------------|")
    for label, mine, theirs, who, exact in summary:
        if not theirs:
            ratio = ""
        elif who == "floor":
            ratio = f"{mine / theirs:.2f}x the floor"
        else:
            ratio = f"{theirs / mine:.1f}x faster"
        peer_s = f"{theirs:.3f}" if theirs else ""
        print(f"| {label:<70} | {mine:>7.3f} | {peer_s:>7} | {who:<10} | {ratio:<14} | "
              f"{exact} |")
    print("\n    (cpu: processor seconds, all threads, best of 3: steadier than the wall clock "
          "on a shared machine)")

    if args.skip_demo:
        return
    print_header("The demo force area (50,000 incidents): the whole hotspot table, both methods")
    demo = run_task("demo", DEMO_TABLE, {"WORK": str(work)})
    print_row("analyse() KDE (150 m) + DBSCAN (auto)", demo,
              f"{demo['kde_hotspots']} + {demo['dbscan_hotspots']} hotspots; PAI "
              f"{demo['kde_pai']} / {demo['dbscan_pai']}")


if __name__ == "__main__":
    main()
