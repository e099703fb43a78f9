"""Domain errors mapped to HTTP answers, in one table.

Every answer carries a message safe to show (it names the field, file, row or feature at
fault); the whole exception goes to the log. No SQL, path of the server or driver text is
echoed.
"""

from __future__ import annotations

import logging
import math

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.cache import ClientGone, StillComputing
from geodata.errors import (
    GeodataError,
    InvalidBacktestKey,
    InvalidFile,
    InvalidHarmTable,
    InvalidLayer,
    InvalidMapping,
    InvalidTaxonomy,
    InvalidText,
    PublicationConflict,
    StorePurposeError,
    StoreUnavailable,
    UnsupportedStore,
)
from hotspot.errors import HotspotError

log = logging.getLogger(__name__)

RETRY_AFTER_S = 5


class UploadTooLarge(Exception):
    """Raised while reading a request body that exceeds the upload limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the upload is larger than the limit of {limit:,} bytes")
        self.limit = limit


class TooManyRows(Exception):
    """Raised while reading an upload that has more rows than the limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the upload has more than the limit of {limit:,} rows "
                         "(HOTSPOT_MAX_UPLOAD_ROWS); nothing was stored: split the file")


class RateLimited(Exception):
    """Too many requests from one key (or address) in a short time (429)."""

    def __init__(self, retry_after_s: float) -> None:
        super().__init__(f"too many requests: try again in {retry_after_s:.0f} s")
        self.retry_after_s = retry_after_s


class AnalysisLimited(RateLimited):
    """A key over its role's budget of uncached analyses: too many running at once, or too
    many started in the last minute (429 with Retry-After)."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        Exception.__init__(self, message)
        self.retry_after_s = retry_after_s


class ServiceBusy(Exception):
    """As many uncached analyses running as the service allows (503 with Retry-After)."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Unauthorized(Exception):
    """No valid credentials (401; pages redirect to the sign-in page)."""


class Forbidden(Exception):
    """Valid credentials whose role may not do this (403)."""

    def __init__(self, role: str, allowed: tuple[str, ...]) -> None:
        super().__init__(f"the {role} role may not do this; it needs one of: "
                         f"{', '.join(allowed)}" if allowed else
                         "this endpoint is open to no role (it is not in the access table)")


class CsrfRefused(Exception):
    """A state-changing request carrying the session cookie that did not come from the
    service's own pages: another origin, or no (or a wrong) CSRF token (403)."""


class NoAnalyses(Forbidden):
    """A role whose budget of uncached analyses is zero (partners: they read published
    products) asked for one (403)."""

    def __init__(self, role: str) -> None:
        Exception.__init__(self, f"the {role} role runs no analyses of its own: "
                           "partners read the published products (/v1/products)"
                           if role == "partner" else
                           f"the {role} role runs no analyses of its own "
                           "(HOTSPOT_ANALYSES_AT_ONCE gives it none)")


class BadRequest(Exception):
    """Raised by a route for a request it cannot act on (bad content type, missing file)."""

    def __init__(self, message: str, *, field: str | None = None, status: int = 422) -> None:
        super().__init__(message)
        self.field = field
        self.status = status


ERROR_STATUS: list[tuple[type[BaseException], int, str]] = [
    (HotspotError, 422, "invalid_parameter"),
    (InvalidFile, 422, "invalid_file"),
    (InvalidMapping, 422, "invalid_mapping"),
    (InvalidLayer, 422, "invalid_layer"),
    (InvalidText, 422, "invalid_text"),
    (InvalidTaxonomy, 500, "invalid_taxonomy"),
    (InvalidHarmTable, 500, "invalid_harm_table"),
    (InvalidBacktestKey, 422, "invalid_backtest_key"),
    (StorePurposeError, 409, "wrong_store"),
    (PublicationConflict, 409, "already_published"),
    (StoreUnavailable, 503, "store_unavailable"),
    (UnsupportedStore, 503, "store_unavailable"),
]
"""Exception class, HTTP status, error code: the first matching row wins."""


def clipped(value: object, limit: int = 60) -> str:
    """A value the caller sent, cut to ``limit`` characters for a message or a field's name (an
    answer names what was wrong; it never sends a body back)."""
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def quoted(value: object, limit: int = 60) -> str:
    """:func:`clipped`, quoted."""
    return repr(clipped(value, limit))


MESSAGE_LIMIT = 2_000
"""Longest ``detail`` (and, at a tenth of it, ``field``) an error answer carries, characters:
the last guard against an answer that repeats what was sent."""


def _answer(status: int, code: str, message: str, field: str | None = None, *,
            retry_after_s: float | None = None) -> JSONResponse:
    """The error body every error shares; 503s (and whoever gives ``retry_after_s``) say when
    to try again."""
    if len(message) > MESSAGE_LIMIT:
        message = message[: MESSAGE_LIMIT - 1] + "…"
    body: dict[str, object] = {"detail": message, "error": code}
    if field:
        body["field"] = str(_short(field, MESSAGE_LIMIT // 10))
    if retry_after_s is None and status == 503:
        retry_after_s = RETRY_AFTER_S
    headers = ({"Retry-After": str(max(1, math.ceil(retry_after_s)))}
               if retry_after_s is not None else None)
    return JSONResponse(body, status_code=status, headers=headers)


_WHERE = ("body", "query", "path", "header", "cookie")
_LONGEST = 64
"""Longest part of a field's name repeated in an answer, characters (a name is the caller's
own text when it is an unknown field)."""


def _short(part: object, longest: int = _LONGEST) -> str | int:
    if isinstance(part, int):
        return part
    text = str(part)
    return text if len(text) <= longest else text[:longest] + "..."


def _message(error: dict[str, object]) -> str:
    if error.get("type") == "json_invalid":  # loc: ("body", character offset)
        loc = error.get("loc") or ()
        where = loc[-1] if isinstance(loc, tuple | list) and loc else "?"
        ctx = error.get("ctx")
        why = ctx.get("error") if isinstance(ctx, dict) else None
        return f"the body is not valid JSON ({why or 'decode error'} at character {where})"
    return str(error.get("msg", "not valid"))


def invalid_request_answer(exc: RequestValidationError) -> JSONResponse:
    """422 for a request the schema refuses: each error's field (``loc``), what is wrong
    (``msg``) and its ``type``, never the value sent (FastAPI's own answer echoes it as
    ``input``, which can be the whole body)."""
    errors = [{"loc": [_short(p) for p in e.get("loc", ())],
               "msg": _message(e)[:300], "type": str(e.get("type", ""))}
              for e in exc.errors()]
    if not errors:
        errors = [{"loc": ["body"], "msg": "not valid", "type": "invalid"}]
    first = errors[0]["loc"]
    named = [str(p) for p in (first[1:] if first and first[0] in _WHERE else first)]
    if errors[0]["type"] == "json_invalid":
        named = []
    field = ".".join(named) or str(first[0] if first else "body")
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return JSONResponse({"detail": f"{field}: {errors[0]['msg']}{more}",
                         "error": "invalid_request", "field": field, "errors": errors},
                        status_code=422)


_HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}
"""Error codes of the framework's own HTTP errors."""


def body_problem(cause: BaseException) -> str:
    """What was wrong with a request body FastAPI could not parse (its 400), in words."""
    if isinstance(cause, RecursionError):
        return "the body nests too deeply to be read (JSON nests a few levels at most here)"
    if isinstance(cause, UnicodeDecodeError):
        return (f"the body is not UTF-8 text (byte {cause.start} is not UTF-8): send JSON "
                "encoded as UTF-8")
    return "the body could not be parsed as its content type says"


def install(app: FastAPI) -> None:
    """Register the handlers on an app."""

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        """The framework's own errors (an unknown path, a method not allowed, a body FastAPI
        or Starlette could not parse) in the same shape as every other error."""
        status = exc.status_code
        if status < 400:
            return await http_exception_handler(request, exc)
        if status == 400 and exc.__cause__ is not None:  # a body FastAPI could not parse
            response = _answer(400, "unreadable_body", body_problem(exc.__cause__))
        else:
            response = _answer(status, _HTTP_CODES.get(status, "http_error"), str(exc.detail))
        response.headers.update(exc.headers or {})
        return response

    @app.exception_handler(HotspotError)
    @app.exception_handler(GeodataError)
    async def domain_error(_request: Request, exc: Exception) -> JSONResponse:
        for cls, status, code in ERROR_STATUS:
            if isinstance(exc, cls):
                if status >= 500:
                    log.error("request failed: %s", exc, exc_info=exc)
                return _answer(status, code, str(exc), getattr(exc, "parameter", None))
        log.error("unexpected data error", exc_info=exc)
        return _answer(500, "internal_error", "the request could not be completed")

    @app.exception_handler(Unauthorized)
    async def unauthorized(request: Request, _exc: Unauthorized) -> Response:
        accept = request.headers.get("accept", "")
        if request.method == "GET" and "text/html" in accept:
            from api.routes.access import login_redirect

            return login_redirect(request)
        response = _answer(401, "unauthorized", "sign in: send an API key as "
                           "'Authorization: Bearer hsk_...' (or sign in at /login for the pages)")
        response.headers["WWW-Authenticate"] = 'Bearer realm="hotspot"'
        return response

    @app.exception_handler(Forbidden)
    async def forbidden(_request: Request, exc: Forbidden) -> JSONResponse:
        return _answer(403, "forbidden", str(exc))

    @app.exception_handler(TooManyRows)
    async def too_many_rows(_request: Request, exc: TooManyRows) -> JSONResponse:
        return _answer(413, "too_many_rows", str(exc))

    @app.exception_handler(RateLimited)
    async def rate_limited(_request: Request, exc: RateLimited) -> JSONResponse:
        return _answer(429, "rate_limited", str(exc), retry_after_s=exc.retry_after_s)

    @app.exception_handler(AnalysisLimited)
    async def analysis_limited(_request: Request, exc: AnalysisLimited) -> JSONResponse:
        return _answer(429, "analysis_budget", str(exc), retry_after_s=exc.retry_after_s)

    @app.exception_handler(ServiceBusy)
    async def service_busy(_request: Request, exc: ServiceBusy) -> JSONResponse:
        return _answer(503, "busy", str(exc), retry_after_s=exc.retry_after_s)

    @app.exception_handler(ClientGone)
    async def client_gone(_request: Request, _exc: ClientGone) -> JSONResponse:
        # nobody reads this: the client closed the connection (nginx's 499 in the log)
        return _answer(499, "client_gone", "the client closed the connection")

    @app.exception_handler(StillComputing)
    async def still_computing(_request: Request, exc: StillComputing) -> JSONResponse:
        return _answer(503, "still_computing", str(exc), retry_after_s=10)

    @app.exception_handler(UploadTooLarge)
    async def too_large(_request: Request, exc: UploadTooLarge) -> JSONResponse:
        return _answer(413, "upload_too_large", str(exc))

    @app.exception_handler(BadRequest)
    async def bad_request(_request: Request, exc: BadRequest) -> JSONResponse:
        return _answer(exc.status, "bad_request", str(exc), exc.field)

    @app.exception_handler(CsrfRefused)
    async def csrf_refused(_request: Request, exc: CsrfRefused) -> JSONResponse:
        return _answer(403, "csrf_refused", str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return invalid_request_answer(exc)

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error", exc_info=exc)
        return _answer(500, "internal_error", "the request could not be completed; see the log")
