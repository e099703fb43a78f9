"""Property tests of the readers (hypothesis): whatever the rows hold, no exception escapes a
reader, and every data row is either accepted or reported rejected (with its line): none is
lost and none is counted twice."""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import json
import lzma
import os
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geodata.errors import InvalidFile
from geodata.readers import open_reader, sniff_format

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


# -- malformed shapes: bare carriage returns, NUL characters, compressed and binary bodies,
#    deep nesting ------------------------------------------------------------------------------

STORED_TEXT = ("id", "crime_type", "location_text", "lsoa_code", "lsoa_name", "outcome",
               "context", "force")
damage = st.sampled_from(["\r", "\x00", "\r\n", "\r\r", '"', ",", "\x00\r"])


def _read(data: bytes, fmt: str, name: str = "x"):
    """The reader's result, or None and the message of the InvalidFile that refused the file."""
    try:
        return open_reader(io.BytesIO(data), format=fmt, name=name).read_all(), ""
    except InvalidFile as exc:
        return None, str(exc)


def _no_nul_stored(result) -> None:
    for name in STORED_TEXT:
        assert not any("\x00" in str(v) for v in result.incidents.columns[name]), name


@SETTINGS
@given(rows=st.lists(row, min_size=1, max_size=20),
       cuts=st.lists(st.tuples(st.integers(0, 10_000), damage), max_size=6))
def test_bare_crs_and_nuls_anywhere_are_read_or_refused_never_raised(rows, cuts) -> None:
    """Carriage returns and NULs put anywhere in a police file (header too): the reader refuses
    the file with a message or reads it with every record accepted or rejected, and never
    stores text holding U+0000."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([HEADER, *rows])
    text = out.getvalue()
    for at, what in cuts:
        at %= len(text) + 1
        text = text[:at] + what + text[at:]
    data = text.encode("utf-8")
    assert sniff_format(data[:65536], "x.csv") in ("police", "force")
    for fmt in ("auto", "police"):
        result, message = _read(data, fmt, "p.csv")
        if result is None:
            assert message
            continue
        assert len(result.incidents) + len(result.rejected) == result.stats.records
        lines = sorted([*result.incidents.line.tolist(), *(r.line for r in result.rejected)])
        assert len(set(lines)) == len(lines)
        _no_nul_stored(result)


POLICE_STORED = ("Crime ID", "Falls within", "Location", "LSOA code", "LSOA name",
                 "Crime type", "Last outcome category", "Context")
"""The police columns kept as text (a NUL in Month or the coordinates makes them unreadable;
"Reported by" is not kept)."""


@SETTINGS
@given(rows=st.lists(row, min_size=1, max_size=20), nul_rows=st.sets(st.integers(0, 19)),
       column=st.integers(0, len(HEADER) - 1))
def test_a_row_with_a_nul_is_rejected_as_such_and_only_it(rows, nul_rows, column) -> None:
    """A NUL in a kept text field rejects the row as nul_character, naming a field that holds
    one (unless its date was unreadable first); no other row is rejected for a NUL."""
    rows = [[f.replace("\r", " ").replace("\n", " ") for f in r] for r in rows]  # a line each
    for i in nul_rows:
        if i < len(rows):
            rows[i][column] = rows[i][column] + "\x00"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL).writerows([HEADER, *rows])
    result = open_reader(io.BytesIO(out.getvalue().encode()), format="police").read_all()
    assert len(result.incidents) + len(result.rejected) == len(rows)
    _no_nul_stored(result)
    holding = {i: [c for c in POLICE_STORED if "\x00" in rows[i][HEADER.index(c)]]
               for i in range(len(rows))}
    why = {r.line - 2: r for r in result.rejected}
    for i, columns in holding.items():
        if i in why and why[i].reason == "nul_character":
            assert why[i].detail.split(" holds a NUL")[0] in columns
        elif columns:
            assert i in why and why[i].reason == "bad_date", (i, columns, why.get(i))


@SETTINGS
@given(blob=st.binary(max_size=400), packer=st.sampled_from(["gzip", "zip", "bzip2", "xz"]))
def test_compressed_bodies_are_refused_naming_the_compression(blob: bytes, packer: str) -> None:
    if packer == "zip":
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as z:
            z.writestr("x.csv", blob)
        data = out.getvalue()
    else:
        data = {"gzip": gzip.compress, "bzip2": bz2.compress, "xz": lzma.compress}[packer](blob)
    assert sniff_format(data[:65536], "x") in ("police", "force", "geojson")
    for fmt in ("auto", "police", "geojson", "force"):
        with pytest.raises(InvalidFile, match=f"{packer}-compressed"):
            open_reader(io.BytesIO(data), format=fmt, name="x").read_all()


@SETTINGS
@given(blob=st.binary(max_size=600))
def test_binary_bodies_never_raise_anything_but_invalid_file(blob: bytes) -> None:
    assert sniff_format(blob, "upload") in ("police", "force", "geojson")
    for fmt in ("auto", "police", "geojson", "force"):
        result, message = _read(blob, fmt, "upload")
        if result is None:
            assert message
        else:
            assert len(result.incidents) + len(result.rejected) == result.stats.records
            _no_nul_stored(result)


plain = st.characters(codec="utf-8", exclude_categories=("Cs",))  # JSON has no lone surrogates
nested = st.recursive(st.one_of(st.integers(-(2**63) + 1, 2**63 - 1), st.text(plain, max_size=4),
                                st.none()),
                      lambda inner: st.one_of(st.lists(inner, max_size=2),
                                              st.dictionaries(st.text(plain, max_size=3), inner,
                                                              max_size=2)),
                      max_leaves=8)


def _depth(value) -> int:
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    return 0


@SETTINGS
@given(value=nested, wrap=st.integers(0, 150), bracket=st.sampled_from(["[]", "{}"]),
       layout=st.sampled_from(["collection", "lines", "records"]),
       location=st.text(alphabet='[]{}"\\x\x00', max_size=12))
def test_deep_nesting_is_refused_and_shallow_nesting_read(value, wrap, bracket, layout,
                                                           location) -> None:
    """A property nested ``wrap`` levels more: past 64 levels in all the file is refused (a
    newline-delimited line: that line rejected), never raised; within them it is read, brackets
    and quotes inside strings not counted, and a NUL in the location rejects the feature."""
    for _ in range(wrap):
        value = [value] if bracket == "[]" else {"k": value}
    props = {"occurred_at": "2024-03-05T22:10:00Z", "crime_type": "Burglary",
             "location": location, "x": value}
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-1.08, 53.96]},
               "properties": props}
    if layout == "collection":
        data, envelope = json.dumps({"type": "FeatureCollection", "features": [feature]}), 4
    elif layout == "lines":  # after a plain first line, which tells the layout
        plain = {**feature, "properties": {**props, "x": None, "location": ""}}
        data, envelope = json.dumps(plain) + "\n" + json.dumps(feature) + "\n", 2
    else:
        data, envelope = json.dumps([{"lon": -1.08, "lat": 53.96, **props}]), 2
    deep = envelope + _depth(value) > 64
    result, message = _read(data.encode(), "geojson")
    if result is None:
        assert deep and layout != "lines" and "nests more than 64 levels" in message
        return
    first = 1 if layout == "lines" else 0
    assert len(result.incidents) + len(result.rejected) == 1 + first
    if deep:
        assert layout == "lines" and "nests more than 64" in result.rejected[0].detail
    elif "\x00" in location:
        assert result.rejected[0].reason == "nul_character"
    else:
        assert len(result.incidents) == 1 + first
