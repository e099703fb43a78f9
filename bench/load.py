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
4. **Big bodies** (issue 12): 200 MB JSON bodies to ``POST /v1/patrol-plans`` with no key, four
   at once, then 100 MB bodies with a key to a plan's ``/visits``; the server's resident memory
   (RSS) is sampled every 0.1 s. Expected: 401 and 413 without the bodies being read.
5. **Analysis variants** (issue 12): several analyst keys, two requests at a time each, ask
   without pause for ever new variants of expensive analyses on the demo (50,000 incidents):
   the request of issue 12 (``eps_m=1e-9&min_samples=1``), every incident a hotspot
   (``eps_m=5.xx&min_samples=1``), 3,400 hotspots (``eps_m=5.xx&min_samples=2``), street-level KDE
   over the whole county (13.8 million cells), density surfaces, moderate DBSCAN; meanwhile a
   planner asks for cached hotspots twice a second. Expected: only 200, 422 (over the work
   budget), 429 (over a key's budget) and 503 (the service busy); the planner always served;
   the RSS bounded (the cache's byte budget plus the analyses the service runs at once).

Bounded: 60 s of load, a few minutes in all. Run: ``make bench`` or ``python -m bench.load``
(``--only bodies analyses`` for the attacks alone).
"""

from __future__ import annotations

import argparse
import collections
import csv
import http.client
import itertools
import os
import signal
import statistics
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
    db, keys = _demo_with_keys(folder, users)
    (folder / "keys.txt").write_text("\n".join(keys))
    server = start(folder, db, demo=True, tiles="none")
    try:
        for q in ("rural", "theft_burglary_robbery"):  # warm the cache
            server.json(f"/v1/hotspots?priority={q}")
        server.json("/v1/hotspots?method=kde&priority=asb")
        server.json("/v1/hotspots")
        prefix = folder / "locust"
        env = {**os.environ, "HOTSPOT_LOAD_KEYS": str(folder / "keys.txt")}
        # locust from this environment, or HOTSPOT_LOCUST (e.g. a venv of its own: locust
        # brings gevent and its own pins)
        locust = os.environ.get("HOTSPOT_LOCUST", "").split() or [sys.executable, "-m", "locust"]
        subprocess.run([*locust, "-f", str(ROOT / "bench" / "locustfile.py"),
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
    reference = SQLiteStore.open(folder / "reference.sqlite")
    expected = ingest(reference, read_police_csv(whole)).accepted
    reference.close()
    parts = _slices(whole, folder, [(0, 60_000), (30_000, 90_000), (0, 90_000),
                                    (45_000, 120_000)])
    db = folder / "force.sqlite"
    SQLiteStore.open(db).close()
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
    SQLiteStore.open(db).close()
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


class Rss:
    """The resident memory of a process, sampled every ``every_s`` in a thread while in a
    ``with`` block (Linux: /proc/PID/status), MiB."""

    def __init__(self, pid: int, every_s: float = 0.1) -> None:
        self.pid = pid
        self.every_s = every_s
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def now(self) -> float:
        """The RSS now, MiB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.samples.append(self.now())
            except OSError:
                return
            self._stop.wait(self.every_s)

    def __enter__(self) -> Rss:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak(self) -> float:
        """The highest sample, MiB."""
        return max(self.samples, default=float("nan"))


def _demo_with_keys(folder: Path, analysts: int) -> tuple[Path, list[str]]:
    """The demo (50,000 incidents) in a store of its own, with ``analysts`` analyst keys."""
    from api.access import new_key
    from geodata.demo import load_demo, write_demo
    from geodata.stores import SQLiteStore

    files = write_demo(folder / "demo-files")
    db = folder / "demo.sqlite"
    store = SQLiteStore.open(db)
    load_demo(store, files)
    keys = [new_key(store, name=f"analyst {i}", role="analyst")[0] for i in range(analysts)]
    store.close()
    return db, keys


def _post_stream(url: str, path: str, size: int, headers: dict[str, str]) -> tuple[int, float]:
    """POST ``size`` bytes of a JSON-looking body in 1 MiB chunks; (status, seconds). The
    server may answer and close before the end: the rest is then not sent."""
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=300)
    chunk = b"[" + b"0," * (512 * 1024 - 1) + b"0"
    t = time.perf_counter()
    try:
        conn.putrequest("POST", path)
        for name, value in {**headers, "Content-Type": "application/json",
                            "Content-Length": str(size)}.items():
            conn.putheader(name, value)
        conn.endheaders()
        sent = 0
        try:
            while sent < size:
                part = chunk[: size - sent]
                conn.send(part)
                sent += len(part)
        except (BrokenPipeError, ConnectionResetError):
            pass  # answered and closed early: what the gate should do
        response = conn.getresponse()
        response.read()
        return response.status, time.perf_counter() - t
    except (OSError, http.client.HTTPException):
        return -1, time.perf_counter() - t
    finally:
        conn.close()


def bodies(folder: Path) -> None:
    db, keys = _demo_with_keys(folder, 1)
    server = start(folder, db, demo=True, tiles="none")
    try:
        with Rss(server.process.pid) as rss:
            time.sleep(0.5)
            before = rss.now()
            results: list[tuple[int, float]] = []

            def send(path: str, size: int, headers: dict[str, str]) -> None:
                results.append(_post_stream(server.url, path, size, headers))

            anonymous = [threading.Thread(target=send, args=("/v1/patrol-plans", 200 << 20, {}))
                         for _ in range(4)]
            keyed = [threading.Thread(target=send, args=(
                "/v1/patrol-plans/0123456789abcdef/visits", 100 << 20,
                {"Authorization": f"Bearer {keys[0]}"})) for _ in range(2)]
            t = time.perf_counter()
            for th in anonymous + keyed:
                th.start()
            for th in anonymous + keyed:
                th.join()
            seconds = time.perf_counter() - t
            time.sleep(1.0)
            after = rss.now()
    finally:
        server.stop()
    codes = collections.Counter(code for code, _s in results)
    slowest = max(s for _c, s in results)
    print(f"| 4 x 200 MB JSON bodies with no key to POST /v1/patrol-plans, 2 x 100 MB with a key "
          f"to /visits, at once | {seconds:.1f} s (slowest answer {slowest:.2f} s) | "
          f"statuses {dict(sorted(codes.items()))} | server RSS {before:.0f} MB before, peak "
          f"{rss.peak:.0f} MB, {after:.0f} MB after |")


ATTACK_VARIANTS = (
    "/v1/hotspots?eps_m=1e-9&min_samples=1",
    "/v1/hotspots?eps_m={a:.2f}&min_samples=1",
    "/v1/hotspots?eps_m={a:.2f}&min_samples=2",
    "/v1/hotspots?method=kde&bandwidth_m={b:.2f}&cell_size_m=12&min_incidents=1",
    "/v1/density?bandwidth_m={c:.2f}&cell_size_m=20",
    "/v1/hotspots?eps_m={d:.2f}&min_samples=3",
)
"""The expensive analyses each attacker cycles through, a new variant every time (``{a}`` and
the rest move by 0.01 m a request, so nothing is ever answered from the cache)."""


def analyses(folder: Path, attackers: int, seconds: int) -> None:
    db, keys = _demo_with_keys(folder, attackers + 1)
    planner_key, attacker_keys = keys[0], keys[1:]
    server = start(folder, db, demo=True, tiles="none")
    counter = itertools.count()
    statuses: collections.Counter[int] = collections.Counter()
    times: list[float] = []
    planner: list[tuple[int, float]] = []
    deadline = time.monotonic() + seconds

    def get(path: str, key: str, timeout_s: float = 300) -> tuple[int, float]:
        req = urllib.request.Request(server.url + path,
                                     headers={"Authorization": f"Bearer {key}"})
        t = time.perf_counter()
        try:
            with urllib.request.urlopen(req, timeout=timeout_s) as r:
                r.read()
                code = r.status
        except urllib.error.HTTPError as exc:
            exc.read()
            code = exc.code
        except (urllib.error.URLError, OSError):
            code = -1
        return code, time.perf_counter() - t

    def attacker(key: str) -> None:
        while time.monotonic() < deadline:
            i = next(counter)
            template = ATTACK_VARIANTS[i % len(ATTACK_VARIANTS)]
            j = i // len(ATTACK_VARIANTS)
            path = template.format(a=5 + j / 100, b=60 + j / 100, c=100 + j / 100,
                                   d=150 + j / 100)
            code, s = get(path, key)
            statuses[code] += 1
            times.append(s)
            if code in (429, 503):
                time.sleep(0.2)  # a client that reads Retry-After would wait longer

    def planning() -> None:
        while time.monotonic() < deadline:
            planner.append(get("/v1/hotspots?priority=rural", planner_key, 30))
            time.sleep(0.5)

    try:
        with Rss(server.process.pid) as rss:
            get("/v1/hotspots?priority=rural", planner_key)  # the planner's answer, cached
            time.sleep(0.5)
            before = rss.now()
            threads = [threading.Thread(target=attacker, args=(k,))
                       for k in attacker_keys for _ in range(2)]
            threads.append(threading.Thread(target=planning))
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            time.sleep(5.0)  # whatever was left running stops or lands
            after = rss.now()
    finally:
        server.stop()
    served = [s for c, s in planner if c == 200]
    failed = sum(n for c, n in statuses.items() if c not in (200, 422, 429, 503))
    print(f"| {attackers} analyst keys x 2 at a time, {seconds} s of new variants of expensive "
          f"analyses | {sum(statuses.values())} requests: {dict(sorted(statuses.items()))}, "
          f"median {statistics.median(times):.2f} s, max {max(times):.1f} s | errors {failed} | "
          f"planner's cached request: {len(served)}/{len(planner)} served, median "
          f"{statistics.median(served) * 1000:.0f} ms, max {max(served) * 1000:.0f} ms | server "
          f"RSS {before:.0f} MB before, peak {rss.peak:.0f} MB, {after:.0f} MB after |")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--attackers", type=int, default=3,
                        help="analyst keys asking for new expensive variants")
    parser.add_argument("--attack-seconds", type=int, default=60)
    steps = ("load", "overlapping", "killed", "bodies", "analyses")
    parser.add_argument("--only", nargs="+", choices=steps, default=list(steps))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name, step in (("load", lambda f: load(f, args.users, args.seconds)),
                           ("overlapping", overlapping), ("killed", killed),
                           ("bodies", bodies),
                           ("analyses", lambda f: analyses(f, args.attackers,
                                                           args.attack_seconds))):
            if name not in args.only:
                continue
            folder = root / name
            folder.mkdir()
            step(folder)


if __name__ == "__main__":
    main()
