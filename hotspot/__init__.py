"""Pure computation: KDE and DBSCAN hotspots, context classes, the hotspot table, ranking.

Arrays and GeoDataFrames in, GeoDataFrames and grids out; no files, no database, no web, no
settings. Coordinates are metres in a projected CRS: a geographic or missing CRS is an error.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hotspot.analysis import HotspotResult, analyse, feature_collection
    from hotspot.context import CLASSES, ContextLayers
    from hotspot.dbscan import DBSCANHotspots, auto_min_samples, dbscan_hotspots
    from hotspot.errors import (
        AnalysisCancelled,
        HotspotError,
        InvalidParameter,
        InvalidPoints,
        WorkLimitExceeded,
    )
    from hotspot.kde import DensityGrid, KDEHotspots, kde_grid, kde_hotspots

_WHERE = {
    "HotspotResult": "analysis", "analyse": "analysis", "feature_collection": "analysis",
    "CLASSES": "context", "ContextLayers": "context",
    "DBSCANHotspots": "dbscan", "auto_min_samples": "dbscan", "dbscan_hotspots": "dbscan",
    "AnalysisCancelled": "errors", "HotspotError": "errors", "InvalidParameter": "errors",
    "InvalidPoints": "errors", "WorkLimitExceeded": "errors",
    "DensityGrid": "kde", "KDEHotspots": "kde", "kde_grid": "kde", "kde_hotspots": "kde",
}
"""Where each public name lives: imported on first use, so ``import hotspot.params`` (the CLI's
options) does not pay for geopandas and scikit-learn."""


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'hotspot' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"hotspot.{_WHERE[name]}"), name)
    globals()[name] = value
    return value


__all__ = [
    "CLASSES",
    "AnalysisCancelled",
    "ContextLayers",
    "DBSCANHotspots",
    "DensityGrid",
    "HotspotError",
    "HotspotResult",
    "InvalidParameter",
    "InvalidPoints",
    "KDEHotspots",
    "WorkLimitExceeded",
    "analyse",
    "auto_min_samples",
    "dbscan_hotspots",
    "feature_collection",
    "kde_grid",
    "kde_hotspots",
]
