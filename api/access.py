"""Who may call what: API keys, page sessions, roles, and the one table of each endpoint's roles.

**Keys.** ``hsk_<key id>_<secret>``: the id is public (it names the key in lists and the audit
log), the secret is 32 random bytes shown once, when the key is made (``hotspot keys create``
or ``POST /v1/keys``); the store keeps only its SHA-256 (a random 256-bit secret needs no slow
hash). A request presents a key as ``Authorization: Bearer <key>`` (or ``X-API-Key``).

**Pages.** A person signs in at ``/login`` with a key; the service answers with a session
cookie (``HttpOnly``, ``SameSite=Strict``, ``Secure`` over HTTPS) holding a bearer token signed
with the store's own secret (HMAC-SHA-256): the key id, the role and an expiry (12 hours). A
revoked key ends its sessions at once (every request checks the key is live).

**Roles.** ``admin`` (everything, keys, the audit log), ``analyst`` (ingest, every read, plans),
``rural_team`` (hotspots, plans and their pages, logging visits), ``partner`` (aggregated
hotspots of published products only: :mod:`api.services.products`; and the business reports it
sent itself, :mod:`api.services.business`). No
anonymous access to anything but ``/health``, the sign-in page, the API documentation and
static files. :data:`ACCESS` is the one place each endpoint's roles are declared; the OpenAPI
document shows them (``security`` and ``x-roles`` on every operation), and an endpoint missing
from it is refused to everyone (a test checks every route is in it).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from api.service_errors import InvalidInput
from geodata.stores import AccessStore

ROLES = ("admin", "analyst", "rural_team", "partner")
PUBLIC: tuple[str, ...] = ()
"""No role needed."""
STAFF = ("admin", "analyst")
FIELD = ("admin", "analyst", "rural_team")
DRAFT_ROLES = STAFF
"""Roles that may open a patrol plan before it is published (as a preview, marked draft)."""
EVERYONE = ROLES
BUSINESS = ("admin", "analyst", "partner")
"""Business reports (the retail partnership): partners their own, staff every one."""
SESSION_COOKIE = "hotspot_session"
SESSION_S = 12 * 3600
_KEY = re.compile(r"^hsk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")

ACCESS: dict[tuple[str, str], tuple[str, ...]] = {
    ("GET", "/health"): PUBLIC,
    ("GET", "/favicon.ico"): PUBLIC,
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("POST", "/logout"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
    ("GET", "/field/sw.js"): PUBLIC,
    ("GET", "/v1/taxonomy"): EVERYONE,
    ("GET", "/v1/whoami"): EVERYONE,
    ("GET", "/v1/ingests"): STAFF,
    ("POST", "/v1/incidents"): STAFF,
    ("GET", "/v1/incidents"): STAFF,
    ("GET", "/v1/layers"): FIELD,
    ("GET", "/v1/layers/{kind}"): FIELD,
    ("GET", "/v1/basemap"): FIELD,  # the store's roads and names, as /v1/layers
    ("GET", "/tiles/tiles.json"): FIELD,
    ("GET", "/tiles/{z}/{x}/{y}.{ext}"): FIELD,
    ("GET", "/tiles/incidents/{z}/{x}/{y}.mvt"): STAFF,  # exact points (api.services.vector_tiles)
    ("GET", "/tiles/density/{z}/{x}/{y}.mvt"): FIELD,  # contour bands, as /v1/density
    ("GET", "/v1/hotspots"): EVERYONE,  # partners: published products only (api.services.products)
    ("GET", "/v1/products"): EVERYONE,
    ("GET", "/v1/products/{period}"): EVERYONE,
    ("POST", "/v1/products"): STAFF,
    ("GET", "/products"): EVERYONE,
    ("GET", "/v1/near-repeat"): STAFF,  # zones centred on victims' locations
    ("GET", "/v1/asb/persistent"): FIELD,  # exact map points and addresses: never partners
    ("GET", "/asb"): FIELD,
    ("GET", "/v1/backtest"): FIELD,  # aggregate figures only
    ("POST", "/v1/backtest"): FIELD,  # the same, as a job
    # jobs (api.services.jobs): each key sees its own, admins every one
    ("GET", "/v1/jobs"): FIELD,
    ("GET", "/v1/jobs/{job_id}"): FIELD,
    ("GET", "/v1/jobs/{job_id}/result"): FIELD,
    ("DELETE", "/v1/jobs/{job_id}"): FIELD,
    ("GET", "/v1/density"): FIELD,
    ("GET", "/v1/hotspots/map"): FIELD,
    ("GET", "/"): FIELD,
    ("GET", "/hotspots/{hotspot_id}"): FIELD,  # outline and aggregates; partners: products
    # prevention leaflets (api.services.advice): partners only a published hotspot's
    ("GET", "/hotspots/{hotspot_id}/leaflet"): FIELD,
    ("GET", "/leaflets"): FIELD,
    ("GET", "/leaflets/towns/{town}"): FIELD,
    ("GET", "/products/{period}/hotspots/{rank}/leaflet"): EVERYONE,
    ("POST", "/v1/patrol-plans"): STAFF,
    ("GET", "/v1/patrol-plans"): FIELD,
    ("GET", "/v1/patrol-plans/{plan_id}"): FIELD,
    ("GET", "/v1/patrol-plans/{plan_id}/map"): FIELD,
    ("GET", "/v1/patrol-plans/{plan_id}/briefing"): FIELD,
    ("GET", "/v1/patrol-plans/{plan_id}/field-data"): FIELD,
    ("POST", "/v1/patrol-plans/{plan_id}/visits"): FIELD,
    ("GET", "/v1/patrol-plans/{plan_id}/visits"): FIELD,
    ("DELETE", "/v1/patrol-plans/{plan_id}/visits/{visit_id}"): FIELD,
    ("GET", "/field/{plan_id}"): FIELD,
    ("POST", "/v1/patrol-plans/preview"): STAFF,
    ("POST", "/v1/patrol-plans/{plan_id}/copy"): STAFF,
    ("POST", "/v1/patrol-plans/{plan_id}/publish"): STAFF,
    ("GET", "/plans"): FIELD,
    ("GET", "/plans/{plan_id}"): FIELD,
    ("GET", "/f/{code}"): FIELD,  # a crew's short link: signed-in field roles only
    ("GET", "/v1/keys"): ("admin",),
    ("POST", "/v1/keys"): ("admin",),
    ("DELETE", "/v1/keys/{key_id}"): ("admin",),
    ("GET", "/v1/audit"): ("admin",),
    ("GET", "/metrics"): ("admin",),  # operational metrics (api.metrics): a scraper's admin key
    # priority reports (api.services.reports): staff make and read them
    ("POST", "/v1/reports"): STAFF,
    ("GET", "/v1/reports"): STAFF,
    ("GET", "/v1/reports/{report_id}"): STAFF,
    ("GET", "/v1/reports/{report_id}/tables/{name}.csv"): STAFF,
    ("GET", "/v1/reports/{report_id}/csv"): STAFF,
    ("POST", "/v1/reports/{report_id}/pdf"): STAFF,  # the PDF printed as a job
    ("GET", "/reports"): STAFF,
    ("GET", "/reports/{report_id}"): STAFF,
    ("GET", "/reports/{report_id}.pdf"): STAFF,
    # the retail partnership's reports: a partner sends and reads back its own (api.services.
    # business); staff read them all, apart from police-recorded crime
    ("POST", "/v1/business-reports"): BUSINESS,
    ("GET", "/v1/business-reports"): BUSINESS,
    ("GET", "/v1/business-reports/{report_id}"): BUSINESS,
    ("GET", "/report-incident"): BUSINESS,
    # cross-border (api.services.cross_border): staff analyse the force's and its neighbours'
    # incidents together; everyone reads the border products (api.services.border_products)
    ("GET", "/v1/cross-border"): STAFF,
    ("POST", "/v1/cross-border"): STAFF,  # the same, as a job
    ("GET", "/v1/stop-search"): STAFF,  # searched people's locations: staff only
    ("POST", "/v1/border-products"): STAFF,
    ("GET", "/v1/border-products"): EVERYONE,
    ("GET", "/v1/border-products/{period}"): EVERYONE,
    # saved hotspot presets (api.services.presets): staff make them, field roles read them
    ("POST", "/v1/presets"): STAFF,
    ("GET", "/v1/presets"): FIELD,
    ("GET", "/v1/presets/{name}"): FIELD,
    ("DELETE", "/v1/presets/{name}"): STAFF,
    # OGC API - Features (api.services.ogc): each role sees its own collections; partners only
    # the published products' hotspots, staff alone the incidents
    ("GET", "/ogc"): EVERYONE,
    ("GET", "/ogc/conformance"): EVERYONE,
    ("GET", "/ogc/api"): EVERYONE,
    ("GET", "/ogc/collections"): EVERYONE,
    ("GET", "/ogc/collections/{collection_id}"): EVERYONE,
    ("GET", "/ogc/collections/{collection_id}/queryables"): EVERYONE,
    ("GET", "/ogc/collections/{collection_id}/items"): EVERYONE,
    ("GET", "/ogc/collections/{collection_id}/items/{feature_id}"): EVERYONE,
}
"""(method, path template) -> the roles allowed; ``PUBLIC`` (empty): anyone."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: a key's id and role, and how it came (``key`` or ``session``); a
    session's id and expiry (seconds since the epoch) when it came by session."""

    key_id: str
    role: str
    via: str
    session_id: str | None = None
    expires_at: int | None = None


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_key(store: AccessStore, *, name: str, role: str) -> tuple[str, dict[str, Any]]:
    """Make a key: return the full key (shown once) and its stored record."""
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}", field="role")
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput("a key needs a name of 1 to 100 characters", field="name")
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    record = store.add_key(key_id, name=name, role=role, secret_hash=_hash(secret))
    return f"hsk_{key_id}_{secret}", record


def check_key(store: AccessStore, token: str) -> Principal | None:
    """The principal of a live key, or None."""
    match = _KEY.match(token.strip())
    if not match:
        return None
    found = store.key_hash(match.group(1))
    if found is None:
        return None
    role, stored = found
    if not hmac.compare_digest(stored, _hash(match.group(2))):
        return None
    return Principal(match.group(1), role, "key")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def session_token(store: AccessStore, principal: Principal, now: float | None = None) -> str:
    """A signed session token for ``principal`` with a new random session id (expires after
    :data:`SESSION_S`; signing out revokes it in the store)."""
    body = json.dumps({"k": principal.key_id, "r": principal.role,
                       "e": int((now or time.time()) + SESSION_S),
                       "s": secrets.token_urlsafe(16)}, separators=(",", ":"))
    payload = _b64(body.encode())
    sig = hmac.new(store.secret("session").encode(), payload.encode(), hashlib.sha256).digest()
    return f"{payload}.{_b64(sig)}"


def check_session(store: AccessStore, token: str) -> Principal | None:
    """The principal of a valid, unexpired, not signed-out session whose key is still live,
    or None (a token without a session id, from before sessions had one, is not valid)."""
    try:
        payload, sig = token.split(".", 1)
        want = hmac.new(store.secret("session").encode(), payload.encode(),
                        hashlib.sha256).digest()
        if not hmac.compare_digest(want, _unb64(sig)):
            return None
        data = json.loads(_unb64(payload))
        expires, session_id = int(data["e"]), str(data["s"])
        if expires < time.time():
            return None
        found = store.key_hash(str(data["k"]))
        if found is None or found[0] != data["r"] or store.session_revoked(session_id):
            return None
        return Principal(str(data["k"]), str(data["r"]), "session", session_id, expires)
    except (ValueError, KeyError, TypeError):
        return None


def principal(request: Request, store: AccessStore) -> Principal | None:
    """Who the request comes from (a key in a header, else a session cookie), or None."""
    auth = request.headers.get("authorization", "")
    token = auth[7:].strip() if auth[:7].lower() == "bearer " else \
        request.headers.get("x-api-key", "").strip()
    if token:
        return check_key(store, token)
    cookie = request.cookies.get(SESSION_COOKIE)
    return check_session(store, cookie) if cookie else None


def allowed_roles(method: str, path: str) -> tuple[str, ...] | None:
    """The roles allowed on an endpoint; None if the endpoint is not in :data:`ACCESS`."""
    if method == "HEAD":
        method = "GET"
    return ACCESS.get((method, path))


def openapi_roles(schema: dict[str, Any]) -> dict[str, Any]:
    """Mark every operation of an OpenAPI document with its roles and security schemes."""
    components = schema.setdefault("components", {})
    components.setdefault("securitySchemes", {}).update({
        "apiKey": {"type": "http", "scheme": "bearer",
                   "description": "An API key (hsk_...) as a bearer token"},
        "session": {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE,
                    "description": "The pages' session, from /login"},
    })
    schemas = components.setdefault("schemas", {})
    schemas["Error"] = {
        "type": "object", "required": ["detail", "error"],
        "properties": {"detail": {"type": "string"}, "error": {"type": "string"},
                       "field": {"type": "string"}, "request_id": {"type": "string"}},
        "description": "Every error the service answers: what went wrong, a stable code, the "
                       "field at fault when there is one and, on a 5xx, the request's id (as "
                       "in X-Request-ID and the log).",
    }
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, operations in schema.get("paths", {}).items():
        for method, op in operations.items():
            roles = allowed_roles(method.upper(), path)
            if roles is None:
                continue
            op["x-roles"] = list(roles) or ["public"]
            responses = op.setdefault("responses", {})
            if roles:
                op["security"] = [{"apiKey": []}, {"session": []}]
                op.setdefault("description", "")
                op["description"] = (op["description"] + f"\n\nRoles: {', '.join(roles)}.")
                responses.setdefault("401", {"description": "No valid key or session.",
                                             "content": error})
                responses.setdefault("403", {"description": "The role may not do this.",
                                             "content": error})
            names = re.findall(r"\{(\w+)\}", path)
            if names:  # an id in the path that may name nothing
                responses.setdefault("404", {"description": "Not found: nothing has that "
                                             f"{' or '.join(names)}.", "content": error})
            if "requestBody" in op:
                responses.setdefault("400", {"description": "The body cannot be parsed (JSON "
                                             "nested too deeply or not UTF-8, a broken "
                                             "multipart form).", "content": error})
                responses.setdefault("413", {"description": "The body is over the route's "
                                             "limit.", "content": error})
            responses.setdefault("429", {"description": "Too many requests (Retry-After).",
                                         "content": error})
            responses.setdefault("503", {"description": "The store is unavailable, or the "
                                         "analysis goes on (Retry-After).", "content": error})
            bad = responses.setdefault("422", {"description": "A parameter or the body is not "
                                               "valid (the field is named)."})
            body = bad.setdefault("content", {}).setdefault("application/json", {})
            known = body.get("schema")
            options = [known] if known else []
            body["schema"] = {"anyOf": [*options, {"$ref": "#/components/schemas/Error"}]}
            for code, answer in responses.items():  # other errors: the Error shape too
                if code[0] in "45" and "content" not in answer:
                    answer["content"] = error
    return schema
