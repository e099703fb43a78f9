"""Loading a source into a store, and the report of what happened to every row.

The report says, for a whole file, how many rows were accepted, skipped as duplicates and
rejected (by reason), and row by row which lines: accepted and duplicate lines as ranges,
rejected lines one by one with the reason. Details are capped (``max_detail``) so a file of
junk cannot exhaust memory; counts are never capped, and ``on_rejected`` sees every rejected
row as it happens.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from geodata.readers.base import IncidentReader
from geodata.schema import PRECISION_NAMES, IncidentTable, RejectedRow
from geodata.stores.base import (
    DUPLICATE_IN_STORE,
    FORCE,
    INSERTED,
    REPEATED_IN_SOURCE,
    Store,
)

MAX_DETAIL = 10_000
"""Most rejected rows, and most line ranges, kept in a report (counts are always complete)."""


class LineRanges:
    """Ascending line numbers kept as ``[first, last]`` runs, at most ``cap`` of them."""

    def __init__(self, cap: int = MAX_DETAIL) -> None:
        self.cap = cap
        self.ranges: list[list[int]] = []
        self.truncated = False
        self.count = 0

    def add(self, lines: np.ndarray) -> None:
        """Add ascending line numbers."""
        self.count += int(lines.shape[0])
        if lines.shape[0] == 0 or self.truncated:
            return
        breaks = np.flatnonzero(np.diff(lines) != 1)
        firsts = np.concatenate([[lines[0]], lines[breaks + 1]])
        lasts = np.concatenate([lines[breaks], [lines[-1]]])
        for a, b in zip(firsts.tolist(), lasts.tolist(), strict=True):
            if self.ranges and self.ranges[-1][1] + 1 == a:
                self.ranges[-1][1] = b
            elif len(self.ranges) >= self.cap:
                self.truncated = True
                return
            else:
                self.ranges.append([a, b])


@dataclass
class IngestReport:
    """What an ingest did. :meth:`to_dict` is the JSON the CLI and the API print."""

    source: str
    format: str
    records: int = 0
    accepted: int = 0
    duplicates_in_store: int = 0
    repeated_in_source: int = 0
    rejected: int = 0
    rejected_by_reason: Counter[str] = field(default_factory=Counter)
    rejected_rows: list[RejectedRow] = field(default_factory=list)
    rejected_rows_truncated: bool = False
    accepted_lines: LineRanges = field(default_factory=LineRanges)
    duplicate_lines: LineRanges = field(default_factory=LineRanges)
    categories: Counter[str] = field(default_factory=Counter)
    precision: Counter[str] = field(default_factory=Counter)
    period: tuple[int, int] | None = None
    stacking: dict[str, Any] = field(default_factory=dict)
    read: dict[str, Any] = field(default_factory=dict)
    data_version: str = ""
    elapsed_s: float = 0.0

    @property
    def duplicates(self) -> int:
        """Rows skipped as duplicates (already stored, or repeated within the source)."""
        return self.duplicates_in_store + self.repeated_in_source

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        rate = self.records / self.elapsed_s if self.elapsed_s > 0 else None
        return {
            "source": self.source,
            "format": self.format,
            "counts": {
                "records": self.records,
                "accepted": self.accepted,
                "duplicates": self.duplicates,
                "duplicates_already_stored": self.duplicates_in_store,
                "duplicates_repeated_in_file": self.repeated_in_source,
                "rejected": self.rejected,
            },
            "rejected_by_reason": dict(sorted(self.rejected_by_reason.items())),
            "rejected_rows": [r.to_dict() for r in self.rejected_rows],
            "rejected_rows_truncated": self.rejected_rows_truncated,
            "accepted_lines": self.accepted_lines.ranges,
            "accepted_lines_truncated": self.accepted_lines.truncated,
            "duplicate_lines": self.duplicate_lines.ranges,
            "duplicate_lines_truncated": self.duplicate_lines.truncated,
            "categories": dict(self.categories.most_common()),
            "time_precision": dict(self.precision),
            "period": None
            if self.period is None
            else {"first": _iso(self.period[0]), "last": _iso(self.period[1])},
            "stacking": self.stacking,
            "read": self.read,
            "data_version": self.data_version,
            "elapsed_s": round(self.elapsed_s, 3),
            "rows_per_s": None if rate is None else round(rate),
        }


def _iso(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def stacking_summary(
    x: np.ndarray, y: np.ndarray, lon: np.ndarray, lat: np.ndarray, top: int = 10
) -> dict[str, Any]:
    """How incidents pile up on shared points (data.police.uk snaps crimes to map points).

    Returns the number of distinct points, the most incidents on one point, the share of
    incidents on the busiest 1% of points and on points holding 10 or more, and the ``top``
    busiest points.
    """
    n = int(x.shape[0])
    if n == 0:
        return {"incidents": 0, "distinct_points": 0}
    key = np.round(x, 1) + 1j * np.round(y, 1)
    uniq, first, counts = np.unique(key, return_index=True, return_counts=True)
    order = np.argsort(-counts, kind="stable")
    busiest_1pct = max(1, int(np.ceil(0.01 * uniq.shape[0])))
    return {
        "incidents": n,
        "distinct_points": int(uniq.shape[0]),
        "max_on_one_point": int(counts.max()),
        "share_on_busiest_1pct_of_points": round(float(counts[order[:busiest_1pct]].sum()) / n, 4),
        "share_on_points_with_10_or_more": round(float(counts[counts >= 10].sum()) / n, 4),
        "busiest_points": [
            {
                "incidents": int(counts[k]),
                "lon": round(float(lon[first[k]]), 6),
                "lat": round(float(lat[first[k]]), 6),
                "x": round(float(x[first[k]]), 1),
                "y": round(float(y[first[k]]), 1),
            }
            for k in order[:top]
        ],
        "note": "many incidents share exact coordinates (data.police.uk moves every crime to "
        "one of about 750,000 anonymous map points); all are kept, and a busy point can be a "
        "hotspot by itself",
    }


def ingest(
    store: Store,
    reader: IncidentReader,
    *,
    purpose: str = FORCE,
    on_rejected: Callable[[RejectedRow], None] | None = None,
    on_progress: Callable[[int, int | None], None] | None = None,
    max_detail: int = MAX_DETAIL,
) -> IngestReport:
    """Read a source into a store in one transaction and report on every row.

    Parameters
    ----------
    store
        Where the incidents go.
    reader
        A streaming reader (:mod:`geodata.readers`).
    purpose
        ``"force"`` for a force's data, ``"demo"`` for the demo area; a store never mixes them.
    on_rejected
        Called with every rejected row, as it is found.
    on_progress
        Called with ``(bytes_read, total_bytes or None)`` after every chunk.
    max_detail
        Most rejected rows and line ranges kept in the report.

    Raises
    ------
    InvalidFile
        If the source cannot be read at all (empty, wrong header); nothing is stored.
    StorePurposeError
        If the store holds the other kind of data; nothing is stored.
    """
    started = time.perf_counter()
    report = IngestReport(source="", format=reader.format)
    report.accepted_lines = LineRanges(max_detail)
    report.duplicate_lines = LineRanges(max_detail)
    seen = _Seen()
    with store.writer(source=_source_name(reader), format=reader.format, purpose=purpose) as w:
        for chunk in reader:
            table = chunk.incidents
            status = w.add(table)
            inserted = status == INSERTED
            _count_statuses(report, table, status)
            _note_rejected(report, chunk.rejected, max_detail, on_rejected)
            if len(table):
                seen.add(report, table, inserted)
            if on_progress is not None:
                on_progress(chunk.bytes_read, reader.stats.total_bytes)
        w.end_of_input()
        report.source = reader.stats.source
        report.records = reader.stats.records
        report.read = reader.stats.to_dict()
        seen.summarise(report)
        report.elapsed_s = time.perf_counter() - started
        summary = report.to_dict()
        summary.pop("rejected_rows")
        summary.pop("accepted_lines")
        summary.pop("duplicate_lines")
        report.data_version = w.finish(summary)
    report.elapsed_s = time.perf_counter() - started
    return report


def _count_statuses(report: IngestReport, table: IncidentTable, status: np.ndarray) -> None:
    """Count a chunk's rows by what the store did with them, and note their lines."""
    inserted = status == INSERTED
    report.accepted += int(inserted.sum())
    report.duplicates_in_store += int((status == DUPLICATE_IN_STORE).sum())
    report.repeated_in_source += int((status == REPEATED_IN_SOURCE).sum())
    report.accepted_lines.add(table.line[inserted])
    report.duplicate_lines.add(table.line[~inserted])


def _note_rejected(report: IngestReport, rejected: list[RejectedRow], max_detail: int,
                   on_rejected: Callable[[RejectedRow], None] | None) -> None:
    """Count a chunk's rejected rows by reason, keep the first ``max_detail``, pass each on."""
    for row in rejected:
        report.rejected += 1
        report.rejected_by_reason[row.reason] += 1
        if len(report.rejected_rows) < max_detail:
            report.rejected_rows.append(row)
        else:
            report.rejected_rows_truncated = True
        if on_rejected is not None:
            on_rejected(row)


class _Seen:
    """What the read rows held, gathered chunk by chunk: their period and their coordinates."""

    def __init__(self) -> None:
        self.xs: list[np.ndarray] = []
        self.ys: list[np.ndarray] = []
        self.lons: list[np.ndarray] = []
        self.lats: list[np.ndarray] = []
        self.first: int | None = None
        self.last: int | None = None

    def add(self, report: IngestReport, table: IncidentTable, inserted: np.ndarray) -> None:
        """Count the inserted rows' categories and precisions; note every row's time and place."""
        cols = table.columns
        counts = pd.Series(cols["category"][inserted], dtype=object).value_counts()
        report.categories.update({str(k): int(v) for k, v in counts.items()})
        precisions, precision_counts = np.unique(cols["precision"][inserted], return_counts=True)
        for precision, count in zip(precisions.tolist(), precision_counts.tolist(), strict=True):
            report.precision[PRECISION_NAMES[int(precision)]] += int(count)
        t = cols["occurred_at"]
        self.first = int(t.min()) if self.first is None else min(self.first, int(t.min()))
        self.last = int(t.max()) if self.last is None else max(self.last, int(t.max()))
        self.xs.append(cols["x"])
        self.ys.append(cols["y"])
        self.lons.append(cols["lon"])
        self.lats.append(cols["lat"])

    def summarise(self, report: IngestReport) -> None:
        """Set the report's period and its stacking summary."""
        report.period = None if self.first is None else (self.first, self.last)  # type: ignore[assignment]
        x, y, lon, lat = (np.concatenate(a) if a else np.empty(0)
                          for a in (self.xs, self.ys, self.lons, self.lats))
        report.stacking = stacking_summary(x, y, lon, lat)


def _source_name(reader: IncidentReader) -> str:
    name = getattr(reader, "name", "") or ""
    if not name:
        src = getattr(reader, "source", None)
        name = str(src) if isinstance(src, str) else getattr(src, "name", "") or "upload"
    return str(name)


# -- outcomes and stop and search files --------------------------------------------------------

INCIDENTS, OUTCOMES, STOP_SEARCH = "incidents", "outcomes", "stop-search"
KINDS = (INCIDENTS, OUTCOMES, STOP_SEARCH)
"""What a file holds: incidents (street-level, force export, GeoJSON), crime outcomes (joined to
stored incidents by Crime ID) or stop and search records."""
FOLDER_PATTERNS: tuple[tuple[str, str], ...] = (
    (INCIDENTS, "*-street.csv"), (OUTCOMES, "*-outcomes.csv"),
    (STOP_SEARCH, "*-stop-and-search.csv"))
"""The data.police.uk monthly files a downloaded folder holds, in the order they are loaded:
crimes first, so that the outcomes find them."""


def file_kind(head: bytes, name: str = "") -> str:
    """What a CSV holds, from its first bytes: :data:`OUTCOMES` or :data:`STOP_SEARCH` when its
    header is a data.police.uk outcomes or stop and search header, or when its header is
    neither but its ``name`` is one of data.police.uk's (``*-outcomes.csv``,
    ``*-stop-and-search.csv``: its reader then says which columns are missing), else
    :data:`INCIDENTS` (whose readers then say what they make of it). Never raises."""
    import csv
    import re

    from geodata.readers.outcomes import looks_like_outcomes_header
    from geodata.readers.stop_search import looks_like_stop_search_header

    text = head.decode("utf-8", "replace").lstrip("\ufeff \t\r\n")
    line = re.split(r"\r\n|\r|\n", text, maxsplit=1)[0]
    try:
        fields = next(csv.reader([line]), [])
    except csv.Error:
        return INCIDENTS
    if looks_like_outcomes_header(fields):
        return OUTCOMES
    if looks_like_stop_search_header(fields):
        return STOP_SEARCH
    lowered = name.lower()
    if lowered.endswith("-outcomes.csv"):
        return OUTCOMES
    if lowered.endswith("-stop-and-search.csv"):
        return STOP_SEARCH
    return INCIDENTS


def _rejected_summary(read: Any, max_detail: int,
                      on_rejected: Callable[[RejectedRow], None] | None) -> dict[str, Any]:
    """The rejected rows of an outcomes or stop and search read: every one counted by reason
    (the reader counted them; it may have kept only the first few), the first ``max_detail``
    listed, each given to ``on_rejected`` unless the reader already did."""
    rejected: list[RejectedRow] = read.rejected
    by_reason = dict(getattr(read, "rejected_by_reason", None)
                     or Counter(r.reason for r in rejected))
    if on_rejected is not None and not getattr(read, "passed_on", False):
        for row in rejected:
            on_rejected(row)
    return {"rejected_by_reason": dict(sorted(by_reason.items())),
            "rejected_rows": [r.to_dict() for r in rejected[:max_detail]],
            "rejected_rows_truncated": sum(by_reason.values()) > max_detail}


def load_outcomes(store: Store, source: Any, *, name: str = "",
                  on_rejected: Callable[[RejectedRow], None] | None = None,
                  max_detail: int = MAX_DETAIL) -> dict[str, Any]:
    """Read a data.police.uk outcomes file and apply it to the stored incidents by Crime ID
    (:meth:`~geodata.stores.base.StopSearchStore.apply_outcomes`: one transaction, never a
    new incident, the latest month wins); return its report.

    Returns
    -------
    dict
        ``source``, ``format``, ``kind`` (``"outcomes"``), ``counts`` (``records``,
        ``accepted``: rows read, ``rejected``, and the store's ``superseded``, ``matched``,
        ``updated``, ``unchanged``, ``unmatched``), ``rejected_by_reason``,
        ``rejected_rows``, ``read`` (the reader's stats), ``data_version``, ``elapsed_s``.

    Raises
    ------
    InvalidFile
        If the file is not an outcomes file at all; nothing is changed.
    """
    from geodata.readers.outcomes import read_outcomes

    started = time.perf_counter()
    read = read_outcomes(source, name=name, keep_rejected=max_detail, on_rejected=on_rejected)
    return outcomes_report(store, read, started=started, on_rejected=on_rejected,
                           max_detail=max_detail)


def outcomes_report(store: Store, read: Any, *, started: float,
                    on_rejected: Callable[[RejectedRow], None] | None = None,
                    max_detail: int = MAX_DETAIL) -> dict[str, Any]:
    """Apply an outcomes file already read (an :class:`~geodata.readers.outcomes.OutcomesRead`)
    and report it as :func:`load_outcomes` does (``started``: :func:`time.perf_counter` when
    the reading began)."""
    applied = store.apply_outcomes(read.frame)
    stats = read.stats.to_dict()
    applied.pop("offered")
    return {
        "source": read.stats.source, "format": read.stats.format, "kind": OUTCOMES,
        "counts": {"records": read.stats.records, "accepted": read.stats.accepted,
                   "rejected": int(stats["rejected"]), **applied},
        **_rejected_summary(read, max_detail, on_rejected),
        "read": stats, "data_version": store.data_version(),
        "elapsed_s": round(time.perf_counter() - started, 3),
    }


def load_stop_searches(store: Store, source: Any, options: Any = None, *, name: str = "",
                       on_rejected: Callable[[RejectedRow], None] | None = None,
                       max_detail: int = MAX_DETAIL) -> dict[str, Any]:
    """Read a data.police.uk stop and search file and store its records
    (:meth:`~geodata.stores.base.StopSearchStore.add_stop_searches`: apart from incidents,
    the same file twice adds nothing); return its report.

    Parameters
    ----------
    options
        The readers' :class:`~geodata.readers.ReadOptions` (store CRS, force area, time
        zone).

    Returns
    -------
    dict
        ``source``, ``format``, ``kind`` (``"stop-search"``), ``counts`` (``records``,
        ``accepted``: records stored, ``repeated``: already stored, ``rejected``),
        ``rejected_by_reason``, ``rejected_rows``, ``read``, ``data_version`` (unchanged by
        these records), ``elapsed_s``.

    Raises
    ------
    InvalidFile
        If the file is not a stop and search file at all; nothing is stored.
    """
    from geodata.readers.stop_search import read_stop_search

    started = time.perf_counter()
    read = read_stop_search(source, options, name=name, keep_rejected=max_detail,
                            on_rejected=on_rejected)
    return stop_search_report(store, read, started=started, on_rejected=on_rejected,
                              max_detail=max_detail)


def stop_search_report(store: Store, read: Any, *, started: float,
                       on_rejected: Callable[[RejectedRow], None] | None = None,
                       max_detail: int = MAX_DETAIL) -> dict[str, Any]:
    """Store a stop and search file already read (a
    :class:`~geodata.readers.stop_search.StopSearchRead`) and report it as
    :func:`load_stop_searches` does."""
    added = store.add_stop_searches(read.frame, source=source_label(read.stats.source))
    stats = read.stats.to_dict()
    return {
        "source": read.stats.source, "format": read.stats.format, "kind": STOP_SEARCH,
        "counts": {"records": read.stats.records, "accepted": added["accepted"],
                   "repeated": added["repeated"], "rejected": int(stats["rejected"])},
        **_rejected_summary(read, max_detail, on_rejected),
        "read": stats, "data_version": store.data_version(),
        "elapsed_s": round(time.perf_counter() - started, 3),
    }


def source_label(name: str | None, longest: int = 200) -> str:
    """A file's name as a stored source's label: at most ``longest`` characters (a longer name
    keeps its end, where a month and force are), ``upload`` when blank."""
    text = (name or "").strip()
    if not text:
        return "upload"
    return text if len(text) <= longest else "..." + text[-(longest - 3):]


def folder_summary(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """One report for the files of one load (a folder of monthly files): files loaded and not
    loaded, and the counts of each kind added up."""
    totals: dict[str, dict[str, int]] = {
        INCIDENTS: dict.fromkeys(("files", "records", "accepted", "duplicates", "rejected"), 0),
        OUTCOMES: dict.fromkeys(("files", "records", "rejected", "matched", "updated",
                                 "unchanged", "unmatched", "superseded"), 0),
        STOP_SEARCH: dict.fromkeys(("files", "records", "accepted", "repeated", "rejected"),
                                   0),
    }
    failed = []
    for report in reports:
        if "error" in report:
            failed.append({"source": report.get("source"), "error": report["error"]})
            continue
        kind = report.get("kind", INCIDENTS)
        bucket = totals.get(kind)
        if bucket is None:  # a neighbour's file: reported on its own
            continue
        bucket["files"] += 1
        for key in bucket:
            if key != "files":
                bucket[key] += int(report["counts"].get(key, 0))
    versions = [r["data_version"] for r in reports if r.get("data_version")]
    return {"files": len(reports), "not_loaded": failed, "incidents": totals[INCIDENTS],
            "outcomes": totals[OUTCOMES], "stop_searches": totals[STOP_SEARCH],
            "data_version": versions[-1] if versions else None}
