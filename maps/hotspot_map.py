"""The planner's map: hotspots coloured by context class over the density surface, with the
reference layers, a legend, a scale bar and the controls that reload it through the API.

:func:`planner_map` is a pure function from GeoDataFrames (any projected CRS; reprojected to
WGS84 inside) to an HTML page. Scripts and styles are the service's own copies of Leaflet and
of the planner's script (``asset_base``), or inlined (``inline=True``) for a single file that
opens from disk with no network. Popups and tooltips are built by the planner's script from
feature properties with ``textContent``: no text that came from data is ever parsed as HTML or
JavaScript.
"""

from __future__ import annotations

import base64
import html
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, cast

import folium
import geopandas as gpd
import numpy as np
import shapely
from branca.element import Element, Figure, MacroElement
from folium.utilities import JsCode
from jinja2 import Template

from maps.assets import inlined, linked
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
    PANES,
    density_colours,
    hotspot_style,
)

OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
POPUP_PROPERTIES = (
    "id", "rank", "context_class", "team", "name", "place", "incidents", "area_m2", "first_date",
    "last_date", "peak_hours", "peak_days", "profile_note", "trend", "previous_incidents",
    "category_mix", "heritage_sites", "top_locations", "score", "street", "harm", "emerging",
    "area_id", "parent", "area_places",
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
LAYER_NAMES = {
    "force_boundary": "Force boundary",
    "built_up_areas": "Built-up areas",
    "town_centres": "Town centres",
    "heritage_sites": "Heritage sites",
    "patrol_bases": "Patrol bases",
}


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


@dataclass(frozen=True)
class PageOptions:
    """How to build the page."""

    title: str = "Hotspot planner"
    tiles_url: str | None = OSM_TILES
    tiles_attribution: str = OSM_ATTRIBUTION
    asset_base: str = "/static"
    inline: bool = False
    density: DensityImage | None = None
    density_url: str | None = None
    form: FormState | None = None
    summary: str = ""
    headline: str = ""
    """Shown large above the summary: the backtest's plain sentence about the chosen method
    ("These places are 0.5 % of the force area; over the last 5 months ...")."""
    harm_approximate: bool = False
    """The harm figures came (partly) from the built-in approximate table: popups say so."""
    hotspot_page_query: str | None = None
    """The result's parameters as a query string: popups link to each hotspot's own page
    (``/hotspots/{id}?<this>``); None: no link (a downloaded file)."""
    emerging_months: int | None = None
    """Months the emerging hot spot classes were drawn from (for the legend)."""
    attribution: str = ""
    download_url: str | None = None
    max_zoom: int | None = None
    """How far the map zooms; None: 19 over a basemap, 18 without one."""
    basemap_url: str | None = None
    """Where the store's roads and place names come from (``/v1/basemap``): drawn under the
    layers by ``basemap.js`` so the map reads without tiles. None: not drawn."""
    basemap_features: dict[str, Any] | None = None
    """A single-file page's roads and place names (``api.services.basemap.force_basemap``: GeoJSON in
    WGS84), carried in the page."""
    period: str = ""
    """The period shown, in words ("1 May \u2013 31 Oct 2026, against 1 Nov 2025 \u2013 30 Apr
    2026"): first in the summary."""
    details: str = ""
    """A details line under the summary (method, data version): for who asks, not the main
    text."""
    category_labels: Mapping[str, str] = field(default_factory=dict)
    """Taxonomy labels of the category keys ("asb" -> "Anti-social behaviour"), for popups."""


def _features(frame: gpd.GeoDataFrame, columns: Sequence[str]) -> dict[str, Any]:
    """A GeoDataFrame as a GeoJSON dict in WGS84 with the given property columns."""
    keep = [c for c in columns if c in frame.columns]
    wgs = frame[[*keep, frame.geometry.name]].to_crs("EPSG:4326")
    wgs = wgs.set_geometry(shapely.set_precision(np.asarray(wgs.geometry.values, dtype=object),
                                                 1e-6))
    return dict(wgs.to_geo_dict(drop_id=True))


def _bounds(frames: Sequence[gpd.GeoDataFrame | None]) -> list[list[float]] | None:
    boxes = [f.to_crs("EPSG:4326").total_bounds for f in frames if f is not None and len(f)]
    if not boxes:
        return None
    b = np.array(boxes)
    return [[float(b[:, 1].min()), float(b[:, 0].min())], [float(b[:, 3].max()), float(b[:, 2].max())]]


def planner_map(
    hotspots: gpd.GeoDataFrame,
    layers: Mapping[str, gpd.GeoDataFrame | None],
    options: PageOptions,
) -> str:
    """The planner's page as HTML (see the module docstring).

    Parameters
    ----------
    hotspots
        The hotspot table (:func:`hotspot.analyse`), in any CRS.
    layers
        Reference layers by kind (``force_boundary``, ``town_centres``, ``built_up_areas``,
        ``heritage_sites``, ``patrol_bases``); missing kinds are left out.
    options
        Assets, tiles, the density overlay, the controls.
    """
    bounds = _bounds([layers.get("force_boundary"), hotspots, layers.get("built_up_areas")])
    centre = ([(bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2]
              if bounds else [54.0, -1.5])
    m = folium.Map(location=centre, zoom_start=10, tiles=None, control_scale=True)
    # folium gives max_zoom to its own tile layer only; the map needs it whatever the tiles
    # (with none, Leaflet has no zoom limit and marker clustering fails)
    max_zoom = options.max_zoom or (19 if options.tiles_url else 18)
    m.options["maxZoom"] = max_zoom
    # per-map assets: folium's own lists are class-level and point at CDNs
    if options.inline:
        m.default_js = []
        m.default_css = []
        script, css = inlined()
        root = cast(Figure, m.get_root())
        root.header.add_child(Element(f"<style>{css}</style>"), name="hs_inline_css")
        root.header.add_child(Element(f"<script>{script}</script>"), name="hs_inline_js")
    else:
        m.default_js, m.default_css = linked(options.asset_base)
    root = cast(Figure, m.get_root())
    root.header.add_child(Element(f"<title>{html.escape(options.title)}</title>"), name="hs_title")
    if options.tiles_url:
        folium.TileLayer(tiles=options.tiles_url, attr=options.tiles_attribution,
                         name="Basemap", max_zoom=max_zoom, control=False).add_to(m)
    if options.basemap_url and not options.inline:  # roads and names with no tiles
        _Basemap({"url": options.basemap_url}).add_to(m)
    elif options.inline and options.basemap_features:  # a file: its roads and names inside it
        _Basemap({"features": options.basemap_features, "tiles": None, "css": False}).add_to(m)
    if options.density is not None or options.density_url:
        image = options.density_url
        if options.inline and options.density is not None:
            image = "data:image/png;base64," + base64.b64encode(options.density.png).decode()
        if image and options.density is not None:
            overlay = folium.raster_layers.ImageOverlay(
                image=np.zeros((1, 1, 4), dtype=np.uint8), bounds=options.density.bounds,
                opacity=0.75, name="Density", mercator_project=False, pixelated=False,
                interactive=False,
            )
            overlay.url = image  # a path on the service or a data URL (folium wants files)
            overlay.add_to(m)
    for pane, z_index in PANES.items():  # hotspots above every other layer's marker
        folium.map.CustomPane(pane, z_index=z_index, pointer_events=True).add_to(m)
    place = JsCode("function(feature, layer) { hotspotPlanner.bindPlace(feature, layer); }")
    for kind in ("force_boundary", "built_up_areas", "town_centres"):
        layer = layers.get(kind)
        if layer is not None and len(layer):
            style = LAYER_STYLES[kind]
            folium.GeoJson(
                _features(layer, ("name",)), name=LAYER_NAMES[kind],
                style_function=lambda _f, s=style: s, on_each_feature=place,
                show=kind != "built_up_areas" or len(layer) < 500, pane="hs-areas",
            ).add_to(m)
    folium.GeoJson(
        _features(_display(hotspots), (*POPUP_PROPERTIES, "label_lon", "label_lat"))
        if len(hotspots) else {"type": "FeatureCollection", "features": []},
        name="Hotspots",
        style_function=lambda f: hotspot_style(f["properties"]["context_class"],
                                               f["properties"].get("emerging")),
        highlight_function=lambda _f: {"weight": 4, "fillOpacity": 0.55},
        on_each_feature=JsCode(
            "function(feature, layer) { hotspotPlanner.bindHotspot(feature, layer); }"),
        pane="hs-hotspots",
    ).add_to(m)
    for kind in ("heritage_sites", "patrol_bases"):
        layer = layers.get(kind)
        if layer is not None and len(layer):
            points = layer.copy()
            points = points.set_geometry(points.geometry.representative_point())
            # a symbol of the layer's own (diamond, square) in a pane under the hotspots
            folium.GeoJson(
                _features(points, ("name", "designation", "team")), name=LAYER_NAMES[kind],
                on_each_feature=place, pane="hs-points",
                pointToLayer=JsCode(f"hotspotPlanner.pointLayer({json.dumps(kind)})"),
            ).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    if bounds:
        m.fit_bounds(bounds)
    root.html.add_child(Element(_config(options)), name="hs_config")
    headline = (f'<span class="hs-summary hs-headline">{html.escape(options.headline)}</span>'
                if options.headline else "")
    if options.form is not None:
        root.html.add_child(Element(_controls(options.form, options.summary,
                                              options.download_url, headline,
                                              period=options.period,
                                              details=options.details)),
                            name="hs_controls")
    elif options.summary or headline or options.period:  # a download: what it shows, no form
        root.html.add_child(Element(
            f'<div class="hs-panel hs-controls" id="hs-controls">{headline}'
            f'{_summary_html(options.summary, options.period, options.details)}</div>'),
            name="hs_controls")
    # after the controls, so the keyboard reaches the controls first: the list, the legend
    root.html.add_child(Element(_list_panel(len(hotspots))), name="hs_list")
    root.html.add_child(Element(_legend(hotspots, options.emerging_months, layers,
                                        options.density)), name="hs_legend")
    if options.attribution:  # in Leaflet's own attribution box, beside the basemap's
        _Attribution(html.escape(options.attribution)).add_to(m)
    return str(m.get_root().render())


class _Basemap(MacroElement):
    """Draws the store's roads and place names (and an offline basemap's tiles) under the
    map's layers: ``maps/static/basemap.js``."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "if (window.HotspotBasemap) { HotspotBasemap.add({{ this._parent.get_name() }}, "
        "{{ this.opts|tojson }}); }"
        "{% endmacro %}"
    )

    def __init__(self, opts: dict[str, Any]) -> None:
        super().__init__()
        self._name = "Basemap"
        self.opts = opts


class _Attribution(MacroElement):
    """Adds a (HTML-escaped) line to the map's attribution control."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "{{ this._parent.get_name() }}.attributionControl.addAttribution({{ this.text|tojson }});"
        "{% endmacro %}"
    )

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = "Attribution"
        self.text = text


def _display(hotspots: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Hotspot polygons with collinear vertices dropped (cells make long straight edges), and
    ``area_places``: how many of the places shown belong to each place's area."""
    out = hotspots.copy()
    out = out.set_geometry(shapely.simplify(np.asarray(out.geometry.values, dtype=object), 1.0))
    if "area_id" in out.columns:
        out["area_places"] = out.groupby("area_id")["area_id"].transform("size").astype(int)
    # where the place's symbol goes: its centroid when that lies inside it, else a point inside
    geoms = np.asarray(hotspots.geometry.values, dtype=object)
    centre = shapely.centroid(geoms)
    inside = shapely.contains(geoms, centre)
    label = np.where(inside, centre, shapely.point_on_surface(geoms))
    wgs = gpd.GeoSeries(label, crs=hotspots.crs).to_crs("EPSG:4326")
    out["label_lon"] = np.round(wgs.x.to_numpy(), 6)
    out["label_lat"] = np.round(wgs.y.to_numpy(), 6)
    return out


def _config(options: PageOptions) -> str:
    """What the planner's script needs beside the features, as JSON in an inert script element
    (read with ``JSON.parse``; ``<`` escaped so no text can close the element)."""
    config = {
        "team_colours": CLASS_COLOURS,
        "emerging_colours": {**EMERGING_COLOURS, "": EMERGING_UNCLASSED},
        "emerging_labels": {**EMERGING_LABELS, "": EMERGING_UNCLASSED_LABEL},
        "emerging_descriptions": EMERGING_DESCRIPTIONS,
        "emerging_months": options.emerging_months,
        "harm_approximate": options.harm_approximate,
        "hotspot_page_query": options.hotspot_page_query,
        "category_labels": dict(options.category_labels),
        "symbols_max": SYMBOLS_MAX,
    }
    text = json.dumps(config).replace("<", "\\u003c").replace(">", "\\u003e")
    return f'<script type="application/json" id="hs-config">{text}</script>'


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


def _legend(hotspots: gpd.GeoDataFrame, months: int | None,
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


def _list_panel(count: int) -> str:
    """The ranked list's panel (the planner's script fills it from the hotspots, as text):
    open on a wide screen, a drawer the script closes on a small one."""
    places = "1 place" if count == 1 else f"{count:,} places"
    return ('<div class="hs-panel hs-list" id="hs-list"><details open>'
            f'<summary>Hotspots by rank <span class="hs-count">{places}</span></summary>'
            '<p class="hs-key-hint">Choose a place to zoom to it and open its details.</p>'
            '<ol class="hs-rows" aria-label="Hotspots by rank"></ol></details></div>')


def _summary_html(summary: str, period: str, details: str, download: str = "") -> str:
    e = html.escape
    lead = f'<strong class="hs-period">{e(period)}</strong> \u00b7 ' if period else ""
    more = (f'<details class="hs-details"><summary>About these figures</summary>'
            f"{e(details)}</details>" if details else "")
    return f'<span class="hs-summary">{lead}{e(summary)}{download}</span>{more}'


def period_label(start: str | None, end: str | None) -> str:
    """A period in words from its first instant and its exclusive end (ISO dates or
    date-times, local time): "1 May \u2013 31 Oct 2026", "1 Nov 2025 \u2013 30 Apr 2026";
    "" when either is missing."""
    if not start or not end:
        return ""
    first = datetime.fromisoformat(start)
    after = datetime.fromisoformat(end)
    last: date = (after - timedelta(days=1)).date() if (after.hour, after.minute) == (0, 0) \
        else after.date()
    one = first.date()

    def day(d: date, year: bool) -> str:
        return f"{d.day} {d.strftime('%b')}" + (f" {d.year}" if year else "")

    return f"{day(one, one.year != last.year)} \u2013 {day(last, True)}"


def _percent(share: float) -> str:
    """A share as a percentage in words: 0.005 -> "0.5 %"."""
    return f"{share * 100:.2g} %" if share < 0.1 else f"{share * 100:.0f} %"


def _same_share(a: float | None, b: float | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and math.isclose(a, b))


def _controls(form: FormState, summary: str, download_url: str | None,
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
        f'{headline}{_summary_html(summary, period, details, download)}'
        "</form></div>"
    )
