"""The harness that starts the real service for the browser tests and benchmarks
(``bench._server.start``) against the race that once failed CI: the port it chose was taken,
between choosing and binding, by another process that answers ``/health`` too, so the harness
took that process for its server and the tests met a closed port later."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import bench._server as harness
from geodata.stores import SQLiteStore

pytestmark = pytest.mark.slow


class _Decoy(BaseHTTPRequestHandler):
    """Another service on the port: answers every GET 200 with a health-like body."""

    def do_GET(self) -> None:
        body = b'{"status": "ok", "store": {"ok": true, "kind": "sqlite"}}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def decoy() -> Iterator[int]:
    """A decoy HTTP server on a port of its own; its port."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Decoy)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(httpd.server_address[1])
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_port_taken_before_the_server_binds_is_not_taken_for_the_server(
        tmp_path: Path, decoy: int, monkeypatch: pytest.MonkeyPatch) -> None:
    database = tmp_path / "empty.sqlite"
    SQLiteStore.open(database).close()
    real_free_port = harness.free_port
    chosen: list[int] = []

    def taken_first() -> int:  # the race made certain: the first port chosen is the decoy's
        chosen.append(decoy if not chosen else real_free_port())
        return chosen[-1]

    monkeypatch.setattr(harness, "free_port", taken_first)
    server = harness.start(tmp_path, database, demo=False, tiles="none")
    try:
        assert len(chosen) == 2 and server.url.endswith(f":{chosen[1]}")
        assert server.process.poll() is None
        health = server.json("/health")
        assert health["store"]["data_version"] is not None  # this store's server, signed in
        first_log = (tmp_path / f"server-{decoy}.log").read_text().lower()
        assert "address already in use" in first_log
    finally:
        server.stop()
