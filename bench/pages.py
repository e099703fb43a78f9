"""Benchmark: the hotspot API and the planner's page, served by the real service.

Targets (issue 4), for the demo force area (50,000 incidents):

- a cached ``GET /v1/hotspots`` under 20 ms median; an uncached one under 2 s;
- the planner's page under 1.5 MB, interactive in headless Chromium in under 2 s;
- for 1,000,000 incidents the page stays under 5 MB (no per-incident markers).

Peers measured in the same run: scikit-learn's DBSCAN on the same points (the clustering step
alone, nothing else), and a folium page with one marker per incident (its size).

Run: ``make bench`` or ``python -m bench.pages`` (``--incidents-large 0`` skips the 1,000,000
run). The service runs in its own process on 127.0.0.1; the client here uses one kept-alive
connection, so a figure is what a force system on the same machine would see.
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from bench._runner import print_header, print_row, run_task
from bench._server import CHROMIUM, CHROMIUM_ARGS, Server, open_offline, serving
from geodata.demo import load_demo, write_demo
from geodata.stores import SQLiteStore

SKLEARN_PEER = """
import numpy as np
from sklearn.cluster import DBSCAN
from geodata.stores import SQLiteStore
store = SQLiteStore.open(DATABASE)
xy = store.incidents().xy
t = time.perf_counter()
labels = DBSCAN(eps=150, min_samples=MIN_SAMPLES, algorithm="ball_tree").fit(xy).labels_
done(seconds=time.perf_counter() - t, clusters=int(labels.max() + 1), points=len(xy))
"""

FOLIUM_PEER = """
import folium
from geodata.stores import SQLiteStore
store = SQLiteStore.open(DATABASE)
cols = store.incidents()
import geopandas as gpd
pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(cols.xy[:, 0], cols.xy[:, 1]),
                       crs=store.crs).to_crs("EPSG:4326")
t = time.perf_counter()
m = folium.Map(location=[54.0, -1.2], zoom_start=9)
folium.GeoJson(pts.__geo_interface__, marker=folium.CircleMarker(radius=2)).add_to(m)
size = len(m.get_root().render().encode())
done(seconds=time.perf_counter() - t, bytes=size)
"""


class Client:
    """One kept-alive HTTP connection to the service."""

    def __init__(self, url: str, key: str = "") -> None:
        self.auth = {"Authorization": f"Bearer {key}"} if key else {}
        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port,
                                               timeout=600)

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[float, bytes]:
        """(seconds, body) of a GET that must answer 200."""
        t = time.perf_counter()
        self.conn.request("GET", path, headers={**self.auth, **(headers or {})})
        r = self.conn.getresponse()
        body = r.read()
        seconds = time.perf_counter() - t
        if r.status != 200:
            raise RuntimeError(f"GET {path}: {r.status} {body[:300]!r}")
        return seconds, body


def _row(name: str, seconds: float, peak_mb: float, extra: str) -> None:
    print_row(name, {"seconds": seconds, "peak_mb": peak_mb}, extra)


def _api(server: Server, label: str, repeats: int) -> dict[str, float]:
    c = Client(server.url, server.key)
    first, _ = c.get("/v1/hotspots?eps_m=149")  # the first request of a fresh process
    uncached = [c.get(f"/v1/hotspots?eps_m={150 + i / 10:g}")[0] for i in range(repeats)]
    kde = [c.get(f"/v1/hotspots?method=kde&bandwidth_m={250 + i:g}")[0] for i in range(repeats)]
    c.get("/v1/hotspots")
    cached = [c.get("/v1/hotspots")[0] for _ in range(50)]
    csv_cached = [c.get("/v1/hotspots", {"Accept": "text/csv"})[0] for _ in range(20)]
    peak = server.peak_mb()
    _row(f"{label}: first GET /v1/hotspots of a new process", first, peak, "DBSCAN, uncached")
    _row(f"{label}: GET /v1/hotspots uncached (DBSCAN)", statistics.median(uncached), peak,
         f"median of {repeats}, max {max(uncached):.3f} s")
    _row(f"{label}: GET /v1/hotspots uncached (KDE)", statistics.median(kde), peak,
         f"median of {repeats}, max {max(kde):.3f} s")
    _row(f"{label}: GET /v1/hotspots cached", statistics.median(cached), peak,
         f"median of 50, p95 {sorted(cached)[47] * 1000:.1f} ms")
    _row(f"{label}: GET /v1/hotspots cached, CSV", statistics.median(csv_cached), peak,
         "median of 20")
    return {"uncached": statistics.median(uncached), "cached": statistics.median(cached)}


def _page(server: Server, label: str, browser_runs: int) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    c = Client(server.url, server.key)
    uncached, html = c.get("/?eps_m=151")
    cached, html = c.get("/?eps_m=151")
    assets = sum(len(c.get(p)[1]) for p in (
        "/static/leaflet/leaflet.js", "/static/leaflet/leaflet.css", "/static/maps/planner.js",
        "/static/maps/planner.css"))
    png = len(c.get("/v1/density?format=png&eps_m=151")[1])
    _, download = c.get("/?download=1&eps_m=151")
    peak = server.peak_mb()
    _row(f"{label}: page (HTML), uncached", uncached, peak, f"{len(html) / 1e6:.3f} MB HTML")
    _row(f"{label}: page (HTML), cached", cached, peak,
         f"+ {assets / 1e6:.3f} MB assets + {png / 1e6:.3f} MB PNG = "
         f"{(len(html) + assets + png) / 1e6:.3f} MB")
    _row(f"{label}: single-file download (?download=1)", 0.0, peak,
         f"{len(download) / 1e6:.3f} MB")
    times = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        for i in range(browser_runs + 1):
            t = time.perf_counter()
            page, watch = open_offline(browser, f"{server.url}/?eps_m=151", timeout_ms=60_000,
                                       key=server.key)
            # interactive: Leaflet has drawn the hotspots and a click opens a popup
            page.evaluate("""() => {
                const map = Object.values(window).find(v => v instanceof L.Map);
                map.eachLayer(l => { if (l.feature && l.feature.properties &&
                                         l.feature.properties.rank === 1) l.openPopup(); });
            }""")
            page.wait_for_selector(".leaflet-popup-content", timeout=10_000)
            elapsed = time.perf_counter() - t
            if i:  # the first run starts the browser's own caches; count the rest
                times.append(elapsed)
            if watch.errors or watch.outside:
                raise RuntimeError(f"page errors {watch.errors} or outside requests "
                                   f"{watch.outside}")
            page.close()
        browser.close()
    _row(f"{label}: page interactive in headless Chromium", statistics.median(times), peak,
         f"median of {browser_runs}, max {max(times):.3f} s")
    return {"bytes": len(html) + assets + png, "interactive": statistics.median(times)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--incidents", type=int, default=50_000)
    parser.add_argument("--incidents-large", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for n, label in ((args.incidents, f"{args.incidents:,}"),
                         (args.incidents_large, f"{args.incidents_large:,}")):
            if n <= 0:
                continue
            print_header(f"Demo force area, {label} incidents (peak MB: the server process)")
            folder = root / f"n{n}"
            t = time.perf_counter()
            files = write_demo(folder / "files", incidents=n)
            db = folder / "demo.sqlite"
            store = SQLiteStore.open(db)
            load_demo(store, files)
            store.close()
            _row(f"{label}: write and load the demo force area", time.perf_counter() - t,
                 float("nan"), "")
            with serving(folder, db, demo=True, tiles="none") as server:
                api = _api(server, label, args.repeats)
                page = _page(server, label, browser_runs=5 if n <= 100_000 else 3)
            if n <= 100_000:
                # (at 1,000,000 demo incidents scikit-learn's neighbourhood lists outgrow
                # the machine: thousands of neighbours a point)
                peer = run_task("sklearn", SKLEARN_PEER,
                                {"DATABASE": str(db), "MIN_SAMPLES": 20})
                _row(f"{label}: peer: scikit-learn DBSCAN fit alone", peer["seconds"],
                     peer["peak_mb"], f"{peer['clusters']} clusters (min_samples 20)")
                fol = run_task("folium", FOLIUM_PEER, {"DATABASE": str(db)})
                _row(f"{label}: peer: folium page, a marker per incident", fol["seconds"],
                     fol["peak_mb"], f"{fol['bytes'] / 1e6:.3f} MB HTML (+ CDN assets)")
            print(f"\n{label} incidents: cached {api['cached'] * 1000:.1f} ms, uncached "
                  f"{api['uncached']:.3f} s, page {page['bytes'] / 1e6:.3f} MB, interactive "
                  f"{page['interactive']:.3f} s\n", flush=True)


if __name__ == "__main__":
    main()
