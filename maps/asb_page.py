"""The persistent anti-social behaviour page (``/asb``) for multi-agency case work: the places
with ASB in many of the last months, ranked by persistence, each with a strip of its months
(server-side SVG bars), its nearby repeat locations and the category mix around it; the form
that changes the months and radius, the CSV and GeoJSON downloads, and a small map.

Pure: an answer of ``GET /v1/asb/persistent`` in, HTML out. Every text from data is escaped by
Jinja2 here or written with ``textContent`` by ``maps/static/asb.js``; the page loads only the
service's own Leaflet and scripts, and reads fully with no map tiles (the table is the page;
the map draws the store's roads and names under the places).
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

import pandas as pd
from jinja2 import Environment

from maps.assets import static_version
from maps.nav import NAV_CSS

_ENV = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)

STRIP_BAR_PX = 7
"""Width of one month's bar in the strip, pixels (a gap of 2 after it)."""
STRIP_HEIGHT_PX = 28
"""Height of the strip (the tallest bar), pixels."""
MIX_SHOWN = 4
"""Categories of the mix listed by name; the rest are summed on one line."""


def _json_script(value: Any) -> str:
    """JSON safe inside a script element (no ``</script>``, no ``<!--``)."""
    return json.dumps(value, separators=(",", ":")).replace("<", "\\u003c")


def month_words(month: str, *, year: bool = True) -> str:
    """``2024-03`` as ``Mar 2024`` (``Mar`` without the year)."""
    return pd.Period(month, freq="M").strftime("%b %Y" if year else "%b")


def month_strip(history: dict[str, int], *, bar_px: int = STRIP_BAR_PX,
                height_px: int = STRIP_HEIGHT_PX) -> str:
    """One place's months as an inline SVG: a bar per month, as tall as its ASB incidents
    against the place's busiest month; a month with none is a short grey tick. Each bar has a
    ``<title>`` ("Mar 2024: 3 ASB incidents") and the strip an ``aria-label`` saying which
    months had ASB."""
    months = list(history)
    top = max(history.values(), default=0) or 1
    step = bar_px + 2
    width = step * len(months) - 2
    parts = []
    for i, m in enumerate(months):
        n = int(history[m])
        x = i * step
        if n:
            h = max(3, round(height_px * n / top))
            cls = "on"
        else:
            h, cls = 2, "off"
        word = "incident" if n == 1 else "incidents"
        parts.append(f'<rect class="{cls}" x="{x}" y="{height_px - h}" width="{bar_px}" '
                     f'height="{h}"><title>{escape(month_words(m))}: {n} ASB {word}</title>'
                     "</rect>")
    with_asb = sum(1 for v in history.values() if v)
    label = (f"ASB in {with_asb} of {len(months)} months, "
             f"{month_words(months[0])} to {month_words(months[-1])}" if months else "")
    return (f'<svg class="strip" role="img" aria-label="{escape(label)}" '
            f'width="{width}" height="{height_px}" viewBox="0 0 {width} {height_px}">'
            f'{"".join(parts)}</svg>')


def _mix(mix: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int, int]:
    """The first :data:`MIX_SHOWN` categories, how many others and their incidents."""
    shown = mix if len(mix) <= MIX_SHOWN + 1 else mix[:MIX_SHOWN]
    rest = mix[len(shown):]
    return shown, len(rest), sum(int(c["incidents"]) for c in rest)


_PAGE = _ENV.from_string("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Persistent anti-social behaviour</title>
<link rel="stylesheet" href="{{ base }}/leaflet/leaflet.css?v={{ v }}">
<link rel="stylesheet" href="{{ base }}/maps/basemap.css?v={{ v }}">
<link rel="stylesheet" href="{{ base }}/maps/asb.css?v={{ v }}">
<style>{{ nav_css|safe }}</style>
</head><body class="asb-page">
{{ nav|safe }}
<main>
<h1>Persistent anti-social behaviour</h1>
<p class="lead" id="asb-reading">{{ a.reading }}</p>
<form class="asb-form" method="get" action="/asb" aria-label="Months and radius">
<div><label for="f-months">Months looked at</label>
<input id="f-months" name="months" type="number" min="1" max="{{ max_months }}" step="1"
 inputmode="numeric" value="{{ form.months }}"></div>
<div><label for="f-min">ASB in at least (months)</label>
<input id="f-min" name="min_months" type="number" min="1" max="{{ max_months }}" step="1"
 inputmode="numeric" value="{{ form.min_months }}"></div>
<div><label for="f-radius">Nearby within (m)</label>
<input id="f-radius" name="radius_m" type="number" min="1" max="{{ max_radius }}" step="1"
 inputmode="numeric" value="{{ '%g'|format(form.radius_m) }}"></div>
<div><label for="f-end">Last month</label>
<input id="f-end" name="end" type="month" value="{{ form.end }}" placeholder="YYYY-MM"></div>
<div class="go"><button type="submit">Show</button></div>
</form>
<p class="downloads">Download for case work:
<a href="{{ csv_url }}" download>CSV (spreadsheet)</a> &middot;
<a href="{{ geojson_url }}" download>GeoJSON (GIS)</a>
<span class="muted">&middot; exact places: share only under an information-sharing agreement</span></p>
<div class="asb-cols">
<section class="asb-map-wrap" aria-label="Map of the persistent places">
<div id="asb-map" role="region" aria-label="Map: each circle is a persistent place; larger,
 darker circles had ASB in more months"></div>
<p class="hint">Circles: the places in the table; the larger and darker, the more months with
ASB. Select one to find it in the table.</p>
</section>
<section class="asb-list" aria-labelledby="list-title">
<h2 id="list-title">Places, most persistent first
{% if a.persistent > a.places|length %}<span class="muted">(the first {{ a.places|length }}
of {{ "{:,}".format(a.persistent) }})</span>{% endif %}</h2>
{% if not a.places %}
<p class="empty">No place had anti-social behaviour recorded in {{ form.min_months }} or more of
these months. Try fewer months with ASB, or more months.</p>
{% else %}
<div class="table-wrap">
<table id="asb-table">
<thead><tr><th scope="col">#</th><th scope="col">Place</th>
<th scope="col">Months with ASB</th><th scope="col">ASB incidents</th>
<th scope="col">{{ first_month }} &ndash; {{ last_month }}</th>
<th scope="col">Nearby repeat locations</th>
<th scope="col">Around it ({{ '%g'|format(form.radius_m) }} m)</th></tr></thead>
<tbody>
{% for p in a.places %}
<tr id="place-{{ p.place_id }}" data-rank="{{ p.rank }}">
<td class="num rank" data-label="Rank">{{ p.rank }}</td>
<td class="place" data-label="Place"><strong>{{ p.location or "(no description)" }}</strong>
<span class="kind">{{ "exact address" if p.kind == "address" else "map point" }}
 &middot; ref {{ p.place_id }}</span></td>
<td class="num" data-label="Months with ASB"><strong>{{ p.months_with_asb }}</strong> of {{ a.months|length }}
<span class="kind">{{ p.longest_run }} in a row at most</span></td>
<td class="num" data-label="ASB incidents">{{ "{:,}".format(p.asb_incidents) }}</td>
<td class="strip-cell" data-label="Month by month"><span class="strip-box">{{ strip(p.history)|safe }}
<span class="strip-ends"><span>{{ first_short }}</span><span>{{ last_short }}</span></span></span></td>
<td data-label="Nearby repeat locations">
{% if p.nearby %}<ul class="nearby">
{% for n in p.nearby[:5] %}<li><a href="#place-{{ n.place_id }}">#{{ n.rank }}
 {{ n.location or "(no description)" }}</a>
<span class="muted">{{ "%.0f"|format(n.distance_m) }} m</span></li>
{% endfor %}
{% if p.nearby|length > 5 %}<li class="muted">and {{ p.nearby|length - 5 }} more</li>{% endif %}
</ul>{% else %}<span class="muted">none within {{ '%g'|format(form.radius_m) }} m</span>{% endif %}</td>
<td data-label="Around it">{% set m = mix(p.category_mix) %}
<ul class="mix">{% for c in m[0] %}<li><span>{{ c.label }}</span> <b>{{ "{:,}".format(c.incidents) }}</b></li>
{% endfor %}{% if m[1] %}<li class="muted">{{ m[1] }} other categories
 <b>{{ "{:,}".format(m[2]) }}</b></li>{% endif %}</ul></td>
</tr>
{% endfor %}
</tbody></table></div>
{% endif %}
</section>
</div>
<footer><p class="muted">{{ a.privacy }} Months are local calendar months; a place is a
data.police.uk map point (incidents at the same point to the metre) or, in a force's own
export, an address (the same description within {{ '%g'|format(a.parameters.address_m or 5) }} m).
The category mix counts every incident within {{ '%g'|format(form.radius_m) }} m over the same
months. Data version {{ a.data_version }}.</p>
<p class="muted attribution">{{ a.attribution }}</p></footer>
</main>
<script type="application/json" id="asb-data">{{ data|safe }}</script>
<script src="{{ base }}/leaflet/leaflet.js?v={{ v }}"></script>
<script src="{{ base }}/maps/basemap.js?v={{ v }}"></script>
<script src="{{ base }}/maps/asb.js?v={{ v }}"></script>
</body></html>
""")


def asb_page_html(answer: dict[str, Any], *, assets: str = "/static", nav: str = "",
                  tiles_url: str | None = None, tiles_attribution: str = "",
                  csv_url: str = "", geojson_url: str = "",
                  form: dict[str, Any] | None = None, max_months: int = 36,
                  max_radius_m: float = 2000.0) -> str:
    """The persistent ASB page (see the module docstring).

    Parameters
    ----------
    answer
        An answer of ``GET /v1/asb/persistent`` (``api.services.persistent_asb``): places with
        WGS84 ``lon``/``lat``, ``history``, ``nearby``, ``category_mix``.
    assets
        Base URL of the service's static files (Leaflet, the page's script and style sheet).
    nav
        The navigation bar (HTML, already escaped).
    tiles_url, tiles_attribution
        Map tiles, if any (the page reads as well without them).
    csv_url, geojson_url
        The downloads of the same places.
    form
        The form's values: ``months``, ``min_months``, ``radius_m``, ``end`` (``YYYY-MM``).
    """
    months = list(answer.get("months") or [])
    form = {"months": len(months) or 12, "min_months": answer["parameters"]["min_months"],
            "radius_m": answer["parameters"]["radius_m"], "end": answer.get("end") or "",
            **(form or {})}
    data = {
        "places": [{"rank": p["rank"], "place_id": p["place_id"], "location": p["location"],
                    "lon": p["lon"], "lat": p["lat"], "months_with_asb": p["months_with_asb"],
                    "asb_incidents": p["asb_incidents"]} for p in answer["places"]],
        "months": len(months),
        "tiles": tiles_url,
        "tiles_attribution": tiles_attribution,
        "attribution": answer.get("attribution", ""),
    }
    return _PAGE.render(
        a=answer, nav=nav, nav_css=NAV_CSS, base=assets.rstrip("/"),
        v=static_version(), form=form, csv_url=csv_url, geojson_url=geojson_url,
        strip=month_strip, mix=_mix, data=_json_script(data),
        first_month=month_words(months[0]) if months else "",
        last_month=month_words(months[-1]) if months else "",
        first_short=month_words(months[0]) if months else "",
        last_short=month_words(months[-1]) if months else "",
        max_months=max_months, max_radius=f"{max_radius_m:g}")
