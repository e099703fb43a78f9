"""What the service encodes itself, read by the browser: a body gzipped in pieces
(api.delivery.gzip_pieces, as the service sends a large hotspot answer) is read whole by
Chromium's own inflater over real HTTP, and the density overlay's PNG (maps.density.rgba_png)
is drawn with its pixels."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator

import numpy as np
import pytest
from playwright.sync_api import Browser

from api.delivery import gzip_pieces
from hotspot._threads import set_threads, threads
from tests.browser.conftest import site

BODY = json.dumps({"type": "FeatureCollection", "features": [
    {"type": "Feature", "id": f"dbscan-{i:04d}", "geometry": {
        "type": "Polygon", "coordinates": [[[-1.08 + i * 1e-5, 53.96], [-1.07, 53.96 + i * 1e-6],
                                            [-1.07, 53.97], [-1.08 + i * 1e-5, 53.96]]]},
     "properties": {"rank": i, "name": f"Place {i % 97}"}} for i in range(3_000)]}).encode()


@pytest.fixture
def served() -> Iterator[str]:
    before = threads()
    set_threads(4)  # four pieces whatever the machine's cores
    packed = gzip_pieces(BODY, 6, piece_bytes=len(BODY) // 4)
    set_threads(before)
    with site({"/": (b"<!doctype html><title>gzip</title>", {"Content-Type": "text/html"}),
               "/answer.geojson": (packed, {"Content-Type": "application/geo+json",
                                            "Content-Encoding": "gzip"})}) as url:
        yield url


def test_chromium_reads_a_body_gzipped_in_pieces_whole(browser: Browser, served: str) -> None:
    page = browser.new_page()
    try:
        page.goto(served + "/")
        got = page.evaluate("""async () => {
            const r = await fetch('/answer.geojson');
            const text = await r.text();
            const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
            const hex = [...new Uint8Array(digest)].map(b => b.toString(16).padStart(2, '0'));
            return {length: text.length, sha: hex.join(''),
                    features: JSON.parse(text).features.length};
        }""")
    finally:
        page.close()
    assert got == {"length": len(BODY), "sha": hashlib.sha256(BODY).hexdigest(),
                   "features": 3_000}


def test_chromium_draws_the_density_png_with_its_pixels(browser: Browser) -> None:
    from maps.density import rgba_png

    rng = np.random.default_rng(11)
    pixels = rng.integers(0, 256, (37, 53, 4), dtype=np.uint8)
    pixels[..., 3] = np.where(rng.random((37, 53)) < 0.3, 0, 255)  # see-through or opaque
    url = "data:image/png;base64," + base64.b64encode(rgba_png(pixels)).decode()
    page = browser.new_page()
    try:
        got = page.evaluate("""async (url) => {
            const img = new Image();
            img.src = url;
            await img.decode();
            const canvas = document.createElement('canvas');
            canvas.width = img.width;
            canvas.height = img.height;
            const ctx = canvas.getContext('2d');
            ctx.drawImage(img, 0, 0);
            return {w: img.width, h: img.height,
                    data: Array.from(ctx.getImageData(0, 0, img.width, img.height).data)};
        }""", url)
    finally:
        page.close()
    assert (got["w"], got["h"]) == (53, 37)
    drawn = np.array(got["data"], dtype=np.uint8).reshape(37, 53, 4)
    assert np.array_equal(drawn[..., 3], pixels[..., 3])
    opaque = pixels[..., 3] == 255  # a see-through pixel's colour is not kept by a canvas
    assert np.array_equal(drawn[opaque], pixels[opaque])
