"""Time windows of a patrol plan: a hotspot's peak hours in the shift, and window arithmetic.

A window is a (start, end) pair of seconds after the shift's start; a hotspot's windows are a
sorted list of them. See :mod:`hotspot.patrol` for how peak hours are found.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import numpy as np

from hotspot.patrol.model import MIN_PROFILE, PEAK_THRESHOLD, Shift

Window = tuple[float, float]
"""(start, end) seconds after the shift's start."""


def peak_slots(profile: Sequence[Sequence[float]] | None, threshold: float = PEAK_THRESHOLD,
               min_profile: int = MIN_PROFILE) -> np.ndarray | None:
    """Peak hours of a 7 x 24 profile (Monday first, local hours) as a 7 x 24 bool array, or
    None when the profile has fewer than ``min_profile`` incidents."""
    if profile is None:
        return None
    p = np.asarray(profile, dtype=float).reshape(7, 24)
    if p.sum() < max(min_profile, 1):
        return None
    week = p.ravel()
    smooth = (np.roll(week, 1) + 2 * week + np.roll(week, -1)) / 4.0
    return (smooth >= threshold * smooth.max()).reshape(7, 24)


def shift_windows(peaks: np.ndarray | None, shift: Shift) -> list[tuple[float, float]]:
    """The peak hours within the shift as (start, end) seconds after the shift's start; the
    whole shift when there is no profile."""
    if peaks is None:
        return [(0.0, shift.seconds)]
    windows: list[tuple[float, float]] = []
    hour = shift.start.replace(minute=0, second=0, microsecond=0)
    while hour < shift.end:
        nxt = hour + timedelta(hours=1)
        if peaks[hour.weekday(), hour.hour]:
            a = max((hour - shift.start).total_seconds(), 0.0)
            b = min((nxt - shift.start).total_seconds(), shift.seconds)
            if windows and abs(windows[-1][1] - a) < 1e-6:
                windows[-1] = (windows[-1][0], b)
            elif b > a:
                windows.append((a, b))
        # wall-clock hours: a local hour repeated or skipped at a clock change is still one slot
        hour = (nxt.astimezone(shift.start.tzinfo)).replace(minute=0, second=0, microsecond=0)
    return windows


def windows_length(windows: Sequence[Window]) -> float:
    """The windows' total length (seconds)."""
    return float(sum(b - a for a, b in windows))


def cut_windows(windows: Sequence[Window], a: float, b: float) -> list[Window]:
    """The parts of ``windows`` between ``a`` and ``b`` (seconds)."""
    out = []
    for wa, wb in windows:
        lo, hi = max(wa, a), min(wb, b)
        if hi >= lo:
            out.append((lo, hi))
    return out


def time_at_fraction(windows: Sequence[Window], f: float) -> float:
    """The time at which a share ``f`` of the windows' total length has gone by."""
    target = f * windows_length(windows)
    for a, b in windows:
        if target <= b - a:
            return a + target
        target -= b - a
    return windows[-1][1]


def latest_in(windows: Sequence[Window], bound: float) -> float | None:
    """The latest time at or before ``bound`` inside ``windows`` (seconds), or None."""
    best: float | None = None
    for a, b in windows:
        if a <= bound:
            t = min(b, bound)
            best = t if best is None else max(best, t)
    return best
