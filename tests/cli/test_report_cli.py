"""``hotspot report`` as a user runs it: a real process on a small hand-made store."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import pytest

from geodata.stores import SQLiteStore
from tests.api.test_reports_api import ROWS, add_plans, load
from tests.cli.test_cli import run


@pytest.fixture
def database(tmp_path: Path) -> str:
    path = tmp_path / "hand.sqlite"
    store = SQLiteStore.open(path)
    load(store, ROWS)
    add_plans(store)
    store.close()
    return str(path)


def test_report_makes_stores_and_writes(tmp_path: Path, database: str) -> None:
    out = tmp_path / "june.json"
    made = json.loads(run(tmp_path, "report", "--period", "2024-06", "--database", database,
                          "--out", str(out), "--json").stdout)
    document = json.loads(out.read_text("utf-8"))
    assert made["report_id"] == document["report_id"] and made["period"] == "2024-06"
    retail = next(g for p in document["priorities"] for g in p["groups"] if g["key"] == "retail")
    assert (retail["figures"]["incidents"], retail["figures"]["previous"]) == (30, 15)
    assert document["created_by"].startswith("command line")
    assert any("Theft, burglary and robbery: 41 against 27" in line
               for line in made["summary"])
    # the stored report again, byte for byte, and its tables as a zip
    again = tmp_path / "again.json"
    run(tmp_path, "report", "--id", made["report_id"], "--database", database, "--out",
        str(again))
    assert again.read_bytes() == out.read_bytes()
    tables = tmp_path / "tables.zip"
    text = run(tmp_path, "report", "--id", made["report_id"], "--database", database,
               "--out", str(tables)).stdout
    assert "Stored report" in text
    assert "fly-tipping: 8 against 20 (-60.0 %): down, more than chance, p = 0.036" in text
    # under its priority, each group whose change is more than chance (retail: 30 against 15)
    assert "    Retail (shoplifting): 30 against 15 (+100.0 %): up, more than chance, p = 0.036" in text
    with zipfile.ZipFile(tables) as z:
        rows = list(csv.DictReader(io.StringIO(z.read("priorities.csv").decode())))
    assert next(r for r in rows if r["group"] == "retail")["incidents"] == "30"
    page = tmp_path / "june.html"
    run(tmp_path, "report", "--id", made["report_id"], "--database", database, "--out",
        str(page))
    assert "June 2024" in page.read_text("utf-8")
    pdf = tmp_path / "june.pdf"
    run(tmp_path, "report", "--id", made["report_id"], "--database", database, "--out",
        str(pdf))
    assert pdf.read_bytes().startswith(b"%PDF-")


@pytest.mark.parametrize(("args", "code", "words"), [
    (["--period", "2024-13"], 1, "period must be"),
    (["--period", "2024-05"], 1, "no incidents at all for May 2024"),
    (["--id", "0123456789abcdef"], 1, "no report"),
    ([], 2, "give --period"),
    (["--period", "2024-06", "--out", "x.docx"], 2, "--out must end in"),
])
def test_report_refusals(tmp_path: Path, database: str, args: list[str], code: int,
                         words: str) -> None:
    proc = run(tmp_path, "report", "--database", database, *args, "--json", ok=False)
    assert proc.returncode == code
    assert words in json.loads(proc.stdout)["error"]
