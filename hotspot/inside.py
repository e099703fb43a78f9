"""Which polygons hold which points, for a million points: a grid decides most points by their
cell, GEOS only the points near a polygon's edge.

:func:`point_hits` gives exactly the (point, polygon) pairs of
``shapely.STRtree(geoms).query(shapely.points(xy), predicate=predicate)`` for the predicates
``"within"`` (the point in a polygon's interior) and ``"intersects"`` (in its interior or on
its boundary), without making a shapely point for most points.

How: a square grid of cells ``c`` metres is laid over the polygons' bounding boxes (``c`` so
that the boxes hold about :data:`TARGET_CELLS` cells, fewer for few points). A cell is *on the
edge* of a polygon when some point of the polygon's boundary may lie in the cell's closed
square, widened by an eighth of a cell: the boundary is cut into pieces no longer than a cell,
and every cell whose widened square meets a piece's bounding box is marked, so no boundary
point escapes (each lies in its piece's box).
A run of cells along a grid row that are not on the polygon's edge touches no point of its
boundary, so the whole run is inside the polygon's interior or wholly outside it: one GEOS test
of the first cell's centre tells which. A point then takes every polygon whose interior holds
its cell; for each polygon whose edge its cell is on, GEOS tests that point against that
polygon (``contains_xy`` for "within", ``intersects_xy`` for "intersects", prepared). Points on
a boundary are always in an edge cell, so the two predicates differ only there, where GEOS
decides.

Geometries that are not polygons (points, lines) are left to GEOS: each cell of their
bounding box counts as on their edge. Units: the coordinates' (metres in a projected CRS for
this project, but nothing here depends on it).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import shapely

from hotspot._native import loaded_native_steps
from hotspot.errors import InvalidParameter


def prepared_copies(geoms: Any) -> Any:
    """Copies of ``geoms`` (one geometry or an array of them), prepared for repeated
    predicates: the same coordinates in new objects, so the caller's geometries are never
    changed.

    GEOS prepared geometries are not thread-safe (libgeos/geos#825: their indexes are built
    lazily on first use), and preparing or un-preparing a geometry changes the object itself:
    a geometry shared between threads (a force area, reference layers or a result's polygons
    held by a cache and read by concurrent requests, or by the threads of one analysis) must
    never be prepared in place. A copy belongs to its caller's thread. Geometries with Z
    go through WKB (their Z kept); others through ``shapely.transform`` (about 8 us each)."""
    arr = np.asarray(geoms, dtype=object)
    if arr.size:
        present = np.asarray(shapely.is_geometry(arr))
        if bool(np.asarray(shapely.has_z(arr[present])).any()):
            copies = shapely.from_wkb(shapely.to_wkb(arr, include_srid=False))
        else:
            copies = shapely.transform(arr, lambda c: c)
        shapely.prepare(copies)
        arr = np.asarray(copies, dtype=object)
    return arr.reshape(()).item() if arr.ndim == 0 else arr


_mine = threading.local()
_KEPT = 8
"""Prepared copies :func:`prepared_copy` keeps per thread."""


def prepared_copy(geom: Any) -> Any:
    """:func:`prepared_copies` of one geometry, kept by this thread for the next calls with
    the same object (the last :data:`_KEPT`): a force area clipped against for every
    candidate and fold of a backtest is copied and prepared once, not each time."""
    kept: dict[int, tuple[Any, Any]] = getattr(_mine, "kept", None) or {}
    hit = kept.get(id(geom))
    if hit is not None and hit[0] is geom:
        return hit[1]
    copy = prepared_copies(geom)
    if len(kept) >= _KEPT:
        kept.pop(next(iter(kept)))
    kept[id(geom)] = (geom, copy)  # the object itself is held: its id is not reused
    _mine.kept = kept
    return copy


V = TypeVar("V")
KEPT_BYTES = 64 * 2**20
"""Most bytes the values :func:`kept_for` keeps take together (as their ``size`` says)."""
KEPT_VALUES = 16
"""Most values :func:`kept_for` keeps."""
_kept: OrderedDict[tuple[Any, ...], tuple[np.ndarray, Any, int]] = OrderedDict()
_kept_lock = threading.Lock()


def kept_for(geoms: np.ndarray, what: Any, make: Callable[[], V],
             size: Callable[[V], int] = lambda _value: 0) -> V:
    """``make()``, kept for the next calls with the very same geometry objects, in the same
    order (not equal ones: identity is all that is checked, in a pass over the ids) and the
    same ``what`` (a hashable saying what is made of them and with which parameters).

    For values made of reference layers that every analysis reads (a grid of the town
    centres, the heritage sites' boxes): a service that keeps its layers' objects between
    requests (``api.services.hotspots.context_layers``, until the data version changes)
    makes them once. The objects are held while their value is kept, so their ids are not
    reused; the least recently used values go beyond :data:`KEPT_VALUES` values or
    :data:`KEPT_BYTES` bytes (``size`` of a value; a value larger than that is not kept).
    A value's bytes are ``size`` of it and :func:`geometry_bytes` of the objects held for it.
    The values are shared by threads: they must not change once made. Two threads asking at
    once may each make one; the last is kept."""
    arr = np.asarray(geoms, dtype=object).ravel()
    key = (what, *map(id, arr.tolist()))
    with _kept_lock:
        hit = _kept.get(key)
        if hit is not None:
            _kept.move_to_end(key)
            return hit[1]
    value = make()
    nbytes = size(value) + geometry_bytes(arr)  # the objects are held too
    if nbytes <= KEPT_BYTES:
        with _kept_lock:
            _kept[key] = (arr.copy(), value, nbytes)
            while len(_kept) > KEPT_VALUES or sum(v[2] for v in _kept.values()) > KEPT_BYTES:
                _kept.popitem(last=False)
    return value


def geometry_bytes(geoms: np.ndarray) -> int:
    """About the memory ``geoms`` (an object array of geometries) hold, bytes: 16 a coordinate
    and 400 a geometry (GEOS's objects and shapely's), as a box of five measures."""
    present = geoms[np.asarray(shapely.is_geometry(geoms))] if geoms.size else geoms
    return int(shapely.get_num_coordinates(present).sum()) * 16 + 400 * int(geoms.size)


PREDICATES = ("within", "intersects")
TARGET_CELLS = 250_000
"""About how many grid cells the polygons' bounding boxes hold (sets the cell size); at most
for a grid made for one call (:data:`CELLS_PER_POINT`)."""
CELLS_PER_POINT = 0.25
"""A grid made for one call's points (not kept) has about this many cells a point (at least
:data:`LEAST_CELLS`, at most :data:`TARGET_CELLS`): building a cell costs about what locating
four points does, so fewer points pay for fewer cells (the places' hits, 142,000 points in
2,142 polygons: 0.081 -> 0.057 s)."""
LEAST_CELLS = 16_384
MAX_SAMPLES = 20_000_000
"""Most boundary pieces (each no longer than a cell); beyond, every point goes to GEOS."""
SMALL = 2_000
"""Fewer points than this: straight to GEOS (the grid would not pay for itself)."""
FEW_PER_VERTEX = 0.4
"""Fewer points than this per vertex of the polygons, each polygon of at most
:data:`FEW_VERTICES` vertices: straight to GEOS too, unless the grid is kept (building it
would cost more than the tests it saves: 2,462 places of 65 vertices and 40,837 points, the
hit rate of an Essex half-year's DBSCAN, 0.074 s by the grid, 0.012 s by GEOS; 2,142 places
and 35,557 points 0.056 against 0.019 s; twice as many points, 0.057 against 0.128 s)."""
FEW_VERTICES = 256
"""Most vertices of a polygon for :data:`FEW_PER_VERTEX` (GEOS tests a point on an
unprepared polygon vertex by vertex)."""
_POLYGONAL = (3, 6)  # shapely type ids of Polygon and MultiPolygon


def point_hits(geoms: Any, xy: np.ndarray, predicate: str = "intersects", *,
               keep: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The (point, geometry) index pairs where geometry ``predicate``-holds the point: those of
    ``shapely.STRtree(geoms).query(shapely.points(xy), predicate=predicate)`` (see the module
    docstring), in no particular order.

    Parameters
    ----------
    geoms
        A GeoSeries, a GeometryArray or a sequence of shapely geometries (missing or empty ones
        hold nothing).
    xy
        (n, 2) coordinates in the geometries' CRS; a point that is not finite is in nothing.
    predicate
        ``"within"`` (the interior) or ``"intersects"`` (the interior or the boundary).
    keep
        Keep the grid of these very geometry objects for the next calls
        (:func:`kept_for`): for reference layers that many analyses test points against
        (a county's built-up areas: 0.03-0.05 s a grid), not for geometries made per call.

    Raises
    ------
    InvalidParameter
        Another predicate, or ``xy`` not (n, 2).
    """
    arr, pts, grid = _checked(geoms, xy, predicate, keep)
    if grid is None:
        return _tree_pairs(arr, pts, predicate)
    near = grid.near(pts)
    if near is None:
        return grid.hits(arr, pts, predicate)
    a, b = grid.hits(arr, pts[near], predicate)
    return near[a], b


def any_hit(geoms: Any, xy: np.ndarray, predicate: str = "intersects", *,
            keep: bool = False) -> np.ndarray:
    """(n,) True where some geometry holds the point (the points of :func:`point_hits`'
    pairs), with fewer GEOS tests: a point whose cell lies inside some geometry is in one,
    whatever edges its cell is also on. ``keep``: as for :func:`point_hits`."""
    arr, pts, grid = _checked(geoms, xy, predicate, keep)
    if grid is None:
        out = np.zeros(pts.shape[0], dtype=bool)
        out[_tree_pairs(arr, pts, predicate)[0]] = True
        return out
    near = grid.near(pts)
    if near is None:
        return grid.any(arr, pts, predicate)
    out = np.zeros(pts.shape[0], dtype=bool)
    out[near] = grid.any(arr, pts[near], predicate)
    return out


def _tree_pairs(arr: np.ndarray, pts: np.ndarray,
                predicate: str) -> tuple[np.ndarray, np.ndarray]:
    """:func:`point_hits` by GEOS alone (an STRtree of the geometries), for few points."""
    finite = np.flatnonzero(np.isfinite(pts).all(axis=1))
    if arr.size == 0 or finite.size == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    a, b = shapely.STRtree(arr).query(shapely.points(pts[finite]), predicate=predicate)
    return finite[a].astype(np.int64, copy=False), b.astype(np.int64, copy=False)


def _checked(geoms: Any, xy: np.ndarray, predicate: str,
             keep: bool = False) -> tuple[np.ndarray, np.ndarray, _EdgeGrid | None]:
    """The geometries as a flat object array, the points as (n, 2) float64, and the grid when
    it pays (enough points, some polygon with an area; with ``keep``, the one kept for these
    geometries: :func:`kept_for`); refuses a predicate or points of another shape, naming
    the parameter."""
    if predicate not in PREDICATES:
        raise InvalidParameter(f"predicate must be one of {', '.join(PREDICATES)}",
                               parameter="predicate")
    arr = np.asarray(getattr(geoms, "values", geoms), dtype=object).ravel()
    pts = np.asarray(xy, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise InvalidParameter("xy must be an (n, 2) array of coordinates", parameter="xy")
    grid = None
    if pts.shape[0] >= SMALL and arr.size:
        if keep:
            grid = kept_for(arr, "grid", lambda: _EdgeGrid.build(arr), _EdgeGrid.nbytes)
        elif not _few_points(arr, pts.shape[0]):
            grid = _EdgeGrid.build(arr, int(min(max(CELLS_PER_POINT * pts.shape[0],
                                                    LEAST_CELLS), TARGET_CELLS)))
    return arr, pts, grid


def _few_points(arr: np.ndarray, n: int) -> bool:
    """Whether ``n`` points are few for the polygons ``arr`` (:data:`FEW_PER_VERTEX`)."""
    vertices = shapely.get_num_coordinates(arr)
    return bool(n < FEW_PER_VERTEX * int(vertices.sum()) and int(vertices.max()) <= FEW_VERTICES)


def first_hit(geoms: Any, xy: np.ndarray, predicate: str = "intersects", *,
              keep: bool = False) -> np.ndarray:
    """(n,) the lowest index of a geometry holding each point, -1 for none. ``keep``: as for
    :func:`point_hits`."""
    pt, geom = point_hits(geoms, xy, predicate, keep=keep)
    none = np.iinfo(np.int64).max
    out = np.full(np.asarray(xy).reshape(-1, 2).shape[0], none, dtype=np.int64)
    np.minimum.at(out, pt, geom)
    out[out == none] = -1
    return out


DENSE_MAX = 4_000_000
"""Most entries of each of the two dense arrays that find a point's cell."""


class _EdgeGrid:
    """The grid's cells that some geometry's window reaches, each with its entries: the
    geometries that hold the whole cell (inside) or whose edge it is on (edge)."""

    def __init__(self, origin: tuple[float, float], c: float, shape: tuple[int, int],
                 keys: np.ndarray, starts: np.ndarray, entry_g: np.ndarray,
                 entry_edge: np.ndarray) -> None:
        self.ox, self.oy = origin
        self.c = c
        self.nrows, self.ncols = shape
        self.starts = starts  # entries of cell i: starts[i]:starts[i + 1]
        self.entry_g = entry_g
        self.entry_edge = entry_edge
        self.extent = (-np.inf, -np.inf, np.inf, np.inf)
        """The geometries' common bounding box (min x, min y, max x, max y)."""
        self._locate(keys)
        # made now, not when first asked: a kept grid (kept_for) is read by threads at once
        self._whole = (np.logical_or.reduceat(~entry_edge, starts[:-1]) if starts.size > 1
                       else np.zeros(0, dtype=bool))

    @classmethod
    def build(cls, arr: np.ndarray, cells: int = TARGET_CELLS) -> _EdgeGrid | None:
        """The grid of ``arr`` (about ``cells`` cells in the geometries' bounding boxes), None
        when it would not help (no polygon with an area, or a boundary too long to sample)."""
        bounds = shapely.bounds(arr)
        present = np.isfinite(bounds).all(axis=1)
        if not present.any():
            return None
        polygonal = present & np.isin(shapely.get_type_id(arr), _POLYGONAL)
        box_area = ((bounds[:, 2] - bounds[:, 0]) * (bounds[:, 3] - bounds[:, 1]))[polygonal]
        if not polygonal.any() or box_area.sum() <= 0:
            return None
        c = float(np.sqrt(box_area.sum() / cells))
        gi = np.flatnonzero(present)
        ox = float(bounds[gi, 0].min()) - c
        oy = float(bounds[gi, 1].min()) - c
        # each geometry's window of cells: the cells its closed bounding box reaches
        c0 = np.floor((bounds[gi, 0] - ox) / c).astype(np.int64)
        c1 = np.floor((bounds[gi, 2] - ox) / c).astype(np.int64)
        r0 = np.floor((bounds[gi, 1] - oy) / c).astype(np.int64)
        r1 = np.floor((bounds[gi, 3] - oy) / c).astype(np.int64)
        nrows, ncols = int(r1.max()) + 2, int(c1.max()) + 2
        wcols, wrows = c1 - c0 + 1, r1 - r0 + 1
        size = wcols * wrows
        offset = np.concatenate([[0], np.cumsum(size)])
        total = int(offset[-1])
        edge = np.zeros(total, dtype=bool)
        poly = polygonal[gi]
        if not _mark_edge_cells(edge, arr[gi[poly]], ox, oy, c, c0[poly], c1[poly], r0[poly],
                                r1[poly], offset[:-1][poly], wcols[poly]):
            return None
        for g in np.flatnonzero(~poly):  # points, lines: tested wherever they reach
            edge[offset[g]:offset[g + 1]] = True
        # every window cell: its geometry, row and column
        owner_g = np.repeat(np.arange(gi.size), size)
        local = np.arange(total) - offset[:-1][owner_g]
        row = r0[owner_g] + local // wcols[owner_g]
        col = c0[owner_g] + local % wcols[owner_g]
        inside = _inside_runs(arr[gi], owner_g, local, wcols, row, col, edge, ox, oy, c)
        keep = np.flatnonzero(edge | inside)
        keys = row[keep] * ncols + col[keep]
        order = np.argsort(keys, kind="stable")
        keys, keep = keys[order], keep[order]
        new = np.r_[True, keys[1:] != keys[:-1]]
        starts = np.r_[np.flatnonzero(new), keys.size]
        grid = cls((ox, oy), c, (nrows, ncols), keys[new], starts, gi[owner_g[keep]],
                   edge[keep])
        present_bounds = bounds[gi]
        grid.extent = (float(present_bounds[:, 0].min()), float(present_bounds[:, 1].min()),
                       float(present_bounds[:, 2].max()), float(present_bounds[:, 3].max()))
        return grid

    def _locate(self, keys: np.ndarray) -> None:
        """The two dense arrays that give a grid cell's row in ``keys`` (-1 for none): blocks
        of k x k cells (k a power of two) and, per block holding a cell, its cells."""
        k = 1
        while -(-self.nrows // k) * -(-self.ncols // k) > DENSE_MAX:
            k *= 2
        self.k, self.bcols = k, -(-self.ncols // k)
        row, col = np.divmod(keys, self.ncols)
        block = (row // k) * self.bcols + col // k
        blocks, which = np.unique(block, return_inverse=True)
        if blocks.size * k * k > DENSE_MAX:  # scattered cells: a hash table instead
            self.index: pd.Index | None = pd.Index(keys)
            self.index.get_indexer(self.index[:1])  # its hash table made now (threads)
            return
        self.index = None
        self.block_of = np.full(-(-self.nrows // k) * self.bcols, -1, dtype=np.int32)
        self.block_of[blocks] = np.arange(blocks.size, dtype=np.int32)
        self.cell_of = np.full(blocks.size * k * k, -1, dtype=np.int32)
        self.cell_of[which * k * k + (row % k) * k + col % k] = np.arange(keys.size,
                                                                          dtype=np.int32)

    @staticmethod
    def nbytes(grid: _EdgeGrid | None) -> int:
        """About the bytes ``grid`` holds, its arrays and its hash index (0 for None): for
        :func:`kept_for`."""
        if grid is None:
            return 0
        index = 3 * grid.index.nbytes if grid.index is not None else 0  # its hash table too
        return index + int(sum(a.nbytes for a in vars(grid).values()
                               if isinstance(a, np.ndarray)))

    def cells(self, pts: np.ndarray) -> np.ndarray:
        """Per point, the row of its cell in the grid's cells, -1 for a cell no window
        reaches (or a point that is not finite); by the compiled steps when this process has
        loaded them (:func:`hotspot._native.loaded_native_steps`), the same arithmetic."""
        native = loaded_native_steps()
        if native is not None and self.index is None and pts.shape[0] >= SMALL:
            return np.asarray(native.locate_cells(
                np.ascontiguousarray(pts, dtype=np.float64), self.ox, self.oy, self.c,
                self.nrows, self.ncols, self.k, self.bcols, self.block_of, self.cell_of))
        u = (pts[:, 0] - self.ox) / self.c
        v = (pts[:, 1] - self.oy) / self.c
        on = np.isfinite(u) & np.isfinite(v)
        on[on] = (u[on] >= 0) & (u[on] < self.ncols) & (v[on] >= 0) & (v[on] < self.nrows)
        out = np.full(pts.shape[0], -1, dtype=np.int64)
        where = np.flatnonzero(on)
        col = np.floor(u[where]).astype(np.int64)
        row = np.floor(v[where]).astype(np.int64)
        if self.index is not None:
            out[where] = self.index.get_indexer(pd.Index(row * self.ncols + col))
            return out
        k = self.k
        block = self.block_of[(row // k) * self.bcols + col // k]
        hit = block >= 0
        out[where[hit]] = self.cell_of[block[hit].astype(np.int64) * k * k
                                       + (row[hit] % k) * k + col[hit] % k]
        return out

    def near(self, pts: np.ndarray) -> np.ndarray | None:
        """The points in the geometries' common bounding box (only they can be in one: a
        town's centres among a county's incidents), None when they are more than half."""
        x0, y0, x1, y1 = self.extent
        near = np.flatnonzero((pts[:, 0] >= x0) & (pts[:, 0] <= x1)
                              & (pts[:, 1] >= y0) & (pts[:, 1] <= y1))
        return None if near.size > pts.shape[0] // 2 else near

    def hits(self, arr: np.ndarray, pts: np.ndarray,
             predicate: str) -> tuple[np.ndarray, np.ndarray]:
        """The (point, geometry) pairs: a cell's inside entries hold its points; its edge
        entries are tested point by point (GEOS, prepared)."""
        cell = self.cells(pts)
        p = np.flatnonzero(cell >= 0)
        return self._pairs(arr, pts, predicate, p, cell[p])

    def any(self, arr: np.ndarray, pts: np.ndarray, predicate: str) -> np.ndarray:
        """(n,) whether some geometry holds each point: those in a cell some geometry holds
        whole without a test, the others' edge entries tested (GEOS, prepared)."""
        out = np.zeros(pts.shape[0], dtype=bool)
        cell = self.cells(pts)
        p = np.flatnonzero(cell >= 0)
        cp = cell[p]
        whole = self._whole[cp]
        out[p[whole]] = True
        out[self._pairs(arr, pts, predicate, p[~whole], cp[~whole])[0]] = True
        return out

    def _pairs(self, arr: np.ndarray, pts: np.ndarray, predicate: str, p: np.ndarray,
               cp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The (point, geometry) pairs of the points ``p`` in the cells ``cp``."""
        count = self.starts[cp + 1] - self.starts[cp]
        pair_p = np.repeat(p, count)
        first = np.cumsum(count) - count
        pos = np.arange(pair_p.size) - np.repeat(first - self.starts[cp], count)
        pair_g = self.entry_g[pos]
        test = self.entry_edge[pos]
        keep = ~test
        if test.any():
            tp, tg = pair_p[test], pair_g[test]
            used, at = _unique(tg, arr.size)
            mine = prepared_copies(arr[used])  # never the caller's objects: prepared_copies
            xy_fn = shapely.contains_xy if predicate == "within" else shapely.intersects_xy
            keep[test] = xy_fn(mine[at.reshape(-1)], pts[tp, 0], pts[tp, 1])
        return pair_p[keep], pair_g[keep]


def _unique(values: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_inverse=True)`` of integers in ``[0, size)``, by marking
    them in an array of ``size`` rather than sorting them (for ``size`` not much more than
    the values: geometries tested by many points)."""
    seen = np.zeros(size, dtype=bool)
    seen[values] = True
    rank = np.cumsum(seen) - 1
    return np.flatnonzero(seen), rank[values]


def _rings(polys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The coordinates of the polygons' rings, each exterior then its holes, part by part,
    with each coordinate's polygon: those of ``shapely.boundary`` (tested), without making
    the boundaries (6 ms for two thousand places)."""
    coords, index = shapely.get_coordinates(polys, return_index=True)
    return coords, index


def _mark_edge_cells(edge: np.ndarray, polys: np.ndarray, ox: float, oy: float, c: float,
                     c0: np.ndarray, c1: np.ndarray, r0: np.ndarray, r1: np.ndarray,
                     offset: np.ndarray, wcols: np.ndarray) -> bool:
    """Mark in ``edge`` (flat window positions) the cells on each polygon's edge
    (:func:`_edge_cells`), by the compiled steps when this process has loaded them (the same
    arithmetic piece by piece, so the same cells: 24 -> 3 ms for the two thousand places of
    a million incidents); False when the boundaries are too long to cut."""
    native = loaded_native_steps()
    if native is None:
        cells = _edge_cells(polys, ox, oy, c, c0, c1, r0, r1, offset, wcols)
        if cells is None:
            return False
        edge[cells] = True
        return True
    coords, index = _rings(polys)
    return bool(native.mark_edge_cells(
        np.ascontiguousarray(coords), index.astype(np.int64), ox, oy, c,
        *(np.ascontiguousarray(a, dtype=np.int64) for a in (c0, c1, r0, r1, offset, wcols)),
        edge, MAX_SAMPLES))


def _edge_cells(polys: np.ndarray, ox: float, oy: float, c: float, c0: np.ndarray,
                c1: np.ndarray, r0: np.ndarray, r1: np.ndarray, offset: np.ndarray,
                wcols: np.ndarray) -> np.ndarray | None:
    """Flat window positions of the cells on each polygon's edge (see the module docstring);
    None when the boundaries are too long to cut.

    Each boundary segment is cut into pieces no longer than a cell, and every cell whose
    closed square, widened by a quarter of a cell (an eighth, and an eighth more for
    rounding), meets a piece's bounding box is marked: each boundary point lies in its
    piece's box, so no cell holding one (within the eighth) escapes, and a piece's box spans
    at most three cells along each axis."""
    coords, index = _rings(polys)
    if coords.shape[0] == 0:
        return np.empty(0, dtype=np.int64)
    same = index[1:] == index[:-1]  # a segment within one polygon's rings (joins between its
    p0, p1, g = coords[:-1][same], coords[1:][same], index[:-1][same]  # rings: harmless)
    # a lone vertex (a ring of one point, joined to no segment) is a piece of its own
    lone = np.ones(coords.shape[0], dtype=bool)
    lone[1:] &= ~same
    lone[:-1] &= ~same
    length = np.hypot(p1[:, 0] - p0[:, 0], p1[:, 1] - p0[:, 1])
    m = np.maximum(np.ceil(length / c).astype(np.int64), 1)
    if int(m.sum()) + int(lone.sum()) > MAX_SAMPLES:
        return None
    seg = np.repeat(np.arange(m.size), m)
    first = np.concatenate([[0], np.cumsum(m)[:-1]])
    k = np.arange(seg.size) - first[seg]
    t0, t1 = k / m[seg], (k + 1) / m[seg]
    dx, dy = p1[seg, 0] - p0[seg, 0], p1[seg, 1] - p0[seg, 1]
    ax = np.concatenate([p0[seg, 0] + t0 * dx, coords[lone, 0]])
    bx = np.concatenate([p0[seg, 0] + t1 * dx, coords[lone, 0]])
    ay = np.concatenate([p0[seg, 1] + t0 * dy, coords[lone, 1]])
    by = np.concatenate([p0[seg, 1] + t1 * dy, coords[lone, 1]])
    sg = np.concatenate([g[seg], index[lone]])
    umin, umax = (np.minimum(ax, bx) - ox) / c, (np.maximum(ax, bx) - ox) / c
    vmin, vmax = (np.minimum(ay, by) - oy) / c, (np.maximum(ay, by) - oy) / c
    # cell j's closed square widened by a quarter, [j - 0.25, j + 1.25], meets [umin, umax]
    # for j from floor(umin - 1.25) + 1 to floor(umax + 0.25)
    lo_j, hi_j = np.floor(umin - 1.25).astype(np.int64) + 1, np.floor(umax + 0.25).astype(np.int64)
    lo_i, hi_i = np.floor(vmin - 1.25).astype(np.int64) + 1, np.floor(vmax + 0.25).astype(np.int64)
    lo_j, lo_i = np.maximum(lo_j, c0[sg]), np.maximum(lo_i, r0[sg])  # within the window
    hi_j, hi_i = np.minimum(hi_j, c1[sg]), np.minimum(hi_i, r1[sg])
    base = offset[sg] + (lo_i - r0[sg]) * wcols[sg] + (lo_j - c0[sg])
    width = wcols[sg]
    out = []
    for dj in range(4):
        ok_j = lo_j + dj <= hi_j
        for di in range(4):
            ok = np.flatnonzero(ok_j & (lo_i + di <= hi_i))
            out.append(base[ok] + di * width[ok] + dj)
    return np.concatenate(out)


def _inside_runs(geoms: np.ndarray, owner_g: np.ndarray, local: np.ndarray, wcols: np.ndarray,
                 row: np.ndarray, col: np.ndarray, edge: np.ndarray, ox: float, oy: float,
                 c: float) -> np.ndarray:
    """For every window cell not on its geometry's edge, whether it is inside the geometry:
    one GEOS test per run of such cells along a row (a run touches no boundary point)."""
    total = edge.size
    if total == 0:
        return np.zeros(0, dtype=bool)
    new_row = (local % wcols[owner_g]) == 0
    start = new_row.copy()
    start[1:] |= edge[1:] != edge[:-1]
    start[0] = True
    runs = np.flatnonzero(start & ~edge)
    result = np.zeros(runs.size, dtype=bool)
    if runs.size:
        used, at = _unique(owner_g[runs], geoms.size)
        mine = prepared_copies(geoms[used])  # never the caller's objects: prepared_copies
        result = shapely.contains_xy(mine[at.reshape(-1)], ox + (col[runs] + 0.5) * c,
                                     oy + (row[runs] + 0.5) * c)
    run_id = np.cumsum(start) - 1  # the run of each cell (edge runs too)
    value = np.zeros(int(run_id[-1]) + 1, dtype=bool)
    value[run_id[runs]] = result
    return value[run_id] & ~edge
