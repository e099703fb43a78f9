"""Published products (see :mod:`api.services.products`): publish one (analysts), list and read them
(every role; what partners read instead of hotspot queries)."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from api.access import STAFF
from api.csrf import masked, session_csrf_token
from api.deps import SettingsDep, StoreDep, TaxonomyDep
from api.errors import BadRequest
from api.pages import key_name
from api.services.hotspots import ATTRIBUTION, ParameterError
from api.services.products import (
    ALL,
    KIND,
    Period,
    groups_of,
    hotspots_csv,
    hotspots_geojson,
    parse_period,
    period_of_range,
    privacy_note,
    publish,
    squares_csv,
    squares_geojson,
)
from geodata.stores import Store
from maps.products import products_page

router = APIRouter(tags=["published products"])

PARTNER_PARAMETERS = frozenset({"period", "from", "to", "priority", "format"})
"""What a partner may send to ``GET /v1/hotspots``: which product, which priority's hotspots,
which format. Anything else would make an answer of its own (a query), so it is refused."""
_IMMUTABLE = "private, max-age=86400"


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


def period_of(text: str, store: Store, field: str = "period") -> Period:
    """The whole month or quarter ``text`` names, in the store's time zone; 422 naming
    ``field`` for anything else."""
    try:
        return parse_period(text, store.timezone, field=field)
    except ParameterError as exc:
        raise BadRequest(str(exc), field=exc.field) from None


def _stored(store: Store, key: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(listing, document) of the product of ``key`` (the latest when None); 404 if none."""
    if key is None:
        latest = store.list_products(KIND, limit=1)
        if not latest:
            raise BadRequest("no product has been published yet: an analyst publishes a whole "
                             "month or quarter with `hotspot publish 2024-06` or POST "
                             "/v1/products", field="period", status=404)
        key = latest[0]["period"]
    found = store.product(KIND, key)
    if found is None:
        raise BadRequest(f"no product is published for {key}; GET /v1/products lists those "
                         "that are", field="period", status=404)
    return found[0], json.loads(found[1])


def _served(request: Request, body: bytes, media_type: str, *, filename: str | None = None,
            ) -> Response:
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": _IMMUTABLE, "Vary": "Accept"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    if filename:
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return Response(body, media_type=media_type, headers=headers)


def _wants_csv(request: Request, format: str | None) -> bool:
    return format == "csv" or (format is None and "text/csv" in
                               request.headers.get("accept", ""))


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
    try:
        record = await run_in_threadpool(
            publish, store, taxonomy, period, grid_m=settings.partner_grid_m,
            min_count=settings.partner_min_incidents)
    except ParameterError as exc:
        raise BadRequest(str(exc), field=exc.field) from None
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
    _record, document = _stored(store, key)
    if _wants_csv(request, format):
        return _served(request, squares_csv(document), "text/csv; charset=utf-8",
                       filename=f"squares-{key}.csv")
    return _served(request, squares_geojson(document), "application/geo+json")


def partner_hotspots(request: Request, store: Store, taxonomy: Any, *, period: str | None,
                     wants_csv: bool) -> Response:
    """What ``GET /v1/hotspots`` answers a partner: the hotspots of a published product.

    Raises
    ------
    BadRequest
        422 naming a parameter a partner may not choose, a period that is not a whole month or
        quarter, or an unknown priority; 404 if the product is not published.
    """
    params = request.query_params
    other = sorted(set(params) - PARTNER_PARAMETERS)
    if other:
        raise BadRequest(f"{other[0]} cannot be chosen by a partner: partners read published "
                         "products (whole months or quarters, the force grid, fixed parameters); "
                         "give period=YYYY-MM or YYYY-Qn and optionally priority", field=other[0])
    key: str | None = None
    if period is not None:
        if "from" in params or "to" in params:
            raise BadRequest("give period, or from and to, not both", field="period")
        key = period_of(period, store).key
    elif "from" in params or "to" in params:
        try:
            key = period_of_range(params.get("from"), params.get("to"), store.timezone).key
        except ParameterError as exc:
            raise BadRequest(str(exc), field=exc.field) from None
    group = params.get("priority") or ALL
    groups = groups_of(taxonomy)
    if group not in groups:
        raise BadRequest(f"unknown priority {group!r}; a product has {', '.join(groups)}",
                         field="priority")
    _record, document = _stored(store, key)
    if group not in document["hotspots"]:
        raise BadRequest(f"the product for {document['period']} has no priority {group!r}",
                         field="priority", status=404)
    if wants_csv:
        return _served(request, hotspots_csv(document, group), "text/csv; charset=utf-8",
                       filename=f"hotspots-{document['period']}-{group}.csv")
    return _served(request, hotspots_geojson(document, group), "application/geo+json")


@router.get("/products", response_class=HTMLResponse, include_in_schema=False)
def products_html(request: Request, store: StoreDep, taxonomy: TaxonomyDep,
                  settings: SettingsDep) -> HTMLResponse:
    """The published products page (where partners land after signing in): every product
    with its downloads, and the busiest hotspots of the latest."""
    listed = store.list_products(KIND)
    hotspots: list[dict[str, Any]] = []
    if listed:
        _record, document = _stored(store, listed[0]["period"])
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
        role=who.role if who is not None else None, who=key_name(store, who) or None)
    return HTMLResponse(page, headers={"Cache-Control": "private, no-cache"})
