"""The "Persistent ASB" overlay of the planner's map: a marker at each place with anti-social
behaviour in many of the last months (:mod:`hotspot.persistent`; the list is the ``/asb``
page), above the hotspots' areas and under their rank symbols, with a row in the legend (its
symbol, what it means, its count, a switch and a link to the list). Each marker's tooltip is
built with ``textContent`` (the place's description is data). The hotspot that contains one
says so in its popup (the ``persistent_asb`` property,
:data:`maps.hotspot_map.POPUP_PROPERTIES`).
"""

from __future__ import annotations

from typing import Any

import folium
from branca.element import MacroElement
from jinja2 import Template

from maps.legend_js import LEGEND_SECTION_JS

ASB_COLOUR = "#b3122e"
"""The markers' fill (the month strips' colour on the ``/asb`` page)."""
ASB_PANE = ("hs-asb", 455)
"""The overlay's Leaflet pane and z-index: above the hotspots' areas, under their rank symbols
(a marker never hides a rank), under Leaflet's own markers, tooltips and popups."""

_SCRIPT = """
(function (map, data, colour, pane, link) {
  if (!window.L) { return; }
""" + LEGEND_SECTION_JS + """
  var months = data.months || 12, least = data.min_months || 1;
  var layer = L.geoJSON(data.places, {
    pointToLayer: function (feature, latlng) {
      return L.circleMarker(latlng, { pane: pane, radius: 7, color: "#ffffff", weight: 2,
        fillColor: colour, fillOpacity: 0.95, className: "hs-asb-place" });
    },
    onEachFeature: function (feature, marker) {
      var p = feature.properties || {};
      var tip = document.createElement("div");
      var head = document.createElement("strong");
      head.textContent = "Persistent ASB #" + p.rank + ": " + (p.location || "a place");
      var line = document.createElement("div");
      line.textContent = "ASB in " + p.months_with_asb + " of " + months + " months, " +
        p.asb_incidents + " incidents";
      tip.appendChild(head);
      tip.appendChild(line);
      marker.bindTooltip(tip);
    }
  }).addTo(map);
  var count = (data.places.features || []).length;
  var section = hsLegendSection({
    cls: "hs-asb", title: "Persistent ASB", toggleId: "hs-asb-toggle", checked: true,
    colour: colour, label: "Repeat ASB locations",
    desc: " ASB in at least " + least + " of the last " + months + " months",
    count: count, unit: "places",
    onToggle: function (on) { if (on) { layer.addTo(map); } else { map.removeLayer(layer); } }
  });
  if (link) {
    var more = document.createElement("a");
    more.href = link;
    more.className = "hs-asb-link";
    more.setAttribute("style", "display:inline-block;min-height:32px;line-height:32px");
    more.textContent = "The list for case work";
    section.appendChild(more);
  }
  var legend = document.querySelector("#hs-legend details");
  if (legend) {  // in the legend, under the map layers
    legend.insertBefore(section, legend.querySelector(".hs-density"));
  }
})
"""


class PersistentAsbLayer(MacroElement):
    """Adds the overlay and its legend row to a folium map (see the module)."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "{{ this.script }}({{ this._parent.get_name() }}, {{ this.data|tojson }}, "
        "{{ this.colour|tojson }}, {{ this.pane|tojson }}, {{ this.link|tojson }});"
        "{% endmacro %}"
    )

    def __init__(self, data: dict[str, Any], link: str | None) -> None:
        super().__init__()
        self._name = "PersistentAsb"
        self.data = data
        self.link = link
        self.colour = ASB_COLOUR
        self.pane = ASB_PANE[0]
        self.script = _SCRIPT.strip()


def add_persistent_asb(m: folium.Map, overlay: dict[str, Any], *, link: str | None = "/asb"
                       ) -> None:
    """Add the overlay to ``m`` (after the legend's panel, whose row it adds).

    Parameters
    ----------
    overlay
        ``{"places": FeatureCollection (WGS84 points with rank, place_id, location,
        months_with_asb, asb_incidents), "months": int, "min_months": int}``
        (``api.services.persistent_asb.map_overlay``).
    link
        The list page (None in a downloaded file).
    """
    folium.map.CustomPane(ASB_PANE[0], z_index=ASB_PANE[1], pointer_events=True).add_to(m)
    data = {"places": overlay["places"], "months": int(overlay.get("months") or 12),
            "min_months": int(overlay.get("min_months") or 1)}
    PersistentAsbLayer(data, link).add_to(m)
