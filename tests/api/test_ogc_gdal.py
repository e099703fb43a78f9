"""Conformance with a real client: Debian's GDAL (``ogrinfo``, ``ogr2ogr``, the OAPIF driver)
against the service served by uvicorn on a free port, the API key passed as GDAL passes it
for QGIS-style authentication (``GDAL_HTTP_HEADERS`` / ``GDAL_HTTP_HEADER_FILE``).

GDAL 3.6 (Debian 12) reads features as CRS84 whatever the server offers; a CRS is asked for
by the query string of the OAPIF URL (GDAL sends it with every request) and the output is
labelled with ``-a_srs``. GDAL 3.7 and later read Part 2 themselves (``-oo CRS=``)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2 as httpx
import numpy as np
import pyogrio
import pytest
import uvicorn

from api.access import new_key
from api.app import create_app
from geodata.demo import load_demo
from geodata.stores import SQLiteStore
from tests.api.test_api import settings_for

OGRINFO = shutil.which("ogrinfo") or "/usr/bin/ogrinfo"
OGR2OGR = shutil.which("ogr2ogr") or "/usr/bin/ogr2ogr"
BNG = "http://www.opengis.net/def/crs/EPSG/0/27700"
PAGE = 25
"""GDAL's page size here: every collection used is several pages long."""
# no skip when GDAL is missing: `make test` installs Debian's gdal-bin (make gdal), and a
# conformance test that quietly skips would prove nothing


@dataclass
class Served:
    base: str
    keys: dict[str, str]

    def env(self, role: str, tmp: Path, *, header_file: bool = False) -> dict[str, str]:
        """The environment a GDAL command runs in with ``role``'s key."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GDAL_", "CPL_"))}
        env["GDAL_HTTP_TIMEOUT"] = "120"
        if header_file:
            path = tmp / f"{role}.headers"
            path.write_text(f"X-API-Key: {self.keys[role]}\n")
            env["GDAL_HTTP_HEADER_FILE"] = str(path)
        else:
            env["GDAL_HTTP_HEADERS"] = f"Authorization: Bearer {self.keys[role]}"
        return env

    def get(self, role: str, path: str, **params: Any) -> httpx.Response:
        return httpx.get(self.base + path, params=params, timeout=120,
                         headers={"Authorization": f"Bearer {self.keys[role]}"})


def _until(condition: Callable[[], bool], timeout_s: float = 60) -> None:
    stop = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > stop:
            raise AssertionError("the server did not start")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, demo_files) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("ogc-gdal")
    store = SQLiteStore.open(root / "demo.sqlite")
    load_demo(store, demo_files)
    keys = {role: new_key(store, name=f"gis {role}", role=role)[0]
            for role in ("analyst", "rural_team", "partner")}
    store.add_preset("every-hotspot", title="Every hotspot", parameters={})
    app = create_app(settings_for(root), store=store, demo=True)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        _until(lambda: server.started)
        s = Served(f"http://127.0.0.1:{port}", keys)
        r = httpx.post(s.base + "/v1/products", json={"period": "2024-06"}, timeout=120,
                       headers={"Authorization": f"Bearer {keys['analyst']}"})
        assert r.status_code == 201, r.text
        yield s
    finally:
        server.should_exit = True
        thread.join(30)
        store.close()


def _run(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=600,
                          check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _layers(text: str) -> list[str]:
    return re.findall(r"^\d+: (\S+)", text, flags=re.MULTILINE)


def test_ogrinfo_lists_each_roles_collections(served: Served, tmp_path: Path) -> None:
    url = f"OAPIF:{served.base}/ogc"
    analyst = _layers(_run([OGRINFO, "-ro", "-q", url], served.env("analyst", tmp_path)))
    listed = served.get("analyst", "/ogc/collections").json()["collections"]
    assert analyst == [c["id"] for c in listed]
    assert {"hotspots-every-hotspot", "incidents", "products-hotspots",
            "layer-roads", "layer-town_centres"} <= set(analyst)
    field = _layers(_run([OGRINFO, "-ro", "-q", url],
                         served.env("rural_team", tmp_path, header_file=True)))
    assert "incidents" not in field and "hotspots-every-hotspot" in field
    partner = _layers(_run([OGRINFO, "-ro", "-q", url], served.env("partner", tmp_path)))
    assert partner == ["products-hotspots"]
    env = served.env("analyst", tmp_path)
    env["GDAL_HTTP_HEADERS"] = "Authorization: Bearer hsk_000000000000_" + "x" * 43
    done = subprocess.run([OGRINFO, "-ro", "-q", url], env=env, capture_output=True, text=True,
                          timeout=600, check=False)
    assert done.returncode != 0  # a wrong key opens nothing


@pytest.mark.parametrize("collection", ["hotspots-every-hotspot", "layer-roads"])
def test_ogr2ogr_pages_every_feature_in_crs84(served: Served, tmp_path: Path,
                                              collection: str) -> None:
    whole = served.get("analyst", f"/ogc/collections/{collection}/items", limit=5000).json()
    total = whole["numberMatched"]
    assert total > 3 * PAGE and whole["numberReturned"] == total  # many of GDAL's pages
    out = tmp_path / "out.gpkg"
    _run([OGR2OGR, "-f", "GPKG", str(out), f"OAPIF:{served.base}/ogc", collection,
          "-oo", f"PAGE_SIZE={PAGE}", "-nlt", "PROMOTE_TO_MULTI"], served.env("analyst", tmp_path))
    info = pyogrio.read_info(out, layer=collection)
    assert info["features"] == total
    assert pyogrio.read_info(out, layer=collection)["crs"] in ("EPSG:4326", "OGC:CRS84")
    frame = pyogrio.read_dataframe(out, layer=collection)
    assert sorted(frame["id"]) == sorted(f["id"] for f in whole["features"])  # none twice
    w, s, e, n = frame.total_bounds
    assert -3 < w < e < 1 and 53 < s < n < 55  # longitude first, degrees


def test_ogr2ogr_in_british_national_grid_when_asked(served: Served, tmp_path: Path) -> None:
    collection = "hotspots-every-hotspot"
    whole = served.get("analyst", f"/ogc/collections/{collection}/items", limit=5000, crs=BNG)
    assert whole.headers["content-crs"] == f"<{BNG}>"
    features = whole.json()["features"]
    out = tmp_path / "bng.gpkg"
    version = _run([OGRINFO, "--version"], dict(os.environ))
    major, minor = (int(x) for x in re.findall(r"GDAL (\d+)\.(\d+)", version)[0])
    env = served.env("analyst", tmp_path, header_file=True)
    if (major, minor) >= (3, 7):
        args = [f"OAPIF:{served.base}/ogc", collection, "-oo", f"CRS={BNG}"]
    else:  # GDAL 3.6 sends the URL's query with every request and labels the layer CRS84
        args = [f"OAPIF:{served.base}/ogc?crs={BNG}", collection, "-a_srs", "EPSG:27700"]
    _run([OGR2OGR, "-f", "GPKG", str(out), *args, "-oo", f"PAGE_SIZE={PAGE}",
          "-nlt", "PROMOTE_TO_MULTI"], env)
    frame = pyogrio.read_dataframe(out, layer=collection)
    assert len(frame) == len(features) > 3 * PAGE
    assert frame.crs.to_epsg() == 27700
    w, s, e, n = frame.total_bounds
    assert 400_000 < w < e < 520_000 and 420_000 < s < n < 520_000  # metres, not degrees
    by_id = {f["id"]: f for f in features}
    first = frame.iloc[0]
    ring = np.asarray(by_id[first["id"]]["geometry"]["coordinates"][0]
                      if by_id[first["id"]]["geometry"]["type"] == "Polygon"
                      else by_id[first["id"]]["geometry"]["coordinates"][0][0])
    assert np.allclose(np.asarray(first.geometry.geoms[0].exterior.coords)[:3], ring[:3],
                       atol=0.01)


def test_a_partner_pages_the_published_hotspots_only(served: Served, tmp_path: Path) -> None:
    whole = served.get("partner", "/ogc/collections/products-hotspots/items", limit=5000).json()
    total = whole["numberMatched"]
    assert total >= 3  # pages of 2: several
    assert {f["properties"]["period"] for f in whole["features"]} == {"2024-06"}
    out = tmp_path / "partner.gpkg"
    _run([OGR2OGR, "-f", "GPKG", str(out), f"OAPIF:{served.base}/ogc", "products-hotspots",
          "-oo", "PAGE_SIZE=2", "-nlt", "PROMOTE_TO_MULTI"],
         served.env("partner", tmp_path))
    assert pyogrio.read_info(out, layer="products-hotspots")["features"] == total
    done = subprocess.run([OGR2OGR, "-f", "GPKG", str(tmp_path / "no.gpkg"),
                           f"OAPIF:{served.base}/ogc/collections/incidents"],
                          env=served.env("partner", tmp_path), capture_output=True, text=True,
                          timeout=600, check=False)
    assert done.returncode != 0 and not (tmp_path / "no.gpkg").exists()
