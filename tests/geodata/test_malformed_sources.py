"""Sources that are not what they claim: compressed or binary bytes, a header cut by a bare
carriage return, JSON nested past any use, TOML mappings nested or mistyped, NUL characters.
Each is refused with an :class:`InvalidFile`/:class:`InvalidMapping` naming the problem, or
read with the rows at fault rejected; never another exception."""

from __future__ import annotations

import bz2
import codecs
import functools
import gzip
import io
import json
import lzma
import zipfile

import pytest

from geodata.errors import InvalidFile, InvalidMapping
from geodata.readers import ForceExportMapping, open_reader, sniff_format
from geodata.readers._nesting import MAX_DEPTH, NestingMeter, nests_deeper_than
from tests.conftest import NORTH_YORKSHIRE

pytestmark = pytest.mark.real_data

@functools.cache
def police_head() -> bytes:
    """The first rows of a real data.police.uk file (read when a test needs it, not at import)."""
    return ("\n".join(NORTH_YORKSHIRE.read_text("utf-8").splitlines()[:6]) + "\n").encode()


def _zip(data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("month.csv", data)
    return out.getvalue()


@pytest.mark.parametrize(("pack", "kind"), [(gzip.compress, "gzip"), (_zip, "zip"),
                                            (bz2.compress, "bzip2"), (lzma.compress, "xz")])
@pytest.mark.parametrize("fmt", ["auto", "police", "force", "geojson"])
def test_a_compressed_file_is_refused_saying_so(pack, kind: str, fmt: str) -> None:
    data = pack(police_head())
    assert sniff_format(data[:65536], "upload") in ("police", "force", "geojson")
    with pytest.raises(InvalidFile, match=f"{kind}-compressed; decompress it"):
        open_reader(io.BytesIO(data), format=fmt, name="month.csv").read_all()


@pytest.mark.parametrize("head", [b"Crime ID\rX,Month\n1,2\n", b"a\rb\r\nc", b"\r\r\r",
                                  b"\x00\x01\x02\r\x03", b'"unclosed\r, x\n', b"\xff\xfe\r"])
def test_sniffing_never_raises(head: bytes) -> None:
    assert sniff_format(head, "upload") in ("police", "force")


def test_a_header_cut_by_a_bare_carriage_return_is_an_invalid_file() -> None:
    with pytest.raises(InvalidFile, match=r"not a data\.police\.uk file"):
        open_reader(io.BytesIO(b"Crime ID\rX,Month\n1,2\n"), name="upload").read_all()
    with pytest.raises(InvalidFile, match="lacks Month"):
        open_reader(io.BytesIO(b"Crime ID\rX,Month\n1,2\n"), format="police").read_all()


def test_a_bare_carriage_return_ends_a_police_row() -> None:
    lines = police_head().decode().split("\n")
    data = ("\n".join(lines[:2]) + "\r" + "\n".join(lines[2:])).encode()
    result = open_reader(io.BytesIO(data), format="police", name="p.csv").read_all()
    assert len(result.incidents) + len(result.rejected) == result.stats.records == 5


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 5_000, 100_000])
@pytest.mark.parametrize("shape", [
    '{{"type": "FeatureCollection",\n"features": [{}]}}',
    '{{"type": "FeatureCollection", "features": [{{"type": "Feature", "geometry": '
    '{{"type": "Point", "coordinates": [-1.08, 53.96]}}, "properties": {{"x": {}}}}}]}}',
    '[{{"lon": -1.08, "lat": 53.96, "occurred_at": "2024-03-01", "crime_type": "Burglary",\n'
    '"x": {}}}]',
    '{{"incidents": [{}]}}',
    '{}',
])
@pytest.mark.parametrize("bracket", ["[]", "{}"])
def test_json_nested_too_deep_is_an_invalid_file(depth: int, shape: str, bracket: str) -> None:
    opening, closing = bracket
    inner = opening * depth + closing * depth if opening == "[" else (
        '{"a": ' * depth + "1" + "}" * depth)
    data = shape.format(inner).encode()
    with pytest.raises(InvalidFile, match=f"nests more than {MAX_DEPTH} levels"):
        open_reader(io.BytesIO(data), format="geojson", name="x.geojson").read_all()


def test_json_nested_within_the_limit_and_brackets_in_strings_are_read() -> None:
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-1.08, 53.96]},
               "properties": {"occurred_at": "2024-03-05T22:10:00Z", "crime_type": "Burglary",
                              "location": 'On "[[[[" \\" {{{{ \\\\' + "[" * 200,
                              "x": json.loads("[" * 50 + "]" * 50)}}
    data = json.dumps({"type": "FeatureCollection", "features": [feature] * 3}).encode()
    result = open_reader(io.BytesIO(data), format="geojson", name="x.geojson").read_all()
    assert len(result.incidents) == 3 and not result.rejected


def test_a_line_of_newline_delimited_geojson_nested_too_deep_is_rejected_alone() -> None:
    good = json.dumps({"type": "Feature",
                       "geometry": {"type": "Point", "coordinates": [-1.08, 53.96]},
                       "properties": {"occurred_at": "2024-03-05T22:10:00Z",
                                      "crime_type": "Burglary"}}).encode()
    deep = b'{"type": "Feature", "geometry": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    data = b"\n".join([good, deep, good, b"[" * 5_000]) + b"\n"
    result = open_reader(io.BytesIO(data), format="geojson", name="f.ndjson").read_all()
    assert len(result.incidents) == 2
    assert [(r.line, r.reason) for r in result.rejected] == [(2, "malformed_row"),
                                                              (4, "malformed_row")]
    assert f"nests more than {MAX_DEPTH} levels" in result.rejected[0].detail


def test_the_nesting_meter_follows_strings_and_escapes_across_pieces() -> None:
    text = b'{"a": "\\\\", "b": "x\\"[[[", "c": [[1]], "d": "\\u005b"}'
    for cut in range(len(text) + 1):
        meter = NestingMeter(limit=3)
        assert not meter.feed(text[:cut]) and not meter.feed(text[cut:])
        assert meter.depth == 0, cut
    meter = NestingMeter(limit=3)
    assert meter.feed(b'{"a": [[[') and meter.depth == 4
    assert nests_deeper_than(b"[" * (MAX_DEPTH + 1))
    assert not nests_deeper_than(b'["' + b"[" * 1000 + b'"]')


@pytest.mark.parametrize(("text", "match"), [
    ("[columns]\nx = " + "{a = " * 2000 + "1" + "}" * 2000 + "\n", "nests arrays or tables"),
    ("[columns]\nx = " + "[" * 2000 + "]" * 2000 + "\n", "nests arrays or tables"),
    ("[columns]\nx = 5\ny = 'N'\n", "'x' in \\[columns\\] must be text, not int 5"),
    ("[columns]\nx = ['E']\ny = 'N'\n", "'x' in \\[columns\\] must be text, not an array"),
    ("[format]\ndayfirst = 'yes'\n", "'dayfirst' in \\[format\\] must be true or false"),
])
def test_a_nested_or_mistyped_mapping_is_an_invalid_mapping(text: str, match: str) -> None:
    with pytest.raises(InvalidMapping, match=match):
        ForceExportMapping.from_toml_text(text)


def test_a_nul_rejects_its_row_naming_the_field_in_every_reader() -> None:
    lines = police_head().decode().split("\n")
    lines[2] = lines[2].replace("On or near", "On or near\x00")
    lines[4] = lines[4].replace("E0", "E\x000", 1)
    result = open_reader(io.BytesIO("\n".join(lines).encode()), name="p.csv").read_all()
    assert len(result.incidents) == 3
    assert [(r.line, r.reason, r.detail.split(" holds")[0]) for r in result.rejected] == [
        (3, "nul_character", "Location"), (5, "nul_character", "LSOA code")]
    assert "U+0000" in result.rejected[0].detail

    export = ("incident_id,occurred_at,crime_type,easting,northing,location\n"
              "F1,2024-03-05 21:40,Burglary,497000,371000,Farm\n"
              "F2\x00,2024-03-05 21:40,Burglary,497000,371000,Farm\n"
              'F3,2024-03-05 21:40,Burglary,497000,371000,"Barn\x00"\n')
    result = open_reader(io.BytesIO(export.encode()), format="force").read_all()
    assert len(result.incidents) == 1
    assert [(r.line, r.detail.split(" holds")[0]) for r in result.rejected] == [
        (3, "incident_id"), (4, "location")]

    utf16 = codecs.BOM_UTF16_LE + export.replace("\x00", "").encode("utf-16-le")
    assert len(open_reader(io.BytesIO(utf16), format="force").read_all().incidents) == 3

    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-1.08, 53.96]},
               "properties": {"occurred_at": "2024-03-05T22:10:00Z", "crime_type": "Burglary"}}
    bad = json.loads(json.dumps(feature))
    bad["properties"]["crime_type"] = "Burg\x00lary"
    data = json.dumps({"type": "FeatureCollection", "features": [feature, bad]}).encode()
    result = open_reader(io.BytesIO(data), format="geojson").read_all()
    assert len(result.incidents) == 1
    assert [(r.line, r.reason) for r in result.rejected] == [(2, "nul_character")]
