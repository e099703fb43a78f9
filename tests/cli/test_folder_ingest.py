"""``hotspot ingest FOLDER``: a downloaded folder of data.police.uk monthly files (street,
outcomes, stop and search) loaded in one command with one report (a real process, real
files)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_cli import run

STREET = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,"
          "LSOA name,Crime type,Last outcome category,Context\n")
OUTCOMES = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,"
            "LSOA name,Outcome type\n")
STOP_SEARCH = ("Type,Date,Part of a policing operation,Policing operation,Latitude,Longitude,"
               "Gender,Age range,Self-defined ethnicity,Officer-defined ethnicity,Legislation,"
               "Object of search,Outcome,Outcome linked to object of search,"
               "Removal of more than just outer clothing\n")
IDS = [f"{i:064x}" for i in range(1, 5)]


def _street_row(cid: str, i: int) -> str:
    return (f"{cid},2024-03,Eastshire Police,Eastshire Police,{-1.08 + i * 1e-3},53.96,"
            f"On or near High Street,E01000001,York 001A,Burglary,Under investigation,\n")


def _outcome_row(cid: str, month: str, outcome: str) -> str:
    return (f"{cid},{month},Eastshire Police,Eastshire Police,-1.08,53.96,On or near High "
            f"Street,E01000001,York 001A,{outcome}\n")


def _search_row(date: str, lat: str = "53.96", lon: str = "-1.08",
                obj: str = "Controlled drugs", outcome: str = "Arrest") -> str:
    return (f"Person search,{date},False,,{lat},{lon},Male,18-24,Other ethnic group - Not "
            f"stated,White,Misuse of Drugs Act 1971 (section 23),{obj},{outcome},True,False\n")


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "download"
    for month in ("2024-03", "2024-04"):
        (folder / month).mkdir(parents=True)
    (folder / "2024-03" / "2024-03-eastshire-street.csv").write_text(
        STREET + "".join(_street_row(c, i) for i, c in enumerate(IDS)))
    # outcomes: the April file is loaded after March's (name order), after the street file
    (folder / "2024-03" / "2024-03-eastshire-outcomes.csv").write_text(
        OUTCOMES + _outcome_row(IDS[0], "2024-03", "Awaiting court outcome")
        + _outcome_row(IDS[1], "2024-03", "Investigation complete; no suspect identified"))
    (folder / "2024-04" / "2024-04-eastshire-outcomes.csv").write_text(
        OUTCOMES + _outcome_row(IDS[0], "2024-04", "Offender sent to prison")
        + _outcome_row("f" * 64, "2024-04", "Offender fined")  # a crime not stored
        + _outcome_row("", "2024-04", "Offender fined"))  # no Crime ID: rejected
    (folder / "2024-03" / "2024-03-eastshire-stop-and-search.csv").write_text(
        STOP_SEARCH + _search_row("2024-03-01T09:15:00+00:00")
        + _search_row("2024-03-02T22:40:00+00:00", lat="", lon="", obj="Offensive weapons",
                      outcome="A no further action disposal")
        + _search_row("not a date"))
    return folder


def test_a_folder_of_monthly_files_loads_in_one_command(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    proc = run(tmp_path, "ingest", str(folder), "--json")
    doc = json.loads(proc.stdout)
    kinds = [(Path(f["source"]).name, f["kind"]) for f in doc["files"]]
    assert kinds == [("2024-03-eastshire-street.csv", "incidents"),
                     ("2024-03-eastshire-outcomes.csv", "outcomes"),
                     ("2024-04-eastshire-outcomes.csv", "outcomes"),
                     ("2024-03-eastshire-stop-and-search.csv", "stop-search")]
    summary = doc["summary"]
    assert summary["files"] == 4 and summary["not_loaded"] == []
    assert summary["incidents"] == {"files": 1, "records": 4, "accepted": 4, "duplicates": 0,
                                    "rejected": 0}
    assert summary["outcomes"] == {"files": 2, "records": 5, "rejected": 1, "matched": 3,
                                   "updated": 3, "unchanged": 0, "unmatched": 1,
                                   "superseded": 0}
    assert summary["stop_searches"] == {"files": 1, "records": 3, "accepted": 2,
                                        "repeated": 0, "rejected": 1}
    assert doc["files"][2]["rejected_by_reason"] == {"missing_crime_id": 1}
    info = json.loads(run(tmp_path, "info", "--json").stdout)
    assert info["store"]["incidents"] == 4  # outcomes added no incident
    assert summary["data_version"] == info["store"]["data_version"]

    # the same folder again changes nothing, and says so
    again = json.loads(run(tmp_path, "ingest", str(folder), "--json").stdout)["summary"]
    assert again["incidents"]["accepted"] == 0 and again["incidents"]["duplicates"] == 4
    assert again["outcomes"]["updated"] == 0 and again["outcomes"]["unchanged"] == 3
    assert again["stop_searches"]["accepted"] == 0 and again["stop_searches"]["repeated"] == 2
    assert again["data_version"] == summary["data_version"]


def test_the_text_report_ends_with_the_whole_load(tmp_path: Path) -> None:
    proc = run(tmp_path, "ingest", str(_folder(tmp_path)))
    text = proc.stdout
    assert "1 crimes found (1 outcomes updated, 0 unchanged), 1 crimes not stored" in text
    assert "3 stop and search records: 2 stored, 0 already stored, 1 rejected" in text
    assert "All 4 files (0 not loaded):" in text
    assert "outcomes: 2 files, 5 rows, 3 outcomes updated" in text


def test_outcomes_for_crimes_not_yet_loaded_update_nothing(tmp_path: Path) -> None:
    """An outcomes file alone (its crimes not stored) adds no incident; named with --format
    too."""
    path = tmp_path / "outcomes.txt"
    path.write_text(OUTCOMES + _outcome_row(IDS[0], "2024-03", "Offender fined"))
    doc = json.loads(run(tmp_path, "ingest", str(path), "--format", "outcomes",
                         "--json").stdout)
    assert doc["files"][0]["counts"]["unmatched"] == 1
    info = json.loads(run(tmp_path, "info", "--json").stdout)
    assert info["store"]["incidents"] == 0


def test_a_folder_with_no_monthly_files_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = run(tmp_path, "ingest", str(empty), ok=False)
    assert proc.returncode != 0
    assert "stop-and-search" in proc.stdout + proc.stderr


def test_an_unknown_format_is_refused(tmp_path: Path) -> None:
    proc = run(tmp_path, "ingest", str(tmp_path), "--format", "shapefile", ok=False)
    assert proc.returncode == 2
    assert "--format must be one of" in proc.stdout + proc.stderr


def test_every_reader_format_is_a_format_the_command_takes() -> None:
    from api.cli.ingest import _FORMATS
    from geodata.readers import FORMATS

    assert set(FORMATS) <= set(_FORMATS)
    assert {"outcomes", "stop-search"} <= set(_FORMATS)
