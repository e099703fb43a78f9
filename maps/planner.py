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
from dataclasses import dataclass
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
    EMERGING_COLOURS,
    EMERGING_DESCRIPTIONS,
    EMERGING_LABELS,
    EMERGING_ORDER,
    EMERGING_UNCLASSED,
    EMERGING_UNCLASSED_LABEL,
    LAYER_STYLES,
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
WEIGHTS = (("count", "Incidents"), ("harm", "Harm"))
"""The rank-by select: ``weight`` and label."""
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
    emerging_months: int | None = None
    """Months the emerging hot spot classes were drawn from (for the legend)."""
    attribution: str = ""
    download_url: str | None = None
    max_zoom: int | None = None
    """How far the map zooms; None: 19 over a basemap, 18 without one."""


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
    place = JsCode("function(feature, layer) { hotspotPlanner.bindPlace(feature, layer); }")
    for kind in ("force_boundary", "built_up_areas", "town_centres"):
        layer = layers.get(kind)
        if layer is not None and len(layer):
            style = LAYER_STYLES[kind]
            folium.GeoJson(
                _features(layer, ("name",)), name=LAYER_NAMES[kind],
                style_function=lambda _f, s=style: s, on_each_feature=place,
                show=kind != "built_up_areas" or len(layer) < 500,
            ).add_to(m)
    folium.GeoJson(
        _features(_display(hotspots), POPUP_PROPERTIES) if len(hotspots) else
        {"type": "FeatureCollection", "features": []},
        name="Hotspots",
        style_function=lambda f: hotspot_style(f["properties"]["context_class"],
                                               f["properties"].get("emerging")),
        highlight_function=lambda _f: {"weight": 4, "fillOpacity": 0.55},
        on_each_feature=JsCode(
            "function(feature, layer) { hotspotPlanner.bindHotspot(feature, layer); }"),
    ).add_to(m)
    for kind in ("heritage_sites", "patrol_bases"):
        layer = layers.get(kind)
        if layer is not None and len(layer):
            style = dict(LAYER_STYLES[kind])
            radius = float(style.pop("radius", 5))
            points = layer.copy()
            points = points.set_geometry(points.geometry.representative_point())
            folium.GeoJson(
                _features(points, ("name", "designation", "team")), name=LAYER_NAMES[kind],
                marker=folium.CircleMarker(radius=radius, **style),
                style_function=lambda _f, s=style: s, on_each_feature=place,
            ).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    if bounds:
        m.fit_bounds(bounds)
    root.html.add_child(Element(_config(options)), name="hs_config")
    headline = (f'<span class="hs-summary hs-headline">{html.escape(options.headline)}</span>'
                if options.headline else "")
    if options.form is not None:
        root.html.add_child(Element(_controls(options.form, options.summary,
                                              options.download_url, headline)),
                            name="hs_controls")
    elif options.summary or headline:  # a static page (a download): what it shows, no controls
        root.html.add_child(Element(
            f'<div class="hs-panel hs-controls" id="hs-controls">{headline}'
            f'<span class="hs-summary">{html.escape(options.summary)}</span></div>'),
            name="hs_controls")
    # after the controls, so the keyboard reaches the controls first
    root.html.add_child(Element(_legend(hotspots, options.emerging_months)), name="hs_legend")
    if options.attribution:  # in Leaflet's own attribution box, beside the basemap's
        _Attribution(html.escape(options.attribution)).add_to(m)
    return str(m.get_root().render())


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


def _legend(hotspots: gpd.GeoDataFrame, months: int | None) -> str:
    """The legend: colour by team or by emerging class, each class with its count of places
    and a checkbox that shows or hides its places (the planner's script does both)."""
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
    return (
        '<div class="hs-panel hs-legend" id="hs-legend"><details open>'
        '<summary>Legend</summary><fieldset class="hs-colour-by"><legend>Colour by</legend>'
        '<label><input type="radio" name="hs-colour" value="team" checked>Team</label>'
        '<label><input type="radio" name="hs-colour" value="emerging">Pattern over months</label>'
        "</fieldset>"
        f'<div class="hs-key" data-key="team"><h4>Team</h4>{team_rows}</div>'
        f'<div class="hs-key" data-key="emerging" hidden><h4>Pattern{span} '
        '(emerging hot spots)</h4>'
        f'{emerging_rows or "<p>No places.</p>"}</div>'
        '<p class="hs-key-hint">Untick a class to hide its places.</p>'
        '<div class="hs-density"><span class="hs-ramp"></span>Density (incidents per km\u00b2)'
        "</div></details></div>")


def _percent(share: float) -> str:
    """A share as a percentage in words: 0.005 -> "0.5 %"."""
    return f"{share * 100:.2g} %" if share < 0.1 else f"{share * 100:.0f} %"


def _same_share(a: float | None, b: float | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and math.isclose(a, b))


def _controls(form: FormState, summary: str, download_url: str | None,
              headline: str = "") -> str:
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
        f'<label>Rank by<select name="weight">{weights}</select></label>'
        f'{hidden}<button type="submit">Show</button>'
        f'{headline}<span class="hs-summary">{e(summary)}{download}</span>'
        "</form></div>"
    )
