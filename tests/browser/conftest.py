"""The browser every browser test drives: Debian's chromium through Playwright (no download)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
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


DEAD_TILES = "http://127.0.0.1:9/tiles/{z}/{x}/{y}.png"
"""A tile address nothing answers at: tiles never load here, nor in the field."""


@contextmanager
def demo_server(factory: pytest.TempPathFactory, demo_files: DemoFiles, *,
                tiles: str = DEAD_TILES) -> Iterator[Server]:
    """``hotspot serve`` on a fresh store of the demo files (in its own folders), stopped on
    leaving; :attr:`bench._server.Server.key` is an admin key."""
    db = factory.mktemp("demo") / "demo.sqlite"
    store = SQLiteStore.open(db)
    try:
        load_demo(store, demo_files)
    finally:
        store.close()
    with serving(factory.mktemp("server"), db, demo=True, tiles=tiles) as server:
        yield server
