"""What every page needs from the request: the navigation bar for the caller (its role, its
session's CSRF token for sign-out, its key's name) and the name of who made something."""

from __future__ import annotations

import re

from fastapi import Request

from api.access import Principal
from api.csrf import masked, session_csrf_token
from geodata.stores import AccessStore
from maps.nav import NAV_CSS, nav_html


def caller(request: Request) -> Principal | None:
    """The principal the gate found for the request (None on a public route)."""
    return getattr(request.state, "principal", None)


def key_name(store: AccessStore, who: Principal | None) -> str:
    """The name of the caller's key (as an admin gave it: "Insp. Shaw", "RCT tablet 3"), or
    "" when there is none."""
    if who is None:
        return ""
    for key in store.list_keys():
        if key["key_id"] == who.key_id:
            return str(key["name"])
    return ""


def page_nav(request: Request, store: AccessStore, current: str | None) -> str:
    """The navigation bar (:func:`maps.nav.nav_html`) for the caller of ``request``: the pages
    its role may open, and sign-out with its session's (masked) CSRF token when it came by a
    session (a page opened with an API key has no session to end)."""
    who = caller(request)
    session_id = who.session_id if who is not None and who.via == "session" else None
    return nav_html(current, role=who.role if who is not None else None,
                    csrf=masked(session_csrf_token(store, session_id)) if session_id else None,
                    signed_in=session_id is not None,
                    who=key_name(store, who) or None if who is not None else None)


def role_of(request: Request) -> str | None:
    """The caller's role, or None."""
    who = caller(request)
    return who.role if who is not None else None



_BODY = re.compile(r"<body\b[^>]*>", re.IGNORECASE)
MAP_PAGE_CSS = """
:root { --hs-nav-h: 44px; }
body > nav.hs-nav { position: relative; z-index: 1100; min-height: 44px; box-sizing: border-box;
  flex-wrap: nowrap; overflow-x: auto; white-space: nowrap; scrollbar-width: thin; }
body > nav.hs-nav form { position: sticky; right: 0; background: #0b3d91;
  box-shadow: 12px 0 0 #0b3d91, -6px 0 6px #0b3d91; }
body > nav.hs-nav ~ .folium-map { height: calc(100% - var(--hs-nav-h)) !important; }
@media (max-width: 900px) {
  body > nav.hs-nav .hs-nav-who, body > nav.hs-nav .hs-nav-brand { display: none; }
}
@media (pointer: coarse) {
  .leaflet-touch .leaflet-bar a { width: 44px; height: 44px; line-height: 44px; font-size: 22px; }
}
"""
"""With the bar above it, a whole-page map (folium's) takes the height that is left; its
panels read ``--hs-nav-h`` (the bar's height) to keep clear of it, so the bar stays one row
(sideways scrolling on a tablet, sign-out always in view at its right; on a narrow screen
without the signed-in name and the brand, to leave the links room: a Rural Crime Team tablet's
links fit 800 px whole). On a touch screen the map's zoom buttons
are 44 px, a finger's width."""


def with_nav(page: str, nav: str) -> str:
    """``page`` (a whole HTML document, e.g. the planner's cached map) with the navigation bar
    first in its body and the bar's style sheet in its head. The bar goes in per request, after
    any cache: it holds the caller's own (masked) CSRF token."""
    found = _BODY.search(page)
    if found is None:
        return page
    head_end = page.lower().find("</head>", 0, found.start())
    style = f"<style>{NAV_CSS}{MAP_PAGE_CSS}</style>"
    out = page[:found.end()] + nav + page[found.end():]
    if head_end >= 0:
        out = out[:head_end] + style + out[head_end:]
    return out
