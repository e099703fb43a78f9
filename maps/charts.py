"""Small charts as inline SVG, drawn on the server: horizontal bars, bars by month, and a
7 x 24 hour-of-week heat grid.

No chart library and no script: each function returns one ``<svg>`` element as text, with a
``<title>`` and ``<desc>`` (named by ``aria-labelledby``, so a screen reader reads what the
chart shows), every number as text beside its mark with thousands separators, and a
``<title>`` per mark (a tooltip on hover). Every text that reaches the SVG is escaped here, so
a category label or a place name from data is only ever text.

The charts take a ``width`` in CSS pixels and scale with their container (``viewBox``; the
page sets ``max-width: 100%``). Units are whatever the caller counts (incidents, minutes).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

FONT = "system-ui, -apple-system, 'Segoe UI', sans-serif"
INK = "#1f2933"
MUTED = "#52606d"
GRID = "#d9e2ec"
BAR = "#0b3d91"
BAR_BEFORE = "#9fb3c8"
NO_DATA = "#f0f4f8"
HEAT = ("#fff5eb", "#fdd0a2", "#fd8d3c", "#d94801", "#7f2704")
"""The heat grid's five steps, pale to dark (ColorBrewer Oranges): a zero cell is white."""
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_ids = itertools.count(1)


def _e(text: object) -> str:
    """Text for SVG content or an attribute (``& < > " '`` escaped)."""
    return escape(str(text), quote=True)


def number(value: float) -> str:
    """A count with thousands separators (``12,345``); a fraction keeps one decimal."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"


def _open(width: float, height: float, title: str, description: str, cls: str) -> tuple[str, str]:
    """The ``<svg>`` start tag with its title and description, and a fresh id prefix."""
    uid = f"chart{next(_ids)}"
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {cls}" role="img" '
            f'viewBox="0 0 {width:g} {height:g}" width="{width:g}" height="{height:g}" '
            f'aria-labelledby="{uid}-t {uid}-d" font-family="{_e(FONT)}" font-size="13" '
            f'fill="{INK}">'
            f'<title id="{uid}-t">{_e(title)}</title><desc id="{uid}-d">{_e(description)}</desc>')
    return head, uid


def _wrap(text: str, limit: int) -> list[str]:
    """``text`` in at most two lines of about ``limit`` characters (the second cut with an
    ellipsis if it is still too long)."""
    words = text.split()
    lines: list[str] = []
    line = ""
    for w in words:
        if line and len(line) + 1 + len(w) > limit:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}" if line else w
    lines.append(line)
    if len(lines) > 2:
        lines = [lines[0], " ".join(lines[1:])]
    if len(lines[-1]) > limit:
        lines[-1] = lines[-1][: limit - 1].rstrip() + "\u2026"
    return lines


def bar_chart(items: Sequence[tuple[str, float]], *, title: str, description: str = "",
              unit: str = "incidents", width: int = 520, label_chars: int = 26,
              colour: str = BAR) -> str:
    """Horizontal bars, one per ``(label, value)`` in the order given, each with its label on
    the left and its value (thousands separators) at its end.

    Parameters
    ----------
    items
        ``(label, value)`` pairs; values of 0 or more. Labels are text (escaped here); long
        ones wrap onto two lines of about ``label_chars`` characters.
    title, description
        What the chart shows, for the ``<title>`` and ``<desc>`` (read by screen readers).
    unit
        What the values count, for each bar's tooltip ("12 incidents").
    width
        Width in CSS pixels (the chart scales down with its container).

    Returns
    -------
    str
        One ``<svg>`` element.
    """
    label_w = round(label_chars * 7.2) + 8
    value_w = 64
    row = 34
    top = 6
    height = top + row * max(len(items), 1) + 6
    head, _uid = _open(width, height, title, description, "bar-chart")
    parts = [head]
    if not items:
        parts.append(f'<text x="0" y="{top + 20}" fill="{MUTED}">Nothing to show</text>')
    top_value = max((float(v) for _, v in items), default=0.0) or 1.0
    span = width - label_w - value_w
    for i, (label, value) in enumerate(items):
        y = top + i * row
        lines = _wrap(str(label), label_chars)
        first = y + (row / 2) + 4 - (7 if len(lines) == 2 else 0)
        tspans = "".join(f'<tspan x="{label_w - 8}" y="{first + 14 * k:g}">{_e(t)}</tspan>'
                         for k, t in enumerate(lines))
        w = max(float(value) / top_value * span, 1.0 if value else 0.0)
        parts.append(
            f'<g class="bar"><title>{_e(label)}: {number(value)} {_e(unit)}</title>'
            f'<text text-anchor="end">{tspans}</text>'
            f'<rect x="{label_w}" y="{y + 7}" width="{w:.1f}" height="{row - 14}" '
            f'fill="{_e(colour)}"/>'
            f'<text class="value" x="{label_w + w + 6:.1f}" y="{y + row / 2 + 4:g}">'
            f'{number(value)}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


@dataclass(frozen=True)
class MonthCount:
    """One month of a month chart: ``month`` as ``YYYY-MM``, its ``count`` (None: the store
    holds no data for that month there), and whether it is in the selected period."""

    month: str
    count: int | None
    selected: bool = True


def axis_ticks(peak: float, most: int = 5) -> list[float]:
    """Round ticks from 0 to at or above ``peak``: a step of 1, 2 or 5 times a power of ten
    (at least 1: counts are whole), at most ``most`` steps."""
    if peak <= 1:
        return [0.0, 1.0]
    step = 1.0
    for power in range(0, 12):
        for base in (1, 2, 5):
            step = float(base * 10 ** power)
            if math.ceil(peak / step) <= most:
                n = math.ceil(peak / step)
                return [step * i for i in range(n + 1)]
    return [0.0, step]


def month_label(month: str) -> str:
    """``2024-03`` as ``March 2024``."""
    year, mm = month.split("-")
    full = ("January", "February", "March", "April", "May", "June", "July", "August",
            "September", "October", "November", "December")
    return f"{full[int(mm) - 1]} {year}"


def month_chart(months: Sequence[MonthCount], *, title: str, description: str = "",
                unit: str = "incidents", width: int = 640, height: int = 220) -> str:
    """Bars by month, oldest on the left: the selected period's months dark, the months
    before it light, months with no data marked "no data"; a count above each bar (when
    there are 36 months or fewer), a month name under each (the year under January and the
    first month), and a y axis from 0 to a round number.

    Parameters
    ----------
    months
        The months in order (:class:`MonthCount`).
    title, description
        For the ``<title>`` and ``<desc>``.
    unit
        What the counts count (tooltips).
    width, height
        Size in CSS pixels.

    Returns
    -------
    str
        One ``<svg>`` element.
    """
    left, right, top, bottom = 44, 8, 18, 40
    head, _uid = _open(width, height, title, description, "month-chart")
    parts = [head]
    n = len(months)
    if not n:
        parts.append(f'<text x="{left}" y="{top + 20}" fill="{MUTED}">Nothing to show</text>'
                     "</svg>")
        return "".join(parts)
    plot_w = width - left - right
    plot_h = height - top - bottom
    peak = max((m.count or 0 for m in months), default=0)
    ticks = axis_ticks(float(peak))
    base = top + plot_h
    parts += _gridlines(ticks, left=left, right=width - right, base=base, plot_h=plot_h)
    slot = plot_w / n
    bar_w = max(slot * 0.72, 1.0)
    for i, m in enumerate(months):
        x = left + i * slot + (slot - bar_w) / 2
        centre = left + (i + 0.5) * slot
        parts.append(_month_bar(m, x=x, centre=centre, bar_w=bar_w, top=top, plot_h=plot_h,
                                axis_top=ticks[-1], show_value=n <= 36, unit=unit))
        parts += _month_names(m, i, n, centre=centre, base=base)
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{base}" y2="{base}" '
                 f'stroke="{MUTED}"/></svg>')
    return "".join(parts)


def _gridlines(ticks: Sequence[float], *, left: int, right: int, base: int,
               plot_h: int) -> list[str]:
    """A line across the plot and its number at each tick of the y axis."""
    out = []
    for value in ticks:
        y = base - value / ticks[-1] * plot_h
        out.append(f'<line x1="{left}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}" '
                   f'stroke="{GRID}"/>'
                   f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{MUTED}" '
                   f'font-size="11">{number(value)}</text>')
    return out


def _month_bar(m: MonthCount, *, x: float, centre: float, bar_w: float, top: int,
               plot_h: int, axis_top: float, show_value: bool, unit: str) -> str:
    """One month's bar with its tooltip (and its count above it), or a pale column saying
    the month has no data."""
    name = month_label(m.month)
    if m.count is None:
        return (f'<g class="month no-data"><title>{_e(name)}: no data</title>'
                f'<rect x="{x:.1f}" y="{top}" width="{bar_w:.1f}" height="{plot_h}" '
                f'fill="{NO_DATA}"/></g>')
    base = top + plot_h
    h = m.count / axis_top * plot_h
    fill = BAR if m.selected else BAR_BEFORE
    above = (f'<text x="{centre:.1f}" y="{base - h - 4:.1f}" text-anchor="middle" '
             f'font-size="10">{number(m.count)}</text>' if show_value and m.count else "")
    return (f'<g class="month{" selected" if m.selected else ""}">'
            f'<title>{_e(name)}: {number(m.count)} {_e(unit)}</title>'
            f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{bar_w:.1f}" '
            f'height="{h:.1f}" fill="{fill}"/>{above}</g>')


def _month_names(m: MonthCount, i: int, n: int, *, centre: float, base: int) -> list[str]:
    """Under the ``i``-th of ``n`` bars: the month's short name (every month up to 24, then
    fewer, and January always; one letter past 24), and the year under January and the
    first month."""
    out = []
    year, mm = m.month.split("-")
    every = max(1, math.ceil(n / 24))
    if i % every == 0 or mm == "01":
        short = MONTHS[int(mm) - 1]
        out.append(f'<text x="{centre:.1f}" y="{base + 14}" text-anchor="middle" '
                   f'font-size="10" fill="{MUTED}">{short[0] if n > 24 else short}</text>')
    if i == 0 or mm == "01":
        out.append(f'<text x="{centre:.1f}" y="{base + 30}" text-anchor="middle" '
                   f'font-size="11" fill="{INK}">{_e(year)}</text>')
    return out


def heat_step(value: int, top: int) -> int:
    """The colour step of a heat-grid cell: 0 for zero, else 1-4 by quarter of ``top`` (the
    busiest cell): up to a quarter of it 1, ..., over three quarters 4."""
    if value <= 0 or top <= 0:
        return 0
    return max(1, min(4, math.ceil(4 * value / top)))


def heat_grid(grid: Sequence[Sequence[int]], *, title: str, description: str = "",
              unit: str = "incidents", width: int = 720) -> str:
    """A 7 x 24 heat grid: days down (Monday first), hours across (00 to 23, local time), each
    cell shaded by its count, with the count written in it, and a key of the shades with
    their numbers.

    Parameters
    ----------
    grid
        7 rows (Monday to Sunday) of 24 counts (hour 0 to 23).
    title, description
        For the ``<title>`` and ``<desc>``.
    unit
        What the counts count (tooltips).
    width
        Width in CSS pixels.

    Returns
    -------
    str
        One ``<svg>`` element.

    Raises
    ------
    ValueError
        If ``grid`` is not 7 x 24.
    """
    if len(grid) != 7 or any(len(r) != 24 for r in grid):
        raise ValueError(f"a heat grid is 7 rows of 24 hours, not {len(grid)} rows")
    left, top = 40, 20
    cell = (width - left - 4) / 24
    rows_h = cell * 7
    height = top + rows_h + 48
    head, _uid = _open(width, round(height), title, description, "heat-grid")
    parts = [head]
    peak = max(max(r) for r in grid)
    for h in range(0, 24, 3):
        parts.append(f'<text x="{left + (h + 0.5) * cell:.1f}" y="{top - 6}" '
                     f'text-anchor="middle" font-size="11" fill="{MUTED}">{h:02d}:00</text>')
    for d, row in enumerate(grid):
        y = top + d * cell
        parts.append(f'<text x="{left - 6}" y="{y + cell / 2 + 4:.1f}" text-anchor="end" '
                     f'font-size="11">{DAYS[d][:3]}</text>')
        for h, value in enumerate(row):
            step = heat_step(int(value), peak)
            x = left + h * cell
            ink = "#ffffff" if step >= 3 else INK
            text = (f'<text x="{x + cell / 2:.1f}" y="{y + cell / 2 + 4:.1f}" '
                    f'text-anchor="middle" font-size="{10 if value < 100 else 8}" '
                    f'fill="{ink}">{number(value)}</text>' if value else "")
            parts.append(f'<g class="cell"><title>{DAYS[d]} {h:02d}:00 to {h:02d}:59: '
                         f'{number(value)} {_e(unit)}</title>'
                         f'<rect x="{x:.1f}" y="{y:.1f}" width="{cell:.1f}" height="{cell:.1f}" '
                         f'fill="{HEAT[step]}" stroke="#ffffff"/>{text}</g>')
    # the key: each shade with the counts it stands for
    ky = top + rows_h + 16
    parts.append(f'<text x="{left}" y="{ky + 12}" font-size="11" fill="{MUTED}">'
                 f'{_e(unit.capitalize())} an hour:</text>')
    kx = left + 120
    for step, name in _key_names(peak):
        parts.append(f'<rect x="{kx}" y="{ky}" width="16" height="16" fill="{HEAT[step]}" '
                     f'stroke="{GRID}"/><text x="{kx + 22}" y="{ky + 12}" font-size="11">'
                     f'{_e(name)}</text>')
        kx += 30 + 7 * len(name)
    parts.append("</svg>")
    return "".join(parts)


def _key_names(peak: int) -> list[tuple[int, str]]:
    """The shades a grid whose busiest cell is ``peak`` uses, each with the counts it stands
    for as text: ``[(0, "0"), (1, "1"), (2, "2-3"), ...]``."""
    names = [(0, "0")]
    for step in range(1, 5):
        lo = peak * (step - 1) // 4 + 1
        hi = peak * step // 4
        if lo <= hi:
            names.append((step, number(lo) if lo == hi else f"{number(lo)}\u2013{number(hi)}"))
    return names


def paired_month_chart(rows: Sequence[tuple[str, int, int]], *, title: str,
                       description: str = "", names: tuple[str, str] = ("This period",
                                                                         "A year before"),
                       unit: str = "incidents", width: int = 640, height: int = 240) -> str:
    """Two bars a month, side by side: the period's month (solid, dark) and the same month a
    year before (hatched, pale, outlined), so the two read apart in black and white too; the
    count above each bar (up to 24 months), a month name under each pair (the year under
    January and the first month), a y axis from 0 to a round number and a key naming both.

    Parameters
    ----------
    rows
        ``(month, count, count_a_year_before)`` in order, ``month`` as ``YYYY-MM`` (the
        period's month); counts of 0 or more.
    title, description
        For the ``<title>`` and ``<desc>``.
    names
        The key's names of the two series (``("June 2024", "June 2023")``), as text.
    unit
        What the counts count (tooltips).
    width, height
        Size in CSS pixels.

    Returns
    -------
    str
        One ``<svg>`` element.
    """
    left, right, top, bottom = 44, 8, 34, 40
    head, uid = _open(width, height, title, description, "paired-month-chart")
    hatch = f"{uid}-hatch"
    parts = [head,
             f'<defs><pattern id="{hatch}" patternUnits="userSpaceOnUse" width="6" height="6" '
             f'patternTransform="rotate(45)"><rect width="6" height="6" fill="#ffffff"/>'
             f'<line x1="0" y1="0" x2="0" y2="6" stroke="{MUTED}" stroke-width="2.4"/>'
             f'</pattern></defs>']
    # the key, top left: a swatch of each series and its name
    kx = left
    for k, name in enumerate(names):
        fill = BAR if k == 0 else f"url(#{hatch})"
        parts.append(f'<g class="key"><rect x="{kx}" y="4" width="16" height="14" fill="{fill}" '
                     f'stroke="{INK if k == 0 else MUTED}"/>'
                     f'<text x="{kx + 22}" y="16" font-size="12">{_e(name)}</text></g>')
        kx += 40 + round(7 * len(name))
    n = len(rows)
    if not n:
        parts.append(f'<text x="{left}" y="{top + 20}" fill="{MUTED}">Nothing to show</text>'
                     "</svg>")
        return "".join(parts)
    plot_w = width - left - right
    plot_h = height - top - bottom
    peak = max((max(int(a), int(b)) for _, a, b in rows), default=0)
    ticks = axis_ticks(float(peak))
    base = top + plot_h
    parts += _gridlines(ticks, left=left, right=width - right, base=base, plot_h=plot_h)
    slot = plot_w / n
    bar_w = min(max(slot * 0.36, 1.0), 56.0)  # one month alone: two bars, not two walls
    for i, (month, count, before) in enumerate(rows):
        centre = left + (i + 0.5) * slot
        for k, value in enumerate((int(count), int(before))):
            x = centre - bar_w if k == 0 else centre
            h = value / ticks[-1] * plot_h
            name = month_label(month) if k == 0 else _year_before(month)
            fill = BAR if k == 0 else f"url(#{hatch})"
            stroke = "" if k == 0 else f' stroke="{MUTED}"'
            above = (f'<text x="{x + bar_w / 2:.1f}" y="{base - h - 4:.1f}" '
                     f'text-anchor="middle" font-size="10">{number(value)}</text>'
                     if n <= 24 else "")
            parts.append(f'<g class="month {"current" if k == 0 else "before"}">'
                         f'<title>{_e(name)}: {number(value)} {_e(unit)}</title>'
                         f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{bar_w:.1f}" '
                         f'height="{h:.1f}" fill="{fill}"{stroke}/>{above}</g>')
        parts += _month_names(MonthCount(month, int(count)), i, n, centre=centre, base=base)
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{base}" y2="{base}" '
                 f'stroke="{MUTED}"/></svg>')
    return "".join(parts)


def _year_before(month: str) -> str:
    """``2024-03`` as ``March 2023`` (the same month a year before)."""
    year, mm = month.split("-")
    return month_label(f"{int(year) - 1:04d}-{mm}")
