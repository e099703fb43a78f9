"""Folium's pages without template injection: text from data stays text.

branca (under folium) renders each map element's Jinja macros (``header``, ``html``,
``script``: the GeoJSON of the hotspots with their names, a layer's tooltips, a popup) and
then wraps each output in ``Element(output)``, which **compiles that output as a Jinja
template** and renders it again when the page is made. Any text from data in it (a street or
place name, a layer feature's name, an uploaded file's column) that holds ``{{ ... }}`` or
``{% ... %}`` was therefore run on the server, with Jinja's reach into Python (the classic
``{{ cycler.__init__.__globals__.os... }}``): template injection, as of branca 0.8.2.

:func:`install` replaces ``MacroElement.render`` with the same steps putting each output in a
:class:`Markup`, an element that is never a template; every map element folium has renders
through it (their own ``render`` methods end in it). :class:`Markup` is also what this
package puts its own HTML into a page with. The maps modules install it when imported; it is
tested against the page and its single-file download with Jinja in the names
(``tests/api/test_template_injection.py``).
"""

from __future__ import annotations

from typing import Any

from branca.element import Element, Figure, MacroElement


class Markup(Element):
    """Markup put into a page as it is: never compiled as a template."""

    def __init__(self, markup: str) -> None:
        super().__init__()
        self._markup = markup

    def render(self, **kwargs: Any) -> str:
        return self._markup


def _render(self: MacroElement, **kwargs: Any) -> None:
    """``MacroElement.render`` of branca 0.8, each macro's output put in a :class:`Markup`
    (branca's own put it in ``Element(output)``, compiled as a template)."""
    figure = self.get_root()
    if not isinstance(figure, Figure):
        raise TypeError("You cannot render this Element if it is not in a Figure.")
    macros = self._template.module.__dict__
    for part, into in (("header", figure.header), ("html", figure.html),
                       ("script", figure.script)):
        macro = macros.get(part)
        if macro is not None:
            into.add_child(Markup(macro(self, kwargs)), name=self.get_name())
    for _name, element in self._children.items():
        element.render(**kwargs)


def install() -> None:
    """Make every map element render its output as text (:func:`_render`); idempotent."""
    MacroElement.render = _render  # type: ignore[method-assign]
