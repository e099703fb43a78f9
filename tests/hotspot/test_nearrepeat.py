"""The Knox test: counts per band on hand-made pairs, a planted near-repeat pattern found and a
random one not, seeds, the zone rule, risk zones, month-only refusal and the work bounds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hotspot.errors import AnalysisCancelled, InvalidParameter, InvalidPoints, WorkLimitExceeded
from hotspot.nearrepeat import (
    KnoxResult,
    knox_test,
    local_days,
    require_exact_dates,
    risk_zones,
)

CRS = "EPSG:27700"


def test_counts_per_band_by_hand():
    # A(0,0) day 0, B(50,0) day 3, C(150,0) day 10, D(0,0) day 30 (A's place again)
    xy = [[0, 0], [50, 0], [150, 0], [0, 0]]
    days = [0, 3, 10, 30]
    r = knox_test(xy, days, permutations=0)
    want = np.zeros((4, 4), dtype=np.int64)
    want[0, 0] = 1  # A-B: 50 m, 3 days
    want[1, 1] = 2  # A-C: 150 m, 10 days; B-C: exactly 100 m and exactly 7 days (left-closed)
    want[0, 3] = 1  # B-D: 50 m, 27 days
    want[1, 2] = 1  # C-D: 150 m, 20 days
    # A-D: same place but 30 days apart, beyond the last day edge: not tabulated
    np.testing.assert_array_equal(r.observed, want)
    assert r.pairs == 6 and r.incidents == 4
    assert not r.significant.any() and r.significant_extent() is None


def test_same_place_same_day_is_the_first_cell_and_last_edges_are_open():
    xy = [[0, 0], [0, 0], [800, 0], [0, 400]]
    days = [5.0, 5.0, 5.0, 33.0]
    r = knox_test(xy, days, permutations=0)
    assert r.observed[0, 0] == 1  # the two at (0, 0) on day 5
    # (0,0)-(800,0): exactly 800 m (the last edge): out; (0,0)-(0,400): 28 days: out;
    # (800,0)-(0,400): 894 m: out
    assert r.observed.sum() == 1
    assert r.pairs == 2 + 0 + 1  # within 800 m: the stacked pair and (0,0)x2-(0,400) (any time)
    split = knox_test(xy, days, distance_bands_m=(0, 1, 100, 800), permutations=0)
    assert split.observed[0, 0] == 1 and split.table.iloc[0]["distance_to_m"] == 1.0


def test_fractional_days_with_exact_times():
    r = knox_test([[0, 0], [10, 0]], [0.0, 6.99], permutations=0)
    assert r.observed[0, 0] == 1
    r = knox_test([[0, 0], [10, 0]], [0.0, 7.0], permutations=0)
    assert r.observed[0, 1] == 1


@pytest.fixture
def planted() -> tuple[np.ndarray, np.ndarray]:
    """400 incidents at random over 10 km and a year, then 60 of them each followed by two
    repeats within 60 m and 5 days."""
    rng = np.random.default_rng(7)
    xy = rng.uniform(0, 10_000, (400, 2))
    days = rng.uniform(0, 365, 400)
    seeds = rng.choice(400, 60, replace=False)
    angle = rng.uniform(0, 2 * np.pi, (60, 2))
    radius = rng.uniform(0, 60, (60, 2))
    near = np.concatenate([xy[seeds] + np.column_stack([radius[:, k] * np.cos(angle[:, k]),
                                                         radius[:, k] * np.sin(angle[:, k])])
                           for k in range(2)])
    later = np.concatenate([days[seeds] + rng.uniform(0, 5, 60) for _ in range(2)])
    return np.vstack([xy, near]), np.concatenate([days, later])


def test_planted_near_repeats_are_significant(planted):
    xy, days = planted
    r = knox_test(xy, days, permutations=99, seed=1)
    assert r.significant[0, 0] and r.p_value[0, 0] == pytest.approx(0.01)
    assert r.ratio[0, 0] > 5
    assert r.significant_extent() == (100.0, 7.0)
    assert r.zone_ratio() == pytest.approx(r.ratio[0, 0])
    assert not r.significant[:, 1:].any()  # nothing planted a week or more after
    reading = r.plain_reading("theft")
    assert "within 100 m" in reading and "for 7 days" in reading
    table = r.table
    assert len(table) == 16 and list(table.columns[:4]) == ["distance_from_m", "distance_to_m",
                                                            "days_from", "days_to"]
    d = r.to_dict()
    assert d["extent"]["distance_m"] == 100.0 and d["extent"]["days"] == 7.0
    assert len(d["cells"]) == 16 and d["cells"][0]["significant"] is True


def test_a_random_pattern_is_not_significant():
    rng = np.random.default_rng(11)
    xy = rng.uniform(0, 10_000, (600, 2))
    days = rng.uniform(0, 365, 600)
    r = knox_test(xy, days, permutations=99, seed=3)
    assert r.significant_extent() is None and r.zone_ratio() is None
    assert 0.5 < r.ratio[0, 0] < 2 and r.p_value[0, 0] > 0.05
    assert r.significant.sum() <= 2  # of 16 cells, at 5 %: chance alone gives about one
    assert "No near-repeat pattern" in r.plain_reading()


def test_the_seed_reproduces_the_test(planted):
    xy, days = planted
    a = knox_test(xy, days, permutations=19, seed=5)
    b = knox_test(xy, days, permutations=19, seed=5)
    c = knox_test(xy, days, permutations=19, seed=6)
    np.testing.assert_array_equal(a.expected, b.expected)
    np.testing.assert_array_equal(a.exceed, b.exceed)
    np.testing.assert_array_equal(a.observed, c.observed)  # observed does not depend on it
    assert not np.array_equal(a.expected, c.expected)
    # the expected count is the permutation mean: the pairs' total over all time bands is fixed
    assert a.expected.sum() > 0


def _result(sig: np.ndarray) -> KnoxResult:
    """A result whose significant cells are ``sig`` (ratio 2, p 0.01) or not (ratio 1, p 1)."""
    nd, nt = sig.shape
    expected = np.full(sig.shape, 10.0)
    return KnoxResult(distance_edges_m=tuple(100.0 * k for k in range(nd + 1)),
                      day_edges=tuple(7.0 * k for k in range(nt + 1)),
                      observed=np.where(sig, 20, 10), expected=expected,
                      exceed=np.where(sig, 0, 99), permutations=99, seed=0, incidents=50,
                      pairs=100)


@pytest.mark.parametrize(("sig", "extent"), [
    ([[1, 1, 0], [1, 0, 0], [1, 0, 0]], (300.0, 7.0)),   # 3x1 beats 1x2
    ([[1, 1], [1, 0]], (200.0, 7.0)),                     # 2x1 ties 1x2: the farther distance
    ([[1, 1, 1], [1, 1, 0], [0, 1, 1]], (200.0, 14.0)),   # 2x2 = 4 cells beats 1x3
    ([[0, 1], [1, 1]], None),                             # the first cell is not significant
    ([[1, 0], [0, 1]], (100.0, 7.0)),                     # not contiguous from the origin
])
def test_the_zone_is_the_largest_significant_block_from_the_origin(sig, extent):
    assert _result(np.array(sig, dtype=bool)).significant_extent() == extent


def test_ties_go_to_the_higher_ratio_and_small_excesses_stay_out():
    base = _result(np.ones((2, 2), dtype=bool))
    # (0, 1) three times the expected pairs, (1, 0) 1.5 times: 1x2 beats 2x1 on its ratio
    tie = KnoxResult(**{**base.__dict__, "observed": np.array([[20, 30], [15, 10]]),
                        "exceed": np.array([[0, 0], [0, 99]])})
    assert tie.significant_extent() == (100.0, 14.0)
    assert tie.zone_ratio() == pytest.approx(50 / 20)
    # every cell significant, the far band only 10 % up: not in the zone (min_ratio 1.2)
    small = KnoxResult(**{**base.__dict__, "observed": np.array([[20, 20], [11, 11]]),
                          "exceed": np.zeros((2, 2), dtype=np.int64)})
    assert small.significant.all() and small.significant_extent() == (100.0, 14.0)
    assert small.table["in_zone"].tolist() == [True, True, False, False]
    loose = KnoxResult(**{**small.__dict__, "min_ratio": 1.05})
    assert loose.significant_extent() == (200.0, 14.0)


def test_fewer_pairs_than_expected_are_never_a_zone():
    r = _result(np.array([[1, 0], [0, 0]], dtype=bool))
    r = KnoxResult(**{**r.__dict__, "observed": np.array([[2, 10], [10, 10]])})
    assert r.p_value[0, 0] <= 0.05 and r.ratio[0, 0] < 1
    assert r.significant_extent() is None


def test_risk_zones_around_recent_incidents(planted):
    xy, days = planted
    r = knox_test(xy, days, permutations=99, seed=1)
    as_of = 200.0
    zones = risk_zones(xy, days, r, as_of_day=as_of, crs=CRS)
    recent = np.flatnonzero((days <= as_of) & (days > as_of - 7))
    assert recent.size > 0 and sorted(zones["incident"]) == sorted(recent)
    assert zones.crs.to_epsg() == 27700
    assert (zones["until_day"] - zones["from_day"]).eq(7.0).all()
    assert zones["distance_m"].eq(100.0).all()
    assert np.allclose(zones.geometry.area, np.pi * 100**2, rtol=0.01)
    first = zones.iloc[0]
    assert first.geometry.centroid.distance(
        __import__("shapely").Point(xy[int(first["incident"])])) < 1e-6
    nothing = _result(np.zeros((2, 2), dtype=bool))
    empty = risk_zones(xy, days, nothing, as_of_day=as_of, crs=CRS)
    assert len(empty) == 0 and "until_day" in empty.columns
    with pytest.raises(InvalidPoints, match="geographic"):
        risk_zones(xy, days, r, as_of_day=as_of, crs="EPSG:4326")


def test_month_only_dates_are_refused_with_a_clear_message():
    with pytest.raises(InvalidParameter, match=r"data\.police\.uk gives months only") as info:
        require_exact_dates(np.full(500, 2))
    assert info.value.parameter == "occurred_at"
    assert "needs dates to the day" in str(info.value)
    mixed = np.array([0] * 60 + [1] * 35 + [2] * 5)
    mask = require_exact_dates(mixed)
    assert mask.sum() == 95 and not mask[-5:].any()
    with pytest.raises(InvalidParameter):
        require_exact_dates(np.array([0] * 80 + [2] * 20))  # 80 % < 90 %
    with pytest.raises(InvalidParameter):
        require_exact_dates(np.array([0]))  # one incident: no pair
    with pytest.raises(InvalidParameter):
        require_exact_dates(np.array([], dtype=int))


def test_local_days_are_whole_across_a_clock_change():
    local = pd.DatetimeIndex(["2024-03-30", "2024-03-31", "2024-04-01"]).tz_localize(
        "Europe/London")
    seconds = local.tz_convert("UTC").tz_localize(None).to_numpy().astype(
        "datetime64[s]").astype(np.int64)
    d = local_days(seconds, "Europe/London")
    np.testing.assert_array_equal(np.diff(d), [1.0, 1.0])
    assert np.diff(seconds)[0] == 86_400 and np.diff(seconds)[1] == 82_800  # 23 h in UTC


@pytest.mark.parametrize(("kwargs", "parameter"), [
    ({"permutations": 1000}, "permutations"),
    ({"permutations": -1}, "permutations"),
    ({"permutations": 9.5}, "permutations"),
    ({"distance_bands_m": (0,)}, "distance_bands_m"),
    ({"distance_bands_m": (10, 100)}, "distance_bands_m"),
    ({"distance_bands_m": (0, 200, 100)}, "distance_bands_m"),
    ({"distance_bands_m": (0, 100, 20_000)}, "distance_bands_m"),
    ({"day_bands": (0, 7, 7)}, "day_bands"),
    ({"day_bands": (0, 400)}, "day_bands"),
    ({"day_bands": ("a", 7)}, "day_bands"),
    ({"alpha": 1.5}, "alpha"),
])
def test_bad_parameters_are_refused_by_name(kwargs, parameter):
    with pytest.raises(InvalidParameter) as info:
        knox_test([[0, 0], [1, 1]], [0, 1], **kwargs)
    assert info.value.parameter == parameter


def test_work_is_bounded_before_it_starts(planted):
    xy, days = planted
    with pytest.raises(WorkLimitExceeded) as info:
        knox_test(xy, days, max_pairs=100)
    assert info.value.parameter == "distance_bands_m" and info.value.found > 100
    pairs = knox_test(xy, days, permutations=0).pairs
    with pytest.raises(WorkLimitExceeded) as info:
        knox_test(xy, days, permutations=99, max_work=pairs * 50)
    assert info.value.parameter == "permutations" and "at most 49" in str(info.value)
    calls = []

    def stop() -> bool:
        calls.append(1)
        return len(calls) > 3

    with pytest.raises(AnalysisCancelled):
        knox_test(xy, days, permutations=99, should_stop=stop)
    assert len(calls) == 4  # checked before the pairs and between permutations


def test_bad_points_are_refused():
    with pytest.raises(InvalidPoints):
        knox_test([[0, 0, 0]], [0])
    with pytest.raises(InvalidPoints):
        knox_test([[0, 0], [1, 1]], [0])
    with pytest.raises(InvalidPoints):
        knox_test([[0, 0], [1, np.nan]], [0, 1])


def test_no_pairs_gives_an_empty_table():
    r = knox_test([[0, 0]], [0], permutations=9)
    assert r.observed.sum() == 0 and np.isnan(r.ratio).all()
    assert r.significant_extent() is None
