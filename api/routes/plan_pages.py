"""The patrol plans' pages: a plan's map page, the printable briefing, the Rural Crime Team's
field view (works offline) with its data and short links, and the plans page."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response

from api.access import DRAFT_ROLES
from api.delivery import not_modified
from api.deps import SettingsDep, StoreDep, TaxonomyDep
from api.pages import page_nav, role_of
from api.services.basemap import page_tile_url
from api.services.briefing import briefing_extras
from api.services.stored_plans import (
    DRAFT_RESPONSES,
    SHORT_CODE,
    PlanDraft,
    listed_plans,
    nearby_heritage,
    plan_document,
    plan_form_choices,
    plan_tag,
    public_base,
    stored_plan,
)
from geodata.stores import AccessStore, Store
from maps.assets import OWN_DIR
from maps.plan_list import crew_panel, message_page, plans_page
from maps.plan_pages import ROUTE_COLOURS, briefing_page, field_page, plan_map_page

router = APIRouter(tags=["patrol plans"])


def _page_options(settings: Any) -> dict[str, Any]:
    return {"tiles_url": page_tile_url(settings),
            "tiles_attribution": settings.tile_attribution}


def _draft_page(request: Request, store: AccessStore, exc: PlanDraft) -> HTMLResponse:
    return HTMLResponse(message_page(
        "This plan is not published yet",
        [f"The patrol plan {exc.name} is a draft: the planner has not published it yet, so "
         "the field view cannot open it.",
         "Ask the planner to publish it. Published plans are on the plans page."],
        nav=page_nav(request, store, "plans")), status_code=409,
        headers={"Cache-Control": "no-store"})


def _plan_page(plan_id: str, request: Request, store: Store, settings: Any) -> Response:
    try:
        stored = stored_plan(store, plan_id, request)
    except PlanDraft as exc:
        return _draft_page(request, store, exc)
    etag = plan_tag(request, stored, public_base(request, settings), page_tile_url(settings))
    if (same := not_modified(request, etag)) is not None:
        return same
    document = plan_document(stored)
    panel = crew_panel(document, public_url=public_base(request, settings),
                       can_edit=role_of(request) in DRAFT_ROLES)
    return HTMLResponse(plan_map_page(document, **_page_options(settings),
                                      nav=page_nav(request, store, "plans"), extra=panel),
                        headers={"Cache-Control": "private, no-cache", "ETag": etag})


@router.get("/v1/patrol-plans/{plan_id}/map", response_class=HTMLResponse, responses={**DRAFT_RESPONSES})
def plan_map(plan_id: str, request: Request, store: StoreDep,
             settings: SettingsDep) -> Response:
    """The planner's view of a plan: route lines, numbered stops, time windows, visits, and
    each crew's field view link, short link and QR code (the same page as /plans/{plan_id})."""
    return _plan_page(plan_id, request, store, settings)


@router.get("/plans/{plan_id}", response_class=HTMLResponse, tags=["plans pages"],
            responses={**DRAFT_RESPONSES})
def plan_page(plan_id: str, request: Request, store: StoreDep,
              settings: SettingsDep) -> Response:
    """A plan's page: its map, routes and visits, and each crew's field view link, short link
    and QR code (a draft says so, with a Publish button for planners)."""
    return _plan_page(plan_id, request, store, settings)


@router.get("/v1/patrol-plans/{plan_id}/briefing", response_class=HTMLResponse,
            responses={**DRAFT_RESPONSES})
def briefing(plan_id: str, request: Request, store: StoreDep,
             settings: SettingsDep) -> Response:
    """A printable briefing: one A4 page per crew (crews with no stops say why) with a map of
    its route over the store's roads and place names, OS grid references, the stops with tick
    boxes and room for notes, what to look for, and the crew's QR code."""
    try:
        stored = stored_plan(store, plan_id, request)
    except PlanDraft as exc:
        return _draft_page(request, store, exc)
    # its map is drawn from the store's layers: their version is part of the tag
    etag = plan_tag(request, stored, public_base(request, settings), store.data_version())
    if (same := not_modified(request, etag)) is not None:
        return same
    document = plan_document(stored)
    extras = briefing_extras(store, document, public_base(request, settings))
    return HTMLResponse(briefing_page(document, nav=page_nav(request, store, "plans"),
                                      **extras),
                        headers={"Cache-Control": "private, no-cache", "ETag": etag})


@router.get("/v1/patrol-plans/{plan_id}/field-data", responses={**DRAFT_RESPONSES})
def field_data(plan_id: str, request: Request, store: StoreDep) -> Response:
    """What the field view needs, in one response it can keep offline: the plan and the
    heritage sites near its routes (WGS84). A draft plan is a 409 to the Rural Crime Team."""
    stored = stored_plan(store, plan_id, request)
    # the field view asks again on every open: an unchanged plan is a 304 with no body
    etag = plan_tag(request, stored, store.data_version())
    if (same := not_modified(request, etag)) is not None:
        return same
    document = plan_document(stored)
    return JSONResponse({"plan": document, "heritage_sites": nearby_heritage(store, document)},
                        headers={"Cache-Control": "private, no-cache", "ETag": etag})


@router.get("/field/sw.js", include_in_schema=False)
def service_worker() -> FileResponse:
    """The field view's service worker, registered for /field/ and for the crews' short links
    (/f/), so that a short link or its QR code opens the crew's view with no signal too."""
    # a worker may serve only below its own folder unless this header widens it: "/f" is the
    # narrowest prefix of both scopes
    return FileResponse(OWN_DIR / "field-sw.js", media_type="text/javascript",
                        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/f"})


@router.get("/field/{plan_id}", response_class=HTMLResponse, tags=["field view"],
            responses={**DRAFT_RESPONSES})
def field_view(plan_id: str, request: Request, store: StoreDep,
               settings: SettingsDep) -> HTMLResponse:
    """The Rural Crime Team's field view of a plan, for a tablet: it keeps working with no
    signal once opened (a service worker keeps the page, Leaflet and the plan). ``?crew=``
    (a route's label) shows that crew. Only published plans open for the Rural Crime Team
    (a draft is a 409 page); planners see a draft as a preview, marked so."""
    try:
        stored = stored_plan(store, plan_id, request)
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
    found = store.find_plan_link(wanted) if SHORT_CODE.match(wanted) else None
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
    listed = listed_plans(request, store, 100)
    form = plan_form_choices(store, taxonomy) if can_edit else {}
    page = plans_page(listed, nav=page_nav(request, store, "plans"), can_edit=can_edit,
                      form=form, colours=ROUTE_COLOURS, **_page_options(settings))
    return HTMLResponse(page, headers={"Cache-Control": "private, no-cache"})
