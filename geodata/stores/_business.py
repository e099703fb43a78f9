"""Incidents reported by businesses through the retail partnership, their own source, written
once for both stores (SQL in ``geodata/sql/queries/business.sql``).

They are kept apart from police-recorded incidents (their own table, never read by
:meth:`~geodata.stores.base.IncidentStore.incidents`) and do not change the data version:
hotspots and analyses never see them.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from geodata.errors import InvalidValue
from geodata.stores._relational import NUL, SQLRunner
from geodata.stores._shared import check_text

BUSINESS_COLUMNS = ("report_id", "submitted_by", "submitted_at", "occurred_at", "category", "x",
                    "y", "lon", "lat", "business", "value_pence", "description")
"""A business report's columns, in the order the queries read them."""
_TEXT = ("submitted_by", "category", "business", "description")
_FLOAT = ("x", "y", "lon", "lat")
_FAR = 2**62
"""An instant no report reaches (seconds since the epoch): the bounds of an open period."""


def business_record(row: Sequence[Any]) -> dict[str, Any]:
    """A stored business report as a dict (``submitted_at`` ISO 8601 in UTC to the second)."""
    out = dict(zip(BUSINESS_COLUMNS, row, strict=True))
    at = out["submitted_at"]
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    out["submitted_at"] = at.astimezone(UTC).isoformat(timespec="seconds")
    out["occurred_at"] = int(out["occurred_at"])
    out["value_pence"] = None if out["value_pence"] is None else int(out["value_pence"])
    for name in _FLOAT:
        out[name] = float(out[name])
    return out


def _checked(record: dict[str, Any]) -> dict[str, Any]:
    """The columns to write from ``record`` (types checked; the API checks the values)."""
    check_text(record, "the business report")
    out: dict[str, Any] = {}
    for name in _TEXT:
        value = record.get(name, "" if name in ("business", "description") else None)
        if not isinstance(value, str) or (name in ("submitted_by", "category") and not value):
            raise InvalidValue(f"{name} must be text", field=name)
        out[name] = value
    for name in _FLOAT:
        value = record.get(name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value):
            raise InvalidValue(f"{name} must be a finite number", field=name)
        out[name] = float(value)
    for name in ("occurred_at", "value_pence"):
        value = record.get(name)
        if value is None and name == "value_pence":
            out[name] = None
            continue
        if isinstance(value, bool) or not isinstance(value, int) or abs(value) >= _FAR:
            raise InvalidValue(f"{name} must be a whole number", field=name)
        out[name] = value
    return out


class BusinessRecords(SQLRunner):
    """:class:`~geodata.stores.base.BusinessReportStore` over a store's connections."""

    def add_business_report(self, record: dict[str, Any]) -> dict[str, Any]:
        """Store one business report under a new id (see :class:`Store`)."""
        values = _checked(record)
        report_id = "br_" + secrets.token_hex(8)
        with self._transaction() as conn:
            self._run(conn, "add_business_report", report_id=report_id, **values)
            row = self._one(conn, "business_report", report_id=report_id)
        return business_record(row)

    def business_report(self, report_id: str) -> dict[str, Any] | None:
        """One report, or None (see :class:`Store`)."""
        if NUL in report_id:
            return None
        with self._connection() as conn:
            row = self._one(conn, "business_report", report_id=report_id)
        return None if row is None else business_record(row)

    @staticmethod
    def _which(submitted_by: str | None, start: int | None, end: int | None) -> dict[str, Any]:
        return {"everyone": submitted_by is None, "submitted_by": submitted_by or "",
                "start": -_FAR if start is None else int(start),
                "end": _FAR if end is None else int(end)}

    def business_reports(self, *, submitted_by: str | None = None, start: int | None = None,
                         end: int | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        """Reports, latest occurrence first (see :class:`Store`)."""
        if submitted_by is not None and NUL in submitted_by:
            return []
        with self._connection() as conn:
            rows = self._all(conn, "business_reports", limit=int(limit),
                             **self._which(submitted_by, start, end))
        return [business_record(r) for r in rows]

    def count_business_reports(self, *, submitted_by: str | None = None,
                               start: int | None = None, end: int | None = None) -> int:
        """How many reports :meth:`business_reports` would list without a limit."""
        if submitted_by is not None and NUL in submitted_by:
            return 0
        with self._connection() as conn:
            row = self._one(conn, "count_business_reports",
                            **self._which(submitted_by, start, end))
        return int(row[0])

    def count_business_submissions(self, submitted_by: str, *, since: datetime) -> int:
        """How many reports one submitter has stored since ``since`` (see :class:`Store`)."""
        if NUL in submitted_by:
            return 0
        if since.tzinfo is None:
            raise InvalidValue("since must be an aware datetime", field="since")
        with self._connection() as conn:
            row = self._one(conn, "count_business_submissions", submitted_by=submitted_by,
                            since=since.astimezone(UTC).isoformat(timespec="seconds"))
        return int(row[0])
