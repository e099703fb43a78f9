"""Hotspots, the density surface, and the planner's map: ``GET /v1/hotspots``,
``/v1/density``, ``/v1/hotspots/map`` and ``/``.

Every response is computed once per (data version, parameters) and then served from the cache
(:mod:`api.services.hotspot_results`); the computation runs in a worker thread, off the event
loop. A new ingest changes the data version, so nothing stale is served.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any, Literal

import pandas as pd
from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response

from api.delivery import gzipped_once, not_modified, page_etag
from api.deps import SettingsDep, StoreDep, TaxonomyDep
from api.errors import InvalidInput, Unavailable
from api.pages import page_nav, with_nav
from api.replay import remember
from api.services.basemap import page_tile_url
from api.services.cached import within
from api.services.exports import (
    GPKG_MEDIA_TYPE,
    gpkg_response_headers,
    hotspots_gpkg,
    partner_gpkg,
)
from api.services.hotspot_map import (
    PAGE_MONTHS,
    backtest_running_page,
    download_name,
    map_page,
    place_name,
)
from api.services.hotspot_query import HotspotQuery
from api.services.hotspot_results import (
    Computed,
    DensityComputed,
    bands_key,
    computed_density,
    computed_hotspots,
    density_bands_geojson,
    density_key,
    hotspots_key,
)
from api.services.hotspots import latest_complete_month
from api.services.published import partner_hotspots, within_period
from api.settings import Settings
from geodata.stores import IncidentStore, Store
from geodata.taxonomy import Taxonomy
from hotspot.errors import InvalidParameter
from hotspot.params import AUTO

router = APIRouter(tags=["hotspots"])


def _etag(*parts: Any) -> str:
    return '"' + hashlib.sha256(repr(parts).encode()).hexdigest()[:32] + '"'


@router.get(
    "/v1/hotspots",
    responses={200: {"content": {"application/geo+json": {}, "text/csv": {},
                                 GPKG_MEDIA_TYPE: {}},
                     "description": "The ranked hotspot table (GeoJSON, CSV, or a "
                     "GeoPackage)."}},
)
async def hotspots(
    request: Request,
    store: StoreDep,
    taxonomy: TaxonomyDep,
    q: HotspotQuery = Depends(),
    format: Literal["geojson", "csv", "gpkg"] | None = Query(
        None, description="Instead of the Accept header; gpkg: a GeoPackage (the hotspots and "
        "the areas they were split from, in the store's CRS, EPSG:27700 British National Grid "
        "by default)."),
    period: str | None = Query(None, max_length=10, description="A whole month (YYYY-MM) or "
                               "quarter (YYYY-Qn) instead of from and to. Partners: which "
                               "published product (default: the latest)."),
) -> Response:
    """The ranked hotspot table as an RFC 7946 FeatureCollection (WGS84 longitude/latitude),
    with the parameters used and the data version; CSV with ``Accept: text/csv``; a
    GeoPackage with ``format=gpkg`` (layers ``hotspots``, ``hotspot_areas`` and ``about``, in
    the store's projected CRS, each layer's description holding the attribution).

    Partners get no analysis: they read the hotspots of a published product (a whole month or
    quarter on the force grid, small counts held back; see ``/v1/products``), and may choose
    only ``period`` (or ``from`` and ``to`` naming its first and last month), ``priority`` and
    ``format``; any other parameter is refused (422)."""
    wants_csv = format == "csv" or (format is None and "text/csv" in
                                    request.headers.get("accept", ""))
    who = getattr(request.state, "principal", None)
    if who is not None and who.role == "partner":  # published products only: api.services.products
        if format == "gpkg":  # the product's GeoJSON (checked as ever), reprojected
            return await run_in_threadpool(_partner_gpkg, request, store, taxonomy, period)
        return await run_in_threadpool(partner_hotspots, request, store, taxonomy,
                                       period=period, wants_csv=wants_csv)
    within_period(q, period, store)
    computed, version = await computed_hotspots(request, store, taxonomy, q)
    if format == "gpkg":
        return await run_in_threadpool(_hotspots_gpkg, store, computed, version)
    etag = _etag(version, q.key(), wants_csv)
    headers = {"ETag": etag, "X-Data-Version": version, "Cache-Control": "private, max-age=60",
               "Vary": "Accept"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    if wants_csv:
        name = download_name(await run_in_threadpool(place_name, store), computed.metadata,
                             ".csv")
        headers["Content-Disposition"] = f'attachment; filename="{name}"'
        body = await run_in_threadpool(lambda: computed.csv)  # made on the first ask
        response = await gzipped_once(request, body, _kept(computed), "csv",
                                      media_type="text/csv; charset=utf-8", headers=headers)
    else:
        response = await gzipped_once(request, computed.geojson, _kept(computed), "geojson",
                                      media_type="application/geo+json", headers=headers)
    if q.method == AUTO:  # its answer also rests on the stored backtest: always routed
        return response
    return remember(request, response, version=version, cache_key=hotspots_key(version, q),
                    body=_body_of(response, "csv" if wants_csv else "geojson"))


def _body_of(response: Response, kind: str) -> Callable[[Computed], bytes | None]:
    """Where ``response``'s body lives in its result, for :func:`api.replay.remember`: the
    compressed answer kept with it, or the GeoJSON or CSV itself."""
    if response.headers.get("content-encoding") == "gzip":
        return lambda computed: _kept(computed)[kind]
    if kind == "csv":
        return lambda computed: computed.made_csv
    return lambda computed: computed.geojson


def _kept(computed: Computed) -> dict[str, bytes]:
    """Where a result keeps its compressed answers (a result another release of the service
    left in the shared cache has no such place: its answers are compressed every time)."""
    kept = getattr(computed, "encoded", None)
    return kept if isinstance(kept, dict) else {}


def _hotspots_gpkg(store: Store, computed: Computed, version: str) -> Response:
    """The computed hotspots as a GeoPackage download (in the store's projected CRS)."""
    body = hotspots_gpkg(computed.table, {**computed.metadata, "method": computed.parameters
                                          .get("method"), "parameters": computed.parameters},
                         crs=store.crs)
    name = download_name(place_name(store), computed.metadata, ".gpkg")
    headers = {**gpkg_response_headers(name), "X-Data-Version": version,
               "Cache-Control": "private, max-age=60"}
    return Response(body, media_type=GPKG_MEDIA_TYPE, headers=headers)


def _partner_gpkg(request: Request, store: Store, taxonomy: Taxonomy,
                  period: str | None) -> Response:
    """A partner's GeoPackage: the published product's hotspots that the partner reads as
    GeoJSON (the same checks: only period, from/to, priority, format), reprojected."""
    answer = partner_hotspots(request, store, taxonomy, period=period, wants_csv=False)
    if answer.status_code != 200:
        return answer
    geojson = bytes(answer.body)
    body = partner_gpkg(geojson, crs=store.crs)
    product = json.loads(geojson).get("metadata", {}).get("product", {})
    name = f"hotspots-{product.get('period', 'product')}-{product.get('priority', 'all')}.gpkg"
    headers = {**gpkg_response_headers(name), "Cache-Control": "private, max-age=86400"}
    return Response(body, media_type=GPKG_MEDIA_TYPE, headers=headers)


@router.get(
    "/v1/density",
    responses={200: {"content": {"application/json": {}, "image/png": {},
                                 "application/geo+json": {}}}},
)
async def density(
    request: Request,
    store: StoreDep,
    taxonomy: TaxonomyDep,
    q: HotspotQuery = Depends(),
    format: Literal["json", "png", "geojson"] = Query(
        "json", description="json: bounds and scale; png: the overlay (Web Mercator, bounds in "
        "X-Bounds); geojson: contour bands."),
    bands: int = Query(5, ge=1, le=20, description="Contour bands for geojson."),
) -> Response:
    """The kernel density surface (incidents per km2) of the selection: a PNG overlay with its
    bounds ([[south, west], [north, east]], WGS84), or GeoJSON contour bands."""
    computed, version = await computed_density(request, store, taxonomy, q)
    etag = _etag(version, q.key(), format, bands)
    headers = {"X-Data-Version": version, "Cache-Control": "private, max-age=60", "ETag": etag}
    if request.headers.get("if-none-match") == etag:  # the overlay the page already holds
        return Response(status_code=304, headers=headers)
    key = density_key(version, q)
    if format == "png":
        (s, w), (n, e) = computed.description["bounds"]
        headers["X-Bounds"] = f"{w},{s},{e},{n}"
        png = Response(computed.png, media_type="image/png", headers=headers)
        return remember(request, png, version=version, cache_key=key,
                        body=lambda result: result.png)
    if format == "geojson":
        limit = request.app.state.settings.max_hotspot_cells
        contours_key = bands_key(version, q, bands)
        body = await within(request, contours_key,
                            lambda _stop: density_bands_geojson(computed, bands, limit))
        contours = Response(body, media_type="application/geo+json", headers=headers)
        return remember(request, contours, version=version, cache_key=contours_key,
                        body=lambda result: result)
    description = dict(computed.description)
    description["png"] = f"{request.url.path}?{q.query_string(format='png')}"
    answer = JSONResponse(description, headers=headers)
    # the description is a few hundred bytes: the replay keeps it, while the cache holds the
    # surface it describes (the gate checks that before replaying)
    sent = bytes(answer.body)
    return remember(request, answer, version=version, cache_key=key,
                    body=lambda _result: sent)


async def _default_period(request: Request, store: IncidentStore, q: HotspotQuery) -> None:
    """Set ``q``'s period to the page's default when the address names none (``from`` and
    ``to`` both absent; given empty, they mean every incident)."""
    if "from" in request.query_params or "to" in request.query_params:
        return
    version = await run_in_threadpool(store.data_version)
    last = await request.app.state.cache.get(("latest-month", version),
                                             lambda: latest_complete_month(store))
    if last is None:
        return
    q.from_ = str(pd.Period(last, freq="M") - (PAGE_MONTHS - 1))
    q.to = str(last)


async def _map(request: Request, store: Store, taxonomy: Taxonomy, settings: Settings,
               q: HotspotQuery, download: bool) -> Response:
    await _default_period(request, store, q)
    try:
        computed, version = await computed_hotspots(request, store, taxonomy, q)
    except Unavailable as exc:
        if q.method != AUTO:
            raise
        return backtest_running_page(request, q, exc,
                                     await run_in_threadpool(page_nav, request, store, "map"))
    dens: DensityComputed | None = None
    if computed.info.get("incidents"):
        try:
            dens, _ = await computed_density(request, store, taxonomy, q)
        except (InvalidParameter, InvalidInput):
            dens = None  # no surface for this selection (e.g. one incident): hotspots still show
    path = request.url.path
    # the page's bytes change with every nonce and token mask; its tag is what it shows
    etag = page_etag(request, path, version, q.key(), download, page_tile_url(settings))
    if (same := not_modified(request, etag)) is not None:
        return same
    page = await request.app.state.cache.get(
        ("page", version, q.key(), path, download, page_tile_url(settings)),  # basemap added
        lambda: map_page(store, taxonomy, settings, q, computed, dens, path=path,
                         download=download))
    headers = {"X-Data-Version": version, "ETag": etag, "Cache-Control": "private, no-cache"}
    if not download:  # the bar holds the caller's own CSRF token: never in the cached page
        page = with_nav(page, await run_in_threadpool(page_nav, request, store, "map"))
    if download:
        name = download_name(await run_in_threadpool(place_name, store), computed.metadata,
                             ".html")
        headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return HTMLResponse(page, headers=headers)


@router.get("/v1/hotspots/map", response_class=HTMLResponse)
async def hotspot_map(
    request: Request, store: StoreDep, taxonomy: TaxonomyDep, settings: SettingsDep,
    q: HotspotQuery = Depends(),
    download: bool = Query(False, description="One self-contained file (assets inlined)."),
) -> Response:
    """The planner's map of the hotspots (an HTML page; ``download=1`` for a single file that
    opens from disk with no network)."""
    return await _map(request, store, taxonomy, settings, q, download)


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def planner(
    request: Request, store: StoreDep, taxonomy: TaxonomyDep, settings: SettingsDep,
    q: HotspotQuery = Depends(), download: bool = Query(False),
) -> Response:
    """The planner's page: the map of :func:`hotspot_map` at the root."""
    return await _map(request, store, taxonomy, settings, q, download)
