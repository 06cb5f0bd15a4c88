"""The watch loop: each source polled when due, failures backed off and reported while the
others go on, the state saved after every poll; stops between polls when asked."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from rag.config import Settings
from rag.errors import DatelineError
from rag.ingest import Progress
from rag.watch.fetch import fetch as http_fetch
from rag.watch.poll import Fetch, Ingestor, PollResult, poll_feed, poll_path
from rag.watch.sources import WatchSource
from rag.watch.state import STATE_FILE, WatchState

log = logging.getLogger("dateline.watch")

# A failing source waits twice as long after each failure in a row, up to this (or its own
# interval, if longer): a feed down for a day is asked a few times an hour, not every minute.
MAX_BACKOFF_S = 6 * 3600.0
# How long the loop sleeps at most before looking at the clock and the stop flag again.
TICK_S = 1.0


class Watcher:
    """Polls sources into an Ingestor (a Pipeline), each on its own interval."""

    def __init__(
        self,
        sources: Sequence[WatchSource],
        ingestor: Ingestor,
        settings: Settings,
        *,
        fetch: Fetch = http_fetch,
        clock: Callable[[], float] = time.time,
        on_result: Callable[[PollResult], None] | None = None,
    ) -> None:
        self.sources = list(dict.fromkeys(sources))
        self.ingestor = ingestor
        self.fetch = fetch
        self.clock = clock
        self.on_result = on_result
        self.max_bytes = int(settings.max_file_mb * 2**20)
        self.state = WatchState(Path(settings.data_dir) / STATE_FILE)

    def due(self) -> list[WatchSource]:
        now = self.clock()
        return [s for s in self.sources if self.state.get(s.key).next_due <= now]

    def next_due(self) -> float:
        return min((self.state.get(s.key).next_due for s in self.sources), default=self.clock())

    def poll(self, source: WatchSource, progress: Progress | None = None) -> PollResult:
        """Poll one source now, record the outcome and when it is due again."""
        state = self.state.get(source.key)
        t0 = time.perf_counter()
        now = self.clock()
        state.last_poll = datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds")
        try:
            if source.kind == "feed":
                result = poll_feed(
                    source, state, self.ingestor, self.fetch, max_bytes=self.max_bytes,
                    progress=progress,
                )  # fmt: skip
            else:
                result = poll_path(source, state, self.ingestor, progress=progress)
        except DatelineError as exc:
            result = self._failed(source, now, str(exc), str(exc))
        except Exception as exc:  # a bug in one source's poll must not stop the others
            log.exception("polling %s failed", source)
            result = self._failed(
                source,
                now,
                f"{type(exc).__name__}: {exc}",
                f"unexpected {type(exc).__name__} (a Dateline bug: `dateline -v watch` shows "
                "the details; please report it)",
            )
        else:
            state.failures = 0
            state.last_error = None
            state.last_success = state.last_poll
            state.next_due = now + source.every
        result.seconds = time.perf_counter() - t0
        self.state.save()
        if self.on_result:
            self.on_result(result)
        return result

    def _failed(self, source: WatchSource, now: float, recorded: str, shown: str) -> PollResult:
        """Record a failed poll and back off: twice the wait after each failure in a row."""
        state = self.state.get(source.key)
        state.failures += 1
        state.last_error = recorded
        wait = min(source.every * 2**state.failures, max(MAX_BACKOFF_S, source.every))
        state.next_due = now + wait
        return PollResult(source, "failed", error=shown, retry_in=wait)

    def poll_all(
        self,
        *,
        due_only: bool = False,
        stop: threading.Event | None = None,
        progress: Progress | None = None,
    ) -> list[PollResult]:
        """Poll every source (or only those due) once, in order; stops between sources when
        `stop` is set."""
        results = []
        for source in self.due() if due_only else self.sources:
            if stop is not None and stop.is_set():
                break
            results.append(self.poll(source, progress))
        return results

    def wait_for_next(self, stop: threading.Event) -> None:
        """Sleep until the next source is due, at most TICK_S, or until `stop` is set."""
        wait = self.next_due() - self.clock()
        if wait > 0:
            stop.wait(min(wait, TICK_S))

    def run(self, stop: threading.Event, progress: Progress | None = None) -> None:
        """Poll each source when it is due until `stop` is set."""
        while not stop.is_set():
            self.poll_all(due_only=True, stop=stop, progress=progress)
            self.wait_for_next(stop)
