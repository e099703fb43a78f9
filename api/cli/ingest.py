"""``hotspot ingest``: load incident files into the store and say, row by row, what was
accepted, skipped or rejected; data.police.uk outcomes files update the stored crimes' outcomes
and stop and search files are stored apart; a downloaded folder of monthly files (street,
outcomes, stop and search) loads in one command with one report."""

from __future__ import annotations

import csv
import getpass
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import Progress

from api.cli.common import (
    DatabaseOpt,
    JsonOpt,
    advance,
    err,
    fail,
    line_ranges,
    load_settings,
    open_store,
    out,
    progress_bar,
    refusals,
    shows_progress,
)
from api.settings import Settings
from geodata.errors import InvalidFile

_FORMATS = ("auto", "police", "police-api", "force", "geojson", "outcomes", "stop-search")
"""What --format takes: geodata.readers.FORMATS (not imported here: the CLI starts without
pandas) and the two record files that are not incidents."""
INCIDENTS, OUTCOMES, STOP_SEARCH = "incidents", "outcomes", "stop-search"
"""What a file holds (as :mod:`geodata.ingest` names it)."""

if TYPE_CHECKING:
    from geodata.schema import RejectedRow
    from geodata.stores import Store


def ingest(
    files: Annotated[list[Path], typer.Argument(help="data.police.uk street-level, outcomes "
                                                "and stop-and-search CSVs (or folders of "
                                                "them), force export CSVs, GeoJSON.")],
    database: DatabaseOpt = None,
    format: Annotated[str, typer.Option(
        help="auto (from name and header), police, police-api, force, geojson, outcomes or "
        "stop-search.")] = "auto",
    mapping: Annotated[Path | None, typer.Option(
        help="TOML column mapping for a force export (see the README).")] = None,
    unknown_crime_types: Annotated[str | None, typer.Option(
        help="Crime types not in the taxonomy: other (keep as 'other') or reject.")] = None,
    area_buffer_m: Annotated[float | None, typer.Option(
        help="Tolerance around the force boundary in metres.", min=0)] = None,
    rejects_out: Annotated[Path | None, typer.Option(
        help="Write every rejected row (file, line, reason, detail) to this CSV.")] = None,
    show: Annotated[int, typer.Option(help="Most rejected rows to list per file.", min=0)] = 200,
    neighbour: Annotated[str | None, typer.Option(
        "--neighbour", help="Load the files as a neighbouring force's, under this label "
        "(\"Westmarch Police\"): kept apart from the force's incidents, read only by the "
        "cross-border analysis; rows the force's own incidents hold are not stored.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Load incident files and say, row by row, what was accepted, skipped or rejected.

    A folder stands for the data.police.uk monthly files inside it: street files first, then
    outcomes files (each outcome updates the stored crime with its Crime ID, never adds one;
    the latest month wins), then stop and search files (stored apart from incidents); one
    report covers them all (``summary`` in the JSON). Loading a file twice adds nothing. A
    file that cannot be read at all is reported and the others are still loaded (the exit
    status is then 1). With ``--neighbour LABEL`` the files are a neighbouring force's: a
    separate, labelled source, never counted with the force's own (street files only).
    """
    settings = load_settings()
    url = database or settings.store_url()
    policy_name = unknown_crime_types or settings.unknown_crime_types
    if policy_name not in ("other", "reject"):
        raise fail("--unknown-crime-types must be 'other' or 'reject'", as_json, 2)
    if format not in _FORMATS:
        raise fail(f"--format must be one of {', '.join(_FORMATS)}", as_json, 2)
    with _rejects_csv(rejects_out) as writer, refusals(as_json):
        store, options, the_mapping = _prepare(url, settings, mapping, policy_name,
                                               area_buffer_m, neighbour)
        loading = _Loading(store, format, options, the_mapping,
                           _RejectedRows(writer, show, as_json, rejects_out), as_json,
                           neighbour=neighbour)
        paths = _expand(files, neighbour is None)
        with progress_bar(shows_progress(as_json)) as bar:  # one bar for each file's bytes,
            loading.bar = bar  # and one for the files of a folder
            every = (bar.add_task(f"{len(paths)} files", total=len(paths), unit="files")
                     if len(paths) > 1 else None)
            reports = []
            for path in paths:
                reports.append(loading.load(path))
                if every is not None:
                    bar.advance(every)
    from geodata.ingest import folder_summary

    summary = folder_summary(reports)
    if as_json:
        print(json.dumps({"database": url, "files": reports, "summary": summary},
                         default=str))
    elif len(reports) > 1 and neighbour is None:
        _print_summary(summary)
    if loading.failed:
        raise typer.Exit(1)


@contextmanager
def _rejects_csv(path: Path | None) -> Iterator[Any]:
    """A CSV writer of rejected rows (file, line, reason, detail) to ``path``, or None."""
    if path is None:
        yield None
        return
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["file", "line", "reason", "detail"])
        yield writer


def _prepare(url: str, settings: Settings, mapping: Path | None, policy_name: str,
             area_buffer_m: float | None, neighbour: str | None = None,
             ) -> tuple[Any, Any, Any]:
    """The store, the readers' options (taxonomy, force area, CRS, time zone, unknown-type
    policy) and the force export's column mapping (read first: a bad mapping opens no store);
    a neighbour's files are checked against the force area widened to the cross-border reach
    (:func:`geodata.neighbours.neighbour_read_options`)."""
    from geodata.layers import force_area
    from geodata.readers import ForceExportMapping, ReadOptions
    from geodata.taxonomy import Taxonomy, UnknownTypePolicy

    the_mapping = ForceExportMapping.from_toml(mapping) if mapping else None
    taxonomy = Taxonomy.load(settings.taxonomy_path)
    store = open_store(url)
    if neighbour is not None:
        from geodata.neighbours import neighbour_read_options

        return store, neighbour_read_options(
            store, taxonomy=taxonomy, unknown_types=UnknownTypePolicy(policy_name)), the_mapping
    area = force_area(store, area_buffer_m if area_buffer_m is not None
                      else settings.area_buffer_m)
    options = ReadOptions(taxonomy=taxonomy, area=area, crs=store.crs, timezone=store.timezone,
                          unknown_types=UnknownTypePolicy(policy_name))
    return store, options, the_mapping


def _expand(paths: list[Path], all_kinds: bool = True) -> list[Path]:
    """Files as given; a folder stands for the data.police.uk monthly files inside it: street
    files, then outcomes, then stop and search (``all_kinds``; else street files only), each
    kind in name order (month by month)."""
    from geodata.ingest import FOLDER_PATTERNS

    patterns = FOLDER_PATTERNS if all_kinds else FOLDER_PATTERNS[:1]
    out_paths: list[Path] = []
    for p in paths:
        if p.is_dir():
            found = [f for _kind, pattern in patterns for f in sorted(p.rglob(pattern))]
            if not found:
                names = ", ".join(pattern for _kind, pattern in patterns)
                raise InvalidFile(f"{p} holds no data.police.uk monthly files ({names})")
            out_paths.extend(found)
        else:
            out_paths.append(p)
    return out_paths


def _kind_of(path: Path, format: str) -> str:
    """What ``path`` holds: given by ``--format``, else from its header."""
    from geodata.ingest import file_kind

    if format == "outcomes":
        return OUTCOMES
    if format == "stop-search":
        return STOP_SEARCH
    if format != "auto":
        return INCIDENTS
    try:
        with path.open("rb") as f:
            head = f.read(65536)
    except OSError:
        return INCIDENTS  # the reader says why it cannot be opened
    return file_kind(head, path.name)


@dataclass
class _RejectedRows:
    """A file's rejected rows as the reader reports them: every one to the ``--rejects-out``
    CSV, the first ``show`` on screen; ``listed`` counts them."""

    writer: Any
    show: int
    as_json: bool
    rejects_out: Path | None
    path: Path = Path()
    listed: int = 0

    def start(self, path: Path) -> None:
        """Count the rows of ``path`` from none."""
        self.path, self.listed = path, 0

    def __call__(self, row: RejectedRow) -> None:
        if self.writer:
            self.writer.writerow([self.path.name, row.line, row.reason, row.detail])
        if not self.as_json and self.listed < self.show:
            out.print(f"  line {row.line}: rejected ({row.reason}): {row.detail}", markup=False)
        self.listed += 1


@dataclass
class _Loading:
    """Loading the files of one ``hotspot ingest`` into ``store``, one at a time."""

    store: Store
    format: str
    options: Any
    mapping: Any
    rejected: _RejectedRows
    as_json: bool
    bar: Progress | None = None
    """The progress bars (on a terminal: see :func:`~api.cli.common.shows_progress`)."""
    failed: int = 0
    """Files that could not be read at all."""
    neighbour: str | None = None
    """The neighbouring force whose files these are (None: the force's own)."""

    def load(self, path: Path) -> dict[str, Any]:
        """Load ``path`` and report it (its ingest report, or ``{source, error}`` when it
        cannot be read at all); the ingest goes to the audit log."""
        self.rejected.start(path)
        if not self.as_json:
            out.print(f"{path}:", markup=False)
        try:
            if self.neighbour is not None:
                return self._neighbour(path)
            kind = _kind_of(path, self.format)
            if kind != INCIDENTS:
                return self._other(path, kind)
            format_name, report = self._read(path)
        except InvalidFile as exc:  # this file is unreadable: say so, go on with the rest
            self.failed += 1
            if not self.as_json:
                err.print(f"  [bold red]not loaded:[/] {exc}", highlight=False)
            return {"source": str(path), "error": str(exc)}
        # the audit log holds every ingest, this one by the machine's user
        self.store.audit(key_id=None, role=f"cli:{getpass.getuser()}", action="ingest",
                         path="hotspot ingest", filter={"source": str(path),
                                                        "format": format_name},
                         rows=int(report["counts"]["accepted"]))
        if not self.as_json:
            _print_report(report, self.rejected)
        return report

    def _other(self, path: Path, kind: str) -> dict[str, Any]:
        """Load an outcomes or a stop and search file, say what became of its rows, and note
        it in the audit log."""
        from geodata.ingest import load_outcomes, load_stop_searches

        if kind == OUTCOMES:
            report = load_outcomes(self.store, path, on_rejected=self.rejected)
            rows = int(report["counts"]["updated"])
        else:
            report = load_stop_searches(self.store, path, self.options,
                                        on_rejected=self.rejected)
            rows = int(report["counts"]["accepted"])
        self.store.audit(key_id=None, role=f"cli:{getpass.getuser()}", action="ingest",
                         path="hotspot ingest", filter={"source": str(path),
                                                        "format": report["format"]},
                         rows=rows)
        if not self.as_json:
            c = report["counts"]
            if kind == OUTCOMES:
                out.print(f"  {c['records']:,} outcome rows: {c['matched']:,} crimes found "
                          f"([green]{c['updated']:,} outcomes updated[/], {c['unchanged']:,} "
                          f"unchanged), {c['unmatched']:,} crimes not stored, "
                          f"{c['superseded']:,} rows superseded by a later month, "
                          f"[red]{c['rejected']:,} rejected[/]", markup=True, highlight=False)
            else:
                out.print(f"  {c['records']:,} stop and search records: [green]"
                          f"{c['accepted']:,} stored[/], {c['repeated']:,} already stored, "
                          f"[red]{c['rejected']:,} rejected[/]", markup=True, highlight=False)
            for reason, n in report["rejected_by_reason"].items():
                out.print(f"    {n:,} {reason}")
        return report

    def _neighbour(self, path: Path) -> dict[str, Any]:
        """Load ``path`` as the neighbour's (:func:`geodata.neighbours.load_neighbour`), say
        what became of its rows, and note it in the audit log."""
        from rich.markup import escape

        from geodata.neighbours import load_neighbour
        from geodata.readers import open_reader

        reader = open_reader(path, format=self.format, options=self.options,
                             mapping=self.mapping)
        label = str(self.neighbour)
        report = load_neighbour(self.store, reader, source=label)
        self.store.audit(key_id=None, role=f"cli:{getpass.getuser()}", action="ingest",
                         path="hotspot ingest", filter={"source": str(path),
                                                        "format": reader.format,
                                                        "neighbour": report["source"]},
                         rows=int(report["counts"]["accepted"]))
        if not self.as_json:
            c = report["counts"]
            out.print(f"  {c['records']:,} rows of {escape(report['source'])}: "
                      f"[green]{c['accepted']:,} accepted[/] as the neighbour's, "
                      f"{c['duplicates_of_force']:,} not stored (the force's own incidents "
                      f"hold them), {c['repeated']:,} already stored or repeated, "
                      f"[red]{c['rejected']:,} rejected[/]", markup=True, highlight=False)
            for reason, n in report["rejected_by_reason"].items():
                out.print(f"    {n:,} {reason}")
        return report

    def _read(self, path: Path) -> tuple[str, dict[str, Any]]:
        """The reader's format name and the ingest report of ``path`` (a progress bar on a
        terminal)."""
        from geodata.ingest import ingest as run_ingest
        from geodata.readers import open_reader

        reader = open_reader(path, format=self.format, options=self.options,
                             mapping=self.mapping)
        bar = self.bar or Progress(disable=True)
        task = bar.add_task(path.name, total=path.stat().st_size)
        try:
            report = run_ingest(self.store, reader, on_rejected=self.rejected,
                                on_progress=partial(advance, bar, task))
        finally:
            bar.remove_task(task)
        return reader.format, {**report.to_dict(), "kind": INCIDENTS}


def _print_summary(s: dict[str, Any]) -> None:
    """Say what the whole load did, every file together."""
    inc, oc, ss = s["incidents"], s["outcomes"], s["stop_searches"]
    out.print(f"All {s['files']:,} files ({len(s['not_loaded']):,} not loaded):", markup=False)
    out.print(f"  incidents: {inc['files']:,} files, {inc['records']:,} rows, "
              f"{inc['accepted']:,} accepted, {inc['duplicates']:,} duplicates, "
              f"{inc['rejected']:,} rejected", markup=False)
    if oc["files"]:
        out.print(f"  outcomes: {oc['files']:,} files, {oc['records']:,} rows, "
                  f"{oc['updated']:,} outcomes updated, {oc['unchanged']:,} unchanged, "
                  f"{oc['unmatched']:,} crimes not stored, {oc['rejected']:,} rejected",
                  markup=False)
    if ss["files"]:
        out.print(f"  stop and search: {ss['files']:,} files, {ss['records']:,} records, "
                  f"{ss['accepted']:,} stored, {ss['repeated']:,} already stored, "
                  f"{ss['rejected']:,} rejected", markup=False)
    for failed in s["not_loaded"]:
        out.print(f"  not loaded: {failed['source']}: {failed['error']}", markup=False)
    if s["data_version"]:
        out.print(f"  data version {s['data_version']}", markup=False)


def _print_report(d: dict[str, Any], rejected: _RejectedRows) -> None:
    """Say on screen what became of a file's rows: accepted, skipped, rejected and why."""
    listed, show, rejects_out = rejected.listed, rejected.show, rejected.rejects_out
    if listed > show:
        out.print(f"  … {listed - show:,} more rejected rows"
                  + (f" (all in {rejects_out})" if rejects_out else
                     " (list them all with --rejects-out FILE.csv)"))
    if d["accepted_lines"]:
        out.print(f"  lines {line_ranges(d['accepted_lines'])}: accepted")
    if d["duplicate_lines"]:
        out.print(f"  lines {line_ranges(d['duplicate_lines'])}: skipped, already stored or "
                  "repeated")
    c = d["counts"]
    out.print(
        f"  {c['records']:,} rows: [green]{c['accepted']:,} accepted[/], "
        f"{c['duplicates']:,} skipped as duplicates ({c['duplicates_already_stored']:,} already "
        f"stored, {c['duplicates_repeated_in_file']:,} repeated in the file), "
        f"[red]{c['rejected']:,} rejected[/] in {d['elapsed_s']:.2f} s"
    )
    for reason, n in d["rejected_by_reason"].items():
        out.print(f"    {n:,} {reason}")
    _print_reading(d)


def _print_reading(d: dict[str, Any]) -> None:
    """Say how the file was read: stacking on points, coordinates, area check, crime types,
    encoding, time precision."""
    st = d["stacking"]
    if st.get("distinct_points"):
        out.print(
            f"  {st['incidents']:,} incidents on {st['distinct_points']:,} distinct points; up "
            f"to {st['max_on_one_point']} on one point; "
            f"{st['share_on_busiest_1pct_of_points']:.1%} on the busiest 1% of points"
        )
    read = d["read"]
    tr = read.get("coordinate_transformation")
    if tr:
        out.print(f"  coordinates: {tr['from']} to {tr['to']} by {tr['operation']}"
                  + ("" if tr["best_available"] else " (fallback: the OSTN15 grid is not "
                     "installed; about 2 m off)"))
    out.print(f"  area check: {read['area_check']}")
    if read.get("unknown_crime_types"):
        kinds = ", ".join(f"{k} ({v})" for k, v in read["unknown_crime_types"].items())
        out.print(f"  crime types not in the taxonomy ({read['unknown_crime_type_policy']}): "
                  f"{kinds}")
    if read.get("encoding_fallback_bytes"):
        out.print(f"  {read['encoding_fallback_bytes']:,} bytes were not UTF-8 and were read "
                  "as Windows-1252")
    out.print(f"  time precision: {read['time_precision']}; data version {d['data_version']}")
