"""The printable briefing: one A4 page per crew, made to be read on paper in a vehicle.

Each page holds the crew's name, the shift, a QR code of the crew's link to its field view,
the crew's map (:func:`maps.crew_map.crew_map`: inline SVG of the store's roads and place
names under the route and its numbered stops; no tiles, no script), and the stops in order
with their OS grid references, times, patrol windows, what to look for, a tick box and room
for notes. A crew with no stops still gets its page, saying why. The map takes the height the
page has left once the header, the table, the notes, the legend and the footer are laid out
(:func:`_fit_legend`); should the page still have to squeeze it, the whole map shrinks.

Every text from data is escaped (Jinja2 autoescape). Sizes are in millimetres on the page;
no printed text is smaller than 10 pt.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment

from maps.crew_map import PAGE_W_MM, crew_map, route_bbox
from maps.qr import qr_svg
from maps.styles import ROUTE_COLOURS, TEAM_LABELS

__all__ = ["PAGE_W_MM", "briefing_page", "crew_map", "route_bbox"]

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
FOOTER_CHARS = 125
"""About how many characters fit on a line of the footer (190 mm)."""
GAPS_MM = 3.0
"""The room under the map and above the legend, millimetres."""
WHERE_CHARS = 38
"""About how many characters of a place's name fit on one line of the table."""
LEGEND_CHARS = 62
"""About how many characters fit on a line of one of the legend's two columns."""
NARROW = ('"Liberation Sans Narrow", "Arial Narrow", "Roboto Condensed", '
          '"DejaVu Sans Condensed", sans-serif')
"""Narrow faces first: 10 pt text that still fits a stop on one line."""


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
          grid: Callable[[Mapping[str, Any]], str]) -> list[dict[str, Any]]:
    """The table's rows: the base at each end (leave, back) and each stop with its grid
    reference (``grid``), patrol time, the busy hours the visit falls in, the letters of what
    to look for (:func:`_keys`) and any idle wait there (``idle_min``)."""
    rows = []
    stops = list(route.get("stops") or [])
    for i, s in enumerate(stops):
        if s.get("kind") == "base":
            rows.append({"base": True, "n": "", "where": s.get("name", ""), "grid": grid(s),
                         "patrol": ("Leave " if i == 0 else "Back ") + _hhmm(
                             s.get("departure") if i == 0 else s.get("arrival")),
                         "window": "", "look": "", "wait": ""})
            continue
        windows = s.get("windows") or []
        start = str(s.get("start", ""))
        # the busy hours the visit falls in (the first ones when it falls in none)
        inside = [(a, b) for a, b in windows if str(a) <= start <= str(b)] or windows[:1]
        window = " ".join(f"{_hhmm(a)}–{_hhmm(b)}" for a, b in inside[:1])
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


def _legend_lines(legend: Sequence[Mapping[str, Any]]) -> int:
    lines = [1 + (len(k["key"]) + len(k["label"]) + len(k["advice"]) + 3) // LEGEND_CHARS
             for k in legend]
    return math.ceil(sum(lines) / 2) + (1 if len(lines) > 1 else 0)


def _fixed_mm(link_host: str, link_path: str, footer: str) -> float:
    """The height (mm) of what a crew's page prints whatever its stops: the header (the QR
    code with its address under it when taller than the names beside it), the table's head,
    the footer (``footer``, wrapped) and the gaps round the map and the legend."""
    lines = math.ceil(len(link_host) / QR_CHARS) + (1 if link_path else 0)
    header = max(HEADER_MM, QR_MM + lines * QR_LINE_MM) if link_host else HEADER_MM
    foot = 1.0 + math.ceil(len(footer) / FOOTER_CHARS) * FOOTER_LINE_MM
    return header + TABLE_HEAD_MM + foot + GAPS_MM


def _fit_legend(legend: list[dict[str, Any]], rows: int, note_lines: int,
                row_mm: float, fixed_mm: float) -> float:
    """The map's height (mm): what the page has left at 10 pt once what every page prints
    (``fixed_mm``, :func:`_fixed_mm`), the table (``rows`` lines), the notes and the legend
    are laid out. While that is under :data:`MAP_MIN_MM`, the legend drops the advice of its
    category at the fewest stops; then the map takes what is left, at least
    :data:`MAP_FLOOR_MM`."""

    def left() -> float:
        return (PAGE_H_MM - fixed_mm - rows * row_mm
                - (note_lines + _legend_lines(legend)) * LINE_MM)

    for entry in sorted(legend, key=lambda k: k["n"]):
        if left() >= MAP_MIN_MM:
            break
        if entry["label"] != "Heritage sites nearby":
            entry["advice"] = ""
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
    crew_urls = crew_urls or {}
    warnings = _idle_warnings(document)
    dwell = (document.get("options") or {}).get("dwell_min")
    footer = (f"Grid ref: OS National Grid. Patrol: when to be there "
              f"({_minutes(float(dwell)) if dwell else 'the set time'} on the spot); busiest: "
              f"the hours the place is busiest. {document.get('attribution', '')}")
    crews = []
    for n, route in enumerate(document.get("routes") or []):
        label = route.get("label", "")
        crews.append(_crew_page(route, warnings.get(label, []), basemaps.get(label),
                                crew_urls.get(label), ROUTE_COLOURS[n % len(ROUTE_COLOURS)],
                                footer))
    draft = document.get("published") is False  # older plans (no flag) count as published
    return _PAGE.render(crews=crews, name=document.get("name"), shift=document["shift"],
                        draft=draft, footer=footer, nav=nav, nav_css=nav_css, narrow=NARROW)


def _idle_warnings(document: Mapping[str, Any]) -> dict[str, list[str]]:
    """The plan's warnings of idle time, by route label (each crew's page prints its own)."""
    warnings: dict[str, list[str]] = {}
    for w in document.get("warnings") or []:
        if w.get("kind") == "idle" and w.get("route"):
            warnings.setdefault(w["route"], []).append(str(w.get("message", "")))
    return warnings


def _crew_page(route: Mapping[str, Any], warnings: list[str],
               basemap: Mapping[str, Any] | None, url: str | None,
               colour: str, footer: str) -> dict[str, Any]:
    """What one crew's page shows: the header's figures, the table's rows, the legend, the
    warnings, the QR code of ``url`` (the crew's field view) and the map in ``colour``, as
    tall as the page leaves under its ``footer`` (:func:`_map_height`)."""
    legend, letters = _keys(route)
    rows = _rows(route, letters, _grid)
    stops = int((route.get("totals") or {}).get("stops") or 0)
    empty = None if stops else (route.get("empty_reason") or "nothing to visit in this plan")
    link = _link_lines(url or "")
    roomy, height = _map_height(legend, rows, warnings, empty,
                                _fixed_mm(link["link_host"], link["link_path"], footer))
    totals = route.get("totals") or {}
    return {
        "route": route, "title": _title(route), "stops": stops,
        "km": f"{float(totals.get('distance_m') or 0) / 1000:.1f}",
        "out": _hhmm(totals.get("start")), "back": _hhmm(totals.get("end")),
        "rows": rows, "legend": legend, "roomy": roomy,
        "warnings": warnings, "empty_reason": empty,
        "qr": qr_svg(url, title=f"Field view of {route.get('label', '')}") if url else "",
        # the address under the QR code: the host, then the path on a line of its own, so
        # that the code an officer may type is never broken across lines
        **link,
        "map": crew_map(route, basemap, colour=colour, height_mm=height),
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
    wrapped = sum(1 for row in rows if len(str(row["where"])) > WHERE_CHARS or row["wait"]
                  or row["window"].count("–") > 1)
    notes = sum(2 + len(w) // 110 for w in warnings) + (3 if empty else 0)
    roomy = _fit_legend([dict(k) for k in legend], len(rows) + wrapped, notes,
                        ROOMY_ROW_MM, fixed_mm) >= ROOMY_MAP_MM
    height = _fit_legend(legend, len(rows) + wrapped, notes,
                         ROOMY_ROW_MM if roomy else ROW_MM, fixed_mm)
    if empty:
        height = min(height, 110.0)
    return roomy, height
