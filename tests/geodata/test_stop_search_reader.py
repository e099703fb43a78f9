"""The data.police.uk stop and search reader: the real layout, searches without a location,
yes/no columns, the force-area check, and a property test that every record is either in the
frame or rejected, none lost."""

from __future__ import annotations

import csv
import io
import json
import math
import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import box

from geodata.coords import AreaCheck
from geodata.errors import InvalidFile
from geodata.readers import ReadOptions
from geodata.readers.outcomes import OUTCOMES_COLUMNS
from geodata.readers.police import POLICE_COLUMNS
from geodata.readers.stop_search import (
    FRAME_COLUMNS,
    STOP_SEARCH_COLUMNS,
    looks_like_stop_search_header,
    read_stop_search,
)

SETTINGS = settings(max_examples=int(os.environ.get("HOTSPOT_PROPERTY_EXAMPLES", "60")),
                    deadline=None, derandomize="HOTSPOT_PROPERTY_EXAMPLES" not in os.environ,
                    database=None, suppress_health_check=list(HealthCheck))
HEADER = ",".join(STOP_SEARCH_COLUMNS) + "\n"


def row(date: str = "2024-03-01T09:15:00+00:00", lat: str = "53.959683", lon: str = "-1.080480",
        part: str = "False", op: str = "", obj: str = "Controlled drugs",
        outcome: str = "A no further action disposal", linked: str = "False",
        removal: str = "False", kind: str = "Person search") -> list[str]:
    return [kind, date, part, op, lat, lon, "Male", "18-24",
            "White - English/Welsh/Scottish/Northern Irish/British", "White",
            "Misuse of Drugs Act 1971 (section 23)", obj, outcome, linked, removal]


def text_of(*rows: list[str], header: tuple[str, ...] = STOP_SEARCH_COLUMNS) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([list(header), *rows])
    return out.getvalue()


def read(text: str | bytes, options: ReadOptions | None = None):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return read_stop_search(io.BytesIO(data), options or ReadOptions(),
                            name="2024-03-north-yorkshire-stop-and-search.csv")


def test_a_search_reads_with_time_place_and_every_column():
    result = read(text_of(row(), row(part="True", op="Operation Sceptre", linked="True",
                                     removal="", obj="Offensive weapons", outcome="Arrest")))
    frame = result.frame
    assert list(frame.columns) == list(FRAME_COLUMNS)
    assert frame["occurred_at"].dtype == np.int64
    assert frame["occurred_at"].iloc[0] == pd.Timestamp("2024-03-01T09:15:00Z").value // 10**9
    assert frame["lon"].iloc[0] == pytest.approx(-1.08048)
    # York in British National Grid metres (OS grid reference SE 604 519, within the few
    # metres the fallback transformation may be off)
    assert frame["x"].iloc[0] == pytest.approx(460431, abs=5)
    assert frame["y"].iloc[0] == pytest.approx(451902, abs=5)
    assert frame["part_of_operation"].tolist() == [False, True]
    assert frame["operation"].tolist() == ["", "Operation Sceptre"]
    assert frame["outcome_linked"].tolist() == [False, True]
    assert frame["removal_of_clothing"].tolist() == [False, None]
    assert frame["object_of_search"].tolist() == ["Controlled drugs", "Offensive weapons"]
    assert frame["self_defined_ethnicity"].iloc[0].startswith("White - English")
    assert result.rejected == [] and result.stats.to_dict()["months"] == {"2024-03": 2}


def test_searches_without_a_location_are_kept_without_one():
    result = read(text_of(row(lat="", lon=""), row(lat="0", lon="0"), row()))
    frame = result.frame
    assert len(frame) == 3 and result.rejected == []
    assert frame[["x", "y", "lon", "lat"]].iloc[:2].isna().all().all()
    assert frame[["x", "y", "lon", "lat"]].iloc[2].notna().all()
    assert result.stats.unlocated == 2


def test_bad_dates_and_bad_coordinates_are_rejected_with_their_line():
    result = read(text_of(row(date="2024-03-x"), row(lat="95"), row(lat="abc"), row(),
                          row(date="2024-03-01T10:15:00")))
    assert [(r.line, r.reason) for r in result.rejected] == [
        (2, "bad_date"), (3, "out_of_range_coordinates"), (4, "non_numeric_coordinates")]
    # without an offset, a date-time is local to the force: 10:15 BST... here GMT in March
    assert result.frame["occurred_at"].tolist()[1] == pd.Timestamp("2024-03-01T10:15Z").value // 10**9


def test_a_force_boundary_rejects_searches_far_outside_it():
    york = box(455000, 445000, 470000, 460000)  # British National Grid metres
    options = ReadOptions(area=AreaCheck("EPSG:27700", york, buffer_m=1000))
    result = read(text_of(row(), row(lat="53.2307", lon="-0.5406"), row(lat="", lon="")), options)
    assert len(result.frame) == 2
    assert [(r.line, r.reason) for r in result.rejected] == [(3, "outside_force_area")]
    assert "force boundary" in result.stats.area_check


def test_yes_no_values_that_are_neither_are_none_and_counted():
    result = read(text_of(row(part="maybe", linked="yes", removal="TRUE")))
    assert result.frame["part_of_operation"].tolist() == [None]
    assert result.frame["outcome_linked"].tolist() == [True]
    assert result.frame["removal_of_clothing"].tolist() == [True]
    assert result.stats.unreadable_flags == 1


def test_an_older_file_without_the_later_columns_reads():
    header = STOP_SEARCH_COLUMNS[:13]
    result = read(text_of(row()[:13], header=header))
    assert result.frame["outcome_linked"].tolist() == [None]
    assert result.frame["removal_of_clothing"].tolist() == [None]


def test_header_checks():
    assert looks_like_stop_search_header(list(STOP_SEARCH_COLUMNS))
    assert not looks_like_stop_search_header(list(POLICE_COLUMNS))
    assert not looks_like_stop_search_header(list(OUTCOMES_COLUMNS))
    with pytest.raises(InvalidFile, match="lacks Type, Date, Object of search"):
        read(",".join(POLICE_COLUMNS) + "\n")
    with pytest.raises(InvalidFile, match="empty"):
        read("")


def test_an_empty_body_gives_an_empty_frame_with_the_columns():
    result = read(HEADER)
    assert list(result.frame.columns) == list(FRAME_COLUMNS) and len(result.frame) == 0
    assert result.frame["occurred_at"].dtype == np.int64


def api_search(**extra: object) -> dict:
    """One search as the API's stops-street answer gives it."""
    return {"age_range": "18-24", "outcome": "A no further action disposal",
            "involved_person": True,
            "self_defined_ethnicity": "White - English/Welsh/Scottish/Northern Irish/British",
            "gender": "Male", "legislation": "Misuse of Drugs Act 1971 (section 23)",
            "outcome_linked_to_object_of_search": False, "datetime": "2024-03-01T09:15:00+00:00",
            "removal_of_more_than_outer_clothing": False,
            "outcome_object": {"id": "bu-no-further-action",
                               "name": "A no further action disposal"},
            "location": {"latitude": "53.959683", "street": {"id": 1, "name": "On or near X"},
                         "longitude": "-1.080480"},
            "operation": False, "officer_defined_ethnicity": "White", "type": "Person search",
            "operation_name": None, "object_of_search": "Controlled drugs", **extra}


def test_the_api_json_reads_as_the_csv_does():
    searches = [api_search(), api_search(location=None, operation=True,
                                         operation_name="Operation Sceptre"),
                api_search(outcome=False, outcome_object={"id": "bu-arrest", "name": "Arrest"}),
                api_search(datetime="yesterday"), "not a search"]
    result = read(json.dumps(searches))
    from_csv = read(text_of(row())).frame
    frame = result.frame
    assert len(frame) == 3
    assert [(r.line, r.reason) for r in result.rejected] == [(4, "bad_date"), (5, "malformed_row")]
    assert frame.iloc[0].to_dict() == from_csv.iloc[0].to_dict()
    assert frame["operation"].tolist()[1] == "Operation Sceptre"
    assert frame["part_of_operation"].tolist() == [False, True, False]
    assert math.isnan(frame["x"].iloc[1]) and result.stats.unlocated == 1
    assert frame["outcome"].tolist()[2] == "Arrest"
    with pytest.raises(InvalidFile, match="breaks off"):
        read(json.dumps(searches)[:-30])


@SETTINGS
@given(items=st.lists(st.one_of(
    st.builds(api_search, datetime=st.one_of(st.just("2024-03-01T09:15:00+00:00"), st.none(),
                                             st.text(max_size=8)),
              location=st.one_of(st.none(), st.text(max_size=4), st.fixed_dictionaries({
                  "latitude": st.one_of(st.just("53.96"), st.just("0"), st.text(max_size=5)),
                  "longitude": st.one_of(st.just("-1.08"), st.just("0"), st.none())})),
              operation=st.one_of(st.booleans(), st.none(), st.text(max_size=3))),
    st.none(), st.integers(-5, 5), st.text(max_size=5)), max_size=20))
def test_api_searches_are_accepted_or_rejected_never_lost(items) -> None:
    result = read(json.dumps(items))
    assert len(result.frame) + len(result.rejected) == len(items) == result.stats.records
    positions = sorted([r.line for r in result.rejected])
    assert len(set(positions)) == len(positions)


text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
search = st.tuples(
    st.one_of(st.sampled_from(["2024-03-01T09:15:00+00:00", "2024-03-31T23:59:59+01:00",
                               "2024-03-01", "", "2024-13-01T00:00:00+00:00"]), text),
    st.one_of(st.floats(53.9, 54.6).map(lambda v: f"{v:.6f}"), st.just(""), st.just("0"), text),
    st.one_of(st.floats(-2.6, -0.2).map(lambda v: f"{v:.6f}"), st.just(""), st.just("0"), text),
    st.one_of(st.sampled_from(["True", "False", ""]), text),
    st.one_of(st.sampled_from(["Controlled drugs", "Stolen goods", ""]), text),
)


@SETTINGS
@given(rows=st.lists(search, max_size=30), ragged=st.lists(st.integers(0, 29), max_size=3),
       quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
def test_searches_are_accepted_or_rejected_never_lost(rows, ragged, quoting) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n", quoting=quoting)
    writer.writerow(STOP_SEARCH_COLUMNS)
    expected = 0
    for i, (date, lat, lon, flag, obj) in enumerate(rows):
        fields = row(date=date, lat=lat, lon=lon, part=flag, linked=flag, obj=obj)
        if quoting == csv.QUOTE_MINIMAL:
            fields = [f.replace("\r", " ") for f in fields]
        if i in ragged:
            fields = fields[:5]
        writer.writerow(fields)
        expected += 1
    result = read(out.getvalue())
    frame = result.frame
    assert len(frame) + len(result.rejected) == expected == result.stats.records
    assert len({r.line for r in result.rejected}) == len(result.rejected)
    assert frame["occurred_at"].dtype == np.int64
    for col in ("part_of_operation", "outcome_linked", "removal_of_clothing"):
        assert all(v in (True, False, None) for v in frame[col])
    for x, lon in zip(frame["x"], frame["lon"], strict=True):
        assert math.isnan(x) == math.isnan(lon)
        assert math.isnan(x) or 0 < x < 700_000


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
    from geodata.errors import TooManyRecords
    from geodata.readers.stop_search import STOP_SEARCH_COLUMNS, read_stop_search

    path = tmp_path / "2024-01-x-stop-and-search.csv"
    path.write_text(",".join(STOP_SEARCH_COLUMNS) + "\n" + "a\n" * 5000)
    read = read_stop_search(path, keep_rejected=3)
    assert len(read.rejected) == 3 and sum(read.rejected_by_reason.values()) == 5000
    assert not read.passed_on
    with pytest.raises(TooManyRecords):
        read_stop_search(path, max_rows=10)
    json_path = tmp_path / "stops.json"
    json_path.write_text("[" + ",".join(["1"] * 3000) + "]")
    with pytest.raises(TooManyRecords):
        read_stop_search(json_path, max_rows=100)
