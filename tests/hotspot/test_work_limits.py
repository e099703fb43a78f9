"""Work limits and cooperative cancellation in the pure computation: counted before the costly
part (polygons), refused naming the parameter to change; a ``should_stop`` that answers True
stops an analysis with AnalysisCancelled."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hotspot import (
    AnalysisCancelled,
    DBSCANHotspots,
    KDEHotspots,
    WorkLimitExceeded,
    analyse,
    kde_grid,
)

CRS = "EPSG:27700"


@pytest.fixture
def scattered() -> np.ndarray:
    """2,000 points 50 m or more apart: with min_samples 1, each its own cluster."""
    rng = np.random.default_rng(12)
    cells = rng.choice(200 * 200, size=2_000, replace=False)
    return np.column_stack([cells % 200, cells // 200]).astype(float) * 50 + 400_000


def test_dbscan_refuses_more_clusters_than_allowed_naming_min_samples(scattered) -> None:
    with pytest.raises(WorkLimitExceeded) as refused:
        DBSCANHotspots(eps_m=5, min_samples=1, max_clusters=500).fit(scattered, crs=CRS)
    assert refused.value.found == 2_000 and refused.value.limit == 500
    assert refused.value.parameter == "min_samples" and refused.value.kind == "hotspots"
    assert "2,000 clusters" in str(refused.value) and "raise min_samples" in str(refused.value)
    fitted = DBSCANHotspots(eps_m=5, min_samples=1, max_clusters=2_000).fit(scattered, crs=CRS)
    assert fitted.n_clusters_ == 2_000


def test_kde_refuses_too_many_areas_and_too_many_area_cells(scattered) -> None:
    common = {"bandwidth_m": 10, "cell_size_m": 5, "min_incidents": 1}
    with pytest.raises(WorkLimitExceeded) as areas:
        KDEHotspots(**common, share=1.0, max_areas=100).fit(scattered, crs=CRS)
    assert areas.value.parameter == "min_incidents" and areas.value.found > 100
    with pytest.raises(WorkLimitExceeded) as cells:
        KDEHotspots(**common, threshold="percentile", percentile=0,
                    max_area_cells=1_000).fit(scattered, crs=CRS)
    assert cells.value.parameter == "percentile" and cells.value.kind == "hotspot_cells"
    assert "raise percentile" in str(cells.value)


def test_a_grid_over_the_limit_names_the_cell_size(scattered) -> None:
    with pytest.raises(WorkLimitExceeded) as refused:
        kde_grid(scattered, crs=CRS, bandwidth_m=100, cell_size_m=5, max_cells=10_000)
    assert refused.value.parameter == "cell_size_m" and refused.value.kind == "grid_cells"
    with pytest.raises(WorkLimitExceeded) as default_cell:
        kde_grid(scattered, crs=CRS, bandwidth_m=100, max_cells=10_000)
    assert default_cell.value.parameter == "bandwidth_m"


def test_analyse_passes_its_limits_on(scattered) -> None:
    frame = pd.DataFrame({"x": scattered[:, 0], "y": scattered[:, 1]})
    with pytest.raises(WorkLimitExceeded):
        analyse(frame, crs=CRS, method="dbscan", eps_m=5, min_samples=1, max_hotspots=10)
    with pytest.raises(WorkLimitExceeded):  # labels given (PostGIS) are counted too
        analyse(frame, crs=CRS, method="dbscan", cluster_labels=np.arange(2_000),
                max_hotspots=10)
    with pytest.raises(WorkLimitExceeded):
        analyse(frame, crs=CRS, method="kde", bandwidth_m=100, cell_size_m=5,
                max_grid_cells=10_000)
    result = analyse(frame, crs=CRS, method="dbscan", eps_m=5, min_samples=1,
                     max_hotspots=2_000)
    assert len(result.hotspots) == 2_000
    assert "max_hotspots" not in result.parameters  # a budget, not a method parameter


@pytest.mark.parametrize("method", ["dbscan", "kde"])
@pytest.mark.parametrize("after", [0, 1, 3, 6])
def test_should_stop_stops_an_analysis_between_stages(scattered, method: str,
                                                      after: int) -> None:
    frame = pd.DataFrame({"x": scattered[:, 0], "y": scattered[:, 1]})
    asked = [0]

    def should_stop() -> bool:
        asked[0] += 1
        return asked[0] > after

    params = {"eps_m": 5, "min_samples": 1} if method == "dbscan" else {"bandwidth_m": 100}
    with pytest.raises(AnalysisCancelled):
        analyse(frame, crs=CRS, method=method, should_stop=should_stop, **params)
    assert asked[0] == after + 1  # it stopped at the first True


def test_the_feature_collection_checks_while_it_writes(scattered) -> None:
    frame = pd.DataFrame({"x": scattered[:, 0], "y": scattered[:, 1]})
    result = analyse(frame, crs=CRS, method="dbscan", eps_m=5, min_samples=1)
    asked = [0]

    def should_stop() -> bool:
        asked[0] += 1
        return asked[0] > 2

    with pytest.raises(AnalysisCancelled):
        result.to_feature_collection(should_stop=should_stop)
    assert result.to_feature_collection()["features"]  # without one: whole
