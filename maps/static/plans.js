/* The plans page: the form that makes a patrol plan (preview on the map, save, publish), and
 * each listed plan's Publish and Copy to another shift. Requests carry the session's CSRF
 * token (api/csrf.py); every text from data or from an answer goes in with textContent. */
(function () {
  "use strict";
  var opts = JSON.parse(document.getElementById("page-options").textContent);
  var el = HotspotPlan.el, hm = HotspotPlan.hm, finite = HotspotPlan.finite, tip = HotspotPlan.tip;

  function csrfToken() {
    var found = document.cookie.split(/;\s*/).filter(function (c) {
      return c.indexOf("hotspot_csrf=") === 0;
    })[0];
    return found ? decodeURIComponent(found.slice("hotspot_csrf=".length)) : "";
  }

  /* POST JSON; resolves to the answer's JSON, rejects with {status, detail, field}. */
  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json",
                 "X-CSRF-Token": csrfToken() },
      body: body === undefined ? "{}" : JSON.stringify(body)
    }).then(function (r) {
      return r.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        if (r.ok) return data;
        var err = { status: r.status, detail: "The service answered " + r.status + ".", field: null };
        if (data && Array.isArray(data.detail) && data.detail.length) {
          // FastAPI's own validation: the field is in loc (after "body")
          var first = data.detail[0];
          err.field = (first.loc || []).slice(1).join(".");
          err.detail = first.msg || err.detail;
        } else if (data && data.detail) {
          err.detail = String(data.detail);
          err.field = data.field || null;
        }
        if (r.status === 401) err.detail = "You are signed out: sign in again, then retry.";
        if (r.status === 403 && !err.field) err.detail = "Your role may not do this. " + err.detail;
        throw err;
      });
    }, function () {
      throw { status: 0, detail: "No connection to the service: check the network and try again.", field: null };
    });
  }

  /* ---- the form ---- */
  var form = document.getElementById("plan-form");
  var errorsBox = document.getElementById("form-errors");
  var FIELDS = {
    "name": ["f-name", "Name"],
    "shift": ["f-start", "Shift"],
    "shift.start": ["f-start", "Shift starts"],
    "shift.end": ["f-end", "Shift ends"],
    "rural_crime_team": ["f-vehicles", "Rural Crime Team"],
    "rural_crime_team.vehicles": ["f-vehicles", "Vehicles"],
    "rural_crime_team.base": ["f-base", "Base"],
    "town_centre_officers": [null, "Town centre officers"],
    "town_bases": [null, "Town centre officers"],
    "hotspots.priority": ["f-priority", "Priority"],
    "hotspots.from": ["f-from", "From (month)"],
    "hotspots.to": ["f-to", "To (month)"],
    "hotspots": ["f-priority", "Which hotspots"],
    "dwell_min": ["f-dwell", "Time at each stop"]
  };

  function fieldInfo(field) {
    if (!field) return [null, null];
    if (FIELDS[field]) return FIELDS[field];
    var parts = field.split(".");
    while (parts.length > 1) {
      parts.pop();
      if (FIELDS[parts.join(".")]) return FIELDS[parts.join(".")];
    }
    return [null, field];
  }

  function clearErrors(box, scope) {
    box.hidden = true;
    box.textContent = "";
    Array.prototype.forEach.call(scope.querySelectorAll("[aria-invalid]"), function (i) {
      i.removeAttribute("aria-invalid");
      i.removeAttribute("aria-describedby");
    });
  }

  /* the service names fields as its API does: the form's own words instead */
  var WORDS = [
    [/rural_crime_team\.vehicles/g, "Rural Crime Team vehicles"],
    [/rural_crime_team\.base/g, "the Rural Crime Team's base"],
    [/rural_crime_team/g, "Rural Crime Team"],
    [/town_centre_officers/g, "town centre officers"],
    [/town_bases/g, "town centre officers' bases"],
    [/dwell_min/g, "time at each stop"],
    [/hotspots\.from|\bfrom\b(?= must)/g, "From (month)"],
    [/hotspots\.to/g, "To (month)"],
    [/hotspots\.priority/g, "Priority"],
    [/shift\.start/g, "Shift starts"],
    [/shift\.end/g, "Shift ends"]
  ];
  function plain(text) {
    var out = String(text);
    WORDS.forEach(function (w) { out = out.replace(w[0], w[1]); });
    return out;
  }

  function showError(box, err, map) {
    err = { field: err.field, detail: plain(err.detail) };
    var info = (map || fieldInfo)(err.field);
    var input = info[0] ? document.getElementById(info[0]) : null;
    if (!input && err.field && err.field.indexOf("town_centre_officers") === 0 && form) {
      input = form.querySelector("input[data-town]");
    }
    box.textContent = "";
    var p = el("p", null, (info[1] ? info[1] + ": " : "") + err.detail);
    p.id = box.id + "-text";
    box.appendChild(p);
    box.hidden = false;
    if (input) {
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", p.id);
      input.focus();
    } else {
      box.setAttribute("tabindex", "-1");
      box.focus();
    }
  }

  function whole(id, label, min, max) {
    var input = document.getElementById(id);
    var text = input.value.trim();
    var n = text === "" ? 0 : Number(text);
    if (!isFinite(n) || Math.floor(n) !== n || n < min || n > max) {
      throw { field: id, label: label, detail: "give a whole number from " + min + " to " + max + "." };
    }
    return n;
  }

  function requestBody() {
    var name = document.getElementById("f-name").value.trim();
    if (!name) throw { field: "f-name", label: "Name", detail: "give the plan a name the crews will know it by (e.g. Friday lates, north)." };
    var body = { name: name };
    var start = document.getElementById("f-start").value, end = document.getElementById("f-end").value;
    if (!start) throw { field: "f-start", label: "Shift starts", detail: "give the date and time the shift starts." };
    if (!end) throw { field: "f-end", label: "Shift ends", detail: "give the date and time the shift ends." };
    if (end <= start) throw { field: "f-end", label: "Shift ends", detail: "the shift must end after it starts." };
    body.shift = { start: start, end: end };
    var vehicles = whole("f-vehicles", "Vehicles", 0, 20);
    var base = document.getElementById("f-base").value;
    if (vehicles > 0) body.rural_crime_team = base ? { vehicles: vehicles, base: base } : { vehicles: vehicles };
    var towns = {};
    Array.prototype.forEach.call(form.querySelectorAll("input[data-town]"), function (input) {
      var n = whole(input.id, "Town centre officers, " + input.getAttribute("data-town"), 0, 20);
      if (n > 0) towns[input.getAttribute("data-town")] = n;
    });
    body.town_centre_officers = towns;
    var hotspots = {};
    var priority = document.getElementById("f-priority").value;
    if (priority) hotspots.priority = priority;
    var from = document.getElementById("f-from").value, to = document.getElementById("f-to").value;
    if (from) hotspots.from = from;
    if (to) hotspots.to = to;
    if (from && to && to < from) throw { field: "f-to", label: "To (month)", detail: "the period must end after it starts." };
    body.hotspots = hotspots;
    body.dwell_min = whole("f-dwell", "Time at each stop", 1, 120);
    return body;
  }

  function localError(e) {
    // an error found here names the input itself
    return { field: e.field, detail: e.detail, label: e.label };
  }

  function byInput(e) {
    return function () { return [e.field, e.label]; };
  }

  var busy = false;
  function working(buttons, on, text) {
    busy = on;
    buttons.forEach(function (b) {
      if (!b) return;
      if (on) { b.setAttribute("data-label", b.textContent); b.disabled = true; }
      else { b.disabled = false; if (b.getAttribute("data-label")) b.textContent = b.getAttribute("data-label"); }
    });
    if (on && buttons[0]) buttons[0].textContent = text;
  }

  var previewBox = document.getElementById("preview");
  var previewMap = null, previewLayer = null;

  function drawPreview(plan) {
    previewBox.hidden = false;
    var t = plan.totals || {};
    var summary = document.getElementById("preview-summary");
    var count = function (n, one, many) {  // "1 route", "2 routes"
      return (n || 0).toLocaleString("en-GB") + " " + ((n || 0) === 1 ? one : many);
    };
    summary.textContent = (plan.name ? plan.name + ": " : "") + count(t.stops, "stop", "stops") +
      " on " + count(t.routes, "route", "routes") + "; " +
      count(t.hotspots_visited, "hotspot", "hotspots") + " visited, " +
      (t.hotspots_left_out || 0).toLocaleString("en-GB") + " left out.";
    if (!previewMap) {
      previewMap = L.map("preview-map", { zoomControl: true, zoomSnap: 0.25 });
      if (opts.tiles) L.tileLayer(opts.tiles, { attribution: opts.attribution, maxZoom: 19 }).addTo(previewMap);
      if (window.HotspotBasemap && window.HotspotBasemap.add) {
        try { window.HotspotBasemap.add(previewMap, {}); } catch (e) { /* the plan shows without it */ }
      }
    }
    if (previewLayer) previewMap.removeLayer(previewLayer);
    previewLayer = L.layerGroup().addTo(previewMap);
    var bounds = L.latLngBounds([]);
    var keys = document.getElementById("preview-routes");
    keys.textContent = "";
    (plan.routes || []).forEach(function (r, i) {
      var colour = opts.colours[i % opts.colours.length];
      var lines = (r.legs || []).map(function (leg) { return leg.map(function (p) { return [p[1], p[0]]; }); });
      if (lines.length) {
        var line = L.polyline(lines, { color: colour, weight: 5, opacity: 0.85 }).addTo(previewLayer);
        line.bindTooltip(tip(r.label), { sticky: true });
        bounds.extend(line.getBounds());
      }
      var stops = 0;
      (r.stops || []).forEach(function (s) {
        if (!finite(s.lon) || !finite(s.lat)) return;
        if (s.kind === "base") {
          L.marker([s.lat, s.lon], { icon: L.divIcon({ className: "", html: el("div", "base-mark"), iconSize: [20, 20] }) })
            .bindTooltip(tip(s.name)).addTo(previewLayer);
          bounds.extend([s.lat, s.lon]);
          return;
        }
        stops += 1;
        var num = el("div", "stop-number", s.seq);
        num.style.background = colour;
        L.marker([s.lat, s.lon], { icon: L.divIcon({ className: "", html: num, iconSize: [28, 28] }) })
          .bindTooltip(tip(s.seq + ". " + s.name + " " + hm(s.start))).addTo(previewLayer);
        bounds.extend([s.lat, s.lon]);
      });
      var li = el("li");
      var sw = el("span", "swatch"); sw.style.background = colour;
      li.appendChild(sw);
      var text = r.label + ": " + stops + (stops === 1 ? " stop" : " stops");
      if (r.totals && finite(r.totals.distance_m)) text += ", " + (r.totals.distance_m / 1000).toFixed(1) + " km";
      if (r.totals && r.totals.start) text += ", out " + hm(r.totals.start) + ", back " + hm(r.totals.end);
      li.appendChild(document.createTextNode(text));
      if (!stops) li.classList.add("empty");
      keys.appendChild(li);
    });
    (plan.notes || []).forEach(function (n) {
      keys.appendChild(el("li", "note", typeof n === "string" ? n : (n.text || n.message || JSON.stringify(n))));
    });
    previewMap.invalidateSize();
    // a plan with no stops is its bases only: not a close-up of one base at the widest zoom
    if (bounds.isValid()) previewMap.fitBounds(bounds.pad(0.08), { maxZoom: 15 });
    else previewMap.setView([54, -1.5], 9);
    previewBox.scrollIntoView({ block: "start", behavior: "smooth" });
  }

  var lastBody = null;
  if (form) {
    var previewButton = document.getElementById("preview-button");
    var saveButton = document.getElementById("save-button");
    var savePreview = document.getElementById("save-preview");
    var savePublish = document.getElementById("save-publish");

    var run = function (kind, publish) {
      if (busy) return;
      clearErrors(errorsBox, form);
      var body;
      try { body = requestBody(); } catch (e) {
        showError(errorsBox, localError(e), byInput(e));
        return;
      }
      var url = kind === "preview" ? opts.preview : opts.create;
      if (kind !== "preview") body.published = !!publish;
      var buttons = kind === "preview" ? [previewButton, saveButton, savePreview, savePublish]
        : publish ? [savePublish, previewButton, saveButton, savePreview]
        : [kind === "save-preview" ? savePreview : saveButton, previewButton, saveButton, savePublish];
      working(buttons, true, kind === "preview" ? "Planning\u2026" : "Saving\u2026");
      post(url, body).then(function (plan) {
        working(buttons, false);
        if (kind === "preview") { lastBody = body; drawPreview(plan); return; }
        window.location.href = "/plans/" + encodeURIComponent(plan.plan_id);
      }, function (err) {
        working(buttons, false);
        showError(errorsBox, err);
      });
    };
    form.addEventListener("submit", function (ev) { ev.preventDefault(); run("preview"); });
    saveButton.addEventListener("click", function () { run("save"); });
    savePreview.addEventListener("click", function () { run("save-preview", false); });
    savePublish.addEventListener("click", function () { run("save-publish", true); });
    // a change after the preview: the preview no longer shows what Save would store
    form.addEventListener("input", function () {
      if (!previewBox.hidden && lastBody) {
        document.getElementById("preview-summary").textContent =
          "The form has changed since this preview: preview again to see the new plan.";
      }
    });
  }

  /* ---- the list: publish, copy ---- */
  function rowError(button, err) {
    var cell = button.parentNode;
    var old = cell.querySelector(".row-error");
    if (old) old.remove();
    var p = el("p", "row-error", err.detail);
    p.setAttribute("role", "alert");
    cell.appendChild(p);
  }

  Array.prototype.forEach.call(document.querySelectorAll("button.publish"), function (b) {
    b.addEventListener("click", function () {
      if (busy) return;
      working([b], true, "Publishing\u2026");
      post("/v1/patrol-plans/" + encodeURIComponent(b.getAttribute("data-plan")) + "/publish").then(function () {
        window.location.reload();
      }, function (err) { working([b], false); rowError(b, err); });
    });
  });

  var dialog = document.getElementById("copy-dialog");
  var copyForm = document.getElementById("copy-form");
  var copyErrors = document.getElementById("copy-errors");
  var copyFrom = null, copyOpener = null;

  function weekLater(iso) {
    // the same wall-clock time a week later (local ISO, "YYYY-MM-DDTHH:MM")
    if (!iso || iso.length < 16) return "";
    var d = new Date(iso.slice(0, 16) + ":00Z");
    if (isNaN(d.getTime())) return "";
    d.setUTCDate(d.getUTCDate() + 7);
    return d.toISOString().slice(0, 16);
  }

  var COPY_FIELDS = { "shift": ["c-start", "Shift"], "shift.start": ["c-start", "Shift starts"],
    "shift.end": ["c-end", "Shift ends"], "name": ["c-name", "Name"] };
  function copyField(field) { return COPY_FIELDS[field] || fieldInfo(field); }

  Array.prototype.forEach.call(document.querySelectorAll("button.copy"), function (b) {
    b.addEventListener("click", function () {
      copyFrom = b.getAttribute("data-plan");
      copyOpener = b;
      clearErrors(copyErrors, copyForm);
      var name = b.getAttribute("data-name");
      document.getElementById("c-name").value = name ? name : "";
      document.getElementById("c-start").value = weekLater(b.getAttribute("data-start"));
      document.getElementById("c-end").value = weekLater(b.getAttribute("data-end"));
      dialog.showModal();
      document.getElementById("c-start").focus();
    });
  });
  if (dialog) {
    document.getElementById("copy-cancel").addEventListener("click", function () {
      dialog.close();
      if (copyOpener) copyOpener.focus();
    });
    copyForm.addEventListener("submit", function (ev) {
      ev.preventDefault();
      if (busy) return;
      clearErrors(copyErrors, copyForm);
      var start = document.getElementById("c-start").value, end = document.getElementById("c-end").value;
      var local = !start ? ["c-start", "Shift starts", "give the date and time the shift starts."]
        : !end ? ["c-end", "Shift ends", "give the date and time the shift ends."]
        : end <= start ? ["c-end", "Shift ends", "the shift must end after it starts."] : null;
      if (local) {
        showError(copyErrors, { field: local[0], detail: local[2] }, function () { return [local[0], local[1]]; });
        return;
      }
      var body = { shift: { start: start, end: end } };
      var name = document.getElementById("c-name").value.trim();
      if (name) body.name = name;
      var go = document.getElementById("copy-go");
      working([go], true, "Planning\u2026");
      post("/v1/patrol-plans/" + encodeURIComponent(copyFrom) + "/copy", body).then(function () {
        window.location.reload();
      }, function (err) {
        working([go], false);
        showError(copyErrors, err, copyField);
      });
    });
  }
})();
