/* The priority reports page: the form that makes a report for a period (POST /v1/reports with
 * the session's CSRF token, api/csrf.py), then opens it. Text from an answer goes in with
 * textContent only. */
(function () {
  "use strict";
  var form = document.getElementById("report-form");
  if (!form) return;
  var select = document.getElementById("r-period");
  var button = document.getElementById("report-make");
  var errors = document.getElementById("report-errors");
  var status = document.getElementById("report-status");

  function csrfToken() {
    var found = document.cookie.split(/;\s*/).filter(function (c) {
      return c.indexOf("hotspot_csrf=") === 0;
    })[0];
    return found ? decodeURIComponent(found.slice("hotspot_csrf=".length)) : "";
  }

  function showError(text) {
    errors.textContent = "";
    var p = document.createElement("p");
    p.textContent = text;
    errors.appendChild(p);
    errors.hidden = false;
    select.setAttribute("aria-invalid", "true");
    select.focus();
  }

  function detailOf(status, data) {
    if (status === 401) return "You are signed out: sign in again, then retry.";
    if (data && Array.isArray(data.detail) && data.detail.length) {
      return "Period: " + (data.detail[0].msg || "not a period this service knows.");
    }
    if (data && data.detail) {
      var text = String(data.detail);
      return data.field === "period" ? "Period: " + text : text;
    }
    return "The service answered " + status + ": try again.";
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    errors.hidden = true;
    select.removeAttribute("aria-invalid");
    if (!select.value) { showError("Period: choose one."); return; }
    button.disabled = true;
    status.textContent = "Making the report for " +
      select.options[select.selectedIndex].text + "... this takes up to a minute.";
    fetch("/v1/reports", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json",
                 "X-CSRF-Token": csrfToken() },
      body: JSON.stringify({ period: select.value })
    }).then(function (r) {
      return r.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        if (r.ok && data && data.links && data.links.page) {
          status.textContent = "Made: opening it.";
          window.location.assign(data.links.page);
          return;
        }
        button.disabled = false;
        status.textContent = "";
        showError(detailOf(r.status, data));
      });
    }, function () {
      button.disabled = false;
      status.textContent = "";
      showError("No connection to the service: check the network and try again.");
    });
  });
})();
