"""A hotspot's own page: where it is, what happened there and when, what to advise, and the
patrols that went there.

Pure rendering: :func:`hotspot_page` takes the hotspot's row of the hotspot table, the counts
of the incidents inside its outline (:class:`hotspot.placecounts.PlaceCounts`), advice and
plan visits as plain values, and returns HTML. Charts are inline SVG (:mod:`maps.charts`); the
map is the service's own Leaflet with the outline and the reference layers near it (no
incident points: the page shows aggregates only). Every text from data reaches the page
escaped (Jinja autoescape, and :mod:`maps.charts` for the charts); the map's script writes
names with ``textContent``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd
from jinja2 import Environment

from hotspot.placecounts import PlaceCounts
from maps.assets import OWN_DIR, static_version
from maps.charts import MonthCount, bar_chart, heat_grid, month_chart, month_label, number
from maps.hotspot_map import OSM_ATTRIBUTION, OSM_TILES
from maps.nav import NAV_CSS, nav_html
from maps.styles import (
    CLASS_COLOURS,
    CLASS_LABELS,
    EMERGING_DESCRIPTIONS,
    EMERGING_LABELS,
    LAYER_STYLES,
)

_ENV = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
_ENV.filters["n"] = number

TEAM_LABELS = {"rural_crime_team": "Rural Crime Team",
               "town_centre_officers": "Town centre officers",
               "neighbourhood": "Neighbourhood policing"}
TREND_WORDS = {"up": "Rising", "down": "Falling", "flat": "No clear change",
               "unknown": "Not known"}
FEW_TIMED = 20
"""Fewer incidents with a time of day than this: the page says the grid is no pattern."""
AUDIENCE_LABELS = {"residents": "Residents", "businesses": "Businesses",
                   "farms": "Farms and rural businesses"}


@dataclass(frozen=True)
class AdviceBlock:
    """Advice for one of the hotspot's main categories: the category's label, the source
    named, and steps by audience (``residents``, ``businesses``, ``farms``)."""

    category: str
    source: str
    steps: Sequence[tuple[str, Sequence[str]]]


@dataclass(frozen=True)
class PlanVisit:
    """One patrol plan's visits to the hotspot (times are local ISO 8601)."""

    plan_id: str
    name: str
    shift_start: str
    shift_end: str
    planned: int
    """Stops at this hotspot in the plan."""
    planned_minutes: float
    """Their planned dwell, minutes."""
    logged: int
    """Visits logged against those stops."""
    minutes: float
    """Minutes on site of the logged visits (``estimated`` of them from the planned dwell)."""
    estimated: int
    last_visit: str | None = None


@dataclass
class HotspotPageData:
    """Everything the page shows (coordinates WGS84; counts from the incidents inside the
    outline; ``row`` is the hotspot's row of the hotspot table without its geometry)."""

    row: Mapping[str, Any]
    outline: Mapping[str, Any]
    """The outline as a GeoJSON geometry (WGS84 longitude/latitude)."""
    counts: PlaceCounts
    months: Sequence[str]
    selected_months: set[str]
    no_data_months: set[str]
    category_labels: Mapping[str, str]
    query: str
    """The parameters of the result (a query string), for links back to the map."""
    data_version: str
    selection: Mapping[str, Any] = field(default_factory=dict)
    """The selection as :meth:`api.services.hotspots.Selection.to_dict` gives it (local ISO times)."""
    timezone: str = "Europe/London"
    method: str = "dbscan"
    layers: Mapping[str, Any] = field(default_factory=dict)
    """Reference layers near the hotspot by kind, as GeoJSON (WGS84)."""
    previous_period: bool = False
    advice: Sequence[AdviceBlock] = ()
    advice_note: str = ""
    plans: Sequence[PlanVisit] = ()
    plans_scanned: int = 200
    match_m: float = 50.0
    emerging_months: int | None = None
    harm_approximate: bool = False
    tiles_url: str | None = OSM_TILES
    tiles_attribution: str = OSM_ATTRIBUTION
    attribution: str = ""
    asset_base: str = "/static"
    nav: Mapping[str, Any] = field(default_factory=dict)
    """Keyword arguments of :func:`maps.nav.nav_html` (role, csrf, signed_in)."""
    priority_labels: Mapping[str, str] = field(default_factory=dict)
    """Plan priorities in words, by key ("Rural crime")."""


def _date(iso: Any, *, end: bool = False) -> str | None:
    """A local ISO time as a date people read (``1 January 2024``); an exclusive end as the
    day before."""
    if not iso:
        return None
    stamp = pd.Timestamp(str(iso))
    if end:
        stamp = stamp - pd.Timedelta(seconds=1)
    return f"{stamp.day} {stamp.strftime('%B %Y')}"


def period_text(selection: Mapping[str, Any]) -> str:
    """The selection's period in words: ``1 January 2024 to 30 June 2024``."""
    start, end = _date(selection.get("from")), _date(selection.get("to"), end=True)
    if start and end:
        return f"{start} to {end}"
    if start:
        return f"from {start}"
    if end:
        return f"up to {end}"
    return "all the data in the store"


def _when(iso: str | None) -> str:
    if not iso:
        return ""
    try:
        moment = datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return str(iso)
    return moment.strftime("%a %d %b %Y %H:%M")


def _hours(hours: Sequence[int]) -> str:
    """Hours of the day in order, as ranges people read: ``12:00-13:00, 22:00-23:00``."""
    return ", ".join(f"{h:02d}:00\u2013{(h + 1) % 24:02d}:00" for h in sorted(int(h) for h in hours))


def _list(value: Any) -> list[str]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, str):
        return [value] if value else []
    return [str(v) for v in value]


def _number(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _facts(data: HotspotPageData) -> list[tuple[str, str, str]]:
    """(label, value, detail) rows of the "at a glance" list (all text)."""
    row, counts = data.row, data.counts
    facts: list[tuple[str, str, str]] = []
    team = str(row.get("team") or "")
    facts.append(("Team", TEAM_LABELS.get(team, team.replace("_", " ").capitalize()), ""))
    incidents = int(row.get("incidents") or 0)
    detail = ""
    if counts.incidents != incidents:
        detail = (f"{number(counts.incidents)} recorded inside its outline; the charts count "
                  "those (the method groups some nearby incidents with the hotspot and leaves "
                  "out some inside it)")
    facts.append(("Incidents", number(incidents), detail))
    trend = str(row.get("trend") or "unknown")
    previous = _number(row.get("previous_incidents"))
    months = len(data.selected_months)
    before = (f"the {months} months before" if months and data.selection.get("from")
              else "the period of the same length before")
    if trend == "unknown" or previous is None:
        why = ("the store has no data for the period before" if data.selection.get("from")
               and data.selection.get("to") else "the selection has no start and end to "
               "compare with the period before")
        facts.append(("Trend", TREND_WORDS["unknown"], why))
    else:
        facts.append(("Trend", TREND_WORDS.get(trend, trend),
                      f"{number(incidents)} incidents against {number(previous)} in {before}"
                      + ("; a change this size is unlikely to be chance"
                         if trend in ("up", "down") else
                         "; a difference this size can happen by chance")))
    emerging = row.get("emerging")
    if isinstance(emerging, str) and emerging:
        label = EMERGING_LABELS.get(emerging, emerging.replace("_", " "))
        span = f" (over {data.emerging_months} months)" if data.emerging_months else ""
        facts.append((f"Pattern{span}", label, EMERGING_DESCRIPTIONS.get(emerging, "")))
    elif emerging is None or (isinstance(emerging, float) and math.isnan(emerging)):
        facts.append(("Pattern", "Not classed", "too few months of data for a pattern"))
    harm = _number(row.get("harm"))
    if harm is not None:
        facts.append(("Harm", f"{number(round(harm))} days",
                      "Crime Harm Index: the custody days the offences would carry"
                      + (" (approximate table)" if data.harm_approximate else "")))
    area = _number(row.get("area_m2"))
    if area is not None:
        hectares = area / 10_000
        facts.append(("Size", f"{hectares:,.1f} hectares" if hectares < 100
                      else f"{area / 1e6:,.2f} km\u00b2", ""))
    hours = row.get("peak_hours")
    if hours is not None and len(hours):
        facts.append(("Busiest hours", _hours(list(hours)), ""))
    days = _list(row.get("peak_days"))
    if days:
        facts.append(("Busiest days", ", ".join(days), ""))
    places = _list(row.get("top_locations"))
    if places:
        facts.append(("Most recorded at", "; ".join(places), ""))
    sites = _list(row.get("heritage_sites"))
    if sites:
        facts.append(("Heritage sites", "; ".join(sites), ""))
    return facts


def _title(row: Mapping[str, Any]) -> str:
    name = row.get("name") or row.get("place") or row.get("street")
    return f"#{int(row.get('rank') or 0)} {name}" if name else f"Hotspot #{int(row.get('rank') or 0)}"


def _charts(data: HotspotPageData) -> dict[str, str]:
    counts = data.counts
    period = period_text(data.selection)
    months = [MonthCount(m, None if m in data.no_data_months else counts.by_month.get(m, 0),
                         m in data.selected_months) for m in data.months]
    before = [m for m in data.months if m not in data.selected_months]
    described = (f"Incidents inside the hotspot's outline each month: dark bars are the "
                 f"period shown ({period})"
                 + (f", light bars the {len(before)} months before" if before else "")
                 + "; pale grey columns are months with no data here.")
    out = {"months": str(month_chart(months, title="Incidents by month",
                                        description=described))}
    top = list(counts.by_category.items())
    if len(top) > 10:
        rest = sum(v for _, v in top[9:])
        top = [*top[:9], (f"{len(counts.by_category) - 9} other categories", rest)]
    items = [(data.category_labels.get(k, k.replace("_", " ")), v) for k, v in top]
    out["categories"] = str(bar_chart(
        items, title="Incidents by category",
        description=f"Incidents inside the hotspot's outline by category, {period}, "
                    "largest first."))
    if counts.hour_of_week is not None:
        out["hours"] = str(heat_grid(
            counts.hour_of_week.tolist(), title="Incidents by hour of the week",
            description=f"Incidents inside the hotspot's outline with a time of day, by day "
                        f"of the week and hour (local time), {period}."))
    return out


_ENV.filters["when"] = _when
_PAGE = _ENV.from_string("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}: hotspot</title>
<link rel="stylesheet" href="{{ base }}/leaflet/leaflet.css?v={{ version }}">
<style>{{ nav_css|safe }}
body { margin: 0; font: 16px/1.45 system-ui, sans-serif; color: #1f2933; background: #fff; }
main { max-width: 76rem; margin: 0 auto; padding: 0.5rem 1rem 2rem; }
a { color: #0b3d91; }
.back { display: inline-flex; align-items: center; min-height: 44px; }
h1 { font-size: 1.7rem; margin: 0.2rem 0; }
h2 { font-size: 1.2rem; margin: 1.6rem 0 0.4rem; }
h3 { font-size: 1.02rem; margin: 1rem 0 0.2rem; }
.lead { margin: 0.2rem 0 0.6rem; color: #334e68; }
.badge { display: inline-block; padding: 0.1rem 0.55rem; border-radius: 1rem; color: #fff;
  font-weight: 600; font-size: 0.9rem; }
.top { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 1.2rem;
  align-items: start; }
#hp-map { height: 420px; border: 1px solid #bcccdc; border-radius: 4px; background: #e8ecef; }
.leaflet-touch .leaflet-bar a { width: 44px; height: 44px; line-height: 44px; }
.map-note { font-size: 0.88rem; color: #52606d; margin: 0.3rem 0 0; }
dl.facts { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 0.35rem 0.9rem;
  margin: 0; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
dl.facts .detail { display: block; color: #52606d; font-size: 0.88rem; }
svg.chart { max-width: 100%; height: auto; display: block; }
.key { font-size: 0.88rem; color: #334e68; margin: 0.2rem 0; }
.swatch { display: inline-block; width: 0.9rem; height: 0.9rem; vertical-align: -0.12rem;
  margin: 0 0.25rem 0 0.6rem; border: 1px solid #9aa5b1; }
.empty { background: #f0f4f8; border-left: 4px solid #9fb3c8; padding: 0.6rem 0.9rem; }
.note { font-size: 0.9rem; color: #52606d; }
details summary { cursor: pointer; padding: 0.7rem 0; color: #0b3d91; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 0.4rem 0.55rem; border-bottom: 1px solid #d9e2ec;
  vertical-align: top; }
th { background: #f0f4f8; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tfoot td { font-weight: 600; }
.advice { display: grid; grid-template-columns: repeat(auto-fit, minmax(17rem, 1fr)); gap: 1rem; }
.advice article { border: 1px solid #d9e2ec; border-radius: 4px; padding: 0.2rem 0.9rem 0.7rem; }
.advice ul { padding-left: 1.2rem; margin: 0.2rem 0; }
.advice li { margin: 0.2rem 0; }
.source { font-size: 0.85rem; color: #52606d; }
.plans td a { display: inline-flex; min-height: 44px; align-items: center; }
footer { margin-top: 2rem; color: #52606d; font-size: 0.88rem; }
@media (max-width: 900px) {
  .top { grid-template-columns: minmax(0, 1fr); }
  #hp-map { height: 340px; }
}
@media print { #hp-map { height: 300px; } .back { display: none; } }
</style></head><body>
{{ nav|safe }}
<main>
<a class="back" href="/?{{ query }}">&larr; Back to the hotspot map</a>
<h1>{{ title }}</h1>
<p class="lead"><span class="badge" style="background: {{ colour }}">{{ class_label }}</span>
&middot; {{ period }}{% if scope %} &middot; {{ scope }}{% endif %}</p>

<div class="top">
<section aria-labelledby="map-h">
<h2 id="map-h" class="visually-hidden" style="position:absolute;left:-9999px">Where it is</h2>
<div id="hp-map" role="region" aria-label="Map of the hotspot's outline and the places around it"></div>
<p class="map-note">The outline of the hotspot, with the town centres, built-up areas, heritage
sites and bases near it. Individual incidents are not shown.</p>
</section>
<section aria-labelledby="facts-h">
<h2 id="facts-h" style="margin-top:0">At a glance</h2>
<dl class="facts">
{% for label, value, detail in facts %}
<dt>{{ label }}</dt><dd>{{ value }}{% if detail %}<span class="detail">{{ detail }}</span>{% endif %}</dd>
{% endfor %}
</dl>
</section>
</div>

<section aria-labelledby="months-h">
<h2 id="months-h">Incidents by month</h2>
{% if months_shown %}
{{ charts.months|safe }}
<p class="key"><span class="swatch" style="background:#0b3d91"></span>{{ period }}
{% if before_months %}<span class="swatch" style="background:#9fb3c8"></span>the
{{ before_months }} months before{% endif %}
{% if no_data %}<span class="swatch" style="background:#f0f4f8"></span>no data here{% endif %}</p>
<details><summary>The numbers as a table</summary>
<table><thead><tr><th scope="col">Month</th><th scope="col" class="n">Incidents</th></tr></thead>
<tbody>{% for m in month_rows %}<tr><td>{{ m.name }}</td><td class="n">{{ m.count }}</td></tr>
{% endfor %}</tbody>
</table></details>
{% else %}
<p class="empty">No months to show.</p>
{% endif %}
</section>

<section aria-labelledby="cats-h">
<h2 id="cats-h">Incidents by category</h2>
{% if counts.incidents %}{{ charts.categories|safe }}{% else %}<p class="empty">No incidents inside
the outline in this period.</p>{% endif %}
</section>
<section aria-labelledby="hours-h">
<h2 id="hours-h">When: hour of the week</h2>
{% if charts.hours %}
{{ charts.hours|safe }}
{% if counts.timed < counts.incidents %}<p class="note">From the {{ counts.timed|n }} of
{{ counts.incidents|n }} incidents whose time of day was recorded.</p>{% endif %}
{% if counts.timed < few_timed %}<p class="note">With only {{ counts.timed|n }} incidents
with a time of day, the grid shows when they happened, not a pattern to patrol by.</p>{% endif %}
{% else %}
<p class="empty" role="note">Times not recorded for these incidents: the data gives only the
month{% if counts.incidents %} (as data.police.uk street-level files do){% endif %}, so there
is no hour-of-week grid. A force's own export with times of day gives one.</p>
{% endif %}
</section>

<section aria-labelledby="advice-h">
<h2 id="advice-h">Prevention advice</h2>
{% if advice %}
<p class="note">For the main categories here, to pass on to people who live and work nearby.</p>
<div class="advice">
{% for block in advice %}
<article><h3>{{ block.category }}</h3>
{% for audience, steps in block.steps %}
<p style="margin:0.5rem 0 0"><strong>{{ audience_labels[audience] }}</strong></p>
<ul>{% for s in steps %}<li>{{ s }}</li>{% endfor %}</ul>
{% endfor %}
<p class="source">Source: {{ block.source }}{% if advice_note %}*{% endif %}</p>
</article>
{% endfor %}
</div>
{% if advice_note %}<p class="note">* {{ advice_note }}</p>{% endif %}
{% else %}
<p class="empty">No advice is held for the categories here.</p>
{% endif %}
</section>

<section aria-labelledby="plans-h" class="plans">
<h2 id="plans-h">Patrols here</h2>
{% if plans %}
<table>
<thead><tr><th scope="col">Plan</th><th scope="col">Shift</th>
<th scope="col" class="n">Visits planned</th><th scope="col" class="n">Visits logged</th>
<th scope="col" class="n">Minutes on site</th><th scope="col">Last visit</th></tr></thead>
<tbody>
{% for p in plans %}
<tr><td><a href="/v1/patrol-plans/{{ p.plan_id }}/map">{{ p.name or "Unnamed plan" }}</a></td>
<td>{{ p.shift_start|when }} to {{ p.shift_end|when }}</td>
<td class="n">{{ p.planned|n }}</td><td class="n">{{ p.logged|n }}</td>
<td class="n">{% if p.estimated %}&asymp; {% endif %}{{ p.minutes|round|int|n }} of
{{ p.planned_minutes|round|int|n }} planned</td>
<td>{{ p.last_visit|when if p.last_visit else "none yet" }}</td></tr>
{% endfor %}
</tbody>
<tfoot><tr><td colspan="2">All plans</td><td class="n">{{ total_planned|n }}</td>
<td class="n">{{ total_logged|n }}</td>
<td class="n">{% if any_estimated %}&asymp; {% endif %}{{ total_minutes|round|int|n }}</td><td></td></tr>
</tfoot>
</table>
<p class="note">Minutes on site come from the officer's device when it recorded the end of
the visit; otherwise the planned dwell is counted (marked &asymp;). Research on hot-spot
patrols (the Koper curve) puts the useful visit at about 10 to 15 minutes.</p>
{% else %}
<p class="empty">No patrol plan has visited this place yet.</p>
{% endif %}
<p class="note">A plan counts when one of its stops is this hotspot: the same hotspot number in
the same place (within {{ match_m|round|int }} m of the outline, as numbers change when the
data does). The latest {{ plans_scanned|n }} plans are checked.</p>
</section>

<footer>
<p>{{ attribution }}</p>
<p>Details: hotspot {{ row_id }} of the {{ method_name }} result on data version
{{ data_version }}; the address of this page keeps the map's settings, so it can be shared.</p>
</footer>
</main>
<script type="application/json" id="hp-data">{{ map_json|safe }}</script>
<script src="{{ base }}/leaflet/leaflet.js?v={{ version }}"></script>
{% if basemap %}<script src="{{ base }}/maps/basemap.js?v={{ version }}"></script>{% endif %}
<script>
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("hp-data").textContent);
  var map = L.map("hp-map", { scrollWheelZoom: false });
  if (data.tiles) {
    L.tileLayer(data.tiles, { maxZoom: 19, attribution: data.attribution }).addTo(map);
  }
  if (window.HotspotBasemap && window.HotspotBasemap.add) {
    try { window.HotspotBasemap.add(map, {}); } catch (e) { /* the outline still shows */ }
  }
  function named(feature, layer) {
    var name = feature.properties && feature.properties.name;
    if (name) {
      var span = document.createElement("span");
      span.textContent = name;
      layer.bindTooltip(span);
    }
  }
  ["force_boundary", "built_up_areas", "town_centres"].forEach(function (kind) {
    if (data.layers[kind]) {
      L.geoJSON(data.layers[kind], { style: data.styles[kind], onEachFeature: named,
                                     interactive: kind !== "force_boundary" }).addTo(map);
    }
  });
  var outline = L.geoJSON(data.outline, { style: data.style }).addTo(map);
  ["heritage_sites", "patrol_bases"].forEach(function (kind) {
    if (data.layers[kind]) {
      L.geoJSON(data.layers[kind], {
        style: data.styles[kind], onEachFeature: named,
        pointToLayer: function (f, ll) { return L.circleMarker(ll, data.styles[kind]); }
      }).addTo(map);
    }
  });
  map.fitBounds(outline.getBounds(), { padding: [40, 40], maxZoom: 17 });
  L.control.scale({ imperial: false }).addTo(map);
})();
</script>
</body></html>
""")


_NOT_FOUND = _ENV.from_string("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Hotspot not found</title>
<style>{{ nav_css|safe }}
body { margin: 0; font: 16px/1.5 system-ui, sans-serif; color: #1f2933; }
main { max-width: 44rem; margin: 2rem auto; padding: 0 1rem; }
a { color: #0b3d91; display: inline-flex; min-height: 44px; align-items: center; }
</style></head><body>
{{ nav|safe }}
<main>
<h1>This hotspot is not in the current results</h1>
<p>There is no hotspot {{ hotspot_id }} among the {{ hotspots|n }} hotspots these settings give
on the data held now. Hotspots are numbered by rank within one set of results: when new data is
loaded, or the map's settings differ from the ones the link was made with, the numbers change.</p>
<p><a href="/?{{ query }}">Open the hotspot map with the same settings</a></p>
<p style="color:#52606d;font-size:0.9rem">Details: data version {{ data_version }}.</p>
</main></body></html>
""")

METHOD_NAMES = {"dbscan": "DBSCAN clusters", "kde": "kernel density", "gistar": "Gi* hot spots",
                "auto": "best-in-backtest"}


def _scope(selection: Mapping[str, Any], labels: Mapping[str, str],
           priorities: Mapping[str, str]) -> str:
    if selection.get("priority"):
        key = str(selection["priority"])
        return "priority: " + priorities.get(key, key.replace("_", " "))
    cats = selection.get("categories") or []
    if cats:
        names = [labels.get(c, c) for c in cats]
        return "categories: " + ", ".join(names[:4]) + (" and more" if len(names) > 4 else "")
    return "all categories"


def hotspot_page(data: HotspotPageData) -> str:
    """The hotspot's page as HTML (see the module's docstring)."""
    row = data.row
    cls = str(row.get("context_class") or "urban")
    style = {"color": CLASS_COLOURS.get(cls, "#444444"), "weight": 3,
             "fillColor": CLASS_COLOURS.get(cls, "#444444"), "fillOpacity": 0.3}
    map_data = {
        "outline": data.outline, "style": style, "layers": dict(data.layers),
        "styles": LAYER_STYLES, "tiles": data.tiles_url, "attribution": data.tiles_attribution,
    }
    map_json = json.dumps(map_data, separators=(",", ":")).replace("<", "\\u003c")
    counts = data.counts
    month_rows = [{"name": month_label(m),
                   "count": "no data" if m in data.no_data_months
                   else number(counts.by_month.get(m, 0))} for m in data.months]
    plans = list(data.plans)
    return _PAGE.render(
        title=_title(row), base=data.asset_base.rstrip("/"), version=static_version(),
        nav_css=str(NAV_CSS), nav=str(nav_html("map", **dict(data.nav))),
        query=data.query, colour=CLASS_COLOURS.get(cls, "#444444"),
        class_label=CLASS_LABELS.get(cls, cls), period=period_text(data.selection),
        scope=_scope(data.selection, data.category_labels, data.priority_labels),
        facts=_facts(data),
        charts=_charts(data), counts=counts, months_shown=bool(data.months),
        before_months=sum(1 for m in data.months if m not in data.selected_months),
        no_data=bool(data.no_data_months), month_rows=month_rows,
        advice=[{"category": b.category, "source": b.source, "steps": b.steps}
                for b in data.advice],
        advice_note=data.advice_note, audience_labels=AUDIENCE_LABELS,
        plans=plans, total_planned=sum(p.planned for p in plans),
        total_logged=sum(p.logged for p in plans),
        total_minutes=sum(p.minutes for p in plans),
        any_estimated=any(p.estimated for p in plans),
        plans_scanned=data.plans_scanned, match_m=data.match_m,
        attribution=data.attribution, row_id=str(row.get("id") or ""),
        method_name=METHOD_NAMES.get(data.method, data.method), data_version=data.data_version,
        few_timed=FEW_TIMED, map_json=str(map_json), basemap=(OWN_DIR / "basemap.js").is_file(),
    )


def hotspot_not_found_page(hotspot_id: str, *, query: str, data_version: str, hotspots: int,
                           nav: Mapping[str, Any] | None = None) -> str:
    """The page for an id that no hotspot of the result has (served with 404)."""
    return _NOT_FOUND.render(hotspot_id=hotspot_id, query=query, data_version=data_version,
                             hotspots=hotspots, nav_css=str(NAV_CSS),
                             nav=str(nav_html("map", **dict(nav or {}))))
