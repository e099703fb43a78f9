"""A hotspot's own page: ``GET /hotspots/{hotspot_id}?<the parameters of GET /v1/hotspots>``.

**The address.** A hotspot's ``id`` (``dbscan-001``) is its rank within one result: the result
of one set of parameters on one version of the data, which the service computes once and keeps
(:func:`api.services.hotspot_results.computed_hotspots`). So the page's address is the id *and* the
parameters that made the result, exactly those of ``GET /v1/hotspots`` and the planner's map;
opening it reads the same cached result (or computes it once). The address can be shared and
bookmarked; when the data changes (a new ingest) the same address shows the hotspot of that
rank in the new result, and when no hotspot of the result has the id the page says so (404)
with a link to the map of the same parameters.

**What it shows.** From the hotspot table: rank, name, class and team, incidents, harm, trend,
emerging class, peak hours, heritage sites. From the incidents inside the hotspot's polygon
(read from the store by a bounding box around it, so the work is bounded by the place, not the
force): incidents by month over the selection's period and the 12 months before, by category,
and by hour of the week when times of day are known (data.police.uk gives months only: the
page says so instead of drawing a grid). Aggregates only, never an incident's point. Prevention
advice for the main categories (:mod:`geodata.advice`). The patrol plans that went there and
the patrol dosage they delivered: visits made against planned, and minutes on site only from
visits whose end was recorded (visits with none are counted, never given a guessed time).

**Which plans count.** The priority report's rule (:func:`hotspot.dosage.shift_status`): only
published plans whose shift has started by now count against the visits made; a shift under
way counts its visits so far. Plans of shifts still to come are shown apart ("N more
planned"), and so are drafts (listed to the staff who see drafts: no crew ever had them),
never as visits missed.

**Which plans visited it.** A stop matches when its ``hotspot_id`` is this id *and* its
position lies within :data:`MATCH_M` of this polygon. Both, because an id names a rank, not a
place: after a new ingest (or in a plan made with other parameters) ``dbscan-001`` may be
another place, so the id alone would credit this place with visits made elsewhere; and a stop
stands at its hotspot's incident centroid, which for a concave area can fall just outside the
outline (hence the tolerance). The latest :data:`PLANS_SCANNED` plans are read.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from pyproj import Transformer

from api.access import DRAFT_ROLES
from api.csrf import masked, session_csrf_token
from api.deps import SettingsDep, StoreDep, TaxonomyDep
from api.formats import ATTRIBUTION, tile_url
from api.pages import key_name
from api.services.advice import category_advice
from api.services.hotspot_query import HotspotQuery, selection_of
from api.services.hotspot_results import computed_hotspots
from api.services.hotspots import history_start, map_layers
from api.services.selection import Selection
from geodata.advice import PreventionAdvice
from geodata.coords import WGS84
from geodata.schema import IncidentFilter
from geodata.stores import IncidentStore, LayerStore, Store
from geodata.taxonomy import Taxonomy
from hotspot.dosage import COUNTED, patrol_dosage, plans_dosage, shift_status
from hotspot.inside import prepared_copies
from hotspot.placecounts import PlaceCounts, month_range, place_counts
from maps.hotspot_page import (
    AdviceBlock,
    HotspotPageData,
    PlaceAdviceBlock,
    PlanVisit,
    hotspot_not_found_page,
    hotspot_page,
)

router = APIRouter(tags=["pages"])

MATCH_M = 50.0
"""How near this polygon a plan's stop of the same id must be to count as a visit here, metres."""
PLANS_SCANNED = 200
"""The most recent plans read for visits to a hotspot."""
NEAR_M = 2_000.0
"""The box read around a polygon reaches this far beyond it, metres: months with no incident at
all in it (before the store's data starts there, or after it ends) show as "no data"."""
BEFORE_MONTHS = 12
"""Months before the selection the monthly chart shows."""
MAX_MONTHS = 60
"""The most months the monthly chart shows (the latest)."""
OPEN_MONTHS = 36
"""Months shown when the selection has no start or end (the latest with data)."""
TOP_ADVICE = 3
"""Advice is shown for this many of the hotspot's largest categories."""
_ID = re.compile(r"^[a-z_]{1,20}-[0-9]{1,6}$")


@lru_cache(maxsize=4)
def _advice(path: Path | None) -> PreventionAdvice:
    return PreventionAdvice.load(path)


@dataclass
class _Counts:
    """The incident aggregates of a hotspot's page (cached per data version and parameters)."""

    counts: PlaceCounts
    months: list[str]
    selected_months: set[str]
    no_data: set[str]


def _chart_months(selection: Selection, timezone: str,
                  data_months: tuple[str, str] | None) -> tuple[list[str], set[str]]:
    """The months of the monthly chart and which of them are the selection's."""
    def month(seconds: int) -> str:
        return str(pd.Timestamp(seconds, unit="s", tz="UTC").tz_convert(timezone)
                   .strftime("%Y-%m"))

    if selection.start is not None and selection.end is not None:
        chosen = month_range(month(selection.start), month(selection.end - 1))
        before = month_range(month(history_start(selection.start, timezone,
                                                 BEFORE_MONTHS)), chosen[0])[:-1]
        months = (before + chosen)[-MAX_MONTHS:]
        return months, set(chosen)
    if data_months is None:
        return [], set()
    first, last = data_months
    if selection.start is not None:
        first = max(first, month(selection.start))
    if selection.end is not None:
        last = min(last, month(selection.end - 1))
    months = month_range(first, last)[-OPEN_MONTHS:]
    return months, set(months)


def _box(polygon: Any, selection: Selection) -> tuple[float, float, float, float]:
    minx, miny, maxx, maxy = shapely.bounds(polygon).tolist()
    box = (minx - NEAR_M, miny - NEAR_M, maxx + NEAR_M, maxy + NEAR_M)
    if selection.bbox is not None:  # the analysis saw only the selection's box
        a = selection.bbox
        inter = (max(box[0], a[0]), max(box[1], a[1]), min(box[2], a[2]), min(box[3], a[3]))
        if inter[0] <= inter[2] and inter[1] <= inter[3]:
            box = inter
    return box


def place_incidents(store: IncidentStore, taxonomy: Taxonomy, selection: Selection,
                    polygon: Any) -> _Counts:
    """Counts of the selection's incidents inside ``polygon`` (store CRS, metres): in the
    selection's period by category and hour of the week, and by month over the chart's months
    (the selection's and the 12 before).

    Reads the store once, by a box :data:`NEAR_M` around the polygon (every category, so that
    months with no data near here can be told from months with no crime of the selection's)."""
    categories = selection.categories_for(taxonomy)
    tz = store.timezone
    start = selection.start
    if start is not None and selection.end is not None:
        start = history_start(start, tz, BEFORE_MONTHS + 1)  # the chart's first month
    flt = IncidentFilter(start=start, end=selection.end, bbox=_box(polygon, selection),
                         lonlat_bbox=selection.lonlat_bbox)
    cols = store.incidents(flt, lonlat=False)
    cats = np.asarray(cols.category, dtype=object)
    selected = np.isin(cats, list(categories)) if categories else None
    first = place_counts(polygon, cols.x, cols.y, cols.occurred_at, cols.precision, cats,
                         period=(selection.start, selection.end), timezone=tz,
                         selected=selected)
    months, chosen = _chart_months(selection, tz, first.months_with_data)
    counts = place_counts(polygon, cols.x, cols.y, cols.occurred_at, cols.precision, cats,
                          period=(selection.start, selection.end), months=months, timezone=tz,
                          selected=selected)
    no_data: set[str] = set()
    if counts.months_with_data is None:
        no_data = set(months)
    else:
        lo, hi = counts.months_with_data
        no_data = {m for m in months if m < lo or m > hi}
    return _Counts(counts=counts, months=months, selected_months=chosen, no_data=no_data)


@lru_cache(maxsize=8)
def _from_wgs84(crs: str) -> Transformer:
    """WGS84 longitude/latitude to ``crs`` (made once: making one takes about 0.1 s)."""
    return Transformer.from_crs(WGS84, crs, always_xy=True)


@dataclass(frozen=True)
class _Stop:
    """A plan's hotspot stop as this page needs it (position in the store's CRS, metres)."""

    hotspot_id: str
    stop_id: str
    x: float
    y: float
    dwell_min: float
    crew: str
    team: str
    name: str

    def as_stop(self) -> dict[str, Any]:
        """The stop as a plan document holds it (for :func:`hotspot.dosage.patrol_dosage`)."""
        return {"kind": "hotspot", "stop_id": self.stop_id, "hotspot_id": self.hotspot_id,
                "dwell_min": self.dwell_min, "name": self.name}


def _plan_stops(store: Store, plan_id: str) -> list[_Stop]:
    """The hotspot stops of a stored plan (empty if it is gone)."""
    stored = store.get_plan(plan_id)
    if stored is None:
        return []
    stops = [(r, s) for r in stored["plan"].get("routes", []) for s in r.get("stops", [])
             if s.get("hotspot_id") and s.get("stop_id")
             and isinstance(s.get("lon"), (int, float)) and math.isfinite(s["lon"])
             and isinstance(s.get("lat"), (int, float)) and math.isfinite(s["lat"])]
    if not stops:
        return []
    xs, ys = _from_wgs84(store.crs).transform([s["lon"] for _, s in stops],
                                              [s["lat"] for _, s in stops])
    return [_Stop(str(s["hotspot_id"]), str(s["stop_id"]), float(x), float(y),
                  float(s.get("dwell_min") or 0.0), str(r.get("label") or ""),
                  str(r.get("unit") or ""), str(s.get("name") or ""))
            for (r, s), x, y in zip(stops, xs, ys, strict=True)]


def _here_plan(stops: list[_Stop]) -> dict[str, Any]:
    """A plan document holding only ``stops`` (this hotspot's), route by route."""
    routes: dict[str, dict[str, Any]] = {}
    for s in stops:
        route = routes.setdefault(s.crew, {"label": s.crew, "unit": s.team, "stops": []})
        route["stops"].append(s.as_stop())
    return {"routes": list(routes.values())}


def plan_visits(store: Store, hotspot_id: str, polygon: Any,
                known: dict[tuple[str, str], list[_Stop]] | None = None, *,
                drafts: bool = True, now: datetime | None = None
                ) -> tuple[list[PlanVisit], dict[str, Any]]:
    """The plans (of the latest :data:`PLANS_SCANNED`) with stops at this hotspot (same id and
    within :data:`MATCH_M` of ``polygon``, store CRS), each with its
    :func:`hotspot.dosage.shift_status` at ``now`` (an aware datetime, default the present)
    and the patrol dosage delivered here (:func:`hotspot.dosage.patrol_dosage` of those stops:
    planned visits, visits made, minutes on site from the visits that recorded an end, visits
    with none), and the dosage over the plans that count (:func:`hotspot.dosage.plans_dosage`'s
    ``totals`` over the published plans whose shift has started: the priority report's rule).
    A plan that does not count (a draft, a shift still to come) carries its planned visits
    only: its visits are not read.

    ``known`` keeps each plan's stops between calls (a plan's routes never change once
    stored: a copy is a new plan), keyed by plan id and creation time; without it every plan
    is read (a plan document is about 120 kB: 200 of them take about a second). ``drafts``:
    False leaves out plans not yet published (the Rural Crime Team sees published plans only);
    True lists them too, never counted."""
    if now is None:
        now = datetime.now(UTC)
    polygon = prepared_copies(polygon)  # the cached result's is shared by other requests
    cache: dict[tuple[str, str], list[_Stop]] = {} if known is None else known
    out: list[PlanVisit] = []
    delivered: list[tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]] = []
    for summary in store.list_plans(PLANS_SCANNED, published_only=not drafts):
        key = (str(summary["plan_id"]), str(summary.get("created_at")))
        if key not in cache:
            if len(cache) >= 4 * PLANS_SCANNED:
                cache.clear()
            cache[key] = _plan_stops(store, key[0])
        stops = [s for s in cache[key] if s.hotspot_id == hotspot_id]
        if not stops:
            continue
        near = shapely.dwithin(polygon, shapely.points([s.x for s in stops],
                                                       [s.y for s in stops]), MATCH_M)
        here = [s for s, ok in zip(stops, near.tolist(), strict=True) if ok]
        if not here:
            continue
        ids = {s.stop_id for s in here}
        status = shift_status(summary, now)
        # the listing counts the visits: none (or a plan not counted), no query
        logged = summary.get("visits", 1) != 0 and status in COUNTED
        visits = [v for v in store.plan_visits(key[0]) if v["stop_id"] in ids] if logged \
            else []
        plan = _here_plan(here)
        if status in COUNTED:
            delivered.append((summary, plan, visits))
        dose = patrol_dosage(plan, visits)["totals"]
        out.append(PlanVisit(
            plan_id=key[0], name=str(summary.get("name") or ""),
            shift_start=str(summary.get("shift_start") or ""),
            shift_end=str(summary.get("shift_end") or ""),
            crews=tuple(dict.fromkeys(s.crew for s in here)),
            planned=dose["planned_visits"], planned_minutes=dose["planned_min"],
            made=dose["visits_made"], share=dose["share"], logged=len(visits),
            minutes=dose["minutes_on_site"], untimed=dose["untimed_visits"],
            last_visit=max((v["visited_at"] for v in visits), default=None),
            status=status))
    return out, plans_dosage(delivered)["totals"]


def _advice_blocks(advice: PreventionAdvice, taxonomy: Taxonomy,
                   by_category: dict[str, int]) -> list[AdviceBlock]:
    blocks: list[AdviceBlock] = []
    seen: set[int] = set()
    for key in by_category:
        if len(blocks) >= TOP_ADVICE:
            break
        cat = taxonomy.categories.get(key)
        entry = advice.for_category(key, cat.priority if cat else None)
        if entry is None or id(entry) in seen:
            continue
        seen.add(id(entry))
        label = cat.label if cat else key.replace("_", " ")
        blocks.append(AdviceBlock(category=label, source=entry.source,
                                  steps=entry.by_audience()))
    return blocks


def _nearby_layers(store: LayerStore, polygon: Any) -> dict[str, Any]:
    """The reference layers near the polygon (within :data:`NEAR_M`), as GeoJSON (WGS84)."""
    out: dict[str, Any] = {}
    area = shapely.buffer(polygon, NEAR_M)
    for kind, frame in map_layers(store).items():
        if frame is None or not len(frame):
            continue
        near = frame[shapely.intersects(frame.geometry.values, area)]
        if len(near):
            keep = [c for c in ("name", "geometry") if c in near.columns]
            data = json.loads(near[keep].to_crs(WGS84).to_json(drop_id=True))
            data.pop("crs", None)
            out[kind] = data
    return out


@router.get("/hotspots/{hotspot_id}", response_class=HTMLResponse,
            responses={404: {"content": {"text/html": {}},
                             "description": "No hotspot of this result has that id (an HTML "
                                            "page with a link to the map of the same "
                                            "parameters)."}})
async def hotspot_page_route(
    request: Request, hotspot_id: str, store: StoreDep, taxonomy: TaxonomyDep,
    settings: SettingsDep, q: HotspotQuery = Depends(),
) -> HTMLResponse:
    """A hotspot's own page (HTML): where it is, its incidents by month, by category and by
    hour of the week (aggregates only), its trend and emerging class, prevention advice for its
    main categories, and the patrol plans that went there with the visits made against those
    planned and the minutes on site recorded.

    The query takes exactly the parameters of ``GET /v1/hotspots``: the id is the hotspot's
    ``id`` in the result those parameters make (cached per data version)."""
    query = q.query_string()
    who = getattr(request.state, "principal", None)
    session_id = who.session_id if who is not None and who.via == "session" else None
    nav = {"role": who.role if who is not None else None, "signed_in": session_id is not None,
           # masked afresh in every answer: the page is gzipped beside text from its
           # address, where one fixed secret would leak through the size (BREACH)
           "csrf": masked(await run_in_threadpool(session_csrf_token, store, session_id))
           if session_id else None,
           "who": await run_in_threadpool(key_name, store, who) or None}
    computed, version = await computed_hotspots(request, store, taxonomy, q)
    table = computed.table
    found = np.flatnonzero(table["id"].astype(str).to_numpy() == hotspot_id) \
        if _ID.match(hotspot_id) else np.empty(0, dtype=np.int64)
    if not len(found):
        page = hotspot_not_found_page(hotspot_id, query=query, data_version=version,
                                      hotspots=len(table), nav=nav)
        return HTMLResponse(page, status_code=404, headers={"Cache-Control": "no-store"})
    row = table.iloc[int(found[0])]
    polygon = row.geometry
    selection = await run_in_threadpool(selection_of, q, store)
    counts: _Counts = await request.app.state.cache.get(
        ("hotspot-page", version, q.key(), hotspot_id),
        lambda: place_incidents(store, taxonomy, selection, polygon))
    known = getattr(request.app.state, "plan_stops", None)
    if known is None:
        known = request.app.state.plan_stops = {}
    drafts = who is None or who.role in DRAFT_ROLES  # the team sees published plans only
    visits, dosage = await run_in_threadpool(plan_visits, store, hotspot_id, polygon, known,
                                             drafts=drafts)
    advice = getattr(request.app.state, "advice", None) or _advice(settings.prevention_advice_path)
    place = category_advice(advice, taxonomy, row.get("category_mix") or {},
                            str(row.get("context_class") or "") or None)
    layers = await run_in_threadpool(_nearby_layers, store, polygon)
    outline = shapely.geometry.mapping(
        shapely.set_precision(_to_wgs84(polygon, store.crs), 1e-6))
    labels = {k: c.label for k, c in taxonomy.categories.items()}
    data = HotspotPageData(
        row={k: row[k] for k in table.columns if k != "geometry"},
        outline=outline,
        layers=layers,
        selection=computed.metadata.get("selection") or {},
        timezone=store.timezone,
        method=q.method,
        query=query,
        data_version=version,
        previous_period=bool(computed.metadata.get("previous_period")),
        counts=counts.counts,
        months=counts.months,
        selected_months=counts.selected_months,
        no_data_months=counts.no_data,
        category_labels=labels,
        priority_labels={k: v.split(":")[0] for k, v in taxonomy.priorities.items()},
        advice=_advice_blocks(advice, taxonomy, counts.counts.by_category),
        advice_note=advice.note if advice.from_memory else "",
        place_advice=PlaceAdviceBlock(
            audience=place.audience_label, points=tuple(p.text for p in place.points),
            contact=place.contact, leaflet=f"/hotspots/{hotspot_id}/leaflet?{query}"),
        plans=visits,
        dosage=dosage,
        plans_scanned=PLANS_SCANNED,
        match_m=MATCH_M,
        emerging_months=(computed.info.get("emerging") or {}).get("months"),
        harm_approximate=bool((computed.metadata.get("harm") or {}).get("approximate")),
        tiles_url=tile_url(settings.tile_url),
        tiles_attribution=settings.tile_attribution,
        attribution=ATTRIBUTION,
        nav=nav,
    )
    page = await run_in_threadpool(hotspot_page, data)  # rendering is CPU work
    return HTMLResponse(page, headers={"Cache-Control": "private, no-cache",
                                       "X-Data-Version": version})


@lru_cache(maxsize=8)
def _wgs84_from(crs: str) -> Transformer:
    return Transformer.from_crs(crs, WGS84, always_xy=True)


def _to_wgs84(geometry: Any, crs: str) -> Any:
    to_wgs = _wgs84_from(crs)
    return shapely.transform(geometry, lambda xy: np.column_stack(
        to_wgs.transform(xy[:, 0], xy[:, 1])))
