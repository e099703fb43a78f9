"""The priority reports' pages (staff): the list of stored reports with the form that makes one,
a report's page (what the accountability meeting reads), and that page printed to PDF by
headless Chromium. The report's data, its CSV and the making of it are
:mod:`api.routes.reports`."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import SettingsDep, StoreDep
from api.pages import caller, page_nav
from api.services.hotspots import first_month, latest_complete_month
from api.services.pdf import html_to_pdf
from api.services.reports import download_name, listed_reports, stored_report
from api.services.stored_plans import public_base
from maps.report_page import report_page_html, reports_list_html

router = APIRouter(tags=["report pages"])

ASSETS = "/static"
"""Where the service serves its static files."""
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_PAGE_HEADERS = {"Cache-Control": "private, no-cache"}


@router.get("/reports", response_class=HTMLResponse)
def reports_page(request: Request, store: StoreDep) -> HTMLResponse:
    """The priority reports: the stored ones, newest first, each with its page, PDF and CSV,
    and a form that makes one for a period (a month, a quarter, a year to date, a year)."""
    return HTMLResponse(
        reports_list_html(listed_reports(store), latest=latest_complete_month(store),
                          earliest=first_month(store),
                          nav=page_nav(request, store, "reports"), assets=ASSETS),
        headers=_PAGE_HEADERS)


@router.get("/reports/{report_id}.pdf", responses={
    200: {"content": {"application/pdf": {}},
          "description": "The report's page printed to A4 (a download)."},
    404: {"description": "No such report."},
    429: {"description": "The key has its analyses running, or started its minute's worth "
                         "(a print counts as one): Retry-After says when to ask again."},
    503: {"description": "Chromium is not installed (HOTSPOT_CHROMIUM), failed, or took "
                         "longer than HOTSPOT_PDF_TIMEOUT_S; or the service runs as many "
                         "analyses as it may."}})
def report_pdf(report_id: str, request: Request, store: StoreDep,
               settings: SettingsDep) -> Response:
    """A stored report as a printable PDF: its page on A4, each priority on its own page,
    printed by headless Chromium from the page itself (nothing fetched); its links lead to
    the service (``HOTSPOT_PUBLIC_URL`` when set)."""
    document = stored_report(store, report_id)
    html = report_page_html(document, assets=ASSETS, base=public_base(request, settings))
    # a print holds a worker thread for up to HOTSPOT_PDF_TIMEOUT_S: one of the key's
    # analyses, as POST /v1/reports/{id}/pdf counts (else one key's burst of prints stalls
    # every other request behind them)
    release = request.app.state.analysis_budget.admit(caller(request))
    try:
        pdf = html_to_pdf(html, settings)
    finally:
        release()
    name = _UNSAFE_NAME.sub("-", download_name(document, ".pdf"))
    return Response(pdf, media_type="application/pdf",
                    headers={**_PAGE_HEADERS,
                             "Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/reports/{report_id}", response_class=HTMLResponse,
            responses={404: {"description": "No such report."}})
def report_page(report_id: str, request: Request, store: StoreDep) -> HTMLResponse:
    """A stored report's page, exactly as it was made: the priorities against the year before
    with the test's verdict in words, a chart of each priority's months, its groups and top
    places, serious organised crime's statement, the patrol dosage, and each table's CSV."""
    document = stored_report(store, report_id)
    return HTMLResponse(report_page_html(document, assets=ASSETS,
                                         nav=page_nav(request, store, "reports")),
                        headers=_PAGE_HEADERS)
