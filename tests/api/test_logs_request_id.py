"""The request id (issue 18, operations): every request gets one, a trusted caller's sane
``X-Request-ID`` is kept, it goes back in the header, into the request log, into every record
logged while the request is handled (worker threads included) and into 5xx error bodies; JSON
log lines carry the fields a log collector reads, never a key, a query or an address."""

from __future__ import annotations

import io
import json
import logging
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from api.access import ACCESS
from api.app import create_app
from api.logs import SANE_ID, TrustedHosts, configure
from api.services.cached import within
from tests.api.test_api import settings_for
from tests.conftest import as_role

HEX_ID = re.compile(r"^[0-9a-f]{32}$")
PROBE = "/test/probe"
BOOM = "/test/boom"


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The root logger configured as ``hotspot serve`` does (JSON), writing to a buffer; the
    test run's own handlers come back afterwards."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    out = io.StringIO()
    configure("info", "json", stream=out)
    try:
        yield out
    finally:
        root.handlers[:], root.level = saved[0], saved[1]


def _lines(out: io.StringIO) -> list[dict[str, Any]]:
    """The service's log lines (the test client's own, httpx's, left out)."""
    found = [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
    return [x for x in found if not x["logger"].startswith("httpx")]


def _with_probes(app: FastAPI) -> FastAPI:
    """Two routes of the test's own on the real app: an analysis through the result cache
    (:func:`api.services.cached.within`, run in a worker thread) that logs from its thread,
    and a route failing with an unexpected error (a 500)."""

    @app.get(PROBE)
    async def probe(request: Request, n: int = 0) -> dict[str, Any]:
        def compute(_stop: Any) -> dict[str, Any]:
            logging.getLogger("hotspot.test").warning("computing probe %s", n)
            return {"thread": threading.get_ident()}

        answer: dict[str, Any] = await within(request, ("probe", (("method", "kde"), ("n", n))),
                                              compute)
        logging.getLogger("hotspot.test").info("probe answered")
        return {**answer, "loop_thread": threading.get_ident()}

    @app.get(BOOM)
    async def boom() -> None:
        logging.getLogger("hotspot.test").info("about to fail")
        raise RuntimeError("a fault of the service")

    return app


@pytest.fixture
def probed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[TestClient]:
    monkeypatch.setitem(ACCESS, ("GET", PROBE), ("admin",))
    monkeypatch.setitem(ACCESS, ("GET", BOOM), ("admin",))
    app = _with_probes(create_app(settings_for(tmp_path)))
    with TestClient(app, raise_server_exceptions=False, client=("127.0.0.1", 50000)) as c:
        as_role(c, "admin")
        yield c


def test_every_answer_has_a_new_request_id(tmp_path: Path, json_log: io.StringIO) -> None:
    with TestClient(create_app(settings_for(tmp_path))) as c:
        as_role(c, "analyst")
        secret = c.headers["Authorization"].split()[-1]
        answers = [c.get("/v1/incidents", params={"bbox": "-1.09,53.95,-1.07,53.97"}),
                   c.get("/v1/incidents", params={"bbox": "-1.09,53.95,-1.07,53.97"}),
                   c.get("/v1/patrol-plans/0123456789abcdef"),  # 404
                   c.get("/health", headers={"Authorization": ""})]
    ids = [r.headers["X-Request-ID"] for r in answers]
    assert all(HEX_ID.match(i) for i in ids) and len(set(ids)) == 4
    requests = [x for x in _lines(json_log) if x["logger"] == "hotspot.requests"]
    assert [x["request_id"] for x in requests] == ids
    first = requests[0]
    assert {"time", "level", "logger", "message", "request_id", "method", "route", "status",
            "duration_ms"} <= set(first)
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", first["time"])
    assert (first["method"], first["route"], first["status"]) == ("GET", "/v1/incidents", 200)
    assert first["level"] == "info" and isinstance(first["duration_ms"], float)
    assert requests[2]["route"] == "/v1/patrol-plans/{plan_id}" and requests[2]["status"] == 404
    text = "\n".join(json.dumps(x) for x in _lines(json_log))
    for leaked in (secret, "53.95", "bbox", "0123456789abcdef", "testclient", "127.0.0.1"):
        assert leaked not in text


def test_a_trusted_callers_sane_id_is_kept_and_any_other_replaced(tmp_path: Path) -> None:
    app = create_app(settings_for(tmp_path, forwarded_allow_ips="10.0.0.0/8,::1"))
    sane = ["lb-7f3a9c", "0f8fad5b-d9cb-469f-a165-70867728950e", "Root=1-67891233:abc/+="]
    with TestClient(app, client=("10.1.2.3", 40000)) as balancer:
        for rid in sane:
            assert balancer.get("/health", headers={"X-Request-ID": rid}).headers[
                "X-Request-ID"] == rid
        for bad in ("", "a b", "x" * 129, "id\twith-tab", 'quote"s', "ünïcode", "a;b"):
            got = balancer.get("/health", headers=[(b"X-Request-ID", bad.encode("utf-8"))])
            assert HEX_ID.match(got.headers["X-Request-ID"]), bad
    with TestClient(app, client=("192.0.2.9", 40000)) as stranger:  # not a trusted proxy
        got = stranger.get("/health", headers={"X-Request-ID": "lb-7f3a9c"})
        assert HEX_ID.match(got.headers["X-Request-ID"])
    # behind a trusted proxy that passes the browser's address on, the proxy's id still counts
    with TestClient(app, client=("10.9.9.9", 40000)) as proxy:
        got = proxy.get("/health", headers={"X-Request-ID": "from-proxy-1",
                                            "X-Forwarded-For": "192.0.2.77"})
        assert got.headers["X-Request-ID"] == "from-proxy-1"


def test_trusted_hosts_and_sane_ids() -> None:
    hosts = TrustedHosts("127.0.0.1, 10.0.0.0/8,::1,unix-socket")
    assert "127.0.0.1" in hosts and "10.200.1.1" in hosts and "::1" in hosts
    assert "unix-socket" in hosts
    assert "11.0.0.1" not in hosts and "testclient" not in hosts and None not in hosts
    assert "anything" in TrustedHosts("*")
    assert SANE_ID.fullmatch("a" * 128) and not SANE_ID.fullmatch("a" * 129)
    assert not SANE_ID.fullmatch("line\nbreak") and not SANE_ID.fullmatch("line\n")


def test_records_of_the_computation_thread_carry_the_request_id(
        probed: TestClient, json_log: io.StringIO) -> None:
    r = probed.get(PROBE, params={"n": 1}, headers={"X-Request-ID": "probe-req-1"})
    assert r.status_code == 200 and r.headers["X-Request-ID"] == "probe-req-1"
    assert r.json()["thread"] != r.json()["loop_thread"]  # it ran in a worker thread
    other = probed.get(PROBE, params={"n": 2})
    records = _lines(json_log)
    computing = [x for x in records if x["message"].startswith("computing probe")]
    assert [(x["message"], x["request_id"]) for x in computing] == [
        ("computing probe 1", "probe-req-1"),
        ("computing probe 2", other.headers["X-Request-ID"])]
    answered = [x["request_id"] for x in records if x["message"] == "probe answered"]
    assert answered == ["probe-req-1", other.headers["X-Request-ID"]]
    # outside a request, no id
    logging.getLogger("hotspot.test").warning("between requests")
    assert _lines(json_log)[-1]["request_id"] is None


def test_a_500_names_its_request_id_in_the_body_the_header_and_the_log(
        probed: TestClient, json_log: io.StringIO) -> None:
    r = probed.get(BOOM, headers={"X-Request-ID": "boom-1"})
    assert r.status_code == 500
    body = r.json()
    assert body == {"detail": "the request could not be completed; see the log",
                    "error": "internal_error", "request_id": "boom-1"}
    assert r.headers["X-Request-ID"] == "boom-1"
    records = _lines(json_log)
    failed = [x for x in records if x["level"] == "error" and "error" in x]
    assert failed and all(x["request_id"] == "boom-1" for x in failed)
    assert "a fault of the service" in failed[0]["error"]
    logged = [x for x in records if x["logger"] == "hotspot.requests"]
    assert [(x["route"], x["status"], x["request_id"]) for x in logged] == [
        (BOOM, 500, "boom-1")]
    assert [x["request_id"] for x in records if x["message"] == "about to fail"] == ["boom-1"]
    # a 4xx keeps its shape: no request id in the body (the header has it)
    missing = probed.get("/v1/patrol-plans/0123456789abcdef")
    assert "request_id" not in missing.json() and missing.headers["X-Request-ID"]


def test_a_503_names_its_request_id(tmp_path: Path) -> None:
    """A store that cannot be opened: every route needing it answers 503 with the id."""
    settings = settings_for(tmp_path).model_copy(
        update={"database_url": "postgresql://postgres@127.0.0.1:9/nothing"})
    with TestClient(create_app(settings), client=("127.0.0.1", 50000)) as c:
        r = c.get("/health", headers={"X-Request-ID": "down-1"})
        assert r.headers["X-Request-ID"] == "down-1"
        r = c.get("/v1/taxonomy", headers={"X-Request-ID": "down-2",
                                           "Authorization": "Bearer hsk_nothing"})
    assert r.status_code == 503
    assert r.json()["request_id"] == "down-2" and r.headers["X-Request-ID"] == "down-2"
    assert r.json()["error"] == "store_unavailable"


def test_the_text_format_ends_with_the_request_id(probed: TestClient) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    out = io.StringIO()
    try:
        configure("info", "text", stream=out)
        probed.get(PROBE, params={"n": 3}, headers={"X-Request-ID": "text-1"})
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
    lines = out.getvalue().splitlines()
    request_line = next(x for x in lines if " hotspot.requests " in x)
    assert re.search(r" GET /test/probe 200 ms=\d+(\.\d+)? key_id=\w+ role=admin "
                     r"request_id=text-1$", request_line), request_line
    assert any(x.endswith("computing probe 3 request_id=text-1") for x in lines), lines
