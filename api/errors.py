"""The service's errors and the one table (:data:`ERROR_TABLE`) that maps them, and the
libraries' errors, to HTTP answers.

Every answer carries a message safe to show (it names the field, file, row or feature at
fault) and, when an error names it, the offending ``field`` (its ``field`` attribute: data, never
read from the message); the whole exception goes to the log. No SQL, path of the server or
driver text is echoed.
"""

from __future__ import annotations

import logging
import math
from typing import NamedTuple
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import logs
from api.cache import ClientGone, StillComputing
from api.service_errors import USER_ERRORS as USER_ERRORS  # re-exported
from api.service_errors import (  # re-exported: the routes and services import them here
    AnalysisLimited,
    Conflict,
    CsrfRefused,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    ServiceBusy,
    ServiceError,
    TooManyRows,
    Unauthorized,
    Unavailable,
    UnsupportedMediaType,
    UploadTooLarge,
)
from api.service_errors import (
    NoAnalyses as NoAnalyses,  # re-exported
)
from api.service_errors import as_invalid_input as as_invalid_input  # re-exported
from api.service_errors import clipped as clipped  # re-exported
from api.service_errors import quoted as quoted  # re-exported
from geodata.errors import (
    GeodataError,
    InvalidAdvice,
    InvalidBacktestKey,
    InvalidFile,
    InvalidHarmTable,
    InvalidLayer,
    InvalidMapping,
    InvalidTaxonomy,
    InvalidText,
    InvalidValue,
    PublicationConflict,
    StorePurposeError,
    StoreUnavailable,
    TooManyRecords,
    UnsupportedStore,
)
from hotspot.errors import AnalysisCancelled, HotspotError

log = logging.getLogger(__name__)

RETRY_AFTER_S = 5


class Answer(NamedTuple):
    """How an error is answered: HTTP status, error code and, for an error whose own message
    is not safe to show, the message sent instead (the exception goes to the log)."""

    status: int
    code: str
    message: str | None = None


def _own(*classes: type[ServiceError]) -> dict[type[Exception], Answer]:
    return {cls: Answer(cls.status, cls.code) for cls in classes}


_FAULT = "the request could not be completed; see the log"

ERROR_TABLE: dict[type[Exception], Answer] = {
    # the service's own errors: status and code as each class declares them
    **_own(InvalidInput, NotFound, Conflict, UnsupportedMediaType, Unavailable, UploadTooLarge,
           TooManyRows, RateLimited, AnalysisLimited, ServiceBusy, Unauthorized, Forbidden,
           CsrfRefused, ServiceError),
    StillComputing: Answer(503, "still_computing"),
    ClientGone: Answer(499, "client_gone", "the client closed the connection"),
    # the libraries' errors
    HotspotError: Answer(422, "invalid_parameter"),
    AnalysisCancelled: Answer(499, "client_gone", "the client closed the connection"),
    TooManyRecords: Answer(413, "too_many_rows"),
    InvalidFile: Answer(422, "invalid_file"),
    InvalidMapping: Answer(422, "invalid_mapping"),
    InvalidLayer: Answer(422, "invalid_layer"),
    InvalidText: Answer(422, "invalid_text"),
    InvalidTaxonomy: Answer(500, "invalid_taxonomy"),
    InvalidHarmTable: Answer(500, "invalid_harm_table"),
    InvalidAdvice: Answer(500, "invalid_advice"),
    InvalidBacktestKey: Answer(422, "invalid_backtest_key"),
    StorePurposeError: Answer(409, "wrong_store"),
    PublicationConflict: Answer(409, "already_published"),
    StoreUnavailable: Answer(503, "store_unavailable"),
    UnsupportedStore: Answer(503, "store_unavailable"),
    GeodataError: Answer(500, "internal_error", "the request could not be completed"),
    # anything else is a fault of the service (a value a store refuses, here, is one too: the
    # routes check what callers send before it reaches a store)
    InvalidValue: Answer(500, "internal_error", _FAULT),
    Exception: Answer(500, "internal_error", _FAULT),
}
"""How every error is answered, by exception class: an exception takes the row of the first
class of its MRO that is listed (so a subclass not listed answers as its parent)."""


def answer_of(exc: BaseException) -> Answer:
    """The row of :data:`ERROR_TABLE` that answers ``exc`` (by its MRO)."""
    for cls in type(exc).__mro__:
        if cls in ERROR_TABLE:
            return ERROR_TABLE[cls]
    return ERROR_TABLE[Exception]


MESSAGE_LIMIT = 2_000
"""Longest ``detail`` (and, at a tenth of it, ``field``) an error answer carries, characters:
the last guard against an answer that repeats what was sent."""


def _answer(status: int, code: str, message: str, field: str | None = None, *,
            retry_after_s: float | None = None, request_id: str | None = None) -> JSONResponse:
    """The error body every error shares; 503s (and whoever gives ``retry_after_s``) say when
    to try again; a 5xx names its ``request_id`` (body and ``X-Request-ID``), which the log's
    records of that request carry."""
    if len(message) > MESSAGE_LIMIT:
        message = message[: MESSAGE_LIMIT - 1] + "…"
    body: dict[str, object] = {"detail": message, "error": code}
    if field:
        body["field"] = str(_short(field, MESSAGE_LIMIT // 10))
    if retry_after_s is None and status == 503:
        retry_after_s = RETRY_AFTER_S
    headers = ({"Retry-After": str(max(1, math.ceil(retry_after_s)))}
               if retry_after_s is not None else {})
    if status >= 500 and request_id:
        body["request_id"] = request_id
        headers[logs.HEADER] = request_id
    return JSONResponse(body, status_code=status, headers=headers or None)


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


def login_redirect(request: Request) -> RedirectResponse:
    """Where a person with no session is sent: the sign-in page, then back."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def error_answer(request: Request, exc: Exception) -> Response:
    """The answer to ``exc`` by :data:`ERROR_TABLE`: its message and the offending field from
    ``exc.field`` (or only the table's message, for an error whose own is not safe to show),
    Retry-After from ``exc.retry_after_s``. A page asked for without credentials goes to sign
    in."""
    status, code, message = answer_of(exc)
    if isinstance(exc, Unauthorized) and request.method == "GET" and (
            "text/html" in request.headers.get("accept", "")):
        return login_redirect(request)
    if status >= 500 and not isinstance(exc, ServiceError | StillComputing):
        if message is None:
            log.error("request failed: %s", exc, exc_info=exc)
        else:
            log.error("unexpected data error" if isinstance(exc, GeodataError)
                      else "unexpected error", exc_info=exc)
    retry_after_s = getattr(exc, "retry_after_s", None)
    rid = logs.request_id_of(request.scope)
    if message is None:
        response = _answer(status, code, str(exc), getattr(exc, "field", None),
                           retry_after_s=retry_after_s, request_id=rid)
    else:
        response = _answer(status, code, message, retry_after_s=retry_after_s, request_id=rid)
    if isinstance(exc, Unauthorized):
        response.headers["WWW-Authenticate"] = 'Bearer realm="hotspot"'
    return response


def install(app: FastAPI) -> None:
    """Register the handlers on an app: one for every class of :data:`ERROR_TABLE`, and the
    framework's own errors in the same shape."""

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
            response = _answer(status, _HTTP_CODES.get(status, "http_error"), str(exc.detail),
                               request_id=logs.request_id_of(request.scope))
        response.headers.update(exc.headers or {})
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return invalid_request_answer(exc)

    async def table_error(request: Request, exc: Exception) -> Response:
        return error_answer(request, exc)

    for cls in ERROR_TABLE:
        app.add_exception_handler(cls, table_error)
