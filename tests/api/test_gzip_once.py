"""A cached hotspot answer is compressed once and kept with the result: recompressing a 1 MB
GeoJSON on every cached request was most of a cached request's CPU (the two-instance load test,
issue 18)."""

from __future__ import annotations

import gzip
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.delivery import accepts_gzip
from api.services.hotspot_results import Computed
from geodata.stores import SQLiteStore
from tests.api.test_api import served_demo
from tests.conftest import as_role

pytestmark = pytest.mark.real_data


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, demo_files) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("gzip-once")
    with served_demo(SQLiteStore.open(root / "demo.sqlite"), root, demo_files) as c:
        yield as_role(c)


def _kept(client: TestClient) -> list[dict[str, bytes]]:
    items = client.app.state.cache._items  # type: ignore[attr-defined]
    return [v[0].encoded for v in items.values() if isinstance(v[0], Computed)]


@pytest.mark.parametrize("fmt", ["geojson", "csv"])
def test_a_cached_answer_is_compressed_once_and_kept(demo: TestClient, fmt: str) -> None:
    path = f"/v1/hotspots?format={fmt}&method=kde"
    plain = demo.get(path, headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200 and "content-encoding" not in plain.headers
    first = demo.get(path, headers={"Accept-Encoding": "gzip, deflate"})
    assert first.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in first.headers["vary"].lower()
    assert "accept" in first.headers["vary"].lower().replace("accept-encoding", "")
    assert first.headers["etag"] == plain.headers["etag"]
    assert first.content == plain.content  # httpx decodes: the same answer
    kept = [k[fmt] for k in _kept(demo) if fmt in k]
    assert len(kept) == 1 and gzip.decompress(kept[0]) == plain.content
    again = demo.get(path, headers={"Accept-Encoding": "gzip"})
    assert again.content == plain.content
    assert [k[fmt] for k in _kept(demo) if fmt in k] == kept  # the same bytes, not redone
    refused = demo.get(path, headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert refused.content == plain.content


@pytest.mark.parametrize(("header", "takes"), [
    ("gzip", True), ("deflate, gzip;q=0.5", True), ("*", True), ("GZIP", True),
    ("gzip;q=0", False), ("gzip; q=0.0", False), ("identity", False), ("", False),
    ("gzip;q=bad", False), ("br", False)])
def test_accept_encoding_is_read_with_its_weights(header: str, takes: bool) -> None:
    from starlette.requests import Request

    request = Request({"type": "http", "headers": [(b"accept-encoding", header.encode())]})
    assert accepts_gzip(request) is takes
