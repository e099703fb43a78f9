"""``hotspot basemap``: register, show or forget the offline basemap (an MBTiles or PMTiles
file) that the maps draw instead of the online tiles."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from api.cli.common import JsonOpt, load_settings, out, refusals
from geodata.basemaps import open_basemap

basemap_app = typer.Typer(help="An offline basemap (MBTiles or PMTiles) drawn under the maps "
                          "instead of the online tiles.", no_args_is_help=True)


def _say_basemap(d: dict[str, Any], verb: str) -> None:
    kind = "vector" if d["vector"] else "image"
    size = f", {d['bytes'] / 1e6:,.2f} MB" if d.get("bytes") is not None else ""
    out.print(f"{verb} {d['path']}: {d['container']} {kind} tiles ({d['format']}), zoom "
              f"{d['minzoom']}-{d['maxzoom']}{size}", markup=False)
    if d.get("vector_layers"):
        out.print(f"  layers: {', '.join(d['vector_layers'])}", markup=False)


@basemap_app.command("add")
def basemap_add(
    file: Annotated[Path, typer.Argument(help="An .mbtiles or .pmtiles file of raster (PNG, "
                                         "JPEG, WebP) or vector (MVT) tiles.")],
    as_json: JsonOpt = False,
) -> None:
    """Check an offline basemap file and register it: the service serves its tiles at
    /tiles/{z}/{x}/{y} and the maps draw them instead of the online tiles (the file stays
    where it is; its path is kept in basemap.json in the data folder)."""
    from api.services.basemap import register, registration_path

    settings = load_settings()
    with refusals(as_json):
        basemap = register(settings, file)
    d = basemap.describe()
    if as_json:
        print(json.dumps({**d, "registered_in": str(registration_path(settings))}))
        return
    _say_basemap(d, "Registered")
    out.print(f"  recorded in {registration_path(settings)}: the maps draw it from their next load",
              markup=False)
    if settings.basemap_file is not None:
        out.print(f"  note: HOTSPOT_BASEMAP_FILE={settings.basemap_file} is set and wins over "
                  "this registration", markup=False)


@basemap_app.command("show")
def basemap_show(as_json: JsonOpt = False) -> None:
    """Say which offline basemap the service draws, if any."""
    from api.services.basemap import registered_file

    path = registered_file(load_settings())
    if path is None:
        if as_json:
            print(json.dumps({"basemap": None}))
        else:
            out.print("No offline basemap; add one with: hotspot basemap add FILE")
        return
    with refusals(as_json):
        basemap = open_basemap(path)
        try:
            d = basemap.describe()
        finally:
            basemap.close()
    if as_json:
        print(json.dumps({"basemap": d}))
    else:
        _say_basemap(d, "Offline basemap")


@basemap_app.command("remove")
def basemap_remove(as_json: JsonOpt = False) -> None:
    """Forget the registered offline basemap (the file is left alone); the maps go back to the
    online tiles."""
    from api.services.basemap import unregister

    removed = unregister(load_settings())
    if as_json:
        print(json.dumps({"removed": removed}))
    else:
        out.print("Offline basemap forgotten" if removed else "No offline basemap was registered")
