"""Ranked places within an area budget: :func:`select_by_area` keeps places in rank order while
their union fits the budget (m2), clipped to the force boundary.

:func:`select_by_area` takes places in rank order and keeps each one whose *new* area (its area
clipped to the force boundary, minus what earlier kept places already cover) still fits in the
budget; a place that would overflow is skipped and later, smaller ones are still tried. The
union of the kept places therefore covers at most the budget, and as close to it as the places
allow. :func:`prepare` does the clipping and overlap search once for several budgets (the
backtest's shares). Everything is in metres in a projected CRS; areas in m2. The measures of a
selection are in :mod:`hotspot.coverage`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from shapely.geometry.base import BaseGeometry

from hotspot.errors import InvalidParameter
from hotspot.inside import prepared_copy

NEGLIGIBLE_M2 = 1e-6
"""Areas below this (m2) count as nothing (round-off of clipping and differences)."""


def geometry_array(geoms: Any) -> np.ndarray:
    """Polygons (a GeoSeries, a GeometryArray or a sequence of shapely geometries) as a
    one-dimensional object array."""
    values = getattr(geoms, "values", geoms)  # GeoSeries -> GeometryArray
    arr = np.asarray(values, dtype=object)
    if arr.ndim != 1:
        raise InvalidParameter("geoms must be a one-dimensional sequence of polygons",
                               parameter="geoms")
    return arr


def clip(geoms: Any, boundary: BaseGeometry | None) -> np.ndarray:
    """Each geometry clipped to ``boundary`` (unchanged when None).

    Geometries wholly inside the boundary are returned as they are (no intersection is
    computed for them): a grid of 20,000 cells costs one prepared ``contains`` test and a few
    hundred intersections along the coast.
    """
    arr = geometry_array(geoms)
    if boundary is None or arr.size == 0:
        return arr
    inside = shapely.contains(prepared_copy(boundary), arr)
    out = arr.copy()
    edge = ~inside
    if edge.any():
        out[edge] = shapely.intersection(arr[edge], boundary)
    return out


def _overlap_pairs(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i, j), both orders, of geometries whose interiors meet (touching edges do not).

    Candidate pairs come from a spatial index on bounding boxes; two axis-aligned rectangles
    (grid cells) are compared by their bounds, any other pair by ``intersects and not
    touches``: a grid of 20,000 cells costs milliseconds, not a predicate per neighbour."""
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms)
    keep = a < b
    a, b = a[keep], b[keep]
    if a.size == 0:
        return a, b
    bounds, rect = rectangles(geoms)
    both = rect[a] & rect[b]
    meet = np.zeros(a.size, dtype=bool)
    tol = 1e-9 * max(1.0, float(np.nanmax(np.abs(bounds))))
    ba, bb = bounds[a[both]], bounds[b[both]]
    meet[both] = ((ba[:, 0] < bb[:, 2] - tol) & (bb[:, 0] < ba[:, 2] - tol)
                  & (ba[:, 1] < bb[:, 3] - tol) & (bb[:, 1] < ba[:, 3] - tol))
    other = ~both
    if other.any():
        ga, gb = geoms[a[other]], geoms[b[other]]
        meet[other] = shapely.intersects(ga, gb) & ~shapely.touches(ga, gb)
    a, b = a[meet], b[meet]
    return np.concatenate([a, b]), np.concatenate([b, a])


def select_by_area(
    geoms: Any, budget_m2: float, *, boundary: BaseGeometry | None = None
) -> np.ndarray:
    """Indices of the ranked places whose union covers at most ``budget_m2``, greedily.

    Parameters
    ----------
    geoms
        Polygons in rank order (best first), metres in a projected CRS: a GeoSeries, a
        GeometryArray or an array of shapely geometries.
    budget_m2
        Area budget, square metres (>= 0).
    boundary
        Force area (same CRS): each place counts only its area inside it. None: no clipping.

    Returns
    -------
    numpy.ndarray
        Indices into ``geoms`` of the kept places, in rank order. A place is kept when its new
        area (clipped, less what the places kept before it already cover) fits in what is left
        of the budget; a place that would overflow is skipped and later ones are still tried; a
        place that adds no area (outside the boundary, or inside places already kept) is
        skipped. Cost: one spatial index over the places; differences are computed only for
        places that overlap another one.

    Raises
    ------
    InvalidParameter
        A budget that is negative or not finite.

    Examples
    --------
    >>> import shapely
    >>> boxes = [shapely.box(0, 0, 100, 100), shapely.box(200, 0, 400, 200),
    ...          shapely.box(500, 0, 550, 50)]
    >>> select_by_area(boxes, 12_500).tolist()  # the 200 m square would overflow
    [0, 2]
    """
    if not np.isfinite(budget_m2) or budget_m2 < 0:
        raise InvalidParameter(
            f"budget_m2 must be a finite area >= 0 in square metres, not {budget_m2}",
            parameter="budget_m2")
    return prepare(geoms, boundary=boundary).select(budget_m2)[0]


@dataclass(frozen=True)
class Prepared:
    """Ranked places clipped to the boundary, with their areas and overlaps, ready for
    selections at several budgets (:meth:`select`)."""

    clipped: np.ndarray
    areas: np.ndarray
    partners: dict[int, np.ndarray]

    def select(self, budget_m2: float) -> tuple[np.ndarray, float]:
        """(indices kept in rank order, area of their clipped union in m2) for one budget."""
        idx, total, _ = self._select(budget_m2, pieces=False)
        return idx, total

    def select_pieces(self, budget_m2: float) -> tuple[np.ndarray, float, np.ndarray]:
        """As :meth:`select`, with the kept places' **pieces**: each kept place clipped, less
        the places kept before it (the differences :meth:`select` computes anyway). Pieces
        are pairwise disjoint and their union is the selection's, so measures that sum over
        pieces (:func:`jaccard` with ``disjoint=True``) need no union of the selection."""
        return self._select(budget_m2, pieces=True)

    def _select(self, budget_m2: float, *,
                pieces: bool) -> tuple[np.ndarray, float, np.ndarray]:
        if not np.isfinite(budget_m2) or budget_m2 < 0:
            raise InvalidParameter(
                f"budget_m2 must be a finite area >= 0 in square metres, not {budget_m2}",
                parameter="budget_m2")
        n = self.clipped.size
        areas, partners, clipped = self.areas, self.partners, self.clipped
        kept_mask = np.zeros(n, dtype=bool)
        kept: list[int] = []
        cut: dict[int, Any] = {}  # kept place -> its piece, where earlier kept places overlap it
        total = 0.0
        budget = float(budget_m2) * (1 + 1e-12)
        positive = areas[areas > NEGLIGIBLE_M2]
        smallest = float(positive.min()) if positive.size else np.inf
        area_list = areas.tolist()
        for i in range(n):
            if budget - total < smallest and not partners:
                break  # nothing more can fit
            new = area_list[i]
            if new <= NEGLIGIBLE_M2:
                continue
            mine = partners.get(i)
            if mine is not None:
                before = mine[kept_mask[mine]]
                if before.size:
                    piece = shapely.difference(clipped[i], shapely.union_all(clipped[before]))
                    new = float(shapely.area(piece))
                    if new <= NEGLIGIBLE_M2:
                        continue
                    if pieces and total + new <= budget:
                        cut[i] = piece
            if total + new <= budget:
                kept.append(i)
                kept_mask[i] = True
                total += new
        idx = np.asarray(kept, dtype=np.int64)
        out = clipped[idx]
        if cut:
            out = out.copy()
            for k, i in enumerate(kept):
                if i in cut:
                    out[k] = cut[i]
        return idx, float(total), out


def prepare(geoms: Any, *, boundary: BaseGeometry | None = None) -> Prepared:
    """Clip ranked places to ``boundary`` and find which overlap earlier-ranked ones, once for
    several :meth:`Prepared.select` calls (the backtest selects at three shares)."""
    clipped = clip(geoms, boundary)
    areas = shapely.area(clipped) if clipped.size else np.empty(0)
    areas = np.where(np.isfinite(areas), areas, 0.0)
    partners: dict[int, np.ndarray] = {}
    if clipped.size:
        first, second = _overlap_pairs(clipped)
        earlier = second < first  # for each place, the earlier-ranked places it overlaps
        a, b = first[earlier], second[earlier]
        order = np.argsort(a, kind="stable")
        a, b = a[order], b[order]
        cuts = np.flatnonzero(np.diff(a)) + 1
        for group_a, group_b in zip(np.split(a, cuts), np.split(b, cuts), strict=True):
            if group_a.size:
                partners[int(group_a[0])] = group_b
    return Prepared(clipped=clipped, areas=areas, partners=partners)


def union_area(geoms: Any, *, boundary: BaseGeometry | None = None,
               disjoint_within: np.ndarray | None = None) -> float:
    """Area (m2) of the union of ``geoms`` clipped to ``boundary``.

    ``disjoint_within``: one label per geometry, where geometries with the same label are
    known not to overlap (their interiors are disjoint: the places cut from one hotspot area).
    The union's area is then the sum of areas, except where geometries of different labels
    meet: each set of geometries joined by such contacts is unioned on its own (the hotspot
    areas of DBSCAN may overlap, and so their places). The same area as the union of all,
    up to rounding, without overlaying every pair of neighbouring places; each piece is
    clipped only when the boundary does not contain it."""
    arr = geometry_array(geoms)
    if arr.size == 0:
        return 0.0
    if disjoint_within is None:
        u = shapely.union_all(arr)
        if boundary is not None:
            u = shapely.intersection(u, boundary)
        return float(shapely.area(u))
    label = np.asarray(disjoint_within)
    if label.shape != arr.shape:
        raise InvalidParameter("disjoint_within must hold one label per geometry",
                               parameter="disjoint_within")
    present = shapely.is_geometry(arr)
    present[present] = ~shapely.is_empty(arr[present])
    arr, label = arr[present], label[present]
    pieces = _joined_across_labels(arr, label)
    if boundary is None:
        return float(shapely.area(pieces).sum())
    inside = shapely.contains(prepared_copy(boundary), pieces)
    return float(shapely.area(pieces[inside]).sum()
                 + shapely.area(shapely.intersection(pieces[~inside], boundary)).sum())


def _joined_across_labels(arr: np.ndarray, label: np.ndarray) -> np.ndarray:
    """The geometries that meet none of another label as they are, and each set joined by
    contacts across labels (connected components) as one union."""
    a, b = shapely.STRtree(arr).query(arr)  # boxes that meet: then only pairs across labels
    keep = (a < b) & (label[a] != label[b])  # are tested (those within one never overlap)
    a, b = a[keep], b[keep]
    cross = np.asarray(shapely.intersects(arr[a], arr[b]), dtype=bool)
    if not cross.any():
        return arr
    n = arr.size
    graph = coo_matrix((np.ones(int(cross.sum()), dtype=np.int8), (a[cross], b[cross])),
                       shape=(n, n))
    _k, component = connected_components(graph, directed=False)
    size = np.bincount(component)
    alone = size[component] == 1
    joined = np.flatnonzero(size > 1)
    order = np.argsort(component, kind="stable")
    order = order[size[component[order]] > 1]  # the members of each joined set, in order
    table = np.full((joined.size, int(size.max())), None, dtype=object)
    row = np.searchsorted(joined, component[order])
    col = np.arange(order.size) - np.searchsorted(component[order], component[order])
    table[row, col] = arr[order]
    return np.concatenate([arr[alone], np.asarray(shapely.union_all(table, axis=1),
                                                  dtype=object)])


def rectangles(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(bounds, True where the geometry is an axis-aligned rectangle such as a grid cell)."""
    bounds = shapely.bounds(geoms)
    box_area = (bounds[:, 2] - bounds[:, 0]) * (bounds[:, 3] - bounds[:, 1])
    area = shapely.area(geoms)
    rect = np.isfinite(box_area) & (np.abs(box_area - area) <= 1e-9 * np.maximum(box_area, 1.0))
    return bounds, rect
