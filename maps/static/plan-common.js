/* Helpers the plan pages share (plan.js, the planner's view; field.js, the field view): elements
 * whose text goes in with textContent only, local clock times, a stop's time windows. */
var HotspotPlan = (function () {
  "use strict";
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function hm(iso) { return iso ? iso.slice(11, 16) : ""; }
  function windows(s) {
    return (s.windows || []).map(function (w) { return hm(w[0]) + "\u2013" + hm(w[1]); }).join(", ");
  }
  function finite(v) { return typeof v === "number" && isFinite(v); }
  /* Content for Leaflet's bindTooltip/bindPopup: Leaflet puts a string in as HTML (a name
   * holding <b> or <a href> would become markup and a link), an element as it is. */
  function tip(text) { return el("span", null, text); }
  return { el: el, hm: hm, windows: windows, finite: finite, tip: tip };
})();
