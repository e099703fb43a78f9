"""Rendering: the service's pages from plain data, with no store and no web framework.

The hotspot map (:mod:`maps.hotspot_map`, its panels :mod:`maps.hotspot_panels`, the density
overlay :mod:`maps.density`), a hotspot's own page (:mod:`maps.hotspot_page`), the patrol plan
pages (:mod:`maps.plan_pages`, the list :mod:`maps.plan_list`), the printed briefing
(:mod:`maps.briefing`, its maps :mod:`maps.crew_map`), the products page, and the charts, QR
codes and navigation bar they share. Data in, HTML, SVG or PNG out. Pages load Leaflet and the
service's scripts from the service (or carry them inline in a single-file export), never from a
CDN.
"""

from maps.density import DensityImage, density_bands, density_image
from maps.hotspot_map import PageOptions, hotspot_map_page
from maps.hotspot_panels import FormState

__all__ = ["DensityImage", "FormState", "PageOptions", "density_bands", "density_image",
           "hotspot_map_page"]
