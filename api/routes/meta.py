"""Health, taxonomy and the ingest log."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from api.deps import StoreDep, TaxonomyDep
from api.schemas import Health

router = APIRouter(tags=["service"])


@router.get("/health", response_model=Health, responses={503: {"model": Health}})
def health(request: Request) -> JSONResponse:
    """Whether the service and its store are up, with the version and data version.

    Answers 503 (with Retry-After) when the store cannot be reached.
    """
    from api.app import version

    store = request.app.state.store
    if store is None:
        try:
            store = request.app.state.store = request.app.state.open_store()
        except Exception:
            store = None
    part = store.health() if store is not None else {"ok": False, "error": "store unavailable"}
    ok = bool(part.get("ok"))
    body = {"status": "ok" if ok else "degraded", "version": version(),
            "demo": bool(request.app.state.demo), "store": part}
    return JSONResponse(body, status_code=200 if ok else 503,
                        headers=None if ok else {"Retry-After": "5"})


@router.get("/v1/taxonomy")
def taxonomy(tax: TaxonomyDep) -> dict[str, Any]:
    """The taxonomy in force: categories, their priorities and the source types they take."""
    return tax.to_dict()


@router.get("/v1/ingests")
def ingests(store: StoreDep, limit: int = Query(50, ge=1, le=1000)) -> list[dict[str, Any]]:
    """The most recent ingests, newest first."""
    return store.ingests(limit)
