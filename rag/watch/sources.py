"""What can be watched: a feed's http(s) URL or a folder (or file) of news, with how often."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from rag.errors import InputError

# Polling more often than this only loads a publisher's server; a month is the far end.
MIN_EVERY_S = 10.0
MAX_EVERY_S = 30 * 86400.0
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_EVERY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$", re.I)


@dataclass(frozen=True)
class WatchSource:
    """One watched source: a feed (URL) or a path (a folder, or one file), polled every
    `every` seconds."""

    kind: str  # "feed" | "path"
    location: str  # the URL, or the path made absolute
    every: float

    @property
    def key(self) -> str:
        """The source's name in the watch state."""
        return f"{self.kind}:{self.location}"

    def __str__(self) -> str:
        return f"{'feed' if self.kind == 'feed' else 'folder'} {self.location}"


def parse_every(text: str) -> float:
    """'15m', '30s', '2h', '1d' (a bare number is minutes) → seconds."""
    m = _EVERY.match(text or "")
    if m is None:
        raise InputError(
            "--every", f"{text!r} is not an interval; write a number and a unit: 30s, 15m, 2h, 1d"
        )
    seconds = float(m.group(1)) * _UNITS[(m.group(2) or "m").lower()]
    if not MIN_EVERY_S <= seconds <= MAX_EVERY_S:
        raise InputError(
            "--every",
            f"{text!r} is outside 10 seconds to 30 days; choose an interval in that range",
        )
    return seconds


def parse_source(text: str, every: float) -> WatchSource:
    """A feed URL (http or https) or an existing folder or file; anything else is an
    InputError naming it."""
    value = text.strip()
    if re.match(r"^[a-z][a-z0-9+.-]*://", value, re.I):
        parts = urlsplit(value)
        if parts.scheme.lower() not in ("http", "https"):
            raise InputError(value, "only http:// and https:// feeds can be watched")
        if not parts.hostname:
            raise InputError(value, "the URL names no host")
        return WatchSource("feed", value, every)
    path = Path(value).expanduser()
    if not value or not path.exists():
        raise InputError(
            value or "(empty)",
            "no such folder or file; give a folder of news files or a feed's http(s) URL",
        )
    return WatchSource("path", str(path.resolve()), every)
