"""Priority reports (see :mod:`api.services.reports`): make one for a period (staff), list them,
read one exactly as it was stored, and its tables as CSV (one, or all of them in a zip). The
report pages (HTML, PDF) are :mod:`api.routes.report_pages`."""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from api.deps import SettingsDep, StoreDep, TaxonomyDep
from api.pages import caller, key_name
from api.services.jobs import accepted, job_owner, jobs_of
from api.services.reports import (
    download_name,
    listed_reports,
    listing_of,
    make_report,
    period_of,
    report_table,
    stored_report,
    stored_report_text,
    table_csv,
    tables_zip,
)
from api.services.stored_plans import public_base

router = APIRouter(tags=["priority reports"])

_IMMUTABLE = "private, max-age=3600, immutable"
"""A stored report never changes: its answers may be kept."""


class ReportIn(BaseModel):
    """A report to make."""

    model_config = ConfigDict(extra="forbid")
    period: str = Field(max_length=12, description="A month (YYYY-MM), a quarter (YYYY-Qn), a "
                        "year (YYYY) or a year to date (YYYY-MM-YTD: January to that month), "
                        "local time; every month of it and of the same period a year before "
                        "must be in the store.",
                        examples=["2024-06", "2024-Q2", "2024", "2024-06-YTD"])


def _served(request: Request, body: bytes, media_type: str, *,
            filename: str | None = None) -> Response:
    """``body`` tagged by its bytes (a stored report never changes: 304 for the tag held)."""
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": _IMMUTABLE}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    if filename:
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return Response(body, media_type=media_type, headers=headers)


@router.post("/v1/reports", status_code=201, responses={
    201: {"description": "Made and stored; Location names it. The body is its listing and "
                         "links (GET Location for the whole report)."},
    202: {"description": "With Prefer: respond-async: the report is being made as a job; "
                         "Location is the job's status (GET /v1/jobs/{job_id}), whose result "
                         "is the listing a 201 answers with."},
    422: {"description": "Not a period, or one the store cannot report on (a month with no "
                         "data, not complete yet, or no data a year before to compare with)."},
    429: {"description": "With Prefer: respond-async: this key has as many jobs queued or "
                         "running as a key may have."},
    503: {"description": "Another report is being made (Retry-After)."}})
async def create_report(request: Request, body: ReportIn, store: StoreDep,
                        taxonomy: TaxonomyDep, settings: SettingsDep,
                        prefer: str | None = Header(None, description="respond-async: make "
                                                    "the report as a job and answer 202 at "
                                                    "once (RFC 7240).")) -> JSONResponse:
    """Make the priority report of a period and store it: for each plan priority and its
    groups, incidents and harm against the same period a year before with the test of the
    change, the months, the top places and their trends, patrol dosage delivered against
    planned, and what the data can show of serious organised crime. A stored report is never
    changed: it is shown again exactly as it was made, whatever is loaded later. With
    ``Prefer: respond-async`` it is made as a job (202, ``Location`` the job's status and
    progress, priority by priority)."""
    who = caller(request)
    created_by = await run_in_threadpool(key_name, store, who) or (who.key_id if who else "")
    if prefer and "respond-async" in prefer.lower():
        period_of(body.period)  # not a period: 422 now, not a failed job
        request.app.state.analysis_budget.count(who)  # in the key's analyses a minute
        jobs = jobs_of(request)
        job = await run_in_threadpool(
            lambda: jobs.submit("report", {"period": body.period, "created_by": created_by},
                                owner=job_owner(request),
                                summary={"period": body.period}))
        return accepted(job)
    release = request.app.state.analysis_budget.admit(who)
    try:
        document = await run_in_threadpool(
            make_report, store, settings, period=body.period, created_by=created_by,
            taxonomy=taxonomy, harm=request.app.state.harm)
    finally:
        release()
    listing = listing_of(document)
    rid = document["report_id"]
    return JSONResponse(listing, status_code=201, headers={"Location": f"/v1/reports/{rid}"})


@router.post("/v1/reports/{report_id}/pdf", status_code=202, responses={
    202: {"description": "The PDF is being printed as a job; Location is the job's status "
                         "(GET /v1/jobs/{job_id}), its file at /v1/jobs/{job_id}/result."},
    404: {"description": "No such report."},
    429: {"description": "This key has as many jobs queued or running as a key may have."}})
async def print_report(report_id: str, request: Request, store: StoreDep,
                       settings: SettingsDep) -> JSONResponse:
    """Print a stored report's page to PDF as a job (the PDF of ``GET /reports/{id}.pdf``,
    printed by headless Chromium apart from the request)."""
    await run_in_threadpool(stored_report_text, store, report_id)  # 404 now, not a failed job
    who = caller(request)
    request.app.state.analysis_budget.count(who)  # in the key's analyses a minute
    jobs = jobs_of(request)
    base = public_base(request, settings)
    job = await run_in_threadpool(
        lambda: jobs.submit("report_pdf", {"report_id": report_id, "base": base},
                            owner=who.key_id if who else "", summary={"report_id": report_id}))
    return accepted(job)


@router.get("/v1/reports")
def list_reports(store: StoreDep, limit: int = Query(100, ge=1, le=500)) -> list[dict[str, Any]]:
    """The stored reports, newest first (each one's period, who made it, the data version and
    its headline figures; not the reports themselves)."""
    return listed_reports(store, limit)


@router.get("/v1/reports/{report_id}", responses={
    200: {"content": {"application/json": {}},
          "description": "The report exactly as it was stored."},
    404: {"description": "No such report."}})
def get_report(report_id: str, request: Request, store: StoreDep) -> Response:
    """A stored report, byte for byte as it was made (its data version says which data)."""
    _record, text = stored_report_text(store, report_id)
    return _served(request, text.encode("utf-8"), "application/json")


@router.get("/v1/reports/{report_id}/tables/{name}.csv", responses={
    200: {"content": {"text/csv": {}}, "description": "One table of the report."},
    404: {"description": "No such report, or no such table in it."}})
def get_report_table(report_id: str, name: str, request: Request, store: StoreDep) -> Response:
    """One table of a stored report as CSV (``priorities``, ``monthly``, ``top_places``,
    ``dosage_teams``, ``dosage_crews``, ``dosage_hotspots``, ``never_visited``)."""
    document = stored_report(store, report_id)
    table = report_table(document, name)
    return _served(request, table_csv(table), "text/csv; charset=utf-8",
                   filename=download_name(document, f"-{table['name']}.csv"))


@router.get("/v1/reports/{report_id}/csv", responses={
    200: {"content": {"application/zip": {}},
          "description": "Every table of the report as CSV, with ABOUT.txt, in a zip."},
    404: {"description": "No such report."}})
def get_report_csv(report_id: str, request: Request, store: StoreDep) -> Response:
    """Every table of a stored report as CSV files in one zip, with ``ABOUT.txt`` (the
    period, the data version, the test used and the attribution)."""
    document = stored_report(store, report_id)
    return _served(request, tables_zip(document), "application/zip",
                   filename=download_name(document, "-tables.zip"))
