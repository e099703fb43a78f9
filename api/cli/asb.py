"""``hotspot asb``: the persistent anti-social behaviour places of the last months, ranked, as
a table, CSV or GeoJSON (the same answer as ``GET /v1/asb/persistent``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import DatabaseOpt, JsonOpt, fail, load_settings, out, refusals, write_out
from api.cli.query import open_with_taxonomy


def asb_command(
    database: DatabaseOpt = None,
    months: Annotated[int, typer.Option(help="Months looked at, ending with --end (1 to 36).")
                      ] = 12,
    min_months: Annotated[int | None, typer.Option(
        help="Months with ASB that make a place persistent (default half of --months).")
    ] = None,
    radius_m: Annotated[float, typer.Option(
        help="Radius of the nearby repeat locations and the category mix, metres (at most "
        "2000).")] = 250.0,
    end: Annotated[str | None, typer.Option(
        help="The last month looked at, YYYY-MM (default the store's latest whole month).")
    ] = None,
    limit: Annotated[int, typer.Option(help="Most places listed (1 to 1000).")] = 100,
    out_file: Annotated[Path | None, typer.Option(
        "--out", help="Write the places to this file: .csv (a column per month) or .geojson "
        "(WGS84 points).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Persistent anti-social behaviour: the places (map points, or exact addresses in a force
    export) with ASB in many of the last months, ranked by months with ASB then incidents,
    with their month-by-month history, nearby repeat locations and the category mix around
    them. Exact places: for case work under an information-sharing agreement."""
    from api.service_errors import InvalidInput
    from api.services.persistent_asb import (
        answer_csv,
        answer_geojson,
        check_parameters,
        persistent_answer,
    )

    suffix = out_file.suffix.lower() if out_file else ""
    if out_file and suffix not in (".csv", ".geojson", ".json"):
        raise fail("--out must end in .csv or .geojson", as_json, 2)
    try:
        check_parameters(months, min_months, radius_m, end, limit)
    except InvalidInput as exc:
        raise fail(f"--{(exc.field or '').replace('_', '-')}: {exc}", as_json, 2) from None
    settings = load_settings()
    url = database or settings.store_url()
    with refusals(as_json):
        store, taxonomy = open_with_taxonomy(url, settings)
        answer = persistent_answer(store, taxonomy, months=months, min_months=min_months,
                                   radius_m=radius_m, end=end, limit=limit)
    if out_file:
        text = answer_csv(answer) if suffix == ".csv" else json.dumps(answer_geojson(answer))
        write_out(out_file, text, as_json)
    if as_json:
        print(json.dumps({**answer, "database": url,
                          "out": str(out_file) if out_file else None}))
        return
    out.print(answer["reading"], markup=False)
    if answer["places"]:
        out.print(f"  {'#':>3} {'months':>6} {'ASB':>5} {'nearby':>6}  place", markup=False)
    for p in answer["places"]:
        out.print(f"  {p['rank']:>3} {p['months_with_asb']:>3}/{len(answer['months']):<2} "
                  f"{p['asb_incidents']:>5,} {len(p['nearby']):>6}  "
                  f"{p['location'] or '(no description)'} ({p['place_id']})", markup=False)
    if out_file:
        out.print(f"  {len(answer['places']):,} places written to {out_file}", markup=False)
