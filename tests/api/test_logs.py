"""The request log: one structured line per request, with no personal data."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.logs import JsonFormatter, configure
from tests.api.test_api import settings_for
from tests.conftest import as_role


def test_a_request_is_logged_without_query_address_or_secret(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with TestClient(create_app(settings_for(tmp_path))) as c:
        as_role(c, "analyst")
        secret = c.headers["Authorization"].split()[-1]
        with caplog.at_level(logging.INFO, logger="hotspot.requests"):
            c.get("/v1/incidents", params={"bbox": "-1.09,53.95,-1.07,53.97", "limit": 3})
            c.get("/v1/patrol-plans/0123456789abcdef")
    records = [r for r in caplog.records if r.name == "hotspot.requests"]
    assert len(records) == 2
    first, second = (r.fields for r in records)  # type: ignore[attr-defined]
    assert first["route"] == "/v1/incidents" and first["status"] == 200
    assert first["role"] == "analyst" and first["key_id"] == secret[4:16]
    assert second["route"] == "/v1/patrol-plans/{plan_id}" and second["status"] == 404
    line = JsonFormatter().format(records[0])
    assert json.loads(line)["route"] == "/v1/incidents"
    for text in (line, JsonFormatter().format(records[1])):
        assert "53.95" not in text and "bbox" not in text and secret not in text
        assert "testclient" not in text and "0123456789abcdef" not in text


def test_a_text_line_carries_the_time_key_id_and_role(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """What the README promises of the request log, in the default (text) format too."""
    with TestClient(create_app(settings_for(tmp_path))) as c:
        as_role(c, "rural_team")
        key_id = c.headers["Authorization"].split()[-1][4:16]
        with caplog.at_level(logging.INFO, logger="hotspot.requests"):
            c.get("/v1/patrol-plans")
            c.get("/v1/taxonomy", headers={"Authorization": ""})  # no key: 401
    signed, anonymous = (r for r in caplog.records if r.name == "hotspot.requests")
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure("info", "text")
        formatter = root.handlers[0].formatter
        assert formatter is not None
        line = formatter.format(signed)
        other = formatter.format(anonymous)
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ INFO hotspot\.requests "
                    r"GET /v1/patrol-plans 200 ms=\d+(\.\d+)? ", line), line
    assert f"key_id={key_id}" in line and "role=rural_team" in line
    assert "GET /v1/taxonomy 401" in other and "key_id=- role=-" in other
    assert json.loads(JsonFormatter().format(signed))["role"] == "rural_team"  # JSON as it was
