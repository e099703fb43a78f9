"""The data.police.uk outcomes reader: the real layout, what it keeps and rejects, and a
property test that every record is either in the frame or rejected, none lost."""

from __future__ import annotations

import csv
import io
import math
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geodata.errors import InvalidFile
from geodata.readers.outcomes import (
    FRAME_COLUMNS,
    OUTCOMES_COLUMNS,
    looks_like_outcomes_header,
    read_outcomes,
)
from geodata.readers.police import POLICE_COLUMNS
from geodata.readers.stop_search import STOP_SEARCH_COLUMNS

SETTINGS = settings(max_examples=int(os.environ.get("HOTSPOT_PROPERTY_EXAMPLES", "60")),
                    deadline=None, derandomize="HOTSPOT_PROPERTY_EXAMPLES" not in os.environ,
                    database=None, suppress_health_check=list(HealthCheck))
HEADER = ",".join(OUTCOMES_COLUMNS) + "\n"
NYP = "North Yorkshire Police"


def row(cid: str = "a1b2", month: str = "2024-03", lon: str = "-1.080480",
        lat: str = "53.959683", outcome: str = "Investigation complete; no suspect identified") -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(
        [cid, month, NYP, NYP, lon, lat, "On or near High Street", "E01012345", "York 001A",
         outcome])
    return out.getvalue()


def read(text: str | bytes):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return read_outcomes(io.BytesIO(data), name="2024-03-north-yorkshire-outcomes.csv")


def test_rows_keep_crime_id_month_outcome_and_coordinates_in_file_order():
    result = read(HEADER + row("c1") + row("c2", month="2024-02", outcome="Local resolution")
                  + row("c1", outcome="Offender fined"))
    frame = result.frame
    assert list(frame.columns) == list(FRAME_COLUMNS)
    assert frame["crime_id"].tolist() == ["c1", "c2", "c1"]  # a recurring Crime ID is kept
    assert frame["month"].tolist() == ["2024-03", "2024-02", "2024-03"]
    assert frame["outcome"].tolist()[2] == "Offender fined"
    assert frame["lon"].dtype == np.float64 and frame["lon"].iloc[0] == pytest.approx(-1.08048)
    assert frame["lat"].iloc[0] == pytest.approx(53.959683)
    assert result.rejected == []
    stats = result.stats.to_dict()
    assert stats["records"] == 3 and stats["accepted"] == 3 and stats["rejected"] == 0
    assert stats["months"] == {"2024-02": 1, "2024-03": 2}
    assert stats["source"] == "2024-03-north-yorkshire-outcomes.csv"


def test_unusable_coordinates_are_nan_and_the_row_is_kept():
    result = read(HEADER + row("a", lon="", lat="") + row("b", lon="0", lat="0")
                  + row("c", lon="x", lat="53.9") + row("d", lon="-1.0", lat="95"))
    assert result.frame["crime_id"].tolist() == ["a", "b", "c", "d"]
    assert result.frame["lon"].isna().all() and result.frame["lat"].isna().all()
    assert result.stats.unlocated == 4


def test_rows_that_cannot_be_joined_or_dated_are_rejected_with_their_line():
    result = read(HEADER + row("") + row("ok") + row("m", month="2024-3")
                  + row("o", outcome=" ") + row("n", month="March"))
    assert result.frame["crime_id"].tolist() == ["ok"]
    assert [(r.line, r.reason) for r in result.rejected] == [
        (2, "missing_crime_id"), (4, "bad_date"), (5, "missing_outcome"), (6, "bad_date")]
    assert "'2024-3'" in result.rejected[1].detail


def test_header_checks():
    assert looks_like_outcomes_header(list(OUTCOMES_COLUMNS))
    assert not looks_like_outcomes_header(list(POLICE_COLUMNS))  # a street-level file
    assert not looks_like_outcomes_header(list(STOP_SEARCH_COLUMNS))
    with pytest.raises(InvalidFile, match="lacks Outcome type"):
        read("Crime ID,Month,Longitude,Latitude\na,2024-03,1,1\n")
    with pytest.raises(InvalidFile, match="street-level"):
        read(",".join(POLICE_COLUMNS) + "\n")
    with pytest.raises(InvalidFile, match="empty"):
        read("")


def test_bom_crlf_and_a_ragged_row():
    data = ("\ufeff" + HEADER + row("a") + "b,2024-03,short\n" + row("c")).replace("\n", "\r\n")
    result = read(data.encode("utf-8"))
    assert result.frame["crime_id"].tolist() == ["a", "c"]
    assert [(r.line, r.reason) for r in result.rejected] == [(3, "wrong_field_count")]


def test_a_nul_in_the_crime_id_rejects_that_row_only():
    result = read(HEADER + row("a\x00b") + row("c"))
    assert result.frame["crime_id"].tolist() == ["c"]
    assert result.rejected[0].reason == "nul_character"


def test_an_empty_body_gives_an_empty_frame_with_the_columns():
    result = read(HEADER)
    assert list(result.frame.columns) == list(FRAME_COLUMNS) and len(result.frame) == 0


text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
field_row = st.tuples(
    st.one_of(st.just(""), st.text("0123456789abcdef", min_size=1, max_size=64)),
    st.one_of(st.sampled_from(["2024-01", "2019-12", "2024-13", "", "24-01"]), text),
    st.one_of(st.floats(-2.6, -0.2).map(lambda v: f"{v:.6f}"), st.just(""), st.just("0"), text),
    st.one_of(st.floats(53.9, 54.6).map(lambda v: f"{v:.6f}"), st.just(""), st.just("0"), text),
    st.one_of(st.sampled_from(["Local resolution", "Unable to prosecute suspect", ""]), text),
)


@SETTINGS
@given(rows=st.lists(field_row, max_size=30), ragged=st.lists(st.integers(0, 29), max_size=3),
       quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
def test_outcome_rows_are_accepted_or_rejected_never_lost(rows, ragged, quoting) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n", quoting=quoting)
    writer.writerow(OUTCOMES_COLUMNS)
    expected = 0
    for i, (cid, month, lon, lat, outcome) in enumerate(rows):
        fields = [cid, month, NYP, NYP, lon, lat, "On or near X", "E01", "York 001A", outcome]
        if quoting == csv.QUOTE_MINIMAL:
            fields = [f.replace("\r", " ") for f in fields]
        if i in ragged:
            fields = fields[:4]
        if not any(f.strip() for f in fields):
            continue
        writer.writerow(fields)
        expected += 1
    result = read(out.getvalue())
    assert len(result.frame) + len(result.rejected) == expected == result.stats.records
    assert len({r.line for r in result.rejected}) == len(result.rejected)
    frame = result.frame
    assert (frame["crime_id"].str.strip() != "").all() and (frame["outcome"] != "").all()
    assert frame["month"].str.fullmatch(r"\d{4}-\d{2}").all()
    for lon, lat in zip(frame["lon"], frame["lat"], strict=True):
        assert math.isnan(lon) == math.isnan(lat)
        assert math.isnan(lon) or (abs(lon) <= 180 and abs(lat) <= 90 and (lon, lat) != (0, 0))


@SETTINGS
@given(blob=st.binary(max_size=400))
def test_garbage_is_a_clear_invalid_file_or_counted_rows(blob: bytes) -> None:
    message = ""
    try:
        result = read(blob)
    except InvalidFile as exc:
        message, result = str(exc), None
    if result is None:
        assert message  # a message, not a traceback
    else:
        assert len(result.frame) + len(result.rejected) == result.stats.records


def test_a_file_of_junk_keeps_few_rejects_and_stops_at_the_row_limit(tmp_path) -> None:
    """A reader that holds the file in memory keeps only the rejects a report lists (each is
    still counted and passed on), and stops reading past ``max_rows``."""
    from geodata.errors import TooManyRecords
    from geodata.readers.outcomes import OUTCOMES_COLUMNS, read_outcomes

    path = tmp_path / "2024-01-x-outcomes.csv"
    path.write_text(",".join(OUTCOMES_COLUMNS) + "\n" + "a\n" * 5000)
    seen: list[int] = []
    read = read_outcomes(path, keep_rejected=7, on_rejected=lambda r: seen.append(r.line))
    assert len(read.rejected) == 7 and [r.line for r in read.rejected] == list(range(2, 9))
    assert sum(read.rejected_by_reason.values()) == 5000 == len(seen) and read.passed_on
    with pytest.raises(TooManyRecords, match="more than 1,000 records"):
        read_outcomes(path, max_rows=1000)
