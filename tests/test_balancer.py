"""bench/_balancer.py, the balancer of the two-instance load test: a GET whose instance fails
at any point (refused, closed with half an answer) is answered whole by the other; a POST is
sent again only when nothing of it reached the failed instance."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bench._server import free_port

ROOT = Path(__file__).resolve().parents[1]
BODY = b"x" * 200_000


def _upstream(name: str, *, cut: bool) -> ThreadingHTTPServer:
    """An instance on a free port answering every request with ``BODY`` (200_000 bytes) and
    its name; with ``cut``, it says so in the headers, sends half the body and closes (as an
    instance killed mid-answer)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 60  # an idle kept-alive connection ends, so server_close cannot wait forever

        def _answer(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Length", str(len(BODY)))
            self.send_header("X-Name", name)
            self.end_headers()
            if cut:
                self.wfile.write(BODY[: len(BODY) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(BODY)

        do_GET = do_POST = _answer  # noqa: N815

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = False  # server_close waits for every connection's thread
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _balancer(upstreams: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench._balancer", "--port", str(port),
         *(f"--upstream={n}={u}" for n, u in upstreams.items())],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            conn.request("GET", "/__balancer")
            conn.getresponse().read()
            return process, port
        except OSError:
            time.sleep(0.1)
        finally:
            conn.close()
    process.kill()
    raise RuntimeError("the balancer did not start")


@pytest.fixture
def cut_and_whole() -> Iterator[tuple[int, dict[str, str]]]:
    """A balancer over an instance that cuts every answer and one that answers whole."""
    servers = {"cut": _upstream("cut", cut=True), "whole": _upstream("whole", cut=False)}
    urls = {n: f"http://127.0.0.1:{s.server_address[1]}" for n, s in servers.items()}
    process, port = _balancer(urls)
    try:
        yield port, urls
    finally:
        process.terminate()
        process.wait(10)
        for s in servers.values():
            s.shutdown()
            s.server_close()


def _ask(port: int, method: str, path: str = "/v1/hotspots") -> tuple[int, bytes, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=b"{}" if method == "POST" else None)
        r = conn.getresponse()
        return r.status, r.read(), r.getheader("X-Upstream") or ""
    finally:
        conn.close()


def _counters(port: int) -> dict[str, object]:
    return dict(json.loads(_ask(port, "GET", "/__balancer")[1]))


def test_a_get_cut_mid_answer_is_answered_whole_by_the_other(
        cut_and_whole: tuple[int, dict[str, str]]) -> None:
    port, _urls = cut_and_whole
    for _ in range(4):  # round robin: half of them go to the cutting instance first
        status, body, upstream = _ask(port, "GET")
        assert (status, len(body), upstream) == (200, len(BODY), "whole")
    retries = _counters(port)["retries"]
    assert isinstance(retries, int)
    assert retries >= 1  # the cutting instance was tried (then out until its next check)


def test_a_post_that_reached_an_instance_is_not_sent_again(
        cut_and_whole: tuple[int, dict[str, str]]) -> None:
    port, _urls = cut_and_whole
    answers = [_ask(port, "POST")[0] for _ in range(4)]
    assert 502 in answers  # the one sent to the cutting instance
    assert 200 in answers


def test_an_instance_that_refuses_is_skipped_for_any_method() -> None:
    whole = _upstream("whole", cut=False)
    gone = free_port()  # nothing listens there
    process, port = _balancer({"gone": f"http://127.0.0.1:{gone}",
                               "whole": f"http://127.0.0.1:{whole.server_address[1]}"})
    try:
        for method in ("GET", "POST", "GET", "POST"):
            status, body, upstream = _ask(port, method)
            assert (status, len(body), upstream) == (200, len(BODY), "whole")
        upstreams = _counters(port)["upstreams"]
        assert isinstance(upstreams, dict)
        assert upstreams["gone"]["status"] == "DOWN"
    finally:
        process.terminate()
        process.wait(10)
        whole.shutdown()
        whole.server_close()
