"""GeoPackages and CSV tables written by geodata.exports, read back with pyogrio (layer names,
counts, CRS, geometry types, the attribution) and checked by hand; the reference layers of
both stores written and read back."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, MultiPolygon, Point, Polygon

from geodata.exports import (
    ABOUT_LAYER,
    InvalidExport,
    csv_bytes,
    geopackage_bytes,
    plain_columns,
    with_coordinates,
    write_geopackage,
)
from geodata.layers import read_layer
from geodata.stores import Store

NOTE = "Contains public sector information licensed under the Open Government Licence v3.0."
BNG = "EPSG:27700"


def _square(x: float, y: float, side: float = 100.0) -> Polygon:
    return Polygon([(x, y), (x + side, y), (x + side, y + side), (x, y + side)])


def _layers(path: Path) -> dict[str, str | None]:
    return {str(n): (None if g is None else str(g)) for n, g in pyogrio.list_layers(path)}


def _descriptions(path: Path) -> dict[str, str]:
    with sqlite3.connect(path) as db:
        return dict(db.execute("SELECT table_name, description FROM gpkg_contents"))


@pytest.fixture
def sites() -> gpd.GeoDataFrame:
    """Heritage-like sites: two points, one polygon, one multipolygon, in BNG metres."""
    return gpd.GeoDataFrame(
        {"name": ["Church", "Cross", "Fort", "Barrows"],
         "designation": ["Listed", "Scheduled", "Scheduled", "Scheduled"],
         "tags": [["a", "b"], None, {"k": 1}, []]},
        geometry=[Point(450_000, 460_000), Point(451_000, 460_500),
                  _square(452_000, 461_000),
                  MultiPolygon([_square(453_000, 461_000), _square(453_500, 461_000)])],
        crs=BNG)


def test_mixed_geometries_split_into_one_layer_per_kind(tmp_path: Path,
                                                        sites: gpd.GeoDataFrame) -> None:
    path = tmp_path / "sites.gpkg"
    written = write_geopackage(path, {"heritage_sites": sites}, description=NOTE,
                               about={"data_version": "v1"})
    assert [w.name for w in written] == ["heritage_sites_points", "heritage_sites_polygons",
                                         ABOUT_LAYER]
    assert _layers(path) == {"heritage_sites_points": "Point",
                             "heritage_sites_polygons": "MultiPolygon", ABOUT_LAYER: None}
    points = pyogrio.read_info(path, layer="heritage_sites_points")
    polygons = pyogrio.read_info(path, layer="heritage_sites_polygons")
    assert (points["features"], polygons["features"]) == (2, 2)
    assert points["crs"] == polygons["crs"] == BNG
    back = pyogrio.read_dataframe(path, layer="heritage_sites_polygons")
    assert list(back["name"]) == ["Fort", "Barrows"]
    assert back.geometry.area.tolist() == pytest.approx([10_000.0, 20_000.0])
    assert back["tags"].tolist() == ['{"k": 1}', "[]"]  # JSON text a GIS can show
    tags = pyogrio.read_dataframe(path, layer="heritage_sites_points")["tags"]
    assert tags[0] == '["a", "b"]' and pd.isna(tags[1])  # missing stays missing (NULL)
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM heritage_sites_points WHERE tags IS NULL"
                          ).fetchone() == (1,)
    # the attribution: each layer's description (QGIS shows it) and the about table
    descriptions = _descriptions(path)
    assert descriptions["heritage_sites_points"] == NOTE
    assert descriptions["heritage_sites_polygons"] == NOTE
    about = pyogrio.read_dataframe(path, layer=ABOUT_LAYER)
    lines = dict(zip(about["key"], about["value"], strict=True))
    assert lines["attribution"] == NOTE and lines["crs"] == BNG
    assert lines["data_version"] == "v1"
    assert lines["layers"] == "heritage_sites_points, heritage_sites_polygons"
    assert pyogrio.read_info(path, layer="heritage_sites_points")["layer_metadata"][
        "ATTRIBUTION"] == NOTE


def test_frames_are_reprojected_to_the_target_crs(tmp_path: Path) -> None:
    lonlat = gpd.GeoDataFrame({"name": ["York Minster"]}, geometry=[Point(-1.0821, 53.9623)],
                              crs="EPSG:4326")
    path = tmp_path / "p.gpkg"
    write_geopackage(path, {"places": lonlat})
    back = pyogrio.read_dataframe(path, layer="places")
    assert pyogrio.read_info(path, layer="places")["crs"] == BNG
    x, y = Transformer.from_crs("EPSG:4326", BNG, always_xy=True).transform(-1.0821, 53.9623)
    assert (back.geometry.x[0], back.geometry.y[0]) == pytest.approx((x, y), abs=0.01)
    assert 460_000 < back.geometry.x[0] < 461_000  # metres, not degrees


def test_empty_layers_keep_their_declared_type_and_tables_have_none(tmp_path: Path) -> None:
    empty = gpd.GeoDataFrame({"id": pd.Series([], dtype=object)},
                             geometry=gpd.GeoSeries([], crs=BNG), crs=BNG)
    single = gpd.GeoDataFrame({"id": ["a"]}, geometry=[_square(0, 0)], crs=BNG)
    lookup = pd.DataFrame({"lsoa_code": ["E01000001", "E01000002"],
                           "classification": ["Urban city and town", "Rural village"]})
    path = tmp_path / "e.gpkg"
    written = write_geopackage(path, {"hotspots": empty, "areas": single, "lookup": lookup},
                               geometry_types={"hotspots": "MultiPolygon",
                                               "areas": "MultiPolygon"})
    assert [w.to_dict() for w in written[:3]] == [
        {"name": "hotspots", "features": 0, "geometry_type": "MultiPolygon"},
        {"name": "areas", "features": 1, "geometry_type": "MultiPolygon"},
        {"name": "lookup", "features": 2, "geometry_type": None}]
    assert _layers(path) == {"hotspots": "MultiPolygon", "areas": "MultiPolygon",
                             "lookup": None, ABOUT_LAYER: None}
    assert pyogrio.read_info(path, layer="hotspots")["features"] == 0
    back = pyogrio.read_dataframe(path, layer="lookup")
    assert back["lsoa_code"].tolist() == ["E01000001", "E01000002"]
    with sqlite3.connect(path) as db:
        kinds = dict(db.execute("SELECT table_name, data_type FROM gpkg_contents"))
    assert kinds["lookup"] == "attributes" and kinds["areas"] == "features"


def test_writing_again_replaces_the_file(tmp_path: Path, sites: gpd.GeoDataFrame) -> None:
    path = tmp_path / "again.gpkg"
    write_geopackage(path, {"one": sites.iloc[:1]})
    write_geopackage(path, {"two": sites.iloc[:1]})
    assert set(_layers(path)) == {"two", ABOUT_LAYER}


def test_bytes_are_the_same_file(sites: gpd.GeoDataFrame, tmp_path: Path) -> None:
    body = geopackage_bytes({"sites": sites.iloc[:2]}, description=NOTE)
    assert body[:16] == b"SQLite format 3\x00"
    path = tmp_path / "b.gpkg"
    path.write_bytes(body)
    assert _layers(path) == {"sites": "Point", ABOUT_LAYER: None}


@pytest.mark.parametrize(("layers", "options", "words"), [
    ({"bad name": "sites"}, {}, "cannot name"),
    ({"about": "sites"}, {}, "cannot name"),
    ({"x" * 64: "sites"}, {}, "cannot name"),
    ({"sites": "nocrs"}, {}, "has no CRS"),
    ({"sites": "sites"}, {"crs": "EPSG:4326"}, "projected CRS"),
    ({"sites": "collection"}, {}, "GeometryCollection"),
])
def test_refusals(tmp_path: Path, sites: gpd.GeoDataFrame, layers: dict[str, str],
                  options: dict[str, str], words: str) -> None:
    frames = {
        "sites": sites,
        "nocrs": gpd.GeoDataFrame({"a": [1]}, geometry=[Point(0, 0)]),
        "collection": gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.GeometryCollection(
            [Point(0, 0), LineString([(0, 0), (1, 1)])])], crs=BNG),
    }
    with pytest.raises(InvalidExport, match=words):
        write_geopackage(tmp_path / "r.gpkg", {k: frames[v] for k, v in layers.items()},
                         **options)


def test_a_file_that_cannot_be_made_is_refused(tmp_path: Path,
                                               sites: gpd.GeoDataFrame) -> None:
    with pytest.raises(InvalidExport, match="there is no folder"):
        write_geopackage(tmp_path / "nowhere" / "x.gpkg", {"sites": sites})
    folder = tmp_path / "a-folder.gpkg"
    folder.mkdir()
    (folder / "inside").write_text("x")
    with pytest.raises((InvalidExport, OSError)):
        write_geopackage(folder, {"sites": sites})


def test_reserved_column_names_are_kept_under_another_name(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame({"fid": ["x1"], "GEOM": ["y"], "mixed": [1]},
                             geometry=[Point(1, 1)], crs=BNG)
    frame["mixed"] = pd.Series([1], dtype=object)
    plain = plain_columns(frame)
    assert list(plain.columns) == ["attr_fid", "attr_GEOM", "mixed", "geometry"]
    path = tmp_path / "r.gpkg"
    write_geopackage(path, {"t": frame})
    back = pyogrio.read_dataframe(path, layer="t")
    assert back["attr_fid"].tolist() == ["x1"]


def test_coordinates_in_both_crs(sites: gpd.GeoDataFrame) -> None:
    road = gpd.GeoDataFrame({"name": ["Lane"]},
                            geometry=[LineString([(455_000, 462_000), (455_400, 462_300)])],
                            crs=BNG)
    missing = gpd.GeoDataFrame({"name": ["nowhere"]}, geometry=[None], crs=BNG)
    frame = pd.concat([sites, road, missing], ignore_index=True)
    table = with_coordinates(gpd.GeoDataFrame(frame, crs=BNG))
    assert list(table.columns) == ["name", "designation", "tags", "x", "y", "lon", "lat"]
    assert (table.loc[0, "x"], table.loc[0, "y"]) == (450_000.0, 460_000.0)
    # a point inside each area, on each line, never outside
    for n in (2, 3, 4):
        assert frame.geometry[n].buffer(1e-6).contains(Point(table.loc[n, "x"],
                                                             table.loc[n, "y"]))
    # lon/lat are the same points in WGS84
    to_bng = Transformer.from_crs("EPSG:4326", BNG, always_xy=True)
    xs, ys = to_bng.transform(table["lon"].to_numpy()[:5], table["lat"].to_numpy()[:5])
    assert np.allclose(xs, table["x"].to_numpy()[:5], atol=0.2)
    assert np.allclose(ys, table["y"].to_numpy()[:5], atol=0.2)
    assert table.iloc[5][["x", "y", "lon", "lat"]].isna().all()  # no geometry: no coordinates


def test_coordinates_of_a_lonlat_frame_are_metres_too() -> None:
    frame = gpd.GeoDataFrame({"name": ["a"], "x": [99.0]}, geometry=[Point(-1.5, 54.0)],
                             crs="EPSG:4326")
    table = with_coordinates(frame)
    assert list(table.columns) == ["name", "x", "y", "lon", "lat"]
    assert table.loc[0, "lon"] == -1.5 and table.loc[0, "lat"] == 54.0
    assert 400_000 < table.loc[0, "x"] < 500_000  # the old x column is replaced
    with pytest.raises(InvalidExport, match="projected"):
        with_coordinates(frame, crs="EPSG:4326")


def test_csv_cells() -> None:
    guard_calls: list[str] = []

    def guard(v: object) -> object:
        guard_calls.append(str(v))
        return "'" + v if isinstance(v, str) and v.startswith("=") else v

    frame = pd.DataFrame({"name": ["=HYPERLINK(1)", "Tanner Row", None],
                          "mix": [{"burglary": 2}, ["a", "b"], None], "n": [1, 2, 3]})
    text = csv_bytes(frame, cell=guard).decode()
    lines = text.splitlines()
    assert lines[0] == "name,mix,n"
    assert lines[1] == "'=HYPERLINK(1),\"{\"\"burglary\"\": 2}\",1"
    assert lines[2] == 'Tanner Row,"[""a"", ""b""]",2'
    assert lines[3] == ",,3"
    assert "None" not in guard_calls  # missing cells stay empty
    assert text.endswith("\n") and "\r" not in text


def test_reference_layers_of_a_store_round_trip(store: Store, tmp_path: Path) -> None:
    """The layers as a store keeps them (both stores), written and read back."""
    sites = tmp_path / "sites.geojson"
    gpd.GeoDataFrame(
        {"name": ["Church", "Fort"], "designation": ["Listed building", "Scheduled monument"]},
        geometry=[Point(-1.0, 54.0), shapely.box(-1.01, 54.01, -1.0, 54.02)],
        crs="EPSG:4326").to_file(sites, driver="GeoJSON")
    store.put_layer(read_layer("heritage_sites", sites, force_crs=store.crs))
    bases = tmp_path / "bases.geojson"
    gpd.GeoDataFrame({"name": ["Hub"], "team": ["rural_crime_team"]},
                     geometry=[Point(-1.1, 54.1)], crs="EPSG:4326").to_file(bases,
                                                                           driver="GeoJSON")
    store.put_layer(read_layer("patrol_bases", bases, force_crs=store.crs))
    layers = {k: store.get_layer(k).frame for k in ("heritage_sites", "patrol_bases")}
    path = tmp_path / "store.gpkg"
    write_geopackage(path, layers, crs=store.crs, description=NOTE)
    assert _layers(path) == {"heritage_sites_points": "Point",
                             "heritage_sites_polygons": "Polygon",
                             "patrol_bases": "Point", ABOUT_LAYER: None}
    for name in ("heritage_sites_points", "heritage_sites_polygons", "patrol_bases"):
        assert pyogrio.read_info(path, layer=name)["crs"] == BNG
        assert pyogrio.read_info(path, layer=name)["features"] == 1
    fort = pyogrio.read_dataframe(path, layer="heritage_sites_polygons")
    assert fort["name"].tolist() == ["Fort"]
    assert 600_000 < fort.geometry.area[0] < 800_000  # 0.01 deg x 0.01 deg near 54 N, in m2
