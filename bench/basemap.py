"""Benchmark: the store's roads and names under the maps (GET /v1/basemap), on the demo.

For a 1440 x 900 view centred between the demo's two towns, at each zoom: the blocks
``maps/static/basemap.js`` asks for (one tile of zoom - 2 each, the view and a quarter around
it), with their features, bytes as sent (JSON) and gzipped (what the service sends), and the
time :func:`api.services.basemap.basemap_features` takes per block (in-process, warm: the layers are
prepared once per store). Also what the field view keeps for a route over the whole county.

Run: ``python -m bench.basemap`` (not part of ``make bench``'s timing targets: it records sizes).
"""

from __future__ import annotations

import gzip
import json
import math
import tempfile
import time
from pathlib import Path

import geopandas as gpd

from api.services.basemap import DATA_MAX_ZOOM, basemap_features
from geodata.demo import load_demo, write_demo
from geodata.stores import SQLiteStore

VIEW = (1440, 900)


def _tile_range(w: float, s: float, e: float, n: float, z: int) -> tuple[int, int, int, int]:
    def x(lon: float) -> int:
        return int((lon + 180) / 360 * 2 ** z)

    def y(lat: float) -> int:
        r = math.radians(lat)
        return int((1 - math.log(math.tan(r) + 1 / math.cos(r)) / math.pi) / 2 * 2 ** z)
    return x(w), x(e), y(n), y(s)


def _tile_box(x: int, y: int, z: int) -> tuple[float, float, float, float]:
    def lat(yy: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * yy / 2 ** z))))
    return (round(x / 2 ** z * 360 - 180, 6), round(lat(y + 1), 6),
            round((x + 1) / 2 ** z * 360 - 180, 6), round(lat(y), 6))


def blocks(bounds: tuple[float, float, float, float],
           zoom: int) -> list[tuple[float, float, float, float]]:
    """The blocks basemap.js asks for to cover ``bounds`` (WGS84) at ``zoom``."""
    bz = max(0, zoom - 2)
    x0, x1, y0, y1 = _tile_range(*bounds, bz)
    return [_tile_box(x, y, bz) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]


def view_bounds(lon: float, lat: float, zoom: int,
                pad: float = 0.25) -> tuple[float, float, float, float]:
    """A 1440 x 900 view centred on (lon, lat) at ``zoom``, widened by ``pad`` each side."""
    deg_per_px = 360 / (256 * 2 ** zoom)
    half_w = VIEW[0] / 2 * deg_per_px * (1 + 2 * pad)
    half_h = VIEW[1] / 2 * deg_per_px * math.cos(math.radians(lat)) * (1 + 2 * pad)
    return (lon - half_w, lat - half_h, lon + half_w, lat + half_h)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        files = write_demo(Path(tmp) / "demo", incidents=2_000)
        store = SQLiteStore.open(Path(tmp) / "demo.sqlite")
        load_demo(store, files)
        county = gpd.read_file(files.layers["force_boundary"]).to_crs(4326)
        w, s, e, n = county.total_bounds
        lon, lat = (w + e) / 2, (s + n) / 2
        basemap_features(store, (w, s, e, n), 10)  # prepare the layers once
        print(f"{'zoom':>4} {'blocks':>6} {'features':>8} {'roads':>6} {'labels':>6} "
              f"{'JSON kB':>8} {'gzip kB':>8} {'ms/block':>8}")
        for zoom in (8, 10, 12, 13, 14, 15, 16):
            data_zoom = min(zoom, DATA_MAX_ZOOM)
            boxes = blocks(view_bounds(lon, lat, zoom), data_zoom)
            feats = roads = labels = raw = packed = 0
            t0 = time.perf_counter()
            for box in boxes:
                doc = basemap_features(store, box, data_zoom)
                text = json.dumps(doc, separators=(",", ":")).encode()
                raw += len(text)
                packed += len(gzip.compress(text, 6))
                feats += len(doc["features"])
                roads += sum(f["properties"]["layer"] == "road" for f in doc["features"])
                labels += sum(f["properties"]["layer"] == "label" for f in doc["features"])
            ms = (time.perf_counter() - t0) * 1000 / len(boxes)
            print(f"{zoom:>4} {len(boxes):>6} {feats:>8} {roads:>6} {labels:>6} "
                  f"{raw / 1000:>8.1f} {packed / 1000:>8.1f} {ms:>8.1f}")
        store.close()


if __name__ == "__main__":
    main()
