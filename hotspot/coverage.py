"""The prospective measures of a hotspot map: hit rate, PAI, RRI, PEI* and stability.

A hotspot map is a prediction: "patrol these places next". It is judged on incidents it did not
see, at a fixed share of the force area (what a force can patrol). Everything here is in metres
in a projected CRS (EPSG:27700 for Great Britain, EPSG:32618 for New York); areas in m2.

The places kept within an area budget are chosen by :func:`hotspot.area_budget.select_by_area`
(re-exported here with :func:`~hotspot.area_budget.prepare`, :func:`~hotspot.area_budget.clip`
and :func:`~hotspot.area_budget.union_area`).

Measures (``n`` = test incidents inside the kept places, ``N`` = test incidents inside the
force boundary, ``a`` = area of the kept places' union clipped to the boundary, ``A`` = the
force area):

``hit rate``      H = n / N                       (share of the next period's crime captured)
``PAI``           PAI = H / (a / A)               (Chainey, Tompson and Uhlig 2008, the
                                                   Predictive Accuracy Index)
``RRI``           RRI = (n / n_fit) / (N / N_fit) (Levine 2008's recapture rate index in its
                                                   ratio form; ``n_fit``, ``N_fit`` the same
                                                   counts in the fitting period; see :func:`rri`)
``PEI*``          PEI* = H / H*                   (Hunt 2016; Drawve 2016 for PEI): H* is the
                                                   best hit rate any choice of reference cells
                                                   reaches over the same area in the test
                                                   period itself; see :func:`best_hit_rate`)
``stability``     Jaccard index of consecutive selections: area(S1 & S2) / area(S1 | S2)

References: S. Chainey, L. Tompson, S. Uhlig, "The utility of hotspot mapping for predicting
spatial patterns of crime", Security Journal 21 (2008); N. Levine, "The 'Hottest' Part of a
Hotspot: Comments on 'The Utility of Hotspot Mapping...'", Security Journal 21 (2008);
J. Hunt, "Do crime hot spots move?" / NIJ Real-Time Crime Forecasting Challenge (2016-17),
where PEI* was defined; G. Drawve, "A metric comparison of predictive hot spot techniques and
RTM", Justice Quarterly 33 (2016) (PEI).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from hotspot.area_budget import (
    NEGLIGIBLE_M2,
    Prepared,
    clip,
    geometry_array,
    prepare,
    rectangles,
    select_by_area,
    union_area,
)
from hotspot.errors import InvalidParameter
from hotspot.inside import any_hit

__all__ = [
    "Prepared",
    "best_curve",
    "best_hit_rate",
    "cell_boxes",
    "cell_counts",
    "clip",
    "hit_rate",
    "inside_any",
    "jaccard",
    "pai",
    "pei_star",
    "point_index",
    "prepare",
    "rri",
    "select_by_area",
    "union_area",
]


def point_index(xy: np.ndarray) -> shapely.STRtree:
    """A spatial index of points ((n, 2) metres), for :func:`inside_any` when the same points
    are tested against many selections (the backtest: every candidate and share of a fold)."""
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    return shapely.STRtree(shapely.points(xy) if len(xy) else np.empty(0, dtype=object))


def inside_any(geoms: Any, xy: np.ndarray | shapely.STRtree) -> np.ndarray:
    """True for each point inside or on the edge of any polygon.

    ``xy``: (n, 2) coordinates in metres, an array of shapely points, or a
    :func:`point_index` of the points (made once and reused when the same points are tested
    against many selections). With an index, the polygons query the points: an axis-aligned
    rectangle (a grid cell, exactly four corners on its bounds) by its bounds alone, which
    is the same test for a rectangle, any other polygon by ``intersects``."""
    if isinstance(xy, shapely.STRtree):
        return _inside_any_indexed(geometry_array(geoms), xy)
    arr = geometry_array(geoms)
    pts = np.asarray(xy)
    if pts.dtype != object:  # coordinates: hotspot.inside (a grid, GEOS near the edges)
        coords = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        return any_hit(arr, coords, "intersects") if arr.size else np.zeros(len(coords), bool)
    out = np.zeros(len(pts), dtype=bool)
    if arr.size == 0 or len(pts) == 0:
        return out
    tree = shapely.STRtree(arr)
    hit = tree.query(pts, predicate="intersects")
    out[hit[0]] = True
    return out


def _axis_boxes(geoms: np.ndarray) -> np.ndarray:
    """True where a geometry is exactly an axis-aligned rectangle: a polygon without holes
    whose ring has 5 coordinates, each on a corner of its bounds, with the area of its bounds
    (not a bow tie, not a line)."""
    out = np.zeros(geoms.size, dtype=bool)
    if geoms.size == 0:
        return out
    cand = ((shapely.get_type_id(geoms) == 3) & (shapely.get_num_interior_rings(geoms) == 0)
            & (shapely.get_num_coordinates(geoms) == 5))
    if not cand.any():
        return out
    sub = geoms[cand]
    coords, index = shapely.get_coordinates(sub, return_index=True)
    bounds = shapely.bounds(sub)
    b = bounds[index]
    on = (((coords[:, 0] == b[:, 0]) | (coords[:, 0] == b[:, 2]))
          & ((coords[:, 1] == b[:, 1]) | (coords[:, 1] == b[:, 3])))
    ok = np.bincount(index, weights=on, minlength=sub.size) == 5
    # a degenerate box (zero width or height) is a line: leave it to the exact test
    box_area = (bounds[:, 2] - bounds[:, 0]) * (bounds[:, 3] - bounds[:, 1])
    ok &= (box_area > 0) & (np.abs(shapely.area(sub) - box_area) <= 1e-9 * box_area)
    out[np.flatnonzero(cand)] = ok
    return out


def _inside_any_indexed(arr: np.ndarray, tree: shapely.STRtree) -> np.ndarray:
    out = np.zeros(len(tree.geometries), dtype=bool)
    if arr.size == 0 or out.size == 0:
        return out
    box = _axis_boxes(arr)
    if box.any():  # a point is in a rectangle (or on its edge) iff it is in its bounds
        out[tree.query(arr[box])[1]] = True
    if not box.all():
        out[tree.query(arr[~box], predicate="intersects")[1]] = True
    return out


def hit_rate(n_inside: float, n_total: float) -> float:
    """H = n / N: share of the test incidents (or of their weight) inside the places.

    NaN when there are no test incidents.
    """
    return float(n_inside / n_total) if n_total > 0 else float("nan")


def pai(hit: float, area_m2: float, total_area_m2: float) -> float:
    """Predictive Accuracy Index (Chainey, Tompson and Uhlig 2008): PAI = H / (a / A).

    ``hit`` is the hit rate H (0-1), ``area_m2`` the area a of the places (clipped to the force
    boundary), ``total_area_m2`` the force area A. PAI 1 is what places drawn at random
    capture; NaN when the places have no area.
    """
    if total_area_m2 <= 0:
        raise InvalidParameter("total_area_m2 must be positive", parameter="total_area_m2")
    if area_m2 <= 0 or not np.isfinite(hit):
        return float("nan")
    return float(hit / (area_m2 / total_area_m2))


def rri(n_test_inside: float, n_fit_inside: float, n_test: float, n_fit: float) -> float:
    """Recapture Rate Index, in Levine's (2008) ratio form.

        RRI = (n_test_inside / n_fit_inside) / (n_test / n_fit)

    the growth of crime inside the places from the fitting period to the test period, over the
    growth of crime in the whole force area (``n_fit`` counts every fitting month: with k
    fitting months both ``n_fit`` and ``n_fit_inside`` hold k months, so the ratio is per
    month). 1: the places keep their share of crime; above 1: they gain share. It is the
    same number as H_test / H_fit, the test hit rate over the fitting (retrospective) hit rate.
    NaN when a count it divides by is 0.

    Other formulas go by the same name and give different numbers; they are *not* used here:

    - the raw recapture ratio n_test_inside / n_fit_inside (CrimeStat's hotspot comparisons),
      which moves with the total amount of crime and with the length of the fitting period;
    - the same ratio with the fitting count taken per month (n_fit_inside / k), which differs
      from the raw one by the factor k;
    - a ratio of densities, (n_test_inside / a_test) / (n_fit_inside / a_fit), when the test
      period's hotspots are drawn again rather than the fitted ones reused (areas differ).
    """
    if n_fit_inside <= 0 or n_test <= 0 or n_fit <= 0:
        return float("nan")
    return float((n_test_inside / n_fit_inside) / (n_test / n_fit))


def cell_counts(
    xy: np.ndarray, cell_size_m: float, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts (or weight sums) in the square cells of side ``cell_size_m`` aligned on
    multiples of it (the same grid whatever the data): (column, row, count) of each
    occupied cell, column = floor(x / c), row = floor(y / c)."""
    if not np.isfinite(cell_size_m) or cell_size_m <= 0:
        raise InvalidParameter(f"cell_size_m must be a positive number of metres, not "
                               f"{cell_size_m}", parameter="cell_size_m")
    xy = np.asarray(xy, dtype=np.float64)
    if xy.shape[0] == 0:
        e = np.empty(0, dtype=np.int64)
        return e, e, np.empty(0)
    col = np.floor(xy[:, 0] / cell_size_m).astype(np.int64)
    row = np.floor(xy[:, 1] / cell_size_m).astype(np.int64)
    key = col * (1 << 32) + (row - row.min())
    uniq, inverse = np.unique(key, return_inverse=True)
    w = np.ones(xy.shape[0]) if weights is None else np.asarray(weights, dtype=np.float64)
    count = np.bincount(inverse, weights=w, minlength=uniq.size)
    first = np.zeros(uniq.size, dtype=np.int64)
    first[inverse] = np.arange(xy.shape[0])
    return col[first], row[first], count


def cell_boxes(col: np.ndarray, row: np.ndarray, cell_size_m: float) -> np.ndarray:
    """The square polygons of grid cells (column, row) of side ``cell_size_m``; an edge two
    cells share is the same number in both (``(col + 1) * c``, not ``col * c + c``, which can
    differ in the last bit and leave slivers between neighbours in a union)."""
    c = float(cell_size_m)
    col = np.asarray(col, dtype=np.float64)
    row = np.asarray(row, dtype=np.float64)
    return np.asarray(shapely.box(col * c, row * c, (col + 1) * c, (row + 1) * c), dtype=object)


def best_curve(
    xy: np.ndarray,
    cell_size_m: float = 50.0,
    *,
    boundary: BaseGeometry | None = None,
    weights: np.ndarray | None = None,
    n_total: float | None = None,
) -> Callable[[float | np.ndarray], np.ndarray]:
    """H* as a function of area (m2): the best hit rate reachable with cells of
    ``cell_size_m`` chosen knowing the incidents ``xy`` themselves (the denominator of PEI*).

    Cells of the fixed grid (:func:`cell_counts`), clipped to ``boundary``, are taken in order
    of count per m2, the last one fractionally: the fractional knapsack optimum, so no choice of
    whole cells of that grid over that area does better. ``n_total`` is N (default: the count
    of ``xy``). The function returns NaN when there is no incident.
    """
    col, row, count = cell_counts(xy, cell_size_m, weights)
    total = float(count.sum()) if n_total is None else float(n_total)
    cell_area = np.full(count.size, float(cell_size_m) ** 2)
    if boundary is not None and count.size:
        cell_area = shapely.area(clip(cell_boxes(col, row, cell_size_m), boundary))
    good = cell_area > NEGLIGIBLE_M2
    count, cell_area = count[good], cell_area[good]
    order = np.lexsort((-count, -(count / cell_area)))
    cum_a = np.concatenate([[0.0], np.cumsum(cell_area[order])])
    cum_n = np.concatenate([[0.0], np.cumsum(count[order])])

    def curve(area_m2: float | np.ndarray) -> np.ndarray:
        a = np.asarray(area_m2, dtype=np.float64)
        if total <= 0:
            return np.full(a.shape, np.nan)
        return np.asarray(np.interp(a, cum_a, cum_n) / total)

    return curve


def best_hit_rate(
    xy: np.ndarray,
    area_m2: float | np.ndarray,
    *,
    cell_size_m: float = 50.0,
    boundary: BaseGeometry | None = None,
    weights: np.ndarray | None = None,
    n_total: float | None = None,
) -> np.ndarray:
    """H* at ``area_m2`` (one value per area): see :func:`best_curve`."""
    curve = best_curve(xy, cell_size_m, boundary=boundary, weights=weights, n_total=n_total)
    return np.atleast_1d(curve(area_m2))


def pei_star(hit: float, best_hit: float) -> float:
    """PEI* = H / H* (Hunt 2016): the hit rate over the best hit rate possible at the same area
    (:func:`best_hit_rate`); 1 is perfect. NaN when H* is 0 or unknown."""
    if not np.isfinite(best_hit) or best_hit <= 0 or not np.isfinite(hit):
        return float("nan")
    return float(hit / best_hit)


def _pair_overlap_areas(ga: np.ndarray, gb: np.ndarray, i: np.ndarray,
                        j: np.ndarray) -> np.ndarray:
    """Area of ga[i] & gb[j] for each pair; from the bounds when both are rectangles."""
    ba, ra = rectangles(ga)
    bb, rb = rectangles(gb)
    out = np.zeros(i.size)
    both = ra[i] & rb[j]
    x = ba[i[both]], bb[j[both]]
    w = np.minimum(x[0][:, 2], x[1][:, 2]) - np.maximum(x[0][:, 0], x[1][:, 0])
    h = np.minimum(x[0][:, 3], x[1][:, 3]) - np.maximum(x[0][:, 1], x[1][:, 1])
    out[both] = np.clip(w, 0, None) * np.clip(h, 0, None)
    other = ~both
    if other.any():
        out[other] = shapely.area(shapely.intersection(ga[i[other]], gb[j[other]]))
    return out


def jaccard(a: Any, b: Any, *, boundary: BaseGeometry | None = None,
            disjoint: bool = False) -> float:
    """Stability of two selections: area(A & B) / area(A | B) of their unions (0-1).

    ``a`` and ``b`` are sequences of polygons (metres); clipped to ``boundary`` when given.
    ``disjoint``: the caller knows that the polygons within ``a``, and within ``b``, do not
    overlap one another; then the intersection is summed over pairs (a spatial index) instead
    of drawing the two unions, which is much faster for thousands of cells. NaN when both are
    empty.
    """
    ga, gb = geometry_array(a), geometry_array(b)
    if boundary is not None:
        ga, gb = clip(ga, boundary), clip(gb, boundary)
    if disjoint:
        area_a, area_b = float(shapely.area(ga).sum()), float(shapely.area(gb).sum())
        inter = 0.0
        if ga.size and gb.size:
            i, j = shapely.STRtree(gb).query(ga)
            inter = float(_pair_overlap_areas(ga, gb, i, j).sum())
        union = area_a + area_b - inter
    else:
        ua, ub = shapely.union_all(ga), shapely.union_all(gb)
        union = float(shapely.area(shapely.union(ua, ub)))
        inter = float(shapely.area(shapely.intersection(ua, ub)))
    if union <= NEGLIGIBLE_M2:
        return float("nan")
    return float(inter / union)
