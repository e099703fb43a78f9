"""The Knox test's result (:class:`KnoxResult`): pairs counted by distance band and day band,
their significance, the near-repeat zone read off the table, and its plain reading.

Distances are metres (a projected CRS), times days; the formulas and the zone rule are in
:mod:`hotspot.nearrepeat`'s docstring.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

ALPHA = 0.05
"""Significance level of a cell."""
MIN_RATIO = 1.2
"""Smallest Knox ratio of a cell inside the near-repeat zone."""


@dataclass(frozen=True)
class KnoxResult:
    """The Knox test's table: one cell per (distance band, day band).

    Attributes
    ----------
    distance_edges_m, day_edges
        Band edges (left-closed, right-open), metres and days.
    observed
        ``(distance bands, day bands)`` pairs counted.
    expected
        Mean count over the permutations.
    exceed
        Permutations whose count was at least the observed one.
    permutations, seed
        The Monte Carlo test's size and seed.
    incidents
        Incidents tested.
    pairs
        Pairs closer than the last distance edge (any gap in time): the work of a permutation.
    alpha
        Significance level.
    """

    distance_edges_m: tuple[float, ...]
    day_edges: tuple[float, ...]
    observed: np.ndarray
    expected: np.ndarray
    exceed: np.ndarray
    permutations: int
    seed: int | None
    incidents: int
    pairs: int
    alpha: float = ALPHA
    min_ratio: float = MIN_RATIO
    notes: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> np.ndarray:
        """Knox ratio observed / expected (NaN where nothing is expected)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.expected > 0, self.observed / np.where(
                self.expected > 0, self.expected, 1.0), np.nan)

    @property
    def p_value(self) -> np.ndarray:
        """Monte Carlo p-value per cell: (1 + exceed) / (1 + permutations)."""
        return (1.0 + self.exceed) / (1.0 + self.permutations)

    @property
    def significant(self) -> np.ndarray:
        """Cells with p <= alpha and more pairs than expected."""
        if self.permutations == 0:
            return np.zeros(self.observed.shape, dtype=bool)
        return (self.p_value <= self.alpha) & (np.nan_to_num(self.ratio, nan=0.0) > 1.0)

    @property
    def table(self) -> pd.DataFrame:
        """The tidy table: one row per cell, distance band first."""
        nd, nt = self.observed.shape
        d = np.asarray(self.distance_edges_m)
        t = np.asarray(self.day_edges)
        k = np.repeat(np.arange(nd), nt)
        m = np.tile(np.arange(nt), nd)
        return pd.DataFrame({
            "distance_from_m": d[k], "distance_to_m": d[k + 1],
            "days_from": t[m], "days_to": t[m + 1],
            "observed": self.observed.ravel().astype(np.int64),
            "expected": self.expected.ravel().round(3),
            "ratio": self.ratio.ravel().round(3),
            "p_value": self.p_value.ravel().round(4),
            "significant": self.significant.ravel(),
            "in_zone": self._zone_mask().ravel(),
        })

    def _zone_mask(self) -> np.ndarray:
        mask = np.zeros(self.observed.shape, dtype=bool)
        block = self._block()
        if block is not None:
            mask[: block[0] + 1, : block[1] + 1] = True
        return mask

    @property
    def elevated(self) -> np.ndarray:
        """Cells that may be in the zone: significant, with a ratio of at least min_ratio."""
        return self.significant & (np.nan_to_num(self.ratio, nan=0.0) >= self.min_ratio)

    def _block(self) -> tuple[int, int] | None:
        """(K, L): the last distance band and day band of the zone (:mod:`hotspot.nearrepeat`)."""
        up = self.elevated
        if not up.size or not up[0, 0]:
            return None
        # an all-elevated block [0..k] x [0..l] <=> cumulative minimum along both axes
        ok = np.minimum.accumulate(np.minimum.accumulate(up.astype(np.int8), axis=0), axis=1) > 0
        cells = (np.arange(up.shape[0])[:, None] + 1) * (np.arange(up.shape[1])[None, :] + 1)
        obs = self.observed.cumsum(axis=0).cumsum(axis=1)
        exp = np.nan_to_num(self.expected).cumsum(axis=0).cumsum(axis=1)
        ratio = obs / np.where(exp > 0, exp, np.inf)
        ks, ls = np.nonzero(ok)
        # most cells, then the higher block ratio, then the farther distance
        order = np.lexsort((ks, ratio[ks, ls], cells[ks, ls]))
        return int(ks[order[-1]]), int(ls[order[-1]])

    def significant_extent(self) -> tuple[float, float] | None:
        """(distance_m, days) of the near-repeat zone, or None when nothing is significant
        from the origin (the rule in :mod:`hotspot.nearrepeat`)."""
        block = self._block()
        if block is None:
            return None
        k, m = block
        return float(self.distance_edges_m[k + 1]), float(self.day_edges[m + 1])

    def zone_ratio(self) -> float | None:
        """Observed over expected pairs of the zone's block (the "times higher"), or None."""
        block = self._block()
        if block is None:
            return None
        k, m = block
        exp = float(self.expected[: k + 1, : m + 1].sum())
        return float(self.observed[: k + 1, : m + 1].sum()) / exp if exp > 0 else None

    def plain_reading(self, noun: str = "incident") -> str:
        """The finding in one sentence a planner can act on."""
        extent = self.significant_extent()
        if extent is None:
            return (f"No near-repeat pattern: after a {noun}, the risk close by in the following "
                    f"days is not significantly higher than chance (Knox test of "
                    f"{self.incidents:,} {noun}s, {self.permutations} permutations).")
        distance, days = extent
        ratio = self.zone_ratio() or float("nan")
        return (f"After a {noun}, the risk of another within {distance:g} m is {ratio:.2f} times "
                f"the usual for {days:g} days ({ratio - 1:+.0%}; Knox test of "
                f"{self.incidents:,} {noun}s, {self.permutations} permutations, "
                f"p <= {self.alpha:g} and at least {self.min_ratio:g} times the expected pairs in "
                f"every band of that zone).")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: the bands, the table (records), the zone and the reading."""
        extent = self.significant_extent()
        zone_ratio = self.zone_ratio()
        table = self.table.astype(object).where(self.table.notna(), None)
        return {
            "method": "knox",
            "distance_bands_m": list(self.distance_edges_m),
            "day_bands": list(self.day_edges),
            "band_convention": "left-closed, right-open: a <= value < b; same-location pairs "
                               "in the first distance band, same-day pairs in the first day band",
            "permutations": self.permutations,
            "seed": self.seed,
            "alpha": self.alpha,
            "min_ratio": self.min_ratio,
            "incidents": self.incidents,
            "pairs_within_distance": self.pairs,
            "cells": table.to_dict(orient="records"),
            "extent": None if extent is None else {"distance_m": extent[0], "days": extent[1],
                                                   "ratio": None if zone_ratio is None
                                                   else round(zone_ratio, 3)},
            "reading": self.plain_reading(),
            "notes": list(self.notes),
        }
