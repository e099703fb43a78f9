"""One patrol plan's pages: the planner's view of the plan (``/plans/{id}``), the field view
for crews (``/field/{id}``), the printed briefing (drawn by :mod:`maps.briefing`), and the plan
as GeoJSON. The list of plans is :mod:`maps.plan_list`.

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
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from jinja2 import Environment

from maps import briefing
from maps.assets import static_version
from maps.nav import NAV_CSS
from maps.styles import OSM_ATTRIBUTION, OSM_TILES, ROUTE_COLOURS

__all__ = ["ROUTE_COLOURS", "briefing_page", "field_page", "plan_feature_collection",
           "plan_map_page", "when"]

_ENV = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)


def when(iso: str) -> str:
    """A local ISO time as a person reads it: ``Fri 14 Jun 2024 16:00``."""
    try:
        moment = datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return str(iso)
    return moment.strftime("%a %d %b %Y %H:%M")


_ENV.filters["when"] = when


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
<header><h1>Patrol plan {{ name or plan_id }}
{%- if published is false %} <span class="draft-tag">draft</span>
{%- elif published %} <span class="published-tag">published</span>{% endif %}</h1>
<p>{{ shift.start|when }} to {{ shift.end|when }} &middot; {{ "{:,}".format(totals.stops) }}
stop{{ "" if totals.stops == 1 else "s" }} on {{ totals.routes }} route{{ "" if totals.routes == 1 else "s" }}
&middot; {{ "{:,}".format(totals.hotspots_visited) }} hotspots planned for a visit,
{{ "{:,}".format(totals.hotspots_left_out) }} left out &middot; the planned hotspots hold
{{ share }} of the hotspots' total score (what was done: "Visits against the plan")
&middot; <a href="{{ links.briefing }}">briefing</a> &middot; <a href="{{ links.field }}">field
view</a> &middot; <a href="{{ links.geojson }}">GeoJSON</a></p></header>
<main><div id="map" role="region" aria-label="Map of the plan"></div>
<aside id="side">{% if warnings %}<h2>Warnings</h2>
<ul id="plan-warnings">{% for w in warnings %}<li>{{ w.message }}</li>{% endfor %}</ul>
{% endif %}{{ extra|safe }}<section id="visits" aria-labelledby="visits-h">
<h2 id="visits-h">Visits against the plan</h2><p id="visit-summary">Loading visits&hellip;</p>
<div id="dosage"></div></section>
<h2>Routes</h2><div id="routes"></div>
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
    the hotspots left out, and the visits logged so far with the patrol dosage they delivered
    per crew and per hotspot (fetched from the API by the page's script: the page itself
    changes only when the plan does). ``nav`` (the
    navigation bar) and ``extra`` (the crews' links, :func:`maps.plan_list.crew_panel`) are safe
    HTML put in as they are."""
    share = document["totals"].get("share_covered")
    return _PLAN_PAGE.render(
        plan_id=document.get("plan_id", ""), name=document.get("name"),
        shift=document["shift"], totals=document["totals"],
        share="-" if share is None else f"{share:.0%}", links=document.get("links", {}),
        attribution=document.get("attribution", ""), base=asset_base.rstrip("/"),
        v=static_version(), data=_json_script(document), nav=nav, nav_css=NAV_CSS, extra=extra,
        warnings=document.get("warnings") or [],
        published=document.get("published"),
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
{% if nav or draft %}<style>{{ nav_css }}
.draft-banner { margin: 0; padding: 8px 12px; background: #fef3c7; color: #78350f;
  font: 600 15px/1.35 system-ui, sans-serif; border-bottom: 2px solid #d97706; }</style>{% endif %}
</head><body>
{{ nav|safe }}
{% if draft %}<p class="draft-banner" role="note">Draft: not published. The Rural Crime Team
cannot open this plan until a planner publishes it.</p>{% endif %}
<main id="app"><div id="side">
<header id="bar">
<div id="title"><h1 id="plan-name">Patrol plan</h1><div id="plan-when"></div></div>
<div id="clock" role="timer" aria-label="Time now">--:--</div>
<div id="who"><button id="route-button" type="button">Crew</button>
<button id="officer-button" type="button" class="secondary">Your name</button></div>
<div id="status" role="status" aria-live="polite">Loading&hellip;</div>
</header>
<section id="next" aria-label="Next stop"></section>
<div id="undo-bar" hidden></div>
<section id="stops" aria-label="Stops"><ol id="stop-list"></ol>
<p id="attribution"></p></section></div>
<div id="map" role="region" aria-label="Map"></div>
</main>
<dialog id="visit-dialog"><form method="dialog" id="visit-form">
<h2 id="visit-title">Mark visited</h2>
<p id="visit-far" class="far-warning" role="alert" hidden></p>
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
<div id="route-choices"></div></form></dialog>
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


def briefing_page(document: dict[str, Any], *, nav: str = "",
                  basemaps: Mapping[str, Mapping[str, Any]] | None = None,
                  crew_urls: Mapping[str, str] | None = None) -> str:
    """A printable briefing: one A4 page per crew (each Rural Crime Team vehicle, each town
    centre officer, crews with no stops included, saying why) with a map of its route over
    the store's roads and place names (``basemaps``: GeoJSON per route label), a scale bar
    and a north arrow, the stops in order with OS grid references, times, windows, what to
    look for, tick boxes and room for notes, and the crew's QR code (``crew_urls``: the field
    view's absolute URL per route label). ``nav``: the navigation bar (safe HTML), on screen
    only (:data:`maps.nav.NAV_CSS` hides it in print). See :mod:`maps.briefing`."""
    # the bar spans the screen above the A4 column (the page's body is 190 mm wide)
    bar = NAV_CSS + "nav.hs-nav { margin: 0 calc(50% - 50vw) 3mm; }\n"
    return briefing.briefing_page(document, nav=nav, nav_css=bar, basemaps=basemaps,
                                  crew_urls=crew_urls)
