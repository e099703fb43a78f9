"""The partners' page for reporting an incident at a business (the retail partnership), with
the list of the reports they have sent.

A form with labels and no map (it must work with no tiles and no postcode look-up): the place
as longitude and latitude, an OS grid reference, or the tablet's own position ("Use my
location"). A small script of the page's own sends it as JSON to ``POST /v1/business-reports``
with the session's CSRF token, shows what the service answered (the field at fault is named and
focused) and adds the stored report to the list; every string from data reaches the page
escaped (Jinja autoescape, and ``textContent`` in the script). Pure: data in, HTML out.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from jinja2 import Environment

from maps.nav import NAV_CSS

_ENV = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)


def _pounds(pence: int | None) -> str:
    return "" if pence is None else f"£{pence / 100:,.2f}"


_ENV.filters["pounds"] = _pounds

_PAGE = _ENV.from_string("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Report an incident: Retail and Business Crime Reduction Partnership</title>
<style>
body { font: 17px/1.45 system-ui, sans-serif; margin: 0; color: #1f2933; background: #fff; }
main { max-width: 60rem; margin: 1.25rem auto 2rem; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin: 0.3rem 0; }
h2 { font-size: 1.25rem; margin-top: 2rem; }
.lead { color: #52606d; margin-top: 0; }
.note { background: #f0f4f8; border-left: 4px solid #0b3d91; padding: 0.6rem 0.9rem; }
form { display: grid; gap: 1rem; }
fieldset { border: 1px solid #bcccdc; border-radius: 6px; padding: 0.8rem 1rem 1rem; margin: 0; }
legend { font-weight: 600; padding: 0 0.3rem; }
label { display: block; font-weight: 600; margin-bottom: 0.25rem; }
.hint { display: block; font-weight: 400; color: #52606d; font-size: 0.92rem; }
input, select, textarea { font: inherit; width: 100%; box-sizing: border-box; min-height: 48px;
  padding: 0.5rem 0.6rem; border: 1px solid #7b8794; border-radius: 4px; background: #fff; }
textarea { min-height: 6rem; resize: vertical; }
input:focus, select:focus, textarea:focus, button:focus-visible { outline: 3px solid #ffd166;
  outline-offset: 1px; }
[aria-invalid="true"] { border: 2px solid #b00020; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 0.8rem; }
.or { margin: 0.8rem 0 0.5rem; color: #52606d; font-weight: 600; }
.row { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; }
button { font: inherit; font-weight: 600; min-height: 48px; padding: 0.5rem 1.2rem;
  border-radius: 4px; border: 1px solid #0b3d91; cursor: pointer; }
button.primary { background: #0b3d91; color: #fff; }
button.secondary { background: #fff; color: #0b3d91; margin-top: 0.6rem; }
#status { min-height: 1.5rem; font-weight: 600; }
#status.ok { color: #1d6b35; }
#status.error { color: #b00020; }
table { border-collapse: collapse; width: 100%; margin-top: 0.5rem; }
th, td { text-align: left; padding: 0.45rem 0.6rem; border-bottom: 1px solid #d9e2ec;
  vertical-align: top; overflow-wrap: break-word; }
th { background: #f0f4f8; font-weight: 600; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.when { white-space: nowrap; }
td.ref { overflow-wrap: anywhere; font-size: 0.9rem; }
td.biz { overflow-wrap: anywhere; } /* a long unbroken name wraps: never a sideways scroll */
.empty { font-weight: 600; }
@media (max-width: 40rem) { .row, .pair { grid-template-columns: 1fr; } }
{{ nav_css }}
</style></head><body>
{{ nav|safe }}
<main>
<h1>Report an incident at a business</h1>
<p class="lead">For members of the Retail and Business Crime Reduction Partnership{% if who %}
 (signed in as {{ who }}){% endif %}. Fields marked * are needed.</p>
<p class="note">{{ note }} Do not name people: describe what happened.</p>

<form id="br-form" novalidate>
<div class="row">
<div><label for="br-when">When it happened *<span class="hint">Local time; within the last
year</span></label>
<input id="br-when" name="occurred_at" type="datetime-local" required></div>
<div><label for="br-type">What happened *</label>
<select id="br-type" name="type" required>
<option value="">Choose…</option>
{% for key, label in types %}<option value="{{ key }}">{{ label }}</option>
{% endfor %}</select></div>
</div>

<fieldset id="br-place"><legend>Where it happened *</legend>
<span class="hint">Give longitude and latitude, or an OS grid reference. On a tablet at the
business, "Use my location" fills them in.</span>
<div class="pair" style="margin-top:0.6rem">
<div><label for="br-lat">Latitude{% if example %}<span class="hint">e.g.
{{ example[0] }}</span>{% endif %}</label>
<input id="br-lat" name="lat" inputmode="decimal" autocomplete="off"></div>
<div><label for="br-lon">Longitude{% if example %}<span class="hint">e.g.
{{ example[1] }}</span>{% endif %}</label>
<input id="br-lon" name="lon" inputmode="decimal" autocomplete="off"></div>
</div>
<button type="button" class="secondary" id="br-locate">Use my location</button>
<p class="or">or</p>
<label for="br-gridref">OS grid reference{% if example %}<span class="hint">e.g.
{{ example[2] }}</span>{% endif %}</label>
<input id="br-gridref" name="grid_ref" autocomplete="off" autocapitalize="characters"
maxlength="40">
</fieldset>

<div class="row">
<div><label for="br-business">Business<span class="hint">Its name (optional)</span></label>
<input id="br-business" name="business" maxlength="{{ business_max }}" autocomplete="organization"></div>
<div><label for="br-value">Value, £<span class="hint">Lost or damaged (optional)</span></label>
<input id="br-value" name="value" inputmode="decimal" autocomplete="off"></div>
</div>
<div><label for="br-description">What happened<span class="hint">Optional; up to
{{ description_max }} characters; no names of people</span></label>
<textarea id="br-description" name="description" maxlength="{{ description_max }}"></textarea></div>
<div><button type="submit" class="primary" id="br-submit">Send the report</button></div>
<p id="status" role="status" aria-live="polite"></p>
</form>

<h2>{% if all_reports %}Every business report{% else %}Your reports{% endif %}
 (<span id="br-count">{{ count }}</span>)</h2>
{% if count > reports|length %}<p>The latest {{ reports|length }} are listed.</p>{% endif %}
<p class="empty" id="br-none"{% if reports %} hidden{% endif %}>No reports yet.</p>
<table id="br-list"{% if not reports %} hidden{% endif %}>
<thead><tr><th scope="col">When</th><th scope="col">What</th><th scope="col">Business</th>
<th scope="col">Value</th><th scope="col">Where</th><th scope="col">Reference</th></tr></thead>
<tbody>
{% for r in reports %}
<tr><td class="when">{{ r.occurred_at[:16]|replace("T", " ") }}</td><td>{{ r.type_label }}</td>
<td class="biz">{{ r.business }}</td><td class="n">{{ r.value_pence|pounds }}</td>
<td>{{ "%.5f"|format(r.place.lat) }}, {{ "%.5f"|format(r.place.lon) }}</td>
<td class="ref">{{ r.report_id }}</td></tr>
{% endfor %}
</tbody></table>
</main>
<script type="application/json" id="br-config">{{ config|safe }}</script>
<script>
(function () {
  "use strict";
  var form = document.getElementById("br-form");
  var status = document.getElementById("status");
  var fields = {
    "occurred_at": "br-when", "type": "br-type", "place": "br-lat", "place.lat": "br-lat",
    "place.lon": "br-lon", "place.x": "br-lat", "place.y": "br-lat",
    "place.grid_ref": "br-gridref", "value_pence": "br-value", "business": "br-business",
    "description": "br-description"
  };
  function csrfToken() {
    var found = document.cookie.split("; ").filter(function (c) {
      return c.indexOf("hotspot_csrf=") === 0; })[0];
    return found ? decodeURIComponent(found.slice("hotspot_csrf=".length)) : "";
  }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function localNow() {
    var d = new Date();
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" +
      pad(d.getHours()) + ":" + pad(d.getMinutes());
  }
  var when = document.getElementById("br-when");
  if (!when.value) { when.value = localNow(); }
  when.max = localNow();
  function say(text, kind) {
    status.textContent = text;
    status.className = kind;
  }
  function clearInvalid() {
    Array.prototype.forEach.call(form.querySelectorAll("[aria-invalid]"), function (el) {
      el.removeAttribute("aria-invalid"); });
  }
  function mark(field) {
    var el = document.getElementById(fields[field] || "");
    if (el) { el.setAttribute("aria-invalid", "true"); el.focus(); }
  }
  form.addEventListener("input", function (event) {
    if (event.target && event.target.removeAttribute) { event.target.removeAttribute("aria-invalid"); }
  });
  function value(id) { return document.getElementById(id).value.trim(); }
  function number(id) {
    var v = value(id).replace(",", ".");
    return v === "" ? null : Number(v);
  }
  document.getElementById("br-locate").addEventListener("click", function () {
    if (!navigator.geolocation) { say("This device cannot give its location: type it in.", "error"); return; }
    say("Finding your location…", "");
    navigator.geolocation.getCurrentPosition(function (pos) {
      document.getElementById("br-lat").value = pos.coords.latitude.toFixed(6);
      document.getElementById("br-lon").value = pos.coords.longitude.toFixed(6);
      document.getElementById("br-gridref").value = "";
      say("Location filled in (to about " + Math.round(pos.coords.accuracy) + " m).", "ok");
    }, function () {
      say("Your location is not available: type the latitude and longitude, or a grid reference.", "error");
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  });
  function build() {
    var body = { occurred_at: value("br-when"), type: value("br-type"), place: {},
                 business: value("br-business"), description: value("br-description") };
    var grid = value("br-gridref");
    var lat = number("br-lat"), lon = number("br-lon");
    if (grid && lat === null && lon === null) { body.place.grid_ref = grid; }
    else { if (lat !== null) { body.place.lat = lat; } if (lon !== null) { body.place.lon = lon; }
           if (grid) { body.place.grid_ref = grid; } }
    var pounds = number("br-value");
    if (pounds !== null) { body.value_pence = isFinite(pounds) ? Math.round(pounds * 100) : -1; }
    return body;
  }
  function check(body) {
    if (!body.occurred_at) { return ["occurred_at", "Give when it happened."]; }
    if (!body.type) { return ["type", "Choose what happened."]; }
    var p = body.place;
    if (p.lat === undefined && p.lon === undefined && !p.grid_ref) {
      return ["place", "Give where it happened: latitude and longitude, or a grid reference."];
    }
    if ((p.lat !== undefined && !isFinite(p.lat)) || (p.lon !== undefined && !isFinite(p.lon))) {
      return ["place.lat", "Latitude and longitude are numbers, e.g. 54.0021 and -1.5423."];
    }
    if (body.value_pence !== undefined && !(body.value_pence >= 0)) {
      return ["value_pence", "The value is an amount in pounds, e.g. 12.50."];
    }
    return null;
  }
  function addRow(r) {
    var row = document.createElement("tr");
    var place = r.place.lat.toFixed(5) + ", " + r.place.lon.toFixed(5);
    var cells = [r.occurred_at.slice(0, 16).replace("T", " "), r.type_label, r.business,
                 r.value_pence === null ? "" : "£" + (r.value_pence / 100).toFixed(2), place,
                 r.report_id];
    cells.forEach(function (text, i) {
      var td = document.createElement("td");
      td.textContent = text;
      if (i === 0) { td.className = "when"; }
      if (i === 2) { td.className = "biz"; }
      if (i === 3) { td.className = "n"; }
      if (i === 5) { td.className = "ref"; }
      row.appendChild(td);
    });
    var body = document.querySelector("#br-list tbody");
    body.insertBefore(row, body.firstChild);
    document.getElementById("br-list").hidden = false;
    document.getElementById("br-none").hidden = true;
    var count = document.getElementById("br-count");
    count.textContent = String(Number(count.textContent) + 1);
  }
  var sending = false;
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (sending) { return; }
    clearInvalid();
    var body = build();
    var problem = check(body);
    if (problem) { say(problem[1], "error"); mark(problem[0]); return; }
    sending = true;
    document.getElementById("br-submit").disabled = true;
    say("Sending…", "");
    fetch("/v1/business-reports", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken() },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (answer) {
        if (response.status === 201) {
          addRow(answer);
          form.reset();
          when.value = localNow();
          say("Sent: reference " + answer.report_id + ". Thank you.", "ok");
        } else if (response.status === 401 || response.status === 403) {
          say("Your session has ended: sign in again, then send the report.", "error");
        } else {
          say((answer && answer.detail) || ("The report was not stored (" + response.status + ")."), "error");
          if (answer && answer.field) { mark(answer.field); }
        }
      });
    }).catch(function () {
      say("The report could not be sent (no connection?): nothing was stored. Try again.", "error");
    }).then(function () {
      sending = false;
      document.getElementById("br-submit").disabled = false;
    });
  });
}());
</script>
</body></html>
""")


def business_form_page(reports: Sequence[dict[str, Any]], *, count: int,
                       types: Sequence[tuple[str, str]], nav: str = "", note: str = "",
                       who: str | None = None, all_reports: bool = False,
                       timezone: str = "", crs: str = "", business_max: int = 200,
                       description_max: int = 2000,
                       example: tuple[str, str, str] | None = None) -> str:
    """The page as HTML.

    Parameters
    ----------
    reports
        The reports to list (as ``GET /v1/business-reports`` answers them), latest first.
    count
        How many there are in all (more than listed: the page says so).
    types
        (key, label) of each type of incident, in the form's order.
    nav
        The navigation bar's HTML (:func:`maps.nav.nav_html`, already escaped).
    note
        What these reports are (not police-recorded crime), shown as text.
    who
        The name of the signed-in key, as text.
    all_reports
        The list holds every partner's reports (staff), not the caller's own.
    timezone, crs
        The force's time zone and CRS (for the page's script).
    business_max, description_max
        The longest business name and description the service takes, characters.
    example
        A place inside the force area for the hints: latitude, longitude and grid reference
        (text); None: no examples.
    """
    config = json.dumps({"timezone": timezone, "crs": crs}).replace("<", "\\u003c")
    return _PAGE.render(reports=list(reports), count=count, types=list(types), nav=nav,
                        note=note, who=who, all_reports=all_reports, nav_css=NAV_CSS,
                        config=config, business_max=business_max,
                        description_max=description_max, example=example)
