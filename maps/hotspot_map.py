"""The hotspot map page (the planner's page at ``/``): hotspots coloured by context class over
the density surface, with the reference layers, a legend, a scale bar and the controls that
reload it through the API.

:func:`hotspot_map_page` is a pure function from GeoDataFrames (any projected CRS; reprojected
to WGS84 inside) to an HTML page, built with folium in named steps (the map, its assets, the
basemap, the density overlay, the layers, the panels of :mod:`maps.hotspot_panels`). Scripts
and styles are the service's own copies of Leaflet and of the planner's script
(``asset_base``), or inlined (``inline=True``) for a single file that opens from disk with no
network. Popups and tooltips are built by the planner's script from feature properties with
``textContent``: no text that came from data is ever parsed as HTML or JavaScript.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, cast

import folium
import geopandas as gpd
import numpy as np
import shapely
from branca.element import Figure, MacroElement
from folium.utilities import JsCode
from jinja2 import Template

from maps.asb_layer import add_persistent_asb
from maps.assets import inlined, linked
from maps.branca_text import Markup, install
from maps.business_layer import BusinessLayer
from maps.density import DensityImage
from maps.hotspot_panels import (
    SYMBOLS_MAX,
    FormState,
    controls_panel,
    legend_panel,
    list_panel,
    summary_line,
)
from maps.legend_js import LEGEND_SECTION_JS
from maps.styles import (
    CLASS_COLOURS,
    EMERGING_COLOURS,
    EMERGING_DESCRIPTIONS,
    EMERGING_LABELS,
    EMERGING_UNCLASSED,
    EMERGING_UNCLASSED_LABEL,
    LAYER_STYLES,
    OSM_ATTRIBUTION,
    OSM_TILES,
    PANES,
    hotspot_style,
)

install()  # every map element's output rendered as text (maps.branca_text)

POPUP_PROPERTIES = (
    "id", "rank", "context_class", "team", "name", "place", "incidents", "area_m2", "first_date",
    "last_date", "peak_hours", "peak_days", "profile_note", "trend", "previous_incidents",
    "category_mix", "heritage_sites", "top_locations", "score", "street", "harm", "emerging",
    "area_id", "parent", "area_places", "persistent_asb",
)
"""The hotspot table's columns each hotspot carries as properties (the planner's script builds
its popup and the ranked list from them)."""
LAYER_NAMES = {
    "force_boundary": "Force boundary",
    "built_up_areas": "Built-up areas",
    "town_centres": "Town centres",
    "heritage_sites": "Heritage sites",
    "patrol_bases": "Patrol bases",
}
"""What the layer control calls each reference layer."""
INCIDENT_TILES_ABOVE = 3_000
"""The planner's script draws the selection's incidents (staff only) as GeoJSON points up to
this many, and from the vector tiles of ``/tiles/incidents/{z}/{x}/{y}.mvt`` above it."""


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
    business_reports_url: str | None = None
    """Where the period's business reports come from (``/v1/business-reports?format=geojson``):
    a separate layer with its count (:mod:`maps.business_layer`). None: not shown."""
    persistent_asb: dict[str, Any] | None = None
    """The "Persistent ASB" overlay (:func:`maps.asb_layer.add_persistent_asb`); None: not
    shown."""


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


def hotspot_map_page(
    hotspots: gpd.GeoDataFrame,
    layers: Mapping[str, gpd.GeoDataFrame | None],
    options: PageOptions,
) -> str:
    """The hotspot map page as HTML (see the module docstring).

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
    m = _new_map(bounds, options)
    _add_assets(m, options)
    _add_basemap(m, options)
    _add_density(m, options)
    for pane, z_index in PANES.items():  # hotspots above every other layer's marker
        folium.map.CustomPane(pane, z_index=z_index, pointer_events=True).add_to(m)
    _add_area_layers(m, layers)
    _add_hotspots(m, hotspots)
    _add_point_layers(m, layers)
    if options.persistent_asb:  # repeat locations of anti-social behaviour, above the hotspots
        add_persistent_asb(m, options.persistent_asb, link=None if options.inline else "/asb")
    folium.LayerControl(collapsed=True).add_to(m)
    if bounds:
        m.fit_bounds(bounds)
    _add_panels(m, hotspots, layers, options)
    if options.business_reports_url and not options.inline:  # not police data: apart, live
        BusinessLayer(options.business_reports_url).add_to(m)
    return str(m.get_root().render())


def _max_zoom(options: PageOptions) -> int:
    return options.max_zoom or (19 if options.tiles_url else 18)


def _new_map(bounds: list[list[float]] | None, options: PageOptions) -> folium.Map:
    """A map with no tiles yet, centred on ``bounds`` (else the north of England), its zoom
    limited whatever the tiles."""
    centre = ([(bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2]
              if bounds else [54.0, -1.5])
    m = folium.Map(location=centre, zoom_start=10, tiles=None, control_scale=True)
    # folium gives max_zoom to its own tile layer only; the map needs it whatever the tiles
    # (with none, Leaflet has no zoom limit and marker clustering fails)
    m.options["maxZoom"] = _max_zoom(options)
    return m


def _add_assets(m: folium.Map, options: PageOptions) -> None:
    """Leaflet and the planner's script and style sheet: the service's copies, or inlined
    (``options.inline``); and the page's title."""
    # per-map assets: folium's own lists are class-level and point at CDNs
    root = cast(Figure, m.get_root())
    if options.inline:
        m.default_js = []
        m.default_css = []
        script, css = inlined()
        root.header.add_child(Markup(f"<style>{css}</style>"), name="hs_inline_css")
        root.header.add_child(Markup(f"<script>{script}</script>"), name="hs_inline_js")
    else:
        m.default_js, m.default_css = linked(options.asset_base)
    root.header.add_child(Markup(f"<title>{html.escape(options.title)}</title>"), name="hs_title")
    # the legend rows' one function, for planner.js's layers too (the overlays' scripts each
    # define their own copy of the same text, inside their function)
    root.header.add_child(Markup(f"<script>{LEGEND_SECTION_JS}\n"
                                 "  window.hsLegendSection = hsLegendSection;</script>"),
                          name="hs_legend_js")


def _add_basemap(m: folium.Map, options: PageOptions) -> None:
    """The online tiles (if any), and the store's roads and names: fetched from
    ``basemap_url``, or carried in a single file."""
    if options.tiles_url:
        folium.TileLayer(tiles=options.tiles_url, attr=options.tiles_attribution,
                         name="Basemap", max_zoom=_max_zoom(options), control=False).add_to(m)
    if options.basemap_url and not options.inline:  # roads and names with no tiles
        _Basemap({"url": options.basemap_url}).add_to(m)
    elif options.inline and options.basemap_features:  # a file: its roads and names inside it
        _Basemap({"features": options.basemap_features, "tiles": None, "css": False}).add_to(m)


def _add_density(m: folium.Map, options: PageOptions) -> None:
    """The density surface as an image overlay: from ``density_url``, or a data URL in a
    single file."""
    if options.density is None and not options.density_url:
        return
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


_BIND_PLACE = JsCode("function(feature, layer) { hotspotPlanner.bindPlace(feature, layer); }")


def _add_area_layers(m: folium.Map, layers: Mapping[str, gpd.GeoDataFrame | None]) -> None:
    """The force boundary, built-up areas and town centres, under the hotspots (the built-up
    areas hidden at first when there are 500 or more)."""
    for kind in ("force_boundary", "built_up_areas", "town_centres"):
        layer = layers.get(kind)
        if layer is not None and len(layer):
            style = LAYER_STYLES[kind]
            folium.GeoJson(
                _features(layer, ("name",)), name=LAYER_NAMES[kind],
                style_function=lambda _f, s=style: s, on_each_feature=_BIND_PLACE,
                show=kind != "built_up_areas" or len(layer) < 500, pane="hs-areas",
            ).add_to(m)


def _add_hotspots(m: folium.Map, hotspots: gpd.GeoDataFrame) -> None:
    """The hotspots, coloured by context class, with every popup fact as a property."""
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


def _add_point_layers(m: folium.Map, layers: Mapping[str, gpd.GeoDataFrame | None]) -> None:
    """Heritage sites and patrol bases as points, each with a symbol of the layer's own
    (diamond, square) in a pane under the hotspots."""
    for kind in ("heritage_sites", "patrol_bases"):
        layer = layers.get(kind)
        if layer is not None and len(layer):
            points = layer.copy()
            points = points.set_geometry(points.geometry.representative_point())
            folium.GeoJson(
                _features(points, ("name", "designation", "team")), name=LAYER_NAMES[kind],
                on_each_feature=_BIND_PLACE, pane="hs-points",
                pointToLayer=JsCode(f"hotspotPlanner.pointLayer({json.dumps(kind)})"),
            ).add_to(m)


def _add_panels(m: folium.Map, hotspots: gpd.GeoDataFrame,
                layers: Mapping[str, gpd.GeoDataFrame | None], options: PageOptions) -> None:
    """The script's settings, then the panels in keyboard order: the controls (or, in a
    download, what the map shows), the ranked list, the legend; the attribution line."""
    root = cast(Figure, m.get_root())
    root.html.add_child(Markup(_config(options)), name="hs_config")
    headline = (f'<span class="hs-summary hs-headline">{html.escape(options.headline)}</span>'
                if options.headline else "")
    if options.form is not None:
        root.html.add_child(Markup(controls_panel(options.form, options.summary,
                                                  options.download_url, headline,
                                                  period=options.period,
                                                  details=options.details)),
                            name="hs_controls")
    elif options.summary or headline or options.period:  # a download: what it shows, no form
        root.html.add_child(Markup(
            f'<div class="hs-panel hs-controls" id="hs-controls">{headline}'
            f'{summary_line(options.summary, options.period, options.details)}</div>'),
            name="hs_controls")
    root.html.add_child(Markup(list_panel(len(hotspots))), name="hs_list")
    root.html.add_child(Markup(legend_panel(hotspots, options.emerging_months, layers,
                                            options.density)), name="hs_legend")
    if options.attribution:  # in Leaflet's own attribution box, beside the basemap's
        _Attribution(html.escape(options.attribution)).add_to(m)


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
        # above this many incidents the page draws them from /tiles/incidents vector tiles
        "incident_tiles_above": INCIDENT_TILES_ABOVE,
    }
    text = json.dumps(config).replace("<", "\\u003c").replace(">", "\\u003e")
    return f'<script type="application/json" id="hs-config">{text}</script>'


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
