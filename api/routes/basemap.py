"""The map under the hotspots: the store's roads and names for a box (``/v1/basemap``) and the
tiles of a registered offline basemap (``/tiles``). See :mod:`api.services.basemap`."""

from __future__ import annotations

import gzip
from typing import Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from api.deps import SettingsDep, StoreDep
from api.errors import InvalidInput
from api.services.basemap import MAX_ZOOM, basemap_features, check_bbox, offline_basemap, tilejson
from geodata.basemaps import MAX_ZOOM as MAX_TILE_ZOOM
from geodata.basemaps import is_gzip

router = APIRouter(tags=["basemap"])

_NONE = ("no offline basemap is registered; add one with: hotspot basemap add FILE "
         "(an MBTiles or PMTiles file)")


@router.get(
    "/v1/basemap",
    responses={200: {"content": {"application/geo+json": {}}}},
)
def get_basemap(
    store: StoreDep,
    bbox: str = Query(..., description="min lon,min lat,max lon,max lat (WGS84 degrees); at "
                      "most 32 tiles of the zoom level across and down."),
    zoom: int = Query(..., ge=0, le=MAX_ZOOM, description="Web-map zoom level: which road "
                      "classes and names are drawn, and how much lines are simplified."),
) -> JSONResponse:
    """The store's roads (by class, major roads first), force boundary, built-up areas and
    the names of towns, villages, town centres and heritage sites inside ``bbox``, simplified
    for ``zoom``, as GeoJSON in WGS84 (simplified for the zoom, and bounded). The pages
    draw it under the hotspots so the map reads without tiles."""
    box = check_bbox(bbox, zoom)
    data = basemap_features(store, box, zoom)
    return JSONResponse(data, media_type="application/geo+json",
                        headers={"Cache-Control": "private, max-age=300"})


@router.get("/tiles/tiles.json", responses={
    204: {"description": "No offline basemap is registered (pages then draw the store's "
          "roads and names over the online tiles, if any)."}})
def get_tilejson(request: Request, settings: SettingsDep) -> Response:
    """The registered offline basemap as TileJSON (its tile URL, zoom levels, bounds, whether
    its tiles are images or vector tiles and their layers); 204 (no content) when there is
    none, so that a page asking on every load logs no error."""
    basemap = offline_basemap(settings)
    if basemap is None:
        return Response(status_code=204, headers={"Cache-Control": "private, no-cache"})
    return JSONResponse(tilejson(basemap, request.scope.get("root_path", "")),
                        headers={"Cache-Control": "private, no-cache"})


@router.get(
    "/tiles/{z}/{x}/{y}.{ext}",
    responses={200: {"content": {"image/png": {}, "image/jpeg": {}, "image/webp": {},
                                 "application/vnd.mapbox-vector-tile": {}}},
               204: {"description": "The basemap has no tile there (an empty tile)."},
               404: {"description": "No offline basemap, or another tile format."}},
)
async def get_tile(
    request: Request,
    settings: SettingsDep,
    z: int = Path(..., ge=0, le=MAX_TILE_ZOOM, description="Zoom level."),
    x: int = Path(..., ge=0, description="Column, 0 at 180° west."),
    y: int = Path(..., ge=0, description="Row, 0 at the north (XYZ, not TMS)."),
    ext: Literal["png", "jpg", "webp", "mvt", "pbf"] = Path(
        ..., description="The basemap's tile format (tiles.json names it)."),
) -> Response:
    """One tile of the registered offline basemap, as stored: images as they are, vector
    tiles gzip-compressed (``Content-Encoding: gzip``) when the file keeps them so. 204 (no
    content) where the file has no tile, 404 when no basemap is registered or ``ext`` is not
    its format."""
    limit = 1 << z
    if x >= limit:
        raise InvalidInput(f"x must be below 2^z ({limit}) at zoom {z}", field="x")
    if y >= limit:
        raise InvalidInput(f"y must be below 2^z ({limit}) at zoom {z}", field="y")
    basemap = await run_in_threadpool(offline_basemap, settings)  # reads its registration
    if basemap is None:
        return JSONResponse({"detail": _NONE, "error": "not_found"}, status_code=404)
    if ("mvt" if ext == "pbf" else ext) != basemap.extension:
        return JSONResponse({"detail": f"the offline basemap's tiles are .{basemap.extension}",
                             "error": "not_found"}, status_code=404)
    data = await run_in_threadpool(basemap.tile, z, x, y)
    cache = {"Cache-Control": "private, max-age=604800"}
    if not data:
        return Response(status_code=204, headers=cache)
    headers = dict(cache)
    if basemap.vector and is_gzip(data):
        if "gzip" in request.headers.get("accept-encoding", ""):
            headers["Content-Encoding"] = "gzip"
            headers["Vary"] = "Accept-Encoding"
        else:
            data = gzip.decompress(data)
    return Response(data, media_type=basemap.media_type, headers=headers)
