/* The Rural Crime Team's field view: one crew's shift on a tablet, in a vehicle, often with no
 * signal.
 *
 * Works with no signal once opened: a service worker (/field/sw.js) keeps the page, Leaflet,
 * this script and the plan; the page also puts them in the cache itself on its first load
 * (before the worker controls it). A stop marked visited goes into an outbox in localStorage
 * with an id made here; the outbox is sent in order whenever the connection is back (on load,
 * on the "online" event, every 20 s) and an entry leaves it only when the server has stored it,
 * so a visit reaches the server exactly once (the server keeps one visit per id).
 *
 * Undo (within a minute of marking): a visit never tried is taken out of the outbox and nothing
 * is sent; a visit already sent, or whose send may have reached the server (a request that
 * failed half-way), is cancelled by a second outbox entry that DELETEs it after it is stored
 * (the server removes it and keeps what was cancelled, by whom, in its audit log).
 *
 * The header shows the plan, its date and crew (``?crew=<route label>``; without it, a crew
 * picker), a clock, the next stop's window with late/early against it, distance and bearing
 * from the officer's position, a hand-off to the tablet's navigation app (a geo: link) and a
 * dwell timer started on arrival. The officer's position is drawn above the stop icons (its own
 * pane) and kept on the device, as is the officer's name (sent with each visit). Every text
 * from data goes in with textContent. */
(function () {
  "use strict";
  var opts = JSON.parse(document.getElementById("page-options").textContent);
  var CACHE = "hotspot-field-v1";
  var OUTBOX = "hotspot-outbox-" + opts.plan_id;
  var SEEN = "hotspot-visits-" + opts.plan_id;
  var ROUTE = "hotspot-route-" + opts.plan_id;
  var RECENT = "hotspot-recent-" + opts.plan_id;     // visits marked here: id -> {stop_id, at}
  var ARRIVED = "hotspot-arrived-" + opts.plan_id;   // the running dwell timer: {stop_id, at}
  var POSITION = "hotspot-position";                 // the last fix: {lat, lon, accuracy, at}
  var OFFICER = "hotspot-officer";                   // the officer's name
  var GONE = "hotspot-undone-" + opts.plan_id;      // visits undone here: id -> when (ms)
  var UNDO_MS = 60000;        // a visit can be undone for a minute after it is marked
  var ON_TIME_MIN = 5;        // within this many minutes of the plan is "on time"
  var STALE_MS = 120000;      // a position older than this is "last known"
  var AT_STOP_M = 30;         // nearer than this, no distance and bearing: "At the stop"
  var FAR_M = 2000;           // "Arrived" this far from the stop (beyond the fix's accuracy) asks first
  var statusEl = document.getElementById("status");
  var state = { plan: null, heritage: null, route: null, sent: {}, sending: false, position: null,
                next: null, signIn: false };

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
  function button(text, cls) {
    var b = el("button", cls || null, text);
    b.type = "button";
    return b;
  }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function clock(d) { return pad(d.getHours()) + ":" + pad(d.getMinutes()); }
  function mmss(ms) {
    var s = Math.max(0, Math.ceil(ms / 1000 - 0.001));  // a countdown: 0:00 only when done
    return Math.floor(s / 60) + ":" + pad(s % 60);
  }
  function minutes(n) { return n + (n === 1 ? " minute" : " minutes"); }
  function duration(min) {
    min = Math.round(Math.abs(min));
    if (min < 90) return minutes(min);
    var h = Math.floor(min / 60), m = min % 60;
    return h + " h" + (m ? " " + m + " min" : "");
  }
  function crewFromURL() {
    try { return new URLSearchParams(location.search).get("crew"); } catch (e) { return null; }
  }

  /* -- offline ---------------------------------------------------------------------------- */
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register(opts.worker, { scope: "/field/" }).catch(function () {});
    // the crews' short links (the briefing's QR codes) too: with no signal they lead on to the
    // field view kept on this device (keepShortLinks)
    navigator.serviceWorker.register(opts.worker, { scope: "/f/" }).catch(function () {});
  }
  function keepShortLinks(cache) {
    // where each crew's short link leads, as the service would answer it (a 303), so the
    // worker can answer it with no signal; every crew of the plan, as a tablet may change hands
    var crews = (state.plan && state.plan.links && state.plan.links.crews) || {};
    return Promise.all(Object.keys(crews).map(function (label) {
      var link = crews[label];
      if (!link || typeof link.short !== "string" || typeof link.field !== "string" ||
          link.short.indexOf("/f/") !== 0 || link.field.indexOf("/field/") !== 0) return null;
      return cache.put(link.short, new Response(null, { status: 303, headers: { Location: link.field } }));
    }));
  }
  function keepOffline() {
    if (!("caches" in window)) return Promise.resolve();
    return caches.open(CACHE).then(function (cache) {
      // the plan itself was kept as it came (getJSON): it is not fetched a second time
      return cache.addAll([location.pathname].concat(opts.assets)).then(function () {
        return keepShortLinks(cache);
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
  function getJSON(url, keep) {
    // ``keep``: put the answer in the cache as it comes, for the next open with no signal
    return fetch(url, { headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      if (!keep || !("caches" in window)) return r.json();
      var copy = r.clone();
      return caches.open(CACHE).then(function (cache) { return cache.put(url, copy); })
        .catch(function () {}).then(function () { return r.json(); });
    }).catch(function (err) {
      if (!("caches" in window)) throw err;
      return caches.match(url).then(function (hit) { if (!hit) throw err; return hit.json(); });
    });
  }

  /* -- status ----------------------------------------------------------------------------- */
  function showStatus() {
    var waiting = load(OUTBOX, []).filter(function (v) { return !v.cancel; }).length;
    var text = navigator.onLine ? "Online" : "Offline";
    if (waiting) text += " \u00b7 " + waiting + (waiting === 1 ? " visit" : " visits") + " waiting to send";
    else if (Object.keys(state.sent).length) text += " \u00b7 all visits sent";
    statusEl.textContent = text;
    statusEl.className = !navigator.onLine ? "offline" : (waiting ? "waiting" : "");
    if (state.signIn && load(OUTBOX, []).length) {
      statusEl.textContent = text + " \u00b7 ";
      var link = el("a", null, "sign in again to send them");
      link.href = "/login?next=" + encodeURIComponent(location.pathname + location.search);
      statusEl.appendChild(link);
    }
  }

  /* -- the officer ------------------------------------------------------------------------ */
  var officerButton = document.getElementById("officer-button");
  function officer() { return String(load(OFFICER, "") || ""); }
  function showOfficer() {
    var name = officer();
    officerButton.textContent = name ? name : "Your name";
    officerButton.setAttribute("aria-label", name ? "Officer: " + name + " (change)" : "Give your name");
  }
  var officerDialog = document.getElementById("officer-dialog");
  officerButton.addEventListener("click", function () {
    document.getElementById("officer-name").value = officer();
    officerDialog.showModal();
  });
  document.getElementById("officer-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var name = document.getElementById("officer-name").value.trim();
    if (name) save(OFFICER, name.slice(0, 100));
    showOfficer();
    officerDialog.close();
  });
  document.getElementById("officer-cancel").addEventListener("click", function () { officerDialog.close(); });

  /* -- visits ----------------------------------------------------------------------------- */
  function doneStops() {
    var done = {};
    Object.keys(state.sent).forEach(function (id) { done[state.sent[id]] = id; });
    load(OUTBOX, []).forEach(function (v) { if (!v.cancel) done[v.stop_id] = v.visit_id; });
    return done;
  }
  function recent() {
    // visits marked on this device within the last minute, which can still be undone
    var now = Date.now(), kept = {}, all = load(RECENT, {});
    Object.keys(all).forEach(function (id) { if (now - all[id].at < UNDO_MS) kept[id] = all[id]; });
    return kept;
  }
  function markVisited(stop, note) {
    var arrived = load(ARRIVED, null);
    var now = new Date();
    var visit = { visit_id: newId(), stop_id: stop.stop_id, visited_at: now.toISOString(),
                  note: note || "", officer: officer() };
    if (arrived && arrived.stop_id === stop.stop_id) {
      // the dwell timer ran: the visit began on arrival and ended now
      visit.visited_at = new Date(arrived.at).toISOString();
      visit.ended_at = now.toISOString();
      localStorage.removeItem(ARRIVED);
    }
    var outbox = load(OUTBOX, []);
    outbox.push(visit);
    save(OUTBOX, outbox);
    var r = load(RECENT, {});
    r[visit.visit_id] = { stop_id: stop.stop_id, at: Date.now(), label: stop.seq + ". " + stop.name };
    save(RECENT, r);
    render();
    flush();
  }
  function undo(visitId) {
    var r = load(RECENT, {});
    if (!r[visitId]) return;
    delete r[visitId];
    save(RECENT, r);
    var outbox = load(OUTBOX, []);
    var queued = outbox.filter(function (v) { return v.visit_id === visitId && !v.cancel; })[0];
    outbox = outbox.filter(function (v) { return v.visit_id !== visitId; });
    var sent = state.sent[visitId];
    if (sent || (queued && queued.tried) || (state.sending === visitId)) {
      // it reached the server, or may have: cancel it there, after it is stored
      outbox.push({ cancel: true, visit_id: visitId, stop_id: queued ? queued.stop_id : sent });
    }
    delete state.sent[visitId];
    var gone = load(GONE, {});
    gone[visitId] = Date.now();
    save(GONE, gone);
    save(SEEN, state.sent);
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
    var item = outbox[0];
    state.sending = item.visit_id;
    var request;
    if (item.cancel) {
      request = fetch(opts.visits + "/" + encodeURIComponent(item.visit_id), {
        method: "DELETE", credentials: "same-origin", headers: { "X-CSRF-Token": csrfToken() } });
    } else {
      if (!item.tried && navigator.onLine) { item.tried = true; save(OUTBOX, outbox); }
      var body = {};
      Object.keys(item).forEach(function (k) { if (k !== "tried") body[k] = item[k]; });
      request = fetch(opts.visits, { method: "POST", credentials: "same-origin",
                                     headers: { "Content-Type": "application/json",
                                                "X-CSRF-Token": csrfToken() },
                                     body: JSON.stringify(body) });
    }
    request.then(function (r) {
      if (r.status === 401 || r.status === 403) {
        // the session ended (or its CSRF token is gone): the visits wait until the officer
        // signs in again
        state.sending = false;
        state.signIn = true;
        showStatus();
        return;
      }
      state.signIn = false;
      var done = item.cancel ? (r.status < 300 || r.status === 404)
        : (r.status === 200 || r.status === 201 || r.status === 409 || r.status === 422);
      if (!done) throw new Error("HTTP " + r.status);
      // stored, cancelled (or refused for good): it leaves the outbox; anything else is retried
      var rest = load(OUTBOX, []).filter(function (v) {
        return !(v.visit_id === item.visit_id && !!v.cancel === !!item.cancel);
      });
      save(OUTBOX, rest);
      var undone = rest.some(function (v) { return v.cancel && v.visit_id === item.visit_id; });
      if (!item.cancel && r.status < 300 && !undone) {
        state.sent[item.visit_id] = item.stop_id;
        save(SEEN, state.sent);
      }
      state.sending = false;
      render();
      flush();
    }).catch(function () { state.sending = false; showStatus(); });
  }
  function refreshVisits() {
    return getJSON(opts.visits).then(function (v) {
      // what the server holds (every crew's visits), less what was undone here: an answer
      // that left before a cancellation arrived must not bring the visit back
      var gone = load(GONE, {}), now = Date.now(), keep = {};
      Object.keys(gone).forEach(function (id) { if (now - gone[id] < 2 * 86400000) keep[id] = gone[id]; });
      save(GONE, keep);
      v.visits.forEach(function (x) { if (!keep[x.visit_id]) state.sent[x.visit_id] = x.stop_id; });
      save(SEEN, state.sent);
      render();
    }).catch(function () {});
  }

  /* -- the map ---------------------------------------------------------------------------- */
  var map = L.map("map", { zoomControl: true, tap: true, attributionControl: false });
  // no attribution control: its 12 px links are no touch targets; the credits are text below
  map.setView([54, -1.5], 9);  // until the route is known: layers need a view to be drawn
  if (opts.tiles) {
    L.tileLayer(opts.tiles, { attribution: opts.attribution, maxZoom: 19 }).addTo(map);
  }
  // roads and names with no tiles; the route's area kept for use with no signal (basemap.js)
  if (window.HotspotBasemap) HotspotBasemap.add(map, { keepOffline: true });
  // the officer's position above the stop icons (marker pane: 600, tooltips: 650)
  map.createPane("position").style.zIndex = 640;
  map.getPane("position").style.pointerEvents = "none";
  var routeLayer = L.layerGroup().addTo(map);
  var heritageLayer = L.layerGroup().addTo(map);
  var otherLayer = L.layerGroup().addTo(map);
  var me = null, meDot = null;
  var watching = false;
  function watch() {
    if (watching) return;
    watching = true;
    map.locate({ watch: true, enableHighAccuracy: true, setView: false, maximumAge: 15000 });
  }
  var Locate = L.Control.extend({
    options: { position: "topright" },
    onAdd: function () {
      var box = L.DomUtil.create("div", "leaflet-control locate");
      var b = button("\u25CE");
      b.title = "Show my position";
      b.setAttribute("aria-label", "Show my position");
      L.DomEvent.disableClickPropagation(box);
      b.addEventListener("click", function () {
        watch();
        if (state.position) map.setView(state.position, Math.max(map.getZoom() || 0, 14));
        else centre = true;
      });
      box.appendChild(b);
      return box;
    },
  });
  new Locate().addTo(map);
  if (window.ResizeObserver) {  // the panels around the map grow and shrink with the stop's text
    new ResizeObserver(function () { map.invalidateSize(false); }).observe(document.getElementById("map"));
  }
  function drawPosition(p, fresh) {
    var latlng = L.latLng(p.lat, p.lon);
    state.position = latlng;
    state.positionAt = p.at;
    state.positionAccuracy = p.accuracy || 0;
    if (!me) {
      me = L.circle(latlng, { radius: p.accuracy || 0, weight: 1, color: "#1d4ed8", fillOpacity: 0.08,
                              interactive: false }).addTo(map);
      meDot = L.marker(latlng, { pane: "position", interactive: false, keyboard: false,
                                 icon: L.divIcon({ className: "", iconSize: [28, 28],
                                                   html: el("div", "me-icon") }) }).addTo(map);
    } else {
      me.setLatLng(latlng).setRadius(p.accuracy || 0);
      meDot.setLatLng(latlng);
    }
    var icon = meDot.getElement() && meDot.getElement().firstChild;
    if (icon) icon.className = "me-icon" + (fresh ? "" : " stale");
  }
  var centre = false;  // on the next fix (after a tap on the position button)
  map.on("locationfound", function (e) {
    var p = { lat: e.latlng.lat, lon: e.latlng.lng, accuracy: e.accuracy, at: Date.now() };
    save(POSITION, p);
    drawPosition(p, true);
    if (centre) { map.setView(e.latlng, Math.max(map.getZoom() || 0, 14)); centre = false; }
    if (state.askArrive) render();  // "Start anyway?" asked far away: maybe near by now
    tick();
  });
  map.on("locationerror", function (e) {
    watching = false;
    statusEl.textContent = "Position unavailable: " + e.message;
  });

  /* -- the visit dialog ------------------------------------------------------------------- */
  var dialog = document.getElementById("visit-dialog");
  var pending = null;
  function askVisit(stop) {
    pending = stop;
    document.getElementById("visit-title").textContent = "Mark visited: " + stop.seq + ". " + stop.name;
    var far = farFrom(stop), warn = document.getElementById("visit-far");
    warn.hidden = !far;
    warn.textContent = far ? "Your position is " + far + " from this stop: is it the right one?" : "";
    document.getElementById("visit-note").value = "";
    var name = officer();
    var ask = document.getElementById("visit-officer-row");
    ask.hidden = !!name;   // asked once, then kept on the device (changed from the header)
    document.getElementById("visit-officer").required = !name;
    document.getElementById("visit-officer").value = name;
    if (dialog.showModal) dialog.showModal(); else markVisited(stop, "");
  }
  document.getElementById("visit-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var name = document.getElementById("visit-officer").value.trim();
    if (name && !officer()) { save(OFFICER, name.slice(0, 100)); showOfficer(); }
    if (pending) markVisited(pending, document.getElementById("visit-note").value);
    pending = null;
    dialog.close();
  });
  document.getElementById("visit-cancel").addEventListener("click", function () {
    pending = null;
    dialog.close();
  });

  /* -- the next stop: window, late/early, distance, dwell timer ---------------------------- */
  function routeStops() {
    return state.route ? state.route.stops.filter(function (s) { return s.kind === "hotspot"; }) : [];
  }
  function when(iso) { return iso ? new Date(iso).getTime() : NaN; }
  function onPlanDay() {
    // late/early only makes sense during the shift (give or take a few hours)
    var now = Date.now(), shift = state.plan.shift;
    return now > when(shift.start) - 6 * 3600000 && now < when(shift.end) + 6 * 3600000;
  }
  function lateness(stop, at) {
    // minutes after the planned start (negative: early), and whether ``at`` is in a window
    var late = (at - when(stop.start)) / 60000;
    var inWindow = !(stop.windows || []).length || stop.windows.some(function (w) {
      return at >= when(w[0]) && at <= when(w[1]);
    });
    return { late: late, inWindow: inWindow };
  }
  function timingText(stop, at, arrived) {
    var l = lateness(stop, at);
    var words, cls;
    if (Math.abs(l.late) <= ON_TIME_MIN) { words = "on time"; cls = "on-time"; }
    else if (l.late > 0) { words = duration(l.late) + " late"; cls = "late"; }
    else { words = duration(l.late) + " early"; cls = "early"; }
    if (!l.inWindow) { words += ", outside the window"; cls = "late"; }
    return { text: (arrived ? "Arrived " + clock(new Date(at)) + ": " : "Now ") + words, cls: cls };
  }
  var COMPASS = ["north", "north-east", "east", "south-east", "south", "south-west", "west", "north-west"];
  function distanceBearing(from, lat, lon) {
    var R = 6371008.8, rad = Math.PI / 180;
    var f1 = from.lat * rad, f2 = lat * rad, dl = (lon - from.lng) * rad;
    var a = Math.sin((f2 - f1) / 2) * Math.sin((f2 - f1) / 2) +
      Math.cos(f1) * Math.cos(f2) * Math.sin(dl / 2) * Math.sin(dl / 2);
    var d = 2 * R * Math.atan2(Math.sqrt(a), Math.sqrt(1 - a));
    var y = Math.sin(dl) * Math.cos(f2);
    var x = Math.cos(f1) * Math.sin(f2) - Math.sin(f1) * Math.cos(f2) * Math.cos(dl);
    var b = (Math.atan2(y, x) / rad + 360) % 360;
    return { m: d, deg: b, word: COMPASS[Math.round(b / 45) % 8] };
  }
  function farFrom(stop) {
    // how far a fresh fix puts the officer from ``stop`` when that is surely beyond FAR_M (the
    // fix's accuracy taken off), in words; null when near, or when the fix is old or missing
    if (!state.position || Date.now() - (state.positionAt || 0) > STALE_MS) return null;
    var m = distanceBearing(state.position, stop.lat, stop.lon).m;
    if (m - (state.positionAccuracy || 0) <= FAR_M) return null;
    return m >= 10000 ? Math.round(m / 1000) + " km" : (m / 1000).toFixed(1) + " km";
  }
  function distanceText(stop) {
    if (!state.position) return "Distance: waiting for your position (tap \u25CE on the map)";
    var d = distanceBearing(state.position, stop.lat, stop.lon);
    if (d.m < AT_STOP_M) {
      return "At the stop" + (Date.now() - (state.positionAt || 0) > STALE_MS ?
        " when you were last seen, at " + clock(new Date(state.positionAt)) : "");
    }
    var far = d.m >= 1000 ? (d.m / 1000).toFixed(d.m >= 10000 ? 0 : 1) + " km" : (Math.round(d.m / 10) * 10) + " m";
    var text = far + " " + d.word + " (bearing " + Math.round(d.deg) + "\u00b0)";
    if (Date.now() - (state.positionAt || 0) > STALE_MS) {
      text += " from where you were at " + clock(new Date(state.positionAt));
    }
    return text;
  }
  function navLinks(stop) {
    var box = el("div", "nav-links");
    var geo = el("a", "button", "Navigate");
    var q = stop.lat.toFixed(6) + "," + stop.lon.toFixed(6);
    geo.href = "geo:" + q + "?q=" + q + "(" + encodeURIComponent(stop.name) + ")";
    geo.setAttribute("aria-label", "Navigate to " + stop.name + " in the tablet's map app");
    var web = el("a", "button secondary", "Directions on the web");
    web.href = "https://www.openstreetmap.org/directions?to=" + encodeURIComponent(q) +
      "#map=15/" + stop.lat.toFixed(5) + "/" + stop.lon.toFixed(5);
    web.target = "_blank";
    web.rel = "noopener";
    box.appendChild(geo);
    box.appendChild(web);
    return box;
  }

  function renderNext(done) {
    var box = document.getElementById("next");
    box.textContent = "";
    box.className = "";
    state.next = null;
    if (!state.route) {
      // no crew in the address (nor chosen on this tablet before): which crew is this?
      box.appendChild(el("h2", null, "Which crew are you?"));
      if (state.crewNote) box.appendChild(el("p", "crew-note", state.crewNote));
      var choices = el("div", "crew-choices");
      state.plan.routes.forEach(function (r) {
        var b = button(r.label + " (" + r.totals.stops + (r.totals.stops === 1 ? " stop)" : " stops)"), "secondary");
        b.addEventListener("click", function () { state.crewNote = ""; chooseRoute(r.label, true); });
        choices.appendChild(b);
      });
      box.appendChild(choices);
      return null;
    }
    var next = routeStops().filter(function (s) { return !done[s.stop_id]; })[0];
    if (!next) {
      box.appendChild(el("h2", null, "All stops visited"));
      box.appendChild(el("div", "times", "Back to " + state.route.base.name + " by " + hm(state.route.totals.end)));
      return null;
    }
    state.next = next;
    box.appendChild(el("h2", null, "Next: " + next.seq + ". " + next.name));
    var times = el("div", "times");
    times.appendChild(el("span", null, "Due " + hm(next.start) + "\u2013" + hm(next.departure) +
      " \u00b7 window " + windows(next) + " "));
    times.appendChild(el("strong", "timing", ""));
    box.appendChild(times);
    var where = el("div", "where");
    where.appendChild(el("span", "distance", ""));
    where.appendChild(navLinks(next));
    box.appendChild(where);

    var arrived = load(ARRIVED, null);
    var running = arrived && arrived.stop_id === next.stop_id;
    if (state.askArrive && !(state.askArrive === next.stop_id && farFrom(next))) {
      state.askArrive = null;  // near now (or another stop next): nothing left to ask
    }
    var dwell = el("div", "dwell");
    var actions = el("div", "actions");
    if (running) {
      box.className = "arrived";
      dwell.appendChild(el("div", "dwell-time", ""));
      var bar = el("progress", "dwell-bar");
      bar.max = 1;
      dwell.appendChild(bar);
      var mark = button("Mark visited", "mark-next");
      mark.addEventListener("click", function () { askVisit(next); });
      var stop = button("Stop timer", "secondary stop-timer");
      stop.addEventListener("click", function () { localStorage.removeItem(ARRIVED); render(); });
      actions.appendChild(mark);
      actions.appendChild(stop);
    } else if (state.askArrive === next.stop_id) {
      // "Arrived" with a fresh fix far from the stop: a wrong stop or a wrong tap, most often
      box.appendChild(el("p", "far-warning", "Your position is " + farFrom(next) + " from " +
        next.seq + ". " + next.name + ". Start its timer anyway?"));
      var anyway = button("Start timer anyway", "arrive arrive-anyway");
      anyway.addEventListener("click", function () {
        state.askArrive = null;
        save(ARRIVED, { stop_id: next.stop_id, at: Date.now() });
        render();
      });
      var notYet = button("Not yet", "secondary not-yet");
      notYet.addEventListener("click", function () { state.askArrive = null; render(); });
      actions.appendChild(anyway);
      actions.appendChild(notYet);
    } else {
      var arrive = button("Arrived \u2013 start " + Math.round(next.dwell_min || dwellMin()) + " min timer", "arrive");
      arrive.addEventListener("click", function () {
        if (farFrom(next)) { state.askArrive = next.stop_id; render(); return; }
        save(ARRIVED, { stop_id: next.stop_id, at: Date.now() });
        render();
      });
      var markNow = button("Mark visited", "secondary mark-next");
      markNow.addEventListener("click", function () { askVisit(next); });
      actions.appendChild(arrive);
      actions.appendChild(markNow);
    }
    var show = button("Show on map", "secondary");
    show.addEventListener("click", function () { map.setView([next.lat, next.lon], 15); });
    actions.appendChild(show);
    box.appendChild(dwell);
    box.appendChild(actions);
    if ((next.look_for || []).length) {
      var more = el("details", "look-for");
      more.appendChild(el("summary", null, "What to look for (" + next.look_for.length + ")"));
      var ul = el("ul");
      next.look_for.forEach(function (item) { ul.appendChild(el("li", null, item.label + ": " + item.advice)); });
      more.appendChild(ul);
      box.appendChild(more);
    }
    return next;
  }
  function dwellMin() {
    var o = state.plan && state.plan.options;
    return (o && finite(o.dwell_min)) ? o.dwell_min :
      ((state.plan && state.plan.request && state.plan.request.dwell_min) || 15);
  }

  function renderUndo() {
    var box = document.getElementById("undo-bar");
    box.textContent = "";
    var r = recent();
    var ids = Object.keys(r).sort(function (a, b) { return r[b].at - r[a].at; });
    box.hidden = !ids.length;
    if (!ids.length) return;
    var id = ids[0];
    box.appendChild(el("span", null, "Visit saved: " + r[id].label + " "));
    var b = button("Undo", "secondary undo");
    b.setAttribute("data-visit", id);
    b.appendChild(el("span", "undo-left", ""));
    b.addEventListener("click", function () { undo(id); });
    box.appendChild(b);
  }

  /* what changes every second: the clock, the timer, late/early, the distance, undo's minute */
  function tick() {
    var now = new Date();
    document.getElementById("clock").textContent = clock(now);
    var dot = meDot && meDot.getElement() && meDot.getElement().firstChild;
    if (dot) dot.className = "me-icon" + (now.getTime() - (state.positionAt || 0) > STALE_MS ? " stale" : "");
    var r = recent(), shown = document.querySelector("#undo-bar .undo");
    if (shown && !r[shown.getAttribute("data-visit")]) { render(); return; }
    if (!shown && Object.keys(r).length) { render(); return; }
    if (shown) shown.lastChild.textContent = " (" + Math.ceil((UNDO_MS - (Date.now() - r[shown.getAttribute("data-visit")].at)) / 1000) + " s)";
    var next = state.next;
    if (!next) return;
    var box = document.getElementById("next");
    var timing = box.querySelector(".timing");
    var arrived = load(ARRIVED, null);
    var running = arrived && arrived.stop_id === next.stop_id;
    if (timing) {
      if (!onPlanDay()) { timing.textContent = "(this plan is for " + planDate() + ")"; timing.className = "timing"; }
      else {
        var t = timingText(next, running ? arrived.at : now.getTime(), running);
        timing.textContent = t.text;
        timing.className = "timing " + t.cls;
      }
    }
    var dist = box.querySelector(".distance");
    if (dist) dist.textContent = distanceText(next);
    if (running) {
      var total = (next.dwell_min || dwellMin()) * 60000, gone = Date.now() - arrived.at;
      var left = total - gone;
      var label = box.querySelector(".dwell-time");
      label.textContent = left > 0 ? mmss(left) + " left of " + Math.round(total / 60000) + " min"
        : "Dwell done (" + minutes(Math.round(total / 60000)) + ", now " + mmss(gone) + "): mark visited and go on";
      box.querySelector(".dwell-bar").value = Math.min(1, gone / total);
      if (left <= 0 && box.className !== "arrived done") {
        box.className = "arrived done";
        if (navigator.vibrate) navigator.vibrate([300, 150, 300]);
      }
    }
  }

  function render() {
    showStatus();
    renderUndo();
    if (!state.plan) return;
    var done = doneStops();
    var r = recent();
    var next = renderNext(done);
    routeLayer.clearLayers();
    var list = document.getElementById("stop-list");
    list.textContent = "";
    if (!state.route) { tick(); return; }
    var colour = opts.colours[Math.max(0, state.plan.routes.indexOf(state.route)) % opts.colours.length];
    state.route.legs.forEach(function (leg) {
      L.polyline(leg.map(function (p) { return [p[1], p[0]]; }), { color: colour, weight: 7, opacity: 0.9 }).addTo(routeLayer);
    });
    state.route.stops.forEach(function (s) {
      if (!finite(s.lat) || !finite(s.lon)) return;
      if (s.kind === "base") {
        L.marker([s.lat, s.lon], { icon: L.divIcon({ className: "", html: el("div", "base-icon"), iconSize: [44, 44] }) })
          .bindTooltip(tip(s.name)).addTo(routeLayer);
        return;
      }
      var cls = done[s.stop_id] ? "visited" : (next && next.stop_id === s.stop_id ? "next" : "");
      var icon = el("div", "stop-icon " + cls, s.seq);
      // the next stop on top of the others where they crowd, the visited ones beneath
      L.marker([s.lat, s.lon], { icon: L.divIcon({ className: "", html: icon, iconSize: [44, 44] }),
                                 zIndexOffset: cls === "next" ? 1000 : (cls === "visited" ? -1000 : 0) })
        .bindTooltip(tip(s.seq + ". " + s.name)).addTo(routeLayer);
      var li = el("li", cls);
      li.appendChild(el("span", "num", s.seq));
      var what = el("span", "what", s.name);
      what.appendChild(el("small", null, hm(s.start) + "\u2013" + hm(s.departure) + " \u00b7 window " + windows(s) +
        (done[s.stop_id] ? " \u00b7 visited" : "")));
      li.appendChild(what);
      var mine = done[s.stop_id] && r[done[s.stop_id]];
      var b = button(mine ? "Undo" : (done[s.stop_id] ? "Again" : "Mark visited"), done[s.stop_id] ? "secondary" : "");
      b.setAttribute("aria-label", (mine ? "Undo the visit to stop " : "Mark stop ") + s.seq +
        (mine ? "" : " visited"));
      b.addEventListener("click", function () { if (mine) undo(done[s.stop_id]); else askVisit(s); });
      li.appendChild(b);
      list.appendChild(li);
    });
    tick();
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

  /* -- the header: plan, date, crew ------------------------------------------------------- */
  function planDate() {
    var d = String(state.plan.shift.start).slice(0, 10).split("-");
    var date = new Date(+d[0], +d[1] - 1, +d[2]);
    return date.toLocaleDateString("en-GB", { weekday: "short", day: "numeric", month: "short", year: "numeric" });
  }
  function showHeader() {
    var plan = state.plan;
    document.getElementById("plan-name").textContent = plan.name || "Patrol plan";
    document.getElementById("plan-when").textContent = planDate() + ", " + hm(plan.shift.start) + "\u2013" + hm(plan.shift.end);
    document.title = (state.route ? state.route.label + " \u00b7 " : "") + (plan.name || "Patrol plan") + " \u00b7 " + planDate();
  }
  function chooseRoute(label, fromPicker) {
    var routes = state.plan.routes;
    state.route = routes.filter(function (r) { return r.label === label; })[0] || null;
    if (state.route) {
      save(ROUTE, state.route.label);
      if (fromPicker && window.history && history.replaceState) {
        // the address names the crew, so a reload (or a bookmark) opens the same one
        var u = new URL(location.href);
        u.searchParams.set("crew", state.route.label);
        history.replaceState(null, "", u.pathname + u.search);
      }
    }
    drawOthers();
    var routeButton = document.getElementById("route-button");
    routeButton.textContent = state.route ? state.route.label : "Choose crew";
    routeButton.title = routeButton.textContent;  // the whole label when it is cut short
    showHeader();
    render();
    var b = L.latLngBounds([]);
    if (state.route) {
      state.route.legs.forEach(function (leg) { leg.forEach(function (p) { b.extend([p[1], p[0]]); }); });
      state.route.stops.forEach(function (s) { if (finite(s.lat)) b.extend([s.lat, s.lon]); });
    } else {
      routes.forEach(function (r) { r.stops.forEach(function (s) { if (finite(s.lat)) b.extend([s.lat, s.lon]); }); });
    }
    map.invalidateSize(false);  // the next-stop panel above may have changed the map's height
    if (b.isValid()) map.fitBounds(b.pad(0.08)); else map.setView([54, -1.5], 9);
  }
  function pickCrew() {
    var box = document.getElementById("route-choices");
    box.textContent = "";
    state.plan.routes.forEach(function (r) {
      var b = button(r.label + " (" + r.totals.stops + (r.totals.stops === 1 ? " stop)" : " stops)"),
                     r === state.route ? "" : "secondary");
      b.addEventListener("click", function () { document.getElementById("route-dialog").close(); chooseRoute(r.label, true); });
      box.appendChild(b);
    });
    document.getElementById("route-dialog").showModal();
  }
  document.getElementById("route-button").addEventListener("click", function () {
    if (state.plan) pickCrew();
  });

  /* -- start ------------------------------------------------------------------------------ */
  state.sent = load(SEEN, {});
  showOfficer();
  var kept = load(POSITION, null);
  if (kept && finite(kept.lat) && finite(kept.lon)) drawPosition(kept, Date.now() - kept.at < STALE_MS);
  if (navigator.permissions && navigator.permissions.query) {
    // follow the officer's position from the start once the tablet has allowed it
    navigator.permissions.query({ name: "geolocation" }).then(function (p) {
      if (p.state === "granted") watch();
    }).catch(function () {});
  }
  window.addEventListener("online", function () { showStatus(); flush(); refreshVisits(); });
  window.addEventListener("offline", showStatus);
  setInterval(flush, 20000);
  setInterval(tick, 1000);
  tick();
  getJSON(opts.data, true).then(function (data) {
    state.plan = data.plan;
    state.heritage = data.heritage_sites;
    var attribution = [data.plan.attribution || ""];
    if (opts.tiles && opts.attribution_text) attribution.push("Map tiles " + opts.attribution_text);
    document.getElementById("attribution").textContent = attribution.join(" \u00b7 ");
    drawHeritage();
    var wanted = crewFromURL();
    var known = function (label) { return data.plan.routes.some(function (r) { return r.label === label; }); };
    if (wanted && known(wanted)) chooseRoute(wanted, false);
    else if (!wanted && known(load(ROUTE, null))) chooseRoute(load(ROUTE, null), true);
    else {
      state.crewNote = wanted ? "This plan has no crew called \u201c" + wanted + "\u201d." : "";
      chooseRoute(null, false);
    }
    document.body.setAttribute("data-ready", "1");
    return keepOffline();
  }).then(function () {
    document.body.setAttribute("data-offline-ready", "1");
    flush();
    refreshVisits();
  }).catch(function (err) {
    statusEl.textContent = "The plan could not be loaded (no signal, and not kept on this device yet)";
    if (window.console) console.error(err);
  });
})();
