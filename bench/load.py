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

With ``--instances 2`` the load step is the one of several instances (issue 18): two ``hotspot
serve`` processes on one store (a PostGIS database of its own, created and dropped; or
``--store embedded``: the demo's SQLite file) sharing one Redis (``HOTSPOT_REDIS_URL``, a key
prefix of the run's own, its keys deleted at the end), behind a balancer on 127.0.0.1. In one
run: the same 200 clients against instance a alone (the peer), then for each balancer
(``--balancer``: Debian's haproxy, and bench/_balancer.py, which reads each answer whole before
sending it on) against both instances, then again for ``--kill-seconds`` with instance b killed
(SIGKILL) half-way. Target: no errors, p99 under 100 ms; the kill loses no request (the
balancer sends a GET whose instance died to the other). Every request is logged by the locust
users (``HOTSPOT_LOAD_LOG``), so the table counts also those that ended while locust stopped,
which answered it, and which were in the window around the kill; the service's CPU per request
(the instances' user + system time over the requests) is the figure least moved by a shared
machine.

Bounded: 60 s of load, a few minutes in all (two instances: about 6 minutes). Run: ``make
bench`` or ``python -m bench.load`` (``--only bodies analyses`` for the attacks alone;
``--instances 2 --only load`` for the several instances).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import csv
import http.client
import itertools
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from bench._runner import ROOT
from bench._server import Server, free_port, start, stop_process
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
            results.append(json.loads(r.read()))
    except (urllib.error.URLError, ConnectionError, OSError) as exc:
        results.append(exc)


def _count(server: Server) -> int:
    return int(server.json("/health")["store"]["incidents"])


QUERIES = ("/v1/hotspots?priority=rural", "/v1/hotspots?priority=theft_burglary_robbery",
           "/v1/hotspots?method=kde&priority=asb", "/v1/hotspots")
"""The selections the locust users ask for (bench/locustfile.py's ``QUERIES``; not imported
from there: importing locust patches this process with gevent)."""


def _locust(host: str, users: int, seconds: int, folder: Path, name: str, keys: Path, *,
            log: Path | None = None, stop_timeout_s: int = 5) -> subprocess.Popen[bytes]:
    """Start locust (headless) against ``host``: ``users`` clients of :mod:`bench.locustfile`,
    a tenth of them more each second, for ``seconds`` in all (then up to ``stop_timeout_s``
    for the answers still coming); its statistics go to ``folder/{name}_stats.csv`` and, with
    ``log``, every request to that file."""
    env = {**os.environ, "HOTSPOT_LOAD_KEYS": str(keys)}
    if log is not None:
        env["HOTSPOT_LOAD_LOG"] = str(log)
    # locust from this environment, or HOTSPOT_LOCUST (e.g. a venv of its own: locust brings
    # gevent and its own pins)
    locust = os.environ.get("HOTSPOT_LOCUST", "").split() or [sys.executable, "-m", "locust"]
    return subprocess.Popen(
        [*locust, "-f", str(ROOT / "bench" / "locustfile.py"), "--headless", "-u", str(users),
         "-r", str(max(1, users // 10)), "-t", f"{seconds}s", "--host", host, "--csv",
         str(folder / name), "--only-summary", "--stop-timeout", str(stop_timeout_s),
         "--loglevel", "WARNING"],
        env=env, stdout=subprocess.DEVNULL, stderr=(folder / f"{name}.err").open("wb"))


def _finish(process: subprocess.Popen[bytes], seconds: int, err: Path) -> None:
    """Wait for a locust run of ``seconds`` to end (killed if it hangs); a locust that could
    not start (not installed: ``make bench`` installs it) stops the bench with its own words."""
    try:
        process.wait(seconds + STOP_TIMEOUT_S + 120)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    stats = err.with_name(err.stem + "_stats.csv")  # what a locust run that ran writes
    if process.returncode != 0 and not stats.is_file():  # 1 alone: some requests failed
        text = err.read_text(errors="replace").strip()[-2000:] if err.is_file() else ""
        raise SystemExit(f"locust failed (exit {process.returncode}); `make bench` installs it "
                         f"(pip install -e '.[bench]'):\n{text}")


def _totals(folder: Path, name: str) -> dict[str, str]:
    """The "Aggregated" row of a locust run's statistics."""
    with (folder / f"{name}_stats.csv").open() as f:
        return next(r for r in csv.DictReader(f) if r["Name"] == "Aggregated")


def load(folder: Path, users: int, seconds: int) -> None:
    db, keys = _demo_with_keys(folder, users)
    (folder / "keys.txt").write_text("\n".join(keys))
    server = start(folder, db, demo=True, tiles="none")
    try:
        _warm(server.url, server.auth)
        _finish(_locust(server.url, users, seconds, folder, "locust", folder / "keys.txt"),
                seconds, folder / "locust.err")
        total = _totals(folder, "locust")
        peak = server.peak_mb()
    finally:
        server.stop()
    n, failed = int(total["Request Count"]), int(total["Failure Count"])
    print(f"| {users} clients, {seconds} s, cached GET /v1/hotspots | {n:,} requests, "
          f"{float(total['Requests/s']):.0f}/s | failures {failed} | median "
          f"{total['50%']} ms, p95 {total['95%']} ms, p99 {total['99%']} ms, max "
          f"{float(total['Max Response Time']):.0f} ms | server peak {peak:.0f} MB |")


def _warm(url: str, auth: dict[str, str]) -> None:
    """Ask one instance for the locust users' four selections, so that they are cached."""
    for path in QUERIES:
        with urllib.request.urlopen(urllib.request.Request(url + path, headers=auth),
                                    timeout=300) as r:
            r.read()


REDIS_URL = os.environ.get("HOTSPOT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
"""The Redis the two instances share (``make redis`` starts Debian's redis-server)."""
POSTGRES_URL = os.environ.get("HOTSPOT_BENCH_POSTGRES_URL",
                              "postgresql://postgres@127.0.0.1:5432/test")
"""A database on the PostgreSQL server where the two-instance test creates one of its own."""
HAPROXY = os.environ.get("HOTSPOT_HAPROXY", "haproxy")
"""Debian's haproxy (``apt-get install haproxy``), the balancer in front of two instances."""

HAPROXY_CONFIG = """\
global
    nbthread 1
    maxconn 4000
    stats socket {socket} mode 600 level admin

defaults
    mode http
    timeout connect 1s
    timeout client 60s
    timeout server 300s
    timeout queue 10s
    # an instance that refuses the connection, or closes it without an answer (killed), is
    # tried again on the other one (redispatch on every retry): up to 3 times
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response

frontend service
    bind 127.0.0.1:{port}
    # only GET and HEAD are sent again once sent (idempotent); any other method only when the
    # connection failed (nothing of it reached an instance)
    http-request disable-l7-retry unless METH_GET
    default_backend instances

backend instances
    balance roundrobin
    http-response set-header X-Upstream %s
    default-server check inter 250ms fall 1 rise 2
{servers}
"""
"""The balancer's configuration: round robin over the instances, each checked (a TCP connect)
every 250 ms and out at the first failed check."""


class Balancer:
    """A balancer process on a free 127.0.0.1 port in front of the instances; its files in
    ``folder``."""

    name = ""
    url = ""
    process: subprocess.Popen[bytes]

    def counts(self) -> dict[str, int]:
        """Its cumulative counters of retries (and the like)."""
        raise NotImplementedError

    def status(self, upstream: str) -> str:
        """Whether it takes ``upstream`` as up (UP) or not (DOWN)."""
        raise NotImplementedError

    def stop(self) -> None:
        """Stop it (and wait)."""
        stop_process(self.process)


class Haproxy(Balancer):
    """Debian's haproxy with :data:`HAPROXY_CONFIG`, its statistics on a Unix socket."""

    name = "haproxy"

    def __init__(self, folder: Path, upstreams: dict[str, str]) -> None:
        if shutil.which(HAPROXY) is None:
            raise SystemExit(f"{HAPROXY} is not installed: the two-instance load test needs "
                             "Debian's haproxy (apt-get install -y haproxy), or --balancer "
                             "python alone")
        self.socket = folder / "haproxy.sock"
        port = free_port()
        servers = "\n".join(f"    server {name} {url.removeprefix('http://')}"
                            for name, url in upstreams.items())
        config = folder / "haproxy.cfg"
        config.write_text(HAPROXY_CONFIG.format(socket=self.socket, port=port,
                                                servers=servers))
        self.url = f"http://127.0.0.1:{port}"
        log = folder / "haproxy.log"
        with log.open("wb") as out:
            self.process = subprocess.Popen([HAPROXY, "-db", "-f", str(config)], stdout=out,
                                            stderr=subprocess.STDOUT)
        _wait_health(self.url, self.process, log, 30.0)

    def _stats(self) -> dict[str, dict[str, str]]:
        """haproxy's ``show stat``: a row of counters by "proxy/server" (e.g.
        "instances/BACKEND", "instances/a")."""
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(str(self.socket))
            s.sendall(b"show stat\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        rows = csv.DictReader(data.decode().lstrip("# ").splitlines())
        return {f"{r['pxname']}/{r['svname']}": r for r in rows if r.get("pxname")}

    def counts(self) -> dict[str, int]:
        row = self._stats()["instances/BACKEND"]
        return {"retries": int(row["wretr"] or 0), "redispatches": int(row["wredis"] or 0),
                "response errors": int(row["eresp"] or 0)}

    def status(self, upstream: str) -> str:
        return self._stats()[f"instances/{upstream}"]["status"]


class PythonBalancer(Balancer):
    """bench/_balancer.py: whole answers read before any is sent, so a GET cut mid-answer is
    sent to the other instance too."""

    name = "bench/_balancer.py"

    def __init__(self, folder: Path, upstreams: dict[str, str]) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        log = folder / "balancer.log"
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bench._balancer", "--port", str(port),
                 *(f"--upstream={n}={u}" for n, u in upstreams.items())],
                stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        _wait_health(self.url, self.process, log, 30.0)

    def _counters(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.url + "/__balancer", timeout=10) as r:
            return dict(json.loads(r.read()))

    def counts(self) -> dict[str, int]:
        c = self._counters()
        return {"retries": int(c["retries"]), "502 from the balancer": int(c["failed"])}

    def status(self, upstream: str) -> str:
        return str(self._counters()["upstreams"][upstream]["status"])


BALANCERS: dict[str, Callable[[Path, dict[str, str]], Balancer]] = {
    "haproxy": Haproxy, "python": PythonBalancer}
"""The balancers the two-instance test can run behind (``--balancer``)."""


def _wait_health(url: str, process: subprocess.Popen[bytes], log: Path,
                 timeout_s: float) -> None:
    """Return once ``url``/health answers 200; raise if ``process`` stops or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} stopped: {log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{process.args!r} did not answer in {timeout_s:g} s: {log.read_text()}")


def _instance(folder: Path, database: str, name: str, key: str, redis_prefix: str) -> Server:
    """``hotspot serve --demo`` on ``database`` (a URL) on a free port, with Redis; its data
    directory and log in ``folder/name``."""
    data = folder / name
    data.mkdir()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "HOTSPOT_DATABASE_URL"}
    env.update(HOTSPOT_DATA_DIR=str(data), HOTSPOT_TILE_URL="none",
               HOTSPOT_REDIS_URL=REDIS_URL, HOTSPOT_REDIS_PREFIX=redis_prefix)
    log = data / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", "from api.cli import app; app()", "serve", "--host",
             "127.0.0.1", "--port", str(port), "--database", database, "--log-level",
             "warning", "--demo"],
            env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    _wait_health(url, process, log, 180.0)
    return Server(url, process, log, key)


@contextmanager
def _bench_database() -> Iterator[str]:
    """A PostGIS database of its own on the bench's PostgreSQL server: its URL; dropped on
    leaving."""
    import psycopg

    name = f"hotspot_bench_load_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(POSTGRES_URL)._replace(path=f"/{name}", query=""))
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def _redis_prefix() -> Iterator[str]:
    """A Redis key prefix of this run's own; its keys deleted on leaving."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise SystemExit(f"no Redis answers at {REDIS_URL} ({exc}): make redis") from exc
    prefix = f"bench-load-{uuid.uuid4().hex[:8]}:"
    try:
        yield prefix
    finally:
        for key in client.scan_iter(match=f"{prefix}*", count=1000):
            client.delete(key)
        client.close()


def _redis_keys(prefix: str) -> int:
    """How many keys are under ``prefix`` in the shared Redis now."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        return sum(1 for _ in client.scan_iter(match=f"{prefix}*", count=1000))
    finally:
        client.close()


@dataclass
class Request:
    """One request of a locust run's log (bench/locustfile.py, ``HOTSPOT_LOAD_LOG``)."""

    start: float
    """Seconds since the epoch."""
    ms: float
    status: int
    upstream: str
    ok: bool


def _requests(log: Path) -> tuple[list[Request], list[float]]:
    """The requests that ended, and when those started that did not end (still unanswered
    when locust stopped: seconds since the epoch)."""
    out, started = [], {}
    for line in log.read_text().splitlines():
        if line.startswith("start"):
            _word, at, rid = line.split()
            started[rid] = float(at)
            continue
        start, ms, status, upstream, ok, rid = line.split()
        started.pop(rid, None)
        out.append(Request(float(start), float(ms), int(status), upstream, ok == "1"))
    return out, sorted(started.values())


def _shares(requests: list[Request]) -> str:
    counts = collections.Counter(r.upstream for r in requests)
    return ", ".join(f"{name} {n:,}" for name, n in sorted(counts.items()))


def load_two(folder: Path, users: int, seconds: int, kill_seconds: int, store: str,
             balancers: list[str]) -> None:
    """The load test with two instances and Redis behind each balancer, against one instance
    alone in the same run, then one of the two killed (SIGKILL) under load."""
    with contextlib.ExitStack() as stack:
        if store == "postgis":
            database = stack.enter_context(_bench_database())
        else:
            database = str(folder / "demo.sqlite")
        keys = _demo_store_with_keys(folder, database, users)
        (folder / "keys.txt").write_text("\n".join(keys))
        prefix = stack.enter_context(_redis_prefix())
        a = _instance(folder, database, "a", keys[0], prefix)  # first: publishes the demo
        stack.callback(a.stop)
        _warm(a.url, a.auth)
        alone = _measured(folder, "alone", a.url, users, seconds, [a.process.pid])
        results = []
        for kind in balancers:
            b = _instance(folder, database, f"b-{kind}", keys[0], prefix)
            try:
                _warm(b.url, b.auth)
                balancer = BALANCERS[kind](folder, {"a": a.url, "b": b.url})
                try:
                    results.append((balancer.name, *_balanced_runs(
                        folder, kind, users, seconds, kill_seconds, a, b, balancer)))
                finally:
                    balancer.stop()
            finally:
                b.stop()
        redis_keys = _redis_keys(prefix)
        peak_mb = a.peak_mb()
    _print_two(alone, results, users, seconds, kill_seconds, store, redis_keys, peak_mb)


def _cpu_s(pid: int) -> float:
    """The CPU time a process has used so far (user + system), seconds (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class _Run:
    """One locust run: every request (its log, which has those that ended while locust
    stopped: its statistics file does not), the instances' CPU seconds meanwhile."""

    seconds: int
    log: list[Request]
    unanswered: list[float]
    """When the requests started that were still without an answer when locust stopped
    (after its stop timeout), seconds since the epoch."""
    cpu_s: float

    @property
    def failures(self) -> int:
        return sum(not r.ok for r in self.log)

    @property
    def cpu_ms_per_request(self) -> float:
        return self.cpu_s * 1000 / max(1, len(self.log))

    def figures(self) -> str:
        """requests, req/s, failures, median, p95, p99, max (ms) as table cells."""
        ms = np.sort(np.array([r.ms for r in self.log] or [np.nan]))
        p50, p95, p99 = (float(np.quantile(ms, q, method="higher")) for q in (0.5, 0.95, 0.99))
        return (f"{len(self.log):,} | {len(self.log) / self.seconds:.0f} | {self.failures} | "
                f"{len(self.unanswered)} | "
                f"{p50:.0f} | {p95:.0f} | {p99:.0f} | {ms[-1]:.0f}")


@dataclass
class _Kill:
    """What the kill did: when, and the balancer's counters over the run."""

    at: float
    """Seconds since the epoch."""
    after_s: float
    """Seconds into the run."""
    counts: dict[str, int]
    """The balancer's counters over the run."""
    b_status: str


def _measured(folder: Path, name: str, host: str, users: int, seconds: int,
              pids: list[int], *, during: Callable[[], float] | None = None) -> _Run:
    """A locust run of ``seconds`` against ``host``, with the CPU the processes ``pids`` used
    meanwhile; ``during`` (if given) is called while it runs and returns the CPU seconds of
    any of ``pids`` it ends."""
    before = {pid: _cpu_s(pid) for pid in pids}
    path = folder / f"{name}.log"
    run = _locust(host, users, seconds, folder, name, folder / "keys.txt", log=path,
                  stop_timeout_s=STOP_TIMEOUT_S)
    ended = during() if during else 0.0
    _finish(run, seconds, folder / f"{name}.err")
    cpu = ended + sum(_cpu_s(pid) - before[pid] for pid in pids)
    return _Run(seconds, *_requests(path), cpu)


def _balanced_runs(folder: Path, kind: str, users: int, seconds: int, kill_seconds: int,
                   a: Server, b: Server, balancer: Balancer) -> tuple[_Run, _Run, _Kill]:
    """Locust against ``balancer`` for ``seconds``, then for ``kill_seconds`` with ``b`` killed
    half-way."""
    two = _measured(folder, f"two-{kind}", balancer.url, users, seconds,
                    [a.process.pid, b.process.pid])
    before = balancer.counts()
    kill_after_s = kill_seconds / 2
    killed_at: list[float] = []
    b_before = _cpu_s(b.process.pid)

    def kill() -> float:
        time.sleep(kill_after_s)
        used = _cpu_s(b.process.pid) - b_before
        killed_at.append(time.time())
        os.kill(b.process.pid, signal.SIGKILL)
        b.process.wait()
        return used

    killed = _measured(folder, f"killed-{kind}", balancer.url, users, kill_seconds,
                       [a.process.pid], during=kill)
    after = balancer.counts()
    return two, killed, _Kill(at=killed_at[0], after_s=kill_after_s,
                              counts={k: after[k] - before[k] for k in after},
                              b_status=balancer.status("b"))


STOP_TIMEOUT_S = 30
"""The two-instance runs let locust's users finish their requests this long after the run's
time. Locust still drops those asked in its last half second or so: they show as unanswered,
with their start, so the kill window tells a request the kill left hanging from one the run's
end cut short."""
KILL_WINDOW_S = (1.0, 3.0)
"""The kill window: from this long before the kill to this long after it, seconds."""


def _print_two(alone: _Run, results: list[tuple[str, _Run, _Run, _Kill]], users: int,
               seconds: int, kill_seconds: int, store: str, redis_keys: int,
               peak_mb: float) -> None:
    print(f"\n{users} clients (locust FastHttpUser, each its own key, 0.5-1.5 s apart at "
          f"random), cached GET /v1/hotspots, {users // 10}/s ramp; store: {store}, the demo "
          f"(50,000 incidents); Redis keys of the run at the end: {redis_keys:,}; instance "
          f"a's peak RSS {peak_mb:.0f} MB\n")
    print("| setup | requests | req/s | failures | unanswered | median ms | p95 ms | p99 ms | "
          "max ms | service CPU ms/request | answered by |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    print(f"| one instance alone (a, direct), {seconds} s | {alone.figures()} | "
          f"{alone.cpu_ms_per_request:.1f} | a |")
    for name, two, killed, kill in results:
        print(f"| two instances + Redis behind {name}, {seconds} s | {two.figures()} | "
              f"{two.cpu_ms_per_request:.1f} | {_shares(two.log)} |")
        print(f"| the same, {kill_seconds} s, b killed (SIGKILL) at {kill.after_s:g} s | "
              f"{killed.figures()} | {killed.cpu_ms_per_request:.1f} | "
              f"{_shares(killed.log)} |")
    for name, _two, killed, kill in results:
        lo, hi = kill.at - KILL_WINDOW_S[0], kill.at + KILL_WINDOW_S[1]
        # every request in the window, by when it was asked or answered (one asked before
        # and answered after the kill is in)
        window = [r for r in killed.log if r.start <= hi and r.start + r.ms / 1000 >= lo]
        in_flight = [r for r in killed.log if r.start <= kill.at <= r.start + r.ms / 1000]
        later_b = [r for r in killed.log if r.upstream == "b" and r.start > kill.at]
        errors = [r for r in window if not r.ok]
        hanging = [t for t in killed.unanswered if t <= hi]  # asked by then, never answered
        counts = ", ".join(f"{k} {v}" for k, v in kill.counts.items())
        print(f"\n{name}, kill window ({KILL_WINDOW_S[0]:g} s before to {KILL_WINDOW_S[1]:g} s "
              f"after the kill): {len(window):,} requests, errors {len(errors)} "
              f"{dict(collections.Counter(r.status for r in errors)) if errors else ''}; "
              f"answered by {_shares(window)}; asked by its end and never answered: "
              f"{len(hanging)}; slowest "
              f"{max((r.ms for r in window), default=0):.0f} ms; in flight at the kill: "
              f"{len(in_flight)}; answered by b after it: {len(later_b)}; the balancer: "
              f"{counts}, b {kill.b_status}. In the whole run: {len(killed.log):,} answered, "
              f"failures {killed.failures}, unanswered at the end {len(killed.unanswered)}.")


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
    db = folder / "demo.sqlite"
    return db, _demo_store_with_keys(folder, str(db), analysts)


def _demo_store_with_keys(folder: Path, database: str, analysts: int) -> list[str]:
    """Load the demo (50,000 incidents) into the empty store at ``database`` (a path or URL)
    and make ``analysts`` analyst keys there."""
    from api.access import new_key
    from geodata.demo import load_demo, write_demo
    from geodata.stores import open_store

    files = write_demo(folder / "demo-files")
    store = open_store(database)
    try:
        load_demo(store, files)
        return [new_key(store, name=f"analyst {i}", role="analyst")[0]
                for i in range(analysts)]
    finally:
        store.close()


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
    parser.add_argument("--instances", type=int, choices=(1, 2), default=1,
                        help="the load test against one instance, or two with Redis behind "
                        "haproxy (beside one alone, then one of the two killed)")
    parser.add_argument("--kill-seconds", type=int, default=30,
                        help="with --instances 2: the run in which one instance is killed "
                        "half-way")
    parser.add_argument("--store", choices=("postgis", "embedded"), default="postgis",
                        help="with --instances 2: the store both instances serve")
    parser.add_argument("--balancer", nargs="+", choices=tuple(BALANCERS),
                        default=list(BALANCERS),
                        help="with --instances 2: the balancers to run behind, in turn")
    parser.add_argument("--attackers", type=int, default=3,
                        help="analyst keys asking for new expensive variants")
    parser.add_argument("--attack-seconds", type=int, default=60)
    steps = ("load", "overlapping", "killed", "bodies", "analyses")
    parser.add_argument("--only", nargs="+", choices=steps, default=list(steps))
    parser.add_argument("--work", type=Path, default=None,
                        help="an empty folder for the stores, logs and locust statistics, "
                        "kept (default: a temporary one, removed)")
    args = parser.parse_args(argv)
    with contextlib.ExitStack() as stack:
        root = args.work or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        for name, step in (("load", lambda f: load(f, args.users, args.seconds)
                             if args.instances == 1 else
                             load_two(f, args.users, args.seconds, args.kill_seconds,
                                      args.store, args.balancer)),
                           ("overlapping", overlapping), ("killed", killed),
                           ("bodies", bodies),
                           ("analyses", lambda f: analyses(f, args.attackers,
                                                           args.attack_seconds))):
            if name not in args.only:
                continue
            folder = root / name
            folder.mkdir(parents=True)
            step(folder)


if __name__ == "__main__":
    main()
