"""Priority reports through the real HTTP app, on small hand-made stores (SQLite and PostGIS):
every figure against a hand count, the stored report unchanged after new data, the CSV and zip,
bad input and roles."""

from __future__ import annotations

import csv
import io
import json
import math
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.access import new_key
from api.app import create_app
from geodata.ingest import ingest
from geodata.readers import read_police_csv
from geodata.stores import Store
from hotspot.gridref import grid_reference_of
from tests.api.test_api import settings_for
from tests.conftest import STORE_KINDS, as_role, make_store

HEADER = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,"
          "LSOA name,Crime type,Last outcome category,Context\n")
SHOP = ("-1.080480", "53.959683")  # one map point in York: a shop
HOUSES = ("-1.060000", "53.970000")  # another, about 2 km away
ELSEWHERE = ("-1.120000", "53.940000")

# (month, crime type, how many, where): June 2024 against June 2023
ROWS = [
    ("2024-06", "Shoplifting", 30, SHOP), ("2023-06", "Shoplifting", 15, SHOP),
    ("2024-06", "Burglary", 10, HOUSES), ("2023-06", "Burglary", 12, HOUSES),
    ("2024-06", "Robbery", 1, ELSEWHERE),
    ("2024-06", "Drugs", 4, ELSEWHERE), ("2023-06", "Drugs", 4, ELSEWHERE),
    ("2024-06", "Possession of weapons", 2, ELSEWHERE),
    ("2024-06", "Anti-social behaviour", 8, ELSEWHERE),
    ("2023-06", "Anti-social behaviour", 20, ELSEWHERE),
    ("2024-06", "Violence and sexual offences", 5, ELSEWHERE),
    ("2023-06", "Violence and sexual offences", 5, ELSEWHERE),
]
"""Harm (built-in table, days): shoplifting 5, burglary 28, robbery 365, drugs 5, weapons 28,
ASB 1, violence 14."""


def police_csv(rows: list[tuple[str, str, int, tuple[str, str]]], prefix: str = "c") -> bytes:
    """A data.police.uk street-level file of ``rows`` (one line per incident; ASB without an
    id, as the real files have it)."""
    lines = [HEADER]
    n = 0
    for month, crime, count, (lon, lat) in rows:
        for _ in range(count):
            n += 1
            cid = "" if crime == "Anti-social behaviour" else f"{prefix}{n:05d}"
            lines.append(f"{cid},{month},Test Police,Test Police,{lon},{lat},On or near High "
                         f"Street,E01012345,York 001A,{crime},,\n")
    return "".join(lines).encode()


def load(store: Store, rows: list[tuple[str, str, int, tuple[str, str]]],
         prefix: str = "c") -> None:
    ingest(store, read_police_csv(io.BytesIO(police_csv(rows, prefix)), name="hand.csv"))


def exact_two_sided(n1: int, n: int) -> float:
    """The two-sided exact binomial p-value of ``n1`` of ``n`` at one half, by hand."""
    pmf = [math.comb(n, k) / 2**n for k in range(n + 1)]
    return min(1.0, sum(q for q in pmf if q <= pmf[n1] * (1 + 1e-7)))


def plan(stops: list[tuple[str, str, str]]) -> dict:
    """A minimal stored plan document: one Rural Crime Team route over hotspot stops
    (stop id, hotspot id, name), 15 minutes each."""
    return {"routes": [{"label": "RCT 1", "unit": "rural_crime_team", "stops": [
        {"kind": "base", "name": "Base"},
        *({"kind": "hotspot", "stop_id": s, "hotspot_id": h, "name": f"#1 {name}",
           "dwell_min": 15.0} for s, h, name in stops),
        {"kind": "base", "name": "Base"}]}]}


def add_plans(store: Store) -> None:
    """A published plan of June 2024 (two stops, one visited for 12 minutes), a draft of
    June (not counted) and a published plan of July (outside the period)."""
    version = store.data_version()
    june = plan([("s1", "H1", "Shop Street"), ("s2", "H2", "Farm Lane")])
    store.put_plan("p-june", shift_start="2024-06-14T16:00:00+01:00",
                   shift_end="2024-06-15T02:00:00+01:00", data_version=version, request={},
                   plan=june, published_at="2024-06-14T12:00:00+00:00")
    store.put_plan("p-draft", shift_start="2024-06-20T16:00:00+01:00",
                   shift_end="2024-06-21T02:00:00+01:00", data_version=version, request={},
                   plan=plan([("s1", "H1", "Shop Street")]))
    store.put_plan("p-july", shift_start="2024-07-01T16:00:00+01:00",
                   shift_end="2024-07-02T02:00:00+01:00", data_version=version, request={},
                   plan=plan([("s1", "H1", "Shop Street")]),
                   published_at="2024-07-01T12:00:00+00:00")
    store.add_visit({"visit_id": "v1", "plan_id": "p-june", "stop_id": "s1", "hotspot_id": "H1",
                     "visited_at": "2024-06-14T17:00:00+01:00", "note": "", "officer": "PC 1",
                     "ended_at": "2024-06-14T17:12:00+01:00"})


@pytest.fixture(scope="module", params=STORE_KINDS)
def app(request: pytest.FixtureRequest,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("reports-api")
    store = make_store(request.param, root, request)
    load(store, ROWS)
    add_plans(store)
    with TestClient(create_app(settings_for(root), store=store)) as c:
        yield as_role(c, "analyst")
    store.close()


@pytest.fixture(scope="module")
def made(app: TestClient) -> dict:
    """The report of June 2024, made before any test adds data."""
    r = app.post("/v1/reports", json={"period": "2024-06"})
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture(scope="module")
def report(app: TestClient, made: dict) -> dict:
    r = app.get(made["links"]["self"])
    assert r.status_code == 200
    return r.json()


def by_key(items: list[dict]) -> dict[str, dict]:
    return {i["key"]: i for i in items}


def test_the_report_is_made_and_listed(app: TestClient, made: dict, report: dict) -> None:
    rid = made["report_id"]
    assert made["period"] == "2024-06" and made["period_label"] == "June 2024"
    assert made["previous"]["period"] == "2023-06"
    assert made["start"] == "2024-06-01T00:00:00+01:00"
    assert made["end"] == "2024-07-01T00:00:00+01:00"
    assert made["links"]["self"] == f"/v1/reports/{rid}"
    assert report["report_id"] == rid and report["kind"] == "priority"
    assert report["created_by"] == "test analyst"
    assert "Open Government Licence" in report["attribution"]
    assert "exact conditional test" in report["test"] and "p < 0.05" in report["test"]
    listed = app.get("/v1/reports").json()
    mine = next(r for r in listed if r["report_id"] == rid)
    assert mine["data_version"] == report["data_version"]
    assert mine["summary"]["incidents"] == 60 and mine["summary"]["previous"] == 56


def test_figures_are_hand_counts(report: dict) -> None:
    t = report["totals"]
    assert (t["incidents"], t["previous"], t["change"]) == (30 + 10 + 1 + 4 + 2 + 8 + 5,
                                                            15 + 12 + 4 + 20 + 5, 4)
    prios = by_key(report["priorities"])
    assert list(prios) == ["serious_organised", "theft_burglary_robbery", "rural", "asb",
                           "other"]
    theft = prios["theft_burglary_robbery"]
    f = theft["figures"]
    assert (f["incidents"], f["previous"], f["change"]) == (41, 27, 14)
    assert f["change_pct"] == round(100 * 14 / 27, 1)
    assert f["harm"] == 30 * 5 + 10 * 28 + 365 and f["previous_harm"] == 15 * 5 + 12 * 28
    assert f["p_value"] == pytest.approx(exact_two_sided(41, 68), rel=1e-9)
    assert f["verdict"] == "no clear change" and f["more_than_chance"] is False
    groups = by_key(theft["groups"])
    assert theft["label"] == "Theft, burglary and robbery"
    retail = groups["retail"]["figures"]
    assert (retail["incidents"], retail["previous"]) == (30, 15)
    assert retail["p_value"] == pytest.approx(exact_two_sided(30, 45), rel=1e-9)
    assert (retail["verdict"], retail["more_than_chance"]) == ("up", True)
    assert retail["harm"] == 150 and retail["previous_harm"] == 75
    burglary = groups["burglary_unspecified"]["figures"]
    assert (burglary["incidents"], burglary["previous"], burglary["change_pct"]) == (10, 12,
                                                                                     -16.7)
    assert groups["robbery"]["figures"]["incidents"] == 1
    assert groups["robbery"]["figures"]["change_pct"] is None  # none the year before
    assert groups["residential_burglary"]["figures"]["incidents"] == 0
    asb = prios["asb"]["figures"]
    assert (asb["incidents"], asb["previous"], asb["verdict"]) == (8, 20, "down")
    assert asb["p_value"] == pytest.approx(exact_two_sided(8, 28), rel=1e-9)
    assert asb["p_value"] < 0.05
    assert asb["harm"] == 8 and asb["previous_harm"] == 20
    assert prios["rural"]["figures"]["incidents"] == 0
    assert prios["rural"]["figures"]["p_value"] is None
    assert prios["theft_burglary_robbery"]["monthly"] == [
        {"month": "2024-06", "previous_month": "2023-06", "incidents": 41, "previous": 27}]


def test_serious_organised_crime_says_what_the_data_can_show(report: dict) -> None:
    soc = by_key(report["priorities"])["serious_organised"]
    groups = by_key(soc["groups"])
    assert (groups["drugs"]["figures"]["incidents"], groups["drugs"]["figures"]["previous"]) \
        == (4, 4)
    assert groups["weapons"]["figures"]["incidents"] == 2
    assert groups["organised_crime"]["figures"]["incidents"] == 0
    assert soc["figures"]["harm"] == 4 * 5 + 2 * 28
    text = soc["statement"]
    assert "Fraud and cyber crime have no meaningful place in street-level data" in text
    assert "county lines" in text.lower() and "drugs offences: 4 (4 a year before)" in text
    assert "possession of weapons: 2 (0 a year before)" in text
    assert all(p["statement"] is None for p in report["priorities"]
               if p["key"] != "serious_organised")


def test_top_places_come_from_the_hotspot_engine(report: dict) -> None:
    theft = by_key(report["priorities"])["theft_burglary_robbery"]
    places = theft["top_places"]
    assert places, theft["top_places_note"]
    assert [p["rank"] for p in places] == list(range(1, len(places) + 1))
    assert places[0]["incidents"] == 30  # the shop's map point
    # its 100 m square, to tell apart places that share a name (cut, not rounded)
    assert places[0]["grid_ref"] == grid_reference_of(float(SHOP[0]), float(SHOP[1]), digits=6)
    assert places[0]["trend"] in ("up", "down", "flat", "unknown")
    assert by_key(report["priorities"])["rural"]["top_places"] == []
    assert report["top_places_method"]["method"] == "dbscan"


def test_dosage_is_the_published_plans_of_the_period(report: dict) -> None:
    d = report["dosage"]
    assert d["plans"] == 1  # the draft and July's plan are left out
    assert d["totals"]["planned_visits"] == 2 and d["totals"]["visits_made"] == 1
    assert d["totals"]["minutes_on_site"] == 12.0 and d["totals"]["share"] == 0.5
    assert [n["hotspot_id"] for n in d["never_visited"]] == ["H2"]
    tables = by_name(report)
    assert tables["dosage_teams"]["rows"][0][:4] == ["all", 2, 30.0, 1]
    assert tables["never_visited"]["rows"][0][:3] == ["H2", "Farm Lane", "p-june"]


def by_name(report: dict) -> dict[str, dict]:
    return {t["name"]: t for t in report["tables"]}


def test_tables_as_csv_and_zip(app: TestClient, made: dict, report: dict) -> None:
    rid = made["report_id"]
    r = app.get(f"/v1/reports/{rid}/tables/priorities.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    retail = next(x for x in rows if x["group"] == "retail")
    assert (retail["incidents"], retail["previous"], retail["verdict"]) == ("30", "15", "up")
    assert len(rows) == len(by_name(report)["priorities"]["rows"])
    z = app.get(f"/v1/reports/{rid}/csv")
    assert z.status_code == 200 and z.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(z.content)) as f:
        names = f.namelist()
        assert names[0] == "ABOUT.txt"
        assert sorted(names[1:]) == sorted(f"{t}.csv" for t in by_name(report))
        about = f.read("ABOUT.txt").decode()
        assert "Open Government Licence" in about and report["data_version"] in about
        assert f.read("priorities.csv") == r.content
    assert app.get(f"/v1/reports/{rid}/csv").content == z.content  # the same bytes
    again = app.get(f"/v1/reports/{rid}/csv", headers={"If-None-Match": z.headers["etag"]})
    assert again.status_code == 304
    missing = app.get(f"/v1/reports/{rid}/tables/nothing.csv")
    assert missing.status_code == 404 and missing.json()["field"] == "name"


def test_a_stored_report_is_shown_unchanged_after_new_data(app: TestClient, made: dict,
                                                           report: dict) -> None:
    before = app.get(made["links"]["self"])
    store = app.app.state.store
    load(store, [("2024-06", "Shoplifting", 7, SHOP)], prefix="late")
    assert store.data_version() != report["data_version"]
    after = app.get(made["links"]["self"])
    assert after.content == before.content  # byte for byte
    assert after.json()["data_version"] == report["data_version"]
    new = app.post("/v1/reports", json={"period": "2024-06"}).json()
    fresh = app.get(new["links"]["self"]).json()
    assert fresh["data_version"] == store.data_version() != report["data_version"]
    retail = by_key(by_key(fresh["priorities"])["theft_burglary_robbery"]["groups"])["retail"]
    assert retail["figures"]["incidents"] == 37
    old_zip = app.get(f"/v1/reports/{made['report_id']}/csv").content
    with zipfile.ZipFile(io.BytesIO(old_zip)) as f:
        assert ",retail,Retail (shoplifting),30,15," in f.read("priorities.csv").decode()


@pytest.mark.parametrize(("body", "words"), [
    ({"period": "2024-13"}, "period must be"),
    ({"period": "2024-06-01"}, "period must be"),
    ({"period": "x" * 13}, ""),
    ({"period": "2024-05"}, "no incidents at all for May 2024"),
    ({"period": "2024-Q2"}, "no incidents in 2024-04, 2024-05"),
    ({"period": "2025-06"}, "no incidents at all"),
    ({"period": "2023-06"}, "same period a year before"),
    ({}, ""),
    ({"period": 202406}, ""),
])
def test_bad_periods_are_refused_naming_period(app: TestClient, body: dict, words: str) -> None:
    r = app.post("/v1/reports", json=body)
    assert r.status_code == 422, r.text
    answer = r.json()
    assert answer["field"] == "period"
    assert words in answer["detail"]


def test_extra_fields_and_unknown_reports_are_refused(app: TestClient) -> None:
    r = app.post("/v1/reports", json={"period": "2024-06", "format": "pdf"})
    assert r.status_code == 422
    for path in ("/v1/reports/0123456789abcdef", "/v1/reports/..%2F..", "/v1/reports/x%00y",
                 "/v1/reports/0123456789abcdef/csv",
                 "/v1/reports/0123456789abcdef/tables/priorities.csv"):
        got = app.get(path)
        assert got.status_code == 404, path
    big = app.post("/v1/reports", content=b'{"period": "' + b" " * 8000 + b'2024-06"}',
                   headers={"Content-Type": "application/json"})
    assert big.status_code == 413


def test_an_incomplete_month_is_refused(app: TestClient) -> None:
    r = app.post("/v1/incidents", json=[{"occurred_at": "2024-07-10T12:00:00+01:00",
                                         "crime_type": "Shoplifting", "lon": -1.08,
                                         "lat": 53.96}])
    assert r.status_code in (200, 201), r.text
    got = app.post("/v1/reports", json={"period": "2024-07"})
    assert got.status_code == 422
    assert "not complete" in got.text and "2024-06" in got.text


def test_one_report_at_a_time(app: TestClient) -> None:
    from api.services import reports as service

    assert service._one_at_a_time.acquire(blocking=False)  # a report being made
    try:
        r = app.post("/v1/reports", json={"period": "2024-06"})
    finally:
        service._one_at_a_time.release()
    assert r.status_code == 503 and "another report" in r.json()["detail"]
    assert r.headers["retry-after"]


@pytest.mark.parametrize("role", ["rural_team", "partner"])
def test_only_staff_may_make_or_read_reports(app: TestClient, made: dict, role: str) -> None:
    token, _ = new_key(app.app.state.store, name=f"a {role}", role=role)
    headers = {"Authorization": f"Bearer {token}"}
    rid = made["report_id"]
    assert app.post("/v1/reports", json={"period": "2024-06"},
                    headers=headers).status_code == 403
    for path in ("/v1/reports", f"/v1/reports/{rid}", f"/v1/reports/{rid}/csv",
                 f"/v1/reports/{rid}/tables/priorities.csv"):
        assert app.get(path, headers=headers).status_code == 403, path


def test_no_key_no_report(app: TestClient, made: dict) -> None:
    anonymous = {"Authorization": ""}
    assert app.get("/v1/reports", headers=anonymous).status_code == 401
    assert app.post("/v1/reports", json={"period": "2024-06"},
                    headers=anonymous).status_code == 401


def test_an_admin_may(app: TestClient, made: dict, tmp_path: Path) -> None:
    token, _ = new_key(app.app.state.store, name="the admin", role="admin")
    r = app.get(f"/v1/reports/{made['report_id']}",
                headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200


def test_the_demo_plants_show_in_the_report(tmp_path: Path, demo_files) -> None:
    """On the demo: the planted flat robbery is the same in both years (p = 1), the planted
    burglary series makes residential burglary rise more than chance."""
    from api.services.reports import make_report
    from geodata.demo import load_demo
    from geodata.stores import SQLiteStore

    truth = json.loads(Path(demo_files.plants).read_text("utf-8"))
    store = SQLiteStore.open(tmp_path / "demo.sqlite")
    load_demo(store, demo_files)
    try:
        document = make_report(store, settings_for(tmp_path), period="2024-Q2",
                               created_by="test")
    finally:
        store.close()
    theft = by_key(by_key(document["priorities"])["theft_burglary_robbery"]["groups"])
    flat = truth["flat_group"]["monthly"]
    robbery = theft["robbery"]["figures"]
    assert robbery["incidents"] == sum(flat[f"2024-0{m}"] for m in (4, 5, 6))
    assert robbery["previous"] == sum(flat[f"2023-0{m}"] for m in (4, 5, 6))
    assert robbery["incidents"] == robbery["previous"] and robbery["p_value"] == 1.0
    series = truth["burglary_series"]["monthly"]
    burglary = theft["residential_burglary"]["figures"]
    assert burglary["incidents"] >= sum(series[f"2024-0{m}"] for m in (4, 5, 6))
    assert (burglary["verdict"], burglary["more_than_chance"]) == ("up", True)


def test_the_store_keeps_a_report_as_given_and_never_changes_it(store: Store) -> None:
    from geodata.errors import InvalidText

    text = '{"b": 2, "a": [1.50, "é"]}'  # key order, spacing and 1.50 kept as written
    listing = store.add_report("0123456789abcdef", kind="priority", period="2024-06",
                               start=1, end=2, created_by="me", data_version="v1",
                               summary={"incidents": 3}, document=text)
    assert listing["report_id"] == "0123456789abcdef" and listing["summary"] == {"incidents": 3}
    assert (listing["period_start"], listing["period_end"]) == (1, 2)
    got = store.report("0123456789abcdef")
    assert got is not None and got[1] == text and got[0] == listing
    assert store.report("nothing") is None and store.report("a\x00b") is None
    assert [r["report_id"] for r in store.list_reports()] == ["0123456789abcdef"]
    with pytest.raises(InvalidText):
        store.add_report("1123456789abcdef", kind="priority", period="2024-06", start=1,
                         end=2, created_by="me", data_version="v1", summary={},
                         document='{"a": "\x00"}')
    with pytest.raises(Exception, match="never changed"), \
            store._transaction() as conn:  # type: ignore[attr-defined]
        conn.execute("UPDATE reports SET document = '{}'")
    assert store.report("0123456789abcdef")[1] == text  # type: ignore[index]
