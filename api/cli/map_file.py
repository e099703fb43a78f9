"""``hotspot map``: the planner's map of a hotspot request as one self-contained HTML file that
opens with no network."""

from __future__ import annotations

import json
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from api.cli.common import DatabaseOpt, JsonOpt, load_settings, out, refusals
from api.cli.query import (
    MethodOpt,
    PriorityOpt,
    ToOpt,
    find_hotspots,
    method_options,
    open_with_taxonomy,
    selection_of,
)
from api.settings import Settings
from hotspot.errors import HotspotError
from hotspot.params import DEFAULT_METHOD, validate

if TYPE_CHECKING:
    from api.services.selection import Selection
    from geodata.stores import IncidentStore, Store
    from geodata.taxonomy import Taxonomy

SURFACE_PARAMETERS = ("bandwidth_m", "cell_size_m", "kernel")
"""The request's parameters that shape the density surface under the hotspots (KDE's)."""


@method_options
def map_command(
    out_file: Annotated[Path, typer.Option("--out", help="The HTML file to write.")],
    database: DatabaseOpt = None,
    method: MethodOpt = DEFAULT_METHOD,
    priority: PriorityOpt = None,
    category: Annotated[list[str] | None, typer.Option(help="A category (repeat).")] = None,
    from_: Annotated[str | None, typer.Option("--from", help="YYYY-MM or YYYY-MM-DD.")] = None,
    to: ToOpt = None,
    tiles: Annotated[str | None, typer.Option(
        help="Basemap tile URL ('none' for no basemap). Default: HOTSPOT_TILE_URL.")] = None,
    as_json: JsonOpt = False,
    method_parameters: dict[str, Any] | None = None,
) -> None:
    """Write the planner's map as one self-contained HTML file that opens with no network (the
    method parameters are those of hotspot analyse and the API)."""
    from api.services.hotspots import AnalysisOptions
    from geodata.harm import HarmTable

    settings = load_settings()
    url = database or settings.store_url()
    params: dict[str, Any] = dict(method_parameters or {})
    with refusals(as_json):
        store, taxonomy = open_with_taxonomy(url, settings)
        selection = selection_of(store, from_, to, category, priority, as_json)
        options = AnalysisOptions(parameters=params, harm=HarmTable.load(settings.harm_table))
        result, metadata = find_hotspots(store, taxonomy, settings, method, selection, options,
                                         as_json)
        surface = validate("kde", {k: params.get(k) for k in SURFACE_PARAMETERS})
        image = _density_image(store, taxonomy, selection, settings, surface)
        out_file.write_text(_planner_page(store, settings, method, result, metadata, image, tiles),
                            "utf-8")
    hotspots = result.info["hotspots"]
    summary = {"out": str(out_file), "bytes": out_file.stat().st_size,
               "hotspots": hotspots, "data_version": metadata["data_version"]}
    if as_json:
        print(json.dumps(summary))
    else:
        out.print(f"Wrote {out_file} ({summary['bytes'] / 1e6:.2f} MB, {hotspots} "
                  "places): it opens from disk with no network.", markup=False)


def _density_image(store: IncidentStore, taxonomy: Taxonomy, selection: Selection, settings: Settings,
                   surface: dict[str, Any]) -> Any:
    """The density surface under the hotspots (KDE with the request's ``surface`` parameters,
    checked), as an image; None for a selection of none or one incident (the hotspots still
    show)."""
    from api.limits import WorkLimits
    from api.service_errors import InvalidInput
    from api.services.hotspots import density_grid
    from maps import density_image

    bandwidth_m = None if surface["bandwidth_m"] == "silverman" else surface["bandwidth_m"]
    with suppress(HotspotError, InvalidInput):
        return density_image(density_grid(
            store, taxonomy, selection, limits=WorkLimits.from_settings(settings),
            bandwidth_m=bandwidth_m, cell_size_m=surface["cell_size_m"],
            kernel=surface["kernel"])[0])
    return None


def _planner_page(store: Store, settings: Settings, method: str, result: Any,
                  metadata: dict[str, Any], image: Any, tiles: str | None) -> str:
    """The planner's map of ``result`` as one HTML page, everything inline."""
    from api.formats import ATTRIBUTION, tile_url
    from api.services.basemap import force_basemap
    from api.services.hotspots import map_layers, map_summary
    from maps import PageOptions, hotspot_map_page

    info = result.info
    choice_made = metadata.get("choice")
    return hotspot_map_page(result.hotspots, map_layers(store), PageOptions(
        tiles_url=tile_url(tiles if tiles is not None else settings.tile_url),
        tiles_attribution=settings.tile_attribution, inline=True,
        basemap_features=force_basemap(store), density=image,
        summary=map_summary(method, info, metadata["data_version"], choice=choice_made,
                            sentence=False),
        headline=(choice_made or {}).get("sentence", ""),
        harm_approximate=bool(metadata["harm"]["approximate"]),
        emerging_months=(info.get("emerging") or {}).get("months"),
        attribution=ATTRIBUTION,
    ))
