"""``hotspot report``: the priority report of a period (a month, a quarter, a year, a year to
date), made and stored as ``POST /v1/reports`` makes it, and written as JSON, HTML, PDF or a
zip of its tables as CSV."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from api.cli.common import (
    DatabaseOpt,
    JsonOpt,
    Step,
    fail,
    load_settings,
    open_store,
    out,
    refusals,
    shows_progress,
    stage_bar,
)

if TYPE_CHECKING:
    from api.settings import Settings

FORMATS = (".json", ".html", ".pdf", ".zip")
"""What ``--out`` writes, by its suffix."""


def report_command(
    period: Annotated[str | None, typer.Option(
        help="A month (2024-06), a quarter (2024-Q2), a year (2024) or a year to date "
        "(2024-06-YTD: January to June), local time. Every month of it and of the same period "
        "a year before must be in the store.")] = None,
    report_id: Annotated[str | None, typer.Option(
        "--id", help="Write the stored report with this id (as it was made) instead of "
        "making a new one.")] = None,
    out_file: Annotated[Path | None, typer.Option(
        "--out", help="Write the report to this file: .json (the stored document), .html (the "
        "report page, whole in itself), .pdf (printed by headless Chromium) or .zip (every "
        "table as CSV).")] = None,
    database: DatabaseOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Make the priority report of a period and store it: each plan priority and its groups
    against the same period a year before (incidents, harm, the test of the change), the top
    places, patrol dosage, and what the data can show of serious organised crime. A stored
    report never changes: --id writes one again exactly as it was made."""
    if (period is None) == (report_id is None):
        raise fail("give --period to make a report, or --id to write a stored one", as_json, 2)
    if out_file is not None and out_file.suffix.lower() not in FORMATS:
        raise fail(f"--out must end in {', '.join(FORMATS)}, not {out_file.name!r}", as_json, 2)
    settings = load_settings()
    url = database or settings.store_url()
    with refusals(as_json), stage_bar(shows_progress(as_json), "report") as step:
        store = open_store(url)
        document, text = _report(store, settings, period, report_id, step)
        if out_file is not None:
            if step:
                step(0.97 if report_id is None else 0.5, f"writing {out_file.name}")
            _write(out_file, document, text, settings)
    if as_json:
        print(json.dumps({"database": url, "report_id": document["report_id"],
                          "period": document["period"], "data_version": document["data_version"],
                          "out": str(out_file) if out_file else None,
                          "summary": _headlines(document)}))
        return
    made = "Made" if report_id is None else "Stored"
    out.print(f"{made} report {document['report_id']}: {document['period_label']} against "
              f"{document['previous']['period_label']} (data {document['data_version']})",
              markup=False)
    for line in _headlines(document):
        out.print(f"  {line}", markup=False)
    if out_file is not None:
        out.print(f"  written to {out_file}", markup=False)


def _report(store: Any, settings: Settings, period: str | None, report_id: str | None,
            step: Step | None = None) -> tuple[dict[str, Any], str]:
    """The report (made and stored, or stored already) and its stored JSON text; ``step``
    hears how far the making is (a progress bar)."""
    from api.services.reports import make_report, stored_report_text

    if report_id is not None:
        _record, text = stored_report_text(store, report_id)
        return json.loads(text), text
    assert period is not None
    document = make_report(store, settings, period=period,
                           created_by=f"command line ({getpass.getuser()})", progress=step)
    _record, text = stored_report_text(store, document["report_id"])
    return document, text


def _write(path: Path, document: dict[str, Any], text: str, settings: Settings) -> None:
    """Write ``--out`` in the form its suffix names."""
    from api.services.reports import tables_zip

    suffix = path.suffix.lower()
    if suffix == ".json":
        path.write_text(text, "utf-8")
    elif suffix == ".zip":
        path.write_bytes(tables_zip(document))
    else:
        from maps.report_page import report_page_html

        html = report_page_html(document)
        if suffix == ".html":
            path.write_text(html, "utf-8")
        else:
            from api.services.pdf import html_to_pdf

            path.write_bytes(html_to_pdf(html, settings))


def _headlines(document: dict[str, Any]) -> list[str]:
    """One line per priority: incidents against the year before and the verdict; under it, a
    line for each of its groups whose change is more than chance."""
    lines = []
    for p in document["priorities"]:
        lines.append(_figure_line(p["label"], p["figures"]))
        lines += [f"  {_figure_line(g['label'], g['figures'])}" for g in p.get("groups") or ()
                  if g["figures"].get("more_than_chance")]
    return lines


def _figure_line(label: str, f: dict[str, Any]) -> str:
    pct = "" if f["change_pct"] is None else f" ({f['change_pct']:+.1f} %)"
    p = f["p_value"]
    p_text = "" if p is None else ", p < 0.001" if p < 0.001 else f", p = {p:.3f}"
    chance = ", more than chance" if f.get("more_than_chance") else ""
    return (f"{label}: {f['incidents']:,} against {f['previous']:,}{pct}: "
            f"{f['verdict']}{chance}{p_text}")
