"""Benchmark: load and faults, against the real service on 127.0.0.1 only.

1. **Load**: 200 concurrent clients (locust's FastHttpUser, each with its own API key) ask for
   cached hotspots about once a second each (0.5-1.5 s apart, at random: clients in lockstep
   would all arrive in the same millisecond) for 60 s, after a 10 s ramp. Target: no errors,
   p99 under 100 ms.
2. **Overlapping ingests**: 4 uploads at the same moment of files that overlap (slices of one
   120,000-row file); every incident must be stored exactly once (the peer: the same whole file
   ingested once, in process, into a store of its own).
3. **A killed process**: the service is killed (SIGKILL) half-way through a 300,000-row upload
   and started again: nothing of that upload may be stored, and sending it again stores each
   of its incidents once.

Bounded: 60 s of load, a few minutes in all. Run: ``make bench`` or ``python -m bench.load``.
"""

from __future__ import annotations

import argparse
import csv
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from bench._runner import ROOT
from bench._server import Server, start
from bench._synth import write_police_csv


def _slices(source: Path, folder: Path, ranges: list[tuple[int, int]]) -> list[Path]:
    with source.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    out = []
    for i, (a, b) in enumerate(ranges):
        path = folder / f"slice-{i}.csv"
        with path.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(header)
            w.writerows(body[a:b])
        out.append(path)
    return out


def _upload(server: Server, path: Path, results: list[object]) -> None:
    req = urllib.request.Request(server.url + "/v1/incidents?format=police",
                                 data=path.read_bytes(),
                                 headers={**server.auth, "Content-Type": "text/csv"})
    try:
        with urllib.request.urlopen(req, timeout=600) as r:
            import json

            results.append(json.loads(r.read()))
    except (urllib.error.URLError, ConnectionError, OSError) as exc:
        results.append(exc)


def _count(server: Server) -> int:
    return int(server.json("/health")["store"]["incidents"])


def load(folder: Path, users: int, seconds: int) -> None:
    from api.access import new_key
    from geodata.demo import load_demo, write_demo
    from geodata.stores import SQLiteStore

    files = write_demo(folder / "demo-files")
    db = folder / "demo.sqlite"
    store = SQLiteStore(db)
    load_demo(store, files)
    keys = [new_key(store, name=f"load {i}", role="analyst")[0] for i in range(users)]
    store.close()
    (folder / "keys.txt").write_text("\n".join(keys))
    server = start(folder, db, demo=True, tiles="none")
    try:
        for q in ("rural", "theft_burglary_robbery"):  # warm the cache
            server.json(f"/v1/hotspots?priority={q}")
        server.json("/v1/hotspots?method=kde&priority=asb")
        server.json("/v1/hotspots")
        prefix = folder / "locust"
        env = {**os.environ, "HOTSPOT_LOAD_KEYS": str(folder / "keys.txt")}
        subprocess.run([sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"),
                        "--headless", "-u", str(users), "-r", str(max(1, users // 10)),
                        "-t", f"{seconds}s", "--host", server.url, "--csv", str(prefix),
                        "--only-summary", "--stop-timeout", "5", "--loglevel", "WARNING"],
                       env=env, check=False, capture_output=True, timeout=seconds + 120)
        with (folder / "locust_stats.csv").open() as f:
            total = next(r for r in csv.DictReader(f) if r["Name"] == "Aggregated")
        peak = server.peak_mb()
    finally:
        server.stop()
    n, failed = int(total["Request Count"]), int(total["Failure Count"])
    print(f"| {users} clients, {seconds} s, cached GET /v1/hotspots | {n:,} requests, "
          f"{float(total['Requests/s']):.0f}/s | failures {failed} | median "
          f"{total['50%']} ms, p95 {total['95%']} ms, p99 {total['99%']} ms, max "
          f"{float(total['Max Response Time']):.0f} ms | server peak {peak:.0f} MB |")


def overlapping(folder: Path) -> None:
    from geodata.ingest import ingest
    from geodata.readers import read_police_csv
    from geodata.stores import SQLiteStore

    whole = write_police_csv(folder / "whole.csv", 120_000)
    reference = SQLiteStore(folder / "reference.sqlite")
    expected = ingest(reference, read_police_csv(whole)).accepted
    reference.close()
    parts = _slices(whole, folder, [(0, 60_000), (30_000, 90_000), (0, 90_000),
                                    (45_000, 120_000)])
    db = folder / "force.sqlite"
    SQLiteStore(db).close()
    server = start(folder, db, demo=False, tiles="none")
    try:
        results: list[object] = []
        threads = [threading.Thread(target=_upload, args=(server, p, results)) for p in parts]
        t = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        seconds = time.perf_counter() - t
        stored = _count(server)
        accepted = sum(r["counts"]["accepted"] for r in results if isinstance(r, dict))
    finally:
        server.stop()
    errors = [r for r in results if not isinstance(r, dict)]
    print(f"| 4 overlapping uploads at once (slices of 120,000 rows) | {seconds:.1f} s | "
          f"stored {stored:,}, accepted {accepted:,}; peer (the whole file once) {expected:,} | "
          f"{'exactly once' if stored == accepted == expected and not errors else 'MISMATCH'} "
          f"| errors {len(errors)} |")


def killed(folder: Path) -> None:
    from geodata.stores import SQLiteStore

    big = write_police_csv(folder / "big.csv", 300_000)
    first = _slices(write_police_csv(folder / "small.csv", 20_000), folder, [(0, 20_000)])[0]
    db = folder / "killed.sqlite"
    SQLiteStore(db).close()
    server = start(folder, db, demo=False, tiles="none")
    results: list[object] = []
    try:
        _upload(server, first, results)
        before = _count(server)
        upload = threading.Thread(target=_upload, args=(server, big, results))
        upload.start()
        time.sleep(2.0)  # the upload is being read and written
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait()
        upload.join()
    finally:
        server.stop()
    again = start(folder, db, demo=False, tiles="none")
    try:
        after_restart = _count(again)
        resent: list[object] = []
        _upload(again, big, resent)
        final = _count(again)
        report = resent[0] if resent and isinstance(resent[0], dict) else {}
    finally:
        again.stop()
    new = report.get("counts", {}).get("accepted", -1) if isinstance(report, dict) else -1
    ok = after_restart == before and final == before + new and new > 0
    print(f"| killed half-way through a 300,000-row upload, restarted | before {before:,}, "
          f"after restart {after_restart:,} | sent again: {new:,} new, total {final:,} | "
          f"{'nothing lost or doubled' if ok else 'MISMATCH'} |")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=60)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name, step in (("load", lambda f: load(f, args.users, args.seconds)),
                           ("overlapping", overlapping), ("killed", killed)):
            folder = root / name
            folder.mkdir()
            step(folder)


if __name__ == "__main__":
    main()
