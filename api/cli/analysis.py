"""``hotspot analyse`` and ``hotspot backtest``: find, classify and rank hotspots, and compare
the methods on the months in the store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from api.cli.common import (
    DatabaseOpt,
    JsonOpt,
    load_settings,
    out,
    refusals,
    shows_progress,
    stage_bar,
    write_out,
)
from api.cli.export import SUFFIXES, write_hotspots
from api.cli.query import (
    CategoryOpt,
    FromOpt,
    MethodOpt,
    PriorityOpt,
    ToOpt,
    find_hotspots,
    method_options,
    open_with_taxonomy,
    say_progress,
    selection_of,
)
from hotspot.params import DEFAULT_METHOD

HOTSPOT_FIELDS = ("id", "rank", "context_class", "name", "place", "incidents", "top_category",
                  "trend")
"""The properties of each hotspot listed by ``analyse --json``."""


@method_options
def analyse(
    database: DatabaseOpt = None,
    method: MethodOpt = DEFAULT_METHOD,
    priority: PriorityOpt = None,
    category: CategoryOpt = None,
    from_: FromOpt = None,
    to: ToOpt = None,
    heritage_distance_m: Annotated[float, typer.Option(
        help="How near a heritage site counts, metres.")] = 200.0,
    heritage_designation: Annotated[list[str] | None, typer.Option(
        help="Keep heritage sites of this designation only (repeat), e.g. 'Scheduled monument'."
    )] = None,
    weighted: Annotated[bool, typer.Option(
        help="Use the incidents' own weights (from the source file); --weight harm weighs them "
        "by harm instead.")] = False,
    out_file: Annotated[Path | None, typer.Option(
        "--out", help="Write the hotspots to this file: RFC 7946 GeoJSON (WGS84), or by its "
        "suffix a GeoPackage (.gpkg: the hotspots and their areas in the store's CRS) or CSV "
        "(.csv: x, y in the store's CRS and lon, lat in WGS84, with FILE.about.txt).")] = None,
    top: Annotated[int, typer.Option(help="Hotspots to list on screen.", min=0)] = 15,
    as_json: JsonOpt = False,
    method_parameters: dict[str, Any] | None = None,
) -> None:
    """Find, classify and rank hotspots (KDE, DBSCAN or Gi*) in the incidents of the store.

    The method parameters are the API's query parameters, with the same bounds and defaults
    (hotspot.params), so the same request gives the same hotspots."""
    from api.services.hotspots import AnalysisOptions
    from geodata.harm import HarmTable

    settings = load_settings()
    url = database or settings.store_url()
    params: dict[str, Any] = dict(method_parameters or {})
    with refusals(as_json):
        store, taxonomy = open_with_taxonomy(url, settings)
        selection = selection_of(store, from_, to, category, priority, as_json)
        options = AnalysisOptions(
            heritage_distance_m=heritage_distance_m,
            heritage_designations=tuple(heritage_designation) if heritage_designation else None,
            weighted=weighted, parameters=params, harm=HarmTable.load(settings.harm_table),
        )
        result, metadata = find_hotspots(store, taxonomy, settings, method, selection, options,
                                         as_json)
    collection = result.to_feature_collection(metadata)
    if out_file and out_file.suffix.lower() in SUFFIXES:
        with refusals(as_json):
            write_hotspots(out_file, result, metadata, crs=store.crs)
    elif out_file:
        write_out(out_file, json.dumps(collection), as_json)
    if as_json:
        print(json.dumps({
            "database": url, "method": result.method, "parameters": result.parameters,
            "summary": result.info, "data_version": metadata["data_version"],
            "selection": metadata["selection"], "out": str(out_file) if out_file else None,
            "hotspots": [{k: f["properties"][k] for k in HOTSPOT_FIELDS}
                         for f in collection["features"][:top]]}, default=str))
        return
    _print_analysis(result, metadata)
    _print_hotspots(result.hotspots, top)
    if out_file:
        out.print(f"  written to {out_file}", markup=False)


def _print_analysis(result: Any, metadata: dict[str, Any]) -> None:
    """Say what the analysis found: how much of the incidents in how much of the area, the
    method's choice, note and parameters."""
    info = result.info
    retro = info.get("retrospective", {})
    out.print(f"{result.method.upper()} on {info['incidents']:,} incidents "
              f"({metadata['data_version']}): {info['hotspots']} places hold "
              f"{retro.get('hit_rate', 0):.1%} of the incidents they were drawn from in "
              f"{info['area_share']:.2%} of the area (retrospective PAI {retro.get('pai')})"
              + (f"; prospective PAI {info['pai']} (backtest)" if info.get("pai_basis")
                 == "prospective" else ""), markup=False)
    if metadata.get("choice"):
        out.print("  " + str(metadata["choice"]["sentence"]), markup=False)
    if info.get("note"):
        out.print("  note: " + str(info["note"]), markup=False)
    shown = {k: v for k, v in result.parameters.items() if v is not None}
    out.print("  parameters: " + ", ".join(f"{k}={v}" for k, v in shown.items()), markup=False)
    if "min_samples_auto" in info:
        auto = info["min_samples_auto"]
        out.print(f"  min_samples followed the background: {auto['min_samples_range'][0]:g} to "
                  f"{auto['min_samples_range'][1]:g} (median {auto['min_samples_median']:g})")


def _cell(text: object, width: int) -> str:
    """``text`` in a column ``width`` characters wide: padded, or cut with an ellipsis (a
    place's name is read as a whole: "... near Sax" would send nobody anywhere)."""
    words = str(text)
    return f"{words:<{width}}" if len(words) <= width else words[:width - 1] + "\u2026"


def _print_hotspots(table: Any, top: int) -> None:
    """List the ``top`` hotspots of ``table``, one a line."""
    for _, row in table.head(top).iterrows():
        hours = ",".join(f"{h:02d}h" for h in row["peak_hours"]) or "-"
        out.print(
            f"  {row['rank']:>3}. {row['id']}  {row['context_class']:<13} "
            f"{_cell(row['name'] or '', 42)} {row['incidents']:>6,} incidents "
            f"{row['harm']:>8,.0f} harm  {row['area_m2'] / 1e6:6.3f} km2  "
            f"{row['top_category']!s:<20.20} trend {row['trend']:<7} "
            f"{(row['emerging'] or '-').replace('_', ' '):<16} peak {hours}", markup=False)


def backtest(
    database: DatabaseOpt = None,
    priority: Annotated[str | None, typer.Option(
        help="A plan priority (its categories); default every incident.")] = None,
    category: CategoryOpt = None,
    share: Annotated[list[float] | None, typer.Option(
        help="An area share to compare at, 0-1 (repeat; default 0.001, 0.005 and 0.01: the "
        "backtest --method auto uses; other shares make a backtest of their own).",
        min=1e-6, max=1.0)] = None,
    test_months: Annotated[int, typer.Option(
        help="How many of the latest months to test, each fitted on every earlier month.",
        min=1, max=120)] = 6,
    out_file: Annotated[Path | None, typer.Option(
        "--out", help="Write the whole result (every fold) as JSON to this file.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Backtest every hotspot method on the months in the store (fit on the months before each
    test month, count the test month's incidents inside the places, at equal area) and store
    the result; hotspot analyse --method auto uses the method it chooses. A stored result is
    reused while the data has not changed."""
    from api.services.backtests import BacktestSpec, run_backtest
    from hotspot.backtest import SHARES

    settings = load_settings()
    url = database or settings.store_url()
    with refusals(as_json):
        store, taxonomy = open_with_taxonomy(url, settings)
        selection = selection_of(store, None, None, category, priority, as_json)
        spec = BacktestSpec.of(selection, taxonomy, shares=tuple(share or SHARES),
                               test_months=test_months)
        with stage_bar(shows_progress(as_json), "backtest") as step:
            document, reused = run_backtest(store, spec, progress=say_progress(as_json),
                                            step=step)
    if out_file:
        write_out(out_file, json.dumps(document), as_json)
    if as_json:
        print(json.dumps({"database": url, "key": document["key"], "reused": reused,
                          "chosen": document["chosen"], "tested": document["tested"],
                          "priority": document["priority"], "summary": document["summary"],
                          "out": str(out_file) if out_file else None}))
        return
    _print_backtest(document, reused)


def _print_backtest(document: dict[str, Any], reused: bool) -> None:
    """Say how each method did at each area share, best first, and which was chosen."""
    out.print(f"Backtest of {len(document['candidates'])} methods, tested on "
              f"{', '.join(document['tested'])} (each fitted on every month before it)"
              f"{' (stored result reused)' if reused else ''}", markup=False)
    out.print("  hit rate = share of the test month's incidents inside the places; PAI = hit "
              "rate / area share (equal area); PEI* = hit rate / the best possible at that "
              "area; RRI = test hit rate / fitting hit rate", markup=False)
    for s in document["shares"]:
        out.print(f"  at {s:.1%} of the force area:", markup=False)
        at = sorted((r for r in document["summary"] if abs(r["share"] - s) < 1e-12),
                    key=lambda r: -(r["pai_at_budget"] or 0))
        for r in at:
            mark = " <- chosen" if r["candidate"] == document["chosen"] else ""
            out.print(f"    {r['candidate']:<18} hit rate {r['hit_rate']:6.1%} "
                      f"(worst fold {r['hit_rate_min']:6.1%})  PAI {r['pai_at_budget']:7.1f}  "
                      f"PEI* {r['pei_star']:.2f}  RRI {r['rri']:.2f}  "
                      f"{r['places']:>7,.0f} places{mark}", markup=False)
    out.print(f"  chosen: {document['chosen']} (stored as {document['key']})", markup=False)
