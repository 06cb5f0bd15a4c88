"""Benchmark: the REST API fuzzed by schemathesis from its own OpenAPI schema, at length.

Run: .venv/bin/python evals/bench_fuzz.py [--cases 300]

Starts `dateline serve` (extractive answerer, basic auth on) on a fresh store holding
samples/, fetches /api/openapi.json with the credentials, and sends each route --cases
schema-valid requests and --cases schema-breaking ones. Every response must match the schema
(status, content type, body), no response may be a 5xx, every 4xx carries a one-line `error`.
make test runs the same checks with 30 cases a route (tests/test_api_fuzz.py). Prints cases
run and statuses per route; exit status 1 on any failure.
"""

from __future__ import annotations

import argparse
import base64
import os
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evals.server import BIN, free_port, wait_ready  # noqa: E402

AUTH = "fuzz:bench-fuzz-password"
# As in tests/test_api_fuzz.py: rules JSON Schema cannot state (since <= until, an outlet the
# store holds, news inside an uploaded file) are refused with a 4xx and a one-line error.
BEYOND_SCHEMA = {
    "POST /api/ask": [positive_data_acceptance],
    "POST /api/ingest": [positive_data_acceptance],
}


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--cases", type=int, default=300, help="cases per route and mode")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="dateline-fuzz-") as tmp:
        env = {
            **os.environ,
            "DATELINE_DATA_DIR": str(Path(tmp) / "data"),
            "DATELINE_LLM": "extractive",
            "DATELINE_AUTH": AUTH,
            "HF_HUB_OFFLINE": "1",
        }
        subprocess.run([BIN / "dateline", "ingest", ROOT / "samples"], env=env, check=True)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [BIN / "dateline", "serve", "--no-browser", "--port", str(port)], env=env
        )
        try:
            wait_ready(url, server, AUTH)
            failures = _fuzz(url, args.cases)
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(30)
    sys.exit(1 if failures else 0)


def _fuzz(url: str, cases: int) -> int:
    user, _sep, password = AUTH.partition(":")
    headers = {"Authorization": "Basic " + base64.b64encode(AUTH.encode()).decode()}
    document = httpx.get(f"{url}/api/openapi.json", auth=(user, password), timeout=60).json()
    operations = [_ok(r) for r in schemathesis.openapi.from_dict(document).get_all_operations()]
    total, failures = 0, 0
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            statuses: Counter[int] = Counter()
            problem = ""
            try:
                _fuzz_one(operation, mode, cases, url, headers, statuses)
            except Exception as exc:  # reported, then the other routes go on
                problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            n = sum(statuses.values())
            total += n
            failures += bool(problem)
            shown = ", ".join(f"{code}×{k}" for code, k in sorted(statuses.items()))
            verdict = "FAILED: " + problem if problem else "ok"
            print(f"{operation.label:<36} {mode.value:<9} {n:>5} cases  [{shown}]  {verdict}")
    print(f"\n{total} requests over {len(operations)} routes; {failures} route/mode pairs failed")
    return failures


def _fuzz_one(
    operation: Any,
    mode: GenerationMode,
    cases: int,
    url: str,
    headers: dict[str, str],
    statuses: Counter[int],
) -> None:
    """`cases` requests of one kind to one route; raises on the first failed check."""
    excluded = BEYOND_SCHEMA.get(operation.label, [])

    @hypothesis_settings(
        max_examples=cases,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        response = case.call_and_validate(
            base_url=url, headers=headers, timeout=120, excluded_checks=excluded
        )
        statuses[response.status_code] += 1
        if 400 <= response.status_code < 500:
            error = response.json().get("error")
            assert isinstance(error, str) and error and "\n" not in error

    run()


def _ok(result: Any) -> Any:
    """An operation of the schema, or SystemExit naming what is wrong with the schema."""
    if hasattr(result, "ok"):
        return result.ok()
    raise SystemExit(f"the API's own schema is invalid: {result.err()}")


if __name__ == "__main__":
    main()
