"""The pages' assets: Leaflet from the XStatic-Leaflet package (PyPI, pinned), the service's own
scripts and style sheets (``maps/static``) and the npm libraries (``maps/vendor``), with their
versioned URLs. Served by the service, or (the hotspot map's) inlined for a single file."""

from __future__ import annotations

import base64
import hashlib
import re
from functools import lru_cache
from pathlib import Path

import xstatic.pkg.leaflet as xstatic_leaflet

LEAFLET_DIR = Path(xstatic_leaflet.BASE_DIR)
"""Leaflet 1.9.3's files (leaflet.js, leaflet.css, images/)."""
LEAFLET_VERSION = str(xstatic_leaflet.VERSION)
OWN_DIR = Path(__file__).parent / "static"
"""The service's own scripts and style sheets (written here): the hotspot map's
(``planner.js``, ``planner.css``), the basemap's, the plan pages' and the field view's."""
VENDOR_DIR = Path(__file__).parent / "vendor"
"""Libraries from npm (package-lock.json), copied here by ``make``: protomaps-leaflet, which
draws an offline basemap's vector tiles (``maps/static/basemap.js`` loads it when needed)."""


def linked(base_url: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(scripts, style sheets) as (name, URL) pairs under ``base_url`` (e.g. ``/static``),
    each named with :func:`static_version` (the service keeps such files a year)."""
    base = base_url.rstrip("/")
    v = f"?v={static_version()}"
    return (
        [("leaflet", f"{base}/leaflet/leaflet.js{v}"),
         ("basemap", f"{base}/maps/basemap.js{v}"),
         ("planner", f"{base}/maps/planner.js{v}")],
        [("leaflet_css", f"{base}/leaflet/leaflet.css{v}"),
         ("planner_css", f"{base}/maps/planner.css{v}")],
    )


def versioned(base_url: str, path: str) -> str:
    """The URL of one static file under ``base_url`` (``leaflet/leaflet.js``,
    ``maps/plan.js``...) named with :func:`static_version`."""
    return f"{base_url.rstrip('/')}/{path.lstrip('/')}?v={static_version()}"


@lru_cache(maxsize=1)
def static_version() -> str:
    """A short hash of the service's own scripts and style sheets, of Leaflet's version and of
    the npm libraries in :data:`VENDOR_DIR`. Pages add it to their asset URLs (``?v=``): the
    service keeps such files a year in browsers (:mod:`api.delivery`) and the field view's
    service worker keeps static files by URL, so a changed script or library reaches a tablet
    on the first load after an upgrade."""
    digest = hashlib.sha256(LEAFLET_VERSION.encode())
    for folder in (OWN_DIR, VENDOR_DIR):
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.is_file() and not path.name.startswith("."):
                digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


@lru_cache(maxsize=1)
def inlined() -> tuple[str, str]:
    """(script, style sheet) text with Leaflet's images as data URLs, for a page that must open
    from disk with no network."""
    script = "\n".join([(LEAFLET_DIR / "leaflet.js").read_text("utf-8"),
                        (OWN_DIR / "basemap.js").read_text("utf-8"),
                        (OWN_DIR / "planner.js").read_text("utf-8")])
    css = (LEAFLET_DIR / "leaflet.css").read_text("utf-8")

    def to_data(match: re.Match[str]) -> str:
        path = LEAFLET_DIR / match.group(1)
        if not path.is_file():
            return match.group(0)
        data = base64.b64encode(path.read_bytes()).decode()
        return f"url(data:image/png;base64,{data})"

    css = re.sub(r"url\((images/[\w.-]+\.png)\)", to_data, css)
    css += "\n" + (OWN_DIR / "planner.css").read_text("utf-8")
    css += "\n" + (OWN_DIR / "basemap.css").read_text("utf-8")
    return script.replace("</script", "<\\/script"), css.replace("</style", "<\\/style")
