"""What the demo plants for the plan's priorities (issue 16), each figure of
``truth/plants.json`` checked against a hand count of the generated files, and what
``hotspot serve --demo`` adds (the partnership's submissions, a published plan with visits)."""

from __future__ import annotations

import csv
import json
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from scipy.stats import binomtest

from api.access import check_key
from api.cli.demo import DEMO_PLAN_NAME, demo_activity
from api.settings import Settings
from geodata.demo import load_demo
from geodata.demo.plants import NEIGHBOUR_FORCE
from geodata.layers import read_layer
from hotspot.dosage import minutes_on_site, patrol_dosage

LAST_12 = [f"2024-{m:02d}" for m in range(1, 13)]


@pytest.fixture(scope="module")
def truth(demo_files) -> dict[str, Any]:
    return json.loads(demo_files.plants.read_text())


@pytest.fixture(scope="module")
def export(demo_files) -> pd.DataFrame:
    frame = pd.read_csv(demo_files.force_export)
    frame["when"] = pd.to_datetime(frame["occurred_at"])
    frame["month"] = frame["when"].dt.strftime("%Y-%m")
    return frame


@pytest.fixture(scope="module")
def boundary(demo_files) -> shapely.Geometry:
    return read_layer("force_boundary", demo_files.layers["force_boundary"]).frame.geometry.iloc[0]


def _police(paths: list[Path]) -> pd.DataFrame:
    return pd.concat(pd.read_csv(p, dtype=str, keep_default_na=False) for p in paths)


def _bng(lon: pd.Series, lat: pd.Series) -> gpd.GeoSeries:
    return gpd.GeoSeries.from_xy(lon.astype(float), lat.astype(float), crs=4326).to_crs(27700)


def test_the_plants_are_the_same_for_the_same_seed(tmp_path, demo_files) -> None:
    from geodata.demo import write_demo

    again = write_demo(tmp_path / "again", incidents=5_000)
    assert again.plants and again.business_reports
    assert again.plants.read_bytes() == demo_files.plants.read_bytes()
    assert again.business_reports.read_bytes() == demo_files.business_reports.read_bytes()
    assert [p.read_bytes() for p in again.neighbour_csvs] == \
        [p.read_bytes() for p in demo_files.neighbour_csvs]


def test_residential_burglary_rises_more_than_chance(truth, export) -> None:
    series = truth["burglary_series"]
    assert series["place"] == "Thornbury" and series["crime_type"] == "Burglary - residential"
    monthly = series["monthly"]
    for month in range(1, 13):  # each month of 2024 is 1.8 times the same month of 2023
        before, after = monthly[f"2023-{month:02d}"], monthly[f"2024-{month:02d}"]
        assert after == round(1.8 * before)
    # hand count: the residential burglary group, quarter by quarter, in the force export
    burglary = export[export["crime_type"] == "Burglary - residential"]
    quarter = burglary["when"].dt.to_period("Q").astype(str).value_counts()
    significant = 0
    for q in ("Q1", "Q2", "Q3", "Q4"):
        before, after = int(quarter[f"2023{q}"]), int(quarter[f"2024{q}"])
        assert after > before
        # the exact Poisson comparison: given the total, 2024's share is binomial(1/2)
        significant += binomtest(after, after + before, 0.5).pvalue < 0.05
    assert significant >= 1
    # the rise is on the estate: within 3 sd of its centre the series is most of it
    c = series["centre"]
    near = burglary[np.hypot(burglary["easting"] - c["x"], burglary["northing"] - c["y"])
                    < 3 * series["sd_m"]]
    years = near["when"].dt.year.value_counts()
    assert years[2024] / years[2023] > 1.5
    assert len(near) >= 0.9 * series["incidents"]


def test_robbery_is_flat_month_for_month(truth, export) -> None:
    flat = truth["flat_group"]
    robbery = export[export["crime_type"] == flat["crime_type"]]
    counts = robbery["month"].value_counts()
    for month in range(1, 13):
        assert counts.get(f"2023-{month:02d}", 0) == counts.get(f"2024-{month:02d}", 0)
    assert {m: int(counts.get(m, 0)) for m in flat["monthly"]} == flat["monthly"]
    assert flat["incidents"] == len(robbery)


def test_persistent_asb_places_by_hand_count(truth, export, demo_files) -> None:
    places = truth["persistent_asb"]["places"]
    assert truth["persistent_asb"]["last_months"] == LAST_12
    assert len({p["name"] for p in places}) == len(places) == 5
    assert 3 <= sum(p["persistent"] for p in places) <= 5
    police = _police(demo_files.police_csvs)
    asb = police[(police["Crime type"] == "Anti-social behaviour")
                 & police["Month"].isin(LAST_12)]
    for p in places:
        # the force export: every report at the one exact address, month by month
        a = p["address"]
        here = export[(export["easting"] == a["easting"]) & (export["northing"] == a["northing"])]
        assert set(here["crime_type"]) == {"Anti-social behaviour"}
        assert set(here["location"]) == {p["street"]}
        by_month = here["month"].value_counts()
        assert {m: int(by_month.get(m, 0)) for m in LAST_12} == p["monthly"]
        months = sum(1 for m in LAST_12 if by_month.get(m, 0))
        assert months == p["months_with_asb"]
        # and its own: no other report of anti-social behaviour within 10 m of it
        others = export[(export["crime_type"] == "Anti-social behaviour")
                        & ~export.index.isin(here.index)]
        gap = np.hypot(others["easting"] - a["easting"], others["northing"] - a["northing"])
        assert gap.min() > 10
        # data.police.uk: the map point it is snapped to
        mp = p["map_point"]
        at = asb[(asb["Longitude"] == f"{mp['lon']:.6f}") & (asb["Latitude"] == f"{mp['lat']:.6f}")]
        assert set(at["Location"]) == {p["location"]}
        point_months = at["Month"].value_counts()
        assert {m: int(point_months.get(m, 0)) for m in LAST_12} == mp["monthly"]
        if p["persistent"]:
            assert months >= 10 and mp["months_with_asb"] >= 10
        else:
            assert months == 3 and mp["months_with_asb"] <= 4
    # at distinct map points
    assert len({(p["map_point"]["lon"], p["map_point"]["lat"]) for p in places}) == 5


def test_the_neighbours_files_lie_outside_the_boundary(truth, export, boundary,
                                                       demo_files) -> None:
    border = truth["cross_border"]
    assert [p.name for p in demo_files.neighbour_csvs] == border["files"]
    assert len(demo_files.neighbour_csvs) == 24
    rows = _police(demo_files.neighbour_csvs)
    assert set(rows["Reported by"]) == set(rows["Falls within"]) == {NEIGHBOUR_FORCE}
    assert len(rows) == border["neighbour_rows"]
    where = _bng(rows["Longitude"], rows["Latitude"])
    inside = shapely.contains_xy(boundary, where.x.to_numpy(), where.y.to_numpy())
    assert (~inside).sum() == border["neighbour_outside"]
    # the rows inside are the force's own crimes, as the force's own files have them
    assert sorted(rows.loc[inside, "Crime ID"]) == sorted(border["duplicates_of_force"])
    ours = _police(demo_files.police_csvs).set_index("Crime ID")
    for _, row in rows[inside].iterrows():
        same = ours.loc[row["Crime ID"]]
        assert (same["Month"], same["Longitude"], same["Latitude"], same["Crime type"]) == (
            row["Month"], row["Longitude"], row["Latitude"], row["Crime type"])
    assert set(border["duplicates_of_force_incidents"]) <= set(border["force_ids"])
    assert len(border["duplicates_of_force_incidents"]) == 4
    assert (where[~inside].distance(boundary) > 50).all()
    # the cluster straddles the boundary: within 1.2 km of its centre on both sides
    c = border["centre"]
    theirs = ((np.hypot(where.x - c["x"], where.y - c["y"]) < 1_200) & ~inside).sum()
    near = export[np.hypot(export["easting"] - c["x"], export["northing"] - c["y"]) < 1_200]
    assert theirs >= 0.8 * border["neighbour_cluster_rows"] and theirs >= 20
    assert set(border["force_ids"]) <= set(near["incident_id"])
    assert len(border["force_ids"]) == border["force_incidents"] >= 20
    assert set(export.set_index("incident_id").loc[border["force_ids"], "crime_type"]) <= {
        "Plant and machinery theft", "Agricultural theft", "Fuel theft"}


def test_the_partnerships_submissions_are_at_the_town_centre_shops(truth, demo_files) -> None:
    sent = truth["business_reports"]
    with demo_files.business_reports.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["time", "lon", "lat", "type", "value_pence", "business",
                             "description"]
    assert len(rows) == sent["rows"] == 48
    assert {r["type"] for r in rows} == {"shoplifting", "abuse_of_staff"}
    assert all((r["value_pence"] == "") == (r["type"] == "abuse_of_staff") for r in rows)
    assert sum(int(r["value_pence"] or 0) for r in rows) == sent["value_pence"]
    by_business: dict[str, int] = {}
    for r in rows:
        by_business[r["business"]] = by_business.get(r["business"], 0) + 1
    assert by_business == sent["by_business"]
    when = [datetime.fromisoformat(r["time"]) for r in rows]
    assert all(w.tzinfo is not None and 8 <= w.hour < 20 for w in when)
    assert {w.strftime("%Y-%m") for w in when} == {"2024-10", "2024-11", "2024-12"}
    centres = read_layer("town_centres", demo_files.layers["town_centres"]).frame
    shops = _bng(pd.Series([r["lon"] for r in rows]), pd.Series([r["lat"] for r in rows]))
    near = shapely.contains_xy(centres.geometry.union_all().buffer(100), shops.x.to_numpy(),
                               shops.y.to_numpy())
    assert near.all()


def test_load_demo_loads_the_neighbour_as_its_own_source(store, truth, export,
                                                        demo_files) -> None:
    report = load_demo(store, demo_files)
    assert store.count() == len(export) == report.accepted  # the force's own only
    sources = store.neighbour_sources()
    assert [s["source"] for s in sources] == [NEIGHBOUR_FORCE]
    # the demo store holds the force's export, whose ids are not Crime IDs: every row is kept
    assert sources[0]["incidents"] == truth["cross_border"]["neighbour_rows"]
    assert len(store.neighbour_incidents()) == truth["cross_border"]["neighbour_rows"]


def test_the_neighbours_copies_of_the_force_crimes_are_not_stored(store, truth,
                                                                 demo_files) -> None:
    from geodata.ingest import ingest
    from geodata.neighbours import load_neighbour, neighbour_read_options
    from geodata.readers import read_police_csv

    store.put_layer(read_layer("force_boundary", demo_files.layers["force_boundary"],
                               force_crs=store.crs))
    for path in demo_files.police_csvs:  # the force's own data.police.uk files
        ingest(store, read_police_csv(path))
    force = store.count()
    counts = {"accepted": 0, "duplicates_of_force": 0, "repeated": 0, "rejected": 0}
    for path in demo_files.neighbour_csvs:
        done = load_neighbour(store, read_police_csv(path, options=neighbour_read_options(store)),
                              source=NEIGHBOUR_FORCE)
        for k in counts:
            counts[k] += done["counts"][k]
    border = truth["cross_border"]
    assert counts == {"accepted": border["neighbour_outside"], "duplicates_of_force": 4,
                      "repeated": 0, "rejected": 0}
    assert store.count() == force
    assert len(store.neighbour_incidents()) == border["neighbour_outside"]


def test_serve_demo_adds_submissions_and_a_plan_with_visits(store, truth, demo_files,
                                                            tmp_path) -> None:
    load_demo(store, demo_files)
    (tmp_path / "demo-files").mkdir()
    shutil.copy(demo_files.business_reports, tmp_path / "demo-files" / "business-reports.csv")
    (tmp_path / "demo-files" / "police-uk").mkdir()
    for path in demo_files.stop_search_csvs:
        shutil.copy(path, tmp_path / "demo-files" / "police-uk" / path.name)
    settings = Settings(data_dir=tmp_path)
    added = demo_activity(store, settings)
    assert added["business_reports"] == 48
    # the stop and search files, apart from incidents, and the presets a GIS adds as layers
    assert added["stop_searches"] == store.count_stop_searches() > 0
    assert added["presets"] == 3 and {p["name"] for p in store.list_presets()} == {
        "town-centres-latest", "rural-latest", "asb-2024-q4"}
    keys = json.loads((tmp_path / "demo-keys.json").read_text())
    partner = check_key(store, keys["partner"])
    assert partner is not None and partner.role == "partner"
    mine = store.business_reports(submitted_by=partner.key_id)
    assert len(mine) == truth["business_reports"]["rows"]
    kinds: dict[str, int] = {}
    for r in mine:
        kinds[r["category"]] = kinds.get(r["category"], 0) + 1
    assert kinds == truth["business_reports"]["by_type"]
    assert sum(r["value_pence"] or 0 for r in mine) == truth["business_reports"]["value_pence"]

    stored = store.get_plan(added["plan_id"])
    assert stored is not None and stored["published_at"] is not None
    assert stored["request"]["name"] == DEMO_PLAN_NAME
    assert stored["shift_start"].startswith("2024-12-13T16:00")
    visits = store.plan_visits(added["plan_id"])
    stops = [s for r in stored["plan"]["routes"] for s in r["stops"] if s.get("stop_id")]
    assert 0 < len(visits) < len(stops) and len(visits) >= 0.6 * len(stops)
    assert all(v["ended_at"] for v in visits)
    dosage = patrol_dosage(stored["plan"], visits)
    totals = dosage["totals"]
    assert totals["planned_visits"] == len(stops)
    assert totals["visits_made"] == len(visits)
    by_hand = sum((datetime.fromisoformat(v["ended_at"])
                   - datetime.fromisoformat(v["visited_at"])).total_seconds() / 60 for v in visits)
    assert totals["minutes_on_site"] == pytest.approx(by_hand)
    assert sum(minutes_on_site(v) or 0 for v in visits) == pytest.approx(by_hand)
    assert dosage["never_visited"]  # some hotspot had none
    # again: nothing more
    again = demo_activity(store, settings)
    assert again == {"business_reports": 0, "plan_id": added["plan_id"], "visits": len(visits),
                     "stop_searches": 0, "presets": 0}
    assert len(store.business_reports()) == 48
