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

import hashlib
import os

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
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


def page_etag(request: Request, *parts: object) -> str:
    """A weak ETag for a page made from ``parts`` (what the page shows: a data version, a
    plan's id and state, the query...) and from what every page also holds: the version of the
    static files it names, and who is asking (key, role and session: the bar of links and the
    masked CSRF token belong to the session, so a new session gets a new page).

    The page's text changes with every response (a fresh CSP nonce, a fresh mask of the token),
    so the tag is made from what the page *means*, not from its bytes: a browser that answers
    with it gets a 304 and keeps the page it has, whose nonce and token stay valid together."""
    who = getattr(request.state, "principal", None)
    digest = hashlib.sha256(static_version().encode())
    for part in (getattr(who, "key_id", None), getattr(who, "role", None),
                 getattr(who, "session_id", None), *parts):
        digest.update(b"\0" + repr(part).encode())
    return f'W/"{digest.hexdigest()[:32]}"'


def not_modified(request: Request, etag: str) -> Response | None:
    """A 304 for ``etag`` when the browser already holds that page (``If-None-Match``), else
    None. The 304 carries the tag and ``Cache-Control: private, no-cache``."""
    held = request.headers.get("if-none-match", "")
    if etag in {t.strip() for t in held.split(",")}:
        return Response(status_code=304, headers={"ETag": etag, "Cache-Control": DYNAMIC})
    return None
