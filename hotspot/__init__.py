"""Pure computation: KDE, DBSCAN and Gi* hotspots split into patrol-scale places, context and
emerging classes, the hotspot table, ranking, near repeats, patrol plans, and the backtest that
judges the methods.

Arrays and GeoDataFrames in, GeoDataFrames and grids out; no files, no database, no web, no
settings. Coordinates are metres in a projected CRS: a geographic or missing CRS is an error.

Where things are: one module per method (:mod:`~hotspot.kde`, :mod:`~hotspot.dbscan` over
:mod:`~hotspot._griddbscan`, :mod:`~hotspot.gistar` over :mod:`~hotspot.gistar_grid`,
:mod:`~hotspot.emerging`, :mod:`~hotspot.nearrepeat`), the measures of a map in
:mod:`~hotspot.coverage` and :mod:`~hotspot.area_budget`, the backtest in the
:mod:`hotspot.backtest` package, patrol plans in the :mod:`hotspot.patrol` package, and every
method's parameters in :mod:`~hotspot.params`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hotspot.analysis import HotspotResult, analyse, feature_collection
    from hotspot.backtest import choose, default_candidates, rolling_origin
    from hotspot.context import CLASSES, ContextLayers
    from hotspot.dbscan import DBSCANHotspots, auto_min_samples, dbscan_hotspots
    from hotspot.emerging import emerging_hotspots, mann_kendall
    from hotspot.errors import (
        AnalysisCancelled,
        HotspotError,
        InvalidParameter,
        InvalidPoints,
        WorkLimitExceeded,
    )
    from hotspot.gistar import GiStarHotspots, gi_star_grid
    from hotspot.kde import DensityGrid, KDEHotspots, kde_grid, kde_hotspots
    from hotspot.nearrepeat import knox_test, risk_zones
    from hotspot.places import split_places

_WHERE = {
    "HotspotResult": "analysis", "analyse": "analysis", "feature_collection": "analysis",
    "CLASSES": "context", "ContextLayers": "context",
    "DBSCANHotspots": "dbscan", "auto_min_samples": "dbscan", "dbscan_hotspots": "dbscan",
    "AnalysisCancelled": "errors", "HotspotError": "errors", "InvalidParameter": "errors",
    "InvalidPoints": "errors", "WorkLimitExceeded": "errors",
    "DensityGrid": "kde", "KDEHotspots": "kde", "kde_grid": "kde", "kde_hotspots": "kde",
    "GiStarHotspots": "gistar", "gi_star_grid": "gistar",
    "emerging_hotspots": "emerging", "mann_kendall": "emerging",
    "split_places": "places", "knox_test": "nearrepeat", "risk_zones": "nearrepeat",
    "rolling_origin": "backtest", "default_candidates": "backtest", "choose": "backtest",
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
    "GiStarHotspots",
    "HotspotError",
    "HotspotResult",
    "InvalidParameter",
    "InvalidPoints",
    "KDEHotspots",
    "WorkLimitExceeded",
    "analyse",
    "auto_min_samples",
    "choose",
    "dbscan_hotspots",
    "default_candidates",
    "emerging_hotspots",
    "feature_collection",
    "gi_star_grid",
    "kde_grid",
    "kde_hotspots",
    "knox_test",
    "mann_kendall",
    "risk_zones",
    "rolling_origin",
    "split_places",
]
