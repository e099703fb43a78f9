/* The planner's view of a patrol plan: routes, numbered stops, time windows, left-out hotspots
 * and the visits logged so far. Every text from data goes in with textContent. */
(function () {
  "use strict";
  var plan = JSON.parse(document.getElementById("plan-data").textContent);
  var opts = JSON.parse(document.getElementById("page-options").textContent);

  var el = HotspotPlan.el, hm = HotspotPlan.hm, windows = HotspotPlan.windows,
    finite = HotspotPlan.finite, tip = HotspotPlan.tip;

  function hotspotPage(id) {
    // the plan's hotspot parameters, as GET /v1/hotspots takes them
    var chosen = (plan.request && plan.request.hotspots) || {};
    var parts = [];
    Object.keys(chosen).forEach(function (k) {
      var v = chosen[k];
      if (v === null || v === undefined || v === false) return;
      (Array.isArray(v) ? v : [v]).forEach(function (x) {
        parts.push(encodeURIComponent(k) + "=" + encodeURIComponent(x === true ? "1" : String(x)));
      });
    });
    return "/hotspots/" + encodeURIComponent(id) + (parts.length ? "?" + parts.join("&") : "");
  }

  var map = L.map("map", { zoomControl: true });
  if (opts.tiles) {
    L.tileLayer(opts.tiles, { attribution: opts.attribution, maxZoom: 19 }).addTo(map);
  }
  if (window.HotspotBasemap) HotspotBasemap.add(map);  // roads and names with no tiles
  var bounds = L.latLngBounds([]);
  var markers = {};
  var items = {};
  var routesBox = document.getElementById("routes");

  plan.routes.forEach(function (r, i) {
    var colour = opts.colours[i % opts.colours.length];
    var lines = r.legs.map(function (leg) { return leg.map(function (p) { return [p[1], p[0]]; }); });
    if (lines.length) {
      var line = L.polyline(lines, { color: colour, weight: 5, opacity: 0.85 }).addTo(map);
      line.bindTooltip(tip(r.label), { sticky: true });
      bounds.extend(line.getBounds());
    }
    var box = el("div", "route");
    var h = el("h3");
    var sw = el("span", "swatch"); sw.style.background = colour;
    h.appendChild(sw);
    h.appendChild(document.createTextNode(r.label + ": " + r.totals.stops + " stops, " +
      (r.totals.distance_m / 1000).toFixed(1) + " km, " + hm(r.totals.start) + "\u2013" + hm(r.totals.end)));
    box.appendChild(h);
    var ol = el("ol");
    r.stops.forEach(function (s) {
      if (!finite(s.lon) || !finite(s.lat)) return;
      if (s.kind === "base") {
        var bm = L.marker([s.lat, s.lon], { icon: L.divIcon({ className: "", html: el("div", "base-mark"), iconSize: [20, 20] }) });
        bm.bindTooltip(tip(s.name)).addTo(map);
        return;
      }
      var num = el("div", "stop-number", s.seq);
      num.style.background = colour;
      var m = L.marker([s.lat, s.lon], { icon: L.divIcon({ className: "", html: num, iconSize: [28, 28] }) }).addTo(map);
      var pop = el("div");
      pop.appendChild(el("b", null, s.seq + ". " + s.name));
      pop.appendChild(el("div", null, "Arrive " + hm(s.arrival) + ", patrol " + hm(s.start) + "\u2013" + hm(s.departure)));
      pop.appendChild(el("div", null, "Window " + windows(s)));
      if (s.visits > 1) pop.appendChild(el("div", null, "Visit " + s.visit + " of " + s.visits));
      (s.look_for || []).forEach(function (item) {
        pop.appendChild(el("div", null, item.label + ": " + item.advice));
      });
      if (s.hotspot_id) {  // the hotspot's own page, from the result the plan was made with
        var page = el("a", "hotspot-page", "This hotspot's page");
        page.href = hotspotPage(s.hotspot_id);
        pop.appendChild(page);
      }
      m.bindPopup(pop);
      m.bindTooltip(tip(s.seq + ". " + s.name + " " + hm(s.start)));
      var li = el("li", null, hm(s.start) + " " + s.name + " (window " + windows(s) + ")");
      ol.appendChild(li);
      markers[s.stop_id] = num;
      items[s.stop_id] = li;
      bounds.extend([s.lat, s.lon]);
    });
    box.appendChild(ol);
    routesBox.appendChild(box);
  });

  var left = document.getElementById("left-out");
  var others = L.latLngBounds([]);
  plan.hotspots.forEach(function (h) {
    if (!h.left_out) return;
    left.appendChild(el("li", null, h.label + ": " + h.why));
    if (finite(h.lon) && finite(h.lat)) {
      L.circleMarker([h.lat, h.lon], { radius: 6, color: "#666", fillColor: "#bbb", fillOpacity: 0.8, weight: 1 })
        .bindTooltip(tip(h.label + ": " + h.why)).addTo(map);
      others.extend([h.lat, h.lon]);
    }
  });
  // the map opens on the routes (a town officers' plan on its streets, not the whole county of
  // hotspots left out); on those left out only when no crew has a stop
  if (!bounds.isValid() && others.isValid()) bounds = others;
  if (bounds.isValid()) map.fitBounds(bounds.pad(0.1)); else map.setView([54, -1.5], 9);

  var summary = document.getElementById("visit-summary");
  if (opts.visits) {
    fetch(opts.visits, { headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) throw new Error(r.status);
      return r.json();
    }).then(function (v) {
      summary.textContent = v.stops_visited + " of " + v.stops_planned + " stops visited (" +
        v.visits.length + " visits logged)";
      Object.keys(v.by_stop).forEach(function (id) {
        if (markers[id]) markers[id].classList.add("visited");
        if (items[id]) items[id].classList.add("visited");
      });
    }).catch(function () { summary.textContent = "Visits could not be loaded."; });
  }
})();

/* A draft plan's Publish button (planners): the session's CSRF token goes in X-CSRF-Token. */
(function () {
  "use strict";
  var button = document.getElementById("publish-plan");
  if (!button) return;
  function csrfToken() {
    var found = document.cookie.split(/;\s*/).filter(function (c) {
      return c.indexOf("hotspot_csrf=") === 0;
    })[0];
    return found ? decodeURIComponent(found.slice("hotspot_csrf=".length)) : "";
  }
  button.addEventListener("click", function () {
    button.disabled = true;
    button.textContent = "Publishing\u2026";
    fetch("/v1/patrol-plans/" + encodeURIComponent(button.getAttribute("data-plan")) + "/publish", {
      method: "POST", credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRF-Token": csrfToken() }
    }).then(function (r) {
      if (r.ok) { window.location.reload(); return; }
      return r.json().then(function (body) { throw new Error(body.detail || r.status); });
    }).catch(function (err) {
      button.disabled = false;
      button.textContent = "Publish";
      var p = HotspotPlan.el("p", "row-error", "Not published: " + (err.message || err));
      p.setAttribute("role", "alert");
      button.parentNode.appendChild(p);
    });
  });
})();
