"""Patrol plan pages: the planner's view, the printable briefing, the field view, and the plan as
GeoJSON.

All take the plan document the API serves (WGS84 longitude/latitude, local ISO times). Pages
load the service's own Leaflet and scripts (``asset_base``), never a CDN; the plan travels as
JSON in a ``<script type="application/json">`` element or from the API, and every text from
data is written with ``textContent`` by the scripts or escaped by Jinja2 here: no data text is
ever run as HTML or JavaScript. The briefing draws its maps as inline SVG, so it prints with no
tiles and no script.
"""

from __future__ import annotations

import html
import json
import math
import re
from datetime import datetime
from typing import Any

from jinja2 import Environment

from maps.assets import static_version
from maps.nav import NAV_CSS
from maps.planner import OSM_ATTRIBUTION, OSM_TILES

_ENV = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)


def when(iso: str) -> str:
    """A local ISO time as a person reads it: ``Fri 14 Jun 2024 16:00``."""
    try:
        moment = datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return str(iso)
    return moment.strftime("%a %d %b %Y %H:%M")


_ENV.filters["when"] = when
UNIT_NAMES = {"rural_crime_team": "Rural Crime Team", "town_centre_officers":
              "Town centre officers"}
ROUTE_COLOURS = ("#1f5fbf", "#c2410c", "#15803d", "#7e22ce", "#b91c1c", "#0e7490", "#a16207")


def _json_script(value: Any) -> str:
    """JSON safe inside a script element (no ``</script>``, no ``<!--``)."""
    return json.dumps(value, separators=(",", ":")).replace("<", "\\u003c")


def _finite(*values: Any) -> bool:
    return all(isinstance(v, (int, float)) and math.isfinite(v) for v in values)


def plan_feature_collection(document: dict[str, Any]) -> dict[str, Any]:
    """The plan as an RFC 7946 FeatureCollection: one MultiLineString per route (its legs),
    a Point per stop (``kind`` stop or base, numbered ``seq``), a Point per hotspot left out
    with its reason; the plan's totals and shift in ``metadata``."""
    features: list[dict[str, Any]] = []
    for r in document["routes"]:
        legs = [leg for leg in r["legs"] if len(leg) >= 2]
        features.append({
            "type": "Feature",
            "geometry": {"type": "MultiLineString", "coordinates": legs},
            "properties": {"kind": "route", "route": r["label"], "unit": r["unit"],
                           "town": r["town"], **r["totals"]},
        })
        for s in r["stops"]:
            if not _finite(s["lon"], s["lat"]):
                continue
            props = {k: v for k, v in s.items() if k not in ("lon", "lat")}
            props["kind"] = "stop" if s["kind"] == "hotspot" else "base"
            props["route"] = r["label"]
            features.append({"type": "Feature",
                             "geometry": {"type": "Point", "coordinates": [s["lon"], s["lat"]]},
                             "properties": props})
    for h in document["hotspots"]:
        if h["left_out"] and _finite(h["lon"], h["lat"]):
            features.append({
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [h["lon"], h["lat"]]},
                "properties": {"kind": "left_out", "hotspot_id": h["hotspot_id"],
                               "label": h["label"], "reason": h["left_out"], "why": h["why"],
                               "score": h["score"]},
            })
    return {"type": "FeatureCollection", "features": features,
            "metadata": {"plan_id": document.get("plan_id"), "shift": document["shift"],
                         "totals": document["totals"], "travel": document["travel"],
                         "attribution": document.get("attribution", "")}}


_PLAN_PAGE = _ENV.from_string("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Patrol plan {{ plan_id }}</title>
<link rel="stylesheet" href="{{ base }}/leaflet/leaflet.css?v={{ v }}">
<link rel="stylesheet" href="{{ base }}/maps/plan.css?v={{ v }}">
{% if nav %}<style>{{ nav_css }}</style>{% endif %}
</head><body class="plan-page">
{{ nav|safe }}
<header><h1>Patrol plan {{ name or plan_id }}</h1>
<p>{{ shift.start|when }} to {{ shift.end|when }} &middot; {{ totals.stops }} stops on {{ totals.routes }}
routes &middot; {{ totals.hotspots_visited }} hotspots visited, {{ totals.hotspots_left_out }}
left out &middot; score covered {{ share }}
&middot; <a href="{{ links.briefing }}">briefing</a> &middot; <a href="{{ links.field }}">field
view</a> &middot; <a href="{{ links.geojson }}">GeoJSON</a></p></header>
<main><div id="map" role="region" aria-label="Map of the plan"></div>
<aside id="side">{{ extra|safe }}<h2>Routes</h2><div id="routes"></div>
<h2>Visits against the plan</h2><p id="visit-summary">Loading visits&hellip;</p>
<h2>Left out</h2><ul id="left-out"></ul></aside></main>
<footer>{{ attribution }}</footer>
<script type="application/json" id="plan-data">{{ data|safe }}</script>
<script type="application/json" id="page-options">{{ options|safe }}</script>
<script src="{{ base }}/leaflet/leaflet.js?v={{ v }}"></script>
<script src="{{ base }}/maps/basemap.js?v={{ v }}"></script>
<script src="{{ base }}/maps/plan-common.js?v={{ v }}"></script>
<script src="{{ base }}/maps/plan.js?v={{ v }}"></script>
</body></html>
""")


def plan_map_page(document: dict[str, Any], *, tiles_url: str | None = OSM_TILES,
                  tiles_attribution: str = OSM_ATTRIBUTION, asset_base: str = "/static",
                  nav: str = "", extra: str = "") -> str:
    """The planner's view of a plan: route lines, numbered stops with their time windows,
    the hotspots left out, and the visits logged so far (fetched from the API). ``nav`` (the
    navigation bar) and ``extra`` (the crews' links, :func:`maps.plans.crew_panel`) are safe
    HTML put in as they are."""
    share = document["totals"].get("share_covered")
    return _PLAN_PAGE.render(
        plan_id=document.get("plan_id", ""), name=document.get("name"),
        shift=document["shift"], totals=document["totals"],
        share="-" if share is None else f"{share:.0%}", links=document.get("links", {}),
        attribution=document.get("attribution", ""), base=asset_base.rstrip("/"),
        v=static_version(), data=_json_script(document), nav=nav, nav_css=NAV_CSS, extra=extra,
        options=_json_script({"tiles": tiles_url, "attribution": tiles_attribution,
                              "colours": ROUTE_COLOURS,
                              "visits": document.get("links", {}).get("visits")}),
    )


_FIELD_PAGE = _ENV.from_string("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<meta name="theme-color" content="#0b3d91">
<title>Field view</title>
<link rel="stylesheet" href="{{ assets.leaflet_css }}">
<link rel="stylesheet" href="{{ assets.field_css }}">
{% if nav %}<style>{{ nav_css }}</style>{% endif %}
</head><body>
{{ nav|safe }}
{% if draft %}<p class="draft-banner" role="note">Draft: not published. The Rural Crime Team
cannot open this plan until a planner publishes it.</p>{% endif %}
<main id="app">
<header id="bar">
<div id="title"><h1 id="plan-name">Patrol plan</h1><div id="plan-when"></div></div>
<div id="clock" role="timer" aria-label="Time now">--:--</div>
<div id="who"><button id="route-button" type="button">Crew</button>
<button id="officer-button" type="button" class="secondary">Your name</button></div>
<div id="status" role="status" aria-live="polite">Loading&hellip;</div>
</header>
<section id="next" aria-label="Next stop"></section>
<div id="undo-bar" hidden></div>
<div id="map" role="region" aria-label="Map"></div>
<section id="stops" aria-label="Stops"><ol id="stop-list"></ol>
<p id="attribution"></p></section>
</main>
<dialog id="visit-dialog"><form method="dialog" id="visit-form">
<h2 id="visit-title">Mark visited</h2>
<p id="visit-officer-row"><label for="visit-officer">Your name (kept on this tablet, sent with
your visits)</label><input id="visit-officer" maxlength="100" autocomplete="name"></p>
<label for="visit-note">Note (optional)</label>
<textarea id="visit-note" rows="3" maxlength="2000"></textarea>
<div class="actions"><button type="button" id="visit-cancel" class="secondary">Cancel</button>
<button type="submit" id="visit-save">Save visit</button></div></form></dialog>
<dialog id="officer-dialog"><form method="dialog" id="officer-form">
<h2>Your name</h2><label for="officer-name">Sent with the visits you mark on this tablet</label>
<input id="officer-name" maxlength="100" autocomplete="name" required>
<div class="actions"><button type="button" id="officer-cancel" class="secondary">Cancel</button>
<button type="submit" id="officer-save">Save</button></div></form></dialog>
<dialog id="route-dialog"><form method="dialog"><h2>Which crew are you?</h2>
<p id="route-note"></p><div id="route-choices"></div></form></dialog>
<script type="application/json" id="page-options">{{ options|safe }}</script>
<script src="{{ assets.leaflet_js }}"></script>
<script src="{{ assets.basemap_js }}"></script>
<script src="{{ assets.common_js }}"></script>
<script src="{{ assets.field_js }}"></script>
</body></html>
""")


def field_page(plan_id: str, *, tiles_url: str | None = OSM_TILES,
               tiles_attribution: str = OSM_ATTRIBUTION, asset_base: str = "/static",
               nav: str = "", draft: bool = False) -> str:
    """The field view's page: a shell that fetches the plan (and keeps it offline). Its asset
    URLs carry :func:`~maps.assets.static_version`, so a tablet's service worker, which keeps
    them, fetches a changed script on the first load after an upgrade. ``nav`` is the
    navigation bar (safe HTML); ``draft`` marks a plan not yet published (planners' preview)."""
    base = asset_base.rstrip("/")
    v = static_version()
    assets = {"leaflet_js": f"{base}/leaflet/leaflet.js?v={v}",
              "leaflet_css": f"{base}/leaflet/leaflet.css?v={v}",
              "common_js": f"{base}/maps/plan-common.js?v={v}",
              "basemap_js": f"{base}/maps/basemap.js?v={v}",
              "basemap_css": f"{base}/maps/basemap.css?v={v}",
              "field_js": f"{base}/maps/field.js?v={v}", "field_css": f"{base}/maps/field.css?v={v}"}
    return _FIELD_PAGE.render(
        plan_id=plan_id, assets=assets, nav=nav, nav_css=NAV_CSS, draft=draft,
        options=_json_script({
            "plan_id": plan_id, "tiles": tiles_url, "attribution": tiles_attribution,
            # the tiles' credit as text (the page names it below the stops: the map's own
            # attribution links are too small to tap with gloves)
            "attribution_text": html.unescape(re.sub(r"<[^>]*>", "", tiles_attribution)),
            "data": f"/v1/patrol-plans/{plan_id}/field-data",
            "visits": f"/v1/patrol-plans/{plan_id}/visits",
            "worker": "/field/sw.js",
            "assets": list(assets.values()),
            "colours": ROUTE_COLOURS,
        }),
    )


# --- the briefing --------------------------------------------------------------------------


def _crews(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The routes with stops, each with its team's title: the Rural Crime Team's vehicles,
    then each town's officers."""
    out = []
    for r in document["routes"]:
        if not r["totals"]["stops"]:
            continue
        title = (UNIT_NAMES["rural_crime_team"] if r["unit"] == "rural_crime_team"
                 else f"Town centre officers, {r['town']}")
        out.append((title, r))
    return out


def _look_for_labels(stop: dict[str, Any]) -> str:
    """A stop's two main categories by name (their advice is in the page's legend) and the
    heritage sites it touches."""
    items = stop.get("look_for") or []
    cats = [i["label"] for i in items if i["category"] != "heritage_sites"][:2]
    sites = [i["advice"] for i in items if i["category"] == "heritage_sites"]
    return "; ".join(cats + sites)


def _legend(route: dict[str, Any]) -> list[tuple[str, str]]:
    """(category label, advice) for every category on the route, once, most frequent first."""
    seen: dict[str, tuple[str, str, int]] = {}
    for stop in route["stops"]:
        cats = [i for i in stop.get("look_for") or [] if i["category"] != "heritage_sites"]
        for item in cats[:2]:
            if not item.get("advice"):
                continue
            label, advice, count = seen.get(item["category"], (item["label"], item["advice"], 0))
            seen[item["category"]] = (label, advice, count + 1)
    return [(label, advice) for label, advice, _c in
            sorted(seen.values(), key=lambda v: -v[2])]


def _svg_map(routes: list[dict[str, Any]], width: float = 680.0, height: float = 300.0) -> str:
    """The routes as an SVG (equirectangular, scaled by the latitude's cosine): lines, numbered
    stops, bases as squares. Escaped text only."""
    points = [(x, y) for r in routes for leg in r["legs"] for x, y in leg if _finite(x, y)]
    points += [(s["lon"], s["lat"]) for r in routes for s in r["stops"]
               if _finite(s["lon"], s["lat"])]
    if not points:
        return '<p class="no-map">No route to draw.</p>'
    lons = [p[0] for p in points]
    lats = [p[1] for p in points]
    k = math.cos(math.radians((min(lats) + max(lats)) / 2))
    span_x = max((max(lons) - min(lons)) * k, 1e-4)
    span_y = max(max(lats) - min(lats), 1e-4)
    pad = 24.0
    scale = min((width - 2 * pad) / span_x, (height - 2 * pad) / span_y)

    def xy(lon: float, lat: float) -> tuple[float, float]:
        return (pad + (lon - min(lons)) * k * scale, height - pad - (lat - min(lats)) * scale)

    parts = [f'<svg class="route-map" viewBox="0 0 {width:.0f} {height:.0f}" '
             f'width="100%" role="img" aria-label="Map of the routes">',
             f'<rect x="0" y="0" width="{width:.0f}" height="{height:.0f}" fill="#fff" '
             'stroke="#999"/>']
    for n, r in enumerate(routes):
        colour = ROUTE_COLOURS[n % len(ROUTE_COLOURS)]
        for leg in r["legs"]:
            pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in (xy(x, y) for x, y in leg
                                                            if _finite(x, y)))
            parts.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" '
                         'stroke-width="3" stroke-linejoin="round"/>')
        for s in r["stops"]:
            if not _finite(s["lon"], s["lat"]):
                continue
            a, b = xy(s["lon"], s["lat"])
            if s["kind"] == "base":
                parts.append(f'<rect x="{a - 7:.1f}" y="{b - 7:.1f}" width="14" height="14" '
                             'fill="#111"/>')
            else:
                parts.append(f'<circle cx="{a:.1f}" cy="{b:.1f}" r="10" fill="{colour}" '
                             'stroke="#fff" stroke-width="2"/>'
                             f'<text x="{a:.1f}" y="{b + 4:.1f}" text-anchor="middle" '
                             f'font-size="11" fill="#fff">{int(s["seq"])}</text>')
    parts.append("</svg>")
    return "".join(parts)


_BRIEFING = _ENV.from_string("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Briefing: patrol plan {{ plan_id }}</title>
<style>
@page { size: A4; margin: 10mm; }
body { font: 9.5pt/1.3 system-ui, sans-serif; color: #111; margin: 0 auto; max-width: 190mm; }
section.crew { page-break-after: always; break-after: page; padding: 2mm 0; }
section.crew:last-of-type { page-break-after: auto; break-after: auto; }
h1 { font-size: 14pt; margin: 0 0 1mm; } h2 { font-size: 11pt; margin: 2mm 0 1mm; }
p.meta { margin: 0 0 2mm; color: #333; }
table { border-collapse: collapse; width: 100%; font-size: 8pt; table-layout: fixed; }
section.crew.long table { font-size: 7.5pt; } section.crew.long td { padding: 0.3mm 1.2mm; }
section.crew.long dl.legend { font-size: 7pt; columns: 2; column-gap: 4mm; }
section.crew.longer table { font-size: 7pt; } section.crew.longer td { padding: 0.1mm 1mm; }
col.n { width: 6mm; } col.where { width: 42mm; } col.t { width: 11mm; } col.p { width: 20mm; }
col.w { width: 30mm; }
th, td { border-bottom: 1px solid #bbb; padding: 0.6mm 1.2mm; text-align: left;
  vertical-align: top; }
th { background: #eee; } td.n { text-align: right; white-space: nowrap; }
h1, p.meta, td, dd { overflow-wrap: anywhere; }
.route-map { display: block; }
dl.legend { margin: 1.5mm 0 0; font-size: 8pt; } dl.legend dt { font-weight: 600; float: left;
  margin-right: 1.5mm; } dl.legend dd { margin: 0 0 0.6mm; }
footer { font-size: 7pt; color: #555; margin-top: 1mm; }
@media screen { section.crew { border-bottom: 2px dashed #999; margin-bottom: 8mm; } }
</style>{% if nav %}<style>{{ nav_css }}</style>{% endif %}</head><body>
{{ nav|safe }}
{% for title, r in crews %}
<section class="crew{% if r.totals.stops > 16 %} long{% endif %}
{%- if r.totals.stops > 22 %} longer{% endif %}">
<h1>{{ r.label }}</h1>
<p class="meta">{{ title }} &middot; plan {{ name or plan_id }} &middot; shift {{ shift.start|when }} to
{{ shift.end|when }} &middot; {{ r.totals.stops }} stops, {{ (r.totals.distance_m / 1000)|round(1) }} km,
out {{ r.totals.start[11:16] }}, back {{ r.totals.end[11:16] }}</p>
{{ maps[loop.index0]|safe }}
<table><colgroup><col class="n"><col class="where"><col class="t"><col class="p"><col class="w">
<col></colgroup>
<thead><tr><th>#</th><th>Where</th><th>Arrive</th><th>Patrol</th><th>Window</th>
<th>Look for</th></tr></thead><tbody>
{% for s in r.stops %}
<tr><td class="n">{{ s.seq }}</td><td>{{ s.name }}{% if s.visits and s.visits > 1 %}
(visit {{ s.visit }}/{{ s.visits }}){% endif %}</td>
<td class="n">{{ s.arrival[11:16] }}</td>
<td class="n">{% if s.kind == "hotspot" %}{{ s.start[11:16] }}&ndash;{{ s.departure[11:16] }}
{% else %}{{ "leave" if loop.first else "back" }}{% endif %}</td>
<td>{% for w in s.windows or [] %}{{ w[0][11:16] }}&ndash;{{ w[1][11:16] }} {% endfor %}</td>
<td>{{ labels(s) }}</td></tr>
{% endfor %}
</tbody></table>
<dl class="legend">{% for label, text in legend(r) %}<dt>{{ label }}:</dt><dd>{{ text }}</dd>
{% endfor %}</dl>
<footer>{{ attribution }}</footer>
</section>
{% endfor %}
{% if not crews %}<p>This plan has no stops.</p>{% endif %}
</body></html>
""")


def briefing_page(document: dict[str, Any], *, nav: str = "") -> str:
    """A printable briefing: one A4 page per crew (each Rural Crime Team vehicle, each town
    centre officer) with an SVG map of its route, the stops in order with times and windows,
    and what to look for at each hotspot from its category mix. ``nav``: the navigation bar
    (safe HTML), on screen only (:data:`maps.nav.NAV_CSS` hides it in print)."""
    crews = _crews(document)
    return _BRIEFING.render(
        crews=crews, legend=_legend, labels=_look_for_labels,
        # the map gives way to the stop list, so each crew stays on one A4 page
        maps=[_svg_map([r], height=300.0 if r["totals"]["stops"] <= 12 else
                       200.0 if r["totals"]["stops"] <= 16 else
                       110.0 if r["totals"]["stops"] <= 22 else 70.0)
              for _t, r in crews],
        plan_id=document.get("plan_id", ""), name=document.get("name"),
        shift=document["shift"], attribution=document.get("attribution", ""),
        nav=nav, nav_css=NAV_CSS)
