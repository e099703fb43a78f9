"""Mann-Kendall against pymannkendall, Esri's emerging hot spot classes on crafted cubes."""

from __future__ import annotations

import numpy as np
import pymannkendall as pmk
import pytest
import shapely

from hotspot import InvalidParameter, WorkLimitExceeded
from hotspot.emerging import (
    CLASS_DESCRIPTIONS,
    CLASS_LABELS,
    CLASS_NAMES,
    classes_of_polygons,
    classify_series,
    emerging_hotspots,
    mann_kendall,
    month_index,
)
from hotspot.gistar import gi_star_grid

X0, Y0 = 500_000.0, 200_000.0
T = 12
SIDE = 24  # cells of 100 m
BOUNDS = (X0, Y0, X0 + SIDE * 100, Y0 + SIDE * 100)


@pytest.mark.parametrize("series", [
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    [5, 4, 4, 3, 3, 3, 1, 2, 0, 0, -1, -2],  # ties, downward
    [2, 0, 3, 1, 4, 2, 5, 3, 6, 4, 7, 5],
    [0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 1],  # a sparse cell: mostly ties
    [1.5, 0.2, 0.9],
    [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8, 4, 6, 2, 6, 4],
])
def test_mann_kendall_agrees_with_pymannkendall(series: list[float]):
    want = pmk.original_test(np.asarray(series, dtype=float))
    got = mann_kendall(series)
    assert got.s[0] == want.s
    assert got.var_s[0] == pytest.approx(want.var_s, rel=1e-12)
    assert got.z[0] == pytest.approx(want.z, rel=1e-12, abs=1e-12)
    assert got.p[0] == pytest.approx(want.p, rel=1e-9, abs=1e-12)
    assert got.tau[0] == pytest.approx(want.Tau, rel=1e-12)
    assert got.sign[0] == np.sign(want.s)
    assert got.trend(0.05)[0] == {"increasing": 1, "decreasing": -1, "no trend": 0}[want.trend]


def test_mann_kendall_by_hand_and_vectorised():
    # 1, 3, 2: pairs (1,3) +, (1,2) +, (3,2) -  -> S = 1; var = 3 * 2 * 11 / 18 = 11/3
    mk = mann_kendall([1, 3, 2])
    assert mk.s[0] == 1 and mk.var_s[0] == pytest.approx(11 / 3) and mk.z[0] == 0.0
    # ties: 1, 1, 2: S = 2; var = (66 - 2 * 1 * 9) / 18 = 48 / 18; z = (2 - 1) / sqrt(48/18)
    mk = mann_kendall([1, 1, 2])
    assert mk.s[0] == 2 and mk.var_s[0] == pytest.approx(48 / 18)
    assert mk.z[0] == pytest.approx(1 / np.sqrt(48 / 18))
    columns = np.array([[1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1], [2, 2, 2, 2, 2, 2],
                        [1, 0, 1, 0, 1, 0]], dtype=float).T
    mk = mann_kendall(columns)
    for j in range(4):
        one = mann_kendall(columns[:, j])
        assert (mk.s[j], mk.z[j], mk.p[j]) == (one.s[0], one.z[0], one.p[0])
    assert mk.s.tolist() == [15, -15, 0, -3]
    assert (mk.var_s[2], mk.z[2], mk.p[2]) == (0.0, 0.0, 1.0)  # a constant series
    assert mk.trend(0.05).tolist() == [1, -1, 0, 0]
    with pytest.raises(InvalidParameter):
        mann_kendall([1.0])
    with pytest.raises(InvalidParameter):
        mann_kendall([1.0, np.nan, 2.0])


H, C = "H", "C"  # hot, cold; any other character: neither


def classify(pattern: str, trend: int = 0) -> str:
    hot = np.array([ch == H for ch in pattern])[:, None]
    cold = np.array([ch == C for ch in pattern])[:, None]
    return CLASS_NAMES[int(classify_series(hot, cold, np.array([trend]))[0])]


@pytest.mark.parametrize(("pattern", "trend", "expected"), [
    ("...........H", 0, "new_hot"),
    ("CCC........H", 0, "new_hot"),  # never hot before: new, whatever the cold months
    (".........HHH", 0, "consecutive_hot"),
    ("..........HH", 1, "consecutive_hot"),
    ("HHHHHHHHHHHH", 1, "intensifying_hot"),
    (".HHHHHHHHHHH", 1, "intensifying_hot"),  # 11 of 12 is at least 90 %
    ("HHHHHHHHHHHH", 0, "persistent_hot"),
    ("HHHHH.HHHHHH", 0, "persistent_hot"),
    ("HHHHHHHHHHHH", -1, "diminishing_hot"),
    ("H..H..H....H", 0, "sporadic_hot"),
    ("HHHHHHHHH.HH", 0, "persistent_hot"),
    ("HHHHHHHH..HH", 0, "sporadic_hot"),  # 10 of 12 is less than 90 %
    ("H..C.......H", 0, "oscillating_hot"),
    ("HHHHHHHHHHH.", 0, "historical_hot"),
    ("HHHHHHHHHHH.", 1, "historical_hot"),
    ("...........C", 0, "new_cold"),
    (".........CCC", 0, "consecutive_cold"),
    ("CCCCCCCCCCCC", -1, "intensifying_cold"),  # getting colder: z trending down
    ("CCCCCCCCCCCC", 0, "persistent_cold"),
    ("CCCCCCCCCCCC", 1, "diminishing_cold"),
    ("C..C..C....C", 0, "sporadic_cold"),
    ("C..H.......C", 0, "oscillating_cold"),
    ("CCCCCCCCCCC.", 0, "historical_cold"),
    ("............", 0, "no_pattern"),
    ("HHHHHH......", 0, "no_pattern"),
    ("HHH.....CCC.", 0, "no_pattern"),
    ("HHHHHHHHHH..", 1, "no_pattern"),  # 10 of 12 and not hot at the end
])
def test_each_class_by_its_rule(pattern: str, trend: int, expected: str):
    assert classify(pattern, trend) == expected


def test_ninety_percent_of_six_months_is_all_of_them():
    assert classify("HHHHHH") == "persistent_hot"
    assert classify(".HHHHH") == "consecutive_hot"
    assert classify("HHHHH.") == "no_pattern"


def test_the_names_labels_and_descriptions():
    assert len(CLASS_NAMES) == 17 and CLASS_NAMES[0] == "no_pattern"
    assert set(CLASS_LABELS) == set(CLASS_DESCRIPTIONS) == set(CLASS_NAMES)
    assert CLASS_LABELS["new_hot"] == "New hot spot"
    assert CLASS_LABELS["historical_cold"] == "Historical cold spot"


def cube(spec: dict[tuple[int, int], list[int]], background: int) -> tuple[np.ndarray, np.ndarray]:
    """Incidents at cell centres: ``spec[(row, col)]`` per month, ``background`` elsewhere."""
    c = np.full((T, SIDE, SIDE), background)
    for (r, col), series in spec.items():
        c[:, r, col] = series
    t, r, col = np.nonzero(c)
    reps = c[t, r, col]
    x = X0 + (np.repeat(col, reps) + 0.5) * 100
    y = Y0 + (SIDE - np.repeat(r, reps) - 0.5) * 100
    return np.column_stack([x, y]), np.repeat(t, reps)


def block(centre: tuple[int, int], series: list[int]) -> dict[tuple[int, int], list[int]]:
    r, c = centre
    return {(r + dr, c + dc): series for dr in (-1, 0, 1) for dc in (-1, 0, 1)}


def test_a_cube_of_hot_spots():
    spec = {
        (2, 2): [40] * 12,
        (2, 8): [1] * 11 + [40],
        (2, 14): [1] * 9 + [40] * 3,
        (2, 20): [40] * 11 + [1],
        (8, 2): [40, 1, 1, 40, 1, 1, 40, 1, 1, 1, 1, 40],
        (8, 20): [40] * 3 + [1] * 9,
    }
    xy, month = cube(spec, background=1)
    g = emerging_hotspots(xy, month, T, cell_size_m=100, bounds=BOUNDS)
    names = g.class_names()
    assert names[2, 2] == "persistent_hot"
    assert names[2, 8] == "new_hot"
    assert names[2, 14] == "consecutive_hot"
    assert names[2, 20] == "historical_hot"
    assert names[8, 2] == "sporadic_hot"
    assert names[8, 20] == "no_pattern"  # hot three months, then not
    assert names[20, 20] == "no_pattern"
    # Gi*: the eight cells around a hot cell share its class
    assert (names[1:4, 7:10] == "new_hot").all()
    assert g.counts_by_class()["new_hot"] == 9
    # each month's Gi* is gi_star_grid on that month
    last = gi_star_grid(xy[month == 11], cell_size_m=100, bounds=BOUNDS)
    np.testing.assert_allclose(g.z[11], last.z)
    np.testing.assert_array_equal(g.confidence[11], last.confidence)
    assert g.counts.sum() == len(xy)


def test_a_cube_of_trends():
    spec = {(8, 8): [45 + 4 * i for i in range(12)], (8, 14): [89 - 4 * i for i in range(12)]}
    xy, month = cube(spec, background=1)
    g = emerging_hotspots(xy, month, T, cell_size_m=100, bounds=BOUNDS)
    names = g.class_names()
    assert names[8, 8] == "intensifying_hot" and g.trend_z[8, 8] > 0 and g.trend_p[8, 8] < 0.05
    assert names[8, 14] == "diminishing_hot" and g.trend_z[8, 14] < 0
    assert g.count_trend_tau[8, 8] == 1.0 and g.count_trend_tau[8, 14] == -1.0
    assert np.isnan(g.trend_z[20, 2])  # never hot or cold: no trend tested


def test_a_cube_of_cold_and_oscillating_spots():
    b = 6
    spec: dict[tuple[int, int], list[int]] = {}
    spec.update(block((3, 3), [b] * 3 + [0] * 3 + [b] * 6))
    spec[(3, 3)] = [60, b, b, 0, 0, 0, b, b, b, b, b, 60]  # hot, cold, hot at the end
    spec.update(block((3, 10), [b] * 11 + [0]))
    spec.update(block((3, 17), [b] * 9 + [0] * 3))
    spec.update(block((10, 3), [0] * 11 + [b]))
    spec.update(block((10, 10), [0, b, b, 0, b, b, b, 0, b, b, b, 0]))
    spec.update(block((10, 17), [0] * 12))
    spec.update(block((17, 10), [0] + [b] * 10 + [0]))
    spec[(17, 10)] = [0, b, b, b, 60, b, b, b, b, b, b, 0]  # cold, hot, cold at the end
    spec.update(block((17, 17), [0] * 3 + [b] * 9))
    spec[(17, 17)] = [0] * 3 + [b] * 8 + [60]  # cold, then hot at the end only
    xy, month = cube(spec, background=b)
    g = emerging_hotspots(xy, month, T, cell_size_m=100, bounds=BOUNDS)
    names = g.class_names()
    assert names[3, 3] == "oscillating_hot"
    assert names[3, 10] == "new_cold"
    assert names[3, 17] == "consecutive_cold"
    assert names[10, 3] == "historical_cold"
    assert names[10, 10] == "sporadic_cold"
    assert names[10, 17] == "persistent_cold"
    assert names[17, 10] == "oscillating_cold"
    assert names[17, 17] == "new_hot"  # never hot before: new, though it was cold


def test_boundary_weights_and_classes_of_polygons():
    spec = {(2, 2): [40] * 12, (2, 8): [1] * 11 + [40]}
    xy, month = cube(spec, background=1)
    inside = shapely.box(X0, Y0, X0 + 1200, Y0 + 2400)  # the western half
    g = emerging_hotspots(xy, month, T, cell_size_m=100, bounds=BOUNDS, boundary=inside)
    assert g.in_study[:, :12].all() and not g.in_study[:, 12:].any()
    assert (g.classes[:, 12:] == -1).all() and (g.class_names()[:, 12:] == "").all()
    assert g.counts[:, :, 12:].sum() == 0
    # harm weights count like incidents
    heavy = emerging_hotspots(xy, month, T, cell_size_m=100, bounds=BOUNDS,
                              weights=np.full(len(xy), 3.0))
    assert heavy.counts.sum() == 3 * len(xy)
    plain = emerging_hotspots(xy, month, T, cell_size_m=100, bounds=BOUNDS)
    np.testing.assert_array_equal(heavy.classes, plain.classes)

    def cell(r: int, c: int, grow: float = 0.0) -> shapely.Polygon:
        x = X0 + c * 100
        y = Y0 + (SIDE - r - 1) * 100
        return shapely.box(x - grow, y - grow, x + 100 + grow, y + 100 + grow)

    polygons = [
        cell(2, 2, grow=100),  # the persistent block: 9 cells of that class
        cell(2, 8),
        shapely.union(cell(2, 2), cell(2, 8)),  # 12 * 40 incidents persistent, 40 + 11 new
        shapely.box(X0 + 2000, Y0 + 2000, X0 + 2010, Y0 + 2010),  # no centre: the cell below
        shapely.box(X0 - 900, Y0 - 900, X0 - 800, Y0 - 800),  # off the grid
    ]
    assert classes_of_polygons(plain, polygons) == [
        "persistent_hot", "new_hot", "persistent_hot", "no_pattern", ""]
    assert classes_of_polygons(plain, []) == []


def test_ties_prefer_a_pattern_over_no_pattern():
    # 40 incidents in one cell in the first month only (no pattern), 40 in another in the
    # final month only (new hot spot): a polygon over both holds 40 of each
    xy = np.array([[X0 + 250, Y0 + 2150]] * 40 + [[X0 + 1450, Y0 + 2150]] * 40)
    g = emerging_hotspots(xy, np.array([0] * 40 + [11] * 40), T, cell_size_m=100,
                          bounds=BOUNDS)
    assert g.class_names()[2, 2] == "no_pattern" and g.class_names()[2, 14] == "new_hot"
    both = shapely.box(X0 + 200, Y0 + 2100, X0 + 1500, Y0 + 2200)
    assert classes_of_polygons(g, [both]) == ["new_hot"]
    # one incident more in the first cell: its class wins
    more = np.vstack([xy, [[X0 + 250, Y0 + 2150]]])
    g = emerging_hotspots(more, np.array([0] * 41 + [11] * 40), T, cell_size_m=100,
                          bounds=BOUNDS)
    assert classes_of_polygons(g, [both]) == ["no_pattern"]


@pytest.mark.parametrize(("call", "parameter"), [
    ({"month": np.array([0, 12])}, "month"),
    ({"month": np.array([0, -1])}, "month"),
    ({"month": np.array([0.0, 1.0])}, "month"),
    ({"n_months": 1}, "n_months"),
    ({"confidence": 80}, "confidence"),
    ({"trend_alpha": 0.0}, "trend_alpha"),
    ({"distance_m": 10.0}, "distance_m"),
])
def test_bad_parameters_name_themselves(call, parameter):
    args = {"xy": np.array([[X0, Y0], [X0 + 500, Y0 + 500]]), "month": np.array([0, 1]),
            "n_months": 12, "cell_size_m": 100.0, **call}
    with pytest.raises(InvalidParameter) as bad:
        emerging_hotspots(args.pop("xy"), args.pop("month"), args.pop("n_months"), **args)
    assert bad.value.parameter == parameter


def test_the_cube_is_counted_against_max_cells():
    xy = np.array([[X0, Y0], [X0 + 5000, Y0 + 5000]])
    with pytest.raises(WorkLimitExceeded) as big:
        emerging_hotspots(xy, np.array([0, 1]), 12, cell_size_m=50, max_cells=100_000)
    assert big.value.parameter == "cell_size_m" and big.value.found > 100_000
    assert "12 months" in str(big.value)


def test_month_index_counts_calendar_months_from_the_first():
    t = np.array(["2018-03-31T23:59:59", "2018-01-01T00:00:00", "2019-01-15T12:00:00"],
                 dtype="datetime64[s]")
    index, n, first = month_index(t)
    assert index.tolist() == [2, 0, 12] and n == 13 and first == "2018-01"
    seconds = month_index(t.astype(np.int64))
    assert seconds[0].tolist() == [2, 0, 12] and seconds[1:] == (13, "2018-01")
    assert month_index(np.empty(0))[1:] == (0, "")
    with pytest.raises(InvalidParameter):
        month_index(np.array(["2018-01"], dtype=object))
