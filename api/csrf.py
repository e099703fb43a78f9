"""Cross-site request forgery: a request that changes something on the strength of the session
cookie must come from the service's own pages.

The pages (the planner's map, the plan pages, the field view) are signed in by a session cookie
(:mod:`api.access`) that the browser adds to every request to the service, whoever's page makes
it. ``SameSite=Strict`` keeps other *sites* out, but not another origin of the same site (another
port, or another host under the same domain). So a state-changing request (POST, PUT, PATCH,
DELETE) that is authenticated by the session cookie needs both:

1. **the same origin**: its ``Origin`` is the service's own (scheme, host and port as the
   request reached the service; the scheme from a trusted proxy's ``X-Forwarded-Proto``), or,
   when there is no ``Origin`` or it is ``null``, ``Sec-Fetch-Site: same-origin``; a
   ``Sec-Fetch-Site`` other than ``same-origin`` is refused, and so is a request with neither
   header (browsers send one or both on every POST). (The pages are served with
   ``Referrer-Policy: same-origin``, so a form's post keeps its real ``Origin``: under
   ``no-referrer`` browsers send ``Origin: null`` and older ones, without ``Sec-Fetch-Site``,
   could not sign in at all. A post with ``Origin: null`` still passes on ``Sec-Fetch-Site``
   alone, which a page of another origin, or an opaque one, cannot make ``same-origin``.) And
2. **a CSRF token** in the ``X-CSRF-Token`` header: the HMAC-SHA-256 of the session's id under
   the store's session secret. Sign-in sets it in a cookie the pages' scripts can read
   (``hotspot_csrf``: not ``HttpOnly``, ``SameSite=Strict``), and the pages send it back.

Why a token derived from the session (a signed double-submit cookie) rather than a plain random
double-submit cookie or a synchronizer token stored on the server: the server checks the token
against the session itself, not against whatever cookie came with it, so a cookie planted from a
sibling host (which can set cookies for the site but cannot compute the HMAC) does not pass, and
a token copied from one session is worth nothing in another; and nothing is stored per session,
so the field view, offline for hours, reads the current token from the cookie whenever it sends
its queued visits (after signing in again the cookie holds the new session's token). Another
origin can neither read that cookie nor add the header to a cross-origin request without a CORS
preflight, which the service does not grant with credentials.

Requests with a key in a header (``Authorization: Bearer``, ``X-API-Key``) need neither: a
browser never adds those headers to a request by itself.

**Signing in** has no session yet, but can be forged too (login CSRF: a page elsewhere signs a
person in to the attacker's session, and what they then do goes to the attacker's account).
``POST /login`` needs the same origin, and a token in its form: the sign-in page sets a random
value in an ``HttpOnly`` cookie scoped to ``/login`` and writes the same value into a hidden
field; the two must match (no other origin can read either). **Signing out** needs the same
origin and the session's token (header or form field), and revokes the session in the store, so
a copied cookie stops working at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from urllib.parse import urlsplit

from fastapi import Request

from api.access import Principal
from api.service_errors import CsrfRefused
from geodata.stores import AccessStore

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
"""Methods that change something."""
CSRF_COOKIE = "hotspot_csrf"
"""The session's CSRF token, readable by the pages' scripts."""
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
"""The form field that carries a token where a form is posted (sign-in, sign-out)."""
LOGIN_COOKIE = "hotspot_login"
"""The sign-in form's token (``HttpOnly``, path ``/login``)."""
LOGIN_TOKEN_S = 3600
"""How long a sign-in form stays usable, seconds."""
ORIGIN_CHECKED = frozenset({("POST", "/login"), ("POST", "/logout")})
"""Public endpoints that still need the same origin (they set or end a session)."""
_NONCE = re.compile(r"^[A-Za-z0-9_-]{43}$")
_DEFAULT_PORT = {"http": 80, "https": 443}


def session_csrf_token(store: AccessStore, session_id: str) -> str:
    """The CSRF token of a session: HMAC-SHA-256 of its id under the session secret
    (URL-safe base64, 43 characters)."""
    mac = hmac.new(store.secret("session").encode(), f"csrf:{session_id}".encode(),
                   hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def _origin(scheme: str, netloc: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an origin, the port defaulted; None if it cannot be read."""
    scheme = scheme.lower()
    try:
        parts = urlsplit(f"{scheme}://{netloc}")
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname or scheme not in _DEFAULT_PORT:
        return None
    return scheme, parts.hostname.lower(), port or _DEFAULT_PORT[scheme]


def check_origin(request: Request) -> None:
    """Refuse a request that does not come from the service's own origin (see the module's
    notes); :class:`CsrfRefused` says why, without repeating the caller's headers."""
    origin = request.headers.get("origin")
    site = request.headers.get("sec-fetch-site")
    if site is not None and site.strip().lower() != "same-origin":
        raise CsrfRefused("refused: this request came from a page of another origin "
                          "(Sec-Fetch-Site); use the service's own pages, or an API key")
    if origin is not None and origin.strip() != "null":
        parts = urlsplit(origin.strip())
        theirs = _origin(parts.scheme, parts.netloc) if parts.scheme else None
        ours = _origin(request.url.scheme, request.headers.get("host", ""))
        if theirs is None or theirs != ours:
            raise CsrfRefused("refused: this request came from a page of another origin; use "
                              "the service's own pages, or an API key")
    elif site is None:
        raise CsrfRefused("refused: a request that changes something with the session cookie "
                          "must say where it comes from (Origin or Sec-Fetch-Site), as "
                          "browsers do; programs use an API key")


def _b64decode(text: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError):
        return None


def masked(token: str) -> str:
    """A token as it is written into a page: a fresh random pad and the token XOR the pad
    (URL-safe base64, 86 characters for a 43-character token), different in every response.

    Pages are compressed (gzip) and some of them echo what a request put in its address (the
    sign-in page's ``next``, the map's form). A secret that is the same in every response
    beside text an attacker chooses leaks through the compressed size (BREACH); a masked token
    changes every time, so the size says nothing about it. :func:`unmasked` undoes it; tokens
    sent by scripts from the cookie (the ``X-CSRF-Token`` header) are not masked and need not
    be: they are never in a compressed body."""
    raw = _b64decode(token) or token.encode()
    pad = secrets.token_bytes(len(raw))
    return base64.urlsafe_b64encode(pad + bytes(a ^ b for a, b in zip(raw, pad, strict=True))
                                    ).decode().rstrip("=")


def unmasked(presented: str) -> str:
    """The token inside a masked one (:func:`masked`); any other text unchanged."""
    text = presented.strip()
    if len(text) != 86:
        return text
    raw = _b64decode(text)
    if raw is None or len(raw) != 64:
        return text
    return base64.urlsafe_b64encode(bytes(a ^ b for a, b in zip(raw[:32], raw[32:],
                                                                strict=True))).decode().rstrip("=")


def check_session_token(store: AccessStore, who: Principal, presented: str | None) -> None:
    """Refuse a session's request without its CSRF token (header or form field, plain or
    :func:`masked`)."""
    if who.session_id is None:
        raise CsrfRefused("refused: no session")
    want = session_csrf_token(store, who.session_id)
    if not presented or not hmac.compare_digest(unmasked(presented).encode(), want.encode()):
        raise CsrfRefused(f"refused: a request that changes something with the session cookie "
                          f"needs the page's CSRF token (header {CSRF_HEADER}); reload the "
                          "page, or sign in again")


def login_nonce(request: Request) -> str:
    """The sign-in form's token: the one in the browser's cookie if there is one (several
    tabs share it), else a new random one."""
    current = request.cookies.get(LOGIN_COOKIE, "")
    return current if _NONCE.match(current) else secrets.token_urlsafe(32)


def check_login_token(request: Request, presented: str | None) -> bool:
    """Whether the sign-in form's token matches the browser's sign-in cookie."""
    current = request.cookies.get(LOGIN_COOKIE, "")
    return bool(presented and _NONCE.match(current)
                and hmac.compare_digest(unmasked(presented).encode(), current.encode()))
