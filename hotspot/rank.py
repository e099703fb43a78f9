"""Scoring and ranking hotspots.

    score = harm x compactness x recency

- **harm**: the hotspot's weight, which is its number of incidents unless incidents carry
  weights (for example a crime-harm index);
- **compactness**: density / (density + median density of the analysis's hotspots), between 0
  and 1: of two hotspots with the same harm, the smaller one ranks higher, because it is where a
  patrol's time buys most;
- **recency**: 0.5 + the share of the hotspot's harm in the later half of the period, between
  0.5 and 1.5: a hotspot that is growing ranks above one that is fading.

Order: score (highest first), then incidents, then centroid (west to east, south to north), so
the order is stable for the same data and parameters. Ranks start at 1.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hotspot._native import loaded_native_steps


def recent_share(
    labels: np.ndarray, weights: np.ndarray, occurred_at: np.ndarray | None, k: int,
    period: tuple[int, int] | None,
) -> np.ndarray:
    """Share of each hotspot's weight in the later half of the period (0.5 when unknown).
    ``labels``: each incident's hotspot (0..k-1, -1 none); ``weights`` >= 0; ``occurred_at``
    seconds since the epoch. By one compiled pass when this process has loaded the compiled
    steps, the labels are int64 from -1 to k - 1 and the times int64 (the same sums to the
    last bit), else by numpy over the incidents in a hotspot."""
    if occurred_at is None or period is None or k == 0:
        return np.full(k, 0.5)
    start, end = period
    middle = start + (end - start) / 2
    native = loaded_native_steps()
    if native is not None and labels.size and labels.dtype == np.int64 \
            and occurred_at.dtype == np.int64 \
            and labels.shape == np.shape(weights) == occurred_at.shape \
            and int(labels.min()) >= -1 and int(labels.max()) < k:
        total, recent = native.recent_sums(
            np.ascontiguousarray(labels), np.ascontiguousarray(weights, dtype=np.float64),
            np.ascontiguousarray(occurred_at), float(middle), k)
    else:
        member = labels >= 0
        late = occurred_at[member] >= middle
        total = np.bincount(labels[member], weights=weights[member], minlength=k)
        recent = np.bincount(labels[member], weights=(weights[member] * late), minlength=k)
    return np.divide(recent, total, out=np.full(k, 0.5), where=total > 0)


def score_and_rank(table: pd.DataFrame, recent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scores and ranks (1 = first) of the hotspots in ``table`` (see the module docstring)."""
    k = len(table)
    if k == 0:
        return np.empty(0), np.empty(0, dtype=np.int64)
    harm = table["weight"].to_numpy(float)
    density = table["density_per_km2"].to_numpy(float)
    ref = float(np.median(density)) or 1.0
    compact = density / (density + ref)
    score = harm * compact * (0.5 + recent)
    order = np.lexsort((
        table["centroid_y"].to_numpy(float),
        table["centroid_x"].to_numpy(float),
        -table["incidents"].to_numpy(float),
        -np.round(score, 9),
    ))
    rank = np.empty(k, dtype=np.int64)
    rank[order] = np.arange(1, k + 1)
    return score.round(4), rank
