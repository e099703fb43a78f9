"""A patrol plan as JSON-ready data: WGS84 longitude/latitude, ISO 8601 local times, minutes
and metres, with totals, the reasons hotspots were left out and warnings (idle time, crews
with no stops).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pyproj import Transformer

from hotspot.gridref import grid_reference_of

if TYPE_CHECKING:  # the types only: hotspot.patrol.model imports this module
    from hotspot.patrol.model import PatrolPlan, PlannedHotspot, Route, Shift, Stop

REASONS = {
    "outside_peak_hours": "no peak hour of this hotspot falls within the shift",
    "out_of_time": "the shift has no room for it after higher-scoring stops",
    "unreachable": "the road network does not join it to the base",
    "no_team": "an urban hotspot: neither team in this plan patrols it",
    "no_officers": "its town has no officers in this plan",
}
"""What each reason a hotspot was left out means, in plain words."""

LonLat = Callable[[float, float], tuple[float, float]]


def _iso(shift: Shift, seconds: float) -> str:
    """The local time ``seconds`` after the shift's start, ISO 8601 to the minute."""
    return shift.at(round(seconds)).isoformat(timespec="minutes")


def _minutes(value: float) -> str:
    """Minutes as a person reads them: ``45 min``, ``2 h 05 min``."""
    m = round(value)
    return f"{m} min" if m < 60 else f"{m // 60} h {m % 60:02d} min"


def _to_lonlat(crs: str) -> LonLat:
    """A function from (x, y) in ``crs`` to WGS84 (longitude, latitude), 6 decimals; NaN for a
    position that is not finite."""
    to_wgs = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)

    def lonlat(x: float, y: float) -> tuple[float, float]:
        if not (math.isfinite(x) and math.isfinite(y)):
            return (math.nan, math.nan)
        lon, lat = to_wgs.transform(x, y)
        return round(float(lon), 6), round(float(lat), 6)

    return lonlat


def plan_to_dict(plan: PatrolPlan) -> dict[str, Any]:
    """See :meth:`PatrolPlan.to_dict`."""
    lonlat = _to_lonlat(plan.crs)
    shift = plan.shift
    look = {h.id: h.look_for for h in plan.hotspots}
    routes: list[dict[str, Any]] = []
    warnings: list[dict[str, Any]] = []
    for r in plan.routes:
        route, warning = _route_dict(plan, r, lonlat, look)
        routes.append(route)
        if warning is not None:
            warnings.append(warning)
    left = [h for h in plan.hotspots if h.reason]
    return {
        "shift": {"start": shift.start.isoformat(timespec="minutes"),
                  "end": shift.end.isoformat(timespec="minutes"),
                  "hours": round(shift.seconds / 3600.0, 2)},
        "options": {"dwell_min": plan.options.dwell_min,
                    "min_gap_min": plan.options.min_gap_min,
                    "peak_threshold": plan.options.peak_threshold,
                    "min_profile": plan.options.min_profile, "seed": plan.options.seed,
                    "idle_threshold_min": plan.options.idle_threshold_min},
        "travel": plan.travel,
        "routes": routes,
        "hotspots": [_hotspot_dict(h, shift, lonlat) for h in plan.hotspots],
        "left_out": [{"hotspot_id": h.id, "label": h.label, "reason": h.reason,
                      "why": REASONS.get(h.reason or "", "")} for h in left],
        "totals": _plan_totals(plan, routes, len(left)),
        "notes": plan.info.get("notes", []),
        "warnings": warnings,
    }


def _stop_dict(plan: PatrolPlan, route: Route, n: int, s: Stop, lonlat: LonLat,
               look: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Stop ``n`` of ``route``: times, wait, idle time, dwell, the way from the previous stop
    and, at a hotspot, its visit, windows and what to look for (``look``, by hotspot id)."""
    shift = plan.shift
    lon, lat = lonlat(s.x, s.y)
    wait_s = s.start_s - s.arrival_s
    idle_s = plan.options.idle_threshold_min * 60.0
    stop: dict[str, Any] = {
        "seq": n, "kind": s.kind, "name": s.name, "lon": lon, "lat": lat,
        "grid_ref": grid_reference_of(s.x, s.y, plan.crs),
        "arrival": _iso(shift, s.arrival_s), "start": _iso(shift, s.start_s),
        "departure": _iso(shift, s.departure_s),
        "wait_min": round(wait_s / 60.0, 1),
        "idle_min": round(wait_s / 60.0, 1) if wait_s > idle_s else 0.0,
        "dwell_min": round((s.departure_s - s.start_s) / 60.0, 1),
        "from_previous": {"distance_m": round(s.distance_m, 0),
                          "travel_min": round(s.travel_s / 60.0, 1)},
    }
    if s.kind == "hotspot":
        stop.update({
            "stop_id": f"{route.label}|{n}|{s.hotspot}|{s.visit}",
            "hotspot_id": s.hotspot, "visit": s.visit, "visits": s.visits,
            "score": round(s.score, 4),
            "windows": [[_iso(shift, a), _iso(shift, b)] for a, b in s.windows],
            "look_for": look.get(s.hotspot or "", []),
        })
    return stop


def _route_warning(r: Route, stops: list[dict[str, Any]], has_stops: bool,
                   idle: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The warning for a route with no stops or with idle time, else None."""
    if not has_stops:
        why = r.empty_reason or "nothing to visit"
        return {"route": r.label, "kind": "no_stops",
                "message": f"{r.label} has no stops: {why}."}
    if not idle:
        return None
    longest = max(idle, key=lambda st: st["idle_min"])
    return {
        "route": r.label, "kind": "idle",
        "message": (f"{r.label} waits {_minutes(sum(st['idle_min'] for st in idle))} "
                    f"in all at {len(idle)} stop{'s' if len(idle) > 1 else ''} for "
                    f"a patrol window to open (longest: {_minutes(longest['idle_min'])}"
                    f" before {longest['name']} at {longest['start'][11:16]})."),
        "idle_min": round(sum(st["idle_min"] for st in idle), 1)}


def _route_dict(plan: PatrolPlan, r: Route, lonlat: LonLat,
                look: dict[str, list[dict[str, Any]]],
                ) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """One route (base, stops, legs, totals) and its warning (or None)."""
    shift = plan.shift
    stops = [_stop_dict(plan, r, n, s, lonlat, look) for n, s in enumerate(r.stops)]
    hot = [s for s in r.stops if s.kind == "hotspot"]
    legs = [[list(lonlat(float(x), float(y))) for x, y in leg] for leg in r.legs]
    idle = [st for st in stops if st["idle_min"] > 0]
    route = {
        "unit": r.unit, "label": r.label, "town": r.town,
        "base": {"name": r.base.name,
                 **dict(zip(("lon", "lat"), lonlat(r.base.x, r.base.y), strict=True))},
        "stops": stops, "legs": legs,
        "empty_reason": None if hot else (r.empty_reason or "nothing to visit"),
        "totals": {
            "stops": len(hot),
            "distance_m": round(sum(s.distance_m for s in r.stops), 0),
            "travel_min": round(sum(s.travel_s for s in r.stops) / 60.0, 1),
            "dwell_min": round(sum(s.departure_s - s.start_s for s in hot) / 60.0, 1),
            "wait_min": round(sum(s.start_s - s.arrival_s for s in hot) / 60.0, 1),
            "idle_min": round(sum(st["idle_min"] for st in idle), 1),
            "score": round(sum({s.hotspot: s.score for s in hot}.values()), 4),
            "start": _iso(shift, r.stops[0].departure_s),
            "end": _iso(shift, r.stops[-1].arrival_s),
        },
    }
    return route, _route_warning(r, stops, bool(hot), idle)


def _hotspot_dict(h: PlannedHotspot, shift: Shift, lonlat: LonLat) -> dict[str, Any]:
    """One hotspot as the plan saw it: team, peak windows, visits, why it was left out."""
    lon, lat = lonlat(h.x, h.y)
    return {
        "hotspot_id": h.id, "label": h.label, "rank": h.rank, "unit": h.unit or None,
        "context_class": h.context_class, "place": h.place or None, "lon": lon, "lat": lat,
        "score": round(h.score, 4),
        "peak_windows": [[_iso(shift, a), _iso(shift, b)] for a, b in h.windows],
        "profile_used": h.profile_used, "visits_wanted": h.visits_wanted,
        "visits_planned": h.visits_planned, "left_out": h.reason,
        "why": REASONS.get(h.reason) if h.reason else None, "look_for": h.look_for,
    }


def _plan_totals(plan: PatrolPlan, routes: list[dict[str, Any]],
                 left_out: int) -> dict[str, Any]:
    """The plan's totals: routes, stops, hotspots visited and left out, score covered of the
    score the teams could cover, distance (metres) and idle time (minutes)."""
    covered = sum(h.score for h in plan.hotspots if h.visits_planned > 0)
    available = sum(h.score for h in plan.hotspots if h.unit)
    return {
        "routes": len(routes),
        "stops": sum(rt["totals"]["stops"] for rt in routes),
        "hotspots_visited": sum(1 for h in plan.hotspots if h.visits_planned > 0),
        "hotspots_left_out": left_out,
        "score_covered": round(covered, 4),
        "score_available": round(available, 4),
        "share_covered": round(covered / available, 4) if available > 0 else None,
        "distance_m": round(sum(rt["totals"]["distance_m"] for rt in routes), 0),
        "idle_min": round(sum(rt["totals"]["idle_min"] for rt in routes), 1),
    }
