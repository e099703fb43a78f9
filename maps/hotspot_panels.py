"""The panels over the hotspot map: the controls (a form that reloads the map through the API),
the ranked list of places, the legend, and the summary line.

Each function returns a piece of HTML that :func:`maps.hotspot_map.hotspot_map_page` puts in the
page; the planner's script (``maps/static/planner.js``) makes them work (the list is filled by
it, as text). Every text from data or from the request is escaped here (:func:`html.escape`).
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np

from maps.density import DensityImage
from maps.styles import (
    CLASS_COLOURS,
    CLASS_LABELS,
    DENSITY_UNIT,
    EMERGING_COLOURS,
    EMERGING_DESCRIPTIONS,
    EMERGING_LABELS,
    EMERGING_ORDER,
    EMERGING_UNCLASSED,
    EMERGING_UNCLASSED_LABEL,
    LAYER_STYLES,
    LAYER_SYMBOLS,
    density_colours,
)

METHOD_CHOICES = (
    ("dbscan", "DBSCAN clusters"),
    ("kde", "Kernel density"),
    ("gistar", "Gi* hot spots"),
    ("auto", "Best in backtest"),
)
"""The method select: value and label (``auto`` needs an area budget)."""
AREA_BUDGETS: tuple[tuple[float | None, str], ...] = (
    (None, "All places"),
    (0.001, "0.1 % of the force area"),
    (0.005, "0.5 % of the force area"),
    (0.01, "1 % of the force area"),
    (0.02, "2 % of the force area"),
)
"""The area budget select: ``area_share`` and label."""
WEIGHTS = (("count", "Count (each the same)"), ("harm", "Harm (by severity)"))
"""The weigh-by select: ``weight`` and label. Places are found and ranked by the method's score
of the weighted incidents (a density, a z-score), so the list's incident counts need not fall
in rank order: the label says what is weighed, not "rank by incidents"."""
SYMBOLS_MAX = 50
"""The best-ranked places that get a symbol with their rank number (at least 24 px wide at
every zoom, above every other marker); the list beside the map reaches all of them."""
LAYER_KEYS = {
    "force_boundary": "Force boundary",
    "town_centres": "Town centre (area)",
    "built_up_areas": "Built-up area",
    "heritage_sites": "Heritage site (listed building, monument)",
    "patrol_bases": "Police station or patrol base",
}
"""What the legend calls each reference layer's symbol."""


@dataclass(frozen=True)
class FormState:
    """The controls: where they submit, what they show now, and the choices."""

    action: str
    method: str = "dbscan"
    priority: str | None = None
    date_from: str | None = None
    date_to: str | None = None
    priorities: Sequence[tuple[str, str]] = ()
    area_share: float | None = None
    """The area budget asked for, as a share of the force area (None: every place)."""
    area_label: str | None = None
    """How to name an ``area_share`` that is not one of :data:`AREA_BUDGETS` (e.g. the
    share an ``area_km2`` budget came to: "5 km\u00b2")."""
    weight: str = "count"
    keep: Sequence[tuple[str, str]] = ()
    """Other parameters of the current request, carried as hidden fields."""


def _key_row(key: str, value: str, colour: str, label: str, count: int,
             description: str = "") -> str:
    e = html.escape
    desc = f'<span class="hs-key-desc">{e(description)}</span>' if description else ""
    return (f'<label class="hs-key-row"><input type="checkbox" checked data-key="{key}" '
            f'value="{e(value)}"><span class="hs-swatch" style="background:{colour};'
            f'border-color:{colour}"></span><span class="hs-key-text"><span class="hs-key-label">'
            f'{e(label)}</span>{desc}</span><span class="hs-count" title="places">{count:,}'
            "</span></label>")


def _layer_swatch(kind: str) -> str:
    """A small inline SVG of how a reference layer is drawn (no text from data)."""
    style = LAYER_STYLES.get(kind, {})
    if kind in LAYER_SYMBOLS:
        sym = LAYER_SYMBOLS[kind]
        shape = ('<rect x="3" y="3" width="12" height="12"' if sym["shape"] == "square" else
                 '<rect x="4" y="4" width="10" height="10" transform="rotate(45 9 9)"')
        return (f'<svg class="hs-sym" width="18" height="18" viewBox="0 0 18 18" aria-hidden="true">'
                f'{shape} fill="{sym["fill"]}" stroke="{sym["stroke"]}" stroke-width="2"/></svg>')
    dash = style.get("dashArray")
    dashes = f' stroke-dasharray="{dash}"' if dash else ""
    fill = style.get("fillColor", style.get("color", "#333")) if style.get("fill", True) else "none"
    opacity = min(1.0, float(style.get("fillOpacity", 0.2)) * 3) if fill != "none" else 0
    return (f'<svg class="hs-sym" width="18" height="18" viewBox="0 0 18 18" aria-hidden="true">'
            f'<rect x="2" y="3" width="14" height="12" fill="{fill}" fill-opacity="{opacity:.2f}" '
            f'stroke="{style.get("color", "#333")}" stroke-width="2"'
            f"{dashes}/></svg>")


def _layer_rows(layers: Mapping[str, gpd.GeoDataFrame | None]) -> str:
    rows = []
    for kind in ("force_boundary", "town_centres", "built_up_areas", "heritage_sites",
                 "patrol_bases"):
        layer = layers.get(kind)
        if layer is None or not len(layer):
            continue
        count = "" if kind == "force_boundary" else f'<span class="hs-count">{len(layer):,}</span>'
        rows.append(f'<div class="hs-key-row hs-layer-row">{_layer_swatch(kind)}<span '
                    f'class="hs-key-text">{html.escape(LAYER_KEYS[kind])}</span>{count}</div>')
    return "".join(rows)


def _number(value: float) -> str:
    """A density for the legend: 3 significant figures, thousands separated."""
    if value >= 100:
        return f"{round(value, -math.floor(math.log10(value)) + 2):,.0f}"
    return f"{value:.2g}" if value > 0 else "0"


def _density_key(density: DensityImage | None) -> str:
    """The density ramp with numbers: the colours of :func:`maps.styles.density_colours` at
    0, a quarter, half and all of the full-colour density (incidents per km\u00b2)."""
    if density is None:
        return ""
    top = float(density.top_per_km2)
    stops = np.array([0.001, 0.0625, 0.25, 0.5, 1.0]) * top
    rgba = density_colours(stops, top)
    ramp = ", ".join(f"rgba({r},{g},{b},{a / 255:.2f})" for r, g, b, a in rgba.tolist())
    ticks = "".join(f'<span style="left:{pos}%">{_number(v * top)}</span>'
                    for pos, v in ((0, 0.0), (25, 0.0625), (50, 0.25), (100, 1.0)))
    return ('<div class="hs-density"><h4>Density of incidents (shading)</h4>'
            f'<div class="hs-ramp" style="background:linear-gradient(to right, {ramp})"></div>'
            f'<div class="hs-ticks" aria-hidden="true">{ticks}</div>'
            f'<p class="hs-key-hint">{html.escape(DENSITY_UNIT)}: 0 to {_number(top)} and '
            "more (darkest)</p></div>")


def legend_panel(hotspots: gpd.GeoDataFrame, months: int | None,
            layers: Mapping[str, gpd.GeoDataFrame | None] | None = None,
            density: DensityImage | None = None) -> str:
    """The legend: colour by team or by emerging class, each class with its count of places
    and a checkbox that shows or hides its places (the planner's script does both); the
    reference layers' symbols; the density scale with its numbers (incidents per km\u00b2).
    Open on a wide screen; the planner's script closes it on a small one."""
    teams = (hotspots["context_class"].value_counts() if "context_class" in hotspots
             else {})
    team_rows = "".join(_key_row("team", name, colour, CLASS_LABELS[name],
                                 int(teams.get(name, 0)))
                        for name, colour in CLASS_COLOURS.items())
    if "emerging" in hotspots.columns:
        found = hotspots["emerging"].fillna("").astype(str).value_counts()
    else:
        found = {"": len(hotspots)} if len(hotspots) else {}
    emerging_rows = "".join(
        _key_row("emerging", name, EMERGING_COLOURS[name], EMERGING_LABELS[name],
                 int(found[name]), EMERGING_DESCRIPTIONS[name])
        for name in EMERGING_ORDER if name in found)
    if "" in found:
        emerging_rows += _key_row("emerging", "", EMERGING_UNCLASSED,
                                  EMERGING_UNCLASSED_LABEL, int(found[""]))
    span = f" over {months} months" if months else ""
    layer_rows = _layer_rows(layers or {})
    return (
        '<div class="hs-panel hs-legend" id="hs-legend"><details open>'
        '<summary>Legend</summary><fieldset class="hs-colour-by"><legend>Colour by</legend>'
        '<label><input type="radio" name="hs-colour" value="team" checked>Team</label>'
        '<label><input type="radio" name="hs-colour" value="emerging">Pattern over months</label>'
        "</fieldset>"
        '<p class="hs-key-hint hs-rank-hint"><span class="hs-rank-sample">1</span> a hotspot and '
        f"its rank: the best {SYMBOLS_MAX} at every zoom, every place when zoomed in to streets</p>"
        f'<div class="hs-key" data-key="team"><h4>Hotspots by team</h4>{team_rows}</div>'
        f'<div class="hs-key" data-key="emerging" hidden><h4>Pattern{span} '
        '(emerging hot spots)</h4>'
        f'{emerging_rows or "<p>No places.</p>"}</div>'
        '<p class="hs-key-hint">Untick a class to hide its places.</p>'
        + (f'<div class="hs-layers"><h4>Map layers</h4>{layer_rows}</div>' if layer_rows else "")
        + f"{_density_key(density)}</details></div>")


def list_panel(count: int) -> str:
    """The ranked list's panel (the planner's script fills it from the hotspots, as text):
    open on a wide screen, a drawer the script closes on a small one."""
    places = "1 place" if count == 1 else f"{count:,} places"
    return ('<div class="hs-panel hs-list" id="hs-list"><details open>'
            f'<summary>Hotspots by rank <span class="hs-count">{places}</span></summary>'
            '<p class="hs-key-hint">Choose a place to zoom to it and open its details.</p>'
            '<ol class="hs-rows" aria-label="Hotspots by rank"></ol></details></div>')


def summary_line(summary: str, period: str, details: str, download: str = "") -> str:
    e = html.escape
    lead = f'<strong class="hs-period">{e(period)}</strong> \u00b7 ' if period else ""
    more = (f'<details class="hs-details"><summary>About these figures</summary>'
            f"{e(details)}</details>" if details else "")
    return f'<span class="hs-summary">{lead}{e(summary)}{download}</span>{more}'


def _percent(share: float) -> str:
    """A share as a percentage in words: 0.005 -> "0.5 %"."""
    return f"{share * 100:.2g} %" if share < 0.1 else f"{share * 100:.0f} %"


def _same_share(a: float | None, b: float | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and math.isclose(a, b))


def controls_panel(form: FormState, summary: str, download_url: str | None,
              headline: str = "", *, period: str = "", details: str = "") -> str:
    e = html.escape
    options = ['<option value="">All incidents</option>'] + [
        f'<option value="{e(key)}"{" selected" if key == form.priority else ""}>{e(label)}'
        "</option>" for key, label in form.priorities
    ]
    methods = "".join(
        f'<option value="{m}"{" selected" if m == form.method else ""}>{label}</option>'
        for m, label in METHOD_CHOICES
    )
    budgets = list(AREA_BUDGETS)
    if form.area_share is not None and not any(_same_share(s, form.area_share)
                                               for s, _ in budgets):
        budgets.append((form.area_share, form.area_label
                        or f"{_percent(form.area_share)} of the force area"))
    shares = "".join(
        f'<option value="{"" if s is None else repr(float(s))}"'
        f'{" selected" if _same_share(s, form.area_share) else ""}>{e(label)}</option>'
        for s, label in budgets)
    weights = "".join(
        f'<option value="{w}"{" selected" if w == form.weight else ""}>{label}</option>'
        for w, label in WEIGHTS)
    hidden = "".join(f'<input type="hidden" name="{e(k)}" value="{e(v)}">'
                     for k, v in form.keep)
    download = (f' <a href="{e(download_url)}" download>Download this map</a>'
                if download_url else "")
    return (
        '<div class="hs-panel hs-controls" id="hs-controls">'
        f'<form method="get" action="{e(form.action)}">'
        f'<label>Priority<select name="priority">{"".join(options)}</select></label>'
        f'<label>From<input type="month" name="from" value="{e(form.date_from or "")}"></label>'
        f'<label>To<input type="month" name="to" value="{e(form.date_to or "")}"></label>'
        f'<label>Method<select name="method">{methods}</select></label>'
        f'<label>Area budget<select name="area_share">{shares}</select></label>'
        f'<label>Weigh incidents by<select name="weight">{weights}</select></label>'
        f'{hidden}<button type="submit">Show</button>'
        f'{headline}{summary_line(summary, period, details, download)}'
        "</form></div>"
    )
