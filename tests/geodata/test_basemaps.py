"""Offline basemap files (geodata.basemaps): vector MBTiles and PMTiles written by GDAL from the
demo's roads, a raster MBTiles written here tile by tile, and files that are not basemaps."""

from __future__ import annotations

import gzip
import math
import re
import sqlite3
import struct
import zlib
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest

from geodata.basemaps import InvalidBasemap, is_gzip, open_basemap
from geodata.demo import DemoFiles
from geodata.errors import GeodataError

MAXZOOM = 13


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The XYZ tile (x, y; rows from the north) holding a WGS84 point at zoom z."""
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def make_vector_tiles(demo_files: DemoFiles, path: Path) -> Path:
    """The demo's roads as vector tiles (one layer, ``roads``, with ``name`` and ``kind``),
    zoom 6 to :data:`MAXZOOM`, written by GDAL: MBTiles or PMTiles by the file's suffix."""
    roads = gpd.read_file(demo_files.roads).to_crs(3857)[["name", "kind", "geometry"]]
    driver = "PMTiles" if path.suffix == ".pmtiles" else "MBTiles"
    pyogrio.write_dataframe(roads, path, driver=driver, layer="roads",
                            dataset_options={"MINZOOM": "6", "MAXZOOM": str(MAXZOOM),
                                             "NAME": "Demo Shire roads"})
    return path


def png(colour: tuple[int, int, int], size: int = 8) -> bytes:
    """A small solid-colour RGB PNG (made with zlib; no imaging library)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))
    raw = b"".join(b"\x00" + bytes(colour) * size for _ in range(size))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def make_raster_tiles(path: Path, tiles: dict[tuple[int, int, int], bytes]) -> Path:
    """An MBTiles file of PNG tiles given by their XYZ address (stored with TMS rows)."""
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE metadata (name text, value text)")
    db.execute("CREATE TABLE tiles (zoom_level integer, tile_column integer, tile_row integer, "
               "tile_data blob)")
    zooms = [z for z, _x, _y in tiles]
    db.executemany("INSERT INTO metadata VALUES (?, ?)", [
        ("name", "test raster"), ("format", "png"), ("minzoom", str(min(zooms))),
        ("maxzoom", str(max(zooms))), ("attribution", "<b>Test</b> & co")])
    db.executemany("INSERT INTO tiles VALUES (?, ?, ?, ?)",
                   [(z, x, (1 << z) - 1 - y, data) for (z, x, y), data in tiles.items()])
    db.commit()
    db.close()
    return path


@pytest.fixture(scope="module", params=["mbtiles", "pmtiles"])
def vector_file(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                demo_files: DemoFiles) -> Path:
    return make_vector_tiles(demo_files,
                             tmp_path_factory.mktemp("tiles") / f"roads.{request.param}")


def _centre(demo_files: DemoFiles) -> tuple[float, float]:
    """A point on the demo's A road (the road between its two towns), WGS84."""
    roads = gpd.read_file(demo_files.roads).to_crs(4326)
    line = roads[roads["kind"] == "A road"].geometry.iloc[0]
    p = line.interpolate(0.5, normalized=True)
    return p.x, p.y


def test_vector_tiles_from_the_demo_are_read_by_their_xyz_address(vector_file: Path,
                                                                   demo_files: DemoFiles):
    basemap = open_basemap(vector_file)
    assert basemap.vector and basemap.tile_format == "pbf" and basemap.extension == "mvt"
    assert basemap.media_type == "application/vnd.mapbox-vector-tile"
    assert (basemap.minzoom, basemap.maxzoom) == (6, MAXZOOM)
    assert basemap.vector_layers == ["roads"]
    assert basemap.bounds is not None
    w, s, e, n = basemap.bounds
    lon, lat = _centre(demo_files)
    assert w < lon < e and s < lat < n
    for z in (6, 10, MAXZOOM):
        x, y = tile_of(lon, lat, z)
        data = basemap.tile(z, x, y)
        assert data, (z, x, y)
        assert is_gzip(data) == basemap.compressed
        body = gzip.decompress(data) if is_gzip(data) else data
        assert b"roads" in body and b"A1210" in body  # the layer's name and the road's name
        # the same column counted from the south (TMS) is far from the county: no tile
        assert basemap.tile(z, x, (1 << z) - 1 - y) is None
    x, y = tile_of(lon, lat, MAXZOOM + 1)
    assert basemap.tile(MAXZOOM + 1, x, y) is None  # deeper than the file
    assert basemap.tile(8, 0, 0) is None  # the far north-west: nothing there
    basemap.close()


@pytest.mark.parametrize(("z", "x", "y"), [(3, 8, 0), (3, 0, 8), (0, 0, 1), (25, 0, 0),
                                           (-1, 0, 0), (2, -1, 0)])
def test_addresses_outside_the_grid_are_refused(vector_file: Path, z: int, x: int, y: int):
    with pytest.raises(ValueError, match="no tile"):
        open_basemap(vector_file).tile(z, x, y)


def test_raster_mbtiles_rows_count_from_the_south(tmp_path: Path):
    red, blue = png((200, 0, 0)), png((0, 0, 200))
    path = make_raster_tiles(tmp_path / "r.mbtiles", {(2, 1, 0): red, (2, 1, 3): blue})
    basemap = open_basemap(path)
    assert not basemap.vector and basemap.extension == "png" and basemap.media_type == "image/png"
    assert (basemap.minzoom, basemap.maxzoom) == (2, 2)
    assert basemap.tile(2, 1, 0) == red and basemap.tile(2, 1, 3) == blue
    assert basemap.tile(2, 2, 2) is None and basemap.tile(3, 2, 0) is None
    assert basemap.attribution == "<b>Test</b> & co" and basemap.bounds is None


def _sqlite(path: Path, *sql: str) -> Path:
    db = sqlite3.connect(path)
    for s in sql:
        db.execute(s)
    db.commit()
    db.close()
    return path


@pytest.mark.parametrize(("make", "words"), [
    (lambda p: p, "no such file"),
    (lambda p: (p.write_text("not tiles"), p)[1], "not an MBTiles (SQLite) or PMTiles file"),
    (lambda p: (p.write_bytes(b""), p)[1], "not an MBTiles (SQLite) or PMTiles file"),
    (lambda p: _sqlite(p, "CREATE TABLE x (a)"), "no 'tiles' table"),
    (lambda p: _sqlite(p, "CREATE TABLE tiles (zoom_level, tile_column, tile_row, tile_data)"),
     "holds no tiles"),
    (lambda p: _sqlite(p, "CREATE TABLE tiles (zoom_level, tile_column, tile_row, tile_data)",
                       "INSERT INTO tiles VALUES (0, 0, 0, x'00112233')"),
     "tile format '' is not one this service serves"),
    (lambda p: _sqlite(p, "CREATE TABLE metadata (name, value)",
                       "INSERT INTO metadata VALUES ('format', 'tiff')",
                       "CREATE TABLE tiles (zoom_level, tile_column, tile_row, tile_data)",
                       "INSERT INTO tiles VALUES (0, 0, 0, x'00112233')"),
     "tile format 'tiff'"),
    (lambda p: (p.write_bytes(b"PMTiles\x03" + b"\x00" * 20), p)[1],
     "the PMTiles header cannot be read"),
    (lambda p: (p.write_bytes(b"PMTiles\x02" + b"\x00" * 200), p)[1], "version other than 3"),
])
def test_files_that_are_not_basemaps_say_what_is_wrong(tmp_path: Path, make, words: str):
    path = make(tmp_path / "bad.mbtiles")
    with pytest.raises(InvalidBasemap, match=re.escape(words)) as caught:
        open_basemap(path)
    assert isinstance(caught.value, GeodataError) and "bad.mbtiles" in str(caught.value)
