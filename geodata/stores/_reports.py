"""Stored priority reports (never changed), written once for both stores (SQL in
``geodata/sql/queries/reports.sql``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from geodata.errors import InvalidValue
from geodata.stores._relational import NUL, SQLRunner
from geodata.stores._shared import check_text

REPORT_COLUMNS = ("report_id", "kind", "period", "period_start", "period_end", "created_at",
                  "created_by", "data_version", "summary")
"""A stored report's columns, as listed (the document itself is read one at a time)."""
REPORT_ID_MAX = 64
"""The longest report id, in characters."""


def _record(row: Sequence[Any]) -> dict[str, Any]:
    """A stored report's listing from its :data:`REPORT_COLUMNS`: ``created_at`` as ISO 8601
    in UTC to the microsecond, the period's bounds as ints, ``summary`` parsed."""
    record = dict(zip(REPORT_COLUMNS, row, strict=True))
    created = record["created_at"]
    if isinstance(created, str):
        created = datetime.fromisoformat(created)
    record["created_at"] = created.astimezone(UTC).isoformat(timespec="microseconds")
    record["period_start"] = int(record["period_start"])
    record["period_end"] = int(record["period_end"])
    summary = record["summary"]
    record["summary"] = json.loads(summary) if isinstance(summary, str) else dict(summary or {})
    return record


class ReportRecords(SQLRunner):
    """:class:`~geodata.stores.base.ReportStore` over a store's connections."""

    def add_report(self, report_id: str, *, kind: str, period: str, start: int, end: int,
                   created_by: str, data_version: str, summary: dict[str, Any],
                   document: str) -> dict[str, Any]:
        """Store a report (see :class:`~geodata.stores.base.ReportStore`)."""
        if not isinstance(report_id, str) or not 0 < len(report_id) <= REPORT_ID_MAX:
            raise InvalidValue(f"a report id is 1 to {REPORT_ID_MAX} characters",
                               field="report_id")
        if not isinstance(document, str):
            raise InvalidValue("a report's document is its JSON text", field="document")
        check_text([report_id, kind, period, created_by, data_version, summary],
                   "the report's listing")
        check_text(document, "the report document")
        with self._transaction() as conn:
            self._run(conn, "add_report", report_id=report_id, kind=kind, period=period,
                      period_start=int(start), period_end=int(end), created_by=created_by,
                      data_version=data_version, summary=self._json(summary),
                      document=document)
            row = self._one(conn, "report", report_id=report_id)
        return _record(row[:-1])

    def report(self, report_id: str) -> tuple[dict[str, Any], str] | None:
        """A stored report's listing and document text, or None (see
        :class:`~geodata.stores.base.ReportStore`)."""
        if not isinstance(report_id, str) or NUL in report_id or len(report_id) > REPORT_ID_MAX:
            return None  # no stored report has such an id
        with self._connection() as conn:
            row = self._one(conn, "report", report_id=report_id)
        return None if row is None else (_record(row[:-1]), str(row[-1]))

    def list_reports(self, limit: int = 100) -> list[dict[str, Any]]:
        """The stored reports' listings, newest first (see
        :class:`~geodata.stores.base.ReportStore`)."""
        with self._connection() as conn:
            rows = self._all(conn, "list_reports", limit=max(int(limit), 0))
        return [_record(r) for r in rows]
