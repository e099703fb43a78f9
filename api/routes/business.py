"""Business reports (the retail partnership, :mod:`api.services.business`): a partner submits
and reads back its own; analysts read them all, apart from police-recorded crime. And the
partners' form page."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from api.access import Principal
from api.deps import SettingsDep, StoreDep
from api.errors import Unauthorized, UnsupportedMediaType
from api.pages import caller, key_name, page_nav
from api.services.business import (
    BUSINESS_MAX,
    DESCRIPTION_MAX,
    LIST_MAX,
    MAX_VALUE_PENCE,
    SOURCE_NOTE,
    TYPES,
    as_geojson,
    check_daily_cap,
    check_submission_rate,
    example_place,
    is_staff,
    listing,
    one_report,
    submit,
)
from api.services.selection import period_bound
from maps.business_form import business_form_page

router = APIRouter(tags=["business reports"])


def _who(request: Request) -> Principal:
    who = caller(request)
    if who is None:  # the gate lets no one here without a key or session
        raise Unauthorized()
    return who


def _is_json(content_type: str) -> bool:
    """Whether a Content-Type header names JSON (``application/json`` or ``.../...+json``)."""
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind == "application/json" or (kind.startswith("application/")
                                          and kind.endswith("+json"))


def submission_slot(request: Request, store: StoreDep, settings: SettingsDep) -> Principal:
    """The caller, once its body is declared JSON (415 otherwise), it has stored fewer than
    ``HOTSPOT_BUSINESS_REPORTS_PER_DAY`` reports today and has a submission left this hour
    (429 otherwise); runs before the body is validated, so refused bodies count too."""
    who = _who(request)
    content_type = request.headers.get("content-type", "")
    if not _is_json(content_type):
        raise UnsupportedMediaType(
            "send the report as JSON (Content-Type: application/json), not "
            f"{content_type[:60] or 'no content type'}", field="content-type")
    check_daily_cap(store, settings, who.key_id)
    check_submission_rate(request.app.state, settings, who.key_id)
    return who


class PlaceIn(BaseModel):
    """Where it happened: exactly one of lon and lat, x and y, or a grid reference."""

    model_config = ConfigDict(extra="forbid")
    lon: float | None = Field(None, ge=-180, le=180, allow_inf_nan=False,
                              description="WGS84 longitude, degrees.")
    lat: float | None = Field(None, ge=-90, le=90, allow_inf_nan=False,
                              description="WGS84 latitude, degrees.")
    x: float | None = Field(None, ge=-1e8, le=1e8, allow_inf_nan=False,
                            description="Easting in the force CRS, metres.")
    y: float | None = Field(None, ge=-1e8, le=1e8, allow_inf_nan=False,
                            description="Northing in the force CRS, metres.")
    grid_ref: str | None = Field(None, max_length=40, description="An OS grid reference, "
                                 "e.g. 'SE 1234 5678' (the centre of the square it names).")


class BusinessReportIn(BaseModel):
    """One incident a business reports."""

    model_config = ConfigDict(extra="forbid")
    occurred_at: datetime = Field(description="When it happened (ISO 8601; without an offset: "
                                  "the force's local time, and a local time the clocks skip "
                                  "or show twice needs its offset). Not in the future, at "
                                  "most a year ago.", examples=["2026-11-28T14:30"])
    place: PlaceIn
    type: Literal[tuple(TYPES)] = Field(  # type: ignore[valid-type]
        description="What happened: " + ", ".join(f"{k} ({t.label})" for k, t in TYPES.items()))
    value_pence: StrictInt | None = Field(
        None, ge=0, le=MAX_VALUE_PENCE,
        description="The value lost or damaged, whole pence (optional; a JSON number, never "
        "text or true/false).")
    business: str = Field("", max_length=BUSINESS_MAX, description="The business's name.")
    description: str = Field("", max_length=DESCRIPTION_MAX,
                             description="What happened, in words (no names of people).")


Slot = Annotated[Principal, Depends(submission_slot)]


@router.post("/v1/business-reports", status_code=201, responses={
    201: {"description": "Stored; Location names it."},
    415: {"description": "The body is not declared JSON (Content-Type: application/json)."},
    422: {"description": "A field is not valid (named), or the place is outside the force "
                         "area."},
    429: {"description": "Too many reports from this key (HOTSPOT_BUSINESS_REPORTS_PER_HOUR, "
                         "HOTSPOT_BUSINESS_REPORTS_PER_DAY)."}})
def create_business_report(body: BusinessReportIn, who: Slot, request: Request,
                           store: StoreDep, settings: SettingsDep) -> JSONResponse:
    """Submit an incident reported by a business (the retail partnership): when, where, what
    type, and optionally its value, the business and a description. It is stored as its own
    source: never an incident, never in hotspots or police counts."""
    record = submit(store, settings, who, {**body.model_dump(), "place": body.place.model_dump()})
    store.audit(key_id=who.key_id, role=who.role, action="business_report_submit",
                path=request.url.path, filter={"report_id": record["report_id"]}, rows=1)
    return JSONResponse(record, status_code=201,
                        headers={"Location": f"/v1/business-reports/{record['report_id']}"})


@router.get("/v1/business-reports", responses={
    200: {"content": {"application/json": {}, "application/geo+json": {}},
          "description": "The reports and how many there are."}})
def list_business_reports(
    request: Request, store: StoreDep,
    from_: str | None = Query(None, alias="from", description="First day or month (local "
                              "time): YYYY-MM, YYYY-MM-DD or an ISO date-time."),
    to: str | None = Query(None, description="Last day or month, included (YYYY-MM, "
                           "YYYY-MM-DD), or an ISO date-time (excluded)."),
    limit: int = Query(1000, ge=1, le=LIST_MAX),
    format: Literal["json", "geojson"] = Query("json"),
) -> JSONResponse:
    """Business reports that occurred in the period, latest first: a partner's own only;
    analysts see every partner's (the planner's map draws them as their own layer). They are
    not police-recorded crime and are never counted with it."""
    who = _who(request)
    start = period_bound(from_, store.timezone, end=False, field="from")
    end = period_bound(to, store.timezone, end=True, field="to")
    answer = listing(store, who, start=start, end=end, limit=limit)
    if answer["scope"] == "all":  # staff reading every business's reports: in the audit log
        store.audit(key_id=who.key_id, role=who.role, action="business_reports_read",
                    path=request.url.path, filter={"from": from_, "to": to, "format": format},
                    rows=len(answer["reports"]))
    if format == "geojson":
        return JSONResponse(as_geojson(answer), media_type="application/geo+json")
    return JSONResponse(answer)


@router.get("/v1/business-reports/{report_id}", responses={
    404: {"description": "No such report, or not one this key sent (partners read their own "
                         "only)."}})
def get_business_report(report_id: str, request: Request, store: StoreDep) -> dict[str, Any]:
    """One business report: a partner's own, or any for analysts (whose reading is written to
    the audit log, as their listing is)."""
    who = _who(request)
    record = one_report(store, who, report_id)
    if is_staff(who):
        store.audit(key_id=who.key_id, role=who.role, action="business_report_read",
                    path=request.url.path, filter={"report_id": record["report_id"]}, rows=1)
    return record


@router.get("/report-incident", response_class=HTMLResponse, include_in_schema=False)
async def business_form(request: Request, store: StoreDep) -> HTMLResponse:
    """The partners' form: report an incident at a business, and the list of their own
    reports (the page posts to ``POST /v1/business-reports`` with the session's CSRF token)."""
    who = _who(request)
    answer = await run_in_threadpool(listing, store, who, start=None, end=None, limit=200)
    nav = await run_in_threadpool(page_nav, request, store, "business")
    name = await run_in_threadpool(key_name, store, who)
    page = business_form_page(
        answer["reports"], count=answer["count"], types=[(k, t.label) for k, t in TYPES.items()],
        nav=nav, note=SOURCE_NOTE, who=name, all_reports=answer["scope"] == "all",
        timezone=store.timezone, crs=store.crs, business_max=BUSINESS_MAX,
        description_max=DESCRIPTION_MAX, example=await run_in_threadpool(example_place, store))
    if answer["scope"] == "all":  # staff reading every business's reports: in the audit log
        await run_in_threadpool(
            store.audit, key_id=who.key_id, role=who.role, action="business_reports_read",
            path=request.url.path, filter={"page": "report-incident"},
            rows=len(answer["reports"]))
    return HTMLResponse(page, headers={"Cache-Control": "private, no-store"})
