"""Benchmark: the Knox test on New York vehicle thefts 2014-2017, against the all-pairs count.

Data: ``us-crimedata/nycvehiclethefts.csv`` (35,746 thefts with their time of occurrence,
``date_single``), projected to EPSG:32618 (UTM 18N, metres). Bands: 0-100-200-400-800 m and
0-7-14-21-28 days (left-closed, right-open), 99 permutations, seed 0.

- **ours**: :func:`hotspot.nearrepeat.knox_test` (pairs within 800 m from a k-d tree, then one
  recount of those pairs per permutation);
- **peer**: the all-pairs count (every n(n-1)/2 pair measured and binned, as the Near Repeat
  Calculator does), on the sizes it can run, with the same permutations: its table must be
  identical (checked).

Then the full result tables: all thefts, and those at a residence (``location_category``), the
closest thing to a burglary-like subset the file has.

Run: ``python -m bench.nearrepeat`` (``--quick`` for the small sizes only).
"""

from __future__ import annotations

import argparse
import json

from bench._runner import ROOT, print_header, print_row, run_task

DATA = ROOT.parent / "shared" / "data" / "real" / "us-crimedata" / "nycvehiclethefts.csv"

LOAD = """
import numpy as np, pandas as pd
from pyproj import Transformer
frame = pd.read_csv(PATH)
if SUBSET:
    frame = frame[frame["location_category"] == SUBSET]
x, y = Transformer.from_crs("EPSG:4326", "EPSG:32618", always_xy=True).transform(
    frame["longitude"].to_numpy(), frame["latitude"].to_numpy())
xy = np.column_stack([x, y])
stamp = pd.to_datetime(frame["date_single"]).to_numpy().astype("datetime64[s]").astype(np.int64)
days = stamp / 86400.0
if N:
    pick = np.sort(np.random.default_rng(0).choice(len(days), N, replace=False))
    xy, days = xy[pick], days[pick]
"""

OURS = LOAD + """
from hotspot.nearrepeat import knox_test
t = time.perf_counter()
r = knox_test(xy, days, permutations=PERMS, seed=0, max_work=10**10)
seconds = time.perf_counter() - t
done(seconds=seconds, n=len(days), pairs=r.pairs, observed=r.observed.tolist(),
     expected=r.expected.tolist(), table=r.table.to_dict(orient="list"),
     extent=r.significant_extent(), zone_ratio=r.zone_ratio(),
     reading=r.plain_reading("vehicle theft"))
"""

PEER = LOAD + """
from scipy.spatial.distance import pdist
dedges = np.array([0, 100, 200, 400, 800.0]); tedges = np.array([0, 7, 14, 21, 28.0])
t = time.perf_counter()
d = pdist(xy)                                   # every pair, condensed order
db = np.searchsorted(dedges, d, side="right") - 1
n = len(days)
iu, ju = np.triu_indices(n, 1)
def count(tt):
    g = np.abs(tt[iu] - tt[ju])
    tb = np.searchsorted(tedges, g, side="right") - 1
    ok = (db < 4) & (tb < 4)
    return np.bincount(db[ok] * 4 + tb[ok], minlength=16).reshape(4, 4)
observed = count(days)
rng = np.random.default_rng(0)
total = np.zeros((4, 4))
for _ in range(PERMS):
    total += count(days[rng.permutation(n)])
seconds = time.perf_counter() - t
done(seconds=seconds, n=n, observed=observed.tolist(), expected=(total / PERMS).tolist())
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes only")
    args = parser.parse_args()
    perms = 99
    print_header(f"Knox test, New York vehicle thefts, 4 x 4 bands, {perms} permutations")
    sizes = [2_000, 5_000] if args.quick else [2_000, 5_000, 10_000, 0]
    for n in sizes:
        values = {"PATH": str(DATA), "N": n, "SUBSET": "", "PERMS": perms}
        ours = run_task("ours", OURS, values)
        label = f"{ours['n']:,} thefts"
        print_row(f"ours: {label}", ours, f"{ours['pairs']:,} pairs within 800 m")
        if n and n <= 5_000:
            peer = run_task("peer", PEER, values)
            same = (peer["observed"] == ours["observed"] and peer["expected"] == ours["expected"])
            print_row(f"peer (all pairs): {label}", peer,
                      f"{peer['seconds'] / ours['seconds']:.0f}x slower; same table: {same}")
    if args.quick:
        return
    for subset in ("", "residence"):
        values = {"PATH": str(DATA), "N": 0, "SUBSET": subset, "PERMS": perms}
        r = run_task("table", OURS, values)
        name = "every vehicle theft" if not subset else f"vehicle thefts at a {subset}"
        print(f"\n{name}: {r['n']:,} incidents, {r['pairs']:,} pairs within 800 m, "
              f"{r['seconds']:.1f} s\n")
        table = r["table"]
        print("| distance m | days | observed | expected | ratio | p | significant |")
        print("|---|---|---:|---:|---:|---:|:---:|")
        for k in range(len(table["observed"])):
            print(f"| {table['distance_from_m'][k]:g}-{table['distance_to_m'][k]:g} "
                  f"| {table['days_from'][k]:g}-{table['days_to'][k]:g} "
                  f"| {table['observed'][k]:,} | {table['expected'][k]:,.1f} "
                  f"| {table['ratio'][k]:.2f} | {table['p_value'][k]:.2f} "
                  f"| {'yes' if table['significant'][k] else ''} |")
        print(f"\nzone: {json.dumps(r['extent'])}, ratio {r['zone_ratio']}")
        print(r["reading"])


if __name__ == "__main__":
    main()
