"""Offline basemaps: a force's own tile file (MBTiles or PMTiles), read tile by tile.

An **MBTiles** file is an SQLite database with a ``tiles`` table (``zoom_level``,
``tile_column``, ``tile_row``, ``tile_data``) whose rows count from the south (TMS), and a
``metadata`` table (``format``: ``png``, ``jpg``, ``webp`` or ``pbf``; ``minzoom``,
``maxzoom``, ``bounds``, ``attribution``, ``json`` with the vector layers). A **PMTiles** (v3)
file is one file with a header, directories and tiles, read here with the ``pmtiles`` package.
Either may hold raster tiles (PNG, JPEG, WebP) or vector tiles (Mapbox Vector Tiles, usually
gzip-compressed, which are passed on compressed).

:func:`open_basemap` checks a file and says clearly what is wrong with it
(:class:`InvalidBasemap`); :meth:`OfflineBasemap.tile` answers one tile by its XYZ address
(the web's: rows from the north), None where the file has none.
"""

from __future__ import annotations

import gzip
import json
import mmap
import sqlite3
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from geodata.errors import InvalidFile

FORMATS = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg",
           "webp": "image/webp", "pbf": "application/vnd.mapbox-vector-tile",
           "mvt": "application/vnd.mapbox-vector-tile"}
"""Tile formats a basemap may hold, with their content types."""
EXTENSIONS = {"png": "png", "jpg": "jpg", "jpeg": "jpg", "webp": "webp", "pbf": "mvt",
              "mvt": "mvt"}
"""The extension a tile URL carries for each format."""
MAX_ZOOM = 24
"""Deepest zoom level a tile address may have."""
_SQLITE_MAGIC = b"SQLite format 3\x00"
_PMTILES_MAGIC = b"PMTiles"
_GZIP_MAGIC = b"\x1f\x8b"


class InvalidBasemap(InvalidFile):
    """Raised when a basemap file is missing, not MBTiles or PMTiles, or holds no usable tiles;
    the message names the file and what is wrong."""


@dataclass
class OfflineBasemap:
    """An opened basemap file.

    ``bounds`` are WGS84 degrees (west, south, east, north); ``vector_layers`` the names of a
    vector basemap's layers (empty for raster tiles); ``tile_format`` one of :data:`FORMATS`.
    """

    path: Path
    container: str
    """``mbtiles`` or ``pmtiles``."""
    tile_format: str
    minzoom: int
    maxzoom: int
    bounds: tuple[float, float, float, float] | None
    name: str = ""
    attribution: str = ""
    vector_layers: list[str] = field(default_factory=list)
    compressed: bool = False
    """Vector tiles stored gzip-compressed (PMTiles says so for the whole file; an MBTiles
    file's tiles are looked at one by one)."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _db: sqlite3.Connection | None = field(default=None, repr=False)
    _file: BinaryIO | None = field(default=None, repr=False)
    _map: mmap.mmap | None = field(default=None, repr=False)
    _header: dict[str, Any] = field(default_factory=dict, repr=False)
    _dirs: OrderedDict[tuple[int, int], Any] = field(default_factory=OrderedDict, repr=False)

    @property
    def vector(self) -> bool:
        """True for vector tiles (MVT), False for images."""
        return self.tile_format in ("pbf", "mvt")

    @property
    def media_type(self) -> str:
        """The tiles' content type."""
        return FORMATS[self.tile_format]

    @property
    def extension(self) -> str:
        """The extension tile URLs carry (``png``, ``jpg``, ``webp`` or ``mvt``)."""
        return EXTENSIONS[self.tile_format]

    def describe(self) -> dict[str, Any]:
        """What the file holds, as JSON-ready values."""
        return {"path": str(self.path), "container": self.container, "format": self.tile_format,
                "vector": self.vector, "minzoom": self.minzoom, "maxzoom": self.maxzoom,
                "bounds": list(self.bounds) if self.bounds else None, "name": self.name,
                "attribution": self.attribution, "vector_layers": self.vector_layers,
                "bytes": self.path.stat().st_size if self.path.exists() else None}

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        """The tile at XYZ address z/x/y (rows counted from the north), as stored (a vector
        tile may be gzip-compressed: see :func:`is_gzip`); None when the file has none there.

        Raises
        ------
        ValueError
            When the address is outside the tile grid (x or y not in 0..2**z-1, z not in
            0..:data:`MAX_ZOOM`).
        """
        if not (0 <= z <= MAX_ZOOM and 0 <= x < 2 ** z and 0 <= y < 2 ** z):
            raise ValueError(f"no tile {z}/{x}/{y}: x and y run from 0 to 2^z - 1")
        if z < self.minzoom or z > self.maxzoom:
            return None
        if self.container == "mbtiles":
            return self._mbtiles_tile(z, x, y)
        return self._pmtiles_tile(z, x, y)

    def _mbtiles_tile(self, z: int, x: int, y: int) -> bytes | None:
        with self._lock:
            if self._db is None:
                self._db = _connect(self.path, check_same_thread=False)
            row = self._db.execute(
                "SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? "
                "AND tile_row = ?", (z, x, (1 << z) - 1 - y)).fetchone()
        return bytes(row[0]) if row and row[0] is not None else None

    def _pmtiles_tile(self, z: int, x: int, y: int) -> bytes | None:
        from pmtiles.tile import find_tile, zxy_to_tileid

        h = self._header
        tile_id = zxy_to_tileid(z, x, y)
        offset, length = h["root_offset"], h["root_length"]
        for _depth in range(4):
            entry = find_tile(self._directory(offset, length), tile_id)
            if entry is None:
                return None
            if entry.run_length == 0:
                offset, length = h["leaf_directory_offset"] + entry.offset, entry.length
                continue
            return self._bytes(h["tile_data_offset"] + entry.offset, entry.length)
        return None

    def _bytes(self, offset: int, length: int) -> bytes:
        if self._map is None:
            with self._lock:
                if self._map is None:
                    self._file = self.path.open("rb")
                    self._map = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ)
        return self._map[offset:offset + length]

    def _directory(self, offset: int, length: int) -> Any:
        from pmtiles.tile import deserialize_directory

        key = (offset, length)
        with self._lock:
            hit = self._dirs.get(key)
            if hit is not None:
                self._dirs.move_to_end(key)
                return hit
        directory = deserialize_directory(self._bytes(offset, length))  # gunzips it
        with self._lock:
            self._dirs[key] = directory
            while len(self._dirs) > 64:
                self._dirs.popitem(last=False)
        return directory

    def close(self) -> None:
        """Close the file (it opens again on the next tile)."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
            if self._map is not None:
                self._map.close()
                self._map = None
            if self._file is not None:
                self._file.close()
                self._file = None


def is_gzip(data: bytes) -> bool:
    """True when ``data`` is gzip-compressed (starts with gzip's magic bytes)."""
    return data[:2] == _GZIP_MAGIC


def _connect(path: Path, *, check_same_thread: bool = True) -> sqlite3.Connection:
    uri = path.resolve().as_uri() + "?mode=ro&immutable=1"
    return sqlite3.connect(uri, uri=True, check_same_thread=check_same_thread)


def open_basemap(path: str | Path) -> OfflineBasemap:
    """Open and check a basemap file (MBTiles or PMTiles, told apart by their first bytes).

    Raises
    ------
    InvalidBasemap
        The file is missing, unreadable, neither MBTiles nor PMTiles, of a tile format this
        service cannot serve, or holds no tiles; the message says which.
    """
    path = Path(path).expanduser()
    name = path.name
    if not path.is_file():
        raise InvalidBasemap(f"{name}: no such file")
    try:
        with path.open("rb") as f:
            head = f.read(16)
    except OSError as exc:
        raise InvalidBasemap(f"{name}: cannot be read ({exc.strerror or exc})") from None
    if head.startswith(_SQLITE_MAGIC):
        return _open_mbtiles(path)
    if head.startswith(_PMTILES_MAGIC):
        return _open_pmtiles(path)
    raise InvalidBasemap(f"{name}: not an MBTiles (SQLite) or PMTiles file; a basemap is an "
                         ".mbtiles or .pmtiles file of raster or vector tiles")


def _bounds(value: Any, name: str) -> tuple[float, float, float, float] | None:
    if value in (None, ""):
        return None
    try:
        parts = [float(v) for v in (value.split(",") if isinstance(value, str) else value)]
    except (TypeError, ValueError):
        raise InvalidBasemap(f"{name}: metadata bounds {value!r} are not four numbers") from None
    if len(parts) != 4:
        raise InvalidBasemap(f"{name}: metadata bounds {value!r} are not four numbers")
    w, s, e, n = parts
    return (max(w, -180.0), max(s, -85.06), min(e, 180.0), min(n, 85.06))


def _open_mbtiles(path: Path) -> OfflineBasemap:
    name = path.name
    try:
        db = _connect(path)
    except sqlite3.Error:
        raise InvalidBasemap(f"{name}: the SQLite database cannot be opened") from None
    try:
        tables = {r[0] for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
        if "tiles" not in tables:
            raise InvalidBasemap(f"{name}: an SQLite file with no 'tiles' table, so not "
                                 "MBTiles")
        meta: dict[str, str] = {}
        if "metadata" in tables:
            meta = {str(k): str(v) for k, v in db.execute("SELECT name, value FROM metadata")}
        zooms = db.execute("SELECT MIN(zoom_level), MAX(zoom_level) FROM tiles").fetchone()
        first = db.execute("SELECT tile_data FROM tiles LIMIT 1").fetchone()
    except sqlite3.Error:
        raise InvalidBasemap(f"{name}: the MBTiles tables cannot be read (is the file "
                             "complete?)") from None
    finally:
        db.close()
    if not first or zooms[0] is None:
        raise InvalidBasemap(f"{name}: the MBTiles file holds no tiles")
    sample = bytes(first[0] or b"")
    fmt = meta.get("format", "").strip().lower() or _sniff(sample)
    if fmt not in FORMATS:
        raise InvalidBasemap(f"{name}: tile format {fmt!r} is not one this service serves "
                             f"({', '.join(sorted(set(EXTENSIONS.values())))})")
    layers: list[str] = []
    if fmt in ("pbf", "mvt") and meta.get("json"):
        try:
            layers = [str(v["id"]) for v in json.loads(meta["json"]).get("vector_layers", [])]
        except (ValueError, TypeError, KeyError, AttributeError):
            layers = []
    return OfflineBasemap(
        path=path.resolve(), container="mbtiles", tile_format=fmt,
        minzoom=_int(meta.get("minzoom"), int(zooms[0])),
        maxzoom=_int(meta.get("maxzoom"), int(zooms[1])),
        bounds=_bounds(meta.get("bounds"), name), name=meta.get("name", "") or path.stem,
        attribution=meta.get("attribution", ""), vector_layers=layers,
        compressed=is_gzip(sample))


def _int(value: str | None, default: int) -> int:
    try:
        return int(float(value)) if value not in (None, "") else default
    except (TypeError, ValueError):
        return default


def _sniff(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "png"
    if data.startswith(b"\xff\xd8"):
        return "jpg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if is_gzip(data):
        return "pbf"
    return ""


def _open_pmtiles(path: Path) -> OfflineBasemap:
    from pmtiles.tile import (
        Compression,
        MagicNumberNotFound,
        SpecVersionUnsupported,
        TileType,
        deserialize_header,
    )

    name = path.name
    try:
        with path.open("rb") as f:
            raw = f.read(127)
            header: dict[str, Any] = dict(deserialize_header(raw))
            f.seek(header["metadata_offset"])
            meta_raw = f.read(header["metadata_length"])
    except SpecVersionUnsupported:
        raise InvalidBasemap(f"{name}: a PMTiles file of a version other than 3 (convert it "
                             "with: pmtiles convert)") from None
    except (MagicNumberNotFound, ValueError, IndexError, OSError):
        raise InvalidBasemap(f"{name}: the PMTiles header cannot be read") from None
    tile_type = header["tile_type"]
    fmt = {TileType.MVT: "pbf", TileType.PNG: "png", TileType.JPEG: "jpg",
           TileType.WEBP: "webp"}.get(tile_type)
    if fmt is None:
        raise InvalidBasemap(f"{name}: PMTiles tile type {tile_type.name} is not one this "
                             "service serves (MVT, PNG, JPEG, WebP)")
    if header["tile_compression"] not in (Compression.NONE, Compression.GZIP,
                                          Compression.UNKNOWN):
        raise InvalidBasemap(f"{name}: tiles compressed with "
                             f"{header['tile_compression'].name}, which browsers may not "
                             "take; convert the file with gzip or no compression")
    if header["addressed_tiles_count"] == 0 and header["tile_entries_count"] == 0:
        raise InvalidBasemap(f"{name}: the PMTiles file holds no tiles")
    meta: dict[str, Any] = {}
    try:
        if header["internal_compression"] == Compression.GZIP:
            meta_raw = gzip.decompress(meta_raw)
        meta = json.loads(meta_raw) if meta_raw else {}
    except (OSError, ValueError):
        meta = {}
    if not isinstance(meta, dict):
        meta = {}
    layers = [str(v.get("id")) for v in meta.get("vector_layers", []) if isinstance(v, dict)]
    bounds = (header["min_lon_e7"] / 1e7, header["min_lat_e7"] / 1e7,
              header["max_lon_e7"] / 1e7, header["max_lat_e7"] / 1e7)
    basemap = OfflineBasemap(
        path=path.resolve(), container="pmtiles", tile_format=fmt,
        minzoom=int(header["min_zoom"]), maxzoom=int(header["max_zoom"]),
        bounds=_bounds(bounds, name) if bounds[0] < bounds[2] else None,
        name=str(meta.get("name") or path.stem), attribution=str(meta.get("attribution") or ""),
        vector_layers=layers, compressed=header["tile_compression"] == Compression.GZIP)
    basemap._header = header
    return basemap
