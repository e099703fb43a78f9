"""Security headers and the Content-Security-Policy's per-response nonces, through the app."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.security import tile_origin
from tests.api.test_api import settings_for
from tests.conftest import as_role


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = settings_for(tmp_path, tile_url="https://{s}.tiles.example.org/{z}/{x}/{y}.png")
    with TestClient(create_app(settings)) as c:
        yield as_role(c)


def _csp(headers) -> dict[str, str]:
    return {d.split(" ", 1)[0]: d.split(" ", 1)[1] if " " in d else ""
            for d in (x.strip() for x in headers["content-security-policy"].split(";"))}


def test_every_response_has_the_headers(client: TestClient) -> None:
    for path in ("/health", "/v1/layers", "/docs", "/static/maps/field.js", "/nope"):
        r = client.get(path)
        assert r.headers["x-content-type-options"] == "nosniff", path
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] == "same-origin"
        csp = _csp(r.headers)
        assert "'unsafe-inline'" not in csp["script-src"] and "*" not in csp["script-src"]
        assert csp["object-src"] == "'none'" and csp["frame-ancestors"] == "'none'"
    assert "strict-transport-security" not in client.get("/health").headers


def test_inline_scripts_carry_this_responses_nonce(client: TestClient) -> None:
    seen = set()
    for _ in range(2):
        r = client.get("/docs")
        nonce = re.search(r"'nonce-([^']+)'", _csp(r.headers)["script-src"]).group(1)
        tags = re.findall(r"<script\b[^>]*>", r.text)
        assert tags and all(f'nonce="{nonce}"' in t for t in tags)
        seen.add(nonce)
    assert len(seen) == 2  # a fresh nonce each time


def test_tiles_may_be_images_and_nothing_else(client: TestClient) -> None:
    csp = _csp(client.get("/health").headers)
    assert "https://*.tiles.example.org" in csp["img-src"]
    assert "tiles.example.org" not in csp["script-src"] + csp["connect-src"]
    assert tile_origin("none") is None and tile_origin(None) is None
    assert tile_origin("http://127.0.0.1:9/t/{z}/{x}/{y}.png") == "http://127.0.0.1:9"


def test_cors_is_closed_by_default_and_opens_to_the_allow_list(tmp_path: Path,
                                                              client: TestClient) -> None:
    origin = "https://intranet.force.local"
    r = client.get("/health", headers={"Origin": origin})
    assert "access-control-allow-origin" not in r.headers
    settings = settings_for(tmp_path / "cors", cors_origins=[origin])
    with TestClient(create_app(settings)) as c:
        assert c.get("/health", headers={"Origin": origin}).headers[
            "access-control-allow-origin"] == origin
        other = c.get("/health", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


def test_a_304_keeps_the_stored_policy(client: TestClient) -> None:
    first = client.get("/v1/hotspots")
    assert first.status_code == 200 and "etag" in first.headers
    again = client.get("/v1/hotspots", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert "content-security-policy" not in again.headers  # the page's nonce stays valid
    assert again.headers["x-content-type-options"] == "nosniff"
