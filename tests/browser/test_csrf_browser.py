"""CSRF in a real headless Chromium against the real service: a page of another origin on the
same site (``http://127.0.0.1:<another port>``, which the browser counts as the same site, so the
``SameSite=Strict`` session cookie goes along) can neither store rows with a signed-in
analyst's cookie nor replace the analyst's session with its own."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import Browser

from bench._server import Server, serving, sign_in
from tests.browser.conftest import site
from tests.conftest import NORTH_YORKSHIRE

pytestmark = [pytest.mark.browser, pytest.mark.real_data]


@functools.cache
def real_csv() -> str:
    """The first rows of a real data.police.uk file (read when a test needs it, not at import)."""
    return b"".join(NORTH_YORKSHIRE.read_bytes().splitlines(keepends=True)[:30]).decode()


UPLOAD = """async ({url, csv, token, mode}) => {
  const form = new FormData();
  form.append("file", new Blob([csv], {type: "text/csv"}), "street.csv");
  const headers = token === null ? {} : {"X-CSRF-Token": token};
  const r = await fetch(url + "/v1/incidents", {method: "POST", mode, credentials: "include",
                                                headers, body: form});
  return r.status;
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("csrf")
    with serving(folder, folder / "force.sqlite", demo=False, tiles="none") as s:
        yield s


def _key(server: Server, role: str) -> str:
    return server.json("/v1/keys", {"name": f"{role} in the browser", "role": role})["key"]


@contextmanager
def elsewhere(html: str) -> Iterator[str]:
    """A page of ``html`` served at another origin of the same site (127.0.0.1, another
    port: the attacker's), whatever the path; yields its URL."""
    page = (html.encode(), {"Content-Type": "text/html; charset=utf-8"})
    with site({}, anything_else=page) as url:
        yield url + "/"


def _stored(server: Server) -> int:
    return int(server.json("/health")["store"]["incidents"])


def test_a_page_of_another_origin_cannot_post_with_the_cookie(browser: Browser,
                                                              server: Server) -> None:
    context = browser.new_context()
    victim = context.new_page()
    sign_in(victim, server.url, _key(server, "analyst"))
    assert victim.evaluate("fetch('/v1/whoami').then(r => r.json())")["role"] == "analyst"
    attacker = context.new_page()
    before = _stored(server)
    with elsewhere("<!DOCTYPE html><title>cat pictures</title>") as url:
        attacker.goto(url)
        attacker.evaluate(UPLOAD, {"url": server.url, "csv": real_csv(), "token": None,
                                   "mode": "no-cors"})  # the answer is opaque; the store tells
    assert _stored(server) == before, "a page of another origin stored rows with the cookie"
    # the service's own page, with the session's token from its cookie, may
    token = victim.evaluate("document.cookie.match(/hotspot_csrf=([^;]+)/)[1]")
    assert victim.evaluate(UPLOAD, {"url": "", "csv": real_csv(), "token": None,
                                    "mode": "same-origin"}) == 403  # without the token
    assert victim.evaluate(UPLOAD, {"url": "", "csv": real_csv(), "token": token,
                                    "mode": "same-origin"}) == 201
    assert _stored(server) > before
    context.close()


def test_a_form_elsewhere_cannot_sign_the_browser_in_to_another_session(
        browser: Browser, server: Server) -> None:
    context = browser.new_context()
    victim = context.new_page()
    sign_in(victim, server.url, _key(server, "analyst"))
    attacker = context.new_page()
    with elsewhere(f"""<!DOCTYPE html><title>win a prize</title>
<form id="f" method="post" action="{server.url}/login">
<input name="key" value="{_key(server, 'partner')}"><input name="next" value="/v1/whoami">
</form><script>document.getElementById("f").submit();</script>""") as url:
        attacker.goto(url)
        attacker.wait_for_url(f"{server.url}/**")
    assert "csrf_refused" in attacker.content()
    victim.goto(f"{server.url}/v1/whoami")
    assert victim.evaluate("fetch('/v1/whoami').then(r => r.json())")["role"] == "analyst"
    context.close()
