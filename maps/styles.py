"""Colours and styles of the planner's map, in one place."""

from __future__ import annotations

from typing import Any

import numpy as np

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
LAYER_STYLES: dict[str, dict[str, Any]] = {
    "force_boundary": {"color": "#333333", "weight": 2, "fill": False, "dashArray": "6 4"},
    "town_centres": {"color": "#1f5fbf", "weight": 1.5, "fillOpacity": 0.05, "dashArray": "4 3"},
    "built_up_areas": {"color": "#777777", "weight": 0.8, "fillColor": "#999999",
                       "fillOpacity": 0.08},
    "heritage_sites": {"color": "#7b2fa8", "weight": 1.5, "fillColor": "#c9a3e6",
                       "fillOpacity": 0.7, "radius": 5},
    "patrol_bases": {"color": "#111111", "weight": 2, "fillColor": "#ffffff",
                     "fillOpacity": 1.0, "radius": 7},
}


def hotspot_style(context_class: str) -> dict[str, object]:
    """Leaflet path style of a hotspot polygon of a context class (its SVG path carries the
    classes ``hs-hotspot`` and ``hs-<class>``, for style sheets and tests)."""
    colour = CLASS_COLOURS.get(context_class, "#444444")
    return {"color": colour, "weight": 2, "fillColor": colour, "fillOpacity": 0.35,
            "className": f"hs-hotspot hs-{context_class}"}


def density_colours(values: np.ndarray, top: float) -> np.ndarray:
    """RGBA (uint8) for densities: transparent at zero, pale yellow to deep red at ``top``;
    opacity grows with density so the basemap shows through quiet areas."""
    t = np.clip(values / top, 0.0, 1.0) if top > 0 else np.zeros_like(values)
    t = np.sqrt(t)  # show the shoulders of the hotspots, not only their peaks
    r = 255 - 40 * t
    g = 240 - 210 * t
    b = 120 - 100 * t
    a = np.where(values > top * 1e-3, 40 + 170 * t, 0)
    return np.stack([r, g, b, a], axis=-1).clip(0, 255).astype(np.uint8)
