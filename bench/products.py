"""Benchmark: published products on six real Essex months (data.police.uk, 2018-01..06).

For each month: how long publishing takes, how much of the month a partner sees (squares shown,
the incidents in them, the incidents whose priority is shown) and how many held-back counts an
attacker who knows the rule can work out (:func:`hotspot.disclosure.worked_out`). Then the rule
beside the first one it replaced (hold back the smallest count still shown: more is shown, and
some of it can be worked out), for a month and a quarter, on 250 m and 500 m squares.

Run: ``python -m bench.products`` (``HOTSPOT_REAL_DATA`` names the real data folder, default
``../shared/data/real``). Figures go in docs/privacy.md.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from hotspot.disclosure import HELD_BACK, GridCounts, grid_counts, suppress, worked_out

MONTHS = ["2018-01", "2018-02", "2018-03", "2018-04", "2018-05", "2018-06"]
K = 5


def smallest_shown_too(grid: GridCounts, k: int) -> GridCounts:
    """The first rule, replaced: hold back the smallest group still shown until what is held
    back is safe by itself (someone who knows this rule knows each extra group held back is at
    most the smallest one shown, which can pin a count)."""
    keep = grid.counts[:, 0] >= k
    out = grid.counts[keep].copy()
    groups = out[:, 1:]
    held = groups < k
    for _ in range(groups.shape[1]):
        m = held.sum(axis=1)
        rest = np.where(held, groups, 0).sum(axis=1)
        bad = (m > 0) & (rest > 0) & ((m < 2) | (rest < k) | (rest == m * (k - 1)))
        bad &= m < groups.shape[1]
        if not bad.any():
            break
        shown = np.where(held, np.iinfo(np.int64).max, groups)
        held[np.flatnonzero(bad), np.argmin(shown[bad], axis=1)] = True
    groups[held] = HELD_BACK
    return GridCounts(grid.ij[keep], out, grid.cell_size_m)


def _real() -> Path:
    root = Path(os.environ.get("HOTSPOT_REAL_DATA",
                               Path(__file__).resolve().parents[2] / "shared" / "data" / "real"))
    return root / "essex-2018-h1"


def _shown(table: GridCounts, incidents: int) -> tuple[int, int, int]:
    held = table.counts[:, 1:] == HELD_BACK
    priorities = int(np.where(held, 0, table.counts[:, 1:]).sum())
    return int(table.counts[:, 0].sum()), int(held.all(axis=1).sum()), priorities


def main() -> None:
    """Print the two tables."""
    from api.services.products import KIND, groups_of, parse_period, priority_groups, publish
    from geodata.ingest import ingest
    from geodata.readers import ReadOptions, open_reader
    from geodata.schema import IncidentFilter
    from geodata.stores import SQLiteStore
    from geodata.taxonomy import Taxonomy

    taxonomy = Taxonomy.load(None)
    groups = groups_of(taxonomy)
    with tempfile.TemporaryDirectory() as folder:
        store = SQLiteStore.open(Path(folder) / "essex.sqlite")
        options = ReadOptions(taxonomy=taxonomy, crs=store.crs, timezone=store.timezone)
        for month in MONTHS:
            ingest(store, open_reader(_real() / f"{month}-essex-street.csv", options=options))
        print("month | incidents | publish s | squares shown | incidents in them | "
              "squares with only a total | incidents in priorities shown | hotspots | "
              "counts worked out (squares not tried)")
        for month in MONTHS:
            period = parse_period(month, store.timezone)
            incidents = len(store.incidents(IncidentFilter(start=period.start, end=period.end)))
            started = time.perf_counter()
            publish(store, taxonomy, period, grid_m=250.0, min_count=K)
            took = time.perf_counter() - started
            found = store.product(KIND, month)
            assert found is not None
            doc = json.loads(found[1])
            sq = doc["squares"]
            counts = np.array([[HELD_BACK if sq[g][n] is None else sq[g][n] for g in groups]
                               for n in range(len(sq["x"]))], dtype=np.int64)
            table = GridCounts(np.zeros((len(counts), 2), np.int64), counts, 250.0)
            inside, total_only, priorities = _shown(table, incidents)
            leaks, not_tried = worked_out(table, K)
            print(f"{month} | {incidents:,} | {took:.2f} | {len(table):,} | {inside:,} "
                  f"({inside / incidents:.0%}) | {total_only:,} | {priorities:,} "
                  f"({priorities / incidents:.0%}) | {len(doc['hotspots']['all'])} | "
                  f"{len(leaks)} ({len(not_tried)})")
        print()
        print("product | squares shown | incidents in them | priorities shown, rule | "
              "priorities shown, first rule | worked out, rule | worked out, first rule")
        for key in ("2018-01", "2018-Q1"):
            period = parse_period(key, store.timezone)
            cols = store.incidents(IncidentFilter(start=period.start, end=period.end))
            group = priority_groups(cols.category, taxonomy)
            for grid_m in (250.0, 500.0):
                table = grid_counts(cols.xy, group, n_groups=len(groups) - 1,
                                    cell_size_m=grid_m)
                now, first = suppress(table, K), smallest_shown_too(table, K)
                inside, _only, shown_now = _shown(now, len(cols))
                _inside, _only, shown_first = _shown(first, len(cols))
                leaks_now = worked_out(now, K)[0]
                leaks_first = worked_out(first, K, rule=smallest_shown_too)[0]
                print(f"{key}, {grid_m:g} m | {len(now):,} | {inside / len(cols):.0%} | "
                      f"{shown_now / len(cols):.0%} | {shown_first / len(cols):.0%} | "
                      f"{len(leaks_now)} | {len(leaks_first)}")
        store.close()


if __name__ == "__main__":
    main()
