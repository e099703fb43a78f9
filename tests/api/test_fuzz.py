"""Fuzzing the service with schemathesis against its own OpenAPI document: every operation,
with and without credentials. No answer may be a 5xx, every answer's status must be one the
document gives for the operation, and its body must match the schema given for that status.
Bounded: a few examples an operation (make test's time budget)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from api.access import new_key
from api.app import create_app
from geodata.demo import load_demo
from geodata.stores import SQLiteStore
from tests.api.test_api import settings_for

EXAMPLES = 25
TIMEOUT_S = 60
"""How long one fuzzed request may take: the app's own request timeout (below), not
schemathesis's 10 s. Without Redis the fuzzer's backtest and report jobs run in threads of this
same process, and on a loaded 2-core machine a plain read behind them once waited 10 s for the
interpreter (a stall, not a fault: the same request passed again at once)."""
KEYS: dict[str, str] = {}


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory, demo_files) -> Any:
    root: Path = tmp_path_factory.mktemp("fuzz")
    store = SQLiteStore.open(root / "demo.sqlite")
    load_demo(store, demo_files)
    KEYS["admin"] = new_key(store, name="fuzz", role="admin")[0]
    for role in ("partner", "rural_team"):  # the OGC API's collections differ by role
        KEYS[role] = new_key(store, name=f"fuzz {role}", role=role)[0]
    store.add_preset("fuzz", title="Every hotspot", parameters={})  # hotspots-fuzz
    # one job a key at a time: the fuzzer's backtest and report jobs would otherwise run
    # behind its requests for the whole module (their 429s are documented answers too)
    app = create_app(settings_for(root, rate_limit_per_minute=0, request_timeout_s=TIMEOUT_S,
                                  jobs_per_key=1),
                     store=store, demo=True)
    with TestClient(app):  # run the lifespan once
        pass
    return app


def not_a_crash(ctx: Any, response: Any, case: Any) -> bool | None:
    """Schemathesis's server-error check, but a 503 that says when to ask again (Retry-After:
    method=auto while its backtest runs) is an answer, not a crash."""
    if response.status_code == 503 and any(k.lower() == "retry-after" for k in response.headers):
        return None
    return not_a_server_error(ctx, response, case)


CHECKS = [not_a_crash, status_code_conformance, response_schema_conformance]
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
            response = case.call_and_validate(headers=headers, checks=CHECKS, timeout=TIMEOUT_S)
            if not credentials and case.operation.path != "/health":
                assert response.status_code in (401, 404, 405, 422), (
                    case.operation.path, response.status_code)

        run()


def test_requests_that_break_the_schema_get_documented_errors(fuzz_app: Any) -> None:
    """Negative cases (bodies, parameters and headers the schema forbids) on every operation
    that takes any: each answer's status is documented and its body in the documented shape
    (the 400s, 413s and 422s of bodies and parameters, among others)."""
    headers = {"Authorization": f"Bearer {KEYS['admin']}"}
    tried = []
    for operation in _operations(fuzz_app):

        @given(case=operation.as_strategy(GenerationMode.NEGATIVE))
        @SETTINGS
        def run(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS, timeout=TIMEOUT_S)

        try:
            run()
        except Unsatisfiable:  # nothing in it to break (no parameter, no body)
            continue
        tried.append(operation.label)
    assert len(tried) >= 25, tried
    assert {"GET /v1/hotspots", "POST /v1/incidents", "POST /v1/patrol-plans"} <= set(tried)


def test_the_document_gives_the_statuses_routes_answer_with(fuzz_app: Any) -> None:
    """Operations naming an id in their path document 404; those taking a body 400 and 413;
    those needing a role 401 and 403; every error a JSON body (these in the Error shape)."""
    document = fuzz_app.openapi()
    for path, operations in document["paths"].items():
        for method, op in operations.items():
            codes = set(op["responses"])
            if "{" in path:
                assert "404" in codes, (method, path)
            if "requestBody" in op:
                assert {"400", "413", "422"} <= codes, (method, path)
            if op.get("security"):
                assert {"401", "403"} <= codes, (method, path)
            page = "text/html" in op["responses"].get("200", {}).get("content", {})
            for code, answer in op["responses"].items():
                if code[0] in "45":
                    if page and set(answer.get("content", {})) == {"text/html"}:
                        continue  # a page's own error page (e.g. a hotspot id not in a result)
                    shape = json.dumps(answer["content"]["application/json"]["schema"])
                    if code in ("400", "401", "403", "404", "413", "422"):
                        assert "#/components/schemas/Error" in shape, (method, path, code)
    upload = document["paths"]["/v1/incidents"]["post"]["responses"]
    assert {"200", "201", "400", "409", "413", "415", "422"} <= set(upload)


OGC_PATHS = ("/ogc", "/v1/presets")
"""The OGC API and the presets it serves (issue 17)."""


@pytest.mark.parametrize("role", ["partner", "rural_team", None])
def test_the_ogc_api_with_each_roles_key_and_none(fuzz_app: Any, role: str | None) -> None:
    """Every /ogc and /v1/presets operation with a partner's key (its one collection), a rural
    team's key (no incidents), and none: no crash, documented statuses and bodies; without a
    key nothing but 401 (or a 404/405/422 settled before the key is asked for)."""
    headers = {"Authorization": f"Bearer {KEYS[role]}"} if role else {}
    ops = [o for o in _operations(fuzz_app) if o.path.startswith(OGC_PATHS)]
    assert {"GET /ogc/collections/{collection_id}/items", "POST /v1/presets",
            "GET /ogc/collections/{collection_id}/items/{feature_id}"} <= {o.label for o in ops}
    for operation in ops:

        @given(case=operation.as_strategy())
        @SETTINGS
        def run(case: Any) -> None:
            response = case.call_and_validate(headers=headers, checks=CHECKS, timeout=TIMEOUT_S)
            if role is None:
                assert response.status_code in (401, 404, 405, 422), (
                    case.operation.path, response.status_code)
            elif role == "partner" and response.status_code == 200:
                body = response.json()
                assert "incidents" not in json.dumps(body.get("collections", []))
                for f in body.get("features", []):  # published hotspots only
                    assert f["properties"].get("period"), f

        run()


def test_the_ogc_service_description_is_openapi_30_that_fuzzes_clean(fuzz_app: Any) -> None:
    """The OpenAPI 3.0 document GDAL and QGIS read (/ogc/api) loads in schemathesis as 3.0
    and its operations, called with an admin's key, answer as it documents."""
    with TestClient(fuzz_app) as c:
        doc = c.get("/ogc/api", headers={"Authorization": f"Bearer {KEYS['admin']}"}).json()
    assert doc["openapi"].startswith("3.0.")
    schema = schemathesis.openapi.from_dict(doc)
    schema.app = fuzz_app
    headers = {"Authorization": f"Bearer {KEYS['admin']}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 8
    for operation in operations:

        @given(case=operation.as_strategy())
        @SETTINGS
        def run(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS, timeout=TIMEOUT_S)

        run()
