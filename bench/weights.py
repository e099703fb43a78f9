"""Benchmark: what each page costs a browser to fetch, and how soon it can be used (issue 14).

For the demo force area (50,000 incidents) and 1,000,000 incidents, the service in its own
process, Debian's headless Chromium with no tile address set (nothing outside 127.0.0.1 is asked for), signed
in as an admin. For each page:

- **first visit**: bytes over the wire (``transferSize`` of the page and of everything it
  fetched: compressed bodies plus headers) against the same bodies uncompressed
  (``decodedBodySize``: the peer, what the page cost before compression, measured in the same
  run), and the seconds from navigation to the page's "ready" mark (hotspots drawn and a popup
  opened on the planner's map; the plan's routes drawn; the field view's ``data-ready``; the
  briefing's route maps);
- **second visit** (a reload in the same browser): bytes over the wire again, which shows what
  the cache headers save (versioned static files are not asked for at all; the rest answer
  304 when unchanged).

Run: ``python -m bench.weights`` (``--incidents-large 0`` skips the 1,000,000 run). Prints a
table per size; figures go in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._server import CHROMIUM, CHROMIUM_ARGS, Server, serving
from geodata.demo import load_demo, write_demo
from geodata.stores import SQLiteStore

BYTES = """() => {
  const entries = [performance.getEntriesByType('navigation')[0],
                   ...performance.getEntriesByType('resource')];
  const sum = (k) => entries.reduce((a, e) => a + (e[k] || 0), 0);
  return {wire: sum('transferSize'), body: sum('encodedBodySize'),
          decoded: sum('decodedBodySize'), files: entries.length};
}"""

OPEN_RANK_1 = """() => {
  const map = Object.values(window).find(v => v instanceof L.Map);
  map.eachLayer(l => { if (l.feature && l.feature.properties &&
                           l.feature.properties.rank === 1 && l.openPopup) l.openPopup(); });
}"""


def _pages(server: Server) -> list[tuple[str, str, str]]:
    """(name, path, ready selector) of every page, a plan made for the plan pages."""
    plan = server.json("/v1/patrol-plans", {
        "name": "Friday late", "published": True,
        "shift": {"start": "2024-06-14T16:00", "end": "2024-06-15T02:00"},
        "rural_crime_team": {"vehicles": 2}, "town_centre_officers": {"Thornbury": 2}})
    pid = plan["plan_id"]
    crew = plan["routes"][0]["label"]
    return [
        ("planner's map /", "/", "path.hs-hotspot"),
        ("patrol plans /plans", "/plans", "body"),
        ("plan map", f"/v1/patrol-plans/{pid}/map", ".leaflet-overlay-pane path"),
        ("field view (a crew)", f"/field/{pid}?crew={crew}", "body[data-ready='1']"),
        ("briefing", f"/v1/patrol-plans/{pid}/briefing", "svg"),
    ]


def _visit(browser: Any, server: Server, path: str, ready: str) -> dict[str, float]:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    # no request routing: Playwright turns the browser's HTTP cache off for a routed context,
    # and the second visit is what the cache saves (the service runs with tiles "none", so
    # nothing asks for another address anyway)
    page = context.new_page()
    # signed in on a page with no assets (the sign-in form's own "next" page would otherwise
    # fill the cache before the first visit is measured)
    page.goto(f"{server.url}/login?next=/v1/whoami")
    page.fill("#key", server.key)
    with page.expect_navigation():
        page.click("button[type=submit]")
    page.goto(server.url + path, wait_until="commit")
    page.wait_for_selector(ready, state="attached", timeout=120_000)
    if path == "/":
        page.evaluate(OPEN_RANK_1)
        page.wait_for_selector(".leaflet-popup-content", timeout=30_000)
    ready_s = page.evaluate("() => performance.now()") / 1000.0
    page.wait_for_load_state("networkidle")
    first = page.evaluate(BYTES)
    page.reload(wait_until="commit")
    page.wait_for_selector(ready, state="attached", timeout=120_000)
    page.wait_for_load_state("networkidle")
    second = page.evaluate(BYTES)
    context.close()
    return {"ready_s": ready_s, "wire": first["wire"], "decoded": first["decoded"],
            "files": first["files"], "again": second["wire"]}


def measure(n: int, runs: int) -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t = time.perf_counter()
        files = write_demo(folder / "files", incidents=n)
        db = folder / "demo.sqlite"
        store = SQLiteStore.open(db)
        load_demo(store, files)
        store.close()
        print(f"\n## {n:,} incidents (demo written and loaded in {time.perf_counter() - t:.0f} s)"
              "\n")
        print("| page | first visit: over the wire | uncompressed (peer) | files | ready, s "
              "(median) | second visit: over the wire |")
        print("|---|---|---|---|---|---|")
        with serving(folder, db, demo=True, tiles="none") as server, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                        args=CHROMIUM_ARGS)
            server.json("/v1/hotspots?limit=1")  # the first analysis is not the page's cost
            for name, path, ready in _pages(server):
                got = [_visit(browser, server, path, ready) for _ in range(runs)]
                last = got[-1]
                print(f"| {name} | {last['wire'] / 1e3:,.0f} kB | {last['decoded'] / 1e3:,.0f} kB"
                      f" | {last['files']:.0f} | {statistics.median(g['ready_s'] for g in got):.2f}"
                      f" (max {max(g['ready_s'] for g in got):.2f}) | "
                      f"{last['again'] / 1e3:,.1f} kB |", flush=True)
            browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--incidents", type=int, default=50_000)
    parser.add_argument("--incidents-large", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    for n in (args.incidents, args.incidents_large):
        if n > 0:
            measure(n, args.runs)


if __name__ == "__main__":
    main()
