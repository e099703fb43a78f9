"""One call from incidents to the ranked, classified hotspot table, for either method.

:func:`analyse` takes the incidents of a selection as columns, the reference layers, and the
method's parameters, and returns a :class:`HotspotResult`: the hotspot table of
:mod:`hotspot.table` with context classes and ranks, the density grid (KDE), and what was
measured on the way, including the Prediction Accuracy Index (PAI = share of incidents in
hotspots / share of the study area they cover).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from shapely.geometry import mapping

from hotspot.cancel import EVERY, ShouldStop, check
from hotspot.context import ContextLayers, classify_hotspots, incident_context
from hotspot.coverage import inside_any, select_by_area, union_area
from hotspot.dbscan import DBSCANHotspots, cluster_polygons, too_many_clusters
from hotspot.emerging import classes_of_polygons, emerging_hotspots
from hotspot.errors import InvalidParameter, WorkLimitExceeded
from hotspot.gistar import GiStarHotspots
from hotspot.kde import DensityGrid, KDEHotspots
from hotspot.params import AUTO, validate
from hotspot.params import METHODS as PARAMETERS
from hotspot.places import MAX_PLACES, split_places
from hotspot.points import check_crs
from hotspot.rank import recent_share, score_and_rank
from hotspot.table import build_table

METHODS = tuple(PARAMETERS)
"""The methods :func:`analyse` runs (``auto`` is chosen by the caller from a backtest)."""
KDE_PARAMETERS = tuple(p.name for p in PARAMETERS["kde"])
DBSCAN_PARAMETERS = tuple(p.name for p in PARAMETERS["dbscan"])
GISTAR_PARAMETERS = tuple(p.name for p in PARAMETERS["gistar"])
KDE_DEFAULTS: dict[str, Any] = {p.name: p.default for p in PARAMETERS["kde"]}
DBSCAN_DEFAULTS: dict[str, Any] = {p.name: p.default for p in PARAMETERS["dbscan"]}
GISTAR_MAX_CELLS = 4_000_000
"""Most cells of a Gi* grid: about 65 bytes a cell at its peak (16 million cells took 1.1 GB);
4 million is a 100 m grid over 40,000 km2, or 25 m cells over a county."""
_LIBRARY_ONLY = {"kde": ("bounds", "max_cells"), "dbscan": ("weight_by",), "gistar": ()}
"""Parameters a caller of the library may pass beyond :mod:`hotspot.params` (not offered by
the API or the CLI)."""


@dataclass
class HotspotResult:
    """The outcome of :func:`analyse`."""

    method: str
    parameters: dict[str, Any]
    hotspots: gpd.GeoDataFrame
    labels: np.ndarray
    """Hotspot id of each incident of the selection ("" for none), in input order."""
    grid: DensityGrid | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def to_feature_collection(self, metadata: dict[str, Any] | None = None, *,
                              should_stop: ShouldStop | None = None) -> dict[str, Any]:
        """The table as an RFC 7946 FeatureCollection (WGS84 longitude/latitude; every column
        a property) with the parameters and ``metadata`` in a ``metadata`` member."""
        return feature_collection(self.hotspots, {
            "method": self.method, "parameters": self.parameters, "summary": self.info,
            **(metadata or {}),
        }, should_stop=should_stop)


def analyse(
    incidents: pd.DataFrame,
    *,
    crs: Any,
    method: str = "kde",
    layers: ContextLayers | None = None,
    period: tuple[int, int] | None = None,
    previous: pd.DataFrame | None = None,
    timezone: str = "Europe/London",
    study_area_m2: float | None = None,
    boundary: Any = None,
    weighted: bool = False,
    history: pd.DataFrame | None = None,
    cluster_labels: np.ndarray | None = None,
    places: gpd.GeoDataFrame | None = None,
    max_hotspots: int | None = None,
    max_hotspot_cells: int | None = None,
    max_grid_cells: int | None = None,
    should_stop: ShouldStop | None = None,
    **params: Any,
) -> HotspotResult:
    """Find, describe, classify and rank hotspots.

    Parameters
    ----------
    incidents
        Columns ``x``, ``y`` (metres in ``crs``); optional ``weight``, ``category``,
        ``occurred_at`` (seconds since the epoch, UTC), ``precision`` (0 exact, 1 day,
        2 month), ``lsoa_code``.
    crs
        The projected CRS of ``x``/``y`` (metres).
    method
        ``"kde"``, ``"dbscan"`` or ``"gistar"`` (:data:`hotspot.params.METHODS`).
    layers
        Reference layers for the context classes (none: every hotspot is ``urban``).
    period
        The selection's ``[start, end)`` in seconds since the epoch (UTC), for recency.
    previous
        The incidents of the previous period of equal length (``x``, ``y``), for the trend.
    timezone
        Local time zone for hour-of-day profiles and dates.
    study_area_m2
        Area for the PAI and ``area_share`` (the force area, m2); the area of ``boundary``,
        else the incidents' convex hull, when None.
    boundary
        The force area (a shapely polygon in ``crs``): Gi*'s study cells, and the area
        budget and the hotspot area are clipped to it. None: not clipped.
    weighted
        Use the ``weight`` column (harm) in the density and the score; else count incidents.
    history
        The incidents (``x``, ``y``, ``occurred_at``, ``harm``) of the months whose monthly
        Gi* cube gives each hotspot its emerging class (:mod:`hotspot.emerging`); the
        selection itself when None.
    places
        With ``method="auto"``: the ranked places (``geometry``, ``score``; best first) of the
        candidate a backtest chose (:mod:`hotspot.backtest`), fitted by the caller; each
        incident goes to the first place holding it, and the places keep their order.
    cluster_labels
        With ``method="dbscan"``: the cluster of each incident computed elsewhere (for example
        by PostGIS's ST_ClusterDBSCAN), -1 for noise. The clustering step is skipped; the
        polygons, table, classes and ranks are made from these labels.
    max_hotspots
        Refuse more hotspots than this (DBSCAN clusters, KDE or Gi* areas, and the places they
        are split into), counted before any polygon is drawn: drawing, describing,
        classifying and serialising hotspots is the cost that grows with their number (about a
        millisecond each). None: no limit.
    max_hotspot_cells
        KDE: refuse hotspot areas covering more grid cells than this (None: no limit).
    max_grid_cells
        The largest KDE density grid (the smaller of this and a ``max_cells`` parameter), Gi*
        grid (at most :data:`GISTAR_MAX_CELLS`) and emerging cube (months x cells).
    should_stop
        Called between stages and in the per-hotspot loops; when it answers True the
        analysis raises :class:`~hotspot.errors.AnalysisCancelled` (:mod:`hotspot.cancel`).
    **params
        The method's parameters and the common ones (:mod:`hotspot.params`: ``max_place_m``,
        ``area_share``/``area_km2``, ``weight``), parsed and checked there.

    Raises
    ------
    InvalidParameter
        An unknown method or parameter, or a parameter out of range (the message names it).
    WorkLimitExceeded
        Over ``max_hotspots``, ``max_hotspot_cells`` or ``max_grid_cells`` (an
        :class:`InvalidParameter` whose ``parameter`` names what to change).
    AnalysisCancelled
        ``should_stop`` answered True.
    """
    crs = check_crs(crs)
    extra = {k: params.pop(k) for k in _LIBRARY_ONLY.get(str(method), ()) if k in params}
    used = validate(method, params)
    used.pop("engine", None)  # where DBSCAN runs is the caller's business (cluster_labels)
    if used.get("bandwidth_m") == "silverman":
        used["bandwidth_m"] = None
    used.update(extra)
    layers = layers or ContextLayers()
    n = len(incidents)
    xy = (np.column_stack([incidents["x"].to_numpy(float), incidents["y"].to_numpy(float)])
          if n else np.empty((0, 2)))
    if n and not np.isfinite(xy).all():
        raise InvalidParameter("some incidents have coordinates that are not finite")
    if used["weight"] == "harm":
        if "harm" not in incidents:
            raise InvalidParameter("weight=harm needs each incident's harm (a harm column: "
                                   "geodata.harm)", "weight")
        weighted = True
        w = incidents["harm"].to_numpy(float)
    else:
        w = (incidents["weight"].to_numpy(float) if weighted and "weight" in incidents
             else np.ones(n))
    grid = None
    info: dict[str, Any] = {"incidents": n, "layers": layers.used()}
    if n == 0:
        labels = np.empty(0, dtype=np.int64)
        shapes = _no_shapes(crs)
        info["note"] = "no incidents in the selection"
    elif method == "kde":
        kde = KDEHotspots(**{k: v for k, v in used.items()
                             if k in KDE_PARAMETERS or k in _LIBRARY_ONLY["kde"]},
                          max_areas=max_hotspots, max_area_cells=max_hotspot_cells)
        if max_grid_cells is not None:
            kde.max_cells = min(kde.max_cells, max_grid_cells)
        kde.fit(xy, sample_weight=w if weighted else None, crs=crs, should_stop=should_stop)
        grid, labels, shapes = kde.grid_, kde.labels_, kde.hotspots_
        used["bandwidth_m"] = round(grid.bandwidth_m, 3)
        used["cell_size_m"] = grid.cell_size_m
        info["density_threshold_per_km2"] = round(kde.threshold_, 4)
        info["grid"] = {"rows": grid.shape[0], "columns": grid.shape[1],
                        "peak_per_km2": round(grid.peak, 3)}
    elif cluster_labels is not None:
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
    elif method == AUTO:
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
    elif method == "gistar":
        gs = GiStarHotspots(**{k: v for k, v in used.items() if k in GISTAR_PARAMETERS},
                            boundary=boundary, max_areas=max_hotspots)
        gs.max_cells = min(gs.max_cells or GISTAR_MAX_CELLS, GISTAR_MAX_CELLS,
                           max_grid_cells or GISTAR_MAX_CELLS)
        gs.fit(xy, sample_weight=w if weighted else None, crs=crs, should_stop=should_stop)
        labels, shapes = gs.labels_, gs.hotspots_
        info["gistar"] = {"study_cells": int(gs.grid_.in_study.sum()),
                          "distance_m": gs.grid_.distance_m, "k": gs.grid_.k,
                          "fdr": used["fdr"], "confidence": used["confidence"]}
    else:
        db = DBSCANHotspots(**{k: v for k, v in used.items()
                               if k in DBSCAN_PARAMETERS or k in _LIBRARY_ONLY["dbscan"]},
                            max_clusters=max_hotspots)
        db.fit(xy, sample_weight=w if weighted else None, crs=crs, should_stop=should_stop)
        labels, shapes = db.labels_, db.hotspots_
        if db.auto_:
            info["min_samples_auto"] = db.auto_
        info["core_incidents"] = int(db.core_sample_mask_.sum())
    check(should_stop, "before the places")
    split = split_places(xy, w if weighted else None, labels, shapes,
                         max_place_m=float(used["max_place_m"]),
                         min_incidents=int(used.get("min_incidents") or 1),
                         max_places=max_hotspots if max_hotspots is not None else MAX_PLACES,
                         crs=crs, should_stop=should_stop)
    labels, shapes = split.labels, split.places
    info["areas"] = len(split.areas)
    info["areas_split"] = int((split.areas["places"] > 1).sum()) if len(split.areas) else 0
    check(should_stop, "before the hotspot table")
    table = build_table(method, incidents.assign(weight=w), labels, shapes, timezone=timezone,
                        previous=previous)
    table["parent"] = shapes["parent"].to_numpy(np.int64)
    given_order = (_best_member(np.asarray(places.geometry.values, dtype=object),
                                np.asarray(table.geometry.values, dtype=object))
                   if method == AUTO and places is not None and len(table) else None)
    table["split"] = (split.areas["places"].to_numpy()[table["parent"].to_numpy()] > 1
                      if len(table) else np.zeros(0, dtype=bool))
    check(should_stop, "before the context classes")
    lsoa = incidents["lsoa_code"].to_numpy(object) if "lsoa_code" in incidents else None
    context = incident_context(xy, lsoa, layers)
    check(should_stop, "while classifying")
    for key, values in classify_hotspots(table, labels, w, context, layers).items():
        table[key] = values
    _street_names(table)
    check(should_stop, "before the emerging classes")
    weight_column = "harm" if used["weight"] == "harm" else "weight" if weighted else None
    table["emerging"], info["emerging"] = _emerging(
        incidents if history is None else history, table, w if history is None else None,
        weight_column, boundary, crs, max_grid_cells, should_stop, timezone)
    check(should_stop, "before ranking")
    t = incidents["occurred_at"].to_numpy() if "occurred_at" in incidents else None
    if t is not None and np.issubdtype(t.dtype, np.datetime64):
        t = t.astype("datetime64[s]").astype(np.int64)
    if period is None and t is not None and n:
        period = (int(t.min()), int(t.max()) + 1)
    score, rank = score_and_rank(table, recent_share(labels, w, t, len(table), period))
    if given_order is not None:  # the chosen candidate's order is what the backtest measured
        rank = np.empty(len(table), dtype=np.int64)
        rank[np.argsort(given_order, kind="stable")] = np.arange(1, len(table) + 1)
    table["score"] = score
    table["rank"] = rank
    table = table.sort_values("rank", kind="stable")
    if study_area_m2 is None and boundary is not None:
        study_area_m2 = float(shapely.area(boundary))
    budget = _budget_m2(used, study_area_m2, xy)
    if budget is not None:
        check(should_stop, "before the area budget")
        kept = select_by_area(np.asarray(table.geometry.values, dtype=object), budget,
                              boundary=boundary)
        table = table.iloc[kept]
        table["rank"] = np.arange(1, len(table) + 1)
        info["area_budget_km2"] = round(budget / 1e6, 4)
    ids = [f"{method}-{r:03d}" for r in table["rank"]]
    remap = np.full(len(shapes) + 1, "", dtype=object)
    remap[table.index.to_numpy()] = ids
    table.insert(0, "id", ids)
    _area_ids(table, method)
    table = table.reset_index(drop=True)
    labels_out = remap[labels] if n else np.empty(0, dtype=object)
    check(should_stop, "before the accuracy")
    info.update(_accuracy(table, w, xy, study_area_m2, boundary))
    return HotspotResult(method=method, parameters=used, hotspots=table, labels=labels_out,
                         grid=grid, info=info)


EMERGING_CELL_M = 200.0
"""Cell of the emerging hot spot cube, metres: monthly counts of a street-level cell are mostly
0 or 1, too few for a trend; 200 m cells (a 300 m band) hold enough in a month of a town."""
EMERGING_MAX_MONTHS = 36
"""Most months in the cube (the latest): bounds its size on a long selection."""
EMERGING_MIN_MONTHS = 3
"""Fewest months for emerging classes (Esri asks for 10 or more for a trend with any power)."""


def _emerging(
    source: pd.DataFrame, table: gpd.GeoDataFrame, w: np.ndarray | None,
    weight_column: str | None,
    boundary: Any, crs: str, max_grid_cells: int | None, should_stop: ShouldStop | None,
    timezone: str,
) -> tuple[list[str | None], dict[str, Any]]:
    """Each hotspot's emerging hot spot class (:mod:`hotspot.emerging`) over the months of
    ``source``, and a summary; None each, with a note, when there are too few months."""
    k = len(table)
    if "occurred_at" not in source or not len(source) or not k:
        return [None] * k, {"note": "no dated incidents"}
    month, n_months, first = _local_months(source["occurred_at"].to_numpy(), timezone)
    if n_months > EMERGING_MAX_MONTHS:  # the latest months: a bounded cube
        keep = month >= n_months - EMERGING_MAX_MONTHS
        source, month = source[keep], month[keep] - (n_months - EMERGING_MAX_MONTHS)
        if w is not None:
            w = w[keep]
        year, month0 = divmod(int(first[:4]) * 12 + int(first[5:7]) - 1 + n_months
                              - EMERGING_MAX_MONTHS, 12)
        n_months, first = EMERGING_MAX_MONTHS, f"{year:04d}-{month0 + 1:02d}"
    if n_months < EMERGING_MIN_MONTHS:
        return [None] * k, {"months": n_months, "note": (
            f"emerging classes need at least {EMERGING_MIN_MONTHS} months of data; this "
            f"selection has {n_months}")}
    weighted = weight_column is not None
    if w is None:
        w = (source[weight_column].to_numpy(float)
             if weight_column is not None and weight_column in source else np.ones(len(source)))
    xy = np.column_stack([source["x"].to_numpy(float), source["y"].to_numpy(float)])
    try:
        grid = emerging_hotspots(xy, month, n_months, cell_size_m=EMERGING_CELL_M,
                                 weights=w if weighted else None, boundary=boundary,
                                 max_cells=max_grid_cells, crs=crs, should_stop=should_stop)
    except WorkLimitExceeded as exc:  # the places stand without their classes
        return [None] * k, {"months": n_months, "note": f"no emerging classes: {exc}"}
    classes = classes_of_polygons(grid, table.geometry.values)
    counts = pd.Series([c for c in classes if c]).value_counts()
    return [c or None for c in classes], {
        "months": n_months, "first_month": first, "cell_size_m": EMERGING_CELL_M,
        "hotspots_by_class": {str(c): int(v) for c, v in counts.items()}}


def _local_months(occurred_at: np.ndarray, timezone: str) -> tuple[np.ndarray, int, str]:
    """Local calendar month of each time (seconds, UTC, or datetime64) counted from the first:
    (index from 0, months from the first to the last, the first as ``YYYY-MM``); a month stored
    as its first local instant (data.police.uk) stays in its own month."""
    t = np.asarray(occurred_at)
    if np.issubdtype(t.dtype, np.datetime64):
        t = t.astype("datetime64[s]").astype(np.int64)
    local = pd.to_datetime(t.astype(np.int64), unit="s", utc=True).tz_convert(timezone)
    months = local.year.to_numpy() * 12 + local.month.to_numpy() - 1
    first = int(months.min())
    return months - first, int(months.max() - first) + 1, f"{first // 12:04d}-{first % 12 + 1:02d}"


_ON_OR_NEAR = re.compile(r"^\s*on or near\s+", re.IGNORECASE)


def _street_names(table: gpd.GeoDataFrame) -> None:
    """``street``: the location most recorded in each place (data.police.uk's "On or near"
    dropped), and ``name``: what to call the place, its street and town ("Cemetery Road,
    Thornbury"), so the places a town centre splits into can be told apart; a heritage site's
    place keeps the site's name. ``place`` stays the town, site or area (patrol plans match
    town centre officers to towns by it). In place."""
    streets = [(_ON_OR_NEAR.sub("", locs[0]).strip() or None) if len(locs) else None
               for locs in table["top_locations"]]
    table["street"] = streets
    table["name"] = [
        (f"{s}, {p}" if p and s and s.casefold() not in str(p).casefold() else s or p)
        if c != "heritage_site" else p
        for s, p, c in zip(streets, table["place"], table["context_class"], strict=True)]


def _best_member(ranked: np.ndarray, geoms: np.ndarray) -> np.ndarray:
    """For each of ``geoms``, the rank (index) of the best of the ``ranked`` polygons whose
    representative point lies inside it (``len(ranked)`` for none): a place made of a
    candidate's squares ranks where its best square ranked."""
    best = np.full(len(geoms), len(ranked), dtype=np.int64)
    if len(ranked) and len(geoms):
        inside, place = shapely.STRtree(geoms).query(shapely.point_on_surface(ranked),
                                                     predicate="within")
        np.minimum.at(best, place, inside)
    return best


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
    members = np.argsort(group, kind="stable")
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
    pt, poly = shapely.STRtree(geoms).query(shapely.points(xy), predicate="intersects")
    if pt.size:
        order = np.lexsort((poly, pt))
        pt, poly = pt[order], poly[order]
        first = np.r_[True, pt[1:] != pt[:-1]]
        labels[pt[first]] = poly[first]
    return labels


def _budget_m2(used: dict[str, Any], study_area_m2: float | None,
               xy: np.ndarray) -> float | None:
    """The area budget in m2 (``area_km2``, or ``area_share`` of the study area), or None."""
    if used.get("area_km2") is not None:
        return float(used["area_km2"]) * 1e6
    if used.get("area_share") is None:
        return None
    if study_area_m2 is None:
        study_area_m2 = (float(shapely.area(shapely.convex_hull(shapely.multipoints(xy))))
                         if xy.shape[0] >= 3 else 0.0)
    return float(used["area_share"]) * study_area_m2


def _area_ids(table: gpd.GeoDataFrame, method: str) -> None:
    """``area_id`` (the area a place belongs to, numbered by its best place's rank) and
    ``parent`` (the area's id when it was split into several places, else None), in place."""
    parents = table["parent"].to_numpy(np.int64)
    order: dict[int, int] = {}
    for p in parents.tolist():  # ranked order: an area's number is its best place's order
        order.setdefault(p, len(order) + 1)
    area_ids = [f"{method}-area-{order[p]:03d}" for p in parents.tolist()]
    table["area_id"] = area_ids
    table["parent"] = [a if s else None for a, s in
                       zip(area_ids, table["split"].tolist(), strict=True)]


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
    return gpd.GeoDataFrame({"cluster": np.empty(0, dtype=np.int64)},
                            geometry=gpd.GeoSeries([], crs=crs), crs=crs)


def _accuracy(
    table: gpd.GeoDataFrame, w: np.ndarray, xy: np.ndarray, study_area_m2: float | None,
    boundary: Any = None,
) -> dict[str, Any]:
    """Hit rate, area share and PAI (Chainey et al. 2008) of the hotspots, **retrospective**:
    measured on the very incidents the hotspots were drawn from, so they flatter (the
    backtest's prospective figures are the ones to trust). Every incident inside a hotspot
    polygon counts (whatever the method labelled it); the area is the polygons' union clipped
    to ``boundary`` (the force area) when given."""
    total = float(w.sum())
    geoms = np.asarray(table.geometry.values, dtype=object)
    inside = inside_any(geoms, xy) if len(table) and xy.shape[0] else np.zeros(xy.shape[0], bool)
    hit = float(w[inside].sum())
    covered = union_area(geoms, boundary=boundary) if len(table) else 0.0
    if study_area_m2 is None:
        study_area_m2 = (float(shapely.area(shapely.convex_hull(shapely.multipoints(xy))))
                         if xy.shape[0] >= 3 else 0.0)
    hit_rate = hit / total if total else 0.0
    area_share = covered / study_area_m2 if study_area_m2 else 0.0
    pai = round(hit_rate / area_share, 2) if area_share else None
    return {
        "hotspots": len(table),
        "incidents_in_hotspots": round(hit),
        "hit_rate": round(hit_rate, 4),
        "hotspot_area_km2": round(covered / 1e6, 4),
        "study_area_km2": round(study_area_m2 / 1e6, 3),
        "area_share": round(area_share, 6),
        "pai": pai,
        "pai_basis": "retrospective",
        "retrospective": {"hit_rate": round(hit_rate, 4), "pai": pai,
                          "note": "measured on the incidents the hotspots were drawn from"},
    }


def _json_value(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return None if math.isnan(v) or math.isinf(v) else v
    if isinstance(value, np.ndarray):
        return [_json_value(v) for v in value.tolist()]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    if isinstance(value, (np.bool_,)):
        return bool(value)
    return value


def feature_collection(table: gpd.GeoDataFrame, metadata: dict[str, Any], *,
                       should_stop: ShouldStop | None = None) -> dict[str, Any]:
    """A hotspot table as an RFC 7946 FeatureCollection (WGS84, no ``crs`` member);
    ``should_stop`` is checked every :data:`hotspot.cancel.EVERY` features."""
    wgs = table.to_crs("EPSG:4326") if len(table) else table
    geoms = shapely.set_precision(np.asarray(wgs.geometry.values, dtype=object), 1e-7) \
        if len(table) else []
    columns = [c for c in table.columns if c != table.geometry.name]
    records = table[columns].to_dict("records")
    features = []
    for i, (rec, geom) in enumerate(zip(records, geoms, strict=True)):
        if i % EVERY == 0:
            check(should_stop, "while writing GeoJSON")
        features.append({
            "type": "Feature",
            "id": rec["id"],
            "geometry": mapping(geom),
            "properties": {k: _json_value(v) for k, v in rec.items()},
        })
    return {"type": "FeatureCollection", "features": features,
            "metadata": _json_value(metadata)}
