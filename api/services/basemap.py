"""The map under the hotspots when there are no tiles from the internet: the store's own roads,
boundary, built-up areas and place names for a box.

:func:`basemap_features` gives the store's roads (by class), force boundary, built-up areas and
the names of towns, villages, town centres and heritage sites, for a WGS84 box at a zoom
level, simplified for that zoom and bounded in size, as a GeoJSON dict, in named steps (the
box in the store CRS, the roads within the budget, the areas, the boundary, the labels). The
pages draw it with ``maps/static/basemap.js`` (``GET /v1/basemap``); the printed briefing
draws it as SVG (:mod:`maps.crew_map`). The layers come prepared from
:mod:`api.services.basemap_layers`.

A tile file the force holds (an **offline basemap**) is :mod:`api.services.offline_basemap`;
its functions are importable from here too.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Transformer

from api.service_errors import InvalidInput
from api.services.basemap_layers import ROAD_CLASSES, PreparedLayer, prepared_layer
from api.services.offline_basemap import (
    REGISTRATION,
    close_basemaps,
    offline_basemap,
    page_tile_url,
    register,
    registered_file,
    registration_path,
    tile_version,
    tilejson,
    unregister,
)
from api.services.selection import parse_bbox
from geodata.coords import WGS84
from geodata.layers import BUILT_UP_AREAS, FORCE_BOUNDARY, HERITAGE_SITES, ROADS, TOWN_CENTRES
from geodata.stores import IncidentStore, LayerStore, Store

__all__ = [  # the offline basemap's names too, for the importers of before the split
    "AREA_MIN_ZOOM", "BOUNDARY_MIN_ZOOM", "DATA_MAX_ZOOM", "DOWNLOAD_ZOOM", "LABEL_KINDS",
    "LABEL_MIN_ZOOM", "MAX_FEATURES", "MAX_SPAN_TILES", "MAX_VERTICES", "MAX_ZOOM",
    "REGISTRATION", "ROAD_CLASSES", "ROAD_MIN_ZOOM", "ROAD_NAME_MIN_ZOOM", "basemap_features",
    "check_bbox", "close_basemaps", "force_basemap", "metres_per_pixel", "offline_basemap",
    "page_tile_url", "register", "registered_file", "registration_path", "tile_version",
    "tilejson", "unregister",
]

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

ROAD_MIN_ZOOM = (0, 0, 8, 11, 12, 13)
"""The zoom from which each class of :data:`ROAD_CLASSES` is drawn."""
LABEL_KINDS = ("town", "town_centre", "village", "heritage", "road", "street")
"""Label kinds, most important first (a page places labels in this order)."""
LABEL_MIN_ZOOM = {"town": 0, "town_centre": 14, "village": 10, "heritage": 13, "road": 11,
                  "street": 15}
ROAD_NAME_MIN_ZOOM = (11, 11, 12, 15, 15, 99)
"""The zoom from which each road class's names (A1234, High Street) are drawn, once per
road piece in the box."""
AREA_MIN_ZOOM = 9
BOUNDARY_MIN_ZOOM = 0


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
    InvalidInput
        Naming ``bbox`` when it is not four numbers in order, or wider than
        :data:`MAX_SPAN_TILES` tiles of the zoom level.
    """
    w, s, e, n = parse_bbox(text)
    if e <= w or n <= s:
        raise InvalidInput("bbox must have min longitude < max longitude and min latitude "
                           "< max latitude", "bbox")
    span = MAX_SPAN_TILES * 360.0 / 2 ** zoom
    if e - w > span or n - s > span:
        raise InvalidInput(f"bbox is too large for zoom {zoom}: at most {span:.4g} degrees "
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
    view = _View.of(store, bbox_wgs84, zoom)
    infos = {i.kind: i for i in store.list_layers()}
    roads, truncated = _roads_within_budget(
        view, view.pick(prepared_layer(store, ROADS, infos)), max_features, max_vertices)
    boundary = (view.pick(prepared_layer(store, FORCE_BOUNDARY, infos))
                if zoom >= BOUNDARY_MIN_ZOOM else None)
    areas = view.pick(prepared_layer(store, BUILT_UP_AREAS, infos))
    features = _area_features(view, areas) + _road_features(view, roads)
    features += _boundary_features(view, boundary)
    labels = _road_labels(roads, zoom) + _area_labels(areas, zoom)
    labels += _site_labels(view, store, infos)
    features += _label_features(view, labels)
    return {"type": "FeatureCollection", "features": features, "zoom": zoom,
            "bbox": list(bbox_wgs84), "truncated": truncated}


_RoadPart = tuple[np.ndarray, gpd.GeoDataFrame]
"""One road class in the box: its clipped, simplified lines and their rows."""
_Label = tuple[Any, dict[str, Any]]
"""Where a name goes (a point in the store CRS) and its ``kind`` and ``name``."""


@dataclass(frozen=True)
class _View:
    """A box asked for at a zoom: the box in the store CRS (around the WGS84 box's edges,
    transformed), the simplification (half a pixel, metres) and the decimals of the answer's
    coordinates (a quarter of a pixel or finer)."""

    zoom: int
    box: shapely.Polygon
    """The box in the store CRS."""
    wgs_box: shapely.Polygon
    tolerance: float
    digits: int
    to_wgs: Transformer

    @classmethod
    def of(cls, store: IncidentStore, bbox_wgs84: tuple[float, float, float, float],
           zoom: int) -> _View:
        w, s, e, n = bbox_wgs84
        to_store, to_wgs = _transformers(str(store.crs))
        edge = np.linspace(0.0, 1.0, 9)
        xs = np.concatenate([w + (e - w) * edge, np.full(9, e), w + (e - w) * edge,
                             np.full(9, w)])
        ys = np.concatenate([np.full(9, s), s + (n - s) * edge, np.full(9, n),
                             s + (n - s) * edge])
        px, py = to_store.transform(xs, ys)
        box = shapely.box(float(np.min(px)), float(np.min(py)), float(np.max(px)),
                          float(np.max(py)))
        return cls(zoom=zoom, box=box, wgs_box=shapely.box(w, s, e, n),
                   tolerance=0.5 * metres_per_pixel(zoom, (s + n) / 2),
                   digits=max(4, min(7, math.ceil(math.log10(2 ** zoom / 360 * 256 * 4)))),
                   to_wgs=to_wgs)

    def pick(self, prepared: PreparedLayer | None) -> gpd.GeoDataFrame | None:
        """The layer's features that meet the box, in the layer's order."""
        if prepared is None:
            return None
        idx = prepared.tree.query(self.box, predicate="intersects")
        return prepared.frame.iloc[np.sort(idx)]

    def lines(self, geoms: np.ndarray) -> np.ndarray:
        """Lines clipped to the box, then simplified."""
        clipped = shapely.clip_by_rect(geoms, *self.box.bounds)
        return shapely.simplify(clipped, self.tolerance, preserve_topology=False)

    def features(self, geoms: np.ndarray, props: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """GeoJSON features in WGS84 (rounded to :attr:`digits`), empty shapes left out."""
        if not len(geoms):
            return []
        wgs = shapely.transform(geoms, lambda c: np.column_stack(
            self.to_wgs.transform(c[:, 0], c[:, 1])))
        wgs = shapely.set_precision(wgs, 10.0 ** -self.digits)
        return [{"type": "Feature", "properties": p, "geometry": shapely.geometry.mapping(g)}
                for g, p in zip(wgs, props, strict=True)
                if g is not None and not shapely.is_empty(g)]


def _roads_within_budget(view: _View, roads: gpd.GeoDataFrame | None, max_features: int,
                         max_vertices: int) -> tuple[list[_RoadPart], bool]:
    """The road classes this zoom shows, major roads first, as many whole classes as the
    budget holds; and whether a class was left out."""
    parts: list[_RoadPart] = []
    if roads is None or not len(roads):
        return parts, False
    shown = roads[np.asarray(ROAD_MIN_ZOOM)[roads["rank"].to_numpy()] <= view.zoom]
    count = vertices = 0
    for rank in range(len(ROAD_CLASSES)):
        part = shown[shown["rank"].to_numpy() == rank]
        if not len(part):
            continue
        geoms = view.lines(np.asarray(part.geometry.values, dtype=object))
        keep = ~shapely.is_empty(geoms)
        geoms, part = geoms[keep], part[keep]
        n_vert = int(shapely.get_num_coordinates(geoms).sum())
        if count + len(part) > max_features or vertices + n_vert > max_vertices:
            return parts, True
        count += len(part)
        vertices += n_vert
        parts.append((geoms, part))
    return parts, False


def _area_features(view: _View, areas: gpd.GeoDataFrame | None) -> list[dict[str, Any]]:
    """Built-up areas (``kind`` town or village) from :data:`AREA_MIN_ZOOM`."""
    if areas is None or not len(areas) or view.zoom < AREA_MIN_ZOOM:
        return []
    geoms = shapely.simplify(np.asarray(areas.geometry.values, dtype=object), view.tolerance)
    geoms = shapely.clip_by_rect(geoms, *view.box.bounds)
    return view.features(geoms, [{"layer": "area", "kind": k} for k in areas["kind"]])


def _road_features(view: _View, roads: list[_RoadPart]) -> list[dict[str, Any]]:
    out = []
    for geoms, part in reversed(roads):  # minor roads first: major roads draw on top
        out += view.features(geoms, [
            {"layer": "road", "class": ROAD_CLASSES[r], "rank": int(r), "name": nm}
            for r, nm in zip(part["rank"], part["name"], strict=True)])
    return out


def _boundary_features(view: _View,
                       boundary: gpd.GeoDataFrame | None) -> list[dict[str, Any]]:
    if boundary is None or not len(boundary):
        return []
    return view.features(view.lines(np.asarray(boundary.geometry.values, dtype=object)),
                         [{"layer": "boundary"}] * len(boundary))


def _road_labels(roads: list[_RoadPart], zoom: int) -> list[_Label]:
    """Each road name the zoom shows (:data:`ROAD_NAME_MIN_ZOOM`) once, at the middle of its
    longest piece in the box."""
    labels: list[_Label] = []
    for geoms, part in roads:
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
    return labels


def _area_labels(areas: gpd.GeoDataFrame | None, zoom: int) -> list[_Label]:
    """Names of towns and villages the zoom shows, above each one."""
    if areas is None or not len(areas):
        return []
    return [(pt, {"kind": kind, "name": name})
            for pt, kind, name in zip(areas["point"], areas["kind"], areas["name"], strict=True)
            if name and zoom >= LABEL_MIN_ZOOM[kind]]


def _site_labels(view: _View, store: LayerStore, infos: dict[str, Any]) -> list[_Label]:
    """Names of town centres ("... town centre") and heritage sites, from their zooms."""
    labels: list[_Label] = []
    for layer_kind, kind in ((TOWN_CENTRES, "town_centre"), (HERITAGE_SITES, "heritage")):
        if view.zoom < LABEL_MIN_ZOOM[kind]:
            continue
        found = view.pick(prepared_layer(store, layer_kind, infos))
        if found is None:
            continue
        for pt, name in zip(found["point"], found["name"], strict=True):
            if not name:
                continue
            if kind == "town_centre" and "centre" not in name.casefold():
                name = f"{name} town centre"
            labels.append((pt, {"kind": kind, "name": name}))
    return labels


def _label_features(view: _View, labels: list[_Label]) -> list[dict[str, Any]]:
    """Labels whose point lies in the WGS84 box, as points with ``rank`` the place of their
    kind in :data:`LABEL_KINDS`."""
    if not labels:
        return []
    pts = np.asarray([p for p, _ in labels], dtype=object)
    lon, lat = view.to_wgs.transform(shapely.get_x(pts), shapely.get_y(pts))
    inside = shapely.contains_xy(view.wgs_box, lon, lat)
    out = []
    for (_pt, props), x, y, ok in zip(labels, lon, lat, inside, strict=True):
        if not ok:
            continue
        props = {"layer": "label", **props, "rank": LABEL_KINDS.index(props["kind"])}
        out.append({"type": "Feature", "properties": props, "geometry": {
            "type": "Point", "coordinates": [round(float(x), view.digits),
                                             round(float(y), view.digits)]}})
    return out


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
        prepared = prepared_layer(store, kind, infos)
        if prepared is not None:
            break
    else:
        return None
    wgs = prepared.frame.to_crs(WGS84).total_bounds
    w, s, e, n = (float(v) for v in wgs)
    while zoom > 0 and max(e - w, n - s) > MAX_SPAN_TILES * 360.0 / 2 ** zoom:
        zoom -= 1
    return basemap_features(store, (w, s, e, n), zoom)
