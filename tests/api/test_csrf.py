"""CSRF through the real app: a request that changes something with the session cookie needs the
service's own origin and the session's token; signing in needs the same origin and the form's
token; signing out revokes the session in the store, across a restart. Requests with a key in
a header need neither."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.access import new_key
from api.app import create_app
from geodata.stores import SQLiteStore
from tests.api.test_api import settings_for
from tests.conftest import NORTH_YORKSHIRE, csrf_headers, sign_in_client

pytestmark = pytest.mark.real_data

HERE = "http://testserver"
ELSEWHERE = "http://testserver:9999"


@pytest.fixture
def signed_in(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    with TestClient(create_app(settings_for(tmp_path))) as c:
        store = c.app.state.store
        keys = {role: new_key(store, name=role, role=role)[0]
                for role in ("admin", "analyst", "partner")}
        assert sign_in_client(c, keys["admin"]).status_code == 303
        yield c, keys


def _key(c: TestClient, headers: dict[str, str], name: str = "made here") -> int:
    return c.post("/v1/keys", json={"name": name, "role": "partner"},
                  headers=headers).status_code


def test_a_change_with_the_session_needs_the_same_origin_and_the_token(signed_in) -> None:
    c, keys = signed_in
    token = c.cookies["hotspot_csrf"]
    assert _key(c, csrf_headers(c)) == 201
    assert _key(c, {"Origin": HERE}) == 403  # no token
    assert _key(c, {"Origin": HERE, "X-CSRF-Token": token[:-2] + "xx"}) == 403
    assert _key(c, {"Origin": ELSEWHERE, "X-CSRF-Token": token}) == 403
    assert _key(c, {"Origin": "null", "X-CSRF-Token": token}) == 403
    assert _key(c, {"X-CSRF-Token": token}) == 403  # says nothing of where it comes from
    assert _key(c, {"Sec-Fetch-Site": "same-site", "Origin": HERE, "X-CSRF-Token": token}) == 403
    assert _key(c, {"Sec-Fetch-Site": "same-origin", "X-CSRF-Token": token}) == 201
    assert _key(c, {"Sec-Fetch-Site": "same-origin", "Origin": "null",
                    "X-CSRF-Token": token}) == 201  # a form post from an opaque-origin-hiding browser
    r = c.post("/v1/keys", json={"name": "x", "role": "partner"}, headers={"Origin": ELSEWHERE})
    assert r.json()["error"] == "csrf_refused" and ELSEWHERE not in r.text
    made = c.post("/v1/keys", json={"name": "gone", "role": "partner"},
                  headers=csrf_headers(c)).json()
    assert c.delete(f"/v1/keys/{made['key_id']}", headers={"Origin": ELSEWHERE}).status_code == 403
    assert c.delete(f"/v1/keys/{made['key_id']}", headers=csrf_headers(c)).status_code == 200
    assert c.get("/v1/keys").status_code == 200  # reads need no token
    with TestClient(c.app) as program:  # a key in a header: not CSRF-able, needs neither
        assert _key(program, {"Authorization": f"Bearer {keys['admin']}",
                              "Origin": ELSEWHERE}) == 201


def test_a_cross_origin_multipart_upload_with_the_cookie_is_refused(tmp_path: Path) -> None:
    with TestClient(create_app(settings_for(tmp_path))) as c:
        analyst, _ = new_key(c.app.state.store, name="analyst", role="analyst")
        sign_in_client(c, analyst)
        rows = b"".join(NORTH_YORKSHIRE.read_bytes().splitlines(keepends=True)[:30])
        for headers in ({"Origin": ELSEWHERE}, {"Sec-Fetch-Site": "same-site"}, {}):
            r = c.post("/v1/incidents", files={"file": ("x.csv", rows, "text/csv")},
                       headers=headers)
            assert r.status_code == 403 and r.json()["error"] == "csrf_refused"
        assert c.app.state.store.count() == 0
        r = c.post("/v1/incidents", files={"file": ("x.csv", rows, "text/csv")},
                   headers=csrf_headers(c))
        assert r.status_code == 201  # the service's own page, with the token


def test_a_token_belongs_to_its_session(signed_in) -> None:
    c, keys = signed_in
    first = c.cookies["hotspot_csrf"]
    with TestClient(c.app) as other:
        sign_in_client(other, keys["admin"])
        assert other.cookies["hotspot_csrf"] != first
        assert _key(other, {"Origin": HERE, "X-CSRF-Token": first}) == 403
        assert _key(other, csrf_headers(other)) == 201


def test_sign_in_needs_the_same_origin_and_the_forms_token(signed_in) -> None:
    """Login CSRF: a form elsewhere posting the attacker's key must not replace the session."""
    c, keys = signed_in
    assert c.get("/v1/whoami").json()["role"] == "admin"
    forged = {"key": keys["partner"], "next": "/"}
    r = c.post("/login", data=forged, headers={"Origin": ELSEWHERE}, follow_redirects=False)
    assert r.status_code == 403 and "hotspot_session" not in r.headers.get("set-cookie", "")
    r = c.post("/login", data=forged, headers={"Sec-Fetch-Site": "cross-site"},
               follow_redirects=False)
    assert r.status_code == 403
    r = c.post("/login", data={**forged, "csrf_token": "x" * 43}, headers={"Origin": HERE},
               follow_redirects=False)  # the same origin, but not this browser's form
    assert r.status_code == 403 and "expired" in r.text
    assert "hotspot_session" not in r.headers.get("set-cookie", "")
    assert c.get("/v1/whoami").json()["role"] == "admin"
    assert sign_in_client(c, keys["partner"]).status_code == 303  # a real sign-in still works
    assert c.get("/v1/whoami").json()["role"] == "partner"


def test_signing_out_revokes_the_session_even_after_a_restart(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    with TestClient(create_app(settings)) as c:
        analyst, _ = new_key(c.app.state.store, name="analyst", role="analyst")
        sign_in_client(c, analyst)
        copied = c.cookies["hotspot_session"]
        with TestClient(c.app, cookies={"hotspot_session": copied}) as thief:
            assert thief.get("/v1/whoami").status_code == 200  # a copy works, until...
        assert c.post("/logout", headers={"Origin": HERE}).status_code == 403  # no token
        assert c.get("/v1/whoami").status_code == 200
        assert c.post("/logout", headers={"Origin": ELSEWHERE, **{
            "X-CSRF-Token": c.cookies["hotspot_csrf"]}}).status_code == 403
        out = c.post("/logout", headers=csrf_headers(c), follow_redirects=False)
        assert out.status_code == 303 and out.headers["location"] == "/login"
        assert "hotspot_session" not in c.cookies
        with TestClient(c.app, cookies={"hotspot_session": copied}) as thief:
            assert thief.get("/v1/whoami").status_code == 401
    c.app.state.store.close()
    with TestClient(create_app(settings), cookies={"hotspot_session": copied}) as restarted:
        assert restarted.get("/v1/whoami").status_code == 401
    store = SQLiteStore.open(settings.store_url())
    assert [k["key_id"] for k in store.list_keys()] == [analyst[4:16]]  # the key still lives
    store.close()
