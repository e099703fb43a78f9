"""Stores: where incidents, reference layers, plans and access records are kept.

:func:`open_store` opens a store from a database URL (and creates or migrates its schema): a
file path (or ``sqlite:///path``) for the embedded store; ``postgresql://`` URLs are for the
PostGIS store. The interface is in :mod:`geodata.stores.base`: focused protocols
(:class:`IncidentStore`, :class:`LayerStore`, :class:`PlanStore`, :class:`AccessStore`,
:class:`ProductStore`, :class:`StoreHealth`), their union :class:`Store`, and the optional
capability :class:`ClustersInDatabase`, checked with ``isinstance``.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from geodata.errors import UnsupportedStore
from geodata.schema import DEFAULT_CRS, DEFAULT_TIMEZONE
from geodata.stores.base import (
    DEMO,
    FORCE,
    AccessStore,
    BusinessReportStore,
    ClustersInDatabase,
    IncidentStore,
    LayerInfo,
    LayerStore,
    NeighbourStore,
    PlanStore,
    PresetStore,
    ProductStore,
    RecordPage,
    ReportStore,
    StopSearchStore,
    Store,
    StoreHealth,
)
from geodata.stores.sqlite import SQLiteStore

__all__ = [
    "DEMO",
    "FORCE",
    "AccessStore",
    "BusinessReportStore",
    "ClustersInDatabase",
    "IncidentStore",
    "LayerInfo",
    "LayerStore",
    "NeighbourStore",
    "PlanStore",
    "PresetStore",
    "ProductStore",
    "RecordPage",
    "ReportStore",
    "SQLiteStore",
    "StopSearchStore",
    "Store",
    "StoreHealth",
    "open_store",
]


_STORE_OPTIONS = ("schema", "layout", "force")
"""Query parameters of a ``postgresql://`` URL that are the store's, not libpq's."""


def _split_options(url: str) -> tuple[str, dict[str, str]]:
    """A libpq URL without the store's query parameters (:data:`_STORE_OPTIONS`), and those."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    options = {k: v for k, v in query if k in _STORE_OPTIONS}
    rest = urlencode([(k, v) for k, v in query if k not in _STORE_OPTIONS])
    return urlunsplit(parts._replace(query=rest)), options


def _split_schema(url: str) -> tuple[str, str | None]:
    """A libpq URL without its store parameters (``schema=`` and the others), and the
    schema."""
    conninfo, options = _split_options(url)
    return conninfo, options.get("schema")


def open_store(
    url: str | Path,
    *,
    crs: str = DEFAULT_CRS,
    timezone: str = DEFAULT_TIMEZONE,
    busy_timeout_s: float = 60.0,
    create: bool = True,
) -> Store:
    """Open the store a database URL names: connect, and create its schema (a new store) or
    apply the migrations it has not had yet (see :meth:`SQLiteStore.open` and
    :meth:`PostGISStore.open`).

    Parameters
    ----------
    url
        A file path, ``sqlite:///relative/path`` or ``sqlite:////absolute/path`` (embedded
        store), or ``postgresql://user@host:5432/database`` (PostGIS; the store lives in the
        schema ``hotspot``, or the one named by ``?schema=name``; ``&layout=regional`` makes a
        new store partitioned by force and month, and ``&force=Essex%20Police`` reads one
        force's incidents of a region's store, see :meth:`PostGISStore.open`).
    crs, timezone
        For a new store: the force CRS (projected, metres) and time zone.
    busy_timeout_s
        How long a writer waits for another writer, in seconds.
    create
        Create the store when it does not exist (else :class:`StoreUnavailable`).

    Raises
    ------
    UnsupportedStore
        For a URL scheme this build cannot open.
    StoreUnavailable
        If the store cannot be opened.
    """
    text = str(url)
    if text.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        # imported here: psycopg and its pool load only when a PostGIS store is opened
        from geodata.stores.postgis import DEFAULT_SCHEMA, PostGISStore

        conninfo, options = _split_options(
            text.replace("postgresql+psycopg://", "postgresql://"))
        return PostGISStore.open(conninfo, schema=options.get("schema") or DEFAULT_SCHEMA,
                                 crs=crs, timezone=timezone, busy_timeout_s=busy_timeout_s,
                                 create=create, layout=options.get("layout") or None,
                                 force=options.get("force") or None)
    if "://" in text:
        scheme, rest = text.split("://", 1)
        if scheme != "sqlite":
            raise UnsupportedStore(
                f"unknown database URL scheme {scheme!r}: give a file path, sqlite:///path or "
                "postgresql://..."
            )
        # SQLAlchemy's convention: sqlite:///relative/path and sqlite:////absolute/path
        text = rest[1:] if rest.startswith("/") else rest
    return SQLiteStore.open(
        Path(text), crs=crs, timezone=timezone, busy_timeout_s=busy_timeout_s, create=create
    )
