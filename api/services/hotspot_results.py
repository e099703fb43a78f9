"""The hotspot table and the density surface of a query, computed once per (data version,
query) in a worker thread and kept in the cache, ready to serve (GeoJSON, CSV, PNG, bands)."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field, replace
from typing import Any

import geopandas as gpd
import numpy as np
import orjson
import pandas as pd
import shapely
from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from api.formats import csv_safe_frame
from api.limits import WorkLimits
from api.service_errors import InvalidInput, Unavailable
from api.services.backtests import auto_places, spec_of, stored_or_started
from api.services.cached import within
from api.services.gcpause import gc_paused
from api.services.hotspot_query import HotspotQuery, selection_of
from api.services.hotspots import AnalysisOptions, density_grid, run_analysis
from geodata.harm import HarmTable
from geodata.stores import Store
from geodata.taxonomy import Taxonomy
from hotspot import DensityGrid
from hotspot.cancel import ShouldStop, check
from hotspot.params import AUTO
from maps import density_bands, density_image

CSV_COLUMNS = (
    "id", "rank", "score", "method", "context_class", "team", "name", "place", "street",
    "area_id", "parent", "emerging", "incidents", "weight", "harm",
    "area_m2", "density_per_km2", "peak_density", "centroid_lon", "centroid_lat", "centroid_x",
    "centroid_y", "top_category", "first_date", "last_date", "time_precision", "peak_hours",
    "peak_days", "trend", "trend_ratio", "previous_incidents", "share_town_centre",
    "share_heritage_site", "share_rural", "share_urban", "heritage_sites", "top_locations",
    "category_mix",
)


@dataclass
class Computed:
    """A computed hotspot result, ready to serve."""

    geojson: bytes
    table: gpd.GeoDataFrame
    info: dict[str, Any]
    metadata: dict[str, Any]
    parameters: dict[str, Any]
    encoded: dict[str, bytes] = field(default_factory=dict, repr=False, compare=False)
    """The answers' bodies compressed, kept with the result (:func:`api.delivery.gzipped_once`):
    a cached answer is compressed once, not on every request."""
    made_csv: bytes | None = field(default=None, repr=False, compare=False)
    """The CSV once asked for (:attr:`csv`)."""

    @property
    def csv(self) -> bytes:
        """The table as CSV (:func:`table_csv`), made the first time it is asked for and kept
        with the result: most results are never asked for as CSV, and at 10^6 incidents it
        costs a quarter of a second (reprojection, rounding, WKT). Ask from a worker thread.
        The cache's byte budget counts a result as it was stored (without its CSV), as it
        does its compressed answers."""
        if self.made_csv is None:
            self.made_csv = table_csv(self.table)
        return self.made_csv


def compute_hotspots(store: Store, taxonomy: Taxonomy, q: HotspotQuery, limits: WorkLimits | None,
                     should_stop: ShouldStop | None = None, harm: HarmTable | None = None,
                     backtest: dict[str, Any] | None = None) -> Computed:
    """The hotspot table of ``q`` (in a worker thread): the analysis, then its GeoJSON (the
    CSV is made when first asked for);
    ``backtest`` is the stored backtest ``method=auto`` chooses from. The cyclic garbage
    collector waits meanwhile (:mod:`api.services.gcpause`)."""
    with gc_paused():
        return _compute_hotspots(store, taxonomy, q, limits, should_stop, harm, backtest)


def _compute_hotspots(store: Store, taxonomy: Taxonomy, q: HotspotQuery,
                      limits: WorkLimits | None, should_stop: ShouldStop | None,
                      harm: HarmTable | None, backtest: dict[str, Any] | None) -> Computed:
    params = q.parameters()
    selection = selection_of(q, store)
    places = choice = None
    if backtest is not None:
        places, choice = auto_places(store, taxonomy, selection, params, backtest)
    options = AnalysisOptions(
        heritage_distance_m=q.heritage_distance_m,
        heritage_designations=tuple(q.heritage_designation) if q.heritage_designation else None,
        weighted=q.weighted, parameters=params, harm=harm,
    )
    result, metadata = run_analysis(store, taxonomy, method=q.method, selection=selection,
                                    options=options, limits=limits,
                                    should_stop=should_stop, places=places, choice=choice)
    # the polygons as JSON text made beside the table, written by orjson as they are
    collection = result.to_feature_collection(metadata, should_stop=should_stop, fragments=True)
    collection["parameters"] = {"method": q.method, **collection["metadata"]["parameters"]}
    collection["data_version"] = metadata["data_version"]
    geojson = orjson.dumps(collection)  # compact; 5-10x json.dumps on megabytes of polygons
    parameters = collection["parameters"]
    del collection  # the GeoJSON is what is kept
    check(should_stop, "before the CSV")
    return Computed(
        geojson=geojson,
        table=result.hotspots,
        info=result.info,
        metadata=metadata,
        parameters=parameters,
    )


def table_csv(table: gpd.GeoDataFrame) -> bytes:
    """The hotspot table as CSV (UTF-8): the columns of :data:`CSV_COLUMNS` it has, cells safe
    from spreadsheet formulas, and each hotspot's shape as WKT in WGS84 (1e-6 degrees)."""
    frame = csv_safe_frame(pd.DataFrame({c: table[c] for c in CSV_COLUMNS if c in table.columns}))
    if len(table):
        wgs = table.to_crs("EPSG:4326").geometry.values
        frame["wkt_wgs84"] = shapely.to_wkt(shapely.set_precision(np.asarray(wgs, dtype=object),
                                                                  1e-6))
    else:
        frame["wkt_wgs84"] = []
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue().encode("utf-8")


def hotspots_key(version: str, q: HotspotQuery) -> tuple[Any, ...]:
    """The result cache's key of the hotspot table of ``q`` on data ``version``."""
    return ("hotspots", version, q.key())


def density_key(version: str, q: HotspotQuery) -> tuple[Any, ...]:
    """The result cache's key of the density surface of ``q`` on data ``version``."""
    return ("density", version, q.key())


def bands_key(version: str, q: HotspotQuery, bands: int) -> tuple[Any, ...]:
    """The result cache's key of the density surface's contour bands (GeoJSON bytes)."""
    return ("bands", version, q.key(), bands)


async def computed_hotspots(request: Request, store: Store, taxonomy: Taxonomy,
                            q: HotspotQuery) -> tuple[Computed, str]:
    """The hotspot table for ``q`` and the data version, from the cache or computed once (in a
    thread, within the request timeout)."""
    q.parameters()  # a parameter out of range is refused before any work
    backtest = None
    if q.method == AUTO:
        backtest = await backtest_for(request, store, taxonomy, q)
    version = await run_in_threadpool(store.data_version)
    request.app.state.warming.noticed(request.app, version)  # changed elsewhere: warm here
    key = hotspots_key(version, q)
    limits = WorkLimits.from_settings(request.app.state.settings)
    computed = await within(request, key,
                            lambda stop: compute_hotspots(store, taxonomy, q, limits, stop,
                                                          request.app.state.harm, backtest))
    return computed, version


class BacktestNotReady(Unavailable):
    """``method=auto``'s backtest is running or starting (503): the planner's page says so in
    its own words (:func:`api.services.hotspot_map.backtest_running_page`)."""


async def backtest_for(request: Request, store: Store, taxonomy: Taxonomy,
                       q: HotspotQuery) -> dict[str, Any]:
    """The stored backtest ``method=auto`` chooses from; 503 with Retry-After while it runs
    (started by this request when none was)."""
    spec = await run_in_threadpool(lambda: spec_of(selection_of(q, store), taxonomy))
    document, state = await run_in_threadpool(stored_or_started, store, spec,
                                              request.app.state.backtests)
    if document is None:
        raise BacktestNotReady(
            f"method=auto chooses the method that did best in the backtest of the months in the "
            f"store, and that backtest is {'running' if state == 'running' else 'starting'} "
            f"(about a minute on a county's year); ask again shortly (GET /v1/backtest shows "
            f"it), or choose method kde, dbscan or gistar", field="method")
    return document


@dataclass
class DensityComputed:
    """A computed density surface, ready to serve (the contour bands made on first request)."""

    grid: DensityGrid
    png: bytes
    description: dict[str, Any]


def compute_density(store: Store, taxonomy: Taxonomy, q: HotspotQuery, limits: WorkLimits | None,
                    should_stop: ShouldStop | None = None) -> DensityComputed:
    """The density surface of ``q`` (in a worker thread): the grid, its PNG overlay and its
    description (bounds in WGS84, scale in incidents per km2)."""
    with gc_paused():
        return _compute_density(store, taxonomy, q, limits, should_stop)


def _compute_density(store: Store, taxonomy: Taxonomy, q: HotspotQuery,
                     limits: WorkLimits | None, should_stop: ShouldStop | None,
                     ) -> DensityComputed:
    selection = selection_of(q, store)
    params = q.density_parameters()
    grid, cols = density_grid(store, taxonomy, selection, weighted=q.weighted,
                              limits=limits, should_stop=should_stop, **params)
    check(should_stop, "before the image")
    image = density_image(grid)
    description = {
        **image.to_dict(),
        "data_version": cols.data_version,
        "incidents": len(cols),
        "grid": {"rows": grid.shape[0], "columns": grid.shape[1],
                 "cell_size_m": grid.cell_size_m, "bandwidth_m": grid.bandwidth_m,
                 "kernel": grid.kernel, "crs": grid.crs, "transform": list(grid.transform),
                 "peak_per_km2": round(grid.peak, 3)},
    }
    # kept as float32 (half the memory in the cache): only the contour bands read it again
    grid = replace(grid, values=grid.values.astype(np.float32))
    return DensityComputed(grid=grid, png=image.png, description=description)


def density_bands_geojson(computed: DensityComputed, bands: int, max_cells: int | None) -> bytes:
    """The contour bands as GeoJSON; 422 when they would be drawn from more than ``max_cells``
    cells (each a square to merge: 4 M took 40 s and 1.3 GB)."""
    cells = int(np.count_nonzero(computed.grid.values > 0)) // 2  # the top half is drawn
    if max_cells is not None and cells > max_cells:
        raise InvalidInput(f"contour bands of this surface would merge {cells:,} cells, more than "
                           f"the limit of {max_cells:,} (HOTSPOT_MAX_HOTSPOT_CELLS): use a larger "
                           "cell_size_m, or the png overlay", field="cell_size_m")
    frame = density_bands(computed.grid, bands=bands)
    body = json.loads(frame.to_crs("EPSG:4326").to_json(drop_id=True)) if len(frame) else \
        {"type": "FeatureCollection", "features": []}
    body.pop("crs", None)
    body["data_version"] = computed.description["data_version"]
    body["units"] = "incidents per km2"
    return json.dumps(body, separators=(",", ":")).encode()


async def computed_density(request: Request, store: Store, taxonomy: Taxonomy,
                           q: HotspotQuery) -> tuple[DensityComputed, str]:
    """The density surface for ``q`` and the data version, from the cache or computed once
    (in a thread, within the request timeout)."""
    q.density_parameters()  # a parameter out of range is refused before any work
    version = await run_in_threadpool(store.data_version)
    limits = WorkLimits.from_settings(request.app.state.settings)
    computed = await within(request, density_key(version, q),
                            lambda stop: compute_density(store, taxonomy, q, limits, stop))
    return computed, version
