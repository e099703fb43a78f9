/* The map under the hotspots when there are no tiles from the internet.
 *
 * HotspotBasemap.add(map, opts) draws, under everything else on a Leaflet map:
 *  - the store's roads by class (major roads wider and drawn first at low zoom), built-up
 *    areas, the force boundary and the names of towns, villages, town centres and heritage
 *    sites, from GET /v1/basemap (GeoJSON, WGS84), fetched in blocks aligned to the tile grid
 *    (so a block's address is the same on every visit and the field view can keep it);
 *  - the force's offline basemap when one is registered (GET /tiles/tiles.json): image tiles
 *    with L.tileLayer, vector tiles with protomaps-leaflet (loaded from the service's vendor
 *    folder only then). A basemap with its own roads (any image basemap, or vector tiles with a roads
 *    layer) replaces the store's roads; one with place names replaces the town and village
 *    names. The boundary, town centres and heritage sites always come from the store.
 * Names are text (textContent), with a white halo, placed most important first, and one that
 * would overlap a name already placed is left out.
 *
 * opts: { url: "/v1/basemap", tiles: "/tiles/tiles.json", keepOffline: false,
 *         budgetBytes: 50 MB, features: null, css: true }. features: the GeoJSON itself (a
 *         page that opens from disk carries it; no requests); css: false when the page has
 *         basemap.css inline already. keepOffline: once the page has drawn its layers (the field
 *         view's route), ask the field view's service worker to keep their area's blocks and
 *         tiles for use with no signal, within budgetBytes (see field-sw.js).
 */
(function () {
  "use strict";
  if (!window.L) return;

  var ROAD_WORDS = [
    ["motorway"],
    ["a road", "a_road", "a-road", "primary", "trunk"],
    ["b road", "b_road", "b-road", "secondary"],
    ["minor", "tertiary", "unclassified", "classified unnumbered", "not classified"],
    ["local", "residential", "street", "living"],
    ["track", "service", "restricted", "private", "path", "pedestrian", "footway", "cycleway"],
  ];
  // by rank (0 motorway ... 5 track): fill, casing
  var FILL = ["#e8a98f", "#f3cf72", "#f8e6a8", "#ffffff", "#ffffff", "#a08f78"];
  var CASING = ["#8a4f3a", "#9a7a22", "#a8925a", "#8f8f8f", "#a9a9a9", null];
  // widths in pixels at zoom 8, 12 and 16 (linear between, flat outside)
  var WIDTH = [[2.5, 5, 11], [2, 4.5, 10], [1.2, 3.5, 8], [0.8, 2.5, 7], [0.6, 1.8, 5.5],
               [0.6, 1, 2]];
  var LABEL_ORDER = { town: 0, town_centre: 1, village: 2, heritage: 3, road: 4, street: 5 };
  var BACKGROUND = "#f4f1ea";
  var ROAD_LAYERS = ["roads", "road", "transportation", "transport", "roads_major",
                     "roads_minor", "roadlink", "road_link"];
  var NAME_LAYERS = ["places", "place", "names", "place_names", "place_label", "settlements",
                     "labels"];

  function roadRank(props) {
    if (typeof props.rank === "number") return props.rank;
    var keys = ["class", "road_class", "roadclassification", "highway", "fclass", "kind", "type"];
    for (var k = 0; k < keys.length; k++) {
      var v = props[keys[k]];
      if (typeof v !== "string") continue;
      v = v.toLowerCase();
      for (var r = 0; r < ROAD_WORDS.length; r++) {
        for (var w = 0; w < ROAD_WORDS[r].length; w++) {
          if (v.indexOf(ROAD_WORDS[r][w]) >= 0) return r;
        }
      }
    }
    return 3;
  }
  function width(rank, zoom) {
    var w = WIDTH[Math.max(0, Math.min(5, rank))];
    if (zoom <= 8) return w[0];
    if (zoom >= 16) return w[2];
    return zoom <= 12 ? w[0] + (w[1] - w[0]) * (zoom - 8) / 4 : w[1] + (w[2] - w[1]) * (zoom - 12) / 4;
  }
  function escapeText(s) {
    var d = document.createElement("div");
    d.textContent = String(s || "");
    return d.innerHTML;
  }
  function ownUrl(name) {  // a file beside this script, with its version
    var s = document.currentScript || document.querySelector('script[src*="basemap.js"]');
    var src = s && s.src;  // none when the page carries this script inline (opened from disk)
    return src ? src.replace(/basemap\.js/, name) : null;
  }
  var CSS_URL = ownUrl("basemap.css");
  var VENDOR_URL = CSS_URL && ownUrl("basemap.js").replace("/maps/basemap.js", "/vendor/protomaps-leaflet.js");

  function addStyleSheet() {
    if (!CSS_URL || document.querySelector('link[data-hs-basemap]')) return;
    var link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = CSS_URL;
    link.setAttribute("data-hs-basemap", "");
    document.head.appendChild(link);
  }
  function loadScript(url) {
    return new Promise(function (resolve, reject) {
      if (window.protomapsL) { resolve(); return; }
      var s = document.createElement("script");
      s.src = url;
      s.onload = function () { resolve(); };
      s.onerror = function () { reject(new Error("cannot load " + url)); };
      document.head.appendChild(s);
    });
  }
  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (r.status === 204 || r.status === 404) return null;
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      });
  }

  /* -- tile grid ------------------------------------------------------------------------- */
  function lon2x(lon, z) { return Math.floor((lon + 180) / 360 * Math.pow(2, z)); }
  function lat2y(lat, z) {
    var r = lat * Math.PI / 180;
    return Math.floor((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2 * Math.pow(2, z));
  }
  function x2lon(x, z) { return x / Math.pow(2, z) * 360 - 180; }
  function y2lat(y, z) {
    var n = Math.PI - 2 * Math.PI * y / Math.pow(2, z);
    return 180 / Math.PI * Math.atan(0.5 * (Math.exp(n) - Math.exp(-n)));
  }
  function tileRange(bounds, z) {
    var n = Math.pow(2, z) - 1;
    var s = Math.max(-85.05, bounds.getSouth()), nn = Math.min(85.05, bounds.getNorth());
    return {
      x0: Math.max(0, lon2x(Math.max(-180, bounds.getWest()), z)),
      x1: Math.min(n, lon2x(Math.min(179.9999, bounds.getEast()), z)),
      y0: Math.max(0, lat2y(nn, z)), y1: Math.min(n, lat2y(s, z)),
    };
  }
  var BLOCK = 2;  // a block of features is one tile of zoom - 2: 4 x 4 tiles, 1,024 px across
  var DATA_MAX_ZOOM = 15;  // every road and name is in the blocks of zoom 15: closer in, reuse them
  function blockUrls(base, bounds, zoom) {
    var bz = Math.max(0, zoom - BLOCK), r = tileRange(bounds, bz), out = [];
    for (var x = r.x0; x <= r.x1; x++) {
      for (var y = r.y0; y <= r.y1; y++) {
        var bbox = [x2lon(x, bz), y2lat(y + 1, bz), x2lon(x + 1, bz), y2lat(y, bz)]
          .map(function (v) { return v.toFixed(6); }).join(",");
        out.push(base + "?bbox=" + bbox + "&zoom=" + zoom);
      }
    }
    return out;
  }

  /* -- the store's layers ---------------------------------------------------------------- */
  function Layers(map, opts) {
    this.map = map;
    this.opts = opts;
    this.blocks = {};   // url -> {layers: [...], labels: [...]}
    this.cache = {};    // url -> GeoJSON (promise)
    this.order = [];
    this.show = { roads: true, names: true, areas: true };
    this.held = true;   // nothing drawn until the basemap's tiles say what they draw themselves
    var panes = [["hsBasemapAreas", 210], ["hsBasemapCasing", 220], ["hsBasemapRoads", 230],
                 ["hsBasemapBoundary", 240], ["hsBasemapLabels", 390]];
    this.renderers = {};
    for (var i = 0; i < panes.length; i++) {
      var pane = map.getPane(panes[i][0]) || map.createPane(panes[i][0]);
      pane.style.zIndex = String(panes[i][1]);
      pane.style.pointerEvents = "none";
      if (i < 4) this.renderers[panes[i][0]] = L.canvas({ pane: panes[i][0], padding: 0.3 });
    }
    this.group = L.layerGroup().addTo(map);
    var self = this, timer = null, again = null;
    map.on("moveend zoomend", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { self.update(); }, 60);
    });
    map.on("layeradd", function (e) {  // the page's own markers: place the names clear of them
      var pane = e.layer && e.layer.options && e.layer.options.pane;
      if (pane && pane.indexOf("hsBasemap") === 0) return;
      clearTimeout(again);
      again = setTimeout(function () { self.placeLabels(); }, 150);
    });
  }
  Layers.prototype.fetch = function (url) {
    var self = this;
    if (this.opts.features) return Promise.resolve(this.opts.features);
    if (!this.cache[url]) {
      this.cache[url] = getJSON(url).catch(function () { delete self.cache[url]; return null; });
      this.order.push(url);
      if (this.order.length > 160) delete this.cache[this.order.shift()];
    }
    return this.cache[url];
  };
  Layers.prototype.update = function () {
    var map = this.map, self = this;
    if (!map._loaded || this.held) return;
    var zoom = Math.round(map.getZoom()), dataZoom = Math.min(DATA_MAX_ZOOM, zoom);
    var urls = this.opts.features ? ["features"]  // a single-file page carries its own
      : blockUrls(this.opts.url, map.getBounds().pad(0.25), dataZoom);
    var want = {};  // a block is drawn for the map's zoom (line widths), from its data zoom
    urls.forEach(function (u) { want[u + "@" + zoom] = u; });
    Object.keys(this.blocks).forEach(function (k) {
      if (!want[k]) { self.blocks[k].group.remove(); delete self.blocks[k]; }
    });
    var pending = Object.keys(want).filter(function (k) { return !self.blocks[k]; });
    pending.forEach(function (k) { self.blocks[k] = { group: L.layerGroup(), labels: [] }; });
    Promise.all(pending.map(function (k) {
      return self.fetch(want[k]).then(function (data) {
        var block = self.blocks[k];
        if (!block || !data) return;
        self.draw(block, data, zoom);
        block.group.addTo(self.group);
      });
    })).then(function () { self.placeLabels(); });
    this.placeLabels();
  };
  Layers.prototype.draw = function (block, data, zoom) {
    var r = this.renderers, show = this.show, feats = data.features || [];
    function pick(layer) { return feats.filter(function (f) { return f.properties.layer === layer; }); }
    var areas = pick("area"), roads = pick("road"), boundary = pick("boundary");
    if (show.areas && areas.length) {
      block.group.addLayer(L.geoJSON(areas, { renderer: r.hsBasemapAreas, interactive: false,
        style: function (f) {
          return { stroke: false, fillColor: f.properties.kind === "town" ? "#e6ded1" : "#ebe5da",
                   fillOpacity: 0.9 };
        } }));
    }
    if (show.roads && roads.length) {
      block.group.addLayer(L.geoJSON(roads.filter(function (f) { return CASING[roadRank(f.properties)]; }),
        { renderer: r.hsBasemapCasing, interactive: false, style: function (f) {
          var k = roadRank(f.properties);
          return { color: CASING[k], weight: width(k, zoom) + 2, opacity: 0.9, lineCap: "round",
                   lineJoin: "round" };
        } }));
      block.group.addLayer(L.geoJSON(roads, { renderer: r.hsBasemapRoads, interactive: false,
        style: function (f) {
          var k = roadRank(f.properties);
          return { color: FILL[k], weight: width(k, zoom), opacity: 1, lineCap: "round",
                   lineJoin: "round", dashArray: k === 5 ? "4 3" : null };
        } }));
    }
    if (boundary.length) {
      block.group.addLayer(L.geoJSON(boundary, { renderer: r.hsBasemapBoundary, interactive: false,
        style: { color: "#8e7fa8", weight: zoom >= 12 ? 7 : 5, opacity: 0.45 } }));
    }
    pick("label").forEach(function (f) {
      var p = f.properties;
      if (!show.names && (p.kind === "town" || p.kind === "village")) return;
      var span = document.createElement("span");
      span.className = "hs-bm-label hs-bm-" + (p.kind in LABEL_ORDER ? p.kind : "village");
      span.textContent = p.name;
      var c = f.geometry.coordinates;
      var m = L.marker([c[1], c[0]], {
        icon: L.divIcon({ html: span, className: "hs-bm-anchor", iconSize: null }),
        pane: "hsBasemapLabels", interactive: false, keyboard: false,
      });
      m._hsOrder = (LABEL_ORDER[p.kind] || 0) * 1000 + Math.min(999, p.name.length);
      m._hsKind = p.kind;
      block.labels.push(m);
      block.group.addLayer(m);
    });
  };
  var PLACES = { above: "translate(-50%, -100%)", below: "translate(-50%, 6px)",
                 right: "translate(10px, -50%)", left: "translate(calc(-100% - 10px), -50%)",
                 higher: "translate(-50%, calc(-100% - 18px))", lower: "translate(-50%, 24px)",
                 on: "translate(-50%, -50%)" };
  var AROUND = ["above", "below", "right", "left", "higher", "lower"];
  var TRIES = { town: AROUND, village: AROUND, town_centre: ["above", "below", "higher"],
                heritage: ["right", "left", "above", "below"], road: ["on"], street: ["on"] };
  function covered(box, boxes) {  // the area of box under the boxes, px²
    var sum = 0;
    for (var i = 0; i < boxes.length; i++) {
      var o = boxes[i];
      var w = Math.min(box.r, o.r) - Math.max(box.l, o.l), h = Math.min(box.b, o.b) - Math.max(box.t, o.t);
      if (w > 0 && h > 0) sum += w * h;
    }
    return sum;
  }
  function overlaps(box, boxes) {
    for (var i = 0; i < boxes.length; i++) {
      var o = boxes[i];
      if (box.l < o.r && box.r > o.l && box.t < o.b && box.b > o.t) return true;
    }
    return false;
  }
  Layers.prototype.placeLabels = function () {
    // most important first; each name takes the first of its places (above its place, below,
    // right, left, further above or below) clear of names already placed and of the map's
    // markers, else the one clear of names least covered by markers, else it is left out
    var all = [], self = this, map = this.map;
    Object.keys(this.blocks).forEach(function (u) { all = all.concat(self.blocks[u].labels); });
    all.sort(function (a, b) { return a._hsOrder - b._hsOrder; });
    var markers = [];
    var icons = map.getContainer().querySelectorAll(".leaflet-marker-icon:not(.hs-bm-anchor)");
    for (var k = 0; k < icons.length; k++) {
      var r = icons[k].getBoundingClientRect();
      if (r.width && r.height) markers.push({ l: r.left, r: r.right, t: r.top, b: r.bottom });
    }
    var placed = [];
    all.forEach(function (m) {
      var el = m.getElement && m.getElement(), span = el && el.firstChild;
      if (!span) return;
      el.style.visibility = "";
      var tries = TRIES[m._hsKind] || ["above"], fallback = null, chosen = null;
      for (var i = 0; i < tries.length && !chosen; i++) {
        span.style.transform = PLACES[tries[i]];
        var b = span.getBoundingClientRect();
        var box = { l: b.left - 3, r: b.right + 3, t: b.top - 2, b: b.bottom + 2 };
        if (overlaps(box, placed)) continue;
        var under = covered(box, markers);
        if (!under) chosen = { place: tries[i], box: box };
        else if (!fallback || under < fallback.under) fallback = { place: tries[i], box: box, under: under };
      }
      chosen = chosen || fallback;
      if (!chosen) { el.style.visibility = "hidden"; return; }
      span.style.transform = PLACES[chosen.place];
      placed.push(chosen.box);
    });
  };

  /* -- the offline basemap ------------------------------------------------------------------ */
  function hasLayer(tj, names) {
    var ids = (tj.vector_layers || []).map(function (v) { return String(v.id).toLowerCase(); });
    return names.some(function (n) { return ids.indexOf(n) >= 0; });
  }
  function vectorRules(P) {
    var paint = [], label = [];
    var WATER = ["water", "waterbody", "surfacewater", "sea", "ocean", "water_polygons", "foreshore"];
    var GREEN = ["landuse", "landcover", "woodland", "park", "parks", "national_parks", "greenspace"];
    var BUILT = ["built_up_areas", "urban_areas", "built_up", "settlement_areas"];
    WATER.forEach(function (n) {
      paint.push({ dataLayer: n, symbolizer: new P.PolygonSymbolizer({ fill: "#bcd4e6" }) });
    });
    ["waterlines", "waterway", "rivers"].forEach(function (n) {
      paint.push({ dataLayer: n, symbolizer: new P.LineSymbolizer({ color: "#8fb5d9", width: 1.5 }) });
    });
    GREEN.forEach(function (n) {
      paint.push({ dataLayer: n, symbolizer: new P.PolygonSymbolizer({ fill: "#dde8cf", opacity: 0.7 }) });
    });
    BUILT.forEach(function (n) {
      paint.push({ dataLayer: n, symbolizer: new P.PolygonSymbolizer({ fill: "#e6ded1" }) });
    });
    ["building", "buildings"].forEach(function (n) {
      paint.push({ dataLayer: n, minzoom: 14, symbolizer: new P.PolygonSymbolizer({ fill: "#d9d0c3" }) });
    });
    ROAD_LAYERS.forEach(function (n) {
      for (var k = 5; k >= 0; k--) {
        (function (rank) {
          var only = function (z, f) { return f.geomType !== 3 && roadRank(f.props) === rank; };
          if (CASING[rank]) {
            paint.push({ dataLayer: n, filter: only, symbolizer: new P.LineSymbolizer({
              color: CASING[rank], width: function (z) { return width(rank, z) + 2; }, lineCap: "round" }) });
          }
          paint.push({ dataLayer: n, filter: only, symbolizer: new P.LineSymbolizer({
            color: FILL[rank], width: function (z) { return width(rank, z); }, lineCap: "round",
            dash: rank === 5 ? [4, 3] : undefined }) });
        })(k);
      }
      label.push({ dataLayer: n, minzoom: 14, symbolizer: new P.LineLabelSymbolizer({
        labelProps: ["name", "ref"], fill: "#333", stroke: "#fff", width: 3, fontSize: 11 }) });
    });
    ["boundary", "boundaries", "force_boundary", "administrative"].forEach(function (n) {
      paint.push({ dataLayer: n, symbolizer: new P.LineSymbolizer({ color: "#8e7fa8", width: 4, opacity: 0.5 }) });
    });
    NAME_LAYERS.forEach(function (n) {
      label.push({ dataLayer: n, symbolizer: new P.CenteredTextSymbolizer({
        labelProps: ["name", "name_en", "distname", "NAME"], fill: "#1d1d1d", stroke: "#fff", width: 3,
        font: function (z, f) {
          var kind = String((f && (f.props.kind || f.props.class || f.props.type)) || "").toLowerCase();
          return /city|town/.test(kind) ? "700 14px system-ui, sans-serif" : "600 12px system-ui, sans-serif";
        } }) });
    });
    return { paint: paint, label: label };
  }
  function offlineLayer(map, tj) {
    var attribution = escapeText(tj.attribution || tj.name || "Offline basemap");
    var url = tj.tiles && tj.tiles[0];
    if (!url) return Promise.resolve(null);
    if (!tj.vector) {
      return Promise.resolve(L.tileLayer(url, { minZoom: 0, maxNativeZoom: tj.maxzoom,
        minNativeZoom: tj.minzoom, maxZoom: 19, attribution: attribution }).addTo(map));
    }
    return loadScript(VENDOR_URL).then(function () {
      var P = window.protomapsL, rules = vectorRules(P);
      var layer = P.leafletLayer({ url: url, maxDataZoom: tj.maxzoom, paintRules: rules.paint,
        labelRules: rules.label, backgroundColor: BACKGROUND, attribution: attribution });
      layer.addTo(map);
      return layer;
    });
  }

  /* -- keeping an area for the field view's offline use ------------------------------------- */
  function tileUrls(tj, bounds, z0, z1, limit) {
    var out = [], url = tj.tiles && tj.tiles[0];
    if (!url) return out;
    for (var z = Math.max(z0, tj.minzoom || 0); z <= Math.min(z1, tj.maxzoom); z++) {
      var r = tileRange(bounds, z);
      for (var x = r.x0; x <= r.x1; x++) {
        for (var y = r.y0; y <= r.y1; y++) {
          if (out.length >= limit) return out;
          out.push(url.replace("{z}", z).replace("{x}", x).replace("{y}", y));
        }
      }
    }
    return out;
  }
  var MAX_KEEP_BLOCKS = 600;
  var NEAR_DEG = 0.008;  // about 900 m north-south: the close-in map kept around each stop
  function keepOffline(map, opts, tj, area, points) {
    if (!("serviceWorker" in navigator) || !navigator.serviceWorker) return;
    var bounds = area.pad(0.3), zoom = Math.min(map.getBoundsZoom(area), DATA_MAX_ZOOM);
    // the blocks of the whole area from two zooms out to two zooms in, and from there to
    // zoom 15 (every road and name; closer in reuses them) around each stop only, at most
    // MAX_KEEP_BLOCKS; the basemap's tiles from two zooms out to two in (deeper tiles are
    // drawn from these)
    var z0 = Math.max(0, zoom - 2), urls = [], seen = {};
    function add(list) {
      list.forEach(function (u) {
        if (!seen[u] && urls.length < MAX_KEEP_BLOCKS) { seen[u] = true; urls.push(u); }
      });
    }
    for (var z = z0; z <= DATA_MAX_ZOOM; z++) {
      if (z <= zoom + 2) { add(blockUrls(opts.url, bounds, z)); continue; }
      points.forEach(function (p) {
        add(blockUrls(opts.url, L.latLngBounds([p.lat - NEAR_DEG, p.lng - 1.6 * NEAR_DEG],
                                               [p.lat + NEAR_DEG, p.lng + 1.6 * NEAR_DEG]), z));
      });
    }
    var own = [CSS_URL].concat(tj && tj.vector ? [VENDOR_URL] : []).filter(Boolean).map(function (u) {
      var a = document.createElement("a");
      a.href = u;
      return a.pathname + a.search;  // the style sheet and the vector library, same origin
    });
    urls = own.concat(urls);
    if (tj) urls = urls.concat([opts.tiles], tileUrls(tj, bounds, z0, Math.min(18, zoom + 2), 6000));
    navigator.serviceWorker.ready.then(function (reg) {
      if (reg.active) reg.active.postMessage({ type: "hotspot-keep-map", urls: urls, budgetBytes: opts.budgetBytes });
    }).catch(function () {});
  }
  function overlays(map) {  // what the page drew on the map (the route), not the basemap
    var b = L.latLngBounds([]), points = [];
    map.eachLayer(function (l) {
      var pane = l.options && l.options.pane;
      if (pane && pane.indexOf("hsBasemap") === 0) return;
      if (l instanceof L.Marker || l instanceof L.CircleMarker) {
        b.extend(l.getLatLng());
        points.push(l.getLatLng());
      } else if (l instanceof L.Path && l.getBounds) {
        b.extend(l.getBounds());
      }
    });
    return { bounds: b, points: points };
  }
  function watchArea(map, opts, state) {
    // once what the page draws has settled (a second with nothing added), keep its area; again
    // if it changes (another crew)
    var timer = null, last = null;
    map.on("layeradd", function (e) {
      var pane = e.layer && e.layer.options && e.layer.options.pane;
      if (pane && pane.indexOf("hsBasemap") === 0) return;
      clearTimeout(timer);
      timer = setTimeout(function () {
        var drawn = overlays(map), area = drawn.bounds;
        if (!area.isValid()) return;
        var key = area.toBBoxString();
        if (key === last) return;
        last = key;
        keepOffline(map, opts, state.tilejson, area, drawn.points);
      }, 1000);
    });
  }
  if (navigator.serviceWorker) {
    navigator.serviceWorker.addEventListener("message", function (e) {
      if (e.data && e.data.type === "hotspot-map-kept") {
        window.HotspotBasemap.kept = e.data;
        window.dispatchEvent(new CustomEvent("hotspot-map-kept", { detail: e.data }));
      }
    });
    if (navigator.serviceWorker.startMessages) navigator.serviceWorker.startMessages();
  }

  window.HotspotBasemap = {
    kept: null,
    add: function (map, opts) {
      opts = L.extend({ url: "/v1/basemap", tiles: "/tiles/tiles.json", keepOffline: false,
                        budgetBytes: 50 * 1024 * 1024 }, opts || {});
      if (opts.css !== false) addStyleSheet();
      var hasTiles = false;
      map.eachLayer(function (l) { if (l instanceof L.TileLayer) hasTiles = true; });
      if (!hasTiles) map.getContainer().style.background = BACKGROUND;
      var layers = new Layers(map, opts);
      var state = { layers: layers, tilejson: null, offline: null };
      var ready = (opts.tiles ? getJSON(opts.tiles).catch(function () { return null; })
        : Promise.resolve(null)).then(function (tj) {
        state.tilejson = tj;
        if (tj) {
          layers.show.roads = !(tj.vector === false || hasLayer(tj, ROAD_LAYERS));
          layers.show.names = !(tj.vector === false || hasLayer(tj, NAME_LAYERS));
          layers.show.areas = layers.show.roads;
          map.getContainer().style.background = BACKGROUND;
          return offlineLayer(map, tj).then(function (l) { state.offline = l; })
            .catch(function () { layers.show.roads = layers.show.names = layers.show.areas = true; });
        }
        return null;
      }).then(function () {
        // drawn from here only: a move before (the page fitting its hotspots) drew the
        // store's roads over a basemap that has its own, when tiles.json came late
        layers.held = false;
        map.whenReady(function () { layers.update(); });
        if (opts.keepOffline) {
          watchArea(map, opts, state);
          map.fire("layeradd", { layer: {} });  // what was drawn before this point counts
        }
      });
      state.ready = ready;
      map._hsBasemap = state;
      return state;
    },
    _blockUrls: blockUrls,
  };
})();
