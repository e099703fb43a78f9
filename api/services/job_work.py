"""The work of each kind of job (:mod:`api.services.jobs`): a backtest, a priority report, a
report's PDF and a cross-border analysis. Each is a function of the job's context (settings, store,
taxonomy, harm table), its parameters (plain JSON values, checked by the route that started
it) and a progress callback (share done 0-1, the stage in words), returning a
:class:`~api.services.jobs.JobResult`; it runs in a worker thread of the service or on an RQ worker
(``hotspot worker``), the same code either way. The result is what the synchronous request
answers with, byte for byte where the answer is bytes (apart from the time it was made)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from api.services.job_types import JobContext, JobResult, Progress

BACKTEST, REPORT, REPORT_PDF, CROSS_BORDER = "backtest", "report", "report_pdf", "cross_border"
"""The kinds of job."""
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def backtest(ctx: JobContext, params: dict[str, Any], progress: Progress) -> JobResult:
    """The backtest of ``params`` (:func:`backtest_params`): the stored result, or a new one run
    and stored. The result is the document ``GET /v1/backtest`` answers with."""
    from api.services.backtests import run_backtest, spec_from

    progress(0.0, "reading the incidents")
    document, _reused = run_backtest(ctx.store, spec_from(params), step=progress)
    link = "/v1/backtest" + (f"?priority={document['priority']}" if document["priority"] else "")
    return JobResult(document=document, location=link)


def report(ctx: JobContext, params: dict[str, Any], progress: Progress) -> JobResult:
    """Make and store the priority report of ``params["period"]`` (as ``POST /v1/reports``);
    the result is the listing ``POST /v1/reports`` answers with, and the report's address."""
    from api.services.reports import listing_of, make_report

    document = make_report(ctx.store, ctx.settings, period=str(params["period"]),
                           created_by=str(params.get("created_by") or ""),
                           taxonomy=ctx.taxonomy, harm=ctx.harm, progress=progress,
                           wait_s=600.0)
    listing = listing_of(document)
    return JobResult(document=listing, location=listing["links"]["self"])


def report_pdf(ctx: JobContext, params: dict[str, Any], progress: Progress) -> JobResult:
    """A stored report's page printed to PDF (as ``GET /reports/{id}.pdf``); the result is the
    PDF, served at ``/v1/jobs/{id}/result``."""
    from api.services.pdf import html_to_pdf
    from api.services.reports import download_name, stored_report
    from maps.report_page import report_page_html

    progress(0.1, "drawing the report's page")
    document = stored_report(ctx.store, str(params["report_id"]))
    html = report_page_html(document, assets="/static", base=params.get("base"))
    progress(0.3, "printing the page to PDF (headless Chromium)")
    pdf = html_to_pdf(html, ctx.settings)
    name = _UNSAFE_NAME.sub("-", download_name(document, ".pdf"))
    return JobResult(document={"report_id": document["report_id"], "bytes": len(pdf),
                               "media_type": "application/pdf", "filename": name},
                     body=pdf, media_type="application/pdf", filename=name,
                     location=f"/reports/{document['report_id']}.pdf")


def cross_border(ctx: JobContext, params: dict[str, Any], progress: Progress) -> JobResult:
    """The cross-border hotspots of ``params`` (``query``: a :class:`~api.services.
    hotspot_query.HotspotQuery`'s fields; ``distance_m``), as ``GET /v1/cross-border`` answers
    them (GeoJSON, served at ``/v1/jobs/{id}/result``)."""
    from api.limits import WorkLimits
    from api.services.cross_border import CrossBorderQuery, as_bytes, cross_border_hotspots
    from api.services.hotspot_query import HotspotQuery, selection_of
    from api.services.hotspots import AnalysisOptions

    q = HotspotQuery(**params["query"])
    progress(0.05, "reading the incidents near the border")
    selection = selection_of(q, ctx.store)
    options = AnalysisOptions(
        heritage_distance_m=q.heritage_distance_m,
        heritage_designations=tuple(q.heritage_designation) if q.heritage_designation else None,
        weighted=q.weighted, parameters=q.parameters(), harm=ctx.harm)
    query = CrossBorderQuery(selection=selection, distance_m=float(params["distance_m"]),
                             method=q.method, options=options)
    collection = cross_border_hotspots(ctx.store, ctx.taxonomy, query,
                                       limits=WorkLimits.from_settings(ctx.settings),
                                       should_stop=_stages(progress))
    progress(0.95, "writing the answer")
    body = as_bytes(collection)
    return JobResult(document={"hotspots": len(collection["features"]),
                               "data_version": collection["data_version"],
                               "media_type": "application/geo+json", "bytes": len(body)},
                     body=body, media_type="application/geo+json")


def _stages(progress: Progress) -> Callable[[], bool]:
    """A ``should_stop`` that never stops but says the analysis has begun at its first check
    (the incidents are read) and moves the bar a little at each later one."""
    calls = [0]

    def should_stop() -> bool:
        calls[0] += 1
        if calls[0] == 1:
            progress(0.3, "finding the hotspots")
        elif calls[0] % 64 == 0:
            progress(min(0.9, 0.3 + 0.6 * (1 - 1 / (1 + calls[0] / 512))),
                     "describing the hotspots")
        return False

    return should_stop


KINDS: dict[str, Callable[[JobContext, dict[str, Any], Progress], JobResult]] = {
    BACKTEST: backtest, REPORT: report, REPORT_PDF: report_pdf, CROSS_BORDER: cross_border}
"""Each kind of job's work."""
