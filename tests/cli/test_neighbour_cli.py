"""``hotspot ingest --neighbour``: a neighbouring force's files as a real user loads them."""

from __future__ import annotations

import json
from pathlib import Path

from geodata.stores import SQLiteStore
from tests.cli.test_cli import run
from tests.geodata.test_neighbour_store import FORCE_ROWS, HEADER, NEIGHBOUR_ROWS


def test_ingest_a_neighbours_files(tmp_path: Path) -> None:
    force = tmp_path / "force-street.csv"
    force.write_text(HEADER + "".join(FORCE_ROWS))
    theirs = tmp_path / "westmarch-street.csv"
    theirs.write_text(HEADER + "".join(NEIGHBOUR_ROWS))
    run(tmp_path, "ingest", str(force))
    shown = run(tmp_path, "ingest", "--neighbour", "Westmarch Police", str(theirs)).stdout
    assert ("6 rows of Westmarch Police: 3 accepted as the neighbour's, 2 not stored (the "
            "force's own incidents hold them), 1 already stored or repeated, 0 rejected") in shown
    again = json.loads(run(tmp_path, "ingest", "--neighbour", "Westmarch Police", str(theirs),
                           "--json").stdout)
    assert again["files"][0]["counts"] == {"records": 6, "accepted": 0,
                                           "duplicates_of_force": 2, "repeated": 4,
                                           "rejected": 0}
    refused = run(tmp_path, "ingest", "--neighbour", "force", str(theirs), ok=False)
    assert refused.returncode == 1 and "neighbouring force's name" in refused.stderr
    store = SQLiteStore.open(tmp_path / "data" / "hotspot.sqlite")
    try:
        assert store.count() == 5  # the force's own, untouched
        assert store.neighbour_sources()[0]["incidents"] == 3
        audited = store.audit_log()
        assert audited[0]["filter"]["neighbour"] == "Westmarch Police"
    finally:
        store.close()
