"""An officer's undo of a visit through the real HTTP app, in both stores: DELETE removes the
visit once, refuses what is not the plan's, names the field, and leaves a line in the audit
log with what was cancelled."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.access import new_key
from tests.api.test_api import served_demo
from tests.conftest import STORE_KINDS, as_role, make_store

BODY = {"name": "Saturday earlies", "shift": {"start": "2024-06-15T08:00", "end": "2024-06-15T16:00"},
        "rural_crime_team": {"vehicles": 1}, "time_limit_s": 0.5, "published": True}


@pytest.fixture(scope="module", params=STORE_KINDS)
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
        demo_files) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("visit-cancel")
    with served_demo(make_store(request.param, root, request), root, demo_files) as c:
        yield as_role(c)


def _key(app: TestClient, role: str) -> dict[str, str]:
    served: Any = app.app
    store = served.state.store
    token, _ = new_key(store, name=f"cancel test {role}", role=role)
    return {"Authorization": f"Bearer {token}"}


def test_a_visit_is_cancelled_once_and_audited(app: TestClient) -> None:
    made = app.post("/v1/patrol-plans", json=BODY)
    assert made.status_code == 201, made.text
    plan = made.json()
    pid = plan["plan_id"]
    stops = [s for r in plan["routes"] for s in r["stops"] if s["kind"] == "hotspot"]
    rural = _key(app, "rural_team")
    visits = f"/v1/patrol-plans/{pid}/visits"
    for n, stop in enumerate(stops[:2]):
        r = app.post(visits, headers=rural, json={
            "visit_id": f"tablet-1-000{n}", "stop_id": stop["stop_id"],
            "visited_at": "2024-06-15T09:10:00+01:00", "ended_at": "2024-06-15T09:25:00+01:00",
            "officer": "PC Amy Hartley", "note": "wrong stop" if n == 0 else ""})
        assert r.status_code == 201, r.text

    r = app.delete(f"{visits}/tablet-1-0000", headers=rural)
    assert r.status_code == 200, r.text
    gone = r.json()["cancelled"]
    assert gone["visit_id"] == "tablet-1-0000" and gone["stop_id"] == stops[0]["stop_id"]
    assert gone["officer"] == "PC Amy Hartley"
    left = app.get(visits, headers=rural).json()
    assert [v["visit_id"] for v in left["visits"]] == ["tablet-1-0001"]
    assert left["stops_visited"] == 1

    again = app.delete(f"{visits}/tablet-1-0000", headers=rural)  # sent twice: a 404, no harm
    assert again.status_code == 404 and "visit_id" in again.text
    bad = app.delete(f"{visits}/a%20b", headers=rural)
    assert bad.status_code == 422 and "visit_id" in bad.text
    other = app.delete("/v1/patrol-plans/0123456789abcdef/visits/tablet-1-0001", headers=rural)
    assert other.status_code == 404 and "plan_id" in other.text
    partner = app.delete(f"{visits}/tablet-1-0001", headers=_key(app, "partner"))
    assert partner.status_code == 403
    assert len(app.get(visits).json()["visits"]) == 1  # the other visit stands

    entries = app.get("/v1/audit").json()["entries"]
    cancel = [e for e in entries if e["action"] == "cancel visit"]
    assert len(cancel) == 1 and cancel[0]["role"] == "rural_team"
    assert cancel[0]["filter"]["visit_id"] == "tablet-1-0000"
    assert cancel[0]["filter"]["officer"] == "PC Amy Hartley"
