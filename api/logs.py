"""Logs without personal data: one structured line per request, and JSON logs on request.

The request log (logger ``hotspot.requests``) records the method, the route *template*
(``/v1/patrol-plans/{plan_id}``, never the query string, which can hold places), the status,
the time taken and the caller's key id and role (a pseudonym: the key's secret never appears).
No client address, no body, no query. Uvicorn's own access log (addresses and full URLs) is off
(``hotspot serve``). A text line reads ``2024-06-14T09:00:00Z INFO hotspot.requests GET
/v1/incidents 200 ms=3.1 key_id=3f9c2a7b1d04 role=analyst``; ``HOTSPOT_LOG_FORMAT=json`` makes
every log line a JSON object with the same fields.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import metrics

log = logging.getLogger("hotspot.requests")


class JsonFormatter(logging.Formatter):
    """A log record as one JSON object: time, level, logger, message and any ``fields``."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + "Z",
            "level": record.levelname.lower(), "logger": record.name,
            "message": record.getMessage(),
        }
        out.update(getattr(record, "fields", {}))
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


class TextFormatter(logging.Formatter):
    """A log record as one line of text: UTC time, level, logger, message, then the record's
    ``fields`` not already in the message as ``name=value`` (for the request log: the time
    taken, key id and role: ``ms=3.1 key_id=3f9c2a7b1d04 role=analyst``; ``-`` when none)."""

    IN_MESSAGE = frozenset({"method", "route", "status"})
    """Request-log fields the message already holds."""

    def format(self, record: logging.LogRecord) -> str:
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + "Z"
        line = f"{ts} {record.levelname} {record.name} {record.getMessage()}"
        fields = getattr(record, "fields", {})
        extra = " ".join(f"{k}={'-' if v is None else v}" for k, v in fields.items()
                         if k not in self.IN_MESSAGE)
        if extra:
            line += " " + extra
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure(level: str, fmt: str) -> None:
    """Set up the root logger: ``fmt`` ``json`` or ``text``."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


class RequestLog:
    """ASGI middleware writing the request log line (see the module's notes)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            who = (scope.get("state") or {}).get("principal")
            fields = {
                "method": scope.get("method"),
                "route": getattr(route, "path", None) or _static(str(scope.get("path", ""))),
                "status": status,
                "ms": round((time.perf_counter() - started) * 1000, 1),
                "key_id": getattr(who, "key_id", None), "role": getattr(who, "role", None),
            }
            log.info("%s %s %s", fields["method"], fields["route"], status,
                     extra={"fields": fields})
            counted = metrics.of(scope.get("app"))
            if counted is not None:
                counted.observe(str(fields["method"]), str(fields["route"]), status,
                                time.perf_counter() - started)


def _static(path: str) -> str:
    """A path that matched no route: its first segment only (no ids, no data)."""
    parts = [p for p in path.split("/") if p]
    return "/" + parts[0] + "/..." if parts else "/"
