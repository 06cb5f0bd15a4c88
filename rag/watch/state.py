"""Each watched source's state (validators, what was seen, failures, when next due), kept in
one JSON file in the data folder and replaced whole, so a crash never leaves half of it."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

log = logging.getLogger("dateline.watch")

STATE_FILE = "watch.json"
_FORMAT = 1


@dataclass
class SourceState:
    """What the last polls of one source left to know."""

    last_poll: str | None = None  # ISO time of the last poll, whatever its outcome
    last_success: str | None = None
    etag: str | None = None  # the feed's validators, sent back as a conditional request
    last_modified: str | None = None
    seen: dict[str, str] = field(default_factory=dict)  # feed entry key -> its fingerprint
    files: dict[str, list[int]] = field(default_factory=dict)  # path -> [mtime_ns, size]
    failures: int = 0  # polls failed in a row
    last_error: str | None = None
    next_due: float = 0.0  # epoch seconds


class WatchState:
    """All sources' states, read once and written after every poll."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sources: dict[str, SourceState] = {}
        if path.exists():
            self._load()

    def _load(self) -> None:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            known = {f.name for f in fields(SourceState)}
            self.sources = {
                key: SourceState(**{k: v for k, v in value.items() if k in known})
                for key, value in raw["sources"].items()
            }
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            # Unreadable state costs only work: every source is polled afresh, and ingest
            # skips what the store already holds.
            bad = self.path.with_suffix(".json.bad")
            os.replace(self.path, bad)
            log.warning(
                "the watch state %s could not be read (%s); it was moved to %s and every "
                "source will be polled afresh (nothing already stored is ingested twice)",
                self.path,
                exc,
                bad,
            )
            self.sources = {}

    def get(self, key: str) -> SourceState:
        return self.sources.setdefault(key, SourceState())

    def save(self) -> None:
        data: dict[str, Any] = {
            "format": _FORMAT,
            "sources": {k: asdict(v) for k, v in self.sources.items()},
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".watch-", suffix=".json", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, indent=1, sort_keys=True)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
