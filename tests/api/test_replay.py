"""Cached answers replayed by the gate (api.replay): the same bytes and headers as the route's
answer, only for the same request from a caller of the same role, only on the data version the
answer was made on and while the cache holds its result; the caller is checked (key, role, rate
limit) first every time."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.access import new_key
from api.app import create_app
from api.replay import MAX_HEADER_BYTES, MAX_QUERY_BYTES, Replays, replay_key
from tests.api.test_api import settings_for
from tests.conftest import LINCOLNSHIRE, NORTH_YORKSHIRE

pytestmark = pytest.mark.real_data

PERIOD = "period=2024-03"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(settings_for(tmp_path))) as c:
        yield c


def _key(client: TestClient, role: str) -> dict[str, str]:
    app = client.app
    store = app.state.store or app.state.open_store()  # type: ignore[attr-defined]
    token, _record = new_key(store, name=f"replay {role}", role=role)
    return {"Authorization": f"Bearer {token}"}


def _upload(client: TestClient, path: Path, auth: dict[str, str]) -> None:
    with path.open("rb") as f:
        r = client.post("/v1/incidents", files={"file": (path.name, f, "text/csv")}, headers=auth)
    assert r.status_code == 201, r.text


def _replayed(client: TestClient) -> int:
    return client.app.state.replays.replayed  # type: ignore[attr-defined,no-any-return]


def _raw(client: TestClient, path: str, headers: dict[str, str]):
    """(status, headers as sent but the request's own id and nonce, body as sent: not
    decompressed)."""
    with client.stream("GET", path, headers=headers) as r:
        body = b"".join(r.iter_raw())
        sent = [(k, re.sub(rb"'nonce-[^']+'", b"'nonce'", v)) for k, v in r.headers.raw
                if k.lower() != b"x-request-id"]
        return r.status_code, sent, body


@pytest.mark.parametrize(("query", "extra"), [
    ("", {"Accept-Encoding": "gzip"}),
    ("", {"Accept-Encoding": "identity"}),
    ("?method=kde&priority=asb", {"Accept-Encoding": "gzip, deflate"}),
    ("?format=csv", {"Accept-Encoding": "gzip"}),
    ("?category=shoplifting", {"Accept": "text/csv", "Accept-Encoding": "identity"}),
    (f"?{PERIOD}&method=kde", {"Accept-Encoding": "gzip"}),
])
def test_a_replay_is_the_routes_answer_to_the_byte(served: TestClient, query: str,
                                                   extra: dict[str, str]) -> None:
    admin = _key(served, "admin")
    _upload(served, LINCOLNSHIRE, admin)
    analyst = {**_key(served, "analyst"), **extra}
    path = f"/v1/hotspots{query}"
    routed = _raw(served, path, analyst)
    assert routed[0] == 200 and _replayed(served) == 0
    hits = served.app.state.cache.hits  # type: ignore[attr-defined]
    again = _raw(served, path, analyst)
    assert _replayed(served) == 1 and again == routed
    assert served.app.state.cache.hits == hits + 1  # type: ignore[attr-defined]
    scraped = served.get("/metrics", headers=admin).text
    assert "hotspot_cache_replayed_total 1.0" in scraped
    # another analyst's key: the same answer, replayed too
    other = _raw(served, path, {**_key(served, "analyst"), **extra})
    assert _replayed(served) == 2 and other == routed


@pytest.mark.parametrize("query", [
    "?format=png&bandwidth_m=400", "?format=geojson&bands=4&bandwidth_m=1000&cell_size_m=400", "",
])
def test_a_density_replay_is_the_routes_answer_to_the_byte(served: TestClient,
                                                           query: str) -> None:
    admin = _key(served, "admin")
    _upload(served, LINCOLNSHIRE, admin)
    analyst = {**_key(served, "analyst"), "Accept-Encoding": "gzip"}
    path = f"/v1/density{query}"
    routed = _raw(served, path, analyst)
    assert routed[0] == 200 and _replayed(served) == 0
    assert _raw(served, path, analyst) == routed and _replayed(served) == 1
    # the surface gone from the cache: the route makes it again, the same bytes
    served.app.state.cache.clear()  # type: ignore[attr-defined]
    assert _raw(served, path, analyst) == routed and _replayed(served) == 1
    # new data: never the old surface
    _upload(served, NORTH_YORKSHIRE, admin)
    after = _raw(served, path, analyst)
    assert after[0] == 200 and after != routed and _replayed(served) == 1
    assert _raw(served, path, analyst) == after and _replayed(served) == 2


def test_a_replay_follows_the_data_the_cache_and_the_caller(served: TestClient) -> None:
    admin = _key(served, "admin")
    _upload(served, LINCOLNSHIRE, admin)
    analyst = _key(served, "analyst")
    first = served.get("/v1/hotspots", headers=analyst)
    assert first.status_code == 200
    assert served.get("/v1/hotspots", headers=analyst).content == first.content
    assert _replayed(served) == 1

    # a request the route answers differently is never replayed: a 304, another role's answer
    etag = {**analyst, "If-None-Match": first.headers["etag"]}
    assert served.get("/v1/hotspots", headers=etag).status_code == 304
    partner = served.get("/v1/hotspots", headers=_key(served, "partner"))
    assert partner.status_code == 404 and "no product" in partner.json()["detail"]
    assert _replayed(served) == 1

    # the caller is checked first, every time: no key, a revoked key, no right to it
    assert served.get("/v1/hotspots").status_code == 401
    gone = _key(served, "analyst")
    assert served.get("/v1/hotspots", headers=gone).status_code == 200
    replayed = _replayed(served)
    store = served.app.state.store  # type: ignore[attr-defined]
    assert store.revoke_key(gone["Authorization"].split()[-1].split("_")[1])
    assert served.get("/v1/hotspots", headers=gone).status_code == 401
    assert _replayed(served) == replayed

    # new data: a new version, answered by the route from the new incidents, then replayed
    _upload(served, NORTH_YORKSHIRE, admin)
    after = served.get("/v1/hotspots", headers=analyst)
    assert after.status_code == 200 and _replayed(served) == replayed
    assert after.headers["x-data-version"] != first.headers["x-data-version"]
    assert after.json()["data_version"] == after.headers["x-data-version"]
    assert served.get("/v1/hotspots", headers=analyst).content == after.content
    assert _replayed(served) == replayed + 1

    # the result gone from the cache: the route computes it again
    served.app.state.cache.clear()  # type: ignore[attr-defined]
    computed = served.get("/v1/hotspots", headers=analyst)
    assert computed.status_code == 200 and _replayed(served) == replayed + 1
    assert computed.headers["etag"] == after.headers["etag"]


def test_a_rate_limited_caller_is_refused_before_any_replay(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, rate_limit_per_minute=1, rate_limit_burst=6)
    with TestClient(create_app(settings)) as served:
        _upload(served, LINCOLNSHIRE, _key(served, "admin"))
        analyst = _key(served, "analyst")
        codes = [served.get("/v1/hotspots", headers=analyst).status_code for _ in range(10)]
        assert codes[:6] == [200] * 6 and set(codes[6:]) == {429}
        assert _replayed(served) == 5


def test_what_makes_a_request_replayable() -> None:
    def scope(method: str = "GET", query: bytes = b"", *headers: tuple[bytes, bytes]) -> dict:
        return {"type": "http", "method": method, "path": "/v1/hotspots", "query_string": query,
                "headers": list(headers)}

    gz = (b"accept-encoding", b"gzip")
    assert replay_key(scope("GET", b"a=1", gz)) == ("/v1/hotspots", b"a=1", b"", b"gzip")
    assert replay_key(scope("GET", b"a=1", gz, (b"accept", b"text/csv"))) == (
        "/v1/hotspots", b"a=1", b"text/csv", b"gzip")
    assert replay_key(scope("HEAD")) is None and replay_key(scope("POST")) is None
    assert replay_key(scope("GET", b"a=" + b"1" * MAX_QUERY_BYTES)) is None
    assert replay_key(scope("GET", b"", (b"if-none-match", b'"x"'))) is None
    assert replay_key(scope("GET", b"", (b"range", b"bytes=0-9"))) is None
    assert replay_key(scope("GET", b"", gz, (b"accept-encoding", b"identity"))) is None
    assert replay_key(scope("GET", b"", (b"accept", b"x" * (MAX_HEADER_BYTES + 1)))) is None

    replays = Replays(entries=3)
    for i in range(5):
        replays.remember(scope("GET", b"n=%d" % i), "analyst", object())  # type: ignore[arg-type]
    assert len(replays) == 3
    assert replays.candidates(scope("GET", b"n=0")) is None
    assert replays.candidates(scope("GET", b"n=4")) is not None


def test_a_query_that_is_not_utf8_is_refused_not_failed(served: TestClient) -> None:
    """A raw query string that does not decode (uvicorn's parser refuses it before the app;
    another server might not) is a 422 naming the field, not a 500 from the gate."""
    _upload(served, LINCOLNSHIRE, _key(served, "admin"))
    token = _key(served, "analyst")["Authorization"].encode()
    sent: list[dict] = []
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
             "scheme": "http", "path": "/v1/hotspots", "raw_path": b"/v1/hotspots",
             "root_path": "", "query_string": b"category=\xff\xfe",
             "headers": [(b"host", b"testserver"), (b"authorization", token)],
             "client": ("127.0.0.1", 50000), "server": ("testserver", 80)}

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    async def run() -> None:
        await served.app(scope, receive, send)  # type: ignore[arg-type]

    served.portal.call(run)  # type: ignore[union-attr]
    body = b"".join(m.get("body", b"") for m in sent[1:])
    assert sent[0]["status"] == 422 and b"category" in body and b"Traceback" not in body
