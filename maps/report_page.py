"""The priority report as a page a force's accountability meeting reads (and prints to PDF),
and the list of stored reports with the form that makes one.

The report page renders a stored report document (:mod:`api.services.reports` makes it; its
shape is fixed: period, comparison period, data version, the test statement, each priority's
figures, groups, months, top places and statement, the patrol dosage, and every table). It
needs no script and loads nothing: its style sheet is in the page and its charts are inline SVG
(:mod:`maps.charts`), so the same HTML prints to PDF with no network. Every text from the
document reaches the page escaped (Jinja autoescape; the charts escape their own text).

Print: A4, each priority on its own page, no navigation bar or links bar, and charts that read
in black and white (the year before is hatched, every bar carries its number).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment

from maps.assets import versioned
from maps.charts import paired_month_chart
from maps.nav import NAV_CSS
from maps.styles import CLASS_LABELS, EMERGING_LABELS, TEAM_LABELS

_ENV = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)

VERDICT_WORDS = {"up": "Up", "down": "Down", "no clear change": "No clear change"}
"""A verdict as the page says it."""
VERDICT_MARKS = {"up": "\u25b2", "down": "\u25bc", "no clear change": "\u25cf"}
"""A shape beside each verdict, so it does not rest on colour alone."""


def count(value: Any) -> str:
    """A whole number with thousands separators (``1,234``); "–" for none."""
    if value is None:
        return "\u2013"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(number):
        return "\u2013"
    return f"{round(number):,}"


def signed(value: Any) -> str:
    """A change with its sign (``+62``, ``\u221214``, ``0``)."""
    if value is None:
        return "\u2013"
    n = round(float(value))
    return f"+{n:,}" if n > 0 else (f"\u2212{-n:,}" if n < 0 else "0")


def percent(value: Any) -> str:
    """A change in per cent with its sign and one decimal (``+24.8%``); "–" for none (nothing
    a year before to compare with)."""
    if value is None or not math.isfinite(float(value)):
        return "\u2013"
    v = float(value)
    sign = "+" if v > 0 else ("\u2212" if v < 0 else "")
    return f"{sign}{abs(v):,.1f}%"


def share(value: Any) -> str:
    """A share (0 to 1) in whole per cent (``83%``); "–" for none."""
    if value is None or not math.isfinite(float(value)):
        return "\u2013"
    return f"{float(value) * 100:.0f}%"


def p_text(value: Any) -> str:
    """A p-value as a reader takes it: ``p = 0.03``, ``p < 0.001``; none: "not tested"."""
    if value is None:
        return "not tested"
    v = float(value)
    if v < 0.001:
        return "p < 0.001"
    return f"p = {v:.3f}" if v < 0.01 else f"p = {v:.2f}"


def chance_text(figures: dict[str, Any]) -> str:
    """Whether a change is more than chance, in words."""
    if figures.get("p_value") is None:
        return "too few incidents to test"
    return "more than chance" if figures.get("more_than_chance") else "could be chance"


def verdict_text(figures: dict[str, Any]) -> str:
    """The verdict in words: ``Up: more than chance``."""
    verdict = str(figures.get("verdict", ""))
    return f"{VERDICT_WORDS.get(verdict, verdict)}: {chance_text(figures)}"


def day(iso: Any, *, minus_one: bool = False) -> str:
    """An ISO time as a date a person reads (``1 June 2024``); ``minus_one``: the day before
    (the last day of a period whose end is exclusive)."""
    try:
        moment = datetime.fromisoformat(str(iso))
    except ValueError:
        return str(iso)
    if minus_one:
        moment -= timedelta(days=1)
    return f"{moment.day} {moment:%B %Y}"


def moment_text(iso: Any) -> str:
    """An ISO time with its clock (``29 November 2026 05:41 UTC``)."""
    try:
        moment = datetime.fromisoformat(str(iso))
    except ValueError:
        return str(iso)
    zone = moment.tzname() or ""
    zone = "UTC" if zone in ("UTC", "UTC+00:00") else zone
    return f"{moment.day} {moment:%B %Y %H:%M} {zone}".rstrip()


def minutes(value: Any) -> str:
    """Minutes as ``2 h 05 min`` (or ``45 min``)."""
    if value is None:
        return "\u2013"
    m = round(float(value))
    return f"{m // 60} h {m % 60:02d} min" if m >= 60 else f"{m} min"


def period_text(key: Any) -> str:
    """A report period's key in words: ``2023-06`` "June 2023", ``2023-Q2`` "April to June
    2023", ``2023-06-YTD`` "January to June 2023", ``2023`` "2023"; anything else as it is."""
    text = str(key or "")
    parts = text.split("-")
    names = ("January", "February", "March", "April", "May", "June", "July", "August",
             "September", "October", "November", "December")
    if not parts[0].isdigit() or len(parts) > 3:
        return text
    if len(parts) == 1:
        return text
    if parts[1].isdigit() and 1 <= int(parts[1]) <= 12:
        month = names[int(parts[1]) - 1]
        if len(parts) == 3 and parts[2].upper() == "YTD":
            return f"January to {month} {parts[0]}"
        return f"{month} {parts[0]}" if len(parts) == 2 else text
    if len(parts) == 2 and parts[1].upper() in ("Q1", "Q2", "Q3", "Q4"):
        q = int(parts[1][1])
        return f"{names[3 * q - 3]} to {names[3 * q - 1]} {parts[0]}"
    return text


for _name, _f in {"period_text": period_text, "count": count, "signed": signed,
                  "percent": percent, "share": share, "p_text": p_text,
                  "chance": chance_text, "verdict": verdict_text,
                  "day": day, "moment": moment_text, "minutes": minutes}.items():
    _ENV.filters[_name] = _f


def _verdict_class(figures: dict[str, Any]) -> str:
    if not figures.get("more_than_chance"):
        return "v-none"
    return {"up": "v-up", "down": "v-down"}.get(str(figures.get("verdict")), "v-none")


_ENV.globals["verdict_class"] = _verdict_class
_ENV.globals["marks"] = VERDICT_MARKS

REPORT_CSS = """
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif;
  color: #1f2933; background: #fff; }
main { max-width: 76rem; margin: 0 auto; padding: 0.5rem 1rem 2rem; }
h1 { font-size: 1.6rem; margin: 0.8rem 0 0.2rem; line-height: 1.2; }
h2 { font-size: 1.3rem; margin: 0 0 0.4rem; line-height: 1.25; }
h3 { font-size: 1.05rem; margin: 1rem 0 0.3rem; }
p { margin: 0.3rem 0 0.6rem; }
a { color: #0b3d91; }
.lead { font-size: 1.05rem; margin: 0 0 0.6rem; }
dl.facts { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 0.1rem 1rem;
  margin: 0.4rem 0 0.8rem; }
dl.facts dt { font-weight: 600; color: #3e4c59; } dl.facts dd { margin: 0;
  overflow-wrap: anywhere; }
.links { display: flex; flex-wrap: wrap; gap: 0.5rem; margin: 0.6rem 0 1rem; }
.links a { display: inline-flex; align-items: center; min-height: 44px; padding: 0 0.9rem;
  border: 2px solid #0b3d91; border-radius: 6px; font-weight: 600; text-decoration: none; }
.links a.primary { background: #0b3d91; color: #fff; }
.test { background: #f0f4f8; border-left: 4px solid #0b3d91; padding: 0.5rem 0.9rem;
  margin: 0.6rem 0 1rem; }
.test h2 { font-size: 1.05rem; margin: 0 0 0.2rem; }
section.priority, section.dosage, section.tables { border-top: 2px solid #d9e2ec;
  padding-top: 0.9rem; margin-top: 1.4rem; }
.table-wrap { overflow-x: auto; margin: 0.3rem 0 0.5rem; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 600; padding: 0 0 0.2rem; }
th, td { text-align: left; vertical-align: top; padding: 0.35rem 0.5rem;
  border-bottom: 1px solid #d9e2ec; }
thead th { background: #f0f4f8; font-size: 0.9rem; color: #323f4b; }
tbody th { font-weight: 600; }
td.n, th.n { text-align: right; white-space: nowrap; }
thead th.n { white-space: normal; }
tbody th { min-width: 11rem; }
td.place { overflow-wrap: anywhere; }
tfoot th, tfoot td { border-top: 2px solid #52606d; font-weight: 700; }
.verdict { font-weight: 700; }
td .verdict { display: block; min-width: 10rem; }
.verdict .mark { display: inline-block; width: 1.1em; }
.v-up { color: #9b1c1c; } .v-down { color: #14532d; } .v-none { color: #3e4c59; }
.p { display: block; font-weight: 400; font-size: 0.85rem; color: #52606d; }
.csv { font-size: 0.9rem; margin: 0 0 0.6rem; }
.statement { border: 2px solid #52606d; border-radius: 6px; padding: 0.5rem 0.9rem;
  margin: 0.6rem 0; background: #fff; }
.statement h3 { margin-top: 0; }
.chart-box svg { max-width: 100%; height: auto; display: block; }
.muted { color: #52606d; }
ul.never { columns: 2 18rem; padding-left: 1.2rem; }
footer { margin-top: 2rem; padding-top: 0.6rem; border-top: 1px solid #d9e2ec;
  color: #3e4c59; font-size: 0.9rem; }
@media (max-width: 960px) {
  tbody th, tfoot th { min-width: 6rem; }
  td .verdict { min-width: 7rem; }
  th, td { padding: 0.3rem 0.35rem; }
  table { font-size: 14px; }
}
@media (max-width: 700px) {
  main { padding: 0.4rem 0.6rem 1.5rem; }
  dl.facts { grid-template-columns: minmax(0, 1fr); }
  dl.facts dd { margin-bottom: 0.3rem; }
  th, td { padding: 0.3rem 0.35rem; }
}
@page { size: A4; margin: 14mm 12mm; }
@media print {
  body { font-size: 10pt; line-height: 1.3; color: #000; }
  main { max-width: none; padding: 0; }
  .links, .screen-only { display: none !important; }
  a { color: #000; text-decoration: none; }
  section.priority, section.dosage, section.tables { break-before: page;
    page-break-before: always; border-top: 0; margin-top: 0; padding-top: 0; }
  table { font-size: 9pt; }
  tbody th, tfoot th { min-width: 0; }
  td .verdict { min-width: 0; }
  thead { display: table-header-group; }
  tr, .chart-box, .statement { break-inside: avoid; page-break-inside: avoid; }
  h2, h3, caption { break-after: avoid; page-break-after: avoid; }
  .table-wrap { overflow: visible; }
  .v-up, .v-down, .v-none { color: #000; }
  thead th { background: #e4e7eb; }
  .test { border-left-color: #000; background: #f2f2f2; }
}
"""
"""The report page's style sheet (in the page: printing to PDF fetches nothing)."""

_PAGE = _ENV.from_string("""{% macro figure_cells(f) -%}
<td class="n">{{ f.incidents|count }}</td><td class="n">{{ f.previous|count }}</td>
<td class="n">{{ f.change|signed }}</td><td class="n">{{ f.change_pct|percent }}</td>
<td class="n">{{ f.harm|count }}</td><td class="n">{{ f.previous_harm|count }}</td>
<td><span class="verdict {{ verdict_class(f) }}"><span class="mark" aria-hidden="true">{{
marks.get(f.verdict, "") }}</span>{{ f|verdict }}</span><span class="p">{{ f.p_value|p_text }}</span></td>
{%- endmacro %}<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{% if base %}<base href="{{ base }}/">{% endif %}
<title>Priority report: {{ d.period_label }}</title>
<style>{{ css|safe }}{% if nav %}{{ nav_css|safe }}{% endif %}</style>
</head><body class="report-page">
{{ nav|safe }}
<main>
<header>
<h1>Priority report: {{ d.period_label }}</h1>
<p class="lead">{{ d.start|day }} to {{ d.end|day(minus_one=True) }}, against the same period a
year before: {{ prev.period_label }} ({{ prev.start|day }} to {{ prev.end|day(minus_one=True) }}).</p>
<dl class="facts">
<dt>Report</dt><dd>{{ d.report_id }}</dd>
<dt>Made</dt><dd>{{ d.created_at|moment }}{% if d.created_by %} by {{ d.created_by }}{% endif %}</dd>
<dt>Data version</dt><dd>{{ d.data_version }} <span class="muted">(the figures are those of
the data as it was then: this report is kept unchanged)</span></dd>
</dl>
<nav class="links" aria-label="This report's files">
<a class="primary" href="{{ pdf_url }}">Download PDF</a>
<a href="{{ zip_url }}">Every table (CSV, zip)</a>
<a href="{{ json_url }}">Report data (JSON)</a>
</nav>
</header>
<section class="test" aria-labelledby="test-title">
<h2 id="test-title">How the change is tested</h2>
<p>{{ d.test }}</p>
{% if trend_basis %}<p>{{ trend_basis }}</p>{% endif %}
</section>
<section class="summary" aria-labelledby="summary-title">
<h2 id="summary-title">The priorities at a glance</h2>
<div class="table-wrap"><table id="summary-table">
<thead><tr><th scope="col">Priority</th><th scope="col" class="n">Incidents</th>
<th scope="col" class="n">A year before</th><th scope="col" class="n">Change</th>
<th scope="col" class="n">Change %</th><th scope="col" class="n">Harm</th>
<th scope="col" class="n">Harm a year before</th><th scope="col">Verdict</th></tr></thead>
<tbody>
{% for p in priorities %}
<tr data-priority="{{ p.key }}"><th scope="row"><a href="#priority-{{ loop.index }}">{{ p.label }}</a></th>
{{ figure_cells(p.figures) }}</tr>
{% endfor %}
</tbody>
{% if d.totals %}<tfoot><tr class="total"><th scope="row">All recorded crime</th>
{{ figure_cells(d.totals) }}</tr></tfoot>{% endif %}
</table></div>
<p class="muted">Harm: {{ harm_unit }}, summed over the incidents {% if harm_approximate %}
(approximate weights: the built-in table of data.police.uk categories){% endif %}. Verdict:
whether incidents rose or fell, and whether a change that large is more than chance.</p>
</section>
{% for p in priorities %}
<section class="priority" id="priority-{{ loop.index }}" data-priority="{{ p.key }}"
 aria-labelledby="priority-{{ loop.index }}-title">
<h2 id="priority-{{ loop.index }}-title">{{ p.label }}</h2>
{% if p.description and p.description != p.label %}<p class="muted">{{ p.description }}</p>{% endif %}
{% set f = p.figures %}
<p class="lead">{{ f.incidents|count }} incidents against {{ f.previous|count }} a year before
({{ f.change|signed }}, {{ f.change_pct|percent }}):
<span class="verdict {{ verdict_class(f) }}"><span class="mark" aria-hidden="true">{{
marks.get(f.verdict, "") }}</span>{{ f|verdict }}</span> <span class="muted">({{ f.p_value|p_text }})</span>.
Harm {{ f.harm|count }} against {{ f.previous_harm|count }}.</p>
{% if p.chart %}<div class="chart-box">{{ p.chart|safe }}</div>{% endif %}
{% if p.statement %}
<div class="statement" role="note"><h3>What recorded-location data can and cannot show</h3>
{% for para in p.statement.split("\n\n") %}<p>{{ para }}</p>{% endfor %}</div>
{% endif %}
{% if p.groups %}
<h3 id="groups-{{ loop.index }}">By group</h3>
<div class="table-wrap"><table class="groups" aria-labelledby="groups-{{ loop.index }}">
<thead><tr><th scope="col">Group</th><th scope="col" class="n">Incidents</th>
<th scope="col" class="n">A year before</th><th scope="col" class="n">Change</th>
<th scope="col" class="n">Change %</th><th scope="col" class="n">Harm</th>
<th scope="col" class="n">Harm a year before</th><th scope="col">Verdict</th></tr></thead>
<tbody>
{% for g in p.groups %}
<tr data-group="{{ g.key }}"><th scope="row">{{ g.label }}</th>{{ figure_cells(g.figures) }}</tr>
{% endfor %}
</tbody></table></div>
{% endif %}
<h3 id="places-{{ loop.index }}">Top places</h3>
{% if p.top_places %}
<div class="table-wrap"><table class="places" aria-labelledby="places-{{ loop.index }}">
<thead><tr><th scope="col" class="n">Rank</th><th scope="col">Place</th>
<th scope="col" class="n">Incidents</th><th scope="col">Context</th><th scope="col">Trend</th>
<th scope="col">Emerging hot spot class</th></tr></thead>
<tbody>
{% for t in p.top_places %}
<tr><td class="n">{{ t.rank }}</td>
<td class="place">{% if t.hotspot_id %}<a href="/hotspots/{{ t.hotspot_id|urlencode
}}?{{ p.place_query }}">{{ t.place or t.hotspot_id }}</a>{% else %}{{ t.place }}{% endif %}
{% if t.grid_ref %}<br><span class="muted">{{ t.grid_ref }}</span>{% endif %}</td>
<td class="n">{{ t.incidents|count }}</td><td>{{ class_labels.get(t.context_class, t.context_class) }}</td>
<td>{{ t.trend }}</td><td>{{ emerging_labels.get(t.emerging_class, t.emerging_class)
if t.emerging_class else "Not classed" }}</td></tr>
{% endfor %}
</tbody></table></div>
<p class="muted">A place's page shows the same analysis on the data loaded now.</p>
{% else %}<p class="muted">{{ p.top_places_note or "No places listed for this priority in the
period." }}</p>{% endif %}
</section>
{% endfor %}
<section class="dosage" aria-labelledby="dosage-title">
<h2 id="dosage-title">Patrol dosage: delivered against planned</h2>
{% set t = dosage.totals or {} %}
{% if dosage.plans %}
<p class="lead">{{ dosage.plans|count }} published plan{{ "" if dosage.plans == 1 else "s" }} in the
period: {{ t.visits_made|count }} of {{ t.planned_visits|count }} planned visits made
({{ t.share|share }}), {{ t.minutes_on_site|minutes }} on site against {{ t.planned_min|minutes }}
planned.{% if dosage.unplanned_visits %} {{ dosage.unplanned_visits|count }} visit{{ "" if
dosage.unplanned_visits == 1 else "s" }} to places not in a plan.{% endif %}</p>
{% else %}
<p class="lead">No patrol plan was published for a shift in this period, so there is no dosage
to report.</p>
{% endif %}
{% for title, key, rows in dosage_tables %}
{% if rows %}
<h3 id="dosage-{{ key }}">{{ title }}</h3>
<div class="table-wrap"><table class="dosage-table" aria-labelledby="dosage-{{ key }}">
<thead><tr><th scope="col">{{ rows[0].head }}</th><th scope="col" class="n">Planned visits</th>
<th scope="col" class="n">Visits made</th><th scope="col" class="n">Share made</th>
<th scope="col" class="n">Planned time</th><th scope="col" class="n">Time on site</th>
<th scope="col" class="n">Visits with no time</th></tr></thead>
<tbody>
{% for r in rows %}
<tr><th scope="row">{{ r.name }}</th><td class="n">{{ r.t.planned_visits|count }}</td>
<td class="n">{{ r.t.visits_made|count }}</td><td class="n">{{ r.t.share|share }}</td>
<td class="n">{{ r.t.planned_min|minutes }}</td><td class="n">{{ r.t.minutes_on_site|minutes }}</td>
<td class="n">{{ r.t.untimed_visits|count }}</td></tr>
{% endfor %}
</tbody></table></div>
{% endif %}
{% endfor %}
{% if dosage.plans %}
<h3 id="never-title">Hotspots never visited</h3>
{% if dosage.never_visited %}
<ul class="never" aria-labelledby="never-title">
{% for n in dosage.never_visited %}<li>{{ n.place or n.hotspot_id }} <span class="muted">({{
n.crew }}{% if n.plan_id %}, <a href="/plans/{{ n.plan_id|urlencode }}">its plan</a>{% endif %})</span></li>
{% endfor %}
</ul>
{% else %}<p>Every planned hotspot was visited at least once.</p>{% endif %}
{% endif %}
</section>
<section class="tables" aria-labelledby="tables-title">
<h2 id="tables-title">The report's tables as CSV</h2>
<p>Each table of this report, for a spreadsheet (or all of them in one
<a href="{{ zip_url }}">zip file</a>):</p>
<div class="table-wrap"><table id="table-list">
<thead><tr><th scope="col">Table</th><th scope="col" class="n">Rows</th><th scope="col">Columns</th>
<th scope="col">CSV</th></tr></thead>
<tbody>
{% for t in tables %}
<tr data-table="{{ t.name }}"><th scope="row">{{ t.title }}</th><td class="n">{{ t.rows|length }}</td>
<td>{{ t.columns|join(", ") }}</td><td><a href="{{ t.url }}">{{ t.name }}.csv</a></td></tr>
{% endfor %}
</tbody></table></div>
</section>
<footer>{{ d.attribution }}<br>Report {{ d.report_id }}, made {{ d.created_at|moment }} from
data version {{ d.data_version }}.</footer>
</main>
</body></html>
""")

def _chart(priority: dict[str, Any], document: dict[str, Any]) -> str:
    """The priority's months, this period against the year before, as SVG."""
    rows = [(str(m["month"]), int(m.get("incidents") or 0), int(m.get("previous") or 0))
            for m in priority.get("monthly") or []]
    if not rows:
        return ""
    previous = document.get("previous") or {}
    names = (str(document.get("period_label", "This period")),
             str(previous.get("period_label", "A year before")))
    label = str(priority.get("label", ""))
    return paired_month_chart(
        rows, title=f"{label}: incidents by month", names=names,
        description=f"Incidents each month of {names[0]} (solid bars) against the same month "
        f"of {names[1]} (hatched bars).", width=680 if len(rows) > 3 else 480)


def _dosage_rows(dosage: dict[str, Any]) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """The dosage tables: by team, by crew, by hotspot (each row a name and its tally)."""
    teams = [{"head": "Team", "name": TEAM_LABELS.get(k, k), "t": v}
             for k, v in (dosage.get("teams") or {}).items()]
    crews = [{"head": "Crew", "name": k, "t": v} for k, v in (dosage.get("crews") or {}).items()]
    places = [str(h.get("place") or "") for h in dosage.get("hotspots") or []]
    # several hotspots can share a street's name: those get their id (as their plan names it)
    spots = [{"head": "Hotspot", "t": h,
              "name": (f"{p} ({h.get('hotspot_id', '')})" if p and places.count(p) > 1
                       else p or str(h.get("hotspot_id", "")))}
             for p, h in zip(places, dosage.get("hotspots") or [], strict=True)]
    return [("By team", "teams", teams), ("By crew", "crews", crews),
            ("By hotspot", "hotspots", spots)]


def place_query(document: dict[str, Any], priority: str) -> str:
    """The query string of the analysis a priority's top places come from (the hotspot
    engine's method, the priority, the period's first and last months), for the links to
    their pages (``/hotspots/{id}?...``): the same parameters give the same ids."""
    months = [str(m) for m in document.get("months") or []]
    if not months:
        try:
            first = datetime.fromisoformat(str(document.get("start")))
            last = datetime.fromisoformat(str(document.get("end"))) - timedelta(days=1)
            months = [f"{first:%Y-%m}", f"{last:%Y-%m}"]
        except ValueError:
            months = []
    pairs = [("priority", priority)]
    method = (document.get("top_places_method") or {}).get("method")
    if method:
        pairs.insert(0, ("method", str(method)))
    if months:
        pairs += [("from", months[0]), ("to", months[-1])]
    return urlencode(pairs)


def report_urls(report_id: str) -> dict[str, str]:
    """A report's own addresses: its page, PDF, JSON, the zip of its tables, and the pattern
    of one table's CSV (``{name}`` to fill)."""
    rid = quote(str(report_id), safe="")
    return {"page": f"/reports/{rid}", "pdf": f"/reports/{rid}.pdf",
            "json": f"/v1/reports/{rid}", "zip": f"/v1/reports/{rid}/csv",
            "table": f"/v1/reports/{rid}/tables/{{name}}.csv"}


def report_page_html(document: dict[str, Any], *, assets: str = "/static", nav: str = "",
                     base: str | None = None) -> str:
    """The report page.

    Parameters
    ----------
    document
        A stored report document (shape: ``docs/api.md``, "Report document"; made by
        :func:`api.services.reports.make_report`).
    assets
        The base URL of the service's static files. The page needs none of them (its style
        sheet and charts are inline, so it prints to PDF with no network); kept for the
        interface.
    nav
        The navigation bar's HTML (:func:`maps.nav.nav_html`), or "" (the PDF has none).
    base
        The service's address (``https://hotspots.example.police.uk``) for a page read away
        from it (the PDF): its links lead there. None: links are relative to the page.

    Returns
    -------
    str
        A whole HTML document.
    """
    del assets  # nothing to load: the page is whole in itself
    urls = report_urls(str(document.get("report_id", "")))
    priorities = []
    for p in document.get("priorities") or []:
        priorities.append({**p, "figures": p.get("figures") or {}, "groups": p.get("groups") or [],
                           "top_places": p.get("top_places") or [],
                           "place_query": place_query(document, str(p.get("key", ""))),
                           "chart": _chart(p, document)})
    tables = [{"name": str(t.get("name", "")), "title": t.get("title") or t.get("name", ""),
               "columns": [str(c) for c in t.get("columns") or []], "rows": t.get("rows") or [],
               "url": urls["table"].replace("{name}", quote(str(t.get("name", "")), safe=""))}
              for t in document.get("tables") or []]
    dosage = document.get("dosage") or {}
    harm = document.get("harm") or {}
    method = document.get("top_places_method") or {}
    return _PAGE.render(
        harm_unit=str(harm.get("unit") or "days of custody (Cambridge Crime Harm Index)"),
        harm_approximate=bool(harm.get("approximate")), trend_basis=method.get("trend_basis"),
        d=document, prev=document.get("previous") or {}, priorities=priorities, tables=tables,
        dosage=dosage, dosage_tables=_dosage_rows(dosage), css=REPORT_CSS, nav=nav,
        base=base.rstrip("/") if base else None,
        nav_css=NAV_CSS, pdf_url=urls["pdf"], zip_url=urls["zip"], json_url=urls["json"],
        class_labels=CLASS_LABELS, emerging_labels=EMERGING_LABELS)


LIST_CSS = """
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif;
  color: #1f2933; background: #f6f7f9; }
main { max-width: 76rem; margin: 0 auto; padding: 0.5rem 1rem 2rem; }
h1 { font-size: 1.5rem; margin: 0.8rem 0 0.4rem; }
h2 { font-size: 1.15rem; margin: 0 0 0.5rem; }
a { color: #0b3d91; }
.lead { margin: 0 0 1rem; max-width: 52rem; }
.box { background: #fff; border: 1px solid #d6d9de; border-radius: 8px; padding: 0.9rem 1rem;
  margin: 0 0 1.2rem; }
form .row { display: flex; flex-wrap: wrap; gap: 0.6rem; align-items: flex-end; }
label { display: block; font-weight: 600; margin: 0 0 0.2rem; }
select { min-height: 44px; min-width: 16rem; font: inherit; padding: 0.3rem 0.5rem;
  border: 1px solid #8a9099; border-radius: 5px; background: #fff; color: #111; }
select[aria-invalid="true"] { border: 2px solid #b91c1c; background: #fff5f5; }
button { min-height: 44px; padding: 0 1.1rem; font: inherit; font-weight: 600;
  border-radius: 6px; cursor: pointer; border: 2px solid #0b3d91; background: #0b3d91;
  color: #fff; }
button:disabled { opacity: 0.6; cursor: progress; }
select:focus-visible, button:focus-visible, a:focus-visible { outline: 3px solid #ffb000;
  outline-offset: 1px; }
.hint { color: #3e4c59; font-size: 0.92rem; margin: 0.5rem 0 0; }
.errors { border: 2px solid #b91c1c; background: #fff5f5; color: #7f1d1d; border-radius: 6px;
  padding: 0.4rem 0.8rem; margin: 0 0 0.6rem; font-weight: 600; }
.status { font-weight: 600; margin: 0.5rem 0 0; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; vertical-align: top; padding: 0.45rem 0.6rem;
  border-bottom: 1px solid #e1e4e8; }
thead th { background: #f0f2f5; font-size: 0.9rem; }
td.n { text-align: right; white-space: nowrap; }
td a.period { font-weight: 700; }
.files a { display: inline-flex; align-items: center; min-height: 44px; margin-right: 0.6rem;
  white-space: nowrap; }
.muted { color: #52606d; font-size: 0.9em; }
@media (max-width: 760px) {
  table, thead, tbody, tr, td { display: block; }
  thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
  tr { border-bottom: 1px solid #d6d9de; padding: 0.4rem 0; }
  td { border: 0; padding: 0.15rem 0.2rem; }
  td[data-label]::before { content: attr(data-label) ": "; color: #52606d; font-size: 0.88rem; }
  td.n { text-align: left; }
  select { min-width: 0; width: 100%; }
  form .row > div { flex: 1 1 100%; }
}
"""
"""The reports list page's style sheet."""

_LIST = _ENV.from_string("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Priority reports</title>
<style>{{ css|safe }}{{ nav_css|safe }}</style>
</head><body class="reports-page">
{{ nav|safe }}
<main>
<h1>Priority reports</h1>
<p class="lead">For the accountability meeting: each plan priority and its groups for a period
against the same period a year before, whether the change is more than chance, the top places,
and the patrol dosage delivered. A report is kept as it was made, with its data version, so the
one taken to a meeting opens unchanged later.</p>
<section class="box" aria-labelledby="make-title">
<h2 id="make-title">Make a report</h2>
<div id="report-errors" class="errors" role="alert" hidden></div>
<form id="report-form" novalidate>
<div class="row"><div>
<label for="r-period">Period</label>
{% if not choices %}<p class="hint" id="no-periods">No period can be reported yet: a report
compares a period with the same months a year before, so the store needs more than a year of
data{% if span[0] and span[1] %} (it runs from {{ span[0] }} to {{ span[1] }}){% endif %}.</p>{% endif %}
<select id="r-period" name="period" required>
{% for group, options in choices %}
<optgroup label="{{ group }}">
{% for value, text in options %}<option value="{{ value }}"
{%- if value == default %} selected{% endif %}>{{ text }}</option>{% endfor %}
</optgroup>
{% endfor %}
</select></div>
<div><button type="submit" id="report-make">Make the report</button></div></div>
<p class="hint">Each period is compared with the same months a year before; both must be
loaded in full. Making a report takes up to a minute.</p>
<p id="report-status" class="status" role="status" aria-live="polite"></p>
</form>
</section>
<section aria-labelledby="list-title">
<h2 id="list-title">Stored reports <span class="muted">(newest first)</span></h2>
{% if reports %}
<div class="table-wrap"><table id="report-list" aria-labelledby="list-title">
<thead><tr><th scope="col">Period</th><th scope="col">Compared with</th>
<th scope="col" class="n">Incidents</th><th scope="col">Made</th><th scope="col">Data version</th>
<th scope="col">Files</th></tr></thead>
<tbody>
{% for r in reports %}
{% set s = r.summary or {} %}
<tr data-report="{{ r.report_id }}">
<td><a class="period" href="{{ r.links.page }}">{{ s.period_label or r.period }}</a></td>
<td data-label="Compared with">{{ s.previous_period|period_text }}</td>
<td class="n" data-label="Incidents">{{ s.incidents|count }} <span class="muted">against
{{ s.previous|count }}</span></td>
<td data-label="Made">{{ r.created_at|moment }}{% if r.created_by %}<br><span class="muted">by
{{ r.created_by }}</span>{% endif %}</td>
<td data-label="Data version">{{ r.data_version }}</td>
<td class="files"><a href="{{ r.links.pdf }}">PDF</a><a href="{{ r.links.csv }}">CSV (zip)</a></td>
</tr>
{% endfor %}
</tbody></table></div>
{% else %}
<p id="no-reports">No reports yet. Make one with the form.</p>
{% endif %}
</section>
</main>
<script src="{{ script }}"></script>
</body></html>
""")

_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
                "September", "October", "November", "December")


def period_choices(latest: str | None, earliest: str | None = None,
                   ) -> list[tuple[str, list[tuple[str, str]]]]:
    """The periods the form offers, newest first, up to ``latest`` (the store's last whole
    month, ``YYYY-MM``; None: the store is empty, nothing offered): the last 12 months, the
    last 4 whole quarters, the year to date (but for December's, which is the year), the last
    2 whole years. With ``earliest`` (the store's first month) only the periods whose same
    months a year before are in the store too: a report compares the two, and is refused
    without them."""
    if not latest:
        return []
    year, month = (int(x) for x in latest.split("-"))
    months = []  # (first month as year * 12 + month - 1, value, words)
    for k in range(12):
        y, m = divmod(year * 12 + month - 1 - k, 12)
        months.append((y * 12 + m, f"{y:04d}-{m + 1:02d}", f"{_MONTH_NAMES[m]} {y}"))
    quarters = []
    q_end = year * 12 + month - (month % 3)  # months before the end of the last whole quarter
    for k in range(4):
        y, m = divmod(q_end - 1 - 3 * k, 12)
        q = m // 3 + 1
        quarters.append((y * 12 + 3 * q - 3, f"{y:04d}-Q{q}",
                         f"{_MONTH_NAMES[3 * q - 3]} to {_MONTH_NAMES[3 * q - 1]} {y} (Q{q})"))
    ytd = [(year * 12, f"{year:04d}-{month:02d}-YTD",
            f"January to {_MONTH_NAMES[month - 1]} {year}")] if month < 12 else []
    last_whole = year if month == 12 else year - 1
    years = [(y * 12, f"{y:04d}", f"The year {y}") for y in (last_whole, last_whole - 1)]
    first = None
    if earliest:
        ey, em = (int(x) for x in earliest.split("-"))
        first = ey * 12 + em - 1
    groups = [("Month", months), ("Quarter", quarters), ("Year to date", ytd), ("Year", years)]
    kept = [(name, [(value, words) for start, value, words in options
                    if first is None or start - 12 >= first]) for name, options in groups]
    return [(name, options) for name, options in kept if options]


def reports_list_html(reports: list[dict[str, Any]], *, latest: str | None, nav: str = "",
                      assets: str = "/static", earliest: str | None = None) -> str:
    """The reports page: the form that makes a report (posted by ``maps/static/reports.js``
    with the session's CSRF token) and the stored reports (``GET /v1/reports`` entries),
    newest first.

    Parameters
    ----------
    reports
        The stored reports' listings with their ``links``.
    latest
        The store's last whole month (``YYYY-MM``), the form's default; None when the store
        holds no incidents.
    earliest
        The store's first month (``YYYY-MM``): periods without their year before in the store
        are not offered.
    nav
        The navigation bar's HTML.
    assets
        The base URL of the service's static files.
    """
    choices = period_choices(latest, earliest)
    return _LIST.render(reports=reports, choices=choices, default=latest, span=(earliest, latest),
                        css=LIST_CSS, nav=nav, nav_css=NAV_CSS,
                        script=versioned(assets, "maps/reports.js"))
