"""Property tests of the readers (hypothesis): whatever the rows hold, no exception escapes a
reader, and every data row is either accepted or reported rejected (with its line): none is
lost and none is counted twice."""

from __future__ import annotations

import csv
import io
import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geodata.errors import InvalidFile
from geodata.readers import open_reader

HEADER = ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude",
          "Location", "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context"]
SETTINGS = settings(max_examples=int(os.environ.get("HOTSPOT_PROPERTY_EXAMPLES", "60")),
                    deadline=None, derandomize="HOTSPOT_PROPERTY_EXAMPLES" not in os.environ,
                    database=None, suppress_health_check=list(HealthCheck))

text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
lon = st.one_of(st.floats(-2.6, -0.2).map(lambda v: f"{v:.6f}"), st.just(""), text)
lat = st.one_of(st.floats(53.9, 54.6).map(lambda v: f"{v:.6f}"), st.just(""), text)
month = st.one_of(st.sampled_from(["2024-01", "2019-12", "2024-13", "", "24-01"]), text)
crime = st.one_of(st.sampled_from(["Burglary", "Shoplifting", "Anti-social behaviour",
                                   "Vehicle crime", "Other crime", ""]), text)
row = st.tuples(st.one_of(st.just(""), st.text("0123456789abcdef", min_size=1, max_size=64)),
                month, st.just("North Yorkshire Police"), st.just("North Yorkshire Police"),
                lon, lat, st.one_of(st.just("On or near Main Street"), text),
                st.just("E01027558"), st.just("Craven 001A"), crime, text, text)


@SETTINGS
@given(rows=st.lists(row, max_size=30), ragged=st.lists(st.integers(0, 29), max_size=3),
       quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
def test_police_csv_rows_are_accepted_or_rejected_never_lost(rows, ragged, quoting) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n", quoting=quoting)
    writer.writerow(HEADER)
    expected = 0
    for i, r in enumerate(rows):
        fields = list(r)
        if quoting == csv.QUOTE_MINIMAL:  # csv.writer leaves a lone CR unquoted: a line break
            fields = [f.replace("\r", " ") for f in fields]
        if i in ragged:
            fields = fields[:7]  # a row cut short
        if not any(f.strip() for f in fields):
            continue  # a blank line is not a record
        writer.writerow(fields)
        expected += 1
    data = out.getvalue().encode("utf-8")
    result = open_reader(io.BytesIO(data), format="police", name="p.csv").read_all()
    accepted, rejected = len(result.incidents), len(result.rejected)
    assert accepted + rejected == expected == result.stats.records
    lines = sorted([*result.incidents.line.tolist(), *(r.line for r in result.rejected)])
    assert len(set(lines)) == len(lines)  # each row once


@SETTINGS
@given(blob=st.binary(max_size=400))
def test_garbage_is_a_clear_invalid_file_or_rejected_rows(blob: bytes) -> None:
    for fmt in ("police", "geojson", "force"):
        message = ""
        try:
            result = open_reader(io.BytesIO(blob), format=fmt, name="x").read_all()
        except InvalidFile as exc:
            message, result = str(exc), None
        if result is None:
            assert message  # a message, not a traceback
        else:
            assert len(result.incidents) + len(result.rejected) == result.stats.records


point = st.fixed_dictionaries({
    "type": st.just("Feature"),
    "geometry": st.one_of(
        st.none(),
        st.fixed_dictionaries({"type": st.just("Point"),
                               "coordinates": st.lists(st.floats(allow_nan=False, allow_infinity=False,
                                                                   width=32), max_size=3)}),
        st.fixed_dictionaries({"type": st.sampled_from(["LineString", "Polygon", "Nope"]),
                               "coordinates": st.just([[0, 0], [1, 1]])})),
    "properties": st.one_of(st.none(), st.fixed_dictionaries({
        "occurred_at": st.one_of(st.just("2024-03-05T22:10:00Z"), text,
                                 st.integers(-(2**63) + 1, 2**63 - 1)),
        "crime_type": st.one_of(st.just("Shoplifting"), text, st.none()),
    })),
})


@SETTINGS
@given(features=st.lists(point, max_size=20))
def test_geojson_features_are_accepted_or_rejected_never_lost(features) -> None:
    data = json.dumps({"type": "FeatureCollection", "features": features}).encode()
    result = open_reader(io.BytesIO(data), format="geojson", name="x.geojson").read_all()
    assert len(result.incidents) + len(result.rejected) == len(features) == result.stats.records


def test_a_number_beyond_64_bits_is_a_clear_invalid_file() -> None:
    """The JSON parser (yajl) stops at 64-bit integers: the file is refused with a message that
    says so (nothing stored), rather than called malformed."""
    data = json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-1.08, 53.96]},
         "properties": {"occurred_at": 2**64, "crime_type": "Shoplifting"}}]}).encode()
    with pytest.raises(InvalidFile, match="beyond what 64-bit"):
        open_reader(io.BytesIO(data), format="geojson", name="x.geojson").read_all()
