"""Patrol-scale places: large hotspot areas split at their density peaks.

A hotspot an officer can cover in one visit is no wider than about 250 m. KDE areas (a town
centre, two cities joined by their suburbs) and DBSCAN chains are often far wider, so
:func:`split_places` cuts each wide area into **places**:

- **Width.** An area's width is its *diameter*, the largest distance between two of its points
  (:func:`widest_extent_m`). An area no wider than ``max_place_m`` stays one place (its own
  polygon). The diameter, not the longest side of the minimum rotated rectangle, because a
  square 250 m on a side is 354 m across its diagonal: an officer walks the diagonal.
- **Peaks.** A wider area is split greedily. The weight (harm or 1) of the area's incidents that
  are in no place yet is smoothed on a grid of cells ``max_place_m / 20`` wide with a quartic
  (biweight) kernel of radius ``max_place_m / 2 - 1.5 cells``: the density at a cell is the
  centre-weighted weight a place centred there would hold. The densest cell inside the area and
  at least ``max_place_m / 2`` from every earlier peak (ties: the north-most, then west-most)
  is the next peak.
- **Place.** The place is the area ∩ the disc of diameter ``max_place_m`` around the peak
  (a 64-gon inscribed in the circle) minus the discs of the earlier places; it takes every
  incident of the area inside that disc not taken already. Its incidents leave the density,
  and the next peak is sought.
- **Stop.** When no cell of the area has any weight left within reach, or the incidents left
  are fewer than ``min_incidents``. Places holding fewer than ``min_incidents`` incidents are
  dropped at the end (their incidents, like those in no place, get place -1 but stay counted in
  their area); an area no wider than ``max_place_m`` with fewer is dropped too.

So places are disjoint, each is no wider than ``max_place_m`` (it lies in a disc of that
diameter), and each is centred on a density peak. Within an area, places come in the order
they were made: the densest first. The greedy cover is the classic maximal-covering heuristic
(Church and ReVelle 1974): each place is the one that, of those left, holds the most, with a
kernel that prefers incidents near its centre to those on its rim.

Cost: per area a grid of its bounding box in cells of ``max_place_m / 20`` (coarsened, up to
``max_place_m / 8``, for very large areas), one smoothing pass, then per place a local update
of a window of the grid and one pass over the area's incidents. The number of places is capped
(``max_places``): a county-wide area at a tiny ``max_place_m`` raises
:class:`~hotspot.errors.WorkLimitExceeded` instead of drawing tens of thousands of discs.
With the compiled steps (:mod:`hotspot._gridnative`) the areas are cut together, a few
hundred in two compiled calls (:mod:`hotspot.place_batch`) and their places' polygons in one
call of each GEOS operation, instead of a hundred Python-level steps an area: the same
places to the last bit (the usual area of a force's own published data holds tens of
incidents, where those steps cost more than the work).
"""

from __future__ import annotations

import functools
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from scipy.spatial import cKDTree

from hotspot._native import loaded_native_steps, native_steps
from hotspot._numeric import group_order, xy_bounds
from hotspot._threads import run_each, threads
from hotspot.cancel import EVERY, ShouldStop, check
from hotspot.errors import InvalidParameter, WorkLimitExceeded
from hotspot.inside import prepared_copies
from hotspot.place_batch import AreaPeaks, Disc, area_peaks
from hotspot.place_grid import CELLS_PER_PLACE as CELLS_PER_PLACE  # re-exported
from hotspot.place_grid import MAX_PLACE_CELLS as MAX_PLACE_CELLS  # re-exported
from hotspot.place_grid import AreaGrid
from hotspot.points import check_crs

MAX_PLACES = 10_000
"""Most places one split may make by default."""
NATIVE_FROM = 100_000
"""Incidents from which the peaks are found and taken out by compiled loops
(:mod:`hotspot._gridnative`, numba: the same arithmetic, so the same places); below, only in
a process that has loaded them already. At 50,000 incidents they save 0.13 s (0.17 s against
0.30 s) where loading numba costs a process about a second, and compiling them into an empty
cache (the first run after an install) 7 s: a one-off run on the demo's 50,000 incidents
stays with numpy unless something else loaded numba. A service loads them at start for a
store of 20,000 incidents or more (``HOTSPOT_WARM_COMPILED``), and then every split uses
them (data.police.uk's Essex, six months: the places 2.3 -> 1.0 s)."""
_DISC_SEGMENTS = 16  # quarter-circle segments of the disc polygon: a 64-gon
_INSIDE = 1 - 1e-9  # discs a hair inside their circle: round-off never makes one wider than d
_PAIRS = 1_000_000  # about how many pairs of points widest_extent_m's numpy steps hold at once


@dataclass
class PlaceSplit:
    """The outcome of :func:`split_places`.

    Attributes
    ----------
    labels
        (n,) place of each incident (row of :attr:`places`), -1 for none.
    places
        GeoDataFrame, one row per place, grouped by area, the densest first within an area:
        ``cluster`` (place index 0..p-1), ``parent`` (area index, row of ``areas``),
        ``peak_x``, ``peak_y`` (metres; the density peak the place is centred on, for an area
        kept whole the densest cell inside it), ``peak_density`` (weight per km2 of the
        smoothed density at the peak, when the place was made), ``incidents``, ``weight``,
        ``width_m`` (its diameter, metres; only with ``place_widths``), ``split`` (True when
        its area was split), ``geometry``.
    areas
        The input area table (a copy) with ``width_m`` (its diameter, metres) and ``places``
        (how many places it holds) columns.
    max_place_m
        The width used, metres.
    """

    labels: np.ndarray
    places: gpd.GeoDataFrame
    areas: gpd.GeoDataFrame
    max_place_m: float


def widest_extent_m(geoms: Any) -> np.ndarray:
    """Diameter of each geometry: the largest distance between two of its points, in metres
    (the units of its CRS), vectorised.

    The largest distance between two vertices of its convex hull (every pair, in compiled
    loops when this process has loaded them, else by numpy: the same bits). The work grows
    with the square of a hull's vertices: a place's 64-gon is 2,000 pairs, and the largest
    hulls the engines make (a few hundred vertices) take well under a millisecond; a hull of
    10,000 vertices takes 0.04 s compiled, 0.6 s by numpy. Empty or missing geometries
    measure 0.

    Parameters
    ----------
    geoms
        A GeoSeries, a sequence or array of shapely geometries.

    Returns
    -------
    numpy.ndarray
        (k,) float64 metres.

    Examples
    --------
    >>> import shapely
    >>> widest_extent_m([shapely.box(0, 0, 300, 400), shapely.Point(0, 0)]).round(1)
    array([500.,   0.])
    """
    g = np.asarray(getattr(geoms, "values", geoms), dtype=object)
    out = np.zeros(g.shape[0])
    if g.shape[0] == 0:
        return out
    coords, index = shapely.get_coordinates(shapely.convex_hull(g), return_index=True)
    if coords.shape[0] == 0:
        return out
    present, starts = np.unique(index, return_index=True)  # index comes sorted
    bounds = np.append(starts, coords.shape[0]).astype(np.int64)
    native = loaded_native_steps()
    if native is not None:
        squared = native.hull_diameters(np.ascontiguousarray(coords), bounds)
    else:
        squared = np.array([_squared_diameter(coords[a:b])
                            for a, b in itertools.pairwise(bounds.tolist())])
    out[present] = np.sqrt(squared)
    return out


def _squared_diameter(pts: np.ndarray) -> float:
    """The largest squared distance between two of ``pts`` ((m, 2), metres), by rows of
    pairs at a time (the compiled loop's arithmetic)."""
    best = 0.0
    rows = max(1, _PAIRS // max(pts.shape[0], 1))
    for i in range(0, pts.shape[0], rows):
        dx = pts[None, :, 0] - pts[i:i + rows, None, 0]
        dy = pts[None, :, 1] - pts[i:i + rows, None, 1]
        best = max(best, float((dx * dx + dy * dy).max()))
    return best


def split_places(
    xy: np.ndarray,
    weights: np.ndarray | None,
    area_labels: np.ndarray,
    area_shapes: gpd.GeoDataFrame,
    *,
    max_place_m: float = 250.0,
    min_incidents: int = 1,
    max_places: int | None = MAX_PLACES,
    crs: Any = None,
    should_stop: ShouldStop | None = None,
    place_widths: bool = True,
) -> PlaceSplit:
    """Split hotspot areas wider than ``max_place_m`` into places at their density peaks
    (the rule in the module docstring).

    Parameters
    ----------
    xy
        (n, 2) incident coordinates, metres in a projected CRS (EPSG:27700 for Great Britain).
    weights
        (n,) weight of each incident (harm), >= 0; None: 1 each. The density that places the
        peaks is of weight; ``min_incidents`` counts incidents.
    area_labels
        (n,) area of each incident (row of ``area_shapes``), -1 for none: the ``labels_`` of
        :class:`~hotspot.kde.KDEHotspots` or :class:`~hotspot.dbscan.DBSCANHotspots`.
    area_shapes
        The areas' polygons, rows 0..k-1 in label order, as :func:`hotspot.kde.grid_areas` and
        :func:`hotspot.dbscan.cluster_polygons` return them.
    max_place_m
        Widest place, metres (> 0): the diameter of the disc a place is cut from.
    min_incidents
        Fewest incidents in a place (>= 1); smaller places are dropped.
    max_places
        Refuse (:class:`~hotspot.errors.WorkLimitExceeded`, naming ``max_place_m``) to make more
        places than this; None: no limit.
    crs
        CRS of ``xy`` and the polygons; ``area_shapes.crs`` when None.
    should_stop
        Checked between areas and every :data:`hotspot.cancel.EVERY` places
        (:mod:`hotspot.cancel`).
    place_widths
        Measure each place's width (the places' ``width_m``); False leaves that column out
        (a hotspot answer does not show it: the convex hulls of a million incidents' two
        thousand places cost 0.03 s).

    Returns
    -------
    PlaceSplit

    Raises
    ------
    InvalidParameter
        ``max_place_m`` not a positive finite number, ``min_incidents`` below 1, arrays of the
        wrong shape, labels out of range, incidents labelled to a missing or empty polygon
        (the message names the parameter).
    WorkLimitExceeded
        More places than ``max_places``, or an area too large to grid at this
        ``max_place_m``.
    AnalysisCancelled
        ``should_stop`` answered True.
    """
    d = _check_width(max_place_m)
    _check_counts(min_incidents, max_places)
    xy, w, labels_in = _check_incidents(xy, weights, area_labels, len(area_shapes))
    crs_ = check_crs(crs if crs is not None else area_shapes.crs)
    geoms = np.asarray(area_shapes.geometry.values, dtype=object)
    _check_shapes(geoms, labels_in)
    widths = widest_extent_m(geoms)
    limit = max_places if max_places is not None else np.iinfo(np.int64).max
    native = native_steps() if xy.shape[0] >= NATIVE_FROM else loaded_native_steps()
    place_of, rows, shapes = _cut_areas(xy, w, labels_in, geoms, widths, d, min_incidents,
                                        limit, should_stop, native)
    frame = _places_frame(rows, shapes, crs_, widths if place_widths else None)
    k = len(area_shapes)
    areas = area_shapes.copy()
    areas["width_m"] = widths
    areas["places"] = np.bincount(frame["parent"].to_numpy(), minlength=k)[:k] if k else \
        np.empty(0, dtype=np.int64)
    return PlaceSplit(labels=place_of, places=frame, areas=areas, max_place_m=d)


def warm_up_places(native: ModuleType) -> None:
    """Run the compiled loops of a split once (:func:`split_places` with ``native``, on two
    small clusters in a street wider than a place), so that they are compiled or loaded from
    numba's cache with the argument types a split passes: for
    :func:`hotspot._griddbscan.warm_up_compiled`."""
    xy = np.array([[10.0, 20.0], [12.0, 21.0], [11.0, 19.0], [600.0, 20.0], [601.0, 22.0]])
    street = shapely.box(0.0, 0.0, 700.0, 40.0)
    # cut with the other small areas (hotspot.place_batch), then alone as a large one is
    _cut_areas(xy, np.ones(xy.shape[0]), np.zeros(xy.shape[0], dtype=np.int64),
               np.array([street], dtype=object), widest_extent_m([street]), 250.0, 1,
               MAX_PLACES, None, native)
    _split_area(xy, np.ones(xy.shape[0]), street, 250.0, 1, MAX_PLACES, 0, None, native)
    # a place found and taken out by the steps in Python (what the compiled loop leaves to
    # them), each compiled step called on its own
    ones = np.ones(xy.shape[0])
    grid = AreaGrid(xy, ones, street, 250.0, native)
    near_of = _near_finder(xy, 125.0, native, _Buckets.of(xy, ones, 125.0))
    near, _rim = near_of(10.0, 20.0, np.ones(xy.shape[0], dtype=bool), 100.0)
    grid.remove(xy[near], ones[near], int(grid.densest() or 0), 125.0)


def _near_parts(geom: Any, discs: np.ndarray) -> Any:
    """For each disc, the parts of ``geom`` it touches (a MultiPolygon of them), or ``geom``
    itself when it has one part or the disc touches none: the disc's intersection with them is
    its intersection with ``geom`` (the parts of a valid MultiPolygon are disjoint), without
    noding every part of a KDE area made of a hundred patches for every disc."""
    parts = shapely.get_parts(geom)
    if parts.size < 2:
        return geom
    disc, part = shapely.STRtree(parts).query(discs, predicate="intersects")
    out = np.full(discs.shape[0], geom, dtype=object)
    if disc.size:
        order = np.lexsort((part, disc))  # each disc's parts in the area's order
        disc, part = disc[order], part[order]
        touched = np.unique(disc)
        out[touched] = shapely.multipolygons(parts[part], indices=np.searchsorted(touched, disc))
    return out


def _check_counts(min_incidents: Any, max_places: int | None) -> None:
    """Refuse ``min_incidents`` below 1 (or not whole) and a negative ``max_places``."""
    if isinstance(min_incidents, bool) or not isinstance(min_incidents, int | np.integer) \
            or min_incidents < 1:
        raise InvalidParameter(f"min_incidents must be a whole number >= 1, not {min_incidents!r}",
                               parameter="min_incidents")
    if max_places is not None and max_places < 0:
        raise InvalidParameter("max_places must be 0 or more", parameter="max_places")


def _check_incidents(xy: np.ndarray, weights: np.ndarray | None, area_labels: np.ndarray,
                     k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The incidents' coordinates (n x 2 metres, finite), weights (finite, >= 0; ones for
    None) and area labels (-1 or 0..k-1) as float64, float64 and int64 arrays; refuses others
    naming the parameter."""
    xy = np.asarray(xy, dtype=np.float64)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise InvalidParameter("xy must be an (n, 2) array of coordinates in metres",
                               parameter="xy")
    n = xy.shape[0]
    if not np.isfinite(xy).all():
        raise InvalidParameter("xy holds coordinates that are not finite", parameter="xy")
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (n,) or not np.isfinite(w).all() or (w < 0).any() \
            or not np.isfinite(w.sum()):
        raise InvalidParameter("weights must be one finite number >= 0 per incident, with a "
                               "finite sum", parameter="weights")
    labels_in = np.asarray(area_labels)
    if labels_in.shape != (n,) or (n and not np.issubdtype(labels_in.dtype, np.integer)):
        raise InvalidParameter("area_labels must be one whole number per incident",
                               parameter="area_labels")
    labels_in = labels_in.astype(np.int64)
    if n and (labels_in.min() < -1 or labels_in.max() >= k):
        raise InvalidParameter(f"area_labels must be -1 or a row of area_shapes (0..{k - 1})",
                               parameter="area_labels")
    return xy, w, labels_in


def _check_shapes(geoms: np.ndarray, labels_in: np.ndarray) -> None:
    """Refuse, naming ``area_shapes``, an area with incidents whose polygon is missing or
    empty (it has no extent to grid or cut a place from; an empty area without incidents
    makes no place, as any area without them)."""
    if not geoms.size or not labels_in.size:
        return
    bad = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    labelled = np.zeros(geoms.size, dtype=bool)
    labelled[labels_in[labels_in >= 0]] = True
    rows = np.flatnonzero(bad & labelled)
    if rows.size:
        raise InvalidParameter(
            f"area_shapes row {int(rows[0])} has incidents but no polygon (missing or empty)"
            + (f", and {rows.size - 1} more such rows" if rows.size > 1 else ""),
            parameter="area_shapes")


def _cut_areas(xy: np.ndarray, w: np.ndarray, labels_in: np.ndarray, geoms: np.ndarray,
               widths: np.ndarray, d: float, min_incidents: int, limit: int,
               should_stop: ShouldStop | None, native: ModuleType | None = None,
               ) -> tuple[np.ndarray, list[dict[str, Any]], list[Any]]:
    """Every area: kept whole when no wider than ``d``, else split at its peaks
    (:func:`_split_area`); areas with fewer than ``min_incidents`` incidents make no place.
    Returns each incident's place (-1 for none), the places' rows and their polygons, in the
    areas' order.

    The areas are cut in threads (:func:`hotspot._threads.run_each`), each on its own, and the
    limit of places is then checked as a loop over the areas in order checks it: at each
    area, the places kept before it and the peaks it made (dropped ones included) must not be
    more than ``limit``. While they run, the threads count their peaks together (each area's
    dropped ones taken off when it ends), and an area stops (before its grid is built, or at
    its next peak) once that count is over the limit, or when it is refused: the loop then
    cuts the areas left unfinished in order, after those finished, so it refuses (or not)
    exactly where and as the plain loop does, whatever the threads' timing."""
    k = len(geoms)
    order = group_order(labels_in)
    sorted_labels = labels_in[order]
    starts = np.searchsorted(sorted_labels, np.arange(k))
    ends = np.searchsorted(sorted_labels, np.arange(k), side="right")
    members = [order[starts[a]:ends[a]] for a in range(k)]
    todo = [a for a in range(k) if members[a].size >= min_incidents]

    def cut(a: int, count: _PeakCount | None, made: int) -> _Cut:
        check(should_stop, "while splitting areas into places")
        if count is not None:
            count.add(0)  # over the limit already: stop before building this area's grid
        idx = members[a]
        area_xy, area_w = xy[idx], w[idx]
        if widths[a] <= d:
            if count is not None:
                count.add(1)
            return _Cut([(_whole_area(a, area_xy, area_w, geoms[a], d, native), geoms[a], idx)],
                        1)
        split = _split_area(area_xy, area_w, geoms[a], d, min_incidents, limit, made,
                            should_stop, native, count)
        return _Cut([({"parent": a, "peak_x": peak[0], "peak_y": peak[1],
                       "peak_density": density, "incidents": int(m.size),
                       "weight": float(area_w[m].sum()), "split": True}, shape, idx[m])
                     for peak, m, density, shape in split.places], split.peaks)

    done: list[_Cut | None] = [None] * len(todo)
    if threads() > 1 and len(todo) > 1:
        count = _PeakCount(limit)

        def cut_or_leave(a: int) -> _Cut | None:
            try:
                return cut(a, count, 0)
            except (_OverLimit, InvalidParameter):  # WorkLimitExceeded is an InvalidParameter
                return None  # left to the plain loop below, which refuses as it would alone

        if native is not None:
            # with the compiled steps, the areas are cut together (:func:`_cut_together`), in
            # GROUPS_PER_THREAD groups a thread of about as many incidents each, taken in
            # turn by the threads; an area left out is cut alone, in its group's thread
            groups = _groups([members[a].size for a in todo], GROUPS_PER_THREAD * threads())

            def cut_group(group: list[int]) -> list[_Cut | None]:
                # no more peaks than the limit leaves after the groups finished before: the
                # groups at work at once draw no more than the threads times the limit
                cuts = _cut_together([todo[t] for t in group], members, xy, w, geoms, widths,
                                     d, min_incidents, native, should_stop, count.left())
                count.add(sum(len(c.places) for c in cuts if c is not None), stop=False)
                return [c if c is not None else cut_or_leave(todo[t])
                        for t, c in zip(group, cuts, strict=True)]

            tasks: list[Callable[[], list[_Cut | None]]] = [
                functools.partial(cut_group, g) for g in groups]
            in_order: list[int] = list(itertools.chain.from_iterable(groups))
        else:
            # one task cuts the small areas in turn, while the other threads take the large
            # ones, the largest first (so that the threads end together): a small area is
            # mostly Python and numpy calls holding the GIL, a large one mostly GEOS and FFT
            # releasing it, so the two kinds run side by side better than two small ones do
            largest = sorted(range(len(todo)), key=lambda t: -members[todo[t]].size)
            small = [t for t in largest if members[todo[t]].size < SMALL_AREA]

            def cut_small() -> list[_Cut | None]:
                return [cut_or_leave(todo[t]) for t in small]

            def cut_large(t: int) -> list[_Cut | None]:
                return [cut_or_leave(todo[t])]

            large = largest[:len(largest) - len(small)]
            tasks = [cut_small] + [functools.partial(cut_large, t) for t in large]
            in_order = small + large
        for t, cut_area in zip(in_order, itertools.chain.from_iterable(run_each(tasks)),
                               strict=True):
            done[t] = cut_area
    elif native is not None and todo:
        done = _cut_together(todo, members, xy, w, geoms, widths, d, min_incidents, native,
                             should_stop, limit)
    cuts: list[_Cut] = []
    made = 0
    for a, finished in zip(todo, done, strict=True):  # the plain loop, area by area
        if finished is None:
            cuts.append(cut(a, None, made))
        elif made + finished.peaks > limit:  # where the loop would have refused
            raise _too_many(limit + 1, limit, d)
        else:
            cuts.append(finished)
        made += len(cuts[-1].places)
        if made > limit:
            raise _too_many(made, limit, d)
    place_of = np.full(xy.shape[0], -1, dtype=np.int64)
    rows: list[dict[str, Any]] = []
    shapes: list[Any] = []
    for c in cuts:
        for row, shape, idx in c.places:
            place_of[idx] = len(rows)
            rows.append(row)
            shapes.append(shape)
    return place_of, rows, shapes


SMALL_AREA = 2_000
"""Without the compiled steps, areas with fewer incidents than this are cut in turn by one
thread (:func:`_cut_areas`)."""


GROUPS_PER_THREAD = 3
"""The areas are cut together in this many groups a thread (:func:`_cut_areas`), each
thread taking the next group when it is done: groups of as many incidents can take unequal
times (their cells and places), so fewer groups would leave a thread idle at the end."""


def _groups(sizes: list[int], k: int) -> list[list[int]]:
    """The positions of ``sizes`` in ``k`` groups (or fewer, none empty) of about the same
    sum, the largest first to the smallest group so far; each group ascending."""
    sums = [0] * k
    groups: list[list[int]] = [[] for _ in range(k)]
    for t in sorted(range(len(sizes)), key=lambda t: -sizes[t]):
        g = sums.index(min(sums))
        groups[g].append(t)
        sums[g] += sizes[t]
    return [sorted(g) for g in groups if g]


@dataclass
class _Cut:
    """The places one area was cut into: (row, polygon, incidents (indices of all)) each, and
    how many peaks were found on the way (dropped ones included)."""

    places: list[tuple[dict[str, Any], Any, np.ndarray]]
    peaks: int


class _OverLimit(Exception):
    """The threads' common count of peaks passed the limit (see :func:`_cut_areas`)."""


class _PeakCount:
    """The peaks the threads cutting areas have found so far, with each finished area's
    dropped peaks taken off: stops them all (:class:`_OverLimit`) once over ``limit``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.total = 0
        self._lock = threading.Lock()

    def left(self) -> int:
        """How many more the limit allows now (0 once over it)."""
        with self._lock:
            return max(self.limit - self.total, 0)

    def add(self, n: int, *, stop: bool = True) -> None:
        """Count ``n`` more (fewer when negative); with ``stop``, raises :class:`_OverLimit`
        when the count is then over the limit."""
        with self._lock:
            self.total += n
            over = self.total > self.limit
        if over and stop:
            raise _OverLimit


@dataclass
class _AreaSplit:
    """What :func:`_split_area` made: the places kept (peak, member indices, peak density,
    polygon) and the number of peaks found (dropped ones included)."""

    places: list[tuple[tuple[float, float], np.ndarray, float, Any]]
    peaks: int


def _whole_area(a: int, area_xy: np.ndarray, area_w: np.ndarray, geom: Any,
                d: float, native: ModuleType | None = None) -> dict[str, Any]:
    """The row of area ``a`` kept as one place: its peak is the densest cell inside it (the
    incidents' mean when none)."""
    grid = AreaGrid(area_xy, area_w, geom, d, native)
    top = grid.densest()
    peak_x, peak_y = grid.centre(top) if top is not None else tuple(area_xy.mean(axis=0))
    density = grid.per_km2(top)
    return {"parent": a, "peak_x": peak_x, "peak_y": peak_y, "peak_density": density,
            "incidents": area_xy.shape[0], "weight": float(area_w.sum()), "split": False}


def _places_frame(rows: list[dict[str, Any]], shapes: list[Any], crs: str,
                  widths: np.ndarray | None) -> gpd.GeoDataFrame:
    """The places' table (:class:`PlaceSplit`'s ``places``), with each place's width when
    ``widths`` (the areas', metres) are given: a whole area's own, a split place's measured
    here, all in one call (each geometry measured on its own: the same bits however the
    areas were cut)."""
    frame = gpd.GeoDataFrame(
        {
            "cluster": np.arange(len(rows), dtype=np.int64),
            "parent": np.array([r["parent"] for r in rows], dtype=np.int64),
            "peak_x": np.array([r["peak_x"] for r in rows], dtype=np.float64),
            "peak_y": np.array([r["peak_y"] for r in rows], dtype=np.float64),
            "peak_density": np.array([r["peak_density"] for r in rows], dtype=np.float64),
            "incidents": np.array([r["incidents"] for r in rows], dtype=np.int64),
            "weight": np.array([r["weight"] for r in rows], dtype=np.float64),
            "split": np.array([r["split"] for r in rows], dtype=bool),
        },
        geometry=gpd.GeoSeries(shapes, crs=crs),
        crs=crs,
    )
    if widths is not None:
        split = frame["split"].to_numpy()
        width = widths[frame["parent"].to_numpy()].astype(np.float64)
        width[split] = widest_extent_m(np.asarray(frame.geometry.values, dtype=object)[split])
        frame.insert(len(frame.columns) - 1, "width_m", width)
    return frame


def _check_width(max_place_m: Any) -> float:
    try:
        d = float(max_place_m)
    except (TypeError, ValueError):
        d = float("nan")
    if isinstance(max_place_m, bool) or not np.isfinite(d) or d <= 0:
        raise InvalidParameter(
            f"max_place_m must be a positive number of metres (the widest place), not "
            f"{max_place_m!r}", parameter="max_place_m")
    return d


def _too_many(found: int, limit: int, d: float) -> WorkLimitExceeded:
    return WorkLimitExceeded(
        f"splitting the hotspot areas into places no wider than {d:g} m makes more than the "
        f"limit of {limit:,} places: raise max_place_m, or narrow the selection",
        found=found, limit=limit, parameter="max_place_m", kind="hotspots")


def _disc_ring(r: float) -> np.ndarray:
    """Vertices of a disc of radius ``r`` around (0, 0): a 64-gon a hair inside the circle
    (a copy of the one made for this radius)."""
    return _disc_rings(r).copy()


@functools.lru_cache(maxsize=16)
def _disc_rings(r: float) -> np.ndarray:
    return np.asarray(shapely.get_coordinates(shapely.buffer(
        shapely.Point(0.0, 0.0), r * _INSIDE, quad_segs=_DISC_SEGMENTS).exterior))


def _discs(centres: np.ndarray, ring: np.ndarray) -> np.ndarray:
    """The disc ``ring`` moved to each of (k, 2) centres, as polygons."""
    return np.asarray(shapely.polygons(centres[:, None, :] + ring[None, :, :]), dtype=object)


NearFinder = Callable[[float, float, np.ndarray, float], tuple[np.ndarray, np.ndarray]]
"""``(px, py, remaining, sure) -> (near, rim)``: the indices (ascending) of the points still
``remaining`` within the place radius of ``(px, py)``, and whether each is farther than
``sure`` from it."""


@dataclass
class _Buckets:
    """An area's points in squares of side ``r`` (the place radius) from ``(x0, y0)``,
    ``ncols`` x ``nrows`` of them, row-major: square ``b`` holds ``order[start[b]:start[b +
    1]]``; with the compiled steps' buffers (a place's points and which are on its rim)."""

    pts: np.ndarray
    w: np.ndarray
    order: np.ndarray
    start: np.ndarray
    ncols: int
    nrows: int
    x0: float
    y0: float
    out: np.ndarray
    rim: np.ndarray
    taken: np.ndarray

    @classmethod
    def of(cls, pts: np.ndarray, w: np.ndarray, r: float) -> _Buckets:
        x0, y0, _, _ = xy_bounds(pts)
        col = np.floor((pts[:, 0] - x0) / r).astype(np.int64)
        row = np.floor((pts[:, 1] - y0) / r).astype(np.int64)
        ncols, nrows = int(col.max()) + 1, int(row.max()) + 1
        key = row * ncols + col
        order = group_order(key)
        start = np.searchsorted(key[order], np.arange(ncols * nrows + 1))
        n = pts.shape[0]
        return cls(pts, w, order, start, ncols, nrows, float(x0), float(y0),
                   np.empty(n, dtype=np.int64), np.empty(n, dtype=bool),
                   np.empty(n, dtype=np.int64))


def _near_finder(pts: np.ndarray, r: float, native: ModuleType | None,
                 buckets: _Buckets | None = None) -> NearFinder:
    """The points near a peak, by a k-d tree, or with ``native`` by a compiled scan of the
    ``buckets`` (squares of side ``r``) the disc touches: the same points (a point the two
    could disagree on lies a hair from the circle, outside the place's polygon either way)."""
    if native is None or buckets is None:
        tree = cKDTree(pts)

        def by_tree(px: float, py: float, remaining: np.ndarray,
                    sure: float) -> tuple[np.ndarray, np.ndarray]:
            near = np.asarray(tree.query_ball_point((px, py), r), dtype=np.int64)
            near = np.sort(near[remaining[near]])
            return near, np.hypot(pts[near, 0] - px, pts[near, 1] - py) > sure

        return by_tree
    b = buckets

    def by_buckets(px: float, py: float, remaining: np.ndarray,
                   sure: float) -> tuple[np.ndarray, np.ndarray]:
        m = native.disc_members(pts, b.order, b.start, b.ncols, b.nrows, b.x0, b.y0, r, px,
                                py, r, remaining, sure, b.out, b.rim)
        return b.out[:m].copy(), b.rim[:m].copy()

    return by_buckets


def _ring_sign(ring: np.ndarray) -> float:
    """1.0 when the closed ring runs counter-clockwise, else -1.0 (twice its signed area)."""
    x, y = ring[:, 0], ring[:, 1]
    return 1.0 if float(np.sum(x[:-1] * y[1:] - x[1:] * y[:-1])) > 0 else -1.0


def _in_disc(ring: np.ndarray, sign: float, px: float, py: float,
             q: np.ndarray) -> np.ndarray:
    """(m,) whether each point of ``q`` (m, 2) is inside or on the convex ring ``ring``
    moved to ``(px, py)``: every edge's cross product, times the ring's ``sign``, at least 0
    (the compiled steps' arithmetic, :func:`hotspot._gridnative.take_places`)."""
    ax, ay = px + ring[:-1, 0], py + ring[:-1, 1]
    bx, by = px + ring[1:, 0], py + ring[1:, 1]
    cross = ((bx - ax)[None, :] * (q[:, 1:2] - ay[None, :])
             - (by - ay)[None, :] * (q[:, 0:1] - ax[None, :]))
    return np.asarray(~(sign * cross < 0).any(axis=1))


def _split_area(
    pts: np.ndarray, w: np.ndarray, geom: Any, d: float, min_incidents: int, limit: int,
    made: int, should_stop: ShouldStop | None, native: ModuleType | None = None,
    count: _PeakCount | None = None,
) -> _AreaSplit:
    """Greedy places of one area: (peak, member indices into ``pts``, peak density per km2,
    polygon) for each place kept, the densest first. Refuses more than ``limit`` places with
    the ``made`` before it, or, with ``count`` (threads), counts each peak there.

    With ``native``, the places are made by the compiled loop
    (:meth:`~hotspot.place_grid.AreaGrid.take_places`), up to :data:`hotspot.cancel.EVERY`
    at a time (and not past the limit), with the same steps and arithmetic as the loop here,
    which makes a place the compiled loop leaves to it (one needing the FFT)."""
    r = d / 2
    grid = AreaGrid(pts, w, geom, d, native)
    buckets = _Buckets.of(pts, w, r) if native is not None else None
    near_of = _near_finder(pts, r, native, buckets)
    ring = _disc_ring(r)
    sign = _ring_sign(ring)
    sure = sure_inside(r)
    remaining = np.ones(pts.shape[0], dtype=bool)
    place_of = np.full(pts.shape[0], -1, dtype=np.int64)
    left = pts.shape[0]
    peaks: list[tuple[float, float]] = []
    dens: list[float] = []

    def found(k: int) -> None:
        """Count ``k`` more peaks (threads) and refuse past the limit."""
        if count is not None and k:
            count.add(k)
        if made + len(peaks) > limit:
            raise _too_many(made + len(peaks), limit, d)

    state = 1
    while left >= min_incidents:
        if buckets is not None and state == 1:  # the compiled loop, EVERY places at a time
            check(should_stop, "while splitting an area into places")
            most = int(min(EVERY, limit - made - len(peaks) + 1))
            cells, cell_dens, left, state = grid.take_places(
                buckets, r, sure, ring, sign, remaining, left, min_incidents, most, place_of,
                len(peaks))
            peaks += [grid.centre(int(cell)) for cell in cells.tolist()]
            dens += cell_dens.tolist()
            found(cells.size)
            if state == 0:
                break
            if state == 1:
                continue
        elif len(peaks) % EVERY == 0:
            check(should_stop, "while splitting an area into places")
        state = 1  # the next place by the steps below, then (compiled) the loop again
        cell = grid.densest()
        if cell is None:
            break
        px, py = grid.centre(cell)
        near, rim = near_of(px, py, remaining, sure)
        if rim.any():
            rim[rim] = ~_in_disc(ring, sign, px, py, pts[near[rim]])
        inside = near[~rim]
        density = grid.per_km2(cell)
        grid.remove(pts[inside], w[inside], cell, r)
        if inside.size == 0:  # only round-off was left here: the cell is barred, go on
            continue
        remaining[inside] = False
        place_of[inside] = len(peaks)
        left -= inside.size
        peaks.append((px, py))
        dens.append(density)
        found(1)
    if not peaks:
        return _AreaSplit([], 0)
    members, kept = _places_of(place_of, len(peaks), min_incidents)
    centres = np.asarray(peaks)
    discs = _discs(centres, ring)
    if count is not None:  # this area's work is done: only the count is corrected
        count.add(kept.size - len(peaks), stop=False)
    one = np.empty(1, dtype=object)
    one[0] = geom
    shapes = _place_shapes(discs, centres, kept, np.zeros(len(peaks), dtype=np.int64), one, d)
    return _AreaSplit([(peaks[i], members[i], dens[i], shape)
                       for i, shape in zip(kept.tolist(), shapes, strict=True)], len(peaks))


def _places_of(place_of: np.ndarray, k: int, min_incidents: int,
               ) -> tuple[list[np.ndarray], np.ndarray]:
    """The points of each of an area's ``k`` places (``place_of``: each point's, -1 none),
    ascending, and the places kept (those with ``min_incidents`` points or more)."""
    by_place = group_order(place_of)
    bounds = np.searchsorted(place_of[by_place], np.arange(k + 1))
    members = [by_place[bounds[i]:bounds[i + 1]] for i in range(k)]
    return members, np.flatnonzero([m.size >= min_incidents for m in members])


def sure_inside(r: float) -> float:
    """Within this distance (metres) of its centre a point is inside a place's disc of radius
    ``r`` for sure (the 64-gon's apothem, less a rounding allowance): only the thin rim
    beyond is tested on the polygon."""
    return float(r * _INSIDE * np.cos(np.pi / (4 * _DISC_SEGMENTS)) - 1e-6 * r)


def _cut_together(areas: list[int], members: list[np.ndarray], xy: np.ndarray, w: np.ndarray,
                  geoms: np.ndarray, widths: np.ndarray, d: float, min_incidents: int,
                  native: ModuleType, should_stop: ShouldStop | None,
                  limit: int) -> list[_Cut | None]:
    """The cuts of the ``areas`` (each as :func:`_cut_areas`' ``cut`` makes it, to the last
    bit), their peaks found by :func:`hotspot.place_batch.area_peaks` and their places'
    polygons made together; None for an area it leaves to ``cut``: those the
    compiled calls cannot make, and, once the peaks would pass the ``limit`` of places, the
    rest (for ``cut`` to refuse as the limit says: no more than ``limit`` places are drawn
    by one call, whatever the areas)."""
    r = d / 2
    ring = _disc_ring(r)
    found = area_peaks(xy, w, [members[a] for a in areas], geoms[areas], widths[areas] > d, d,
                       min_incidents, Disc(ring, _ring_sign(ring), sure_inside(r)), native,
                       should_stop, limit)
    out: list[_Cut | None] = [None] * len(areas)
    split: list[tuple[int, AreaPeaks, list[np.ndarray], np.ndarray]] = []
    for pos, (a, peaks) in enumerate(zip(areas, found, strict=True)):
        if peaks is None:
            continue
        idx = members[a]
        k = peaks.centres.shape[0]
        if peaks.place_of is None:  # kept whole: its peak is its densest cell, as _whole_area
            peak_x, peak_y = peaks.centres[0] if k else tuple(xy[idx].mean(axis=0))
            out[pos] = _Cut([({"parent": a, "peak_x": peak_x, "peak_y": peak_y,
                               "peak_density": float(peaks.density[0]) if k else 0.0,
                               "incidents": idx.size, "weight": float(w[idx].sum()),
                               "split": False}, geoms[a], idx)], 1)
        elif k == 0:
            out[pos] = _Cut([], 0)
        else:
            split.append((pos, peaks, *_places_of(peaks.place_of, k, min_incidents)))
    if not split:
        return out
    sizes = [peaks.centres.shape[0] for _pos, peaks, _m, _k in split]
    first = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    centres = np.concatenate([peaks.centres for _pos, peaks, _m, _k in split])
    kept = np.concatenate([kept_i + first[i] for i, (_p, _pk, _m, kept_i) in enumerate(split)])
    shapes = _place_shapes(_discs(centres, ring), centres, kept,
                           np.repeat(np.arange(len(split)), sizes),
                           geoms[[areas[pos] for pos, _pk, _m, _k in split]], d)
    t = 0
    for i, (pos, peaks, mem, kept_i) in enumerate(split):
        a = areas[pos]
        idx = members[a]
        area_w = w[idx]
        places = []
        for k in kept_i.tolist():
            m = mem[k]
            places.append(({"parent": a, "peak_x": centres[first[i] + k, 0],
                            "peak_y": centres[first[i] + k, 1],
                            "peak_density": float(peaks.density[k]), "incidents": int(m.size),
                            "weight": float(area_w[m].sum()), "split": True}, shapes[t],
                           idx[m]))
            t += 1
        out[pos] = _Cut(places, sizes[i])
    return out


def _place_shapes(discs: np.ndarray, centres: np.ndarray, kept: np.ndarray,
                  area_of: np.ndarray, geoms: np.ndarray, d: float) -> np.ndarray:
    """The polygons of the places ``kept`` (positions in ``discs`` and their (k, 2)
    ``centres``; each disc's area ``area_of``, a position in ``geoms``; an area's discs
    together, in the order they were made): each disc within its area (the disc itself when
    the area contains it whole, the usual case inside a large area, else its intersection
    with the area) minus the discs of the same area's earlier places it overlaps (their
    union, every place's at once). The same polygons whether the areas are made together
    or one at a time (each is made by the same GEOS operations on the same operands)."""
    shapes = discs[kept].copy()
    if kept.size == 0:
        return shapes
    of_kept = area_of[kept]
    partial = np.flatnonzero(~shapely.contains(prepared_copies(geoms)[of_kept], shapes))
    if partial.size:
        near = geoms[of_kept[partial]]
        for g in np.flatnonzero(shapely.get_num_geometries(geoms) > 1).tolist():
            sel = np.flatnonzero(of_kept[partial] == g)
            if sel.size:
                near[sel] = _near_parts(geoms[g], shapes[partial[sel]])
        shapes[partial] = shapely.intersection(shapes[partial], near)
    earlier: list[list[int]] = [[] for _ in range(discs.shape[0])]
    ends = np.flatnonzero(np.diff(area_of)) + 1
    for a0, a1 in itertools.pairwise([0, *ends.tolist(), discs.shape[0]]):
        if a1 - a0 < 2:
            continue
        for p, q in cKDTree(centres[a0:a1]).query_pairs(d * (1 - 1e-12)):
            earlier[a0 + max(p, q)].append(a0 + min(p, q))
    rows = [i for i, place in enumerate(kept.tolist()) if earlier[place]]
    if rows:
        widest = max(len(earlier[kept[i]]) for i in rows)
        table = np.full((len(rows), widest), None, dtype=object)
        for row, i in enumerate(rows):
            before = sorted(earlier[kept[i]])
            table[row, :len(before)] = discs[before]
        shapes[rows] = shapely.difference(shapes[rows], shapely.union_all(table, axis=1))
    return shapes
