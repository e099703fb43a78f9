/* The Rural Crime Team's field view.
 *
 * Works with no signal once opened: a service worker (/field/sw.js) keeps the page, Leaflet,
 * this script and the plan; the page also puts them in the cache itself on its first load
 * (before the worker controls it). A stop marked visited goes into an outbox in localStorage
 * with an id made here; the outbox is sent whenever the connection is back (on load, on the
 * "online" event, every 20 s) and an entry leaves it only when the server has stored it, so a
 * visit reaches the server exactly once (the server keeps one visit per id). Every text from
 * data goes in with textContent. */
(function () {
  "use strict";
  var opts = JSON.parse(document.getElementById("page-options").textContent);
  var CACHE = "hotspot-field-v1";
  var OUTBOX = "hotspot-outbox-" + opts.plan_id;
  var SEEN = "hotspot-visits-" + opts.plan_id;
  var ROUTE = "hotspot-route-" + opts.plan_id;
  var statusEl = document.getElementById("status");
  var state = { plan: null, heritage: null, route: null, sent: {}, sending: false, position: null };

  var el = HotspotPlan.el, hm = HotspotPlan.hm, windows = HotspotPlan.windows,
    finite = HotspotPlan.finite, tip = HotspotPlan.tip;
  function load(key, fallback) {
    try { var v = JSON.parse(localStorage.getItem(key)); return v === null ? fallback : v; }
    catch (e) { return fallback; }
  }
  function save(key, value) { localStorage.setItem(key, JSON.stringify(value)); }
  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "v" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 12);
  }

  /* -- offline ---------------------------------------------------------------------------- */
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register(opts.worker, { scope: "/field/" }).catch(function () {});
  }
  function keepOffline() {
    if (!("caches" in window)) return Promise.resolve();
    return caches.open(CACHE).then(function (cache) {
      return cache.addAll([location.pathname].concat(opts.assets)).then(function () {
        return fetch(opts.data).then(function (r) { if (r.ok) return cache.put(opts.data, r); });
      }).then(function () {
        // static files of an earlier version of the service (another ?v=) are not needed now
        return cache.keys().then(function (requests) {
          return Promise.all(requests.filter(function (req) {
            var u = new URL(req.url);
            return u.pathname.indexOf("/static/") === 0 && opts.assets.indexOf(u.pathname + u.search) < 0;
          }).map(function (req) { return cache.delete(req); }));
        });
      });
    }).catch(function () {});
  }
  function getJSON(url) {
    return fetch(url, { headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.json();
    }).catch(function (err) {
      if (!("caches" in window)) throw err;
      return caches.match(url).then(function (hit) { if (!hit) throw err; return hit.json(); });
    });
  }

  /* -- status ----------------------------------------------------------------------------- */
  function showStatus() {
    var waiting = load(OUTBOX, []).length;
    var text = navigator.onLine ? "Online" : "Offline";
    if (waiting) text += " \u00b7 " + waiting + (waiting === 1 ? " visit" : " visits") + " waiting to send";
    else if (Object.keys(state.sent).length) text += " \u00b7 all visits sent";
    statusEl.textContent = text;
    statusEl.className = !navigator.onLine ? "offline" : (waiting ? "waiting" : "");
    if (state.signIn && waiting) {
      statusEl.textContent = text + " \u00b7 ";
      var link = el("a", null, "sign in again to send them");
      link.href = "/login?next=" + encodeURIComponent(location.pathname);
      link.style.color = "#fff";
      statusEl.appendChild(link);
    }
  }

  /* -- visits ----------------------------------------------------------------------------- */
  function doneStops() {
    var done = {};
    Object.keys(state.sent).forEach(function (id) { done[state.sent[id]] = true; });
    load(OUTBOX, []).forEach(function (v) { done[v.stop_id] = true; });
    return done;
  }
  function markVisited(stop, note) {
    var outbox = load(OUTBOX, []);
    outbox.push({ visit_id: newId(), stop_id: stop.stop_id, visited_at: new Date().toISOString(),
                  note: note || "" });
    save(OUTBOX, outbox);
    render();
    flush();
  }
  function csrfToken() {
    // the session's CSRF token, set at sign-in in a cookie this page can read (api/csrf.py);
    // read at each send, so visits queued before signing in again go with the new session's
    var found = document.cookie.split("; ").filter(function (c) {
      return c.indexOf("hotspot_csrf=") === 0;
    })[0];
    return found ? decodeURIComponent(found.slice("hotspot_csrf=".length)) : "";
  }
  function flush() {
    if (state.sending) return;
    var outbox = load(OUTBOX, []);
    if (!outbox.length) { showStatus(); return; }
    state.sending = true;
    var item = outbox[0];
    fetch(opts.visits, { method: "POST", credentials: "same-origin",
                         headers: { "Content-Type": "application/json",
                                    "X-CSRF-Token": csrfToken() },
                         body: JSON.stringify(item) })
      .then(function (r) {
        if (r.status === 401 || r.status === 403) {
          // the session ended (or its CSRF token is gone): the visits wait until the officer
          // signs in again
          state.sending = false;
          state.signIn = true;
          showStatus();
          return;
        }
        state.signIn = false;
        if (r.status === 200 || r.status === 201 || r.status === 409 || r.status === 422) {
          // stored (or refused for good): it leaves the outbox; anything else is retried
          var rest = load(OUTBOX, []).filter(function (v) { return v.visit_id !== item.visit_id; });
          save(OUTBOX, rest);
          if (r.status < 300) { state.sent[item.visit_id] = item.stop_id; save(SEEN, state.sent); }
          state.sending = false;
          render();
          flush();
        } else {
          throw new Error("HTTP " + r.status);
        }
      })
      .catch(function () { state.sending = false; showStatus(); });
  }
  function refreshVisits() {
    return getJSON(opts.visits).then(function (v) {
      v.visits.forEach(function (x) { state.sent[x.visit_id] = x.stop_id; });
      save(SEEN, state.sent);
      render();
    }).catch(function () {});
  }

  /* -- the map ---------------------------------------------------------------------------- */
  var map = L.map("map", { zoomControl: true, tap: true });
  if (opts.tiles) {
    L.tileLayer(opts.tiles, { attribution: opts.attribution, maxZoom: 19 }).addTo(map);
  }
  var routeLayer = L.layerGroup().addTo(map);
  var heritageLayer = L.layerGroup().addTo(map);
  var otherLayer = L.layerGroup().addTo(map);
  var me = null;
  var Locate = L.Control.extend({
    options: { position: "topright" },
    onAdd: function () {
      var box = L.DomUtil.create("div", "leaflet-control locate");
      var b = el("button", null, "\u25CE");
      b.type = "button";
      b.title = "Show my position";
      b.setAttribute("aria-label", "Show my position");
      L.DomEvent.disableClickPropagation(box);
      b.addEventListener("click", function () {
        map.locate({ watch: true, enableHighAccuracy: true, setView: false, maximumAge: 15000 });
        if (state.position) map.setView(state.position, Math.max(map.getZoom(), 14));
      });
      box.appendChild(b);
      return box;
    },
  });
  new Locate().addTo(map);
  if (window.ResizeObserver) {  // the panels around the map grow and shrink with the stop's text
    new ResizeObserver(function () { map.invalidateSize(false); }).observe(document.getElementById("map"));
  }
  var centred = false;
  map.on("locationfound", function (e) {
    state.position = e.latlng;
    if (!me) {
      me = L.layerGroup([L.circle(e.latlng, { radius: e.accuracy, weight: 1, color: "#0b3d91", fillOpacity: 0.1 }),
                         L.circleMarker(e.latlng, { radius: 9, color: "#fff", weight: 3, fillColor: "#0b3d91", fillOpacity: 1 })]);
      me.addTo(map);
    } else {
      me.getLayers()[0].setLatLng(e.latlng).setRadius(e.accuracy);
      me.getLayers()[1].setLatLng(e.latlng);
    }
    if (!centred) { map.setView(e.latlng, Math.max(map.getZoom(), 13)); centred = true; }
  });
  map.on("locationerror", function (e) {
    statusEl.textContent = "Position unavailable: " + e.message;
  });

  /* -- drawing ---------------------------------------------------------------------------- */
  var dialog = document.getElementById("visit-dialog");
  var pending = null;
  function askVisit(stop) {
    pending = stop;
    document.getElementById("visit-title").textContent = "Mark visited: " + stop.seq + ". " + stop.name;
    document.getElementById("visit-note").value = "";
    if (dialog.showModal) dialog.showModal(); else markVisited(stop, "");
  }
  document.getElementById("visit-form").addEventListener("submit", function (e) {
    e.preventDefault();
    if (pending) markVisited(pending, document.getElementById("visit-note").value);
    pending = null;
    dialog.close();
  });
  document.getElementById("visit-cancel").addEventListener("click", function () {
    pending = null;
    dialog.close();
  });

  function routeStops() {
    return state.route ? state.route.stops.filter(function (s) { return s.kind === "hotspot"; }) : [];
  }

  function renderNext(done) {
    var box = document.getElementById("next");
    box.textContent = "";
    var next = routeStops().filter(function (s) { return !done[s.stop_id]; })[0];
    if (!state.route) { box.appendChild(el("h2", null, "No route in this plan")); return null; }
    if (!next) {
      box.appendChild(el("h2", null, "All stops visited"));
      box.appendChild(el("div", "times", "Back to " + state.route.base.name + " by " + hm(state.route.totals.end)));
      return null;
    }
    box.appendChild(el("h2", null, "Next: " + next.seq + ". " + next.name));
    box.appendChild(el("div", "times", "Arrive " + hm(next.arrival) + " \u00b7 patrol " + hm(next.start) +
      "\u2013" + hm(next.departure) + " \u00b7 window " + windows(next)));
    var ul = el("ul");
    (next.look_for || []).forEach(function (item) { ul.appendChild(el("li", null, item.label + ": " + item.advice)); });
    box.appendChild(ul);
    var actions = el("div", "actions");
    var mark = el("button", "mark-next", "Mark visited");
    mark.type = "button";
    mark.addEventListener("click", function () { askVisit(next); });
    var show = el("button", "secondary", "Show on map");
    show.type = "button";
    show.addEventListener("click", function () { map.setView([next.lat, next.lon], 15); });
    actions.appendChild(mark);
    actions.appendChild(show);
    box.appendChild(actions);
    return next;
  }

  function render() {
    showStatus();
    if (!state.plan) return;
    var done = doneStops();
    var next = renderNext(done);
    routeLayer.clearLayers();
    var list = document.getElementById("stop-list");
    list.textContent = "";
    if (!state.route) return;
    var colour = opts.colours[Math.max(0, state.plan.routes.indexOf(state.route)) % opts.colours.length];
    state.route.legs.forEach(function (leg) {
      L.polyline(leg.map(function (p) { return [p[1], p[0]]; }), { color: colour, weight: 7, opacity: 0.9 }).addTo(routeLayer);
    });
    state.route.stops.forEach(function (s) {
      if (!finite(s.lat) || !finite(s.lon)) return;
      if (s.kind === "base") {
        L.marker([s.lat, s.lon], { icon: L.divIcon({ className: "", html: el("div", "base-icon"), iconSize: [28, 28] }) })
          .bindTooltip(tip(s.name)).addTo(routeLayer);
        return;
      }
      var cls = done[s.stop_id] ? "visited" : (next && next.stop_id === s.stop_id ? "next" : "");
      var icon = el("div", "stop-icon " + cls, s.seq);
      L.marker([s.lat, s.lon], { icon: L.divIcon({ className: "", html: icon, iconSize: [40, 40] }) })
        .bindTooltip(tip(s.seq + ". " + s.name)).addTo(routeLayer);
      var li = el("li", cls);
      li.appendChild(el("span", "num", s.seq));
      var what = el("span", "what", s.name);
      what.appendChild(el("small", null, hm(s.start) + "\u2013" + hm(s.departure) + " \u00b7 window " + windows(s) +
        (done[s.stop_id] ? " \u00b7 visited" : "")));
      li.appendChild(what);
      var b = el("button", done[s.stop_id] ? "secondary" : "", done[s.stop_id] ? "Again" : "Mark visited");
      b.type = "button";
      b.setAttribute("aria-label", "Mark stop " + s.seq + " visited");
      b.addEventListener("click", function () { askVisit(s); });
      li.appendChild(b);
      list.appendChild(li);
    });
  }

  function drawOthers() {
    // the plan's other hotspots (other routes, left out): small grey marks, for what is nearby
    otherLayer.clearLayers();
    var mine = {};
    routeStops().forEach(function (s) { mine[s.hotspot_id] = true; });
    state.plan.hotspots.forEach(function (h) {
      if (mine[h.hotspot_id] || !finite(h.lat) || !finite(h.lon)) return;
      L.circleMarker([h.lat, h.lon], { radius: 6, color: "#444", weight: 1, fillColor: "#bbb", fillOpacity: 0.9 })
        .bindTooltip(tip(h.label + (h.why ? ": " + h.why : ""))).addTo(otherLayer);
    });
  }

  function drawHeritage() {
    heritageLayer.clearLayers();
    if (!state.heritage) return;
    L.geoJSON(state.heritage, {
      style: { color: "#6b21a8", weight: 2, fillOpacity: 0.15 },
      pointToLayer: function (f, latlng) {
        return L.circleMarker(latlng, { radius: 7, color: "#6b21a8", weight: 2, fillColor: "#e9d5ff", fillOpacity: 0.9 });
      },
      onEachFeature: function (f, layer) {
        var p = f.properties || {};
        layer.bindTooltip(tip(String(p.name || "Heritage site") + (p.designation ? " (" + p.designation + ")" : "")));
      },
    }).addTo(heritageLayer);
  }

  function chooseRoute(label) {
    var routes = state.plan.routes;
    state.route = routes.filter(function (r) { return r.label === label; })[0] ||
      routes.filter(function (r) { return r.unit === "rural_crime_team"; })[0] || routes[0] || null;
    if (state.route) save(ROUTE, state.route.label);
    drawOthers();
    var routeButton = document.getElementById("route-button");
    routeButton.textContent = state.route ? state.route.label : "Route";
    routeButton.title = routeButton.textContent;  // the whole label when it is cut short
    render();
    var b = L.latLngBounds([]);
    if (state.route) {
      state.route.legs.forEach(function (leg) { leg.forEach(function (p) { b.extend([p[1], p[0]]); }); });
      state.route.stops.forEach(function (s) { if (finite(s.lat)) b.extend([s.lat, s.lon]); });
    }
    map.invalidateSize(false);  // the next-stop panel above may have changed the map's height
    if (b.isValid()) map.fitBounds(b.pad(0.08)); else map.setView([54, -1.5], 9);
  }
  document.getElementById("route-button").addEventListener("click", function () {
    if (!state.plan) return;
    var box = document.getElementById("route-choices");
    box.textContent = "";
    state.plan.routes.forEach(function (r) {
      var b = el("button", r === state.route ? "" : "secondary", r.label + " (" + r.totals.stops + " stops)");
      b.type = "button";
      b.addEventListener("click", function () { document.getElementById("route-dialog").close(); chooseRoute(r.label); });
      box.appendChild(b);
    });
    document.getElementById("route-dialog").showModal();
  });

  /* -- start ------------------------------------------------------------------------------ */
  state.sent = load(SEEN, {});
  window.addEventListener("online", function () { showStatus(); flush(); refreshVisits(); });
  window.addEventListener("offline", showStatus);
  setInterval(flush, 20000);
  getJSON(opts.data).then(function (data) {
    state.plan = data.plan;
    state.heritage = data.heritage_sites;
    document.getElementById("attribution").textContent = data.plan.attribution || "";
    drawHeritage();
    chooseRoute(load(ROUTE, null));
    document.body.setAttribute("data-ready", "1");
    return keepOffline();
  }).then(function () {
    document.body.setAttribute("data-offline-ready", "1");
    flush();
    refreshVisits();
  }).catch(function () {
    statusEl.textContent = "The plan could not be loaded (no signal, and not kept on this device yet)";
  });
})();
