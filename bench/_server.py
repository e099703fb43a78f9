"""The real service in its own process on a free 127.0.0.1 port (for benchmarks and the
browser tests), and the headless Chromium that drives its pages."""

from __future__ import annotations

import http.client
import json
import os
import random
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Route

CHROMIUM = os.environ.get("HOTSPOT_CHROMIUM", "/usr/bin/chromium")
"""Debian's chromium (``make test`` installs it); Playwright drives it, never downloads one."""
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-default-apps"]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now, for a server about to start.

    Chosen at random outside the kernel's ephemeral range (``ip_local_port_range``), not by
    binding port 0: a port the kernel hands out is handed out again, to another test's tile
    server or to an outgoing connection, in the seconds before the server binds it. Outside
    the range that cannot happen; another caller of this function (or a service with a fixed
    port there) may still take it first, which :func:`start` notices and tries again, and
    other callers meet rarely.
    """
    low, high = _ephemeral_range()
    below = max(0, low - EPHEMERAL_FLOOR)
    above = max(0, PORT_CEILING - 1 - high)  # ports high + 1 .. 65535 are outside too
    if below + above < 100:  # a range that covers nearly every port: the kernel's choice
        return _bound_port(0) or 0
    rng = random.SystemRandom()
    for _ in range(200):
        pick = rng.randrange(below + above)
        port = EPHEMERAL_FLOOR + pick if pick < below else high + 1 + (pick - below)
        if bound := _bound_port(port):
            return bound
    raise RuntimeError("no free port on 127.0.0.1")


EPHEMERAL_FLOOR = 20_000
"""The lowest port :func:`free_port` chooses (well above the registered services' usual ones)."""
PORT_CEILING = 65_536


def _bound_port(port: int) -> int | None:
    """The port a socket bound to ``port`` on 127.0.0.1 gets (0: any), then closed; None
    when it cannot be bound."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return None
        return int(s.getsockname()[1])


def _ephemeral_range() -> tuple[int, int]:
    """The kernel's range for ports it hands out itself, inclusive (Linux's; Linux's default
    where it cannot be read)."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32_768, 60_999


@dataclass
class Server:
    """A running ``hotspot serve``."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path
    key: str = ""
    """An admin API key made for this run."""

    @property
    def auth(self) -> dict[str, str]:
        """The header that carries :attr:`key`."""
        return {"Authorization": f"Bearer {self.key}"}

    def json(self, path: str, body: Any = None, *, content_type: str = "application/json",
             timeout_s: float = 300.0) -> Any:
        """GET (or POST ``body``) ``path`` with the admin key; the answer as JSON."""
        data = None if body is None else (body if isinstance(body, bytes)
                                          else json.dumps(body).encode())
        req = urllib.request.Request(self.url + path, data=data,
                                     headers={**self.auth, "Content-Type": content_type})
        with urllib.request.urlopen(req, timeout=timeout_s) as r:
            return json.loads(r.read())

    def peak_mb(self) -> float:
        """The server process's peak resident memory so far, MiB (Linux)."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        """Stop it (and wait)."""
        stop_process(self.process)


def stop_process(process: subprocess.Popen[Any]) -> None:
    """Ask a process to stop (SIGTERM), kill it if it has not within 10 s, and wait for it."""
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def start(folder: Path, database: Path, *, demo: bool, tiles: str | None,
          timeout_s: float = 120.0, log_level: str = "warning") -> Server:
    """Start ``hotspot serve`` on ``database`` (``tiles``: a tile URL, ``"none"``, or None for
    the default) with its data directory and log in ``folder``; return once /health answers
    as this server (:func:`_ours`), trying another port when the one chosen was taken first.
    ``log_level`` ``"info"`` logs every request (its route, status, time and request id).
    An admin key is made in the store first (:attr:`Server.key`)."""
    from api.access import new_key
    from geodata.stores import SQLiteStore

    store = SQLiteStore.open(database)
    try:
        key, _record = new_key(store, name="benchmark or test run", role="admin")
    finally:
        store.close()
    env = dict(os.environ)
    env.pop("HOTSPOT_DATABASE_URL", None)
    env["HOTSPOT_DATA_DIR"] = str(folder)
    if tiles is None:
        env.pop("HOTSPOT_TILE_URL", None)
    else:
        env["HOTSPOT_TILE_URL"] = tiles
    taken: list[str] = []
    for _attempt in range(PORT_ATTEMPTS):
        # the port is free when chosen but not held: another process may take it before this
        # server binds it; each attempt has the whole timeout (a taken port fails at once)
        port = free_port()
        log = folder / f"server-{port}.log"
        args = [sys.executable, "-c", "from api.cli import app; app()", "serve", "--host",
                "127.0.0.1", "--port", str(port), "--database", str(database), "--log-level",
                log_level, *(["--demo"] if demo else [])]
        with log.open("wb") as out:
            process = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT,
                                       cwd=Path(__file__).resolve().parents[1])
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if process.poll() is not None:
                text = log.read_text(errors="replace")
                # uvicorn's own words, logged at ERROR (shown unless log_level is critical)
                if "address already in use" in text.lower():
                    taken.append(f"port {port}: {text.strip()[-300:]}")
                    break  # taken meanwhile: another port
                raise RuntimeError(f"the server stopped: {text}")
            try:
                if _ours(url, key):
                    return Server(url, process, log, key)
            except BaseException:
                stop_process(process)
                raise
            time.sleep(0.2)
        else:
            process.kill()
            process.wait()
            raise RuntimeError(f"the server did not start in {timeout_s:g} s: "
                               f"{log.read_text(errors='replace')}")
    raise RuntimeError(f"every port tried was taken before the server bound it: {taken}")


PORT_ATTEMPTS = 5
"""How many ports :func:`start` tries when the one chosen is taken before the server binds."""


def _ours(url: str, key: str) -> bool:
    """Whether ``url``/health answers as this run's server: with the staff view (the store's
    data version), which only a server on the store that holds ``key`` gives. Any other answer
    (none yet, or another process that took the port) is not. The key goes to whatever holds
    the port: a key made for this run alone, on 127.0.0.1."""
    req = urllib.request.Request(f"{url}/health", headers={"Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(req, timeout=2) as r:
            body = json.loads(r.read())
    except (OSError, ValueError, http.client.HTTPException):  # also a port that speaks no HTTP
        return False
    store = body.get("store") if isinstance(body, dict) else None
    return isinstance(store, dict) and "data_version" in store


@contextmanager
def serving(folder: Path, database: Path, *, demo: bool,
            tiles: str | None, log_level: str = "warning") -> Iterator[Server]:
    """:func:`start`, stopped on leaving."""
    server = start(folder, database, demo=demo, tiles=tiles, log_level=log_level)
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Watch:
    """What a page did: console errors, uncaught errors, dialogs, and the requests it made
    (``local``: 127.0.0.1, files and data URLs; ``outside``: blocked)."""

    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    local: list[str] = field(default_factory=list)


def sign_in(page: Page, server_url: str, key: str) -> None:
    """Sign in on the service's sign-in page, as a person would."""
    page.goto(f"{server_url}/login")
    page.fill("#key", key)
    with page.expect_navigation():
        page.click("button[type=submit]")


def open_offline(browser: Browser, url: str, *, wait_for: str = "path.hs-hotspot",
                 timeout_ms: float = 15_000, key: str | None = None) -> tuple[Page, Watch]:
    """Open ``url`` in a new page with every address but 127.0.0.1 blocked (as on a machine
    with no internet), signed in with ``key`` first, and wait for ``wait_for`` to be in the
    DOM."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    watch = Watch()

    def route(r: Route) -> None:
        host = urlsplit(r.request.url).hostname
        if r.request.url.startswith(("data:", "blob:", "file:")) or host == "127.0.0.1":
            watch.local.append(r.request.url)
            r.continue_()
        else:  # the network beyond this machine is not there
            watch.outside.append(r.request.url)
            r.abort("internetdisconnected")

    def dialog(d: Any) -> None:  # an alert() would mean text from data ran as script
        watch.dialogs.append(d.message)
        d.dismiss()

    page.route("**/*", route)
    page.on("console", lambda m: watch.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: watch.errors.append(f"uncaught: {e}"))
    page.on("dialog", dialog)
    if key:
        parts = urlsplit(url)
        sign_in(page, f"{parts.scheme}://{parts.netloc}", key)
    page.goto(url, wait_until="load")
    page.wait_for_selector(wait_for, state="attached", timeout=timeout_ms)
    return page, watch
