"""The "Business reports" layer of the planner's map: the incidents businesses reported through
the retail partnership, drawn apart from the police-recorded hotspots, with their count.

The page is cached per data version, and business reports do not change it, so the layer is
not in the page: a small script fetches the period's reports (``GET
/v1/business-reports?format=geojson``, analysts only; for other roles it draws nothing) when
the page opens, and adds a row with the count and a switch (off at first, so the
police map is what shows) and a line that says these are not police-recorded crime, in the
legend (or, with no legend, a box of its own). Text from
data goes in with ``textContent`` only.
"""

from __future__ import annotations

from branca.element import MacroElement
from jinja2 import Template

from maps.legend_js import LEGEND_SECTION_JS

LAYER_COLOUR = "#00838f"
"""The reports' markers (a teal no context class uses)."""

_SCRIPT = """
(function (map, url, colour) {
  if (!window.fetch || !window.L) { return; }
""" + LEGEND_SECTION_JS + """
  // only staff may read them: other roles (the nav bar says which) ask for nothing
  var nav = document.querySelector("nav.hs-nav[data-role]");
  if (nav && ["admin", "analyst"].indexOf(nav.getAttribute("data-role")) < 0) { return; }
  fetch(url, { credentials: "same-origin", headers: { "Accept": "application/geo+json" } })
    .then(function (r) { return r.ok ? r.json() : null; })
    .then(function (data) {
      if (!data || !data.features) { return; }
      var count = (data.metadata && data.metadata.count) || data.features.length;
      var layer = L.layerGroup();
      data.features.forEach(function (f) {
        var c = f.geometry.coordinates, p = f.properties || {};
        var marker = L.circleMarker([c[1], c[0]], { radius: 6, color: "#fff", weight: 1.5,
          fillColor: colour, fillOpacity: 0.9 });
        var tip = document.createElement("div");
        var head = document.createElement("strong");
        head.textContent = "Business report: " + (p.type_label || p.type || "");
        tip.appendChild(head);
        [p.business, String(p.occurred_at || "").slice(0, 16).replace("T", " ")]
          .forEach(function (t) {
            if (!t) { return; }
            var line = document.createElement("div");
            line.textContent = t;
            tip.appendChild(line);
          });
        marker.bindTooltip(tip);
        layer.addLayer(marker);
      });
      var section = hsLegendSection({
        cls: "hs-business", title: "Business reports", toggleId: "hs-business-toggle",
        checked: false, colour: colour, label: "Reported by businesses",
        desc: " (retail partnership, this period): not police-recorded crime, " +
          "not in the hotspots",
        count: count, unit: "reports", countId: "hs-business-count",
        onToggle: function (on) { if (on) { layer.addTo(map); } else { map.removeLayer(layer); } }
      });
      var legend = document.querySelector("#hs-legend details");
      if (legend) {  // in the legend, under the map layers
        legend.insertBefore(section, legend.querySelector(".hs-density"));
        return;
      }
      var Box = L.Control.extend({ options: { position: "topright" },
        onAdd: function () {
          var box = L.DomUtil.create("div", "hs-business-box leaflet-bar");
          box.setAttribute("style", "background:#fff;padding:4px 8px;max-width:17rem");
          box.appendChild(section);
          L.DomEvent.disableClickPropagation(box);
          return box;
        } });
      new Box().addTo(map);
    })
    .catch(function () { /* no layer: the police map stands alone */ });
})
"""


class BusinessLayer(MacroElement):
    """Adds the business reports' layer and count box to a folium map (see the module)."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "{{ this.script }}({{ this._parent.get_name() }}, {{ this.url|tojson }}, "
        "{{ this.colour|tojson }});"
        "{% endmacro %}"
    )

    def __init__(self, url: str) -> None:
        super().__init__()
        self._name = "BusinessReports"
        self.url = url
        self.colour = LAYER_COLOUR
        self.script = _SCRIPT.strip()
