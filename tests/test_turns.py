"""Turns at the model: first come, first served; a full line or a long wait is a clear 503."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path

import httpx
import pytest

from rag import Pipeline, Settings
from rag.errors import BusyError
from rag.llm import Message
from rag.llm.turns import Turns
from tests.conftest import SEED, ingested
from tests.fakes import install_scripted_llm
from tests.test_api import free_port
from ui.server import start_in_thread


def _wait_for(predicate: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_waiters_are_served_in_arrival_order() -> None:
    turns = Turns(max_waiting=10, timeout_s=10)
    served: list[int] = []

    def answer(n: int) -> None:
        with turns.turn():
            served.append(n)

    with turns.turn():
        threads = []
        for n in range(5):
            t = threading.Thread(target=answer, args=(n,))
            t.start()
            threads.append(t)
            _wait_for(lambda n=n: turns.waiting == n + 1)
    for t in threads:
        t.join(10)
    assert served == [0, 1, 2, 3, 4]
    assert turns.waiting == 0


def test_a_full_line_is_refused_at_once() -> None:
    turns = Turns(max_waiting=1, timeout_s=10)
    with turns.turn():
        waiter = threading.Thread(target=lambda: turns.turn().__enter__())
        waiter.start()
        _wait_for(lambda: turns.waiting == 1)
        started = time.monotonic()
        with pytest.raises(BusyError, match="1 waiting"), turns.turn():
            pass
        assert time.monotonic() - started < 1.0


def test_a_long_wait_ends_with_busy_and_leaves_the_line() -> None:
    turns = Turns(max_waiting=5, timeout_s=0.2)
    with turns.turn():
        with pytest.raises(BusyError, match="DATELINE_QUEUE_TIMEOUT"), turns.turn():
            pass
        assert turns.waiting == 0
    with turns.turn():  # free again
        pass


def test_the_api_says_busy_with_retry_after(
    tmp_path_factory: pytest.TempPathFactory, model_cache: Path
) -> None:
    store = ingested(tmp_path_factory, model_cache, [SEED], 1)
    release = threading.Event()
    entered = threading.Event()

    def slow_model(_messages: Sequence[Message]) -> str:
        entered.set()
        release.wait(30)
        return "INSUFFICIENT"

    install_scripted_llm(slow_model)
    settings: Settings = store.with_(llm="scripted", queue_timeout=0.5, port=free_port())
    running = start_in_thread(Pipeline(settings), settings)
    try:
        with httpx.Client(base_url=running.url, timeout=60) as client:
            first = threading.Thread(
                target=lambda: client.post("/api/ask", json={"question": "Who died?"})
            )
            first.start()
            assert entered.wait(30)
            r = client.post("/api/ask", json={"question": "Who asked for help?"})
            assert r.status_code == 503
            assert r.headers["retry-after"] == "30"
            assert "busy" in r.json()["error"] and "try again" in r.json()["error"]
            release.set()
            first.join(30)
    finally:
        release.set()
        running.stop()
