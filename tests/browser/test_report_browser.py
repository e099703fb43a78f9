"""The priority report in a real headless Chromium, served by the real service on the demo:
made from the reports page's form as an analyst makes it, read on screen, printed to PDF by the
browser (A4, each priority starting a page, no navigation), and the service's own PDF.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page
from pypdf import PdfReader

from bench._server import Server, sign_in
from tests.browser.conftest import demo_server

pytestmark = pytest.mark.browser
A4_PT = (595.3, 841.9)
"""A4 in PDF points (210 x 297 mm)."""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, demo_files) -> Iterator[Server]:
    with demo_server(tmp_path_factory, demo_files) as s:
        yield s


@pytest.fixture(scope="module")
def made(browser: Browser, server: Server) -> dict:
    """A report made from the page's form (the period it offers first: the last whole
    month), as the page then shows it: its address and the stored document."""
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    sign_in(page, server.url, server.key)  # to the map, whose tiles never load here
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{server.url}/reports")
    assert page.locator("#no-reports").is_visible()
    period = page.locator("#r-period").input_value()
    with page.expect_navigation(url=f"{server.url}/reports/*", timeout=120_000):
        page.click("#report-make")
    url = page.url
    page.close()
    assert not errors, errors
    report_id = url.rsplit("/", 1)[1]
    return {"url": url, "period": period, "document": server.json(f"/v1/reports/{report_id}")}


def _pdf_texts(pdf: bytes) -> tuple[PdfReader, list[str]]:
    reader = PdfReader(io.BytesIO(pdf))
    return reader, [" ".join(unicodedata.normalize("NFKC", p.extract_text()).split())
                    for p in reader.pages]


def _check_printed(pdf: bytes, document: dict) -> None:
    """A4 pages; the title first; each priority, the dosage and the tables on a page of their
    own; no navigation bar or links bar."""
    assert pdf.startswith(b"%PDF")
    reader, texts = _pdf_texts(pdf)
    for sheet in reader.pages:
        box = sheet.mediabox
        assert abs(float(box.width) - A4_PT[0]) < 2 and abs(float(box.height) - A4_PT[1]) < 2
    assert texts[0].startswith(f"Priority report: {document['period_label']}")
    starts = []
    for p in document["priorities"]:
        found = [i for i, t in enumerate(texts) if t.startswith(p["label"])]
        assert found, (p["label"], [t[:60] for t in texts])
        starts.append(found[0])
    assert starts == sorted(starts) and starts[0] >= 1
    dosage = [i for i, t in enumerate(texts) if t.startswith("Patrol dosage")]
    tables = [i for i, t in enumerate(texts) if t.startswith("The report's tables as CSV")]
    assert dosage and tables and starts[-1] < dosage[0] < tables[0] == len(texts) - 1
    assert not any("Sign out" in t or "Download PDF" in t for t in texts)


def test_the_report_reads_on_screen(browser: Browser, server: Server, made: dict) -> None:
    document = made["document"]
    assert document["period"] == made["period"]
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    sign_in(page, server.url, server.key)
    page.goto(made["url"])
    found = page.evaluate("""() => ({
        title: document.querySelector('h1').textContent,
        sections: [...document.querySelectorAll('section.priority')].map(s => s.dataset.priority),
        charts: [...document.querySelectorAll('section.priority svg.paired-month-chart')].map(
            s => ({w: s.getBoundingClientRect().width, bars: s.querySelectorAll('g.month').length})),
        csv: [...document.querySelectorAll('#table-list a')].map(a => a.getAttribute('href')),
        verdicts: [...document.querySelectorAll('#summary-table .verdict')].map(v => v.textContent),
        wide: document.documentElement.scrollWidth > window.innerWidth,
    })""")
    assert found["title"] == f"Priority report: {document['period_label']}"
    assert found["sections"] == [p["key"] for p in document["priorities"]]
    months = len(document["months"])
    assert [c["bars"] for c in found["charts"]] == [2 * months] * len(document["priorities"])
    assert all(c["w"] > 200 for c in found["charts"])
    rid = document["report_id"]
    assert found["csv"] == [f"/v1/reports/{rid}/tables/{t['name']}.csv"
                            for t in document["tables"]]
    assert all(": more than chance" in v or ": could be chance" in v
               or ": too few incidents to test" in v for v in found["verdicts"])
    assert not found["wide"]
    # each CSV link answers with its table
    for t in document["tables"][:2]:
        r = page.request.get(f"{server.url}/v1/reports/{rid}/tables/{t['name']}.csv")
        assert r.status == 200 and r.text().splitlines()[0].split(",")[0] == t["columns"][0]
    page.close()


def test_the_browser_prints_it_to_pdf(browser: Browser, server: Server, made: dict) -> None:
    page = browser.new_page()
    sign_in(page, server.url, server.key)
    page.goto(made["url"])
    page.emulate_media(media="print")
    assert page.locator("nav.hs-nav").is_hidden() and page.locator("nav.links").is_hidden()
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    page.close()
    _check_printed(pdf, made["document"])


def test_the_service_prints_it_to_pdf(browser: Browser, server: Server, made: dict) -> None:
    page: Page = browser.new_page()
    sign_in(page, server.url, server.key)
    page.goto(made["url"])
    with page.expect_download() as download:
        page.click("text=Download PDF")
    pdf = download.value.path().read_bytes()
    name = download.value.suggested_filename
    page.close()
    document = made["document"]
    assert name == f"priority-report-{document['period']}-{document['report_id']}.pdf"
    _check_printed(pdf, document)


def test_a_bad_period_is_told_by_the_form(browser: Browser, server: Server, made: dict) -> None:
    """A period with no year before in the store is not offered; asked for all the same (a
    page left open while the data changed: here an option added to it), the service's refusal
    is told by the form, on the period."""
    page = browser.new_page(viewport={"width": 800, "height": 1280}, is_mobile=True,
                            has_touch=True)
    sign_in(page, server.url, server.key)
    page.goto(f"{server.url}/reports")
    # the list now holds the report made above
    assert page.locator(f'tr[data-report="{made["document"]["report_id"]}"]').is_visible()
    values = page.eval_on_selector_all("#r-period option", "os => os.map(o => o.value)")
    years = [v for v in values if len(v) == 4]
    assert years, values
    oldest_year = str(int(min(years)) - 1)  # the demo's first year: no year before it
    page.evaluate("(y) => document.querySelector('#r-period').add(new Option('The year ' + y, y))",
                  oldest_year)
    page.select_option("#r-period", oldest_year)
    page.click("#report-make")
    page.wait_for_selector("#report-errors:not([hidden])", timeout=60_000)
    text = page.locator("#report-errors").inner_text()
    assert text.startswith("Period: ") and "year before" in text, text
    assert page.locator("#r-period").get_attribute("aria-invalid") == "true"
    assert page.url == f"{server.url}/reports"
    page.close()
