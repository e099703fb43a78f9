"""The server-side SVG charts: what they draw, in what order, with what words and numbers, and
that text from data is only ever text."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from maps.charts import (
    MonthCount,
    axis_ticks,
    bar_chart,
    heat_grid,
    heat_step,
    month_chart,
    month_label,
    number,
)

SVG = "{http://www.w3.org/2000/svg}"
EVIL = "<script>alert(1)</script> & \"quotes\""


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # well-formed XML, or this raises


def _titles(root: ET.Element) -> list[str]:
    return [g.findtext(f"{SVG}title") or "" for g in root.iter(f"{SVG}g")]


def test_an_accessible_svg_names_what_it_shows() -> None:
    root = _parse(bar_chart([("Shoplifting", 3)], title="By category", description="Why"))
    assert root.get("role") == "img"
    title_id, desc_id = (root.get("aria-labelledby") or "").split()
    assert root.find(f"{SVG}title").get("id") == title_id  # type: ignore[union-attr]
    assert root.findtext(f"{SVG}title") == "By category"
    assert root.find(f"{SVG}desc").get("id") == desc_id  # type: ignore[union-attr]
    other = _parse(bar_chart([("x", 1)], title="t"))
    assert other.get("aria-labelledby") != root.get("aria-labelledby")  # ids unique on a page


def test_bars_in_order_with_their_numbers_and_lengths() -> None:
    root = _parse(bar_chart([("Shoplifting", 12_345), ("Robbery", 5), ("Drugs", 0)],
                            title="t"))
    assert _titles(root) == ["Shoplifting: 12,345 incidents", "Robbery: 5 incidents",
                             "Drugs: 0 incidents"]
    texts = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "value"]
    assert texts == ["12,345", "5", "0"]
    widths = [float(r.get("width") or 0) for r in root.iter(f"{SVG}rect")]
    assert widths[0] > widths[1] > widths[2] == 0
    assert widths[1] >= 1  # a small count still shows a mark


def test_long_labels_wrap_onto_two_lines() -> None:
    root = _parse(bar_chart([("Burglary (residential or business not recorded)", 2)],
                            title="t"))
    lines = [s.text or "" for s in root.iter(f"{SVG}tspan")]
    assert len(lines) == 2 and " ".join(lines) == "Burglary (residential or business not " \
        "recorded)"


def test_text_from_data_is_escaped() -> None:
    for svg in (bar_chart([(EVIL, 1)], title=EVIL, description=EVIL, unit=EVIL),
                month_chart([MonthCount("2024-01", 1)], title=EVIL, description=EVIL, unit=EVIL),
                heat_grid([[0] * 24] * 7, title=EVIL, description=EVIL, unit=EVIL)):
        assert "<script" not in svg
        root = _parse(svg)
        assert root.findtext(f"{SVG}title") == EVIL  # the same text, as text


def test_months_dark_for_the_period_light_before_and_marked_without_data() -> None:
    months = [MonthCount("2023-12", None, False), MonthCount("2024-01", 4, False),
              MonthCount("2024-02", 1_500, True), MonthCount("2024-03", 0, True)]
    root = _parse(month_chart(months, title="By month"))
    assert _titles(root) == ["December 2023: no data", "January 2024: 4 incidents",
                             "February 2024: 1,500 incidents", "March 2024: 0 incidents"]
    classes = [g.get("class") for g in root.iter(f"{SVG}g")]
    assert classes == ["month no-data", "month", "month selected", "month selected"]
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "1,500" in texts and "2023" in texts and "2024" in texts  # years under the months
    assert "Jan" in texts and "Feb" in texts
    ticks = [t.text for t in root.iter(f"{SVG}text") if t.get("text-anchor") == "end"]
    assert ticks == ["0", "500", "1,000", "1,500"]  # whole, round numbers


def test_axis_ticks_are_round_and_cover_the_peak() -> None:
    for peak in (0, 1, 2, 3, 7, 21, 99, 100, 1234, 10**7):
        ticks = axis_ticks(peak)
        assert ticks[0] == 0 and ticks[-1] >= peak and len(ticks) <= 6
        step = ticks[1] - ticks[0]
        assert step.is_integer() and re.fullmatch(r"[125]0*", str(int(step)))


def test_the_heat_grid_is_seven_days_by_24_hours_with_a_key() -> None:
    grid = [[0] * 24 for _ in range(7)]
    grid[4][22] = 1_200  # Friday 22:00
    grid[0][0] = 3
    root = _parse(heat_grid(grid, title="When"))
    titles = _titles(root)
    assert len(titles) == 7 * 24
    assert titles[0] == "Monday 00:00 to 00:59: 3 incidents"
    assert titles[4 * 24 + 22] == "Friday 22:00 to 22:59: 1,200 incidents"
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "1,200" in texts and "Mon" in texts and "Sun" in texts and "21:00" in texts
    assert "1\u2013300" in texts and "901\u20131,200" in texts  # the key's numbers
    with pytest.raises(ValueError, match="7 rows of 24"):
        heat_grid([[0] * 24] * 6, title="t")


def test_heat_steps_by_quarter_of_the_busiest() -> None:
    assert [heat_step(v, 8) for v in range(9)] == [0, 1, 1, 2, 2, 3, 3, 4, 4]
    assert heat_step(5, 0) == 0


def test_numbers_and_months_in_words() -> None:
    assert number(1234567) == "1,234,567" and number(2.5) == "2.5" and number(3.0) == "3"
    assert month_label("2024-03") == "March 2024"
