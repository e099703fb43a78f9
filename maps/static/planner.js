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

  var TRENDS = {
    up: "\u2191 Rising",
    down: "\u2193 Falling",
    flat: "\u2192 Steady",
    unknown: "Not known"
  };
  var TREND_WORDS = {
    up: "Rising",
    down: "Falling",
    flat: "Steady (no more change than chance)",
    unknown: "Not known (no data for the period before)"
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
    // in words for the main text; the area's id goes to the reference line
    if (!p.area_id) { return null; }
    if (!p.parent) { return null; }
    if (p.area_places > 1) { return "one of " + p.area_places + " places of one busy area"; }
    return null;
  }

  function hours(list) {
    // the busiest hours, in the order of the day ("12:00\u201313:00, 17:00\u201318:00")
    if (!list || !list.length) { return null; }
    function hh(h) { return (h < 10 ? "0" : "") + h + ":00"; }
    return list.slice().sort(function (a, b) { return a - b; })
      .map(function (h) { return hh(h) + "\u2013" + hh((h + 1) % 24); }).join(", ");
  }

  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
    "Dec"];

  function dateText(iso) {
    // "2024-07-01" -> "1 Jul 2024", "2024-07" (a month of data.police.uk data) -> "Jul 2024"
    var m = /^(\d{4})-(\d{2})(?:-(\d{2}))?$/.exec(String(iso));
    if (!m) { return String(iso); }
    var month = MONTHS[parseInt(m[2], 10) - 1] + " " + m[1];
    return m[3] ? parseInt(m[3], 10) + " " + month : month;
  }

  function categoryLabel(key) {
    var labels = config().category_labels || {};
    if (labels[key]) { return labels[key]; }
    var words = String(key).replace(/_/g, " ");
    return words.charAt(0).toUpperCase() + words.slice(1);
  }

  function placeName(p) {
    return p.name || p.place || ("Place " + p.rank);
  }

  function trendText(p) {
    var text = TREND_WORDS[p.trend] || p.trend;
    if (p.previous_incidents !== null && p.previous_incidents !== undefined) {
      text += ": " + whole(p.incidents) + " against " + whole(p.previous_incidents) +
        " in the period before";
    }
    return text;
  }

  var controlsBottom = null;

  function clearOfControls() {
    // how far down a popup must stay to be clear of the controls (taller on a tablet)
    var controls = document.getElementById("hs-controls");
    controlsBottom = controls ? controls.offsetTop + controls.offsetHeight + 10 : 0;
    return Math.max(130, controlsBottom);
  }

  function popupHeight() {
    // a long popup scrolls inside the map's free height instead of running off the screen
    // (less the controls above, the popup's tip and frame, and a margin below)
    return Math.max(220, (window.innerHeight || 800) - clearOfControls() - 110);
  }

  function clearOfLegend() {
    // how far from the right a popup must stay to be clear of the legend (bottom right)
    var legend = document.getElementById("hs-legend");
    return legend ? legend.offsetWidth + 20 : 10;
  }

  function hotspotPopup(p) {
    var root = el("div", "hs-popup");
    var title = el("div", "hs-title", "#" + p.rank + " " + placeName(p));
    root.appendChild(title);
    var badge = el("span", "hs-badge hs-" + p.context_class, CLASS_LABELS[p.context_class] || p.context_class);
    root.appendChild(badge);
    // the hotspot's own page (charts, advice, patrols), with the parameters of this result:
    // at the top, in view without scrolling a long popup
    var pageQuery = config().hotspot_page_query;
    if (p.id && typeof pageQuery === "string") {
      var more = el("a", "hs-page-link", "Open this hotspot's page");
      more.href = "/hotspots/" + encodeURIComponent(p.id) + (pageQuery ? "?" + pageQuery : "");
      root.appendChild(more);
    }
    var t = el("table", "hs-facts");
    row(t, "Team", TEAM_LABELS[p.team] || p.team);
    row(t, "Incidents", p.incidents !== undefined ? whole(p.incidents) : null);
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
    row(t, "Recorded", p.first_date && p.last_date ?
      dateText(p.first_date) + " to " + dateText(p.last_date) : null);
    row(t, "Peak hours", hours(p.peak_hours) || p.profile_note);
    row(t, "Peak days", p.peak_days && p.peak_days.length ? p.peak_days.join(", ") : null);
    row(t, "Trend", trendText(p));
    row(t, "Heritage sites", p.heritage_sites && p.heritage_sites.length ? p.heritage_sites.join("; ") : null);
    row(t, "Persistent ASB", p.persistent_asb);  // repeat ASB locations inside (the /asb page)
    root.appendChild(t);
    var mix = p.category_mix || {};
    // the largest categories first; the rest summed on one line, so the counts add up
    var keys = Object.keys(mix).sort(function (a, b) { return mix[b] - mix[a] || (a < b ? -1 : 1); });
    if (keys.length) {
      root.appendChild(el("div", "hs-sub", "By category"));
      var c = el("table", "hs-mix");
      var shown = keys.length > 8 ? 7 : keys.length;
      keys.slice(0, shown).forEach(function (k) { row(c, categoryLabel(k), whole(mix[k])); });
      if (keys.length > shown) {
        var rest = keys.slice(shown).reduce(function (sum, k) { return sum + mix[k]; }, 0);
        row(c, (keys.length - shown) + " other categories", whole(rest));
      }
      root.appendChild(c);
    }
    if (p.top_locations && p.top_locations.length) {
      root.appendChild(el("div", "hs-sub", "Most recorded at"));
      var ul = el("ul", "hs-places");
      p.top_locations.forEach(function (loc) { ul.appendChild(el("li", null, loc)); });
      root.appendChild(ul);
    }
    // the ids, for who needs to find the place in the CSV or the API: not the main text
    if (p.id) {
      root.appendChild(el("div", "hs-ref", "Reference: " + p.id +
        (p.area_id && p.area_id !== p.id ? " (area " + p.area_id + ")" : "")));
    }
    return root;
  }

  function hotspotTooltip(p) {
    var text = "#" + p.rank + " " + placeName(p) + " \u2013 " +
      (CLASS_LABELS[p.context_class] || p.context_class) + ", " + whole(p.incidents) + " incidents";
    if (p.harm !== undefined && p.harm !== null) { text += ", harm " + whole(p.harm) + " days"; }
    var label = emergingLabel(p);
    if (label) { text += " \u00b7 " + label; }
    if (p.persistent_asb) { text += " \u00b7 persistent ASB"; }
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
      if (entry.symbol) {
        var icon = entry.symbol.getElement();
        if (icon) { icon.style.backgroundColor = colour; }
        var onMap = entry.symbolGroup.hasLayer(entry.symbol);
        // a symbol shows while its place does (the Hotspots overlay on, its class not hidden)
        var want = show && entry.group._map;
        if (want && !onMap) { entry.symbolGroup.addLayer(entry.symbol); }
        if (!want && onMap) { entry.symbolGroup.removeLayer(entry.symbol); }
        icon = entry.symbol.getElement();
        if (icon) { icon.style.backgroundColor = colour; }
      }
      if (entry.row) {
        entry.row.hidden = !show;
        entry.swatch.style.backgroundColor = colour;
      }
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

  // ---- rank symbols, the ranked list, panels that fold away on a small screen -------------
  var SMALL = "(max-width: 1100px), (max-height: 700px)";  // as in planner.css
  var symbols = null;  // L.layerGroup of the best places' rank symbols (pane hs-symbols)
  var closeSymbols = null;  // the other places' symbols, shown from CLOSE_ZOOM (streets)
  var CLOSE_ZOOM = 15;
  var SYMBOLS_ALL = 1000;  // no more symbols than this in all
  var theMap = null;

  function findMap() {
    for (var i = 0; i < places.length; i++) {
      if (places[i].layer._map) { return places[i].layer._map; }
    }
    var found = null;
    Object.keys(window).forEach(function (k) {
      try { if (!found && window[k] instanceof L.Map) { found = window[k]; } } catch (e) { /* */ }
    });
    return found;
  }

  function small() {
    // a tablet (800x1280, 1024x768) or a short window: the list and legend start closed
    return window.matchMedia && window.matchMedia(SMALL).matches;
  }

  function padding() {
    // what the panels cover, so a place zoomed to is shown where they are not
    var list = document.getElementById("hs-list");
    var left = list && list.offsetParent && !small() ? list.offsetLeft + list.offsetWidth + 10 : 20;
    return { topLeft: L.point(left, clearOfControls()), bottomRight: L.point(20, 40) };
  }

  function show(entry) {
    // zoom to a place and open its popup (from the list, or a symbol)
    var map = theMap;
    if (!map || !entry.group) { return; }
    if (!entry.group.hasLayer(entry.layer)) { return; }
    var pad = padding();
    map.fitBounds(entry.layer.getBounds(), { paddingTopLeft: pad.topLeft,
      paddingBottomRight: pad.bottomRight, maxZoom: 16, animate: false });
    var p = entry.feature.properties;
    var at = (p.label_lat !== undefined && p.label_lat !== null) ?
      L.latLng(p.label_lat, p.label_lon) : entry.layer.getBounds().getCenter();
    entry.layer.openPopup(at);
    if (small()) {
      var drawer = document.querySelector("#hs-list details");
      if (drawer) { drawer.open = false; }
    }
  }

  function makeSymbol(entry) {
    var p = entry.feature.properties;
    if (p.label_lat === undefined || p.label_lat === null) { return null; }
    var icon = L.divIcon({ className: "hs-symbol hs-symbol-" + p.context_class,
      html: "", iconSize: [26, 26], iconAnchor: [13, 13] });
    var marker = L.marker([p.label_lat, p.label_lon], { icon: icon, pane: "hs-symbols",
      // the ranked list is the keyboard's way to a place: 50 symbols are not 50 more tab stops
      keyboard: false, zIndexOffset: (1000 - Math.min(p.rank, 999)) * 10000,
      riseOnHover: false, alt: "" });
    marker.on("add", function () {
      var node = marker.getElement();
      if (node) {
        node.textContent = String(p.rank);
        node.setAttribute("aria-label", "#" + p.rank + " " + placeName(p));
        node.setAttribute("data-rank", String(p.rank));
        node.style.backgroundColor = colourOf(p);
      }
    });
    marker.on("click", function () { entry.layer.openPopup(marker.getLatLng()); });
    marker.bindTooltip(function () { return hotspotTooltip(p); }, { direction: "top", offset: [0, -12] });
    return marker;
  }

  function listRow(entry) {
    var p = entry.feature.properties;
    var li = el("li", "hs-row");
    var button = el("button", "hs-row-button");
    button.type = "button";
    button.setAttribute("data-rank", String(p.rank));
    var swatch = el("span", "hs-row-rank", String(p.rank));
    swatch.style.backgroundColor = colourOf(p);
    button.appendChild(swatch);
    var text = el("span", "hs-row-text");
    text.appendChild(el("span", "hs-row-name", placeName(p)));
    var facts = (CLASS_LABELS[p.context_class] || p.context_class) + " \u00b7 " +
      (TEAM_LABELS[p.team] || p.team || "");
    text.appendChild(el("span", "hs-row-facts", facts));
    button.appendChild(text);
    var nums = el("span", "hs-row-nums");
    nums.appendChild(el("span", "hs-row-incidents", whole(p.incidents)));
    nums.appendChild(el("span", "hs-row-trend hs-trend-" + (p.trend || "unknown"),
      TRENDS[p.trend] || p.trend || ""));
    button.appendChild(nums);
    button.title = "#" + p.rank + " " + placeName(p) + ": " + whole(p.incidents) +
      " incidents; trend " + (TREND_WORDS[p.trend] || p.trend);
    button.addEventListener("click", function () { show(entry); });
    li.appendChild(button);
    entry.row = li;
    entry.swatch = swatch;
    return li;
  }

  function buildList() {
    var ol = document.querySelector("#hs-list ol");
    if (!ol) { return; }
    var sorted = places.slice().sort(function (a, b) {
      return a.feature.properties.rank - b.feature.properties.rank;
    });
    var head = el("li", "hs-row hs-row-head");
    head.setAttribute("aria-hidden", "true");
    head.appendChild(el("span", "hs-head-rank", "#"));
    head.appendChild(el("span", "hs-head-name", "Place \u00b7 class \u00b7 team"));
    head.appendChild(el("span", "hs-head-nums", "Incidents \u00b7 trend"));
    ol.appendChild(head);
    var fragment = document.createDocumentFragment();
    sorted.forEach(function (entry) { fragment.appendChild(listRow(entry)); });
    ol.appendChild(fragment);
  }

  function buildSymbols() {
    var limit = config().symbols_max || 50;
    symbols = L.layerGroup();
    closeSymbols = L.layerGroup();
    places.forEach(function (entry) {
      if (entry.group === undefined) { entry.group = groupOf(entry.layer); }
      var rank = entry.feature.properties.rank;
      if (rank <= SYMBOLS_ALL) {
        entry.symbol = makeSymbol(entry);
        entry.symbolGroup = rank <= limit ? symbols : closeSymbols;
      }
    });
    if (theMap) {
      symbols.addTo(theMap);
      var close = function () {
        var want = theMap.getZoom() >= CLOSE_ZOOM;
        if (want && !theMap.hasLayer(closeSymbols)) { closeSymbols.addTo(theMap); }
        if (!want && theMap.hasLayer(closeSymbols)) { theMap.removeLayer(closeSymbols); }
      };
      theMap.on("zoomend", close);
      close();
      // the symbols follow the Hotspots overlay of the layer control
      theMap.on("overlayadd overlayremove", function () { apply(); });
    }
  }

  function foldOnSmallScreens() {
    if (!small()) { return; }
    ["hs-list", "hs-legend"].forEach(function (id) {
      var d = document.querySelector("#" + id + " details");
      if (d) { d.open = false; }
    });
  }

  function start() {
    var legend = document.getElementById("hs-legend");
    restore();
    theMap = findMap();
    foldOnSmallScreens();
    var list = document.getElementById("hs-list");
    var placeList = function () {  // under the controls, whatever their height (they wrap on a tablet)
      if (!list) { return; }
      list.style.top = clearOfControls() + "px";
      list.style.maxHeight = "calc(100% - " + (clearOfControls() + 60) + "px)";
    };
    placeList();
    // "About these figures" opened makes the controls taller: the list moves down, not over it
    var about = document.querySelector("#hs-controls details");
    if (about) { about.addEventListener("toggle", placeList); }
    window.addEventListener("resize", placeList);
    if (legend) {  // the legend (bottom right) stays clear of the controls above it
      var room = window.innerHeight - clearOfControls() - 70;
      if (small()) { room = Math.min(room, window.innerHeight * 0.4); }  // a quarter of the map at most
      legend.style.maxHeight = Math.max(120, room) + "px";
    }
    buildList();
    buildSymbols();
    if (theMap && !small()) {
      // the whole area in view beside the list and under the controls
      var bounds = null;
      theMap.eachLayer(function (l) {
        if (l instanceof L.GeoJSON && l.getLayers().length && l.options.pane === "hs-areas" &&
            !bounds) { bounds = l.getBounds(); }
      });
      if (bounds && bounds.isValid()) {
        var pad = padding();
        var right = L.point(clearOfLegend(), 20);
        // only when it costs at most one zoom level: the area beside the panels is big enough
        if (theMap.getBoundsZoom(bounds, false, pad.topLeft.add(right)) >= theMap.getZoom() - 1) {
          theMap.fitBounds(bounds, { paddingTopLeft: pad.topLeft, paddingBottomRight: right,
            animate: false });
        }
      }
    }
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
      // To before From: said here, beside the field, not as the service's error page
      var from = form.querySelector('input[name="from"]');
      var to = form.querySelector('input[name="to"]');
      if (from && to) {
        var check = function () {
          to.setCustomValidity(from.value && to.value && to.value < from.value
            ? "The period must end after it starts: To is before From." : "");
        };
        ["input", "change"].forEach(function (kind) {
          from.addEventListener(kind, check);
          to.addEventListener(kind, check);
        });
        check();
      }
    }
    if (method && budget) {
      // the best method in the backtest is chosen for an area budget: never "all places"
      method.addEventListener("change", function () {
        if (method.value === "auto" && !budget.value) { budget.value = "0.005"; }
      });
    }
    apply();
    startTiles();
  }

  // ---- the selection's incidents (staff only) and density contours as vector tiles ---------
  // The incidents of the period shown: up to incident_tiles_above as GeoJSON points from
  // /v1/incidents, above it from /tiles/incidents/{z}/{x}/{y}.mvt, drawn by the vendored
  // protomaps-leaflet (nothing from a CDN); the density surface's contour bands from
  // /tiles/density, off at first (the PNG overlay is the default). Exact points are for staff:
  // other roles never ask for them (and the service refuses them).
  var STAFF_ROLES = ["admin", "analyst"];
  var SELECTION_KEYS = ["from", "to", "category", "priority", "bbox", "town"];
  var tiled = { incidents: null, density: null, mode: null, count: null };

  function role() {
    var nav = document.querySelector("nav.hs-nav[data-role]");
    return nav ? nav.getAttribute("data-role") : null;
  }

  function selectionQuery(keys) {
    // the page's query (all of it, or only ``keys``), the period always said (empty: all)
    var q = config().hotspot_page_query;
    if (typeof q !== "string") { return null; }
    var params = new URLSearchParams(q), out = new URLSearchParams();
    params.forEach(function (v, k) { if (!keys || keys.indexOf(k) >= 0) { out.append(k, v); } });
    if (!out.has("from")) { out.set("from", ""); }
    if (!out.has("to")) { out.set("to", ""); }
    return out;
  }

  function vendorUrl() {
    var s = document.querySelector('script[src*="planner.js"]');
    return s && s.src ? s.src.replace(/\/maps\/planner\.js/, "/vendor/protomaps-leaflet.js") : null;
  }

  function loadProtomaps() {
    return new Promise(function (resolve, reject) {
      if (window.protomapsL) { resolve(window.protomapsL); return; }
      var url = vendorUrl();
      if (!url) { reject(new Error("no vendor folder")); return; }
      var s = document.querySelector('script[data-hs-protomaps]');
      if (!s) {
        s = document.createElement("script");
        s.src = url;
        s.setAttribute("data-hs-protomaps", "");
        document.head.appendChild(s);
      }
      s.addEventListener("load", function () { resolve(window.protomapsL); });
      s.addEventListener("error", function () { reject(new Error("cannot load " + url)); });
    });
  }

  function tileLayer(P, layer, query, rules) {
    var url = "/tiles/" + layer + "/{z}/{x}/{y}.mvt?" + query.toString();
    // no attribution: the data is the force's own (the page's line already says whose)
    return P.leafletLayer({ url: url, maxDataZoom: 16, paintRules: rules, labelRules: [],
      attribution: "", pane: layer === "density" ? "hs-areas" : "hs-points" });
  }

  function layerToggle(map, o, makeLayer) {
    // a row of the legend (under its map layers, as the overlays' rows are), off at first,
    // that shows or hides one layer; the layer (and the vector-tile library it may need) is
    // fetched only when first ticked: a tablet on a poor signal downloads nothing it does
    // not show. o: what hsLegendSection takes, less the switch
    var layer = null, pending = null, toggle = null;
    function show(on) {
      if (!on) { if (layer) { map.removeLayer(layer); } return; }
      if (layer) { layer.addTo(map); return; }
      if (!pending) { pending = makeLayer().then(function (made) { layer = made; return made; }); }
      pending.then(function (made) { if (made && toggle.checked) { made.addTo(map); } })
        .catch(function () {
          toggle.checked = false;
          toggle.disabled = true;
          toggle.title = "Could not be loaded";
        });
    }
    if (!window.hsLegendSection) { return; }
    o.checked = false;
    o.onToggle = show;
    var section = window.hsLegendSection(o);
    toggle = section.querySelector("input");
    var legend = document.querySelector("#hs-legend details");
    if (legend) { legend.insertBefore(section, legend.querySelector(".hs-density")); }
  }

  var INCIDENT_DOT = "#37474f";
  // one colour for every incident: the team colours are the hotspots' own

  function addIncidents(map) {
    var query = selectionQuery(SELECTION_KEYS);
    if (!query || STAFF_ROLES.indexOf(role()) < 0) { return; }
    var count = new URLSearchParams(query);
    count.delete("town");  // /v1/incidents takes no town: the count is of the wider selection
    count.set("limit", "1");
    fetch("/v1/incidents?" + count.toString(), { credentials: "same-origin",
      headers: { Accept: "application/geo+json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        if (!body) { return; }
        var n = body.numberMatched || 0;
        var above = config().incident_tiles_above || 3000;
        tiled.count = n;
        if (n === 0) { return; }
        var row = { cls: "hs-toggle-incidents", title: "Incidents", colour: INCIDENT_DOT,
          toggleId: "hs-incidents-toggle", count: n, unit: "incidents",
          label: n > above ? "Every incident, tiled" : "Every incident",
          desc: " of the period shown, a dot each (staff only: exact places)" };
        if (n > above) {
          tiled.mode = "tiles";
          layerToggle(map, row, function () {
            return loadProtomaps().then(function (P) {
              tiled.incidents = tileLayer(P, "incidents", query, [{ dataLayer: "incidents",
                symbolizer: new P.CircleSymbolizer({ radius: 2.5, stroke: "#ffffff",
                  width: 0.6, fill: INCIDENT_DOT }) }]);
              return tiled.incidents;
            });
          });
          return;
        }
        tiled.mode = "geojson";
        layerToggle(map, row, function () {
          var page = new URLSearchParams(query);
          page.delete("town");
          page.set("limit", String(above));
          return fetch("/v1/incidents?" + page.toString(), { credentials: "same-origin" })
            .then(function (r) { if (!r.ok) { throw new Error("incidents"); } return r.json(); })
            .then(function (data) {
              tiled.incidents = L.geoJSON(data, { pointToLayer: function (f, latlng) {
                return L.circleMarker(latlng, { radius: 3, weight: 0.6, color: "#fff",
                  fillColor: INCIDENT_DOT, fillOpacity: 0.9, pane: "hs-points",
                  interactive: false });
              } });
              return tiled.incidents;
            });
        });
      })
      .catch(function () { /* the map reads without them */ });
  }

  function addContours(map) {
    var query = selectionQuery(null);
    if (!query || !role()) { return; }
    var shades = ["#fee5d9", "#fcbba1", "#fc9272", "#fb6a4a", "#de2d26", "#a50f15"];
    var bands = 5;
    layerToggle(map, { cls: "hs-toggle-density", title: "Density contours",
      toggleId: "hs-density-toggle", colour: shades[4], count: bands, unit: "bands",
      label: "Contour bands, tiled",
      desc: " of the density shading: darker red, more incidents per km²" }, function () {
      return loadProtomaps().then(function (P) {
        tiled.density = tileLayer(P, "density", query, [{ dataLayer: "density",
          symbolizer: new P.PolygonSymbolizer({ opacity: 0.3, stroke: "#a50f15", width: 0.5,
            fill: function (z, f) {
              return shades[Math.min(shades.length - 1, (f.props.band || 1) - 1)];
            } }) }]);
        return tiled.density;
      });
    });
  }

  function startTiles() {
    if (!theMap || !window.fetch || !window.URLSearchParams || !window.Promise) { return; }
    addIncidents(theMap);
    addContours(theMap);
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
      layer.bindPopup(function () {
        // sized when it opens, to the window as it is then (a tablet turned, a window resized)
        var popup = layer.getPopup();
        if (popup) {
          popup.options.maxHeight = popupHeight();
          popup.options.autoPanPaddingTopLeft = L.point(10, clearOfControls());
          popup.options.autoPanPaddingBottomRight = L.point(clearOfLegend(), 10);
        }
        return hotspotPopup(feature.properties);
      },
        { maxWidth: 340, maxHeight: popupHeight(),
          autoPanPaddingTopLeft: L.point(10, clearOfControls()),
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
    pointLayer: function (kind) {
      // a reference point's own symbol (a diamond, a square), under the hotspots
      return function (feature, latlng) {
        return L.marker(latlng, { pane: "hs-points", keyboard: false,
          icon: L.divIcon({ className: "hs-point hs-point-" + kind, html: "<span></span>",
            iconSize: [14, 14], iconAnchor: [7, 7] }) });
      };
    },
    show: function (rank) {
      var entry = places.filter(function (e) { return e.feature.properties.rank === rank; })[0];
      if (entry) { show(entry); }
    },
    hotspotPopup: hotspotPopup,
    tiled: tiled,
    state: state,
    apply: apply
  };
})();
