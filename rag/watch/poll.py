"""One poll of one source: what is new or changed since the last poll goes to ingest; a feed
entry that carries only a summary is replaced by its linked page's article text."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from rag.errors import InputError
from rag.ingest import Progress
from rag.ingest.load import iter_files
from rag.ingest.load.feed import read_feed
from rag.ingest.load.html import read_html
from rag.types import FileError, IngestReport, RawArticle
from rag.watch.fetch import Fetched
from rag.watch.sources import WatchSource
from rag.watch.state import SourceState

Fetch = Callable[..., Fetched]


class Ingestor(Protocol):
    """What a poll hands its articles to (a Pipeline): the normal ingest path."""

    def ingest(
        self,
        paths: Sequence[Path | str],
        *,
        source: str | None = None,
        progress: Progress | None = None,
    ) -> IngestReport: ...

    def ingest_raw(
        self, raws: Sequence[RawArticle], *, progress: Progress | None = None
    ) -> IngestReport: ...


@dataclass
class PollResult:
    """What one poll of one source did."""

    source: WatchSource
    status: str  # "not modified" | "no change" | "ingested" | "failed"
    seen: int = 0  # entries in the feed, or files under the folder
    changed: int = 0  # of those, new or changed since the last poll (sent to ingest)
    pages: int = 0  # linked pages fetched for summary-only entries
    report: IngestReport | None = None
    problems: list[FileError] = field(default_factory=list)  # entries/pages that failed
    error: str | None = None  # why the whole poll failed
    retry_in: float | None = None  # seconds until the next try, after a failure
    seconds: float = 0.0

    @property
    def failed_items(self) -> list[FileError]:
        return [*self.problems, *(self.report.failed if self.report else [])]

    def line(self) -> str:
        """One line for people."""
        head = str(self.source)
        took = f"({self.seconds:.1f} s)"
        if self.status == "failed":
            again = f"; next try in {_duration(self.retry_in)}" if self.retry_in else ""
            return f"{head}: failed: {self.error}{again}"
        if self.status == "not modified":
            return f"{head}: not modified since the last poll {took}"
        what = "entries" if self.source.kind == "feed" else "files"
        if self.status == "no change":
            return f"{head}: {self.seen} {what}, none new or changed {took}"
        r = self.report or IngestReport()
        pages = f", {self.pages} linked pages fetched" if self.pages else ""
        return (
            f"{head}: {self.seen} {what}, {self.changed} new or changed{pages} → added "
            f"{len(r.added)}, updated {len(r.updated)}, unchanged {len(r.unchanged)}, failed "
            f"{len(self.failed_items)} {took}"
        )

    def to_json(self) -> dict[str, object]:
        return {
            "source": self.source.location,
            "kind": self.source.kind,
            "status": self.status,
            "seen": self.seen,
            "changed": self.changed,
            "pages": self.pages,
            "report": self.report.to_json() if self.report else None,
            "errors": [{"origin": e.origin, "reason": e.reason} for e in self.failed_items],
            "error": self.error,
            "retry_in": self.retry_in,
            "seconds": round(self.seconds, 3),
        }


def _duration(seconds: float | None) -> str:
    s = seconds or 0.0
    if s >= 3600:
        return f"{s / 3600:.1f} h".replace(".0 h", " h")
    if s >= 60:
        return f"{s / 60:.0f} min"
    return f"{s:.0f} s"


def _entry_key(raw: RawArticle) -> str:
    """Which entry this is from one poll to the next: its link, else title and date."""
    return raw.url or f"{raw.title}|{raw.published_at}|{raw.origin}"


def _fingerprint(raw: RawArticle) -> str:
    """Whether an entry changed: its title, date, text and link."""
    parts = [raw.title or "", str(raw.published_at or ""), raw.body, raw.url or ""]
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]


def poll_feed(
    source: WatchSource,
    state: SourceState,
    ingestor: Ingestor,
    fetch: Fetch,
    *,
    max_bytes: int,
    progress: Progress | None = None,
) -> PollResult:
    """Fetch the feed conditionally; ingest its new and changed entries. Raises InputError
    when the feed cannot be fetched or read (the caller backs off)."""
    got = fetch(
        source.location, etag=state.etag, last_modified=state.last_modified, max_bytes=max_bytes
    )
    if got.status == 304:
        return PollResult(source, "not modified")
    entries = list(read_feed(got.body, source.location))
    result = PollResult(source, "no change")
    raws = [e for e in entries if isinstance(e, RawArticle)]
    result.problems = [e for e in entries if isinstance(e, FileError)]
    result.seen = len(entries)
    todo: list[tuple[str, str, RawArticle]] = []
    for raw in raws:
        key, print_ = _entry_key(raw), _fingerprint(raw)
        if state.seen.get(key) != print_:
            todo.append((key, print_, raw))
    result.changed = len(todo)
    keep = {_entry_key(r) for r in raws}
    if todo:
        articles = []
        retry: set[str] = set()  # origins to read again at the next poll
        for _key, _print, raw in todo:
            if raw.summary_only and raw.url:
                full, problem = _with_page(raw, fetch, max_bytes)
                result.pages += 1
                if problem:  # the summary stands in until the page can be had
                    result.problems.append(problem)
                    retry.add(raw.origin)
                articles.append(full)
            else:
                articles.append(raw)
        result.report = ingestor.ingest_raw(articles, progress=progress)
        result.status = "ingested"
        retry |= {e.origin for e in result.report.failed if e.retry}
        for (key, print_, _raw), article in zip(todo, articles, strict=True):
            if article.origin not in retry:
                state.seen[key] = print_
        if retry:
            # What the store could not take now, or a page that could not be fetched, must
            # come again: the next poll asks for the whole feed instead of a 304.
            got = replace(got, etag=None, last_modified=None)
    # Entries that left the feed are forgotten, so months of polling keep the state small.
    state.seen = {k: v for k, v in state.seen.items() if k in keep}
    state.etag, state.last_modified = got.etag, got.last_modified
    return result


def _with_page(
    raw: RawArticle, fetch: Fetch, max_bytes: int
) -> tuple[RawArticle, FileError | None]:
    """The entry with its linked page's article text (trafilatura), keeping the feed's title,
    outlet and date; the summary itself when the page cannot be had."""
    assert raw.url is not None
    try:
        page = fetch(raw.url, max_bytes=max_bytes)
        found = [p for p in read_html(page.body, raw.url) if isinstance(p, RawArticle)]
    except InputError as exc:
        return raw, FileError(
            raw.origin, f"the linked page could not be fetched ({exc.reason}); its summary was used"
        )
    if not found or len(found[0].body) <= len(raw.body):
        return raw, None
    text = found[0]
    return (
        replace(
            raw,
            body=text.body,
            title=raw.title or text.title,
            published_at=raw.published_at or text.published_at,
            author=raw.author or text.author,
            fmt="html",
            summary_only=False,
        ),
        None,
    )


def poll_path(
    source: WatchSource,
    state: SourceState,
    ingestor: Ingestor,
    *,
    progress: Progress | None = None,
) -> PollResult:
    """Ingest the files under the path that are new or changed (size or modification time)
    since the last poll."""
    result = PollResult(source, "no change")
    now: dict[str, list[int]] = {}
    for item in iter_files([source.location]):
        if isinstance(item, FileError):
            result.problems.append(item)
            continue
        try:
            st = item.stat()
        except OSError as exc:
            result.problems.append(FileError(str(item), f"cannot be read ({exc.strerror})"))
            continue
        now[str(item)] = [st.st_mtime_ns, st.st_size]
    result.seen = len(now)
    changed = [p for p, print_ in now.items() if state.files.get(p) != print_]
    result.changed = len(changed)
    if changed:
        result.report = ingestor.ingest(changed, progress=progress)
        result.status = "ingested"
        for e in result.report.failed:
            if e.retry:  # not stored now: the next poll tries the file again
                now.pop(e.origin.split("#", 1)[0], None)
    # A file that failed to read stays recorded: it is tried again when it changes.
    state.files = now
    return result
