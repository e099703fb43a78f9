"""``hotspot export`` and ``hotspot analyse --out FILE.gpkg|.csv`` as a user runs them (a real
process, real files) against a demo store of each kind; every GeoPackage read back with
pyogrio: layer names, counts, CRS EPSG:27700, geometry types, the attribution."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyogrio
import pytest
from fastapi.testclient import TestClient
from pyproj import Transformer

from api.app import create_app
from api.formats import ATTRIBUTION
from geodata.demo import load_demo
from geodata.stores import SQLiteStore
from geodata.stores.postgis import PostGISStore
from tests.api.test_api import settings_for
from tests.cli.test_cli import run
from tests.conftest import STORE_KINDS, as_role

BNG = "EPSG:27700"
PLAN = {"name": "CLI export", "shift": {"start": "2024-06-14T16:00", "end": "2024-06-15T02:00"},
        "rural_crime_team": {"vehicles": 1}, "hotspots": {"method": "dbscan"},
        "time_limit_s": 0.5, "published": True}
REFERENCE = {"force_boundary": "Polygon", "town_centres": "Polygon",
             "built_up_areas": "Polygon", "heritage_sites_points": "Point",
             "heritage_sites_polygons": "Polygon", "patrol_bases": "Point",
             "roads": "LineString", "rural_urban_lookup": None}


@pytest.fixture(scope="module", params=STORE_KINDS)
def demo_store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
               demo_files) -> tuple[str, str]:
    """(database URL, a published plan's id) of a demo store of each kind."""
    root = tmp_path_factory.mktemp("export-cli")
    if request.param == "sqlite":
        url = str(root / "demo.sqlite")
        store: Any = SQLiteStore.open(url)
    else:
        schema = f"t_{uuid.uuid4().hex[:12]}"
        base = request.getfixturevalue("postgres_url")
        store = PostGISStore.open(base, schema=schema)
        url = f"{base}?schema={schema}"
    load_demo(store, demo_files)
    with TestClient(create_app(settings_for(root), store=store, demo=True)) as c:
        as_role(c, "analyst")
        made = c.post("/v1/patrol-plans", json=PLAN)
        assert made.status_code == 201, made.text
        plan_id = made.json()["plan_id"]
    store.close()
    return url, plan_id


def _layers(path: Path) -> dict[str, str | None]:
    return {str(n): (None if g is None else str(g)) for n, g in pyogrio.list_layers(path)}


def test_export_writes_one_geopackage_for_qgis(demo_store: tuple[str, str],
                                               tmp_path: Path) -> None:
    url, plan_id = demo_store
    out_file = tmp_path / "demo.gpkg"
    report = json.loads(run(tmp_path, "export", "-d", url, "--method", "dbscan", "--from",
                            "2024-01", "--to", "2024-06", "--plan", plan_id, "--out",
                            str(out_file), "--json").stdout)
    assert report["crs"] == BNG and report["out"] == str(out_file)
    layers = _layers(out_file)
    assert layers == {"hotspots": "MultiPolygon", "hotspot_areas": "MultiPolygon",
                      **REFERENCE, "plan_routes": "MultiLineString", "plan_stops": "Point",
                      "plan_left_out": "Point", "about": None}
    said = {w["name"]: w for w in report["layers"]}
    assert set(said) == set(layers)
    for name, gtype in layers.items():
        info = pyogrio.read_info(out_file, layer=name)
        assert info["features"] == said[name]["features"], name
        assert said[name]["geometry_type"] == gtype
        assert info["crs"] == (BNG if gtype else None), name
    assert said["hotspots"]["features"] >= 5
    assert said["patrol_bases"]["features"] == 2 and said["force_boundary"]["features"] == 1
    assert said["plan_routes"]["features"] == 1
    stops = pyogrio.read_dataframe(out_file, layer="plan_stops")
    assert set(stops["plan_id"]) == {plan_id}
    with sqlite3.connect(out_file) as db:
        descriptions = dict(db.execute("SELECT table_name, description FROM gpkg_contents"))
    # the incidents' attribution on what comes from them; a reference layer names its own file
    assert all(descriptions[n] == ATTRIBUTION for n in layers
               if n != "about" and n not in REFERENCE)
    assert all(descriptions[n].startswith("Reference layer ") for n in REFERENCE)
    assert "police.uk" not in descriptions["roads"]
    # GeoPackage 1.2: Debian's GDAL 3.6 (and QGIS built on it) reads it without a warning
    with sqlite3.connect(out_file) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 10200
    opened = subprocess.run(["ogrinfo", "-ro", "-so", str(out_file), "about"],
                            capture_output=True, text=True, check=True)
    assert "may only be partially supported" not in opened.stderr + opened.stdout
    about = pyogrio.read_dataframe(out_file, layer="about")
    lines = dict(zip(about["key"], about["value"], strict=True))
    assert lines["attribution"] == ATTRIBUTION and lines["method"] == "dbscan"
    assert lines["data_version"] == report["data_version"]
    # the same hotspots as analyse finds
    found = json.loads(run(tmp_path, "analyse", "-d", url, "--method", "dbscan", "--from",
                           "2024-01", "--to", "2024-06", "--json", "--top", "1000").stdout)
    places = pyogrio.read_dataframe(out_file, layer="hotspots")
    assert places["id"].tolist() == [h["id"] for h in found["hotspots"]]


def _invoke(*args: str) -> Any:
    """The command in this process (as the map command's test does): the same code as the
    console script, without a process's start-up cost."""
    from typer.testing import CliRunner

    from api.cli import app

    return CliRunner().invoke(app, list(args))


def test_export_without_layers_and_as_text(demo_store: tuple[str, str], tmp_path: Path) -> None:
    url, _ = demo_store
    out_file = tmp_path / "only.gpkg"
    r = _invoke("export", "-d", url, "--method", "kde", "--priority", "rural", "--no-layers",
                "--out", str(out_file))
    assert r.exit_code == 0, r.output
    assert f"Wrote {out_file} (EPSG:27700):" in r.output and "hotspots:" in r.output
    assert set(_layers(out_file)) == {"hotspots", "hotspot_areas", "about"}
    assert pyogrio.read_info(out_file, layer="hotspots")["crs"] == BNG


def test_csv_carries_both_crs_and_an_about_file(demo_store: tuple[str, str],
                                                tmp_path: Path) -> None:
    url, _ = demo_store
    out_file = tmp_path / "hotspots.csv"
    r = _invoke("export", "-d", url, "--method", "dbscan", "--out", str(out_file))
    assert r.exit_code == 0, r.output
    assert "attribution in hotspots.csv.about.txt" in r.output
    table = pd.read_csv(out_file)
    assert len(table) >= 5
    assert {"id", "rank", "x", "y", "lon", "lat", "centroid_x", "centroid_lon",
            "wkt_wgs84"} <= set(table.columns)
    xs, ys = Transformer.from_crs("EPSG:4326", BNG, always_xy=True).transform(
        table["lon"].to_numpy(), table["lat"].to_numpy())
    assert np.allclose(xs, table["x"], atol=0.5) and np.allclose(ys, table["y"], atol=0.5)
    assert (table["x"] > 100_000).all()  # metres
    about = (tmp_path / "hotspots.csv.about.txt").read_text()
    assert ATTRIBUTION in about and "EPSG:27700" in about and "dbscan" in about


def test_analyse_out_by_suffix(demo_store: tuple[str, str], tmp_path: Path) -> None:
    url, _ = demo_store
    rural = ("analyse", "-d", url, "--method", "dbscan", "--priority", "rural")
    gpkg = tmp_path / "rural.gpkg"
    r = _invoke(*rural, "--out", str(gpkg), "--json")
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary["out"] == str(gpkg)
    assert _layers(gpkg) == {"hotspots": "MultiPolygon", "hotspot_areas": "MultiPolygon",
                             "about": None}
    info = pyogrio.read_info(gpkg, layer="hotspots")
    assert info["crs"] == BNG and info["features"] == summary["summary"]["hotspots"] > 0
    csv = tmp_path / "rural.csv"
    assert _invoke(*rural, "--out", str(csv)).exit_code == 0
    assert len(pd.read_csv(csv)) == summary["summary"]["hotspots"]
    assert ATTRIBUTION in (tmp_path / "rural.csv.about.txt").read_text()
    geojson = tmp_path / "rural.geojson"  # any other suffix: GeoJSON as before
    assert _invoke(*rural, "--out", str(geojson)).exit_code == 0
    assert json.loads(geojson.read_text())["type"] == "FeatureCollection"


@pytest.mark.parametrize(("args", "code", "words"), [
    (["--out", "x.shp"], 2, "--out must end in .gpkg or .csv"),
    (["--out", "x.csv", "--plan", "0123456789abcdef"], 2, "--plan needs a .gpkg file"),
    (["--out", "x.gpkg", "--plan", "0123456789abcdef"], 1, "no patrol plan 0123456789abcdef"),
    (["--out", "x.gpkg", "--from", "March"], 2, "--from must be YYYY-MM"),
    (["--out", "x.gpkg", "--method", "dbscan", "--eps-m", "0"], 1, "eps_m must be from 5"),
    (["--out", "missing-folder/x.gpkg", "--method", "dbscan"], 1, "there is no folder"),
])
def test_export_refusals(demo_store: tuple[str, str], tmp_path: Path, args: list[str],
                         code: int, words: str) -> None:
    url, _ = demo_store
    r = _invoke("export", "-d", url, *[str(tmp_path / a) if a.endswith((".gpkg", ".csv",
                                                                        ".shp")) else a
                                       for a in args])
    assert r.exit_code == code, r.output
    assert words in " ".join(r.output.split())  # the message, however the console wrapped it
    assert not any(tmp_path.glob("*.gpkg")) and not any(tmp_path.glob("*.csv"))
