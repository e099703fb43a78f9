"""The HTML of a hotspot's own page and of the page for a hotspot that is not found: Jinja2
templates (autoescaped), with the page's style sheet and its small map script inline.

:func:`maps.hotspot_page.hotspot_page` fills :data:`PAGE`; the map script reads the outline and
the layers from a JSON script element and writes names with ``textContent``.
"""

from __future__ import annotations

from jinja2 import Environment

from maps.charts import number
from maps.plan_pages import when

_ENV = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
_ENV.filters["n"] = number


_ENV.filters["when"] = lambda iso: when(iso) if iso else ""


def percent(share: float | None) -> str:
    """A share as a whole percentage (``50%``); a dash when there is none (nothing planned)."""
    return "\u2013" if share is None else f"{share:.0%}"


def minutes(value: float | None) -> str:
    """Minutes as people read them: ``45 min``, ``2 h 05 min``."""
    m = round(value or 0)
    return f"{m} min" if m < 60 else f"{m // 60} h {m % 60:02d} min"


_ENV.filters["pct"] = percent
_ENV.filters["mins"] = minutes
PAGE = _ENV.from_string("""<!DOCTYPE html>
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
.advice article { align-self: start; }
.place-advice { border-left: 4px solid #1f5f8b; padding: 0.1rem 1rem 0.3rem; margin: 0 0 1rem;
  background: #f5f8fb; }
.place-advice ol { padding-left: 1.4rem; margin: 0.3rem 0; }
#leaflet-link { display: inline-flex; align-items: center; min-height: 44px; }
.source { font-size: 0.85rem; color: #52606d; }
.plans td a { display: inline-flex; min-height: 44px; align-items: center; }
.plans td .detail { display: block; color: #52606d; font-size: 0.88rem; }
.dose-summary { margin: 0.2rem 0 0.6rem; }
.plans-waiting { padding-left: 1.2rem; margin: 0.2rem 0 0.6rem; }
.plans-waiting a { display: inline-flex; min-height: 44px; align-items: center; }
.plans-waiting .detail { display: block; color: #52606d; font-size: 0.88rem; }
footer { margin-top: 2rem; color: #52606d; font-size: 0.88rem; }
@media (max-width: 900px) {
  .top { grid-template-columns: minmax(0, 1fr); }
  #hp-map { height: 340px; }
  /* the patrols as one card per plan: a label beside each figure */
  table.dose thead { display: none; }
  table.dose tr { display: block; border: 1px solid #d9e2ec; border-radius: 4px;
    margin: 0 0 0.6rem; padding: 0.2rem 0.6rem; }
  table.dose td { display: flex; justify-content: space-between; gap: 1rem; border: 0;
    padding: 0.25rem 0; text-align: right; }
  table.dose td::before { content: attr(data-label); font-weight: 600; text-align: left; }
  table.dose td:first-child { text-align: left; border-bottom: 1px solid #d9e2ec; }
  table.dose td:first-child::before, table.dose td[data-label=""]::before { content: none; }
  table.dose td[data-label=""]:empty { display: none; }
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
{% if place_advice and place_advice.points %}
<div class="place-advice" id="place-advice">
<h3>For {{ place_advice.audience | lower }} here</h3>
<ol>{% for p in place_advice.points %}<li>{{ p }}</li>{% endfor %}</ol>
{% if place_advice.contact %}<p>{{ place_advice.contact }}</p>{% endif %}
<p><a href="{{ place_advice.leaflet }}" id="leaflet-link">Printable leaflet (one A4 page)</a></p>
</div>
{% endif %}
{% if advice %}
<p class="note">By main category, for everyone who lives and works nearby.</p>
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
<p class="dose-summary"><strong>{{ dosage.visits_made|n }} of {{ dosage.planned_visits|n }}
planned visit{{ "" if dosage.planned_visits == 1 else "s" }} made</strong>
({{ dosage.share|pct }}) in {{ plans|length|n }} plan{{ "" if plans|length == 1 else "s" }}
&middot; <strong>{{ dosage.minutes_on_site|mins }} on site</strong> of
{{ dosage.planned_min|mins }} planned{% if dosage.untimed_visits %}, not counting
{{ dosage.untimed_visits|n }} visit{{ "" if dosage.untimed_visits == 1 else "s" }} with no end
time{% endif %}.</p>
{% if under_way %}
<p class="note dose-under-way">{% if plans|length == 1 %}This shift is{% else %}{{ under_way|n }}
of these shifts {{ "is" if under_way == 1 else "are" }}{% endif %} still under way:
{{ "its" if under_way == 1 else "their" }} visits so far are counted against all
{{ "it plans" if under_way == 1 else "they plan" }} here.</p>
{% endif %}
<table class="dose">
<thead><tr><th scope="col">Plan and shift</th><th scope="col">Crew</th>
<th scope="col" class="n">Visits made</th><th scope="col" class="n">Share</th>
<th scope="col" class="n">Minutes on site</th>
{% if any_untimed %}<th scope="col" class="n">No end time</th>{% endif %}
<th scope="col">Last visit</th></tr></thead>
<tbody>
{% for p in plans %}
<tr><td data-label="Plan"><span><a href="/plans/{{ p.plan_id }}">{{ p.name or "Unnamed plan" }}</a>
<span class="detail">{{ p.shift_start|when }} to {{ p.shift_end|when }}
{%- if p.status == "under_way" %} (under way: visits so far){% endif %}</span></span></td>
<td data-label="Crew">{{ p.crews|join(", ") }}</td>
<td class="n" data-label="Visits made">{{ p.made|n }} of {{ p.planned|n }}</td>
<td class="n" data-label="Share">{{ p.share|pct }}</td>
<td class="n" data-label="Minutes on site">{{ p.minutes|mins }} of {{ p.planned_minutes|mins }}</td>
{% if any_untimed %}<td class="n" data-label="Visits with no end time">{{ p.untimed|n }}</td>
{% endif %}
<td data-label="Last visit">{{ p.last_visit|when if p.last_visit else "none yet" }}</td></tr>
{% endfor %}
</tbody>
{% if plans|length > 1 %}
<tfoot><tr><td colspan="2" data-label="">All {{ plans|length|n }} plans</td>
<td class="n" data-label="Visits made">{{ dosage.visits_made|n }} of {{ dosage.planned_visits|n }}</td>
<td class="n" data-label="Share">{{ dosage.share|pct }}</td>
<td class="n" data-label="Minutes on site">{{ dosage.minutes_on_site|mins }} of
{{ dosage.planned_min|mins }}</td>
{% if any_untimed %}<td class="n" data-label="Visits with no end time">
{{- dosage.untimed_visits|n }}</td>{% endif %}
<td data-label=""></td></tr>
</tfoot>
{% endif %}
</table>
<p class="note">A planned visit is made when an officer logged a visit at that stop. Minutes on
site come only from visits whose end was recorded (the field view's dwell timer, from arrival
to leaving); a visit logged with no end time counts as made, but its minutes are not known and
are not counted{% if any_untimed %} ("visits with no end time"){% endif %}. Research on
hot-spot patrols (the Koper curve) puts the useful visit at about 10 to 15 minutes.</p>
{% elif to_come %}
<p class="empty">No patrol shift with a stop here has started yet.</p>
{% else %}
<p class="empty">No patrol plan has visited this place yet.</p>
{% endif %}
{% if waiting %}
{% if to_come %}
<p class="dose-to-come"><strong>{{ to_come_visits|n }} more planned
visit{{ "" if to_come_visits == 1 else "s" }}</strong> in {{ to_come|n }}
shift{{ "" if to_come == 1 else "s" }} still to come: not counted, as nobody could have
visited yet.</p>
{% endif %}
{% if draft_visits %}
<p class="dose-not-counted">{{ draft_visits|n }} planned
visit{{ "" if draft_visits == 1 else "s" }} in {{ drafts|n }} draft
plan{{ "" if drafts == 1 else "s" }} (never published, so no crew had
{{ "it" if drafts == 1 else "them" }}): not counted.</p>
{% endif %}
{% if unknown_visits %}
<p class="dose-not-counted">{{ unknown_visits|n }} planned
visit{{ "" if unknown_visits == 1 else "s" }} in plans with no known shift time: not
counted.</p>
{% endif %}
<ul class="plans-waiting">
{% for p in waiting %}
<li><a href="/plans/{{ p.plan_id }}">{{ p.name or "Unnamed plan" }}</a>:
{{ p.planned|n }} planned visit{{ "" if p.planned == 1 else "s" }}
{%- if p.crews %} ({{ p.crews|join(", ") }}){% endif %}
<span class="detail">{% if p.shift_start %}{{ p.shift_start|when }} to {{ p.shift_end|when }}
&middot; {% endif %}{{ reasons.get(p.status, p.status) }}</span></li>
{% endfor %}
</ul>
{% endif %}
<p class="note">Only published plans are counted, once their shift has started (a shift still
under way with the visits made so far), as in the priority report. A plan is listed when one of
its stops is this hotspot: the same hotspot number in the same place (within
{{ match_m|round|int }} m of the outline, as numbers change when the data does). The latest
{{ plans_scanned|n }} plans are checked.</p>
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

NOT_FOUND_PAGE = _ENV.from_string("""<!DOCTYPE html>
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
