"""``hotspot near-repeat`` as a user runs it: the table and the plain reading, --json, --out
zones.geojson, and the refusal of month-only data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.api.test_nearrepeat_api import planted_features
from tests.cli.test_cli import run
from tests.conftest import NORTH_YORKSHIRE

pytestmark = pytest.mark.real_data


def test_near_repeat_prints_the_table_and_writes_zones(tmp_path: Path):
    db = str(tmp_path / "force.sqlite")
    source = tmp_path / "vehicle.geojson"
    source.write_text(json.dumps({"type": "FeatureCollection", "features": planted_features()}))
    run(tmp_path, "ingest", str(source), "-d", db)
    text = run(tmp_path, "near-repeat", "-d", db).stdout
    assert "Knox test of 380 incidents" in text
    assert "0-100" in text and " zone" in text
    assert "After a vehicle crime, the risk of another within 100 m" in text
    zones = tmp_path / "zones.geojson"
    body = json.loads(run(tmp_path, "near-repeat", "-d", db, "--json", "--as-of", "2024-05-01",
                          "--out", str(zones)).stdout)
    assert body["extent"]["distance_m"] == 100 and body["incidents"] == 380
    assert body["cells"][0]["significant"] is True
    gj = json.loads(zones.read_text())
    assert gj["type"] == "FeatureCollection" and len(gj["features"]) == body["zones"]
    assert body["zones"] > 0
    same = json.loads(run(tmp_path, "near-repeat", "-d", db, "--json", "--seed", "0").stdout)
    assert same["cells"] == body["cells"]
    bad = run(tmp_path, "near-repeat", "-d", db, "--permutations", "5000", ok=False)
    assert bad.returncode == 1 and "permutations must be" in bad.stderr
    bad = run(tmp_path, "near-repeat", "-d", db, "--day-bands", "0,x", ok=False)
    assert bad.returncode == 2 and "--day-bands" in bad.stderr


def test_month_only_data_is_refused_with_the_reason(tmp_path: Path):
    db = str(tmp_path / "force.sqlite")
    run(tmp_path, "ingest", str(NORTH_YORKSHIRE), "-d", db)
    proc = run(tmp_path, "near-repeat", "-d", db, ok=False)
    assert proc.returncode == 1
    assert "data.police.uk gives months only" in proc.stderr
    proc = run(tmp_path, "near-repeat", "-d", db, "--json", ok=False)
    assert "needs dates to the day" in json.loads(proc.stdout)["error"]
