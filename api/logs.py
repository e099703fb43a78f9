"""Logs without personal data: one structured line per request, every record tagged with its
request's id, and JSON logs on request.

The request log (logger ``hotspot.requests``) records the method, the route *template*
(``/v1/patrol-plans/{plan_id}``, never the query string, which can hold places), the status,
the time taken, the caller's key id and role (a pseudonym: the key's secret never appears) and
the request id. No client address, no body, no query, no cookie. Uvicorn's own access log
(addresses and full URLs) is off (``hotspot serve``). A text line reads ``2024-06-14T09:00:00Z
INFO hotspot.requests GET /v1/incidents 200 ms=3.1 key_id=3f9c2a7b1d04 role=analyst
request_id=9b2f...``; ``HOTSPOT_LOG_FORMAT=json`` makes every log line one JSON object:
``time`` (UTC, ISO 8601 with milliseconds), ``level``, ``logger``, ``message``, ``request_id``
and, on the request log's lines, ``method``, ``route``, ``status``, ``duration_ms``, ``key_id``
and ``role``.

**The request id.** Every HTTP request gets one (:class:`RequestLog`): the ``X-Request-ID`` a
trusted caller sent (a load balancer or proxy among ``HOTSPOT_FORWARDED_ALLOW_IPS``, checked
against :data:`SANE_ID`: 1 to 128 letters, digits and ``._:+/=-``), else a new one (32 hex
digits). It goes back in the ``X-Request-ID`` response header, into the request log's line, into
the body of every 5xx answer (``request_id``, :mod:`api.errors`) and, through a context variable
and :class:`RequestIdFilter`, into every record logged while the request is handled, in the
worker threads its computation runs in too (Starlette's ``run_in_threadpool`` runs a function
in a copy of the request's context). A computation that several requests share runs in the
context of the one that started it, so its records carry that request's id.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import re
import time
import uuid
import weakref
from contextvars import ContextVar
from typing import IO, Any, ClassVar

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import metrics

log = logging.getLogger("hotspot.requests")

HEADER = "X-Request-ID"
"""The request id's header, in and out."""
SANE_ID = re.compile(r"[A-Za-z0-9._:+/=-]{1,128}")
"""An incoming request id used as it is, whole (``fullmatch``; anything else: a new id)."""
REQUEST_ID: ContextVar[str | None] = ContextVar("hotspot_request_id", default=None)
"""The id of the request being handled in this context (None outside a request)."""


def current_request_id() -> str | None:
    """The id of the request being handled here, or None."""
    return REQUEST_ID.get()


def request_id_of(scope: Scope) -> str | None:
    """The id :class:`RequestLog` gave the request of ``scope`` (its ``state``), or None."""
    state = scope.get("state")
    found = state.get("request_id") if isinstance(state, dict) else None
    return found if isinstance(found, str) else None


def new_request_id() -> str:
    """A new request id: 32 hex digits."""
    return uuid.uuid4().hex


class RequestIdFilter(logging.Filter):
    """Gives every record the ``request_id`` of the request being handled where it was logged
    (None outside a request); a record that names one already keeps it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = REQUEST_ID.get()
        return True


def _utc(created: float, *, millis: bool) -> str:
    whole = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created))
    return f"{whole}.{int(created % 1 * 1000):03d}Z" if millis else whole + "Z"


class JsonFormatter(logging.Formatter):
    """A log record as one JSON object: ``time`` (UTC, ISO 8601 with milliseconds), ``level``,
    ``logger``, ``message``, ``request_id`` (null outside a request) and any ``fields`` (the
    request log's method, route, status, duration_ms, key_id, role)."""

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", {})
        out: dict[str, Any] = {
            "time": _utc(record.created, millis=True),
            "level": record.levelname.lower(), "logger": record.name,
            "message": record.getMessage(),
            "request_id": fields.get("request_id") or getattr(record, "request_id", None),
        }
        out.update(fields)
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


class TextFormatter(logging.Formatter):
    """A log record as one line of text: UTC time, level, logger, message, then the record's
    ``fields`` not already in the message as ``name=value`` (for the request log: the time
    taken, key id, role and request id: ``ms=3.1 key_id=3f9c2a7b1d04 role=analyst
    request_id=9b2f...``; ``-`` when none); any other record logged during a request ends with
    its ``request_id=``."""

    IN_MESSAGE = frozenset({"method", "route", "status"})
    """Request-log fields the message already holds."""
    SHORT: ClassVar[dict[str, str]] = {"duration_ms": "ms"}
    """Fields shown under a shorter name."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{_utc(record.created, millis=False)} {record.levelname} {record.name} " \
               f"{record.getMessage()}"
        fields = dict(getattr(record, "fields", {}))
        rid = getattr(record, "request_id", None)
        if "request_id" not in fields and rid is not None:
            fields["request_id"] = rid
        extra = " ".join(f"{self.SHORT.get(k, k)}={'-' if v is None else v}"
                         for k, v in fields.items() if k not in self.IN_MESSAGE)
        if extra:
            line += " " + extra
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure(level: str, fmt: str, stream: IO[str] | None = None) -> None:
    """Set up the root logger: ``fmt`` ``json`` or ``text``, every record tagged with its
    request's id (:class:`RequestIdFilter`), written to ``stream`` (standard error when
    None)."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


class TrustedHosts:
    """The callers believed about their ``X-Request-ID``: addresses, networks
    (``10.0.0.0/8``) or names, comma-separated, or ``*`` for any; the same list
    ``HOTSPOT_FORWARDED_ALLOW_IPS`` names for the proxy headers."""

    def __init__(self, hosts: str) -> None:
        items = [h.strip() for h in hosts.split(",") if h.strip()]
        self.any = "*" in items
        self.networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        self.names: set[str] = set()
        for item in items:
            try:
                self.networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                self.names.add(item)

    def __contains__(self, host: object) -> bool:
        if self.any:
            return True
        if not isinstance(host, str) or not host:
            return False
        if host in self.names:
            return True
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in net for net in self.networks)


class RequestLog:
    """ASGI middleware writing the request log line, giving each request its id and counting it
    in the app's metrics (see the module's notes).

    Parameters
    ----------
    trusted_hosts
        Callers whose ``X-Request-ID`` is used (when sane): :class:`TrustedHosts`. It decides by
        the connecting address, so this middleware goes outside the proxy headers' (a proxy's
        ``X-Forwarded-For`` would otherwise have replaced it with the browser's); for the same
        reason the server must leave the proxy headers to the app (uvicorn's
        ``proxy_headers=False``), or a proxy that sends ``X-Forwarded-For`` has its id replaced.
    """

    def __init__(self, app: ASGIApp, trusted_hosts: str = "127.0.0.1,::1") -> None:
        self.app = app
        self.trusted = TrustedHosts(trusted_hosts)

    def _request_id(self, scope: Scope) -> str:
        """The caller's id when it is trusted and sane, else a new one."""
        client = scope.get("client")
        if client and client[0] in self.trusted:
            for name, value in scope.get("headers") or ():
                if name == b"x-request-id":
                    text = value.decode("latin-1").strip()
                    if SANE_ID.fullmatch(text):
                        return text
                    break
        return new_request_id()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        rid = self._request_id(scope)
        scope.setdefault("state", {})["request_id"] = rid
        token = REQUEST_ID.set(rid)
        failed = False

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = MutableHeaders(scope=message)
                if HEADER not in headers:
                    headers[HEADER] = rid
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except BaseException:
            # the id stays set in this request's own context: the server's error answer and
            # its log record (outside this middleware) carry it too
            failed = True
            raise
        finally:
            seconds = time.perf_counter() - started
            route = scope.get("route")
            who = (scope.get("state") or {}).get("principal")
            fields = {
                "method": scope.get("method"),
                "route": getattr(route, "path", None) or unmatched(str(scope.get("path", "")),
                                                                   scope.get("app")),
                "status": status,
                "duration_ms": round(seconds * 1000, 1),
                "key_id": getattr(who, "key_id", None), "role": getattr(who, "role", None),
                "request_id": rid,
            }
            log.info("%s %s %s", fields["method"], fields["route"], status,
                     extra={"fields": fields})
            counted = metrics.of(scope.get("app"))
            if counted is not None:
                counted.observe(str(fields["method"]), str(fields["route"]), status, seconds)
            if not failed:
                REQUEST_ID.reset(token)


def unmatched(path: str, app: Any) -> str:
    """The label of a path that matched no route: its first segment when one of ``app``'s own
    routes or mounts starts with it (``/static/...``: a file not found), else
    ``/(unmatched)``. Nothing a caller makes up becomes a label: the request log and the
    metrics (:mod:`api.metrics`, one series per label) name only the app's own segments,
    however many paths are asked for."""
    parts = [p for p in path.split("/") if p]
    if not parts:
        return "/"
    return "/" + parts[0] + "/..." if parts[0] in _segments(app) else "/(unmatched)"


_known: weakref.WeakKeyDictionary[Any, frozenset[str]] = weakref.WeakKeyDictionary()


def _segments(app: Any) -> frozenset[str]:
    """The first segments of the paths of ``app``'s own routes and mounts (the static files,
    the docs; a router's routes, which FastAPI keeps inside its included routers, are not
    among them: a mistyped ``/v1/...`` is unmatched too), kept per app."""
    try:
        return _known[app]
    except (KeyError, TypeError):
        pass
    found = set()
    for route in getattr(app, "routes", None) or ():
        first = str(getattr(route, "path", "")).strip("/").split("/", 1)[0]
        if first and "{" not in first:
            found.add(first)
    segments = frozenset(found)
    with contextlib.suppress(TypeError):  # an app that cannot be weakly referenced: made again
        _known[app] = segments
    return segments
