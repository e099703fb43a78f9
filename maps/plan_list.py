"""The list of patrol plans (``/plans``) with the form that makes one (preview on a map, save,
publish, copy to another shift); the panel of each crew's short link and QR code on a plan's
page; and the plain pages for a draft plan or an unknown short link. One plan's own pages are
:mod:`maps.plan_pages`.

Every text from data is escaped by Jinja2 here or written with ``textContent`` by
``maps/static/plans.js``; the pages load only the service's own Leaflet and scripts.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from jinja2 import Environment

from maps.assets import static_version
from maps.nav import NAV_CSS
from maps.plan_pages import when
from maps.qr import qr_svg

_ENV = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
_ENV.filters["when"] = when


def _json_script(value: Any) -> str:
    """JSON safe inside a script element (no ``</script>``, no ``<!--``)."""
    return json.dumps(value, separators=(",", ":")).replace("<", "\\u003c")


def shift_text(start: str, end: str) -> str:
    """A shift (local ISO times) as a person reads it: ``Fri 14 Jun 2024 16:00 to 02:00 next
    day``; the end's date in full when it is neither that day nor the next."""
    a, b = when(start), when(end)
    try:
        days = (datetime.fromisoformat(end).date() - datetime.fromisoformat(start).date()).days
    except (TypeError, ValueError):
        return f"{a} to {b}"
    if days == 0:
        return f"{a} to {b[-5:]}"
    if days == 1:
        return f"{a} to {b[-5:]} next day"
    return f"{a} to {b}"


_PLANS_PAGE = _ENV.from_string("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Patrol plans</title>
<link rel="stylesheet" href="{{ base }}/leaflet/leaflet.css?v={{ v }}">
<link rel="stylesheet" href="{{ base }}/maps/basemap.css?v={{ v }}">
<link rel="stylesheet" href="{{ base }}/maps/plans.css?v={{ v }}">
<style>{{ nav_css }}</style>
</head><body class="plans-page">
{{ nav|safe }}
<main>
<h1>Patrol plans</h1>
<div class="cols">
{% if can_edit %}
<section id="make" aria-labelledby="make-title">
<h2 id="make-title">Make a plan</h2>
<div id="form-errors" class="errors" role="alert" hidden></div>
<form id="plan-form" novalidate>
<fieldset><legend>Name and shift</legend>
<label for="f-name">Name</label>
<input id="f-name" name="name" maxlength="200" required placeholder="e.g. Friday lates, north">
<div class="pair">
<div><label for="f-start">Shift starts</label>
<input id="f-start" name="shift.start" type="datetime-local" required value="{{ form.start }}"></div>
<div><label for="f-end">Shift ends</label>
<input id="f-end" name="shift.end" type="datetime-local" required value="{{ form.end }}"></div>
</div></fieldset>
<fieldset><legend>Rural Crime Team</legend>
<div class="pair">
<div><label for="f-vehicles">Vehicles</label>
<input id="f-vehicles" name="rural_crime_team.vehicles" type="number" min="0" max="20" step="1"
 value="{{ form.vehicles }}" inputmode="numeric"></div>
<div><label for="f-base">Base</label>
<select id="f-base" name="rural_crime_team.base">
{% for b in form.bases %}<option value="{{ b }}">{{ b }}</option>{% endfor %}
{% if not form.bases %}<option value="">No patrol base is loaded</option>{% endif %}
</select></div>
</div></fieldset>
<fieldset><legend>Town centre officers</legend>
{% if form.towns %}
<p class="hint">Officers on foot in each town centre (0: none).</p>
<div class="towns">
{% for t in form.towns %}
<div><label for="f-town-{{ loop.index }}">{{ t }}</label>
<input id="f-town-{{ loop.index }}" name="town_centre_officers" data-town="{{ t }}" type="number"
 min="0" max="20" step="1" value="0" inputmode="numeric"></div>
{% endfor %}
</div>
{% else %}<p class="hint">No town centres are loaded.</p>{% endif %}
</fieldset>
<fieldset><legend>Which hotspots</legend>
<label for="f-priority">Priority</label>
<select id="f-priority" name="hotspots.priority">
<option value="">Every priority</option>
{% for key, label in form.priorities %}<option value="{{ key }}">{{ label }}</option>{% endfor %}
</select>
<div class="pair">
<div><label for="f-from">From (month)</label>
<input id="f-from" name="hotspots.from" type="month" value="{{ form.from_ }}"></div>
<div><label for="f-to">To (month, included)</label>
<input id="f-to" name="hotspots.to" type="month" value="{{ form.to }}"></div>
</div>
<label for="f-dwell">Time at each stop (minutes)</label>
<input id="f-dwell" name="dwell_min" type="number" min="1" max="120" step="1" value="15"
 inputmode="numeric">
</fieldset>
<div class="actions">
<button type="submit" id="preview-button">Preview on the map</button>
<button type="button" id="save-button" class="secondary">Save as draft</button>
</div>
<p class="hint">The Rural Crime Team sees a plan in the field view once it is published.</p>
</form>
</section>
{% endif %}
<section id="right">
<div id="preview" hidden aria-labelledby="preview-title">
<h2 id="preview-title">Preview <span class="muted">(not saved)</span></h2>
<p id="preview-summary" role="status" aria-live="polite"></p>
<div id="preview-map" role="region" aria-label="Map of the previewed plan"></div>
<ul id="preview-routes" class="route-keys"></ul>
<div class="actions"><button type="button" id="save-preview">Save as draft</button>
<button type="button" id="save-publish" class="secondary">Save and publish</button></div>
</div>
<h2 id="list-title">Plans <span class="muted">(newest first)</span></h2>
{% if plans %}
<div class="table-wrap"><table aria-labelledby="list-title" id="plan-list">
<thead><tr><th scope="col">Plan</th><th scope="col">Shift</th><th scope="col">Made by</th>
<th scope="col" class="num">Visits logged</th><th scope="col">Status</th>
{% if can_edit %}<th scope="col"><span class="sr-only">Actions</span></th>{% endif %}</tr></thead>
<tbody>
{% for p in plans %}
<tr data-plan="{{ p.plan_id }}">
<td><a href="{{ p.links.page }}">{{ p.name or "Unnamed plan" }}</a>
{% set stops = p.totals.get("stops", 0) or 0 %}{% set routes = p.totals.get("routes", 0) or 0 %}
<div class="muted">{{ "{:,}".format(stops) }} stop{{ "" if stops == 1 else "s" }} on
{{ routes }} route{{ "" if routes == 1 else "s" }}</div></td>
<td data-label="Shift">{{ p.shift_text }}</td>
<td data-label="Made by">{{ p.created_by or "-" }}</td>
<td class="num" data-label="Visits logged">{{ "{:,}".format(p.visits) }}</td>
<td data-label="Status">{% if p.published %}<span class="badge published">Published</span>
{%- else %}<span class="badge draft">Draft</span>{% endif %}</td>
{% if can_edit %}<td><div class="row-actions">
{% if not p.published %}<button type="button" class="publish" data-plan="{{ p.plan_id }}">
Publish</button>{% endif %}
<button type="button" class="copy secondary" data-plan="{{ p.plan_id }}"
 data-name="{{ p.name or '' }}" data-start="{{ p.shift.start }}"
 data-end="{{ p.shift.end }}">Copy to another shift</button>
</div></td>{% endif %}
</tr>
{% endfor %}
</tbody></table></div>
{% else %}
<p id="no-plans">No plans yet.{% if can_edit %} Make one with the form.{% endif %}</p>
{% endif %}
</section>
</div>
</main>
{% if can_edit %}
<dialog id="copy-dialog" aria-labelledby="copy-title"><form id="copy-form" method="dialog" novalidate>
<h2 id="copy-title">Copy to another shift</h2>
<p class="hint">The same crews, bases and hotspots, planned again for the new shift. The copy is
a draft.</p>
<div id="copy-errors" class="errors" role="alert" hidden></div>
<label for="c-name">Name</label><input id="c-name" name="name" maxlength="200">
<div class="pair">
<div><label for="c-start">Shift starts</label>
<input id="c-start" name="shift.start" type="datetime-local" required></div>
<div><label for="c-end">Shift ends</label>
<input id="c-end" name="shift.end" type="datetime-local" required></div>
</div>
<div class="actions"><button type="button" id="copy-cancel" class="secondary">Cancel</button>
<button type="submit" id="copy-go">Copy</button></div>
</form></dialog>
{% endif %}
<script type="application/json" id="page-options">{{ options|safe }}</script>
<script src="{{ base }}/leaflet/leaflet.js?v={{ v }}"></script>
<script src="{{ base }}/maps/plan-common.js?v={{ v }}"></script>
<script src="{{ base }}/maps/basemap.js?v={{ v }}"></script>
<script src="{{ base }}/maps/plans.js?v={{ v }}"></script>
</body></html>
""")


def plans_page(plans: list[dict[str, Any]], *, nav: str, can_edit: bool,
               form: dict[str, Any], tiles_url: str | None, tiles_attribution: str,
               colours: tuple[str, ...], asset_base: str = "/static") -> str:
    """The plans page: the plans (``GET /v1/patrol-plans`` entries), newest first, and for
    planners the form that makes one.

    ``form`` holds the choices: ``bases`` (patrol base names hosting the Rural Crime Team),
    ``towns`` (town-centre names), ``priorities`` ([(key, label)] from the taxonomy), and the
    defaults ``start``/``end`` (``YYYY-MM-DDTHH:MM``, local), ``from_``/``to`` (``YYYY-MM``),
    ``vehicles``.
    """
    rows = [{**p, "shift_text": shift_text(p["shift"]["start"], p["shift"]["end"])}
            for p in plans]
    return _PLANS_PAGE.render(
        plans=rows, nav=nav, nav_css=NAV_CSS, can_edit=can_edit, form=form,
        base=asset_base.rstrip("/"), v=static_version(),
        options=_json_script({"tiles": tiles_url, "attribution": tiles_attribution,
                              "colours": list(colours), "create": "/v1/patrol-plans",
                              "preview": "/v1/patrol-plans/preview"}))


_CREW_PANEL = _ENV.from_string("""
<section id="crews" aria-labelledby="crews-title">
<h2 id="crews-title">Crews: field view links</h2>
{% if not published %}
<p class="draft-note">This plan is a <strong>draft</strong>: the Rural Crime Team cannot open
it until it is published.{% if can_edit %}
<button type="button" id="publish-plan" data-plan="{{ plan_id }}">Publish</button>{% endif %}</p>
{% endif %}
<p class="hint">Scan a code with the tablet, or type the short link. Officers sign in first.</p>
<ul class="crew-links">
{% for c in crews %}
<li><div class="crew-qr">{{ c.qr|safe }}</div>
<div><strong>{{ c.label }}</strong>
<div><a class="short" href="{{ c.short }}">{{ c.short_text }}</a></div>
<div><a href="{{ c.field }}">Open field view</a> &middot; <a href="{{ briefing }}">Briefing</a></div>
</div></li>
{% endfor %}
</ul>
</section>
""")


def crew_panel(document: dict[str, Any], *, public_url: str, can_edit: bool) -> str:
    """The plan page's panel of crews: each crew's QR code and short link (absolute, made
    from ``public_url``, e.g. ``https://hotspots.example.police.uk``), its field view and the
    briefing; a draft says so (with a Publish button for planners). Safe HTML."""
    base = public_url.rstrip("/")
    crews = []
    for label, link in document.get("links", {}).get("crews", {}).items():
        short = link.get("short")
        if not short:
            continue
        url = base + short
        crews.append({"label": label, "short": short, "field": link["field"],
                      "short_text": url.split("://", 1)[-1],
                      "qr": qr_svg(url, scale=3, title=f"QR code: {label}, {url}")})
    return _CREW_PANEL.render(crews=crews, published=document.get("published", True),
                              can_edit=can_edit, plan_id=document.get("plan_id"),
                              briefing=document.get("links", {}).get("briefing", ""))


_MESSAGE_PAGE = _ENV.from_string("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>{{ nav_css }}
body { margin: 0; font: 17px/1.5 system-ui, sans-serif; color: #111; }
main { max-width: 40rem; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.5rem; } a.button { display: inline-flex; align-items: center; min-height: 44px;
padding: 0 1rem; background: #0b3d91; color: #fff; border-radius: 6px; text-decoration: none; }
</style></head><body>
{{ nav|safe }}
<main><h1>{{ title }}</h1>
{% for p in paragraphs %}<p>{{ p }}</p>{% endfor %}
<p><a class="button" href="{{ back }}">{{ back_label }}</a></p></main>
</body></html>
""")


def message_page(title: str, paragraphs: list[str], *, nav: str, back: str = "/plans",
                 back_label: str = "Patrol plans") -> str:
    """A plain page that says what happened and where to go (a draft plan, an unknown short
    link): the texts are escaped."""
    return _MESSAGE_PAGE.render(title=title, paragraphs=paragraphs, nav=nav, nav_css=NAV_CSS,
                                back=back, back_label=back_label)
