"""The backtest that chooses the hotspot method: ``GET /v1/backtest``."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from api.deps import StoreDep, TaxonomyDep
from api.services.backtests import spec_of, stored_or_started
from api.services.selection import Selection, split_categories

router = APIRouter(tags=["hotspots"])

RETRY_AFTER_S = 30
"""How soon to ask again while a backtest runs, seconds."""


@router.get(
    "/v1/backtest",
    responses={202: {"description": "The backtest is running; ask again after Retry-After "
                                    "seconds."}},
)
async def backtest(
    request: Request,
    store: StoreDep,
    taxonomy: TaxonomyDep,
    priority: str | None = Query(None, max_length=60, description="A plan priority: the "
                                 "backtest of its categories."),
    category: list[str] | None = Query(None, description="Taxonomy categories (repeat, or "
                                       "separate with commas) instead of a priority."),
) -> JSONResponse:
    """The rolling-origin backtest of every hotspot method on the months in the store, for a
    priority (or every incident): each of the latest months is predicted from every month
    before it, and each method's places are scored on it at 0.1, 0.5 and 1 % of the force area
    (hit rate, PAI, RRI, PEI*, places, stability; formulas in docs/backtest.md), with the method
    chosen. Stored: the same data gives the stored result at once. When none is stored it is
    started and the answer is 202 with ``Retry-After``; ``method=auto`` on ``/v1/hotspots``
    uses it."""
    selection = Selection(categories=split_categories(category), priority=priority)
    spec = spec_of(selection, taxonomy)
    document, state = await run_in_threadpool(stored_or_started, store, spec,
                                              request.app.state.backtests)
    if document is None:
        return JSONResponse(
            {"status": state, "detail": "the backtest is running (about a minute on a county's "
             "year); ask again shortly", "retry_after_s": RETRY_AFTER_S},
            status_code=202, headers={"Retry-After": str(RETRY_AFTER_S)})
    return JSONResponse({"status": "stored", **document},
                        headers={"X-Data-Version": str(document["data_version"]),
                                 "Cache-Control": "private, max-age=60"})
