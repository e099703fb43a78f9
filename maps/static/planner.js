/* The planner's map: popups and tooltips built from feature properties.
 *
 * Every text that came from data (place names, location descriptions, crime types) goes into
 * the page through textContent, never innerHTML or template literals, so a location written as
 * <img src=x onerror=alert(1)>, ${alert(1)} or with a backtick stays visible text.
 */
(function () {
  "use strict";

  var CLASS_LABELS = {
    town_centre: "Town centre",
    heritage_site: "Heritage site",
    rural: "Rural",
    urban: "Urban"
  };
  var TEAM_LABELS = {
    town_centre_officers: "Town centre officers",
    rural_crime_team: "Rural Crime Team",
    neighbourhood_policing: "Neighbourhood policing",
    town_centre: "Town centre officers",
    both: "Town centre officers and Rural Crime Team"
  };

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }

  function row(table, label, value) {
    if (value === undefined || value === null || value === "") { return; }
    var tr = el("tr");
    tr.appendChild(el("th", null, label));
    tr.appendChild(el("td", null, value));
    table.appendChild(tr);
  }

  function hours(list) {
    if (!list || !list.length) { return null; }
    return list.map(function (h) { return (h < 10 ? "0" : "") + h + ":00"; }).join(", ");
  }

  function hotspotPopup(p) {
    var root = el("div", "hs-popup");
    var title = el("div", "hs-title", "#" + p.rank + " " + (p.place || p.id));
    root.appendChild(title);
    var badge = el("span", "hs-badge hs-" + p.context_class, CLASS_LABELS[p.context_class] || p.context_class);
    root.appendChild(badge);
    var t = el("table", "hs-facts");
    row(t, "Team", TEAM_LABELS[p.team] || p.team);
    row(t, "Incidents", p.incidents);
    row(t, "Area", p.area_m2 !== undefined ? (p.area_m2 / 1e6).toFixed(3) + " km\u00b2" : null);
    row(t, "Period", p.first_date && p.last_date ? p.first_date + " to " + p.last_date : null);
    row(t, "Peak hours", hours(p.peak_hours) || p.profile_note);
    row(t, "Peak days", p.peak_days && p.peak_days.length ? p.peak_days.join(", ") : null);
    var trend = p.trend;
    if (p.previous_incidents !== null && p.previous_incidents !== undefined) {
      trend += " (" + p.previous_incidents + " before)";
    }
    row(t, "Trend", trend);
    row(t, "Heritage sites", p.heritage_sites && p.heritage_sites.length ? p.heritage_sites.join("; ") : null);
    root.appendChild(t);
    var mix = p.category_mix || {};
    // the largest categories first; the rest summed on one line, so the counts add up
    var keys = Object.keys(mix).sort(function (a, b) { return mix[b] - mix[a] || (a < b ? -1 : 1); });
    if (keys.length) {
      root.appendChild(el("div", "hs-sub", "By category"));
      var c = el("table", "hs-mix");
      var shown = keys.length > 8 ? 7 : keys.length;
      keys.slice(0, shown).forEach(function (k) { row(c, k.replace(/_/g, " "), mix[k]); });
      if (keys.length > shown) {
        var rest = keys.slice(shown).reduce(function (sum, k) { return sum + mix[k]; }, 0);
        row(c, (keys.length - shown) + " other categories", rest);
      }
      root.appendChild(c);
    }
    if (p.top_locations && p.top_locations.length) {
      root.appendChild(el("div", "hs-sub", "Most recorded at"));
      var ul = el("ul", "hs-places");
      p.top_locations.forEach(function (loc) { ul.appendChild(el("li", null, loc)); });
      root.appendChild(ul);
    }
    return root;
  }

  function hotspotTooltip(p) {
    return el("span", null, "#" + p.rank + " " + (p.place || p.id) + " \u2013 " +
      (CLASS_LABELS[p.context_class] || p.context_class) + ", " + p.incidents + " incidents");
  }

  function placePopup(p) {
    var root = el("div", "hs-popup");
    root.appendChild(el("div", "hs-title", p.name || "(no name)"));
    var t = el("table", "hs-facts");
    row(t, "Designation", p.designation);
    row(t, "Team", p.team ? (TEAM_LABELS[p.team] || p.team) : null);
    root.appendChild(t);
    return root;
  }

  window.hotspotPlanner = {
    bindHotspot: function (feature, layer) {
      // pan clear of the controls along the top, so the popup is never under them
      layer.bindPopup(function () { return hotspotPopup(feature.properties); },
        { maxWidth: 340, autoPanPaddingTopLeft: L.point(10, 130) });
      layer.bindTooltip(function () { return hotspotTooltip(feature.properties); }, { sticky: true });
    },
    bindPlace: function (feature, layer) {
      layer.bindPopup(function () { return placePopup(feature.properties); },
        { autoPanPaddingTopLeft: L.point(10, 130) });
      if (feature.properties && feature.properties.name) {
        layer.bindTooltip(function () { return el("span", null, feature.properties.name); });
      }
    },
    hotspotPopup: hotspotPopup
  };
})();
