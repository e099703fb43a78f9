"""Benchmark: patrol planning, and the field view's first load.

Targets (issue 6): a Rural Crime Team plan over 60 candidate hotspots and 2 vehicles in under
5 s; a town plan over 30 hotspots in under 2 s; the field view's first load under 1 MB without
tiles.

Instances: a 50 km x 50 km county with 60 rural hotspots (random places, scores and evening or
night-time profiles, so each has peak-hour windows), 2 vehicles from one base, a 10-hour
evening shift, dwell 15 minutes; a town centre 3 km across with 30 hotspots and 3 officers on
foot over an 8-hour shift. Travel: straight lines x 1.3, and (rural) the demo force area's road
network with the same places moved onto it.

Peers in the same run, on the same instances: OR-Tools' first solution alone (cheapest arc, no
local search: what the guided local search adds), and a greedy insertion heuristic written
here for comparison only (each round inserts the stop with the best score per added minute
that keeps every window).

Run: ``make bench`` or ``python -m bench.patrol``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench._runner import print_header, print_row, run_task

INSTANCE = """
import numpy as np
import geopandas as gpd, shapely
from datetime import datetime
from zoneinfo import ZoneInfo
from hotspot.patrol import Base, PlanOptions, Shift, plan_patrols
from hotspot.travel import StraightLine, RoadNetwork

TZ = ZoneInfo("Europe/London")
rng = np.random.default_rng(SEED)

def profile(kind):
    p = np.zeros((7, 24))
    hours = {"evening": range(17, 23), "night": [22, 23, 0, 1, 2], "day": range(9, 17)}[kind]
    for d in range(7):
        for h in hours:
            p[d, h] = rng.poisson(6)
    return p.tolist()

def table(xy, cls, place):
    n = len(xy)
    kinds = rng.choice(["evening", "night", "day"], n, p=[0.45, 0.35, 0.2])
    return gpd.GeoDataFrame({
        "id": [f"h{i}" for i in range(n)], "rank": np.arange(1, n + 1),
        "score": np.sort(rng.gamma(2.0, 50.0, n))[::-1],
        "centroid_x": xy[:, 0], "centroid_y": xy[:, 1], "context_class": cls, "place": place,
        "profile": [profile(k) for k in kinds],
        "category_mix": [{"agricultural_theft": 10}] * n, "heritage_sites": [[]] * n,
    }, geometry=[shapely.Point(p) for p in xy], crs="EPSG:27700")

if KIND == "rural":
    xy = rng.uniform(0, 50_000, (N, 2)) + (440_000, 440_000)
    base = Base("Hub", 465_000.0, 465_000.0)
    if ROADS:
        roads = gpd.read_file(ROADS).to_crs(27700)
        travel = RoadNetwork(list(roads.geometry.values), roads["speed_kph"].tolist())
        # the same number of places, on the demo's roads (its villages and farms)
        nodes = travel.nodes[rng.choice(len(travel.nodes), N, replace=False)]
        xy = nodes + rng.normal(0, 80, nodes.shape)
        base = Base("Hub", float(travel.nodes[0][0]), float(travel.nodes[0][1]))
    else:
        travel = StraightLine()
    hot = table(xy, "rural", "")
    shift = Shift(datetime(2026, 11, 27, 16, tzinfo=TZ), datetime(2026, 11, 28, 2, tzinfo=TZ))
    kw = dict(rural_vehicles=VEHICLES, rural_base=base)
else:
    xy = rng.uniform(-1_500, 1_500, (N, 2)) + (460_000, 470_000)
    travel = StraightLine()
    hot = table(xy, "town_centre", "Thornbury")
    shift = Shift(datetime(2026, 11, 27, 15, tzinfo=TZ), datetime(2026, 11, 27, 23, tzinfo=TZ))
    kw = dict(town_officers={"Thornbury": OFFICERS},
              town_bases={"Thornbury": Base("Station", 460_000.0, 470_000.0)})
"""

PLAN = INSTANCE + """
t = time.perf_counter()
plan = plan_patrols(hot, shift=shift, travel=travel, crs="EPSG:27700", **kw).to_dict()
seconds = time.perf_counter() - t
done(seconds=seconds, score=plan["totals"]["score_covered"],
     available=plan["totals"]["score_available"], stops=plan["totals"]["stops"],
     visited=plan["totals"]["hotspots_visited"])
"""

FIRST_SOLUTION = INSTANCE + """
import hotspot.patrol as P
from ortools.constraint_solver import pywrapcp, routing_enums_pb2
real = pywrapcp.DefaultRoutingSearchParameters
def first_only():
    p = real()
    p.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GREEDY_DESCENT
    p.solution_limit = 1
    return p
pywrapcp.DefaultRoutingSearchParameters = first_only
t = time.perf_counter()
plan = plan_patrols(hot, shift=shift, travel=travel, crs="EPSG:27700",
                    options=PlanOptions(time_limit_s=30), **kw).to_dict()
done(seconds=time.perf_counter() - t, score=plan["totals"]["score_covered"],
     available=plan["totals"]["score_available"], stops=plan["totals"]["stops"],
     visited=plan["totals"]["hotspots_visited"])
"""

GREEDY = INSTANCE + """
import hotspot.patrol as P
from hotspot.patrol import peak_slots, shift_windows
# greedy insertion, for comparison: every round, insert the stop with the best score per added
# second (at its cheapest feasible place in any route), until nothing fits
t = time.perf_counter()
places = np.vstack([[base.x, base.y] if KIND == "rural" else [460_000.0, 470_000.0], xy])
times = travel.matrix(places, "vehicle" if KIND == "rural" else "foot")
dwell = 900.0
H = shift.seconds
wins = [[(0.0, H)]] + [[(a, min(b, H - dwell)) for a, b in shift_windows(peak_slots(p), shift)
                        if min(b, H - dwell) >= a] for p in hot["profile"]]
score = np.concatenate([[0.0], hot["score"].to_numpy()])
k = VEHICLES if KIND == "rural" else OFFICERS

def simulate(route):
    t_, prev = 0.0, 0
    for j in route:
        arr = t_ + (dwell if prev else 0.0) + times[prev, j]
        start = next((max(arr, a) for a, b in wins[j] if arr <= b), None)
        if start is None:
            return None
        t_, prev = start, j
    end = t_ + (dwell if prev else 0.0) + times[prev, 0]
    return end if end <= H else None

routes = [[] for _ in range(k)]
left = {j for j in range(1, len(places)) if wins[j] and np.isfinite(times[0, j])}
while left:
    best = None
    for j in left:
        for r in routes:
            base_end = simulate(r) or 0.0
            for pos in range(len(r) + 1):
                cand = r[:pos] + [j] + r[pos:]
                end = simulate(cand)
                if end is not None:
                    ratio = score[j] / max(end - base_end, 1.0)
                    if best is None or ratio > best[0]:
                        best = (ratio, j, r, pos)
    if best is None:
        break
    _ratio, j, r, pos = best
    r.insert(pos, j)
    left.discard(j)
covered = float(sum(score[j] for r in routes for j in r))
done(seconds=time.perf_counter() - t, score=covered, available=float(score.sum()),
     stops=sum(len(r) for r in routes), visited=sum(len(r) for r in routes))
"""


FIRST_LOAD_BYTES = """() => {
    // bytes of every response body the page loaded (the browser's own count, before the
    // service worker's copies), the page itself included
    const entries = [...performance.getEntriesByType("navigation"),
                     ...performance.getEntriesByType("resource")];
    return entries.map(e => e.encodedBodySize);
}"""


def _field_first_load(n_incidents: int) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    from bench._server import CHROMIUM, CHROMIUM_ARGS, serving, sign_in
    from geodata.demo import load_demo, write_demo
    from geodata.stores import SQLiteStore

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = write_demo(folder / "files", incidents=n_incidents)
        db = folder / "demo.sqlite"
        store = SQLiteStore.open(db)
        load_demo(store, files)
        store.close()
        with serving(folder, db, demo=True, tiles="none") as server:
            t = time.perf_counter()
            plan = server.json("/v1/patrol-plans", {
                "shift": {"start": "2024-06-14T16:00", "end": "2024-06-15T02:00"},
                "rural_crime_team": {"vehicles": 2}, "town_centre_officers": {"Thornbury": 2}})
            post_s = time.perf_counter() - t
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                            args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 800, "height": 1280},
                                        is_mobile=True, has_touch=True)
                sign_in(page, server.url, server.key)
                t = time.perf_counter()
                page.goto(f"{server.url}/field/{plan['plan_id']}")
                page.wait_for_selector("body[data-ready='1']")
                ready_s = time.perf_counter() - t
                page.wait_for_selector("body[data-offline-ready='1']")
                page.wait_for_timeout(300)
                sizes = page.evaluate(FIRST_LOAD_BYTES)
                browser.close()
    return {"bytes": float(sum(sizes)), "files": float(len(sizes)),
            "ready_s": ready_s, "post_s": post_s, "stops": float(plan["totals"]["stops"])}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    from geodata.demo import write_demo

    with tempfile.TemporaryDirectory() as tmp:
        roads = str(write_demo(Path(tmp) / "demo", incidents=2_000).roads)
        cases = [
            ("Rural Crime Team: 60 hotspots, 2 vehicles, straight lines",
             {"KIND": "rural", "N": 60, "VEHICLES": 2, "ROADS": None}),
            ("Rural Crime Team: 60 hotspots, 2 vehicles, demo roads",
             {"KIND": "rural", "N": 60, "VEHICLES": 2, "ROADS": roads}),
            ("Town: 30 hotspots, 3 officers on foot",
             {"KIND": "town", "N": 30, "OFFICERS": 3, "ROADS": None, "VEHICLES": 0}),
        ]
        for title, values in cases:
            values = {**values, "SEED": args.seed, "OFFICERS": values.get("OFFICERS", 0)}
            print_header(title)
            for name, body in (("plan_patrols (OR-Tools, guided local search)", PLAN),
                               ("peer: OR-Tools first solution only", FIRST_SOLUTION),
                               ("peer: greedy insertion (bench only)", GREEDY)):
                r = run_task(name, body, values)
                share = r["score"] / r["available"] if r["available"] else 0.0
                print_row(name, r, f"{r['visited']} hotspots, {r['stops']} stops, "
                          f"score {share:.1%}")
    print_header("Field view, first load (demo force area, 50,000 incidents, no tiles)")
    f = _field_first_load(50_000)
    print(f"| field view first load: {f['bytes'] / 1e6:.3f} MB in {f['files']:.0f} files, "
          f"ready in {f['ready_s']:.2f} s; POST /v1/patrol-plans {f['post_s']:.2f} s "
          f"({f['stops']:.0f} stops) |")


if __name__ == "__main__":
    main()
