/* The planner's map: popups and tooltips built from feature properties.
 *
 * Every text that came from data (place names, location descriptions, crime types) goes into
 * the page through textContent, never innerHTML or template literals, so a location written as
 * <img src=x onerror=alert(1)>, ${alert(1)} or with a backtick stays visible text.
 *
 * The legend colours the places by team or by emerging hot spot class (the trend over the
 * months) and shows or hides each class's places (the layers are taken off the map, not just
 * made transparent). The choice lives in the address's #fragment, which the controls' form
 * keeps, so a reload with other parameters shows the same colours and classes.
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

  var CONFIG = null;  // the page's #hs-config (colours, class labels, harm approximate)

  function config() {
    if (CONFIG === null) {
      var node = document.getElementById("hs-config");
      CONFIG = node ? JSON.parse(node.textContent) : {};
    }
    return CONFIG;
  }

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

  function rowNode(table, label, node) {
    var tr = el("tr");
    tr.appendChild(el("th", null, label));
    var td = el("td");
    td.appendChild(node);
    tr.appendChild(td);
    table.appendChild(tr);
  }

  function whole(n) {
    return Math.round(n).toLocaleString("en-GB");
  }

  function harmText(p) {
    if (p.harm === undefined || p.harm === null) { return null; }
    return whole(p.harm) + " days" + (config().harm_approximate ? " (approximate)" : "");
  }

  function emergingLabel(p) {
    if (p.emerging === undefined) { return null; }
    var labels = config().emerging_labels || {};
    return labels[p.emerging || ""] || p.emerging;
  }

  function areaText(p) {
    if (!p.area_id) { return null; }
    if (!p.parent) { return "the whole of area " + p.area_id + " (not split)"; }
    if (p.area_places > 1) { return "one of " + p.area_places + " places of area " + p.area_id; }
    return "one place of area " + p.area_id;
  }

  function hours(list) {
    if (!list || !list.length) { return null; }
    return list.map(function (h) { return (h < 10 ? "0" : "") + h + ":00"; }).join(", ");
  }

  var controlsBottom = null;

  function clearOfControls() {
    // how far down a popup must stay to be clear of the controls (taller on a tablet)
    if (controlsBottom === null) {
      var controls = document.getElementById("hs-controls");
      controlsBottom = controls ? controls.offsetTop + controls.offsetHeight + 10 : 0;
    }
    return Math.max(130, controlsBottom);
  }

  function clearOfLegend() {
    // how far from the right a popup must stay to be clear of the legend (bottom right)
    var legend = document.getElementById("hs-legend");
    return legend ? legend.offsetWidth + 20 : 10;
  }

  function hotspotPopup(p) {
    var root = el("div", "hs-popup");
    var title = el("div", "hs-title", "#" + p.rank + " " + (p.name || p.place || p.id));
    root.appendChild(title);
    var badge = el("span", "hs-badge hs-" + p.context_class, CLASS_LABELS[p.context_class] || p.context_class);
    root.appendChild(badge);
    var t = el("table", "hs-facts");
    row(t, "Team", TEAM_LABELS[p.team] || p.team);
    row(t, "Incidents", p.incidents);
    row(t, "Harm", harmText(p));
    var label = emergingLabel(p);
    if (label) {
      var pattern = el("div");
      pattern.appendChild(el("strong", null, label));
      var description = (config().emerging_descriptions || {})[p.emerging || ""];
      if (description) { pattern.appendChild(el("div", "hs-desc", description)); }
      var months = config().emerging_months;
      rowNode(t, months ? "Pattern (" + months + " months)" : "Pattern", pattern);
    }
    row(t, "Street", p.street);
    row(t, "Part of", areaText(p));
    row(t, "Size", p.area_m2 !== undefined ? (p.area_m2 / 1e6).toFixed(3) + " km\u00b2" : null);
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
    var text = "#" + p.rank + " " + (p.name || p.place || p.id) + " \u2013 " +
      (CLASS_LABELS[p.context_class] || p.context_class) + ", " + p.incidents + " incidents";
    if (p.harm !== undefined && p.harm !== null) { text += ", harm " + whole(p.harm) + " days"; }
    var label = emergingLabel(p);
    if (label) { text += " \u00b7 " + label; }
    return el("span", null, text);
  }

  // ---- colour by team or by emerging class; show or hide classes -------------------------
  var places = [];  // {layer, feature}
  var state = { colour: "team", hidden: {} };

  function valueOf(p, key) {
    return key === "emerging" ? (p.emerging || "") : p.context_class;
  }

  function colourOf(p) {
    var c = config();
    if (state.colour === "emerging") {
      return (c.emerging_colours || {})[p.emerging || ""] || "#c8c8c8";
    }
    return (c.team_colours || {})[p.context_class] || "#444444";
  }

  function groupOf(layer) {
    // the GeoJSON layer that holds a place (found once, while the place is on the map)
    var found = null;
    if (layer._map) {
      layer._map.eachLayer(function (g) {
        if (!found && g instanceof L.GeoJSON && g.hasLayer(layer)) { found = g; }
      });
    }
    return found;
  }

  function apply() {
    places.forEach(function (entry) {
      var p = entry.feature.properties;
      var colour = colourOf(p);
      entry.layer.setStyle({ color: colour, fillColor: colour });
      if (entry.group === undefined) { entry.group = groupOf(entry.layer); }
      if (!entry.group) { return; }
      var show = !state.hidden[valueOf(p, state.colour)];
      if (show && !entry.group.hasLayer(entry.layer)) { entry.group.addLayer(entry.layer); }
      if (!show && entry.group.hasLayer(entry.layer)) { entry.group.removeLayer(entry.layer); }
    });
    var legend = document.getElementById("hs-legend");
    if (!legend) { return; }
    legend.querySelectorAll(".hs-key").forEach(function (key) {
      key.hidden = key.getAttribute("data-key") !== state.colour;
    });
    legend.querySelectorAll('input[name="hs-colour"]').forEach(function (r) {
      r.checked = r.value === state.colour;
    });
    legend.querySelectorAll('.hs-key input[type="checkbox"]').forEach(function (box) {
      box.checked = box.getAttribute("data-key") !== state.colour || !state.hidden[box.value];
    });
    remember();
  }

  function remember() {
    // the state in the #fragment (and the form's action), so a reload keeps it
    var hidden = Object.keys(state.hidden).filter(function (k) { return state.hidden[k]; });
    var parts = [];
    if (state.colour !== "team") { parts.push("colour=" + state.colour); }
    if (hidden.length) { parts.push("hide=" + hidden.map(encodeURIComponent).join(",")); }
    var hash = parts.length ? "#" + parts.join("&") : "";
    if (window.history && history.replaceState && location.protocol !== "file:") {
      history.replaceState(null, "", location.pathname + location.search + hash);
    } else if (hash || location.hash) {
      location.hash = hash;
    }
    var form = document.querySelector("#hs-controls form");
    if (form) {
      var action = form.getAttribute("action").split("#")[0];
      form.setAttribute("action", action + hash);
    }
  }

  function restore() {
    var hash = (location.hash || "").replace(/^#/, "");
    hash.split("&").forEach(function (part) {
      var kv = part.split("=");
      if (kv[0] === "colour" && (kv[1] === "emerging" || kv[1] === "team")) { state.colour = kv[1]; }
      if (kv[0] === "hide" && kv[1] !== undefined) {
        kv[1].split(",").forEach(function (v) { state.hidden[decodeURIComponent(v)] = true; });
      }
    });
  }

  function start() {
    var legend = document.getElementById("hs-legend");
    restore();
    if (legend) {
      legend.addEventListener("change", function (event) {
        var input = event.target;
        if (input.name === "hs-colour") {
          state.colour = input.value;
          state.hidden = {};  // a filter belongs to the classes it was set on
        } else if (input.type === "checkbox") {
          state.hidden[input.value] = !input.checked;
        }
        apply();
      });
    }
    var method = document.querySelector('#hs-controls select[name="method"]');
    var budget = document.querySelector('#hs-controls select[name="area_share"]');
    var form = document.querySelector("#hs-controls form");
    if (form) {
      // "All places" is no budget: leave area_share out of the request (empty is not a number)
      form.addEventListener("formdata", function (event) {
        if (event.formData.get("area_share") === "") { event.formData.delete("area_share"); }
      });
    }
    if (method && budget) {
      // the best method in the backtest is chosen for an area budget: never "all places"
      method.addEventListener("change", function () {
        if (method.value === "auto" && !budget.value) { budget.value = "0.005"; }
      });
    }
    apply();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    window.setTimeout(start, 0);
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
      places.push({ layer: layer, feature: feature });
      // pan clear of the controls along the top, so the popup is never under them
      layer.bindPopup(function () { return hotspotPopup(feature.properties); },
        { maxWidth: 340, autoPanPaddingTopLeft: L.point(10, clearOfControls()),
          autoPanPaddingBottomRight: L.point(clearOfLegend(), 10) });
      layer.bindTooltip(function () { return hotspotTooltip(feature.properties); }, { sticky: true });
    },
    bindPlace: function (feature, layer) {
      layer.bindPopup(function () { return placePopup(feature.properties); },
        { autoPanPaddingTopLeft: L.point(10, clearOfControls()) });
      if (feature.properties && feature.properties.name) {
        layer.bindTooltip(function () { return el("span", null, feature.properties.name); });
      }
    },
    hotspotPopup: hotspotPopup,
    state: state,
    apply: apply
  };
})();
