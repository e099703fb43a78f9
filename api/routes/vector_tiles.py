"""Vector tiles of a selection: ``/tiles/incidents/{z}/{x}/{y}.mvt`` (staff: exact points) and
``/tiles/density/{z}/{x}/{y}.mvt`` (field roles: contour bands). See
:mod:`api.services.vector_tiles`. The offline basemap's ``/tiles/{z}/{x}/{y}.{ext}`` is
another route (three path segments, not four)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api.deps import StoreDep, TaxonomyDep
from api.services.hotspot_query import HotspotQuery
from api.services.vector_tiles import (
    MEDIA_TYPE,
    Tile,
    checked_tile,
    density_tile,
    incident_tile,
    tile_body,
)
from geodata.tiles import MAX_ZOOM

router = APIRouter(tags=["vector tiles"])

_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"content": {MEDIA_TYPE: {}}, "description": "A Mapbox vector tile (MVT 2.1, extent "
          "4096), gzip-compressed when the client accepts it."},
    204: {"description": "No features in this tile."},
}
_Z = Path(..., ge=0, le=MAX_ZOOM, description="Zoom level (web map XYZ grid).")
_X = Path(..., ge=0, description="Column, 0 at 180\u00b0 west; below 2^z.")
_Y = Path(..., ge=0, description="Row, 0 at the north (XYZ, not TMS); below 2^z.")


def _answer(request: Request, tile: Tile, version: str) -> Response:
    headers = {"Cache-Control": "private, max-age=60", "X-Data-Version": version}
    if not tile.data:
        return Response(status_code=204, headers=headers)
    body, more = tile_body(tile, request.headers.get("accept-encoding", ""))
    return Response(body, media_type=MEDIA_TYPE, headers={**headers, **more})


@router.get("/tiles/incidents/{z}/{x}/{y}.mvt", responses=_RESPONSES,
            response_class=Response)
async def incidents_tile(
    request: Request, store: StoreDep, taxonomy: TaxonomyDep,
    z: int = _Z, x: int = _X, y: int = _Y, q: HotspotQuery = Depends(),
) -> Response:
    """The selection's incidents (``from``, ``to``, ``category``/``priority``, ``bbox`` or
    ``town``, as ``/v1/hotspots``) in one tile, layer ``incidents``: points with ``category``,
    ``crime_type`` and ``occurred_at`` (seconds since the epoch, UTC). At most 25,000 per
    tile (``geodata.tiles.MAX_FEATURES``; past it every k-th by row id, an even thinning,
    ``X-Tile-Truncated: true``). Exact locations: staff only."""
    checked_tile(z, x, y)
    version = await run_in_threadpool(store.data_version)
    tile = await run_in_threadpool(incident_tile, store, taxonomy, q, z, x, y)
    return _answer(request, tile, version)


@router.get("/tiles/density/{z}/{x}/{y}.mvt", responses=_RESPONSES,
            response_class=Response)
async def density_bands_tile(
    request: Request, store: StoreDep, taxonomy: TaxonomyDep,
    z: int = _Z, x: int = _X, y: int = _Y, q: HotspotQuery = Depends(),
    bands: int = Query(5, ge=1, le=20, description="Contour bands."),
) -> Response:
    """The contour bands of the selection's density surface (as ``/v1/density?format=geojson``)
    in one tile, layer ``density``: polygons with ``band`` (1 the lowest), ``lower`` and
    ``upper`` (incidents per km2)."""
    checked_tile(z, x, y)
    tile, version = await density_tile(request, store, taxonomy, q, bands, z, x, y)
    return _answer(request, tile, version)
