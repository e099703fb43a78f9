"""Cross-border hotspots and the border products: ``GET /v1/cross-border`` (staff: found on
the force's and its neighbours' incidents together, see :mod:`api.services.cross_border`) and
``/v1/border-products`` (the partner-safe export for a neighbouring force, see
:mod:`api.services.border_products`)."""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from api.access import STAFF
from api.deps import SettingsDep, StoreDep, TaxonomyDep
from api.errors import InvalidInput
from api.limits import WorkLimits, check_bounds
from api.pages import caller
from api.services.border_products import (
    KIND,
    border_csv,
    border_geojson,
    publish_border,
    stored_border,
)
from api.services.cached import within
from api.services.cross_border import (
    DEFAULT_DISTANCE_M,
    MAX_DISTANCE_M,
    CrossBorderQuery,
    as_bytes,
    cross_border_hotspots,
)
from api.services.hotspot_query import BorderQuery, hotspot_query_of, selection_of
from api.services.hotspots import AnalysisOptions
from api.services.jobs import accepted, job_owner, jobs_of
from api.services.published import period_of, served, wants_csv, within_period

router = APIRouter(tags=["cross-border"])

_PERIOD = Query(None, max_length=10, description="A whole month (YYYY-MM) or quarter "
                "(YYYY-Qn) instead of from and to.")
_DISTANCE = Query(DEFAULT_DISTANCE_M, gt=0, le=MAX_DISTANCE_M,
                  description="How near the force boundary, metres (either side).")


@router.get("/v1/cross-border", responses={
    200: {"content": {"application/geo+json": {}},
          "description": "The hotspots near the force boundary, with counts by source."}})
async def cross_border(
    request: Request,
    store: StoreDep,
    taxonomy: TaxonomyDep,
    border: BorderQuery = Depends(),
    period: str | None = _PERIOD,
    distance_m: float = _DISTANCE,
) -> Response:
    """The hotspots within ``distance_m`` of the force boundary, found on the force's
    incidents and its neighbours' (loaded with ``hotspot ingest --neighbour``) together, so
    that a hotspot spanning the border is found whole. Each hotspot has the properties of
    ``GET /v1/hotspots`` and its incidents by source (``sources``: "force" and each
    neighbour's label; they add up to ``incidents``), ``share_outside_force`` and
    ``spans_border``. The method and selection parameters are those of ``GET /v1/hotspots``
    (not ``method=auto``), except ``distance_m``: the band here (Gi* takes its default
    neighbourhood, or ``k``)."""
    q = hotspot_query_of(border)
    within_period(q, period, store)
    params = q.parameters()
    selection = await run_in_threadpool(selection_of, q, store)
    options = AnalysisOptions(
        heritage_distance_m=q.heritage_distance_m,
        heritage_designations=tuple(q.heritage_designation) if q.heritage_designation else None,
        weighted=q.weighted, parameters=params, harm=request.app.state.harm)
    query = CrossBorderQuery(selection=selection, distance_m=distance_m, method=q.method,
                             options=options)
    versions = await run_in_threadpool(
        lambda: (store.data_version(), store.neighbour_version()))
    limits = WorkLimits.from_settings(request.app.state.settings)
    body = await within(
        request, ("cross-border", *versions, q.key(), distance_m),
        lambda stop: as_bytes(cross_border_hotspots(store, taxonomy, query, limits=limits,
                                                    should_stop=stop)))
    etag = '"' + hashlib.sha256(repr((versions, q.key(), distance_m)).encode()).hexdigest()[:32] \
        + '"'
    headers = {"ETag": etag, "X-Data-Version": versions[0],
               "Cache-Control": "private, max-age=60"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/geo+json", headers=headers)


@router.post("/v1/cross-border", status_code=202, responses={
    202: {"description": "The analysis is running as a job; Location is its status "
                         "(GET /v1/jobs/{job_id}), its GeoJSON at /v1/jobs/{job_id}/result "
                         "once finished (what GET /v1/cross-border answers)."},
    429: {"description": "This key has as many jobs queued or running as a key may have."}})
async def start_cross_border(
    request: Request,
    store: StoreDep,
    taxonomy: TaxonomyDep,
    border: BorderQuery = Depends(),
    period: str | None = _PERIOD,
    distance_m: float = _DISTANCE,
) -> JSONResponse:
    """The analysis of ``GET /v1/cross-border`` (the same parameters) as a job, for the force
    and its neighbours' whole regions: 202 at once, the hotspots from the job once it has
    finished. The parameters are checked first (a bad one is a 422 now, not a failed job)."""
    q = hotspot_query_of(border)
    within_period(q, period, store)
    if q.method == "auto":
        raise InvalidInput("method auto chooses from a backtest of the force's own incidents; "
                           "across the border choose kde, dbscan or gistar", "method")
    params = q.parameters()
    check_bounds(params)
    # a bad period, category, priority or box: 422 now
    await run_in_threadpool(lambda: selection_of(q, store).incident_filter(taxonomy))
    request.app.state.analysis_budget.count(caller(request))  # in the key's analyses a minute
    jobs = jobs_of(request)
    job = await run_in_threadpool(
        lambda: jobs.submit("cross_border", {"query": asdict(q), "distance_m": distance_m},
                            owner=job_owner(request),
                            summary={"method": q.method, "distance_m": distance_m,
                                     "from": q.from_, "to": q.to, "priority": q.priority}))
    return accepted(job)


class BorderPublishIn(BaseModel):
    """A border product to publish."""

    model_config = ConfigDict(extra="forbid")
    period: str = Field(max_length=10, description="A whole month (YYYY-MM) or quarter "
                        "(YYYY-Qn) whose partner product is published.",
                        examples=["2024-06", "2024-Q2"])


def _listing(record: dict[str, Any]) -> dict[str, Any]:
    period = record["period"]
    return {**record, "links": {
        "self": f"/v1/border-products/{period}",
        "geojson": f"/v1/border-products/{period}?format=geojson",
        "csv": f"/v1/border-products/{period}?format=csv"}}


@router.post("/v1/border-products", status_code=201, responses={
    201: {"description": "Published; Location names it."},
    409: {"description": "A border product for this or an overlapping period is already "
                         "published (they never overlap and never change)."}})
async def create_border_product(body: BorderPublishIn, store: StoreDep, taxonomy: TaxonomyDep,
                                settings: SettingsDep) -> JSONResponse:
    """Publish the border product of a whole month or quarter, for the neighbouring forces:
    the partner product's squares near the border (the very counts already published) beside
    each neighbour's counts on the same grid with the same suppression, and the hotspots of
    those squares. Never changed, never overlapping; the period's partner product must be
    published first."""
    period = period_of(body.period, store)
    record = await run_in_threadpool(
        publish_border, store, taxonomy, period, grid_m=settings.partner_grid_m,
        min_count=settings.partner_min_incidents)
    return JSONResponse(_listing(record), status_code=201,
                        headers={"Location": f"/v1/border-products/{period.key}"})


@router.get("/v1/border-products")
def list_border_products(request: Request, store: StoreDep,
                         limit: int = Query(120, ge=1, le=500)) -> list[dict[str, Any]]:
    """The published border products, latest period first (what each holds, not the products;
    the store's data versions at publication for staff only)."""
    who = getattr(request.state, "principal", None)
    staff = who is not None and who.role in STAFF
    hidden = ("data_version",)
    return [_listing(r if staff else {k: v for k, v in r.items() if k not in hidden})
            for r in store.list_products(KIND, limit)]


@router.get("/v1/border-products/{period}", responses={
    200: {"content": {"application/json": {}, "application/geo+json": {}, "text/csv": {}},
          "description": "The border product: its squares' counts by source and its hotspots."},
    404: {"description": "No border product is published for that period."}})
def get_border_product(period: str, request: Request, store: StoreDep,
                       format: Literal["json", "geojson", "csv"] | None = Query(
                           None, description="json (the whole product, the default), geojson "
                           "(its hotspots) or csv (its squares); else the Accept header.")
                       ) -> Response:
    """A published border product, the same bytes for everyone who asks: JSON (the whole
    document), GeoJSON (its hotspots, WGS84) or CSV (its squares and their counts by source,
    empty: not published)."""
    key = period_of(period, store).key
    text, document = stored_border(store, key)
    if wants_csv(request, format):
        return served(request, border_csv(document), "text/csv; charset=utf-8",
                      filename=f"border-{key}.csv")
    if format == "geojson" or (format is None and "application/geo+json" in
                               request.headers.get("accept", "")):
        return served(request, border_geojson(document), "application/geo+json")
    return served(request, text.encode(), "application/json")
