"""Dependencies of the routes, as ``Annotated`` aliases that tests can override."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.settings import Settings
from geodata.stores import Store
from geodata.taxonomy import Taxonomy


def get_settings(request: Request) -> Settings:
    """The app's settings."""
    return request.app.state.settings


def get_store(request: Request) -> Store:
    """The app's store, opened in the lifespan (reopened if opening failed at start)."""
    store = request.app.state.store
    if store is None:  # raises StoreUnavailable (503) while it still cannot be opened
        store = request.app.state.store = request.app.state.open_store()
    return store


def get_taxonomy(request: Request) -> Taxonomy:
    """The taxonomy loaded at start."""
    return request.app.state.taxonomy


def authorize(request: Request) -> None:
    """Every route's gate: the roles :data:`api.access.ACCESS` declares for it (an endpoint not
    declared there is refused to everyone)."""
    from api.access import allowed_roles, principal
    from api.errors import Forbidden, Unauthorized

    route = request.scope.get("route")
    path = getattr(route, "path", request.url.path)
    roles = allowed_roles(request.method, path)
    if roles is None:
        raise Forbidden("nobody", ())
    limiter = request.app.state.rate_limiter
    if not roles:
        request.state.principal = None
        limiter.check("addr:" + (request.client.host if request.client else "?"))
        return
    who = principal(request, get_store(request))
    if who is None:
        limiter.check("addr:" + (request.client.host if request.client else "?"))
        raise Unauthorized()
    limiter.check("key:" + who.key_id)
    if who.role not in roles:
        raise Forbidden(who.role, roles)
    request.state.principal = who


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[Store, Depends(get_store)]
TaxonomyDep = Annotated[Taxonomy, Depends(get_taxonomy)]
