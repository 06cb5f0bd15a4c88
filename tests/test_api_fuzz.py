"""The REST API fuzzed by schemathesis from its own OpenAPI schema, on a real server with basic
auth on: no 5xx, and every response matches the schema (status, content type, body)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from rag import Pipeline, Settings
from tests.conftest import SEED
from tests.test_api import free_port
from ui.server import RunningServer, start_in_thread

AUTH = ("fuzz", "not-a-real-secret")
HEADERS = {"Authorization": "Basic " + base64.b64encode(":".join(AUTH).encode()).decode()}
# Cases per operation: enough to reach every field's edge values, few enough for seconds.
CASES = 30
# Rules JSON Schema cannot state: across fields (since <= until), against what the store
# holds (an outlet filter must name a stored outlet) and inside uploaded files (news, not
# random bytes). A request breaking one gets a 400 or 422 whose error says which;
# schemathesis would count it as valid data rejected, so that one check is off for these two
# routes, and every 4xx is checked below for its one-line error instead.
BEYOND_SCHEMA = {
    "POST /api/ask": [positive_data_acceptance],
    "POST /api/ingest": [positive_data_acceptance],
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Iterator[RunningServer]:
    root = tmp_path_factory.mktemp("fuzz")
    settings = Settings(data_dir=root / "data", llm="extractive", model_cache_dir=model_cache)
    pipe = Pipeline(settings)
    assert pipe.ingest([SEED]).ok
    running = start_in_thread(pipe, settings.with_(port=free_port(), auth=":".join(AUTH)))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def operations(server: RunningServer) -> list[Any]:
    document = httpx.get(f"{server.url}/api/openapi.json", auth=AUTH, timeout=60).json()
    schema = schemathesis.openapi.from_dict(document)
    return [result.ok() for result in schema.get_all_operations()]


def test_every_route_is_fuzzed(operations: list[Any]) -> None:
    labels = {op.label for op in operations}
    assert labels == {
        "POST /api/ask",
        "POST /api/ingest",
        "GET /api/articles",
        "GET /api/articles/{article_id}",
        "DELETE /api/articles/{article_id}",
        "GET /api/health",
    }


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize(
    "label",
    [
        "POST /api/ask",
        "POST /api/ingest",
        "GET /api/articles",
        "GET /api/articles/{article_id}",
        "DELETE /api/articles/{article_id}",
        "GET /api/health",
    ],
)
def test_route_matches_its_schema_and_never_fails(
    label: str, mode: GenerationMode, operations: list[Any], server: RunningServer
) -> None:
    """Schema-valid requests (positive) and schema-breaking ones (negative, which must be
    refused with a 4xx) on every route."""
    (operation,) = [op for op in operations if op.label == label]
    seen: list[int] = []

    @hypothesis_settings(
        max_examples=CASES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case: Any) -> None:
        response = case.call_and_validate(
            base_url=server.url,
            headers=HEADERS,
            timeout=120,
            excluded_checks=BEYOND_SCHEMA.get(label, []),
        )
        seen.append(response.status_code)
        if 400 <= response.status_code < 500:
            error = response.json()["error"]
            assert isinstance(error, str) and error and "\n" not in error

    check()
    assert seen and all(code < 500 for code in seen)
    print(f"{label} ({mode.value}): {len(seen)} cases, statuses {sorted(set(seen))}")
