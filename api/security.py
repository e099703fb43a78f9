"""Security headers, with a Content-Security-Policy that lets no script run unless the service
sent it.

Every response gets ``X-Content-Type-Options``, ``Referrer-Policy`` (``same-origin``: no
address goes to another site, and the pages' own form posts keep a real ``Origin``, which the
CSRF check needs from browsers without ``Sec-Fetch-Site``), ``X-Frame-Options``,
``Cross-Origin-Opener-Policy``, ``Permissions-Policy`` (the position for this origin only: the
field view), ``Cache-Control: private, no-cache`` unless the answer set its own
(:mod:`api.delivery`) and, over HTTPS, ``Strict-Transport-Security`` (HTTPS served by the service, or
reported by a trusted proxy's ``X-Forwarded-Proto``: ``HOTSPOT_FORWARDED_ALLOW_IPS``). Every
response but a 304 gets the Content-Security-Policy: scripts and style sheets from the service
itself, plus the inline ones of *this* response, which carry a fresh random nonce (folium pages
and the API docs are full of inline scripts; no ``'unsafe-inline'``, no other origin). Images
may also come from the basemap's tile server. A 304 keeps the policy the browser stored with the
page, whose nonce matches the page it keeps.

The nonce is written into the ``<script`` and ``<style`` tags of HTML responses here, on the way
out, so cached pages stay cacheable and each response still has its own nonce.
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.delivery import DYNAMIC, whole_body_rewriter

_TAG = re.compile(rb"<(script|style)(?=[\s>])(?![^>]*\bnonce=)", re.IGNORECASE)
DOCS_PATHS = ("/docs", "/redoc")
"""Swagger UI and ReDoc add style elements at run time: their pages allow inline styles
(never inline scripts)."""


def tile_origin(tile_url: str | None) -> str | None:
    """The scheme and host of a tile URL template (for ``img-src``), or None."""
    if not tile_url:
        return None
    parts = urlsplit(tile_url.replace("{s}", "a"))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    host = parts.netloc
    if "{s}." in tile_url:  # subdomains a, b, c...
        host = "*." + host.split(".", 1)[1]
    return f"{parts.scheme}://{host}"


def policy(nonce: str, *, tiles: str | None, docs: bool = False) -> str:
    """The Content-Security-Policy for one response."""
    styles = "'self' 'unsafe-inline'" if docs else f"'self' 'nonce-{nonce}'"
    images = " ".join(x for x in ("'self'", "data:", "blob:", tiles) if x)
    return "; ".join((
        "default-src 'self'",
        f"script-src 'self' 'nonce-{nonce}'",
        f"style-src {styles}",
        "style-src-attr 'unsafe-inline'",
        f"img-src {images}",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "font-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ))


class SecurityHeaders:
    """ASGI middleware adding the headers above (and nonces to HTML)."""

    def __init__(self, app: ASGIApp, *, tile_url: str | None, https: bool) -> None:
        self.app = app
        self.tiles = tile_origin(tile_url)
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(18)
        docs = str(scope.get("path", "")).startswith(DOCS_PATHS)

        def secured(start: Message) -> bool:
            """Add the headers; hold an HTML page (its scripts get the nonce)."""
            headers = MutableHeaders(scope=start)
            headers["X-Content-Type-Options"] = "nosniff"
            headers["Referrer-Policy"] = "same-origin"
            headers["X-Frame-Options"] = "DENY"
            headers["Cross-Origin-Opener-Policy"] = "same-origin"
            headers["Permissions-Policy"] = "geolocation=(self), camera=(), microphone=()"
            if "cache-control" not in headers:  # api.delivery: no shared cache keeps it
                headers["Cache-Control"] = DYNAMIC
            if self.https or scope.get("scheme") == "https":
                headers["Strict-Transport-Security"] = "max-age=31536000"
            if start["status"] != 304:
                headers["Content-Security-Policy"] = policy(nonce, tiles=self.tiles, docs=docs)
            return headers.get("content-type", "").startswith("text/html")

        def with_nonces(start: Message, body: bytes) -> bytes:
            body = _TAG.sub(rb'<\1 nonce="' + nonce.encode() + rb'"', body)
            headers = MutableHeaders(scope=start)
            if "content-length" in headers:
                headers["Content-Length"] = str(len(body))
            return body

        sending = whole_body_rewriter(send, hold=secured, rewrite=with_nonces)
        await self.app(scope, receive, sending)
