"""Reference layers stored with the incidents."""

from __future__ import annotations

import json
from typing import Any, Literal

import geopandas as gpd
from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from api.deps import StoreDep
from api.schemas import LayerOut
from api.services.exports import GPKG_MEDIA_TYPE, gpkg_response_headers, layer_csv, layer_gpkg
from geodata.coords import WGS84

router = APIRouter(prefix="/v1", tags=["layers"])

LayerKind = Literal[
    "force_boundary", "town_centres", "built_up_areas", "rural_urban_lookup", "heritage_sites",
    "patrol_bases", "roads",
]


@router.get("/layers", response_model=list[LayerOut])
def list_layers(store: StoreDep) -> list[dict[str, Any]]:
    """The reference layers in the store, with their sources and feature counts."""
    return [info.to_dict() for info in store.list_layers()]


@router.get(
    "/layers/{kind}",
    responses={200: {"content": {"application/geo+json": {}, "text/csv": {},
                                 GPKG_MEDIA_TYPE: {}}},
               404: {"description": "No layer of that kind is loaded."}},
)
def get_layer(
    kind: LayerKind, store: StoreDep,
    format: Literal["geojson", "gpkg", "csv"] = Query(
        "geojson", description="geojson (WGS84; the rural-urban lookup as JSON rows); gpkg: a "
        "GeoPackage in the store's CRS (EPSG:27700 British National Grid by default); csv: "
        "the attributes with x, y (store CRS metres) and lon, lat (WGS84) of a point of each "
        "feature (inside an area, on a line)."),
) -> Response:
    """A layer as GeoJSON (WGS84 longitude/latitude); the rural-urban lookup as JSON rows; or
    a download: ``format=gpkg`` (a GeoPackage, the attribution in each layer's description
    and its ``about`` table) or ``format=csv`` (the attribution in the ``X-Attribution``
    header)."""
    layer = store.get_layer(kind)
    if layer is None:
        return JSONResponse(
            {"detail": f"no {kind} layer is loaded; add one with: hotspot layers add {kind} FILE",
             "error": "not_found"},
            status_code=404,
        )
    if format == "gpkg":
        return Response(layer_gpkg(kind, layer, crs=store.crs), media_type=GPKG_MEDIA_TYPE,
                        headers=gpkg_response_headers(f"{kind}.gpkg"))
    if format == "csv":
        return Response(layer_csv(layer, crs=store.crs), media_type="text/csv; charset=utf-8",
                        headers=gpkg_response_headers(f"{kind}.csv"))
    frame = layer.frame
    if not isinstance(frame, gpd.GeoDataFrame):
        rows = json.loads(frame.to_json(orient="records"))
        return JSONResponse({"kind": kind, "source": layer.source, "rows": rows})
    data = json.loads(frame.to_crs(WGS84).to_json(drop_id=True, to_wgs84=False))
    data.pop("crs", None)
    data["kind"] = kind
    data["source"] = layer.source
    return JSONResponse(data, media_type="application/geo+json")
