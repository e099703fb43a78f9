"""Reference layers: reading, validation with clear errors, reprojection, keeping in the store."""

from __future__ import annotations

import json

import geopandas as gpd
import pytest
from shapely.geometry import Point, Polygon

from geodata.errors import InvalidLayer
from geodata.layers import force_area, read_layer
from tests.conftest import LAD, LSOA_DIR, NORTH_YORKSHIRE_LADS, YORK_LISTED

pytestmark = pytest.mark.real_data

BOWTIE = Polygon([(0, 0), (1, 1), (1, 0), (0, 1), (0, 0)])


def geojson(tmp_path, name: str, frame: gpd.GeoDataFrame):
    path = tmp_path / name
    data = frame.to_geo_dict(drop_id=True)
    if frame.crs is not None and frame.crs.to_epsg() != 4326:
        data["crs"] = {"type": "name", "properties": {"name": f"EPSG:{frame.crs.to_epsg()}"}}
    path.write_text(json.dumps(data))
    return path


def test_force_boundary_dissolved_from_real_districts():
    layer = read_layer("force_boundary", LAD, select=("LAD21CD", NORTH_YORKSHIRE_LADS))
    assert len(layer) == 1
    assert layer.info["dissolved_from"] == 8
    area_km2 = layer.frame.geometry.iloc[0].area / 1e6
    assert 8_000 < area_km2 < 8_700  # North Yorkshire with York
    assert layer.frame.crs.to_epsg() == 27700


def test_invalid_geometry_is_named_or_repaired():
    with pytest.raises(InvalidLayer, match=r"feature 170 \('Norwich'\) has an invalid geometry"):
        read_layer("built_up_areas", LAD)
    fixed = read_layer("built_up_areas", LAD, repair=True)
    assert [r["feature"] for r in fixed.info["repaired"]] == [170, 222]
    assert fixed.frame.is_valid.all()


def test_select_names_values_that_match_nothing():
    with pytest.raises(InvalidLayer, match="no feature has LAD21CD = E99999999"):
        read_layer("force_boundary", LAD, select=("LAD21CD", ["E99999999"]))


def test_real_lsoas_as_town_centres_take_the_ons_name_column():
    layer = read_layer("town_centres", LSOA_DIR / "E07000136.json")
    assert layer.info["name_column"] == "LSOA11NM"
    assert layer.frame["name"].str.startswith("Boston").all()


def test_york_listed_buildings_as_heritage_sites():
    layer = read_layer("heritage_sites", YORK_LISTED)
    assert len(layer) == 2944
    assert layer.frame["designation"].iloc[0] == "Listed building, grade I"
    # half the real list has no name: named from the list reference, and the report says so
    assert layer.info["named_from_reference"] == {"column": "desig_id", "features": 1451}
    assert not (layer.frame["name"].str.strip() == "").any()
    x, y = layer.frame.geometry.x, layer.frame.geometry.y
    assert x.between(450_000, 472_000).all() and y.between(443_000, 462_000).all()


def test_missing_required_attribute_names_the_feature(tmp_path):
    frame = gpd.GeoDataFrame({"name": ["Base A", "Base B"], "team": ["rural", ""]},
                             geometry=[Point(460000, 450000), Point(461000, 451000)],
                             crs="EPSG:27700")
    with pytest.raises(InvalidLayer, match=r"feature 2 \('Base B'\) has no team"):
        read_layer("patrol_bases", geojson(tmp_path, "bases.geojson", frame))


def test_team_names_are_normalised_or_refused(tmp_path):
    frame = gpd.GeoDataFrame({"name": ["A", "B"], "team": ["Rural Crime Team", "Town Centre"]},
                             geometry=[Point(460000, 450000), Point(461000, 451000)],
                             crs="EPSG:27700")
    layer = read_layer("patrol_bases", geojson(tmp_path, "b.geojson", frame))
    assert list(layer.frame["team"]) == ["rural_crime_team", "town_centre"]
    frame["team"] = ["Rural", "Dog unit"]
    with pytest.raises(InvalidLayer, match="has team 'Dog unit'"):
        read_layer("patrol_bases", geojson(tmp_path, "c.geojson", frame))


def test_wrong_geometry_type_and_empty_geometry(tmp_path):
    points = gpd.GeoDataFrame({"name": ["x"]}, geometry=[Point(460000, 450000)], crs="EPSG:27700")
    with pytest.raises(InvalidLayer, match="is a Point; a town_centres layer needs polygons"):
        read_layer("town_centres", geojson(tmp_path, "p.geojson", points))
    bowtie = gpd.GeoDataFrame({"name": ["x"]}, geometry=[BOWTIE], crs="EPSG:4326")
    with pytest.raises(InvalidLayer, match="Self-intersection"):
        read_layer("town_centres", geojson(tmp_path, "b.geojson", bowtie))


def test_a_file_without_crs_is_refused_unless_told(tmp_path):
    frame = gpd.GeoDataFrame({"name": ["x"]}, geometry=[Point(460000, 450000).buffer(50)])
    path = tmp_path / "nocrs.gpkg"
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        frame.to_file(path, driver="GPKG")
    with pytest.raises(InvalidLayer, match="has no CRS"):
        read_layer("town_centres", path)
    layer = read_layer("town_centres", path, crs="EPSG:27700")
    assert layer.frame.crs.to_epsg() == 27700


def test_csv_points_in_grid_references(tmp_path):
    path = tmp_path / "sites.csv"
    path.write_text("name,designation,easting,northing\nChurch,Grade I,460000,450000\n")
    layer = read_layer("heritage_sites", path)
    assert layer.frame.geometry.iloc[0].equals(Point(460000, 450000))
    path.write_text("name,designation,easting,northing\nChurch,Grade I,,450000\n")
    with pytest.raises(InvalidLayer, match="row 2 has no usable coordinates"):
        read_layer("heritage_sites", path)


@pytest.mark.parametrize(
    ("header", "rows", "vintage"),
    [
        ("LSOA11CD,LSOA11NM,RUC11CD,RUC11", ["E01000001,A,A1,Urban major conurbation",
                                             "E01000002,B,E1,Rural village"], "2011"),
        ("LSOA21CD,LSOA21NM,RUC21CD,RUC21", ["E01000001,A,UN1,Urban: Nearer to a major town",
                                             "E01000002,B,RSN1,Smaller rural: Nearer to a major town"],
         "2021"),
    ],
)
def test_rural_urban_lookup_both_vintages(tmp_path, header: str, rows: list[str], vintage: str):
    path = tmp_path / "ruc.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    layer = read_layer("rural_urban_lookup", path)
    assert layer.info["vintage"] == vintage
    assert list(layer.frame["is_rural"]) == [False, True]


def test_lookup_errors(tmp_path):
    path = tmp_path / "ruc.csv"
    path.write_text("code,class\nE01,Urban\n")
    with pytest.raises(InvalidLayer, match="needs LSOA11CD and RUC11"):
        read_layer("rural_urban_lookup", path)
    path.write_text("LSOA11CD,RUC11\nE01,Urban\nE01,Rural\n")
    with pytest.raises(InvalidLayer, match="appears twice"):
        read_layer("rural_urban_lookup", path)


def test_unknown_kind_and_missing_file(tmp_path):
    with pytest.raises(InvalidLayer, match="unknown layer kind 'railways'"):
        read_layer("railways", LAD)
    with pytest.raises(InvalidLayer, match="no such file"):
        read_layer("town_centres", tmp_path / "nope.geojson")


def test_layers_round_trip_through_the_store(store):
    boundary = read_layer("force_boundary", LAD, select=("LAD21CD", NORTH_YORKSHIRE_LADS))
    sites = read_layer("heritage_sites", YORK_LISTED)
    before = store.data_version()
    store.put_layer(boundary)
    store.put_layer(sites)
    assert store.data_version() != before
    back = store.get_layer("heritage_sites")
    assert len(back.frame) == 2944
    assert back.frame.crs.to_epsg() == 27700
    assert back.frame.geometry.geom_equals_exact(sites.frame.geometry, 1e-6).all()
    assert list(back.frame["name"]) == list(sites.frame["name"])
    assert [i.kind for i in store.list_layers()] == ["force_boundary", "heritage_sites"]
    area = force_area(store, 1000)
    assert area.has_boundary
    store.put_layer(read_layer("heritage_sites", YORK_LISTED))  # replaced, not added
    assert len(store.get_layer("heritage_sites").frame) == 2944
    assert store.get_layer("town_centres") is None


def test_errors_name_the_feature_by_its_place_in_the_file():
    # Norwich is feature 170 of the file, whatever was selected before it
    norfolk = ["E07000144", "E07000148", "E07000149"]
    with pytest.raises(InvalidLayer, match=r"feature 170 \('Norwich'\)"):
        read_layer("built_up_areas", LAD, select=("LAD21CD", norfolk))


def test_shapefile_and_geopackage_layers(tmp_path):
    frame = gpd.GeoDataFrame(
        {"NAME": ["Thornbury", "Elmsford"]},
        geometry=[Point(462500, 471000).buffer(400), Point(481000, 483500).buffer(350)],
        crs="EPSG:27700",
    )
    shp = tmp_path / "centres.shp"
    frame.to_file(shp)
    gpkg = tmp_path / "centres.gpkg"
    frame.to_crs(4326).to_file(gpkg, layer="town_centres", driver="GPKG")
    for path in (shp, gpkg):
        layer = read_layer("town_centres", path)
        assert list(layer.frame["name"]) == ["Thornbury", "Elmsford"]
        assert layer.frame.crs.to_epsg() == 27700
        assert abs(layer.frame.geometry.iloc[0].centroid.x - 462500) < 1


def test_roads_take_speeds_from_a_column_a_class_or_the_default(tmp_path):
    lines = [{"type": "Feature", "properties": props,
              "geometry": {"type": "LineString", "coordinates": [[-1.5, 54.0], [-1.4, 54.1]]}}
             for props in ({"maxspeed": "30 mph"}, {"maxspeed": "50"}, {"maxspeed": None})]
    path = tmp_path / "roads.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": lines}))
    layer = read_layer("roads", path)
    assert layer.frame["speed_kph"].round(1).tolist() == [48.3, 50.0, 48.0]
    assert layer.info["speed_column"] == "maxspeed" and layer.info["speeds_defaulted"] == 1
    for f, cls in zip(lines, ("A Road", "Local Road", "Motorway"), strict=True):
        f["properties"] = {"class": cls}
    path.write_text(json.dumps({"type": "FeatureCollection", "features": lines}))
    assert read_layer("roads", path).frame["speed_kph"].tolist() == [64.0, 32.0, 96.0]
    for f in lines:
        f["properties"] = {}
    path.write_text(json.dumps({"type": "FeatureCollection", "features": lines}))
    assert read_layer("roads", path).info["speed_default_kmh"] == 48.0
    with pytest.raises(InvalidLayer, match="needs lines"):
        read_layer("roads", LAD)
