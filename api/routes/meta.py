"""Health, taxonomy, ingest log and the landing page."""

from __future__ import annotations

import html
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse

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


@router.get("/", include_in_schema=False, response_class=HTMLResponse)
def landing(request: Request, store: StoreDep) -> HTMLResponse:
    """A plain page pointing at the API (the planner's map replaces it)."""
    from api.app import version

    info = store.health()
    layers = ", ".join(info.get("layers", [])) or "none yet"
    which = "the demo force area (fictional)" if request.app.state.demo else "the force's store"
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Hotspot</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem}}
code{{background:#f3f3f3;padding:0 .2em}} a{{color:#0b57d0}}</style></head>
<body><h1>Hotspot {html.escape(version())}</h1>
<p>Serving {html.escape(which)}: <strong>{int(info.get("incidents", 0)):,}</strong> incidents;
reference layers: {html.escape(layers)};
data version <code>{html.escape(str(info.get("data_version")))}</code>.</p>
<ul>
<li><a href="docs">API documentation</a>
 (<a href="redoc">ReDoc</a>, <a href="openapi.json">OpenAPI</a>)</li>
<li><a href="health">Health</a></li>
<li><a href="v1/incidents?limit=20">The first 20 incidents</a> (GeoJSON)</li>
<li><a href="v1/layers">Reference layers</a> · <a href="v1/taxonomy">Taxonomy</a> ·
 <a href="v1/ingests">Ingests</a></li>
</ul>
<p><small>Hotspots describe where crime was recorded, not the risk to any person.
Where data.police.uk data is loaded: contains public sector information licensed under the
Open Government Licence v3.0.</small></p>
</body></html>"""
    return HTMLResponse(page)
