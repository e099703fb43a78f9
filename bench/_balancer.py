"""A small HTTP/1.1 load balancer for the two-instance load test (bench/load.py), on 127.0.0.1.

Why a balancer of our own beside haproxy: haproxy (and nginx) send a request again to another
instance only while nothing of the answer has reached the client. An instance killed while its
answer is half-way through the socket leaves the client with a cut answer ("incomplete
response"), which the other instance could have served. This one reads each answer whole
before sending any of it, so a GET or HEAD whose instance dies at any point (refused, reset,
closed without an answer, cut mid-body) is sent to the other instance; any other method only
when the connection failed (nothing of it was sent). It costs a copy of each answer in memory
and its latency until the last byte: fine for the benchmark's cached answers, not a
production proxy.

Round robin over the instances that are up; each is checked (a TCP connect) every 0.25 s and
taken out at the first failure, seen by a check or by a request, until a check succeeds.
``GET /__balancer`` answers its counters as JSON (requests, retries, answers by instance, each
instance's state). Run: ``python -m bench._balancer --port 8080 --upstream a=http://127.0.0.1:8001
--upstream b=http://127.0.0.1:8002``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS"})
"""Methods sent again after the instance may have received them."""
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "te", "trailer",
                        "transfer-encoding", "upgrade", "content-length", "expect"})
"""Headers of one connection, not passed on (the length is set anew)."""
MAX_HEAD = 64 * 1024
"""Largest request or response head, bytes."""
TRIES = 3
"""Instances a request is sent to at most (the first and up to two retries)."""
CHECK_EVERY_S = 0.25
CONNECT_TIMEOUT_S = 1.0
ANSWER_TIMEOUT_S = 300.0
IDLE_S = 2.0
"""An idle connection to an instance is reused only within this time (uvicorn closes its own
after 5 s)."""


class Failed(Exception):
    """An exchange with an instance failed; ``sent``: the request may have reached it;
    ``reused``: on an idle connection kept from before (which the instance may have closed as
    idle: no sign that the instance is down)."""

    def __init__(self, why: str, *, sent: bool, reused: bool = False) -> None:
        super().__init__(why)
        self.sent = sent
        self.reused = reused


class BadRequest(Exception):
    """The client's request cannot be read or passed on."""


@dataclass
class Upstream:
    """One instance: its address, whether it is up, its idle connections."""

    name: str
    host: str
    port: int
    up: bool = True
    answered: int = 0
    idle: list[tuple[float, asyncio.StreamReader, asyncio.StreamWriter]] = field(
        default_factory=list)

    def take(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        """An idle connection still fresh enough to reuse, or None."""
        now = time.monotonic()
        while self.idle:
            since, reader, writer = self.idle.pop()
            if now - since < IDLE_S and not reader.at_eof():
                return reader, writer
            writer.close()
        return None

    def down(self) -> None:
        self.up = False
        for _since, _reader, writer in self.idle:
            writer.close()
        self.idle.clear()


@dataclass
class Answer:
    """A whole answer of an instance."""

    status_line: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes
    upstream: str


class Balancer:
    """Round robin over ``upstreams`` with whole-answer retries (see the module)."""

    def __init__(self, upstreams: dict[str, str]) -> None:
        self.upstreams = []
        for name, url in upstreams.items():
            host, port = url.removeprefix("http://").rstrip("/").rsplit(":", 1)
            self.upstreams.append(Upstream(name, host, int(port)))
        self._next = 0
        self.requests = 0
        self.retries = 0
        self.failed = 0

    def pick(self, tried: set[str]) -> Upstream:
        """The next instance by round robin: one that is up and not tried for this request if
        any, else one not tried, else any."""
        n = len(self.upstreams)
        order = [self.upstreams[(self._next + i) % n] for i in range(n)]
        self._next = (self._next + 1) % n
        for fits in (lambda u: u.up and u.name not in tried, lambda u: u.name not in tried,
                     lambda u: True):
            for upstream in order:
                if fits(upstream):
                    return upstream
        raise AssertionError("no upstream")

    async def check(self) -> None:
        """Check every instance every :data:`CHECK_EVERY_S` (a TCP connect)."""
        while True:
            for upstream in self.upstreams:
                try:
                    _r, w = await asyncio.wait_for(
                        asyncio.open_connection(upstream.host, upstream.port), CONNECT_TIMEOUT_S)
                    w.close()
                    upstream.up = True
                except (TimeoutError, OSError):
                    upstream.down()
            await asyncio.sleep(CHECK_EVERY_S)

    async def forward(self, method: str, target: str, headers: list[tuple[bytes, bytes]],
                      body: bytes) -> Answer:
        """Send the request to instances in turn until one answers whole (a 502 if none)."""
        tried: set[str] = set()
        for attempt in range(TRIES):
            upstream = self.pick(tried)
            try:
                answer = await self.exchange(upstream, method, target, headers, body)
                upstream.answered += 1
                return answer
            except Failed as exc:
                if not exc.reused:
                    upstream.down()
                tried.add(upstream.name)
                if exc.sent and method not in IDEMPOTENT:
                    break
                if attempt < TRIES - 1:
                    self.retries += 1
        self.failed += 1
        return Answer(b"HTTP/1.1 502 Bad Gateway", [(b"Content-Type", b"text/plain")],
                      b"no instance answered\n", "-")

    async def exchange(self, upstream: Upstream, method: str, target: str,
                       headers: list[tuple[bytes, bytes]], body: bytes) -> Answer:
        """One request to one instance, its answer read whole."""
        conn = upstream.take()
        reused = conn is not None
        if conn is None:
            try:
                conn = await asyncio.wait_for(
                    asyncio.open_connection(upstream.host, upstream.port), CONNECT_TIMEOUT_S)
            except (TimeoutError, OSError) as exc:
                raise Failed(f"connect: {exc!r}", sent=False) from exc
        reader, writer = conn
        head = [f"{method} {target} HTTP/1.1".encode()]
        head += [k + b": " + v for k, v in headers]
        head += [b"Content-Length: " + str(len(body)).encode()] if body else []
        head += [b"Connection: keep-alive", b"", b""]
        try:
            writer.write(b"\r\n".join(head) + body)
            await writer.drain()
            status_line, reply, reusable = await asyncio.wait_for(
                self._read_answer(reader, method), ANSWER_TIMEOUT_S)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                TimeoutError, ValueError) as exc:
            writer.close()
            raise Failed(f"exchange: {exc!r}", sent=True, reused=reused) from exc
        answer_headers, answer_body = reply
        if reusable:
            upstream.idle.append((time.monotonic(), reader, writer))
        else:
            writer.close()
        return Answer(status_line, answer_headers, answer_body, upstream.name)

    @staticmethod
    async def _read_answer(reader: asyncio.StreamReader, method: str) -> tuple[
            bytes, tuple[list[tuple[bytes, bytes]], bytes], bool]:
        while True:
            status_line, headers = _parse_head(await reader.readuntil(b"\r\n\r\n"))
            status = int(status_line.split(b" ", 2)[1])
            if status >= 200:
                break  # (an interim 1xx answer is skipped)
        names = {k.lower(): v for k, v in headers}
        reusable = b"close" not in names.get(b"connection", b"").lower()
        if method == "HEAD" or status in (204, 304):
            body = b""
        elif b"chunked" in names.get(b"transfer-encoding", b"").lower():
            body = await _read_chunked(reader)
        elif b"content-length" in names:
            body = await reader.readexactly(int(names[b"content-length"]))
        else:
            body = await reader.read()  # to the end of the connection
            reusable = False
        kept = [(k, v) for k, v in headers if k.lower().decode() not in HOP_BY_HOP]
        return status_line, (kept, body), reusable

    async def serve_client(self, reader: asyncio.StreamReader,
                           writer: asyncio.StreamWriter) -> None:
        """Answer one client connection's requests, one after the other (keep-alive)."""
        try:
            while True:
                try:
                    raw = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    return  # the client closed between requests
                request_line, headers = _parse_head(raw)
                method, target, version = request_line.decode("latin-1").split(" ", 2)
                names = {k.lower(): v for k, v in headers}
                if b"chunked" in names.get(b"transfer-encoding", b"").lower():
                    raise BadRequest("chunked request bodies are not supported")
                body = await reader.readexactly(int(names.get(b"content-length", b"0")))
                close = (b"close" in names.get(b"connection", b"").lower()
                         or version == "HTTP/1.0")
                if target == "/__balancer":
                    answer = Answer(b"HTTP/1.1 200 OK", [(b"Content-Type", b"application/json")],
                                    json.dumps(self.counters()).encode(), "-")
                else:
                    self.requests += 1
                    passed = [(k, v) for k, v in headers if k.lower().decode() not in HOP_BY_HOP]
                    answer = await self.forward(method, target, passed, body)
                out = [b"HTTP/1.1 " + answer.status_line.split(b" ", 1)[1]]
                out += [k + b": " + v for k, v in answer.headers]
                out += [b"Content-Length: " + str(len(answer.body)).encode(),
                        b"X-Upstream: " + answer.upstream.encode(),
                        b"Connection: " + (b"close" if close else b"keep-alive"), b"", b""]
                writer.write(b"\r\n".join(out) + answer.body)
                await writer.drain()
                if close:
                    return
        except (BadRequest, ValueError, asyncio.LimitOverrunError, asyncio.IncompleteReadError):
            with contextlib.suppress(OSError):
                writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                             b"Connection: close\r\n\r\n")
        except OSError:
            pass  # the client went away
        finally:
            writer.close()

    def counters(self) -> dict[str, object]:
        """Requests, retries, 502s, and each instance's state and answers."""
        return {"requests": self.requests, "retries": self.retries, "failed": self.failed,
                "upstreams": {u.name: {"status": "UP" if u.up else "DOWN",
                                       "answered": u.answered} for u in self.upstreams}}


def _parse_head(raw: bytes) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """The first line and the headers of a request or response head."""
    lines = raw[:-4].split(b"\r\n")
    headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep or not name.strip():
            raise ValueError(f"malformed header line {line[:80]!r}")
        headers.append((name.strip(), value.strip()))
    return lines[0], headers


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":
                pass  # trailers
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


async def run(port: int, upstreams: dict[str, str]) -> None:
    """Serve on 127.0.0.1:``port`` until stopped."""
    balancer = Balancer(upstreams)
    server = await asyncio.start_server(balancer.serve_client, "127.0.0.1", port,
                                        limit=MAX_HEAD, backlog=1024)
    checks = asyncio.create_task(balancer.check())
    print(f"balancing 127.0.0.1:{port} over {', '.join(upstreams)}", flush=True)
    try:
        async with server:
            await server.serve_forever()
    finally:
        checks.cancel()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", action="append", required=True,
                        help="name=http://127.0.0.1:port (twice or more)")
    args = parser.parse_args(argv)
    upstreams = dict(u.split("=", 1) for u in args.upstream)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(args.port, upstreams))


if __name__ == "__main__":
    main()
