"""Exports for a GIS desktop (QGIS): GeoPackages of hotspots (places and the areas they were
split from), reference layers and patrol plans, and CSV tables with British National Grid and
WGS84 columns; each carries the data.police.uk attribution.

Every GeoPackage layer is in the store's projected CRS (EPSG:27700 British National Grid
metres by default), its description holds :data:`api.formats.ATTRIBUTION`, and its ``about``
table says what the file holds (:func:`geodata.exports.write_geopackage`). A CSV download is
a plain table (the header line first, so QGIS and spreadsheets open it as it is): the
attribution travels in the response's ``X-Attribution`` and ``Link: rel="license"`` headers
(:func:`attribution_headers`), and beside a CSV written by the command line as
``<file>.about.txt`` (:func:`write_csv_with_about`), as a report's zip carries ``ABOUT.txt``.

Partners get nothing here but a published product's hotspots (the GeoJSON they may already
read, reprojected: :func:`partner_layers`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from api.formats import ATTRIBUTION, OGL_URL, csv_cell
from api.services.hotspot_results import CSV_COLUMNS
from geodata.coords import WGS84
from geodata.exports import csv_bytes, geopackage_bytes, with_coordinates, write_geopackage
from geodata.layers import ReferenceLayer

GPKG_MEDIA_TYPE = "application/geopackage+sqlite3"
"""The GeoPackage media type (OGC 12-128r18, registered with IANA)."""

HOTSPOT_LAYER_COLUMNS = CSV_COLUMNS
"""The hotspot table's columns kept in the ``hotspots`` layer (those of the CSV download: the
centroid in both CRSs among them)."""

REFERENCE_KINDS = ("force_boundary", "town_centres", "built_up_areas", "heritage_sites",
                   "patrol_bases", "roads", "rural_urban_lookup")
"""The reference layers an analyst loads beside the hotspots, in the order written."""


def attribution_headers() -> dict[str, str]:
    """The response headers that carry the data's attribution with a download (a CSV cannot
    hold it without breaking its readers)."""
    return {"X-Attribution": ATTRIBUTION, "Link": f'<{OGL_URL}>; rel="license"'}


def gpkg_response_headers(filename: str) -> dict[str, str]:
    """The headers of a GeoPackage or CSV download named ``filename``."""
    return {"Content-Disposition": f'attachment; filename="{filename}"',
            **attribution_headers()}


def _about(**lines: Any) -> dict[str, Any]:
    return {"generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "licence": OGL_URL, **{k: v for k, v in lines.items() if v is not None}}


def hotspot_layers(table: gpd.GeoDataFrame) -> dict[str, gpd.GeoDataFrame]:
    """The layers of a hotspot table (projected CRS): ``hotspots``, each place's polygon with
    its table columns (lists and dicts as JSON text), and ``hotspot_areas``, the areas the
    places were split from (dissolved by ``area_id``: places, incidents, the best rank)."""
    keep = [c for c in HOTSPOT_LAYER_COLUMNS if c in table.columns]
    places = gpd.GeoDataFrame(table[keep].reset_index(drop=True),
                              geometry=table.geometry.reset_index(drop=True).to_numpy(),
                              crs=table.crs)
    if len(table) and "area_id" in table.columns:
        grouped = table.groupby("area_id", sort=False)
        areas = gpd.GeoDataFrame({
            "area_id": list(grouped.groups),
            "places": grouped.size().to_numpy(),
            "incidents": grouped["incidents"].sum().to_numpy(),
            "best_rank": grouped["rank"].min().to_numpy(),
            "method": grouped["method"].first().to_numpy(),
        }, geometry=[shapely.union_all(g.geometry.to_numpy()) for _, g in grouped],
            crs=table.crs).sort_values("best_rank").reset_index(drop=True)
    else:
        areas = gpd.GeoDataFrame({"area_id": pd.Series([], dtype=object),
                                  "places": pd.Series([], dtype="int64"),
                                  "incidents": pd.Series([], dtype="int64"),
                                  "best_rank": pd.Series([], dtype="int64"),
                                  "method": pd.Series([], dtype=object)},
                                 geometry=gpd.GeoSeries([], crs=table.crs), crs=table.crs)
    return {"hotspots": places, "hotspot_areas": areas}


HOTSPOT_TYPES = {"hotspots": "MultiPolygon", "hotspot_areas": "MultiPolygon"}
"""The geometry types of the hotspot layers (also when empty): places may be split in parts."""


def hotspots_gpkg(table: gpd.GeoDataFrame, metadata: Mapping[str, Any], *, crs: str) -> bytes:
    """A computed hotspot table as a GeoPackage in ``crs`` (the store's, metres): the
    ``hotspots`` and ``hotspot_areas`` layers and the ``about`` table (selection, method and
    parameters, data version)."""
    about = _about(data_version=metadata.get("data_version"),
                   selection=metadata.get("selection"),
                   method=metadata.get("method"), parameters=metadata.get("parameters"),
                   crs_of_analysis=metadata.get("crs_of_analysis"))
    return geopackage_bytes(hotspot_layers(table), crs=crs, description=ATTRIBUTION,
                            about=about, geometry_types=HOTSPOT_TYPES)


def partner_layers(geojson: bytes) -> tuple[dict[str, gpd.GeoDataFrame], dict[str, Any]]:
    """The layers of a published product's hotspots (RFC 7946 GeoJSON of
    :func:`api.services.products.hotspots_geojson`, WGS84): ``hotspots`` only, with the
    product's metadata for the ``about`` table. Nothing is added to what the partner could
    read as GeoJSON."""
    body = json.loads(geojson)
    features = body.get("features") or []
    frame = gpd.GeoDataFrame.from_features(features, crs=WGS84) if features else \
        gpd.GeoDataFrame({"rank": pd.Series([], dtype="int64")},
                         geometry=gpd.GeoSeries([], crs=WGS84), crs=WGS84)
    return {"hotspots": frame}, dict(body.get("metadata") or {})


def partner_gpkg(geojson: bytes, *, crs: str) -> bytes:
    """A published product's hotspots (its GeoJSON as served to a partner) as a GeoPackage in
    ``crs`` (the force's, metres), with the product's metadata in ``about``."""
    layers, metadata = partner_layers(geojson)
    about = _about(product=metadata.get("product"), privacy=metadata.get("privacy"))
    return geopackage_bytes(layers, crs=crs, description=ATTRIBUTION, about=about,
                            geometry_types={"hotspots": "MultiPolygon"})


def layer_frames(kind: str, layer: ReferenceLayer) -> dict[str, pd.DataFrame]:
    """A stored reference layer as GeoPackage layers named after its kind (a table for the
    rural-urban lookup)."""
    return {kind: layer.frame}


def layer_gpkg(kind: str, layer: ReferenceLayer, *, crs: str) -> bytes:
    """One reference layer as a GeoPackage in ``crs`` (the store's, metres); heritage sites
    with both points and polygons become ``heritage_sites_points`` and
    ``heritage_sites_polygons``."""
    return geopackage_bytes(layer_frames(kind, layer), crs=crs, description=ATTRIBUTION,
                            about=_about(kind=kind, source=layer.source,
                                         added_at=layer.added_at or None),
                            descriptions=layer_descriptions({kind: layer.source}))


def layer_descriptions(sources: Mapping[str, str | None]) -> dict[str, str]:
    """Each reference layer's description in a GeoPackage (kind -> the file it was loaded
    from, if known): what it is and where it came from, not the incidents' attribution, under
    every name it may be written as."""
    out: dict[str, str] = {}
    for kind, source in sources.items():
        text = (f"Reference layer {kind.replace('_', ' ')}"
                + (f", loaded from {source}" if source else "")
                + ": the force's own file, under its own source and licence")
        for name in (kind, f"{kind}_points", f"{kind}_lines", f"{kind}_polygons"):
            out[name] = text
    return out


def layer_csv(layer: ReferenceLayer, *, crs: str) -> bytes:
    """One reference layer as CSV: its attributes with ``x``, ``y`` (metres in ``crs``) and
    ``lon``, ``lat`` (WGS84) of each feature's point (a point inside an area, on a line),
    cells safe from spreadsheet formulas; the rural-urban lookup (no geometry) as it is."""
    frame = layer.frame
    if isinstance(frame, gpd.GeoDataFrame):
        return csv_bytes(with_coordinates(frame, crs=crs), cell=csv_cell)
    return csv_bytes(pd.DataFrame(frame), cell=csv_cell)


def plan_layers(document: Mapping[str, Any], collection: Mapping[str, Any]
                ) -> dict[str, gpd.GeoDataFrame]:
    """A plan's layers from its RFC 7946 FeatureCollection
    (:func:`maps.plan_pages.plan_feature_collection`, WGS84): ``plan_routes``
    (MultiLineString per route), ``plan_stops`` (Point per stop and base, in route order) and
    ``plan_left_out`` (Point per hotspot left out, with the reason); every feature carries the
    plan's id."""
    by_kind: dict[str, list[dict[str, Any]]] = {"plan_routes": [], "plan_stops": [],
                                               "plan_left_out": []}
    for f in collection["features"]:
        kind = f["properties"].get("kind")
        name = ("plan_routes" if kind == "route" else "plan_left_out" if kind == "left_out"
                else "plan_stops")
        props = {"plan_id": document.get("plan_id"), **f["properties"]}
        by_kind[name].append({**f, "properties": props})
    out: dict[str, gpd.GeoDataFrame] = {}
    for name, features in by_kind.items():
        if features:
            out[name] = gpd.GeoDataFrame.from_features(features, crs=WGS84)
        else:
            out[name] = gpd.GeoDataFrame({"plan_id": pd.Series([], dtype=object)},
                                         geometry=gpd.GeoSeries([], crs=WGS84), crs=WGS84)
    return out


PLAN_TYPES = {"plan_routes": "MultiLineString", "plan_stops": "Point", "plan_left_out": "Point"}
"""The geometry types of a plan's layers (also when empty)."""


def plan_gpkg(document: Mapping[str, Any], collection: Mapping[str, Any], *, crs: str) -> bytes:
    """A patrol plan as a GeoPackage in ``crs`` (metres): routes, stops and hotspots left out
    (:func:`plan_layers`), with the shift and totals in ``about``."""
    about = _about(plan_id=document.get("plan_id"), name=document.get("name"),
                   shift=document.get("shift"), totals=document.get("totals"),
                   published=document.get("published"),
                   data_version=document.get("data_version"))
    return geopackage_bytes(plan_layers(document, collection), crs=crs,
                            description=ATTRIBUTION, about=about, geometry_types=PLAN_TYPES)


def reference_layers(store: Any, kinds: tuple[str, ...] = REFERENCE_KINDS
                     ) -> dict[str, pd.DataFrame]:
    """The store's reference layers of ``kinds`` that are loaded, by kind."""
    out: dict[str, pd.DataFrame] = {}
    for kind in kinds:
        layer = store.get_layer(kind)
        if layer is not None:
            out[kind] = layer.frame
    return out


def write_bundle(path: Path, layers: Mapping[str, pd.DataFrame], *, crs: str,
                 about: Mapping[str, Any], geometry_types: Mapping[str, str] | None = None
                 ) -> list[dict[str, Any]]:
    """Write ``layers`` to the GeoPackage ``path`` in ``crs`` with the attribution and
    ``about``; the layers written (name, features, geometry type)."""
    references = layer_descriptions(dict.fromkeys(k for k in layers if k in REFERENCE_KINDS))
    written = write_geopackage(path, layers, crs=crs, description=ATTRIBUTION,
                               about=_about(**about), geometry_types=geometry_types,
                               descriptions=references)
    return [w.to_dict() for w in written]


def hotspot_csv(table: gpd.GeoDataFrame, *, crs: str) -> bytes:
    """A hotspot table as CSV: the CSV columns of ``GET /v1/hotspots?format=csv`` with
    ``x``, ``y`` (metres in ``crs``) and ``lon``, ``lat`` (WGS84) of a point inside each
    place, and the shape as WKT in WGS84 (1e-6 degrees)."""
    keep = [c for c in CSV_COLUMNS if c in table.columns]
    frame = gpd.GeoDataFrame(table[keep].reset_index(drop=True),
                             geometry=table.geometry.reset_index(drop=True).to_numpy(),
                             crs=table.crs)
    rows = with_coordinates(frame, crs=crs)
    wgs = frame.geometry.to_crs(WGS84).to_numpy()
    rows["wkt_wgs84"] = shapely.to_wkt(shapely.set_precision(wgs, 1e-6)) if len(rows) else []
    return csv_bytes(rows, cell=csv_cell)


def about_text(what: str, lines: Mapping[str, Any] | None = None) -> str:
    """The companion text of a CSV written to a file: what it holds, its coordinate columns,
    the attribution."""
    out = [what, "", "x, y: metres in the projected CRS (EPSG:27700 British National Grid "
           "unless the store uses another); lon, lat: WGS84 degrees.", ""]
    for key, value in (lines or {}).items():
        out.append(f"{key}: {value if isinstance(value, str) else json.dumps(value)}")
    out += ["", ATTRIBUTION, f"Licence: {OGL_URL}"]
    return "\n".join(out) + "\n"


def write_csv_with_about(path: Path, body: bytes, what: str,
                         lines: Mapping[str, Any] | None = None) -> Path:
    """Write the CSV ``body`` to ``path`` and its companion ``<path>.about.txt`` (what it
    holds and the attribution); the companion's path."""
    path.write_bytes(body)
    about = path.with_name(path.name + ".about.txt")
    about.write_text(about_text(what, lines), "utf-8")
    return about
