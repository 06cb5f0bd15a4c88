"""A `dateline serve` subprocess for the benchmarks that need a real server (load, fuzzing)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent  # the virtual environment's dateline and locust


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, server: subprocess.Popen[bytes], auth: str, timeout: float = 300) -> None:
    """Return once GET /api/health answers; SystemExit saying why when it never does."""
    user, _sep, password = auth.partition(":")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server stopped (exit {server.returncode}); see its log")
        try:
            if httpx.get(f"{url}/api/health", auth=(user, password), timeout=5).is_success:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise SystemExit(f"the server at {url} did not answer within {timeout:.0f} s")
