"""The gate: who is calling, what they may do and how large a body may be, settled from the
headers before a byte of the body is read.

FastAPI reads and parses a route's body before it runs the route's dependencies, so a key
checked in a dependency is checked after the whole body is in memory: one 200 MB JSON body with
no key cost half a gigabyte. :class:`Gate` (ASGI middleware) finds the route a request will
reach (the router's own ``route.matches``, so the path template is the one
:data:`api.access.ACCESS` declares), then, from the headers alone:

1. the roles the route allows (an endpoint missing from ``ACCESS``: 403 to everyone);
2. the caller, by key or session cookie (store lookups in a worker thread; a request with no
   credentials costs no lookup while the store is open), with the rate limits per key or
   address: 401, 403 or 429 with the usual error bodies (a page asked for without a session is
   sent to the sign-in page);
3. CSRF (:mod:`api.csrf`): a state-changing request made with the session cookie needs the
   service's own origin and the session's token, and sign-in and sign-out the same origin: 403;
4. the route's body limit (:data:`BODY_LIMITS`): a declared ``Content-Length`` over it is 413
   at once; a body that streams past it is cut off there, 413.

Only then is ``receive`` handed on, or, for a cached answer asked before in the same words, the
answer sent from here (:mod:`api.replay`: the data version read in the same worker-thread call
as the caller's checks). A refused request's body is read and dropped if it is small
(:data:`DRAIN_MAX`), so the client sees the answer; a larger one is never read, and the answer
closes the connection (``Connection: close``). The route's own dependency
(:func:`authorize`, below) then finds the request settled and reads the principal found here.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Collection, Iterator
from typing import Any

import anyio.to_thread
from fastapi import Request
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.access import SESSION_COOKIE, Principal, allowed_roles, principal
from api.csrf import (
    CSRF_HEADER,
    ORIGIN_CHECKED,
    UNSAFE_METHODS,
    check_origin,
    check_session_token,
)
from api.deps import get_store
from api.replay import Replays, replayed
from api.service_errors import Forbidden, InvalidInput, Unauthorized, UploadTooLarge, clipped

KiB = 1024
UPLOAD: None = None
"""In :data:`BODY_LIMITS`: the upload limit, ``HOTSPOT_MAX_UPLOAD_BYTES``."""
BODY_LIMITS: dict[tuple[str, str], int | None] = {
    ("POST", "/v1/incidents"): UPLOAD,
    ("POST", "/v1/patrol-plans"): 64 * KiB,
    ("POST", "/v1/patrol-plans/preview"): 64 * KiB,
    ("POST", "/v1/patrol-plans/{plan_id}/visits"): 32 * KiB,
    ("POST", "/v1/keys"): 16 * KiB,
    ("POST", "/v1/reports"): 4 * KiB,  # {"period": ...}
    ("POST", "/v1/business-reports"): 32 * KiB,
    ("POST", "/login"): 32 * KiB,
}
"""(method, path template) -> the largest body accepted, bytes (413 above). Only uploads are
large. A visit at its fields' longest (2,000 characters of note, 300 of stop id, 100 of officer)
is under 30 KiB even with every character escaped as JSON ``\\uXXXX`` pairs; a sign-in form with
a 2,000-character ``next`` under 25 KiB percent-encoded; a business report (2,000 characters
of description, 200 of business name) under 27 KiB escaped alike."""
DEFAULT_BODY_LIMIT = 16 * KiB
"""Every other request (reads, deletions, sign-out: nothing of size to send)."""
DRAIN_MAX = 64 * KiB
"""A refused request's body up to this size is read (and dropped) before the answer, so the
client sees the answer; a larger one is not read, and the connection is closed."""
GATE_PASSED = "hotspot.gate"
"""Set in the request's state once the gate has settled it."""


def body_limit(method: str, path: str | None, upload_limit: int) -> int:
    """The body limit of a route, bytes (see :data:`BODY_LIMITS`)."""
    key = (method, path or "")
    if key not in BODY_LIMITS:
        return DEFAULT_BODY_LIMIT
    limit = BODY_LIMITS[key]
    return upload_limit if limit is None else limit


def has_credentials(request: Request) -> bool:
    """Whether the request carries a key or a session cookie at all (no store needed)."""
    auth = request.headers.get("authorization", "")
    return bool(auth.strip() or request.headers.get("x-api-key", "").strip()
                or request.cookies.get(SESSION_COOKIE))


def _address(request: Request) -> str:
    """The rate limiter's key of a request counted by its client's address."""
    return "addr:" + (request.client.host if request.client else "?")


def check_request(request: Request) -> Principal | None:
    """Settle a request from its headers: the roles of its route (``request.scope['route']``),
    the caller, the rate limit, CSRF. Returns the caller (None on a public route).

    Raises
    ------
    Forbidden, Unauthorized, RateLimited, CsrfRefused, StoreUnavailable
        The refusals, for the error table (:mod:`api.errors`).
    """
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    if path is None:  # no route: the URL's (built only then; a raw query may not decode)
        path = request.url.path
    method = request.method
    roles = allowed_roles(method, path)
    if roles is None:
        raise Forbidden("nobody", ())
    limiter = request.app.state.rate_limiter
    address = _address(request)
    unsafe = method in UNSAFE_METHODS
    if not roles:
        limiter.check(address)
        if unsafe and (method, path) in ORIGIN_CHECKED:
            check_origin(request)
        return None
    store = get_store(request)  # 503 while the store cannot be opened, as before
    if not has_credentials(request):
        limiter.check(address)
        raise Unauthorized()
    who = principal(request, store)
    if who is None:
        limiter.check(address)
        raise Unauthorized()
    limiter.check("key:" + who.key_id)
    if who.role not in roles:
        raise Forbidden(who.role, roles, caller=who)
    if unsafe and who.via == "session":
        check_origin(request)
        check_session_token(store, who, request.headers.get(CSRF_HEADER.lower()))
    return who


def _checked_at(request: Request, roles: Collection[str]) -> tuple[Principal | None, str | None]:
    """:func:`check_request`, then the store's data version if the caller passed with a key
    or session of one of ``roles`` (those :mod:`api.replay` has an answer for; read after the
    checks, as the route would read it)."""
    who = check_request(request)
    if who is None or who.role not in roles:
        return who, None
    return who, get_store(request).data_version()


def _routes(app: Any) -> Iterator[tuple[BaseRoute, BaseRoute]]:
    """(what to match, the route itself) for every route of the app, those of included
    routers too (FastAPI 0.16x keeps them behind the router that includes them)."""
    routes = getattr(app, "routes", ())
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: included routes are copied into app.routes
        for route in routes:
            yield route, route
        return
    for context in iter_route_contexts(routes):
        yield context, context.original_route  # type: ignore[misc]


STATIC_MATCHES = 4096
"""Most (method, root path, path) whose route :func:`_match` keeps (a route without path
parameters matches one path only, so these are at most its routes times their methods)."""


def _known(app: Any) -> tuple[list[tuple[BaseRoute, BaseRoute]],
                              dict[tuple[str, str, str], tuple[BaseRoute, Scope]]]:
    """The app's routes flattened, and the routes found for paths without parameters (kept in
    its state with the top-level routes they came from: a route added later makes them
    again)."""
    top = tuple(id(r) for r in getattr(app, "routes", ()))
    known = getattr(app.state, "gate_routes", None)
    if known is None or known[0] != top:
        known = (top, list(_routes(app)), {})
        app.state.gate_routes = known
    return known[1], known[2]


def _match(app: Any, scope: Scope) -> tuple[BaseRoute | None, Scope]:
    """The route that will answer (the first full match, as the router picks it), and its
    part of the scope. A path that matched a route without path parameters is looked up
    directly the next time (matching every route in turn was a fourteenth of a cached
    answer's CPU); whether a route matches depends on the method, the path and the root
    path alone."""
    flat, static = _known(app)
    key = (scope["method"], scope.get("root_path", ""), scope["path"])
    found = static.get(key)
    if found is not None:
        return found[0], {**found[1], "path_params": {}}
    for matcher, route in flat:
        match, child = matcher.matches(scope)
        if match is Match.FULL:
            if not child.get("path_params") and len(static) < STATIC_MATCHES:
                static[key] = (route, child)
            return route, child
    return None, {}


def _declared(scope: Scope) -> tuple[int | None, bool]:
    """(declared Content-Length or None, whether a body is to come)."""
    length: int | None = None
    chunked = False
    for name, value in scope.get("headers", ()):
        if name == b"content-length" and value.strip().isdigit():
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    return length, chunked or bool(length)


async def _drain(receive: Receive, most: int) -> bool:
    """Read and drop a refused request's body if it is at most ``most`` bytes: True if it was
    read to its end (the client then sees the answer; a connection closed on a body still
    coming is reset, and the client may see only that)."""
    seen = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return False
        seen += len(message.get("body", b""))
        if seen > most:
            return False
        if not message.get("more_body", False):
            return True


def declared_parameters(route: APIRoute) -> frozenset[str]:
    """The query parameters ``route`` takes (their names as sent, ``from`` not ``from_``),
    found once and kept on the route."""
    found: frozenset[str] | None = getattr(route, "_hotspot_parameters", None)
    if found is None:
        names: set[str] = set()
        pending = [route.dependant]
        while pending:  # the route's own and those of its dependencies (a query class)
            dependant = pending.pop()
            names.update(p.alias for p in dependant.query_params)
            pending.extend(dependant.dependencies)
        found = frozenset(names)
        route._hotspot_parameters = found  # type: ignore[attr-defined]
    return found


def check_misspelt(route: APIRoute, request: Request) -> None:
    """Refuse a query parameter the route does not take that is within a typo of one it does
    (``bandwith_m`` for ``bandwidth_m``): it would be ignored, and the answer made without
    it. Other names it does not take pass as before (a cache-buster, a proxy's own); the OGC
    API checks its own (its queryables are parameters too).

    Raises
    ------
    InvalidInput
        Naming the parameter sent and the one meant (422).
    """
    if not request.scope.get("query_string") or route.path.startswith("/ogc"):
        return
    declared = declared_parameters(route)
    if not declared:
        return
    for name in dict.fromkeys(request.query_params.keys()):
        if name in declared:
            continue
        meant = difflib.get_close_matches(name, declared, n=1, cutoff=0.75)
        if meant:
            raise InvalidInput(f"unknown parameter {clipped(name, 40)!r}: did you mean "
                               f"{meant[0]!r}?", clipped(name, 40))


async def _answer(app: Any, request: Request, exc: Exception) -> Response | None:
    """The app's answer to ``exc`` from its error table, or None if it has none."""
    handlers = getattr(app, "exception_handlers", {})
    for cls in type(exc).__mro__:
        handler = handlers.get(cls)
        if handler is not None:
            if inspect.iscoroutinefunction(handler):  # the error table's are all async
                response: Response = await handler(request, exc)
            else:
                response = await run_in_threadpool(handler, request, exc)
            return response
    return None


class Gate:
    """ASGI middleware: the checks of the module's notes, before the body is read."""

    def __init__(self, app: ASGIApp, *, upload_limit: int) -> None:
        self.app = app
        self.upload_limit = upload_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        app = scope.get("app")
        route, child = _match(app, scope)
        if route is not None:
            scope["route"] = route  # the request log names the route, even when refused here
        limit = body_limit(scope["method"], getattr(route, "path", None), self.upload_limit)
        declared, pending = _declared(scope)
        request = Request({**scope, **child})
        replays: Replays | None = getattr(app.state, "replays", None) if app else None
        candidates = (replays.candidates(scope) if replays is not None
                      and isinstance(route, APIRoute) else None)
        version: str | None = None
        try:
            if isinstance(route, APIRoute):
                blocking = has_credentials(request) or request.app.state.store is None
                if blocking and candidates is not None:  # one hop for both (api.replay)
                    who, version = await anyio.to_thread.run_sync(_checked_at, request,
                                                                  tuple(candidates))
                else:
                    who = (await anyio.to_thread.run_sync(check_request, request) if blocking
                           else check_request(request))
                state = scope.setdefault("state", {})
                state["principal"] = who
                state[GATE_PASSED] = True
                check_misspelt(route, request)
            elif route is None and app is not None:
                # a path that matches nothing (404) counts in the address's requests as an
                # anonymous one does: made-up paths are not a way round the rate limit
                limiter = getattr(app.state, "rate_limiter", None)
                if limiter is not None:
                    limiter.check(_address(request))
            if declared is not None and declared > limit:
                raise UploadTooLarge(limit)
        except Exception as exc:
            if isinstance(exc, Forbidden) and exc.caller is not None:
                # known but refused: the log names the key, an error page the role's pages
                scope.setdefault("state", {})["principal"] = exc.caller
            response = await _answer(app, request, exc)
            if response is None:
                raise
            if pending and (declared is None or declared <= DRAIN_MAX):
                pending = not await _drain(receive, DRAIN_MAX)
            await self._refuse(response, scope, receive, send, pending)
            return
        if version is not None and candidates is not None and await replayed(
                app, candidates, getattr(who, "role", None), version, send):
            return
        await self._limited(scope, receive, send, request, limit)

    @staticmethod
    async def _refuse(response: Response, scope: Scope, receive: Receive, send: Send,
                      pending: bool) -> None:
        if pending:  # the body is not read: the connection cannot carry another request
            response.headers["Connection"] = "close"
        await response(scope, receive, send)

    async def _limited(self, scope: Scope, receive: Receive, send: Send, request: Request,
                       limit: int) -> None:
        """Pass the request on, cutting its body off past ``limit`` bytes with 413."""
        seen = 0
        exceeded = False
        started = False

        async def receiving() -> Message:
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    exceeded = True
                    raise UploadTooLarge(limit)
            return message

        async def sending(message: Message) -> None:
            nonlocal started
            if exceeded and not started:
                return  # whatever the app answers to a body cut short, the answer is 413
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receiving, sending)
        except Exception:
            if not exceeded or started:
                raise
        if exceeded and not started:
            response = await _answer(scope.get("app"), request, UploadTooLarge(limit))
            assert response is not None
            await self._refuse(response, scope, receive, send, True)


def authorize(request: Request) -> None:
    """Every route's gate: the roles :data:`api.access.ACCESS` declares for it (an endpoint not
    declared there is refused to everyone), the caller, rate limits and CSRF.

    :class:`api.gate.Gate` settles all of it before the body is read and leaves the caller in
    ``request.state.principal``; this dependency checks again only for a request that did not
    pass the gate (an app assembled without it)."""
    if getattr(request.state, GATE_PASSED, False) is True:
        return
    request.state.principal = check_request(request)
