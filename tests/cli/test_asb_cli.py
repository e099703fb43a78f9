"""``hotspot asb`` as a user runs it: the ranked table, --json, --out .csv and .geojson, and
bad options refused with the option named (exit 2)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from tests.api.test_asb_api import force_csv, police_csv
from tests.cli.test_cli import run


def test_asb_table_json_and_files(tmp_path: Path) -> None:
    db = str(tmp_path / "force.sqlite")
    (tmp_path / "police.csv").write_text(police_csv())
    (tmp_path / "force.csv").write_text(force_csv())
    run(tmp_path, "ingest", str(tmp_path / "police.csv"), "-d", db)
    run(tmp_path, "ingest", str(tmp_path / "force.csv"), "-d", db)
    text = run(tmp_path, "asb", "-d", db, "--months", "4", "--min-months", "3").stdout
    assert "4 places had anti-social behaviour recorded in at least 3 of the 4 months" in text
    lines = [line for line in text.splitlines() if "On or near" in line or "Station" in line]
    assert lines[0].split()[:3] == ["1", "4/4", "7"] and "On or near Market Place" in lines[0]
    assert lines[1].split()[:3] == ["2", "3/4", "4"] and "On or near Park Lane" in lines[1]
    body = json.loads(run(tmp_path, "asb", "-d", db, "--months", "4", "--min-months", "3",
                          "--json").stdout)
    assert [p["asb_incidents"] for p in body["places"]] == [7, 4, 3, 3]
    assert body["end"] == "2024-04" and body["out"] is None
    out = tmp_path / "asb.csv"
    run(tmp_path, "asb", "-d", db, "--months", "4", "--min-months", "3", "--out", str(out))
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [r["asb_2024-04"] for r in rows] == ["3", "1", "0", "0"]
    gj = tmp_path / "asb.geojson"
    run(tmp_path, "asb", "-d", db, "--months", "4", "--min-months", "3", "--out", str(gj))
    features = json.loads(gj.read_text())["features"]
    assert [f["properties"]["rank"] for f in features] == [1, 2, 3, 4]


def test_bad_options_name_the_option(tmp_path: Path) -> None:
    db = str(tmp_path / "force.sqlite")
    bad = run(tmp_path, "asb", "-d", db, "--months", "40", ok=False)
    assert bad.returncode == 2 and "--months" in bad.stderr
    bad = run(tmp_path, "asb", "-d", db, "--months", "4", "--min-months", "5", ok=False)
    assert bad.returncode == 2 and "--min-months" in bad.stderr
    bad = run(tmp_path, "asb", "-d", db, "--out", str(tmp_path / "x.xlsx"), ok=False)
    assert bad.returncode == 2 and "--out" in bad.stderr
    empty = json.loads(run(tmp_path, "asb", "-d", db, "--json").stdout)
    assert empty["places"] == [] and empty["reading"] == "No incidents in the store."
