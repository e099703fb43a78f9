"""The data.police.uk API reader (``police-api``): the API's JSON crime lists and the flattened
CSV of them, read against a hand count of a real York month, stored once whatever the layout,
and property tests that every crime is either accepted or rejected, never lost."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import box

from api.app import create_app
from api.settings import Settings
from geodata.coords import AreaCheck
from geodata.errors import InvalidFile
from geodata.ingest import ingest
from geodata.readers import FORMATS, ReadOptions, open_reader, read_police_api, read_police_csv, sniff_format
from geodata.readers.police_api import CATEGORY_SLUGS, PoliceApiReader
from geodata.schema import Precision
from geodata.taxonomy import Taxonomy, UnknownTypePolicy
from tests.conftest import NORTH_YORKSHIRE, REAL, as_role

YORK = REAL / "york-maxcovr" / "york_crime_2016-09.csv"
SETTINGS = settings(max_examples=int(os.environ.get("HOTSPOT_PROPERTY_EXAMPLES", "60")),
                    deadline=None, derandomize="HOTSPOT_PROPERTY_EXAMPLES" not in os.environ,
                    database=None, suppress_health_check=list(HealthCheck))

# Hand count of york_crime_2016-09.csv (``cut -d, -f1 | sort | uniq -c``): 1814 crimes, all
# placed in York, 3 anti-social behaviour rows without a persistent_id, one persistent_id on
# two rows (lines 1807 and 1812: two API records of one crime).
YORK_CATEGORIES = {"asb": 854, "violence_sexual": 256, "criminal_damage_arson": 116,
                   "other_theft": 114, "shoplifting": 106, "burglary": 86, "bicycle_theft": 82,
                   "vehicle_crime": 67, "public_order": 49, "drugs": 35, "theft_from_person": 23,
                   "other_crime": 14, "possession_of_weapons": 6, "robbery": 6}
YORK_OUTCOMES = {"": 854, "Under investigation": 444,
                 "Investigation complete; no suspect identified": 290,
                 "Unable to prosecute suspect": 82, "Awaiting court outcome": 77}


def crime(category: str = "burglary", pid: str = "p1", month: str = "2024-03",
          lat: object = "53.959718", lon: object = "-1.078010", street: str = "On or near X",
          outcome: object = None, location_type: str = "Force", **extra: object) -> dict:
    """One crime as the API's crimes-street answer gives it."""
    location = None if lat is None else {"latitude": lat, "street": {"id": 1051215,
                                                                       "name": street},
                                         "longitude": lon}
    return {"category": category, "location_type": location_type, "location": location,
            "context": "", "outcome_status": outcome, "persistent_id": pid, "id": 51053937,
            "location_subtype": "", "month": month, **extra}


def read_json(crimes: list, **options: object):
    data = json.dumps(crimes).encode()
    return read_police_api(io.BytesIO(data), name="crimes-street.json",
                           options=ReadOptions(**options)).read_all()  # type: ignore[arg-type]


def york_as_json() -> list[dict]:
    """The York file in the API's JSON shape, as the API answered before the CSV was made."""
    out = []
    with YORK.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        out.append({"category": r["category"], "location_type": r["location_type"],
                    "location": {"latitude": r["lat"], "street": {"id": int(r["street_id"]),
                                                                  "name": r["street_name"]},
                                 "longitude": r["long"]},
                    "context": r["context"],
                    "outcome_status": ({"category": r["outcome_status"], "date": "2016-10"}
                                       if r["outcome_status"] else None),
                    "persistent_id": r["persistent_id"], "id": int(r["id"]),
                    "location_subtype": r["location_subtype"], "month": r["date"]})
    return out


# --- the real York month -----------------------------------------------------------------------

@pytest.mark.real_data
def test_york_flattened_csv_reads_as_the_hand_count():
    result = open_reader(YORK).read_all()  # auto: a flattened API CSV
    assert result.stats.format == "police-api"
    assert result.stats.records == 1814 and result.rejected == []
    cols = result.incidents.columns
    assert dict(Counter(cols["category"].tolist())) == YORK_CATEGORIES
    outcomes = Counter(cols["outcome"].tolist())
    assert {k: outcomes[k] for k in YORK_OUTCOMES} == YORK_OUTCOMES
    assert sum(outcomes.values()) == 1814 and len(outcomes) == 17
    ids = cols["id"].tolist()
    assert sum(i.startswith("derived-") for i in ids) == 3 and len(set(ids)) == 1813
    assert ids[0] == "62299914865f07c689108e806a428d689a8bf3cdf1c9970ce6b35f0a0573d738"
    assert cols["location_text"][0] == "On or near St Saviourgate"
    assert cols["crime_type"][0] == "Anti-social behaviour"
    assert (cols["precision"] == Precision.MONTH).all()
    # September 2016 starts at midnight British Summer Time: 23:00 UTC on 31 August
    assert set(cols["occurred_at"].tolist()) == {
        int(pd.Timestamp("2016-08-31T23:00Z").value // 10**9)}
    assert (cols["force"] == "").all() and (cols["lsoa_code"] == "").all()
    # all of it in the City of York (the file's extremes; British National Grid metres)
    assert (cols["lon"].min(), cols["lon"].max()) == (-1.237961, -0.885483)
    assert (cols["lat"].min(), cols["lat"].max()) == (53.862931, 54.053155)
    assert cols["x"].min() > 449_000 and cols["x"].max() < 474_000
    assert cols["y"].min() > 440_000 and cols["y"].max() < 463_000
    assert result.stats.unknown_types == {}


@pytest.mark.real_data
def test_york_as_api_json_reads_the_same_crimes():
    from_csv = read_police_api(YORK).read_all().incidents
    from_json = read_json(york_as_json()).incidents
    assert len(from_json) == 1814
    for name in ("id", "category", "crime_type", "location_text", "outcome", "occurred_at",
                 "x", "y"):
        assert from_json.columns[name].tolist() == from_csv.columns[name].tolist(), name


@pytest.mark.real_data
def test_york_is_stored_once_whatever_the_layout(store):
    first = ingest(store, read_police_api(YORK)).to_dict()
    assert first["counts"]["accepted"] == 1813  # one crime has two API records
    assert first["counts"]["duplicates"] == 1 and first["counts"]["rejected"] == 0
    data = json.dumps(york_as_json()).encode()
    again = ingest(store, open_reader(io.BytesIO(data), name="york.json")).to_dict()
    assert again["format"] == "police-api"
    assert again["counts"]["accepted"] == 0 and again["counts"]["duplicates"] == 1814


@pytest.mark.real_data
def test_the_york_area_check_rejects_crimes_far_outside_the_force():
    york = box(455_000, 445_000, 466_000, 458_000)  # the city, not the whole unitary area
    result = read_police_api(YORK, options=ReadOptions(
        area=AreaCheck("EPSG:27700", york, buffer_m=1000))).read_all()
    outside = [r for r in result.rejected if r.reason == "outside_force_area"]
    assert len(result.incidents) + len(outside) == 1814 and outside
    assert all("force boundary" in r.detail for r in outside)


# --- the JSON shapes ---------------------------------------------------------------------------

def test_crimes_street_json_maps_slugs_to_the_street_files_crime_types():
    slugs = list(CATEGORY_SLUGS)
    result = read_json([crime(category=s, pid=f"p{k}") for k, s in enumerate(slugs)])
    cols = result.incidents.columns
    assert cols["crime_type"].tolist() == list(CATEGORY_SLUGS.values())
    taxonomy = Taxonomy.load()
    assert cols["category"].tolist() == [taxonomy.lookup(t) or "other"
                                         for t in CATEGORY_SLUGS.values()]
    assert cols["category"].tolist()[:3] == ["asb", "bicycle_theft", "burglary"]
    assert dict(zip(slugs, cols["category"].tolist(), strict=True))["violent-crime"] == \
        "violence_sexual"
    # the one slug the taxonomy has no type for (before May 2013) is counted, and kept as other
    assert result.stats.unknown_types == {"Public disorder and weapons": 1}


def test_a_crime_matches_its_street_csv_row():
    """The same crime from the API and from the street-level CSV: one identity, one place."""
    street = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,"
              "LSOA name,Crime type,Last outcome category,Context\n"
              "abc123,2024-03,North Yorkshire Police,North Yorkshire Police,-1.078010,53.959718,"
              "On or near X,E01013345,York 001A,Burglary,Under investigation,\n")
    a = read_police_csv(io.BytesIO(street.encode()), name="s.csv").read_all()
    b = read_json([crime(pid="abc123", outcome={"category": "Under investigation",
                                                "date": "2024-03"})])
    assert b.incidents.namespace == a.incidents.namespace == "police.uk"
    for name in ("id", "category", "crime_type", "location_text", "outcome", "occurred_at",
                 "precision", "x", "y", "lon", "lat"):
        assert b.incidents.columns[name].tolist() == a.incidents.columns[name].tolist(), name


def test_unplaced_missing_and_bad_crimes_are_rejected_with_their_position():
    result = read_json([
        crime(pid="a"),
        crime(pid="b", lat=None),                       # crimes-no-location: location null
        crime(pid="c", lat="0", lon="0"),               # data.police.uk's "could not place"
        crime(pid="d", lat="", lon=""),
        crime(pid="e", month="2024-3"),
        "not a crime",
        crime(pid="f", lat=95.0, lon=-1.0),
        crime(pid="g", lat="53.2307", lon="-0.5406", location_type="BTP",
              outcome={"category": "Unable to prosecute suspect", "date": "2024-04"}),
    ])
    assert [(r.line, r.reason) for r in result.rejected] == [
        (2, "missing_coordinates"), (3, "unplaced_zero_coordinates"),
        (4, "missing_coordinates"), (5, "bad_date"), (6, "malformed_row"),
        (7, "out_of_range_coordinates")]
    cols = result.incidents.columns
    assert cols["id"].tolist() == ["a", "g"]
    assert cols["force"].tolist() == ["", "British Transport Police"]
    assert cols["outcome"].tolist() == ["", "Unable to prosecute suspect"]
    assert result.incidents.line.tolist() == [1, 8]


def test_asb_without_persistent_id_gets_stable_derived_ids_each_kept():
    twins = [crime(category="anti-social-behaviour", pid="", id=k) for k in (1, 2)]
    first = read_json(twins).incidents.columns["id"].tolist()
    assert len(set(first)) == 2 and all(i.startswith("derived-") for i in first)
    # the API renumbers and republishes outcomes: same ids again
    renumbered = [{**c, "id": c["id"] + 100, "outcome_status": {"category": "x"}} for c in twins]
    assert read_json(renumbered).incidents.columns["id"].tolist() == first


def test_a_nul_in_a_street_name_rejects_that_crime_only():
    result = read_json([crime(pid="a", street="On or near \x00"), crime(pid="b")])
    assert [r.reason for r in result.rejected] == ["nul_character"]
    assert "street name" in result.rejected[0].detail
    assert result.incidents.columns["id"].tolist() == ["b"]


def test_numbers_as_json_numbers_and_a_missing_month_member():
    result = read_json([{**crime(lat=53.959718, lon=-1.07801), "month": None,
                         "date": "2024-03"}])
    assert len(result.incidents) == 1
    assert result.incidents.columns["lat"][0] == pytest.approx(53.959718)


@pytest.mark.parametrize(("data", "match"), [
    (b"", "empty"),
    (b'[{"category": "burglary", "persistent_id": "a", "id": 18446744073709551616}]',
     "beyond what 64-bit"),
    (b'{"type": "FeatureCollection", "features": []}', "not an array"),
    (b'[{"category": "burglary", "persistent_id": "a", "location": {', "breaks off"),
    (b"[" * 200 + b"]" * 200, "nests more than"),
    (b"category,month\nburglary,2024-03\n", "lacks lat, long"),
])
def test_unreadable_files_are_a_clear_invalid_file(data: bytes, match: str):
    with pytest.raises(InvalidFile, match=match):
        read_police_api(io.BytesIO(data), name="x").read_all()


def test_chunks_stream_and_count():
    crimes = [crime(pid=f"p{k}") for k in range(25)]
    reader = read_police_api(io.BytesIO(json.dumps(crimes).encode()), name="x",
                             options=ReadOptions(chunk_rows=10))
    sizes = [len(chunk.incidents) for chunk in reader]
    assert sizes == [10, 10, 5] and reader.stats.records == 25


def test_unknown_slugs_are_rejected_under_a_strict_policy():
    result = read_json([crime(category="hare-coursing-nope")],
                       unknown_types=UnknownTypePolicy.REJECT)
    assert [r.reason for r in result.rejected] == ["unknown_crime_type"]
    assert "category 'hare-coursing-nope'" in result.rejected[0].detail


# --- telling formats apart ---------------------------------------------------------------------

def test_sniffing_tells_the_api_from_geojson_records_and_street_files():
    api = json.dumps([crime()]).encode()
    assert sniff_format(api, "crimes.json") == "police-api"
    assert sniff_format(b"\xef\xbb\xbf  \n" + api, "upload") == "police-api"
    records = json.dumps([{"id": "s1", "occurred_at": "2024-03-06", "crime_type": "Burglary",
                           "lon": -1.08, "lat": 53.96}]).encode()
    assert sniff_format(records, "x.json") == "geojson"
    assert sniff_format(b'{"type":"FeatureCollection","features":[]}', "x.geojson") == "geojson"
    header = b"category,persistent_id,date,lat,long,street_id,street_name,context,id\n"
    assert sniff_format(header, "york.csv") == "police-api"
    assert sniff_format(b"category,persistent_id,month,latitude,longitude\n") == "police-api"
    assert sniff_format(b"Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,"
                        b"LSOA code,LSOA name,Crime type,Last outcome category,Context\n",
                        "s.csv") == "police"
    assert sniff_format(b"category,lat,long,date\n") == "force"  # no persistent_id
    assert "police-api" in FORMATS
    assert isinstance(open_reader(io.BytesIO(api), name="x.json"), PoliceApiReader)


def test_pandas_json_normalize_columns_read():
    flat = pd.json_normalize([crime(pid="n1", outcome={"category": "Local resolution",
                                                       "date": "2024-04"})])
    data = flat.to_csv(index=False).encode()
    assert sniff_format(data) == "police-api"
    result = open_reader(io.BytesIO(data), name="flat.csv").read_all()
    cols = result.incidents.columns
    assert cols["id"].tolist() == ["n1"] and cols["outcome"].tolist() == ["Local resolution"]
    assert cols["location_text"].tolist() == ["On or near X"]


# --- through the service -----------------------------------------------------------------------

@pytest.mark.real_data
def test_post_incidents_auto_detects_api_json_and_flattened_csv(tmp_path: Path):
    cfg = Settings(data_dir=tmp_path, database_url=str(tmp_path / "force.sqlite"))
    with TestClient(create_app(cfg)) as raw:
        client = as_role(raw)
        r = client.post("/v1/incidents", json=york_as_json()[:100])
        assert r.status_code == 201, r.text
        assert r.json()["format"] == "police-api" and r.json()["counts"]["accepted"] == 100
        with YORK.open("rb") as f:
            r = client.post("/v1/incidents", params={"format": "police-api"},
                            files={"file": (YORK.name, f, "text/csv")})
        assert r.status_code == 201, r.text
        assert r.json()["counts"]["accepted"] == 1713
        assert r.json()["counts"]["duplicates"] == 101
        r = client.post("/v1/incidents", content=YORK.read_bytes(),  # auto, raw CSV body
                        headers={"content-type": "text/csv"}, params={"source": "york.csv"})
        assert r.status_code == 200 and r.json()["format"] == "police-api"
        assert r.json()["counts"]["duplicates"] == 1814
        r = client.post("/v1/incidents", params={"format": "police-apis"}, json=[])
        assert r.status_code == 422 and "format" in r.text


@pytest.mark.real_data
def test_hotspot_ingest_format_police_api(tmp_path: Path):
    env = {**os.environ, "HOTSPOT_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}
    env.pop("HOTSPOT_DATABASE_URL", None)
    hotspot = str(Path(sys.executable).parent / "hotspot")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([hotspot, "ingest", str(YORK), *args], capture_output=True,
                              text=True, env=env, timeout=300, check=False)

    for k, fmt in enumerate(("auto", "police-api")):
        proc = run("--format", fmt, "-d", str(tmp_path / f"york{k}.sqlite"), "--json")
        assert proc.returncode == 0, proc.stderr + proc.stdout
        report = json.loads(proc.stdout)["files"][0]
        assert report["format"] == "police-api" and report["counts"]["accepted"] == 1813
        assert report["counts"]["duplicates"] == 1
    # the street-level reader refuses the API layout, naming what it lacks
    proc = run("--format", "police", "-d", str(tmp_path / "york2.sqlite"))
    assert proc.returncode != 0 and "Crime type" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr


# --- properties --------------------------------------------------------------------------------

text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
number = st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(-10**6, 10**6))
int64 = st.integers(-(2**63) + 1, 2**63 - 1)
coordinate = st.one_of(st.floats(53.9, 54.6).map(lambda v: f"{v:.6f}"), st.just(""),
                       st.just("0"), st.none(), number, text)
json_crime = st.one_of(
    st.fixed_dictionaries({
        "category": st.one_of(st.sampled_from([*CATEGORY_SLUGS, ""]), text, st.none()),
        "persistent_id": st.one_of(st.just(""), st.text("0123456789abcdef", max_size=64),
                                   st.none()),
        "month": st.one_of(st.sampled_from(["2024-03", "2016-09", "2024-13", ""]), text,
                           st.none(), number),
        "location": st.one_of(st.none(), text, st.fixed_dictionaries({
            "latitude": coordinate, "longitude": st.one_of(
                st.floats(-2.6, -0.2).map(lambda v: f"{v:.6f}"), coordinate),
            "street": st.one_of(st.none(), text, st.fixed_dictionaries({
                "id": number, "name": st.one_of(text, st.none())}))})),
        "outcome_status": st.one_of(st.none(), text, st.fixed_dictionaries({
            "category": st.one_of(text, st.none()), "date": text})),
        "location_type": st.sampled_from(["Force", "BTP", "", None]),
        "context": st.one_of(text, st.none()),
    }),
    st.none(), number, text, st.lists(int64, max_size=2),
)


@SETTINGS
@given(crimes=st.lists(json_crime, max_size=30), chunk=st.integers(1, 40))
def test_json_crimes_are_accepted_or_rejected_never_lost(crimes, chunk) -> None:
    data = json.dumps(crimes).encode()
    assert sniff_format(data) in ("police-api", "geojson")
    result = read_police_api(io.BytesIO(data), name="x.json",
                             options=ReadOptions(chunk_rows=chunk)).read_all()
    assert len(result.incidents) + len(result.rejected) == len(crimes) == result.stats.records
    positions = sorted([*result.incidents.line.tolist(), *(r.line for r in result.rejected)])
    assert positions == list(range(1, len(crimes) + 1))
    assert (result.incidents.columns["precision"] == Precision.MONTH).all()
    assert not any(v == "" for v in result.incidents.columns["id"])
    assert np.isfinite(result.incidents.columns["x"]).all()


FLAT = ["category", "persistent_id", "date", "lat", "long", "street_id", "street_name",
        "context", "id", "location_type", "location_subtype", "outcome_status"]
flat_row = st.tuples(
    st.one_of(st.sampled_from([*CATEGORY_SLUGS, ""]), text),
    st.one_of(st.just(""), st.text("0123456789abcdef", min_size=1, max_size=64)),
    st.one_of(st.sampled_from(["2016-09", "2024-13", ""]), text),
    coordinate.map(lambda v: "" if v is None else str(v)),
    st.one_of(st.floats(-2.6, -0.2).map(lambda v: f"{v:.6f}"), st.just(""), st.just("0"), text),
    st.integers(0, 10**7).map(str), text, text, st.integers(0, 10**8).map(str),
    st.sampled_from(["Force", "BTP"]), text, text)


@SETTINGS
@given(rows=st.lists(flat_row, max_size=30), ragged=st.lists(st.integers(0, 29), max_size=3),
       quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
def test_flattened_rows_are_accepted_or_rejected_never_lost(rows, ragged, quoting) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n", quoting=quoting)
    writer.writerow(FLAT)
    expected = 0
    for i, r in enumerate(rows):
        fields = list(r)
        if quoting == csv.QUOTE_MINIMAL:
            fields = [f.replace("\r", " ") for f in fields]
        if i in ragged:
            fields = fields[:5]
        if not any(f.strip() for f in fields):
            continue
        writer.writerow(fields)
        expected += 1
    data = out.getvalue().encode()
    assert sniff_format(data[:65536], "york.csv") == "police-api"
    result = open_reader(io.BytesIO(data), name="york.csv").read_all()
    assert len(result.incidents) + len(result.rejected) == expected == result.stats.records
    lines = sorted([*result.incidents.line.tolist(), *(r.line for r in result.rejected)])
    assert len(set(lines)) == len(lines)


@SETTINGS
@given(blob=st.binary(max_size=400), opener=st.sampled_from([b"", b"[", b"category,"]))
def test_garbage_is_a_clear_invalid_file_or_counted_rows(blob: bytes, opener: bytes) -> None:
    message = ""
    try:
        result = read_police_api(io.BytesIO(opener + blob), name="x").read_all()
    except InvalidFile as exc:
        message, result = str(exc), None
    if result is None:
        assert message
    else:
        assert len(result.incidents) + len(result.rejected) == result.stats.records


def test_a_street_csv_read_as_api_is_refused_naming_what_it_lacks():
    with pytest.raises(InvalidFile, match="lacks category"):
        read_police_api(NORTH_YORKSHIRE).read_all()


def test_a_crime_with_a_giant_field_is_a_rejected_row(tmp_path) -> None:
    """One object of an API answer holding megabytes of text is refused as a row (as a CSV
    line over the line limit is), not stored."""
    import json

    from geodata.readers._text import MAX_LINE_BYTES
    from geodata.readers.police_api import read_police_api

    good = {"category": "burglary", "persistent_id": "a" * 64, "month": "2024-03",
            "location": {"latitude": "53.96", "longitude": "-1.08",
                         "street": {"id": 1, "name": "On or near High Street"}}}
    giant = {**good, "persistent_id": "b" * 64, "category": "x" * (MAX_LINE_BYTES + 1)}
    path = tmp_path / "crimes.json"
    path.write_text(json.dumps([good, giant]))
    result = read_police_api(path).read_all()
    assert len(result.incidents) == 1
    assert [r.line for r in result.rejected] == [2]
    assert "more than" in result.rejected[0].detail
