"""Signing in and out of the pages, who am I, API keys (admin) and the audit log (admin)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment
from pydantic import BaseModel, ConfigDict, Field

from api.access import (
    ROLES,
    SESSION_COOKIE,
    SESSION_S,
    check_key,
    check_session,
    new_key,
    session_token,
)
from api.csrf import (
    CSRF_COOKIE,
    CSRF_HEADER,
    LOGIN_COOKIE,
    LOGIN_TOKEN_S,
    check_login_token,
    check_session_token,
    login_nonce,
    masked,
    session_csrf_token,
)
from api.deps import SettingsDep, StoreDep
from api.errors import NotFound
from api.settings import Settings

router = APIRouter(tags=["access"])

_LOGIN = Environment(autoescape=True).from_string("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in: Hotspot</title>
<style>
body { font: 18px/1.4 system-ui, sans-serif; max-width: 30rem; margin: 3rem auto; padding: 0 1rem; }
label { display: block; margin: 1rem 0 0.3rem; font-weight: 600; }
input { width: 100%; box-sizing: border-box; font: 16px monospace; min-height: 48px; padding: 0 8px; }
button { margin-top: 1rem; min-height: 48px; padding: 0 24px; font: 600 18px system-ui;
  background: #0b3d91; color: #fff; border: 0; border-radius: 8px; }
.error { color: #b91c1c; font-weight: 600; }
</style></head><body>
<h1>Sign in</h1>
<p>Paste the API key you were given (it starts <code>hsk_</code>). An administrator makes keys
with <code>hotspot keys create</code>.</p>
{% if error %}<p class="error" role="alert">{{ error }}</p>{% endif %}
<form method="post" action="/login">
<label for="key">API key</label>
<input id="key" name="key" type="password" autocomplete="off" required>
<input type="hidden" name="next" value="{{ next }}">
<input type="hidden" name="csrf_token" value="{{ token }}">
<button type="submit">Sign in</button>
</form></body></html>
""")


LANDING = {"partner": "/products", "rural_team": "/plans"}
"""Where a role lands when it signs in with nowhere in particular to go (else the hotspot
map): partners on the published products (all they may read), the Rural Crime Team on the
plans, each published plan with its crews' field views."""


def _safe_next(value: str | None) -> str:
    """A local path to go back to (never another site)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def _secure(request: Request, settings: Settings) -> bool:
    """Whether cookies get ``Secure``: the service speaks HTTPS, or the request came over HTTPS
    to a trusted proxy (``HOTSPOT_FORWARDED_ALLOW_IPS``)."""
    return settings.tls_certfile is not None or request.url.scheme == "https"


def _login_form(request: Request, settings: Settings, *, next: str | None, error: str | None,
                status: int = 200) -> HTMLResponse:
    """The sign-in page, with its form token in a hidden field and in a cookie for /login."""
    token = login_nonce(request)
    response = HTMLResponse(_LOGIN.render(next=_safe_next(next), error=error, token=masked(token)),
                            status_code=status)
    response.set_cookie(LOGIN_COOKIE, token, max_age=LOGIN_TOKEN_S, httponly=True,
                        samesite="strict", secure=_secure(request, settings), path="/login")
    return response


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(request: Request, settings: SettingsDep,
               next: str | None = Query(None, max_length=2000)) -> HTMLResponse:
    """The sign-in page of the pages (the planner's map, plans, the field view)."""
    return _login_form(request, settings, next=next, error=None)


@router.post("/login", include_in_schema=False)
def login(request: Request, store: StoreDep, settings: SettingsDep,
          key: Annotated[str, Form(max_length=200)],
          next: Annotated[str | None, Form(max_length=2000)] = None,
          csrf_token: Annotated[str | None, Form(max_length=100)] = None) -> Response:
    """Check the form's token (:mod:`api.csrf`; the same origin was checked at the gate) and
    the key, start a session (a signed cookie, and its CSRF token in a cookie the pages read),
    then go back where the person was going."""
    if not check_login_token(request, csrf_token):
        return _login_form(request, settings, next=next, status=403,
                           error="The sign-in form had expired: please sign in again.")
    who = check_key(store, key)
    if who is None:
        return _login_form(request, settings, next=next, status=401,
                           error="That key is not valid (or was revoked).")
    token = session_token(store, who)
    session = check_session(store, token)
    assert session is not None and session.session_id is not None
    secure = _secure(request, settings)
    target = _safe_next(next)
    if target == "/":  # nowhere in particular: each role's own first page
        target = LANDING.get(who.role, "/")
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(SESSION_COOKIE, token, max_age=SESSION_S, httponly=True,
                        samesite="strict", secure=secure, path="/")
    response.set_cookie(CSRF_COOKIE, session_csrf_token(store, session.session_id),
                        max_age=SESSION_S, httponly=False, samesite="strict", secure=secure,
                        path="/")
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout", include_in_schema=False)
def logout(request: Request, store: StoreDep,
           csrf_token: Annotated[str | None, Form(max_length=100)] = None) -> Response:
    """End the session: revoke it in the store (a copy of the cookie stops working too) and
    clear the cookies. With a live session it needs the session's CSRF token (header
    X-CSRF-Token or form field csrf_token; the same origin was checked at the gate)."""
    cookie = request.cookies.get(SESSION_COOKIE)
    who = check_session(store, cookie) if cookie else None
    if who is not None and who.session_id is not None:
        check_session_token(store, who, request.headers.get(CSRF_HEADER) or csrf_token)
        store.revoke_session(who.session_id, key_id=who.key_id,
                             expires_at=int(who.expires_at or 0))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@router.get("/v1/whoami")
def whoami(request: Request) -> dict[str, Any]:
    """The caller's key id and role."""
    p = request.state.principal
    return {"key_id": p.key_id, "role": p.role, "via": p.via}


class KeyIn(BaseModel):
    """A key to make."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100, description="Who or what holds it.")
    role: Literal["admin", "analyst", "rural_team", "partner"]


@router.get("/v1/keys")
def list_keys(store: StoreDep) -> list[dict[str, Any]]:
    """Every key (never its secret), revoked ones too."""
    return store.list_keys()


@router.post("/v1/keys", status_code=201)
def create_key(body: KeyIn, store: StoreDep) -> JSONResponse:
    """Make a key; the answer holds the key itself, shown this once."""
    token, record = new_key(store, name=body.name, role=body.role)
    return JSONResponse({**record, "key": token}, status_code=201)


@router.delete("/v1/keys/{key_id}")
def revoke_key(key_id: str, store: StoreDep) -> dict[str, Any]:
    """Revoke a key (its sessions end too)."""
    if not store.revoke_key(key_id):
        raise NotFound("no live key has that id", field="key_id")
    return {"key_id": key_id, "revoked": True}


@router.get("/v1/audit")
def audit(store: StoreDep, limit: int = Query(100, ge=1, le=1000),
          before: int | None = Query(None, ge=1, le=2**62)) -> dict[str, Any]:
    """The audit log, newest first: who read incident-level data or ingested, when, with
    which filter, how many rows (``before``: the next page)."""
    entries = store.audit_log(limit, before)
    more = f"/v1/audit?limit={limit}&before={entries[-1]['entry_id']}" \
        if len(entries) == limit else None
    return {"entries": entries, "next": more}


__all__ = ["ROLES", "router"]
