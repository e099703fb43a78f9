"""Patrol plans: create, read (JSON, GeoJSON), the planner's view, the printable briefing, the
Rural Crime Team's field view (works offline), and the visits officers log against a plan."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import re
import secrets
import threading
import uuid
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, get_type_hints
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Body, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic.fields import FieldInfo

from api.delivery import not_modified, page_etag
from api.deps import SettingsDep, StoreDep, TaxonomyDep
from api.errors import BadRequest, clipped
from api.pages import caller, key_name, page_nav, role_of
from api.routes.hotspots import HotspotQuery, computed_hotspots
from api.services.basemap import page_tile_url
from api.services.briefing import briefing_extras
from api.services.hotspots import ATTRIBUTION
from api.services.patrol import PlanRequest, ShiftIn, make_plan
from geodata.layers import HERITAGE_SITES
from maps.assets import OWN_DIR
from maps.plan_list import crew_panel, message_page, plans_page
from maps.plan_pages import (
    ROUTE_COLOURS,
    briefing_page,
    field_page,
    plan_feature_collection,
    plan_map_page,
)

router = APIRouter(tags=["patrol plans"])

_PLAN_ID = re.compile(r"^[0-9a-f]{16}$")
NEARBY_HERITAGE_M = 2000.0
"""Heritage sites within this distance of a route go to the field view, metres."""


def _selection_model() -> type[BaseModel]:
    """A body model with exactly the parameters (and limits) of GET /v1/hotspots."""
    hints = get_type_hints(HotspotQuery)
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(HotspotQuery):
        info = f.default
        assert isinstance(info, FieldInfo)
        hint = hints[f.name]
        if info.metadata:
            hint = Annotated[hint, *info.metadata]
        fields[f.name] = (hint, Field(default=info.default, alias=info.alias,
                                      description=info.description))
    return create_model("HotspotSelection", __config__=ConfigDict(extra="forbid",
                                                                   populate_by_name=True),
                        **fields)


HotspotSelection = _selection_model()


def _hotspot_query(values: dict[str, Any]) -> HotspotQuery:
    try:
        model = HotspotSelection.model_validate(values)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(clipped(p, 40) for p in err["loc"])
        raise BadRequest(f"hotspots.{where}: {err['msg']}", field=f"hotspots.{where}") from None
    return HotspotQuery(**model.model_dump())


SHORT_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
"""The letters of a crew's short-link code: digits and capitals without 0/O, 1/I/L (read off
paper or a screen without doubt)."""
SHORT_LENGTH = 8
"""Letters in a short-link code: 31**8 (about 8.5e11, 39 bits) codes, so a code is not worth
guessing (and following one still needs a signed-in field role)."""
_SHORT = re.compile(rf"^[{SHORT_ALPHABET}]{{{SHORT_LENGTH}}}$")
DRAFT_ROLES = ("admin", "analyst")
"""Roles that may open a plan before it is published (as a preview, marked draft)."""
_DRAFT: dict[int | str, dict[str, Any]] = {
    409: {"description": "A draft plan: the Rural Crime Team sees published plans only."}}


def _check_id(plan_id: str) -> None:
    if not _PLAN_ID.match(plan_id):
        raise BadRequest("a plan id is 16 hexadecimal characters", field="plan_id", status=404)


def _new_code() -> str:
    return "".join(secrets.choice(SHORT_ALPHABET) for _ in range(SHORT_LENGTH))


def _new_links(labels: list[str]) -> dict[str, str]:
    return {label: _new_code() for label in labels}


def _with_links(store: Any, stored: dict[str, Any]) -> dict[str, Any]:
    """``stored`` with a short-link code for every crew (plans stored before short links get
    theirs the first time they are read; a code that happens to be taken is drawn again)."""
    labels = [r["label"] for r in stored["plan"].get("routes", [])]
    links = dict(stored.get("links") or {})
    for _attempt in range(5):
        missing = [label for label in labels if label not in links]
        if not missing:
            break
        links = store.add_plan_links(stored["plan_id"], _new_links(missing))
    return {**stored, "links": links}


class PlanDraft(BadRequest):
    """A rural_team caller asked for a plan that is not published yet (409)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"patrol plan {name} is a draft: the planner has not published it "
                         "yet, so the field view cannot open it; ask them to publish it on the "
                         "plans page", field="plan_id", status=409)
        self.name = name


def _visible(request: Request, stored: dict[str, Any]) -> None:
    """Refuse (409) a draft plan to a role that only sees published plans."""
    role = role_of(request)
    if stored.get("published_at") is None and role is not None and role not in DRAFT_ROLES:
        raise PlanDraft(clipped(str(stored["request"].get("name") or stored["plan_id"]), 80))


def _stored(store: Any, plan_id: str, request: Request | None = None) -> dict[str, Any]:
    _check_id(plan_id)
    stored = store.get_plan(plan_id)
    if stored is None:
        raise BadRequest(f"no patrol plan {plan_id}", field="plan_id", status=404)
    if request is not None:
        _visible(request, stored)
    return _with_links(store, stored)


def crew_links(plan_id: str, labels: list[str], codes: dict[str, str]) -> dict[str, Any]:
    """Each crew's field view (``/field/{plan_id}?crew=<label>``) and short link
    (``/f/<code>``, None before the plan is stored), by route label."""
    return {label: {"field": f"/field/{plan_id}?crew={quote(label, safe='')}",
                    "short": f"/f/{codes[label]}" if label in codes else None}
            for label in labels}


def _document(stored: dict[str, Any]) -> dict[str, Any]:
    pid = stored["plan_id"]
    labels = [r["label"] for r in stored["plan"].get("routes", [])]
    return {
        "plan_id": pid, "name": stored["request"].get("name"),
        "created_at": stored["created_at"], "data_version": stored["data_version"],
        "published": stored.get("published_at") is not None,
        "published_at": stored.get("published_at"),
        "created_by": stored.get("created_by") or None,
        **stored["plan"],
        "request": stored["request"],
        "links": {"self": f"/v1/patrol-plans/{pid}",
                  "geojson": f"/v1/patrol-plans/{pid}?format=geojson",
                  "map": f"/v1/patrol-plans/{pid}/map",
                  "page": f"/plans/{pid}",
                  "briefing": f"/v1/patrol-plans/{pid}/briefing",
                  "field": f"/field/{pid}",
                  "visits": f"/v1/patrol-plans/{pid}/visits",
                  "crews": crew_links(pid, labels, stored.get("links") or {})},
    }


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


def _preview_key(body: PlanRequest, store: Any) -> str:
    """The request and the data it is planned from: the same again means the same plan."""
    text = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{store.data_version()}\0{text}".encode()).hexdigest()


async def _compute(request: Request, body: PlanRequest, store: Any, taxonomy: Any, *,
                   keep: bool = False, reuse: bool = False) -> tuple[dict[str, Any], str]:
    """The plan document for ``body`` (not stored) and the data version it was made from.
    ``keep``: remember it (a preview); ``reuse``: take the remembered preview of the same
    request and data when there is one (a save after a preview)."""
    key = _preview_key(body, store) if keep or reuse else ""
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


async def _planned(request: Request, body: PlanRequest, store: Any,
                   taxonomy: Any) -> tuple[dict[str, Any], str]:
    q = _hotspot_query(body.hotspots)
    try:
        computed, version = await computed_hotspots(request, store, taxonomy, q)
    except BadRequest as exc:  # a hotspot parameter: named as the plan request names it
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


async def _create(request: Request, body: PlanRequest, store: Any, taxonomy: Any, *,
                  publish: bool) -> JSONResponse:
    document, version = await _compute(request, body, store, taxonomy, reuse=True)
    plan_id = uuid.uuid4().hex[:16]
    raw = body.model_dump(mode="json")
    await run_in_threadpool(
        store.put_plan, plan_id, shift_start=document["shift"]["start"],
        shift_end=document["shift"]["end"], data_version=version, request=raw, plan=document,
        created_by=key_name(store, caller(request)),
        published_at=datetime.now(UTC).isoformat() if publish else None,
        links=_new_links([r["label"] for r in document.get("routes", [])]))
    stored = _stored(store, plan_id)
    return JSONResponse(_document(stored), status_code=201,
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
    stored = _stored(store, plan_id)
    raw = {**stored["request"], "shift": body.shift.model_dump(mode="json")}
    if body.name is not None:
        raw["name"] = body.name
    raw.pop("published", None)
    try:
        again = PlanRequest.model_validate(raw)
    except ValidationError as exc:  # a request stored by an older version the API now refuses
        err = exc.errors()[0]
        where = ".".join(clipped(p, 40) for p in err["loc"])
        raise BadRequest(f"the plan's request is no longer valid: {where}: {err['msg']}",
                         field=where) from None
    return await _create(request, again, store, taxonomy, publish=body.published)


@router.post("/v1/patrol-plans/{plan_id}/publish",
             responses={200: {"description": "The plan, published (publishing again keeps the "
                              "first time)."}})
def publish_plan(plan_id: str, store: StoreDep) -> JSONResponse:
    """Publish a plan: the Rural Crime Team's field view shows it from now on."""
    _stored(store, plan_id)
    store.publish_plan(plan_id, datetime.now(UTC).isoformat())
    return JSONResponse(_document(_stored(store, plan_id)))


def _local_iso(value: Any, zone: ZoneInfo) -> str:
    """An ISO 8601 time (any offset) as local time in ``zone``, to the minute."""
    try:
        return datetime.fromisoformat(str(value)).astimezone(zone).isoformat(timespec="minutes")
    except (ValueError, OverflowError):  # not a time, or one local time cannot hold
        return str(value)


def _listed(request: Request, store: Any, limit: int) -> list[dict[str, Any]]:
    """The most recent plans the caller may see, newest first (drafts only for planners)."""
    drafts = role_of(request) in DRAFT_ROLES or role_of(request) is None
    plans = store.list_plans(limit, published_only=not drafts)
    zone = ZoneInfo(store.timezone)
    for p in plans:
        p["published"] = p["published_at"] is not None
        p["shift"] = {k: _local_iso(p[f"shift_{k}"], zone) for k in ("start", "end")}
        p["links"] = {"self": f"/v1/patrol-plans/{p['plan_id']}",
                      "page": f"/plans/{p['plan_id']}"}
    return plans if drafts else [p for p in plans if p["published"]]


@router.get("/v1/patrol-plans")
def list_plans(request: Request, store: StoreDep,
               limit: int = Query(50, ge=1, le=500)) -> list[dict[str, Any]]:
    """The most recent plans, newest first (with their totals, name, who made them, the
    visits logged so far and whether they are published; the Rural Crime Team sees only
    published plans)."""
    return _listed(request, store, limit)


@router.get("/v1/patrol-plans/{plan_id}",
            responses={200: {"content": {"application/json": {}, "application/geo+json": {}}},
                       **_DRAFT})
def get_plan(plan_id: str, request: Request, store: StoreDep,
             format: str | None = Query(None, pattern="^(json|geojson)$",
                                        description="json (default) or geojson")) -> Response:
    """A plan as JSON, or as GeoJSON (routes, stops, bases, hotspots left out) with
    ``format=geojson`` or ``Accept: application/geo+json``."""
    document = _document(_stored(store, plan_id, request))
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
        raise BadRequest(f"{field} is out of range: give the time of the visit",
                         field=field) from None


@router.post("/v1/patrol-plans/{plan_id}/visits", status_code=201,
             responses={200: {"description": "Already stored (a retry): the stored visit."},
                        201: {"description": "Stored."},
                        409: {"description": "That visit id was used for another stop."}})
def add_visit(plan_id: str, visit: VisitIn, request: Request, store: StoreDep) -> JSONResponse:
    """Log a visit to a stop of the plan; idempotent by ``visit_id``."""
    stored = _stored(store, plan_id, request)
    stops = {s["stop_id"]: s for r in stored["plan"]["routes"] for s in r["stops"]
             if "stop_id" in s}
    stop = stops.get(visit.stop_id)
    if stop is None:
        raise BadRequest(f"plan {plan_id} has no stop {visit.stop_id!r}", field="stop_id")
    zone = ZoneInfo(store.timezone)
    when = _visit_time(visit.visited_at, zone, "visited_at")
    ended = visit.ended_at
    if ended is not None:
        ended = _visit_time(ended, zone, "ended_at")
        if ended < when:
            raise BadRequest("ended_at is before visited_at: the dwell ends after it starts",
                             field="ended_at")
    record, created = store.add_visit({
        "visit_id": visit.visit_id, "plan_id": plan_id, "stop_id": visit.stop_id,
        "hotspot_id": stop.get("hotspot_id"), "visited_at": when.isoformat(),
        "note": visit.note, "officer": visit.officer.strip(),
        "ended_at": ended.isoformat() if ended is not None else None})
    if record["plan_id"] != plan_id or record["stop_id"] != visit.stop_id:
        raise BadRequest(f"visit id {visit.visit_id} was already used for another stop",
                         field="visit_id", status=409)
    return JSONResponse(record, status_code=201 if created else 200)


@router.get("/v1/patrol-plans/{plan_id}/visits", responses={**_DRAFT})
def list_visits(plan_id: str, request: Request, store: StoreDep) -> dict[str, Any]:
    """The visits logged against a plan, and each stop's visits (planners see the plan
    against what happened)."""
    stored = _stored(store, plan_id, request)
    visits = store.plan_visits(plan_id)
    done: dict[str, int] = {}
    for v in visits:
        done[v["stop_id"]] = done.get(v["stop_id"], 0) + 1
    planned = sum(1 for r in stored["plan"]["routes"] for s in r["stops"] if "stop_id" in s)
    return {"plan_id": plan_id, "visits": visits, "stops_planned": planned,
            "stops_visited": len(done), "by_stop": done}


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
    _stored(store, plan_id, request)
    if not _VISIT_ID.match(visit_id):
        raise BadRequest("a visit id is 8 to 64 letters, digits or _.:-", field="visit_id",
                         status=422)
    removed = store.cancel_visit(plan_id, visit_id)
    if removed is None:
        raise BadRequest(f"plan {plan_id} has no visit {visit_id}", field="visit_id",
                         status=404)
    who = getattr(request.state, "principal", None)
    store.audit(key_id=who.key_id if who else None, role=who.role if who else None,
                action="cancel visit", path=request.url.path,
                filter={k: removed.get(k) for k in ("plan_id", "visit_id", "stop_id",
                                                    "visited_at", "ended_at", "officer")},
                rows=1)
    return {"plan_id": plan_id, "cancelled": removed}


def _page_options(settings: Any) -> dict[str, Any]:
    return {"tiles_url": page_tile_url(settings),
            "tiles_attribution": settings.tile_attribution}


def public_base(request: Request, settings: Any) -> str:
    """The address officers reach the service at, for QR codes and printed short links:
    ``HOTSPOT_PUBLIC_URL`` when set, else the address this request came to (behind a proxy,
    the one the proxy reports when it is trusted)."""
    configured = getattr(settings, "public_url", None)
    return str(configured or request.base_url).rstrip("/")


def _draft_page(request: Request, store: Any, exc: PlanDraft) -> HTMLResponse:
    return HTMLResponse(message_page(
        "This plan is not published yet",
        [f"The patrol plan {exc.name} is a draft: the planner has not published it yet, so "
         "the field view cannot open it.",
         "Ask the planner to publish it. Published plans are on the plans page."],
        nav=page_nav(request, store, "plans")), status_code=409,
        headers={"Cache-Control": "no-store"})


def _plan_tag(request: Request, stored: dict[str, Any], *more: object) -> str:
    """The ETag of a page or answer made from a stored plan (:func:`api.delivery.page_etag`):
    a plan never changes once stored but for being published."""
    return page_etag(request, request.url.path, stored["plan_id"], stored.get("created_at"),
                     stored.get("published_at"), *more)


def _plan_page(plan_id: str, request: Request, store: Any, settings: Any) -> Response:
    try:
        stored = _stored(store, plan_id, request)
    except PlanDraft as exc:
        return _draft_page(request, store, exc)
    etag = _plan_tag(request, stored, public_base(request, settings), page_tile_url(settings))
    if (same := not_modified(request, etag)) is not None:
        return same
    document = _document(stored)
    panel = crew_panel(document, public_url=public_base(request, settings),
                       can_edit=role_of(request) in DRAFT_ROLES)
    return HTMLResponse(plan_map_page(document, **_page_options(settings),
                                      nav=page_nav(request, store, "plans"), extra=panel),
                        headers={"Cache-Control": "private, no-cache", "ETag": etag})


@router.get("/v1/patrol-plans/{plan_id}/map", response_class=HTMLResponse, responses={**_DRAFT})
def plan_map(plan_id: str, request: Request, store: StoreDep,
             settings: SettingsDep) -> Response:
    """The planner's view of a plan: route lines, numbered stops, time windows, visits, and
    each crew's field view link, short link and QR code (the same page as /plans/{plan_id})."""
    return _plan_page(plan_id, request, store, settings)


@router.get("/plans/{plan_id}", response_class=HTMLResponse, tags=["plans pages"],
            responses={**_DRAFT})
def plan_page(plan_id: str, request: Request, store: StoreDep,
              settings: SettingsDep) -> Response:
    """A plan's page: its map, routes and visits, and each crew's field view link, short link
    and QR code (a draft says so, with a Publish button for planners)."""
    return _plan_page(plan_id, request, store, settings)


@router.get("/v1/patrol-plans/{plan_id}/briefing", response_class=HTMLResponse,
            responses={**_DRAFT})
def briefing(plan_id: str, request: Request, store: StoreDep,
             settings: SettingsDep) -> Response:
    """A printable briefing: one A4 page per crew (crews with no stops say why) with a map of
    its route over the store's roads and place names, OS grid references, the stops with tick
    boxes and room for notes, what to look for, and the crew's QR code."""
    try:
        stored = _stored(store, plan_id, request)
    except PlanDraft as exc:
        return _draft_page(request, store, exc)
    # its map is drawn from the store's layers: their version is part of the tag
    etag = _plan_tag(request, stored, public_base(request, settings), store.data_version())
    if (same := not_modified(request, etag)) is not None:
        return same
    document = _document(stored)
    extras = briefing_extras(store, document, public_base(request, settings))
    return HTMLResponse(briefing_page(document, nav=page_nav(request, store, "plans"),
                                      **extras),
                        headers={"Cache-Control": "private, no-cache", "ETag": etag})


@router.get("/v1/patrol-plans/{plan_id}/field-data", responses={**_DRAFT})
def field_data(plan_id: str, request: Request, store: StoreDep) -> Response:
    """What the field view needs, in one response it can keep offline: the plan and the
    heritage sites near its routes (WGS84). A draft plan is a 409 to the Rural Crime Team."""
    stored = _stored(store, plan_id, request)
    # the field view asks again on every open: an unchanged plan is a 304 with no body
    etag = _plan_tag(request, stored, store.data_version())
    if (same := not_modified(request, etag)) is not None:
        return same
    document = _document(stored)
    return JSONResponse({"plan": document, "heritage_sites": _nearby_heritage(store, document)},
                        headers={"Cache-Control": "private, no-cache", "ETag": etag})


def _nearby_heritage(store: Any, document: dict[str, Any]) -> dict[str, Any]:
    import shapely
    from pyproj import Transformer

    from geodata.coords import WGS84

    empty: dict[str, Any] = {"type": "FeatureCollection", "features": []}
    layer = store.get_layer(HERITAGE_SITES)
    points = [(s["lon"], s["lat"]) for r in document["routes"] for s in r["stops"]
              if s.get("lon") is not None and s["lon"] == s["lon"]]
    if layer is None or not points:
        return empty
    to_store = Transformer.from_crs(WGS84, store.crs, always_xy=True)
    xs, ys = to_store.transform([p[0] for p in points], [p[1] for p in points])
    stops = shapely.multipoints(list(zip(xs, ys, strict=True)))
    frame = layer.frame
    near = frame[shapely.dwithin(frame.geometry.values, stops, NEARBY_HERITAGE_M)]
    if not len(near):
        return empty
    data = json.loads(near.to_crs(WGS84).to_json(drop_id=True, to_wgs84=False))
    data.pop("crs", None)
    return data


@router.get("/field/sw.js", include_in_schema=False)
def service_worker() -> FileResponse:
    """The field view's service worker (scope /field/)."""
    return FileResponse(OWN_DIR / "field-sw.js", media_type="text/javascript",
                        headers={"Cache-Control": "no-cache"})


@router.get("/field/{plan_id}", response_class=HTMLResponse, tags=["field view"],
            responses={**_DRAFT})
def field_view(plan_id: str, request: Request, store: StoreDep,
               settings: SettingsDep) -> HTMLResponse:
    """The Rural Crime Team's field view of a plan, for a tablet: it keeps working with no
    signal once opened (a service worker keeps the page, Leaflet and the plan). ``?crew=``
    (a route's label) shows that crew. Only published plans open for the Rural Crime Team
    (a draft is a 409 page); planners see a draft as a preview, marked so."""
    try:
        stored = _stored(store, plan_id, request)
    except PlanDraft as exc:
        return _draft_page(request, store, exc)
    return HTMLResponse(field_page(plan_id, **_page_options(settings),
                                   nav=page_nav(request, store, "plans"),
                                   draft=stored.get("published_at") is None),
                        headers={"Cache-Control": "private, no-cache"})


@router.get("/f/{code}", response_class=HTMLResponse, tags=["field view"],
            responses={303: {"description": "To the crew's field view."}})
def short_link(code: str, request: Request, store: StoreDep) -> Response:
    """A crew's short link (printed on the briefing, shown as a QR code on the plan page):
    on to ``/field/{plan_id}?crew=<label>``. Letters may be typed in lower case; an unknown
    code is a 404 page that says where to look instead."""
    wanted = code.strip().upper()
    found = store.find_plan_link(wanted) if _SHORT.match(wanted) else None
    if found is None:
        return HTMLResponse(message_page(
            "No plan has that short link",
            ["Check the letters against the briefing (the codes use no 0, O, 1, I or L), or "
             "open the plan from the plans page."],
            nav=page_nav(request, store, "plans")), status_code=404)
    target = f"/field/{found['plan_id']}?crew={quote(found['crew'], safe='')}"
    return RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})


@router.get("/plans", response_class=HTMLResponse, tags=["plans pages"])
def plans(request: Request, store: StoreDep, taxonomy: TaxonomyDep,
          settings: SettingsDep) -> HTMLResponse:
    """The plans page: the plans, newest first (name, shift, who made it, visits logged,
    published or draft); planners also get the form that makes one (preview on a map, save,
    publish) and copy a plan to another shift. The Rural Crime Team sees published plans."""
    can_edit = role_of(request) in DRAFT_ROLES
    listed = _listed(request, store, 100)
    form = _form_choices(store, taxonomy) if can_edit else {}
    page = plans_page(listed, nav=page_nav(request, store, "plans"), can_edit=can_edit,
                      form=form, colours=ROUTE_COLOURS, **_page_options(settings))
    return HTMLResponse(page, headers={"Cache-Control": "private, no-cache"})


def _form_choices(store: Any, taxonomy: Any) -> dict[str, Any]:
    """The plan form's choices (bases of the Rural Crime Team, towns, priorities) and its
    defaults (tomorrow 16:00 to 02:00; the last six complete months of the store's data)."""
    import pandas as pd

    from api.services.hotspots import latest_complete_month
    from api.services.patrol import town_centres
    from geodata.layers import PATROL_BASES

    bases_layer = store.get_layer(PATROL_BASES)
    bases: list[str] = []
    if bases_layer is not None:
        frame = bases_layer.frame
        rural = frame[frame["team"].isin(("rural_crime_team", "both"))]
        bases = sorted({str(n) for n in rural["name"]})
    towns = sorted(town_centres(store), key=str.casefold)
    priorities = [(k, v.split(":")[0].strip()) for k, v in taxonomy.priorities.items()]
    tomorrow = datetime.now(ZoneInfo(store.timezone)).date() + timedelta(days=1)
    last = latest_complete_month(store)
    period = pd.Period(last, freq="M") if last else None
    return {"bases": bases, "towns": towns, "priorities": priorities, "vehicles": 1,
            "start": f"{tomorrow.isoformat()}T16:00",
            "end": f"{(tomorrow + timedelta(days=1)).isoformat()}T02:00",
            "from_": str(period - 5) if period is not None else "",
            "to": str(period) if period is not None else ""}
