"""``hotspot export``: the hotspots of a selection, the reference layers and patrol plans in one
GeoPackage for QGIS (every layer in the store's CRS, EPSG:27700 British National Grid by
default), or the hotspots as CSV with British National Grid and WGS84 columns; and the
``--out`` files of ``hotspot analyse`` in those formats."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from api.cli.common import DatabaseOpt, JsonOpt, fail, load_settings, out, refusals
from api.cli.query import (
    CategoryOpt,
    FromOpt,
    MethodOpt,
    PriorityOpt,
    ToOpt,
    find_hotspots,
    method_options,
    open_with_taxonomy,
    selection_of,
)
from hotspot.params import DEFAULT_METHOD

SUFFIXES = (".gpkg", ".csv")


def write_hotspots(path: Path, result: Any, metadata: dict[str, Any], *, crs: str,
                   extra: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Write a hotspot result to ``path``: a GeoPackage (``.gpkg``: the ``hotspots`` and
    ``hotspot_areas`` layers, any ``extra`` layers, the ``about`` table) or CSV (``.csv``, with
    ``<path>.about.txt`` beside it); the layers (or the one table) written."""
    from api.services.exports import (
        HOTSPOT_TYPES,
        PLAN_TYPES,
        hotspot_csv,
        hotspot_layers,
        write_bundle,
        write_csv_with_about,
    )

    about = {"data_version": metadata.get("data_version"), "selection": metadata.get("selection"),
             "method": result.method, "parameters": result.parameters}
    if path.suffix.lower() == ".csv":
        write_csv_with_about(path, hotspot_csv(result.hotspots, crs=crs),
                             f"Hotspots ({result.method}), one row a place, from data version "
                             f"{metadata.get('data_version')}.", about)
        return [{"name": path.name, "features": len(result.hotspots), "geometry_type": None}]
    layers = {**hotspot_layers(result.hotspots), **(extra or {})}
    return write_bundle(path, layers, crs=crs, about=about,
                        geometry_types={**HOTSPOT_TYPES, **PLAN_TYPES})


def _plans(store: Any, plan_ids: list[str]) -> dict[str, Any]:
    """The layers of the stored plans ``plan_ids`` (each plan's features in the same three
    layers, told apart by ``plan_id``)."""
    import geopandas as gpd
    import pandas as pd

    from api.services.exports import plan_layers
    from api.services.stored_plans import plan_document, stored_plan
    from maps.plan_pages import plan_feature_collection

    parts: dict[str, list[Any]] = {}
    for plan_id in plan_ids:
        document = plan_document(stored_plan(store, plan_id))
        for name, frame in plan_layers(document, plan_feature_collection(document)).items():
            parts.setdefault(name, []).append(frame)
    return {name: gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs)
            for name, frames in parts.items()}


@method_options
def export(
    out_file: Annotated[Path, typer.Option(
        "--out", help="The file to write: .gpkg (a GeoPackage: hotspots, the areas they were "
        "split from, reference layers, plans) or .csv (the hotspots, with x, y in the store's "
        "CRS and lon, lat in WGS84).")],
    database: DatabaseOpt = None,
    method: MethodOpt = DEFAULT_METHOD,
    priority: PriorityOpt = None,
    category: CategoryOpt = None,
    from_: FromOpt = None,
    to: ToOpt = None,
    layers: Annotated[bool, typer.Option(
        "--layers/--no-layers", help="Add the store's reference layers (force boundary, town "
        "centres, built-up areas, heritage sites, patrol bases, roads, the rural-urban lookup) "
        "to a GeoPackage.")] = True,
    plan: Annotated[list[str] | None, typer.Option(
        help="Add a stored patrol plan's routes, stops and hotspots left out (repeat).")] = None,
    as_json: JsonOpt = False,
    method_parameters: dict[str, Any] | None = None,
) -> None:
    """Export hotspots (and reference layers and patrol plans) for QGIS: a GeoPackage whose
    layers are in the store's CRS (EPSG:27700 British National Grid by default), or CSV with
    x, y (store CRS metres) and lon, lat (WGS84) columns. The attribution of data.police.uk
    data is in every layer's description and the ``about`` table (a CSV: in FILE.about.txt)."""
    from api.services.exports import reference_layers
    from api.services.hotspots import AnalysisOptions
    from geodata.harm import HarmTable

    suffix = out_file.suffix.lower()
    if suffix not in SUFFIXES:
        raise fail(f"--out must end in {' or '.join(SUFFIXES)}, not {out_file.name!r}",
                   as_json, 2)
    if suffix == ".csv" and plan:
        raise fail("--plan needs a .gpkg file (a CSV holds the hotspots only)", as_json, 2)
    settings = load_settings()
    url = database or settings.store_url()
    with refusals(as_json):
        store, taxonomy = open_with_taxonomy(url, settings)
        selection = selection_of(store, from_, to, category, priority, as_json)
        options = AnalysisOptions(parameters=dict(method_parameters or {}),
                                  harm=HarmTable.load(settings.harm_table))
        result, metadata = find_hotspots(store, taxonomy, settings, method, selection, options,
                                         as_json)
        extra: dict[str, Any] = {}
        if suffix == ".gpkg":
            if layers:
                extra.update(reference_layers(store))
            if plan:
                extra.update(_plans(store, plan))
        written = write_hotspots(out_file, result, metadata, crs=store.crs, extra=extra)
    if as_json:
        print(json.dumps({"out": str(out_file), "crs": store.crs, "layers": written,
                          "data_version": metadata["data_version"]}))
        return
    out.print(f"Wrote {out_file} ({store.crs}):", markup=False)
    for w in written:
        kind = w["geometry_type"] or "table"
        out.print(f"  {w['name']}: {w['features']:,} ({kind})", markup=False)
    if suffix == ".csv":
        out.print(f"  attribution in {out_file.name}.about.txt", markup=False)
