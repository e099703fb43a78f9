"""Reference layers stored with the incidents."""

from __future__ import annotations

import json
from typing import Any, Literal

import geopandas as gpd
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import StoreDep
from api.schemas import LayerOut
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
    responses={200: {"content": {"application/geo+json": {}}},
               404: {"description": "No layer of that kind is loaded."}},
)
def get_layer(kind: LayerKind, store: StoreDep) -> JSONResponse:
    """A layer as GeoJSON (WGS84 longitude/latitude); the rural-urban lookup as JSON rows."""
    layer = store.get_layer(kind)
    if layer is None:
        return JSONResponse(
            {"detail": f"no {kind} layer is loaded; add one with: hotspot layers add {kind} FILE",
             "error": "not_found"},
            status_code=404,
        )
    frame = layer.frame
    if not isinstance(frame, gpd.GeoDataFrame):
        rows = json.loads(frame.to_json(orient="records"))
        return JSONResponse({"kind": kind, "source": layer.source, "rows": rows})
    data = json.loads(frame.to_crs(WGS84).to_json(drop_id=True, to_wgs84=False))
    data.pop("crs", None)
    data["kind"] = kind
    data["source"] = layer.source
    return JSONResponse(data, media_type="application/geo+json")
