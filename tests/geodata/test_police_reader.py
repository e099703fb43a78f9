"""The data.police.uk reader on real files as downloaded and on hostile input."""

from __future__ import annotations

import csv
import io
from collections import Counter

import numpy as np
import pytest

from bench._runner import PEAK_RSS
from geodata.coords import AreaCheck
from geodata.errors import InvalidFile
from geodata.layers import read_layer
from geodata.readers import ReadOptions, read_police_csv
from geodata.schema import Precision
from geodata.taxonomy import UnknownTypePolicy
from tests.conftest import (
    LAD,
    LINCOLNSHIRE,
    LINCOLNSHIRE_LADS,
    NORTH_YORKSHIRE,
    NORTH_YORKSHIRE_LADS,
)

pytestmark = pytest.mark.real_data

HEADER = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,"
          "LSOA name,Crime type,Last outcome category,Context\n")


def row(cid: str = "abc", month: str = "2024-03", lon: str = "-1.080480", lat: str = "53.959683",
        location: str = "On or near High Street", crime: str = "Burglary") -> str:
    return (f"{cid},{month},Test Police,Test Police,{lon},{lat},{location},E01012345,"
            f"York 001A,{crime},Under investigation,\n")


def read(text: str | bytes, **options: object):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return read_police_csv(io.BytesIO(data), name="t.csv",
                           options=ReadOptions(**options)).read_all()  # type: ignore[arg-type]


# --- real files ---------------------------------------------------------------------------------

def test_north_yorkshire_month_reads_as_documented():
    result = read_police_csv(NORTH_YORKSHIRE).read_all()
    assert result.stats.records == 5327
    assert len(result.incidents) == 5327 - 39
    # the 39 rows without coordinates are rejected with their own reason and their line
    assert Counter(r.reason for r in result.rejected) == {"missing_coordinates": 39}
    with NORTH_YORKSHIRE.open(newline="", encoding="utf-8-sig") as f:
        no_coords = [i + 2 for i, r in enumerate(csv.DictReader(f)) if not r["Longitude"]]
    assert sorted(r.line for r in result.rejected) == no_coords
    cols = result.incidents.columns
    assert (cols["precision"] == Precision.MONTH).all()
    assert set(cols["category"]) >= {"asb", "burglary", "shoplifting", "violence_sexual"}
    assert not (cols["category"] == "other").any()  # every data.police.uk type is in the taxonomy
    # every accepted row keeps a distinct id, ASB rows included
    assert len(set(cols["id"])) == len(result.incidents)
    assert (cols["x"] > 300_000).all() and (cols["x"] < 550_000).all()


def test_asb_rows_identical_in_every_column_are_all_kept_with_stable_ids():
    with NORTH_YORKSHIRE.open(newline="", encoding="utf-8-sig") as f:
        rows = [tuple(r) for r in csv.reader(f)][1:]
    asb = [r for r in rows if r[9] == "Anti-social behaviour" and r[4]]
    repeats = sum(c - 1 for c in Counter(asb).values() if c > 1)
    assert repeats > 100  # the real quirk: many ASB rows are identical to another row
    first = read_police_csv(NORTH_YORKSHIRE).read_all().incidents
    again = read_police_csv(NORTH_YORKSHIRE, options=ReadOptions(chunk_rows=700)).read_all().incidents
    derived = first.columns["category"] == "asb"
    assert derived.sum() == len(asb)
    assert len(set(first.columns["id"][derived])) == len(asb)
    # the same ids again on another read, whatever the chunking
    np.testing.assert_array_equal(first.columns["id"], again.columns["id"])


def test_lincolnshire_month_with_2021_lsoas_reads_whole():
    result = read_police_csv(LINCOLNSHIRE).read_all()
    assert len(result.incidents) == 5671 and result.rejected == []
    codes = result.incidents.columns["lsoa_code"]
    assert all(c.startswith("E01") for c in codes)


def test_area_check_with_the_real_force_boundary():
    boundary = read_layer("force_boundary", LAD, select=("LAD21CD", NORTH_YORKSHIRE_LADS))
    area = AreaCheck("EPSG:27700", boundary.frame.geometry.iloc[0], buffer_m=1000)
    result = read_police_csv(NORTH_YORKSHIRE, options=ReadOptions(area=area)).read_all()
    outside = [r for r in result.rejected if r.reason == "outside_force_area"]
    # the README of the data: all but 4 of the placed rows lie within about 1 km of the districts
    assert len(outside) == 4
    assert "1000 m" in outside[0].detail
    assert "force boundary" in result.stats.area_check
    # Lincolnshire's crimes lie outside North Yorkshire: every one is rejected, none lost
    other = read_police_csv(LINCOLNSHIRE, options=ReadOptions(area=area)).read_all()
    assert len(other.incidents) == 0 and len(other.rejected) == 5671
    lincs = read_layer("force_boundary", LAD, select=("LAD21CD", LINCOLNSHIRE_LADS))
    ok = read_police_csv(LINCOLNSHIRE, options=ReadOptions(
        area=AreaCheck("EPSG:27700", lincs.frame.geometry.iloc[0], 2000))).read_all()
    assert len(ok.incidents) == 5671


def test_without_a_boundary_the_report_says_no_area_check_was_made():
    result = read(HEADER + row())
    assert "no force-area check was made" in result.stats.area_check


# --- hostile input ------------------------------------------------------------------------------

def test_empty_file_is_a_clear_error():
    with pytest.raises(InvalidFile, match="empty"):
        read(b"")
    with pytest.raises(InvalidFile, match="empty"):
        read(b"\n\n  \n")


def test_wrong_header_names_what_is_missing():
    with pytest.raises(InvalidFile, match="lacks Longitude, Latitude") as e:
        read("Crime ID,Month,Crime type,Outcome\nx,2024-03,Burglary,\n")
    assert "Crime ID,Month,Crime type,Outcome" in str(e.value)


def test_byte_order_mark_and_crlf_line_ends():
    result = read(b"\xef\xbb\xbf" + (HEADER + row("a") + row("b")).replace("\n", "\r\n").encode())
    assert len(result.incidents) == 2 and result.rejected == []
    assert list(result.incidents.line) == [2, 3]


def test_quoted_commas_and_quoted_line_breaks_keep_line_numbers():
    text = HEADER + row("a", location='"On or near Fish, Chip and Kebab Shop"') + \
        row("b", location='"On or near\nNowhere"') + row("c", month="20x4") + row("d")
    result = read(text)
    assert list(result.incidents.columns["location_text"][:2]) == [
        "On or near Fish, Chip and Kebab Shop", "On or near\nNowhere"]
    assert list(result.incidents.line) == [2, 3, 6]
    assert [(r.line, r.reason) for r in result.rejected] == [(5, "bad_date")]


def test_latin1_bytes_are_read_and_counted():
    text = (HEADER + row(location="On or near Café Street")).encode("latin-1")
    reader = read_police_csv(io.BytesIO(text))
    result = reader.read_all()
    assert result.incidents.columns["location_text"][0] == "On or near Café Street"
    assert result.stats.encoding_fallback_bytes == 1


@pytest.mark.parametrize(
    ("lon", "lat", "reason"),
    [
        ("", "", "missing_coordinates"),
        ("-1.08", "", "missing_coordinates"),
        ("abc", "53.9", "non_numeric_coordinates"),
        ("nan", "53.9", "invalid_coordinates"),
        ("NaN", "NaN", "invalid_coordinates"),
        ("inf", "53.9", "invalid_coordinates"),
        ("0", "0", "unplaced_zero_coordinates"),
        ("0.000000", "0.000000", "unplaced_zero_coordinates"),
        ("-1.08", "95", "out_of_range_coordinates"),
        ("200", "53.9", "out_of_range_coordinates"),
        ("-74.0", "40.7", "outside_crs_area"),
    ],
)
def test_bad_coordinates_are_rejected_with_a_reason(lon: str, lat: str, reason: str):
    result = read(HEADER + row("ok") + row("bad", lon=lon, lat=lat))
    assert len(result.incidents) == 1
    assert [(r.line, r.reason) for r in result.rejected] == [(3, reason)]


def test_wrong_field_counts_and_malformed_rows_never_abort_the_load():
    text = HEADER + row("a") + "just,three,fields\n" + row("b") + \
        row("c").rstrip("\n") + ",extra\n" + row("d")
    result = read(text)
    assert list(result.incidents.columns["id"]) == ["a", "b", "d"]
    assert [(r.line, r.reason) for r in result.rejected] == [
        (3, "wrong_field_count"), (5, "wrong_field_count")]
    assert "3 fields where the header has 12" in result.rejected[0].detail


def test_unknown_types_map_to_other_or_are_rejected_when_strict():
    text = HEADER + row("a", crime="Burglary") + row("b", crime="Wombat theft") + \
        row("c", crime="")
    lax = read(text)
    assert list(lax.incidents.columns["category"]) == ["burglary", "other"]
    assert lax.stats.unknown_types == {"Wombat theft": 1}
    assert [(r.line, r.reason) for r in lax.rejected] == [(4, "missing_crime_type")]
    strict = read(text, unknown_types=UnknownTypePolicy.REJECT)
    assert list(strict.incidents.columns["id"]) == ["a"]
    assert [(r.line, r.reason) for r in strict.rejected] == [
        (3, "unknown_crime_type"), (4, "missing_crime_type")]


def test_bad_months_are_rejected_not_guessed():
    text = HEADER + row("a", month="2024-13") + row("b", month="March 2024") + \
        row("c", month="") + row("d", month="2024-03")
    result = read(text)
    assert list(result.incidents.columns["id"]) == ["d"]
    assert {r.reason for r in result.rejected} == {"bad_date"}


def test_month_precision_is_explicit_and_starts_at_local_midnight():
    result = read(HEADER + row("a", month="2024-07"))
    cols = result.incidents.columns
    assert cols["precision"][0] == Precision.MONTH
    # 1 July 2024 00:00 in London is 30 June 23:00 UTC (summer time)
    assert cols["occurred_at"][0] == 1719788400


def test_shared_map_points_are_all_kept():
    text = HEADER + "".join(row(f"id{i}") for i in range(57))
    result = read(text)
    assert len(result.incidents) == 57
    assert len(set(zip(result.incidents.columns["x"], result.incidents.columns["y"], strict=True))) == 1


def test_an_over_long_line_is_rejected_without_being_read(write):
    long_line = "x" * (2 << 20) + "\n"
    path = write("long.csv", HEADER + row("a") + long_line + row("b"))
    result = read_police_csv(path).read_all()
    assert list(result.incidents.columns["id"]) == ["a", "b"]
    assert [(r.line, r.reason) for r in result.rejected] == [(3, "malformed_row")]
    assert "longer than" in result.rejected[0].detail


def test_nul_bytes_and_unterminated_quotes(write):
    path = write("nul.csv", HEADER.encode() + row("a").encode() + b"\x00\x00\x00\n" +
                 row("b").encode() + b'"open quote, never closed\n')
    result = read_police_csv(path).read_all()
    assert list(result.incidents.columns["id"]) == ["a", "b"]
    assert len(result.rejected) == 2
    assert all(r.line in (3, 5) for r in result.rejected)


def test_junk_without_a_header_fails_fast(write):
    rng = np.random.default_rng(1)
    path = write("junk.csv", rng.integers(0, 256, 5_000_000, dtype=np.uint8).tobytes())
    with pytest.raises(InvalidFile):
        read_police_csv(path).read_all()


@pytest.mark.slow
def test_a_hundred_megabytes_of_junk_after_a_header_streams_in_bounded_memory(tmp_path):
    import json
    import subprocess
    import sys
    import textwrap

    from tests.conftest import ROOT

    rng = np.random.default_rng(2)
    path = tmp_path / "junk.csv"
    with path.open("wb") as f:
        f.write(HEADER.encode())
        for _ in range(100):
            block = rng.integers(0, 256, 1 << 20, dtype=np.uint8)
            block[rng.integers(0, 1 << 20, 4000)] = ord("\n")  # about 250-byte lines
            f.write(block.tobytes())
    script = PEAK_RSS + textwrap.dedent(f"""
        import json, sys
        sys.path.insert(0, {str(ROOT)!r})
        from geodata.ingest import ingest
        from geodata.readers import read_police_csv
        from geodata.stores import SQLiteStore
        reader = read_police_csv({str(path)!r})
        report = ingest(SQLiteStore.open({str(tmp_path / "s.sqlite")!r}), reader)
        print(json.dumps({{"counts": report.to_dict()["counts"],
                          "blank": reader.stats.blank_lines,
                          "detail": len(report.rejected_rows),
                          "rss_mb": peak_mb()}}))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=600, check=True)
    out = json.loads(proc.stdout)
    counts = out["counts"]
    assert counts["records"] > 100_000
    # never silently dropped: every record is accepted or rejected
    assert counts["accepted"] + counts["duplicates"] + counts["rejected"] == counts["records"]
    assert counts["rejected"] > 0.99 * counts["records"]
    assert out["detail"] == 10_000  # details capped, counts complete
    assert out["rss_mb"] < 700, out


@pytest.mark.parametrize("block_chars", [64, 200, 1 << 22])
def test_a_bad_line_before_the_first_quote_is_still_reported(monkeypatch, block_chars: int):
    # with small blocks, a block with only a bad line is read line by line before a later
    # block's quote hands the rest to the csv module
    import geodata.readers._text as text_module

    monkeypatch.setattr(text_module, "_BLOCK_CHARS", block_chars)
    text = HEADER + "short,line\n" + row("b", location='"On or near ""Quoted"" St"') + row("a")
    result = read(text)
    assert list(result.incidents.columns["id"]) == ["b", "a"]
    assert result.incidents.columns["location_text"][0] == 'On or near "Quoted" St'
    assert [(r.line, r.reason) for r in result.rejected] == [(2, "wrong_field_count")]


def test_the_area_check_leaves_its_boundary_alone_and_travels_to_workers() -> None:
    # it tests points against a prepared copy of its own (GEOS prepared geometries are not
    # thread-safe), so the caller's boundary is never prepared in place, and the check can
    # be pickled (a job's read options go to another process)
    import pickle

    import shapely

    boundary = shapely.buffer(shapely.Point(450_000.0, 450_000.0), 5_000.0)
    for buffer_m in (0.0, 1_000.0):
        check = AreaCheck("EPSG:27700", boundary, buffer_m=buffer_m)
        x = np.array([450_000.0, 455_500.0, 470_000.0])
        y = np.full(3, 450_000.0)
        want = [True, buffer_m > 0, False]
        assert check.in_force_area(x, y).tolist() == want
        assert not shapely.is_prepared(boundary)
        again = pickle.loads(pickle.dumps(check))
        assert again.in_force_area(x, y).tolist() == want
