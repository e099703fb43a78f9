"""The rolling-origin backtest and the choice of a method, on small synthetic series with known
answers. Metres in EPSG:27700."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from hotspot.backtest import (
    Candidate,
    check_places,
    choose,
    default_candidates,
    fold_months,
    forecast_squares,
    naive_cells,
    rolling_origin,
)
from hotspot.errors import InvalidParameter

CRS = "EPSG:27700"
BOUNDARY = shapely.box(500_000, 100_000, 510_000, 110_000)  # 100 km2


def stable_series(months: int = 4, seed: int = 0) -> pd.DataFrame:
    """Every month: 20 incidents on each of 5 fixed map points (the same points every month,
    each in its own 50 m cell) and 50 scattered at random over the force area."""
    rng = np.random.default_rng(seed)
    hot = np.array([[501_010.0, 101_010.0], [503_020.0, 104_030.0], [505_030.0, 102_040.0],
                    [507_040.0, 108_010.0], [509_010.0, 106_020.0]])
    frames = []
    for m in range(months):
        pts = np.concatenate([np.repeat(hot, 20, axis=0),
                              rng.uniform([500_000, 100_000], [510_000, 110_000], (50, 2))])
        frames.append(pd.DataFrame({"x": pts[:, 0], "y": pts[:, 1], "month": m,
                                    "weight": 1.0}))
    return pd.concat(frames, ignore_index=True)


def test_folds_never_fit_on_the_test_month_or_later():
    folds = fold_months([0, 1, 2, 3, 4])
    assert folds == [(1, [0]), (2, [0, 1]), (3, [0, 1, 2]), (4, [0, 1, 2, 3])]
    assert fold_months([0, 1, 2, 3, 4], fit_months=2) == [
        (1, [0]), (2, [0, 1]), (3, [1, 2]), (4, [2, 3])]
    assert fold_months([0, 1, 5], fit_months=2) == [(1, [0])]  # month 5: nothing 3-4
    assert fold_months([0, 1, 2], test_months=[2]) == [(2, [0, 1])]
    with pytest.raises(InvalidParameter):
        fold_months([0, 1], fit_months=0)


def test_the_candidates_only_ever_see_earlier_months():
    seen: list[tuple[int, list[int]]] = []

    def spy(train: pd.DataFrame, crs: str, boundary: object):
        seen.append((int(train.attrs.get("test", -1)), sorted(set(train["month"].tolist()))))
        return naive_cells(50.0).fit(train, crs, boundary)  # type: ignore[arg-type]

    data = stable_series(4)
    result = rolling_origin(data, [naive_cells(50.0), Candidate("spy", "test", spy)],
                            crs=CRS, boundary=BOUNDARY, shares=(0.001,))
    months = [m for _, m in seen]
    assert months == [[0], [0, 1], [0, 1, 2]]
    assert result.folds["test_month"].unique().tolist() == [1, 2, 3]
    assert (result.folds["fit_last"] < result.folds["test_month"]).all()


def test_a_stable_pattern_makes_the_naive_baseline_perfect():
    data = stable_series(4)
    # 5 cells of 50 m = 12,500 m2 = 0.0125 % of 100 km2: exactly the five hot cells
    result = rolling_origin(data, [naive_cells(50.0), naive_cells(250.0)], crs=CRS,
                            boundary=BOUNDARY, shares=(0.000125,))
    f = result.folds.set_index(["candidate", "test_month"])
    n50 = f.loc["naive_50m"]
    assert (n50["places"] == 5).all()
    assert n50["hit_rate"].tolist() == pytest.approx([100 / 150] * 3)
    assert n50["area_m2"].tolist() == pytest.approx([12_500.0] * 3)
    assert n50["pai"].tolist() == pytest.approx([(100 / 150) / 0.000125] * 3)
    # the best possible at that area is those very cells: PEI* 1; the places keep their share
    assert n50["pei_star"].tolist() == pytest.approx([1.0] * 3)
    assert n50["stability"].iloc[1:].tolist() == pytest.approx([1.0, 1.0])
    assert n50["rri"].tolist() == pytest.approx([1.0] * 3)
    # 250 m cells cannot fit in the budget at all: nothing kept, hit rate 0
    assert (f.loc["naive_250m"]["places"] == 0).all()
    assert choose(result) == "naive_50m"
    assert result.best(0.000125) == "naive_50m"


def test_the_forecast_finds_a_cluster_that_straddles_grid_lines():
    # one cluster of four map points 20 m apart around the corner of four 50 m cells, and one
    # single point with fewer incidents: the fixed grid splits the cluster four ways
    corner = np.array([[505_000.0, 105_000.0]])
    cluster = corner + np.array([[-10, -10], [10, -10], [-10, 10], [10, 10]])
    single = np.array([[502_025.0, 102_025.0]])
    frames = []
    for m in range(3):
        pts = np.concatenate([np.repeat(cluster, 5, axis=0), np.repeat(single, 8, axis=0)])
        frames.append(pd.DataFrame({"x": pts[:, 0], "y": pts[:, 1], "month": m}))
    data = pd.concat(frames, ignore_index=True)
    result = rolling_origin(data, [naive_cells(50.0), forecast_squares(prior=0.0)], crs=CRS,
                            boundary=BOUNDARY, shares=(0.000025,))  # one 50 m square
    f = result.folds.groupby("candidate")["hit_rate"].mean()
    assert f["naive_50m"] == pytest.approx(8 / 28)   # the single point's cell
    assert f["forecast"] == pytest.approx(20 / 28)   # the whole cluster in one square
    assert choose(result) == "forecast"


def test_choose_never_ships_a_method_below_the_naive_baseline():
    data = stable_series(4)

    def far_away(train: pd.DataFrame, crs: str, boundary: object):
        import geopandas as gpd
        boxes = [shapely.box(500_000 + 60 * i, 109_000, 500_050 + 60 * i, 109_050)
                 for i in range(50)]
        return gpd.GeoDataFrame({"score": np.arange(50.0, 0, -1)}, geometry=boxes, crs=crs)

    result = rolling_origin(data, [Candidate("bad", "test", far_away), naive_cells(50.0),
                                   naive_cells(100.0)],
                            crs=CRS, boundary=BOUNDARY, shares=(0.000125, 0.0005))
    assert choose(result) == "naive_50m"


def test_the_backtest_is_deterministic_and_serialises():
    data = stable_series(3, seed=3)
    cands = [naive_cells(50.0), forecast_squares()]
    a = rolling_origin(data, cands, crs=CRS, boundary=BOUNDARY)
    b = rolling_origin(data.sample(frac=1.0, random_state=1), cands, crs=CRS,
                       boundary=BOUNDARY)
    cols = [c for c in a.folds.columns if c != "seconds"]
    pd.testing.assert_frame_equal(a.folds[cols], b.folds[cols])
    d = a.to_dict()
    assert d["chosen"] == choose(a)
    assert len(d["folds"]) == 2 * 2 * 3
    import json
    json.dumps(d)  # NaN became None
    table = a.table()
    assert list(table.index) == ["naive_50m", "forecast"]
    assert ("mean" in table[0.001].columns) and ("min" in table[0.001].columns)


def test_places_must_be_patrol_sized():
    import geopandas as gpd
    tiny = gpd.GeoDataFrame({"score": [1.0]}, geometry=[shapely.box(0, 0, 10, 10)], crs=CRS)
    with pytest.raises(InvalidParameter, match="narrower than 50 m"):
        check_places(tiny, "tiny")
    huge = gpd.GeoDataFrame({"score": [1.0]}, geometry=[shapely.box(0, 0, 1000, 60)], crs=CRS)
    with pytest.raises(InvalidParameter, match="wider than 250 m"):
        check_places(huge, "huge")


def test_bad_arguments_name_their_parameter():
    data = stable_series(2)
    with pytest.raises(InvalidParameter) as err:
        rolling_origin(data, [naive_cells(50.0)], crs=CRS, boundary=BOUNDARY, shares=(0.0,))
    assert err.value.parameter == "shares"
    with pytest.raises(InvalidParameter) as err:
        rolling_origin(data[data["month"] == 0], [naive_cells(50.0)], crs=CRS,
                       boundary=BOUNDARY)
    assert err.value.parameter == "incidents"
    with pytest.raises(InvalidParameter) as err:
        naive_cells(10.0)
    assert err.value.parameter == "cell_size_m"


def test_default_candidates_run_on_a_small_series():
    data = stable_series(3)
    result = rolling_origin(data, default_candidates(), crs=CRS, boundary=BOUNDARY,
                            shares=(0.001,))
    assert set(result.folds["candidate"]) == {c.name for c in default_candidates()}
    assert choose(result) in result.candidates
