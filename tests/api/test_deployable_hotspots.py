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
    store = SQLiteStore(root / "demo.sqlite")
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
