"""Stores: where incidents and reference layers are kept.

:func:`open_store` opens a store from a database URL: a file path (or ``sqlite:///path``) for
the embedded store; ``postgresql://`` URLs are for the PostGIS store.
"""

from __future__ import annotations

from pathlib import Path

from geodata.errors import UnsupportedStore
from geodata.schema import DEFAULT_CRS, DEFAULT_TIMEZONE
from geodata.stores.base import DEMO, FORCE, LayerInfo, RecordPage, Store
from geodata.stores.sqlite import SQLiteStore

__all__ = ["DEMO", "FORCE", "LayerInfo", "RecordPage", "SQLiteStore", "Store", "open_store"]


def _split_schema(url: str) -> tuple[str, str | None]:
    """A libpq URL without its ``schema=`` query parameter (not a libpq one), and the schema."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = next((v for k, v in query if k == "schema"), None)
    rest = urlencode([(k, v) for k, v in query if k != "schema"])
    return urlunsplit(parts._replace(query=rest)), schema


def open_store(
    url: str | Path,
    *,
    crs: str = DEFAULT_CRS,
    timezone: str = DEFAULT_TIMEZONE,
    busy_timeout_s: float = 60.0,
    create: bool = True,
) -> Store:
    """Open the store a database URL names.

    Parameters
    ----------
    url
        A file path, ``sqlite:///relative/path`` or ``sqlite:////absolute/path`` (embedded
        store), or ``postgresql://user@host:5432/database`` (PostGIS; the store lives in the
        schema ``hotspot``, or the one named by ``?schema=name``).
    crs, timezone
        For a new store: the force CRS (projected, metres) and time zone.

    Raises
    ------
    UnsupportedStore
        For a URL scheme this build cannot open.
    StoreUnavailable
        If the store cannot be opened.
    """
    text = str(url)
    if text.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        from geodata.stores.postgis import DEFAULT_SCHEMA, PostGISStore

        conninfo, schema = _split_schema(text.replace("postgresql+psycopg://", "postgresql://"))
        return PostGISStore(conninfo, schema=schema or DEFAULT_SCHEMA, crs=crs,
                            timezone=timezone, busy_timeout_s=busy_timeout_s, create=create)
    if "://" in text:
        scheme, rest = text.split("://", 1)
        if scheme != "sqlite":
            raise UnsupportedStore(
                f"unknown database URL scheme {scheme!r}: give a file path, sqlite:///path or "
                "postgresql://..."
            )
        # SQLAlchemy's convention: sqlite:///relative/path and sqlite:////absolute/path
        text = rest[1:] if rest.startswith("/") else rest
    return SQLiteStore(
        Path(text), crs=crs, timezone=timezone, busy_timeout_s=busy_timeout_s, create=create
    )
