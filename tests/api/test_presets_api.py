"""The presets API through the real app on both stores: staff save and delete, field roles
read, partners nothing; every bad parameter is a 422 naming it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.access import new_key
from api.app import create_app
from geodata.stores.base import Store
from tests.api.test_api import settings_for


@pytest.fixture
def client(store: Store, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    keys = {role: new_key(store, name=role, role=role)[0]
            for role in ("admin", "analyst", "rural_team", "partner")}
    with TestClient(create_app(settings_for(tmp_path), store=store)) as c:
        yield c, keys


def _as(keys: dict[str, str], role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {keys[role]}"}


def test_staff_save_field_roles_read_and_staff_delete(client) -> None:
    c, keys = client
    body = {"name": "rural-kde", "title": "Rural KDE, latest month",
            "parameters": {"method": "kde", "priority": "rural", "period": "latest",
                           "bandwidth_m": 300, "weighted": True,
                           "category": ["livestock_theft", "fuel_theft"]}}
    r = c.post("/v1/presets", json=body, headers=_as(keys, "analyst"))
    assert r.status_code == 201, r.text
    made = r.json()
    assert r.headers["location"] == "/v1/presets/rural-kde"
    assert made["parameters"] == {"method": "kde", "priority": "rural", "period": "latest",
                                  "bandwidth_m": "300", "weighted": "true",
                                  "category": "livestock_theft,fuel_theft"}
    assert made["created_by"] == "analyst"
    assert made["links"]["collection"] == "/ogc/collections/hotspots-rural-kde"
    for role in ("rural_team", "admin"):
        assert c.get("/v1/presets/rural-kde", headers=_as(keys, role)).json() == made
        listed = c.get("/v1/presets", headers=_as(keys, role)).json()["presets"]
        assert [p["name"] for p in listed] == ["rural-kde"]
    again = c.post("/v1/presets", json=body, headers=_as(keys, "admin"))
    assert again.status_code == 409 and again.json()["field"] == "name"
    assert c.post("/v1/presets", json={**body, "name": "x"},
                  headers=_as(keys, "rural_team")).status_code == 403
    assert c.delete("/v1/presets/rural-kde", headers=_as(keys, "rural_team")).status_code == 403
    for role in ("partner",):
        assert c.get("/v1/presets", headers=_as(keys, role)).status_code == 403
        assert c.get("/v1/presets/rural-kde", headers=_as(keys, role)).status_code == 403
    assert c.get("/v1/presets").status_code == 401
    assert c.delete("/v1/presets/rural-kde", headers=_as(keys, "analyst")).status_code == 204
    gone = c.get("/v1/presets/rural-kde", headers=_as(keys, "analyst"))
    assert gone.status_code == 404 and gone.json()["field"] == "name"
    assert c.delete("/v1/presets/rural-kde", headers=_as(keys, "analyst")).status_code == 404


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "Bad Name", "parameters": {}}, "name"),
    ({"name": "-x", "parameters": {}}, "name"),
    ({"name": "a" * 49, "parameters": {}}, "name"),
    ({"name": "p", "parameters": {"method": "nope"}}, "parameters.method"),
    ({"name": "p", "parameters": {"eps_m": 1}}, "parameters.eps_m"),
    ({"name": "p", "parameters": {"bandwidth_m": 300}}, "parameters.bandwidth_m"),  # kde's
    ({"name": "p", "parameters": {"colour": "red"}}, "parameters.colour"),
    ({"name": "p", "parameters": {"priority": "theft"}}, "parameters.priority"),
    ({"name": "p", "parameters": {"category": "nope"}}, "parameters.category"),
    ({"name": "p", "parameters": {"period": "2024-13"}}, "parameters.period"),
    ({"name": "p", "parameters": {"period": "2024-06", "from": "2024-01"}}, "parameters.period"),
    ({"name": "p", "parameters": {"from": "2024-06", "to": "2024-01"}}, "parameters.to"),
    ({"name": "p", "parameters": {"bbox": "1,2,3"}}, "parameters.bbox"),
    ({"name": "p", "parameters": {"method": "x" * 201}}, "parameters.method"),
    ({"name": "p", "parameters": {"a\x00": "1"}}, "parameters.a\x00"),
    ({"name": "p", "title": "t" * 201, "parameters": {}}, "title"),
    ({"name": "p", "parameters": {}, "colour": "red"}, "colour"),
])
def test_a_bad_preset_is_refused_naming_the_field(client, body: dict, field: str) -> None:
    c, keys = client
    r = c.post("/v1/presets", json=body, headers=_as(keys, "analyst"))
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field, r.json()
    assert c.get("/v1/presets", headers=_as(keys, "analyst")).json()["presets"] == []
