"""The priority reports' pages through the real HTTP app on the demo, in both stores: the list
with its form, a report's page as stored, its PDF printed by the real headless Chromium, who
may open them, and the PDF's 503 when Chromium is not there."""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from api.access import new_key
from api.app import create_app
from tests.api.test_api import served_demo, settings_for
from tests.conftest import STORE_KINDS, as_role, make_store

PERIOD = "2024-Q2"


@pytest.fixture(scope="module", params=STORE_KINDS)
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
        demo_files) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("report-pages")
    with served_demo(make_store(request.param, root, request), root, demo_files) as c:
        yield as_role(c, "analyst")


@pytest.fixture(scope="module")
def report(app: TestClient) -> dict:
    r = app.post("/v1/reports", json={"period": PERIOD})
    assert r.status_code == 201, r.text
    return app.get(r.json()["links"]["self"]).json()


def _with_role(app: TestClient, role: str) -> dict[str, str]:
    token, _record = new_key(app.app.state.store, name=f"test {role}", role=role)  # type: ignore[attr-defined]
    return {"Authorization": f"Bearer {token}"}


def test_the_list_shows_the_report_and_the_form(app: TestClient, report: dict) -> None:
    r = app.get("/reports")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert f'<tr data-report="{report["report_id"]}">' in html
    assert f'href="/reports/{report["report_id"]}"' in html
    assert f'href="/reports/{report["report_id"]}.pdf"' in html
    assert f'href="/v1/reports/{report["report_id"]}/csv"' in html
    assert "April to June 2024" in html
    # the form offers whole periods up to the store's last whole month, that month chosen
    options = re.findall(r'<option value="([^"]+)"( selected)?>', html)
    values = [v for v, _s in options]
    assert [v for v, s in options if s] == ["2024-12"]
    assert {"2024-12", "2024-Q4", "2024-Q1", "2024"} <= set(values)
    # not the year 2023 (the demo starts in January 2023: no year before to compare with),
    # nor "January to December 2024" (the year 2024 again)
    assert "2023" not in values and "2024-12-YTD" not in values
    assert "/static/maps/reports.js?v=" in html
    # the navigation bar links here for staff, marked as the page shown
    assert '<a href="/reports" aria-current="page">Priority reports</a>' in html


def test_the_page_is_the_stored_report(app: TestClient, report: dict) -> None:
    r = app.get(f"/reports/{report['report_id']}")
    assert r.status_code == 200
    html = r.text
    assert f"Priority report: {report['period_label']}" in html
    assert report["data_version"] in html
    keys = [p["key"] for p in report["priorities"]]
    assert re.findall(r'<section class="priority" id="priority-\d+" data-priority="([^"]+)"',
                      html) == keys
    charted = [p for p in report["priorities"] if p["monthly"]]
    assert html.count('class="chart paired-month-chart"') == len(charted) > 0
    for t in report["tables"]:
        assert f'href="/v1/reports/{report["report_id"]}/tables/{t["name"]}.csv"' in html
    # each top place links to its page with the analysis it came from
    for p in report["priorities"]:
        for t in p["top_places"]:
            assert (f'href="/hotspots/{t["hotspot_id"]}?method=dbscan&amp;priority={p["key"]}'
                    f'&amp;from=2024-04&amp;to=2024-06"') in html
    # the nav bar on the page, none in what is printed (the style sheet hides it)
    assert '<nav class="hs-nav"' in html and "@media print { nav.hs-nav { display: none; } }" in html


def test_the_pdf_is_printed_by_chromium(app: TestClient, report: dict) -> None:
    r = app.get(f"/reports/{report['report_id']}.pdf")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"] == (
        f'attachment; filename="priority-report-{PERIOD}-{report["report_id"]}.pdf"')
    assert r.content.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(r.content))
    texts = [" ".join(unicodedata.normalize("NFKC", page.extract_text()).split())
             for page in reader.pages]  # ligatures to letters
    # A4, the title first, each priority beginning a page of its own, no navigation bar
    box = reader.pages[0].mediabox
    assert abs(float(box.width) - 595.3) < 2 and abs(float(box.height) - 841.9) < 2
    assert texts[0].startswith(f"Priority report: {report['period_label']}")
    for p in report["priorities"]:
        assert any(t.startswith(p["label"]) for t in texts), p["label"]
    assert len(reader.pages) >= 1 + len(report["priorities"]) + 2
    assert not any("Sign out" in t or "Download PDF" in t for t in texts)
    # its links lead to the service, not to files beside the PDF
    links = [str(a.get_object()["/A"]["/URI"]) for page in reader.pages
             for a in page.get("/Annots") or [] if "/A" in a.get_object()]
    rid = report["report_id"]
    assert f"http://testserver/v1/reports/{rid}/tables/priorities.csv" in links
    assert all(u.startswith("http://testserver/") for u in links), links[:5]


def test_only_staff_open_the_report_pages(app: TestClient, report: dict) -> None:
    rid = report["report_id"]
    for role in ("rural_team", "partner"):
        headers = _with_role(app, role)
        for path in ("/reports", f"/reports/{rid}", f"/reports/{rid}.pdf"):
            assert app.get(path, headers=headers).status_code == 403, (role, path)
    admin = _with_role(app, "admin")
    assert app.get(f"/reports/{rid}", headers=admin).status_code == 200
    # the nav bar links to the reports for staff only
    assert 'href="/reports"' not in app.get("/plans", headers=_with_role(app, "rural_team")).text


@pytest.mark.parametrize("path", ["/reports/{rid}", "/reports/{rid}.pdf"])
def test_an_unknown_report_is_404(app: TestClient, report: dict, path: str) -> None:
    for rid in ("0123456789abcdef", "<script>", "x" * 300):
        r = app.get(path.format(rid=rid))
        assert r.status_code == 404, (rid, r.text)
        # an answer in JSON naming the field, never a page with the id in it
        assert r.headers["content-type"] == "application/json"
        assert r.json()["field"] == "report_id"


def test_no_chromium_is_a_503_saying_so(app: TestClient, report: dict, tmp_path: Path) -> None:
    store = app.app.state.store  # type: ignore[attr-defined]
    missing = tmp_path / "no-chromium"
    with TestClient(create_app(settings_for(tmp_path, chromium=missing), store=store)) as c:
        as_role(c, "analyst")
        r = c.get(f"/reports/{report['report_id']}.pdf")
        assert r.status_code == 503
        assert str(missing) in r.json()["detail"] and "HOTSPOT_CHROMIUM" in r.json()["detail"]
        # the page itself still opens
        assert c.get(f"/reports/{report['report_id']}").status_code == 200


def test_a_print_counts_in_the_keys_analyses(app: TestClient, report: dict,
                                             tmp_path: Path) -> None:
    """GET /reports/{id}.pdf holds a worker thread for a print: it counts in the key's
    analyses a minute, as its job (POST /v1/reports/{id}/pdf) does, so one key's burst of
    prints is refused (429) instead of stalling every other request."""
    store = app.app.state.store  # type: ignore[attr-defined]
    settings = settings_for(tmp_path, chromium=tmp_path / "no-chromium",  # fails at once
                            analyses_per_minute={"admin": 60, "analyst": 1, "rural_team": 1,
                                                 "partner": 0})
    with TestClient(create_app(settings, store=store)) as c:
        as_role(c, "analyst")
        assert c.get(f"/reports/{report['report_id']}.pdf").status_code == 503
        again = c.get(f"/reports/{report['report_id']}.pdf")
        assert again.status_code == 429 and again.headers["retry-after"], again.text
        assert "analyses a minute" in again.json()["detail"]
        assert c.get(f"/reports/{report['report_id']}").status_code == 200  # the page opens
