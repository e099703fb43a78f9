"""Cheap rejection first, against the real server (``hotspot serve`` in its own process): the key
is checked before a byte of the body is read, each route's body limit is applied while the body
streams, and no error echoes the body back."""

from __future__ import annotations

import json
import select
import socket
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from bench._server import Server, serving
from tests.api.test_api import settings_for
from tests.conftest import as_role

MB = 1024 * 1024
BIG = 50 * MB
"""The size of the hostile bodies sent, bytes."""
IN_FLIGHT = 10 * MB
"""Most bytes of a refused body that may be taken from the sender: what the sockets on both
sides buffer before the server answers (the client's send buffer is set to 64 KiB; Linux lets
the server's receive buffer grow to a few MiB)."""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("gate")
    with serving(folder, folder / "force.sqlite", demo=False, tiles="none") as s:
        yield s


@dataclass
class Answer:
    """What came back for a streamed request, and how much of the body was taken."""

    status: int
    headers: dict[str, str]
    body: bytes
    pulled: int


def _json_list(total: int, piece: int = 64 * 1024) -> Iterator[bytes]:
    """A JSON array of zeros, ``total`` bytes in pieces (parsing it costs far more memory)."""
    yield b"["
    sent = 1
    chunk = b"0," * (piece // 2)
    while sent + len(chunk) < total - 1:
        yield chunk
        sent += len(chunk)
    yield b"0]"


def post_streaming(url: str, path: str, pieces: Iterable[bytes], *,
                   headers: dict[str, str] | None = None,
                   length: int | None = None) -> Answer:
    """POST ``pieces`` on a raw socket (chunked, or with ``length`` as Content-Length), taking
    the next piece only while the server has neither answered nor closed; then read the
    answer. ``pulled`` counts the bytes taken from ``pieces``."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=60)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
    head = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}",
            "Content-Type: application/json"]
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    head.append(f"Content-Length: {length}" if length is not None
                else "Transfer-Encoding: chunked")
    pulled = 0
    with sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        try:
            for piece in pieces:
                if select.select([sock], [], [], 0)[0]:
                    break  # an answer (or the end of the connection) came
                pulled += len(piece)
                sock.sendall(piece if length is not None
                             else b"%x\r\n%s\r\n" % (len(piece), piece))
            else:
                if length is None:
                    sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass  # the server closed the connection on a body it will not read
        return _read_answer(sock, pulled)


def _read_answer(sock: socket.socket, pulled: int) -> Answer:
    data = b""
    while b"\r\n\r\n" not in data:
        piece = sock.recv(65536)
        if not piece:
            raise AssertionError(f"the connection closed with no answer: {data!r}")
        data += piece
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in
               (line.split(":", 1) for line in lines[1:])}
    want = int(headers.get("content-length", "0"))
    while len(body) < want:
        try:
            piece = sock.recv(65536)
        except ConnectionResetError:
            break
        if not piece:
            break
        body += piece
    return Answer(status, headers, body, pulled)


def _peak_mb(server: Server) -> float:
    return server.peak_mb()


def test_an_unauthenticated_body_is_refused_before_it_is_read(server: Server) -> None:
    peak = _peak_mb(server)
    for _ in range(3):
        r = post_streaming(server.url, "/v1/patrol-plans", _json_list(BIG))
        assert r.status == 401, r.body[:300]
        assert json.loads(r.body)["error"] == "unauthorized"
        assert r.pulled < IN_FLIGHT, f"{r.pulled / MB:.1f} MiB of the body was taken"
    declared = post_streaming(server.url, "/v1/patrol-plans", _json_list(BIG), length=BIG)
    assert declared.status == 401 and declared.pulled < IN_FLIGHT
    wrong_key = {"Authorization": "Bearer hsk_000000000000_" + "x" * 43}
    r = post_streaming(server.url, "/v1/incidents", _json_list(BIG), headers=wrong_key)
    assert r.status == 401 and r.pulled < IN_FLIGHT
    assert _peak_mb(server) - peak < 20, "the server's memory grew under the bodies"


def test_a_body_over_the_routes_limit_is_413_while_it_streams(server: Server) -> None:
    path = "/v1/patrol-plans/0123456789abcdef/visits"
    peak = _peak_mb(server)
    r = post_streaming(server.url, path, _json_list(BIG), headers=server.auth)
    assert r.status == 413, r.body[:300]
    assert json.loads(r.body)["error"] == "upload_too_large" and r.pulled < IN_FLIGHT
    declared = post_streaming(server.url, path, _json_list(BIG), headers=server.auth,
                              length=BIG)
    assert declared.status == 413 and declared.pulled < IN_FLIGHT
    plans = post_streaming(server.url, "/v1/patrol-plans", _json_list(BIG),
                           headers=server.auth)
    assert plans.status == 413 and plans.pulled < IN_FLIGHT
    assert "65,536 bytes" in json.loads(plans.body)["detail"]
    assert _peak_mb(server) - peak < 20, "the server's memory grew under the bodies"


def test_a_visit_of_kilobytes_still_passes_the_limit(server: Server) -> None:
    """A visit at every field's longest (non-ASCII escaped, as Python's json writes it) fits
    under the visits' limit: it reaches the route (404: no such plan), not a 413."""
    visit = {"visit_id": "v" * 64, "stop_id": "\U0001f6a8" * 300,
             "visited_at": "2024-06-14T10:00:00+01:00", "note": "\U0001f6a8" * 2000,
             "officer": "\U0001f6a8" * 100}
    body = json.dumps(visit).encode()
    assert len(body) > 16 * 1024
    r = post_streaming(server.url, "/v1/patrol-plans/0123456789abcdef/visits", [body],
                       headers=server.auth, length=len(body))
    assert r.status == 404, r.body[:300]


@pytest.mark.parametrize(("path", "body"), [
    ("/v1/patrol-plans/0123456789abcdef/visits",
     {"visit_id": "ECHO-ME-1!", "stop_id": "ECHO-ME-2", "visited_at": "ECHO-ME-3"}),
    ("/v1/patrol-plans", {"shift": {"start": "ECHO-ME-4"}, "ECHO-ME-5" * 100: 1}),
    ("/v1/keys", {"name": "ECHO-ME-6", "role": "ECHO-ME-7"}),
])
def test_a_422_names_the_field_and_never_echoes_the_body(tmp_path: Path, path: str,
                                                         body: dict) -> None:
    with TestClient(create_app(settings_for(tmp_path))) as c:
        as_role(c)
        r = c.post(path, json=body)
        assert r.status_code == 422, r.text
        assert "ECHO-ME-" not in r.text.replace("ECHO-ME-5", "")  # but an unknown field's
        assert "ECHO-ME-5" * 8 not in r.text  # name, cut short
        answer = r.json()
        assert answer["error"] == "invalid_request" and answer["field"]
        assert all(e["loc"] and e["msg"] and "input" not in e for e in answer["errors"])
        bad_json = c.post(path, content=b'{"note": "ECHO-ME-8", ', headers={
            "Content-Type": "application/json"})
        assert bad_json.status_code == 422 and "ECHO-ME" not in bad_json.text


def test_the_gate_finds_the_routers_route_also_when_it_remembers_it(tmp_path: Path) -> None:
    """The gate remembers the route of a path without parameters: for every route and method
    of the app, asked twice, it names the route that matching every route in turn names, and
    a path with parameters (or no route) is matched afresh each time."""
    from starlette.routing import Match

    from api.gate import _known, _match

    app = create_app(settings_for(tmp_path))
    flat, static = _known(app)
    asked = 0
    for _matcher, route in flat:
        path = getattr(route, "path", "")
        for method in sorted(getattr(route, "methods", None) or {"GET"}):
            concrete = path.replace("{", "").replace("}", "")  # "{plan_id}" -> "plan_id"
            scope = {"type": "http", "method": method, "path": concrete, "root_path": "",
                     "headers": [], "query_string": b""}
            first = _match(app, dict(scope))
            again = _match(app, dict(scope))
            every = next((r for m, r in flat if m.matches(dict(scope))[0] is Match.FULL), None)
            assert first[0] is again[0] is every, (method, path)
            assert again[1].get("path_params") == first[1].get("path_params")
            asked += 1
    assert asked > 90 and 0 < len(static) < asked
    assert all(not child["path_params"] for _route, child in static.values())
    assert _match(app, {"type": "http", "method": "GET", "path": "/no/such/route",
                        "root_path": "", "headers": [], "query_string": b""}) == (None, {})
    assert ("GET", "", "/no/such/route") not in static
    # behind a proxy's prefix: the same path is another route's, or none
    prefixed = {"type": "http", "method": "GET", "path": "/api/v1/hotspots", "root_path": "/api",
                "headers": [], "query_string": b""}
    assert getattr(_match(app, dict(prefixed))[0], "path", None) == "/v1/hotspots"
    assert _match(app, {**prefixed, "root_path": ""}) == (None, {})
