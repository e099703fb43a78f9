"""Health, taxonomy and the ingest log."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from api import metrics
from api.access import STAFF, principal
from api.deps import StoreDep, TaxonomyDep
from api.gate import has_credentials
from api.schemas import Health
from api.version import version
from geodata.errors import GeodataError
from geodata.stores import AccessStore, Store

router = APIRouter(tags=["service"])

FAVICON = (b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
           b'<circle cx="16" cy="16" r="15" fill="#0b3d91"/>'
           b'<circle cx="16" cy="16" r="9" fill="#ffd166"/>'
           b'<circle cx="16" cy="16" r="4" fill="#c0392b"/></svg>')
"""The pages' icon (a hotspot: rings on the service's blue), drawn here."""


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> Response:
    """The browser's tab icon (browsers ask for it on every first visit; a 404 is an error in
    their console)."""
    return Response(FAVICON, media_type="image/svg+xml",
                    headers={"Cache-Control": "public, max-age=86400"})


@router.get("/health", response_model=Health, responses={503: {"model": Health}})
def health(request: Request) -> JSONResponse:
    """Whether the service and its store are up, and the version; what the store holds (its
    counts, data version, layers) only for staff (an analyst's or admin's key or session):
    live counts, read before and after an upload, would tell anyone how many incidents it
    held, and so how many a published product holds back.

    Answers 503 (with Retry-After) when the store cannot be reached.
    """
    store: Store | None = request.app.state.store
    if store is None:
        try:
            store = request.app.state.store = request.app.state.open_store()
        except Exception:
            store = None
    part = store.health() if store is not None else {"ok": False, "error": "store unavailable"}
    ok = bool(part.get("ok"))
    if not _staff(request, store):
        part = {k: part[k] for k in ("ok", "kind", "error") if k in part}
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


def _staff(request: Request, store: AccessStore | None) -> bool:
    """Whether the caller shows an analyst's or admin's key or session (/health is open to
    all, so the gate has not looked)."""
    if store is None or not has_credentials(request):
        return False
    try:
        who = principal(request, store)
    except GeodataError:  # a store that fails here is reported as such above
        return False
    return who is not None and who.role in STAFF


@router.get("/metrics", response_class=Response,
            responses={200: {"content": {metrics.MEDIA_TYPE: {}},
                             "description": "Prometheus' text exposition format."}})
def metrics_text(request: Request) -> Response:
    """This instance's operational metrics for a force's monitoring, in Prometheus' text
    format: requests by method, route template and status, their latencies, and the result
    cache's hits, misses and size (admins only: a scraper holds an admin key)."""
    found = metrics.of(request.app)
    body = found.text() if found is not None else b""
    return Response(body, media_type=metrics.MEDIA_TYPE,
                    headers={"Cache-Control": "no-store"})
