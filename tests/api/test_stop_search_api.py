"""Outcomes and stop and search uploads (POST /v1/incidents) and GET /v1/stop-search through
the real app, on both stores: an outcomes file updates stored crimes and adds none; stop and
search records are for staff only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.access import new_key
from api.app import create_app
from tests.api.test_api import settings_for
from tests.cli.test_folder_ingest import (
    IDS,
    OUTCOMES,
    STOP_SEARCH,
    STREET,
    _outcome_row,
    _search_row,
    _street_row,
)
from tests.conftest import STORE_KINDS, make_store

STREET_FILE = STREET + "".join(_street_row(c, i) for i, c in enumerate(IDS))
OUTCOMES_FILE = (OUTCOMES + _outcome_row(IDS[0], "2024-04", "Offender sent to prison")
                 + _outcome_row(IDS[1], "2024-04", "Under investigation")  # as it was
                 + _outcome_row("e" * 64, "2024-04", "Offender fined"))
SEARCH_FILE = (STOP_SEARCH + _search_row("2024-03-01T09:15:00+00:00")
               + _search_row("2024-03-20T22:40:00+00:00", obj="Offensive weapons",
                             outcome="A no further action disposal")
               + _search_row("2024-04-02T10:00:00+00:00", lat="", lon="")
               + _search_row("2024-04-03T10:00:00+00:00", obj="Stolen goods"))


@pytest.fixture(scope="module", params=STORE_KINDS)
def app(request: pytest.FixtureRequest,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    root: Path = tmp_path_factory.mktemp("stop-search-api")
    store = make_store(request.param, root, request)
    with TestClient(create_app(settings_for(root), store=store)) as client:
        yield client
    store.close()


def _key(app: TestClient, role: str) -> dict[str, str]:
    token, _ = new_key(app.app.state.store, name=f"test {role}", role=role)  # type: ignore[attr-defined]
    return {"Authorization": f"Bearer {token}"}


def _post(app: TestClient, text: str, key: dict[str, str], **params: str) -> tuple[int, dict]:
    r = app.post("/v1/incidents", content=text.encode(), params=params,
                 headers={**key, "Content-Type": "text/csv"})
    return r.status_code, r.json()


@pytest.fixture(scope="module")
def loaded(app: TestClient) -> dict[str, dict]:
    """The street file, then the outcomes and the stop and search files, uploaded once."""
    key = _key(app, "analyst")
    status, street = _post(app, STREET_FILE, key)
    assert status == 201 and street["counts"]["accepted"] == 4
    store = app.app.state.store  # type: ignore[attr-defined]
    before = store.data_version()
    status, outcomes = _post(app, OUTCOMES_FILE, key)
    assert status == 200, outcomes
    assert store.data_version() != before
    files = {"file": ("2024-03-eastshire-stop-and-search.csv", SEARCH_FILE.encode(),
                      "text/csv")}
    r = app.post("/v1/incidents", files=files, headers=key)
    assert r.status_code == 201, r.text
    return {"street": street, "outcomes": outcomes, "stop_search": r.json()}


def test_an_outcomes_upload_updates_stored_crimes(app: TestClient, loaded: dict) -> None:
    report = loaded["outcomes"]
    assert report["kind"] == "outcomes"
    assert report["counts"] == {"records": 3, "accepted": 3, "rejected": 0, "superseded": 0,
                                "matched": 2, "updated": 1, "unchanged": 1, "unmatched": 1}
    key = _key(app, "analyst")
    page = app.get("/v1/incidents", headers=key).json()
    assert page["numberMatched"] == 4  # nothing added
    outcome = {f["id"]: f["properties"]["outcome"] for f in page["features"]}
    assert outcome[IDS[0]] == "Offender sent to prison"
    assert outcome[IDS[1]] == "Under investigation"
    # the same file again: 200, nothing updated, the same data version
    version = app.app.state.store.data_version()  # type: ignore[attr-defined]
    status, again = _post(app, OUTCOMES_FILE, key, format="outcomes")
    assert status == 200 and again["counts"]["updated"] == 0
    assert again["data_version"] == version


def test_a_stop_search_upload_is_stored_once(app: TestClient, loaded: dict) -> None:
    report = loaded["stop_search"]
    assert report["kind"] == "stop-search"
    assert report["counts"] == {"records": 4, "accepted": 4, "repeated": 0, "rejected": 0}
    assert report["data_version"] == loaded["outcomes"]["data_version"]
    status, again = _post(app, SEARCH_FILE, _key(app, "admin"))
    assert status == 200 and again["counts"] == {"records": 4, "accepted": 0, "repeated": 4,
                                                 "rejected": 0}


def test_staff_read_the_summary_and_the_points(app: TestClient, loaded: dict) -> None:
    key = _key(app, "analyst")
    body = app.get("/v1/stop-search", headers=key).json()
    s = body["summary"]
    assert s["searches"] == 4 and s["located"] == 3
    assert s["by_month"] == {"2024-03": 2, "2024-04": 2}
    assert s["by_object_of_search"] == {"Controlled drugs": 2, "Offensive weapons": 1,
                                        "Stolen goods": 1}
    assert s["by_outcome"] == {"Arrest": 3, "A no further action disposal": 1}
    assert s["by_month_and_object"]["2024-04"] == {"Controlled drugs": 1, "Stolen goods": 1}
    pts = body["points"]
    assert pts["type"] == "FeatureCollection" and "crs" not in pts
    assert (pts["numberMatched"], pts["numberReturned"], pts["unlocated"]) == (3, 3, 1)
    first = pts["features"][0]
    assert first["geometry"]["coordinates"] == [-1.08, 53.96]
    assert first["properties"]["object_of_search"] == "Controlled drugs"
    assert first["properties"]["occurred_at"].startswith("2024-03-01T09:15:00")
    # a period, a limit, GeoJSON only
    march = app.get("/v1/stop-search", params={"from": "2024-03", "to": "2024-03"},
                    headers=key).json()
    assert march["summary"]["searches"] == 2
    r = app.get("/v1/stop-search", params={"format": "geojson", "limit": 1}, headers=key)
    assert r.headers["content-type"].startswith("application/geo+json")
    assert r.json()["numberReturned"] == 1 and r.json()["numberMatched"] == 3


@pytest.mark.parametrize(("params", "field"), [
    ({"from": "March"}, "from"),
    ({"from": "2024-04", "to": "2024-03"}, "to"),
    ({"limit": "100000"}, "limit"),
    ({"limit": "-1"}, "limit"),
    ({"format": "csv"}, "format"),
])
def test_bad_parameters_are_named(app: TestClient, params: dict, field: str) -> None:
    r = app.get("/v1/stop-search", params=params, headers=_key(app, "analyst"))
    assert r.status_code == 422, r.text
    assert field in r.text


@pytest.mark.parametrize("role", ["rural_team", "partner"])
def test_only_staff_see_stop_and_search(app: TestClient, loaded: dict, role: str) -> None:
    r = app.get("/v1/stop-search", headers=_key(app, role))
    assert r.status_code == 403
    assert "53.96" not in r.text


def test_a_street_file_sent_as_outcomes_is_refused(app: TestClient) -> None:
    store = app.app.state.store  # type: ignore[attr-defined]
    version = store.data_version()
    status, body = _post(app, STREET_FILE, _key(app, "analyst"), format="outcomes")
    assert status == 422
    assert "not a data.police.uk outcomes CSV" in str(body)
    assert store.data_version() == version


def test_too_many_rows_change_nothing(app: TestClient, loaded: dict) -> None:
    store = app.app.state.store  # type: ignore[attr-defined]
    version = store.data_version()
    rows = "".join(_outcome_row(IDS[2], "2024-05", "Offender fined") for _ in range(3))
    settings = app.app.state.settings  # type: ignore[attr-defined]
    limit, settings.max_upload_rows = settings.max_upload_rows, 2
    try:
        status, _body = _post(app, OUTCOMES + rows, _key(app, "analyst"))
    finally:
        settings.max_upload_rows = limit
    assert status == 413
    assert store.data_version() == version


def test_the_demo_stop_search_files_load_apart_from_incidents(
        request: pytest.FixtureRequest, tmp_path: Path, demo_files) -> None:
    """The demo's monthly stop and search files: 40 searches a month, about a quarter with no
    location; loading them changes neither the incidents nor the data version."""
    from geodata.demo import load_demo
    from geodata.demo.files import load_demo_stop_searches
    from geodata.demo.police_extras import SEARCHES_PER_MONTH

    store = make_store("sqlite", tmp_path, request)
    load_demo(store, demo_files)
    count, version = store.count(), store.data_version()
    months = len(demo_files.stop_search_csvs)
    assert months == len(demo_files.police_csvs) == 24
    assert load_demo_stop_searches(store, demo_files) == SEARCHES_PER_MONTH * months
    assert load_demo_stop_searches(store, demo_files) == 0  # the same files again
    assert (store.count(), store.data_version()) == (count, version)
    with TestClient(create_app(settings_for(tmp_path), store=store, demo=True)) as client:
        s = client.get("/v1/stop-search", headers=_key(client, "analyst")).json()["summary"]
    assert s["searches"] == SEARCHES_PER_MONTH * months
    assert set(s["by_month"].values()) == {SEARCHES_PER_MONTH}
    assert 0.6 < s["located"] / s["searches"] < 0.9
    store.close()


def test_the_demo_outcomes_update_the_street_files_crimes(
        request: pytest.FixtureRequest, tmp_path: Path, demo_files) -> None:
    """The demo's outcomes files name the street files' crimes by Crime ID: loaded into a
    force store after the street files they update crimes and add none; a few name crimes
    from before the demo (unmatched)."""
    from geodata.ingest import ingest, load_outcomes
    from geodata.readers import open_reader

    store = make_store("sqlite", tmp_path, request)
    for path in demo_files.police_csvs:
        ingest(store, open_reader(path))
    count = store.count()
    totals = {"matched": 0, "updated": 0, "unmatched": 0}
    for path in demo_files.outcome_csvs:
        counts = load_outcomes(store, path)["counts"]
        for k in totals:
            totals[k] += counts[k]
    assert store.count() == count
    assert totals["updated"] > 0.8 * totals["matched"] > 0
    assert totals["unmatched"] >= 36  # 3 a month for the first 12 months
    store.close()


@pytest.mark.parametrize("name", ["x" * 220 + "-2024-03-eastshire-stop-and-search.csv", "   "])
def test_a_file_name_too_long_or_blank_is_still_a_source(app: TestClient, loaded: dict,
                                                         name: str) -> None:
    """The store keeps a source label of at most 200 characters: a longer (or blank) upload
    name is shortened (or named 'upload'), never a 500."""
    text = SEARCH_FILE.replace("2024-03-0", "2024-03-1")  # other searches than the fixture's
    files = {"file": (name, text.encode(), "text/csv")}
    r = app.post("/v1/incidents", files=files, params={"format": "stop-search"},
                 headers=_key(app, "analyst"))
    assert r.status_code in (200, 201), r.text
    sources = set(app.app.state.store.stop_searches()["source"])  # type: ignore[attr-defined]
    assert all(0 < len(s) <= 200 for s in sources)
