"""The priority report: for a period (a month, a quarter, a year, a year to date), each plan
priority and its groups against the same period a year before, with the test of the change,
the month-by-month series, the top places from the hotspot engine, the patrol dosage
delivered, and what the data can show of serious organised crime; stored as its exact JSON
text with the store's data version, so the one taken to a meeting can be shown again unchanged.

The figures are :mod:`hotspot.priority_report`'s; the top places are the hotspot analysis of
``GET /v1/hotspots`` (:func:`api.services.hotspots.run_analysis`, its default method and
parameters) of each priority over the period; the dosage is
:func:`api.services.dosage.period_dosage`'s. :mod:`api.routes.reports` and ``hotspot report``
(:mod:`api.cli.report`) call :func:`make_report`; the report pages (:mod:`maps.report_page`)
render :func:`stored_report`'s document.
"""

from __future__ import annotations

import io
import json
import re
import threading
import uuid
import zipfile
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from api.formats import ATTRIBUTION, csv_cell
from api.limits import WorkLimits
from api.service_errors import InvalidInput, NotFound, ServiceBusy
from api.services.dosage import period_dosage
from api.services.hotspots import AnalysisOptions, latest_complete_month, run_analysis
from api.services.selection import Selection
from geodata.harm import HarmTable
from geodata.schema import IncidentFilter
from geodata.stores import ReportStore, Store
from geodata.taxonomy import OTHER, Taxonomy
from hotspot.errors import HotspotError, InvalidParameter
from hotspot.gridref import grid_reference_of
from hotspot.params import DEFAULT_METHOD
from hotspot.priority_report import (
    SERIOUS_ORGANISED_GROUPS,
    ReportPeriod,
    group_label,
    method_paragraph,
    month_index,
    parse_period,
    priority_figures,
    report_tables,
    serious_organised_statement,
)

KIND = "priority"
"""The kind of report (the store keeps the kind beside each report)."""
TOP_PLACES = 10
"""Top places listed per priority."""
UNMAPPED = "unmapped"
"""The group of incidents whose category the taxonomy no longer knows (priority ``other``)."""
BUSY_RETRY_S = 30.0
_REPORT_ID = re.compile(r"^[0-9a-f]{16}$")
_TABLE_NAME = re.compile(r"^[a-z_]{1,40}$")
_one_at_a_time = threading.Lock()
"""Reports are made one at a time (each reads two years of a period's incidents and runs an
analysis per priority)."""

TREND_BASIS = ("A place's trend compares its incidents with those inside it in the same length "
               "of time just before the period (the hotspot engine's trend: up or down when the "
               "binomial test gives p < 0.05, else flat); its emerging class is the engine's "
               "emerging hot spot class over the 12 months to the period's end (none with too "
               "few months).")


def period_of(text: Any) -> ReportPeriod:
    """The report period ``text`` names; 422 naming ``period`` for anything else."""
    try:
        return parse_period(text)
    except InvalidParameter as exc:
        raise InvalidInput(str(exc), field="period") from None


def _local(seconds: int, timezone: str) -> datetime:
    return pd.Timestamp(seconds, unit="s", tz="UTC").tz_convert(timezone).to_pydatetime()


def _check_coverage(store: Store, period: ReportPeriod, counts: np.ndarray) -> None:
    """422 (naming ``period``) unless every month of the period and of the year before holds
    incidents, and the period's last month is complete in the store."""
    k = len(period.months)
    prev = period.previous()
    empty = [m for m, n in zip(period.months, counts[:k], strict=True) if n == 0]
    if empty:
        what = ("no incidents at all" if len(empty) == k else
                f"no incidents in {', '.join(empty[:6])}{'...' if len(empty) > 6 else ''}")
        raise InvalidInput(f"the store holds {what} for {period.label}: a report needs every "
                           "month of its period loaded", field="period")
    latest = latest_complete_month(store)
    if latest is not None and period.months[-1] > latest:
        raise InvalidInput(f"{period.label} is not complete in the store: its data runs to "
                           f"{latest}, the last whole month", field="period")
    missing = [m for m, n in zip(prev.months, counts[k:], strict=True) if n == 0]
    if missing:
        what = ("holds no incidents" if len(missing) == k else
                f"has no incidents in {', '.join(missing[:6])}"
                f"{'...' if len(missing) > 6 else ''}")
        raise InvalidInput(f"the store {what} for {prev.label}, the same period a year before, "
                           "so there is nothing to compare with: a report needs both",
                           field="period")


def _groups(taxonomy: Taxonomy) -> dict[str, list[tuple[str, str]]]:
    """Each priority's groups (key, label), in the taxonomy's order of categories."""
    members: dict[str, dict[str, list[str]]] = {p: {} for p in taxonomy.priorities}
    for cat in taxonomy.categories.values():
        members.setdefault(cat.priority, {}).setdefault(cat.group, []).append(cat.label)
    out = {p: [(g, group_label(g, labels)) for g, labels in gs.items()]
           for p, gs in members.items()}
    if OTHER in out and UNMAPPED not in {g for g, _ in out[OTHER]}:
        out[OTHER].append((UNMAPPED, group_label(UNMAPPED)))
    return out


def _priority_and_group(categories: Any, taxonomy: Taxonomy
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Each incident's priority and group (a category the taxonomy no longer knows: ``other``
    and :data:`UNMAPPED`)."""
    codes, uniques = pd.factorize(np.asarray(categories, dtype=object), use_na_sentinel=False)
    prio = np.array([taxonomy.categories[str(c)].priority if str(c) in taxonomy.categories
                     else OTHER for c in uniques] + [OTHER], dtype=object)
    group = np.array([taxonomy.categories[str(c)].group if str(c) in taxonomy.categories
                      else UNMAPPED for c in uniques] + [UNMAPPED], dtype=object)
    return prio[codes], group[codes]


def _top_places(store: Store, taxonomy: Taxonomy, settings: Any, key: str, start: int,
                end: int, harm: HarmTable | None) -> tuple[list[dict[str, Any]], str | None]:
    """The priority's top places in ``[start, end)`` from the hotspot engine (the analysis of
    ``GET /v1/hotspots`` with its default method), and a note when there are none."""
    try:
        result, _meta = run_analysis(
            store, taxonomy, method=DEFAULT_METHOD,
            selection=Selection(start=start, end=end, priority=key),
            options=AnalysisOptions(harm=harm), limits=WorkLimits.from_settings(settings))
    except (HotspotError, InvalidInput) as exc:
        return [], f"no places: the hotspot analysis refused this priority ({exc})"
    table = result.hotspots
    if not len(table):
        return [], "the hotspot analysis found no places for this priority in the period"
    rows = table.sort_values("rank").head(TOP_PLACES)
    places = []
    for r in rows.itertuples():
        emerging = getattr(r, "emerging", None)
        place = getattr(r, "place", None)
        places.append({
            "rank": int(r.rank), "hotspot_id": str(r.id),
            "place": place if isinstance(place, str) else "",
            # places can share a name (several in one town): the 100 m square tells them apart
            "grid_ref": grid_reference_of(float(r.geometry.centroid.x),
                                          float(r.geometry.centroid.y), store.crs, 6),
            "incidents": int(r.incidents), "context_class": str(r.context_class),
            "trend": str(getattr(r, "trend", "unknown")),
            "emerging_class": emerging if isinstance(emerging, str) and emerging else None,
        })
    return places, None


def build_report(store: Store, settings: Any, taxonomy: Taxonomy, period: ReportPeriod, *,
                 created_by: str, harm: HarmTable | None = None,
                 progress: Callable[[float, str], None] | None = None) -> dict[str, Any]:
    """The report document of ``period`` (not stored; see :func:`make_report`); ``progress``
    hears the share done (0-1) and the stage in words.

    Raises
    ------
    InvalidInput
        Naming ``period``: a month of the period or of the year before holds no incidents, or
        the period's last month is not complete in the store.
    """
    step = progress or (lambda _done, _stage: None)
    step(0.02, f"reading the incidents of {period.label} and the year before")
    tz = store.timezone
    prev = period.previous()
    start, end = period.bounds(tz)
    prev_start, _prev_end = prev.bounds(tz)
    cols = store.incidents(IncidentFilter(start=prev_start, end=end), extra=("crime_type",),
                           lonlat=False)
    k = len(period.months)
    month = month_index(cols.occurred_at, tz, [*period.months, *prev.months])
    counts = np.bincount(month[month >= 0], minlength=2 * k)
    _check_coverage(store, period, counts)
    weights = (harm or HarmTable.builtin()).weights(cols.extra["crime_type"], cols.category)
    priority, group = _priority_and_group(cols.category, taxonomy)
    labels = {p: text.split(":")[0].strip() for p, text in taxonomy.priorities.items()}
    totals, priorities = priority_figures(
        priority, group, weights.values, month, period=period, priorities=labels,
        groups=_groups(taxonomy))
    for i, p in enumerate(priorities):
        step(0.1 + 0.8 * i / max(1, len(priorities)),
             f"top places of {p['label']} (priority {i + 1} of {len(priorities)})")
        p["description"] = taxonomy.priorities[p["key"]]
        p["in_plan"] = p["key"] != OTHER
        p["top_places"], p["top_places_note"] = (
            _top_places(store, taxonomy, settings, p["key"], start, end, harm)
            if p["in_plan"] and p["figures"]["incidents"] else
            ([], None if p["in_plan"] else "crime outside the plan's priorities: no places "
             "listed"))
        if p["top_places_note"] is None and p["in_plan"] and not p["top_places"]:
            p["top_places_note"] = "no incidents of this priority in the period"
        keys = {g["key"] for g in p["groups"]}
        p["statement"] = (serious_organised_statement(p["groups"], period.label)
                          if keys & set(SERIOUS_ORGANISED_GROUPS) else None)
    step(0.92, "patrol dosage")
    dosage = period_dosage(store, _local(start, tz), _local(end, tz))
    period_dict = period.to_dict(tz)
    document: dict[str, Any] = {
        "report_id": uuid.uuid4().hex[:16],
        "kind": KIND,
        **period_dict,
        "previous": prev.to_dict(tz),
        "timezone": tz,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "created_by": created_by,
        "data_version": cols.data_version,
        "attribution": ATTRIBUTION,
        "test": method_paragraph(),
        "harm": {"unit": "days of custody (Cambridge Crime Harm Index)",
                 "approximate": weights.approximate, "sources": list(weights.sources)},
        "top_places_method": {"method": DEFAULT_METHOD, "per_priority": TOP_PLACES,
                              "trend_basis": TREND_BASIS},
        "totals": totals,
        "priorities": priorities,
        "dosage": dosage,
    }
    document["tables"] = report_tables(priorities, totals, dosage)
    return document


def _summary(document: Mapping[str, Any]) -> dict[str, Any]:
    """What a report's listing shows: the period in words and each priority's headline."""
    return {
        "period_label": document["period_label"],
        "previous_period": document["previous"]["period"],
        "incidents": document["totals"]["incidents"],
        "previous": document["totals"]["previous"],
        "priorities": [{"key": p["key"], "label": p["label"],
                        "incidents": p["figures"]["incidents"],
                        "previous": p["figures"]["previous"],
                        "verdict": p["figures"]["verdict"]} for p in document["priorities"]],
    }


def make_report(store: Store, settings: Any, *, period: str, created_by: str,
                taxonomy: Taxonomy | None = None,
                harm: HarmTable | None = None,
                progress: Callable[[float, str], None] | None = None,
                wait_s: float = 0.0) -> dict[str, Any]:
    """Make the report of ``period`` and store it (its exact JSON text, with the store's data
    version); return the document. One report is made at a time.

    Parameters
    ----------
    store
        The store to report on and keep the report in.
    settings
        The service's settings (the taxonomy and harm table when not given, the work limits).
    period
        ``YYYY-MM``, ``YYYY-Qn``, ``YYYY`` or ``YYYY-MM-YTD``.
    created_by
        Who asked (a key's name).
    taxonomy, harm
        The taxonomy and harm table (loaded from ``settings`` when None).
    progress
        Hears the share done (0-1) and the stage in words (a job, a progress bar).
    wait_s
        How long to wait for another report being made to finish, seconds (0: not at all).

    Raises
    ------
    InvalidInput
        Naming ``period``: not a period, or one the store cannot report on (no data, not
        complete, or nothing to compare with).
    ServiceBusy
        Another report is being made (503, try again shortly), for longer than ``wait_s``.
    """
    wanted = period_of(period)
    if taxonomy is None:
        taxonomy = Taxonomy.load(settings.taxonomy_path)
    if harm is None:
        harm = HarmTable.load(settings.harm_table)
    got = _one_at_a_time.acquire(blocking=False)
    if not got and wait_s > 0:
        if progress:
            progress(0.0, "waiting for another report to be finished")
        got = _one_at_a_time.acquire(timeout=wait_s)
    if not got:
        raise ServiceBusy("another report is being made; try again in a minute", BUSY_RETRY_S)
    try:
        document = build_report(store, settings, taxonomy, wanted, created_by=created_by,
                                harm=harm, progress=progress)
        text = json.dumps(document, ensure_ascii=False, separators=(",", ":"),
                          allow_nan=False)
        start, end = wanted.bounds(store.timezone)
        store.add_report(document["report_id"], kind=KIND, period=wanted.key, start=start,
                         end=end, created_by=created_by, data_version=document["data_version"],
                         summary=_summary(document), document=text)
    finally:
        _one_at_a_time.release()
    return json.loads(text)  # as stored


def stored_report_text(store: ReportStore, report_id: str) -> tuple[dict[str, Any], str]:
    """A stored report's listing and its exact JSON text; 404 naming ``report_id`` when there
    is none."""
    found = store.report(report_id) if _REPORT_ID.match(report_id or "") else None
    if found is None:
        raise NotFound(f"no report {report_id[:40]!r}; GET /v1/reports lists them",
                       field="report_id")
    return found


def stored_report(store: ReportStore, report_id: str) -> dict[str, Any]:
    """A stored report's document, as it was made; 404 naming ``report_id`` when there is
    none."""
    return json.loads(stored_report_text(store, report_id)[1])


def listed_reports(store: ReportStore, limit: int = 100) -> list[dict[str, Any]]:
    """The stored reports' listings, newest first, each with its links."""
    return [with_links(r) for r in store.list_reports(limit)]


def listing_of(document: Mapping[str, Any]) -> dict[str, Any]:
    """What ``POST /v1/reports`` answers with: a made report's listing, its tables and links."""
    listing = {k: document[k] for k in ("report_id", "kind", "period", "period_label", "start",
                                        "end", "created_at", "created_by", "data_version")}
    listing["previous"] = document["previous"]
    listing["tables"] = [t["name"] for t in document["tables"]]
    return with_links(listing)


def with_links(record: Mapping[str, Any]) -> dict[str, Any]:
    """A report's listing with the addresses of its forms."""
    rid = record["report_id"]
    return {**record, "links": {
        "self": f"/v1/reports/{rid}", "csv": f"/v1/reports/{rid}/csv",
        "page": f"/reports/{rid}", "pdf": f"/reports/{rid}.pdf"}}


def report_table(document: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The table ``name`` of a report; 404 naming ``name`` when it has none."""
    for table in document.get("tables") or ():
        if table["name"] == name:
            return dict(table)
    names = ", ".join(t["name"] for t in document.get("tables") or ())
    raise NotFound(f"the report has no table {name[:40]!r}; its tables are {names}",
                   field="name")


def table_csv(table: Mapping[str, Any]) -> bytes:
    """A report table as CSV (UTF-8, a header line, cells safe from spreadsheet formulas)."""
    frame = pd.DataFrame([[csv_cell(v) for v in row] for row in table["rows"]],
                         columns=list(table["columns"]))
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue().encode("utf-8")


def about_text(document: Mapping[str, Any]) -> str:
    """What the zip of a report's tables says about them: the period, the data version, the
    test, the attribution."""
    lines = [
        f"Priority report {document['report_id']}: {document['period_label']} "
        f"({document['start']} to {document['end']}, end excluded), against "
        f"{document['previous']['period_label']}.",
        f"Made {document['created_at']} by {document['created_by'] or 'unknown'} from data "
        f"version {document['data_version']}.",
        "",
        "The test: " + str(document["test"]),
        "",
        "Harm is in " + str(document.get("harm", {}).get("unit", "days of custody")) + ".",
        "",
        "Tables:",
        *(f"  {t['name']}.csv: {t['title']}" for t in document["tables"]),
        "",
        str(document["attribution"]),
    ]
    return "\n".join(lines) + "\n"


def tables_zip(document: Mapping[str, Any]) -> bytes:
    """Every table of a report as CSV in one zip, with ``ABOUT.txt`` (the period, data
    version, test and attribution); the same bytes every time for one report."""
    buffer = io.BytesIO()
    stamp = (1980, 1, 1, 0, 0, 0)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(zipfile.ZipInfo("ABOUT.txt", stamp), about_text(document).encode("utf-8"),
                   compress_type=zipfile.ZIP_DEFLATED)
        for table in document["tables"]:
            if _TABLE_NAME.match(str(table["name"])):
                z.writestr(zipfile.ZipInfo(f"{table['name']}.csv", stamp), table_csv(table),
                           compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def download_name(document: Mapping[str, Any], suffix: str) -> str:
    """A file name for a report's download: ``priority-report-2024-Q2-<id><suffix>``."""
    return f"priority-report-{document['period']}-{document['report_id']}{suffix}"


def table_names(document: Mapping[str, Any]) -> Sequence[str]:
    """The names of a report's tables."""
    return [t["name"] for t in document.get("tables") or ()]
