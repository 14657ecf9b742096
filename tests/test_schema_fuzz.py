"""Schemathesis against the OpenAPI schema: valid and invalid requests to every operation never
get a 5xx, and every error follows the one ``{"error": {"code", "message"}}`` shape (OpenAI's,
``{"error": {"message", "type", "param", "code"}}``, under ``/v1/``)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

CASES: list[int] = []  # status of every generated request, for the summary test below


@pytest.fixture(scope="module")
def api_schema(settings, pipeline):
    from ui.server import create_server

    return schemathesis.openapi.from_asgi("/openapi.json", create_server(settings, pipeline))


def _check(case) -> None:
    response = case.call()
    CASES.append(response.status_code)
    assert response.status_code < 500, (case.method, case.path, response.text[:300])
    if response.status_code >= 400:
        body = response.json()
        shape = {"message", "type", "param", "code"} if case.path.startswith("/v1/") else {"code", "message"}
        assert set(body) == {"error"} and set(body["error"]) == shape, body
        assert "Traceback" not in response.text
    # documented status codes, content types and response bodies
    case.validate_response(response, checks=[schemathesis.checks.status_code_conformance,
                                              schemathesis.checks.content_type_conformance,
                                              schemathesis.checks.response_schema_conformance])


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_no_server_errors_and_one_error_shape(api_schema, mode):
    """Every operation, 30 deterministic examples each (schemathesis' pytest loader predates this pytest)."""
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 5
    if mode is GenerationMode.NEGATIVE:  # an operation without inputs has no invalid request
        operations = [op for op in operations if len(op.path_parameters) + len(op.query) + len(op.body)]
    for operation in operations:
        run = given(case=operation.as_strategy(generation_mode=mode))(_check)
        settings(max_examples=30, derandomize=True, deadline=None, database=None,
                 suppress_health_check=list(HealthCheck))(run)()
    print(f"{mode.value}: {len(CASES)} requests so far, statuses {sorted(set(CASES))}")
    assert len(CASES) >= 30 * len(operations) // 2 and all(s < 500 for s in CASES)
