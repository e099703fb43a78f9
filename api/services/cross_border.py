"""Cross-border hotspots: the force's incidents and its neighbours' near the force boundary,
found together so that a hotspot spanning the border is found whole.

The band is every point within ``distance_m`` metres of the force boundary, on either side.
The force's incidents (:meth:`IncidentStore.incidents`) and the neighbours' (kept apart in
their own table, :class:`~geodata.stores.base.NeighbourStore`) that lie in it are put side by
side, each labelled with its source ("force", or the neighbour's label), and the hotspot
engine (:func:`hotspot.analyse`, the method and parameters of ``GET /v1/hotspots``) runs on
them once. Each hotspot then says how many of its incidents each source holds (they add up to
its incidents), the share lying outside the force area, and whether it spans the border
(incidents on both sides). The force's own analyses never read the neighbours' incidents:
this is the only place that does, and it answers staff only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from api.formats import ATTRIBUTION
from api.limits import WorkLimits, check_bounds
from api.service_errors import InvalidInput
from api.services.hotspots import AnalysisOptions, context_layers, force_area, previous_period
from api.services.selection import Selection
from geodata.harm import HarmTable
from geodata.schema import IncidentColumns, IncidentFilter
from geodata.stores import Store
from geodata.taxonomy import Taxonomy
from hotspot import WorkLimitExceeded, analyse
from hotspot.cancel import ShouldStop, check

FORCE_SOURCE = "force"
"""The label of the force's own incidents among the sources."""
DEFAULT_DISTANCE_M = 5_000.0
"""How near the force boundary a hotspot is looked for, by default (metres)."""
MAX_DISTANCE_M = 20_000.0
"""The widest band (metres): :data:`geodata.neighbours.NEIGHBOUR_REACH_M`."""
NO_BOUNDARY = ("the store has no force boundary layer, so there is no border to look along: "
               "load one with `hotspot layers add force_boundary FILE`")


def band_of(boundary: Any, distance_m: float) -> Any:
    """The points within ``distance_m`` metres of the edge of ``boundary`` (a polygon in the
    force CRS), on either side of it."""
    return shapely.buffer(shapely.boundary(boundary), distance_m)


def in_band(x: np.ndarray, y: np.ndarray, edge: Any, distance_m: float) -> np.ndarray:
    """Whether each point (metres, force CRS) lies within ``distance_m`` of ``edge`` (the force
    boundary's line)."""
    if not len(x):
        return np.zeros(0, dtype=bool)
    return np.asarray(shapely.dwithin(shapely.points(x, y), edge, distance_m), dtype=bool)


def _frame(cols: IncidentColumns, source: Any, harm: HarmTable | None) -> pd.DataFrame:
    """Incidents as the analysis takes them, with each one's ``source`` label."""
    weights = (harm or HarmTable.builtin()).weights(cols.extra["crime_type"], cols.category)
    return pd.DataFrame({
        "x": cols.x, "y": cols.y, "weight": cols.weight.astype(np.float64),
        "harm": weights.values, "category": np.asarray(cols.category.astype(str), dtype=object),
        "occurred_at": cols.occurred_at, "precision": cols.precision,
        "lsoa_code": np.asarray(cols.extra["lsoa_code"].astype(str), dtype=object),
        "location_text": np.asarray(cols.extra["location_text"].astype(str), dtype=object),
        "source": source,
    })


def band_incidents(store: Store, flt: IncidentFilter, edge: Any, distance_m: float,
                   harm: HarmTable | None = None) -> pd.DataFrame:
    """The force's and the neighbours' incidents of ``flt`` within ``distance_m`` of ``edge``,
    the force's first, each with its ``source`` ("force" or the neighbour's label)."""
    minx, miny, maxx, maxy = shapely.bounds(edge)
    box = (minx - distance_m, miny - distance_m, maxx + distance_m, maxy + distance_m)
    if flt.bbox is not None:
        box = (max(box[0], flt.bbox[0]), max(box[1], flt.bbox[1]),
               min(box[2], flt.bbox[2]), min(box[3], flt.bbox[3]))
    frames = []
    if box[0] <= box[2] and box[1] <= box[3]:
        narrowed = IncidentFilter(start=flt.start, end=flt.end, categories=flt.categories,
                                  bbox=box, lonlat_bbox=flt.lonlat_bbox)
        own = store.incidents(narrowed, extra=("lsoa_code", "location_text", "crime_type"))
        theirs = store.neighbour_incidents(narrowed)
        frames = [_frame(own, FORCE_SOURCE, harm),
                  _frame(theirs, np.asarray(theirs.extra["source"].astype(str), dtype=object),
                         harm)]
    if not frames:
        return pd.DataFrame({c: [] for c in ("x", "y", "weight", "harm", "category",
                                             "occurred_at", "precision", "lsoa_code",
                                             "location_text", "source")})
    both = pd.concat(frames, ignore_index=True)
    keep = in_band(both["x"].to_numpy(float), both["y"].to_numpy(float), edge, distance_m)
    return both[keep].reset_index(drop=True)


@dataclass(frozen=True)
class CrossBorderQuery:
    """What a cross-border request asks: the selection, the band's width, the method."""

    selection: Selection
    distance_m: float
    method: str
    options: AnalysisOptions


def cross_border_hotspots(store: Store, taxonomy: Taxonomy, query: CrossBorderQuery, *,
                          limits: WorkLimits | None = None,
                          should_stop: ShouldStop | None = None) -> dict[str, Any]:
    """The hotspots within ``query.distance_m`` of the force boundary, found on the force's and
    the neighbours' incidents together, as an RFC 7946 FeatureCollection (WGS84).

    Each feature has the properties of ``GET /v1/hotspots`` and ``sources`` ({"force": n,
    "<neighbour>": n}: they add up to ``incidents``), ``share_outside_force`` (of its
    incidents, those lying outside the force area) and ``spans_border`` (incidents on both
    sides), and the same for the whole area the place was cut from (``area_sources``,
    ``area_spans_border``). ``metadata`` holds the band's incidents by source, the force's data
    version and the neighbours'.

    Raises
    ------
    InvalidInput
        Without a force boundary (naming ``distance_m``), for an unknown category or priority,
        ``method=auto`` (the backtest is of the force's incidents alone), a parameter out of
        bounds or an analysis over ``limits``.
    """
    if query.method == "auto":
        raise InvalidInput("method auto chooses from a backtest of the force's own incidents; "
                           "across the border choose kde, dbscan or gistar", "method")
    if not 0 < query.distance_m <= MAX_DISTANCE_M:
        raise InvalidInput(f"distance_m must be above 0 and at most {MAX_DISTANCE_M:g}",
                           "distance_m")
    check_bounds(query.options.parameters)
    area = force_area(store)
    if area is None:
        raise InvalidInput(NO_BOUNDARY, "distance_m")
    edge = shapely.boundary(area)
    shapely.prepare(edge)
    sel = query.selection
    flt = sel.incident_filter(taxonomy)
    harm = query.options.harm
    incidents = band_incidents(store, flt, edge, query.distance_m, harm)
    check(should_stop, "after reading the incidents")
    previous = None
    if sel.start is not None and sel.end is not None:
        prev_start, _ = previous_period(sel.start, sel.end, store.timezone)
        previous = band_incidents(store, IncidentFilter(
            start=prev_start, end=sel.start, categories=flt.categories, bbox=flt.bbox,
            lonlat_bbox=flt.lonlat_bbox), edge, query.distance_m, harm)
    band = band_of(area, query.distance_m)
    params = dict(query.options.parameters)
    params.pop("engine", None)
    period = (sel.start, sel.end) if sel.start is not None and sel.end is not None else None
    try:
        result = analyse(
            incidents, crs=store.crs, method=query.method,
            layers=context_layers(store, query.options), period=period, previous=previous,
            timezone=store.timezone, study_area_m2=float(shapely.area(band)),
            weighted=query.options.weighted, should_stop=should_stop,
            **(limits.analyse_arguments() if limits else {}), **params)
    except WorkLimitExceeded as exc:
        if limits is None:
            raise
        raise limits.refusal(exc) from None
    table = result.hotspots
    outside = ~shapely.contains_xy(area, incidents["x"].to_numpy(float),
                                   incidents["y"].to_numpy(float))
    _by_source(table, result.labels, incidents["source"].to_numpy(object), outside)
    metadata = _metadata(store, sel, query, incidents, result.info, flt.categories)
    collection = result.to_feature_collection(metadata, should_stop=should_stop)
    collection["parameters"] = {"method": query.method, "distance_m": query.distance_m,
                                **collection["metadata"]["parameters"]}
    collection["data_version"] = metadata["data_version"]
    return collection


def _by_source(table: gpd.GeoDataFrame, labels: np.ndarray, source: np.ndarray,
               outside: np.ndarray) -> None:
    """Each hotspot's incidents by source (``sources``), the share outside the force and
    whether it spans the border (incidents on both sides); the same for the whole area it was
    cut from (``area_sources``, ``area_spans_border``: a wide area is split into patrol-sized
    places, and the area is what was found whole). Columns of ``table``, in place."""
    sources: list[dict[str, int]] = []
    sides: list[tuple[int, int]] = []
    for hotspot_id in table["id"].tolist():
        member = labels == hotspot_id
        names, counts = np.unique(source[member].astype(str), return_counts=True)
        by: dict[str, int] = {FORCE_SOURCE: 0}
        by.update({str(n): int(c) for n, c in zip(names, counts, strict=True)})
        sources.append(dict(sorted(by.items(), key=lambda kv: (kv[0] != FORCE_SOURCE, kv[0]))))
        sides.append((int(member.sum()), int((outside & member).sum())))
    table["sources"] = sources
    table["share_outside_force"] = [round(out / n, 4) if n else 0.0 for n, out in sides]
    table["spans_border"] = [0 < out < n for n, out in sides]
    areas = table["area_id"].tolist() if "area_id" in table.columns else table["id"].tolist()
    area_sources: dict[str, dict[str, int]] = {}
    area_sides: dict[str, tuple[int, int]] = {}
    for area_id, by, (n, out) in zip(areas, sources, sides, strict=True):
        total = area_sources.setdefault(area_id, {})
        for name, count in by.items():
            total[name] = total.get(name, 0) + count
        was = area_sides.get(area_id, (0, 0))
        area_sides[area_id] = (was[0] + n, was[1] + out)
    table["area_sources"] = [area_sources[a] for a in areas]
    table["area_spans_border"] = [0 < area_sides[a][1] < area_sides[a][0] for a in areas]


def _metadata(store: Store, sel: Selection, query: CrossBorderQuery, incidents: pd.DataFrame,
              info: dict[str, Any], categories: tuple[str, ...] | None) -> dict[str, Any]:
    """What is published with the answer: versions, the selection, the band, counts by
    source."""
    counts = incidents["source"].value_counts()
    by_source = {FORCE_SOURCE: int(counts.get(FORCE_SOURCE, 0))}
    by_source.update({str(k): int(v) for k, v in sorted(counts.items())
                      if k != FORCE_SOURCE})
    return {
        "data_version": store.data_version(),
        "neighbour_version": store.neighbour_version(),
        "neighbours": [s["source"] for s in store.neighbour_sources()],
        "selection": {**sel.to_dict(store.timezone),
                      "categories": list(categories) if categories else None},
        "band": {"distance_m": query.distance_m, "incidents": len(incidents),
                 "by_source": by_source},
        "crs_of_analysis": store.crs,
        "timezone": store.timezone,
        "hotspots": int(info.get("hotspots", 0)),
        "note": ("Hotspots found on the force's incidents and its neighbours' within "
                 f"{query.distance_m:g} m of the force boundary, together; the neighbours' "
                 "incidents are theirs (never counted in the force's own figures), and a "
                 "neighbour's row the force also holds was stored once, as the force's."),
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "attribution": ATTRIBUTION,
    }


def as_bytes(collection: dict[str, Any]) -> bytes:
    """The answer as compact JSON bytes."""
    return json.dumps(collection, separators=(",", ":"), ensure_ascii=False).encode()
