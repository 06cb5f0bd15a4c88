"""Turns at the model: answers that need it wait in arrival order, a bounded queue, and a
clear "busy" error instead of a request that hangs until its client gives up."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

from rag.errors import BusyError


class Turns:
    """A first-come, first-served lock with a bounded line of waiters."""

    def __init__(self, max_waiting: int, timeout_s: float) -> None:
        self.max_waiting = max_waiting
        self.timeout_s = timeout_s
        self._mutex = threading.Lock()
        self._waiters: deque[threading.Event] = deque()
        self._held = False

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Hold the model for one answer; BusyError when the line is full or the wait is over
        timeout_s (the message says how many are waiting and what to do)."""
        self._acquire()
        try:
            yield
        finally:
            self._release()

    def _acquire(self) -> None:
        with self._mutex:
            if not self._held and not self._waiters:
                self._held = True
                return
            if len(self._waiters) >= self.max_waiting:
                raise BusyError(
                    f"Dateline is answering other questions ({len(self._waiters)} waiting, the "
                    "most it queues; DATELINE_MAX_WAITING); try again in a minute"
                )
            granted = threading.Event()
            self._waiters.append(granted)
        if granted.wait(self.timeout_s):
            return
        with self._mutex:
            if granted.is_set():  # handed over just as the wait ran out
                return
            self._waiters.remove(granted)
        raise BusyError(
            f"Dateline was busy with other questions for {self.timeout_s:.0f} s "
            "(DATELINE_QUEUE_TIMEOUT); try again in a minute"
        )

    def _release(self) -> None:
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().set()  # handed straight to the next in line
            else:
                self._held = False
