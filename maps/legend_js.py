"""The legend rows the planner map's live overlays add (persistent ASB, business reports): one
script function, so each overlay's row has the same parts (a switch, its symbol, what it is, its
count) and names them the same way. Text goes in with ``textContent`` only."""

LEGEND_SECTION_JS = """
  function hsLegendSection(o) {
    // o: cls, title, toggleId, checked, colour, label, desc, count, unit, countId, onToggle
    var row = document.createElement("label");
    row.className = "hs-key-row";
    var toggle = document.createElement("input");
    toggle.type = "checkbox";
    toggle.checked = !!o.checked;
    toggle.id = o.toggleId;
    toggle.addEventListener("change", function () { o.onToggle(toggle.checked); });
    var swatch = document.createElement("span");
    swatch.className = "hs-swatch";
    swatch.setAttribute("style", "background:" + o.colour + ";border-color:" + o.colour +
      ";border-radius:50%");
    var words = document.createElement("span");
    words.className = "hs-key-text";
    var label = document.createElement("span");
    label.className = "hs-key-label";
    label.textContent = o.label;
    var desc = document.createElement("span");
    desc.className = "hs-key-desc";
    desc.textContent = o.desc;
    words.appendChild(label);
    words.appendChild(desc);
    var number = document.createElement("span");
    number.className = "hs-count";
    if (o.countId) { number.id = o.countId; }
    number.title = o.unit;
    number.textContent = o.count.toLocaleString("en-GB");
    [toggle, swatch, words, number].forEach(function (e) { row.appendChild(e); });
    var section = document.createElement("div");
    section.className = o.cls;
    var head = document.createElement("h4");
    head.textContent = o.title;
    section.appendChild(head);
    section.appendChild(row);
    return section;
  }
"""
"""Defines ``hsLegendSection(options)`` inside an overlay's script (put it first in its
function body): the legend section of one overlay, returned for the caller to place."""
