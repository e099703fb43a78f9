"""The published products page: what a partner sees after signing in.

A list of the products published for partners (one whole month or quarter each) with links to
download them, and the busiest hotspots of the latest. Plain HTML, no script; every string from
data reaches the page escaped (Jinja autoescape).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from jinja2 import Environment

from maps.nav import NAV_CSS, nav_html

_ENV = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")


def period_words(period: str | None) -> str:
    """A product's period in words: ``2024-12`` is "December 2024", ``2024-Q2`` "April to June
    2024"; anything else as it is."""
    text = str(period or "")
    year, _, part = text.partition("-")
    if year.isdigit() and part.isdigit() and 1 <= int(part) <= 12:
        return f"{_MONTHS[int(part) - 1]} {year}"
    if year.isdigit() and part[:1] in ("Q", "q") and part[1:] in ("1", "2", "3", "4"):
        first = (int(part[1:]) - 1) * 3
        return f"{_MONTHS[first]} to {_MONTHS[first + 2]} {year}"
    return text


_ENV.filters["period_words"] = period_words

_PAGE = _ENV.from_string("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Published products: Hotspot</title>
<style>
body { font: 16px/1.45 system-ui, sans-serif; margin: 0; color: #1f2933; }
main { max-width: 72rem; margin: 1.5rem auto 2rem; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.2rem; margin-top: 2rem; }
.lead { color: #52606d; margin-top: 0; }
table { border-collapse: collapse; width: 100%; margin-top: 0.5rem; }
th, td { text-align: left; padding: 0.45rem 0.6rem; border-bottom: 1px solid #d9e2ec;
  vertical-align: top; overflow-wrap: break-word; }
th { background: #f0f4f8; font-weight: 600; white-space: nowrap; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
a { color: #0b3d91; }
.links a { display: inline-block; margin: 0 0.6rem 0 0; min-height: 2.75rem; line-height: 2.75rem; }
td.when { white-space: nowrap; }
.note { background: #f0f4f8; border-left: 4px solid #0b3d91; padding: 0.6rem 0.9rem; }
.empty { font-weight: 600; }
td.advice { min-width: 11rem; }
@media (max-width: 900px) {
  table.hotspots thead { display: none; }
  table.hotspots tr { display: block; padding: 0.4rem 0; border-bottom: 1px solid #d9e2ec; }
  table.hotspots td { display: block; border: 0; padding: 0.1rem 0.2rem; text-align: left;
    white-space: normal; }
  table.hotspots td::before { content: attr(data-label); display: inline-block; min-width: 7rem;
    font-weight: 600; color: #52606d; }
}
}
td.advice summary { cursor: pointer; color: #0b3d91; padding: 0.55rem 0; }
td.advice ol { margin: 0.2rem 0 0.4rem; padding-left: 1.2rem; }
td.advice li { margin: 0.15rem 0; }
td.advice .contact { font-size: 0.9rem; color: #3e4c59; margin: 0.2rem 0; }
td.advice a.leaflet { display: inline-block; min-height: 2.75rem; line-height: 2.75rem; }
.small { font-size: 0.9rem; color: #52606d; }
footer { margin-top: 2.5rem; color: #52606d; font-size: 0.9rem; }
{{ nav_css }}
</style></head><body>
{{ nav|safe }}
<main>
<h1>Published products</h1>
<p class="lead">Crime counts for partners: each product covers one whole month or quarter, on the
force's {{ grid_m|round|int }} m grid, with small counts held back.</p>
<p class="note">{{ note }}</p>
{% if not products %}
<p class="empty" role="status">Nothing has been published yet. The force publishes a product
once a month or quarter is over and its data is in.</p>
{% else %}
<h2>The busiest hotspots of {{ latest|period_words }}</h2>
{% if not hotspots %}<p>No square of {{ latest|period_words }} had enough incidents to be shown.</p>{% else %}
<table class="hotspots">
<thead><tr><th scope="col">Rank</th><th scope="col">Place</th><th scope="col">Setting</th>
<th scope="col">Incidents</th><th scope="col">By priority</th><th scope="col">Trend</th>
<th scope="col">Area</th><th scope="col">Prevention advice</th></tr></thead>
<tbody>
{% for h in hotspots %}
<tr><td class="n" data-label="Rank">{{ h.rank }}</td>
<td data-label="Place">{{ h.place or "(no place name)" }}</td>
<td data-label="Setting">{{ classes.get(h.context_class, h.context_class) }}</td>
<td class="n" data-label="Incidents">{{ "{:,}".format(h.incidents) }}</td>
<td data-label="By priority">
{%- if h.category_mix|length == 1 and "not broken down" in h.category_mix -%}
<span class="held-back">Only the total is published: some priorities have small counts in its
squares, and they could be worked out from the rest</span>
{%- else %}{% for k, v in h.category_mix.items() %}
{{- labels.get(k, k) }}: {{ "{:,}".format(v) }}
{%- if not loop.last %}; {% endif %}{% endfor %}{% endif %}</td>
<td data-label="Trend">{{ trends.get(h.trend, h.trend) }}
{%- if h.previous_incidents is not none %} (was {{ "{:,}".format(h.previous_incidents) }})
{%- endif %}</td>
<td class="n" data-label="Area">{{ "%.2f"|format(h.area_m2 / 1000000) }} km&sup2;</td>
<td class="advice" data-label="Advice">
{%- set a = advice[loop.index0] if loop.index0 < advice|length else none %}
{% if a %}<details><summary>For {{ a.audience_label|lower }} ({{ a.points|length }} steps)</summary>
<ol>{% for step in a.points %}<li>{{ step }}</li>{% endfor %}</ol>
<p class="contact">{{ a.contact }}</p></details>
<a class="leaflet" href="/products/{{ latest|urlencode }}/hotspots/{{ h.rank }}/leaflet">Printable leaflet</a>
{% endif %}</td></tr>
{% endfor %}
</tbody></table>
{% if advice %}<p class="small">Prevention advice for each hotspot: for the people its setting
and its mix of crime point to (a town centre's businesses, a rural area's farms, a heritage site's
keepers, a built-up area's residents), from the force's advice file.
{%- if advice_note %} {{ advice_note }}{% endif %}</p>{% endif %}
{% endif %}
<h2>Products</h2>
<table>
<thead><tr><th scope="col">Period</th><th scope="col">Published</th><th scope="col">Squares shown</th>
<th scope="col">Hotspots</th><th scope="col">Download</th></tr></thead>
<tbody>
{% for p in products %}
<tr><td class="when">{{ p.period|period_words }}</td><td class="when">{{ p.published_at[:10] }}</td>
<td class="n">{{ "{:,}".format(p.summary.squares or 0) }}</td>
<td class="n">{{ p.summary.hotspots or 0 }}</td>
<td class="links"><a href="/v1/hotspots?period={{ p.period|urlencode }}&amp;format=csv">hotspots (CSV)</a>
<a href="/v1/hotspots?period={{ p.period|urlencode }}">hotspots (GeoJSON)</a>
<a href="/v1/products/{{ p.period|urlencode }}?format=csv">squares (CSV)</a>
<a href="/v1/products/{{ p.period|urlencode }}">squares (GeoJSON)</a></td></tr>
{% endfor %}
</tbody></table>
{% endif %}
<footer>{{ attribution }}</footer>
</main>
</body></html>
""")

CLASS_LABELS = {"town_centre": "Town centre", "heritage_site": "Heritage site",
                "rural": "Rural", "urban": "Urban"}
TREND_LABELS = {"up": "Up", "down": "Down", "flat": "No clear change",
                "unknown": "Unknown (no product before)"}


def products_page(products: Sequence[Mapping[str, Any]], hotspots: Sequence[Mapping[str, Any]],
                  *, latest: str | None, labels: Mapping[str, str], note: str, grid_m: float,
                  attribution: str, signed_in: bool = False, csrf: str | None = None,
                  role: str | None = None, who: str | None = None,
                  advice: Sequence[Mapping[str, Any] | None] = (),
                  advice_note: str = "") -> str:
    """The page: ``products`` (listings, latest first), the properties of the latest product's
    busiest ``hotspots``, what each priority key is called (``labels``), the privacy ``note``;
    the navigation bar for ``role`` (sign-out when ``signed_in``, with the masked ``csrf``
    token; ``who``: the key's name); ``advice``: for each of ``hotspots`` (same order), the
    prevention advice to show (``audience_label``, ``points``, ``contact``: made when the page
    is, never stored in the product) with a link to its printable leaflet, and
    ``advice_note`` beside them (the advice file's note).
    """
    return _PAGE.render(products=products, hotspots=hotspots, latest=latest,
                        labels={**labels, "not broken down":
                                  "not broken down (held back to protect small counts)"},
                        classes=CLASS_LABELS, trends=TREND_LABELS, note=note, grid_m=grid_m,
                        attribution=attribution, nav_css=NAV_CSS, advice=list(advice),
                        advice_note=advice_note,
                        nav=nav_html("products", role=role, csrf=csrf, signed_in=signed_in,
                                     who=who))
