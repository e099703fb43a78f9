"""Stop and search records (data.police.uk ``*-stop-and-search.csv``, loaded by ``hotspot
ingest`` or ``POST /v1/incidents``) for staff: a summary and the located records."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from api.deps import SettingsDep, StoreDep
from api.errors import InvalidInput
from api.services.selection import period_bound
from api.services.stop_search import stop_search_answer

router = APIRouter(prefix="/v1", tags=["stop and search"])


@router.get(
    "/stop-search",
    responses={200: {"content": {"application/json": {}, "application/geo+json": {}},
                     "description": "The summary and the located searches (JSON), or the "
                     "located searches only (format=geojson)."}},
)
async def stop_search(
    store: StoreDep,
    settings: SettingsDep,
    from_: str | None = Query(None, alias="from", max_length=40, description="Start "
                              "(inclusive): a month (YYYY-MM), date or date-time in the "
                              "force's time zone, or with an offset."),
    to: str | None = Query(None, max_length=40, description="End: a date-time (exclusive), or "
                           "a month or date (that whole month or day included)."),
    format: Literal["json", "geojson"] = Query("json", description="json: the summary and the "
                                               "points; geojson: the points only."),
    limit: int | None = Query(None, ge=0, description="Most points (located searches): "
                              "default 1000, at most HOTSPOT_MAX_PAGE_SIZE; the summary always "
                              "counts every search."),
) -> JSONResponse:
    """Stop and search records of a period: ``summary`` (searches, located, by month in the
    force's time zone, by object of search, by outcome, by month and object) and ``points``, a
    GeoJSON FeatureCollection (RFC 7946: WGS84 longitude/latitude) of the searches with a
    location, oldest first (``numberMatched``: all located; ``unlocated``: searches with no
    place, counted in the summary only). Staff only: these are people's locations."""
    start = period_bound(from_, store.timezone, end=False, field="from")
    end = period_bound(to, store.timezone, end=True, field="to")
    if start is not None and end is not None and start >= end:
        raise InvalidInput("'to' must be after 'from'", field="to")
    most = min(1000, settings.max_page_size) if limit is None else limit
    if most > settings.max_page_size:
        raise InvalidInput(f"limit must be at most {settings.max_page_size}", field="limit")
    answer = await run_in_threadpool(stop_search_answer, store, start=start, end=end,
                                     limit=most)
    answer["filters"] = {"from": from_, "to": to, "limit": most}
    if format == "geojson":
        return JSONResponse(answer["points"], media_type="application/geo+json")
    return JSONResponse(answer)
