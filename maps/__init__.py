"""Rendering: hotspot tables, density grids and reference layers to self-contained Leaflet pages.

Pure functions (no store, no web): data in, HTML or PNG out. Pages load Leaflet and the planner's
script from the service (or carry them inline in a single-file export), never from a CDN.
"""

from maps.density import DensityImage, density_bands, density_image
from maps.hotspot_map import FormState, PageOptions, planner_map

__all__ = ["DensityImage", "FormState", "PageOptions", "density_bands", "density_image",
           "planner_map"]
