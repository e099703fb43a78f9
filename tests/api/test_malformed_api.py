"""Malformed input through the real HTTP app, on both stores: every case is a 4xx that names
the problem (never a 500), and the answer does not depend on the store."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.api.test_api import settings_for
from tests.conftest import NORTH_YORKSHIRE, STORE_KINDS, as_role, make_store

pytestmark = pytest.mark.real_data


@pytest.fixture(params=STORE_KINDS)
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    store = make_store(request.param, tmp_path, request)
    with TestClient(create_app(settings_for(tmp_path), store=store),
                    raise_server_exceptions=False) as c:
        yield as_role(c)
    store.close()


def _police_lines(n: int) -> list[str]:
    return NORTH_YORKSHIRE.read_text("utf-8").splitlines()[: n + 1]


def _clear_4xx(r, *words: str, status: int | tuple[int, ...] = 422) -> dict:
    statuses = status if isinstance(status, tuple) else (status,)
    assert r.status_code in statuses, (r.status_code, r.text[:500])
    body = r.json()
    text = json.dumps(body).lower()
    for word in words:
        assert word.lower() in text, (word, body)
    assert "traceback" not in text and "psycopg" not in text and "recursion" not in text
    return body


def _stored(client: TestClient) -> int:
    return int(client.get("/health").json()["store"]["incidents"])


def test_a_bare_carriage_return_in_the_header_is_a_422(client: TestClient) -> None:
    r = client.post("/v1/incidents", content=b"Crime ID\rX,Month\n1,2\n",
                    headers={"content-type": "text/csv"})
    _clear_4xx(r, "invalid_file")
    assert _stored(client) == 0


@pytest.mark.parametrize("how", ["raw", "multipart"])
def test_a_gzip_body_is_a_422_that_says_so(client: TestClient, how: str) -> None:
    data = gzip.compress(("\n".join(_police_lines(3)) + "\n").encode())
    if how == "raw":
        r = client.post("/v1/incidents", content=data, headers={"content-type": "text/csv"})
    else:
        r = client.post("/v1/incidents", files={"file": ("month.csv.gz", data, "text/csv")})
    _clear_4xx(r, "invalid_file", "gzip")
    assert _stored(client) == 0


@pytest.mark.parametrize(("ctype", "body"), [
    ("application/json", b"[" * 5000 + b"]" * 5000),
    ("application/json", b'[{"lon": -1.08, "lat": 53.96, "occurred_at": "2024-03-01", '
                         b'"crime_type": "Burglary", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}]"),
    ("application/geo+json", b'{"type": "FeatureCollection",\n"features": ['
                             + b"[" * 100_000 + b"]" * 100_000 + b"]}"),
    ("application/geo+json", b'{"type": "FeatureCollection", "features": ['
                             + b"{\"a\": " * 100_000 + b"1" + b"}" * 100_000 + b"]}"),
])
def test_deeply_nested_json_is_a_422(client: TestClient, ctype: str, body: bytes) -> None:
    r = client.post("/v1/incidents", content=body, headers={"content-type": ctype})
    _clear_4xx(r, "invalid_file", "nests")
    assert _stored(client) == 0


def test_a_deeply_nested_line_of_newline_delimited_geojson_is_a_rejected_row(
        client: TestClient) -> None:
    good = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-1.08, 53.96]},
            "properties": {"occurred_at": "2024-03-05T22:10:00Z", "crime_type": "Burglary"}}
    deep = json.dumps(good)[:-1].encode() + b', "x": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    body = json.dumps(good).encode() + b"\n" + deep + b"\n"
    r = client.post("/v1/incidents", content=body, params={"source": "feed.ndjson"},
                    headers={"content-type": "application/geo+json"})
    assert r.status_code == 201, r.text
    report = r.json()
    assert report["counts"]["accepted"] == 1 and report["counts"]["rejected"] == 1
    assert report["rejected_rows"][0]["line"] == 2
    assert "nests" in report["rejected_rows"][0]["detail"]


@pytest.mark.parametrize(("mapping", "words"), [
    ("[columns]\nx = " + "{a = " * 2000 + "1" + "}" * 2000 + "\n", ("nests",)),
    ("[columns]\nx = " + "[" * 2000 + "]" * 2000 + "\n", ("nests",)),
    ("[columns]\nx = 5\n", ("'x'", "must be text")),
    ("[columns]\nx = {a = 1}\ny = 'N'\n", ("'x'", "a table")),
    ("[format]\ndayfirst = 'no'\n", ("'dayfirst'", "true or false")),
])
def test_a_nested_or_mistyped_toml_mapping_is_a_422(client: TestClient, mapping: str,
                                                    words: tuple[str, ...]) -> None:
    r = client.post("/v1/incidents", files={"file": ("export.csv", b"E,N\n1,2\n", "text/csv")},
                    data={"mapping": mapping})
    _clear_4xx(r, "invalid_mapping", *words)


def test_a_nul_byte_in_a_field_rejects_that_row_the_same_on_both_stores(
        client: TestClient) -> None:
    lines = _police_lines(4)
    lines[2] = lines[2].replace("On or near", "On or\x00 near")
    assert "\x00" in lines[2]
    r = client.post("/v1/incidents", content=("\n".join(lines) + "\n").encode(),
                    headers={"content-type": "text/csv"})
    assert r.status_code == 201, r.text
    report = r.json()
    assert report["counts"]["accepted"] == 3 and report["counts"]["rejected"] == 1
    assert report["rejected_rows"] == [{
        "line": 3, "reason": "nul_character",
        "detail": "Location holds a NUL character (U+0000), which is not text a store can keep"}]
    assert _stored(client) == 3


def test_a_nul_in_a_geojson_property_rejects_that_feature(client: TestClient) -> None:
    def feature(location: str) -> dict:
        return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-1.08, 53.96]},
                "properties": {"occurred_at": "2024-03-05T22:10:00Z", "crime_type": "Burglary",
                               "location": location}}

    body = {"type": "FeatureCollection", "features": [feature("Main St"), feature("Main\x00")]}
    r = client.post("/v1/incidents", content=json.dumps(body),
                    headers={"content-type": "application/geo+json"})
    assert r.status_code == 201, r.text
    assert r.json()["counts"]["accepted"] == 1
    assert [(x["line"], x["reason"]) for x in r.json()["rejected_rows"]] == [(2, "nul_character")]


def test_a_nul_in_the_source_name_is_a_422(client: TestClient) -> None:
    r = client.post("/v1/incidents", content=("\n".join(_police_lines(2)) + "\n").encode(),
                    params={"source": "a\x00b.csv"}, headers={"content-type": "text/csv"})
    _clear_4xx(r, "nul")
    assert _stored(client) == 0


def test_a_nul_in_a_key_name_is_a_422_and_a_nul_key_id_is_a_404(client: TestClient) -> None:
    r = client.post("/v1/keys", json={"name": "a\x00b", "role": "analyst"})
    _clear_4xx(r, "nul", "name")
    r = client.delete("/v1/keys/ab%00cd")
    _clear_4xx(r, "key", status=404)


DEEP = b"[" * 5000 + b"]" * 5000  # (under every route's body limit)
DEEP_OBJECT = b'{"a":' * 2000 + b"1" + b"}" * 2000
NOT_UTF8 = b'{"name": "\xff\xfe caf\xe9", "role": "analyst"}'


@pytest.mark.parametrize("path", ["/v1/patrol-plans", "/v1/patrol-plans/0123456789abcdef/visits",
                                  "/v1/keys"])
@pytest.mark.parametrize(("body", "word"), [(DEEP, "nests"), (DEEP_OBJECT, "nests"),
                                            (NOT_UTF8, "utf-8")])
def test_json_bodies_nested_too_deep_or_not_utf8_are_a_4xx(client: TestClient, path: str,
                                                           body: bytes, word: str) -> None:
    r = client.post(path, content=body, headers={"content-type": "application/json"})
    _clear_4xx(r, word, status=(400, 422))


@pytest.mark.parametrize("body", [b"key=\xff\xfe&next=/", b"key=" + b"%5B" * 5000,
                                  b"key[" * 3000 + b"=1"])
def test_a_malformed_login_form_is_a_4xx(client: TestClient, body: bytes) -> None:
    r = client.post("/login", content=body, follow_redirects=False,
                    headers={"content-type": "application/x-www-form-urlencoded"})
    assert 400 <= r.status_code < 500, r.text


def test_the_frameworks_own_errors_have_the_error_shape(client: TestClient) -> None:
    files = [("file", (f"f{i}.csv", b"a,b\n", "text/csv")) for i in range(3)]
    r = client.post("/v1/incidents", files=files)
    assert _clear_4xx(r, "files", status=400)["error"] == "bad_request"
    r = client.post("/v1/incidents", content=b"--x\r\nContent-Disposition: form-data\r\n\r\n",
                    headers={"content-type": "multipart/form-data; boundary=x"})
    assert 400 <= r.status_code < 500 and r.json()["error"]
    r = client.get("/v1/no-such-thing")
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    r = client.put("/v1/keys")
    assert r.status_code == 405 and r.json()["error"] == "method_not_allowed"
    assert "GET" in r.headers["allow"]
