"""The service's own errors (each says its HTTP status and error code), which errors'
messages are safe to show a user (:data:`USER_ERRORS`), and the helpers that raise them
(:func:`as_invalid_input`, :func:`clipped`, :func:`quoted`), in a module that imports no web
framework and no data library: the services and the command line raise them, and a command
such as ``hotspot layers list`` or ``hotspot analyse`` should not pay for importing FastAPI
to do so. :mod:`api.errors` maps them, and the libraries' errors, to HTTP answers (and
re-exports them)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from geodata.errors import GeodataError
from hotspot.errors import HotspotError, InvalidParameter


class ServiceError(Exception):
    """A request the service cannot act on, for a reason safe to show; ``field`` names the
    offending field of the request when there is one. Each subclass says its HTTP status and
    error code (:data:`api.errors.ERROR_TABLE` lists them with the libraries' errors)."""

    status: int = 422
    code: str = "bad_request"
    field: str | None = None

    def __init__(self, message: str = "", field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidInput(ServiceError, ValueError):
    """A request parameter, body field or file that cannot be used (422)."""


class NotFound(ServiceError, LookupError):
    """The request names something that does not exist, or not any longer (404)."""

    status = 404
    code = "not_found"


class Conflict(ServiceError):
    """The request clashes with the state of what it names (409)."""

    status = 409
    code = "conflict"


class UnsupportedMediaType(ServiceError):
    """A body whose content type the endpoint does not take (415)."""

    status = 415
    code = "unsupported_media_type"


class Unavailable(ServiceError):
    """Something the request needs is not ready yet: try later (503, Retry-After)."""

    status = 503
    code = "unavailable"


class UploadTooLarge(ServiceError):
    """Raised while reading a request body that exceeds the upload limit (413)."""

    status = 413
    code = "upload_too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(f"the upload is larger than the limit of {limit:,} bytes")
        self.limit = limit


class TooManyRows(ServiceError):
    """Raised while reading an upload that has more rows than the limit (413)."""

    status = 413
    code = "too_many_rows"

    def __init__(self, limit: int) -> None:
        super().__init__(f"the upload has more than the limit of {limit:,} rows "
                         "(HOTSPOT_MAX_UPLOAD_ROWS); nothing was stored: split the file")


class RateLimited(ServiceError):
    """Too many requests from one key (or address) in a short time (429, Retry-After)."""

    status = 429
    code = "rate_limited"

    def __init__(self, retry_after_s: float) -> None:
        super().__init__(f"too many requests: try again in {retry_after_s:.0f} s")
        self.retry_after_s = retry_after_s


class AnalysisLimited(RateLimited):
    """A key over its role's budget of uncached analyses: too many running at once, or too
    many started in the last minute (429 with Retry-After)."""

    code = "analysis_budget"

    def __init__(self, message: str, retry_after_s: float) -> None:
        ServiceError.__init__(self, message)
        self.retry_after_s = retry_after_s


class ServiceBusy(ServiceError):
    """As many uncached analyses running as the service allows (503 with Retry-After)."""

    status = 503
    code = "busy"

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Unauthorized(ServiceError):
    """No valid credentials (401; pages redirect to the sign-in page)."""

    status = 401
    code = "unauthorized"

    def __init__(self, message: str = "sign in: send an API key as 'Authorization: Bearer "
                 "hsk_...' (or sign in at /login for the pages)") -> None:
        super().__init__(message)


class Forbidden(ServiceError):
    """Valid credentials whose role may not do this (403)."""

    status = 403
    code = "forbidden"

    def __init__(self, role: str, allowed: tuple[str, ...], caller: Any = None) -> None:
        super().__init__(f"the {role} role may not do this; it needs one of: "
                         f"{', '.join(allowed)}" if allowed else
                         "this endpoint is open to no role (it is not in the access table)")
        self.caller = caller
        """The refused caller (a :class:`api.access.Principal`), when known: the request log
        names its key, and an error page offers the pages its role may open."""


class CsrfRefused(ServiceError):
    """A state-changing request carrying the session cookie that did not come from the
    service's own pages: another origin, or no (or a wrong) CSRF token (403)."""

    status = 403
    code = "csrf_refused"


class NoAnalyses(Forbidden):
    """A role whose budget of uncached analyses is zero (partners: they read published
    products) asked for one (403)."""

    def __init__(self, role: str) -> None:
        ServiceError.__init__(self, f"the {role} role runs no analyses of its own: "
                              "partners read the published products (/v1/products)"
                              if role == "partner" else
                              f"the {role} role runs no analyses of its own "
                              "(HOTSPOT_ANALYSES_AT_ONCE gives it none)")


USER_ERRORS: tuple[type[Exception], ...] = (ServiceError, HotspotError, GeodataError)
"""Base classes of the errors whose message is safe to show a user as it is."""


def clipped(value: object, limit: int = 60) -> str:
    """A value the caller sent, cut to ``limit`` characters for a message or a field's name (an
    answer names what was wrong; it never sends a body back)."""
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def quoted(value: object, limit: int = 60) -> str:
    """:func:`clipped`, quoted."""
    return repr(clipped(value, limit))


@contextmanager
def as_invalid_input(field: str | None = None, *, names: Mapping[str, str] | None = None,
                     errors: tuple[type[HotspotError], ...] = (InvalidParameter,)
                     ) -> Iterator[None]:
    """Inside, a library error of ``errors`` (by default a parameter out of range) is the
    request's invalid input (422 ``bad_request``) naming the request's field: the error's own
    ``field`` (through ``names``, the library's parameter names as the request calls them),
    else ``field``. ``names={}`` names ``field`` whatever the error names."""
    try:
        yield
    except errors as exc:
        named = (exc.field or field if names is None
                 else names.get(exc.field or "", field))
        raise InvalidInput(str(exc), named) from None
