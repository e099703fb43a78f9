"""How the service's bytes travel: compression and caching, and the plumbing for middlewares
that rewrite a whole body (:func:`whole_body_rewriter`).

- **Compression.** Every text answer (HTML, JSON, GeoJSON, CSV, scripts, style sheets) is
  gzipped when the client accepts it and the body is over :data:`GZIP_MIN_BYTES`
  (:class:`FasterGZipMiddleware`, Starlette's ``GZipMiddleware`` deflating with zlib-ng, at
  level :data:`GZIP_LEVEL`: level 6 makes a 2 MB GeoJSON within a few percent of level 9's
  size at about a third of its time; bodies over 128 kB are compressed in a worker thread,
  over a megabyte in pieces on the cores). An answer that already has a ``Content-Encoding`` (a vector
  tile stored gzipped) passes as it is. Secrets are never written into a page as the same text
  twice (:func:`api.csrf.masked`), so compression cannot leak them (BREACH).
  A cached answer served again and again (the hotspot table's GeoJSON and CSV) is compressed
  once and kept beside the result (:func:`gzipped_once`): recompressing a 1 MB GeoJSON cost
  10-40 ms of CPU a request, most of a cached request's cost, and capped a 2-core machine at
  a few dozen cached requests a second. That once is on the first request's path (a 6 MB
  GeoJSON at 10^6 incidents: 0.15 s with zlib at level 6 on one core), so it is deflated by
  zlib-ng, in pieces on the cores at once, as one gzip stream (:func:`gzip_pieces`: 0.04 s,
  3-4 % larger).
- **Static files** (Leaflet, the pages' scripts and style sheets) are named with the version of
  the service's assets (``?v=`` :func:`maps.assets.static_version`). A request that names the
  current version is answered ``Cache-Control: public, max-age=31536000, immutable``: the
  browser keeps it for a year without asking again, and an upgrade changes the name. Any other
  request (no version, or an old one) gets ``no-cache``: the browser asks every time and gets a
  304 when nothing changed (``ETag`` and ``Last-Modified`` from the file).
- **Everything else** that does not say otherwise gets ``Cache-Control: private, no-cache``
  (:data:`DYNAMIC`, set by :class:`api.security.SecurityHeaders` with the other headers):
  answers depend on the caller's role and on the data, so no shared cache may keep them and the
  browser revalidates (the hotspot answers carry an ``ETag`` of the data version and the
  parameters, so an unchanged answer is a 304 with no body).
"""

from __future__ import annotations

import functools
import hashlib
import html
import json
import os
import struct
from collections.abc import Callable
from typing import Any, cast

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.gzip import GZipMiddleware, GZipResponder
from starlette.requests import Request
from starlette.responses import Response
from starlette.staticfiles import PathLike, StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from zlib_ng import zlib_ng

from hotspot._threads import run_each, threads
from maps.assets import static_version
from maps.nav import NAV_CSS, nav_html

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


def accepts_gzip(request: Request) -> bool:
    """Whether the client takes gzip (``Accept-Encoding`` names it without ``q=0``)."""
    for part in request.headers.get("accept-encoding", "").lower().split(","):
        coding, *params = (p.strip() for p in part.split(";"))
        if coding not in ("gzip", "*"):
            continue
        for param in params:
            if param.startswith("q="):
                try:
                    return float(param[2:]) > 0
                except ValueError:
                    return False
        return True
    return False


async def gzipped_once(request: Request, body: bytes, kept: dict[str, bytes], name: str,
                       *, media_type: str, headers: dict[str, str]) -> Response:
    """``body`` as an answer, gzipped when the client takes gzip and the body is worth it,
    compressed once: the compressed bytes are kept in ``kept`` (a dict that lives as long as
    the cached result the body belongs to) under ``name``. ``headers`` may carry an ETag: it
    names the content, as with the middleware's compression."""
    if len(body) < GZIP_MIN_BYTES or not accepts_gzip(request):
        return Response(body, media_type=media_type, headers=headers)
    packed = kept.get(name)
    if packed is None:
        packed = await run_in_threadpool(gzip_pieces, body, GZIP_LEVEL)
        kept[name] = packed
    vary = ", ".join(v for v in (headers.get("Vary"), "Accept-Encoding") if v)
    return Response(packed, media_type=media_type,
                    headers={**headers, "Content-Encoding": "gzip", "Vary": vary})


PIECE_BYTES = 512 * 1024
"""Smallest piece :func:`gzip_pieces` compresses on its own: below two of them, one call."""
_WINDOW = 32 * 1024  # deflate's window: a piece may refer back this far into the one before


def gzip_pieces(body: bytes, level: int = GZIP_LEVEL, *,
                piece_bytes: int | None = None) -> bytes:
    """``body`` as one gzip stream (RFC 1952, one member, no name, mtime 0), deflated by
    zlib-ng (2x zlib's speed at level 6, 3-4 % larger) in pieces side by side in threads (it
    lets go of Python's lock while it works), as pigz does: each piece but the first is
    primed with the 32 kB before it (so it may refer back into them, as one stream would) and
    ends on a byte boundary with an empty stored block (a sync flush), the last one with the
    final block; the raw deflate pieces joined are one deflate stream, a fraction of a
    percent larger than one deflate of the whole. One piece per thread, none smaller than
    ``piece_bytes`` (:data:`PIECE_BYTES` unless given)."""
    n = max(1, min(threads(), len(body) // (piece_bytes or PIECE_BYTES)))
    view = memoryview(body)
    cuts = [len(body) * i // n for i in range(n + 1)]

    def deflate(i: int) -> bytes:
        a, b = cuts[i], cuts[i + 1]
        packer = (zlib_ng.compressobj(level, zlib_ng.DEFLATED, -zlib_ng.MAX_WBITS,
                                      zdict=view[max(0, a - _WINDOW):a]) if a
                  else zlib_ng.compressobj(level, zlib_ng.DEFLATED, -zlib_ng.MAX_WBITS))
        last = i == n - 1
        return packer.compress(view[a:b]) + packer.flush(zlib_ng.Z_FINISH if last
                                                         else zlib_ng.Z_SYNC_FLUSH)

    pieces = run_each([functools.partial(deflate, i) for i in range(n)])
    xfl = 2 if level == 9 else 4 if level == 1 else 0  # as gzip.compress marks them
    head = b"\x1f\x8b\x08\x00" + struct.pack("<L", 0) + bytes([xfl, 3])  # 3: Unix, as zlib
    tail = struct.pack("<LL", zlib_ng.crc32(body) & 0xFFFFFFFF, len(body) & 0xFFFFFFFF)
    return b"".join([head, *pieces, tail])


class _FasterGZipResponder(GZipResponder):
    """Starlette's gzip responder with zlib-ng's deflate (the same stream, about twice as
    fast), and a whole body of two pieces or more deflated in pieces (:func:`gzip_pieces`)."""

    @property
    def compressor(self) -> Any:
        if self._compressor is None:
            self._compressor = cast(Any, zlib_ng.compressobj(  # zlib's interface
                self.compresslevel, zlib_ng.DEFLATED, 16 + zlib_ng.MAX_WBITS))
        return self._compressor

    def _compress_body(self, body: bytes, more_body: bool) -> bytes:
        if not more_body and self._compressor is None and len(body) >= 2 * PIECE_BYTES:
            return gzip_pieces(body, self.compresslevel)  # the whole body in one message
        return super()._compress_body(body, more_body)


class FasterGZipMiddleware(GZipMiddleware):
    """Starlette's ``GZipMiddleware`` (every text answer over ``minimum_size``, when the
    client takes gzip) compressing with :class:`_FasterGZipResponder`: a page is made afresh
    for every request (its nonce and masked token), so it is compressed at every request,
    cached or not (the planner's page at 10^6 incidents: 2 MB, 0.05 s with zlib)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and "gzip" in Headers(scope=scope).get("Accept-Encoding", ""):
            responder = _FasterGZipResponder(
                self.app, self.minimum_size, compresslevel=self.compresslevel,
                thread_minimum_size=self.thread_minimum_size,
                exclude_content_types=self.exclude_content_types)
            await responder(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


class VersionedStatic(StaticFiles):
    """Static files with the cache policy of the module notes."""

    def file_response(self, full_path: PathLike, stat_result: os.stat_result, scope: Scope,
                      status_code: int = 200) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        query = scope.get("query_string", b"").decode("latin-1")
        current = f"v={static_version()}" in query.split("&")
        response.headers["Cache-Control"] = IMMUTABLE if current else REVALIDATE
        return response


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


_ERROR_TITLES = {400: "The request could not be read", 403: "Not open to your role",
                 404: "Not found", 409: "Not available yet", 413: "Too large",
                 422: "Something in the address is not right", 429: "Too many requests",
                 503: "Busy: try again shortly"}


NOTICE_CSS = (
    "body{font:17px/1.5 system-ui,sans-serif;margin:0}main{max-width:40rem;margin:3rem auto;"
    "padding:0 1rem}main a{color:#0b3d91;padding:0.6rem 0}.onward a{display:inline-block;"
    "min-height:44px;line-height:44px;margin-right:1.2rem;padding:0}"
    "code{background:#f0f4f8;padding:0 .3em}")
"""The style of a page that only tells something (an error, a wait) under the bar of pages:
a column of text, its onward links (``p.onward``) a finger's height."""


def _sentence(text: str) -> str:
    """The service's message as a sentence for a page: a capital first letter, a full stop."""
    text = text.strip()
    if not text:
        return text
    return text[0].upper() + text[1:] + ("" if text[-1] in ".!?" else ".")


def error_page(status: int, detail: str, field: str | None, role: str | None = None) -> bytes:
    """A plain HTML page for an error a person met by following a link or a form: the
    service's own message (as text), the field it names, and the way on: with the caller's
    ``role`` known, the bar of the pages that role may open (a partner refused a staff page
    is shown the products, not more pages it may not open); else the map and sign-in."""
    title = _ERROR_TITLES.get(status, "Something went wrong")
    where = f"<p>The part at fault: <code>{html.escape(field)}</code>.</p>" if field else ""
    if role is not None:
        bar = nav_html(None, role=role, signed_in=False)
        onward = (f"<p>You are signed in with a key of the {html.escape(role)} role: the pages "
                  "it may open are in the bar above, or "
                  '<a href="/login">sign in with another key</a>.</p>' if status == 403 else "")
    else:
        bar = ""
        onward = '<p class="onward"><a href="/">Hotspot map</a><a href="/login">Sign in</a></p>'
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{NAV_CSS}{NOTICE_CSS}</style>"
        f"</head><body>{bar}<main>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(_sentence(detail))}</p>{where}{onward}"
        f"<p><small>HTTP {status}</small></p></main></body></html>").encode()


def whole_body_rewriter(send: Send, *, hold: Callable[[Message], bool],
                        rewrite: Callable[[Message, bytes], bytes]) -> Send:
    """An ASGI ``send`` for a middleware that rewrites whole bodies: every message passes on,
    except the answer whose start ``hold`` accepts (it may change the start's headers first):
    its body is gathered whole and ``rewrite(start, body)`` gives the body sent instead (it
    sets the start's headers, such as Content-Length, to fit)."""
    start: Message | None = None
    chunks: list[bytes] = []

    async def sending(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start" and hold(message):
            start = message  # held until the body is complete
            return
        if start is not None and message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = rewrite(start, b"".join(chunks))
            await send(start)
            await send({"type": "http.response.body", "body": body, "more_body": False})
            return
        await send(message)

    return sending


class HtmlErrors:
    """ASGI middleware: an error answer (4xx or 5xx, the JSON of :mod:`api.errors`) to a
    person's own navigation (a link, an address typed, a form: ``GET`` with
    ``Sec-Fetch-Dest: document``) becomes :func:`error_page` with the same status and
    message. Programs and the pages' own scripts get the JSON as before."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "GET" or \
                Headers(scope=scope).get("sec-fetch-dest") != "document":
            await self.app(scope, receive, send)
            return
        def is_json_error(start: Message) -> bool:
            return start["status"] >= 400 and MutableHeaders(scope=start).get(
                "content-type", "").startswith("application/json")

        def as_page(start: Message, body: bytes) -> bytes:
            try:
                error = json.loads(body)
                detail, field = str(error.get("detail", "")), error.get("field")
            except (ValueError, AttributeError):
                detail, field = "", None
            who = (scope.get("state") or {}).get("principal")
            page = error_page(start["status"], detail or "The service could not answer.",
                              str(field) if field else None, getattr(who, "role", None))
            headers = MutableHeaders(scope=start)
            headers["Content-Type"] = "text/html; charset=utf-8"
            headers["Content-Length"] = str(len(page))
            return page

        sending = whole_body_rewriter(send, hold=is_json_error, rewrite=as_page)
        await self.app(scope, receive, sending)
