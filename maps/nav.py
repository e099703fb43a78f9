"""The bar of links at the top of every page: map, plans, products, docs, sign out.

One function, so every page links to the others the same way. The bar is plain HTML (escaped
here); it needs no script, and its sign-out is a form that posts the session's CSRF token (the
same-origin check at the gate does the rest, :mod:`api.csrf`).
"""

from __future__ import annotations

from html import escape

PAGES: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    # (key, label, path, roles that may open it; empty: everyone signed in)
    ("map", "Hotspot map", "/", ("admin", "analyst", "rural_team")),
    ("plans", "Patrol plans", "/plans", ("admin", "analyst", "rural_team")),
    ("asb", "Persistent ASB", "/asb", ("admin", "analyst", "rural_team")),
    ("reports", "Priority reports", "/reports", ("admin", "analyst")),
    ("leaflets", "Leaflets", "/leaflets", ("admin", "analyst", "rural_team")),
    ("products", "Products", "/products", ()),
    ("business", "Business reports", "/report-incident", ("admin", "analyst", "partner")),
    ("docs", "API docs", "/docs", ()),
)
"""The pages the bar links to, in order."""

NAV_CSS = """
nav.hs-nav { display: flex; flex-wrap: wrap; align-items: center; gap: 0 0.25rem;
  background: #0b3d91; color: #fff; padding: 0 0.5rem; font: 15px/1.3 system-ui, sans-serif; }
nav.hs-nav > * { flex: none; }
nav.hs-nav a, nav.hs-nav button { color: #fff; text-decoration: none; display: inline-flex;
  align-items: center; min-height: 44px; padding: 0 0.7rem; font: inherit; background: none;
  border: 0; cursor: pointer; }
nav.hs-nav a:hover, nav.hs-nav button:hover, nav.hs-nav a:focus-visible,
nav.hs-nav button:focus-visible { background: rgba(255, 255, 255, 0.18); outline: none; }
nav.hs-nav a[aria-current="page"] { font-weight: 700; box-shadow: inset 0 -3px 0 #ffd166; }
nav.hs-nav .hs-nav-brand { font-weight: 700; margin-right: 0.5rem; }
nav.hs-nav form { margin: 0 0 0 auto; display: inline; }
nav.hs-nav .hs-nav-who { opacity: 0.85; padding: 0 0.4rem; }
@media print { nav.hs-nav { display: none; } }
"""
"""The bar's style sheet (pages put it in their ``<style>`` or link it); it wraps on a narrow
screen, except above a whole-page map (:data:`api.pages.MAP_PAGE_CSS`: one row that scrolls
sideways, sign-out kept in view)."""


def nav_html(current: str | None = None, *, role: str | None = None, csrf: str | None = None,
             signed_in: bool = True, who: str | None = None) -> str:
    """The navigation bar as HTML.

    Parameters
    ----------
    current
        The key of the page showing it (``map``, ``plans``, ``products``, ``business``,
        ``docs``, ...) or None; that link gets ``aria-current="page"``.
    role
        The caller's role; links to pages the role may not open are left out (None: all).
    csrf
        The session's CSRF token for the sign-out form, **masked** (``api.csrf.masked``: pages
        are gzipped, and a secret that is the same in every response leaks through the
        compressed size); None: the form posts without it, which the service accepts only
        when there is no live session.
    signed_in
        Whether to show the sign-out button (a page opened with an API key has no session).
    who
        A name to show beside sign-out (the key's name), as text.
    """
    who_role = f' data-role="{escape(role)}"' if role else ""  # for scripts: what to fetch
    parts = [f'<nav class="hs-nav" aria-label="Pages"{who_role}>',
             '<span class="hs-nav-brand">Hotspots</span>']
    for key, label, path, roles in PAGES:
        if roles and role is not None and role not in roles:
            continue
        here = ' aria-current="page"' if key == current else ""
        parts.append(f'<a href="{escape(path)}"{here}>{escape(label)}</a>')
    if signed_in:
        token = (f'<input type="hidden" name="csrf_token" value="{escape(csrf)}">'
                 if csrf else "")
        name = f'<span class="hs-nav-who">{escape(who)}</span>' if who else ""
        parts.append(f'<form method="post" action="/logout">{token}{name}'
                     '<button type="submit">Sign out</button></form>')
    parts.append("</nav>")
    return "".join(parts)
