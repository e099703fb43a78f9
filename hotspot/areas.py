"""Hotspot areas by method, the first step of :func:`hotspot.analysis.analyse`.

:func:`find_areas` runs KDE, DBSCAN (or takes cluster labels computed elsewhere), Gi* or the
places of a backtest's chosen candidate (``auto``) over the incidents (metres, a projected CRS)
and returns each incident's area (-1 for none), the areas as polygons (a GeoDataFrame with a
``cluster`` column) and the KDE density grid. It records what it measured in ``info`` and the
fitted parameters in ``used``.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from hotspot._numeric import group_order
from hotspot.cancel import ShouldStop, check
from hotspot.dbscan import DBSCANHotspots, cluster_polygons, too_many_clusters
from hotspot.errors import InvalidParameter
from hotspot.gistar import GiStarHotspots
from hotspot.inside import point_hits
from hotspot.kde import DensityGrid, KDEHotspots
from hotspot.params import AUTO
from hotspot.params import METHODS as PARAMETERS

KDE_PARAMETERS = tuple(p.name for p in PARAMETERS["kde"])
DBSCAN_PARAMETERS = tuple(p.name for p in PARAMETERS["dbscan"])
GISTAR_PARAMETERS = tuple(p.name for p in PARAMETERS["gistar"])
GISTAR_MAX_CELLS = 4_000_000
"""Most cells of a Gi* grid: about 65 bytes a cell at its peak (16 million cells took 1.1 GB);
4 million is a 100 m grid over 40,000 km2, or 25 m cells over a county."""
LIBRARY_ONLY = {"kde": ("bounds", "max_cells"), "dbscan": ("weight_by",), "gistar": ()}
"""Parameters a caller of the library may pass beyond :mod:`hotspot.params` (not offered by
the API or the CLI)."""

Areas = tuple[np.ndarray, gpd.GeoDataFrame, DensityGrid | None]
"""Each incident's area (-1 for none), the areas' polygons, the KDE grid (or None)."""


def find_areas(
    method: str, xy: np.ndarray, w: np.ndarray, weighted: bool, used: dict[str, Any],
    info: dict[str, Any], *, crs: str, cluster_labels: np.ndarray | None,
    places: gpd.GeoDataFrame | None, boundary: Any, max_hotspots: int | None,
    max_hotspot_cells: int | None, max_grid_cells: int | None, should_stop: ShouldStop | None,
) -> Areas:
    """The hotspot areas of ``method`` over ``xy`` (metres in ``crs``) with weights ``w`` (used
    by the method when ``weighted``); ``cluster_labels`` given: those clusters, whatever the
    method. The arguments are :func:`hotspot.analysis.analyse`'s."""
    sample_weight = w if weighted else None
    if xy.shape[0] == 0:
        info["note"] = "no incidents in the selection"
        return np.empty(0, dtype=np.int64), _no_shapes(crs), None
    if method == "kde":
        return _kde_areas(xy, sample_weight, used, info, crs, max_hotspots, max_hotspot_cells,
                          max_grid_cells, should_stop)
    if cluster_labels is not None:
        labels, shapes = _given_clusters(xy, w, cluster_labels, used, info, crs, max_hotspots,
                                         should_stop)
    elif method == AUTO:
        labels, shapes = _candidate_places(xy, places, info, crs, max_hotspots)
    elif method == "gistar":
        labels, shapes = _gistar_areas(xy, sample_weight, used, info, crs, boundary,
                                       max_hotspots, max_grid_cells, should_stop)
    else:
        labels, shapes = _dbscan_areas(xy, sample_weight, used, info, crs, max_hotspots,
                                       should_stop)
    return labels, shapes, None


def _kde_areas(xy: np.ndarray, sample_weight: np.ndarray | None, used: dict[str, Any],
               info: dict[str, Any], crs: str, max_hotspots: int | None,
               max_hotspot_cells: int | None, max_grid_cells: int | None,
               should_stop: ShouldStop | None) -> Areas:
    """KDE: the areas above the density threshold; the fitted bandwidth and cell size go into
    ``used``, the threshold and the grid's size into ``info``."""
    kde = KDEHotspots(**{k: v for k, v in used.items()
                         if k in KDE_PARAMETERS or k in LIBRARY_ONLY["kde"]},
                      max_areas=max_hotspots, max_area_cells=max_hotspot_cells)
    if max_grid_cells is not None:
        kde.max_cells = min(kde.max_cells, max_grid_cells)
    kde.fit(xy, sample_weight=sample_weight, crs=crs, should_stop=should_stop)
    grid, labels, shapes = kde.grid_, kde.labels_, kde.hotspots_
    used["bandwidth_m"] = round(grid.bandwidth_m, 3)
    used["cell_size_m"] = grid.cell_size_m
    info["density_threshold_per_km2"] = round(kde.threshold_, 4)
    info["grid"] = {"rows": grid.shape[0], "columns": grid.shape[1],
                    "peak_per_km2": round(grid.peak, 3)}
    return labels, shapes, grid


def _given_clusters(xy: np.ndarray, w: np.ndarray, cluster_labels: np.ndarray,
                    used: dict[str, Any], info: dict[str, Any], crs: str,
                    max_hotspots: int | None, should_stop: ShouldStop | None,
                    ) -> tuple[np.ndarray, gpd.GeoDataFrame]:
    """Clusters computed elsewhere (one label per incident, -1 noise), renumbered, drawn as
    DBSCAN draws its own (a buffer of ``buffer_m``, default half ``eps_m``)."""
    n = xy.shape[0]
    given = np.asarray(cluster_labels, dtype=np.int64)
    if given.shape != (n,):
        raise InvalidParameter("cluster_labels must give one label per incident")
    labels = _renumber(given)
    found = int(labels.max()) + 1 if n else 0
    if max_hotspots is not None and found > max_hotspots:
        raise too_many_clusters(found, max_hotspots, float(used["eps_m"]),
                                used["min_samples"])
    check(should_stop, "before drawing clusters")
    buffer_m = used["eps_m"] / 2 if used["buffer_m"] is None else used["buffer_m"]
    shapes = cluster_polygons(xy, labels, np.ones(n, dtype=np.int64), w,
                              buffer_m=float(buffer_m), crs=crs)
    info["clustered_by"] = "given labels"
    return labels, shapes


def _candidate_places(xy: np.ndarray, places: gpd.GeoDataFrame | None, info: dict[str, Any],
                      crs: str, max_hotspots: int | None) -> tuple[np.ndarray, gpd.GeoDataFrame]:
    """``auto``: the ranked places of the candidate a backtest chose, touching ones merged
    (``order``: the best member's rank); each incident goes to the first place holding it."""
    if places is None:
        raise InvalidParameter("method auto needs the places of the candidate the backtest "
                               "chose (places)", "method")
    merged, order = _merge_touching(np.asarray(places.geometry.values, dtype=object))
    if max_hotspots is not None and len(merged) > max_hotspots // 2:
        # a budget holding more places than may be described: the best-ranked ones (the
        # split may make a few more places of the larger areas)
        best = np.sort(np.argsort(order, kind="stable")[:max_hotspots // 2])
        info["note"] = (f"the area budget holds {len(merged):,} separate places; the "
                        f"{best.size:,} best-ranked are shown (HOTSPOT_MAX_HOTSPOTS is "
                        f"{max_hotspots:,}): a smaller area_share gives the rest of the "
                        "budget's worth")
        merged, order = merged[best], order[best]
    shapes = gpd.GeoDataFrame({"cluster": np.arange(len(merged)), "order": order},
                              geometry=merged, crs=crs)
    labels = _first_place(merged, xy)
    info["candidate_places"] = len(places)
    return labels, shapes


def _gistar_areas(xy: np.ndarray, sample_weight: np.ndarray | None, used: dict[str, Any],
                  info: dict[str, Any], crs: str, boundary: Any, max_hotspots: int | None,
                  max_grid_cells: int | None, should_stop: ShouldStop | None,
                  ) -> tuple[np.ndarray, gpd.GeoDataFrame]:
    """Gi*: the significant hot cells' areas (grid at most :data:`GISTAR_MAX_CELLS`)."""
    gistar = GiStarHotspots(**{k: v for k, v in used.items() if k in GISTAR_PARAMETERS},
                        boundary=boundary, max_areas=max_hotspots)
    gistar.max_cells = min(gistar.max_cells or GISTAR_MAX_CELLS, GISTAR_MAX_CELLS,
                       max_grid_cells or GISTAR_MAX_CELLS)
    gistar.fit(xy, sample_weight=sample_weight, crs=crs, should_stop=should_stop)
    info["gistar"] = {"study_cells": int(gistar.grid_.in_study.sum()),
                      "distance_m": gistar.grid_.distance_m, "k": gistar.grid_.k,
                      "fdr": used["fdr"], "confidence": used["confidence"]}
    return gistar.labels_, gistar.hotspots_


def _dbscan_areas(xy: np.ndarray, sample_weight: np.ndarray | None, used: dict[str, Any],
                  info: dict[str, Any], crs: str, max_hotspots: int | None,
                  should_stop: ShouldStop | None) -> tuple[np.ndarray, gpd.GeoDataFrame]:
    """DBSCAN: the clusters' polygons; the chosen ``min_samples`` (when automatic) and the
    core incidents go into ``info``."""
    dbscan = DBSCANHotspots(**{k: v for k, v in used.items()
                           if k in DBSCAN_PARAMETERS or k in LIBRARY_ONLY["dbscan"]},
                        max_clusters=max_hotspots)
    dbscan.fit(xy, sample_weight=sample_weight, crs=crs, should_stop=should_stop)
    if dbscan.auto_:
        info["min_samples_auto"] = dbscan.auto_
    info["core_incidents"] = int(dbscan.core_sample_mask_.sum())
    return dbscan.labels_, dbscan.hotspots_


def _merge_touching(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ranked polygons that touch or overlap merged into areas (connected groups), each with the
    rank (index) of its best member; the areas are then split into places as any method's are,
    so neighbouring 50 m squares become one patrol-scale place rather than many."""
    n = len(geoms)
    if n == 0:
        return geoms, np.empty(0, dtype=np.int64)
    a, b = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    graph = coo_matrix((np.ones(a.size, dtype=np.int8), (a, b)), shape=(n, n))
    count, group = connected_components(graph, directed=False)
    order = np.full(count, n, dtype=np.int64)
    np.minimum.at(order, group, np.arange(n))
    members = group_order(group)
    starts = np.searchsorted(group[members], np.arange(count + 1))
    merged = np.array([
        geoms[members[starts[g]]] if starts[g + 1] - starts[g] == 1
        else shapely.union_all(geoms[members[starts[g]:starts[g + 1]]])
        for g in range(count)], dtype=object)
    return merged, order


def _first_place(geoms: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """The first of ``geoms`` (in order) holding each point, -1 for none."""
    labels = np.full(xy.shape[0], -1, dtype=np.int64)
    if not len(geoms) or not xy.shape[0]:
        return labels
    pt, poly = point_hits(geoms, xy, "intersects")
    if pt.size:
        order = np.lexsort((poly, pt))
        pt, poly = pt[order], poly[order]
        first = np.r_[True, pt[1:] != pt[:-1]]
        labels[pt[first]] = poly[first]
    return labels


def _renumber(labels: np.ndarray) -> np.ndarray:
    """Clusters numbered 0, 1, ... in the order of their first incident (noise stays -1)."""
    out = np.full(labels.shape, -1, dtype=np.int64)
    member = labels >= 0
    if member.any():
        uniq, first = np.unique(labels[member], return_index=True)
        rank = np.empty(uniq.size, dtype=np.int64)
        rank[np.argsort(first, kind="stable")] = np.arange(uniq.size)
        out[member] = rank[np.searchsorted(uniq, labels[member])]
    return out


def _no_shapes(crs: str) -> gpd.GeoDataFrame:
    """No areas: an empty GeoDataFrame with a ``cluster`` column."""
    return gpd.GeoDataFrame({"cluster": np.empty(0, dtype=np.int64)},
                            geometry=gpd.GeoSeries([], crs=crs), crs=crs)
