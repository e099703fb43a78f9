"""Fuzzing the service with schemathesis against its own OpenAPI document: every operation,
with and without credentials. No answer may be a 5xx, and every answer must match the schema
the document gives for it. Bounded: a few examples an operation (make test's time budget)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from api.access import new_key
from api.app import create_app
from geodata.demo import load_demo
from geodata.stores import SQLiteStore
from tests.api.test_api import settings_for

EXAMPLES = 25
KEYS: dict[str, str] = {}


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory, demo_files) -> Any:
    root: Path = tmp_path_factory.mktemp("fuzz")
    store = SQLiteStore(root / "demo.sqlite")
    load_demo(store, demo_files)
    KEYS["admin"] = new_key(store, name="fuzz", role="admin")[0]
    app = create_app(settings_for(root, rate_limit_per_minute=0, request_timeout_s=60),
                     store=store, demo=True)
    with TestClient(app):  # run the lifespan once
        pass
    return app


CHECKS = [not_a_server_error, response_schema_conformance]
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))


def _operations(app: Any) -> list[Any]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20  # every operation of the document, not a few
    return operations


@pytest.mark.parametrize("credentials", ["admin", None])
def test_every_operation_with_and_without_credentials(fuzz_app: Any,
                                                      credentials: str | None) -> None:
    headers = {"Authorization": f"Bearer {KEYS['admin']}"} if credentials else {}
    for operation in _operations(fuzz_app):

        @given(case=operation.as_strategy())
        @SETTINGS
        def run(case: Any) -> None:
            response = case.call_and_validate(headers=headers, checks=CHECKS)
            if not credentials and case.operation.path != "/health":
                assert response.status_code in (401, 404, 405, 422), (
                    case.operation.path, response.status_code)

        run()
