"""Persistent anti-social behaviour: the repeat locations with ASB in many of the last months.

``GET /v1/asb/persistent`` answers with the places (JSON, CSV or GeoJSON in WGS84) and
``GET /asb`` is the page for multi-agency case work: the places ranked by persistence, each
with its month strip, nearby repeat locations and category mix, a small map and the
downloads. Both run :func:`api.services.persistent_asb.persistent_answer` through the result
cache (one computation per data version and parameters).

**Who may call it.** The places are exact map points or addresses: the force's staff and the
Rural Crime Team only (``FIELD`` in :data:`api.access.ACCESS`), never partners; every call of
the API is written to the audit log.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from api.deps import SettingsDep, StoreDep, TaxonomyDep
from api.pages import page_nav
from api.services.basemap import page_tile_url
from api.services.cached import within
from api.services.persistent_asb import (
    MAX_LIMIT,
    MAX_MONTHS,
    MAX_RADIUS_M,
    MONTHS,
    answer_csv,
    answer_geojson,
    answer_json,
    persistent_answer,
)
from geodata.stores import Store
from geodata.taxonomy import Taxonomy
from hotspot.persistent import RADIUS_M
from maps.asb_page import asb_page_html

router = APIRouter(tags=["anti-social behaviour"])


@dataclass
class PersistentQuery:
    """Query parameters of GET /v1/asb/persistent and GET /asb."""

    months: int = Query(MONTHS, ge=1, le=MAX_MONTHS, description="Months looked at, ending "
                        "with `end` (at most 36).")
    min_months: int | None = Query(None, ge=1, le=MAX_MONTHS, description="Months with ASB "
                                   "that make a place persistent (1 to `months`; default half "
                                   "of `months`, rounded up: 6 of 12).")
    radius_m: float = Query(RADIUS_M, gt=0, le=MAX_RADIUS_M, description="Radius of the "
                            "nearby repeat locations and of the category mix, metres (at most "
                            "2000).")
    end: str | None = Query(None, max_length=7, description="The last month looked at, "
                            "YYYY-MM (local); default the store's latest whole month.")
    limit: int = Query(100, ge=1, le=MAX_LIMIT, description="Most places listed (the best "
                       "first).")

    def key(self) -> tuple[Any, ...]:
        """A hashable form of every parameter (for the cache)."""
        return tuple(sorted(asdict(self).items()))

    def query_string(self, **extra: Any) -> str:
        """The parameters given (not the defaults) with ``extra``, as a query string."""
        given = {k: v for k, v in asdict(self).items()
                 if v is not None and v != _DEFAULTS.get(k)}
        return urlencode({**given, **extra})


_DEFAULTS: dict[str, Any] = {"months": MONTHS, "radius_m": RADIUS_M, "limit": 100}


async def _answer(request: Request, store: Store, taxonomy: Taxonomy,
                  q: PersistentQuery) -> dict[str, Any]:
    version = await run_in_threadpool(store.data_version)

    def compute(_stop: Any) -> dict[str, Any]:
        return persistent_answer(store, taxonomy, months=q.months, min_months=q.min_months,
                                 radius_m=q.radius_m, end=q.end, limit=q.limit)

    answer: dict[str, Any] = await within(request, ("asb-persistent", version, q.key()),
                                          compute)
    return answer


@router.get(
    "/v1/asb/persistent",
    responses={200: {"content": {"application/json": {}, "application/geo+json": {},
                                 "text/csv": {}},
                     "description": "The persistent places, best first."}},
)
async def persistent_asb(
    request: Request,
    store: StoreDep,
    taxonomy: TaxonomyDep,
    q: PersistentQuery = Depends(),
    format: Literal["json", "csv", "geojson"] = Query(
        "json", description="json: the places and the counts; csv: one row per place, one "
        "column per month; geojson: the places as WGS84 points with the attribution."),
) -> Response:
    """Persistent anti-social behaviour: the places (data.police.uk map points, or exact
    addresses in a force export) with ASB recorded in at least `min_months` of the last
    `months` months, ranked by months with ASB, then ASB incidents, then the latest month.
    Each place has its month-by-month history (zeros included), the other persistent places
    within `radius_m` and the category mix of every incident within `radius_m` over the same
    months. For case work with partner agencies under an information-sharing agreement: exact
    places, so staff and the Rural Crime Team only."""
    answer = await _answer(request, store, taxonomy, q)
    who = getattr(request.state, "principal", None)
    await run_in_threadpool(
        store.audit, key_id=who.key_id if who else None, role=who.role if who else None,
        action="asb_persistent", path=request.url.path,
        filter={"months": q.months, "min_months": q.min_months, "radius_m": q.radius_m,
                "end": q.end, "limit": q.limit, "format": format},
        rows=len(answer["places"]))
    headers = {"X-Data-Version": answer["data_version"], "Cache-Control": "private, max-age=60"}
    name = f"persistent-asb-{answer['end'] or 'none'}"
    if format == "csv":
        headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return Response(answer_csv(answer).encode(), media_type="text/csv; charset=utf-8",
                        headers=headers)
    if format == "geojson":
        headers["Content-Disposition"] = f'attachment; filename="{name}.geojson"'
        return Response(answer_json(answer_geojson(answer)),
                        media_type="application/geo+json", headers=headers)
    return Response(answer_json(answer), media_type="application/json", headers=headers)


@router.get("/asb", response_class=HTMLResponse, include_in_schema=False)
async def asb_page(request: Request, store: StoreDep, taxonomy: TaxonomyDep,
                   settings: SettingsDep, q: PersistentQuery = Depends()) -> HTMLResponse:
    """The persistent ASB page: the places ranked, their month strips, nearby repeat
    locations and category mix, a small map, and the CSV and GeoJSON downloads."""
    answer = await _answer(request, store, taxonomy, q)
    nav = await run_in_threadpool(page_nav, request, store, "asb")
    page = asb_page_html(
        answer, assets="/static", nav=nav, tiles_url=page_tile_url(settings),
        tiles_attribution=settings.tile_attribution,
        csv_url=f"/v1/asb/persistent?{q.query_string(format='csv')}",
        geojson_url=f"/v1/asb/persistent?{q.query_string(format='geojson')}",
        form={"months": q.months, "min_months": answer["parameters"]["min_months"],
              "radius_m": q.radius_m, "end": answer["end"] or ""})
    return HTMLResponse(page, headers={"Cache-Control": "private, no-cache",
                                       "X-Data-Version": answer["data_version"]})
