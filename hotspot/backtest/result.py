"""The backtest's result: one row per fold x candidate x share (:data:`COLUMNS`), with its
summary, the per-share table and the JSON form (:class:`BacktestResult`).

Areas are m2 (metres in the backtest's projected CRS); shares are of the force area (0-1].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from hotspot.backtest.choice import choose
from hotspot.errors import InvalidParameter

COLUMNS = ("test_month", "fit_first", "fit_last", "candidate", "family", "share", "hit_rate",
           "pai", "pai_at_budget", "rri", "pei_star", "best_hit_rate", "places",
           "median_place_m2", "area_m2", "area_share", "stability", "n_test", "n_test_inside",
           "seconds")
"""Columns of :attr:`BacktestResult.folds`."""


@dataclass
class BacktestResult:
    """Per fold x candidate x share measures (:attr:`folds`, columns :data:`COLUMNS`).

    ``hit_rate`` H, ``pai`` (Chainey: H over the actual area share), ``pai_at_budget`` (H over
    the share asked for: the comparison at equal area), ``rri`` (Levine's ratio form),
    ``pei_star`` (H / H*, H* over the same area with the reference cells of
    ``reference_cell_m``), ``best_hit_rate`` H*, ``places`` kept and their ``median_place_m2``,
    ``area_m2`` and ``area_share`` actually covered, ``stability`` (Jaccard index of the area
    kept with the previous fold's, NaN on the first fold), ``n_test`` and ``n_test_inside``
    (counts), ``seconds`` (the candidate's fit and selections, shared by its shares).
    """

    folds: pd.DataFrame
    shares: tuple[float, ...]
    candidates: tuple[str, ...]
    families: dict[str, str]
    params: dict[str, dict[str, Any]]
    months: tuple[int, ...]
    fit_months: int | None
    force_area_m2: float
    crs: str
    reference_cell_m: float
    seconds: float

    def summary(self) -> pd.DataFrame:
        """Per candidate and share: means over the folds (and the minimum of ``pai``,
        ``pai_at_budget`` and ``hit_rate``), ``folds`` counted; rows in candidate order."""
        f = self.folds
        g = f.groupby(["candidate", "share"], sort=False)
        mean_cols = ["hit_rate", "pai", "pai_at_budget", "rri", "pei_star", "best_hit_rate",
                     "places", "median_place_m2", "area_share", "stability", "seconds"]
        out = g[mean_cols].mean()
        for c in ("hit_rate", "pai", "pai_at_budget"):
            out[f"{c}_min"] = g[c].min()
        out["folds"] = g.size()
        out = out.reset_index()
        out["family"] = out["candidate"].map(self.families)
        return out

    def best(self, share: float) -> str:
        """The candidate with the best mean ``pai_at_budget`` at ``share`` (ties: the earlier
        candidate)."""
        s = self.summary()
        at = s[np.isclose(s["share"], share)]
        if at.empty:
            raise InvalidParameter(f"share {share} was not backtested; shares: "
                                   f"{', '.join(f'{x:g}' for x in self.shares)}",
                                   parameter="share")
        i = int(np.argmax(at["pai_at_budget"].to_numpy()))
        return str(at["candidate"].iloc[i])

    def table(self, metric: str = "pai_at_budget") -> pd.DataFrame:
        """``metric`` per candidate (rows) and share x test month (columns), with the mean and
        minimum over the folds."""
        if metric not in self.folds.columns:
            raise InvalidParameter(f"metric must be a column of the folds, not {metric!r}",
                                   parameter="metric")
        wide = self.folds.pivot_table(index="candidate", columns=["share", "test_month"],
                                      values=metric, sort=False)
        parts = []
        for s in self.shares:
            block = pd.DataFrame(wide[s]).copy()
            values = block.to_numpy(dtype=np.float64)
            block["mean"] = np.nanmean(values, axis=1)
            block["min"] = np.nanmin(values, axis=1)
            block.columns = pd.MultiIndex.from_product([[s], list(block.columns)])
            parts.append(block)
        out = pd.concat(parts, axis=1)
        return out.loc[[c for c in self.candidates if c in out.index]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the setup, the per-fold rows and the summary (NaN as None)."""
        def rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
            clean = frame.astype(object).where(frame.notna(), None)
            return [{str(k): (v.item() if hasattr(v, "item") else v) for k, v in r.items()}
                    for r in clean.to_dict(orient="records")]
        return {
            "shares": list(self.shares),
            "candidates": [{"name": c, "family": self.families[c], "params": self.params[c]}
                           for c in self.candidates],
            "months": list(self.months),
            "fit_months": self.fit_months,
            "force_area_m2": self.force_area_m2,
            "crs": self.crs,
            "reference_cell_m": self.reference_cell_m,
            "seconds": self.seconds,
            "chosen": choose(self),
            "folds": rows(self.folds),
            "summary": rows(self.summary()),
        }
