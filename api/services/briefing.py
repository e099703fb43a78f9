"""What the printed briefing needs beyond the plan: each crew's map data and link.

:func:`briefing_extras` gathers, per crew (route label), the absolute URL of the crew's field
view (its short link when the plan has one) and the store's roads, areas, boundary and place
names over the whole of its map as the page lays it out (from
:func:`api.services.basemap.basemap_features`, WGS84), for
:func:`maps.plan_pages.briefing_page`.
"""

from __future__ import annotations

import logging
import math
from typing import Any
from urllib.parse import quote

from api.services.basemap import basemap_features
from geodata.stores import Store
from hotspot.gridref import grid_reference_of
from maps.briefing import map_heights
from maps.crew_map import PAGE_W_MM, map_bbox

log = logging.getLogger(__name__)

PRINT_DPI = 96 * 1.5
"""The map's roads are chosen as for a screen map half as dense again as a 96 dpi screen: a
printed page shows more detail than a screen of the same size."""
LABEL_ZOOM = 14
"""Place names are fetched as at this web-map zoom (every town, village, town centre and
heritage site in the box), whatever the map's scale; the page drops those that collide."""


def _zoom(bbox: tuple[float, float, float, float]) -> int:
    """The web-map zoom whose pixels match the printed map's width (clamped to 8-16)."""
    w, _s, e, _n = bbox
    pixels = PAGE_W_MM / 25.4 * PRINT_DPI
    zoom = math.log2(pixels * 360.0 / (256.0 * max(e - w, 1e-6)))
    return int(min(16, max(8, math.floor(zoom))))


def crew_basemap(store: Store, route: dict[str, Any],
                 height_mm: float = 100.0) -> dict[str, Any] | None:
    """The basemap (GeoJSON, WGS84) under one route's map, ``height_mm`` tall on the page:
    roads for the map's scale and every place name in the box the map shows
    (:func:`maps.crew_map.map_bbox`: the route's box widened to the map's shape); None when
    the route has no position."""
    bbox = map_bbox(route, height_mm=height_mm)
    if bbox is None:
        return None
    roads = basemap_features(store, bbox, _zoom(bbox))
    names = basemap_features(store, bbox, LABEL_ZOOM, max_features=0)
    labels = [f for f in names["features"] if f["properties"].get("layer") == "label"]
    others = [f for f in roads["features"] if f["properties"].get("layer") != "label"]
    return {"type": "FeatureCollection", "features": others + labels}


def crew_urls(document: dict[str, Any], base_url: str) -> dict[str, str]:
    """Each crew's field view as an absolute URL: the plan's short link for the crew
    (``links.crews[label]["short"]``) when it has one, else ``/field/{plan_id}?crew=<label>``;
    made absolute with ``base_url`` (the public URL setting, or the request's base URL)."""
    base = base_url.rstrip("/")
    links = (document.get("links") or {}).get("crews") or {}
    out = {}
    for r in document.get("routes") or []:
        label = r.get("label", "")
        link = links.get(label) or {}
        path = link.get("short") or link.get("field") or (
            f"/field/{document.get('plan_id', '')}?crew={quote(label, safe='')}")
        out[label] = path if "://" in path else base + path
    return out


def add_grid_refs(document: dict[str, Any]) -> None:
    """Give every stop (of a plan stored before stops carried ``grid_ref``) and every crew's
    base its OS grid reference, from their WGS84 longitude and latitude, in place."""
    for r in document.get("routes") or []:
        for stop in [*(r.get("stops") or []), r.get("base") or {}]:
            if not stop.get("grid_ref"):
                lon, lat = stop.get("lon"), stop.get("lat")
                if isinstance(lon, int | float) and isinstance(lat, int | float):
                    stop["grid_ref"] = grid_reference_of(float(lon), float(lat))


def briefing_extras(store: Store, document: dict[str, Any], base_url: str) -> dict[str, Any]:
    """``basemaps`` and ``crew_urls`` for :func:`maps.plan_pages.briefing_page` (and the grid
    references of an older plan's stops, :func:`add_grid_refs`); each basemap covers its map
    at the height the page gives it (:func:`maps.briefing.map_heights`)."""
    add_grid_refs(document)
    urls = crew_urls(document, base_url)
    heights = map_heights(document, urls)
    basemaps: dict[str, Any] = {}
    for r in document.get("routes") or []:
        try:
            found = crew_basemap(store, r, heights.get(r.get("label", ""), 100.0))
        except Exception:  # a map with no roads is better than no briefing
            log.exception("the briefing's basemap for %r failed", r.get("label"))
            found = None
        if found is not None:
            basemaps[r.get("label", "")] = found
    return {"basemaps": basemaps, "crew_urls": urls}
