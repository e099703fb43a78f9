"""``hotspot near-repeat``: the Knox test of near repeats on incidents dated to the day, and
the risk zones it implies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from api.cli.common import DatabaseOpt, JsonOpt, fail, load_settings, out, refusals, write_out
from api.cli.query import FromOpt, PriorityOpt, ToOpt, open_with_taxonomy, selection_of

if TYPE_CHECKING:
    from geodata.stores import IncidentStore


def near_repeat_command(
    database: DatabaseOpt = None,
    priority: PriorityOpt = None,
    category: Annotated[list[str] | None, typer.Option(
        help="A taxonomy category (repeat for more). Default: burglary, vehicle crime, "
        "agricultural and plant theft.")] = None,
    from_: FromOpt = None,
    to: ToOpt = None,
    distance_bands_m: Annotated[str, typer.Option(
        help="Distance band edges, metres, from 0 (left-closed, right-open).")] = "0,100,200,400,800",
    day_bands: Annotated[str, typer.Option(
        help="Day band edges, from 0 (left-closed, right-open).")] = "0,7,14,21,28",
    permutations: Annotated[int, typer.Option(help="Monte Carlo permutations of the dates.")
                            ] = 99,
    seed: Annotated[int, typer.Option(help="Seed of the permutations.")] = 0,
    as_of: Annotated[str | None, typer.Option(
        help="Risk zones for the incidents up to this day (YYYY-MM-DD, included); default: the "
        "latest incident.")] = None,
    out_file: Annotated[Path | None, typer.Option(
        "--out", help="Write the risk zones as RFC 7946 GeoJSON to this file.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Near-repeat risk: the Knox test (distance and day bands, seeded permutations) on
    incidents dated to the day, and the risk zones it implies (data.police.uk months: refused)."""
    from api.services.nearrepeat import near_repeat
    from hotspot.nearrepeat import MAX_PAIRS, MAX_WORK

    settings = load_settings()
    url = database or settings.store_url()
    with refusals(as_json):
        store, taxonomy = open_with_taxonomy(url, settings)
        selection = selection_of(store, from_, to, category, priority, as_json)
        bands, days, until = _bands_and_day(store, distance_bands_m, day_bands, as_of, as_json)
        found = near_repeat(store, taxonomy, selection, distance_bands_m=bands,
                            day_bands=days, permutations=permutations, seed=seed,
                            as_of=until, max_pairs=MAX_PAIRS, max_work=MAX_WORK)
    if out_file:
        write_out(out_file, json.dumps(found.zones_geojson()), as_json)
    body = found.to_dict()
    reading = found.result.plain_reading(found.metadata["noun"])
    if as_json:
        print(json.dumps({**body, "reading": reading, "database": url,
                          "out": str(out_file) if out_file else None}, default=str))
        return
    _print_knox(found.result, body)
    out.print(reading, markup=False)
    if body["left_out_month_only"]:
        out.print(f"  {body['left_out_month_only']:,} incidents dated to the month only were "
                  "left out", markup=False)
    if out_file:
        out.print(f"  {len(found.zones):,} risk zones as of {body['as_of']} written to "
                  f"{out_file}", markup=False)


def _bands_and_day(store: IncidentStore, distance_bands_m: str, day_bands: str, as_of: str | None,
                   as_json: bool) -> tuple[tuple[float, ...], tuple[float, ...], int | None]:
    """The distance band edges (metres), the day band edges and the end of ``--as-of`` (exit 2
    when one is invalid)."""
    from api.service_errors import InvalidInput
    from api.services.nearrepeat import parse_bands
    from api.services.selection import period_bound
    from hotspot.nearrepeat import DAY_BANDS, DISTANCE_BANDS_M

    try:
        bands = parse_bands(distance_bands_m, DISTANCE_BANDS_M, "--distance-bands-m")
        days = parse_bands(day_bands, DAY_BANDS, "--day-bands")
        until = period_bound(as_of, store.timezone, end=True, field="--as-of")
    except InvalidInput as exc:
        raise fail(str(exc), as_json, 2) from None
    return bands, days, until


def _print_knox(r: Any, body: dict[str, Any]) -> None:
    """The Knox table: observed and expected pairs per distance and day band."""
    out.print(f"Knox test of {r.incidents:,} incidents ({body['data_version']}): {r.pairs:,} "
              f"pairs within {r.distance_edges_m[-1]:g} m, {r.permutations} permutations "
              f"(seed {r.seed})", markup=False)
    out.print(f"  {'distance m':>12} {'days':>9} {'observed':>9} {'expected':>10} "
              f"{'ratio':>6} {'p':>6}", markup=False)
    for row in r.table.itertuples():
        mark = " zone" if row.in_zone else " *" if row.significant else ""
        out.print(f"  {row.distance_from_m:>5g}-{row.distance_to_m:<6g} "
                  f"{row.days_from:>3g}-{row.days_to:<5g} {row.observed:>9,} "
                  f"{row.expected:>10,.1f} {row.ratio:>6.2f} {row.p_value:>6.2f}{mark}",
                  markup=False)
    out.print("  (* significant, p <= 0.05 and more pairs than chance; zone: the near-repeat "
              "zone)", markup=False)
