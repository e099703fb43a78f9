"""Benchmark: the rolling-origin backtest of every candidate on real data (issue 13).

- Essex, data.police.uk 2018-01..06 (EPSG:27700; force area = the 14 Essex districts of the
  shared LAD file): folds fit on months 1..k, test on k+1, k = 1..5.
- New York City motor-vehicle thefts 2014-2017 (EPSG:32618; area = the convex hull of all the
  thefts, which takes in water and part of New Jersey: shares are of the hull): monthly folds
  of 2017, each fitted on the 12 months before it (12 folds: the "county-year" timing target,
  12 folds x the candidates under 60 s).

- A county-year of Essex for the timing target (12 monthly folds x the candidates under 60 s):
  24 months synthesised from the six real ones, month m a bootstrap resample (seeded, same
  size) of real month m mod 6, 16,000 incidents a month; test months 12..23, each fitted on
  the 12 months before (190,000 fitting incidents per fold, the heaviest year-long design).
  The hit rates of resampled months mean nothing; only the time is read.

Prints, per data set, the PAI at the budget (hit rate / share) of every candidate at 0.1, 0.5
and 1 % of the area per fold with the mean and minimum, the summary (hit rate, Chainey's PAI,
RRI, PEI*, places, stability), the forecast over the best naive baseline, the chosen method
and the timing; for the county-year, seconds per candidate and fold and per fold beside the
figures recorded before the speed-up (``PREVIOUS``, commit af67654). Run:
``python -m bench.backtest`` (``python -m bench.backtest county-year`` for the timing alone).
"""

from __future__ import annotations

import sys
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
        best = str(at.loc[naive, "pai_at_budget"].idxmax())
        f = result.folds[np.isclose(result.folds["share"], share)]
        per_fold = (f[f["candidate"] == "forecast"].set_index("test_month")["pai_at_budget"]
                    / f[f["candidate"] == best].set_index("test_month")["pai_at_budget"])
        pab = at["pai_at_budget"].astype(float)
        ratio = float(pab["forecast"]) / float(pab[best])
        print(f"share {share:.1%}: forecast / best naive ({best}) = "
              f"{ratio:.3f} "
              f"(per fold min {per_fold.min():.3f}, max {per_fold.max():.3f})")
    print(f"chosen: {choose(result)}")


PREVIOUS = {
    # seconds per fold and candidate (fit, three selections and their measures) of the code
    # before the speed-up (commit af67654), measured on the first two folds of this county-year
    # (test months 12 and 13, 191,000 fitting incidents each) beside the new code in one run:
    # 35.4 s against 19.1 s, every measure identical (stability within 1e-13)
    "naive_50m": 0.66, "naive_100m": 0.39, "naive_250m": 0.28, "kde_50m": 0.90,
    "kde_100m": 0.58, "kde_200m": 0.59, "dbscan_100m": 5.05, "dbscan_150m": 5.56,
    "gistar_50m": 1.12, "gistar_100m": 0.46, "forecast": 1.52,
}


def county_year(data: pd.DataFrame, months: int = 24, seed: int = 0) -> pd.DataFrame:
    """``months`` months resampled from the real ones: month m is a bootstrap resample (same
    size, seeded) of real month m mod (real months)."""
    rng = np.random.default_rng(seed)
    real = sorted(data["month"].unique())
    frames = []
    for m in range(months):
        src = data[data["month"] == real[m % len(real)]]
        f = src.iloc[rng.integers(0, len(src), len(src))].copy()
        f["month"] = m
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


def _timed(year: pd.DataFrame, boundary: object, cands: list) -> tuple[float, pd.DataFrame]:
    t = time.perf_counter()
    result = rolling_origin(year, cands, crs="EPSG:27700", boundary=boundary, fit_months=12,
                            test_months=list(range(12, 24)))
    seconds = time.perf_counter() - t
    return seconds, result.folds.drop_duplicates(["test_month", "candidate"])  # per candidate


def timing(data: pd.DataFrame, boundary: object) -> None:
    """The target, measured directly: 12 folds x the service's ten candidates
    (``default_candidates(dbscan=False)``, which is ``api.services.backtests.service_candidates()``),
    then the same folds with every candidate of ``default_candidates()`` (DBSCAN included)."""
    year = county_year(data)
    print("\n## Timing: an Essex county-year (24 resampled months), test months 12..23, each "
          "fitted on the 12 months before\n")
    service = default_candidates(dbscan=False)
    seconds, _ = _timed(year, boundary, service)
    print(f"{len(year):,} incidents; 12 folds x the service's {len(service)} candidates "
          f"(default_candidates(dbscan=False) = api.services.backtests.service_candidates()): "
          f"**{seconds:.1f} s** (target 60 s; load average {_load():.1f} on {_cpus()} cpus)")
    cands = default_candidates()
    seconds, f = _timed(year, boundary, cands)
    per_cand = f.groupby("candidate", sort=False)["seconds"]
    table = pd.DataFrame({"mean s per fold": per_cand.mean(), "max": per_cand.max(),
                          "12 folds": per_cand.sum(),
                          "before (2 folds)": pd.Series(PREVIOUS)})
    print(f"12 folds x all {len(cands)} candidates of default_candidates() (DBSCAN included): "
          f"{seconds:.1f} s (load average {_load():.1f})\n")
    with pd.option_context("display.width", 200, "display.float_format", "{:.2f}".format):
        print(table.to_string())
        print()
        per_fold = f.groupby("test_month")["seconds"].sum()
        print("seconds per fold (all candidates):")
        print(per_fold.to_frame("seconds").T.to_string())


def _load() -> float:
    import os

    return os.getloadavg()[0]


def _cpus() -> int:
    import os

    return os.cpu_count() or 1


def main() -> None:
    data, boundary = essex()
    if sys.argv[1:] == ["county-year"]:
        timing(data, boundary)
        return
    report("Essex 2018-01..06 (data.police.uk), expanding folds k = 1..5", data, boundary,
           "EPSG:27700")
    data, boundary = nyc()
    report("New York City vehicle thefts, test months 2017-01..12, fit on the 12 months before",
           data, boundary, "EPSG:32618", fit_months=12, test_months=list(range(36, 48)))
    essex_data, essex_boundary = essex()
    timing(essex_data, essex_boundary)


if __name__ == "__main__":
    main()
