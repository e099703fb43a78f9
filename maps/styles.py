"""Colours and styles of the maps, in one place: the online tiles by default, the hotspot map's
classes, layers and density ramp, and the colours of a patrol plan's routes."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from hotspot import emerging as _emerging

OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
"""The online tiles a page draws when its caller names none (the service passes its
``tile_url`` setting)."""
OSM_ATTRIBUTION = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'

CLASS_COLOURS = {
    "town_centre": "#1f5fbf",    # blue: town centre officers
    "heritage_site": "#7b2fa8",  # purple: Rural Crime Team, heritage
    "rural": "#2e8b3a",          # green: Rural Crime Team
    "urban": "#e0701b",          # orange: neighbourhood policing
}
CLASS_LABELS = {
    "town_centre": "Town centre (town centre officers)",
    "heritage_site": "Heritage site (Rural Crime Team)",
    "rural": "Rural (Rural Crime Team)",
    "urban": "Urban (neighbourhood policing)",
}
EMERGING_CLASSES = _emerging.CLASS_NAMES
EMERGING_LABELS = _emerging.CLASS_LABELS
"""Legend labels of the emerging hot spot classes ("Persistent hot spot")."""
EMERGING_DESCRIPTIONS = _emerging.CLASS_DESCRIPTIONS
"""One plain sentence per emerging class."""
EMERGING_COLOURS = {
    # hot: warm (reds, oranges, ambers, browns); the strongest signals the deepest
    "intensifying_hot": "#a50f15",
    "persistent_hot": "#e31a1c",
    "new_hot": "#ff7f00",
    "consecutive_hot": "#fdae3b",
    "sporadic_hot": "#c2650a",
    "oscillating_hot": "#8c4a0c",
    "diminishing_hot": "#f08a8a",
    "historical_hot": "#c9a27e",
    # cold: cool (blues and teals, none the town-centre blue)
    "intensifying_cold": "#08306b",
    "persistent_cold": "#2c6fb0",
    "new_cold": "#4eb3d3",
    "consecutive_cold": "#7ec4e0",
    "sporadic_cold": "#1b8a8f",
    "oscillating_cold": "#0b5d5f",
    "diminishing_cold": "#a6c8e6",
    "historical_cold": "#8fbcb0",
    "no_pattern": "#8a8a8a",  # grey
}
"""A colour per emerging hot spot class (:data:`hotspot.emerging.CLASS_NAMES`): hot ones warm,
cold ones cool, no pattern grey; none is the heritage purple or the town-centre blue."""
EMERGING_UNCLASSED = "#c8c8c8"
"""Places with no emerging class (too few months of data)."""
EMERGING_UNCLASSED_LABEL = "Not classed (too few months)"
EMERGING_ORDER = (*(c for c in EMERGING_CLASSES if c != "no_pattern"), "no_pattern")
"""Legend order: hot classes, cold classes, then no pattern."""

LAYER_STYLES: dict[str, dict[str, Any]] = {
    "force_boundary": {"color": "#333333", "weight": 2, "fill": False, "dashArray": "6 4"},
    # reference layers in greys and browns: no hotspot class's colour (blue, purple, green,
    # orange), so a town centre's outline is never taken for a town centre hotspot
    "town_centres": {"color": "#5a4a3a", "weight": 1.5, "fillColor": "#5a4a3a",
                     "fillOpacity": 0.04, "dashArray": "2 4"},
    "built_up_areas": {"color": "#777777", "weight": 0.8, "fillColor": "#999999",
                       "fillOpacity": 0.08},
    "heritage_sites": {"color": "#6b5200", "weight": 1.5, "fillColor": "#f2c230",
                       "fillOpacity": 1.0, "radius": 5},
    "patrol_bases": {"color": "#ffffff", "weight": 2, "fillColor": "#222222",
                     "fillOpacity": 1.0, "radius": 7},
}
LAYER_SYMBOLS: dict[str, dict[str, str]] = {
    "heritage_sites": {"shape": "diamond", "fill": "#f2c230", "stroke": "#6b5200"},
    "patrol_bases": {"shape": "square", "fill": "#222222", "stroke": "#ffffff"},
}
"""The point layers' symbols (drawn by the planner's script, shown in the legend): a gold
diamond for a heritage site, a dark square for a police station or base; neither shape nor
colour is a hotspot's (a circle with its rank, in its class colour)."""
PANES = {"hs-areas": 405, "hs-points": 430, "hs-hotspots": 450, "hs-symbols": 460}
"""Leaflet panes (z-index) of the planner's map: reference areas, then reference points, then
the hotspots and their rank symbols on top (Leaflet's own marker pane is 600, tooltips 650,
popups 700)."""
DENSITY_UNIT = "Incidents per km\u00b2 in the period shown"
"""The density surface's unit (the kernel density of the period's incidents)."""


def hotspot_style(context_class: str, emerging: str | None = None) -> dict[str, object]:
    """Leaflet path style of a hotspot polygon of a context class (its SVG path carries the
    classes ``hs-hotspot``, ``hs-<class>`` and ``hs-em-<emerging class>`` (``hs-em-none``
    without one), for style sheets, the page's filter and tests)."""
    colour = CLASS_COLOURS.get(context_class, "#444444")
    # folium writes the style into the page's script unescaped: a class name keeps only
    # the characters a class name needs (the values are fixed lists today)
    cls, em = _CLASS_NAME.sub("", str(context_class)), _CLASS_NAME.sub("", emerging or "none")
    return {"color": colour, "weight": 2, "fillColor": colour, "fillOpacity": 0.35,
            "className": f"hs-hotspot hs-{cls} hs-em-{em or 'none'}"}


_CLASS_NAME = re.compile(r"[^A-Za-z0-9_-]")


def emerging_colour(emerging: str | None) -> str:
    """The colour of an emerging hot spot class (grey-white when there is none)."""
    return EMERGING_COLOURS.get(emerging or "", EMERGING_UNCLASSED)


def density_colours(values: np.ndarray, top: float) -> np.ndarray:
    """RGBA (uint8) for densities: transparent at zero, pale yellow to deep red at ``top``;
    opacity grows with density so the basemap shows through quiet areas."""
    t = np.clip(values / top, 0.0, 1.0) if top > 0 else np.zeros_like(values, dtype=float)
    t = np.sqrt(t)  # show the shoulders of the hotspots, not only their peaks
    out = np.empty((*np.shape(values), 4), dtype=np.uint8)
    # t is in [0, 1], so every channel is in 0..255: each is truncated into its byte as
    # astype(uint8) would, without a (h, w, 4) array of floats
    out[..., 0] = 255 - 40 * t
    out[..., 1] = 240 - 210 * t
    out[..., 2] = 120 - 100 * t
    out[..., 3] = np.where(values > top * 1e-3, 40 + 170 * t, 0)
    return out


ROUTE_COLOURS = ("#1f5fbf", "#c2410c", "#15803d", "#7e22ce", "#b91c1c", "#0e7490", "#a16207")
"""A patrol plan's route colours, by the route's position in the plan (the plan page, the field
view, the plans page's preview and the briefing's maps)."""


TEAM_LABELS = {"rural_crime_team": "Rural Crime Team",
               "town_centre_officers": "Town centre officers",
               "neighbourhood": "Neighbourhood policing"}
"""The teams a hotspot goes to, as the pages name them."""
