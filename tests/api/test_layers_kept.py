"""The context layers an analysis reads are kept between requests until the store's data
version moves (api.services.hotspots.context_layers), and a layer put meanwhile is used."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
from shapely.geometry import box

from api.services.hotspots import AnalysisOptions, context_layers
from geodata.layers import ReferenceLayer, read_layer
from geodata.stores import Store
from hotspot.context import incident_context


def _town_centre(store: Store, tmp_path: Path, x0: float, name: str) -> None:
    path = tmp_path / f"{name}.geojson"
    gpd.GeoDataFrame({"name": [name]}, geometry=[box(x0, 0, x0 + 1_000, 1_000)],
                     crs=store.crs).to_file(path, driver="GeoJSON")
    layer = read_layer("town_centres", path, force_crs=store.crs)
    assert isinstance(layer, ReferenceLayer)
    store.put_layer(layer)


def test_layers_are_read_once_per_data_version_and_a_new_layer_is_used(store: Store,
                                                                        tmp_path: Path) -> None:
    _town_centre(store, tmp_path, 0.0, "Old Market")
    first = context_layers(store, AnalysisOptions())
    again = context_layers(store, AnalysisOptions(heritage_distance_m=50.0))
    assert again.town_centres is first.town_centres  # the same frame: its grid is kept
    assert again.heritage_distance_m == 50.0  # the options are the call's own
    xy = np.column_stack([np.full(3_000, 500.0), np.linspace(1, 999, 3_000)])
    assert (incident_context(xy, None, first).cls == 0).all()  # in the town centre
    _town_centre(store, tmp_path, 5_000.0, "New Market")  # moved: the version moves on
    moved = context_layers(store, AnalysisOptions())
    assert moved.town_centres is not first.town_centres
    assert list(moved.town_centres["name"]) == ["New Market"]
    assert (incident_context(xy, None, moved).cls == 3).all()  # no longer in one
    assert (incident_context(xy + np.array([5_000.0, 0.0]), None, moved).cls == 0).all()
