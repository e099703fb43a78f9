"""Near-repeat risk: the Knox test on the store's incidents, and the risk zones it implies.

``GET /v1/near-repeat`` (and ``hotspot near-repeat``) select incidents as the hotspot endpoints
do (categories or a priority, a period), check they are dated to the day (data.police.uk months
cannot show near repeats: 422 with the reason), run :func:`hotspot.nearrepeat.knox_test` in a
worker thread through the result cache (the analysis budget, the request timeout, stopped when
the client goes), and answer with the table (``format=json``) or the risk zones as GeoJSON
(``format=geojson``).

**Who may call it.** The zones are discs centred on recent incidents: victims' homes and cars.
Only the roles that may read incidents (``admin``, ``analyst``; :data:`api.access.ACCESS`) may
call it; every call is written to the audit log.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from api.deps import StoreDep, TaxonomyDep
from api.errors import InvalidInput, as_invalid_input
from api.services.cached import within
from api.services.nearrepeat import API_MAX_PAIRS, API_MAX_WORK, near_repeat, parse_bands
from api.services.selection import Selection, period_bound, split_categories
from geodata.stores import IncidentStore
from geodata.taxonomy import Taxonomy
from hotspot.cancel import ShouldStop
from hotspot.nearrepeat import DAY_BANDS, DISTANCE_BANDS_M, MAX_PERMUTATIONS

router = APIRouter(prefix="/v1", tags=["near-repeat"])


@dataclass
class NearRepeatQuery:
    """Query parameters of GET /v1/near-repeat."""

    category: list[str] | None = Query(None, description="Taxonomy categories (repeat, or "
                                       "separate with commas). Default: burglary, vehicle "
                                       "crime, agricultural and plant theft.")
    priority: str | None = Query(None, description="A plan priority: all its categories.")
    from_: str | None = Query(None, alias="from", description="Start: YYYY-MM, YYYY-MM-DD or "
                              "a date-time, local time.")
    to: str | None = Query(None, description="End, included: YYYY-MM (the whole month) or "
                           "YYYY-MM-DD (the whole day), or a date-time (excluded).")
    distance_bands_m: str | None = Query(
        None, max_length=600, description="Distance band edges, metres, from 0, increasing, "
        "comma-separated (default 0,100,200,400,800; left-closed, right-open; at most 10000).")
    day_bands: str | None = Query(
        None, max_length=600, description="Day band edges, from 0, increasing, comma-separated "
        "(default 0,7,14,21,28; left-closed, right-open; at most 366).")
    permutations: int = Query(99, ge=19, le=MAX_PERMUTATIONS, description="Monte Carlo "
                              "permutations of the dates (99: p-values down to 0.01; at least 19, for 0.05).")
    seed: int = Query(0, ge=0, le=2**63 - 1, description="Seed of the permutations (the same "
                      "seed, the same answer).")
    as_of: str | None = Query(None, description="Risk zones (format=geojson) for the incidents "
                              "before this date (YYYY-MM-DD: that day included) or date-time; "
                              "default: after the latest incident selected.")

    def key(self) -> tuple[Any, ...]:
        """A hashable form of every parameter (for the cache)."""
        return tuple(sorted((k, tuple(v) if isinstance(v, list) else v)
                            for k, v in asdict(self).items()))


def _compute(store: IncidentStore, taxonomy: Taxonomy, q: NearRepeatQuery,
             should_stop: ShouldStop | None) -> dict[str, Any]:
    with as_invalid_input():
        start = period_bound(q.from_, store.timezone, end=False, field="from")
        end = period_bound(q.to, store.timezone, end=True, field="to")
        as_of = period_bound(q.as_of, store.timezone, end=True, field="as_of")
        distance = parse_bands(q.distance_bands_m, DISTANCE_BANDS_M, "distance_bands_m")
        days = parse_bands(q.day_bands, DAY_BANDS, "day_bands")
        if start is not None and end is not None and start >= end:
            raise InvalidInput("'to' must be after 'from'", "to")
        selection = Selection(start=start, end=end, categories=split_categories(q.category),
                              priority=q.priority)
        found = near_repeat(store, taxonomy, selection, distance_bands_m=distance,
                            day_bands=days, permutations=q.permutations, seed=q.seed,
                            as_of=as_of, max_pairs=API_MAX_PAIRS, max_work=API_MAX_WORK,
                            should_stop=should_stop)
    return {"json": json.dumps(found.to_dict(), separators=(",", ":")).encode(),
            "geojson": json.dumps(found.zones_geojson(), separators=(",", ":")).encode(),
            "version": found.metadata["data_version"], "zones": len(found.zones),
            "incidents": found.result.incidents}


@router.get(
    "/near-repeat",
    responses={200: {"content": {"application/json": {}, "application/geo+json": {}},
                     "description": "The Knox test's table, or the risk zones."},
               422: {"description": "A bad parameter, or incidents not dated to the day "
                     "(data.police.uk gives months only)."}},
)
async def near_repeat_route(
    request: Request,
    store: StoreDep,
    taxonomy: TaxonomyDep,
    q: NearRepeatQuery = Depends(),
    format: Literal["json", "geojson"] = Query("json", description="json: the Knox table and "
                                               "the zone; geojson: the risk zones (WGS84)."),
) -> Response:
    """Near-repeat risk: is an incident followed by others close by within days more often
    than chance (Knox test, seeded Monte Carlo permutations of the dates)? The answer gives
    the table per distance and day band, the zone (distance and days where every band from
    the origin is significant) and a plain reading; ``format=geojson`` gives the risk zones:
    a disc of the zone's distance around each incident of the zone's last days, with the date
    it runs until.

    Needs incidents dated to the day (a force's own export): data.police.uk months give 422.
    Admin and analyst only (the zones are centred on victims' locations)."""
    who = getattr(request.state, "principal", None)
    version = await run_in_threadpool(store.data_version)
    computed = await within(request, ("near-repeat", version, q.key()),
                            lambda stop: _compute(store, taxonomy, q, stop))
    await run_in_threadpool(
        store.audit, key_id=who.key_id if who else None, role=who.role if who else None,
        action="near_repeat", path=request.url.path,
        filter={"from": q.from_, "to": q.to, "category": q.category,
                "priority": q.priority, "as_of": q.as_of, "format": format},
        rows=int(computed["zones"] if format == "geojson" else computed["incidents"]))
    headers = {"X-Data-Version": computed["version"], "Cache-Control": "private, max-age=60"}
    if format == "geojson":
        return Response(computed["geojson"], media_type="application/geo+json", headers=headers)
    return Response(computed["json"], media_type="application/json", headers=headers)
