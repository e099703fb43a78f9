"""Benchmark: the whole uncached hotspot answer at 1,000,000 incidents, stage by stage.

Target (issue 18, scope 1): an uncached ``GET /v1/hotspots`` of the demo force area at 10^6
incidents (DBSCAN with the automatic threshold, the default, and KDE; each with
classification, profiles, trends, place names and ranking, and the JSON) under 1.5 s on this
machine and within 2x the engine's own time on the same selection; the planner's page
(uncached) within 2x of that.

What runs, in one process (no HTTP): :func:`api.services.hotspot_results.compute_hotspots`,
what the service runs for an uncached request, with each of its stages timed by a wrapper put
around the function that does it (store reads, engine, polygons, places, table, context
classes, emerging classes, ranking, GeoJSON, CSV). Nested stages are indented; a stage's
time includes the stages under it. The **peer** is the engine alone on the same selection in
the same run: ``DBSCANHotspots.fit`` / ``KDEHotspots.fit`` (labels and polygons) and the
clustering or density grid alone (labels only). ``--http`` also starts the real service
(``hotspot serve --demo``) on the same store and times the uncached requests and the page over
one kept-alive connection.

Run: ``python -m bench.answer`` (``--incidents 1000000``, the default). The demo store is
built once (about ten minutes at 10^6) and kept in ``--cache`` (default
``$HOTSPOT_BENCH_CACHE`` or ``~/.cache/hotspot-bench``); ``--profile dbscan`` prints the
cProfile of one answer (top functions by own time); ``--timeline dbscan`` one answer's stages
thread by thread (start, end, the thread's CPU): where the two cores work and where one waits.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import gc
import importlib
import io
import json
import os
import pstats
import statistics
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

STAGES: list[tuple[str, str, str]] = [
    # (label, module, attribute); the order is the table's, indentation by label's dots
    ("compute_hotspots (the whole answer)", "api.services.hotspot_results", "compute_hotspots"),
    (". run_analysis", "api.services.hotspots", "run_analysis"),
    (".. store reads (selection, previous, history)", "api.services.hotspots", "_frame"),
    (".. store: force area", "api.services.hotspots", "force_area"),
    (".. store: context layers", "api.services.hotspots", "context_layers"),
    (".. store: holds (previous period known)", "api.services.hotspots", "store_holds"),
    (".. analyse", "hotspot.analysis", "analyse"),
    ("... areas (engine + polygons)", "hotspot.analysis", "find_areas"),
    (".... dbscan: collapse stacks", "hotspot.dbscan", "collapse"),
    (".... dbscan: auto threshold", "hotspot.dbscan", "auto_min_samples"),
    (".... dbscan: clustering", "hotspot.dbscan", "grid_dbscan"),
    (".... dbscan: polygons", "hotspot.dbscan", "cluster_polygons"),
    (".... kde: density grid", "hotspot.kde", "kde_grid"),
    (".... kde: threshold", "hotspot.kde", "density_threshold"),
    (".... kde: areas (labels + polygons)", "hotspot.kde", "grid_areas"),
    ("... places (split at peaks)", "hotspot.analysis", "split_places"),
    ("... table (profiles, trends)", "hotspot.analysis", "build_table"),
    (".... categories", "hotspot.table", "_categories"),
    (".... top locations", "hotspot.table", "_locations"),
    (".... times and profiles", "hotspot.table", "_times"),
    (".... trends", "hotspot.table", "_trend"),
    ("... classification: incidents", "hotspot.analysis", "incident_context"),
    ("... classification: hotspots, place names", "hotspot.analysis", "classify_hotspots"),
    ("... street names", "hotspot.analysis", "_street_names"),
    ("... emerging classes: the cube (in a thread from the start)", "hotspot.analysis",
     "emerging_cube"),
    ("... emerging classes of the places", "hotspot.analysis", "classes_in_cube"),
    ("... ranking", "hotspot.analysis", "_rank"),
    ("... area budget", "hotspot.analysis", "_within_budget"),
    ("... numbering", "hotspot.analysis", "_number"),
    ("... accuracy: incidents inside", "hotspot.analysis", "_hit"),
    ("... accuracy: area covered", "hotspot.analysis", "_covered"),
    (". GeoJSON features", "hotspot.analysis", "feature_collection"),
    (". JSON serialisation", "api.services.hotspot_results", "orjson.dumps"),
    (". CSV", "api.services.hotspot_results", "table_csv"),
]

PAGE_STAGES: list[tuple[str, str, str]] = [
    ("the page's default period (latest month)", "api.services.hotspots",
     "latest_complete_month"),
    ("the hotspots (as above)", "api.services.hotspot_results", "compute_hotspots"),
    ("the density surface", "api.services.hotspot_results", "compute_density"),
    (". density grid", "api.services.hotspot_results", "density_grid"),
    (". PNG overlay", "api.services.hotspot_results", "density_image"),
    ("map_page", "api.services.hotspot_map", "map_page"),
    (". reference layers", "api.services.hotspot_map", "map_layers"),
    (". persistent ASB overlay", "api.services.hotspot_map", "map_overlay"),
    (". HTML (folium)", "api.services.hotspot_map", "hotspot_map_page"),
]


class Timers:
    """Seconds spent in each wrapped function (summed over calls; a recursive call counts
    once)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._active: set[str] = set()

    def wrap(self, label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if label in self._active:
                return fn(*args, **kwargs)
            self._active.add(label)
            t, cpu = time.perf_counter(), time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - t
                self.cpu[label] += time.process_time() - cpu
                self.calls[label] += 1
                self._active.discard(label)
        return timed

    def reset(self) -> None:
        self.seconds.clear()
        self.cpu.clear()
        self.calls.clear()


TIMELINE_EXTRA: list[tuple[str, str, str]] = [
    # stages inside the parallel parts, for --timeline (not in the table: they overlap)
    ("... the places' groups cut together", "hotspot.places", "_cut_together"),
    ("... the places' polygons", "hotspot.places", "_place_shapes"),
    ("... the table's part (with parent and split)", "hotspot.analysis", "_describe"),
    ("... WGS84 geometries as JSON", "hotspot.analysis", "wgs84_geometry_json"),
    ("... recency of the places", "hotspot.analysis", "_recent"),
]


class Timeline(Timers):
    """Each wrapped call as an event: its thread, label, start and end (seconds from
    :meth:`start`) and the thread's CPU seconds in it; every call, nested or not."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[str, str, float, float, float]] = []
        self._t0 = time.perf_counter()

    def start(self) -> None:
        self.events.clear()
        self._t0 = time.perf_counter()

    def wrap(self, label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            t, cpu = time.perf_counter(), time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.events.append((threading.current_thread().name, label.lstrip(". "),
                                    t - self._t0, time.perf_counter() - self._t0,
                                    time.thread_time() - cpu))
        return timed

    def print(self, title: str) -> None:
        print(f"\n{title}\n")
        print(f"| {'thread':<16} | {'from s':>7} | {'to s':>7} | {'thread CPU s':>12} | stage")
        print(f"|{'-' * 18}|{'-' * 9}|{'-' * 9}|{'-' * 14}|{'-' * 40}")
        for thread, label, a, b, cpu in sorted(self.events, key=lambda e: e[2]):
            print(f"| {thread[:16]:<16} | {a:>7.3f} | {b:>7.3f} | {cpu:>12.3f} | {label}")


def timeline(db: Path, method: str) -> None:
    """One uncached answer of ``method`` (after an untimed one), stage by stage and thread by
    thread: where the cores work and where one waits for another."""
    from api.services import hotspot_results

    _settings, store, taxonomy, harm, limits = _setup(db)

    def answer(i: int) -> Any:
        return hotspot_results.compute_hotspots(store, taxonomy, _query(_values(method, i)),
                                                limits, None, harm)

    answer(-1)
    tl = Timeline()
    with timed_stages(tl, STAGES + TIMELINE_EXTRA):
        tl.start()
        answer(0)
    tl.print(f"{method.upper()}: one uncached answer, thread by thread")
    store.close()


class _TimedJson:
    """A JSON module (``json``, ``orjson``) as a module sees it, with ``dumps`` timed."""

    def __init__(self, real: Any, dumps: Callable[..., Any]) -> None:
        self._real = real
        self.dumps = dumps

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


@contextmanager
def timed_stages(timers: Timers,
                 stages: list[tuple[str, str, str]] | None = None) -> Iterator[None]:
    """Every stage of :data:`STAGES` wrapped in ``timers`` (restored on leaving); the JSON
    serialisation is ``orjson.dumps`` (``json.dumps`` before) as
    :mod:`api.services.hotspot_results` calls it."""
    saved: list[tuple[Any, str, Any]] = []
    try:
        for label, module, name in stages or STAGES:
            mod = importlib.import_module(module)
            if name.endswith(".dumps"):
                lib = name.split(".")[0] if hasattr(mod, name.split(".")[0]) else "json"
                real = getattr(mod, lib)
                saved.append((mod, lib, real))
                setattr(mod, lib, _TimedJson(real, timers.wrap(label, real.dumps)))
                continue
            fn = getattr(mod, name, None)
            if fn is None:  # a stage another version of the code does not have
                continue
            saved.append((mod, name, fn))
            setattr(mod, name, timers.wrap(label, fn))
        yield
    finally:
        for mod, name, fn in reversed(saved):
            setattr(mod, name, fn)


def demo_store(cache: Path, incidents: int) -> Path:
    """The demo force area at ``incidents`` incidents as a SQLite store under ``cache``, built
    (``bench.pages``' way: the demo files written, then loaded by the normal readers) only when
    it is not there yet."""
    from geodata.demo import load_demo, write_demo
    from geodata.stores import SQLiteStore

    folder = cache / f"demo-{incidents}"
    db = folder / "demo.sqlite"
    if db.exists():
        return db
    folder.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    print(f"building the demo store of {incidents:,} incidents in {folder} (once)", flush=True)
    files = write_demo(folder / "files", incidents=incidents)
    building = folder / "building.sqlite"
    building.unlink(missing_ok=True)
    store = SQLiteStore.open(building)
    load_demo(store, files)
    store.close()
    building.rename(db)
    print(f"built in {time.perf_counter() - t:.0f} s", flush=True)
    return db


def _values(method: str, i: int) -> dict[str, Any]:
    """The query of answer ``i`` of ``method``: each with a slightly different parameter, as
    a cache would see new requests."""
    if method == "dbscan":
        return {"method": "dbscan", "eps_m": 150 + i / 10}
    return {"method": "kde", "bandwidth_m": str(250 + i)}


def _query(values: dict[str, Any]) -> Any:
    from api.services.hotspot_query import query_from_values

    return query_from_values(values, field="query")


def _engine_peer(store: Any, taxonomy: Any, method: str,
                 values: dict[str, Any]) -> dict[str, float]:
    """The engine alone on the selection ``values`` names (its coordinates read once, not
    timed): the estimator's fit (labels and polygons) and the clustering or density grid
    alone; wall and CPU seconds."""
    import numpy as np

    from api.services.hotspot_query import selection_of
    from hotspot.dbscan import DBSCANHotspots
    from hotspot.kde import KDEHotspots, density_threshold, kde_grid

    q = _query(values)
    cols = store.incidents(selection_of(q, store).incident_filter(taxonomy))
    xy = np.ascontiguousarray(np.column_stack([cols.x, cols.y]).astype(np.float64))
    out: dict[str, float] = {"incidents": float(xy.shape[0])}

    def timed(name: str, fn: Callable[[], Any]) -> Any:
        t, cpu = time.perf_counter(), time.process_time()
        result = fn()
        out[name] = time.perf_counter() - t
        out[f"{name}_cpu"] = time.process_time() - cpu
        return result

    if method == "dbscan":
        from hotspot._griddbscan import grid_dbscan
        from hotspot.dbscan import auto_min_samples
        from hotspot.points import collapse

        eps = float(values.get("eps_m", 150.0))
        timed("fit", lambda: DBSCANHotspots(eps_m=eps).fit(xy, crs=store.crs))

        def labels() -> None:
            stacks = collapse(xy, None)
            thresholds, _auto = auto_min_samples(stacks.xy, stacks.count, eps)
            grid_dbscan(stacks.xy, eps, thresholds, stacks.count)

        timed("labels", labels)
    else:
        bw = float(values["bandwidth_m"])
        kde = timed("fit", lambda: KDEHotspots(bandwidth_m=bw).fit(xy, crs=store.crs))

        def grid() -> None:
            g = kde_grid(xy, crs=store.crs, bandwidth_m=bw, cell_size_m=kde.grid_.cell_size_m)
            density_threshold(g, share=0.5)

        timed("labels", grid)
    return out


Run = tuple[dict[str, float], dict[str, float]]
"""One timed run: wall seconds and CPU seconds by stage label."""


def _median(runs: list[Run], label: str, which: int) -> float | None:
    values = [r[which][label] for r in runs if label in r[which]]
    return statistics.median(values) if values else None


def _print_stages(title: str, runs: list[Run], calls: dict[str, int],
                  stages: list[tuple[str, str, str]] | None = None) -> None:
    print(f"\n{title}\n")
    print(f"| {'stage':<52} | {'seconds':>8} | {'CPU s':>8} | {'calls':>5} |")
    print(f"|{'-' * 54}|{'-' * 10}|{'-' * 10}|{'-' * 7}|")
    for label, _module, _name in stages or STAGES:
        wall, cpu = _median(runs, label, 0), _median(runs, label, 1)
        if wall is None or cpu is None:
            continue
        depth = len(label) - len(label.lstrip("."))
        name = "  " * depth + label.lstrip(". ")
        print(f"| {name:<52} | {wall:>8.3f} | {cpu:>8.3f} | {calls.get(label, 0):>5} |")


def _setup(db: Path) -> tuple[Any, Any, Any, Any, Any]:
    from api.cli.common import load_settings
    from api.limits import WorkLimits
    from api.services.compiled import warm_compiled_in_background
    from geodata.harm import HarmTable
    from geodata.stores import SQLiteStore
    from geodata.taxonomy import Taxonomy

    settings = load_settings()
    store = SQLiteStore.open(db)
    # as the service does at its start (api.services.compiled): the compiled steps loaded for
    # a store of WARM_FROM incidents or more, which the places' loops then use at any size
    warm_compiled_in_background(store).join()
    return (settings, store, Taxonomy.load(settings.taxonomy_path),
            HarmTable.load(settings.harm_table), WorkLimits.from_settings(settings))


def _timed_runs(fn: Callable[[int], Any], repeats: int,
                stages: list[tuple[str, str, str]],
                between: Callable[[int], Any] | None = None,
                ) -> tuple[list[Run], dict[str, int], Any]:
    """``repeats`` calls of ``fn(i)`` with every stage timed (after one untimed call); with
    ``between``, ``between(i)`` right after each, untimed (a peer measured in the same phase
    of a machine whose speed drifts)."""
    fn(-1)  # imports, the store's page cache
    timers = Timers()
    runs: list[Run] = []
    result = None
    calls: dict[str, int] = defaultdict(int)
    for i in range(repeats):
        with timed_stages(timers, stages):
            timers.reset()
            gc.collect()
            result = fn(i)
            runs.append((dict(timers.seconds), dict(timers.cpu)))
            for label, n in timers.calls.items():
                calls[label] = max(calls[label], n)
        if between is not None:
            between(i)
    return runs, dict(calls), result


def _profile(fn: Callable[[], Any]) -> None:
    prof = cProfile.Profile()
    prof.enable()
    fn()
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(30)
    print(out.getvalue())


def in_process(db: Path, method: str, repeats: int, profile: bool) -> dict[str, float]:
    """The stage table of ``repeats`` uncached answers of ``method`` (each with a slightly
    different parameter, as a cache would see new requests) and the engine peer."""
    from api.services import hotspot_results

    _settings, store, taxonomy, harm, limits = _setup(db)

    def answer(i: int) -> Any:
        return hotspot_results.compute_hotspots(store, taxonomy, _query(_values(method, i)),
                                                limits, None, harm)

    peers: list[dict[str, float]] = []
    runs, calls, computed = _timed_runs(
        answer, repeats, STAGES,
        between=lambda i: peers.append(_engine_peer(store, taxonomy, method, _values(method, i))))
    n = int(peers[0]["incidents"])
    hotspots = int(computed.info.get("hotspots", 0))
    _print_stages(f"{method.upper()}: uncached answer at {n:,} incidents, {hotspots} hotspots, "
                  f"{len(computed.geojson) / 1e6:.2f} MB GeoJSON (median of {repeats})", runs,
                  calls)
    label = STAGES[0][0]
    whole = {"answer": _median(runs, label, 0) or 0.0, "answer_cpu": _median(runs, label, 1)
             or 0.0}
    for key in ("fit", "fit_cpu", "labels", "labels_cpu"):
        whole[key] = statistics.median(p[key] for p in peers)
    print()
    print(f"| {'':<40} | {'seconds':>8} | {'CPU s':>8} | {'answer / peer (CPU)':>20} |")
    print(f"| {'whole answer (compute_hotspots)':<40} | {whole['answer']:>8.3f} | "
          f"{whole['answer_cpu']:>8.3f} | {'':>20} |")
    for key, name in (("fit", "peer: engine fit (labels + polygons)"),
                      ("labels", "peer: engine labels alone")):
        ratio = f"{whole['answer'] / whole[key]:.2f}x ({whole['answer_cpu'] / whole[key + '_cpu']:.2f}x)"
        print(f"| {name:<40} | {whole[key]:>8.3f} | {whole[key + '_cpu']:>8.3f} | {ratio:>20} |")
    # each answer against the peer run right after it, then the median: steadier than the
    # ratio of the medians when the machine's speed drifts from one run to the next
    label0 = STAGES[0][0]
    paired = [r[0][label0] / p["fit"] for r, p in zip(runs, peers, strict=True)]
    whole["answer_per_fit_paired"] = statistics.median(paired)
    print(f"\nanswer / engine fit, each run against the peer run right after it: "
          f"{', '.join(f'{x:.2f}x' for x in paired)} (median {statistics.median(paired):.2f}x)")
    if profile:
        _profile(lambda: answer(repeats))
    store.close()
    return whole


def page_in_process(db: Path, method: str, repeats: int, profile: bool) -> dict[str, float]:
    """The stage table of the planner's page (uncached), as ``GET /`` makes it: the default
    period (the last six whole months), the hotspots, the density surface and the HTML."""
    import pandas as pd

    from api.services import hotspot_map, hotspot_results, hotspots

    settings, store, taxonomy, harm, limits = _setup(db)

    def page(i: int) -> str:
        values: dict[str, Any] = ({"method": "dbscan", "eps_m": 151 + i / 10} if method == "dbscan"
                                  else {"method": "kde", "bandwidth_m": str(260 + i)})
        last = hotspots.latest_complete_month(store)
        if last is not None:
            values["from"] = str(pd.Period(last, freq="M") - (hotspot_map.PAGE_MONTHS - 1))
            values["to"] = str(last)
        q = _query(values)
        computed = hotspot_results.compute_hotspots(store, taxonomy, q, limits, None, harm)
        density = hotspot_results.compute_density(store, taxonomy, q, limits)
        return hotspot_map.map_page(store, taxonomy, settings, q, computed, density, path="/",
                                    download=False)

    stages = [("the whole page", __name__, "_page_marker"), *PAGE_STAGES, *STAGES[1:]]

    def whole_page(i: int) -> str:
        return _page_marker(page, i)

    runs, calls, html = _timed_runs(whole_page, repeats, stages)
    _print_stages(f"The planner's page ({method.upper()}), uncached, {len(html) / 1e6:.2f} MB "
                  f"HTML (median of {repeats})", runs, calls, stages)
    if profile:
        _profile(lambda: page(repeats))
    store.close()
    return {"page": _median(runs, "the whole page", 0) or 0.0,
            "page_cpu": _median(runs, "the whole page", 1) or 0.0}


def _page_marker(page: Callable[[int], str], i: int) -> str:
    """The whole page (a function of its own, so that it is timed as a stage)."""
    return page(i)


def over_http(db: Path, repeats: int) -> None:
    """The real service on the store: uncached GET /v1/hotspots (DBSCAN, KDE) and the page."""
    import tempfile

    from bench._server import serving
    from bench.pages import Client

    gzip = {"Accept-Encoding": "gzip"}  # as a browser asks: the body compressed once, kept
    with tempfile.TemporaryDirectory() as tmp, \
            serving(Path(tmp), db, demo=True, tiles="none") as server:
        c = Client(server.url, server.key)
        c.get("/v1/hotspots?eps_m=149")
        rows = []
        # each request a parameter of its own (uncached; the page and the API share results)
        for name, path, start, step in (
                ("GET /v1/hotspots uncached (DBSCAN, auto)", "/v1/hotspots?eps_m={:g}", 150, 0.1),
                ("GET /v1/hotspots uncached (KDE)", "/v1/hotspots?method=kde&bandwidth_m={:g}",
                 250, 1),
                ("GET / (the planner's page) uncached, DBSCAN", "/?eps_m={:g}", 155, 0.1),
                ("GET / (the planner's page) uncached, KDE", "/?method=kde&bandwidth_m={:g}",
                 300, 1)):
            plain = [c.get(path.format(start + i * step))[0] for i in range(repeats)]
            packed = [c.get(path.format(start + (repeats + i) * step), gzip)
                      for i in range(repeats)]
            rows.append((name, statistics.median(plain),
                         statistics.median(t for t, _ in packed), len(packed[-1][1])))
        peak = server.peak_mb()
    print(f"\nThe service over HTTP (median of {repeats}; server peak {peak:.0f} MB)\n")
    print(f"| {'request':<52} | {'seconds':>8} | {'gzip s':>8} | {'gzip MB':>8} |")
    print(f"|{'-' * 54}|{'-' * 10}|{'-' * 10}|{'-' * 10}|")
    for name, plain_s, packed_s, size in rows:
        print(f"| {name:<52} | {plain_s:>8.3f} | {packed_s:>8.3f} | {size / 1e6:>8.2f} |")
    print("\n(seconds: without Accept-Encoding; gzip: with `Accept-Encoding: gzip`, as a "
          "browser asks, until the last compressed byte is read)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--incidents", type=int, default=1_000_000)
    parser.add_argument("--cache", type=Path, default=Path(os.environ.get(
        "HOTSPOT_BENCH_CACHE", Path.home() / ".cache" / "hotspot-bench")))
    parser.add_argument("--store", type=Path, default=None,
                        help="a demo store file to use instead of building one")
    parser.add_argument("--methods", default="dbscan,kde")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", default="", help="methods to cProfile (comma-separated)")
    parser.add_argument("--page", default="dbscan",
                        help="methods whose planner's page to time in process (comma-separated)")
    parser.add_argument("--http", action="store_true", help="also time the real service")
    parser.add_argument("--timeline", default="",
                        help="methods to time thread by thread, one answer each (comma-separated)")
    args = parser.parse_args()
    db = args.store or demo_store(args.cache, args.incidents)
    for method in [m for m in args.timeline.split(",") if m]:
        timeline(db, method)
    results = {}
    for method in [m for m in args.methods.split(",") if m]:
        results[method] = in_process(db, method, args.repeats, method in args.profile.split(","))
    for method in [m for m in args.page.split(",") if m]:
        results[f"page-{method}"] = page_in_process(
            db, method, args.repeats, f"page-{method}" in args.profile.split(","))
    if args.http:
        over_http(db, args.repeats)
    print("\n" + json.dumps({m: {k: round(v, 3) for k, v in r.items()}
                             for m, r in results.items()}))


if __name__ == "__main__":
    main()
