"""The map under the hotspots when there are no tiles from the internet.

Two parts:

* :func:`basemap_features`: the store's own roads (by class), force boundary, built-up areas
  and the names of towns, villages, town centres and heritage sites, for a WGS84 box at a
  zoom level, simplified for that zoom and bounded in size, as a GeoJSON dict. The pages draw
  it with ``maps/static/basemap.js`` (``GET /v1/basemap``); the printed briefing may draw it
  as SVG.
* An **offline basemap**: a tile file (MBTiles or PMTiles, raster or vector) the force holds,
  registered with ``hotspot basemap add FILE`` (written to ``basemap.json`` in the data
  folder) or named by the setting ``HOTSPOT_BASEMAP_FILE`` (which wins). When one is
  registered, pages use its tiles (``/tiles/{z}/{x}/{y}.<ext>``) instead of the online tile
  URL: :func:`page_tile_url`.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from api.services.hotspots import ParameterError, parse_bbox, tile_url
from api.settings import Settings
from geodata.basemaps import InvalidBasemap, OfflineBasemap, open_basemap
from geodata.coords import WGS84
from geodata.layers import BUILT_UP_AREAS, FORCE_BOUNDARY, HERITAGE_SITES, ROADS, TOWN_CENTRES
from geodata.stores import Store

log = logging.getLogger(__name__)

REGISTRATION = "basemap.json"
"""The file in the data folder that names the registered offline basemap."""
MAX_ZOOM = 22
DATA_MAX_ZOOM = 15
"""Every road and name is in the answer from this zoom on: basemap.js asks for it closer in."""
MAX_SPAN_TILES = 32
"""Widest box a request may ask for: this many tiles of its zoom level (8,192 pixels) across
and down. A page asks for its view and a margin; wider boxes are a 422 naming ``bbox``."""
MAX_FEATURES = 6_000
"""Most features one answer holds; past it the least important road classes are left out
(major roads first), and the answer says ``truncated``."""
MAX_VERTICES = 150_000
"""Most vertices one answer holds (the same rule as :data:`MAX_FEATURES`)."""

ROAD_CLASSES = ("motorway", "a_road", "b_road", "minor", "local", "track")
"""Road classes, most important first (the ``rank`` of a road is its index here)."""
ROAD_MIN_ZOOM = (0, 0, 8, 11, 12, 13)
"""The zoom from which each class of :data:`ROAD_CLASSES` is drawn."""
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
LABEL_KINDS = ("town", "town_centre", "village", "heritage", "road", "street")
"""Label kinds, most important first (a page places labels in this order)."""
LABEL_MIN_ZOOM = {"town": 0, "town_centre": 14, "village": 10, "heritage": 13, "road": 11,
                  "street": 15}
ROAD_NAME_MIN_ZOOM = (11, 11, 12, 15, 15, 99)
"""The zoom from which each road class's names (A1234, High Street) are drawn, once per
road piece in the box."""
AREA_MIN_ZOOM = 9
BOUNDARY_MIN_ZOOM = 0
TOWN_KM2 = 3.0
"""A built-up area with no ``kind`` column is a town from this area (km²), else a village."""


# --- the store's layers, prepared for box queries ----------------------------------------------

@dataclass(frozen=True)
class _Prepared:
    """A layer in the store CRS with a search tree, and for each feature a rank, a name and
    (for labels) a point."""

    frame: gpd.GeoDataFrame
    tree: shapely.STRtree


_cache: OrderedDict[tuple[Any, ...], _Prepared | None] = OrderedDict()
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


def _prepare(kind: str, frame: gpd.GeoDataFrame) -> _Prepared | None:
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
    return _Prepared(table, shapely.STRtree(np.asarray(table.geometry.values, dtype=object)))


def _layer(store: Store, kind: str, infos: dict[str, Any]) -> _Prepared | None:
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


# --- the features for a box ---------------------------------------------------------------------

_local = threading.local()


def _transformers(crs: str) -> tuple[Transformer, Transformer]:
    """(WGS84 -> crs, crs -> WGS84), made once per thread (making one takes about 30 ms)."""
    made: dict[str, tuple[Transformer, Transformer]] = _local.__dict__.setdefault("made", {})
    if crs not in made:
        made[crs] = (Transformer.from_crs(WGS84, crs, always_xy=True),
                     Transformer.from_crs(crs, WGS84, always_xy=True))
    return made[crs]


def metres_per_pixel(zoom: float, lat: float) -> float:
    """Ground size of one web-map pixel (256-pixel tiles) at ``zoom`` and latitude ``lat``
    (degrees), metres."""
    return 156_543.034 * math.cos(math.radians(lat)) / 2 ** zoom


def check_bbox(text: str, zoom: int) -> tuple[float, float, float, float]:
    """A request's ``bbox`` (WGS84 ``min lon,min lat,max lon,max lat``) checked for a zoom.

    Raises
    ------
    ParameterError
        Naming ``bbox`` when it is not four numbers in order, or wider than
        :data:`MAX_SPAN_TILES` tiles of the zoom level.
    """
    w, s, e, n = parse_bbox(text)
    if e <= w or n <= s:
        raise ParameterError("bbox must have min longitude < max longitude and min latitude "
                             "< max latitude", "bbox")
    span = MAX_SPAN_TILES * 360.0 / 2 ** zoom
    if e - w > span or n - s > span:
        raise ParameterError(f"bbox is too large for zoom {zoom}: at most {span:.4g} degrees "
                             "across and down (ask at a lower zoom, or for a smaller box)",
                             "bbox")
    return w, s, e, n


def basemap_features(store: Store, bbox_wgs84: tuple[float, float, float, float], zoom: int,
                     *, max_features: int = MAX_FEATURES,
                     max_vertices: int = MAX_VERTICES) -> dict[str, Any]:
    """The store's roads, boundary, built-up areas and place names inside a box, for a zoom.

    Parameters
    ----------
    store
        The store whose reference layers are drawn (roads, force_boundary, built_up_areas,
        town_centres, heritage_sites; missing layers are left out).
    bbox_wgs84
        (west, south, east, north) in WGS84 degrees.
    zoom
        Web-map zoom level (0-22): it picks the road classes (:data:`ROAD_MIN_ZOOM`) and the
        labels (:data:`LABEL_MIN_ZOOM`) and sets the simplification (half a pixel).

    Returns
    -------
    dict
        A GeoJSON FeatureCollection in WGS84 (longitude, latitude; 6 decimals at most).
        Each feature's ``properties["layer"]`` is ``road`` (``class``, ``rank``, ``name``),
        ``boundary``, ``area`` (``kind``: town or village) or ``label`` (``kind``: town,
        town_centre, village, heritage, road (a motorway, A or B road's number) or street
        (a smaller road's name); ``name``; ``rank``: lower is more important; the
        point is the top middle of a town, village or town centre, whose name is drawn
        above it, and a heritage site's own point, whose name is drawn beside it). Lines
        and areas are clipped to the box; a label's point lies in it. ``truncated`` is True
        when road classes were left out to keep within ``max_features``/``max_vertices``.
    """
    w, s, e, n = bbox_wgs84
    crs = store.crs
    to_store, to_wgs = _transformers(str(crs))
    edge = np.linspace(0.0, 1.0, 9)
    xs = np.concatenate([w + (e - w) * edge, np.full(9, e), w + (e - w) * edge, np.full(9, w)])
    ys = np.concatenate([np.full(9, s), s + (n - s) * edge, np.full(9, n), s + (n - s) * edge])
    px, py = to_store.transform(xs, ys)
    box = shapely.box(float(np.min(px)), float(np.min(py)), float(np.max(px)), float(np.max(py)))
    wgs_box = shapely.box(w, s, e, n)
    tolerance = 0.5 * metres_per_pixel(zoom, (s + n) / 2)
    digits = max(4, min(7, math.ceil(math.log10(2 ** zoom / 360 * 256 * 4))))
    infos = {i.kind: i for i in store.list_layers()}
    features: list[dict[str, Any]] = []
    truncated = False

    def pick(prepared: _Prepared | None) -> gpd.GeoDataFrame | None:
        if prepared is None:
            return None
        idx = prepared.tree.query(box, predicate="intersects")
        return prepared.frame.iloc[np.sort(idx)]

    def lines(geoms: np.ndarray) -> np.ndarray:
        clipped = shapely.clip_by_rect(geoms, *box.bounds)
        return shapely.simplify(clipped, tolerance, preserve_topology=False)

    # roads: the classes this zoom shows, major roads first, as many as the budget holds
    roads = pick(_layer(store, ROADS, infos))
    road_parts: list[tuple[np.ndarray, gpd.GeoDataFrame]] = []
    if roads is not None and len(roads):
        shown = roads[np.asarray(ROAD_MIN_ZOOM)[roads["rank"].to_numpy()] <= zoom]
        count = vertices = 0
        for rank in range(len(ROAD_CLASSES)):
            part = shown[shown["rank"].to_numpy() == rank]
            if not len(part):
                continue
            geoms = lines(np.asarray(part.geometry.values, dtype=object))
            keep = ~shapely.is_empty(geoms)
            geoms, part = geoms[keep], part[keep]
            n_vert = int(shapely.get_num_coordinates(geoms).sum())
            if count + len(part) > max_features or vertices + n_vert > max_vertices:
                truncated = True
                break
            count += len(part)
            vertices += n_vert
            road_parts.append((geoms, part))

    boundary = pick(_layer(store, FORCE_BOUNDARY, infos)) if zoom >= BOUNDARY_MIN_ZOOM else None
    areas = pick(_layer(store, BUILT_UP_AREAS, infos))

    def emit(geoms: np.ndarray, props: list[dict[str, Any]]) -> None:
        if not len(geoms):
            return
        wgs = shapely.transform(geoms, lambda c: np.column_stack(
            to_wgs.transform(c[:, 0], c[:, 1])))
        wgs = shapely.set_precision(wgs, 10.0 ** -digits)
        for g, p in zip(wgs, props, strict=True):
            if g is None or shapely.is_empty(g):
                continue
            features.append({"type": "Feature", "properties": p,
                             "geometry": shapely.geometry.mapping(g)})

    if areas is not None and len(areas) and zoom >= AREA_MIN_ZOOM:
        geoms = shapely.simplify(np.asarray(areas.geometry.values, dtype=object), tolerance)
        geoms = shapely.clip_by_rect(geoms, *box.bounds)
        emit(geoms, [{"layer": "area", "kind": k} for k in areas["kind"]])
    for geoms, part in reversed(road_parts):  # minor roads first: major roads draw on top
        emit(geoms, [{"layer": "road", "class": ROAD_CLASSES[r], "rank": int(r), "name": nm}
                     for r, nm in zip(part["rank"], part["name"], strict=True)])
    if boundary is not None and len(boundary):
        emit(lines(np.asarray(boundary.geometry.values, dtype=object)),
             [{"layer": "boundary"}] * len(boundary))

    labels: list[tuple[Any, dict[str, Any]]] = []
    for geoms, part in road_parts:  # a road's name at the middle of its piece in the box
        names = part["name"].to_numpy(dtype=object)
        show = (np.asarray(ROAD_NAME_MIN_ZOOM)[part["rank"].to_numpy()] <= zoom) & (names != "")
        if not show.any():
            continue
        lengths = shapely.length(geoms)
        seen: set[str] = set()
        for i in np.flatnonzero(show)[np.argsort(-lengths[show], kind="stable")]:
            name = str(names[i])
            if name in seen or name.startswith("track to"):
                continue
            seen.add(name)
            mid = shapely.line_interpolate_point(geoms[i], 0.5, normalized=True)
            kind = "road" if part["rank"].iloc[i] <= 2 else "street"  # A1234, or High Street
            labels.append((mid, {"kind": kind, "name": name}))
    if areas is not None and len(areas):
        for pt, kind, name in zip(areas["point"], areas["kind"], areas["name"], strict=True):
            if name and zoom >= LABEL_MIN_ZOOM[kind]:
                labels.append((pt, {"kind": kind, "name": name}))
    for layer_kind, kind in ((TOWN_CENTRES, "town_centre"), (HERITAGE_SITES, "heritage")):
        if zoom < LABEL_MIN_ZOOM[kind]:
            continue
        found = pick(_layer(store, layer_kind, infos))
        if found is None:
            continue
        for pt, name in zip(found["point"], found["name"], strict=True):
            if not name:
                continue
            if kind == "town_centre" and "centre" not in name.casefold():
                name = f"{name} town centre"
            labels.append((pt, {"kind": kind, "name": name}))
    if labels:
        pts = np.asarray([p for p, _ in labels], dtype=object)
        lon, lat = to_wgs.transform(shapely.get_x(pts), shapely.get_y(pts))
        inside = shapely.contains_xy(wgs_box, lon, lat)
        for (_pt, props), x, y, ok in zip(labels, lon, lat, inside, strict=True):
            if not ok:
                continue
            props = {"layer": "label", **props, "rank": LABEL_KINDS.index(props["kind"])}
            features.append({"type": "Feature", "properties": props, "geometry": {
                "type": "Point", "coordinates": [round(float(x), digits), round(float(y), digits)]}})
    return {"type": "FeatureCollection", "features": features, "zoom": zoom,
            "bbox": [w, s, e, n], "truncated": truncated}


DOWNLOAD_ZOOM = 11
"""The zoom of the roads and names a single-file page (a downloaded map) carries: the A and B
roads, minor roads and every town and village name."""


def force_basemap(store: Store, zoom: int = DOWNLOAD_ZOOM) -> dict[str, Any] | None:
    """:func:`basemap_features` for the whole force area (the boundary's box, else the
    built-up areas' or the roads'), at ``zoom`` or lower if the area is wider than
    :data:`MAX_SPAN_TILES` tiles of it; None when the store has none of those layers. For a
    page that must open from disk with no network (``hotspot map``, the planner's download)."""
    infos = {i.kind: i for i in store.list_layers()}
    for kind in (FORCE_BOUNDARY, BUILT_UP_AREAS, ROADS):
        prepared = _layer(store, kind, infos)
        if prepared is not None:
            break
    else:
        return None
    wgs = prepared.frame.to_crs(WGS84).total_bounds
    w, s, e, n = (float(v) for v in wgs)
    while zoom > 0 and max(e - w, n - s) > MAX_SPAN_TILES * 360.0 / 2 ** zoom:
        zoom -= 1
    return basemap_features(store, (w, s, e, n), zoom)


# --- the offline basemap ---------------------------------------------------------------------------

_opened: dict[tuple[str, float], OfflineBasemap] = {}
_opened_lock = threading.Lock()


def registration_path(settings: Settings) -> Path:
    """Where ``hotspot basemap add`` records the offline basemap: ``basemap.json`` in the data
    folder."""
    return settings.data_dir / REGISTRATION


def registered_file(settings: Settings) -> Path | None:
    """The offline basemap's file: the setting ``HOTSPOT_BASEMAP_FILE``, else the one
    ``hotspot basemap add`` registered, else None."""
    if settings.basemap_file is not None:
        return Path(settings.basemap_file).expanduser()
    reg = registration_path(settings)
    try:
        data = json.loads(reg.read_text("utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        log.warning("%s cannot be read; no offline basemap", reg)
        return None
    path = data.get("path") if isinstance(data, dict) else None
    return Path(path) if isinstance(path, str) and path else None


def register(settings: Settings, file: Path) -> OfflineBasemap:
    """Check a basemap file and record it (its absolute path) in the data folder.

    Raises
    ------
    InvalidBasemap
        When the file is not a usable MBTiles or PMTiles file.
    """
    basemap = open_basemap(file)
    reg = registration_path(settings)
    reg.parent.mkdir(parents=True, exist_ok=True)
    tmp = reg.with_suffix(".tmp")
    tmp.write_text(json.dumps(basemap.describe(), indent=2), "utf-8")
    tmp.replace(reg)
    basemap.close()
    return basemap


def unregister(settings: Settings) -> bool:
    """Forget the registered offline basemap (the file itself is left alone); True if there
    was one."""
    reg = registration_path(settings)
    if reg.exists():
        reg.unlink()
        return True
    return False


def offline_basemap(settings: Settings) -> OfflineBasemap | None:
    """The registered offline basemap, opened (kept open while the file is unchanged), or None
    when there is none or its file can no longer be read (logged)."""
    path = registered_file(settings)
    if path is None:
        return None
    try:
        key = (str(path.resolve()), path.stat().st_mtime)
    except OSError:
        log.warning("the offline basemap %s is missing; pages use the online tiles", path)
        return None
    with _opened_lock:
        hit = _opened.get(key)
        if hit is not None:
            return hit
    try:
        basemap = open_basemap(path)
    except InvalidBasemap as exc:
        log.warning("the offline basemap cannot be used: %s", exc)
        return None
    with _opened_lock:
        for old in [k for k in _opened if k[0] == key[0]]:
            _opened.pop(old).close()
        _opened[key] = basemap
    return basemap


def close_basemaps() -> None:
    """Close every offline basemap file this process opened (at the app's shutdown; a file
    opens again on its next tile)."""
    with _opened_lock:
        while _opened:
            _opened.popitem()[1].close()


def page_tile_url(settings: Settings) -> str | None:
    """The online tile URL pages draw: None when an offline basemap is registered (pages then
    draw its tiles from ``/tiles``: ``maps/static/basemap.js``) or the tile URL is 'none'."""
    if offline_basemap(settings) is not None:
        return None
    return tile_url(settings.tile_url)


def tile_version(basemap: OfflineBasemap) -> str:
    """A short token that changes when the basemap file changes (tile URLs carry it, so a
    tablet's cache never mixes two files' tiles)."""
    st = basemap.path.stat()
    return f"{int(st.st_mtime):x}{st.st_size:x}"[-12:]


def tilejson(basemap: OfflineBasemap, base: str = "") -> dict[str, Any]:
    """A TileJSON 3.0 document for the basemap, with its tile URL under ``base``."""
    v = tile_version(basemap)
    doc: dict[str, Any] = {
        "tilejson": "3.0.0", "name": basemap.name, "attribution": basemap.attribution,
        "tiles": [f"{base}/tiles/{{z}}/{{x}}/{{y}}.{basemap.extension}?v={v}"],
        "minzoom": basemap.minzoom, "maxzoom": basemap.maxzoom,
        "format": basemap.extension, "vector": basemap.vector,
    }
    if basemap.bounds:
        doc["bounds"] = list(basemap.bounds)
    if basemap.vector:
        doc["vector_layers"] = [{"id": name, "fields": {}} for name in basemap.vector_layers]
    return doc
