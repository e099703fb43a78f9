"""The visits a plan may make: one per rural hotspot, several for a town's busiest hotspots.

A :class:`Visit` is one node of the routing problem (:mod:`hotspot.patrol.routing`): a
candidate row, which visit of how many, the windows it may start in (seconds after the shift's
start) and its prize. :func:`town_visits` shares a town's visits out by score and cuts a
revisited hotspot's peak hours into parts at randomly moved boundaries (seeded).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hotspot.patrol.candidates import Candidates
from hotspot.patrol.model import PlanOptions, Shift
from hotspot.patrol.windows import cut_windows, time_at_fraction, windows_length
from hotspot.travel import TravelModel


@dataclass
class Visit:
    """One visit to a hotspot: a stop the routing may make."""

    hotspot: int
    """Row in the candidate table."""
    visit: int
    visits: int
    windows: list[tuple[float, float]]
    prize: float


def split_visits(hotspot: int, windows: list[tuple[float, float]], visits: int, prize: float,
                 gap_s: float, rng: np.random.Generator) -> list[Visit]:
    """``visits`` visits of one hotspot: its windows cut into consecutive parts at randomly
    moved boundaries (up to a fifth of a part either way); visit i starts in part i, at least
    half a gap from each boundary, so two visits start at least ``gap_s`` apart. A revisit is
    worth half a first visit."""
    if visits <= 1:
        return [Visit(hotspot, 1, 1, windows, prize)]
    cuts = np.arange(1, visits) / visits
    cuts = cuts + rng.uniform(-0.2, 0.2, cuts.size) / visits
    bounds = [windows[0][0], *(time_at_fraction(windows, float(c)) for c in cuts),
              windows[-1][1]]
    nodes = []
    for i in range(visits):
        a = bounds[i] + (gap_s / 2 if i > 0 else 0.0)
        b = bounds[i + 1] - (gap_s / 2 if i < visits - 1 else 0.0)
        part = cut_windows(windows, a, b)
        nodes.append(Visit(hotspot, i + 1, visits, part, prize if i == 0 else prize / 2))
    return nodes


def town_visits(rows: list[int], cand: Candidates, windows: list[list[tuple[float, float]]],
                officers: int, travel: TravelModel, options: PlanOptions, shift: Shift,
                rng: np.random.Generator) -> list[Visit]:
    """The visits of a town's hotspots: the visits its officers can make in the shift (shift x
    officers / (dwell + a typical walk)) shared out by score, at most one per two gaps of a
    hotspot's peak hours; visits whose part of the windows is empty are dropped."""
    dwell = options.dwell_min * 60.0
    gap = options.min_gap_min * 60.0
    xy = cand.xy(rows)
    walk = travel.matrix(xy, "foot")
    off = walk[~np.eye(len(rows), dtype=bool)]
    off = off[np.isfinite(off)]
    typical = float(np.median(off)) if off.size else 0.0
    capacity = officers * shift.seconds / (dwell + typical)
    scores = cand.score[rows]
    share = scores / scores.sum() if scores.sum() > 0 else np.full(len(rows), 1 / len(rows))
    nodes: list[Visit] = []
    for i, s in zip(rows, share.tolist(), strict=True):
        most = max(1, int(windows_length(windows[i]) // (2 * gap)))
        visits = int(min(most, max(1, round(capacity * s))))
        nodes += split_visits(i, windows[i], visits, float(cand.score[i]), gap, rng)
    return [visit for visit in nodes if visit.windows]
