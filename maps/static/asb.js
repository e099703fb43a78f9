/* The persistent ASB page's small map: a circle per place in the table (the larger and darker,
 * the more months with ASB), over the store's roads and names (basemap.js) so it reads with no
 * tiles. Selecting a circle scrolls to the place's row and marks it. Every text from data is
 * written with textContent.
 */
(function () {
  "use strict";
  var node = document.getElementById("asb-data");
  var box = document.getElementById("asb-map");
  if (!node || !box || !window.L) { return; }
  var data = JSON.parse(node.textContent);
  var places = (data.places || []).filter(function (p) {
    return typeof p.lon === "number" && typeof p.lat === "number" && isFinite(p.lon) && isFinite(p.lat);
  });
  var map = L.map(box, { zoomControl: true, zoomSnap: 0.25, maxZoom: 19 });
  window.asbMap = map;
  if (data.tiles) {
    L.tileLayer(data.tiles, { attribution: data.tiles_attribution || "", maxZoom: 19 }).addTo(map);
  }
  if (window.HotspotBasemap && window.HotspotBasemap.add) {
    try { window.HotspotBasemap.add(map, {}); } catch (e) { /* the places show without it */ }
  }
  // the data's attribution is under the table (a long line would hide half of a small map)
  var months = data.months || 1;

  function tip(p) {
    var span = document.createElement("span");
    span.textContent = "#" + p.rank + " " + (p.location || "(no description)") + " \u2013 ASB in " +
      p.months_with_asb + " of " + months + " months, " + p.asb_incidents + " incidents";
    return span;
  }
  function colour(p) {
    var share = p.months_with_asb / months;
    return share >= 0.9 ? "#7a0019" : share >= 0.75 ? "#b3122e" : share >= 0.5 ? "#de4a3a" : "#f08a5d";
  }
  function mark(id) {
    var rows = document.querySelectorAll("#asb-table tr.picked");
    for (var i = 0; i < rows.length; i++) { rows[i].classList.remove("picked"); }
    var row = document.getElementById("place-" + id);
    if (row) {
      row.classList.add("picked");
      row.scrollIntoView({ block: "center", behavior: "smooth" });
    }
  }
  var bounds = L.latLngBounds([]);
  // the least persistent first, so the most persistent are drawn on top
  places.slice().reverse().forEach(function (p) {
    var circle = L.circleMarker([p.lat, p.lon], {
      radius: 5 + 7 * Math.min(1, p.months_with_asb / months), color: "#ffffff", weight: 2,
      fillColor: colour(p), fillOpacity: 0.9, className: "asb-place"
    }).addTo(map);
    circle.bindTooltip(function () { return tip(p); });
    circle.on("click", function () { mark(p.place_id); });
    bounds.extend([p.lat, p.lon]);
  });
  if (bounds.isValid()) {
    map.fitBounds(bounds.pad(0.15), { maxZoom: 16 });
  } else {
    map.setView([54.0, -1.5], 7);
  }
  // a row's rank links back to its place on the map
  var cells = document.querySelectorAll("#asb-table td.rank");
  for (var i = 0; i < cells.length; i++) {
    (function (cell) {
      var row = cell.parentNode;
      var p = places.filter(function (q) { return "place-" + q.place_id === row.id; })[0];
      if (!p) { return; }
      var button = document.createElement("button");
      button.type = "button";
      button.className = "show-on-map";
      button.textContent = String(p.rank);
      button.setAttribute("aria-label", "Show #" + p.rank + " on the map");
      button.addEventListener("click", function () {
        map.setView([p.lat, p.lon], Math.max(map.getZoom(), 16));
        mark(p.place_id);
        box.scrollIntoView({ block: "nearest" });
      });
      cell.textContent = "";
      cell.appendChild(button);
    })(cells[i]);
  }
})();
