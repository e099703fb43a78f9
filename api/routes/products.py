"""Published products (see :mod:`api.services.products`): publish one (analysts), list and read them
(every role; what partners read instead of hotspot queries)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from api.access import STAFF
from api.csrf import masked, session_csrf_token
from api.deps import SettingsDep, StoreDep, TaxonomyDep
from api.formats import ATTRIBUTION
from api.pages import key_name
from api.services.advice import product_page_advice
from api.services.products import (
    ALL,
    KIND,
    privacy_note,
    publish,
    squares_csv,
    squares_geojson,
)
from api.services.published import period_of, served, stored_product, wants_csv
from maps.products import products_page

router = APIRouter(tags=["published products"])


class PublishIn(BaseModel):
    """A product to publish."""

    model_config = ConfigDict(extra="forbid")
    period: str = Field(max_length=10, description="A whole month (YYYY-MM) or "
                        "quarter (YYYY-Qn), local time, that has ended and whose data is in.",
                        examples=["2024-06", "2024-Q2"])


def _listing(record: dict[str, Any]) -> dict[str, Any]:
    period = record["period"]
    return {**record, "links": {
        "self": f"/v1/products/{period}",
        "squares_csv": f"/v1/products/{period}?format=csv",
        "hotspots": f"/v1/hotspots?period={period}",
        "hotspots_csv": f"/v1/hotspots?period={period}&format=csv"}}


@router.post("/v1/products", status_code=201, responses={
    201: {"description": "Published; Location names it."},
    409: {"description": "A product for this or an overlapping period is already published "
                         "(products never overlap and never change)."}})
async def create_product(body: PublishIn, store: StoreDep, taxonomy: TaxonomyDep,
                         settings: SettingsDep) -> JSONResponse:
    """Publish the partners' product of a whole month or quarter that has ended: counts on the
    force grid with small counts held back, and the hotspots made of its squares. A product is
    never changed, and products never overlap in time: publish once the period's data is in."""
    period = period_of(body.period, store)
    record = await run_in_threadpool(
        publish, store, taxonomy, period, grid_m=settings.partner_grid_m,
        min_count=settings.partner_min_incidents)
    return JSONResponse(_listing(record), status_code=201,
                        headers={"Location": f"/v1/products/{period.key}"})


@router.get("/v1/products")
def list_products(request: Request, store: StoreDep,
                  limit: int = Query(120, ge=1, le=500)) -> list[dict[str, Any]]:
    """The published products, latest period first (what each holds, not the products; the
    store's data version at publication for staff only)."""
    who = getattr(request.state, "principal", None)
    staff = who is not None and who.role in STAFF
    return [_listing(r if staff else {k: v for k, v in r.items() if k != "data_version"})
            for r in store.list_products(KIND, limit)]


@router.get("/v1/products/{period}", responses={
    200: {"content": {"application/geo+json": {}, "text/csv": {}},
          "description": "The product's grid squares and their published counts."},
    404: {"description": "No product is published for that period."}})
def get_product(period: str, request: Request, store: StoreDep,
                format: Literal["geojson", "csv"] | None = Query(
                    None, description="Instead of the Accept header.")) -> Response:
    """A published product's grid squares (WGS84 polygons) with their counts, in total and per
    priority (null: held back), as GeoJSON or CSV; the same bytes for everyone who asks."""
    key = period_of(period, store).key
    _record, document = stored_product(store, key)
    if wants_csv(request, format):
        return served(request, squares_csv(document), "text/csv; charset=utf-8",
                      filename=f"squares-{key}.csv")
    return served(request, squares_geojson(document), "application/geo+json")


@router.get("/products", response_class=HTMLResponse, include_in_schema=False)
def products_html(request: Request, store: StoreDep, taxonomy: TaxonomyDep,
                  settings: SettingsDep) -> HTMLResponse:
    """The published products page (where partners land after signing in): every product
    with its downloads, and the busiest hotspots of the latest with their prevention advice
    and printable leaflets."""
    listed = store.list_products(KIND)
    hotspots: list[dict[str, Any]] = []
    advice = request.app.state.advice
    if listed:
        _record, document = stored_product(store, listed[0]["period"])
        hotspots = [f["properties"] for f in document["hotspots"][ALL][:15]]
    labels = {k: v.split(":")[0] for k, v in taxonomy.priorities.items()}
    who = getattr(request.state, "principal", None)
    session_id = who.session_id if who is not None and who.via == "session" else None
    page = products_page(
        listed, hotspots, latest=listed[0]["period"] if listed else None, labels=labels,
        # the note is written for the JSON, where a held-back count is null; a page says it
        note=privacy_note(settings.partner_min_incidents, settings.partner_grid_m)["note"]
        .replace("held back (null)", "held back (not shown)"),
        grid_m=settings.partner_grid_m, attribution=ATTRIBUTION,
        signed_in=session_id is not None,
        csrf=masked(session_csrf_token(store, session_id)) if session_id else None,
        role=who.role if who is not None else None, who=key_name(store, who) or None,
        # added as the page is made, from the stored hotspot's mix and class: never stored
        advice=[product_page_advice(h, advice) for h in hotspots],
        advice_note=advice.note if advice.from_memory else "")
    return HTMLResponse(page, headers={"Cache-Control": "private, no-cache"})
