"""Pure computation: KDE and DBSCAN hotspots, context classes, the hotspot table, ranking.

Arrays and GeoDataFrames in, GeoDataFrames and grids out; no files, no database, no web, no
settings. Coordinates are metres in a projected CRS: a geographic or missing CRS is an error.
"""

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
