"""QR codes as inline SVG, for links printed on paper or shown on a screen to a tablet.

Made by the ``segno`` library (ISO/IEC 18004 QR codes): no image files, no script; the SVG text
goes straight into a page.
"""

from __future__ import annotations

import io
from html import escape

import segno


def qr_svg(url: str, *, scale: int = 4, border: int = 4, title: str | None = None) -> str:
    """An inline ``<svg>`` element (no XML declaration) holding a QR code of ``url``.

    ``scale`` is the size of one module in CSS pixels (the SVG is ``(modules + 2 * border) *
    scale`` pixels square; it scales with CSS as any SVG does); ``border`` is the quiet zone in
    modules (4 is what the standard asks for). Error correction level M (15 %) survives a
    crease or smudge on a printed briefing. ``title`` (escaped here) is read out by screen
    readers; by default the URL itself. The same arguments always give the same text.
    """
    code = segno.make(url, error="m", micro=False)
    out = io.BytesIO()
    code.save(out, kind="svg", xmldecl=False, svgns=True, scale=scale, border=border,
              svgclass="qr", lineclass=None, title=None, dark="#000", light="#fff")
    svg = out.getvalue().decode("utf-8")
    label = escape(title if title is not None else url)
    # role and title make the code an image with a name to assistive technology
    return svg.replace("<svg ", '<svg role="img" ', 1).replace(
        'class="qr">', f'class="qr"><title>{label}</title>', 1)
