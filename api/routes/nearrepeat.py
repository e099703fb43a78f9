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

import numpy as np
import pandas as pd
import shapely
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from api.deps import StoreDep, TaxonomyDep
from api.errors import BadRequest
from api.services.hotspots import ATTRIBUTION, ParameterError, Selection, period_bound, split_categories
from geodata.stores import Store
from geodata.taxonomy import Taxonomy
from hotspot.cancel import ShouldStop, check
from hotspot.errors import InvalidParameter
from hotspot.nearrepeat import (
    DAY_BANDS,
    DISTANCE_BANDS_M,
    MAX_PERMUTATIONS,
    KnoxResult,
    knox_test,
    local_days,
    require_exact_dates,
    risk_zones,
)

router = APIRouter(prefix="/v1", tags=["near-repeat"])

NEAR_REPEAT_CATEGORIES = ("residential_burglary", "business_burglary", "burglary",
                          "vehicle_crime", "agricultural_theft", "plant_machinery_theft")
"""The categories tested when none (and no priority) is given: the crimes near repeats are
known for (burglary, vehicle crime, agricultural and plant theft)."""
API_MAX_PAIRS = 5_000_000
"""Most pairs within the last distance band one request may count (about 60 bytes each while
they are found; 2.8 million for four years of New York's vehicle thefts within 800 m)."""
API_MAX_WORK = 300_000_000
"""Most pair counts (pairs x (permutations + 1)) one request may make: about 8 s here."""


def parse_bands(text: str | None, default: tuple[float, ...], field: str) -> tuple[float, ...]:
    """A comma list of band edges (``0,100,200``) as numbers; the default when empty.

    Raises
    ------
    ParameterError
        Naming ``field``, for anything that is not numbers.
    """
    if text is None or not text.strip():
        return default
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise ParameterError(f"{field} must be numbers separated by commas, such as "
                             f"{','.join(f'{v:g}' for v in default)}", field) from None
    return values


@dataclass(frozen=True)
class NearRepeat:
    """A near-repeat analysis: the test, the zones (store CRS), what was analysed."""

    result: KnoxResult
    zones: Any
    metadata: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """The JSON answer: the test's table and reading with the metadata."""
        return {**self.result.to_dict(), **self.metadata, "zones": len(self.zones),
                "reading": self.result.plain_reading(self.metadata["noun"])}

    def zones_geojson(self) -> dict[str, Any]:
        """The risk zones as an RFC 7946 FeatureCollection (WGS84)."""
        zones = self.zones
        tz = self.metadata["timezone"]
        features = []
        if len(zones):
            wgs = zones.to_crs("EPSG:4326")
            geoms = shapely.set_precision(np.asarray(wgs.geometry.values, dtype=object), 1e-6)
            starts = _stamps(zones["from_day"].to_numpy(), tz)
            ends = _stamps(zones["until_day"].to_numpy(), tz)
            for g, a, b, d, n, r in zip(geoms, starts, ends, zones["distance_m"],
                                        zones["days"], zones["ratio"], strict=True):
                features.append({"type": "Feature", "geometry": shapely.geometry.mapping(g),
                                 "properties": {"from": a, "until": b, "distance_m": float(d),
                                                "days": float(n), "ratio": float(r)}})
        return {"type": "FeatureCollection", "features": features,
                "extent": self.result.to_dict()["extent"],
                "reading": self.result.plain_reading(self.metadata["noun"]),
                **{k: v for k, v in self.metadata.items() if k != "noun"}}


def _stamps(days: np.ndarray, timezone: str) -> list[str]:
    """Local wall-clock days (:func:`hotspot.nearrepeat.local_days`) as ISO date-times."""
    wall = pd.to_datetime(np.round(days * 86_400).astype(np.int64), unit="s")
    return [s.tz_localize(timezone, ambiguous=True, nonexistent="shift_forward").isoformat()
            for s in wall]


def _noun(categories: set[str]) -> str:
    """What to call one incident of these categories in the plain reading."""
    if categories and categories <= {"vehicle_crime"}:
        return "vehicle crime"
    if categories and all("burglary" in c for c in categories):
        return "burglary"
    if categories and categories <= {"agricultural_theft", "plant_machinery_theft"}:
        return "agricultural or plant theft"
    return "incident"


def near_repeat(
    store: Store,
    taxonomy: Taxonomy,
    selection: Selection,
    *,
    distance_bands_m: tuple[float, ...] = DISTANCE_BANDS_M,
    day_bands: tuple[float, ...] = DAY_BANDS,
    permutations: int = 99,
    seed: int = 0,
    as_of: int | None = None,
    max_pairs: int = API_MAX_PAIRS,
    max_work: int = API_MAX_WORK,
    should_stop: ShouldStop | None = None,
) -> NearRepeat:
    """The Knox test of a selection of the store and its risk zones on ``as_of``.

    Parameters
    ----------
    selection
        The incidents; with neither categories nor a priority, :data:`NEAR_REPEAT_CATEGORIES`.
    as_of
        Seconds since the epoch (UTC) the zones are drawn for: the zones of the incidents
        before it that still run then; default just after the latest incident selected.

    Raises
    ------
    ParameterError
        An unknown category or priority.
    hotspot.InvalidParameter
        Dates not to the day (month-only data), a band or permutation count out of range, or
        more work than ``max_pairs`` / ``max_work`` allow; ``parameter`` names it.
    """
    if not selection.categories and not selection.priority:
        default = tuple(c for c in NEAR_REPEAT_CATEGORIES if c in taxonomy.categories)
        selection = Selection(start=selection.start, end=selection.end, categories=default,
                              bbox=selection.bbox, lonlat_bbox=selection.lonlat_bbox)
    flt = selection.incident_filter(taxonomy)
    cols = store.incidents(flt)
    check(should_stop, "after reading the incidents")
    usable = require_exact_dates(cols.precision)
    xy = np.column_stack([cols.x, cols.y])[usable]
    days = local_days(cols.occurred_at[usable], store.timezone)
    result = knox_test(xy, days, distance_bands_m=distance_bands_m, day_bands=day_bands,
                       permutations=permutations, seed=seed, max_pairs=max_pairs,
                       max_work=max_work, should_stop=should_stop)
    as_of_day = (float(local_days([as_of], store.timezone)[0]) - 1e-9 if as_of is not None
                 else float(days.max()) + 1e-9)
    zones = risk_zones(xy, days, result, as_of_day=as_of_day, crs=store.crs)
    cats = list(flt.categories) if flt.categories else None
    present = {str(c) for c in pd.unique(np.asarray(cols.category)[usable])}
    noun = _noun(present)
    metadata = {
        "data_version": cols.data_version,
        "selection": {**selection.to_dict(store.timezone), "categories": cats},
        "left_out_month_only": int((~usable).sum()),
        "as_of": _stamps(np.array([as_of_day]), store.timezone)[0],
        "crs_of_analysis": store.crs,
        "timezone": store.timezone,
        "noun": noun,
        "attribution": ATTRIBUTION,
        "privacy": "risk zones are centred on incidents (victims' locations): for the force's "
                   "own staff only",
    }
    return NearRepeat(result=result, zones=zones, metadata=metadata)


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


def _compute(store: Store, taxonomy: Taxonomy, q: NearRepeatQuery,
             should_stop: ShouldStop | None) -> dict[str, Any]:
    try:
        start = period_bound(q.from_, store.timezone, end=False, field="from")
        end = period_bound(q.to, store.timezone, end=True, field="to")
        as_of = period_bound(q.as_of, store.timezone, end=True, field="as_of")
        distance = parse_bands(q.distance_bands_m, DISTANCE_BANDS_M, "distance_bands_m")
        days = parse_bands(q.day_bands, DAY_BANDS, "day_bands")
        if start is not None and end is not None and start >= end:
            raise ParameterError("'to' must be after 'from'", "to")
        selection = Selection(start=start, end=end, categories=split_categories(q.category),
                              priority=q.priority)
        found = near_repeat(store, taxonomy, selection, distance_bands_m=distance,
                            day_bands=days, permutations=q.permutations, seed=q.seed,
                            as_of=as_of, max_pairs=API_MAX_PAIRS, max_work=API_MAX_WORK,
                            should_stop=should_stop)
    except ParameterError as exc:
        raise BadRequest(str(exc), field=exc.field) from None
    except InvalidParameter as exc:
        raise BadRequest(str(exc), field=exc.parameter) from None
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
    app = request.app
    who = getattr(request.state, "principal", None)
    version = store.data_version()
    computed = await app.state.cache.within(
        ("near-repeat", version, q.key()),
        lambda stop: _compute(store, taxonomy, q, stop),
        app.state.settings.request_timeout_s,
        admit=lambda: app.state.analysis_budget.admit(who),
        disconnected=lambda: _client_gone(request))
    store.audit(key_id=who.key_id if who else None, role=who.role if who else None,
                action="near_repeat", path=request.url.path,
                filter={"from": q.from_, "to": q.to, "category": q.category,
                        "priority": q.priority, "as_of": q.as_of, "format": format},
                rows=int(computed["zones"] if format == "geojson" else computed["incidents"]))
    headers = {"X-Data-Version": computed["version"], "Cache-Control": "private, max-age=60"}
    if format == "geojson":
        return Response(computed["geojson"], media_type="application/geo+json", headers=headers)
    return Response(computed["json"], media_type="application/json", headers=headers)


async def _client_gone(request: Request) -> None:
    from api.routes.hotspots import client_gone

    await client_gone(request)
