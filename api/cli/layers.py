"""``hotspot layers``: the reference layers (force boundary, town centres, built-up areas,
rural-urban lookup, heritage sites, patrol bases, roads), checked and kept in the store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import DatabaseOpt, JsonOpt, fail, load_settings, open_store, out, refusals

layers_app = typer.Typer(help="Reference layers: force boundary, town centres, built-up areas, "
                         "rural-urban lookup, heritage sites, patrol bases.",
                         no_args_is_help=True)


@layers_app.command("add")
def layers_add(
    kind: Annotated[str, typer.Argument(help="force_boundary, town_centres, built_up_areas, "
                                        "rural_urban_lookup, heritage_sites, patrol_bases or roads.")],
    file: Annotated[Path, typer.Argument(help="GeoJSON, GeoPackage, Shapefile or CSV.")],
    database: DatabaseOpt = None,
    name_column: Annotated[str | None, typer.Option(help="Column with names.")] = None,
    designation_column: Annotated[str | None, typer.Option(
        help="Column with heritage designations (or grades).")] = None,
    team_column: Annotated[str | None, typer.Option(help="Column with the team of a base.")] = None,
    crs: Annotated[str | None, typer.Option(help="CRS of the file when it has none.")] = None,
    layer: Annotated[str | None, typer.Option(help="Layer of a multi-layer file.")] = None,
    select: Annotated[str | None, typer.Option(
        help="Keep features with COLUMN=VALUE[,VALUE...] (e.g. LAD21CD=E07000136,E07000137).")
    ] = None,
    repair: Annotated[bool, typer.Option(help="Repair invalid geometries (make_valid) rather "
                                         "than refusing them.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Validate a reference layer, reproject it to the force CRS and keep it in the store
    (replacing the layer of that kind)."""
    from geodata.layers import read_layer

    url = database or load_settings().store_url()
    chosen = _selected_features(select, as_json)
    with refusals(as_json):
        store = open_store(url)
        ref = read_layer(kind, file, force_crs=store.crs, name_column=name_column,
                         designation_column=designation_column, team_column=team_column,
                         crs=crs, layer=layer, repair=repair, select=chosen)
        store.put_layer(ref)
    if as_json:
        print(json.dumps({"database": url, "kind": kind, "source": ref.source, **ref.info},
                         default=str))
        return
    out.print(f"Stored {len(ref):,} {kind} features from {file} ({url})", markup=False)
    for note in ref.info.get("repaired", []):
        out.print(f"  repaired feature {note['feature']}: {note['reason']}", markup=False)
    named = ref.info.get("named_from_reference")
    if named:
        out.print(f"  {named['features']:,} unnamed sites named from {named['column']}")


def _selected_features(select: str | None, as_json: bool) -> tuple[str, list[str]] | None:
    """``--select COLUMN=VALUE[,VALUE...]`` as (column, values); exit 2 when malformed."""
    if not select:
        return None
    column, _, values = select.partition("=")
    if not column or not values:
        raise fail("--select takes COLUMN=VALUE[,VALUE...]", as_json, 2)
    return column.strip(), [v.strip() for v in values.split(",") if v.strip()]


@layers_app.command("list")
def layers_list(database: DatabaseOpt = None, as_json: JsonOpt = False) -> None:
    """List the reference layers in the store."""
    url = database or load_settings().store_url()
    with refusals(as_json):
        infos = [i.to_dict() for i in open_store(url).list_layers()]
    if as_json:
        print(json.dumps({"database": url, "layers": infos}, default=str))
        return
    if not infos:
        out.print(f"No reference layers in {url}; add one with: hotspot layers add KIND FILE")
    for i in infos:
        out.print(f"{i['kind']:<20} {i['features']:>7,} features  from {i['source']} "
                  f"({i['added_at']})", markup=False)
