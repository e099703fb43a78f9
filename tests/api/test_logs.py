"""The request log: one structured line per request, with no personal data."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.logs import JsonFormatter
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
