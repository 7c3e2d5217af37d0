"""schemathesis against the live HTTP API's /openapi.json, as a city admin, bounded examples.

Every documented operation gets `MAX_EXAMPLES` generated requests (valid and invalid bodies,
paths and queries); schemathesis' default checks must pass: no 5xx, only documented status
codes and content types, responses matching their schema, invalid data rejected. One check
is left out, `positive_data_acceptance` ("schema-valid data gets 2xx"): requests have rules
the schema cannot say (a case id OR a person with dates; onset not after sample; an
existing case), answered with a documented 400/404 naming the field. Bounded to stay well
under a minute in CI.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from .api_support import NodeThread, build_world

MAX_EXAMPLES = 8


@pytest.fixture(scope="module")
def live_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    root: Path = tmp_path_factory.mktemp("api-schema") / "data"
    world = build_world(root)
    node = NodeThread(world.settings)
    try:
        yield node.http_base, world.tokens["admin"]
    finally:
        node.stop()


@pytest.mark.slow
def test_openapi_conformance(live_api: tuple[str, str]) -> None:
    base, token = live_api
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    headers = {"Authorization": f"Bearer {token}"}
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 18

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def run(case: Any) -> None:
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        try:
            run()
        except Exception as exc:
            failures.append(f"{operation.label}: {str(exc)[:600]}")
    assert failures == []
