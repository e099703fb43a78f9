"""One-page printable crime prevention leaflets (see :mod:`api.services.advice`).

- ``GET /hotspots/{hotspot_id}/leaflet?<the parameters of GET /v1/hotspots>``: a hotspot of an
  analysis (the same cached result as its page), for the field roles;
- ``GET /leaflets``: the towns a leaflet can be made for; ``GET /leaflets/towns/{town}``: a
  town's, from its incidents of the last 12 whole months (field roles);
- ``GET /products/{period}/hotspots/{rank}/leaflet``: a published product's hotspot, from the
  stored product alone (every role: what partners hand out).

Each takes ``audience=residents|businesses|farms|heritage`` to override the audience chosen
from the place's class and mix.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import numpy as np
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from api.csrf import masked, session_csrf_token
from api.deps import SettingsDep, StoreDep, TaxonomyDep
from api.errors import NotFound
from api.pages import key_name
from api.services.advice import (
    find_town,
    hotspot_leaflet,
    parse_audience,
    product_leaflet,
    town_counts,
    town_leaflet,
    town_names,
)
from api.services.hotspot_query import HotspotQuery
from api.services.hotspot_results import computed_hotspots
from api.services.products import ALL
from api.services.published import period_of, stored_product
from geodata.advice import AUDIENCES, PreventionAdvice
from geodata.stores import Store
from maps.leaflet import LeafletData, leaflet_html, towns_html

router = APIRouter(tags=["pages"])

_AUDIENCE = Query(None, max_length=20, description="Whose advice: "
                  f"{', '.join(AUDIENCES)}; chosen from the place's class and mix when left "
                  "out.")
_HEADERS = {"Cache-Control": "private, no-cache"}


def _advice(request: Request) -> PreventionAdvice:
    advice: PreventionAdvice = request.app.state.advice
    return advice


def _nav(request: Request, store: Store) -> dict[str, Any]:
    who = getattr(request.state, "principal", None)
    session_id = who.session_id if who is not None and who.via == "session" else None
    return {"role": who.role if who is not None else None, "signed_in": session_id is not None,
            "csrf": masked(session_csrf_token(store, session_id)) if session_id else None,
            "who": key_name(store, who) or None}


def _page(data: LeafletData, nav: dict[str, Any]) -> HTMLResponse:
    return HTMLResponse(leaflet_html(data, **nav), headers=_HEADERS)


@router.get("/hotspots/{hotspot_id}/leaflet", response_class=HTMLResponse)
async def hotspot_leaflet_page(
    request: Request, store: StoreDep, taxonomy: TaxonomyDep, settings: SettingsDep,
    hotspot_id: str = Path(max_length=40), audience: str | None = _AUDIENCE,
    q: HotspotQuery = Depends(),
) -> HTMLResponse:
    """A hotspot's one-page prevention leaflet (HTML, A4): the area by name, its main
    categories, four to six steps for its audience, who to contact. The query takes the
    parameters of ``GET /v1/hotspots`` (the id is the hotspot's in that result), plus
    ``audience``. It leaves the force: no count under ``HOTSPOT_PARTNER_MIN_INCIDENTS`` is
    printed, the others are rounded."""
    wanted = parse_audience(audience)
    computed, _version = await computed_hotspots(request, store, taxonomy, q)
    table = computed.table
    found = np.flatnonzero(table["id"].astype(str).to_numpy() == hotspot_id)
    if not len(found):
        raise NotFound(f"no hotspot of this result has the id {hotspot_id[:40]!r} (the data "
                       "may have changed: open the map again)", "hotspot_id")
    row = {k: v for k, v in table.iloc[int(found[0])].items() if k != "geometry"}
    query = q.query_string()
    page = f"/hotspots/{hotspot_id}" + (f"?{query}" if query else "")
    href = f"/hotspots/{hotspot_id}/leaflet" + (f"?{query}" if query else "")
    data = hotspot_leaflet(row, computed.metadata, _advice(request), taxonomy, audience=wanted,
                           href=href, page_href=page,
                           min_count=settings.partner_min_incidents)
    nav = await run_in_threadpool(_nav, request, store)
    return _page(data, nav)


@router.get("/leaflets", response_class=HTMLResponse)
def town_list_page(request: Request, store: StoreDep) -> HTMLResponse:
    """The towns a prevention leaflet can be made for (the town centres and built-up areas by
    name), each with its leaflet for residents and for businesses."""
    nav = _nav(request, store)
    return HTMLResponse(towns_html(town_names(store), **nav), headers=_HEADERS)


@router.get("/leaflets/towns/{town}", response_class=HTMLResponse)
def town_leaflet_page(
    request: Request, store: StoreDep, taxonomy: TaxonomyDep, settings: SettingsDep,
    town: str = Path(max_length=100, description="A town centre or built-up area by name."),
    audience: str | None = _AUDIENCE,
) -> HTMLResponse:
    """A town's one-page prevention leaflet (HTML, A4), from the incidents recorded inside its
    built-up area in the last 12 whole months; for residents unless most of them lean to
    another audience, or ``audience`` says. Counts as a hotspot's leaflet: none under
    ``HOTSPOT_PARTNER_MIN_INCIDENTS`` printed, the others rounded."""
    wanted = parse_audience(audience)
    found = find_town(store, town)
    mix, first, last = town_counts(store, found)
    data = town_leaflet(found, mix, (first, last), store.data_version(), _advice(request),
                        taxonomy, audience=wanted, href=f"/leaflets/towns/{quote(found.name)}",
                        min_count=settings.partner_min_incidents)
    return _page(data, _nav(request, store))


@router.get("/products/{period}/hotspots/{rank}/leaflet", response_class=HTMLResponse)
def product_leaflet_page(
    request: Request, store: StoreDep, taxonomy: TaxonomyDep,
    period: str = Path(max_length=10, description="The product's month (YYYY-MM) or quarter "
                       "(YYYY-Qn)."),
    rank: int = Path(ge=1, le=10_000, description="The hotspot's rank in the product."),
    audience: str | None = _AUDIENCE,
) -> HTMLResponse:
    """A published hotspot's one-page prevention leaflet (HTML, A4), made from the published
    product alone (its place, class and counts by priority): what partners hand out."""
    wanted = parse_audience(audience)
    key = period_of(period, store).key
    _record, document = stored_product(store, key)
    hotspots = document["hotspots"][ALL]
    if rank > len(hotspots):
        raise NotFound(f"the product of {key} has {len(hotspots)} hotspots, not {rank}", "rank")
    props = hotspots[rank - 1]["properties"]
    data = product_leaflet(props, document, _advice(request), taxonomy, audience=wanted,
                           href=f"/products/{key}/hotspots/{rank}/leaflet")
    return _page(data, _nav(request, store))
