"""Schemathesis fuzzing of the OpenAPI spec against the live server: no request may produce a 500.

Every operation gets a bounded number of generated cases, sent with an admin or a nurse token (so the
requests get past authentication and reach the handlers).
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

EXAMPLES = 12


def test_no_server_errors(api):
    if api.backend != "sqlite":
        pytest.skip("fuzzed once, on SQLite, to keep the suite short")
    schema = schemathesis.openapi.from_url(f"{api.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 10
    for i, operation in enumerate(operations):
        fuzz(operation, api.tokens["admin"] if i % 2 else api.tokens["nurse-cardio"])


def fuzz(operation, token):
    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(case):
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=[not_a_server_error])

    run()
