"""The priority report's figures: periods, the test of a change (against hand computations),
the figures per priority and group, and the tables."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hotspot.errors import InvalidParameter
from hotspot.priority_report import (
    DOWN,
    NO_CLEAR_CHANGE,
    UP,
    compare_counts,
    dispersion,
    group_label,
    method_paragraph,
    month_index,
    parse_period,
    priority_figures,
    report_tables,
    serious_organised_statement,
)

TZ = "Europe/London"


def exact_two_sided(n1: int, n: int, p: float) -> float:
    """The two-sided exact binomial p-value by hand: the probability of every split no more
    likely than the one seen."""
    pmf = [math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(n + 1)]
    seen = pmf[n1]
    return min(1.0, sum(q for q in pmf if q <= seen * (1 + 1e-7)))


@pytest.mark.parametrize(("text", "key", "months", "label"), [
    ("2024-06", "2024-06", ("2024-06",), "June 2024"),
    (" 2024-q2 ", "2024-Q2", ("2024-04", "2024-05", "2024-06"), "April to June 2024 (Q2)"),
    ("2023", "2023", tuple(f"2023-{m:02d}" for m in range(1, 13)), "2023"),
    ("2024-03-ytd", "2024-03-YTD", ("2024-01", "2024-02", "2024-03"),
     "January to March 2024 (year to date)"),
    ("2024-01-YTD", "2024-01-YTD", ("2024-01",), "January 2024 (year to date)"),
])
def test_periods_parse_to_whole_months(text, key, months, label):
    p = parse_period(text)
    assert (p.key, p.months, p.label) == (key, months, label)
    back = p.previous()
    assert back.months == tuple(str(int(m[:4]) - 1) + m[4:] for m in months)
    assert back.key == str(int(key[:4]) - 1) + key[4:]


@pytest.mark.parametrize("text", ["2024-13", "2024-00", "2024-Q5", "2024-Q0", "24-06",
                                  "2024-06-01", "", "2024-06-YTDX", "1800-01", "June 2024",
                                  "2024-00-YTD", "2024-6",
                                  "\uff12\uff10\uff12\uff14"])  # full-width digits
def test_a_bad_period_names_period(text):
    with pytest.raises(InvalidParameter) as e:
        parse_period(text)
    assert e.value.parameter == "period"


def test_period_bounds_are_local_midnights_across_summer_time():
    p = parse_period("2024-03")
    start, end = p.bounds(TZ)
    assert start == 1709251200  # 2024-03-01T00:00Z (GMT)
    assert end == 1711926000  # 2024-04-01T00:00+01:00 (BST) = 2024-03-31T23:00Z
    assert p.to_dict(TZ)["end"] == "2024-04-01T00:00:00+01:00"
    assert list(parse_period("2024-02-YTD").month_days()) == [31.0, 29.0]  # a leap year
    assert list(parse_period("2023-02").month_days()) == [28.0]


def test_month_index_places_times_in_local_months():
    # 2024-03-31T23:30Z is already April in London (BST); 2024-01-01T00:00Z is January
    t = np.array([1711927800, 1704067200, 1704067199, 1711926000 - 1])
    got = month_index(t, TZ, ["2024-03", "2024-01", "2024-04"])
    assert got.tolist() == [2, 1, -1, 0]
    assert month_index(np.array([], dtype=np.int64), TZ, ["2024-01"]).shape == (0,)


def test_the_exact_test_matches_a_hand_computation():
    f = compare_counts([30], [15], [30], [30])
    assert (f["incidents"], f["previous"], f["change"], f["change_pct"]) == (30, 15, 15, 100.0)
    hand = 2 * sum(math.comb(45, k) for k in range(30, 46)) / 2**45
    assert f["p_value"] == pytest.approx(hand, rel=1e-9)
    assert f["p_value"] == pytest.approx(exact_two_sided(30, 45, 0.5), rel=1e-9)
    assert round(hand, 4) == 0.0357
    assert (f["verdict"], f["more_than_chance"]) == (UP, True)
    assert f["dispersion"] is None and f["p_overdispersed"] is None  # one month: not measured
    down = compare_counts([12], [25], [30], [30])
    assert down["verdict"] == DOWN and down["change_pct"] == -52.0
    assert down["p_value"] == pytest.approx(exact_two_sided(12, 37, 0.5), rel=1e-9)
    same = compare_counts([20], [16], [30], [30])
    assert (same["verdict"], same["more_than_chance"]) == (NO_CLEAR_CHANGE, False)
    assert same["p_value"] == pytest.approx(exact_two_sided(20, 36, 0.5), rel=1e-9)


def test_the_days_of_each_period_are_its_exposure():
    # February 2024 (29 days) against February 2023 (28): one a day in both is no change
    f = compare_counts([29], [28], [29], [28])
    assert f["p_value"] == pytest.approx(1.0)
    assert f["verdict"] == NO_CLEAR_CHANGE and f["rate_ratio"] == 1.0
    g = compare_counts([40], [20], [29], [28])
    assert g["p_value"] == pytest.approx(exact_two_sided(40, 60, 29 / 57), rel=1e-9)


def test_no_incidents_at_all_is_no_test():
    f = compare_counts([0, 0], [0, 0], [31, 29], [31, 28])
    assert f["p_value"] is None and f["verdict"] == NO_CLEAR_CHANGE
    assert f["change_pct"] is None and f["rate_ratio"] is None
    g = compare_counts([5], [0], [30], [30])
    assert g["change_pct"] is None and g["p_value"] == pytest.approx(2 / 32)


def test_over_dispersed_months_widen_the_test():
    # April-June: 5, 30, 5 this year against 10, 10, 10 the year before (30, 31, 30 days)
    cur, prev, days = [5, 30, 5], [10, 10, 10], [30, 31, 30]
    e1 = [40 * d / 91 for d in days]
    e2 = [30 * d / 91 for d in days]
    x2 = sum((n - e) ** 2 / e for n, e in zip(cur, e1, strict=True)) + \
        sum((n - e) ** 2 / e for n, e in zip(prev, e2, strict=True))
    phi = x2 / 4  # 6 months, less one per period
    assert dispersion(np.array(cur), np.array(prev), np.array(days), np.array(days)) == \
        pytest.approx(phi)
    assert phi > 1
    f = compare_counts(cur, prev, days, days)
    assert f["dispersion"] == pytest.approx(phi, abs=1e-4)
    share = 0.5
    z = (40 - 70 * share) / math.sqrt(phi * 70 * share * share)
    p_over = math.erfc(abs(z) / math.sqrt(2))
    assert f["p_overdispersed"] == pytest.approx(p_over, rel=1e-9)
    assert f["p_exact"] == pytest.approx(exact_two_sided(40, 70, 0.5), rel=1e-9)
    assert f["p_value"] == max(f["p_exact"], f["p_overdispersed"])
    # steady months: no widening (phi <= 1), the exact test stands
    g = compare_counts([20, 21, 20], [10, 10, 10], days, days)
    assert g["dispersion"] < 1 and g["p_overdispersed"] is None
    assert g["p_value"] == g["p_exact"]
    assert g["verdict"] == UP


def test_figures_per_priority_and_group_are_hand_counts():
    # 2024-06 against 2023-06: month 0 this year, month 1 the year before, -1 neither
    priority = np.array(["theft"] * 6 + ["asb"] * 3 + ["theft"], dtype=object)
    group = np.array(["retail"] * 4 + ["robbery"] * 2 + ["asb"] * 3 + ["retail"], dtype=object)
    harm = np.array([5, 5, 5, 5, 365, 365, 1, 1, 1, 5], dtype=float)
    month = np.array([0, 0, 0, 1, 0, 1, 0, 1, 1, -1])
    totals, prios = priority_figures(
        priority, group, harm, month, period=parse_period("2024-06"),
        priorities={"theft": "Theft", "asb": "ASB", "rural": "Rural"},
        groups={"theft": [("retail", "Retail"), ("robbery", "Robbery")],
                "asb": [("asb", "ASB")]})
    assert (totals["incidents"], totals["previous"]) == (5, 4)
    assert totals["harm"] == 5 * 3 + 365 + 1 and totals["previous_harm"] == 5 + 365 + 2
    theft, asb, rural = prios
    assert (theft["figures"]["incidents"], theft["figures"]["previous"]) == (4, 2)
    assert theft["figures"]["harm"] == 380.0 and theft["figures"]["previous_harm"] == 370.0
    retail, robbery = theft["groups"]
    assert (retail["figures"]["incidents"], retail["figures"]["previous"]) == (3, 1)
    assert (robbery["figures"]["incidents"], robbery["figures"]["previous"]) == (1, 1)
    assert retail["figures"]["p_value"] == pytest.approx(exact_two_sided(3, 4, 0.5))
    assert (asb["figures"]["incidents"], asb["figures"]["previous"]) == (1, 2)
    assert rural["figures"]["incidents"] == 0 and rural["groups"] == []
    assert theft["monthly"] == [{"month": "2024-06", "previous_month": "2023-06",
                                 "incidents": 4, "previous": 2}]


def test_tables_hold_every_figure():
    totals, prios = priority_figures(
        np.array(["asb"], dtype=object), np.array(["asb"], dtype=object), np.array([1.0]),
        np.array([0]), period=parse_period("2024-Q1"), priorities={"asb": "ASB"},
        groups={"asb": [("asb", "Anti-social behaviour")]})
    prios[0]["top_places"] = [{"rank": 1, "hotspot_id": "H1", "place": "=cmd", "incidents": 1,
                               "context_class": "urban", "trend": "up",
                               "emerging_class": None}]
    dosage = {"plans": 1, "totals": {"planned_visits": 2, "visits_made": 1, "share": 0.5},
              "teams": {"rural_crime_team": {"planned_visits": 2, "visits_made": 1}},
              "crews": {"RCT 1": {"planned_visits": 2}}, "hotspots": [],
              "never_visited": [{"hotspot_id": "H2", "place": "Farm", "plan_id": "p",
                                 "shift_start": "s", "crew": "RCT 1"}]}
    tables = {t["name"]: t for t in report_tables(prios, totals, dosage)}
    assert list(tables) == ["priorities", "monthly", "top_places", "dosage_teams",
                            "dosage_crews", "dosage_hotspots", "never_visited"]
    for t in tables.values():
        assert all(len(r) == len(t["columns"]) for r in t["rows"]), t["name"]
    assert [r[:3] for r in tables["priorities"]["rows"]] == [
        ["all", "", "All recorded crime"], ["asb", "", "ASB"],
        ["asb", "asb", "Anti-social behaviour"]]
    assert [r[1] for r in tables["monthly"]["rows"]] == ["2024-01", "2024-02", "2024-03"]
    assert tables["top_places"]["rows"][0][3] == "=cmd"  # made safe when written as CSV
    assert tables["dosage_teams"]["rows"][0][:4] == ["all", 2, None, 1]
    assert tables["never_visited"]["rows"] == [["H2", "Farm", "p", "s", "RCT 1"]]


def test_group_labels_and_the_statements():
    assert group_label("agricultural").startswith("Agricultural theft")
    assert group_label("new_group", ["Only one"]) == "Only one"
    assert group_label("new_group", ["a", "b"]) == "New group"
    groups = [{"key": "drugs", "label": "Drugs offences",
               "figures": {"incidents": 41, "previous": 35}},
              {"key": "weapons", "label": "Possession of weapons",
               "figures": {"incidents": 1200, "previous": 0}}]
    text = serious_organised_statement(groups, "June 2024")
    assert "Fraud and cyber crime have no meaningful place" in text
    assert "county lines" in text and "drugs and weapons" in text
    assert "drugs offences: 41 (35 a year before)" in text
    assert "possession of weapons: 1,200 (0 a year before)" in text
    assert "p < 0.05" in method_paragraph() and "over-dispersion" in method_paragraph()
