"""Counts inside one polygon, checked by hand: a 10 m square, incidents in, on the edge, out."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import shapely

from hotspot.placecounts import local_months, month_range, place_counts

LONDON = ZoneInfo("Europe/London")
SQUARE = shapely.box(0, 0, 10, 10)


def _t(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, tzinfo=LONDON).timestamp())


def test_counts_inside_by_category_month_and_hour() -> None:
    x = np.array([5.0, 10.0, 5.0, 50.0, 2.0, 3.0])
    y = np.array([5.0, 5.0, 5.0, 50.0, 2.0, 3.0])
    t = np.array([_t(2024, 3, 1, 22, 30),  # Friday 22:30, exact
                  _t(2024, 3, 31, 0, 30),   # on the edge; the night the clocks change
                  _t(2024, 2, 1),           # month only
                  _t(2024, 3, 2, 9),        # outside
                  _t(2023, 12, 5, 10),      # inside, before the period
                  _t(2024, 3, 1, 22, 45)])  # Friday 22:45, another category, not selected
    precision = np.array([0, 0, 2, 0, 0, 0])
    category = np.array(["asb", "asb", "drugs", "asb", "asb", "robbery"], dtype=object)
    counts = place_counts(SQUARE, x, y, t, precision, category,
                          period=(_t(2024, 1, 1), _t(2024, 4, 1)),
                          months=["2023-12", "2024-01", "2024-02", "2024-03"],
                          selected=category != "robbery")
    assert counts.incidents == 3 and counts.timed == 2
    assert counts.by_category == {"asb": 2, "drugs": 1}
    assert counts.by_month == {"2023-12": 1, "2024-01": 0, "2024-02": 1, "2024-03": 2}
    assert counts.months_with_data == ("2023-12", "2024-03")
    assert counts.hour_of_week is not None and counts.hour_of_week.sum() == 2
    assert counts.hour_of_week[4, 22] == 1 and counts.hour_of_week[6, 0] == 1  # Fri, Sun


def test_month_only_data_has_no_hour_grid_and_nothing_gives_zeros() -> None:
    counts = place_counts(SQUARE, np.array([1.0]), np.array([1.0]), np.array([_t(2024, 1, 1)]),
                          np.array([2]), np.array(["asb"], dtype=object), months=["2024-01"])
    assert counts.hour_of_week is None and counts.timed == 0 and counts.incidents == 1
    empty = place_counts(SQUARE, np.empty(0), np.empty(0), np.empty(0, dtype=np.int64),
                         np.empty(0), np.empty(0, dtype=object), months=["2024-01"])
    assert empty.incidents == 0 and empty.by_month == {"2024-01": 0}
    assert empty.months_with_data is None and empty.hour_of_week is None


def test_months_in_local_time() -> None:
    # 23:30 UTC on 31 May is already June in London (summer time)
    late = int(datetime(2024, 5, 31, 23, 30, tzinfo=ZoneInfo("UTC")).timestamp())
    assert local_months(np.array([late]), "Europe/London").tolist() == ["2024-06"]
    assert month_range("2023-11", "2024-02") == ["2023-11", "2023-12", "2024-01", "2024-02"]
    assert month_range("2024-02", "2024-01") == []
