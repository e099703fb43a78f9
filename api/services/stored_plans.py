"""Stored patrol plans as the API and the pages show them: plan ids, the crews' short links,
drafts kept from the Rural Crime Team, the plan document with its links, the plans list, and the
plan form's choices."""

from __future__ import annotations

import json
import re
import secrets
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pandas as pd
import shapely
from fastapi import Request
from pyproj import Transformer

from api.access import DRAFT_ROLES
from api.delivery import page_etag
from api.pages import role_of
from api.service_errors import Conflict, NotFound, clipped
from api.services.hotspots import latest_complete_month
from api.services.patrol import town_centres
from geodata.coords import WGS84
from geodata.layers import HERITAGE_SITES, PATROL_BASES
from geodata.stores import PlanStore, Store

_PLAN_ID = re.compile(r"^[0-9a-f]{16}$")
NEARBY_HERITAGE_M = 2000.0
"""Heritage sites within this distance of a route go to the field view, metres."""
SHORT_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
"""The letters of a crew's short-link code: digits and capitals without 0/O, 1/I/L (read off
paper or a screen without doubt)."""
SHORT_LENGTH = 8
"""Letters in a short-link code: 31**8 (about 8.5e11, 39 bits) codes, so a code is not worth
guessing (and following one still needs a signed-in field role)."""
SHORT_CODE = re.compile(rf"^[{SHORT_ALPHABET}]{{{SHORT_LENGTH}}}$")

DRAFT_RESPONSES: dict[int | str, dict[str, Any]] = {
    409: {"description": "A draft plan: the Rural Crime Team sees published plans only."}}
"""The answer a plan endpoint adds to its OpenAPI responses: a draft refused (409)."""


def check_plan_id(plan_id: str) -> None:
    """Refuse (404) anything but 16 hexadecimal characters as a plan id."""
    if not _PLAN_ID.match(plan_id):
        raise NotFound("a plan id is 16 hexadecimal characters", field="plan_id")


def _new_code() -> str:
    return "".join(secrets.choice(SHORT_ALPHABET) for _ in range(SHORT_LENGTH))


def new_links(labels: list[str]) -> dict[str, str]:
    """A new short-link code for each crew label."""
    return {label: _new_code() for label in labels}


def _with_links(store: PlanStore, stored: dict[str, Any]) -> dict[str, Any]:
    """``stored`` with a short-link code for every crew (plans stored before short links get
    theirs the first time they are read; a code that happens to be taken is drawn again)."""
    labels = [r["label"] for r in stored["plan"].get("routes", [])]
    links = dict(stored.get("links") or {})
    for _attempt in range(5):
        missing = [label for label in labels if label not in links]
        if not missing:
            break
        links = store.add_plan_links(stored["plan_id"], new_links(missing))
    return {**stored, "links": links}


class PlanDraft(Conflict):
    """A rural_team caller asked for a plan that is not published yet (409)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"patrol plan {name} is a draft: the planner has not published it "
                         "yet, so the field view cannot open it; ask them to publish it on the "
                         "plans page", field="plan_id")
        self.name = name


def _visible(request: Request, stored: dict[str, Any]) -> None:
    """Refuse (409) a draft plan to a role that only sees published plans."""
    role = role_of(request)
    if stored.get("published_at") is None and role is not None and role not in DRAFT_ROLES:
        raise PlanDraft(clipped(str(stored["request"].get("name") or stored["plan_id"]), 80))


def stored_plan(store: PlanStore, plan_id: str, request: Request | None = None) -> dict[str, Any]:
    """The stored plan ``plan_id`` with its crews' short links; 404 for an unknown or malformed
    id, 409 (:class:`PlanDraft`) for a draft when ``request``'s caller sees published plans
    only."""
    check_plan_id(plan_id)
    stored = store.get_plan(plan_id)
    if stored is None:
        raise NotFound(f"no patrol plan {plan_id}", field="plan_id")
    if request is not None:
        _visible(request, stored)
    return _with_links(store, stored)


def crew_links(plan_id: str, labels: list[str], codes: dict[str, str]) -> dict[str, Any]:
    """Each crew's field view (``/field/{plan_id}?crew=<label>``) and short link
    (``/f/<code>``, None before the plan is stored), by route label."""
    return {label: {"field": f"/field/{plan_id}?crew={quote(label, safe='')}",
                    "short": f"/f/{codes[label]}" if label in codes else None}
            for label in labels}


def plan_document(stored: dict[str, Any]) -> dict[str, Any]:
    """The plan as the API answers it: who made it and when, the plan, its request and the
    links to its pages, field views and short links."""
    pid = stored["plan_id"]
    labels = [r["label"] for r in stored["plan"].get("routes", [])]
    return {
        "plan_id": pid, "name": stored["request"].get("name"),
        "created_at": stored["created_at"], "data_version": stored["data_version"],
        "published": stored.get("published_at") is not None,
        "published_at": stored.get("published_at"),
        "created_by": stored.get("created_by") or None,
        **stored["plan"],
        "request": stored["request"],
        "links": {"self": f"/v1/patrol-plans/{pid}",
                  "geojson": f"/v1/patrol-plans/{pid}?format=geojson",
                  "map": f"/v1/patrol-plans/{pid}/map",
                  "page": f"/plans/{pid}",
                  "briefing": f"/v1/patrol-plans/{pid}/briefing",
                  "field": f"/field/{pid}",
                  "visits": f"/v1/patrol-plans/{pid}/visits",
                  "crews": crew_links(pid, labels, stored.get("links") or {})},
    }


def local_iso(value: Any, zone: ZoneInfo) -> str:
    """An ISO 8601 time (any offset) as local time in ``zone``, to the minute."""
    try:
        return datetime.fromisoformat(str(value)).astimezone(zone).isoformat(timespec="minutes")
    except (ValueError, OverflowError):  # not a time, or one local time cannot hold
        return str(value)


def listed_plans(request: Request, store: Store, limit: int) -> list[dict[str, Any]]:
    """The most recent plans the caller may see, newest first (drafts only for planners)."""
    drafts = role_of(request) in DRAFT_ROLES or role_of(request) is None
    plans = store.list_plans(limit, published_only=not drafts)
    zone = ZoneInfo(store.timezone)
    for p in plans:
        p["published"] = p["published_at"] is not None
        p["shift"] = {k: local_iso(p[f"shift_{k}"], zone) for k in ("start", "end")}
        p["links"] = {"self": f"/v1/patrol-plans/{p['plan_id']}",
                      "page": f"/plans/{p['plan_id']}"}
    return plans if drafts else [p for p in plans if p["published"]]


def public_base(request: Request, settings: Any) -> str:
    """The address officers reach the service at, for QR codes and printed short links:
    ``HOTSPOT_PUBLIC_URL`` when set, else the address this request came to (behind a proxy,
    the one the proxy reports when it is trusted)."""
    configured = getattr(settings, "public_url", None)
    return str(configured or request.base_url).rstrip("/")


def plan_tag(request: Request, stored: dict[str, Any], *more: object) -> str:
    """The ETag of a page or answer made from a stored plan (:func:`api.delivery.page_etag`):
    a plan never changes once stored but for being published."""
    return page_etag(request, request.url.path, stored["plan_id"], stored.get("created_at"),
                     stored.get("published_at"), *more)


def nearby_heritage(store: Store, document: dict[str, Any]) -> dict[str, Any]:
    """The heritage sites within :data:`NEARBY_HERITAGE_M` of the plan's stops, as GeoJSON
    (WGS84), for the field view."""
    empty: dict[str, Any] = {"type": "FeatureCollection", "features": []}
    layer = store.get_layer(HERITAGE_SITES)
    points = [(s["lon"], s["lat"]) for r in document["routes"] for s in r["stops"]
              if s.get("lon") is not None and s["lon"] == s["lon"]]
    if layer is None or not points:
        return empty
    to_store = Transformer.from_crs(WGS84, store.crs, always_xy=True)
    xs, ys = to_store.transform([p[0] for p in points], [p[1] for p in points])
    stops = shapely.multipoints(list(zip(xs, ys, strict=True)))
    frame = layer.frame
    near = frame[shapely.dwithin(frame.geometry.values, stops, NEARBY_HERITAGE_M)]
    if not len(near):
        return empty
    data = json.loads(near.to_crs(WGS84).to_json(drop_id=True, to_wgs84=False))
    data.pop("crs", None)
    return data


def plan_form_choices(store: Store, taxonomy: Any) -> dict[str, Any]:
    """The plan form's choices (bases of the Rural Crime Team, towns, priorities) and its
    defaults (tomorrow 16:00 to 02:00; the last six complete months of the store's data)."""
    bases_layer = store.get_layer(PATROL_BASES)
    bases: list[str] = []
    if bases_layer is not None:
        frame = bases_layer.frame
        rural = frame[frame["team"].isin(("rural_crime_team", "both"))]
        bases = sorted({str(n) for n in rural["name"]})
    towns = sorted(town_centres(store), key=str.casefold)
    priorities = [(k, v.split(":")[0].strip()) for k, v in taxonomy.priorities.items()]
    tomorrow = datetime.now(ZoneInfo(store.timezone)).date() + timedelta(days=1)
    last = latest_complete_month(store)
    period = pd.Period(last, freq="M") if last else None
    return {"bases": bases, "towns": towns, "priorities": priorities, "vehicles": 1,
            "start": f"{tomorrow.isoformat()}T16:00",
            "end": f"{(tomorrow + timedelta(days=1)).isoformat()}T02:00",
            "from_": str(period - 5) if period is not None else "",
            "to": str(period) if period is not None else ""}
