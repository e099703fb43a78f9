"""Prevention leaflets printed to PDF by a real headless Chromium, as an officer or a partner
prints them: exactly one A4 page each, for every audience (the longest steps included), with
the area, the steps and the contact line in the text and the steps in large type; and the
longest leaflet an advice file can make still fits one page."""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page
from pypdf import PdfReader

from api.formats import ATTRIBUTION
from api.services.advice import counts_note
from bench._server import Server, sign_in
from geodata.advice import MAX_CONTACT_CHARS, MAX_STEP_CHARS, PreventionAdvice
from geodata.taxonomy import Taxonomy
from maps.leaflet import LeafletData, leaflet_html
from tests.browser.conftest import demo_server

pytestmark = pytest.mark.browser
A4_PT = (595.3, 841.9)
"""A4 in PDF points (210 x 297 mm)."""
AUDIENCES = ("residents", "businesses", "farms", "heritage")
HOTSPOTS = "method=dbscan&from=2024-01&to=2024-06"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, demo_files) -> Iterator[Server]:
    with demo_server(tmp_path_factory, demo_files) as s:
        yield s


def _printed(page: Page, url: str) -> tuple[int, str, float]:
    """Open ``url`` and print it to PDF as the browser's Print does: the number of pages, the
    first page's text, and the steps' font size in points."""
    response = page.goto(url)
    assert response is not None and response.status == 200, url
    page.emulate_media(media="print")
    size_px = page.evaluate("""() => Math.min(...[...document.querySelectorAll(
        'ol.points li')].map(li => parseFloat(getComputedStyle(li).fontSize)))""")
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    reader = PdfReader(io.BytesIO(pdf))
    box = reader.pages[0].mediabox
    assert abs(float(box.width) - A4_PT[0]) < 2 and abs(float(box.height) - A4_PT[1]) < 2
    text = " ".join(unicodedata.normalize("NFKC", reader.pages[0].extract_text()).split())
    return len(reader.pages), text, size_px * 0.75


def test_every_leaflet_prints_on_one_a4_page(browser: Browser, server: Server) -> None:
    page = browser.new_page()
    sign_in(page, server.url, server.key)
    hotspots = server.json(f"/v1/hotspots?{HOTSPOTS}")["features"]
    first = hotspots[0]["properties"]
    urls = [f"{server.url}/hotspots/{first['id']}/leaflet?{HOTSPOTS}&audience={a}"
            for a in AUDIENCES]
    urls += [f"{server.url}/leaflets/towns/Thornbury?audience={a}" for a in AUDIENCES]
    period = server.json("/v1/products")[0]["period"]
    urls += [f"{server.url}/products/{period}/hotspots/1/leaflet?audience={a}"
             for a in AUDIENCES]
    for url in urls:
        pages, text, steps_pt = _printed(page, url)
        assert pages == 1, (url, pages)
        assert "What you can do" in text and "Who to contact" in text and "999" in text, url
        assert "Paraphrased from memory" in text  # the packaged advice says what it is
        assert steps_pt >= 13.9, (url, steps_pt)  # large type: 14 pt steps
        assert "Also for" not in text and "Back to" not in text  # the screen bar is not printed
        if "/products/" not in url:  # an ad hoc selection's counts: rounded, small ones held
            assert "rounded to the nearest 5" in text, url
    page.close()


def test_a_partner_prints_a_published_hotspots_leaflet(browser: Browser, server: Server) -> None:
    partner = server.json("/v1/keys", {"name": "retail partnership", "role": "partner"})["key"]
    page = browser.new_page()
    sign_in(page, server.url, partner)
    page.goto(f"{server.url}/products")
    link = page.locator("a.leaflet").first
    href = link.get_attribute("href")
    assert href is not None and href.endswith("/hotspots/1/leaflet")
    pages, text, _pt = _printed(page, server.url + href)
    assert pages == 1 and "What you can do" in text and "published counts" in text
    # a hotspot's own leaflet is not a partner's
    response = page.goto(f"{server.url}/hotspots/dbscan-001/leaflet?{HOTSPOTS}")
    assert response is not None and response.status == 403
    page.close()


def test_the_longest_leaflet_an_advice_file_can_make_fits_one_page(browser: Browser) -> None:
    # six steps and a contact line as long as the advice file allows, the three longest
    # category labels of the taxonomy with the held-back line, a long area name
    words = ("Lock tools, quad bikes and small machinery in a secure building, out of sight "
             "from the road; mark them with your postcode and record serial numbers. ") * 4
    labels = sorted((c.label for c in Taxonomy.load().categories.values()), key=len,
                    reverse=True)[:3]
    advice = PreventionAdvice.load()
    data = LeafletData(
        area="The countryside around Wharram Ings deserted medieval village",
        audience_label="Farms and rural businesses", period="November 2023 to October 2024",
        incidents=1_234_567,
        categories=[*((label, 123_456) for label in labels),
                    ("Not broken down by priority (held back to protect small counts)", 9_999)],
        points=[(words[i:i + MAX_STEP_CHARS], f"Source {i}") for i in range(6)],
        contact=(advice.contact * 3)[:MAX_CONTACT_CHARS], note=advice.note,
        attribution=ATTRIBUTION,
        made_from="Made from hotspot dbscan-001 (data version 579e2f8a.1234) on 29 November "
                  "2026.", reason="This leaflet is for farms and rural businesses.",
        counts_note=counts_note(1000))
    page = browser.new_page()
    page.set_content(leaflet_html(data))
    page.emulate_media(media="print")
    size_px = page.evaluate("parseFloat(getComputedStyle(document.querySelector("
                            "'ol.points li')).fontSize)")
    reader = PdfReader(io.BytesIO(page.pdf(prefer_css_page_size=True, print_background=True)))
    page.close()
    assert len(reader.pages) == 1
    assert size_px * 0.75 >= 12.4  # smaller for the longest, still large
    text = " ".join(unicodedata.normalize("NFKC", reader.pages[0].extract_text()).split())
    assert "Made from hotspot" in text and "so they may not add up" in text
