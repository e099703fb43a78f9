"""The priority report's page from a report document: every table there, the charts as SVG,
the verdicts in words, and text from the document only ever text."""

from __future__ import annotations

import copy
import re
from html.parser import HTMLParser
from typing import Any

import pytest

from maps.charts import paired_month_chart
from maps.report_page import p_text, percent, report_page_html, signed, verdict_text

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>&amp;'
"""Text that would run as script (or turn into markup) if it reached the page unescaped."""


def _fig(incidents: int, previous: int, harm: float, previous_harm: float,
         p_value: float | None, verdict: str, more: bool) -> dict[str, Any]:
    change = incidents - previous
    return {"incidents": incidents, "previous": previous, "change": change,
            "change_pct": round(100 * change / previous, 1) if previous else None,
            "harm": harm, "previous_harm": previous_harm, "p_value": p_value,
            "verdict": verdict, "more_than_chance": more}


def _months(current: list[int], before: list[int]) -> list[dict[str, Any]]:
    return [{"month": f"2024-{m:02d}", "previous_month": f"2023-{m:02d}", "incidents": a,
             "previous": b}
            for m, (a, b) in enumerate(zip(current, before, strict=True), start=4)]


def _tally(planned: int, made: int, planned_min: float, on_site: float,
           untimed: int = 0) -> dict[str, Any]:
    return {"planned_visits": planned, "planned_min": planned_min, "visits_made": made,
            "share": made / planned if planned else None, "minutes_on_site": on_site,
            "untimed_visits": untimed}


def report_document() -> dict[str, Any]:
    """A report of the second quarter of 2024 as :func:`api.services.reports.make_report`
    makes it (the shape of CONTRACTS.md): four priorities with their groups, three months each,
    top places, the serious organised crime statement, and a quarter's patrol dosage."""
    tbr_groups: list[dict[str, Any]] = [
        {"key": "retail", "label": "Retail", "figures": _fig(120, 101, 1200.0, 1010.0, 0.19,
                                                             "no clear change", False)},
        {"key": "residential_burglary", "label": "Residential burglary",
         "figures": _fig(96, 58, 11520.0, 6960.0, 0.0008, "up", True)},
        {"key": "vehicle_crime", "label": "Vehicle crime",
         "figures": _fig(61, 72, 1830.0, 2160.0, 0.35, "no clear change", False)},
        {"key": "robbery", "label": "Robbery", "figures": _fig(9, 14, 3285.0, 5110.0, 0.29,
                                                               "no clear change", False)},
    ]
    rural_groups: list[dict[str, Any]] = [
        {"key": "agricultural", "label": "Agricultural", "figures": _fig(22, 25, 660.0, 750.0,
                                                                         0.68, "no clear change",
                                                                         False)},
        {"key": "heritage", "label": "Heritage", "figures": _fig(4, 3, 120.0, 90.0, None,
                                                                 "no clear change", False)},
        {"key": "wildlife", "label": "Wildlife", "figures": _fig(5, 6, 50.0, 60.0, None,
                                                                 "no clear change", False)},
        {"key": "fly_tipping", "label": "Fly-tipping",
         "figures": _fig(40, 21, 200.0, 105.0, 0.009, "up", True)},
    ]
    priorities: list[dict[str, Any]] = [
        {"key": "theft_burglary_robbery",
         "label": "Theft, burglary and robbery: retail, residential burglary, vehicle crime",
         "figures": _fig(286, 245, 17835.0, 15240.0, 0.077, "no clear change", False),
         "groups": tbr_groups,
         "monthly": _months([88, 97, 101], [80, 79, 86]),
         "top_places": [
             {"rank": 1, "hotspot_id": "dbscan-7f3a", "place": "Thornbury: Market Street",
              "incidents": 41, "context_class": "town_centre", "trend": "rising",
              "emerging_class": "intensifying_hot"},
             {"rank": 2, "hotspot_id": "dbscan-11c0", "place": "Elmsford: Station Road",
              "incidents": 23, "context_class": "urban", "trend": "steady",
              "emerging_class": None}],
         "statement": None},
        {"key": "rural", "label": "Rural crime: agricultural theft, heritage and wildlife crime",
         "figures": _fig(71, 55, 1030.0, 1005.0, 0.21, "no clear change", False),
         "groups": rural_groups,
         "monthly": _months([20, 25, 26], [17, 19, 19]),
         "top_places": [
             {"rank": 1, "hotspot_id": "dbscan-a901", "place": "Upper Dale farms",
              "incidents": 12, "context_class": "rural", "trend": "rising",
              "emerging_class": "new_hot"}],
         "statement": None},
        {"key": "asb", "label": "Anti-social behaviour, including fly-tipping",
         "figures": _fig(310, 402, 310.0, 402.0, 0.0012, "down", True),
         "groups": [{"key": "asb", "label": "Anti-social behaviour",
                     "figures": _fig(310, 402, 310.0, 402.0, 0.0012, "down", True)}],
         "monthly": _months([95, 104, 111], [128, 131, 143]),
         "top_places": [], "top_places_note": "the hotspot analysis found no places for this "
                                               "priority in the period", "statement": None},
        {"key": "serious_organised",
         "label": "Serious organised crime and cross-border crime",
         "figures": _fig(38, 31, 9120.0, 7440.0, 0.42, "no clear change", False),
         "groups": [
             {"key": "drugs", "label": "Drugs", "figures": _fig(30, 25, 600.0, 500.0, 0.48,
                                                                 "no clear change", False)},
             {"key": "weapons", "label": "Possession of weapons",
              "figures": _fig(8, 6, 8520.0, 6940.0, None, "no clear change", False)}],
         "monthly": _months([11, 14, 13], [9, 10, 12]),
         "top_places": [],
         "statement": ("Fraud and cyber crime have no meaningful place in street-level data: "
                       "they are not in it.\n\nCounty lines show only through drugs and "
                       "weapons offences, which are counted here.")},
    ]
    dosage: dict[str, Any] = {
        "plans": 3,
        "totals": _tally(24, 19, 360.0, 301.5, 2),
        "teams": {"rural_crime_team": _tally(16, 12, 240.0, 188.0, 1),
                  "Town centre officers": _tally(8, 7, 120.0, 113.5, 1)},
        "crews": {"RCT vehicle 1": _tally(9, 7, 135.0, 104.0, 1),
                  "RCT vehicle 2": _tally(7, 5, 105.0, 84.0),
                  "Thornbury officer 1": _tally(8, 7, 120.0, 113.5, 1)},
        "hotspots": [{"hotspot_id": "dbscan-7f3a", "place": "Thornbury: Market Street",
                      **_tally(8, 7, 120.0, 113.5, 1)},
                     {"hotspot_id": "dbscan-a901", "place": "Upper Dale farms",
                      **_tally(6, 0, 90.0, 0.0)}],
        "never_visited": [{"hotspot_id": "dbscan-a901", "place": "Upper Dale farms",
                           "plan_id": "plan-1", "crew": "RCT vehicle 2"}],
        "unplanned_visits": 1,
    }
    tables = [
        {"name": "priorities", "title": "Incidents and harm by priority",
         "columns": ["priority", "incidents", "previous", "change", "change_pct", "harm",
                     "previous_harm", "p_value", "verdict", "more_than_chance"],
         "rows": [[p["key"], *(p["figures"][k] for k in (
             "incidents", "previous", "change", "change_pct", "harm", "previous_harm",
             "p_value", "verdict", "more_than_chance"))] for p in priorities]},
        {"name": "groups", "title": "Incidents and harm by group",
         "columns": ["priority", "group", "incidents", "previous"],
         "rows": [[p["key"], g["key"], g["figures"]["incidents"], g["figures"]["previous"]]
                  for p in priorities for g in p["groups"]]},
        {"name": "monthly", "title": "Incidents by month",
         "columns": ["priority", "month", "incidents", "previous"],
         "rows": [[p["key"], m["month"], m["incidents"], m["previous"]]
                  for p in priorities for m in p["monthly"]]},
        {"name": "top_places", "title": "Top places",
         "columns": ["priority", "rank", "hotspot_id", "place", "incidents"],
         "rows": [[p["key"], t["rank"], t["hotspot_id"], t["place"], t["incidents"]]
                  for p in priorities for t in p["top_places"]]},
        {"name": "dosage_crews", "title": "Patrol dosage by crew",
         "columns": ["crew", "planned_visits", "visits_made"],
         "rows": [[k, v["planned_visits"], v["visits_made"]]
                  for k, v in dosage["crews"].items()]},
        {"name": "never_visited", "title": "Hotspots never visited",
         "columns": ["hotspot_id", "place", "plan_id", "crew"],
         "rows": [[n["hotspot_id"], n["place"], n["plan_id"], n["crew"]]
                  for n in dosage["never_visited"]]},
    ]
    return {
        "report_id": "rep_2024Q2_0001", "kind": "priority", "period": "2024-Q2",
        "period_label": "April to June 2024",
        "start": "2024-04-01T00:00:00+01:00", "end": "2024-07-01T00:00:00+01:00",
        "previous": {"period": "2023-Q2", "period_label": "April to June 2023",
                     "start": "2023-04-01T00:00:00+01:00", "end": "2023-07-01T00:00:00+01:00"},
        "created_at": "2024-07-08T09:15:00+00:00", "created_by": "Insp. Shaw",
        "data_version": "v42-3f9c0e1a",
        "attribution": "Contains public sector information licensed under the Open Government "
                       "Licence v3.0.",
        "test": "Each change is tested with an exact conditional Poisson test: given the two "
                "periods' total, is this period's share more than chance would give if the "
                "rate had not changed? A change is called more than chance when p < 0.05.",
        "months": ["2024-04", "2024-05", "2024-06"], "timezone": "Europe/London",
        "harm": {"unit": "days of custody (Cambridge Crime Harm Index)", "approximate": True,
                 "sources": []},
        "top_places_method": {"method": "dbscan", "per_priority": 10,
                              "trend_basis": "A place's trend compares its incidents with the "
                                             "same length of time just before the period."},
        "totals": _fig(705, 733, 29295.0, 24087.0, 0.46, "no clear change", False),
        "priorities": priorities, "dosage": dosage, "tables": tables,
    }


class _Collect(HTMLParser):
    """The page's elements (tag, attributes) and its text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(html: str) -> _Collect:
    c = _Collect()
    c.feed(html)
    return c


@pytest.fixture
def document() -> dict[str, Any]:
    return report_document()


def test_the_page_has_every_table_and_a_chart_per_priority(document: dict[str, Any]) -> None:
    html = report_page_html(document, assets="/static")
    page = _parse(html)
    text = " ".join(" ".join(page.text).split())
    # the title with the period and the comparison period; the data version and when made
    assert "Priority report: April to June 2024" in text
    assert "1 April 2024 to 30 June 2024" in text and "1 April 2023 to 30 June 2023" in text
    assert "v42-3f9c0e1a" in text and "8 July 2024 09:15 UTC by Insp. Shaw" in text
    assert document["test"] in text
    # teams by the names the force uses, not their keys
    assert "Rural Crime Team" in text and "rural_crime_team" not in text
    # the summary: one row per priority; each priority a section with a chart
    summary = html.split('id="summary-table"', 1)[1].split("</table>", 1)[0]
    assert summary.count("<tr data-priority=") == 4
    sections = [a for t, a in page.tags if t == "section" and "priority" in (a.get("class") or "")]
    assert [s["data-priority"] for s in sections] == [p["key"] for p in document["priorities"]]
    assert html.count('class="chart paired-month-chart"') == 4
    # each group a row, each top place a link to its hotspot page
    for p in document["priorities"]:
        for g in p["groups"]:
            assert f'data-group="{g["key"]}"' in html
        for t in p["top_places"]:
            assert (f'href="/hotspots/{t["hotspot_id"]}?method=dbscan&amp;priority={p["key"]}'
                    '&amp;from=2024-04&amp;to=2024-06"') in html
    assert "the hotspot analysis found no places for this priority in the period" in text
    assert document["top_places_method"]["trend_basis"] in text
    # the force's total under the priorities
    assert re.search(r"<tfoot><tr[^>]*><th[^>]*>All recorded crime</th>\s*<td[^>]*>705</td>", html)
    # every table of the report listed with its CSV link, and the zip
    links = {a.get("href") for t, a in page.tags if t == "a"}
    for t in document["tables"]:
        assert f"/v1/reports/rep_2024Q2_0001/tables/{t['name']}.csv" in links
        assert f'data-table="{t["name"]}"' in html
    assert "/v1/reports/rep_2024Q2_0001/csv" in links
    assert "/reports/rep_2024Q2_0001.pdf" in links
    # the dosage: totals in words, each crew a row, the hotspot never visited
    assert "19 of 24 planned visits made (79%)" in text
    assert "5 h 02 min on site against 6 h 00 min planned" in text
    for crew in document["dosage"]["crews"]:
        assert f">{crew}</th>" in html
    never = html.split('id="never-title"', 1)[1].split("</ul>", 1)[0]
    assert "Upper Dale farms" in never and "RCT vehicle 2" in never
    assert 'href="/plans/plan-1"' in never
    # the statement for serious organised crime, in its own paragraphs
    assert "<p>County lines show only through drugs and weapons offences" in html
    assert document["attribution"] in text
    # no script and nothing loaded: the page prints to PDF with no network
    assert not [t for t, _a in page.tags if t in ("script", "link", "img", "iframe", "base")]
    # away from the service (the PDF), its links lead to the service's address
    away = report_page_html(document, base="https://hotspots.example.police.uk/")
    assert '<base href="https://hotspots.example.police.uk/">' in away


def test_verdicts_are_in_words_not_only_a_p_value(document: dict[str, Any]) -> None:
    html = report_page_html(document, assets="/static")
    text = " ".join(" ".join(_parse(html).text).split())
    # burglary up beyond chance, ASB down beyond chance, the rest could be chance
    assert "Up: more than chance" in text and "Down: more than chance" in text
    assert "No clear change: could be chance" in text
    assert "No clear change: too few incidents to test" in text  # heritage: no p-value
    assert "p < 0.001" in text and "p = 0.077" not in text and "p = 0.08" in text
    asb = html.split('data-priority="asb"', 1)[1].split("</tr>", 1)[0]
    assert "\u221292" in asb and "\u221222.9%" in asb and "v-down" in asb


def test_text_from_the_document_is_only_text(document: dict[str, Any]) -> None:
    hostile = copy.deepcopy(document)
    hostile["report_id"] = HOSTILE
    for key in ("period_label", "created_by", "data_version", "attribution", "test"):
        hostile[key] = HOSTILE
    hostile["previous"]["period_label"] = HOSTILE
    for p in hostile["priorities"]:
        p["label"] = HOSTILE
        p["key"] = HOSTILE
        p["statement"] = HOSTILE
        for g in p["groups"]:
            g["label"] = HOSTILE
        for t in p["top_places"]:
            t.update(place=HOSTILE, hotspot_id=HOSTILE, trend=HOSTILE, context_class=HOSTILE,
                     emerging_class=HOSTILE)
    d = hostile["dosage"]
    d["crews"] = {HOSTILE: d["crews"]["RCT vehicle 1"]}
    d["teams"] = {HOSTILE: d["teams"]["rural_crime_team"]}
    d["hotspots"][0]["place"] = HOSTILE
    d["never_visited"][0].update(place=HOSTILE, crew=HOSTILE, hotspot_id=HOSTILE,
                                 plan_id=HOSTILE)
    for t in hostile["tables"]:
        t["title"] = HOSTILE
        t["columns"] = [HOSTILE]
    hostile["tables"][0]["name"] = HOSTILE
    html = report_page_html(hostile, assets="/static")
    page = _parse(html)
    assert not [t for t, _a in page.tags if t in ("script", "img")]
    assert "<script>" not in html and "<img" not in html
    # every attribute is one the page wrote, never one from the data
    assert not [a for _t, a in page.tags if any(k.startswith("on") for k in a)]
    # the text reads back as it was given (the &amp; stays as typed, not an ampersand)
    text = "".join(page.text)
    assert text.count(HOSTILE) >= 20
    # links built from an id keep it inside their path
    for _t, a in page.tags:
        href = a.get("href") or ""
        assert not re.search(r"[<>\"' ]", href), href


def test_a_report_without_its_months_links_places_by_its_dates(
        document: dict[str, Any]) -> None:
    del document["months"], document["top_places_method"]
    html = report_page_html(document, assets="/static")
    assert 'href="/hotspots/dbscan-7f3a?priority=theft_burglary_robbery&amp;from=2024-04&amp;' \
        'to=2024-06"' in html


def test_a_report_with_no_plans_says_so(document: dict[str, Any]) -> None:
    document["dosage"] = {"plans": 0, "totals": _tally(0, 0, 0.0, 0.0), "teams": {},
                          "crews": {}, "hotspots": [], "never_visited": [],
                          "unplanned_visits": 0}
    html = report_page_html(document, assets="/static")
    assert "No patrol plan was published for a shift in this period" in html
    assert "never-title" not in html and "By crew" not in html


def test_the_paired_chart_draws_both_years_apart_in_black_and_white() -> None:
    svg = paired_month_chart([("2024-04", 88, 80), ("2024-05", 97, 0), ("2024-06", 101, 86)],
                             title="Burglary <by month>", names=("2024 & now", "2023"))
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "Burglary &lt;by month&gt;" in svg and "2024 &amp; now" in svg
    # the year before is hatched (a pattern), this period solid: not colour alone
    hatch = re.search(r'<pattern id="([^"]+)"', svg)
    assert hatch
    assert svg.count(f'fill="url(#{hatch.group(1)})"') == 3 + 1  # three bars and the key
    assert svg.count('<g class="month current">') == 3
    # every bar carries its number; the tooltips name the month and the year before
    for n in ("88", "97", "101", "80", "86"):
        assert f">{n}</text>" in svg
    assert "<title>April 2024: 88 incidents</title>" in svg
    assert "<title>May 2023: 0 incidents</title>" in svg
    # the y axis reaches a round number at or above the highest bar
    assert ">150</text>" in svg and ">200</text>" not in svg


def test_the_numbers_read_as_a_person_reads_them() -> None:
    assert signed(62) == "+62" and signed(-1234) == "\u22121,234" and signed(0) == "0"
    assert percent(24.84) == "+24.8%" and percent(None) == "\u2013"
    assert p_text(0.0004) == "p < 0.001" and p_text(0.0049) == "p = 0.005"
    assert p_text(0.21) == "p = 0.21" and p_text(None) == "not tested"
    assert verdict_text({"verdict": "up", "more_than_chance": True, "p_value": 0.01}) == \
        "Up: more than chance"


def test_hotspots_that_share_a_name_in_the_dosage_table_get_their_ids(
        document: dict[str, Any]) -> None:
    spots = document["dosage"]["hotspots"]
    twin = {**spots[0], "hotspot_id": "dbscan-9c01"}
    document["dosage"]["hotspots"] = [spots[0], twin, *spots[1:]]
    html = report_page_html(document, assets="/static")
    place = spots[0]["place"]
    assert f"{place} (dbscan-7f3a)" in html and f"{place} (dbscan-9c01)" in html
    others = [h["place"] for h in spots[1:] if h["place"] != place]
    assert all(f"{p} (" not in html for p in others)  # a name used once stays as it is


def test_the_form_offers_only_periods_with_their_year_before_in_the_store() -> None:
    """A report compares a period with the same months a year before and is refused without
    them: the form offers no period it would refuse. The store runs from March 2023 to
    August 2024 here."""
    from maps.report_page import period_choices, reports_list_html

    offered = dict(period_choices("2024-08", "2023-03"))
    assert [v for v, _ in offered["Month"]] == ["2024-08", "2024-07", "2024-06", "2024-05",
                                               "2024-04", "2024-03"]
    assert [v for v, _ in offered["Quarter"]] == ["2024-Q2"]  # Q1 2024 needs Jan-Mar 2023
    assert "Year to date" not in offered and "Year" not in offered  # both need January 2023
    everything = dict(period_choices("2024-08"))  # no first month known: all, as before
    assert len(everything["Month"]) == 12 and everything["Year to date"][0][0] == "2024-08-YTD"
    assert dict(period_choices("2024-12", "2022-01"))["Year"] == [
        ("2024", "The year 2024"), ("2023", "The year 2023")]
    assert "Year to date" not in dict(period_choices("2024-12", "2022-01"))  # the year itself
    page = reports_list_html([], latest="2024-06", earliest="2023-09")
    assert 'id="no-periods"' in page and "from 2023-09 to 2024-06" in page
    assert 'id="no-periods"' not in reports_list_html([], latest="2024-08", earliest="2023-03")
