"""How the service's bytes travel: compression and caching.

- **Compression.** Every text answer (HTML, JSON, GeoJSON, CSV, scripts, style sheets) is
  gzipped when the client accepts it and the body is over :data:`GZIP_MIN_BYTES`
  (Starlette's ``GZipMiddleware`` at level :data:`GZIP_LEVEL`: level 6 makes a 2 MB GeoJSON
  within a few percent of level 9's size at about a third of its time; bodies over 128 kB are
  compressed in a worker thread). An answer that already has a ``Content-Encoding`` (a vector
  tile stored gzipped) passes as it is. Secrets are never written into a page as the same text
  twice (:func:`api.csrf.masked`), so compression cannot leak them (BREACH).
- **Static files** (Leaflet, the pages' scripts and style sheets) are named with the version of
  the service's assets (``?v=`` :func:`maps.assets.static_version`). A request that names the
  current version is answered ``Cache-Control: public, max-age=31536000, immutable``: the
  browser keeps it for a year without asking again, and an upgrade changes the name. Any other
  request (no version, or an old one) gets ``no-cache``: the browser asks every time and gets a
  304 when nothing changed (``ETag`` and ``Last-Modified`` from the file).
- **Everything else** that does not say otherwise gets ``Cache-Control: private, no-cache``:
  answers depend on the caller's role and on the data, so no shared cache may keep them and the
  browser revalidates (the hotspot answers carry an ``ETag`` of the data version and the
  parameters, so an unchanged answer is a 304 with no body).
"""

from __future__ import annotations

import os

from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.staticfiles import PathLike, StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from maps.assets import static_version

GZIP_MIN_BYTES = 500
"""Bodies smaller than this go uncompressed (the gzip header would eat the gain)."""
GZIP_LEVEL = 6
"""zlib level: see the module notes."""
IMMUTABLE = "public, max-age=31536000, immutable"
"""A versioned static file: kept a year, never asked for again."""
REVALIDATE = "no-cache"
"""An unversioned static file: kept, but checked (304) every time."""
DYNAMIC = "private, no-cache"
"""Anything else: the caller's own browser only, checked every time."""


class VersionedStatic(StaticFiles):
    """Static files with the cache policy of the module notes."""

    def file_response(self, full_path: PathLike, stat_result: os.stat_result, scope: Scope,
                      status_code: int = 200) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        query = scope.get("query_string", b"").decode("latin-1")
        current = f"v={static_version()}" in query.split("&")
        response.headers["Cache-Control"] = IMMUTABLE if current else REVALIDATE
        return response


class DefaultCacheControl:
    """ASGI middleware: ``Cache-Control: private, no-cache`` on answers that set none."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if "cache-control" not in headers:
                    headers["Cache-Control"] = DYNAMIC
            await send(message)

        await self.app(scope, receive, sending)
