"""One call from incidents to the ranked, classified hotspot table, for either method.

:func:`analyse` takes the incidents of a selection as columns, the reference layers, and the
method's parameters, and returns a :class:`HotspotResult`: the hotspot table of
:mod:`hotspot.table` with context classes and ranks, the density grid (KDE), and what was
measured on the way, including the Prediction Accuracy Index (PAI = share of incidents in
hotspots / share of the study area they cover).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import mapping

from hotspot.cancel import EVERY, ShouldStop, check
from hotspot.context import ContextLayers, classify_hotspots, incident_context
from hotspot.dbscan import DBSCANHotspots, cluster_polygons, too_many_clusters
from hotspot.errors import InvalidParameter
from hotspot.kde import DensityGrid, KDEHotspots
from hotspot.params import METHODS as PARAMETERS
from hotspot.params import validate
from hotspot.points import check_crs
from hotspot.rank import recent_share, score_and_rank
from hotspot.table import build_table

METHODS = tuple(PARAMETERS)
"""The methods :func:`analyse` runs (``auto`` is chosen by the caller from a backtest)."""
KDE_PARAMETERS = tuple(p.name for p in PARAMETERS["kde"])
DBSCAN_PARAMETERS = tuple(p.name for p in PARAMETERS["dbscan"])
KDE_DEFAULTS: dict[str, Any] = {p.name: p.default for p in PARAMETERS["kde"]}
DBSCAN_DEFAULTS: dict[str, Any] = {p.name: p.default for p in PARAMETERS["dbscan"]}
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
    weighted: bool = False,
    cluster_labels: np.ndarray | None = None,
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
        ``"kde"`` or ``"dbscan"``.
    layers
        Reference layers for the context classes (none: every hotspot is ``urban``).
    period
        The selection's ``[start, end)`` in seconds since the epoch (UTC), for recency.
    previous
        The incidents of the previous period of equal length (``x``, ``y``), for the trend.
    timezone
        Local time zone for hour-of-day profiles and dates.
    study_area_m2
        Area for the PAI (the force area); the incidents' convex hull when None.
    weighted
        Use the ``weight`` column (harm) in the density and the score; else count incidents.
    cluster_labels
        With ``method="dbscan"``: the cluster of each incident computed elsewhere (for example
        by PostGIS's ST_ClusterDBSCAN), -1 for noise. The clustering step is skipped; the
        polygons, table, classes and ranks are made from these labels.
    max_hotspots
        Refuse more hotspots than this (DBSCAN clusters, KDE areas), counted before any
        polygon is drawn: drawing, describing, classifying and serialising hotspots is the cost
        that grows with their number (about a millisecond each). None: no limit.
    max_hotspot_cells
        KDE: refuse hotspot areas covering more grid cells than this (None: no limit).
    max_grid_cells
        KDE: the largest density grid (the smaller of this and a ``max_cells`` parameter).
    should_stop
        Called between stages and in the per-hotspot loops; when it answers True the
        analysis raises :class:`~hotspot.errors.AnalysisCancelled` (:mod:`hotspot.cancel`).
    **params
        The method's parameters (:data:`KDE_PARAMETERS` or :data:`DBSCAN_PARAMETERS`).

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
    else:
        db = DBSCANHotspots(**{k: v for k, v in used.items()
                               if k in DBSCAN_PARAMETERS or k in _LIBRARY_ONLY["dbscan"]},
                            max_clusters=max_hotspots)
        db.fit(xy, sample_weight=w if weighted else None, crs=crs, should_stop=should_stop)
        labels, shapes = db.labels_, db.hotspots_
        if db.auto_:
            info["min_samples_auto"] = db.auto_
        info["core_incidents"] = int(db.core_sample_mask_.sum())
    check(should_stop, "before the hotspot table")
    table = build_table(method, incidents.assign(weight=w), labels, shapes, timezone=timezone,
                        previous=previous)
    check(should_stop, "before the context classes")
    lsoa = incidents["lsoa_code"].to_numpy(object) if "lsoa_code" in incidents else None
    context = incident_context(xy, lsoa, layers)
    check(should_stop, "while classifying")
    for key, values in classify_hotspots(table, labels, w, context, layers).items():
        table[key] = values
    check(should_stop, "before ranking")
    t = incidents["occurred_at"].to_numpy() if "occurred_at" in incidents else None
    if t is not None and np.issubdtype(t.dtype, np.datetime64):
        t = t.astype("datetime64[s]").astype(np.int64)
    if period is None and t is not None and n:
        period = (int(t.min()), int(t.max()) + 1)
    score, rank = score_and_rank(table, recent_share(labels, w, t, len(table), period))
    table["score"] = score
    table["rank"] = rank
    table = table.sort_values("rank", kind="stable")
    ids = [f"{method}-{r:03d}" for r in table["rank"]]
    remap = np.full(len(table) + 1, "", dtype=object)
    remap[table.index.to_numpy()] = ids
    table.insert(0, "id", ids)
    table = table.reset_index(drop=True)
    labels_out = remap[labels] if n else np.empty(0, dtype=object)
    check(should_stop, "before the accuracy")
    info.update(_accuracy(table, labels, w, xy, study_area_m2))
    return HotspotResult(method=method, parameters=used, hotspots=table, labels=labels_out,
                         grid=grid, info=info)


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
    table: gpd.GeoDataFrame, labels: np.ndarray, w: np.ndarray, xy: np.ndarray,
    study_area_m2: float | None,
) -> dict[str, Any]:
    """Hit rate, area share and PAI (Chainey et al. 2008) of the hotspots."""
    total = float(w.sum())
    hit = float(w[labels >= 0].sum()) if labels.size else 0.0
    covered = float(shapely.area(shapely.union_all(np.asarray(table.geometry.values,
                                                              dtype=object)))) if len(table) else 0.0
    if study_area_m2 is None:
        study_area_m2 = (float(shapely.area(shapely.convex_hull(shapely.multipoints(xy))))
                         if xy.shape[0] >= 3 else 0.0)
    hit_rate = hit / total if total else 0.0
    area_share = covered / study_area_m2 if study_area_m2 else 0.0
    return {
        "hotspots": len(table),
        "incidents_in_hotspots": round(hit),
        "hit_rate": round(hit_rate, 4),
        "hotspot_area_km2": round(covered / 1e6, 4),
        "study_area_km2": round(study_area_m2 / 1e6, 3),
        "area_share": round(area_share, 6),
        "pai": round(hit_rate / area_share, 2) if area_share else None,
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
