"""maps.qr: inline SVG QR codes (segno)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from maps.qr import qr_svg

SVG = "{http://www.w3.org/2000/svg}"


def test_qr_svg_is_an_svg_element_with_a_title() -> None:
    text = qr_svg("https://hotspot.example/f/7QK4MXR2")
    assert text.startswith("<svg ") and not text.startswith("<?xml")
    root = ET.fromstring(text)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    title = root.find(f"{SVG}title")
    assert title is not None and title.text == "https://hotspot.example/f/7QK4MXR2"
    drawn = [p.get("d", "") for p in root.iter(f"{SVG}path") if p.get("stroke") == "#000"]
    assert drawn and len(drawn[0]) > 100  # the dark modules are drawn
    assert int(root.get("width", "0")) >= 21 * 4  # at least a version-1 code at scale 4


def test_qr_svg_is_deterministic_and_depends_on_the_url() -> None:
    a = qr_svg("https://hotspot.example/f/AAAA")
    assert a == qr_svg("https://hotspot.example/f/AAAA")
    assert a != qr_svg("https://hotspot.example/f/AAAB")


def test_qr_svg_escapes_the_title() -> None:
    text = qr_svg("https://x.example/?a=1&b=<2>", title='Crew "A" <b>')
    root = ET.fromstring(text)  # parses: nothing unescaped
    assert root.find(f"{SVG}title").text == 'Crew "A" <b>'  # type: ignore[union-attr]


def test_qr_svg_scale_sets_the_size() -> None:
    small = ET.fromstring(qr_svg("https://x.example/f/ABCD", scale=2))
    big = ET.fromstring(qr_svg("https://x.example/f/ABCD", scale=6))
    assert int(big.get("width", "0")) == 3 * int(small.get("width", "0"))
