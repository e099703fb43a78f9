"""The backtest that chooses the hotspot method: ``GET /v1/backtest`` (the stored result, or
the backtest started as a job) and ``POST /v1/backtest`` (always a job)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from api.deps import StoreDep, TaxonomyDep
from api.services.backtests import (
    BacktestSpec,
    backtest_started,
    service_candidates,
    spec_of,
    spec_params,
)
from api.services.jobs import accepted, job_link, job_owner
from api.services.selection import Selection, split_categories
from geodata.taxonomy import Taxonomy

router = APIRouter(tags=["hotspots"])

RETRY_AFTER_S = 30
"""How soon to ask again while a backtest runs, seconds."""
_PRIORITY = Query(None, max_length=60, description="A plan priority: the backtest of its "
                  "categories.")
_CATEGORY = Query(None, description="Taxonomy categories (repeat, or separate with commas) "
                  "instead of a priority.")


def _spec(taxonomy: Taxonomy, priority: str | None, category: list[str] | None) -> BacktestSpec:
    """The backtest a request names (422 naming an unknown priority or category)."""
    return spec_of(Selection(categories=split_categories(category), priority=priority), taxonomy)


@router.get(
    "/v1/backtest",
    responses={202: {"description": "The backtest is running as a job; ask again after "
                                    "Retry-After seconds, or follow Location (the job's "
                                    "status, GET /v1/jobs/{job_id})."}},
)
async def backtest(
    request: Request,
    store: StoreDep,
    taxonomy: TaxonomyDep,
    priority: str | None = _PRIORITY,
    category: list[str] | None = _CATEGORY,
) -> JSONResponse:
    """The rolling-origin backtest of every hotspot method on the months in the store, for a
    priority (or every incident): each of the latest months is predicted from every month
    before it, and each method's places are scored on it at 0.1, 0.5 and 1 % of the force area
    (hit rate, PAI, RRI, PEI*, places, stability; formulas in docs/backtest.md), with the method
    chosen. Stored: the same data gives the stored result at once. When none is stored it is
    started as a job and the answer is 202 with ``Retry-After`` and ``Location`` (the job's
    status and progress); ``method=auto`` on ``/v1/hotspots`` uses it."""
    spec = _spec(taxonomy, priority, category)
    document, state, job = await run_in_threadpool(
        backtest_started, store, spec, request.app.state.backtests, owner=job_owner(request))
    if document is None:
        assert job is not None
        return JSONResponse(
            {"status": state, "detail": "the backtest is running (about a minute on a county's "
             "year); ask again shortly", "retry_after_s": RETRY_AFTER_S, "job": job.id,
             "links": {"job": job_link(job.id)}},
            status_code=202, headers={"Retry-After": str(RETRY_AFTER_S),
                                      "Location": job_link(job.id)})
    return JSONResponse({"status": "stored", **document},
                        headers={"X-Data-Version": str(document["data_version"]),
                                 "Cache-Control": "private, max-age=60"})


@router.post("/v1/backtest", status_code=202, responses={
    202: {"description": "The backtest job is queued; Location is its status "
                         "(GET /v1/jobs/{job_id}), whose result is what GET /v1/backtest "
                         "answers."},
    429: {"description": "This key has as many jobs queued or running as a key may have."}})
async def start_backtest(
    request: Request,
    store: StoreDep,
    taxonomy: TaxonomyDep,
    priority: str | None = _PRIORITY,
    category: list[str] | None = _CATEGORY,
) -> JSONResponse:
    """Start the backtest of a priority (or every incident) as a job, stored or not: the job
    gives the stored result at once when the data has not changed, else runs it (fold by fold,
    its progress in the job's status) and stores it. The caller's job of the same backtest on
    the same data, running or done, is answered again rather than started twice."""
    spec = _spec(taxonomy, priority, category)
    key = await run_in_threadpool(lambda: spec.key(store.data_version(), service_candidates()))
    jobs = request.app.state.backtests.jobs_for(store)
    job = await run_in_threadpool(
        lambda: jobs.submit("backtest", spec_params(spec), owner=job_owner(request),
                            dedupe=key,  # this key's job of the same backtest
                            summary={"priority": spec.priority, "backtest": key,
                                     "categories": list(spec.categories or ()) or None}))
    return accepted(job)
