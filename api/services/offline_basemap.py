"""The offline basemap: a tile file (MBTiles or PMTiles, raster or vector) the force holds, so
pages have a map with no tiles from the internet.

It is registered with ``hotspot basemap add FILE`` (its absolute path written to
``basemap.json`` in the data folder) or named by the setting ``HOTSPOT_BASEMAP_FILE`` (which
wins). When one is registered, pages draw its tiles (``/tiles/{z}/{x}/{y}.<ext>``, described
by :func:`tilejson`) instead of the online tile URL: :func:`page_tile_url`. The file is kept
open while it is unchanged (:func:`offline_basemap`) and closed at the app's shutdown.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

from api.formats import tile_url
from api.settings import Settings
from geodata.basemaps import InvalidBasemap, OfflineBasemap, open_basemap

log = logging.getLogger(__name__)

REGISTRATION = "basemap.json"
"""The file in the data folder that names the registered offline basemap."""

_opened: dict[tuple[str, float], OfflineBasemap] = {}
_opened_lock = threading.Lock()


def registration_path(settings: Settings) -> Path:
    """Where ``hotspot basemap add`` records the offline basemap: ``basemap.json`` in the data
    folder."""
    return settings.data_dir / REGISTRATION


def registered_file(settings: Settings) -> Path | None:
    """The offline basemap's file: the setting ``HOTSPOT_BASEMAP_FILE``, else the one
    ``hotspot basemap add`` registered, else None."""
    if settings.basemap_file is not None:
        return Path(settings.basemap_file).expanduser()
    reg = registration_path(settings)
    try:
        data = json.loads(reg.read_text("utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        log.warning("%s cannot be read; no offline basemap", reg)
        return None
    path = data.get("path") if isinstance(data, dict) else None
    return Path(path) if isinstance(path, str) and path else None


def register(settings: Settings, file: Path) -> OfflineBasemap:
    """Check a basemap file and record it (its absolute path) in the data folder.

    Raises
    ------
    InvalidBasemap
        When the file is not a usable MBTiles or PMTiles file.
    """
    basemap = open_basemap(file)
    reg = registration_path(settings)
    reg.parent.mkdir(parents=True, exist_ok=True)
    tmp = reg.with_suffix(".tmp")
    tmp.write_text(json.dumps(basemap.describe(), indent=2), "utf-8")
    tmp.replace(reg)
    basemap.close()
    return basemap


def unregister(settings: Settings) -> bool:
    """Forget the registered offline basemap (the file itself is left alone); True if there
    was one."""
    reg = registration_path(settings)
    if reg.exists():
        reg.unlink()
        return True
    return False


def offline_basemap(settings: Settings) -> OfflineBasemap | None:
    """The registered offline basemap, opened (kept open while the file is unchanged), or None
    when there is none or its file can no longer be read (logged)."""
    path = registered_file(settings)
    if path is None:
        return None
    try:
        key = (str(path.resolve()), path.stat().st_mtime)
    except OSError:
        log.warning("the offline basemap %s is missing; pages use the online tiles", path)
        return None
    with _opened_lock:
        hit = _opened.get(key)
        if hit is not None:
            return hit
    try:
        basemap = open_basemap(path)
    except InvalidBasemap as exc:
        log.warning("the offline basemap cannot be used: %s", exc)
        return None
    with _opened_lock:
        for old in [k for k in _opened if k[0] == key[0]]:
            _opened.pop(old).close()
        _opened[key] = basemap
    return basemap


def close_basemaps() -> None:
    """Close every offline basemap file this process opened (at the app's shutdown; a file
    opens again on its next tile)."""
    with _opened_lock:
        while _opened:
            _opened.popitem()[1].close()


def page_tile_url(settings: Settings) -> str | None:
    """The online tile URL pages draw: None when an offline basemap is registered (pages then
    draw its tiles from ``/tiles``: ``maps/static/basemap.js``) or the tile URL is 'none'."""
    if offline_basemap(settings) is not None:
        return None
    return tile_url(settings.tile_url)


def tile_version(basemap: OfflineBasemap) -> str:
    """A short token that changes when the basemap file changes (tile URLs carry it, so a
    tablet's cache never mixes two files' tiles)."""
    st = basemap.path.stat()
    return f"{int(st.st_mtime):x}{st.st_size:x}"[-12:]


def tilejson(basemap: OfflineBasemap, base: str = "") -> dict[str, Any]:
    """A TileJSON 3.0 document for the basemap, with its tile URL under ``base``."""
    v = tile_version(basemap)
    doc: dict[str, Any] = {
        "tilejson": "3.0.0", "name": basemap.name, "attribution": basemap.attribution,
        "tiles": [f"{base}/tiles/{{z}}/{{x}}/{{y}}.{basemap.extension}?v={v}"],
        "minzoom": basemap.minzoom, "maxzoom": basemap.maxzoom,
        "format": basemap.extension, "vector": basemap.vector,
    }
    if basemap.bounds:
        doc["bounds"] = list(basemap.bounds)
    if basemap.vector:
        doc["vector_layers"] = [{"id": name, "fields": {}} for name in basemap.vector_layers]
    return doc
