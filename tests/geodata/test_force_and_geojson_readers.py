"""The force-export reader (column mappings, dates, grid references) and the GeoJSON reader."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from geodata.errors import InvalidFile, InvalidMapping
from geodata.readers import (
    ForceExportMapping,
    ReadOptions,
    open_reader,
    read_force_csv,
    read_geojson,
)
from geodata.schema import Precision

STANDARD = "incident_id,occurred_at,crime_type,easting,northing,location,lsoa_code,outcome\n"


def utc(text: str) -> int:
    return int(pd.Timestamp(text).value // 10**9)


def read_force(text: str, mapping: ForceExportMapping | None = None, **opts: object):
    return read_force_csv(io.BytesIO(text.encode()), mapping=mapping,
                          options=ReadOptions(**opts)).read_all()  # type: ignore[arg-type]


def test_standard_layout_needs_no_mapping():
    text = STANDARD + "F1,2024-03-05T21:40:00,Shoplifting,460431,451902,High St,E01,Charged\n"
    result = read_force(text)
    cols = result.incidents.columns
    assert list(cols["id"]) == ["F1"]
    assert cols["category"][0] == "shoplifting"
    assert cols["precision"][0] == Precision.EXACT
    assert cols["occurred_at"][0] == utc("2024-03-05T21:40:00Z")  # GMT in March
    assert cols["x"][0] == 460431 and cols["y"][0] == 451902
    assert -1.09 < cols["lon"][0] < -1.07 and 53.95 < cols["lat"][0] < 53.97


@pytest.mark.parametrize(
    ("value", "expected", "precision"),
    [
        ("2024-07-05T21:40:00", "2024-07-05T20:40:00Z", Precision.EXACT),  # BST
        ("2024-07-05 21:40", "2024-07-05T20:40:00Z", Precision.EXACT),
        ("2024-07-05T21:40:00+00:00", "2024-07-05T21:40:00Z", Precision.EXACT),
        ("2024-07-05T21:40:00Z", "2024-07-05T21:40:00Z", Precision.EXACT),
        ("05/07/2024 21:40", "2024-07-05T20:40:00Z", Precision.EXACT),
        ("05/07/2024", "2024-07-04T23:00:00Z", Precision.DAY),
        ("2024-07-05", "2024-07-04T23:00:00Z", Precision.DAY),
        ("2024-07", "2024-06-30T23:00:00Z", Precision.MONTH),
        # clocks go forward at 01:00 on 31 March 2024: 01:30 does not exist, moved forward
        ("2024-03-31T01:30:00", "2024-03-31T01:00:00Z", Precision.EXACT),
        # clocks go back at 02:00 on 27 October 2024: 01:30 happens twice, the first is taken
        ("2024-10-27T01:30:00", "2024-10-27T00:30:00Z", Precision.EXACT),
    ],
)
def test_dates_in_local_time(value: str, expected: str, precision: Precision):
    result = read_force(STANDARD + f"F1,{value},Burglary,460431,451902,,,\n")
    assert result.rejected == []
    assert result.incidents.columns["occurred_at"][0] == utc(expected)
    assert result.incidents.columns["precision"][0] == precision


@pytest.mark.parametrize("value", ["", "yesterday", "2024-02-30", "31/31/2024", "1066-10-14"])
def test_bad_dates_are_rejected(value: str):
    result = read_force(STANDARD + f"F1,{value},Burglary,460431,451902,,,\n")
    assert len(result.incidents) == 0
    assert [r.reason for r in result.rejected] == ["bad_date"]


def test_mapping_from_toml_with_lonlat_separate_time_and_weights(tmp_path):
    toml = tmp_path / "mapping.toml"
    toml.write_text("""
[columns]
id = "Crime Ref"
occurred_at = "Date"
time = "Time"
crime_type = "Offence"
lon = "Long"
lat = "Lat"
location = "Street"
lsoa_code = ""
outcome = ""
weight = "Harm"

[format]
date_format = "%d.%m.%Y %H%M"
""")
    mapping = ForceExportMapping.from_toml(toml)
    text = ("Crime Ref;Date;Time;Offence;Long;Lat;Street;Harm\n".replace(";", ",")
            + "R1,05.03.2024,2140,Hare coursing,-1.08,53.96,Moor Lane,2.5\n"
            + "R2,05.03.2024,0100,Poaching,-1.08,53.96,Moor Lane,-1\n"
            + ",06.03.2024,0100,Fly tipping,-1.08,53.96,Moor Lane,\n")
    result = read_force(text, mapping)
    cols = result.incidents.columns
    assert list(cols["category"]) == ["hare_coursing", "fly_tipping"]
    assert list(cols["weight"]) == [2.5, 1.0]
    assert cols["occurred_at"][0] == utc("2024-03-05T21:40:00Z")
    assert cols["id"][1].startswith("derived-")
    assert [(r.line, r.reason) for r in result.rejected] == [(3, "bad_weight")]


def test_mapping_that_names_absent_columns_is_a_clear_error():
    mapping = ForceExportMapping(occurred_at="When", crime_type="What", x="E", y="N", id=None,
                                 location=None, lsoa_code=None, outcome=None)
    with pytest.raises(InvalidFile, match="crime_type column 'What'"):
        read_force("When,Crime,E,N\n2024-03-05,Burglary,1,2\n", mapping)


def test_mapping_validation():
    with pytest.raises(InvalidMapping, match="x/y"):
        ForceExportMapping(x=None, y=None)
    with pytest.raises(InvalidMapping, match="unknown key"):
        ForceExportMapping.from_toml_text("[columns]\nwhen = 'x'\n")
    with pytest.raises(InvalidMapping, match="not valid TOML"):
        ForceExportMapping.from_toml_text("[columns\n")


def test_a_file_that_is_neither_police_nor_standard_needs_a_mapping():
    with pytest.raises(InvalidFile, match="give a column mapping"):
        open_reader(io.BytesIO(b"a,b,c\n1,2,3\n"), name="x.csv").read_all()


def test_force_export_zero_coordinates_are_unplaced():
    result = read_force(STANDARD + "F1,2024-03-05,Burglary,0,0,,,\n")
    assert [r.reason for r in result.rejected] == ["unplaced_zero_coordinates"]


# --- GeoJSON ----------------------------------------------------------------------------------

def feature(props: dict, geom: dict | None = None, fid: object = None) -> dict:
    f = {"type": "Feature", "properties": props,
         "geometry": geom if geom is not None else {"type": "Point", "coordinates": [-1.08, 53.96]}}
    if fid is not None:
        f["id"] = fid
    return f


def collection(*features: dict, **extra: object) -> bytes:
    return json.dumps({"type": "FeatureCollection", **extra, "features": list(features)}).encode()


def test_geojson_points_with_properties():
    data = collection(
        feature({"occurred_at": "2024-03-05T21:40:00Z", "crime_type": "Shoplifting",
                 "location": "High St"}, fid=7),
        feature({"month": "2024-03", "category": "Anti-social behaviour"}),
        feature({"date": "2024-03-05", "crime_type": "Burglary"},
                {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}),
        feature({"date": "2024-03-05", "crime_type": "Burglary"}, {"type": "Point", "coordinates": [0, 0]}),
    )
    result = read_geojson(io.BytesIO(data)).read_all()
    cols = result.incidents.columns
    assert list(cols["id"][:1]) == ["7"]
    assert list(cols["category"]) == ["shoplifting", "asb"]
    assert list(cols["precision"]) == [Precision.EXACT, Precision.MONTH]
    assert [(r.line, r.reason) for r in result.rejected] == [
        (3, "not_a_point"), (4, "unplaced_zero_coordinates")]


def test_geojson_legacy_crs_member_is_honoured():
    data = collection(
        feature({"date": "2024-03-05", "crime_type": "Burglary"},
                {"type": "Point", "coordinates": [460431, 451902]}),
        crs={"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::27700"}},
    )
    result = read_geojson(io.BytesIO(data)).read_all()
    assert result.incidents.columns["x"][0] == 460431
    assert 53.95 < result.incidents.columns["lat"][0] < 53.97


def test_newline_delimited_geojson_numbers_rows_by_line():
    lines = [json.dumps(feature({"date": "2024-03-05", "crime_type": "Burglary"}, fid=i))
             for i in range(3)]
    lines.insert(2, "{not json")
    result = read_geojson(io.BytesIO("\n".join(lines).encode()), name="x.geojsonl").read_all()
    assert list(result.incidents.columns["id"]) == ["0", "1", "2"]
    assert [(r.line, r.reason) for r in result.rejected] == [(3, "malformed_row")]


def test_truncated_geojson_is_refused_whole():
    data = collection(*(feature({"date": "2024-03-05", "crime_type": "Burglary"}) for _ in range(5)))
    with pytest.raises(InvalidFile, match="breaks off"):
        read_geojson(io.BytesIO(data[:-40])).read_all()
    with pytest.raises(InvalidFile, match="not GeoJSON"):
        read_geojson(io.BytesIO(b"Crime ID,Month\n")).read_all()


def test_geojson_streams_in_chunks():
    feats = [feature({"date": "2024-03-05", "crime_type": "Burglary"}, fid=i) for i in range(120)]
    chunks = list(read_geojson(io.BytesIO(collection(*feats)), options=ReadOptions(chunk_rows=50)))
    assert [len(c.incidents) for c in chunks] == [50, 50, 20]
    ids = np.concatenate([c.incidents.columns["id"] for c in chunks])
    assert list(ids) == [str(i) for i in range(120)]


@pytest.mark.parametrize("wrap", [False, True])
def test_plain_json_records_with_lonlat_or_grid_references(wrap: bool):
    records = [
        {"id": "r1", "occurred_at": "2024-03-05T21:40:00", "crime_type": "Shoplifting",
         "lon": -1.08, "lat": 53.96, "location": "High St"},
        {"id": "r2", "occurred_at": "2024-03", "crime_type": "Anti-social behaviour",
         "lon": -1.08, "lat": 53.96},
        {"id": "r3", "occurred_at": "2024-03-05", "crime_type": "Burglary"},
        "not a record",
    ]
    body = {"incidents": records} if wrap else records
    result = read_geojson(io.BytesIO(json.dumps(body).encode())).read_all()
    assert list(result.incidents.columns["id"]) == ["r1", "r2"]
    assert [(r.line, r.reason) for r in result.rejected] == [
        (3, "missing_coordinates"), (4, "malformed_row")]
    grid = [{"id": "g1", "occurred_at": "2024-03-05", "crime_type": "Poaching",
             "easting": 460431, "northing": 451902}]
    result = read_geojson(io.BytesIO(json.dumps(grid).encode())).read_all()
    assert result.incidents.columns["x"][0] == 460431
    assert 53.95 < result.incidents.columns["lat"][0] < 53.97
