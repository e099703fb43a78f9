"""Behind a TLS-terminating proxy: ``X-Forwarded-Proto: https`` from a trusted proxy
(``HOTSPOT_FORWARDED_ALLOW_IPS``) makes the session cookies ``Secure`` and sends HSTS; from
anyone else it changes nothing. Through the app, and through ``hotspot serve``."""

from __future__ import annotations

import re
import urllib.request
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.access import new_key
from api.app import create_app
from api.csrf import unmasked
from bench._server import serving
from tests.api.test_api import settings_for

HTTPS = {"X-Forwarded-Proto": "https"}


def _sign_in(c: TestClient, key: str, origin: str) -> list[str]:
    """Sign in from ``origin`` through the proxy; the Set-Cookie lines of the answer. (The
    cookies are sent by hand: the client speaks plain HTTP to the 'proxy', and a client keeps
    Secure cookies for HTTPS.)"""
    page = c.get("/login", headers=HTTPS)
    token = re.search(r'name="csrf_token" value="([^"]*)"', page.text)
    assert token
    c.cookies.clear()
    r = c.post("/login", data={"key": key, "csrf_token": token.group(1)},
               headers={**HTTPS, "Origin": origin,
                        # the page holds a masked copy of the cookie's value (api.csrf)
                        "Cookie": f"hotspot_login={unmasked(token.group(1))}"},
               follow_redirects=False)
    assert r.status_code == 303, r.text
    return r.headers.get_list("set-cookie")


@pytest.mark.parametrize(("proxy", "trusted"), [("127.0.0.1", True), ("203.0.113.9", False)])
def test_https_at_a_trusted_proxy_makes_cookies_secure_and_sends_hsts(
        tmp_path: Path, proxy: str, trusted: bool) -> None:
    app = create_app(settings_for(tmp_path))
    with TestClient(app, client=(proxy, 40000)) as c:
        key, _ = new_key(app.state.store, name="analyst", role="analyst")
        r = c.get("/health", headers=HTTPS)
        assert ("strict-transport-security" in r.headers) is trusted
        assert "strict-transport-security" not in c.get("/health").headers  # plain HTTP
        # the origin the browser saw is https://...: the same origin only through a trusted proxy
        cookies = _sign_in(c, key, "https://testserver" if trusted else "http://testserver")
        session = next(x for x in cookies if x.startswith("hotspot_session="))
        token = next(x for x in cookies if x.startswith("hotspot_csrf="))
        assert ("; secure" in session.lower()) is trusted
        assert ("; secure" in token.lower()) is trusted
        page = c.get("/login", headers=HTTPS)
        assert ("; secure" in page.headers["set-cookie"].lower()) is trusted


def test_an_untrusted_client_cannot_claim_https_for_another_origin(tmp_path: Path) -> None:
    app = create_app(settings_for(tmp_path, forwarded_allow_ips="10.1.2.3"))
    with TestClient(app, client=("127.0.0.1", 40000)) as c:
        key, _ = new_key(app.state.store, name="analyst", role="analyst")
        page = c.get("/login", headers=HTTPS)
        assert "secure" not in page.headers["set-cookie"].lower()
        token = re.search(r'name="csrf_token" value="([^"]*)"', page.text)
        assert token
        r = c.post("/login", data={"key": key, "csrf_token": token.group(1)},
                   headers={**HTTPS, "Origin": "https://testserver"}, follow_redirects=False)
        assert r.status_code == 403  # the request reached the service over plain HTTP


@pytest.mark.parametrize(("allow", "trusted"), [(None, True), ("10.1.2.3", False)])
def test_hotspot_serve_trusts_the_proxies_of_the_setting(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, allow: str | None,
        trusted: bool) -> None:
    if allow is None:
        monkeypatch.delenv("HOTSPOT_FORWARDED_ALLOW_IPS", raising=False)
    else:
        monkeypatch.setenv("HOTSPOT_FORWARDED_ALLOW_IPS", allow)
    with serving(tmp_path, tmp_path / "force.sqlite", demo=False, tiles="none") as s:
        req = urllib.request.Request(f"{s.url}/health", headers=HTTPS)
        with urllib.request.urlopen(req, timeout=30) as r:
            assert (r.headers.get("Strict-Transport-Security") is not None) is trusted
