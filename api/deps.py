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


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[Store, Depends(get_store)]
TaxonomyDep = Annotated[Taxonomy, Depends(get_taxonomy)]
