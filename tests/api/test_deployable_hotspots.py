"""Hotspots a planner can deploy, through the real app on the demo store: one parameter
definition for the API and the CLI, trends that say unknown without data, harm, places, area
budgets, Gi*, emerging classes and the method chosen by the backtest."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from geodata.demo import load_demo
from geodata.stores import SQLiteStore
from hotspot.params import METHODS, every_parameter
from tests.api.test_api import settings_for
from tests.conftest import as_role


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, demo_files) -> Iterator[tuple[TestClient, Path]]:
    root = tmp_path_factory.mktemp("deployable")
    store = SQLiteStore.open(root / "demo.sqlite")
    load_demo(store, demo_files)
    with TestClient(create_app(settings_for(root), store=store, demo=True)) as c:
        yield as_role(c), root / "demo.sqlite"
    store.close()


def test_every_declared_parameter_is_an_api_query_parameter_with_its_bounds(demo) -> None:
    client, _ = demo
    doc = client.get("/openapi.json").json()["paths"]["/v1/hotspots"]["get"]["parameters"]
    listed = {p["name"]: p for p in doc}
    for name, p in every_parameter().items():
        assert name in listed, name
        assert p.help.split(",")[0] in listed[name]["description"], name
        schema = listed[name]["schema"]["anyOf"][0]
        if p.kind == "float" and p.minimum is not None:
            assert schema.get("minimum", schema.get("exclusiveMinimum")) == p.minimum, name
    methods = listed["method"]["schema"]["enum"]
    assert set(METHODS) <= set(methods) and "auto" in methods


def test_the_cli_offers_every_declared_parameter() -> None:
    text = subprocess.run([sys.executable, "-m", "api.cli", "analyse", "--help"],
                          capture_output=True, text=True, env={"COLUMNS": "200",
                                                                "PATH": "/usr/bin"},
                          check=True).stdout
    for name in every_parameter():
        assert "--" + name.replace("_", "-") in text, name


def test_trend_is_unknown_when_the_previous_period_holds_no_data(demo) -> None:
    client, _ = demo
    first = client.get("/v1/hotspots", params={"from": "2023-01", "to": "2023-03"}).json()
    assert first["features"] and first["metadata"]["previous_period"] is False
    assert {f["properties"]["trend"] for f in first["features"]} == {"unknown"}
    later = client.get("/v1/hotspots", params={"from": "2024-04", "to": "2024-06"}).json()
    assert {f["properties"]["trend"] for f in later["features"]} - {"unknown"}


def test_every_hotspot_reports_count_and_harm_and_weight_harm_ranks_by_harm(demo) -> None:
    client, _ = demo
    by_count = client.get("/v1/hotspots", params={"method": "kde"}).json()
    harm = by_count["metadata"]["harm"]
    assert harm["approximate"] is True and harm["sources"]
    props = [f["properties"] for f in by_count["features"]]
    assert all(p["harm"] > 0 and p["incidents"] > 0 for p in props)
    by_harm = client.get("/v1/hotspots", params={"method": "kde", "weight": "harm"}).json()
    hp = [f["properties"] for f in by_harm["features"]]
    assert by_harm["parameters"]["weight"] == "harm"
    assert all(abs(p["weight"] - p["harm"]) <= 0.1 + 1e-6 * p["harm"] for p in hp)
    bad = client.get("/v1/hotspots", params={"weight": "victims"})
    assert bad.status_code == 422 and bad.json()["field"] == "weight"


def test_the_cli_and_the_api_give_the_same_hotspots_for_the_same_request(demo,
                                                                         tmp_path: Path) -> None:
    client, db = demo
    request = {"method": "kde", "bandwidth_m": "200", "priority": "asb", "from": "2024-01",
               "to": "2024-06", "min_incidents": "10"}
    api = client.get("/v1/hotspots", params=request).json()
    out = tmp_path / "cli.geojson"
    args = [sys.executable, "-m", "api.cli", "analyse", "-d", str(db), "--json",
            "--out", str(out)]
    for k, v in request.items():
        args += [f"--{k.replace('_', '-')}", v]
    subprocess.run(args, check=True, capture_output=True, text=True)
    cli = json.loads(out.read_text())
    assert len(api["features"]) == len(cli["features"]) > 0
    for a, c in zip(api["features"], cli["features"], strict=True):
        assert a["id"] == c["id"]
        assert a["properties"]["incidents"] == c["properties"]["incidents"]
        assert a["geometry"] == c["geometry"]
    assert api["metadata"]["parameters"] == cli["metadata"]["parameters"]


def _width_m(feature: dict) -> float:
    """A place's diameter in metres (its polygon's vertices in British National Grid)."""
    import numpy as np
    import shapely
    from pyproj import Transformer
    from shapely.geometry import shape

    lonlat = shapely.get_coordinates(shape(feature["geometry"]))
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True).transform(
        lonlat[:, 0], lonlat[:, 1])
    pts = np.column_stack([x, y])
    return float(((pts[:, None, :] - pts[None, :, :]) ** 2).sum(-1).max() ** 0.5)


@pytest.mark.parametrize("method", ["kde", "dbscan", "gistar"])
def test_the_town_centre_is_several_patrol_scale_places_named_after_streets(demo,
                                                                           method) -> None:
    client, _ = demo
    body = client.get("/v1/hotspots", params={"method": method}).json()
    feats = body["features"]
    central = [f["properties"] for f in feats
               if f["properties"]["context_class"] == "town_centre"
               and f["properties"]["place"] == "Thornbury"]
    assert len(central) >= 3, method
    names = {p["name"] for p in central}
    assert len(names) >= 3 and all(n.endswith(", Thornbury") for n in names)
    # one of the town centre's places belongs to a larger area that was split
    assert any(p["parent"] is not None and p["parent"] == p["area_id"] for p in central)
    for f in feats[:40]:
        assert _width_m(f) <= 250.0 + 1.0, (method, f["id"])


@pytest.mark.parametrize("method", ["kde", "dbscan", "gistar"])
def test_an_area_budget_keeps_the_ranked_places_that_fit_inside_it(demo, method) -> None:
    client, _ = demo
    every = client.get("/v1/hotspots", params={"method": method}).json()
    budget = client.get("/v1/hotspots", params={"method": method, "area_share": 0.001}).json()
    info = budget["metadata"]["summary"]
    force_km2 = info["study_area_km2"]
    assert info["hotspot_area_km2"] <= 0.001 * force_km2 + 1e-6
    assert info["hotspot_area_km2"] >= 0.8 * 0.001 * force_km2  # as close as the places allow
    kept = [f["id"] for f in budget["features"]]
    assert 0 < len(kept) < len(every["features"])
    assert [f["properties"]["rank"] for f in budget["features"]] == list(range(1, len(kept) + 1))
    # the first places are the same as without a budget (greedy in rank order)
    assert budget["features"][0]["properties"]["name"] == \
        every["features"][0]["properties"]["name"]
    km2 = client.get("/v1/hotspots", params={"method": method, "area_km2": 1.0}).json()
    assert km2["metadata"]["summary"]["hotspot_area_km2"] <= 1.0 + 1e-6
    both = client.get("/v1/hotspots", params={"area_share": 0.01, "area_km2": 1})
    assert both.status_code == 422 and both.json()["field"] == "area_km2"


def test_every_place_has_an_emerging_class_and_the_demo_shows_several(demo) -> None:
    client, _ = demo
    body = client.get("/v1/hotspots", params={"method": "dbscan"}).json()
    classes = [f["properties"]["emerging"] for f in body["features"]]
    assert all(classes)
    assert len({c for c in classes if c.endswith("_hot")}) >= 3
    summary = body["metadata"]["summary"]["emerging"]
    assert summary["months"] == 24 and sum(summary["hotspots_by_class"].values()) == len(classes)
    month = client.get("/v1/hotspots", params={"from": "2024-06", "to": "2024-06"}).json()
    assert month["metadata"]["summary"]["emerging"]["months"] == 12  # the year up to it


def test_the_summary_pai_is_labelled_retrospective_and_counts_every_incident_inside(demo) -> None:
    client, _ = demo
    info = client.get("/v1/hotspots", params={"method": "gistar"}).json()["metadata"]["summary"]
    assert info["pai_basis"] == "retrospective" and info["retrospective"]["pai"] == info["pai"]
    assert info["study_area_km2"] > 1000  # the force boundary, not the incidents' hull
    assert info["hit_rate"] == round(info["incidents_in_hotspots"] / info["incidents"], 4)


def _stored_backtest(client: TestClient, **params: str) -> dict:
    """GET /v1/backtest until it answers 200 (it starts the backtest and answers 202 first)."""
    import time

    deadline = time.monotonic() + 600
    while True:
        r = client.get("/v1/backtest", params=params)
        if r.status_code == 200:
            return r.json()
        assert r.status_code == 202, r.text
        assert r.headers["retry-after"] and r.json()["status"] in ("started", "running")
        assert time.monotonic() < deadline
        time.sleep(1)


def test_the_backtest_is_stored_and_auto_uses_its_choice_with_prospective_figures(
        demo, tmp_path: Path) -> None:
    client, db = demo
    doc = _stored_backtest(client, priority="rural")
    assert doc["status"] == "stored" and doc["priority"] == "rural"
    assert doc["tested"] == ["2024-07", "2024-08", "2024-09", "2024-10", "2024-11", "2024-12"]
    names = {c["name"] for c in doc["candidates"]}
    assert {"naive_50m", "naive_100m", "naive_250m"} <= names and doc["chosen"] in names
    rows = [r for r in doc["summary"] if r["share"] == 0.005]
    assert len(rows) == len(names) and all(0 <= r["hit_rate"] <= 1 for r in rows)
    # the choice never loses to the best naive baseline at equal area
    best_naive = max(r["pai_at_budget"] for r in rows if r["family"] == "naive")
    chosen = next(r for r in rows if r["candidate"] == doc["chosen"])
    assert chosen["pai_at_budget"] >= best_naive
    again = client.get("/v1/backtest", params={"priority": "rural"})
    assert again.status_code == 200 and again.json()["key"] == doc["key"]

    body = client.get("/v1/hotspots", params={"method": "auto", "priority": "rural",
                                              "area_share": 0.005})
    assert body.status_code == 200, body.text
    fc = body.json()
    choice = fc["metadata"]["choice"]
    assert choice["backtest"] == doc["key"] and choice["backtested_share"] == 0.005
    at_share = next(r for r in rows if r["candidate"] == choice["candidate"])  # chosen at 0.5 %
    assert at_share["pai_at_budget"] == max(r["pai_at_budget"] for r in rows)
    assert choice["prospective"]["pai"] == round(at_share["pai_at_budget"], 2)
    assert choice["tested"] == doc["tested"] and "next month" in choice["sentence"]
    info = fc["metadata"]["summary"]
    assert info["pai_basis"] == "prospective" and info["pai"] == choice["prospective"]["pai"]
    assert info["retrospective"]["pai"] is not None
    assert info["hotspot_area_km2"] <= 0.005 * info["study_area_km2"] + 1e-6
    assert fc["features"] and all(f["properties"]["method"] == "auto" for f in fc["features"])

    cli = subprocess.run([sys.executable, "-m", "api.cli", "backtest", "-d", str(db),
                          "--priority", "rural", "--json"], capture_output=True, text=True,
                         check=True)
    out = json.loads(cli.stdout)
    assert out["reused"] is True and out["key"] == doc["key"] and out["chosen"] == doc["chosen"]


def test_auto_without_a_stored_backtest_answers_503_and_starts_it(demo) -> None:
    client, _ = demo
    r = client.get("/v1/hotspots", params={"method": "auto", "priority": "asb"})
    assert r.status_code in (200, 503), r.text
    if r.status_code == 503:
        assert r.json()["field"] == "method" and r.headers["retry-after"]
        assert "backtest" in r.json()["detail"]
    _stored_backtest(client, priority="asb")
    assert client.get("/v1/hotspots", params={"method": "auto", "priority": "asb"}
                      ).status_code == 200


def test_partners_get_no_backtest(demo) -> None:
    client, _ = demo
    partner = as_role(client, "partner")
    try:
        assert partner.get("/v1/backtest").status_code == 403
        r = partner.get("/v1/hotspots", params={"method": "auto"})
        assert r.status_code == 422 and r.json()["field"] == "method"
    finally:
        as_role(client, "admin")


def test_the_planners_page_says_the_backtest_is_being_prepared_then_shows_it(demo) -> None:
    client, _ = demo
    params = {"method": "auto", "priority": "theft_burglary_robbery", "area_share": "0.005"}
    first = client.get("/v1/hotspots/map", params=params, headers={"Accept": "text/html"})
    assert first.status_code == 503 and first.headers["retry-after"] == "30"
    assert first.headers["content-type"].startswith("text/html")
    assert "reloads itself" in first.text and 'http-equiv="refresh"' in first.text
    assert "method=dbscan" in first.text  # a way to another method meanwhile
    assert 'class="hs-nav"' in first.text and 'href="/plans"' in first.text  # the way on
    # in a planner's words: not the API's (its parameters and endpoints)
    assert "method=auto chooses" not in first.text and "/v1/backtest" not in first.text
    _stored_backtest(client, priority="theft_burglary_robbery")
    page = client.get("/v1/hotspots/map", params=params, headers={"Accept": "text/html"})
    assert page.status_code == 200 and "next month" in page.text
