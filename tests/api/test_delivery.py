"""Compression and caching (api.delivery), and the masked tokens that make compression safe."""

from __future__ import annotations

import gzip
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.csrf import masked, unmasked
from maps.assets import static_version
from tests.api.test_api import served_demo, settings_for
from tests.conftest import as_role, sign_in_client

HERE = "http://testserver"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(settings_for(tmp_path))) as c:
        yield c


def test_text_answers_are_gzipped_when_accepted(client: TestClient) -> None:
    as_role(client)
    for path in ("/openapi.json", f"/static/maps/field.js?v={static_version()}",
                 "/static/leaflet/leaflet.js", "/v1/taxonomy"):
        r = client.get(path, headers={"Accept-Encoding": "gzip"})
        assert r.status_code == 200, path
        assert r.headers.get("content-encoding") == "gzip", path
        assert "accept-encoding" in r.headers.get("vary", "").lower(), path
        plain = client.get(path, headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers, path
        assert r.content == plain.content, path  # httpx decodes: the same bytes
    # the wire size is the compressed one: a script of 140 kB travels as a fraction of it
    raw = client.get("/static/leaflet/leaflet.js", headers={"Accept-Encoding": "identity"})
    assert len(gzip.compress(raw.content, 6)) < len(raw.content) / 2


def test_small_answers_are_not_compressed(client: TestClient) -> None:
    r = client.get("/health", headers={"Accept-Encoding": "gzip"})
    assert r.status_code in (200, 503)
    assert "content-encoding" not in r.headers


def test_versioned_static_files_are_kept_a_year_others_revalidate(client: TestClient) -> None:
    v = static_version()
    kept = client.get(f"/static/maps/planner.js?v={v}")
    assert kept.headers["cache-control"] == "public, max-age=31536000, immutable"
    for url in ("/static/maps/planner.js", "/static/maps/planner.js?v=0123456789ab"):
        r = client.get(url)
        assert r.headers["cache-control"] == "no-cache", url
        etag = r.headers["etag"]
        again = client.get(url, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""


def test_pages_name_their_assets_with_the_version(client: TestClient) -> None:
    as_role(client)
    page = client.get("/")
    assert page.status_code == 200
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text)
    assert assets
    assert all(a.endswith(f"?v={static_version()}") for a in assets), assets


def test_answers_that_say_nothing_are_private_and_revalidated(client: TestClient) -> None:
    as_role(client)
    for path in ("/v1/layers", "/v1/taxonomy", "/nope"):
        assert client.get(path).headers["cache-control"] == "private, no-cache", path


def test_a_masked_token_differs_every_time_and_unmasks_to_the_token() -> None:
    token = secrets.token_urlsafe(32)  # as the session's and the sign-in tokens are made
    seen = {masked(token) for _ in range(20)}
    assert len(seen) == 20 and all(len(m) == 86 for m in seen)
    assert {unmasked(m) for m in seen} == {token}
    assert unmasked(token) == token and unmasked(" x ") == "x"  # not a mask: as it is


def test_pages_never_repeat_a_secret_and_masked_tokens_still_work(client: TestClient) -> None:
    # BREACH: a compressed page that holds the same secret beside text an attacker chooses
    # leaks the secret through its size; the pages hold a fresh mask of it every time
    first = client.get("/login?next=/x")
    second = client.get("/login?next=/x")
    field = r'name="csrf_token" value="([^"]*)"'
    a, b = re.search(field, first.text).group(1), re.search(field, second.text).group(1)
    assert a != b and unmasked(a) == unmasked(b) == client.cookies.get("hotspot_login")
    store = client.app.state.store or client.app.state.open_store()
    from api.access import new_key

    key, _ = new_key(store, name="planner", role="analyst")
    assert sign_in_client(client, key).status_code == 303  # posted a masked sign-in token
    token = client.cookies.get("hotspot_csrf")
    pages = [client.get("/products").text for _ in range(2)]
    forms = [re.search(field, p).group(1) for p in pages]
    assert forms[0] != forms[1] and token not in pages[0]
    assert all(unmasked(f) == token for f in forms)
    out = client.post("/logout", data={"csrf_token": forms[1]}, headers={"Origin": HERE},
                      follow_redirects=False)
    assert out.status_code == 303
    assert client.get("/v1/whoami").status_code == 401  # the session is over


def test_the_tab_icon_is_served_to_anyone(client: TestClient) -> None:
    r = client.get("/favicon.ico")
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    assert r.content.startswith(b"<svg") and "max-age" in r.headers["cache-control"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, demo_files) -> Iterator[TestClient]:
    from geodata.stores import SQLiteStore

    root = tmp_path_factory.mktemp("delivery")
    with served_demo(SQLiteStore.open(root / "demo.sqlite"), root, demo_files) as c:
        yield as_role(c)


def test_unchanged_pages_and_plan_data_answer_304(demo: TestClient) -> None:
    plan = demo.post("/v1/patrol-plans", json={
        "name": "Friday late", "published": True,
        "shift": {"start": "2024-06-14T16:00", "end": "2024-06-15T02:00"},
        "rural_crime_team": {"vehicles": 1}, "town_centre_officers": {"Thornbury": 1}})
    assert plan.status_code == 201, plan.text
    pid = plan.json()["plan_id"]
    for path in ("/", "/v1/density?format=png", f"/plans/{pid}", f"/v1/patrol-plans/{pid}/map",
                 f"/v1/patrol-plans/{pid}/briefing", f"/v1/patrol-plans/{pid}/field-data"):
        first = demo.get(path)
        assert first.status_code == 200, path
        etag = first.headers["etag"]
        assert first.headers["cache-control"].startswith("private"), path
        again = demo.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b"", path
        assert again.headers["etag"] == etag
        if "density" in path:
            continue  # the same image for everyone who may see it
        # the same page for another caller (its own bar and token) is another page
        other = TestClient(demo.app)
        as_role(other, "analyst")
        assert other.get(path, headers={"If-None-Match": etag}).status_code == 200, path
    # publishing changes what the plan's pages show: a new tag
    draft = demo.post("/v1/patrol-plans", json={
        "shift": {"start": "2024-06-14T16:00", "end": "2024-06-15T02:00"},
        "rural_crime_team": {"vehicles": 1}}).json()
    before = demo.get(f"/plans/{draft['plan_id']}").headers["etag"]
    assert demo.post(f"/v1/patrol-plans/{draft['plan_id']}/publish").status_code == 200
    after = demo.get(f"/plans/{draft['plan_id']}", headers={"If-None-Match": before})
    assert after.status_code == 200 and after.headers["etag"] != before


def test_a_person_following_a_bad_link_gets_a_page_programs_get_json(demo: TestClient) -> None:
    page = {"Sec-Fetch-Dest": "document", "Accept": "text/html"}
    for path, status, words in (
            ("/plans/not-a-plan", 404, "16 hexadecimal characters"),
            ("/field/0123456789abcdef", 404, "No patrol plan 0123456789abcdef"),
            ("/?town=<b>Atlantis</b>", 422, "Atlantis")):
        r = demo.get(path, headers=page)
        assert r.status_code == status, (path, r.text)
        assert r.headers["content-type"].startswith("text/html"), path
        assert words in r.text or words in r.text.replace("&#x27;", "'"), (path, r.text)
        assert "<b>Atlantis</b>" not in r.text  # the caller's text only as text
        assert 'href="/plans"' in r.text and "content-security-policy" in r.headers
        data = demo.get(path)  # a program (or a page's script): the JSON error as before
        assert data.status_code == status and data.json()["detail"]


def test_a_page_refused_to_a_role_offers_the_pages_it_may_open(
        demo: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    """A partner following a link to a staff page is told why, and shown the pages a partner
    may open (not the map and plans it was just refused) and how to sign in with another key;
    the request log names the key's role."""
    page = {"Sec-Fetch-Dest": "document", "Accept": "text/html"}
    partner = as_role(TestClient(demo.app), "partner")
    for path in ("/plans", "/"):
        with caplog.at_level("INFO", logger="hotspot.requests"):
            r = partner.get(path, headers=page)
        logged = [getattr(rec, "fields", {}) for rec in caplog.records
                  if rec.getMessage() == f"GET {path} 403"]
        assert logged and logged[-1]["role"] == "partner" and logged[-1]["key_id"], logged
        assert 'href="/login"' in r.text
        assert r.status_code == 403 and r.headers["content-type"].startswith("text/html"), path
        assert "Not open to your role" in r.text and "partner role" in r.text
        # the service's message as a sentence for a person
        assert re.search(r"<p>The partner role may not do this;[^<]*\.</p>", r.text), r.text
        bar = re.search(r'<nav class="hs-nav".*?</nav>', r.text)
        assert bar, r.text
        assert 'href="/products"' in bar[0] and 'href="/report-incident"' in bar[0]
        assert 'href="/plans"' not in r.text and 'href="/"' not in r.text
    assert partner.get("/plans").json()["error"] == "forbidden"  # programs: JSON as before
    # a caller with no key is pointed to sign in
    r = TestClient(demo.app).get("/plans/0123456789abcdef/nothing", headers=page)
    assert r.status_code == 404 and "<nav" not in r.text and 'href="/login"' in r.text


def test_a_misspelt_parameter_is_refused_naming_the_one_meant(demo: TestClient) -> None:
    """A parameter within a typo of one the route takes would be ignored and the answer made
    without it: a 422 says which was meant. Names nothing like the route's pass as before (a
    cache-buster, a proxy's own), and the right names work."""
    for query, sent, meant in (("method=kde&bandwith_m=300", "bandwith_m", "bandwidth_m"),
                               ("methd=kde", "methd", "method"),
                               ("eps=200", "eps", "eps_m"),
                               ("priorty=rural", "priorty", "priority")):
        r = demo.get(f"/v1/hotspots?{query}")
        assert r.status_code == 422, (query, r.text)
        assert r.json()["field"] == sent and f"did you mean '{meant}'" in r.json()["detail"]
    for query in ("_=1733050000", "api_key=x&t=5", "method=kde&bandwidth_m=300"):
        assert demo.get(f"/v1/hotspots?{query}").status_code == 200, query
    page = demo.get("/?methd=kde", headers={"Sec-Fetch-Dest": "document", "Accept": "text/html"})
    assert page.status_code == 422 and "did you mean &#x27;method&#x27;" in page.text
