"""One crew's map for the printed briefing, drawn as inline SVG (1 user unit = 1 mm).

:func:`crew_map` draws, in this order: the basemap's built-up areas, roads by class (casing,
then fill) and force boundary; the route's legs; the stops as numbered chips (stops close on
the page share one; a chip that would cover another moves beside its stop, a line pointing to
it) and the base as a black square; the names of towns, villages, heritage sites and town
centres and of the longest roads, each placed only where it overlaps nothing drawn; a scale bar
and a north arrow. The route's box fits the map with room for a chip on its edge
(:data:`FRAME_PAD_MM`); where the map's shape differs from the box's it shows more round it,
and its basemap should cover all it shows (:func:`map_bbox`). No tiles and no script. The
basemap comes in as GeoJSON (WGS84), as :func:`api.services.basemap.basemap_features` gives
it; every text from data is escaped (:func:`html.escape`). Sizes are millimetres on the page.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

from maps.styles import ROUTE_COLOURS

PAGE_W_MM = 190.0
"""Printed width inside the page margins (A4 with 10 mm margins), millimetres."""
_ROAD_STYLE = (("#7a4a00", "#f2a93b", 1.3), ("#7a4a00", "#f7c66b", 1.1),
               ("#8a6a20", "#fbe3a0", 0.9), ("#777", "#fff", 0.7), ("#999", "#fff", 0.5),
               ("#8c7b63", "", 0.35))
"""Roads by class (in :data:`api.services.basemap_layers.ROAD_CLASSES` order): casing colour,
fill colour, width in mm."""
_LABEL_STYLE = {"town": (4.6, "700", "#111"), "village": (3.6, "600", "#222"),
                "town_centre": (3.6, "400", "#333"), "heritage": (3.6, "400", "#5b2a86")}
"""Label kind: font size (mm; 3.53 mm is 10 pt), weight, colour."""
FRAME_PAD_MM = 3.5
"""Room (mm) between the route's box and the map's border: a stop's chip (2.6 mm each side
of the stop and its outline) and the route's line on the box's edge print whole."""
_NICE_M = (50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 25000, 50000)
"""The lengths a scale bar may show, metres."""


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


def map_bbox(route: Mapping[str, Any], *, height_mm: float = 100.0,
             width_mm: float = PAGE_W_MM) -> tuple[float, float, float, float] | None:
    """The WGS84 box (west, south, east, north) that :func:`crew_map` of ``route`` at this
    size shows from border to border: :func:`route_bbox` widened (or heightened) to the
    drawing's shape. The basemap under the map has to cover this box, not only the route's,
    or its roads stop short of the border. None when the route has no finite point."""
    box = route_bbox(route)
    return None if box is None else _Frame(box, width_mm, height_mm).shown


def crew_map(route: Mapping[str, Any], basemap: Mapping[str, Any] | None, *,
             colour: str = ROUTE_COLOURS[0], height_mm: float = 100.0,
             width_mm: float = PAGE_W_MM,
             bbox: tuple[float, float, float, float] | None = None) -> str:
    """One crew's map as inline SVG, ``width_mm`` x ``height_mm`` (1 user unit = 1 mm).

    Under the route: the basemap's built-up areas, roads by class, force boundary and labels
    (``basemap``: a GeoJSON FeatureCollection in WGS84 as
    :func:`api.services.basemap.basemap_features` gives it; None draws the route on white).
    On it: the route's legs, the base (a black square) and the stops numbered as in the
    table; a scale bar and a north arrow. ``bbox``: the WGS84 box (west, south, east, north)
    to show, by default :func:`route_bbox`; it fits the drawing with :data:`FRAME_PAD_MM` to
    spare, and the drawing shows more round it where their shapes differ
    (:func:`map_bbox`: what the basemap should cover).
    """
    box = bbox or route_bbox(route)
    if box is None:
        return '<p class="no-map">No position to draw a map of.</p>'
    frame = _Frame(box, width_mm, height_mm)
    labels = _Labels(frame)
    features = list((basemap or {}).get("features") or [])
    roads = _roads_major_last(features)
    parts = _svg_start(route, frame)
    parts += _built_up_areas(frame, features)
    parts += _road_lines(frame, roads)
    parts += _force_boundary(frame, features)
    parts += _route_legs(frame, route, colour)
    # the stops first, then every name placed round them where it overlaps nothing
    _reserve_scale_bar_and_north_arrow(frame, labels)
    marks = _stop_marks(frame, route, colour, labels)
    parts += _place_names(frame, features, labels)
    parts += _road_names(frame, roads, labels)
    parts += marks
    parts += _svg_end(frame)
    return "".join(parts)


def _svg_start(route: Mapping[str, Any], frame: _Frame) -> list[str]:
    """The ``<svg>`` element, its clip path, the paper colour, and the clipped group opened.
    A page that must give the map less height than it was drawn for shrinks the whole drawing
    ("meet"), never cuts off its foot."""
    width_mm, height_mm = frame.width, frame.height
    return [f'<svg class="crew-map" viewBox="0 0 {width_mm:.1f} {height_mm:.1f}" '
            f'width="{width_mm:.1f}mm" height="{height_mm:.1f}mm" role="img" '
            'preserveAspectRatio="xMidYMin meet" '
            f'aria-label="Map of the route of {escape(str(route.get("label", "")))}" '
            'font-family="system-ui, sans-serif">',
            f'<defs><clipPath id="clip-{id(route)}"><rect width="{width_mm:.1f}" '
            f'height="{height_mm:.1f}"/></clipPath></defs>',
            f'<rect width="{width_mm:.1f}" height="{height_mm:.1f}" fill="#fbfaf6"/>',
            f'<g clip-path="url(#clip-{id(route)})">']


def _svg_end(frame: _Frame) -> list[str]:
    """The clipped group closed, the scale bar, the north arrow and the map's border."""
    return ["</g>", _scale_bar(frame), _north_arrow(frame),
            f'<rect width="{frame.width:.1f}" height="{frame.height:.1f}" fill="none" '
            'stroke="#555" stroke-width="0.4"/></svg>']


def _features_of(features: Sequence[Mapping[str, Any]], name: str) -> list[Mapping[str, Any]]:
    return [f for f in features if (f.get("properties") or {}).get("layer") == name]


def _built_up_areas(frame: _Frame, features: Sequence[Mapping[str, Any]]) -> list[str]:
    """Towns and villages as filled shapes (towns a shade darker)."""
    out = []
    for f in _features_of(features, "area"):
        p, g = f.get("properties") or {}, f.get("geometry") or {}
        d = "".join(_path(frame, ring) + "Z" for ring in _lines_of(g))
        fill = "#ece6da" if p.get("kind") == "town" else "#f1ede4"
        out.append(f'<path d="{d}" fill="{fill}" stroke="#d6cdb9" stroke-width="0.2"/>')
    return out


def _roads_major_last(features: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The roads, least important class first (so major roads draw on top)."""
    roads = _features_of(features, "road")
    roads.sort(key=lambda f: -int(f["properties"].get("rank", 3)))
    return roads


def _road_lines(frame: _Frame, roads: Sequence[Mapping[str, Any]]) -> list[str]:
    """Every road's casing, then every road's fill, styled by class; tracks one dashed line."""
    out = []
    for casing in (True, False):
        for f in roads:
            rank = min(max(int(f["properties"].get("rank", 3)), 0), len(_ROAD_STYLE) - 1)
            edge, fill, w = _ROAD_STYLE[rank]
            d = "".join(_path(frame, line) for line in _lines_of(f["geometry"]))
            if rank == len(_ROAD_STYLE) - 1:  # tracks: one dashed line
                if casing:
                    out.append(f'<path class="road" d="{d}" fill="none" stroke="{edge}" '
                               f'stroke-width="{w}" stroke-dasharray="1.2 0.8"/>')
                continue
            out.append(f'<path class="road" d="{d}" fill="none" '
                       f'stroke="{edge if casing else fill}" '
                       f'stroke-width="{w + 0.35 if casing else w:.2f}" '
                       'stroke-linecap="round" stroke-linejoin="round"/>')
    return out


def _force_boundary(frame: _Frame, features: Sequence[Mapping[str, Any]]) -> list[str]:
    out = []
    for f in _features_of(features, "boundary"):
        d = "".join(_path(frame, line) for line in _lines_of(f.get("geometry") or {}))
        out.append(f'<path d="{d}" fill="none" stroke="#6b4f8a" stroke-width="0.6" '
                   'stroke-dasharray="3 1.2 0.6 1.2"/>')
    return out


def _route_legs(frame: _Frame, route: Mapping[str, Any], colour: str) -> list[str]:
    """The route's legs in its colour over a white halo."""
    out = []
    for leg in route.get("legs") or []:
        d = _path(frame, leg)
        if d:
            out.append(f'<path class="leg" d="{d}" fill="none" stroke="#fff" '
                       'stroke-width="2.2" stroke-linejoin="round" stroke-linecap="round"/>'
                       f'<path class="leg" d="{d}" fill="none" stroke="{colour}" '
                       'stroke-width="1.2" stroke-linejoin="round" stroke-linecap="round"/>')
    return out


def _stop_marks(frame: _Frame, route: Mapping[str, Any], colour: str,
                labels: _Labels) -> list[str]:
    """The stops as numbered chips (:func:`_chips`) and the base as a named black square on
    top; the room they take is kept from the labels."""
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
    # the chips keep off one another, the base, the scale bar and the north arrow
    taken = [*labels.taken, *([(base_mark[0] - 2.7, base_mark[1] - 2.7, base_mark[0] + 2.7,
                                base_mark[1] + 2.7)] if base_mark else [])]
    leaders: list[str] = []
    for x, y, text in _chips(points):
        w = _chip_width(text)
        cx, cy = _chip_spot(frame, x, y, w, taken)
        taken.append((cx - w / 2 - 0.3, cy - 2.9, cx + w / 2 + 0.3, cy + 2.9))
        labels.taken.append((cx - w / 2 - 0.5, cy - 3.1, cx + w / 2 + 0.5, cy + 3.1))
        if math.hypot(cx - x, cy - y) > 2.0:  # moved off its stop: a line to a dot on it
            leaders.append(f'<path class="leader" d="M{x:.1f} {y:.1f}L{cx:.1f} {cy:.1f}" '
                           'stroke="#111" stroke-width="0.35"/>'
                           f'<circle cx="{x:.1f}" cy="{y:.1f}" r="1" fill="{colour}" '
                           'stroke="#fff" stroke-width="0.4"/>')
        marks.append(f'<rect x="{cx - w / 2:.1f}" y="{cy - 2.6:.1f}" width="{w:.1f}" '
                     f'height="5.2" rx="2.6" fill="{colour}" stroke="#fff" stroke-width="0.5"/>'
                     f'<text x="{cx:.1f}" y="{cy + 1.25:.1f}" font-size="3.6" font-weight="700" '
                     f'fill="#fff" text-anchor="middle">{escape(text)}</text>')
    marks[:0] = leaders
    if base_mark is not None:  # on top of the stops, named
        bx, by = base_mark
        labels.block(bx, by, 3.0)
        marks.append(f'<rect class="base-mark" x="{bx - 2.4:.1f}" y="{by - 2.4:.1f}" '
                     'width="4.8" height="4.8" fill="#111" stroke="#fff" stroke-width="0.6"/>')
        marks.append(labels.place(bx, by, "Base", 3.6, "700", "#111", gaps=(3.4,)))
    return marks


def _chip_spot(frame: _Frame, x: float, y: float, width: float,
               taken: Sequence[tuple[float, float, float, float]]) -> tuple[float, float]:
    """Where the chip ``width`` mm wide of the stop at (x, y) goes: on the stop, or, where it
    would cover a chip placed before (or ``taken``: the base, the scale bar, the north
    arrow), beside it (above, below, right, left, then the corners; one chip's room away,
    then two), its stop then marked by a dot and a line to it; on the stop when nowhere near
    is free. Always whole on the map: a chip wider than the room beside its stop at the
    border moves in."""
    def inside(cx: float, cy: float) -> tuple[float, float]:
        return (min(max(cx, width / 2 + 0.5), frame.width - width / 2 - 0.5),
                min(max(cy, 3.1), frame.height - 3.1))

    def free(cx: float, cy: float) -> bool:
        a0, b0, a1, b1 = cx - width / 2 - 0.3, cy - 2.9, cx + width / 2 + 0.3, cy + 2.9
        return not any(a0 < c1 and c0 < a1 and b0 < d1 and d0 < b1 for c0, d0, c1, d1 in taken)

    across, up = width / 2 + 3.2, 6.0
    for dx, dy in ((0.0, 0.0), *((k * dx, k * dy) for k in (1, 2) for dx, dy in (
            (0.0, -up), (0.0, up), (across, 0.0), (-across, 0.0),
            (across, -up), (-across, -up), (across, up), (-across, up)))):
        spot = inside(x + dx, y + dy)
        if free(*spot):
            return spot
    return inside(x, y)


def _reserve_scale_bar_and_north_arrow(frame: _Frame, labels: _Labels) -> None:
    """Keep labels off the corners where :func:`_scale_bar` and :func:`_north_arrow` go."""
    labels.block(frame.width - 9.0, 11.0, 7.0)  # the north arrow
    labels.taken.append((0.0, 0.0, frame.width / 5 + 24, 13.0))  # the scale bar


_PLACE_ORDER = {"town": 0, "village": 1, "heritage": 2, "town_centre": 3}
"""The order place names are placed in (first placed wins a contested spot)."""
_PLACE_GAPS_MM = {"town": (1.5, 4.0, 6.5), "village": (1.5, 4.0, 6.5)}
"""How far from its point a town's or village's name may go (mm): just beside it first, then
further out. A stop's chip keeps 3.1 mm round the stop (more for merged numbers), so in a town
or village the route stops in the spots just beside the name's point are taken; other place
names (heritage sites with their diamond, town centres) stay just beside their point."""


def _place_names(frame: _Frame, features: Sequence[Mapping[str, Any]],
                 labels: _Labels) -> list[str]:
    """Names of towns, villages, heritage sites (with a diamond) and town centres, each
    where it overlaps nothing placed (a town's or village's a little further out from its
    point when the stops' chips cover the spots beside it: :data:`_PLACE_GAPS_MM`)."""
    texts = []
    found = _features_of(features, "label")
    found.sort(key=lambda f: _PLACE_ORDER.get(f["properties"].get("kind"), 9))
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
                                  italic=p.get("kind") == "heritage",
                                  gaps=_PLACE_GAPS_MM.get(p.get("kind"), (1.5,))))
    return texts

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


# --- drawing on the page: the projection, paths, chips, labels, scale bar, north arrow

class _Frame:
    """A north-up projection of a WGS84 box onto a ``width`` x ``height`` mm drawing
    (equirectangular, longitudes scaled by the cosine of the middle latitude: true to a few
    parts in a thousand over a county). The box fits inside the drawing with ``pad`` mm to
    spare on every side, so that a stop's chip on the box's edge still prints whole."""

    def __init__(self, bbox: tuple[float, float, float, float], width: float,
                 height: float, pad: float = FRAME_PAD_MM) -> None:
        w, s, e, n = bbox
        self.cos_lat = math.cos(math.radians((s + n) / 2))
        span_x = max((e - w) * self.cos_lat, 1e-9)
        span_y = max(n - s, 1e-9)
        # mm per degree of latitude
        self.scale = min(max(width - 2 * pad, 1.0) / span_x, max(height - 2 * pad, 1.0) / span_y)
        cx, cy = (w + e) / 2, (s + n) / 2
        self.x0 = width / 2 - cx * self.cos_lat * self.scale
        self.y0 = height / 2 + cy * self.scale
        self.width, self.height = width, height

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        return (self.x0 + lon * self.cos_lat * self.scale, self.y0 - lat * self.scale)

    def lonlat(self, x: float, y: float) -> tuple[float, float]:
        """The WGS84 (longitude, latitude) at (x, y) mm on the drawing."""
        return ((x - self.x0) / (self.cos_lat * self.scale), (self.y0 - y) / self.scale)

    @property
    def shown(self) -> tuple[float, float, float, float]:
        """The WGS84 box (west, south, east, north) the whole drawing shows: wider (or
        taller) than the box it was made for when the drawing's shape differs from the box's."""
        w, n = self.lonlat(0.0, 0.0)
        e, s = self.lonlat(self.width, self.height)
        return (w, s, e, n)

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


CHIP_JOIN_MM = 4.0
"""A chip stands only for stops this close (mm on the page) to its first stop, about under
it (a chip is 5.2 mm high): revisits and next-door stops share a chip, but a chain of
neighbours never joins stops far apart on the page (:func:`_chips`)."""


def _chips(points: Sequence[tuple[float, float, str]]) -> list[tuple[float, float, str]]:
    """Stop numbers as chips (x, y, "3,7,12"): stops whose chips would overlap (revisits,
    neighbours at this scale) share one chip at the first one's place, as long as every stop
    of the chip is within :data:`CHIP_JOIN_MM` of that place. Chips further apart keep their
    own numbers even where they touch: one chip for stops kilometres apart would send a
    crew to the wrong place."""
    chips: list[tuple[float, float, list[str], list[tuple[float, float]]]] = []

    def close(c: tuple[float, float, list[str], list[tuple[float, float]]],
              where: Sequence[tuple[float, float]]) -> bool:
        return all(math.hypot(x - c[0], y - c[1]) <= CHIP_JOIN_MM for x, y in where)

    for x, y, number in points:
        for c in chips:
            w = _chip_width(_runs([*c[2], number]))
            if abs(x - c[0]) < w / 2 + 2.8 and abs(y - c[1]) < 5.6 and close(c, [(x, y)]):
                c[2].append(number)
                c[3].append((x, y))
                break
        else:
            chips.append((x, y, [number], [(x, y)]))
    merged = True
    while merged:  # a chip that grew may now overlap another: one chip if it stays close
        merged = False
        for a, b in ((a, b) for a in chips for b in chips if a is not b):
            wa, wb = _chip_width(_runs(a[2])), _chip_width(_runs(b[2]))
            if (abs(a[0] - b[0]) < (wa + wb) / 2 + 0.4 and abs(a[1] - b[1]) < 5.6
                    and close(a, b[3])):
                a[2].extend(b[2])
                a[3].extend(b[3])
                chips.remove(b)
                merged = True
                break
    return [(x, y, _runs(nums)) for x, y, nums, _where in chips]


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
              colour: str, italic: bool = False, gaps: Sequence[float] = (1.5,)) -> str:
        """The label beside (x, y) where it is free: above, right, left or below, the first
        of ``gaps`` (mm from the point) that has a free spot; "" where none has."""
        width = 0.56 * size * len(text) + 1.0
        spots = [(dx, dy, anchor) for gap in gaps
                 for dx, dy, anchor in ((0.0, -gap, "middle"), (gap + 1.0, size / 2.8, "start"),
                                        (-gap - 1.0, size / 2.8, "end"),
                                        (0.0, size + gap - 0.3, "middle"))]
        for dx, dy, anchor in spots:
            left = x + dx - (width / 2 if anchor == "middle" else width if anchor == "end" else 0)
            box = (left, y + dy - size, left + width, y + dy + 0.8)
            if self.free(box):
                self.taken.append(box)
                style = ' font-style="italic"' if italic else ""
                return (f'<text x="{x + dx:.1f}" y="{y + dy:.1f}" font-size="{size:.1f}" '
                        f'font-weight="{weight}" fill="{colour}" text-anchor="{anchor}"'
                        f'{style} class="halo">{escape(text)}</text>')
        return ""
