"""The printable briefing: one A4 page per crew, made to be read on paper in a vehicle.

Each page holds the crew's name, the shift, a QR code of the crew's link to its field view,
the crew's map (:func:`maps.crew_map.crew_map`: inline SVG of the store's roads and place
names under the route and its numbered stops; no tiles, no script), and the stops in order
with their OS grid references, times, the place's busiest hours, what to look for, a tick box
and room for notes. A crew with no stops still gets its page, saying why. The map takes the
height the page has left once the header, the table, the notes, the legend and the footer are
laid out (:func:`_fit_legend`; text measured with the narrow face's widths, :func:`_text_mm`);
should the page still have to squeeze it, the whole map shrinks. :func:`map_heights` tells
the service those heights, so that each map's basemap covers all the map shows.

Every text from data is escaped (Jinja2 autoescape). Sizes are in millimetres on the page;
no printed text is smaller than 10 pt.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment

from maps.crew_map import PAGE_W_MM, crew_map, route_bbox
from maps.qr import qr_svg
from maps.styles import ROUTE_COLOURS, TEAM_LABELS

__all__ = ["PAGE_W_MM", "briefing_page", "crew_map", "map_heights", "route_bbox"]

_ENV = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)

PAGE_H_MM = 277.0
"""Printed height inside the page margins (A4 with 10 mm margins), millimetres."""
PT_MM = 25.4 / 72
"""One typographic point in millimetres."""
ROW_MM = 4.85
"""Height of a one-line row of the stop table at 10 pt, millimetres (compact rows)."""
ROOMY_ROW_MM = 7.2
"""The same with room to write a note by hand: used when the map still gets
:data:`ROOMY_MAP_MM`."""
ROOMY_MAP_MM = 85.0
LINE_MM = 4.4
"""Height of a line of 10 pt text, millimetres."""
MAP_MAX_MM = 130.0
MAP_MIN_MM = 52.0
"""The map's height is what the page has left, within these bounds (mm): past the least, the
legend gives up the advice of the categories at the fewest stops (their names stay)."""
MAP_FLOOR_MM = 30.0
"""With all the advice given up, the map still takes only what the page has left, but never
less than this (mm)."""
HEADER_MM = 28.0
"""Height of a page's header beside the QR code (the crew's name, on two lines at most; team
and plan, shift, stops), millimetres."""
QR_MM = 24.0
"""The QR code's side, millimetres."""
QR_LINE_MM = 10 * 1.1 * PT_MM
"""Height of a line of the address under the QR code (10 pt), millimetres."""
QR_CHARS = 14
"""About how many characters of that address fit on one of its lines (30 mm)."""
TABLE_HEAD_MM = 4.8
"""Height of the stop table's head row, millimetres."""
FOOTER_LINE_MM = 10 * 1.15 * PT_MM
"""Height of a line of the footer (10 pt), millimetres."""
FOOTER_MM = 186.0
"""How much of a line of the footer's 190 mm its words fill before it wraps, millimetres."""
GAPS_MM = 3.0
"""The room under the map and above the legend, millimetres."""
WHERE_MM = 57.8
"""Width of a line of the table's "Where" column (59.8 mm less its padding), millimetres."""
WARN_MM = 184.8
"""Width of a line of a warning (190 mm less its border and padding), millimetres."""
LEGEND_MM = 88.0
"""How much of a line of one of the legend's two columns (92.5 mm) its words fill, mm."""
NARROW = ('"Liberation Sans Narrow", "Arial Narrow", "Roboto Condensed", '
          '"DejaVu Sans Condensed", sans-serif')
"""Narrow faces first: 10 pt text that still fits a stop on one line."""
_WIDTHS = {191: "'", 222: "ijl", 278: " !,./:;I[]ft\\", 333: "()-r`", 355: '"', 389: "*",
           500: "Jckvxyzs", 584: "+<=>", 611: "FTZ", 667: "&ABEKPSVXY", 722: "CDHNRUw",
           778: "GOQ", 833: "Mm", 889: "%", 944: "W", 1015: "@"}
"""Helvetica's advance widths (thousandths of the size) of the characters not 556 wide (the
digits, most lower-case letters): Arial's and Liberation Sans's too."""
_WIDTH = {c: w for w, chars in _WIDTHS.items() for c in chars}


def _hhmm(iso: Any) -> str:
    return str(iso)[11:16] if isinstance(iso, str) and len(iso) >= 16 else ""


def _when(iso: Any) -> str:
    try:
        return datetime.fromisoformat(str(iso)).strftime("%a %d %b %Y %H:%M")
    except ValueError:
        return str(iso)


def _minutes(value: float) -> str:
    m = round(value)
    return f"{m} min" if m < 60 else f"{m // 60} h {m % 60:02d} min"


def _keys(route: Mapping[str, Any]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The categories to look for on this route, lettered A, B... most frequent first (with
    the taxonomy's advice, at most 20), and last the heritage sites near its stops (lettered
    H, or * when H is taken), named when there are three or fewer. Returns the legend and
    category -> letter."""
    counts: dict[str, dict[str, Any]] = {}
    for s in route.get("stops") or []:
        cats = [i for i in s.get("look_for") or [] if i.get("category") != "heritage_sites"]
        for item in cats[:2]:
            entry = counts.setdefault(item["category"], {"label": item.get("label") or
                                                          item["category"],
                                                          "advice": item.get("advice") or "",
                                                          "n": 0})
            entry["n"] += 1
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1]["n"], kv[1]["label"]))[:20]
    letters = {cat: chr(ord("A") + i) for i, (cat, _v) in enumerate(ordered)}
    legend = [{"key": letters[c], "label": v["label"], "advice": v["advice"], "n": v["n"]}
              for c, v in ordered]
    sites: list[str] = []
    for s in route.get("stops") or []:
        for item in s.get("look_for") or []:
            if item.get("category") == "heritage_sites":
                for site in str(item.get("advice", "")).removeprefix("Check: ").split(", "):
                    if site and site not in sites:
                        sites.append(site)
    if sites:
        letters["heritage_sites"] = "H" if "H" not in letters.values() else "*"
        which = ", ".join(sites) if len(sites) <= 3 else "the sites named on the map"
        legend.append({"key": letters["heritage_sites"], "label": "Heritage sites nearby",
                       "advice": f"check {which} for lead and metal theft, damage and "
                       "illegal metal detecting", "n": 1_000})
    return legend, letters


def _rows(route: Mapping[str, Any], letters: Mapping[str, str],
          grid: Callable[[Mapping[str, Any]], str],
          busy: Mapping[str, Sequence[Sequence[str]] | None] | None = None
          ) -> list[dict[str, Any]]:
    """The table's rows: the base at each end (leave, back) and each stop with its grid
    reference (``grid``), patrol time, the place's busiest hours the visit falls in (``busy``,
    by hotspot id: :func:`_busy_hours`; "any time" where they are not known; a stop's own
    windows in a plan without them), the letters of what to look for (:func:`_keys`) and any
    idle wait there (``idle_min``)."""
    rows = []
    stops = list(route.get("stops") or [])
    for i, s in enumerate(stops):
        if s.get("kind") == "base":
            rows.append({"base": True, "n": "", "where": s.get("name", ""), "grid": grid(s),
                         "patrol": ("Leave " if i == 0 else "Back ") + _hhmm(
                             s.get("departure") if i == 0 else s.get("arrival")),
                         "window": "", "look": "", "wait": ""})
            continue
        # not the stop's own windows: a place visited k times has its busiest hours cut into
        # k parts, one for each visit
        hours = (busy or {}).get(str(s.get("hotspot_id")), s.get("windows") or [])
        start = str(s.get("start", ""))
        # the busy hours the visit falls in (the first ones when it falls in none)
        inside = [(a, b) for a, b in hours or [] if str(a) <= start <= str(b)] or (hours or [])[:1]
        window = " ".join(f"{_hhmm(a)}–{_hhmm(b)}" for a, b in inside[:1])
        if hours is None:
            window = "any time"
        cats = [i for i in s.get("look_for") or [] if i.get("category") != "heritage_sites"]
        keys = [letters[c["category"]] for c in cats[:2] if c["category"] in letters]
        if any(i.get("category") == "heritage_sites" for i in s.get("look_for") or []):
            keys.append(letters.get("heritage_sites", "H"))
        name = str(s.get("name", ""))
        if s.get("visits") and s["visits"] > 1:
            name += f" (visit {s.get('visit')} of {s['visits']})"
        idle = float(s.get("idle_min") or 0.0)
        rows.append({"base": False, "n": s.get("seq", ""), "where": name, "grid": grid(s),
                     "patrol": f"{_hhmm(s.get('start'))}–{_hhmm(s.get('departure'))}",
                     "window": window, "look": " ".join(keys),
                     "wait": _minutes(idle) if idle > 0 else ""})
    return rows


_ENV.filters["when"] = _when
_PAGE = _ENV.from_string("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Briefing: {{ name or "patrol plan" }}</title>
<style>
@page { size: A4; margin: 10mm; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { font: 10pt/1.25 system-ui, "DejaVu Sans", sans-serif; color: #111; margin: 0 auto;
  max-width: 190mm; }
section.crew { break-after: page; page-break-after: always; break-inside: avoid;
  height: 276mm; overflow: hidden; display: flex; flex-direction: column; }
section.crew > * { flex: none; }
section.crew > .crew-map { flex: 0 1 auto; min-height: 20mm; } /* squeezed: it shrinks whole */
section.crew:last-of-type { break-after: auto; page-break-after: auto; }
.top { display: flex; gap: 4mm; align-items: flex-start; }
.top .who { flex: 1; min-width: 0; }
h1 { font-size: 15pt; margin: 0 0 1mm; line-height: 1.15; }
p.meta { margin: 0 0 1.5mm; }
.qr-box { width: 30mm; text-align: center; font-size: 10pt; line-height: 1.1; }
.qr-box svg { width: 24mm; height: 24mm; display: block; margin: 0 auto; }
.qr-box span { display: block; overflow-wrap: anywhere; }
.qr-box .qr-path { white-space: nowrap; font-weight: 600; }
.warn { border: 0.6mm solid #b45309; background: #fff7ed; padding: 1.2mm 2mm;
  margin: 0 0 1.5mm; }
.empty { border: 0.6mm solid #555; padding: 4mm; font-size: 12pt; margin: 2mm 0; }
.crew-map { display: block; margin: 0 0 1.5mm; }
.crew-map text.halo { paint-order: stroke; stroke: #fff; stroke-width: 0.9px;
  stroke-linejoin: round; }
table { border-collapse: collapse; width: 100%; table-layout: fixed; font-size: 10pt; }
table, dl.legend, .warn { font-family: {{ narrow|safe }}; }
col.tick { width: 7mm; } col.n { width: 7mm; } col.grid { width: 29mm; }
col.patrol { width: 21mm; } col.window { width: 20mm; } col.look { width: 12mm; }
col.notes { width: 34mm; }
th, td { border: 0.25mm solid #888; padding: 0.25mm 1mm; text-align: left;
  vertical-align: top; line-height: 1.12; }
section.roomy td { padding: 1.4mm 1mm; }
th { background: #e8e8e8; font-weight: 600; }
td.n, td.tick { text-align: center; } td.grid { white-space: nowrap; font-variant-numeric:
  tabular-nums; } td.patrol, td.window { font-variant-numeric: tabular-nums; }
td.where { overflow-wrap: anywhere; }
tr.base td { background: #f3f3f3; }
.box { display: inline-block; width: 3.6mm; height: 3.6mm; border: 0.35mm solid #111;
  vertical-align: middle; }
.wait { display: block; color: #9a3412; font-weight: 600; }
dl.legend { margin: 1.5mm 0 0; columns: 2; column-gap: 5mm; }
dl.legend div { margin: 0 0 0.5mm; break-inside: avoid; }
p.given-up { margin: 0.5mm 0 0; font-family: {{ narrow|safe }}; font-style: italic; }
dl.legend dt { display: inline; font-weight: 700; } dl.legend dd { display: inline;
  margin: 0; }
footer { margin-top: auto; padding-top: 1mm; font-size: 10pt; color: #333;
  font-family: {{ narrow|safe }}; line-height: 1.15; }
@media screen { body { padding: 4mm; } section.crew { height: auto; overflow: visible;
  border-bottom: 2px dashed #999; margin-bottom: 8mm; padding-bottom: 4mm; } }
.draft { font-size: 11pt; border: 2px solid #b00020; color: #b00020; padding: 0 2mm;
  vertical-align: middle; }
</style>{% if nav %}<style>{{ nav_css }}</style>{% endif %}</head><body>
{{ nav|safe }}
{% for c in crews %}
<section class="crew{% if c.roomy %} roomy{% endif %}" aria-label="{{ c.route.label }}">
<div class="top"><div class="who">
<h1>{{ c.route.label }}{% if draft %} <span class="draft">DRAFT: not published</span>{% endif %}</h1>
<p class="meta">{{ c.title }} &middot; {{ name or "Patrol plan" }}<br>
Shift {{ shift.start|when }} to {{ shift.end|when }}<br>
{% if c.stops %}{{ c.stops }} stop{{ "s" if c.stops != 1 }}, {{ c.km }} km &middot;
out {{ c.out }}, back {{ c.back }}{% else %}No stops{% endif %}</p>
</div>
{% if c.qr %}<div class="qr-box">{{ c.qr|safe }}<span>{{ c.link_host }}</span>
{% if c.link_path %}<span class="qr-path">{{ c.link_path }}</span>{% endif %}</div>{% endif %}
</div>
{% for w in c.warnings %}<p class="warn" role="note">{{ w }}</p>{% endfor %}
{% if not c.stops %}
<p class="empty"><strong>No stops for this crew:</strong> {{ c.empty_reason }}.
Patrol from {{ c.rows[0].where if c.rows else "the base" }}
{%- if c.rows and c.rows[0].grid %} ({{ c.rows[0].grid }}){% endif %} as your supervisor
directs, and scan the code to see the plan.</p>
{% endif %}
{{ c.map|safe }}
{% if c.stops %}
<table><colgroup><col class="tick"><col class="n"><col class="where"><col class="grid">
<col class="patrol"><col class="window"><col class="look"><col class="notes"></colgroup>
<thead><tr><th scope="col" aria-label="Done">&#10003;</th><th scope="col">#</th>
<th scope="col">Where</th><th scope="col">Grid ref</th><th scope="col">Patrol</th>
<th scope="col">Busiest</th><th scope="col">Look</th><th scope="col">Notes</th></tr></thead>
<tbody>
{% for r in c.rows %}
<tr{% if r.base %} class="base"{% endif %}><td class="tick">
{%- if not r.base %}<span class="box"></span>{% endif %}</td>
<td class="n">{{ r.n }}</td><td class="where">{{ r.where }}</td>
<td class="grid">{{ r.grid }}</td>
<td class="patrol">{{ r.patrol }}{% if r.wait %}<span class="wait">wait {{ r.wait }}</span>{% endif %}</td>
<td class="window">{{ r.window }}</td><td class="look">{{ r.look }}</td><td></td></tr>
{% endfor %}
</tbody></table>
{% endif %}
{% if c.legend %}<dl class="legend" aria-label="What to look for">
{% for k in c.legend %}<div><dt>{{ k.key }} {{ k.label }}{% if k.advice %}:{% endif %}</dt>
{% if k.advice %} <dd>{{ k.advice }}</dd>{% endif %}</div>{% endfor %}
</dl>{% endif %}
{% if c.given_up %}<p class="given-up">What to do for {{ c.given_up }}: in the field view
{%- if c.qr %} (scan the code){% endif %}.</p>{% endif %}
<footer>{{ footer }}</footer>
</section>
{% endfor %}
{% if not crews %}<p>This plan has no crews.</p>{% endif %}
</body></html>
""")


def _title(route: Mapping[str, Any]) -> str:
    if route.get("unit") == "rural_crime_team":
        return TEAM_LABELS["rural_crime_team"]
    return f"Town centre officers, {route.get('town') or ''}".rstrip(", ")


def _grid(stop: Mapping[str, Any]) -> str:
    return str(stop.get("grid_ref") or "")  # api.services.briefing.add_grid_refs fills older plans


def _text_mm(text: str, bold: bool = False) -> float:
    """About how wide ``text`` prints at 10 pt in the page's narrow face (mm): Liberation Sans
    Narrow's and Arial Narrow's widths are Helvetica's (:data:`_WIDTHS`) times 0.82 (within
    2% of what Chromium prints); bold about 8% wider."""
    em = sum(_WIDTH.get(c, 556) for c in text) / 1000
    return em * 10 * PT_MM * 0.82 * (1.08 if bold else 1.0)


def _lines(width_mm: float, line_mm: float) -> int:
    """How many lines text ``width_mm`` wide takes, wrapped on lines ``line_mm`` long."""
    return max(1, math.ceil(width_mm / line_mm))


def _legend_lines(legend: Sequence[Mapping[str, Any]]) -> int:
    """The legend's height in lines: its two columns (each key's name in bold, then its
    advice), and the line under them that names the keys whose advice was given up
    (:func:`_fit_legend`)."""
    lines = [_lines(_text_mm(f"{k['key']} {k['label']}: ", bold=True) + _text_mm(k["advice"]),
                    LEGEND_MM) for k in legend]
    given_up = any(k.get("given_up") for k in legend)
    return math.ceil(sum(lines) / 2) + (1 if len(lines) > 1 else 0) + (1 if given_up else 0)


def _fixed_mm(link_host: str, link_path: str, footer: str) -> float:
    """The height (mm) of what a crew's page prints whatever its stops: the header (the QR
    code with its address under it when taller than the names beside it), the table's head,
    the footer (``footer``, wrapped) and the gaps round the map and the legend."""
    lines = math.ceil(len(link_host) / QR_CHARS) + (1 if link_path else 0)
    header = max(HEADER_MM, QR_MM + lines * QR_LINE_MM) if link_host else HEADER_MM
    foot = 1.0 + _lines(_text_mm(footer), FOOTER_MM) * FOOTER_LINE_MM
    return header + TABLE_HEAD_MM + foot + GAPS_MM


def _fit_legend(legend: list[dict[str, Any]], rows: int, note_lines: float,
                row_mm: float, fixed_mm: float) -> float:
    """The map's height (mm): what the page has left at 10 pt once what every page prints
    (``fixed_mm``, :func:`_fixed_mm`), the table (``rows`` lines), the notes and the legend
    are laid out. While that is under :data:`MAP_MIN_MM`, the legend drops the advice of its
    category at the fewest stops (marked ``given_up``: a line under the legend sends the
    crew to its field view for it); then the map takes what is left, at least
    :data:`MAP_FLOOR_MM`."""

    def left() -> float:
        return (PAGE_H_MM - fixed_mm - rows * row_mm
                - (note_lines + _legend_lines(legend)) * LINE_MM)

    for entry in sorted(legend, key=lambda k: k["n"]):
        if left() >= MAP_MIN_MM:
            break
        if entry["label"] != "Heritage sites nearby" and entry["advice"]:
            entry["advice"] = ""
            entry["given_up"] = True  # the page says where to find it
    return max(MAP_FLOOR_MM, min(MAP_MAX_MM, left()))


def briefing_page(document: Mapping[str, Any], *, nav: str = "", nav_css: str = "",
                  basemaps: Mapping[str, Mapping[str, Any]] | None = None,
                  crew_urls: Mapping[str, str] | None = None) -> str:
    """The briefing: one A4 page per crew of the plan, crews with no stops included.

    Parameters
    ----------
    document
        The plan document (``GET /v1/patrol-plans/{id}``; WGS84, local ISO times).
    nav, nav_css
        The navigation bar (safe HTML) and its CSS, on screen only.
    basemaps
        Per route label, the map under its route (GeoJSON, WGS84): roads, areas, boundary,
        labels.
    crew_urls
        Per route label, the absolute URL of the crew's field view (its short link): printed
        as a QR code and as text.

    A draft (``published`` false) says so on every page: its QR code leads to a field view
    the Rural Crime Team cannot open until the plan is published.
    """
    basemaps = basemaps or {}
    crews = []
    for n, (route, layout) in enumerate(_layouts(document, crew_urls)):
        crews.append(_crew_page(route, layout, basemaps.get(route.get("label", "")),
                                ROUTE_COLOURS[n % len(ROUTE_COLOURS)]))
    draft = document.get("published") is False  # older plans (no flag) count as published
    return _PAGE.render(crews=crews, name=document.get("name"), shift=document["shift"],
                        draft=draft, footer=_footer(document), nav=nav, nav_css=nav_css,
                        narrow=NARROW)


def map_heights(document: Mapping[str, Any],
                crew_urls: Mapping[str, str] | None = None) -> dict[str, float]:
    """Per route label, the height (mm) of the crew's map as :func:`briefing_page` lays out
    the page with these ``crew_urls``: with :func:`maps.crew_map.map_bbox`, the box its
    basemap has to cover."""
    return {route.get("label", ""): layout["height"]
            for route, layout in _layouts(document, crew_urls)}


def _footer(document: Mapping[str, Any]) -> str:
    """The footer every page prints: what the grid references, patrol times and busiest
    hours (:func:`_busy_hours`) are, and the data's attribution."""
    dwell = (document.get("options") or {}).get("dwell_min")
    on_spot = _minutes(float(dwell)) if dwell else "the set time"
    by = ""
    try:
        end = datetime.fromisoformat(str(document["shift"]["end"]))
        if dwell:  # the plan cuts the busy hours there, so that a visit still fits the shift
            by = (f", ending by {end - timedelta(minutes=float(dwell)):%H:%M} to leave "
                  f"{on_spot} on the spot")
    except (KeyError, TypeError, ValueError):
        pass
    return (f"Grid ref: OS National Grid. Patrol: when to be there ({on_spot} on the spot). "
            f"Busiest: the place's busiest hours within the shift{by}; any time: too few "
            f"incidents with a time of day to tell. {document.get('attribution', '')}")


def _layouts(document: Mapping[str, Any], crew_urls: Mapping[str, str] | None
             ) -> list[tuple[Mapping[str, Any], dict[str, Any]]]:
    """Each route with its page's layout (:func:`_layout`)."""
    crew_urls = crew_urls or {}
    warnings = _idle_warnings(document)
    footer = _footer(document)
    busy = _busy_hours(document)
    return [(route, _layout(route, warnings.get(route.get("label", ""), []),
                            crew_urls.get(route.get("label", "")), footer, busy))
            for route in document.get("routes") or []]


def _busy_hours(document: Mapping[str, Any]) -> dict[str, list[list[str]] | None]:
    """Per hotspot id, the place's busiest hours within the shift as the plan saw them
    (``peak_windows``: the last ending the dwell before the shift ends, so that a visit
    still fits); None where they are not known (too few incidents with a time of day:
    ``profile_used`` false, the whole shift its window)."""
    busy: dict[str, list[list[str]] | None] = {}
    for h in document.get("hotspots") or []:
        if h.get("profile_used") is False:
            busy[str(h.get("hotspot_id"))] = None
        elif h.get("peak_windows") is not None:
            busy[str(h.get("hotspot_id"))] = list(h["peak_windows"])
    return busy


def _idle_warnings(document: Mapping[str, Any]) -> dict[str, list[str]]:
    """The plan's warnings of idle time, by route label (each crew's page prints its own)."""
    warnings: dict[str, list[str]] = {}
    for w in document.get("warnings") or []:
        if w.get("kind") == "idle" and w.get("route"):
            warnings.setdefault(w["route"], []).append(str(w.get("message", "")))
    return warnings


def _layout(route: Mapping[str, Any], warnings: list[str], url: str | None, footer: str,
            busy: Mapping[str, list[list[str]] | None]) -> dict[str, Any]:
    """One crew's page laid out: the legend (its advice given up where the map needs the
    room), the table's rows (``busy``: the places' busiest hours, :func:`_busy_hours`), the
    warnings, the address under the QR code of ``url``, whether the rows are roomy and the
    map's height under the ``footer`` (:func:`_map_height`)."""
    legend, letters = _keys(route)
    rows = _rows(route, letters, _grid, busy)
    stops = int((route.get("totals") or {}).get("stops") or 0)
    empty = None if stops else (route.get("empty_reason") or "nothing to visit in this plan")
    link = _link_lines(url or "")
    roomy, height = _map_height(legend, rows, warnings, empty,
                                _fixed_mm(link["link_host"], link["link_path"], footer))
    return {"legend": legend, "rows": rows, "stops": stops, "empty_reason": empty,
            "warnings": warnings, "url": url, "link": link, "roomy": roomy, "height": height}


def _crew_page(route: Mapping[str, Any], layout: Mapping[str, Any],
               basemap: Mapping[str, Any] | None, colour: str) -> dict[str, Any]:
    """What one crew's page shows, as :func:`_layout` laid it out: the header's figures, the
    table's rows, the legend, the warnings, the QR code of the crew's field view and the map
    in ``colour``."""
    totals = route.get("totals") or {}
    url = layout["url"]
    legend = layout["legend"]
    return {
        "route": route, "title": _title(route), "stops": layout["stops"],
        "km": f"{float(totals.get('distance_m') or 0) / 1000:.1f}",
        "out": _hhmm(totals.get("start")), "back": _hhmm(totals.get("end")),
        "rows": layout["rows"], "legend": legend, "roomy": layout["roomy"],
        "given_up": ", ".join(k["key"] for k in legend if k.get("given_up")),
        "warnings": layout["warnings"], "empty_reason": layout["empty_reason"],
        "qr": qr_svg(url, title=f"Field view of {route.get('label', '')}") if url else "",
        # the address under the QR code: the host, then the path on a line of its own, so
        # that the code an officer may type is never broken across lines
        **layout["link"],
        "map": crew_map(route, basemap, colour=colour, height_mm=layout["height"]),
    }


def _link_lines(url: str) -> dict[str, str]:
    """The address under a QR code in two lines: the service's address (which may wrap),
    then the short link's ``/f/CODE``, never broken where an officer would type it. An
    address with no short link (a plan stored before them) is one line that may wrap."""
    if not url:
        return {"link_host": "", "link_path": ""}
    parts = urlsplit(url)
    where = parts.path.rfind("/f/")
    if where < 0 or parts.query:
        return {"link_host": url.split("://", 1)[-1], "link_path": ""}
    return {"link_host": parts.netloc + parts.path[:where], "link_path": parts.path[where:]}


def _map_height(legend: list[dict[str, Any]], rows: Sequence[Mapping[str, Any]],
                warnings: Sequence[str], empty: str | None,
                fixed_mm: float) -> tuple[bool, float]:
    """Whether the table gets roomy rows (when the map still gets :data:`ROOMY_MAP_MM` with
    them), and the map's height (mm) with the rows chosen, under what every page prints
    (``fixed_mm``, :func:`_fixed_mm`); the legend gives up advice in place to make room
    (:func:`_fit_legend`). A page with no stops keeps its map at most 110 mm."""
    wrapped = sum(1 for row in rows if _text_mm(str(row["where"])) > WHERE_MM or row["wait"]
                  or row["window"].count("–") > 1)
    # a warning: its lines, and its border, padding and margin (about a line)
    notes = sum(1.2 + _lines(_text_mm(w), WARN_MM) for w in warnings) + (3 if empty else 0)
    roomy = _fit_legend([dict(k) for k in legend], len(rows) + wrapped, notes,
                        ROOMY_ROW_MM, fixed_mm) >= ROOMY_MAP_MM
    height = _fit_legend(legend, len(rows) + wrapped, notes,
                         ROOMY_ROW_MM if roomy else ROW_MM, fixed_mm)
    if empty:
        height = min(height, 110.0)
    return roomy, height
