"""Hotspots, the density surface, and the planner's map.

Every response is computed once per (data version, parameters) and then served from the cache;
the computation runs in a worker thread, off the event loop. A new ingest changes the data
version, so nothing stale is served.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import io
import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, make_dataclass, replace
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl, urlencode

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response

from api.delivery import not_modified, page_etag
from api.deps import SettingsDep, StoreDep, TaxonomyDep
from api.errors import BadRequest
from api.limits import WorkLimits
from api.pages import page_nav, with_nav
from api.routes.backtests import spec_of
from api.routes.products import partner_hotspots, period_of
from api.services.backtests import auto_places, stored_or_started
from api.services.basemap import force_basemap, page_tile_url
from api.services.hotspots import (
    ATTRIBUTION,
    METHOD_NAMES,
    AnalysisOptions,
    ParameterError,
    Selection,
    csv_cell,
    density_grid,
    latest_complete_month,
    map_layers,
    map_summary,
    parse_bbox,
    percent,
    period_bound,
    run_analysis,
    split_categories,
    tile_url,
    town_bbox,
)
from api.settings import Settings
from geodata.harm import HarmTable
from geodata.stores import Store
from geodata.taxonomy import Taxonomy
from hotspot import DensityGrid
from hotspot.cancel import ShouldStop, check
from hotspot.errors import InvalidParameter
from hotspot.params import (
    ALL_METHODS,
    AUTO,
    AUTO_NUMBER,
    BOOL,
    CHOICE,
    FLOAT,
    INT,
    Parameter,
    every_parameter,
    methods_taking,
    validate,
)
from hotspot.params import METHODS as METHOD_PARAMETERS
from maps import (
    DensityImage,
    FormState,
    PageOptions,
    density_bands,
    density_image,
    planner_map,
)
from maps.hotspot_map import period_label

router = APIRouter(tags=["hotspots"])

DEFAULT_METHOD = "dbscan"
DEFAULT_BANDWIDTH_M = float(METHOD_PARAMETERS["kde"][0].default)
"""The density surface's bandwidth when none is given (the KDE method's default)."""
PARAMETERS = every_parameter()
"""Every method parameter the API takes, from :mod:`hotspot.params` (the one definition)."""
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
class _Query:
    """The parameters every hotspot, density and map request takes; the methods' own
    parameters are added from :mod:`hotspot.params` (see :data:`HotspotQuery`)."""

    if TYPE_CHECKING:
        method: str

    category: list[str] | None = Query(
        None, description="Taxonomy categories (repeat, or separate with commas).")
    priority: str | None = Query(None, description="A plan priority: all its categories.")
    from_: str | None = Query(None, alias="from", description="Start: YYYY-MM, YYYY-MM-DD or a "
                              "date-time, local time.")
    to: str | None = Query(None, description="End, included: YYYY-MM (the whole month) or "
                           "YYYY-MM-DD (the whole day), or a date-time (excluded).")
    bbox: str | None = Query(None, description="min lon,min lat,max lon,max lat (WGS84).")
    town: str | None = Query(None, max_length=100, description="A town centre or built-up area "
                             "by name: its extent (plus 500 m).")
    heritage_distance_m: float = Query(200.0, ge=0, le=5_000, description="How near a "
                                       "heritage site counts, metres.")
    heritage_designation: list[str] | None = Query(None, description="Keep heritage sites of "
                                                   "these designations only.")
    weighted: bool = Query(False, description="Use the incidents' own weights (from the "
                           "source file); weight=harm weighs them by harm instead.")

    def parameters(self) -> dict[str, Any]:
        """The method's parameters given (checked by :func:`hotspot.params.validate`); 422
        naming a parameter out of range or of another method."""
        given = {name: getattr(self, name) for name in PARAMETERS}
        try:
            return validate(self.method, given, defaults=False)
        except InvalidParameter as exc:
            raise BadRequest(str(exc), field=exc.parameter or "method") from None

    def density_parameters(self) -> dict[str, Any]:
        """The density surface's bandwidth_m, cell_size_m and kernel (checked; the KDE
        method's default bandwidth); 422 naming one out of range."""
        given = {k: getattr(self, k) for k in ("bandwidth_m", "cell_size_m", "kernel")}
        if self.method == "gistar":  # Gi*'s cell is its grid's, not the surface's
            given["cell_size_m"] = None
        try:
            params = validate("kde", given, defaults=False)
        except InvalidParameter as exc:
            raise BadRequest(str(exc), field=exc.parameter or "bandwidth_m") from None
        params.setdefault("bandwidth_m", DEFAULT_BANDWIDTH_M)
        if params["bandwidth_m"] == "silverman":
            params["bandwidth_m"] = None
        return params

    def key(self) -> tuple[Any, ...]:
        """A hashable form of every parameter (for the cache)."""
        values = asdict(self)
        return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in values.items()))

    def query_string(self, **changes: Any) -> str:
        """The request's parameters as a query string, with ``changes``."""
        values = {("from" if k == "from_" else k): v for k, v in asdict(self).items()}
        values.update(changes)
        pairs: list[tuple[str, str]] = []
        for k, v in values.items():
            if v is None or v is False or (k == "heritage_distance_m" and v == 200.0):
                continue
            if isinstance(v, list):
                pairs += [(k, str(x)) for x in v]
            else:
                pairs.append((k, "1" if v is True else str(v)))
        return urlencode(pairs)


def _query_field(p: Parameter) -> tuple[str, Any, Any]:
    """A dataclass field (name, type, FastAPI Query) for a method parameter."""
    methods = methods_taking(p.name)
    text = ("every method: " + p.describe() if not methods else " ".join(
        f"{m}: {q.describe()}" for m in methods for q in METHOD_PARAMETERS[m] if q.name == p.name))
    bounds: dict[str, Any] = {}
    if p.kind in (FLOAT, INT):
        if p.minimum is not None:
            bounds["gt" if p.open_minimum else "ge"] = p.minimum
        if p.maximum is not None:
            bounds["lt" if p.open_maximum else "le"] = p.maximum
    kind: Any
    if p.kind == FLOAT:
        kind = float | None
    elif p.kind == INT:
        kind = int | None
    elif p.kind == BOOL:
        kind = bool | None
    elif p.kind == CHOICE:
        kind = Literal[p.choices] | None
    else:
        bounds["max_length"] = 20
        bounds["pattern"] = (r"^(auto|[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?)$" if p.kind == AUTO_NUMBER
                             else rf"^({'|'.join(p.names)}|[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?)$")
        kind = str | None
    return p.name, kind, Query(None, description=text, **bounds)


if TYPE_CHECKING:
    HotspotQuery = _Query
else:
    HotspotQuery = make_dataclass(
        "HotspotQuery",
        [("method", Literal[ALL_METHODS], Query(
            DEFAULT_METHOD, description="kde (kernel density areas), dbscan (clusters), gistar "
            "(Getis-Ord Gi* significant cells) or auto (the method that did best in the "
            "backtest of the months in the store; give an area budget)")),
         *(_query_field(p) for p in PARAMETERS.values())],
        bases=(_Query,))
    HotspotQuery.__module__ = __name__
    HotspotQuery.__doc__ = _Query.__doc__


def _selection(q: HotspotQuery, store: Store) -> Selection:
    try:
        start = period_bound(q.from_, store.timezone, end=False, field="from")
        end = period_bound(q.to, store.timezone, end=True, field="to")
        lonlat = parse_bbox(q.bbox) if q.bbox else None
        box = town_bbox(store, q.town) if q.town else None
    except ParameterError as exc:
        raise BadRequest(str(exc), field=exc.field) from None
    if start is not None and end is not None and start >= end:
        raise BadRequest("'to' must be after 'from'", field="to")
    return Selection(start=start, end=end, categories=split_categories(q.category),
                     priority=q.priority, bbox=box, lonlat_bbox=lonlat)


def selection_of(q: HotspotQuery, store: Store) -> Selection:
    """The selection (period, categories, box) of a request's parameters; 422 naming a bad
    one (a hotspot's own page reads its incidents with it)."""
    return _selection(q, store)


@dataclass
class Computed:
    """A computed hotspot result, ready to serve."""

    geojson: bytes
    csv: bytes
    table: gpd.GeoDataFrame
    info: dict[str, Any]
    metadata: dict[str, Any]
    parameters: dict[str, Any]


def _compute(store: Store, taxonomy: Taxonomy, q: HotspotQuery, limits: WorkLimits | None,
             should_stop: ShouldStop | None = None, harm: HarmTable | None = None,
             backtest: dict[str, Any] | None = None) -> Computed:
    params = q.parameters()
    selection = _selection(q, store)
    places = choice = None
    if backtest is not None:
        try:
            places, choice = auto_places(store, taxonomy, selection, params, backtest)
        except ParameterError as exc:
            raise BadRequest(str(exc), field=exc.field) from None
    options = AnalysisOptions(
        heritage_distance_m=q.heritage_distance_m,
        heritage_designations=tuple(q.heritage_designation) if q.heritage_designation else None,
        weighted=q.weighted, parameters=params, harm=harm,
    )
    try:
        result, metadata = run_analysis(store, taxonomy, method=q.method, selection=selection,
                                        options=options, limits=limits,
                                        should_stop=should_stop, places=places, choice=choice)
    except ParameterError as exc:
        raise BadRequest(str(exc), field=exc.field) from None
    collection = result.to_feature_collection(metadata, should_stop=should_stop)
    collection["parameters"] = {"method": q.method, **collection["metadata"]["parameters"]}
    collection["data_version"] = metadata["data_version"]
    geojson = json.dumps(collection, separators=(",", ":")).encode()
    parameters = collection["parameters"]
    del collection  # the GeoJSON is what is kept
    check(should_stop, "before the CSV")
    return Computed(
        geojson=geojson,
        csv=_csv(result.hotspots),
        table=result.hotspots,
        info=result.info,
        metadata=metadata,
        parameters=parameters,
    )


def _csv(table: gpd.GeoDataFrame) -> bytes:
    frame = pd.DataFrame({c: table[c] for c in CSV_COLUMNS if c in table.columns})
    for c in frame.columns:
        if frame[c].dtype == object:
            frame[c] = frame[c].map(csv_cell)
    if len(table):
        wgs = table.to_crs("EPSG:4326").geometry.values
        frame["wkt_wgs84"] = shapely.to_wkt(shapely.set_precision(np.asarray(wgs, dtype=object),
                                                                  1e-6))
    else:
        frame["wkt_wgs84"] = []
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue().encode("utf-8")


async def computed_hotspots(request: Request, store: Store, taxonomy: Taxonomy,
                            q: HotspotQuery) -> tuple[Computed, str]:
    """The hotspot table for ``q`` and the data version, from the cache or computed once (in a
    thread, within the request timeout)."""
    q.parameters()  # a parameter out of range is refused before any work
    backtest = None
    if q.method == AUTO:
        backtest = await _backtest_for(request, store, taxonomy, q)
    version = store.data_version()
    key = ("hotspots", version, q.key())
    limits = WorkLimits.from_settings(request.app.state.settings)
    computed = await _within(request, key,
                             lambda stop: _compute(store, taxonomy, q, limits, stop,
                                                   request.app.state.harm, backtest))
    return computed, version


async def _backtest_for(request: Request, store: Store, taxonomy: Taxonomy,
                        q: HotspotQuery) -> dict[str, Any]:
    """The stored backtest ``method=auto`` chooses from; 503 with Retry-After while it runs
    (started by this request when none was)."""
    spec = spec_of(_selection(q, store), taxonomy)
    document, state = await run_in_threadpool(stored_or_started, store, spec,
                                              request.app.state.backtests)
    if document is None:
        raise BadRequest(
            f"method=auto chooses the method that did best in the backtest of the months in the "
            f"store, and that backtest is {'running' if state == 'running' else 'starting'} "
            f"(about a minute on a county's year); ask again shortly (GET /v1/backtest shows "
            f"it), or choose method kde, dbscan or gistar", field="method", status=503)
    return document


async def _within(request: Request, key: tuple[Any, ...],
                  compute: Callable[[ShouldStop], Any]) -> Any:
    """``compute`` through the cache: run once (if the caller's analysis budget allows),
    waited for at most the request timeout, stopped when every request for it has gone."""
    app = request.app
    who = getattr(request.state, "principal", None)
    return await app.state.cache.within(
        key, compute, app.state.settings.request_timeout_s,
        admit=lambda: app.state.analysis_budget.admit(who),
        disconnected=lambda: client_gone(request))


async def client_gone(request: Request) -> None:
    """Return once the request's client has disconnected (never, if that cannot be told).

    The body has been read by then (these routes take none, or a parsed JSON body), so the
    next message the server sends the app is ``http.disconnect``.
    """
    for _ in range(3):
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return
    await asyncio.Event().wait()  # a receive that keeps answering: no way to tell


def _etag(*parts: Any) -> str:
    return '"' + hashlib.sha256(repr(parts).encode()).hexdigest()[:32] + '"'


@router.get(
    "/v1/hotspots",
    responses={200: {"content": {"application/geo+json": {}, "text/csv": {}},
                     "description": "The ranked hotspot table (GeoJSON, or CSV)."}},
)
async def hotspots(
    request: Request,
    store: StoreDep,
    taxonomy: TaxonomyDep,
    q: HotspotQuery = Depends(),
    format: Literal["geojson", "csv"] | None = Query(None, description="Instead of the "
                                                     "Accept header."),
    period: str | None = Query(None, max_length=10, description="A whole month (YYYY-MM) or "
                               "quarter (YYYY-Qn) instead of from and to. Partners: which "
                               "published product (default: the latest)."),
) -> Response:
    """The ranked hotspot table as an RFC 7946 FeatureCollection (WGS84 longitude/latitude),
    with the parameters used and the data version; CSV with ``Accept: text/csv``.

    Partners get no analysis: they read the hotspots of a published product (a whole month or
    quarter on the force grid, small counts held back; see ``/v1/products``), and may choose
    only ``period`` (or ``from`` and ``to`` naming its first and last month), ``priority`` and
    ``format``; any other parameter is refused (422)."""
    wants_csv = format == "csv" or (format is None and "text/csv" in
                                    request.headers.get("accept", ""))
    who = getattr(request.state, "principal", None)
    if who is not None and who.role == "partner":  # published products only: api.services.products
        return await run_in_threadpool(partner_hotspots, request, store, taxonomy,
                                       period=period, wants_csv=wants_csv)
    if period is not None:
        if q.from_ is not None or q.to is not None:
            raise BadRequest("give period, or from and to, not both", field="period")
        months = period_of(period, store).months
        q.from_, q.to = months[0], months[-1]
    computed, version = await computed_hotspots(request, store, taxonomy, q)
    etag = _etag(version, q.key(), wants_csv)
    headers = {"ETag": etag, "X-Data-Version": version, "Cache-Control": "private, max-age=60",
               "Vary": "Accept"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    if wants_csv:
        name = download_name(place_name(store), computed.metadata, ".csv")
        headers["Content-Disposition"] = f'attachment; filename="{name}"'
        return Response(computed.csv, media_type="text/csv; charset=utf-8", headers=headers)
    return Response(computed.geojson, media_type="application/geo+json", headers=headers)


@dataclass
class DensityComputed:
    """A computed density surface, ready to serve (the contour bands made on first request)."""

    grid: DensityGrid
    png: bytes
    description: dict[str, Any]


def _density(store: Store, taxonomy: Taxonomy, q: HotspotQuery, limits: WorkLimits | None,
             should_stop: ShouldStop | None = None) -> DensityComputed:
    selection = _selection(q, store)
    params = q.density_parameters()
    try:
        grid, cols = density_grid(store, taxonomy, selection, weighted=q.weighted,
                                  limits=limits, should_stop=should_stop, **params)
    except ParameterError as exc:
        raise BadRequest(str(exc), field=exc.field) from None
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


def _bands(computed: DensityComputed, bands: int, max_cells: int | None) -> bytes:
    """The contour bands as GeoJSON; 422 when they would be drawn from more than ``max_cells``
    cells (each a square to merge: 4 M took 40 s and 1.3 GB)."""
    cells = int(np.count_nonzero(computed.grid.values > 0)) // 2  # the top half is drawn
    if max_cells is not None and cells > max_cells:
        raise BadRequest(f"contour bands of this surface would merge {cells:,} cells, more than "
                         f"the limit of {max_cells:,} (HOTSPOT_MAX_HOTSPOT_CELLS): use a larger "
                         "cell_size_m, or the png overlay", field="cell_size_m")
    frame = density_bands(computed.grid, bands=bands)
    body = json.loads(frame.to_crs("EPSG:4326").to_json(drop_id=True)) if len(frame) else \
        {"type": "FeatureCollection", "features": []}
    body.pop("crs", None)
    body["data_version"] = computed.description["data_version"]
    body["units"] = "incidents per km2"
    return json.dumps(body, separators=(",", ":")).encode()


async def _density_cached(request: Request, store: Store, taxonomy: Taxonomy,
                          q: HotspotQuery) -> tuple[DensityComputed, str]:
    q.density_parameters()  # a parameter out of range is refused before any work
    version = store.data_version()
    limits = WorkLimits.from_settings(request.app.state.settings)
    computed = await _within(request, ("density", version, q.key()),
                             lambda stop: _density(store, taxonomy, q, limits, stop))
    return computed, version


@router.get(
    "/v1/density",
    responses={200: {"content": {"application/json": {}, "image/png": {},
                                 "application/geo+json": {}}}},
)
async def density(
    request: Request,
    store: StoreDep,
    taxonomy: TaxonomyDep,
    q: HotspotQuery = Depends(),
    format: Literal["json", "png", "geojson"] = Query(
        "json", description="json: bounds and scale; png: the overlay (Web Mercator, bounds in "
        "X-Bounds); geojson: contour bands."),
    bands: int = Query(5, ge=1, le=20, description="Contour bands for geojson."),
) -> Response:
    """The kernel density surface (incidents per km2) of the selection: a PNG overlay with its
    bounds ([[south, west], [north, east]], WGS84), or GeoJSON contour bands."""
    computed, version = await _density_cached(request, store, taxonomy, q)
    etag = _etag(version, q.key(), format, bands)
    headers = {"X-Data-Version": version, "Cache-Control": "private, max-age=60", "ETag": etag}
    if request.headers.get("if-none-match") == etag:  # the overlay the page already holds
        return Response(status_code=304, headers=headers)
    if format == "png":
        (s, w), (n, e) = computed.description["bounds"]
        headers["X-Bounds"] = f"{w},{s},{e},{n}"
        return Response(computed.png, media_type="image/png", headers=headers)
    if format == "geojson":
        limit = request.app.state.settings.max_hotspot_cells
        body = await _within(request, ("bands", version, q.key(), bands),
                             lambda _stop: _bands(computed, bands, limit))
        return Response(body, media_type="application/geo+json", headers=headers)
    description = dict(computed.description)
    description["png"] = f"{request.url.path}?{q.query_string(format='png')}"
    return JSONResponse(description, headers=headers)


def page_summary(method: str, info: dict[str, Any], area_name: str,
                 weight: str | None) -> tuple[str, str]:
    """The planner's page's summary in plain words ("308 places (0.45 % of the force area) hold
    56 % of the 12,624 incidents") and, for its details line, how the places were found and how
    concentrated they are (the PAI, in words)."""
    if info.get("note"):
        return str(info["note"]), ""
    n = int(info.get("hotspots", 0))
    text = "1 place" if n == 1 else f"{n:,} places"
    if info.get("area_share") is not None:
        text += f" ({percent(float(info['area_share']))} of the {area_name})"
    of = "the harm of the " if weight == "harm" else "the "
    text += (f" hold {percent(float(info.get('hit_rate', 0)))} of {of}"
             f"{int(info.get('incidents', 0)):,} incidents")
    if info.get("area_budget_km2") is not None:
        text += f" \u00b7 area budget {float(info['area_budget_km2']):g} km\u00b2"
    about = f"Found by {METHOD_NAMES.get(method, method)}."
    pai = info.get("pai")
    if pai and info.get("pai_basis", "retrospective") == "retrospective":
        about += (f" Per km\u00b2 these places hold {float(pai):,.0f} times the {area_name}'s "
                  "average (retrospective: measured on the same incidents they were drawn "
                  "from, so it flatters them).")
    elif pai:
        about += (f" In the backtest such places held {float(pai):,.1f} times the "
                  f"{area_name}'s average per km\u00b2 of the following month's crime.")
    return text, about


def page_period(metadata: dict[str, Any]) -> str:
    """The period a result covers, in words, with the one its trends compare it with
    ("1 Jul \u2013 31 Dec 2024, against 1 Jan \u2013 30 Jun 2024")."""
    selection = metadata.get("selection") or {}
    shown = period_label(selection.get("from"), selection.get("to"))
    if not shown:
        return ("Every incident in the store (choose From and To for trends)"
                if not selection.get("from") and not selection.get("to") else "")
    before = metadata.get("previous_selection") or {}
    against = period_label(before.get("from"), before.get("to"))
    if against:
        return f"{shown}, against {against}"
    return f"{shown} (no data for the period before it: trends not known)"


def download_name(place: str, metadata: dict[str, Any], suffix: str) -> str:
    """A download's file name after the place and the period ("demo-shire-hotspots-2024-07-to-
    2024-12.html"): ASCII letters, digits and hyphens only."""
    selection = metadata.get("selection") or {}
    words = "-".join(re.findall(r"[a-z0-9]+", place.lower())) or "hotspots"
    parts = [words, "hotspots"] if "hotspot" not in words else [words]
    first, end = selection.get("from"), selection.get("to")
    if first and end:
        last = (pd.Timestamp(end) - pd.Timedelta(days=1)) if str(end)[11:16] in ("00:00", "") \
            else pd.Timestamp(end)
        parts += [str(first)[:7], "to", last.strftime("%Y-%m")]
    return "-".join(parts) + suffix


def place_name(store: Store) -> str:
    """The force area's name (the force boundary's first name), else "hotspots"."""
    layer = store.get_layer("force_boundary")
    if layer is not None and len(layer.frame) and "name" in layer.frame.columns:
        names = [str(n) for n in layer.frame["name"] if isinstance(n, str) and n.strip()]
        if names:
            return names[0]
    return "hotspots"


def _page(store: Store, taxonomy: Taxonomy, settings: Settings, q: HotspotQuery,
          computed: Computed, density: DensityComputed | None, *, path: str,
          download: bool) -> str:
    layers = map_layers(store)
    image = None
    if density is not None:
        image = DensityImage(png=density.png, bounds=density.description["bounds"],
                             top_per_km2=density.description["top_per_km2"])
    info, choice = computed.info, computed.metadata.get("choice")
    area_name = "force area" if layers.get("force_boundary") is not None else "study area"
    version = computed.metadata["data_version"]
    weight = computed.parameters.get("weight")
    if choice:
        summary = map_summary(q.method, info, version, choice=choice, area_name=area_name,
                              weight=weight, sentence=False)
        summary, about = summary.removesuffix(f" \u00b7 data {version}"), ""
    else:
        summary, about = page_summary(q.method, info, area_name, weight)
    # how the figures were made, and the data version, in the details line: for who asks
    details = (f"{about} Places are ranked by their "
               f"{'harm' if weight == 'harm' else 'incidents'}, how tightly packed they are and "
               "how recent, so the first is where a patrol's time buys most. Data version "
               f"{version}: it changes whenever incidents are loaded, so two maps with the same "
               "version were drawn from the same data.").strip()
    # carried through the form: not what it sets, nor one method's parameters (the planner may
    # switch method, and another method's parameter is a 422); the place size applies to all
    dropped = {"method", "priority", "from", "to", *PARAMETERS} - {"max_place_m"}
    keep = [(k, v) for k, v in parse_qsl(q.query_string()) if k not in dropped]
    # an area_km2 budget shows in the form as the share of the force area it came to
    given = q.parameters()
    share, share_label = given.get("area_share"), None
    if share is None and given.get("area_km2") is not None and info.get("study_area_km2"):
        share = float(given["area_km2"]) / float(info["study_area_km2"])
        share_label = f"{float(given['area_km2']):g} km\u00b2"
    tiles = tile_url(settings.tile_url) if download else page_tile_url(settings)
    options = PageOptions(
        title="Hotspot planner",
        basemap_url="/v1/basemap",
        basemap_features=force_basemap(store) if download else None,
        tiles_url=tiles,
        tiles_attribution=settings.tile_attribution,
        asset_base="/static",
        inline=download,
        density=image,
        density_url=f"/v1/density?{q.query_string(format='png')}" if image else None,
        form=None if download else FormState(
            action=path, method=q.method, priority=q.priority,
            date_from=(q.from_ or "")[:7] or None, date_to=(q.to or "")[:7] or None,
            priorities=[(k, v.split(":")[0].strip()) for k, v in taxonomy.priorities.items()],
            area_share=None if share is None else float(share), area_label=share_label,
            weight=str(given.get("weight") or "count"), keep=keep,
        ),
        summary=summary,
        period=page_period(computed.metadata),
        details=details,
        category_labels={k: c.label for k, c in taxonomy.categories.items()},
        headline=str(choice.get("sentence") or "") if choice else "",
        harm_approximate=bool((computed.metadata.get("harm") or {}).get("approximate")),
        emerging_months=(info.get("emerging") or {}).get("months"),
        attribution=ATTRIBUTION,
        download_url=None if download else f"{path}?{q.query_string(download=1)}",
        hotspot_page_query=None if download else q.query_string(),
    )
    return planner_map(computed.table, layers, options)


PAGE_MONTHS = 6
"""The planner's page, asked for no period, shows the last this many whole months of the
store's data (their trend against as many months before): recent, with trends known."""


async def _default_period(request: Request, store: Store, q: HotspotQuery) -> None:
    """Set ``q``'s period to the page's default when the address names none (``from`` and
    ``to`` both absent; given empty, they mean every incident)."""
    if "from" in request.query_params or "to" in request.query_params:
        return
    last = await request.app.state.cache.get(("latest-month", store.data_version()),
                                             lambda: latest_complete_month(store))
    if last is None:
        return
    q.from_ = str(pd.Period(last, freq="M") - (PAGE_MONTHS - 1))
    q.to = str(last)


async def _map(request: Request, store: Store, taxonomy: Taxonomy, settings: Settings,
               q: HotspotQuery, download: bool) -> Response:
    await _default_period(request, store, q)
    try:
        computed, version = await computed_hotspots(request, store, taxonomy, q)
    except BadRequest as exc:
        if exc.status != 503 or q.method != AUTO:
            raise
        return _backtest_running_page(request, q, str(exc))
    dens: DensityComputed | None = None
    if computed.info.get("incidents"):
        try:
            dens, _ = await _density_cached(request, store, taxonomy, q)
        except (InvalidParameter, BadRequest):
            dens = None  # no surface for this selection (e.g. one incident): hotspots still show
    path = request.url.path
    # the page's bytes change with every nonce and token mask; its tag is what it shows
    etag = page_etag(request, path, version, q.key(), download, page_tile_url(settings))
    if (same := not_modified(request, etag)) is not None:
        return same
    page = await request.app.state.cache.get(
        ("page", version, q.key(), path, download, page_tile_url(settings)),  # basemap added
        lambda: _page(store, taxonomy, settings, q, computed, dens, path=path,
                      download=download))
    headers = {"X-Data-Version": version, "ETag": etag, "Cache-Control": "private, no-cache"}
    if not download:  # the bar holds the caller's own CSRF token: never in the cached page
        page = with_nav(page, page_nav(request, store, "map"))
    if download:
        name = download_name(place_name(store), computed.metadata, ".html")
        headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return HTMLResponse(page, headers=headers)


def _backtest_running_page(request: Request, q: HotspotQuery, why: str) -> HTMLResponse:
    """A planner's page while the backtest behind "Best in backtest" runs: it says so, offers
    the other methods, and reloads itself (503, Retry-After)."""
    e = html.escape
    here = f"{request.url.path}?{q.query_string()}"
    other = f"{request.url.path}?{q.query_string(method='dbscan')}"
    page = (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<meta http-equiv=\"refresh\" content=\"{BACKTEST_RELOAD_S}; url={e(here)}\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<title>Preparing the best method</title>"
        "<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40em;margin:3em auto;"
        "padding:0 1em}a{display:inline-block;min-height:44px;line-height:44px}</style>"
        "</head><body><h1>Preparing \u201cBest in backtest\u201d</h1>"
        "<p>The service is testing every hotspot method on the months in the store, to choose "
        "the one that predicted best here. It takes a minute or two the first time and is kept "
        f"after that. This page reloads itself in {BACKTEST_RELOAD_S} seconds.</p>"
        f"<p class=\"detail\">{e(why)}</p>"
        f"<p><a href=\"{e(here)}\">Reload now</a> \u00b7 "
        f"<a href=\"{e(other)}\">Show DBSCAN clusters instead</a></p></body></html>")
    return HTMLResponse(page, status_code=503,
                        headers={"Retry-After": str(BACKTEST_RELOAD_S), "Cache-Control": "no-store"})


BACKTEST_RELOAD_S = 30
"""How soon the waiting page reloads, seconds."""


@router.get("/v1/hotspots/map", response_class=HTMLResponse)
async def hotspot_map(
    request: Request, store: StoreDep, taxonomy: TaxonomyDep, settings: SettingsDep,
    q: HotspotQuery = Depends(),
    download: bool = Query(False, description="One self-contained file (assets inlined)."),
) -> Response:
    """The planner's map of the hotspots (an HTML page; ``download=1`` for a single file that
    opens from disk with no network)."""
    return await _map(request, store, taxonomy, settings, q, download)


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def planner(
    request: Request, store: StoreDep, taxonomy: TaxonomyDep, settings: SettingsDep,
    q: HotspotQuery = Depends(), download: bool = Query(False),
) -> Response:
    """The planner's page: the map of :func:`hotspot_map` at the root."""
    return await _map(request, store, taxonomy, settings, q, download)
