"""The printable briefing: one A4 page per crew, made to be read on paper in a vehicle.

Each page holds the crew's name, the shift, a QR code of the crew's link to its field view,
a map drawn here as inline SVG (the store's roads by class, built-up areas, the force boundary,
the names of towns, villages, town centres and heritage sites, the route and its numbered
stops, a scale bar and a north arrow; no tiles, no script), and the stops in order with their
OS grid references, times, patrol windows, what to look for, a tick box and room for notes.
A crew with no stops still gets its page, saying why.

The basemap comes in as GeoJSON (WGS84) per crew, as :func:`api.services.basemap.basemap_features`
gives it; every text from data is escaped (Jinja2 autoescape, :func:`html.escape` in the SVG).
Sizes are in millimetres on the page; no printed text is smaller than 10 pt.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from html import escape
from typing import Any

from jinja2 import Environment

from maps.qr import qr_svg

_ENV = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)

PAGE_W_MM = 190.0
"""Printed width inside the page margins (A4 with 10 mm margins), millimetres."""
PAGE_H_MM = 277.0
PT_MM = 25.4 / 72
"""One typographic point in millimetres."""
ROW_MM = 4.85
"""Height of a one-line row of the stop table at 10 pt, millimetres (compact rows)."""
ROOMY_ROW_MM = 7.2
"""The same with room to write a note by hand: used when the map still gets
:data:`ROOMY_MAP_MM`."""
ROOMY_MAP_MM = 85.0
LINE_MM = 4.4
"""Height of a line of 10 pt text, millimetres."""
MAP_MAX_MM = 130.0
MAP_MIN_MM = 52.0
"""The map's height is what the page has left, within these bounds (mm): past the least, the
legend gives up the advice of the categories at the fewest stops (their names stay)."""
WHERE_CHARS = 38
"""About how many characters of a place's name fit on one line of the table."""
LEGEND_CHARS = 62
"""About how many characters fit on a line of one of the legend's two columns."""
NARROW = ('"Liberation Sans Narrow", "Arial Narrow", "Roboto Condensed", '
          '"DejaVu Sans Condensed", sans-serif')
"""Narrow faces first: 10 pt text that still fits a stop on one line."""
ROUTE_COLOURS = ("#1f5fbf", "#c2410c", "#15803d", "#7e22ce", "#b91c1c", "#0e7490", "#a16207")
UNIT_NAMES = {"rural_crime_team": "Rural Crime Team",
              "town_centre_officers": "Town centre officers"}
# roads by class (api.services.basemap.ROAD_CLASSES order): casing colour, fill colour, width in mm
_ROAD_STYLE = (("#7a4a00", "#f2a93b", 1.3), ("#7a4a00", "#f7c66b", 1.1),
               ("#8a6a20", "#fbe3a0", 0.9), ("#777", "#fff", 0.7), ("#999", "#fff", 0.5),
               ("#8c7b63", "", 0.35))
_LABEL_STYLE = {"town": (4.6, "700", "#111"), "village": (3.6, "600", "#222"),
                "town_centre": (3.6, "400", "#333"), "heritage": (3.6, "400", "#5b2a86")}
"""Label kind: font size (mm; 3.53 mm is 10 pt), weight, colour."""
_NICE_M = (50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 25000, 50000)


def _finite(*values: Any) -> bool:
    return all(isinstance(v, (int, float)) and math.isfinite(v) for v in values)


def route_bbox(route: Mapping[str, Any], margin: float = 0.08,
               min_span_m: float = 1500.0) -> tuple[float, float, float, float] | None:
    """The WGS84 box (west, south, east, north) around a route's legs and stops, with a
    ``margin`` (share of the span) and at least ``min_span_m`` metres each way; None when the
    route has no finite point."""
    pts = [(x, y) for leg in route.get("legs") or [] for x, y in leg if _finite(x, y)]
    pts += [(s["lon"], s["lat"]) for s in route.get("stops") or []
            if _finite(s.get("lon"), s.get("lat"))]
    if not pts:
        return None
    lons = [p[0] for p in pts]
    lats = [p[1] for p in pts]
    lat0 = (min(lats) + max(lats)) / 2
    k = math.cos(math.radians(lat0))
    min_lat = min_span_m / 111_320.0
    min_lon = min_lat / max(k, 0.1)
    w, e, s, n = min(lons), max(lons), min(lats), max(lats)
    dx = max(e - w, min_lon) * (1 + 2 * margin)
    dy = max(n - s, min_lat) * (1 + 2 * margin)
    cx, cy = (w + e) / 2, (s + n) / 2
    return (cx - dx / 2, cy - dy / 2, cx + dx / 2, cy + dy / 2)


class _Frame:
    """A north-up projection of a WGS84 box onto a ``width`` x ``height`` mm drawing
    (equirectangular, longitudes scaled by the cosine of the middle latitude: true to a few
    parts in a thousand over a county)."""

    def __init__(self, bbox: tuple[float, float, float, float], width: float,
                 height: float) -> None:
        w, s, e, n = bbox
        self.k = math.cos(math.radians((s + n) / 2))
        span_x = max((e - w) * self.k, 1e-9)
        span_y = max(n - s, 1e-9)
        self.scale = min(width / span_x, height / span_y)  # mm per degree of latitude
        cx, cy = (w + e) / 2, (s + n) / 2
        self.x0 = width / 2 - cx * self.k * self.scale
        self.y0 = height / 2 + cy * self.scale
        self.width, self.height = width, height

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        return (self.x0 + lon * self.k * self.scale, self.y0 - lat * self.scale)

    @property
    def metres_per_mm(self) -> float:
        return 111_320.0 / self.scale


def _path(frame: _Frame, coords: Iterable[Sequence[float]]) -> str:
    out: list[str] = []
    for c in coords:
        if len(c) < 2 or not _finite(c[0], c[1]):
            continue
        x, y = frame.xy(c[0], c[1])
        out.append(f"{'M' if not out else 'L'}{x:.1f} {y:.1f}")
    return "".join(out)


def _lines_of(geometry: Mapping[str, Any]) -> list[Sequence[Sequence[float]]]:
    kind, coords = geometry.get("type"), geometry.get("coordinates") or []
    if kind == "LineString":
        return [coords]
    if kind in ("MultiLineString", "Polygon"):
        return list(coords)
    if kind == "MultiPolygon":
        return [ring for poly in coords for ring in poly]
    return []


def _scale_bar(frame: _Frame) -> str:
    """A scale bar (top left) of a round length about a fifth of the map's width."""
    target = frame.width / 5 * frame.metres_per_mm
    metres = max((m for m in _NICE_M if m <= target), default=_NICE_M[0])
    length = metres / frame.metres_per_mm
    x, y = 4.0, 11.0
    text = f"{metres // 1000:g} km" if metres >= 1000 and metres % 1000 == 0 else (
        f"{metres / 1000:g} km" if metres >= 1000 else f"{metres} m")
    half = length / 2
    return (f'<g class="scale-bar"><rect x="{x - 1.5:.1f}" y="{y - 8.5:.1f}" '
            f'width="{length + 3 + 16:.1f}" height="10.5" fill="#fff" fill-opacity="0.85"/>'
            f'<rect x="{x:.1f}" y="{y - 2:.1f}" width="{half:.1f}" height="2" fill="#111"/>'
            f'<rect x="{x + half:.1f}" y="{y - 2:.1f}" width="{half:.1f}" height="2" '
            'fill="#fff" stroke="#111" stroke-width="0.3"/>'
            f'<text x="{x:.1f}" y="{y - 3.2:.1f}" font-size="3.6">0</text>'
            f'<text x="{x + length:.1f}" y="{y - 3.2:.1f}" font-size="3.6" '
            f'text-anchor="middle">{escape(text)}</text></g>')


def _north_arrow(frame: _Frame) -> str:
    x, y = frame.width - 9.0, 5.0
    return (f'<g class="north-arrow" aria-label="North is up"><circle cx="{x:.1f}" '
            f'cy="{y + 6:.1f}" r="6.5" fill="#fff" fill-opacity="0.85"/>'
            f'<path d="M{x:.1f} {y:.1f} L{x + 3:.1f} {y + 9:.1f} L{x:.1f} {y + 7:.1f} '
            f'L{x - 3:.1f} {y + 9:.1f} Z" fill="#111"/>'
            f'<text x="{x:.1f}" y="{y + 12.8:.1f}" font-size="3.6" font-weight="700" '
            'text-anchor="middle">N</text></g>')


def _chip_width(text: str) -> float:
    return max(5.2, 2.1 * len(text) + 1.6)


def _chips(points: Sequence[tuple[float, float, str]]) -> list[tuple[float, float, str]]:
    """Stop numbers as chips (x, y, "3,7,12"): stops whose chips would overlap (revisits,
    neighbours at this scale) share one chip at the first one's place."""
    chips: list[list[Any]] = []
    for x, y, number in points:
        for c in chips:
            w = _chip_width(_runs([*c[2], number]))
            if abs(x - c[0]) < w / 2 + 2.8 and abs(y - c[1]) < 5.6:
                c[2].append(number)
                break
        else:
            chips.append([x, y, [number]])
    merged = True
    while merged:  # a chip that grew may now overlap another
        merged = False
        for a, b in ((a, b) for a in chips for b in chips if a is not b):
            wa, wb = _chip_width(_runs(a[2])), _chip_width(_runs(b[2]))
            if abs(a[0] - b[0]) < (wa + wb) / 2 + 0.4 and abs(a[1] - b[1]) < 5.6:
                a[2] += b[2]
                chips.remove(b)
                merged = True
                break
    return [(x, y, _runs(nums)) for x, y, nums in chips]


def _runs(numbers: Sequence[str]) -> str:
    """Stop numbers in order, runs of three or more as ranges: ``2,3,11–25``."""
    ints = sorted({int(v) for v in numbers if v.isdigit()})
    out: list[str] = []
    i = 0
    while i < len(ints):
        j = i
        while j + 1 < len(ints) and ints[j + 1] == ints[j] + 1:
            j += 1
        out += [f"{ints[i]}–{ints[j]}"] if j - i >= 2 else [str(v) for v in ints[i:j + 1]]
        i = j + 1
    return ",".join(out + [v for v in numbers if not v.isdigit()])


class _Labels:
    """Greedy placement: a label is drawn only where it overlaps no label, stop or base
    already placed (boxes estimated from the text length)."""

    def __init__(self, frame: _Frame) -> None:
        self.frame = frame
        self.taken: list[tuple[float, float, float, float]] = []

    def block(self, x: float, y: float, r: float) -> None:
        self.taken.append((x - r, y - r, x + r, y + r))

    def free(self, box: tuple[float, float, float, float]) -> bool:
        a0, b0, a1, b1 = box
        if a0 < 1 or b0 < 1 or a1 > self.frame.width - 1 or b1 > self.frame.height - 1:
            return False
        return not any(a0 < c1 and c0 < a1 and b0 < d1 and d0 < b1
                       for c0, d0, c1, d1 in self.taken)

    def place(self, x: float, y: float, text: str, size: float, weight: str,
              colour: str, italic: bool = False, gap: float = 1.5) -> str:
        """The label beside (x, y) where it is free: above, right, left or below, ``gap``
        mm from the point; "" where none is."""
        width = 0.56 * size * len(text) + 1.0
        for dx, dy, anchor in ((0.0, -gap, "middle"), (gap + 1.0, size / 2.8, "start"),
                               (-gap - 1.0, size / 2.8, "end"),
                               (0.0, size + gap - 0.3, "middle")):
            left = x + dx - (width / 2 if anchor == "middle" else width if anchor == "end" else 0)
            box = (left, y + dy - size, left + width, y + dy + 0.8)
            if self.free(box):
                self.taken.append(box)
                style = ' font-style="italic"' if italic else ""
                return (f'<text x="{x + dx:.1f}" y="{y + dy:.1f}" font-size="{size:.1f}" '
                        f'font-weight="{weight}" fill="{colour}" text-anchor="{anchor}"'
                        f'{style} class="halo">{escape(text)}</text>')
        return ""


ROAD_LABELS = 12
"""At most this many road names on a map (the longest roads in view first)."""


def _road_names(frame: _Frame, roads: Sequence[Mapping[str, Any]], labels: _Labels) -> list[str]:
    """Names along the longest named roads in view, turned to their direction, where they
    overlap nothing placed; one name once."""
    pieces = []
    for f in roads:
        name = str((f.get("properties") or {}).get("name") or "").strip()
        if not name:
            continue
        for line in _lines_of(f.get("geometry") or {}):
            pts = [frame.xy(c[0], c[1]) for c in line if len(c) >= 2 and _finite(c[0], c[1])]
            for (x0, y0), (x1, y1) in itertools.pairwise(pts):
                pieces.append((math.hypot(x1 - x0, y1 - y0), name, x0, y0, x1, y1))
    pieces.sort(key=lambda v: -v[0])
    out: list[str] = []
    named: set[str] = set()
    size = 3.6
    for length, name, x0, y0, x1, y1 in pieces:
        if len(out) >= ROAD_LABELS:
            break
        width = 0.5 * size * len(name) + 1.0
        if name in named or length < width + 4:
            continue
        angle = math.degrees(math.atan2(y1 - y0, x1 - x0))
        if angle > 90:
            angle -= 180
        elif angle < -90:
            angle += 180
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        a = math.radians(angle)
        half_w = abs(math.cos(a)) * width / 2 + abs(math.sin(a)) * size / 2
        half_h = abs(math.sin(a)) * width / 2 + abs(math.cos(a)) * size / 2
        box = (cx - half_w, cy - half_h, cx + half_w, cy + half_h)
        if not labels.free(box):
            continue
        labels.taken.append(box)
        named.add(name)
        out.append(f'<text x="{cx:.1f}" y="{cy + size / 3:.1f}" font-size="{size}" '
                   f'fill="#444" font-style="italic" text-anchor="middle" class="halo" '
                   f'transform="rotate({angle:.1f} {cx:.1f} {cy:.1f})">{escape(name)}</text>')
    return out


def crew_map(route: Mapping[str, Any], basemap: Mapping[str, Any] | None, *,
             colour: str = ROUTE_COLOURS[0], height_mm: float = 100.0,
             width_mm: float = PAGE_W_MM,
             bbox: tuple[float, float, float, float] | None = None) -> str:
    """One crew's map as inline SVG, ``width_mm`` x ``height_mm`` (1 user unit = 1 mm).

    Under the route: the basemap's built-up areas, roads by class, force boundary and labels
    (``basemap``: a GeoJSON FeatureCollection in WGS84 as :func:`api.services.basemap.basemap_features`
    gives it; None draws the route on white). On it: the route's legs, the base (a black
    square) and the stops numbered as in the table; a scale bar and a north arrow.
    """
    box = bbox or route_bbox(route)
    if box is None:
        return '<p class="no-map">No position to draw a map of.</p>'
    frame = _Frame(box, width_mm, height_mm)
    labels = _Labels(frame)
    feats = list((basemap or {}).get("features") or [])
    parts = [f'<svg class="crew-map" viewBox="0 0 {width_mm:.1f} {height_mm:.1f}" '
             f'width="{width_mm:.1f}mm" height="{height_mm:.1f}mm" role="img" '
             'preserveAspectRatio="xMidYMin slice" '
             f'aria-label="Map of the route of {escape(str(route.get("label", "")))}" '
             'font-family="system-ui, sans-serif">',
             f'<defs><clipPath id="clip-{id(route)}"><rect width="{width_mm:.1f}" '
             f'height="{height_mm:.1f}"/></clipPath></defs>',
             f'<rect width="{width_mm:.1f}" height="{height_mm:.1f}" fill="#fbfaf6"/>',
             f'<g clip-path="url(#clip-{id(route)})">']
    for f in feats:
        p, g = f.get("properties") or {}, f.get("geometry") or {}
        if p.get("layer") == "area":
            d = "".join(_path(frame, ring) + "Z" for ring in _lines_of(g))
            fill = "#ece6da" if p.get("kind") == "town" else "#f1ede4"
            parts.append(f'<path d="{d}" fill="{fill}" stroke="#d6cdb9" stroke-width="0.2"/>')
    roads = [f for f in feats if (f.get("properties") or {}).get("layer") == "road"]
    roads.sort(key=lambda f: -int(f["properties"].get("rank", 3)))
    for casing in (True, False):
        for f in roads:
            rank = min(max(int(f["properties"].get("rank", 3)), 0), len(_ROAD_STYLE) - 1)
            edge, fill, w = _ROAD_STYLE[rank]
            d = "".join(_path(frame, line) for line in _lines_of(f["geometry"]))
            if rank == len(_ROAD_STYLE) - 1:  # tracks: one dashed line
                if casing:
                    parts.append(f'<path d="{d}" fill="none" stroke="{edge}" '
                                 f'stroke-width="{w}" stroke-dasharray="1.2 0.8"/>')
                continue
            parts.append(f'<path d="{d}" fill="none" stroke="{edge if casing else fill}" '
                         f'stroke-width="{w + 0.35 if casing else w:.2f}" '
                         'stroke-linecap="round" stroke-linejoin="round"/>')
    for f in feats:
        if (f.get("properties") or {}).get("layer") == "boundary":
            d = "".join(_path(frame, line) for line in _lines_of(f.get("geometry") or {}))
            parts.append(f'<path d="{d}" fill="none" stroke="#6b4f8a" stroke-width="0.6" '
                         'stroke-dasharray="3 1.2 0.6 1.2"/>')
    # the route over the map, then its stops; labels placed round them
    for leg in route.get("legs") or []:
        d = _path(frame, leg)
        if d:
            parts.append(f'<path d="{d}" fill="none" stroke="#fff" stroke-width="2.2" '
                         'stroke-linejoin="round" stroke-linecap="round"/>'
                         f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="1.2" '
                         'stroke-linejoin="round" stroke-linecap="round"/>')
    marks: list[str] = []
    base_mark: tuple[float, float] | None = None
    points: list[tuple[float, float, str]] = []
    for s in route.get("stops") or []:
        if not _finite(s.get("lon"), s.get("lat")):
            continue
        x, y = frame.xy(s["lon"], s["lat"])
        if s.get("kind") == "base":
            if base_mark is None:
                base_mark = (x, y)
            continue
        points.append((x, y, str(s.get("seq", ""))))
    for x, y, text in _chips(points):
        w = _chip_width(text)
        labels.taken.append((x - w / 2 - 0.5, y - 3.1, x + w / 2 + 0.5, y + 3.1))
        marks.append(f'<rect x="{x - w / 2:.1f}" y="{y - 2.6:.1f}" width="{w:.1f}" '
                     f'height="5.2" rx="2.6" fill="{colour}" stroke="#fff" stroke-width="0.5"/>'
                     f'<text x="{x:.1f}" y="{y + 1.25:.1f}" font-size="3.6" font-weight="700" '
                     f'fill="#fff" text-anchor="middle">{escape(text)}</text>')
    if base_mark is not None:  # on top of the stops, named
        bx, by = base_mark
        labels.block(bx, by, 3.0)
        marks.append(f'<rect class="base-mark" x="{bx - 2.4:.1f}" y="{by - 2.4:.1f}" '
                     'width="4.8" height="4.8" fill="#111" stroke="#fff" stroke-width="0.6"/>')
        marks.append(labels.place(bx, by, "Base", 3.6, "700", "#111", gap=3.4))
    labels.block(frame.width - 9.0, 11.0, 7.0)  # the north arrow
    labels.taken.append((0.0, 0.0, frame.width / 5 + 24, 13.0))  # the scale bar
    texts = []
    order = {"town": 0, "village": 1, "heritage": 2, "town_centre": 3}
    found = [f for f in feats if (f.get("properties") or {}).get("layer") == "label"]
    found.sort(key=lambda f: order.get(f["properties"].get("kind"), 9))
    for f in found:
        p = f["properties"]
        coords = (f.get("geometry") or {}).get("coordinates") or []
        if len(coords) < 2 or not _finite(coords[0], coords[1]) or not p.get("name"):
            continue
        size, weight, fill = _LABEL_STYLE.get(p.get("kind"), (3.6, "400", "#333"))
        x, y = frame.xy(coords[0], coords[1])
        if p.get("kind") == "heritage":
            texts.append(f'<path d="M{x:.1f} {y - 1.4:.1f} L{x + 1.4:.1f} {y:.1f} '
                         f'L{x:.1f} {y + 1.4:.1f} L{x - 1.4:.1f} {y:.1f} Z" fill="{fill}"/>')
        texts.append(labels.place(x, y, str(p["name"]), size, weight, fill,
                                  italic=p.get("kind") == "heritage"))
    texts += _road_names(frame, roads, labels)
    parts += texts + marks
    parts.append("</g>")
    parts.append(_scale_bar(frame))
    parts.append(_north_arrow(frame))
    parts.append(f'<rect width="{width_mm:.1f}" height="{height_mm:.1f}" fill="none" '
                 'stroke="#555" stroke-width="0.4"/></svg>')
    return "".join(parts)


# --- the page --------------------------------------------------------------------------------


def _hhmm(iso: Any) -> str:
    return str(iso)[11:16] if isinstance(iso, str) and len(iso) >= 16 else ""


def _when(iso: Any) -> str:
    from datetime import datetime

    try:
        return datetime.fromisoformat(str(iso)).strftime("%a %d %b %Y %H:%M")
    except ValueError:
        return str(iso)


def _minutes(value: float) -> str:
    m = round(value)
    return f"{m} min" if m < 60 else f"{m // 60} h {m % 60:02d} min"


def _keys(route: Mapping[str, Any]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The categories to look for on this route, lettered A, B... most frequent first (with
    the taxonomy's advice), and each heritage site's stop numbers. Returns the legend and
    category -> letter."""
    counts: dict[str, dict[str, Any]] = {}
    for s in route.get("stops") or []:
        cats = [i for i in s.get("look_for") or [] if i.get("category") != "heritage_sites"]
        for item in cats[:2]:
            entry = counts.setdefault(item["category"], {"label": item.get("label") or
                                                          item["category"],
                                                          "advice": item.get("advice") or "",
                                                          "n": 0})
            entry["n"] += 1
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1]["n"], kv[1]["label"]))[:20]
    letters = {cat: chr(ord("A") + i) for i, (cat, _v) in enumerate(ordered)}
    legend = [{"key": letters[c], "label": v["label"], "advice": v["advice"], "n": v["n"]}
              for c, v in ordered]
    sites: list[str] = []
    for s in route.get("stops") or []:
        for item in s.get("look_for") or []:
            if item.get("category") == "heritage_sites":
                for site in str(item.get("advice", "")).removeprefix("Check: ").split(", "):
                    if site and site not in sites:
                        sites.append(site)
    if sites:
        letters["heritage_sites"] = "H" if "H" not in letters.values() else "*"
        which = ", ".join(sites) if len(sites) <= 3 else "the sites named on the map"
        legend.append({"key": letters["heritage_sites"], "label": "Heritage sites nearby",
                       "advice": f"check {which} for lead and metal theft, damage and "
                       "illegal metal detecting", "n": 1_000})
    return legend, letters


def _rows(route: Mapping[str, Any], letters: Mapping[str, str],
          grid: Callable[[Mapping[str, Any]], str]) -> list[dict[str, Any]]:
    rows = []
    stops = list(route.get("stops") or [])
    for i, s in enumerate(stops):
        if s.get("kind") == "base":
            rows.append({"base": True, "n": "", "where": s.get("name", ""), "grid": grid(s),
                         "patrol": ("Leave " if i == 0 else "Back ") + _hhmm(
                             s.get("departure") if i == 0 else s.get("arrival")),
                         "window": "", "look": "", "wait": ""})
            continue
        windows = s.get("windows") or []
        start = str(s.get("start", ""))
        # the busy hours the visit falls in (the first ones when it falls in none)
        inside = [(a, b) for a, b in windows if str(a) <= start <= str(b)] or windows[:1]
        window = " ".join(f"{_hhmm(a)}–{_hhmm(b)}" for a, b in inside[:1])
        cats = [i for i in s.get("look_for") or [] if i.get("category") != "heritage_sites"]
        keys = [letters[c["category"]] for c in cats[:2] if c["category"] in letters]
        if any(i.get("category") == "heritage_sites" for i in s.get("look_for") or []):
            keys.append(letters.get("heritage_sites", "H"))
        name = str(s.get("name", ""))
        if s.get("visits") and s["visits"] > 1:
            name += f" (visit {s.get('visit')} of {s['visits']})"
        idle = float(s.get("idle_min") or 0.0)
        rows.append({"base": False, "n": s.get("seq", ""), "where": name, "grid": grid(s),
                     "patrol": f"{_hhmm(s.get('start'))}–{_hhmm(s.get('departure'))}",
                     "window": window, "look": " ".join(keys),
                     "wait": _minutes(idle) if idle > 0 else ""})
    return rows


_ENV.filters["when"] = _when
_PAGE = _ENV.from_string("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Briefing: {{ name or "patrol plan" }}</title>
<style>
@page { size: A4; margin: 10mm; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { font: 10pt/1.25 system-ui, "DejaVu Sans", sans-serif; color: #111; margin: 0 auto;
  max-width: 190mm; }
section.crew { break-after: page; page-break-after: always; break-inside: avoid;
  height: 276mm; overflow: hidden; display: flex; flex-direction: column; }
section.crew > * { flex: none; }
section.crew > .crew-map { flex: 0 1 auto; min-height: 40mm; }
section.crew:last-of-type { break-after: auto; page-break-after: auto; }
.top { display: flex; gap: 4mm; align-items: flex-start; }
.top .who { flex: 1; min-width: 0; }
h1 { font-size: 15pt; margin: 0 0 1mm; line-height: 1.15; }
p.meta { margin: 0 0 1.5mm; }
.qr-box { width: 30mm; text-align: center; font-size: 10pt; line-height: 1.1; }
.qr-box svg { width: 24mm; height: 24mm; display: block; margin: 0 auto; }
.qr-box span { display: block; overflow-wrap: anywhere; }
.warn { border: 0.6mm solid #b45309; background: #fff7ed; padding: 1.2mm 2mm;
  margin: 0 0 1.5mm; }
.empty { border: 0.6mm solid #555; padding: 4mm; font-size: 12pt; margin: 2mm 0; }
.crew-map { display: block; margin: 0 0 1.5mm; }
.crew-map text.halo { paint-order: stroke; stroke: #fff; stroke-width: 0.9px;
  stroke-linejoin: round; }
table { border-collapse: collapse; width: 100%; table-layout: fixed; font-size: 10pt; }
table, dl.legend, .warn { font-family: {{ narrow|safe }}; }
col.tick { width: 7mm; } col.n { width: 7mm; } col.grid { width: 29mm; }
col.patrol { width: 21mm; } col.window { width: 20mm; } col.look { width: 12mm; }
col.notes { width: 34mm; }
th, td { border: 0.25mm solid #888; padding: 0.25mm 1mm; text-align: left;
  vertical-align: top; line-height: 1.12; }
section.roomy td { padding: 1.4mm 1mm; }
th { background: #e8e8e8; font-weight: 600; }
td.n, td.tick { text-align: center; } td.grid { white-space: nowrap; font-variant-numeric:
  tabular-nums; } td.patrol, td.window { font-variant-numeric: tabular-nums; }
td.where { overflow-wrap: anywhere; }
tr.base td { background: #f3f3f3; }
.box { display: inline-block; width: 3.6mm; height: 3.6mm; border: 0.35mm solid #111;
  vertical-align: middle; }
.wait { display: block; color: #9a3412; font-weight: 600; }
dl.legend { margin: 1.5mm 0 0; columns: 2; column-gap: 5mm; }
dl.legend div { margin: 0 0 0.5mm; break-inside: avoid; }
dl.legend dt { display: inline; font-weight: 700; } dl.legend dd { display: inline;
  margin: 0; }
footer { margin-top: auto; padding-top: 1mm; font-size: 10pt; color: #333;
  font-family: {{ narrow|safe }}; line-height: 1.15; }
@media screen { body { padding: 4mm; } section.crew { height: auto; overflow: visible;
  border-bottom: 2px dashed #999; margin-bottom: 8mm; padding-bottom: 4mm; } }
.draft { font-size: 11pt; border: 2px solid #b00020; color: #b00020; padding: 0 2mm;
  vertical-align: middle; }
</style>{% if nav %}<style>{{ nav_css }}</style>{% endif %}</head><body>
{{ nav|safe }}
{% for c in crews %}
<section class="crew{% if c.roomy %} roomy{% endif %}" aria-label="{{ c.route.label }}">
<div class="top"><div class="who">
<h1>{{ c.route.label }}{% if draft %} <span class="draft">DRAFT: not published</span>{% endif %}</h1>
<p class="meta">{{ c.title }} &middot; {{ name or "Patrol plan" }}<br>
Shift {{ shift.start|when }} to {{ shift.end|when }}<br>
{% if c.stops %}{{ c.stops }} stop{{ "s" if c.stops != 1 }}, {{ c.km }} km &middot;
out {{ c.out }}, back {{ c.back }}{% else %}No stops{% endif %}</p>
</div>
{% if c.qr %}<div class="qr-box">{{ c.qr|safe }}<span>{{ c.link_text }}</span></div>{% endif %}
</div>
{% for w in c.warnings %}<p class="warn" role="note">{{ w }}</p>{% endfor %}
{% if not c.stops %}
<p class="empty"><strong>No stops for this crew:</strong> {{ c.empty_reason }}.
Patrol from {{ c.rows[0].where if c.rows else "the base" }}
{%- if c.rows and c.rows[0].grid %} ({{ c.rows[0].grid }}){% endif %} as your supervisor
directs, and scan the code to see the plan.</p>
{% endif %}
{{ c.map|safe }}
{% if c.stops %}
<table><colgroup><col class="tick"><col class="n"><col class="where"><col class="grid">
<col class="patrol"><col class="window"><col class="look"><col class="notes"></colgroup>
<thead><tr><th scope="col" aria-label="Done">&#10003;</th><th scope="col">#</th>
<th scope="col">Where</th><th scope="col">Grid ref</th><th scope="col">Patrol</th>
<th scope="col">Busiest</th><th scope="col">Look</th><th scope="col">Notes</th></tr></thead>
<tbody>
{% for r in c.rows %}
<tr{% if r.base %} class="base"{% endif %}><td class="tick">
{%- if not r.base %}<span class="box"></span>{% endif %}</td>
<td class="n">{{ r.n }}</td><td class="where">{{ r.where }}</td>
<td class="grid">{{ r.grid }}</td>
<td class="patrol">{{ r.patrol }}{% if r.wait %}<span class="wait">wait {{ r.wait }}</span>{% endif %}</td>
<td class="window">{{ r.window }}</td><td class="look">{{ r.look }}</td><td></td></tr>
{% endfor %}
</tbody></table>
{% endif %}
{% if c.legend %}<dl class="legend" aria-label="What to look for">
{% for k in c.legend %}<div><dt>{{ k.key }} {{ k.label }}{% if k.advice %}:{% endif %}</dt>
{% if k.advice %} <dd>{{ k.advice }}</dd>{% endif %}</div>{% endfor %}
</dl>{% endif %}
<footer>Grid ref: OS National Grid. Patrol: when to be there ({{ dwell }} on the spot);
busiest: the hours the place is busiest. {{ attribution }}</footer>
</section>
{% endfor %}
{% if not crews %}<p>This plan has no crews.</p>{% endif %}
</body></html>
""")


def _title(route: Mapping[str, Any]) -> str:
    if route.get("unit") == "rural_crime_team":
        return UNIT_NAMES["rural_crime_team"]
    return f"Town centre officers, {route.get('town') or ''}".rstrip(", ")


def _grid(stop: Mapping[str, Any]) -> str:
    return str(stop.get("grid_ref") or "")  # api.services.briefing.add_grid_refs fills older plans


def _legend_lines(legend: Sequence[Mapping[str, Any]]) -> int:
    lines = [1 + (len(k["key"]) + len(k["label"]) + len(k["advice"]) + 3) // LEGEND_CHARS
             for k in legend]
    return math.ceil(sum(lines) / 2) + (1 if len(lines) > 1 else 0)


def _fit_legend(legend: list[dict[str, Any]], rows: int, note_lines: int,
                row_mm: float = ROW_MM) -> float:
    """The map's height (mm): what the page has left at 10 pt once the header, the table
    (``rows`` lines), the notes and the legend are laid out. While that is under
    :data:`MAP_MIN_MM`, the legend drops the advice of its category at the fewest stops."""
    fixed = 27.0 + 6.0 + 9.5 + 1.0  # header with the QR code; table head; footer; gaps

    def left() -> float:
        return PAGE_H_MM - fixed - rows * row_mm - (note_lines + _legend_lines(legend)) * LINE_MM

    for entry in sorted(legend, key=lambda k: k["n"]):
        if left() >= MAP_MIN_MM:
            break
        if entry["label"] != "Heritage sites nearby":
            entry["advice"] = ""
    return max(MAP_MIN_MM, min(MAP_MAX_MM, left()))


def briefing_page(document: Mapping[str, Any], *, nav: str = "", nav_css: str = "",
                  basemaps: Mapping[str, Mapping[str, Any]] | None = None,
                  crew_urls: Mapping[str, str] | None = None) -> str:
    """The briefing: one A4 page per crew of the plan, crews with no stops included.

    Parameters
    ----------
    document
        The plan document (``GET /v1/patrol-plans/{id}``; WGS84, local ISO times).
    nav, nav_css
        The navigation bar (safe HTML) and its CSS, on screen only.
    basemaps
        Per route label, the map under its route (GeoJSON, WGS84): roads, areas, boundary,
        labels.
    crew_urls
        Per route label, the absolute URL of the crew's field view (its short link): printed
        as a QR code and as text.

    A draft (``published`` false) says so on every page: its QR code leads to a field view
    the Rural Crime Team cannot open until the plan is published.
    """
    basemaps = basemaps or {}
    crew_urls = crew_urls or {}
    warnings: dict[str, list[str]] = {}
    for w in document.get("warnings") or []:
        if w.get("kind") == "idle" and w.get("route"):
            warnings.setdefault(w["route"], []).append(str(w.get("message", "")))
    crews = []
    for n, r in enumerate(document.get("routes") or []):
        legend, letters = _keys(r)
        rows = _rows(r, letters, _grid)
        stops = int((r.get("totals") or {}).get("stops") or 0)
        wrapped = sum(1 for row in rows if len(str(row["where"])) > WHERE_CHARS or row["wait"]
                      or row["window"].count("–") > 1)
        crew_warnings = warnings.get(r.get("label", ""), [])
        empty = None if stops else (r.get("empty_reason") or "nothing to visit in this plan")
        notes = sum(2 + len(w) // 110 for w in crew_warnings) + (3 if empty else 0)
        roomy = _fit_legend([dict(k) for k in legend], len(rows) + wrapped, notes,
                            ROOMY_ROW_MM) >= ROOMY_MAP_MM
        height = _fit_legend(legend, len(rows) + wrapped, notes,
                             ROOMY_ROW_MM if roomy else ROW_MM)
        if empty:
            height = min(height, 110.0)
        url = crew_urls.get(r.get("label", ""))
        totals = r.get("totals") or {}
        crews.append({
            "route": r, "title": _title(r), "stops": stops,
            "km": f"{float(totals.get('distance_m') or 0) / 1000:.1f}",
            "out": _hhmm(totals.get("start")), "back": _hhmm(totals.get("end")),
            "rows": rows, "legend": legend, "roomy": roomy,
            "warnings": crew_warnings, "empty_reason": empty,
            "qr": qr_svg(url, title=f"Field view of {r.get('label', '')}") if url else "",
            "link_text": url.split("://", 1)[-1] if url else "",
            "map": crew_map(r, basemaps.get(r.get("label", "")),
                            colour=ROUTE_COLOURS[n % len(ROUTE_COLOURS)], height_mm=height),
        })
    dwell = (document.get("options") or {}).get("dwell_min")
    draft = document.get("published") is False  # older plans (no flag) count as published
    return _PAGE.render(crews=crews, name=document.get("name"), shift=document["shift"],
                        draft=draft,
                        attribution=document.get("attribution", ""), nav=nav, nav_css=nav_css,
                        narrow=NARROW, dwell=_minutes(float(dwell)) if dwell else "the set time")
