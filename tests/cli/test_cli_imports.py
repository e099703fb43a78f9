"""What a command line call pays before it starts: the web framework is the service's, not the
command line's. A command that lists, loads or analyses (and one that refuses bad input)
imports no FastAPI; every call would otherwise pay for it (about 0.3 s on these machines)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from geodata.demo import load_demo
from geodata.stores import SQLiteStore
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

PROBE = """
import json, sys
from api.cli import app
code = 0
try:
    app(sys.argv[1:])
except SystemExit as stop:
    code = stop.code
print(json.dumps({"code": code, "loaded": sorted(m for m in sys.modules
                                                 if m.split(".")[0] == "fastapi")}))
"""


def _loaded(*args: str) -> dict[str, object]:
    """The command's exit status and the FastAPI modules it imported (a few of Starlette's
    small ones, the request log's headers, are not worth keeping out)."""
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]  # the probe itself ran to its end
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory, demo_files) -> Path:
    db = tmp_path_factory.mktemp("imports") / "demo.sqlite"
    store = SQLiteStore.open(db)
    try:
        load_demo(store, demo_files)
    finally:
        store.close()
    return db


def test_listing_and_analysing_import_no_web_framework(demo_db: Path, tmp_path: Path) -> None:
    listed = _loaded("layers", "list", "--database", str(demo_db))
    assert listed == {"code": 0, "loaded": []}, listed
    analysed = _loaded("analyse", "--database", str(demo_db), "--method", "dbscan",
                       "--out", str(tmp_path / "out.geojson"))
    assert analysed == {"code": 0, "loaded": []}, analysed
    assert json.loads((tmp_path / "out.geojson").read_text())["features"]


def test_a_refusal_imports_no_web_framework(demo_db: Path) -> None:
    refused = _loaded("analyse", "--database", str(demo_db), "--method", "dbscan",
                      "--eps-m", "-5")
    assert refused == {"code": 1, "loaded": []}, refused
