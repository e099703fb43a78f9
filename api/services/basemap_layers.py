"""The store's reference layers made ready for the basemap's box queries, and kept ready.

:func:`prepared_layer` reads a layer from the store once per version of it (a small cache
keyed by the store, the layer kind and the layer's source, load time and size) and keeps, in
the store CRS, each feature's geometry with a search tree and what the basemap draws by:
a road's class (:func:`road_rank`) and name, a built-up area's kind (town or village) and
name, and the point a place's name goes at.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geodata.layers import BUILT_UP_AREAS, FORCE_BOUNDARY, HERITAGE_SITES, ROADS, TOWN_CENTRES
from geodata.stores import LayerStore

ROAD_CLASSES = ("motorway", "a_road", "b_road", "minor", "local", "track")
"""Road classes, most important first (the ``rank`` of a road is its index here)."""
_CLASS_WORDS = (
    ("motorway",),
    ("a road", "a_road", "a-road", "primary", "trunk"),
    ("b road", "b_road", "b-road", "secondary"),
    ("minor", "tertiary", "unclassified", "classified unnumbered", "not classified"),
    ("local", "residential", "street", "living"),
    ("track", "service", "restricted", "private", "path", "pedestrian", "footway", "cycleway"),
)
_CLASS_COLUMNS = ("class", "road_class", "roadclassification", "highway", "fclass", "kind",
                  "type")
_SPEED_RANKS = ((90.0, 0), (60.0, 1), (50.0, 2), (40.0, 3), (28.0, 4))
TOWN_KM2 = 3.0
"""A built-up area with no ``kind`` column is a town from this area (km²), else a village."""


@dataclass(frozen=True)
class PreparedLayer:
    """A layer in the store CRS with a search tree, and for each feature a rank, a name and
    (for labels) a point."""

    frame: gpd.GeoDataFrame
    tree: shapely.STRtree


_cache: OrderedDict[tuple[Any, ...], PreparedLayer | None] = OrderedDict()
_cache_lock = threading.Lock()
_CACHE_SIZE = 24


def road_rank(frame: pd.DataFrame) -> np.ndarray:
    """Each road's class as an index into :data:`ROAD_CLASSES` (0: motorway ... 5: track),
    from a class column (OS Open Roads' ``class``, OpenStreetMap's ``highway``, ``kind``...)
    or, without one, from its speed in km/h; 3 (minor) when neither says."""
    rank = np.full(len(frame), -1, dtype=np.int8)
    lowered = {str(c).casefold(): c for c in frame.columns}
    for col in _CLASS_COLUMNS:
        if col not in lowered:
            continue
        values = frame[lowered[col]].astype("string").str.casefold().fillna("")
        for i, words in enumerate(_CLASS_WORDS):
            hit = np.zeros(len(frame), dtype=bool)
            for w in words:
                hit |= values.str.contains(w, regex=False).to_numpy(dtype=bool)
            rank[(rank < 0) & hit] = i
    for col in ("speed_kph", "speed_kmh", "speed"):
        if col in lowered and (rank < 0).any():
            speed = pd.to_numeric(frame[lowered[col]], errors="coerce").to_numpy(dtype=float)
            by_speed = np.full(len(frame), 5, dtype=np.int8)
            for kmh, r in reversed(_SPEED_RANKS):
                by_speed[speed >= kmh] = r
            by_speed[~np.isfinite(speed)] = 3
            rank = np.where(rank < 0, by_speed, rank).astype(np.int8)
    rank[rank < 0] = 3
    return rank


def _text(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame.columns:
        return np.full(len(frame), "", dtype=object)
    return frame[column].astype("string").fillna("").str.strip().to_numpy(dtype=object)


def _top(geoms: np.ndarray) -> np.ndarray:
    """The top middle of each shape's bounding box: a place's name sits just above it (the
    place's own markers, such as its hotspots and church, are in the middle)."""
    b = shapely.bounds(geoms)
    return shapely.points((b[:, 0] + b[:, 2]) / 2, b[:, 3])


def _prepare(kind: str, frame: gpd.GeoDataFrame) -> PreparedLayer | None:
    frame = frame[~frame.geometry.is_empty & frame.geometry.notna()]
    if not len(frame):
        return None
    geoms = np.asarray(frame.geometry.values, dtype=object)
    out: dict[str, Any] = {}
    if kind == ROADS:
        out["rank"] = road_rank(frame)
        out["name"] = _text(frame, "name")
    elif kind == FORCE_BOUNDARY:
        geoms = np.asarray([shapely.boundary(shapely.union_all(geoms))], dtype=object)
    elif kind == BUILT_UP_AREAS:
        kinds = _text(frame, "kind")
        area = shapely.area(geoms) / 1e6
        guess = np.where(area >= TOWN_KM2, "town", "village")
        out["kind"] = np.where(np.isin(kinds, ("town", "village")), kinds, guess)
        out["name"] = _text(frame, "name")
        out["point"] = _top(geoms)
    elif kind == TOWN_CENTRES:
        out["name"] = _text(frame, "name")
        out["point"] = _top(geoms)
    elif kind == HERITAGE_SITES:
        out["name"] = _text(frame, "name")
        out["point"] = shapely.point_on_surface(geoms)
    table = gpd.GeoDataFrame(out, geometry=geoms, crs=frame.crs)
    return PreparedLayer(table, shapely.STRtree(np.asarray(table.geometry.values, dtype=object)))


def prepared_layer(store: LayerStore, kind: str, infos: dict[str, Any]) -> PreparedLayer | None:
    """The store's layer of ``kind`` prepared for box queries (from the cache while the layer
    is unchanged); None when the store has no such layer (``infos``: the store's layer
    infos by kind) or it holds no geometry."""
    info = infos.get(kind)
    if info is None:
        return None
    key = (id(store), kind, info.source, info.added_at, info.features)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    layer = store.get_layer(kind)
    prepared = None
    if layer is not None and isinstance(layer.frame, gpd.GeoDataFrame):
        prepared = _prepare(kind, layer.frame)
    with _cache_lock:
        _cache[key] = prepared
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return prepared
