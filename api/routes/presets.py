"""Saved hotspot presets (see :mod:`api.services.presets`): staff save and delete them, field
roles list and read them; each preset's hotspots are the OGC API collection
``/ogc/collections/hotspots-<name>``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Query, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from starlette.requests import Request

from api.deps import StoreDep, TaxonomyDep
from api.errors import NotFound, clipped
from api.pages import caller, key_name
from api.services.presets import PresetIn, save_preset, stored_preset, with_links

router = APIRouter(tags=["presets"])

_NAME = Path(..., max_length=100, description="The preset's name.")


@router.post("/v1/presets", status_code=201, responses={
    201: {"description": "Saved; Location names it."},
    409: {"description": "A preset of that name exists (delete it first)."}})
async def create_preset(request: Request, body: PresetIn, store: StoreDep,
                        taxonomy: TaxonomyDep) -> JSONResponse:
    """Save a preset: a name for a set of ``GET /v1/hotspots`` parameters (``period`` may be
    ``latest``: the latest complete month when the hotspots are asked for). 409 if the name is
    taken; 422 naming a bad parameter (``parameters.<name>``)."""
    who = caller(request)
    made = await run_in_threadpool(
        lambda: save_preset(store, taxonomy, body, key_name(store, who) or (who.key_id if who else "")))
    return JSONResponse(made, status_code=201,
                        headers={"Location": made["links"]["self"]})


@router.get("/v1/presets")
async def list_presets(store: StoreDep, limit: int = Query(500, ge=1, le=500,
                                                            description="At most this many."),
                       ) -> dict[str, Any]:
    """The saved presets, by name, each with the address of its OGC API collection."""
    presets = await run_in_threadpool(store.list_presets, limit)
    return {"presets": [with_links(p) for p in presets]}


@router.get("/v1/presets/{name}")
async def get_preset(store: StoreDep, name: str = _NAME) -> dict[str, Any]:
    """One preset; 404 if there is none of that name."""
    return with_links(await run_in_threadpool(stored_preset, store, name))


@router.delete("/v1/presets/{name}", status_code=204)
async def delete_preset(store: StoreDep, name: str = _NAME) -> Response:
    """Delete a preset (its OGC API collection goes with it); 404 if there is none."""
    if not await run_in_threadpool(store.delete_preset, name):
        raise NotFound(f"no preset called {clipped(name, 48)!r}", field="name")
    return Response(status_code=204)
