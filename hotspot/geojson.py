"""A hotspot table as RFC 7946 GeoJSON: WGS84 longitude/latitude, every column a property.

:func:`feature_collection` writes the table :func:`hotspot.analysis.analyse` returns (any
projected CRS in) as a FeatureCollection, with the analysis's metadata as plain JSON data.
"""

from __future__ import annotations

import math
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import mapping

from hotspot.cancel import EVERY, ShouldStop, check


def _json_value(value: Any) -> Any:
    """``value`` as plain JSON data: numpy numbers and arrays as Python ones, NaN and
    infinity as None, keys as strings."""
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return None if math.isnan(v) or math.isinf(v) else v
    if isinstance(value, np.ndarray):
        return [_json_value(v) for v in value.tolist()]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    if isinstance(value, (np.bool_,)):
        return bool(value)
    return value


def feature_collection(table: gpd.GeoDataFrame, metadata: dict[str, Any], *,
                       should_stop: ShouldStop | None = None) -> dict[str, Any]:
    """A hotspot table as an RFC 7946 FeatureCollection (WGS84, no ``crs`` member);
    ``should_stop`` is checked every :data:`hotspot.cancel.EVERY` features."""
    wgs = table.to_crs("EPSG:4326") if len(table) else table
    geoms = shapely.set_precision(np.asarray(wgs.geometry.values, dtype=object), 1e-7) \
        if len(table) else []
    columns = [c for c in table.columns if c != table.geometry.name]
    records = table[columns].to_dict("records")
    features = []
    for i, (rec, geom) in enumerate(zip(records, geoms, strict=True)):
        if i % EVERY == 0:
            check(should_stop, "while writing GeoJSON")
        features.append({
            "type": "Feature",
            "id": rec["id"],
            "geometry": mapping(geom),
            "properties": {k: _json_value(v) for k, v in rec.items()},
        })
    return {"type": "FeatureCollection", "features": features,
            "metadata": _json_value(metadata)}
