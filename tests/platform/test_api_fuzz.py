"""Issue 12, acceptance 1 (bounded): schemathesis generates requests for every operation of
``/openapi.json``, with and without an API token; none may be answered 500."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, status_code_conformance

from microcred.db.session import transaction
from microcred.services.providers import create_api_token
from microcred.web.app import create_app
from tests.platform.conftest import make_org, publish_definition, staff

FUZZ = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,  # the same cases every run: a failure reproduces
    database=None,
)


@pytest.mark.parametrize("signed_in", [True, False], ids=["integrator", "anyone"])
def test_no_operation_of_the_api_answers_500(platform, signed_in):
    org = make_org(platform, "fuzz")
    publish_definition(platform, org)
    with transaction(platform.sessions) as session:
        token = create_api_token(platform, session, staff(platform, org.owner_id), "fuzz")
    headers = {"Authorization": f"Bearer {token}"} if signed_in else {}
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(platform))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    tried: dict[str, int] = {}
    for operation in operations:
        _fuzz(operation, headers, tried)
    assert len(tried) == len(operations)


def _fuzz(operation: Any, headers: dict[str, str], tried: dict[str, int]) -> None:
    @given(case=operation.as_strategy())
    @FUZZ
    def run(case: Any) -> None:
        response = case.call(headers=headers)
        tried[operation.label] = tried.get(operation.label, 0) + 1
        case.validate_response(
            response,
            checks=[not_a_server_error, status_code_conformance, content_type_conformance],
        )

    run()
