"""Watch: feeds and folders polled on an interval, their new and changed articles ingested
through the normal ingest path, with each source's state kept in the data folder."""

from rag.watch.fetch import Fetched, fetch
from rag.watch.poll import PollResult
from rag.watch.sources import WatchSource, parse_every, parse_source
from rag.watch.watcher import Watcher

__all__ = [
    "Fetched",
    "PollResult",
    "WatchSource",
    "Watcher",
    "fetch",
    "parse_every",
    "parse_source",
]
