"""One call from incidents to the ranked, classified hotspot table, whichever the method.

:func:`analyse` takes the incidents of a selection as columns, the reference layers, and the
method's parameters, and returns a :class:`HotspotResult`: the hotspot table of
:mod:`hotspot.table` with context classes and ranks, the density grid (KDE), and what was
measured on the way, including the Prediction Accuracy Index (PAI = share of incidents in
hotspots / share of the study area they cover).

The steps, in order: find the method's areas (:mod:`hotspot.areas`), split them into
patrol-scale places (:mod:`hotspot.places`), describe the places (:mod:`hotspot.table`),
classify them (:mod:`hotspot.context`) and give them their emerging classes
(:mod:`hotspot.emerging`), rank them (:mod:`hotspot.rank`), keep the best within the area
budget, number them and measure the accuracy. The table as GeoJSON: :mod:`hotspot.geojson`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from hotspot._threads import Later, run_each
from hotspot.areas import (
    DBSCAN_PARAMETERS,
    GISTAR_MAX_CELLS,
    GISTAR_PARAMETERS,
    KDE_PARAMETERS,
    LIBRARY_ONLY,
    find_areas,
)
from hotspot.cancel import ShouldStop, check, shared
from hotspot.context import (
    ContextLayers,
    IncidentContext,
    classify_hotspots,
    incident_context,
)
from hotspot.coverage import inside_any, select_by_area, union_area
from hotspot.emerging import (
    EMERGING_CELL_M,
    EMERGING_MAX_MONTHS,
    EMERGING_MIN_MONTHS,
    EmergingCube,
    classes_in_cube,
    emerging_cube,
)
from hotspot.errors import InvalidParameter
from hotspot.geojson import feature_collection, wgs84_geometry_json
from hotspot.kde import DensityGrid
from hotspot.params import AUTO, validate
from hotspot.params import METHODS as PARAMETERS
from hotspot.places import MAX_PLACES, PlaceSplit, split_places
from hotspot.points import check_crs, convex_hull
from hotspot.rank import recent_share, score_and_rank
from hotspot.table import build_table

__all__ = [
    "DBSCAN_DEFAULTS",
    "DBSCAN_PARAMETERS",
    "EMERGING_CELL_M",
    "EMERGING_MAX_MONTHS",
    "EMERGING_MIN_MONTHS",
    "GISTAR_MAX_CELLS",
    "GISTAR_PARAMETERS",
    "KDE_DEFAULTS",
    "KDE_PARAMETERS",
    "METHODS",
    "HotspotResult",
    "analyse",
    "feature_collection",
]

METHODS = tuple(PARAMETERS)
"""The methods :func:`analyse` runs (``auto`` is chosen by the caller from a backtest)."""
KDE_DEFAULTS: dict[str, Any] = {p.name: p.default for p in PARAMETERS["kde"]}
DBSCAN_DEFAULTS: dict[str, Any] = {p.name: p.default for p in PARAMETERS["dbscan"]}


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
    drawn: tuple[np.ndarray, Any, list[bytes]] | None = field(default=None, repr=False)
    """The hotspots' polygons, their CRS and their GeoJSON geometries in WGS84 as JSON text
    (:func:`hotspot.geojson.wgs84_geometry_json`), made while the table was: used by
    :meth:`to_feature_collection` while ``hotspots`` still holds those very polygons in that
    CRS."""

    def to_feature_collection(self, metadata: dict[str, Any] | None = None, *,
                              should_stop: ShouldStop | None = None,
                              fragments: bool = False) -> dict[str, Any]:
        """The table as an RFC 7946 FeatureCollection (WGS84 longitude/latitude; every column
        a property) with the parameters and ``metadata`` in a ``metadata`` member. With
        ``fragments``, each geometry is an ``orjson.Fragment`` of its JSON text, for
        ``orjson.dumps`` alone (:func:`hotspot.geojson.feature_collection`)."""
        return feature_collection(self.hotspots, {
            "method": self.method, "parameters": self.parameters, "summary": self.info,
            **(metadata or {}),
        }, should_stop=should_stop, geometries=self._drawn_geometries(), fragments=fragments)

    def _drawn_geometries(self) -> list[bytes] | None:
        """:attr:`drawn`'s geometries when the table's polygons are the same objects, in the
        same order and CRS (a caller may have changed the table since)."""
        if self.drawn is None:
            return None
        polygons, crs, geometries = self.drawn
        now = np.asarray(self.hotspots.geometry.values, dtype=object)
        same = now.shape == polygons.shape and self.hotspots.crs == crs and all(
            a is b for a, b in zip(now.tolist(), polygons.tolist(), strict=True))
        return geometries if same else None


Frame = pd.DataFrame | None
"""Incidents, or none (:func:`analyse`'s ``previous`` and ``history``)."""


def analyse(
    incidents: pd.DataFrame,
    *,
    crs: Any,
    method: str = "kde",
    layers: ContextLayers | None = None,
    period: tuple[int, int] | None = None,
    previous: Frame | Callable[[], Frame] = None,
    timezone: str = "Europe/London",
    study_area_m2: float | None = None,
    boundary: Any = None,
    weighted: bool = False,
    history: Frame | Callable[[], Frame] = None,
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
        Or a function that gives them (no arguments; None: not known), called in a thread
        beside the engine: a caller reading them from a store need not wait for the read.
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
        selection itself when None. Or a function that gives them (as for ``previous``),
        called in the cube's thread, beside the engine.
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
        Parts of the analysis run in threads (:mod:`hotspot._threads`): it is called from
        them too, one call at a time, and not again once it has answered True.
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
    should_stop = shared(should_stop)  # some stages run in threads
    used = _parameters(method, params)
    xy = _coordinates(incidents)
    incidents = _with_times(incidents, "incidents")
    if isinstance(history, pd.DataFrame):
        history = _with_times(history, "history")
    w, weighted = _weights(incidents, used["weight"], weighted)
    layers = layers or ContextLayers()
    if study_area_m2 is None and boundary is not None:
        study_area_m2 = float(shapely.area(boundary))
    # the previous period given as a function: taken beside the engine, used by the table
    earlier: Frame | Later[Frame] = (Later(functools.partial(_given, previous), should_stop)
                                     if callable(previous) else previous)
    run = _Run(method, used, incidents, xy, w, weighted, crs, layers, period, earlier,
               timezone, study_area_m2, boundary, places, max_hotspots, should_stop,
               {"incidents": len(incidents), "layers": layers.used()})
    weight_column = "harm" if used["weight"] == "harm" else "weight" if weighted else None
    cube = Later(functools.partial(  # needs no hotspot: made while they are found
        _cube, incidents, w, history, weight_column, boundary, crs, max_grid_cells, timezone),
        should_stop)
    try:
        labels, shapes, grid = find_areas(
            method, xy, w, weighted, used, run.info, crs=crs, cluster_labels=cluster_labels,
            places=places, boundary=boundary, max_hotspots=max_hotspots,
            max_hotspot_cells=max_hotspot_cells, max_grid_cells=max_grid_cells,
            should_stop=should_stop)
        check(should_stop, "before the places")
        # the context classes of the incidents in an area (those of a place are among
        # them), made while the areas are split into places
        context = Later(functools.partial(_members_context, xy, incidents.get("lsoa_code"),
                                          labels, layers), should_stop)
        try:
            return _places_described(run, labels, shapes, grid, cube, context)
        finally:
            context.abandon()
    finally:
        cube.abandon()  # each stops at its next check if the analysis failed before using it
        if isinstance(earlier, Later):
            earlier.abandon()


def _given(read: Callable[[], Frame], _should_stop: ShouldStop | None = None) -> Frame:
    """What ``read`` gives (:func:`analyse`'s ``previous`` given as a function)."""
    return read()


def _cube(incidents: pd.DataFrame, w: np.ndarray, history: Frame | Callable[[], Frame],
          weight_column: str | None, boundary: Any, crs: str, max_grid_cells: int | None,
          timezone: str, should_stop: ShouldStop | None) -> EmergingCube:
    """The emerging cube (:func:`hotspot.emerging.emerging_cube`) of ``history`` (taken first
    when a function gives it), else of the selection's ``incidents`` and weights ``w``."""
    if callable(history):
        history = history()
        if history is not None:
            history = _with_times(history, "history")
    if history is None:
        return emerging_cube(incidents, w, weight_column, boundary, crs, max_grid_cells,
                             should_stop, timezone=timezone)
    return emerging_cube(history, None, weight_column, boundary, crs, max_grid_cells,
                         should_stop, timezone=timezone)


@dataclass
class _Run:
    """What one :func:`analyse` works from, its parameters checked."""

    method: str
    used: dict[str, Any]
    incidents: pd.DataFrame
    xy: np.ndarray
    w: np.ndarray
    weighted: bool
    crs: Any
    layers: ContextLayers
    period: tuple[int, int] | None
    previous: Frame | Later[Frame]
    timezone: str
    study_area_m2: float | None
    boundary: Any
    places: gpd.GeoDataFrame | None
    max_hotspots: int | None
    should_stop: ShouldStop | None
    info: dict[str, Any]


def _places_described(run: _Run, labels: np.ndarray, shapes: gpd.GeoDataFrame,
                      grid: DensityGrid | None, cube: Later[EmergingCube],
                      context: Later[IncidentContext]) -> HotspotResult:
    """:func:`analyse` from the areas found (``labels``, ``shapes``): the places, their table,
    classes, ranks and accuracy (independent parts side by side: :mod:`hotspot._threads`)."""
    method, used, incidents, xy, w = run.method, run.used, run.incidents, run.xy, run.w
    info, should_stop = run.info, run.should_stop
    split = split_places(xy, w if run.weighted else None, labels, shapes,
                         max_place_m=float(used["max_place_m"]),
                         min_incidents=int(used.get("min_incidents") or 1),
                         max_places=(run.max_hotspots if run.max_hotspots is not None
                                     else MAX_PLACES),
                         crs=run.crs, should_stop=should_stop, place_widths=False)
    labels, shapes = split.labels, split.places
    info["areas"] = len(split.areas)
    info["areas_split"] = int((split.areas["places"] > 1).sum()) if len(split.areas) else 0
    check(should_stop, "before the hotspot table")
    study_area_m2 = (run.study_area_m2 if run.study_area_m2 is not None
                     else _hull_area_m2(xy))  # for the budget and the accuracy both
    budget_m2 = _budget_m2(used, study_area_m2)
    place_geoms = np.asarray(shapes.geometry.values, dtype=object)
    parent = shapes["parent"].to_numpy()
    # the longest first, so that the threads end together; the emerging classes last, as
    # they may wait for the cube
    parts: dict[str, Callable[[], Any]] = {}
    if budget_m2 is None:  # every place is kept: their coverage is known now
        parts["hit"] = lambda: _hit(place_geoms, xy, w, labels >= 0)
    parts["table"] = lambda: _describe(method, incidents, w, split, run.timezone,
                                       run.previous.result() if isinstance(run.previous, Later)
                                       else run.previous)
    parts["drawn"] = lambda: wgs84_geometry_json(place_geoms, run.crs)
    if budget_m2 is None:
        parts["covered"] = lambda: _covered(place_geoms, parent, run.boundary)
    parts["classes"] = lambda: classify_hotspots(shapes, labels, w, context.result(), run.layers)
    parts["recent"] = lambda: _recent(incidents, labels, w, run.period, len(shapes))
    parts["emerging"] = lambda: _emerging(cube, shapes)
    done = dict(zip(parts, run_each(list(parts.values())), strict=True))
    table, drawn = done["table"], done["drawn"]
    emerging, info["emerging"] = done["emerging"]
    coverage = (done["hit"], done["covered"]) if "hit" in done else None
    given_order = (_best_member(np.asarray(run.places.geometry.values, dtype=object),
                                np.asarray(table.geometry.values, dtype=object))
                   if method == AUTO and run.places is not None and len(table) else None)
    check(should_stop, "while classifying")
    _classified(table, done["classes"])
    table["emerging"] = emerging
    check(should_stop, "before ranking")
    table = _rank(table, done["recent"], given_order)
    table = _within_budget(table, budget_m2, run.boundary, info, should_stop)
    ranked = table.index.to_numpy()  # the places kept, by rank
    kept = np.sort(ranked)  # in the order they were made
    table, labels_out = _number(table, method, labels, len(shapes))
    check(should_stop, "before the accuracy")
    if coverage is None:
        held = np.zeros(len(shapes) + 1, dtype=bool)  # [-1]: no place
        held[kept] = True
        coverage = (_hit(place_geoms[kept], xy, w, held[labels]),
                    _covered(place_geoms[kept], parent[kept], run.boundary))
    hit, covered = coverage
    info.update(_accuracy(len(table), hit, covered, w, study_area_m2))
    return HotspotResult(method=method, parameters=used, hotspots=table, labels=labels_out,
                         grid=grid, info=info,
                         drawn=(np.asarray(table.geometry.values, dtype=object), table.crs,
                                [drawn[i] for i in ranked.tolist()]))


def _emerging(cube: Later[EmergingCube], places: gpd.GeoDataFrame,
              ) -> tuple[list[str | None], dict[str, Any]]:
    """Each place's emerging class in the ``cube`` and the summary
    (:func:`hotspot.emerging.classes_in_cube`), as :func:`hotspot.emerging.classes_of_hotspots`
    gives them."""
    if not len(places):
        return [], {"note": "no dated incidents"}
    return classes_in_cube(cube.result(), places)


def _parameters(method: str, params: dict[str, Any]) -> dict[str, Any]:
    """The method's parameters checked and completed (:func:`hotspot.params.validate`), with
    the library-only ones a caller gave (:data:`hotspot.areas.LIBRARY_ONLY`); ``engine``
    dropped (where DBSCAN runs is the caller's business: ``cluster_labels``) and a
    ``silverman`` bandwidth as None (the KDE's rule of thumb)."""
    extra = {k: params.pop(k) for k in LIBRARY_ONLY.get(method, ()) if k in params}
    used = validate(method, params)
    used.pop("engine", None)
    if used.get("bandwidth_m") == "silverman":
        used["bandwidth_m"] = None
    used.update(extra)
    return used


def _coordinates(incidents: pd.DataFrame) -> np.ndarray:
    """The incidents' ``x``, ``y`` (n x 2, metres); refuses coordinates that are not finite."""
    n = len(incidents)
    xy = (np.column_stack([incidents["x"].to_numpy(float), incidents["y"].to_numpy(float)])
          if n else np.empty((0, 2)))
    if n and not np.isfinite(xy).all():
        raise InvalidParameter("some incidents have coordinates that are not finite")
    return xy


def _with_times(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """``frame`` with its ``occurred_at`` as the analysis reads it: seconds since the epoch
    (UTC) or datetimes without a zone (UTC); datetimes with a zone are converted to UTC, and
    numbers held as objects to numbers (in a copy of the frame). Refuses other kinds of value,
    and missing times (NaT or NaN), naming how many and the first rows: the table's dates and
    profiles and the emerging classes count time, and a store never holds an incident
    without one."""
    if "occurred_at" not in frame or not len(frame):
        return frame
    times = frame["occurred_at"]
    if isinstance(times.dtype, pd.DatetimeTZDtype):
        frame = frame.assign(occurred_at=times.dt.tz_convert("UTC").dt.tz_localize(None))
        times = frame["occurred_at"]
    elif not (pd.api.types.is_numeric_dtype(times.dtype)
              or pd.api.types.is_datetime64_dtype(times.dtype)):
        try:  # numbers held as objects
            frame = frame.assign(occurred_at=pd.to_numeric(times))
        except (TypeError, ValueError):
            raise InvalidParameter(
                f"occurred_at of the {name} must be seconds since the epoch (UTC) or "
                f"datetimes, not {times.dtype} values such as {times.iloc[0]!r}",
                "occurred_at") from None
        times = frame["occurred_at"]
    missing = times.isna().to_numpy()
    if missing.any():
        rows = frame.index[missing][:5].tolist()
        raise InvalidParameter(
            f"{int(missing.sum())} of the {name} have no time (occurred_at), first at rows "
            f"{rows}: give each incident its time (month-only data: the first of its month), "
            "or leave those rows out", "occurred_at")
    return frame


def _weights(incidents: pd.DataFrame, weight: str, weighted: bool) -> tuple[np.ndarray, bool]:
    """Each incident's weight and whether the analysis is weighted: the ``harm`` column with
    ``weight=harm`` (weighted), the ``weight`` column when ``weighted``, else ones."""
    if weight == "harm":
        if "harm" not in incidents:
            raise InvalidParameter("weight=harm needs each incident's harm (a harm column: "
                                   "geodata.harm)", "weight")
        return incidents["harm"].to_numpy(float), True
    w = (incidents["weight"].to_numpy(float) if weighted and "weight" in incidents
         else np.ones(len(incidents)))
    return w, weighted


def _describe(method: str, incidents: pd.DataFrame, w: np.ndarray, split: PlaceSplit,
              timezone: str, previous: pd.DataFrame | None) -> gpd.GeoDataFrame:
    """The hotspot table of the places (:func:`hotspot.table.build_table`) with ``parent``
    (the area each place came from, a row of ``split.areas``) and ``split`` (whether that area
    was split into several places)."""
    shapes = split.places
    table = build_table(method, incidents.assign(weight=w), split.labels, shapes,
                        timezone=timezone, previous=previous)
    table["parent"] = shapes["parent"].to_numpy(np.int64)
    table["split"] = (split.areas["places"].to_numpy()[table["parent"].to_numpy()] > 1
                      if len(table) else np.zeros(0, dtype=bool))
    return table


def _classified(table: gpd.GeoDataFrame, classes: dict[str, Any]) -> None:
    """The places' context classes and what goes with them (``classes``:
    :func:`hotspot.context.classify_hotspots` of the places, rows in the table's order) put
    in the table, then each place's street and name; in place."""
    for key, values in classes.items():
        table[key] = values
    _street_names(table)


def _members_context(xy: np.ndarray, lsoa: Any, labels: np.ndarray,
                     layers: ContextLayers,
                     should_stop: ShouldStop | None = None) -> IncidentContext:
    """:func:`hotspot.context.incident_context` of the incidents with a label (``labels``
    >= 0; :func:`analyse` gives those of the areas, among which are those of the places,
    whose classes are made of theirs; at 10^6 incidents most are in none): the others get
    class 3 (urban) and no town centre or site, which nothing reads."""
    check(should_stop, "before the context classes")
    member = np.flatnonzero(labels >= 0)
    if member.size == labels.shape[0]:
        return incident_context(xy, lsoa, layers, should_stop)
    part = lsoa.iloc[member] if isinstance(lsoa, pd.Series) else (
        None if lsoa is None else np.asarray(lsoa)[member])
    sub = incident_context(xy[member], part, layers, should_stop)
    n = labels.shape[0]
    cls = np.full(n, 3, dtype=sub.cls.dtype)
    town, site = np.full(n, -1, dtype=np.int64), np.full(n, -1, dtype=np.int64)
    cls[member], town[member], site[member] = sub.cls, sub.town_centre, sub.heritage
    return IncidentContext(cls=cls, town_centre=town, heritage=site)


def _recent(incidents: pd.DataFrame, labels: np.ndarray, w: np.ndarray,
            period: tuple[int, int] | None, k: int) -> np.ndarray:
    """Each of the ``k`` places' share of its weight in the later half of ``period`` (else of
    the incidents' own span): :func:`hotspot.rank.recent_share`, for :func:`_rank`."""
    t = incidents["occurred_at"].to_numpy() if "occurred_at" in incidents else None
    if t is not None and np.issubdtype(t.dtype, np.datetime64):
        t = t.astype("datetime64[s]").astype(np.int64)
    if period is None and t is not None and len(incidents):
        period = (int(t.min()), int(t.max()) + 1)
    return recent_share(labels, w, t, k, period)


def _rank(table: gpd.GeoDataFrame, recent: np.ndarray,
          given_order: np.ndarray | None) -> gpd.GeoDataFrame:
    """``score`` and ``rank`` (:mod:`hotspot.rank`; ``recent``: :func:`_recent`), the table
    sorted by rank; with ``given_order`` (``auto``), the backtest's order is the rank, as it
    is what the backtest measured."""
    score, rank = score_and_rank(table, recent)
    if given_order is not None:
        rank = np.empty(len(table), dtype=np.int64)
        rank[np.argsort(given_order, kind="stable")] = np.arange(1, len(table) + 1)
    table["score"] = score
    table["rank"] = rank
    return table.sort_values("rank", kind="stable")


def _within_budget(table: gpd.GeoDataFrame, budget_m2: float | None, boundary: Any,
                   info: dict[str, Any], should_stop: ShouldStop | None) -> gpd.GeoDataFrame:
    """The best-ranked places within the area budget (m2; None: all), ranked again from 1."""
    if budget_m2 is None:
        return table
    check(should_stop, "before the area budget")
    kept = select_by_area(np.asarray(table.geometry.values, dtype=object), budget_m2,
                          boundary=boundary)
    table = table.iloc[kept]
    table["rank"] = np.arange(1, len(table) + 1)
    info["area_budget_km2"] = round(budget_m2 / 1e6, 4)
    return table


def _number(table: gpd.GeoDataFrame, method: str, labels: np.ndarray,
            places: int) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """Ids by rank (``kde-001``...) first in the table, area ids, a fresh index; and each
    incident's hotspot id ("" for none) from its place label (of ``places`` places)."""
    ids = [f"{method}-{r:03d}" for r in table["rank"]]
    remap = np.full(places + 1, "", dtype=object)
    remap[table.index.to_numpy()] = ids
    table.insert(0, "id", ids)
    _area_ids(table, method)
    table = table.reset_index(drop=True)
    labels_out = remap[labels] if len(labels) else np.empty(0, dtype=object)
    return table, labels_out


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
    places = [p if isinstance(p, str) and p else None for p in table["place"]]  # NaN: none
    table["name"] = [
        (f"{s}, {p}" if p and s and s.casefold() not in p.casefold() else s or p)
        if c != "heritage_site" else p
        for s, p, c in zip(streets, places, table["context_class"], strict=True)]


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


def _hull_area_m2(xy: np.ndarray) -> float:
    """The area (m2) of the incidents' convex hull: the study area when none is given."""
    return float(shapely.area(convex_hull(xy))) if xy.shape[0] >= 3 else 0.0


def _budget_m2(used: dict[str, Any], study_area_m2: float) -> float | None:
    """The area budget in m2 (``area_km2``, or ``area_share`` of the study area), or None."""
    if used.get("area_km2") is not None:
        return float(used["area_km2"]) * 1e6
    if used.get("area_share") is None:
        return None
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


def _hit(geoms: np.ndarray, xy: np.ndarray, w: np.ndarray, held: np.ndarray) -> float:
    """The weight of the incidents (``xy`` metres, weights ``w``) inside or on the edge of
    any of the polygons ``geoms``: the hits :func:`_accuracy` measures. ``held``: the
    incidents a place holds (its members, which lie in its polygon: :mod:`hotspot.places`),
    counted without a test; only the others are located."""
    inside = held.copy()
    rest = np.flatnonzero(~held)
    if geoms.size and rest.size:
        inside[rest] = inside_any(geoms, xy[rest])
    return float(w[inside].sum())


def _covered(geoms: np.ndarray, area: np.ndarray, boundary: Any = None) -> float:
    """The area (m2) of the union of the polygons ``geoms`` clipped to ``boundary`` when
    given: the area :func:`_accuracy` measures, of the places in the order they were made
    (so the sum's last bits do not depend on the ranking). ``area``: the hotspot area each
    place was cut from; the places of one area do not overlap (:mod:`hotspot.places`), so
    only places of different areas that meet are unioned."""
    return union_area(geoms, boundary=boundary, disjoint_within=area) if geoms.size else 0.0


def _accuracy(hotspots: int, hit: float, covered: float, w: np.ndarray,
              study_area_m2: float) -> dict[str, Any]:
    """Hit rate, area share and PAI (Chainey et al. 2008) of the hotspots, **retrospective**:
    measured on the very incidents the hotspots were drawn from, so they flatter (the
    backtest's prospective figures are the ones to trust). ``hit``: the weight of the
    incidents inside a hotspot polygon (whatever the method labelled them), ``covered``: the
    polygons' union clipped to the force area (:func:`_hit`, :func:`_covered`);
    ``study_area_m2``: the force area, or the incidents' convex hull (:func:`_hull_area_m2`)."""
    total = float(w.sum())
    hit_rate = hit / total if total else 0.0
    area_share = covered / study_area_m2 if study_area_m2 else 0.0
    pai = round(hit_rate / area_share, 2) if area_share else None
    return {
        "hotspots": hotspots,
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
