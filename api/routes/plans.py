"""Patrol plans: create, read (JSON, GeoJSON), the planner's view, the printable briefing, the
Rural Crime Team's field view (works offline), and the visits officers log against a plan."""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, get_type_hints
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Body, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic.fields import FieldInfo

from api.analysis import ATTRIBUTION, tile_url
from api.deps import SettingsDep, StoreDep, TaxonomyDep
from api.errors import BadRequest, clipped
from api.planning import PlanRequest, make_plan
from api.routes.hotspots import HotspotQuery, computed_hotspots
from geodata.layers import HERITAGE_SITES
from maps.assets import OWN_DIR
from maps.patrol import briefing_page, field_page, plan_feature_collection, plan_map_page

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


def _check_id(plan_id: str) -> None:
    if not _PLAN_ID.match(plan_id):
        raise BadRequest("a plan id is 16 hexadecimal characters", field="plan_id", status=404)


def _stored(store: Any, plan_id: str) -> dict[str, Any]:
    _check_id(plan_id)
    stored = store.get_plan(plan_id)
    if stored is None:
        raise BadRequest(f"no patrol plan {plan_id}", field="plan_id", status=404)
    return stored


def _document(stored: dict[str, Any]) -> dict[str, Any]:
    pid = stored["plan_id"]
    return {
        "plan_id": pid, "name": stored["request"].get("name"),
        "created_at": stored["created_at"], "data_version": stored["data_version"],
        **stored["plan"],
        "request": stored["request"],
        "links": {"self": f"/v1/patrol-plans/{pid}",
                  "geojson": f"/v1/patrol-plans/{pid}?format=geojson",
                  "map": f"/v1/patrol-plans/{pid}/map",
                  "briefing": f"/v1/patrol-plans/{pid}/briefing",
                  "field": f"/field/{pid}",
                  "visits": f"/v1/patrol-plans/{pid}/visits"},
    }


@router.post("/v1/patrol-plans", status_code=201,
             responses={201: {"description": "The plan, stored; Location names it."}})
async def create_plan(request: Request, body: Annotated[PlanRequest, Body()], store: StoreDep,
                      taxonomy: TaxonomyDep) -> JSONResponse:
    """Plan a shift's patrols over the hotspots of a selection and store the plan.

    The Rural Crime Team's vehicles go from their base over rural and heritage-site hotspots
    and back within the shift; town centre officers walk their town's town-centre hotspots
    in their peak hours, the busiest revisited at unpredictable gaps. Every stop has its
    arrival, start and departure; every hotspot left out says why.
    """
    q = _hotspot_query(body.hotspots)
    computed, version = await computed_hotspots(request, store, taxonomy, q)
    # the routing search runs up to its time limit: it counts against the analysis budget
    release = request.app.state.analysis_budget.admit(getattr(request.state, "principal", None))
    try:
        plan = await run_in_threadpool(make_plan, store, taxonomy, body, computed.table)
    finally:
        release()
    document = plan.to_dict()
    document["hotspot_parameters"] = computed.parameters
    document["attribution"] = ATTRIBUTION
    plan_id = uuid.uuid4().hex[:16]
    raw = body.model_dump(mode="json")
    await run_in_threadpool(
        store.put_plan, plan_id, shift_start=document["shift"]["start"],
        shift_end=document["shift"]["end"], data_version=version, request=raw, plan=document)
    stored = store.get_plan(plan_id)
    assert stored is not None
    return JSONResponse(_document(stored), status_code=201,
                        headers={"Location": f"/v1/patrol-plans/{plan_id}"})


@router.get("/v1/patrol-plans")
def list_plans(store: StoreDep, limit: int = Query(50, ge=1, le=500)) -> list[dict[str, Any]]:
    """The most recent plans, newest first (with their totals)."""
    return store.list_plans(limit)


@router.get("/v1/patrol-plans/{plan_id}",
            responses={200: {"content": {"application/json": {}, "application/geo+json": {}}}})
def get_plan(plan_id: str, request: Request, store: StoreDep,
             format: str | None = Query(None, pattern="^(json|geojson)$",
                                        description="json (default) or geojson")) -> Response:
    """A plan as JSON, or as GeoJSON (routes, stops, bases, hotspots left out) with
    ``format=geojson`` or ``Accept: application/geo+json``."""
    document = _document(_stored(store, plan_id))
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
    officer: str = Field("", max_length=100)


@router.post("/v1/patrol-plans/{plan_id}/visits", status_code=201,
             responses={200: {"description": "Already stored (a retry): the stored visit."},
                        201: {"description": "Stored."},
                        409: {"description": "That visit id was used for another stop."}})
def add_visit(plan_id: str, visit: VisitIn, store: StoreDep) -> JSONResponse:
    """Log a visit to a stop of the plan; idempotent by ``visit_id``."""
    stored = _stored(store, plan_id)
    stops = {s["stop_id"]: s for r in stored["plan"]["routes"] for s in r["stops"]
             if "stop_id" in s}
    stop = stops.get(visit.stop_id)
    if stop is None:
        raise BadRequest(f"plan {plan_id} has no stop {visit.stop_id!r}", field="stop_id")
    when = visit.visited_at if visit.visited_at.tzinfo else visit.visited_at.replace(
        tzinfo=ZoneInfo(store.timezone))
    record, created = store.add_visit({
        "visit_id": visit.visit_id, "plan_id": plan_id, "stop_id": visit.stop_id,
        "hotspot_id": stop.get("hotspot_id"), "visited_at": when.astimezone(UTC).isoformat(),
        "note": visit.note, "officer": visit.officer})
    if record["plan_id"] != plan_id or record["stop_id"] != visit.stop_id:
        raise BadRequest(f"visit id {visit.visit_id} was already used for another stop",
                         field="visit_id", status=409)
    return JSONResponse(record, status_code=201 if created else 200)


@router.get("/v1/patrol-plans/{plan_id}/visits")
def list_visits(plan_id: str, store: StoreDep) -> dict[str, Any]:
    """The visits logged against a plan, and each stop's visits (planners see the plan
    against what happened)."""
    stored = _stored(store, plan_id)
    visits = store.plan_visits(plan_id)
    done: dict[str, int] = {}
    for v in visits:
        done[v["stop_id"]] = done.get(v["stop_id"], 0) + 1
    planned = sum(1 for r in stored["plan"]["routes"] for s in r["stops"] if "stop_id" in s)
    return {"plan_id": plan_id, "visits": visits, "stops_planned": planned,
            "stops_visited": len(done), "by_stop": done}


def _page_options(settings: Any) -> dict[str, Any]:
    return {"tiles_url": tile_url(settings.tile_url),
            "tiles_attribution": settings.tile_attribution}


@router.get("/v1/patrol-plans/{plan_id}/map", response_class=HTMLResponse)
def plan_map(plan_id: str, store: StoreDep, settings: SettingsDep) -> HTMLResponse:
    """The planner's view of a plan: route lines, numbered stops, time windows, visits."""
    document = _document(_stored(store, plan_id))
    return HTMLResponse(plan_map_page(document, **_page_options(settings)))


@router.get("/v1/patrol-plans/{plan_id}/briefing", response_class=HTMLResponse)
def briefing(plan_id: str, store: StoreDep) -> HTMLResponse:
    """A printable briefing: one A4 page per team with a map, the stops, what to look for."""
    return HTMLResponse(briefing_page(_document(_stored(store, plan_id))))


@router.get("/v1/patrol-plans/{plan_id}/field-data")
def field_data(plan_id: str, store: StoreDep) -> JSONResponse:
    """What the field view needs, in one response it can keep offline: the plan and the
    heritage sites near its routes (WGS84)."""
    document = _document(_stored(store, plan_id))
    return JSONResponse({"plan": document, "heritage_sites": _nearby_heritage(store, document)},
                        headers={"Cache-Control": "no-cache"})


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


@router.get("/field/{plan_id}", response_class=HTMLResponse, tags=["field view"])
def field_view(plan_id: str, store: StoreDep, settings: SettingsDep) -> HTMLResponse:
    """The Rural Crime Team's field view of a plan, for a tablet: it keeps working with no
    signal once opened (a service worker keeps the page, Leaflet and the plan)."""
    _stored(store, plan_id)
    return HTMLResponse(field_page(plan_id, **_page_options(settings)),
                        headers={"Cache-Control": "no-cache"})
