"""A one-page printable crime prevention leaflet: an area named in words, what the police
recorded there (the main categories in plain words), four to six steps for one audience, who to
contact, and where the advice and the figures come from.

Pure rendering: the composition (which place, which audience, which steps) is done by the
caller (``api.services.advice``); this module lays it out. A4 portrait, one page when printed,
large type (the steps at 14 pt, or 12.5 pt for the longest, nothing under 8.5 pt). No script,
no map, no tiles, no incident positions or addresses: the caller passes only the area's name
and aggregate counts. Every string from data reaches the page escaped (Jinja autoescape).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import quote

from jinja2 import Environment

from maps.nav import NAV_CSS, nav_html

_ENV = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)


@dataclass(frozen=True)
class LeafletData:
    """What a leaflet says.

    Parameters
    ----------
    area
        The area in words ("Thornbury town centre"); never an address or a point.
    audience_label
        Who the advice is for, as a heading word ("Businesses").
    period
        The period the figures cover, in words ("January to June 2024").
    incidents
        Incidents recorded in the area in the period (None: not said), or the count in words
        when it is not printed exactly ("fewer than 5", "about 250").
    categories
        The main categories in plain words, with their counts (or counts in words, as
        ``incidents``), largest first (a published hotspot's may end with the part held back,
        in words).
    points
        The steps of advice, ``(text, source)``, in order (four to six).
    contact
        Who to contact (the advice file's line for the audience).
    note
        The advice file's note when its steps were written from memory (else empty).
    attribution
        Where the figures come from (shown in the footer).
    made_from
        A line of small print saying what the leaflet was made from (a hotspot's id and data
        version, a product's period).
    reason
        Why this audience (shown on screen only, for the officer printing it).
    others
        ``(label, href)`` of the same leaflet for the other audiences (screen only).
    back
        ``(label, href)`` of the page it came from (screen only), or None.
    counted
        What the figures count, plural ("crimes and incidents").
    counted_one
        What the figures count, singular, said when the count is exactly 1 ("crime").
    mix_note
        A line said instead of the main categories when there are none to list (all held back
        or each too small to print), e.g. "Not broken down by kind: ...".
    counts_note
        Small print on how the counts are shown (rounded, small ones held back), or empty.
    mainly
        The words before the list of categories ("mainly"; "all of one kind" when the list is
        the whole of it).
    """

    area: str
    audience_label: str
    period: str
    incidents: int | str | None
    categories: Sequence[tuple[str, int | str]]
    points: Sequence[tuple[str, str]]
    contact: str
    note: str = ""
    attribution: str = ""
    made_from: str = ""
    reason: str = ""
    others: Sequence[tuple[str, str]] = field(default_factory=tuple)
    back: tuple[str, str] | None = None
    counted: str = "crimes and incidents of anti-social behaviour"
    counted_one: str = "crime or incident of anti-social behaviour"
    mix_note: str = ""
    counts_note: str = ""
    mainly: str = "mainly"


DENSE_CHARS = 1_000
"""A leaflet with more characters than this (steps, contact line, categories, area) is set in
smaller type (steps at 12.5 pt rather than 14 pt) so that it still prints on one page; the
advice file keeps each step to ``geodata.advice.MAX_STEP_CHARS`` characters."""

LEAFLET_CSS = """
@page { size: A4 portrait; margin: 12mm 14mm 10mm; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { margin: 0; background: #e4e7eb; color: #1f2933;
  font: 13pt/1.4 "DejaVu Sans", "Liberation Sans", Arial, system-ui, sans-serif; }
.bar { font: 15px/1.4 system-ui, sans-serif; background: #fff; border-bottom: 1px solid #cbd2d9;
  padding: 0.5rem 1rem; display: flex; flex-wrap: wrap; gap: 0.3rem 1.2rem; align-items: center; }
.bar a { color: #0b3d91; display: inline-flex; align-items: center; min-height: 44px; }
.bar .why { color: #3e4c59; flex: 1 1 20rem; }
.sheet { background: #fff; width: 210mm; max-width: 100%; min-height: 297mm; margin: 1.2rem auto;
  padding: 12mm 14mm 10mm; box-shadow: 0 1px 6px rgba(0, 0, 0, 0.25); }
.kicker { margin: 0; font-size: 13pt; font-weight: 700; color: #0b3d91;
  text-transform: uppercase; letter-spacing: 0.04em; }
h1 { font-size: 24pt; line-height: 1.15; margin: 0.1em 0 0.2em; overflow-wrap: anywhere; }
h2 { font-size: 15pt; margin: 0.7em 0 0.25em; color: #0b3d91; }
.recorded { margin: 0; }
.cats { margin: 0.3em 0 0; padding-left: 1.3em; }
.cats li { margin: 0; }
.recorded.mix { margin-top: 0.3em; }
ol.points { margin: 0.2em 0 0; padding-left: 1.5em; font-size: 14pt; line-height: 1.33; }
ol.points li { margin: 0 0 0.35em; padding-left: 0.2em; }
.contact { border: 2.5pt solid #0b3d91; border-radius: 3mm; padding: 2.5mm 4mm; margin: 0.3em 0 0;
  font-size: 13.5pt; font-weight: 600; }
footer { margin-top: 0.9em; border-top: 1pt solid #9aa5b1; padding-top: 0.4em; font-size: 9pt;
  line-height: 1.35; color: #3e4c59; }
footer p { margin: 0.15em 0; }
body.dense { font-size: 11.5pt; line-height: 1.3; }
body.dense h1 { font-size: 20pt; }
body.dense h2 { font-size: 13.5pt; margin-top: 0.5em; }
body.dense ol.points { font-size: 12.5pt; line-height: 1.28; }
body.dense ol.points li { margin-bottom: 0.2em; }
body.dense .contact { font-size: 12pt; padding: 2mm 3.5mm; }
body.dense footer { margin-top: 0.6em; font-size: 8.5pt; }
@media screen and (max-width: 820px) {
  .sheet { margin: 0 auto; width: 100%; min-height: 0; box-shadow: none; padding: 1rem; }
  h1 { font-size: 22pt; }
}
@media print {
  body { background: #fff; }
  .bar, nav.hs-nav { display: none; }
  .sheet { width: auto; min-height: 0; margin: 0; padding: 0; box-shadow: none; }
  h1, h2, .contact, ol.points li { break-inside: avoid; }
}
"""
"""The leaflet's style sheet (A4 portrait, one page)."""

_PAGE = _ENV.from_string("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Crime prevention advice: {{ d.area }}</title>
<style>{{ css|safe }}{{ nav_css|safe }}</style></head><body{% if dense %} class="dense"{% endif %}>
{{ nav|safe }}
<div class="bar" role="region" aria-label="About this leaflet">
<span class="why">{{ d.reason }} It prints on one A4 page (your browser's Print, or Ctrl+P).</span>
{% if d.others %}<span>Also for:
{% for label, href in d.others %}<a href="{{ href }}">{{ label }}</a>{% if not loop.last %}, {% endif %}
{% endfor %}</span>{% endif %}
{% if d.back %}<a href="{{ d.back[1] }}">{{ d.back[0] }}</a>{% endif %}
</div>
<main class="sheet">
<p class="kicker">Crime prevention advice for {{ d.audience_label|lower }}</p>
<h1>{{ d.area }}</h1>
<h2>What the police recorded here</h2>
{% set when = "From" if " to " in d.period else ("On" if d.period[:1].isdigit() else "In") %}
{% if d.incidents %}
<p class="recorded">{{ when }} {{ d.period }} the police
recorded {{ count(d.incidents) }} {{ d.counted_one if d.incidents == 1 else d.counted }} in this
area{% if d.categories %}, {{ d.mainly }}:{% else %}.{% endif %}</p>
{% if d.categories %}
<ul class="cats">
{% for label, n in d.categories %}<li>{{ label }} ({{ count(n) }})</li>
{% endfor %}
</ul>
{% elif d.mix_note %}
<p class="recorded mix">{{ d.mix_note }}</p>
{% endif %}
{% else %}
<p class="recorded">{{ when }} {{ d.period }} the police
recorded no {{ d.counted }} in this area. The steps below help keep it that way.</p>
{% endif %}
<h2>What you can do</h2>
<ol class="points">
{% for text, _source in d.points %}<li>{{ text }}</li>
{% endfor %}
</ol>
<h2>Who to contact</h2>
<p class="contact">{{ d.contact }}</p>
<footer>
<p>Advice follows: {{ sources|join("; ") }}.{% if d.note %} {{ d.note }}{% endif %}</p>
{% if d.attribution %}<p>{{ d.attribution }}</p>{% endif %}
{% if d.made_from %}<p>{{ d.made_from }}</p>{% endif %}
{% if d.counts_note %}<p>{{ d.counts_note }}</p>{% endif %}
</footer>
</main>
</body></html>
""")


def _count(n: int | str) -> str:
    """A count as printed: a number with thousands separators, or the words given."""
    return n if isinstance(n, str) else f"{n:,}"


def leaflet_html(data: LeafletData, *, role: str | None = None, csrf: str | None = None,
                 signed_in: bool = False, who: str | None = None) -> str:
    """The leaflet as a page (HTML): on screen a sheet with a bar above it (why this audience,
    the same leaflet for the others, a way back) and the service's navigation bar; printed,
    the sheet alone on one A4 page.

    ``role``, ``csrf``, ``signed_in`` and ``who`` are the navigation bar's
    (:func:`maps.nav.nav_html`).
    """
    sources = list(dict.fromkeys(s for _t, s in data.points if s))
    text = sum(len(t) for t, _s in data.points) + len(data.contact) + sum(
        len(label) + 12 for label, _n in data.categories) + len(data.area) + len(
        data.mix_note) + len(data.counts_note) // 2
    return _PAGE.render(d=data, dense=text > DENSE_CHARS, count=_count,
                        sources=sources or ["the force's crime prevention advice"],
                        css=LEAFLET_CSS, nav_css=NAV_CSS,
                        nav=nav_html(None, role=role, csrf=csrf, signed_in=signed_in, who=who))


_TOWNS = _ENV.from_string("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Prevention leaflets by town: Hotspot</title>
<style>
body { font: 16px/1.45 system-ui, sans-serif; margin: 0; color: #1f2933; }
main { max-width: 60rem; margin: 1.5rem auto 2rem; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
.lead { color: #52606d; margin-top: 0; }
ul.towns { list-style: none; padding: 0; columns: 16rem; }
ul.towns li { break-inside: avoid; padding: 0.3rem 0; border-bottom: 1px solid #d9e2ec; }
ul.towns a { color: #0b3d91; display: inline-flex; align-items: center; min-height: 44px;
  margin-right: 0.8rem; }
.empty { font-weight: 600; }
{{ nav_css|safe }}
</style></head><body>
{{ nav|safe }}
<main>
<h1>Prevention leaflets by town</h1>
<p class="lead">A one-page leaflet for each town: what the police recorded inside its built-up
area in the last 12 months, and what people can do. A hotspot's own leaflet is on its page.</p>
{% if towns %}
<ul class="towns">
{% for name, href in towns %}<li><strong>{{ name }}</strong><br>
<a href="{{ href }}">for residents</a><a href="{{ href }}?audience=businesses">for businesses</a></li>
{% endfor %}
</ul>
{% else %}
<p class="empty" role="status">No town centres or built-up areas are loaded
(<code>hotspot layers add</code>), so there are no towns to make leaflets for.</p>
{% endif %}
</main>
</body></html>
""")


def towns_html(towns: Sequence[str], *, role: str | None = None, csrf: str | None = None,
               signed_in: bool = False, who: str | None = None) -> str:
    """The list of towns with links to their leaflets (``/leaflets/towns/{name}``)."""
    return _TOWNS.render(towns=[(t, "/leaflets/towns/" + quote(t, safe="")) for t in towns],
                         nav_css=NAV_CSS,
                         nav=nav_html("leaflets", role=role, csrf=csrf, signed_in=signed_in, who=who))
