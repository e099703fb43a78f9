"""OGC API - Features at ``/ogc`` (see :mod:`api.services.ogc`): the landing page, conformance,
the OpenAPI 3.0 service description, the collections a caller may read, their features (paged,
filtered, in CRS84 or British National Grid) and their queryables."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from api.deps import StoreDep, TaxonomyDep
from api.errors import NotFound, clipped
from api.services import ogc
from api.services.ogc_filter import queryables_schema

router = APIRouter(prefix="/ogc", tags=["OGC API - Features"])

_CID = Path(..., max_length=120, description="A collection id from /ogc/collections.")
_JSON = "application/json"


def _json(body: Any, media_type: str = _JSON, headers: dict[str, str] | None = None
          ) -> JSONResponse:
    return JSONResponse(body, media_type=media_type, headers=headers)


@router.get("", name="ogc_landing", responses={200: {"content": {_JSON: {}}}})
async def landing(request: Request) -> JSONResponse:
    """The landing page: links to the service description, conformance and collections."""
    def link(rel: str, route: str, kind: str, title: str) -> dict[str, str]:
        return {"rel": rel, "type": kind, "title": title, "href": str(request.url_for(route))}

    return _json({
        "title": "Hotspot: OGC API - Features",
        "description": "Hotspots of saved presets, patrol plans, reference layers, incidents "
                       "(staff) and published products, for GIS desktops. Features in CRS84 "
                       "or EPSG:27700 (crs parameter).",
        "links": [
            link("self", "ogc_landing", _JSON, "This document"),
            link("service-desc", "ogc_api", ogc.OPENAPI_30, "The API definition (OpenAPI 3.0)"),
            {"rel": "service-doc", "type": "text/html", "title": "The API documentation",
             "href": str(request.base_url) + "docs"},
            link("conformance", "ogc_conformance", _JSON, "Conformance classes"),
            link("data", "ogc_collections", _JSON, "Collections"),
        ],
    })


@router.get("/conformance", name="ogc_conformance")
async def conformance() -> JSONResponse:
    """The conformance classes implemented (Features Part 1, 2 and 3; CQL2 text and JSON)."""
    return _json({"conformsTo": list(ogc.CONFORMANCE)})


@router.get("/api", name="ogc_api",
            responses={200: {"content": {ogc.OPENAPI_30: {}}}})
async def api_definition(request: Request) -> Response:
    """The ``/ogc`` part of the OpenAPI document as OpenAPI 3.0 (the service description
    GDAL and QGIS read)."""
    return _json(ogc.openapi_30(request.app.openapi()), media_type=ogc.OPENAPI_30)


@router.get("/collections", name="ogc_collections")
async def collections(request: Request, store: StoreDep, taxonomy: TaxonomyDep) -> JSONResponse:
    """The collections the caller may read (a partner: the published products' hotspots)."""
    def build() -> dict[str, Any]:
        extent = ogc.force_extent(store)
        storage = ogc.storage_crs(store)
        return {
            "links": [{"rel": "self", "type": _JSON, "title": "Collections",
                       "href": str(request.url_for("ogc_collections"))}],
            "collections": [ogc.collection_document(request, c, extent=extent, storage=storage,
                                                    store_crs=store.crs)
                            for c in ogc.collections_for(request, store, taxonomy)],
            "crs": list(ogc.SUPPORTED_CRS),
        }

    return _json(await run_in_threadpool(build))


@router.get("/collections/{collection_id}", name="ogc_collection")
async def collection(request: Request, store: StoreDep, taxonomy: TaxonomyDep,
                     collection_id: str = _CID) -> JSONResponse:
    """One collection's description; 404 if the caller may not read it."""
    def build() -> dict[str, Any]:
        c = ogc.collection_for(request, store, taxonomy, collection_id)
        return ogc.collection_document(request, c, extent=ogc.force_extent(store),
                                       storage=ogc.storage_crs(store), store_crs=store.crs)

    return _json(await run_in_threadpool(build))


@router.get("/collections/{collection_id}/queryables", name="ogc_queryables",
            responses={200: {"content": {"application/schema+json": {}}}})
async def queryables(request: Request, store: StoreDep, taxonomy: TaxonomyDep,
                     collection_id: str = _CID) -> JSONResponse:
    """The properties a filter may name (a JSON Schema, OGC API Features Part 3)."""
    c = await run_in_threadpool(ogc.collection_for, request, store, taxonomy, collection_id)
    own = str(request.url_for("ogc_queryables", collection_id=c.id))
    return _json(queryables_schema(c.queryables, id_url=own, title=c.title),
                 media_type="application/schema+json")


@router.get("/collections/{collection_id}/items", name="ogc_items",
            responses={200: {"content": {ogc.GEOJSON: {}},
                             "description": "A page of features (GeoJSON)"}})
async def items(
    request: Request, store: StoreDep, taxonomy: TaxonomyDep,
    collection_id: str = _CID,
    limit: int = Query(ogc.DEFAULT_LIMIT, ge=1,
                       description="Features a page (over HOTSPOT_MAX_PAGE_SIZE: that many)."),
    offset: int = Query(0, ge=0, le=ogc.MAX_OFFSET, description="Features skipped (paging: "
                        "follow the next link)."),
    bbox: str | None = Query(None, max_length=200, description="minx,miny,maxx,maxy in "
                             "bbox-crs (default CRS84 longitude, latitude)."),
    bbox_crs: str | None = Query(None, alias="bbox-crs", max_length=200,
                                 description="CRS of bbox: " + ", ".join(ogc.SUPPORTED_CRS)),
    datetime: str | None = Query(None, max_length=100, description="An RFC 3339 date-time, "
                                 "a date, or an interval a/b ('..' open)."),
    crs: str | None = Query(None, max_length=200, description="CRS of the answer: "
                            + ", ".join(ogc.SUPPORTED_CRS) + " (default CRS84)."),
    filter: str | None = Query(None, max_length=4096, description="A CQL2 filter over the "
                               "collection's queryables."),
    filter_lang: str | None = Query(None, alias="filter-lang", max_length=20,
                                    description="cql2-text (default) or cql2-json."),
    filter_crs: str | None = Query(None, alias="filter-crs", max_length=200,
                                   description="CRS of the filter's geometries (default "
                                   "CRS84)."),
) -> JSONResponse:
    """A page of the collection's features as GeoJSON in ``crs``, in a stable order, with
    numberMatched, numberReturned and a next link while more remain."""
    c = await run_in_threadpool(ogc.collection_for, request, store, taxonomy, collection_id)
    q = ogc.item_query(request, c, limit=limit, offset=offset, crs=crs, bbox=bbox,
                       bbox_crs=bbox_crs, datetime_=datetime, filter_=filter,
                       filter_lang=filter_lang, filter_crs=filter_crs,
                       max_limit=request.app.state.settings.max_page_size)
    features = await ogc.features_of(request, store, taxonomy, c, bbox=q.bbox,
                                     interval=q.interval)

    def build() -> dict[str, Any]:
        matched = ogc.select(features, c, q)
        return ogc.items_document(request, c, matched, features.properties, q)

    body = await run_in_threadpool(build)
    headers = ogc.content_crs(q.crs)
    if features.version:
        headers["X-Data-Version"] = features.version
    return _json(body, media_type=ogc.GEOJSON, headers=headers)


@router.get("/collections/{collection_id}/items/{feature_id}", name="ogc_item",
            responses={200: {"content": {ogc.GEOJSON: {}}, "description": "One feature"}})
async def item(
    request: Request, store: StoreDep, taxonomy: TaxonomyDep,
    collection_id: str = _CID,
    feature_id: str = Path(..., max_length=200, description="A feature id from /items."),
    crs: str | None = Query(None, max_length=200, description="CRS of the answer: "
                            + ", ".join(ogc.SUPPORTED_CRS) + " (default CRS84)."),
) -> JSONResponse:
    """One feature by its id, in ``crs``; 404 naming ``featureId`` if there is none."""
    c = await run_in_threadpool(ogc.collection_for, request, store, taxonomy, collection_id)
    out_crs = ogc.crs_uri(crs, "crs")
    features = await ogc.features_of(request, store, taxonomy, c)

    def build() -> dict[str, Any]:
        frame = features.frame
        one = frame.loc[frame["id"] == feature_id]
        if not len(one):
            raise NotFound(f"no feature {clipped(feature_id, 80)!r} in {c.id}",
                           field="featureId")
        feature = ogc.feature_dicts(one.iloc[:1], features.properties, out_crs)[0]
        feature["links"] = [
            {"rel": "self", "type": ogc.GEOJSON, "title": "This feature",
             "href": str(request.url)},
            {"rel": "collection", "type": _JSON, "title": c.title,
             "href": str(request.url_for("ogc_collection", collection_id=c.id))},
        ]
        return feature

    body = await run_in_threadpool(build)
    return _json(body, media_type=ogc.GEOJSON, headers=ogc.content_crs(out_crs))
