"""Schemathesis against the served issuer (issue 17, finding 3): every operation of the OpenAPI
document the service serves (read from ``/api/v1/openapi.json``, so the test follows the document
wherever it is made), called with a token of each role and with none, schema-valid and
schema-breaking requests, on PostgreSQL (the production store: its 32-bit ids overflow where
SQLite's do not). Required: no server error, no undocumented status code or content type, no
response that breaks its schema, no schema-breaking request accepted.

Bounded and deterministic: a few examples per operation, role and mode (:data:`EXAMPLES`),
Hypothesis derandomized without its example database and without shrinking, so a run makes the
same requests every time and a failure is reported as found. The checks left out are
:data:`EXCLUDED`, each with its reason (docs/api.md, "Fuzzing the API").
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi import checks as openapi_checks

from tests.conftest import LiveIssuer
from tests.issuer.routes_support import build_world

#: Requests per operation, role and generation mode; ``ANXINMA_SCHEMATHESIS_EXAMPLES=40,20`` for a
#: deeper run by hand (docs/api.md).
_POSITIVE, _NEGATIVE = os.environ.get("ANXINMA_SCHEMATHESIS_EXAMPLES", "6,3").split(",")
EXAMPLES = {GenerationMode.POSITIVE: int(_POSITIVE), GenerationMode.NEGATIVE: int(_NEGATIVE)}
#: The callers: each role's API token (an enterprise admin of the world's enterprise A) and none.
ROLES: tuple[str | None, ...] = ("issuer_admin", "enterprise_admin", "card_operator", "regulator", None)

CHECKS: list[Callable[..., Any]] = [
    not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_headers_conformance,
    openapi_checks.response_schema_conformance,
    openapi_checks.negative_data_rejection,
    openapi_checks.missing_required_header,
    openapi_checks.unsupported_method,
    openapi_checks.ignored_auth,
]
#: The checks not run, and why (the same list is in docs/api.md).
EXCLUDED = {
    "positive_data_acceptance": "ST202: a JSON Schema cannot judge every rule the service keeps "
    "(GB 11643 and credit-code check characters and the birth date in an ID number, a credential's "
    "text form, a name of letters only, a month that is tapped_at's, an uploaded file's encoding, "
    "3.0 for a 1-5 score): schema-valid requests the service rightly refuses with 400",
    "use_after_free, ensure_resource_availability, object_level_authorization": "stateful checks "
    "that need links between operations the document does not declare; the tenant rule is tested "
    "route by route in tests/issuer/test_tenant_routes.py",
    "max_response_time": "no timing assertions in tests (bench/ measures speed)",
}


def _settings(mode: GenerationMode) -> settings:
    return settings(
        max_examples=EXAMPLES[mode],
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: bounded time, the case as found
        suppress_health_check=list(HealthCheck),
    )


class Run:
    """The requests made and the distinct failures found, one per (operation, check, status)."""

    def __init__(self, issuer: LiveIssuer) -> None:
        self.issuer = issuer
        self.session = requests.Session()
        self.requests = 0
        self.failures: dict[tuple[str, str, int], str] = {}
        self.covered: set[tuple[str, str | None, str]] = set()

    def operation(
        self, operation: Any, role: str | None, enterprise: int | None, mode: GenerationMode
    ) -> None:
        # A fresh token per operation: an operation that revokes tokens revokes its own, at worst.
        headers = {"Authorization": f"Bearer {self.issuer.token(role, enterprise)}"} if role else {}

        @_settings(mode)
        @given(case=operation.as_strategy(generation_mode=mode))
        def call(case: Any) -> None:
            self.requests += 1
            response = case.call(base_url=self.issuer.url, session=self.session, headers=headers, timeout=30)
            try:
                case.validate_response(response, checks=CHECKS, headers=headers)
            except BaseExceptionGroup as group:
                for failure in group.exceptions:
                    key = (
                        operation.label,
                        str(getattr(failure, "title", type(failure).__name__)),
                        response.status_code,
                    )
                    self.failures.setdefault(
                        key,
                        f"{operation.label} as {role or 'nobody'} ({mode.value}): {key[1]} — "
                        f"{response.status_code} {response.content[:300]!r}\n    "
                        + case.as_curl_command(headers={"Authorization": "Bearer …"} if role else {}),
                    )

        try:
            call()
        except Unsatisfiable:
            if mode is GenerationMode.POSITIVE:
                raise
            return  # nothing in this operation's request can be made schema-breaking
        self.covered.add((operation.label, role, mode.value))


@pytest.mark.postgres
@pytest.mark.slow
def test_schemathesis_finds_no_server_error_and_no_schema_violation(
    live_issuer_factory: Callable[..., LiveIssuer], postgres_url: str
) -> None:
    # The limits stay on, their numbers raised for thousands of requests from one address (the
    # limits have their own tests: test_sign_in_limits.py, test_visits.py).
    issuer = live_issuer_factory(
        postgres_url,
        extra={
            "visit_rate_limit": "100000 per minute",
            "token_client_limit": "100000 per 10 minutes",
            "login_client_limit": "100000 per hour",
            "login_account_limit": "100000 per 5 minutes",
        },
    )
    world = build_world(issuer)  # rows for the ids, tokens and codes requests may name
    schema = schemathesis.openapi.from_url(issuer.url + "/api/v1/openapi.json", config=schemathesis.Config())
    operations = [result.ok() for result in schema.get_all_operations()]
    run = Run(issuer)
    started = time.monotonic()
    for operation in operations:
        for role in ROLES:
            for mode in EXAMPLES:
                run.operation(operation, role, world.a if role == "enterprise_admin" else None, mode)
    elapsed = time.monotonic() - started
    print(f"schemathesis: {len(operations)} operations, {run.requests} requests, {elapsed:.0f} s")
    documented = issuer.api("GET", "/api/v1/openapi.json", token="").json()["paths"]
    assert len(operations) == sum(
        1
        for item in documented.values()
        for method in item
        if method in ("get", "post", "patch", "put", "delete")
    )
    positive = {(label, role) for label, role, mode in run.covered if mode == "positive"}
    assert len(positive) == len(operations) * len(ROLES)  # every operation, as every caller
    assert not run.failures, f"{len(run.failures)} distinct failures:\n" + "\n".join(run.failures.values())
