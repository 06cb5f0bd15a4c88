"""RSS and Atom reader: each feed entry with text becomes an article, via feedparser."""

from __future__ import annotations

import calendar
import io
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from rag.errors import InputError
from rag.ingest.dates import parse_date
from rag.ingest.load.html import html_to_text
from rag.types import FileError, RawArticle


def _entry_date(entry: Mapping[str, Any], origin: str) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = entry.get(key)
        if parsed:  # feedparser normalises to a UTC struct_time
            return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
    for key in ("published", "updated", "created"):
        if entry.get(key):
            return parse_date(entry[key], origin)  # present but unknown to feedparser
    return None


def _entry_text(entry: Mapping[str, Any]) -> str:
    """The fullest text an entry carries: its content, else its summary, as plain text."""
    candidates = [c.get("value", "") for c in entry.get("content") or []]
    candidates.append(entry.get("summary") or "")
    texts = [html_to_text(c) for c in candidates if c and c.strip()]
    return max(texts, key=len, default="")


def read_feed(data: bytes, origin: str) -> Iterator[RawArticle | FileError]:
    """One RawArticle per entry; an entry without text is a FileError "file#entry-N" (N from 1)."""
    import feedparser

    # A stream, not bytes: feedparser treats a bytes argument as a possible file name first.
    parsed = feedparser.parse(io.BytesIO(data))
    if not parsed.get("version"):  # XML feedparser does not know as RSS, Atom or RDF
        problem = parsed.get("bozo_exception")
        detail = f" ({problem})" if problem else ""
        raise InputError(
            origin, f"not an RSS or Atom feed{detail}; an .xml file must be a news feed"
        )
    feed_title = html_to_text(parsed.feed.get("title") or "") or None
    if not parsed.entries:
        raise InputError(origin, "the feed has no entries")
    for number, entry in enumerate(parsed.entries, start=1):
        entry_origin = f"{origin}#entry-{number}"
        try:
            body = _entry_text(entry)
            if not body:
                raise InputError(entry_origin, "feed entry has no text (no content or summary)")
            yield RawArticle(
                body=body,
                origin=entry_origin,
                title=html_to_text(entry.get("title") or "") or None,
                source=feed_title,
                published_at=_entry_date(entry, entry_origin),
                url=entry.get("link") or None,
                author=entry.get("author") or None,
                category=(entry.get("tags") or [{}])[0].get("term") or None,
                fmt="feed",
                summary_only=not any(
                    (c.get("value") or "").strip() for c in entry.get("content") or []
                ),
            )
        except InputError as exc:
            yield FileError(exc.origin, exc.reason)
