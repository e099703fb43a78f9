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
  var dosageBox = document.getElementById("dosage");
  var colourOf = {};
  plan.routes.forEach(function (r, i) { colourOf[r.label] = opts.colours[i % opts.colours.length]; });
  var placeOf = {};
  plan.hotspots.forEach(function (h) { placeOf[h.hotspot_id] = h.label; });

  function minutes(m) {
    var n = Math.round(m || 0);
    return n < 60 ? n + " min" : Math.floor(n / 60) + " h " + ("0" + (n % 60)).slice(-2) + " min";
  }
  function percent(share) { return share === null || share === undefined ? "\u2013" : Math.round(share * 100) + "%"; }
  function plural(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }
  function cell(row, text, cls) { var td = el("td", cls, text); row.appendChild(td); return td; }

  /* One table of tallies (planned visits against made, share, minutes on site): ``rows`` are
   * [first cell (an element), tally]. */
  function tallyTable(caption, head, rows) {
    var table = el("table", "dose");
    table.appendChild(el("caption", null, caption));
    var thead = el("thead"), tr = el("tr");
    [head, "Visits made", "Share", "Minutes on site"].forEach(function (h, i) {
      var th = el("th", i ? "n" : null, h); th.scope = "col"; tr.appendChild(th);
    });
    thead.appendChild(tr); table.appendChild(thead);
    var tbody = el("tbody");
    rows.forEach(function (pair) {
      var t = pair[1], row = el("tr");
      if (t.visits_made === 0) row.className = "none-made";
      var first = el("td"); first.appendChild(pair[0]); row.appendChild(first);
      cell(row, t.visits_made + " of " + t.planned_visits, "n");
      cell(row, percent(t.share), "n");
      var mins = cell(row, minutes(t.minutes_on_site), "n");
      mins.appendChild(el("span", "of-planned", "of " + minutes(t.planned_min)));
      if (t.untimed_visits) {
        mins.appendChild(el("span", "untimed", "+ " + plural(t.untimed_visits, "visit") + " with no end time"));
      }
      tbody.appendChild(row);
    });
    table.appendChild(tbody);
    return table;
  }

  function showDosage(d, logged) {
    var t = d.totals;
    summary.textContent = "";
    dosageBox.textContent = "";
    if (!logged) {  // before the shift: what the plan asks for, no tables of noughts
      summary.textContent = "No visits logged yet. The plan asks for " +
        plural(t.planned_visits, "visit") + " to hotspots, " + minutes(t.planned_min) + " on site in all.";
      return;
    }
    summary.appendChild(el("strong", null, t.visits_made + " of " + plural(t.planned_visits, "planned visit") + " made"));
    summary.appendChild(document.createTextNode(" (" + percent(t.share) + ") \u00b7 "));
    summary.appendChild(el("strong", null, minutes(t.minutes_on_site) + " on site"));
    summary.appendChild(document.createTextNode(" of " + minutes(t.planned_min) + " planned"));
    dosageBox.appendChild(el("p", "dose-logged", plural(logged, "visit") + " logged in all"));
    if (t.untimed_visits) {
      dosageBox.appendChild(el("p", "dose-note", plural(t.untimed_visits, "visit") + " had no end time " +
        "(the dwell timer was not stopped): counted as made, but " + (t.untimed_visits === 1 ? "its" : "their") +
        " minutes are not known and are not counted."));
    }
    if (d.unplanned_visits) {
      dosageBox.appendChild(el("p", "dose-note", plural(d.unplanned_visits, "visit") +
        " logged at no stop of this plan (not counted above)."));
    }
    var crews = d.crews.map(function (c) {
      var name = el("span", "crew-name");
      var sw = el("span", "swatch"); sw.style.background = colourOf[c.crew] || "#666";
      name.appendChild(sw); name.appendChild(document.createTextNode(c.crew));
      return [name, c];
    });
    if (crews.length) dosageBox.appendChild(tallyTable("By crew", "Crew", crews));
    // hotspots with a visit here; those with none are listed once, below (a long list else)
    var hotspots = d.hotspots.filter(function (h) { return h.visits_made > 0; }).map(function (h) {
      // named as on the map and in the routes ("#3 Cemetery Road"): places can share a street
      var link = el("a", "dose-hotspot", placeOf[h.hotspot_id] || h.place || h.hotspot_id);
      link.href = hotspotPage(h.hotspot_id);
      return [link, h];
    });
    if (hotspots.length) dosageBox.appendChild(tallyTable("Hotspots visited", "Hotspot", hotspots));
    var never = d.hotspots.filter(function (h) { return h.visits_made === 0; });
    var head = el("h3", null, never.length ? "Never visited (" + never.length + ")" : "Never visited");
    dosageBox.appendChild(head);
    if (!never.length) {
      dosageBox.appendChild(el("p", null, t.planned_visits ? "Every hotspot of the plan had a visit." : "The plan has no hotspot stops."));
    } else {
      var ul = el("ul", "never-visited");
      never.forEach(function (h) {
        ul.appendChild(el("li", null, (placeOf[h.hotspot_id] || h.place || h.hotspot_id) + " (" + h.crews.join(", ") +
          (h.planned_visits > 1 ? ", " + plural(h.planned_visits, "planned visit") : "") + ")"));
      });
      dosageBox.appendChild(ul);
    }
  }

  if (opts.visits) {
    fetch(opts.visits, { headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) throw new Error(r.status);
      return r.json();
    }).then(function (v) {
      if (v.dosage) showDosage(v.dosage, v.visits.length);
      else summary.textContent = v.stops_visited + " of " + v.stops_planned + " stops visited";
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
