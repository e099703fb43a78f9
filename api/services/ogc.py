"""OGC API - Features (Part 1 Core, Part 2 CRS, Part 3 Filtering) over the service's results,
for GIS desktops (QGIS, ArcGIS, GDAL's OAPIF driver) at ``/ogc``.

**Collections** (which one a caller sees depends on its role, :func:`collections_for`):

``hotspots-<preset>``
    The hotspots of a saved preset (:mod:`api.services.presets`), computed as
    ``GET /v1/hotspots`` computes them. Field roles.
``plan-<plan id>-routes``, ``plan-<plan id>-stops``
    A patrol plan's routes (MultiLineString per crew) and its stops and bases (Points); the 50
    latest plans, drafts for staff only. Field roles.
``layer-<kind>``
    A reference layer (force boundary, town centres, built-up areas, heritage sites, patrol
    bases, roads). Field roles.
``incidents``
    Every incident (exact points: victims' locations). Staff only.
``products-hotspots``
    The hotspots of every published product (whole months or quarters on the force grid, small
    counts held back: :mod:`api.services.products`). Everyone; the only collection partners
    see.

**Coordinates.** Features are served in CRS84 (WGS84 longitude, latitude; the default) or in
``http://www.opengis.net/def/crs/EPSG/0/27700`` (British National Grid easting, northing in
metres) with ``crs``; ``bbox-crs`` says which CRS ``bbox`` is in (default CRS84); every
answer with geometries says its CRS in the ``Content-Crs`` header. Stored geometries are in
the store's CRS (EPSG:27700); GeoJSON in CRS84 is RFC 7946.

**Paging.** Features are in a stable order (rank, row id or the layer's row order: the
feature id's order), ``limit`` (1 to ``HOTSPOT_MAX_PAGE_SIZE``, default 10) and ``offset``;
``numberMatched`` counts every feature matching the filters, ``numberReturned`` this page, and
a ``next`` link carries the same query on to the next page.

**Filtering.** ``bbox``, ``datetime`` (an instant, a date or an interval ``a/b`` with ``..``
open; matched against each feature's time span), CQL2 ``filter`` (:mod:`api.services.
ogc_filter`) over the collection's queryables (``/queryables``), and queryables as plain
query parameters (``?category=burglary``: equality).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from fastapi.concurrency import run_in_threadpool
from pyproj import CRS
from shapely.geometry import mapping, shape

from api.access import DRAFT_ROLES, STAFF
from api.formats import ATTRIBUTION, OGL_URL
from api.pages import role_of
from api.service_errors import InvalidInput, NotFound, clipped
from api.services.ogc_filter import Queryable
from api.services.products import HOTSPOT_COLUMNS, KIND
from geodata.stores import Store

if TYPE_CHECKING:
    from fastapi import Request

    from geodata.taxonomy import Taxonomy

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
"""WGS84 longitude, latitude (degrees): the default CRS of every answer."""
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/"
BNG = EPSG_URI + "27700"
"""British National Grid (EPSG:27700): easting, northing in metres."""
SUPPORTED_CRS = (CRS84, BNG)
"""The CRSs features are served in (``crs``) and ``bbox`` may be given in (``bbox-crs``)."""
_PYPROJ = {CRS84: "OGC:CRS84", BNG: "EPSG:27700"}
_DECIMALS = {CRS84: 7, BNG: 2}
"""Coordinates are rounded to this many decimals (degrees: about 1 cm; metres: 1 cm)."""

GEOJSON = "application/geo+json"
OPENAPI_30 = "application/vnd.oai.openapi+json;version=3.0"
CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
)
"""The conformance classes declared at ``/ogc/conformance``."""
DEFAULT_LIMIT = 10
PROJECTED_LIMIT_M = 10_000_000.0
"""The largest coordinate a projected bbox may give, metres (British National Grid spans
0-700 km east and 0-1,300 km north)."""
MAX_OFFSET = 10_000_000
PLANS_LISTED = 50
"""Patrol plans offered as collections: the latest this many."""
ITEM_PARAMETERS = frozenset({"limit", "offset", "bbox", "bbox-crs", "datetime", "crs", "filter",
                             "filter-lang", "filter-crs", "f"})
"""The query parameters of ``/items`` (besides the collection's queryables)."""

HOTSPOTS = "hotspots-"
LAYER = "layer-"
PLAN = "plan-"
INCIDENTS = "incidents"
PRODUCTS = "products-hotspots"
_PLAN_ID = re.compile(r"^plan-([0-9a-f]{1,64})-(routes|stops)$")
_CLASSES = ("town_centre", "heritage_site", "rural", "urban")
_TRENDS = ("rising", "falling", "steady", "new", "unknown")
_LAYER_KINDS = ("force_boundary", "town_centres", "built_up_areas", "heritage_sites",
                "patrol_bases", "roads")
_LAYER_TITLES = {"force_boundary": "Force boundary", "town_centres": "Town centres",
                 "built_up_areas": "Built-up areas", "heritage_sites": "Heritage sites",
                 "patrol_bases": "Patrol bases", "roads": "Roads"}
_INCIDENT_TEXT = ("crime_type", "location_text", "lsoa_code", "outcome")
"""The incidents' text columns served (the source's own id is not a column the PostGIS store
reads in bulk; the feature id is the store's row id)."""


@dataclass(frozen=True)
class Collection:
    """One collection: its id, title and description, and its queryables (the geometry is
    ``geometry``; the others are columns of its frame)."""

    id: str
    title: str
    description: str
    queryables: tuple[Queryable, ...]
    bounds: tuple[float, float, float, float] | None = None
    """Its features' extent in the store's CRS, when known without reading them (a layer's)."""
    interval: tuple[str, str] | None = None
    """The time its features cover (RFC 3339 in the force's time zone, both ends included),
    if known."""


@dataclass
class Features:
    """A collection's features before filtering: a frame in any CRS with a string ``id``
    column, one column per queryable, the other properties, and optional ``_t0``/``_t1``
    (each feature's time span, seconds since the epoch UTC, end inclusive), ordered as served.
    """

    frame: gpd.GeoDataFrame
    properties: tuple[str, ...]
    version: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


# --- the collections each role sees ----------------------------------------------------------

def _q(name: str, kind: str, title: str, enum: Sequence[str] | None = None) -> Queryable:
    return Queryable(name=name, type=kind, title=title,
                     enum=tuple(enum) if enum is not None else None)


def _geometry() -> Queryable:
    return _q("geometry", "geometry", "The feature's shape")


def _hotspot_queryables(taxonomy: Taxonomy) -> tuple[Queryable, ...]:
    return (
        _q("category", "string", "Top category (taxonomy key)", sorted(taxonomy.categories)),
        _q("priority", "string", "Plan priority of the top category",
           sorted(taxonomy.priorities)),
        _q("class", "string", "Context class", _CLASSES),
        _q("trend", "string", "Trend against the period before", _TRENDS),
        _q("month", "string", "Month of the last incident (YYYY-MM)"),
        _q("team", "string", "Team the hotspot goes to"),
        _q("place", "string", "Town or area named"),
        _q("rank", "integer", "Rank (1 = first)"),
        _q("incidents", "integer", "Incidents in the hotspot"),
        _geometry(),
    )


def _product_queryables(taxonomy: Taxonomy) -> tuple[Queryable, ...]:
    return (
        _q("category", "string", "Top category or priority shown", None),
        _q("priority", "string", "The product's priority group ('all' or a plan priority)",
           ["all", *sorted(taxonomy.priorities)]),
        _q("class", "string", "Context class", _CLASSES),
        _q("trend", "string", "Trend against the period before", _TRENDS),
        _q("month", "string", "Last month of the product's period (YYYY-MM)"),
        _q("period", "string", "The product's period (YYYY-MM or YYYY-Qn)"),
        _q("rank", "integer", "Rank within its priority group"),
        _q("incidents", "integer", "Incidents (published square counts summed)"),
        _geometry(),
    )


def _incident_queryables(taxonomy: Taxonomy) -> tuple[Queryable, ...]:
    return (
        _q("category", "string", "Category (taxonomy key)", sorted(taxonomy.categories)),
        _q("priority", "string", "Plan priority", sorted(taxonomy.priorities)),
        _q("month", "string", "Month (YYYY-MM, local time)"),
        _q("crime_type", "string", "Crime type as the source spelled it"),
        _q("outcome", "string", "Outcome"),
        _q("lsoa_code", "string", "LSOA code"),
        _q("location_text", "string", "Location"),
        _geometry(),
    )


def _plan_queryables(part: str) -> tuple[Queryable, ...]:
    if part == "routes":
        return (_q("route", "string", "Route label"), _q("unit", "string", "Unit"),
                _q("town", "string", "Town"), _geometry())
    return (_q("route", "string", "Route label"), _q("kind", "string", "stop or base",
                                                     ["stop", "base"]),
            _q("seq", "integer", "Order on the route"), _q("label", "string", "Stop label"),
            _geometry())


def _layer_queryables(frame: gpd.GeoDataFrame) -> tuple[Queryable, ...]:
    out = []
    for c in frame.columns:
        if c == frame.geometry.name or not isinstance(c, str) or not re.fullmatch(
                r"[A-Za-z_][A-Za-z0-9_]{0,62}", c):
            continue
        dtype = frame[c].dtype
        if pd.api.types.is_bool_dtype(dtype):
            continue
        if pd.api.types.is_integer_dtype(dtype):
            out.append(_q(c, "integer", c))
        elif pd.api.types.is_float_dtype(dtype):
            out.append(_q(c, "number", c))
        elif pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
            out.append(_q(c, "string", c))
    return (*out, _geometry())


def is_partner(request: Request) -> bool:
    """Whether the caller is a partner (published products only)."""
    return role_of(request) == "partner"


def collections_for(request: Request, store: Store, taxonomy: Taxonomy) -> list[Collection]:
    """The collections the caller may read, in the order listed (in a worker thread)."""
    role = role_of(request)
    published = store.list_products(KIND)
    products = Collection(
        PRODUCTS, "Published hotspots (partner view)",
        "The hotspots of every published product: whole months or quarters on the force "
        "grid, small counts held back; the same for everyone who asks. Every period is here, "
        "one over another: choose one with period (2024-06, 2024-Q2) as a parameter or filter.",
        _product_queryables(taxonomy),
        interval=_interval(min(int(p["period_start"]) for p in published),
                           max(int(p["period_end"]) for p in published), store.timezone)
        if published else None)
    if role == "partner":
        return [products]
    out: list[Collection] = []
    for preset in store.list_presets():
        out.append(Collection(
            HOTSPOTS + preset["name"], preset["title"] or f"Hotspots: {preset['name']}",
            _preset_description(preset),
            _hotspot_queryables(taxonomy), interval=_preset_interval(preset, store)))
    for plan in store.list_plans(PLANS_LISTED, published_only=role not in DRAFT_ROLES):
        pid = plan["plan_id"]
        name = plan.get("name") or (plan.get("request") or {}).get("name") or pid
        state = "" if plan.get("published_at") else " (draft)"
        out.append(Collection(f"{PLAN}{pid}-routes", f"Plan {name}{state}: routes",
                              "A patrol plan's routes, one line per crew.",
                              _plan_queryables("routes")))
        out.append(Collection(f"{PLAN}{pid}-stops", f"Plan {name}{state}: stops",
                              "A patrol plan's stops and bases.", _plan_queryables("stops")))
    for info in store.list_layers():
        if info.kind not in _LAYER_KINDS:
            continue
        queryables = _stored_layer_queryables(store, info)
        if queryables is None:
            continue
        bounds = info.info.get("bounds")
        out.append(Collection(LAYER + info.kind, _LAYER_TITLES[info.kind],
                              f"{_LAYER_TITLES[info.kind]}: the force's reference layer, "
                              f"loaded from {info.source}"
                              + (" (points and areas together: a GIS may show them as two "
                                 "layers)." if info.kind == "heritage_sites" else "."),
                              queryables,
                              bounds=tuple(bounds) if bounds and len(bounds) == 4 else None))
    if role in STAFF:
        out.append(Collection(INCIDENTS, "Incidents",
                              "Every stored incident: exact points (victims' locations; staff "
                              "only).", _incident_queryables(taxonomy)))
    out.append(products)
    return out


_LAYER_QUERYABLES: dict[tuple[str, str, str, str], tuple[Queryable, ...]] = {}
"""A stored layer's queryables by (store, kind, when added, source): a layer is read once, not
on every request that lists the collections."""


def _stored_layer_queryables(store: Store, info: Any) -> tuple[Queryable, ...] | None:
    key = (str(getattr(store, "store_id", id(store))), info.kind, info.added_at, info.source)
    found = _LAYER_QUERYABLES.get(key)
    if found is None:
        layer = store.get_layer(info.kind)
        if layer is None:
            return None
        if len(_LAYER_QUERYABLES) > 64:
            _LAYER_QUERYABLES.clear()
        found = _LAYER_QUERYABLES[key] = _layer_queryables(layer.frame)
    return found


def _interval(start: int, end: int, timezone: str) -> tuple[str, str]:
    """``[start, end)`` (seconds since the epoch) as a collection's temporal interval: RFC 3339
    in the force's time zone, the last second included."""
    zone = ZoneInfo(timezone)
    return (datetime.fromtimestamp(start, tz=zone).isoformat(),
            datetime.fromtimestamp(end - 1, tz=zone).isoformat())


def _preset_interval(preset: dict[str, Any], store: Store) -> tuple[str, str] | None:
    """The months a preset with a fixed period covers (local time); None for ``latest`` or
    from/to given otherwise."""
    from api.services.products import parse_period

    period = preset["parameters"].get("period")
    if not period or period == "latest":
        return None
    try:
        found = parse_period(period, store.timezone, field="period")
    except InvalidInput:
        return None
    return _interval(found.start, found.end, store.timezone)


def _preset_description(preset: dict[str, Any]) -> str:
    """A saved preset's collection described in words: its name and parameters."""
    words = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in
                      sorted(preset["parameters"].items()))
    return (f"The ranked hotspots of the saved preset {preset['name']} ({words}), as "
            "GET /v1/hotspots computes them; period latest follows new data.")


def collection_for(request: Request, store: Store, taxonomy: Taxonomy,
                   collection_id: str) -> Collection:
    """The collection ``collection_id`` if the caller may read it; 404 naming
    ``collectionId`` otherwise (a collection the caller may not read is not said to exist)."""
    for c in collections_for(request, store, taxonomy):
        if c.id == collection_id:
            return c
    raise NotFound(f"no collection {clipped(collection_id, 80)!r}; GET /ogc/collections lists "
                   "those you may read", field="collectionId")


# --- the features of each collection ---------------------------------------------------------

def _epoch(values: Any, *, end: bool = False) -> np.ndarray:
    """Dates or months (text) as seconds since the epoch UTC; ``end``: the last second of the
    day or month named. Missing values: the open end."""
    out = np.full(len(values), np.iinfo(np.int64).max if end else np.iinfo(np.int64).min,
                  dtype=np.int64)
    for i, v in enumerate(values):
        if not isinstance(v, str) or not v:
            continue
        try:
            t = pd.Timestamp(v)
        except ValueError:
            continue
        if t.tzinfo is None:
            t = t.tz_localize("UTC")
        if end:
            t = t + (pd.offsets.MonthBegin(1) if len(v) == 7 else pd.Timedelta(days=1))
            out[i] = int(t.timestamp()) - 1
        else:
            out[i] = int(t.timestamp())
    return out


def _hotspot_frame(table: gpd.GeoDataFrame, taxonomy: Taxonomy) -> gpd.GeoDataFrame:
    from api.services.hotspot_results import CSV_COLUMNS

    cols = [c for c in CSV_COLUMNS if c in table.columns]
    frame = gpd.GeoDataFrame(table[cols].copy(), geometry=table.geometry.values, crs=table.crs)
    frame = frame.sort_values("rank", kind="stable").reset_index(drop=True)
    priority_of = {c.key: c.priority for c in taxonomy.categories.values()}
    frame["category"] = frame.get("top_category", None)
    frame["priority"] = [priority_of.get(str(c)) for c in frame["category"]]
    frame["class"] = frame["context_class"]
    last = frame["last_date"] if "last_date" in frame else pd.Series([None] * len(frame))
    frame["month"] = [str(v)[:7] if isinstance(v, str) and v else None for v in last]
    frame["_t0"] = _epoch(list(frame.get("first_date", last)))
    frame["_t1"] = _epoch(list(last), end=True)
    frame["id"] = frame["id"].astype(str)
    return frame


def _products_frame(store: Store) -> gpd.GeoDataFrame:
    rows: list[dict[str, Any]] = []
    shapes: list[Any] = []
    for listing in store.list_products(KIND):
        found = store.product(KIND, listing["period"])
        if found is None:
            continue
        document = json.loads(found[1])
        for group, features in document["hotspots"].items():
            for f in features:
                p = f["properties"]
                row = {c: p.get(c) for c in HOTSPOT_COLUMNS}
                row["id"] = f"{document['period']}.{group}.{p['rank']}"
                row["category"] = p.get("top_category")
                row["class"] = p.get("context_class")
                row["month"] = p.get("last_month")
                row["_t0"] = int(listing["period_start"])
                row["_t1"] = int(listing["period_end"]) - 1
                rows.append(row)
                shapes.append(shape(f["geometry"]))
    columns = [*HOTSPOT_COLUMNS, "category", "class", "month", "_t0", "_t1"]
    frame = pd.DataFrame(rows, columns=columns) if rows else pd.DataFrame(columns=columns)
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(shapes, crs="EPSG:4326"),
                            crs="EPSG:4326")


def _plan_frame(request: Request, store: Store, plan_id: str, part: str) -> gpd.GeoDataFrame:
    from api.services.stored_plans import plan_document, stored_plan
    from maps.plan_pages import plan_feature_collection

    document = plan_document(stored_plan(store, plan_id, request))
    features = plan_feature_collection(document)["features"]
    wanted = ("route",) if part == "routes" else ("stop", "base")
    chosen = [f for f in features if f["properties"].get("kind") in wanted]
    rows = [{k: (json.dumps(v) if isinstance(v, (dict, list)) else v)
             for k, v in f["properties"].items()} for f in chosen]
    frame = pd.DataFrame(rows)
    for q in _plan_queryables(part):
        if q.type != "geometry" and q.name not in frame:
            frame[q.name] = None
    if part == "routes":
        frame["id"] = [str(r) for r in frame["route"]]
    else:
        frame["id"] = [f"{r}.{i + 1}" for i, r in enumerate(frame["route"])]
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(
        [shape(f["geometry"]) for f in chosen], crs="EPSG:4326"), crs="EPSG:4326")


def _layer_frame(store: Store, kind: str) -> gpd.GeoDataFrame:
    layer = store.get_layer(kind)
    if layer is None:
        raise NotFound(f"no layer {kind}", field="collectionId")
    frame = layer.frame.reset_index(drop=True).copy()
    frame["id"] = [f"{kind}.{i + 1}" for i in range(len(frame))]
    return frame


def _incident_frame(store: Store, taxonomy: Taxonomy, bbox: Any,
                    interval: tuple[int, int] | None) -> gpd.GeoDataFrame:
    from geodata.schema import IncidentFilter

    start = end = None
    if interval is not None:
        lo, hi = interval
        start = None if lo == np.iinfo(np.int64).min else lo
        end = None if hi == np.iinfo(np.int64).max else hi + 1
    # narrowed by the box's longitudes and latitudes (the store's exact test: a box turned
    # into the force CRS by its corners would miss the edges British National Grid bends)
    lonlat: tuple[float, float, float, float] | None = None
    if bbox is not None:
        w, s, e, n = (float(v) for v in bbox.bounds)
        lonlat = (w, s, e, n)
    flt = IncidentFilter(start=start, end=end, lonlat_bbox=lonlat)
    cols = store.incidents(flt, extra=_INCIDENT_TEXT)
    order = np.argsort(np.asarray(cols.rid), kind="stable")
    priority_of = {c.key: c.priority for c in taxonomy.categories.values()}
    categories = pd.Categorical(cols.category)
    codes = np.asarray(categories.codes)[order]
    names = np.array([*(str(x) for x in categories.categories), None], dtype=object)
    priorities = np.array([*(priority_of.get(str(x)) for x in categories.categories), None],
                          dtype=object)
    when = pd.DatetimeIndex(pd.to_datetime(np.asarray(cols.occurred_at)[order], unit="s",
                                           utc=True)).tz_convert(store.timezone)
    frame = pd.DataFrame({
        "id": np.asarray(cols.rid)[order].astype(str),
        "occurred_at": when,
        "category": names[codes],
        "priority": priorities[codes],
        "month": np.asarray(when.strftime("%Y-%m"), dtype=object),
        **{c: np.asarray(cols.extra[c], dtype=object)[order] for c in _INCIDENT_TEXT},
        "weight": np.asarray(cols.weight, dtype=np.float64)[order],
        "_t0": np.asarray(cols.occurred_at, dtype=np.int64)[order],
    })
    frame["_t1"] = frame["_t0"]
    points = shapely.points(np.asarray(cols.x)[order], np.asarray(cols.y)[order])
    return gpd.GeoDataFrame(frame, geometry=points, crs=store.crs)


async def features_of(request: Request, store: Store, taxonomy: Taxonomy, c: Collection, *,
                      bbox: Any = None, interval: tuple[int, int] | None = None) -> Features:
    """The features of collection ``c`` (``bbox`` a CRS84 shape and ``interval`` may narrow
    the incidents read; the caller filters every collection by them anyway)."""
    from api.services.presets import preset_hotspots, stored_preset

    cid = c.id
    if cid.startswith(HOTSPOTS):
        preset = await run_in_threadpool(stored_preset, store, cid[len(HOTSPOTS):])
        computed, version = await preset_hotspots(request, store, taxonomy, preset)
        frame = await run_in_threadpool(_hotspot_frame, computed.table, taxonomy)
        return Features(frame, _properties(frame), version)
    cache = request.app.state.cache
    if cid == PRODUCTS:
        # one frame per set of published products (a GIS pages through it request by request)
        listing = await run_in_threadpool(store.list_products, KIND)
        key: tuple[Any, ...] = ("ogc", PRODUCTS,
                                 tuple((p["period"], str(p.get("created_at"))) for p in listing))
        frame = await cache.get(key, lambda: _products_frame(store))
        return Features(frame, _properties(frame))
    if cid == INCIDENTS:
        # one frame per data version and narrowing: a client paging with the same bbox and
        # datetime reads the store once, not once a page
        version = await run_in_threadpool(store.data_version)
        area = None if bbox is None else shapely.to_wkb(bbox, hex=True)
        key = ("ogc", INCIDENTS, version, area, interval)
        frame = await cache.get(key, lambda: _incident_frame(store, taxonomy, bbox, interval))
        return Features(frame, _properties(frame), version)
    if cid.startswith(LAYER):
        frame = await run_in_threadpool(_layer_frame, store, cid[len(LAYER):])
        return Features(frame, _properties(frame))
    match = _PLAN_ID.match(cid)
    if match is None:
        raise NotFound(f"no collection {clipped(cid, 80)!r}", field="collectionId")
    frame = await run_in_threadpool(_plan_frame, request, store, match.group(1), match.group(2))
    return Features(frame, _properties(frame))


def _properties(frame: gpd.GeoDataFrame) -> tuple[str, ...]:
    return tuple(c for c in frame.columns
                 if isinstance(c, str) and c not in ("id", "_t0", "_t1")
                 and c != frame.geometry.name)


# --- query parameters ------------------------------------------------------------------------

def crs_uri(value: str | None, field_name: str) -> str:
    """The supported CRS URI ``value`` names (CRS84 when None); 422 naming ``field_name``."""
    if value is None:
        return CRS84
    text = value.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    short = {"ogc:crs84": CRS84, "crs84": CRS84, "epsg:27700": BNG}
    text = short.get(text.lower(), text)
    if text.startswith("https://"):
        text = "http://" + text[len("https://"):]
    if text not in SUPPORTED_CRS:
        raise InvalidInput(f"{field_name} must be one of {', '.join(SUPPORTED_CRS)}, not "
                           f"{clipped(value, 80)!r}", field=field_name)
    return text


def storage_crs(store: Store) -> str:
    """The URI of the store's CRS (EPSG:27700 for a British force)."""
    code = str(store.crs).upper()
    return EPSG_URI + code.split(":", 1)[1] if code.startswith("EPSG:") else str(store.crs)


def parse_bbox(text: str, crs: str) -> Any:
    """``minx,miny,maxx,maxy`` (or six numbers with heights, which are ignored) in ``crs`` as
    a CRS84 polygon; 422 naming ``bbox``."""
    parts = text.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise InvalidInput("bbox is four numbers: minx,miny,maxx,maxy", field="bbox") from None
    if len(values) == 6:
        values = [values[0], values[1], values[3], values[4]]
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise InvalidInput("bbox is four numbers: minx,miny,maxx,maxy", field="bbox")
    minx, miny, maxx, maxy = values
    if crs == CRS84:
        if not (-180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= maxy <= 90):
            raise InvalidInput("a CRS84 bbox is longitudes in -180..180 and latitudes in "
                               "-90..90 (min before max)", field="bbox")
        if minx > maxx:
            raise InvalidInput("a bbox across the antimeridian is not supported", field="bbox")
    elif not (minx <= maxx and miny <= maxy):
        raise InvalidInput("bbox min must not exceed max", field="bbox")
    elif max(abs(v) for v in values) > PROJECTED_LIMIT_M:
        raise InvalidInput(f"a bbox in {crs} is metres within {PROJECTED_LIMIT_M:,.0f} of the "
                           "grid's origin", field="bbox")
    box = shapely.box(minx, miny, maxx, maxy)
    if crs == CRS84:
        return box
    out = gpd.GeoSeries([box], crs=_PYPROJ[crs]).to_crs("OGC:CRS84").iloc[0]
    if out.is_empty or not np.isfinite(out.bounds).all():
        raise InvalidInput(f"the bbox lies outside the area {crs} can describe", field="bbox")
    return out


_OPEN = ("", "..")


def _instant(text: str, *, end: bool) -> int:
    stripped = text.strip()
    try:
        t = pd.Timestamp(stripped)
    except (ValueError, OverflowError):
        raise InvalidInput(f"datetime {clipped(text, 40)!r} is not an RFC 3339 date or "
                           "date-time", field="datetime") from None
    if t is pd.NaT or not re.match(r"^\d{4}-\d{2}-\d{2}", stripped):
        raise InvalidInput("datetime is an RFC 3339 date-time, a date, or an interval a/b "
                           "('..' open)", field="datetime")
    if t.tzinfo is None:
        t = t.tz_localize("UTC")
    date_only = len(stripped) == 10
    if end and date_only:
        return int((t + pd.Timedelta(days=1)).timestamp()) - 1
    return int(t.timestamp())


def parse_datetime(text: str) -> tuple[int, int]:
    """``datetime`` as an inclusive span of seconds since the epoch UTC: an instant (a date is
    the whole day) or an interval ``a/b`` (``..`` or empty: open); 422 naming ``datetime``."""
    lo, hi = np.iinfo(np.int64).min, np.iinfo(np.int64).max
    if "/" in text:
        a, _, b = text.partition("/")
        if a.strip() in _OPEN and b.strip() in _OPEN:
            raise InvalidInput("a datetime interval needs at least one end", field="datetime")
        start = lo if a.strip() in _OPEN else _instant(a, end=False)
        stop = hi if b.strip() in _OPEN else _instant(b, end=True)
        if start > stop:
            raise InvalidInput("the datetime interval ends before it starts", field="datetime")
        return int(start), int(stop)
    return _instant(text, end=False), _instant(text, end=True)


@dataclass
class ItemQuery:
    """The checked parameters of an ``/items`` request."""

    limit: int
    offset: int
    crs: str
    bbox: Any = None
    interval: tuple[int, int] | None = None
    filter: str | None = None
    filter_lang: str = "cql2-text"
    filter_crs: str | None = None
    equals: dict[str, str] = field(default_factory=dict)


def item_query(request: Request, c: Collection, *, limit: int, offset: int, crs: str | None,
               bbox: str | None, bbox_crs: str | None, datetime_: str | None,
               filter_: str | None, filter_lang: str | None, filter_crs: str | None,
               max_limit: int) -> ItemQuery:
    """The ``/items`` parameters checked; 422 naming the first bad one (an unknown parameter
    too: a queryable may be given as a parameter, anything else is refused)."""
    names = {q.name for q in c.queryables if q.type != "geometry"}
    equals: dict[str, str] = {}
    for key in request.query_params:
        if key in ITEM_PARAMETERS:
            continue
        if key in names:
            equals[key] = request.query_params[key]
            continue
        raise InvalidInput(f"unknown parameter {clipped(key, 40)!r}; /items takes "
                           f"{', '.join(sorted(ITEM_PARAMETERS))} and the collection's "
                           "queryables", field=clipped(key, 40))
    if limit > max_limit:
        limit = max_limit  # OGC: a limit over the maximum is served as the maximum
    out_crs = crs_uri(crs, "crs")
    box_crs = crs_uri(bbox_crs, "bbox-crs")
    box = parse_bbox(bbox, box_crs) if bbox is not None else None
    interval = parse_datetime(datetime_) if datetime_ is not None else None
    lang = "cql2-text" if filter_lang is None else filter_lang
    from api.services.ogc_filter import FILTER_LANGS, filter_crs_uri

    if lang not in (*FILTER_LANGS, "cql-text"):  # cql-text: the older draft's name
        raise InvalidInput("filter-lang must be cql2-text or cql2-json", field="filter-lang")
    if filter_crs is not None:
        filter_crs_uri(filter_crs)
    return ItemQuery(limit=limit, offset=offset, crs=out_crs, bbox=box, interval=interval,
                     filter=filter_, filter_lang=lang, filter_crs=filter_crs, equals=equals)


# --- answering -------------------------------------------------------------------------------

def select(features: Features, c: Collection, q: ItemQuery) -> gpd.GeoDataFrame:
    """The features matching ``q``'s bbox, datetime, equalities and filter, in order."""
    from api.services.ogc_filter import compile_filter

    frame = features.frame
    keep = np.ones(len(frame), dtype=bool)
    if q.filter is not None:  # parse errors first: a bad filter is refused even on no data
        compiled = compile_filter(q.filter, c.queryables, lang=q.filter_lang,
                                  filter_crs=q.filter_crs)
    if q.bbox is not None and len(frame):
        area = box_in(q.bbox, frame.crs)
        keep &= (np.asarray(frame.geometry.intersects(area), dtype=bool) if area is not None
                 else False)
    if q.interval is not None and "_t0" in frame and len(frame):
        lo, hi = q.interval
        keep &= (frame["_t0"].to_numpy() <= hi) & (frame["_t1"].to_numpy() >= lo)
    types = {x.name: x.type for x in c.queryables}
    for name, text in q.equals.items():
        values = frame[name] if name in frame else pd.Series([None] * len(frame))
        if types.get(name) in ("integer", "number"):
            try:
                wanted: Any = float(text)
            except ValueError:
                raise InvalidInput(f"{name} is a number", field=name) from None
            keep &= np.asarray(pd.to_numeric(values, errors="coerce") == wanted, dtype=bool)
        else:
            keep &= np.asarray(values.astype(object) == text, dtype=bool)
    if q.filter is not None and len(frame):
        columns = [x.name for x in c.queryables if x.type != "geometry"]
        view = frame.loc[:, [*columns, frame.geometry.name]]
        keep &= np.asarray(compiled.mask(view), dtype=bool)
    return frame.loc[keep]


def box_in(box: Any, crs: Any) -> Any:
    """A CRS84 shape (a bbox) in ``crs``, its edges densified first (a projected CRS bends
    lines of longitude and latitude: a box moved by its corners alone misses points near its
    edges) and clipped to the CRS's area of use (beyond it the projection diverges); None when
    nothing of it lies there."""
    from geodata.coords import area_of_use

    target = CRS.from_user_input(crs)
    if target.is_geographic:
        return box
    use = area_of_use(target.to_string())
    if use is not None:
        box = shapely.intersection(box, shapely.box(*use))
        if box.is_empty:
            return None
    w, s, e, n = box.bounds
    box = shapely.segmentize(box, max(e - w, n - s, 1e-9) / 64)
    return gpd.GeoSeries([box], crs="OGC:CRS84").to_crs(target).iloc[0]


def _round(geoms: np.ndarray, decimals: int) -> np.ndarray:
    return shapely.transform(geoms, lambda xy: np.round(xy, decimals))


def _json_value(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return None if not math.isfinite(float(v)) else float(v)
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, np.ndarray):
        return [_json_value(x) for x in v.tolist()]
    if isinstance(v, (list, tuple)):
        return [_json_value(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _json_value(x) for k, x in v.items()}
    if isinstance(v, (pd.Timestamp, datetime)):
        return v.isoformat()
    if v is pd.NA or v is pd.NaT:
        return None
    return v


def feature_dicts(frame: gpd.GeoDataFrame, properties: Sequence[str],
                  crs: str) -> list[dict[str, Any]]:
    """GeoJSON features of ``frame`` in ``crs`` (coordinates rounded to about 1 cm)."""
    if not len(frame):
        return []
    out_frame = frame.to_crs(_PYPROJ[crs])
    geoms = _round(np.asarray(out_frame.geometry.values, dtype=object), _DECIMALS[crs])
    cols = [p for p in properties if p in frame.columns]
    records = frame[cols].to_dict("records") if cols else [{}] * len(frame)
    ids = frame["id"].tolist()
    return [{"type": "Feature", "id": fid,
             "geometry": None if g is None or g.is_empty else mapping(g),
             "properties": {k: _json_value(v) for k, v in rec.items()}}
            for fid, g, rec in zip(ids, geoms, records, strict=True)]


def now_stamp() -> str:
    """The time of an answer, RFC 3339 UTC to the second."""
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def items_document(request: Request, c: Collection, matched: gpd.GeoDataFrame,
                   properties: Sequence[str], q: ItemQuery) -> dict[str, Any]:
    """One page of ``matched`` as a GeoJSON FeatureCollection with numberMatched,
    numberReturned and self/next/prev/collection links."""
    total = len(matched)
    page = matched.iloc[q.offset:q.offset + q.limit]
    url = request.url
    links = [
        {"rel": "self", "type": GEOJSON, "title": "This page", "href": str(url)},
        {"rel": "collection", "type": "application/json", "title": c.title,
         "href": str(request.url_for("ogc_collection", collection_id=c.id))},
    ]
    if q.offset + len(page) < total:
        links.append({"rel": "next", "type": GEOJSON, "title": "Next page",
                      "href": str(url.include_query_params(offset=q.offset + q.limit,
                                                           limit=q.limit))})
    if q.offset > 0:
        links.append({"rel": "prev", "type": GEOJSON, "title": "Previous page",
                      "href": str(url.include_query_params(offset=max(q.offset - q.limit, 0),
                                                           limit=q.limit))})
    return {"type": "FeatureCollection",
            "features": feature_dicts(page, properties, q.crs),
            "numberMatched": total, "numberReturned": len(page), "timeStamp": now_stamp(),
            "links": links}


def force_extent(store: Store) -> list[float] | None:
    """The force area's extent in CRS84 (the boundary layer's, else every layer's), rounded
    outwards to 1e-4 degrees; None when no layer is stored."""
    listed = [(info.kind, info.info.get("bounds")) for info in store.list_layers()]
    boxes = [b for kind, b in listed if b and kind == "force_boundary"]
    if not boxes:
        boxes = [b for _kind, b in listed if b]
    if not boxes:
        return None
    arr = np.asarray(boxes, dtype=np.float64)
    return _rounded_out((arr[:, 0].min(), arr[:, 1].min(), arr[:, 2].max(), arr[:, 3].max()),
                        store.crs)


def _rounded_out(bounds: Sequence[float], crs: str) -> list[float]:
    """``bounds`` (minx, miny, maxx, maxy in ``crs``) in CRS84, rounded outwards to 1e-4
    degrees."""
    box = shapely.box(*bounds)
    w, s, e, n = gpd.GeoSeries([box], crs=crs).to_crs("OGC:CRS84").total_bounds
    return [math.floor(w * 1e4) / 1e4, math.floor(s * 1e4) / 1e4,
            math.ceil(e * 1e4) / 1e4, math.ceil(n * 1e4) / 1e4]


def collection_document(request: Request, c: Collection, *, extent: list[float] | None,
                        storage: str, store_crs: str | None = None) -> dict[str, Any]:
    """A collection's description (OGC API Features Part 1 and 2)."""
    doc: dict[str, Any] = {
        "id": c.id, "title": c.title, "description": c.description, "itemType": "feature",
        "crs": list(SUPPORTED_CRS), "storageCrs": storage,
        "links": [
            {"rel": "self", "type": "application/json", "title": c.title,
             "href": str(request.url_for("ogc_collection", collection_id=c.id))},
            {"rel": "items", "type": GEOJSON, "title": "Features",
             "href": str(request.url_for("ogc_items", collection_id=c.id))},
            {"rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables",
             "type": "application/schema+json", "title": "Queryables",
             "href": str(request.url_for("ogc_queryables", collection_id=c.id))},
        ],
    }
    if not c.id.startswith(LAYER):  # made from incidents: data.police.uk's terms travel
        doc["attribution"] = ATTRIBUTION
        doc["links"].append({"rel": "license", "type": "text/html",
                             "title": "Open Government Licence v3.0", "href": OGL_URL})
    if c.bounds is not None and store_crs is not None:
        extent = _rounded_out(c.bounds, store_crs)
    if extent is not None:
        doc["extent"] = {"spatial": {"bbox": [extent], "crs": CRS84}}
    if c.interval is not None:
        doc.setdefault("extent", {})["temporal"] = {
            "interval": [list(c.interval)],
            "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
    return doc



def content_crs(crs: str) -> dict[str, str]:
    """The ``Content-Crs`` header of an answer in ``crs``."""
    return {"Content-Crs": f"<{crs}>"}


# --- OpenAPI 3.0 for the service description -------------------------------------------------

def openapi_30(schema: dict[str, Any], *, prefix: str = "/ogc") -> dict[str, Any]:
    """The app's OpenAPI 3.1 document (FastAPI's) as OpenAPI 3.0.3, with the ``prefix`` paths
    only (what GDAL and QGIS read as the service description): ``anyOf`` with ``null`` becomes
    ``nullable``, ``examples`` lists become ``example``, numeric ``exclusiveMinimum`` and
    ``exclusiveMaximum`` become booleans, ``const`` becomes a one-value ``enum``."""
    doc = json.loads(json.dumps(schema))
    doc["openapi"] = "3.0.3"
    doc.pop("webhooks", None)
    doc.pop("jsonSchemaDialect", None)
    doc["paths"] = {p: v for p, v in doc.get("paths", {}).items()
                    if p == prefix or p.startswith(prefix + "/")}
    out: dict[str, Any] = _downgrade(doc)
    return out


def _downgrade(node: Any) -> Any:
    if isinstance(node, list):
        return [_downgrade(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: _downgrade(v) for k, v in node.items()}
    for key in ("anyOf", "oneOf"):
        options = out.get(key)
        if isinstance(options, list) and any(o == {"type": "null"} for o in options):
            rest = [o for o in options if o != {"type": "null"}]
            out.pop(key)
            if len(rest) == 1:
                out.update(rest[0])
            else:
                out[key] = rest
            out["nullable"] = True
    kind = out.get("type")
    if isinstance(kind, list):
        kinds = [t for t in kind if t != "null"]
        if len(kinds) < len(kind):
            out["nullable"] = True
        out["type"] = kinds[0] if len(kinds) == 1 else "string"
    if "examples" in out and isinstance(out["examples"], list) and "in" not in out:
        examples = out.pop("examples")
        if examples:
            out["example"] = examples[0]
    for key, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        value = out.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out[bound] = value
            out[key] = True
    if "const" in out:
        out["enum"] = [out.pop("const")]
    for drop in ("$schema", "contentMediaType", "contentEncoding", "prefixItems",
                 "unevaluatedProperties", "dependentSchemas", "propertyNames"):
        out.pop(drop, None)
    return out
