"""Mapbox vector tiles (MVT) on the web map's tile grid, made without a database: the
embedded store's incidents and any shapes (the density contour bands), encoded with
mapbox-vector-tile. The PostGIS store makes the same tiles with ``ST_AsMVT`` (see
``geodata/sql/queries/tiles.sql``); the features are the same, the bytes need not be.

The grid is the XYZ scheme of web maps: zoom ``z`` has ``2**z`` columns ``x`` (0 at 180 deg
west) and rows ``y`` (0 at the north), in spherical Web Mercator (EPSG:3857, metres, the
sphere of radius 6,378,137 m). A tile's features are in tile coordinates: 0..:data:`EXTENT`
across, y down from the tile's top edge, as the MVT specification has them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import mapbox_vector_tile
import numpy as np
import shapely

from geodata.schema import IncidentFilter

EXTENT = 4096
"""Tile coordinates across a tile (the MVT default)."""
BUFFER = 64
"""How far (tile coordinates) shapes run on beyond a tile's edge, so strokes join across tiles."""
MAX_ZOOM = 22
"""The deepest zoom served."""
MAX_FEATURES = 25_000
"""At most this many incidents in one tile (past it, every k-th by row id: an even thinning,
which the tile's answer says); a county's year fits whole from zoom 8."""
HALF = 20037508.342789244
"""Half the width of the Web Mercator world, metres."""
_R = 6378137.0
INCIDENTS = "incidents"
"""The incident layer's name inside its tiles."""
DENSITY = "density"
"""The density contour layer's name inside its tiles."""
INCIDENT_PROPERTIES = ("category", "crime_type", "occurred_at")
"""What each incident feature carries: taxonomy key, the source's crime type, and the start of
its period (int seconds since the epoch, UTC)."""


def check_tile(z: int, x: int, y: int) -> None:
    """Raise ``ValueError`` naming ``z``, ``x`` or ``y`` when the tile is not on the grid."""
    if not 0 <= z <= MAX_ZOOM:
        raise ValueError(f"z must be from 0 to {MAX_ZOOM}")
    n = 1 << z
    if not 0 <= x < n:
        raise ValueError(f"x must be from 0 to {n - 1} at zoom {z}")
    if not 0 <= y < n:
        raise ValueError(f"y must be from 0 to {n - 1} at zoom {z}")


def tile_bounds_3857(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """The tile's ``(minx, miny, maxx, maxy)`` in Web Mercator metres (as ``ST_TileEnvelope``)."""
    size = 2 * HALF / (1 << z)
    return (-HALF + x * size, HALF - (y + 1) * size, -HALF + (x + 1) * size, HALF - y * size)


def tile_bounds_lonlat(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """The tile's ``(west, south, east, north)`` in WGS84 degrees."""
    n = 1 << z

    def lat(row: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return (x / n * 360.0 - 180.0, lat(y + 1), (x + 1) / n * 360.0 - 180.0, lat(y))


def lonlat_to_3857(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 degrees to spherical Web Mercator metres (EPSG:3857), vectorised."""
    lat = np.clip(np.asarray(lat, dtype=np.float64), -85.05112878, 85.05112878)
    mx = np.radians(np.asarray(lon, dtype=np.float64)) * _R
    my = np.log(np.tan(np.pi / 4 + np.radians(lat) / 2)) * _R
    return mx, my


def _to_tile(z: int, x: int, y: int) -> tuple[float, float, float]:
    """(minx, maxy, scale): tile coordinate = (mx - minx) * scale, (maxy - my) * scale."""
    minx, _miny, _maxx, maxy = tile_bounds_3857(z, x, y)
    return minx, maxy, EXTENT / (2 * HALF / (1 << z))


def points_tile(lon: np.ndarray, lat: np.ndarray, properties: Mapping[str, Sequence[Any]],
                z: int, x: int, y: int, *, layer: str = INCIDENTS) -> bytes:
    """One tile of points (WGS84 lon/lat degrees) with their properties, as MVT bytes.

    Points outside the tile are left out; a point on its edge is kept (it is in both tiles).
    Property values are written as they are (str, int, float); None is left out.
    """
    mx, my = lonlat_to_3857(lon, lat)
    minx, maxy, scale = _to_tile(z, x, y)
    tx = np.rint((mx - minx) * scale).astype(np.int64)
    ty = np.rint((maxy - my) * scale).astype(np.int64)
    keep = np.flatnonzero((tx >= 0) & (tx <= EXTENT) & (ty >= 0) & (ty <= EXTENT))
    names = list(properties)
    columns = [list(properties[k]) for k in names]
    features = []
    for i in keep.tolist():
        props = {k: _plain(col[i]) for k, col in zip(names, columns, strict=True)}
        features.append({"geometry": f"POINT ({tx[i]} {ty[i]})",
                         "properties": {k: v for k, v in props.items() if v is not None}})
    return _encode(layer, features)


def shapes_tile(geometries: Sequence[Any], properties: Mapping[str, Sequence[Any]],
                z: int, x: int, y: int, *, layer: str = DENSITY) -> bytes:
    """One tile of shapes (shapely geometries in Web Mercator metres, EPSG:3857) with their
    properties, as MVT bytes: each clipped to the tile and :data:`BUFFER` around it, in tile
    coordinates; shapes that miss the tile are left out."""
    minx, maxy, scale = _to_tile(z, x, y)
    pad = BUFFER / scale
    bx0, by0, bx1, by1 = tile_bounds_3857(z, x, y)
    geoms = np.asarray(list(geometries), dtype=object)
    clipped = shapely.clip_by_rect(geoms, bx0 - pad, by0 - pad, bx1 + pad, by1 + pad) \
        if len(geoms) else geoms
    names = list(properties)
    columns = [list(properties[k]) for k in names]
    features = []
    for i, g in enumerate(clipped):
        if g is None or shapely.is_empty(g):
            continue
        local = shapely.transform(g, lambda c: np.column_stack(
            [(c[:, 0] - minx) * scale, (maxy - c[:, 1]) * scale]))
        local = shapely.set_precision(local, 1.0)
        if shapely.is_empty(local):
            continue
        props = {k: _plain(col[i]) for k, col in zip(names, columns, strict=True)}
        features.append({"geometry": local.wkt,
                         "properties": {k: v for k, v in props.items() if v is not None}})
    return _encode(layer, features)


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value MVT can hold."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def _encode(layer: str, features: list[dict[str, Any]]) -> bytes:
    if not features:
        return b""
    return bytes(mapbox_vector_tile.encode(
        [{"name": layer, "features": features}],
        default_options={"extents": EXTENT, "y_coord_down": True, "quantize_bounds": None,
                         "check_winding_order": True}))


@runtime_checkable
class TileStore(Protocol):
    """A store that makes vector tiles of its incidents and of shapes given to it (both
    stores: PostGIS with ``ST_AsMVT``, the embedded one with :func:`points_tile` and
    :func:`shapes_tile`)."""

    def incident_tile(self, flt: IncidentFilter, z: int, x: int, y: int, *,
                      limit: int = MAX_FEATURES) -> tuple[bytes, int]:
        """The incidents of ``flt`` inside tile ``z/x/y`` as MVT bytes (layer
        :data:`INCIDENTS`, properties :data:`INCIDENT_PROPERTIES`), at most ``limit`` of them
        (past it, every k-th by row id: the tile thinned evenly), and how many there were
        (more than ``limit``: thinned). Empty bytes for an empty tile."""
        ...

    def shapes_tile(self, geometries: Sequence[Any], properties: Mapping[str, Sequence[Any]],
                    z: int, x: int, y: int, *, layer: str) -> bytes:
        """Shapes in Web Mercator metres (EPSG:3857) with their properties, clipped to tile
        ``z/x/y`` and encoded as MVT bytes (layer ``layer``); empty bytes for an empty tile."""
        ...


def tile_filter(flt: IncidentFilter, z: int, x: int, y: int) -> IncidentFilter | None:
    """``flt`` narrowed to the tile ``z/x/y`` (its WGS84 box intersected with the filter's own,
    if any); None when they do not meet."""
    w, s, e, n = tile_bounds_lonlat(z, x, y)
    if flt.lonlat_bbox is not None:
        fw, fs, fe, fn = flt.lonlat_bbox
        w, s, e, n = max(w, fw), max(s, fs), min(e, fe), min(n, fn)
        if w > e or s > n:
            return None
    return IncidentFilter(start=flt.start, end=flt.end, categories=flt.categories,
                          bbox=flt.bbox, lonlat_bbox=(w, s, e, n))


def incident_tile_of(columns: Any, z: int, x: int, y: int, *,
                     limit: int = MAX_FEATURES) -> tuple[bytes, int]:
    """The incidents tile of selected columns (:class:`~geodata.schema.IncidentColumns`, row
    ids ascending, with ``crime_type`` among their extra columns): all of them, or when there
    are more than ``limit`` every k-th by row id (k the least that brings them under
    ``limit``: an even thinning, as PostGIS's tile makes it); and how many there were."""
    total = len(columns)
    take = slice(0, None, max(1, -(-total // limit)))
    props = {
        "category": np.asarray(columns.category, dtype=object)[take],
        "crime_type": np.asarray(columns.extra["crime_type"], dtype=object)[take],
        "occurred_at": columns.occurred_at[take],
    }
    return points_tile(columns.lon[take], columns.lat[take], props, z, x, y), total
