"""Benchmark: the rolling-origin backtest of every candidate on real data (issue 13).

- Essex, data.police.uk 2018-01..06 (EPSG:27700; force area = the 14 Essex districts of the
  shared LAD file): folds fit on months 1..k, test on k+1, k = 1..5.
- New York City motor-vehicle thefts 2014-2017 (EPSG:32618; area = the convex hull of all the
  thefts, which takes in water and part of New Jersey: shares are of the hull): monthly folds
  of 2017, each fitted on the 12 months before it (12 folds: the "county-year" timing target,
  12 folds x the candidates under 60 s).

Prints, per data set, the PAI at the budget (hit rate / share) of every candidate at 0.1, 0.5
and 1 % of the area per fold with the mean and minimum, the summary (hit rate, Chainey's PAI,
RRI, PEI*, places, stability), the forecast over the best naive baseline, the chosen method
and the timing. Run: ``python -m bench.backtest``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from hotspot.backtest import choose, default_candidates, rolling_origin

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
ESSEX_LADS = [f"E070000{i}" for i in range(66, 78)] + ["E06000033", "E06000034"]


def essex() -> tuple[pd.DataFrame, object]:
    from geodata.layers import read_layer
    from geodata.readers import read_police_csv

    frames = []
    for i, f in enumerate(sorted((REAL / "essex-2018-h1").glob("*.csv"))):
        c = read_police_csv(f).read_all().incidents.columns
        frames.append(pd.DataFrame({"x": c["x"], "y": c["y"], "month": i, "weight": 1.0}))
    lad = REAL / "lincolnshire-2024-03" / "LAD_Dec_2021_Great_Britain.geojson"
    boundary = read_layer("force_boundary", lad, select=("LAD21CD", ESSEX_LADS))
    return pd.concat(frames, ignore_index=True), boundary.frame.geometry.iloc[0]


def nyc() -> tuple[pd.DataFrame, object]:
    import pyproj

    d = pd.read_csv(REAL / "us-crimedata" / "nycvehiclethefts.csv",
                    usecols=["date_single", "longitude", "latitude"])
    to_utm = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:32618", always_xy=True)
    x, y = to_utm.transform(d["longitude"].to_numpy(), d["latitude"].to_numpy())
    when = pd.to_datetime(d["date_single"])
    month = ((when.dt.year - 2014) * 12 + when.dt.month - 1).to_numpy()
    frame = pd.DataFrame({"x": x, "y": y, "month": month, "weight": 1.0})
    hull = shapely.convex_hull(shapely.multipoints(np.column_stack([x, y])))
    return frame, hull


def report(title: str, data: pd.DataFrame, boundary: object, crs: str, **options: object) -> None:
    cands = default_candidates()
    t = time.perf_counter()
    result = rolling_origin(data, cands, crs=crs, boundary=boundary, **options)  # type: ignore[arg-type]
    seconds = time.perf_counter() - t
    folds = result.folds["test_month"].nunique()
    print(f"\n## {title}\n")
    print(f"{len(data):,} incidents, force area {result.force_area_m2 / 1e6:,.0f} km2, "
          f"{folds} folds x {len(cands)} candidates in {seconds:.1f} s "
          f"({seconds / (folds * len(cands)):.2f} s per fold and candidate)\n")
    with pd.option_context("display.width", 250, "display.max_columns", 60,
                           "display.float_format", "{:.1f}".format):
        for share in result.shares:
            print(f"PAI at the budget (hit rate / share), share {share:.1%}, per test month:")
            print(result.table()[share].to_string())
            print()
    s = result.summary()
    cols = ["candidate", "share", "hit_rate", "pai", "pai_at_budget", "pai_at_budget_min",
            "rri", "pei_star", "places", "median_place_m2", "area_share", "stability",
            "seconds"]
    with pd.option_context("display.width", 250, "display.max_columns", 60,
                           "display.float_format", "{:.3f}".format):
        print(s[cols].to_string(index=False))
    print()
    naive = [c.name for c in cands if c.family == "naive"]
    for share in result.shares:
        at = s[np.isclose(s["share"], share)].set_index("candidate")
        best = at.loc[naive, "pai_at_budget"].idxmax()
        f = result.folds[np.isclose(result.folds["share"], share)]
        per_fold = (f[f["candidate"] == "forecast"].set_index("test_month")["pai_at_budget"]
                    / f[f["candidate"] == best].set_index("test_month")["pai_at_budget"])
        print(f"share {share:.1%}: forecast / best naive ({best}) = "
              f"{at.loc['forecast', 'pai_at_budget'] / at.loc[best, 'pai_at_budget']:.3f} "
              f"(per fold min {per_fold.min():.3f}, max {per_fold.max():.3f})")
    print(f"chosen: {choose(result)}")


def main() -> None:
    data, boundary = essex()
    report("Essex 2018-01..06 (data.police.uk), expanding folds k = 1..5", data, boundary,
           "EPSG:27700")
    data, boundary = nyc()
    report("New York City vehicle thefts, test months 2017-01..12, fit on the 12 months before",
           data, boundary, "EPSG:32618", fit_months=12, test_months=list(range(36, 48)))


if __name__ == "__main__":
    main()
