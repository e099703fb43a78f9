"""Local months by binary search (hotspot.localtime) against pandas' conversion of every
instant, where the clocks change: summer time in London, midnight skipped or doubled in Sao
Paulo's old rules and in Havana, half-hour shifts on Lord Howe Island, no summer time at all."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hotspot.localtime import local_clock_seconds, local_month_ordinals

ZONES = ["Europe/London", "America/Sao_Paulo", "America/Havana", "Australia/Lord_Howe",
         "Asia/Kolkata", "UTC"]


def _pandas(t: np.ndarray, zone: str) -> np.ndarray:
    local = pd.to_datetime(t, unit="s", utc=True).tz_convert(zone)
    return local.year.to_numpy(np.int64) * 12 + local.month.to_numpy(np.int64) - 1


@pytest.mark.parametrize("zone", ZONES)
def test_every_instant_gets_pandas_month(zone: str) -> None:
    rng = np.random.default_rng(11)
    lo, hi = 946_684_800, 1_767_225_600  # 2000 to 2026
    t = rng.integers(lo, hi, 200_000)
    # and every month's edges, to the second, where the local month changes
    edges = pd.date_range("2000-01-01", "2026-01-01", freq="MS").tz_localize(
        zone, ambiguous=True, nonexistent="shift_forward").asi8 // 1_000_000_000
    near = (edges[:, None] + np.arange(-7201, 7202, 600)[None, :]).ravel()
    t = np.concatenate([t, edges - 1, edges, edges + 1, near])
    np.testing.assert_array_equal(local_month_ordinals(t, zone), _pandas(t, zone))


def test_one_month_and_no_instant() -> None:
    t = np.array([1_704_067_200, 1_704_067_300])  # 2024-01-01 in London
    assert local_month_ordinals(t, "Europe/London").tolist() == [2024 * 12, 2024 * 12]
    assert local_month_ordinals(np.array([], dtype=np.int64), "UTC").shape == (0,)


@pytest.mark.parametrize("zone", [*ZONES, "America/St_Johns", "Pacific/Chatham"])
def test_local_clock_is_pandas_wall_clock(zone: str) -> None:
    """Hour, day of the week, minute and second of the local clock, as pandas converts each
    instant: at random over 26 years, second by second around clock changes, and a few
    instants decades apart (only their own hours looked up)."""
    rng = np.random.default_rng(5)
    t = rng.integers(946_684_800, 1_767_225_600, 100_000)
    local = pd.to_datetime(t, unit="s", utc=True).tz_convert(zone)
    offset = np.asarray(local.tz_localize(None).as_unit("s").asi8) - t
    changes = np.sort(t)[1:][np.diff(offset[np.argsort(t)]) != 0]  # within hours after one
    around = (changes[:20, None] + np.arange(-4 * 3_600, 600, 1)[None, :]).ravel()
    for sample in (np.concatenate([t, around]), np.array([-2_000_000_000, 0, 2_000_000_000])):
        got = local_clock_seconds(sample, zone)
        want = pd.to_datetime(sample, unit="s", utc=True).tz_convert(zone)
        np.testing.assert_array_equal(got // 3600 % 24, want.hour.to_numpy())
        np.testing.assert_array_equal((got // 86400 + 3) % 7, want.day_of_week.to_numpy())
        np.testing.assert_array_equal(got // 60 % 60, want.minute.to_numpy())
        np.testing.assert_array_equal(got % 60, want.second.to_numpy())
    if zone != "UTC" and zone != "Asia/Kolkata":
        assert changes.size > 0  # the test crossed clock changes
    assert local_clock_seconds(np.array([], dtype=np.int64), zone).shape == (0,)
