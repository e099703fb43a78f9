"""`hotspot basemap add/show/remove` as a person runs them: a file made from the demo's roads is
registered (basemap.json in the data folder) and then served; files that are not basemaps get
a clear message and exit status 1, never a traceback."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.services.basemap import offline_basemap, page_tile_url
from api.settings import Settings
from tests.cli.test_cli import run
from tests.conftest import as_role
from tests.geodata.test_basemaps import _centre, make_vector_tiles, tile_of


def test_add_show_serve_and_remove_a_basemap(tmp_path: Path, demo_files) -> None:
    tiles = make_vector_tiles(demo_files, tmp_path / "county.pmtiles")
    out = run(tmp_path, "basemap", "show").stdout
    assert "No offline basemap" in out and "hotspot basemap add" in out
    out = run(tmp_path, "basemap", "add", str(tiles)).stdout
    assert "Registered" in out and "pmtiles vector tiles" in out and "zoom 6-13" in out
    assert "layers: roads" in out
    reg = json.loads((tmp_path / "data" / "basemap.json").read_text())
    assert reg["path"] == str(tiles.resolve()) and reg["vector"] is True
    shown = json.loads(run(tmp_path, "basemap", "show", "--json").stdout)
    assert shown["basemap"]["container"] == "pmtiles"

    # the service finds it through the data folder
    settings = Settings(data_dir=tmp_path / "data", database_url=str(tmp_path / "f.sqlite"),
                        basemap_file=None)
    assert offline_basemap(settings) is not None and page_tile_url(settings) is None
    lon, lat = _centre(demo_files)
    x, y = tile_of(lon, lat, 11)
    with TestClient(create_app(settings)) as c:
        as_role(c)
        assert c.get("/tiles/tiles.json").json()["tiles"][0].startswith("/tiles/{z}/{x}/{y}.mvt")
        r = c.get(f"/tiles/11/{x}/{y}.mvt")
        assert r.status_code == 200 and b"roads" in r.content

    assert "forgotten" in run(tmp_path, "basemap", "remove").stdout
    assert not (tmp_path / "data" / "basemap.json").exists()
    assert offline_basemap(settings) is None
    assert page_tile_url(settings) == settings.tile_url
    assert "No offline basemap was registered" in run(tmp_path, "basemap", "remove").stdout


def _tables_only(p: Path) -> Path:
    db = sqlite3.connect(p)
    db.execute("CREATE TABLE tiles (zoom_level, tile_column, tile_row, tile_data)")
    db.commit()
    db.close()
    return p


@pytest.mark.parametrize(("name", "make", "words"), [
    ("missing.mbtiles", lambda p: p, "missing.mbtiles: no such file"),
    ("notes.mbtiles", lambda p: (p.write_text("hello"), p)[1], "not an MBTiles"),
    ("empty.mbtiles", _tables_only, "holds no tiles"),
])
def test_bad_files_get_a_clear_message(tmp_path: Path, name: str, make, words: str) -> None:
    path = make(tmp_path / name)
    proc = run(tmp_path, "basemap", "add", str(path), ok=False)
    assert proc.returncode == 1
    assert words in " ".join(proc.stderr.split())
    assert not (tmp_path / "data" / "basemap.json").exists()
    proc = run(tmp_path, "basemap", "add", str(path), "--json", ok=False)
    assert proc.returncode == 1 and words in json.loads(proc.stdout)["error"]
