"""The browser every browser test drives: Debian's chromium through Playwright (no download)."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from bench._server import CHROMIUM, CHROMIUM_ARGS, Server, serving
from geodata.demo import DemoFiles, load_demo
from geodata.stores import SQLiteStore


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium "
                    "(or set HOTSPOT_CHROMIUM)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


LOG_LINES = 40
"""The last lines of each served process's log shown with a failed browser test."""


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    """A failed browser test's report carries the end of the log of each service it used
    (what the server was doing when the page waited): a failure on a loaded CI machine can
    then be read, not guessed at."""
    report = yield
    if report.failed:
        for name, value in getattr(item, "funcargs", {}).items():
            if isinstance(value, Server) and value.log.exists():
                tail = value.log.read_text(errors="replace").splitlines()[-LOG_LINES:]
                report.sections.append((f"{name} log, last {len(tail)} lines ({value.log})",
                                        "\n".join(tail)))
    return report


DEAD_TILES = "http://127.0.0.1:9/tiles/{z}/{x}/{y}.png"
"""A tile address nothing answers at: tiles never load here, nor in the field."""


_SERVED: dict[Path, Path] = {}
"""The once-served demo's folder for each demo (by its files' folder): see :func:`_served_demo`."""


def _served_demo(factory: pytest.TempPathFactory, demo_files: DemoFiles) -> Path:
    """A folder holding ``demo.sqlite`` and ``demo-keys.json`` as ``hotspot serve --demo``
    leaves them after its first start on a store of the demo files: the files loaded, then
    (:func:`api.cli.demo.publish_demo`, as the server's start runs it, with the settings of
    this environment and its data folder here) the demo keys made, the partnership's
    submissions and the published plan with its visits added, and every demo month
    published. Made once a session; :func:`demo_server` serves a copy of it."""
    if demo_files.root in _SERVED:
        return _SERVED[demo_files.root]
    from api.cli.demo import publish_demo
    from api.settings import Settings
    from geodata.demo import demo_months

    folder = factory.mktemp("served-demo")
    store = SQLiteStore.open(folder / "demo.sqlite")
    try:
        load_demo(store, demo_files)
        publish_demo(store, demo_months(), Settings(data_dir=folder))
    finally:
        store.close()
    assert not (folder / "demo.sqlite-wal").exists()  # closed: the file is the whole store
    assert json.loads((folder / "demo-keys.json").read_text())
    _SERVED[demo_files.root] = folder
    return folder


@contextmanager
def demo_server(factory: pytest.TempPathFactory, demo_files: DemoFiles, *,
                tiles: str = DEAD_TILES) -> Iterator[Server]:
    """``hotspot serve --demo`` on a store of the demo files of its own (in its own folders),
    stopped on leaving; :attr:`bench._server.Server.key` is an admin key.

    The store and the data folder's demo keys are copies of :func:`_served_demo`'s, so each
    module still gets a store of its own to change, and the server's start finds the demo's
    first-start work (submissions, plan and visits, months published) done, as on any
    later start, instead of redoing it for every module (``hotspot serve --demo``'s first
    start itself is tested in tests/cli and tests/geodata/test_demo_plants.py)."""
    served = _served_demo(factory, demo_files)
    db = factory.mktemp("demo") / "demo.sqlite"
    folder = factory.mktemp("server")
    shutil.copyfile(served / "demo.sqlite", db)
    shutil.copy(served / "demo-keys.json", folder / "demo-keys.json")  # its mode too
    # every request logged: a failed test's report shows what the server was doing
    with serving(folder, db, demo=True, tiles=tiles, log_level="info") as server:
        yield server


Answer = tuple[bytes, Mapping[str, str]]
"""A body and its headers (Content-Length is added)."""


@contextmanager
def site(pages: Mapping[str, Answer], *, anything_else: Answer | None = None) -> Iterator[str]:
    """A tiny site on 127.0.0.1 (a port of its own: another origin than the service's)
    answering GET ``path`` with ``pages[path]``, any other path with ``anything_else`` (404
    without); yields its base URL (no trailing slash)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = pages.get(self.path.split("?")[0], anything_else)
            if found is None:
                self.send_error(404)
                return
            body, headers = found
            self.send_response(200)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
