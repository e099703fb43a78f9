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


def _inflated_by_gnu_gzip(packed: bytes) -> bytes:
    import subprocess

    return subprocess.run(["gzip", "-dc"], input=packed, capture_output=True,
                          check=True).stdout


@pytest.mark.parametrize("size", [0, 1, 999, 1_000, 1_001, 4_000, 10_007, 100_000])
@pytest.mark.parametrize("kind", ["json", "random", "repeats"])
def test_a_body_gzipped_in_pieces_is_one_stream_every_decoder_reads(size: int,
                                                                   kind: str) -> None:
    import json
    import os
    import zlib

    from api.delivery import gzip_pieces

    if kind == "json":  # back-references across the cuts: the pieces are primed
        body = json.dumps([{"id": f"kde-{i:03d}", "x": i * 0.1234567} for i in
                           range(size)]).encode()[:size]
    elif kind == "random":
        body = os.urandom(size)
    else:
        body = (b"abcdefgh" * 200 + b"\n") * (size // 1601 + 1)
        body = body[:size]
    packed = gzip_pieces(body, 6, piece_bytes=500)
    assert gzip.decompress(packed) == body
    one = zlib.decompressobj(wbits=31)  # one member, nothing after it
    assert one.decompress(packed) == body and one.eof and one.unused_data == b""
    assert _inflated_by_gnu_gzip(packed) == body  # an inflater that is not zlib's
    from zlib_ng import zlib_ng

    whole = gzip.compress(body, 6, mtime=0)
    one_piece = zlib_ng.compress(body, 6, -15)
    if len(body) < 1_000:  # under two pieces: one deflate stream
        assert packed[10:-8] == one_piece
    else:
        assert packed[10:-8] != one_piece  # in pieces indeed
        # about as small as one stream (each piece primed with the 32 kB before it)
        assert len(packed) <= len(one_piece) * 1.02 + 48
    assert packed[:10] == whole[:10]  # the same header (no name, mtime 0)


def test_a_large_answer_is_sent_gzipped_in_pieces(demo: TestClient, monkeypatch) -> None:
    from api import delivery
    from api.delivery import gzip_pieces

    monkeypatch.setattr(delivery, "PIECE_BYTES", 2_000)
    path = "/v1/hotspots?format=geojson&method=kde&bandwidth_m=301"
    plain = demo.get(path, headers={"Accept-Encoding": "identity"})
    packed = demo.get(path, headers={"Accept-Encoding": "gzip"})
    assert packed.headers["content-encoding"] == "gzip" and packed.content == plain.content
    kept = [k["geojson"] for k in _kept(demo) if "geojson" in k]
    mine = [k for k in kept if gzip.decompress(k) == plain.content]
    assert len(plain.content) > 4_000 and len(mine) == 1
    assert mine[0] != gzip_pieces(plain.content, 6, piece_bytes=10**9)  # made in pieces
    assert _inflated_by_gnu_gzip(mine[0]) == plain.content


def _raw(client: TestClient, path: str) -> tuple[bytes, dict[str, str]]:
    with client.stream("GET", path, headers={"Accept-Encoding": "gzip"}) as r:
        assert r.status_code == 200
        return b"".join(r.iter_raw()), dict(r.headers)


@pytest.mark.parametrize("pieces", [False, True])
def test_other_answers_are_gzipped_by_zlib_ng_and_a_large_one_in_pieces(
        demo: TestClient, monkeypatch, pieces: bool) -> None:
    from zlib_ng import zlib_ng

    from api import delivery

    if pieces:
        monkeypatch.setattr(delivery, "PIECE_BYTES", 1_000)
    raw, headers = _raw(demo, "/openapi.json")
    assert headers["content-encoding"] == "gzip" and "accept-encoding" in headers["vary"].lower()
    body = gzip.decompress(raw)
    assert len(body) > 10_000 and body.startswith(b"{")
    if pieces:  # one gzip stream of pieces, as gzip_pieces makes it
        assert raw == delivery.gzip_pieces(body, 6)
        assert raw[10:-8] != zlib_ng.compress(body, 6, -15)
        assert _inflated_by_gnu_gzip(raw) == body
    else:  # zlib-ng's stream, byte for byte
        packer = zlib_ng.compressobj(6, zlib_ng.DEFLATED, 31)
        assert raw == packer.compress(body) + packer.flush()
