"""Patrol plans: create (or preview), copy, publish and read them (JSON, GeoJSON), and the
visits officers log against a plan (the pages are :mod:`api.routes.plan_pages`)."""

from __future__ import annotations

import copy
import hashlib
import json
import re
import threading
import uuid
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Body, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api.deps import StoreDep, TaxonomyDep
from api.errors import Conflict, InvalidInput, NotFound, ServiceError, clipped
from api.formats import ATTRIBUTION
from api.pages import caller, key_name
from api.services.exports import GPKG_MEDIA_TYPE, gpkg_response_headers, plan_gpkg
from api.services.hotspot_query import HotspotQuery, query_from_values
from api.services.hotspot_results import computed_hotspots
from api.services.patrol import PlanRequest, ShiftIn, make_plan
from api.services.stored_plans import (
    DRAFT_RESPONSES,
    listed_plans,
    new_links,
    plan_document,
    stored_plan,
)
from geodata.stores import IncidentStore, Store
from hotspot.dosage import patrol_dosage
from maps.plan_pages import plan_feature_collection

router = APIRouter(tags=["patrol plans"])


def _hotspot_query(values: dict[str, Any]) -> HotspotQuery:
    return query_from_values(values, field="hotspots")


class PlanCreate(PlanRequest):
    """A request for a shift's patrol plan, and whether to publish it at once."""

    published: bool = Field(False, description="Publish the plan at once (the Rural Crime "
                            "Team's field view shows only published plans); default: a draft, "
                            "published later with POST /v1/patrol-plans/{plan_id}/publish.")


def _plan_request(body: PlanRequest) -> PlanRequest:
    """The request as the planning sees it (without the publishing option)."""
    return PlanRequest.model_validate(body.model_dump(exclude={"published"}))


PREVIEWS_KEPT = 32
"""Previewed plans kept in memory (per process), so that saving a preview stores the plan the
planner saw (the routing search stops at a time limit, so planning again may differ a little)."""
_previews: OrderedDict[str, tuple[dict[str, Any], str]] = OrderedDict()
_previews_lock = threading.Lock()


def _preview_key(body: PlanRequest, store: IncidentStore) -> str:
    """The request and the data it is planned from: the same again means the same plan."""
    text = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{store.data_version()}\0{text}".encode()).hexdigest()


async def _compute(request: Request, body: PlanRequest, store: Store, taxonomy: Any, *,
                   keep: bool = False, reuse: bool = False) -> tuple[dict[str, Any], str]:
    """The plan document for ``body`` (not stored) and the data version it was made from.
    ``keep``: remember it (a preview); ``reuse``: take the remembered preview of the same
    request and data when there is one (a save after a preview)."""
    key = await run_in_threadpool(_preview_key, body, store) if keep or reuse else ""
    if reuse:
        with _previews_lock:
            kept = _previews.pop(key, None)
        if kept is not None:
            return copy.deepcopy(kept[0]), kept[1]
    document, version = await _planned(request, body, store, taxonomy)
    if keep:
        with _previews_lock:
            _previews[key] = (copy.deepcopy(document), version)
            while len(_previews) > PREVIEWS_KEPT:
                _previews.popitem(last=False)
    return document, version


async def _planned(request: Request, body: PlanRequest, store: Store,
                   taxonomy: Any) -> tuple[dict[str, Any], str]:
    q = _hotspot_query(body.hotspots)
    try:
        computed, version = await computed_hotspots(request, store, taxonomy, q)
    except ServiceError as exc:  # a hotspot parameter: named as the plan request names it
        if exc.field and not exc.field.startswith("hotspots."):
            exc.field = f"hotspots.{exc.field}"
        raise
    # the routing search runs up to its time limit: it counts against the analysis budget
    release = request.app.state.analysis_budget.admit(caller(request))
    try:
        plan = await run_in_threadpool(make_plan, store, taxonomy, body, computed.table)
    finally:
        release()
    document = plan.to_dict()
    document["hotspot_parameters"] = computed.parameters
    document["attribution"] = ATTRIBUTION
    return document, version


async def _create(request: Request, body: PlanRequest, store: Store, taxonomy: Any, *,
                  publish: bool) -> JSONResponse:
    document, version = await _compute(request, body, store, taxonomy, reuse=True)
    plan_id = uuid.uuid4().hex[:16]
    raw = body.model_dump(mode="json")
    created_by = await run_in_threadpool(key_name, store, caller(request))
    await run_in_threadpool(
        store.put_plan, plan_id, shift_start=document["shift"]["start"],
        shift_end=document["shift"]["end"], data_version=version, request=raw, plan=document,
        created_by=created_by,
        published_at=datetime.now(UTC).isoformat() if publish else None,
        links=new_links([r["label"] for r in document.get("routes", [])]))
    stored = await run_in_threadpool(stored_plan, store, plan_id)
    return JSONResponse(plan_document(stored), status_code=201,
                        headers={"Location": f"/v1/patrol-plans/{plan_id}"})


@router.post("/v1/patrol-plans", status_code=201,
             responses={201: {"description": "The plan, stored; Location names it."}})
async def create_plan(request: Request, body: Annotated[PlanCreate, Body()], store: StoreDep,
                      taxonomy: TaxonomyDep) -> JSONResponse:
    """Plan a shift's patrols over the hotspots of a selection and store the plan.

    The Rural Crime Team's vehicles go from their base over rural and heritage-site hotspots
    and back within the shift; town centre officers walk their town's town-centre hotspots
    in their peak hours, the busiest revisited at unpredictable gaps. Every stop has its
    arrival, start and departure; every hotspot left out says why. The plan is a draft (the
    field view does not show it to the Rural Crime Team) unless ``published`` is true.
    """
    return await _create(request, _plan_request(body), store, taxonomy, publish=body.published)


@router.post("/v1/patrol-plans/preview",
             responses={200: {"description": "The plan as it would be stored (no plan_id)."}})
async def preview_plan(request: Request, body: Annotated[PlanCreate, Body()], store: StoreDep,
                       taxonomy: TaxonomyDep) -> JSONResponse:
    """Plan a shift as ``POST /v1/patrol-plans`` does, without storing it: the plans page
    shows it on a map before the planner saves it (``published`` is ignored here). Saving
    the same request (while the data is unchanged) stores the plan previewed."""
    plain = _plan_request(body)
    document, version = await _compute(request, plain, store, taxonomy, keep=True)
    labels = [r["label"] for r in document.get("routes", [])]
    return JSONResponse({
        "plan_id": None, "name": plain.name, "data_version": version, "published": False,
        "published_at": None, **document, "request": plain.model_dump(mode="json"),
        "links": {"crews": {label: {"field": None, "short": None} for label in labels}}})


class CopyIn(BaseModel):
    """Another shift for the same request."""

    model_config = ConfigDict(extra="forbid")
    shift: ShiftIn
    name: str | None = Field(None, max_length=200, description="The copy's name; default: the "
                             "plan's own.")
    published: bool = Field(False, description="Publish the copy at once; default: a draft.")


@router.post("/v1/patrol-plans/{plan_id}/copy", status_code=201,
             responses={201: {"description": "The new plan, stored; Location names it."}})
async def copy_plan(plan_id: str, request: Request, body: CopyIn, store: StoreDep,
                    taxonomy: TaxonomyDep) -> JSONResponse:
    """Plan another shift with a stored plan's request (crews, bases, hotspots, dwell time),
    recomputed for the new shift and stored as a new plan (a draft unless ``published``)."""
    stored = await run_in_threadpool(stored_plan, store, plan_id)
    raw = {**stored["request"], "shift": body.shift.model_dump(mode="json")}
    if body.name is not None:
        raw["name"] = body.name
    raw.pop("published", None)
    try:
        again = PlanRequest.model_validate(raw)
    except ValidationError as exc:  # a request stored by an older version the API now refuses
        err = exc.errors()[0]
        where = ".".join(clipped(p, 40) for p in err["loc"])
        raise InvalidInput(f"the plan's request is no longer valid: {where}: {err['msg']}",
                           field=where) from None
    return await _create(request, again, store, taxonomy, publish=body.published)


@router.post("/v1/patrol-plans/{plan_id}/publish",
             responses={200: {"description": "The plan, published (publishing again keeps the "
                              "first time)."}})
def publish_plan(plan_id: str, store: StoreDep) -> JSONResponse:
    """Publish a plan: the Rural Crime Team's field view shows it from now on."""
    stored_plan(store, plan_id)
    store.publish_plan(plan_id, datetime.now(UTC).isoformat())
    return JSONResponse(plan_document(stored_plan(store, plan_id)))


@router.get("/v1/patrol-plans")
def list_plans(request: Request, store: StoreDep,
               limit: int = Query(50, ge=1, le=500)) -> list[dict[str, Any]]:
    """The most recent plans, newest first (with their totals, name, who made them, the
    visits logged so far and whether they are published; the Rural Crime Team sees only
    published plans)."""
    return listed_plans(request, store, limit)


@router.get("/v1/patrol-plans/{plan_id}",
            responses={200: {"content": {"application/json": {}, "application/geo+json": {},
                                         GPKG_MEDIA_TYPE: {}}},
                       **DRAFT_RESPONSES})
def get_plan(plan_id: str, request: Request, store: StoreDep,
             format: str | None = Query(None, pattern="^(json|geojson|gpkg)$",
                                        description="json (default), geojson, or gpkg (a "
                                        "GeoPackage in the store's CRS: plan_routes, "
                                        "plan_stops, plan_left_out)")) -> Response:
    """A plan as JSON, or as GeoJSON (routes, stops, bases, hotspots left out) with
    ``format=geojson`` or ``Accept: application/geo+json``, or as a GeoPackage with
    ``format=gpkg`` (the same features in the store's projected CRS, EPSG:27700 by default)."""
    document = plan_document(stored_plan(store, plan_id, request))
    if format == "gpkg":
        body = plan_gpkg(document, plan_feature_collection(document), crs=store.crs)
        return Response(body, media_type=GPKG_MEDIA_TYPE,
                        headers=gpkg_response_headers(f"patrol-plan-{plan_id}.gpkg"))
    accept = request.headers.get("accept", "")
    if format == "geojson" or (format is None and "application/geo+json" in accept):
        return JSONResponse(plan_feature_collection(document),
                            media_type="application/geo+json")
    return JSONResponse(document)


class VisitIn(BaseModel):
    """A stop marked visited on an officer's device."""

    model_config = ConfigDict(extra="forbid")
    visit_id: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$",
                          description="Made by the device (a UUID): a visit sent twice is "
                          "stored once.")
    stop_id: str = Field(min_length=1, max_length=300)
    visited_at: datetime
    note: str = Field("", max_length=2000)
    officer: str = Field("", max_length=100, description="The officer's name (optional).")
    ended_at: datetime | None = Field(None, description="When the dwell at the stop ended "
                                      "(optional; after visited_at).")


def _visit_time(value: datetime, zone: ZoneInfo, field: str) -> datetime:
    """A visit's time in UTC (a time without an offset is local time in ``zone``); 422 naming
    ``field`` for one that UTC cannot hold (years 1 and 9999 with an offset)."""
    try:
        return (value if value.tzinfo else value.replace(tzinfo=zone)).astimezone(UTC)
    except OverflowError:
        raise InvalidInput(f"{field} is out of range: give the time of the visit",
                           field=field) from None


@router.post("/v1/patrol-plans/{plan_id}/visits", status_code=201,
             responses={200: {"description": "Already stored (a retry): the stored visit."},
                        201: {"description": "Stored."},
                        409: {"description": "That visit id was used for another stop."}})
def add_visit(plan_id: str, visit: VisitIn, request: Request, store: StoreDep) -> JSONResponse:
    """Log a visit to a stop of the plan; idempotent by ``visit_id``."""
    stored = stored_plan(store, plan_id, request)
    stops = {s["stop_id"]: s for r in stored["plan"]["routes"] for s in r["stops"]
             if "stop_id" in s}
    stop = stops.get(visit.stop_id)
    if stop is None:
        raise InvalidInput(f"plan {plan_id} has no stop {visit.stop_id!r}", field="stop_id")
    zone = ZoneInfo(store.timezone)
    when = _visit_time(visit.visited_at, zone, "visited_at")
    ended = visit.ended_at
    if ended is not None:
        ended = _visit_time(ended, zone, "ended_at")
        if ended < when:
            raise InvalidInput("ended_at is before visited_at: the dwell ends after it starts",
                               field="ended_at")
    record, created = store.add_visit({
        "visit_id": visit.visit_id, "plan_id": plan_id, "stop_id": visit.stop_id,
        "hotspot_id": stop.get("hotspot_id"), "visited_at": when.isoformat(),
        "note": visit.note, "officer": visit.officer.strip(),
        "ended_at": ended.isoformat() if ended is not None else None})
    if record["plan_id"] != plan_id or record["stop_id"] != visit.stop_id:
        raise Conflict(f"visit id {visit.visit_id} was already used for another stop",
                       field="visit_id")
    return JSONResponse(record, status_code=201 if created else 200)


@router.get("/v1/patrol-plans/{plan_id}/visits", responses={**DRAFT_RESPONSES})
def list_visits(plan_id: str, request: Request, store: StoreDep) -> dict[str, Any]:
    """The visits logged against a plan, each stop's visits, and the patrol dosage delivered
    against the plan (planned visits and minutes against those logged, per hotspot, crew and
    team, and the hotspots never visited: :func:`hotspot.dosage.patrol_dosage`)."""
    stored = stored_plan(store, plan_id, request)
    visits = store.plan_visits(plan_id)
    done: dict[str, int] = {}
    for v in visits:
        done[v["stop_id"]] = done.get(v["stop_id"], 0) + 1
    planned = sum(1 for r in stored["plan"]["routes"] for s in r["stops"] if "stop_id" in s)
    return {"plan_id": plan_id, "visits": visits, "stops_planned": planned,
            "stops_visited": len(done), "by_stop": done,
            "dosage": patrol_dosage(stored["plan"], visits)}


_VISIT_ID = re.compile(r"^[A-Za-z0-9_.:-]{8,64}$")


@router.delete("/v1/patrol-plans/{plan_id}/visits/{visit_id}",
               responses={200: {"description": "Cancelled: the visit removed."},
                          404: {"description": "No such plan, or the plan has no such visit "
                                               "(already cancelled)."}})
def cancel_visit(plan_id: str, visit_id: str, request: Request,
                 store: StoreDep) -> dict[str, Any]:
    """Cancel a visit: an officer's undo of a stop marked visited by mistake (the field view
    offers it for a minute). The visit is removed from the plan's visits; the audit log keeps
    who cancelled it and what it was (stop, time, officer). A second cancellation of the same
    visit is a 404, which the field view takes as done."""
    stored_plan(store, plan_id, request)
    if not _VISIT_ID.match(visit_id):
        raise InvalidInput("a visit id is 8 to 64 letters, digits or _.:-", field="visit_id")
    removed = store.cancel_visit(plan_id, visit_id)
    if removed is None:
        raise NotFound(f"plan {plan_id} has no visit {visit_id}", field="visit_id")
    who = getattr(request.state, "principal", None)
    store.audit(key_id=who.key_id if who else None, role=who.role if who else None,
                action="cancel visit", path=request.url.path,
                filter={k: removed.get(k) for k in ("plan_id", "visit_id", "stop_id",
                                                    "visited_at", "ended_at", "officer")},
                rows=1)
    return {"plan_id": plan_id, "cancelled": removed}


