"""Plain-text reader: wire copy and simple "Key: value" headed articles, plus byte decoding."""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Iterator
from datetime import datetime

from rag.errors import InputError
from rag.ingest.clean import take_provider
from rag.ingest.dates import parse_date
from rag.types import FileError, RawArticle

READS = "plain text, Markdown, JSON/JSONL, HTML and RSS/Atom"

# ---------------------------------------------------------------------------------------------
# Bytes → text
# ---------------------------------------------------------------------------------------------

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16: its BOM starts with UTF-16 LE's
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _has_controls(text: str) -> bool:
    """Control characters other than line breaks and tabs: the mark of binary data."""
    return any(unicodedata.category(c) == "Cc" and c not in "\n\r\t\f" for c in text)


def _mostly_ascii(text: str) -> bool:
    """Latin-1 news text is mostly ASCII with a few accented letters and symbols; binary data
    read as Windows-1252 is mostly symbols."""
    plain = sum(1 for c in text if " " <= c <= "~" or c in "\n\r\t")
    return plain / max(len(text), 1) > 0.7


def decode(data: bytes, origin: str) -> str:
    """Bytes of a text file → str: a BOM's encoding, else UTF-8, else Windows-1252 (Latin-1
    news archives) when that reads as clean text. Binary data is an InputError."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding).lstrip("\ufeff")
            except UnicodeDecodeError:
                raise InputError(
                    origin, f"the file starts with a {encoding} mark but does not decode as it"
                ) from None
    if b"\x00" in data:
        raise InputError(
            origin, f"binary file (it contains NUL bytes); Dateline reads {READS} files"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        utf8_error = exc
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        text = ""
    if text and not _has_controls(text) and _mostly_ascii(text):
        return text
    raise InputError(
        origin,
        f"not UTF-8 text (undecodable byte at offset {utf8_error.start}) and not readable as "
        "Windows-1252 either; save the file as UTF-8",
    )


def decode_checked(data: bytes, origin: str) -> str:
    """decode(), and an InputError for empty or blank files."""
    if not data:
        raise InputError(origin, "the file is empty")
    text = decode(data, origin)
    if not text.strip():
        raise InputError(origin, "the file has only white space")
    if _has_controls(text[:4096]):
        raise InputError(origin, f"binary file (control characters); Dateline reads {READS} files")
    return text


# ---------------------------------------------------------------------------------------------
# Plain-text articles
# ---------------------------------------------------------------------------------------------

# "Title: ...", "Source: ...", ... at the top, then a blank line, then the body.
_HEADER = re.compile(r"^(?P<key>[A-Za-z][A-Za-z _-]{0,20}?)\s*:\s*(?P<value>.*?)\s*$")
_HEADER_KEYS = {
    "title": "title",
    "headline": "title",
    "source": "source",
    "outlet": "source",
    "publisher": "source",
    "date": "published_at",
    "published": "published_at",
    "published at": "published_at",
    "published_at": "published_at",
    "pubdate": "published_at",
    "url": "url",
    "link": "url",
    "author": "author",
    "byline": "author",
    "by": "author",
    "category": "category",
    "section": "category",
    "dateline": "dateline",
}
# MENAFN-style copy opens with "date 2024-01-03 " before the text on the same line.
_DATE_PREFIX = re.compile(r"^\s*date\s*:?\s+(?P<date>\d\S*(?:[ T]\d{1,2}:\d{2}\S*)?)\s*", re.I)
_BYLINE = re.compile(r"^By (?P<name>[A-Z][\w.'’-]*(?: (?:[A-Z][\w.'’-]*|and|&|de|van|von)){0,5})$")
_TITLE_MAX = 150


def _header_block(lines: list[str]) -> tuple[dict[str, str], int]:
    """Fields of a "Key: value" block at the top and the index of the first body line."""
    fields: dict[str, str] = {}
    i = 0
    while i < len(lines) and not lines[i].strip():
        i += 1
    first = i
    while i < len(lines) and lines[i].strip():
        match = _HEADER.match(lines[i].strip())
        key = _HEADER_KEYS.get(match.group("key").strip().lower()) if match else None
        if match is None or key is None:
            break
        if match.group("value"):
            fields[key] = match.group("value")  # "Date:" with nothing after it is no date
        i += 1
    if i == first or (i < len(lines) and lines[i].strip()):
        # Not a header block unless it ends at a blank line (or the file): "Date: ..." could be
        # the first words of a paragraph.
        return {}, first
    return fields, i


def _title_line(lines: list[str], start: int) -> tuple[str | None, int]:
    """The first line as a title, when it is short, has no final period and stands alone
    (a blank line follows, or the next line's first word would have fitted on it)."""
    i = start
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i >= len(lines):
        return None, start
    line = lines[i].strip()
    markdown = line.startswith("# ")
    line = line.removeprefix("# ").strip() if markdown else line
    if not line or len(line) > _TITLE_MAX or line.endswith((".", ",", ";", ":")):
        return None, start
    if line.startswith(("(", "[", "-", "*")):
        return None, start
    nxt = lines[i + 1].strip() if i + 1 < len(lines) else ""
    widths = sorted(len(x.rstrip()) for x in lines[i + 1 : i + 41] if x.strip())
    width = widths[int(0.9 * (len(widths) - 1))] if widths else 0
    stands_alone = (
        markdown
        or not nxt
        or (width and len(line) + 1 + len(nxt.split(" ", 1)[0]) <= width and nxt[:1].isupper())
    )
    if not stands_alone or not any(x.strip() for x in lines[i + 1 :]):
        return None, start  # a lone line is the text itself, not a headline over nothing
    return line, i + 1


def read_text(data: bytes, origin: str) -> Iterator[RawArticle | FileError]:
    """One article per file. Hard wraps are left for clean() to undo."""
    text = decode_checked(data, origin).replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    fields, body_start = _header_block(lines)

    published: datetime | None = None
    raw_date = fields.get("published_at")
    if raw_date is not None:
        published = parse_date(raw_date, origin)
    source = fields.get("source") or None
    title = fields.get("title") or None

    # MENAFN-style copy opens its first line with "date 2024-01-03 (MENAFN- Trend News Agency) "
    # and then the text itself.
    k = body_start
    while k < len(lines) and not lines[k].strip():
        k += 1
    first = lines[k] if k < len(lines) else ""
    rest = first
    match = _DATE_PREFIX.match(rest)
    if match:
        if published is None:
            published = parse_date(match.group("date"), origin)
        rest = rest[match.end() :]
    provider, rest = take_provider(rest)
    source = source or provider
    if rest != first:
        if not rest.strip():
            body_start = k + 1
        else:
            lines[k] = rest.strip()
            nxt = lines[k + 1].strip() if k + 1 < len(lines) else ""
            if nxt and not lines[k].endswith((".", "!", "?", '"', "”")):
                # the first line was a full wrapped line: keep it one with its continuation so
                # the unwrapper does not mistake the short remainder for a paragraph end
                lines[k : k + 2] = [lines[k] + " " + nxt]
    elif title is None:
        title, body_start = _title_line(lines, body_start)

    author = fields.get("author") or None
    j = body_start
    while j < len(lines) and not lines[j].strip():
        j += 1
    if j < len(lines) and len(lines[j].strip()) < 80:
        byline = _BYLINE.match(lines[j].strip())
        if byline:
            author = author or byline.group("name")
            body_start = j + 1

    body = "\n".join(lines[body_start:])
    if not body.strip():
        raise InputError(origin, "the file has a header but no article text after it")
    yield RawArticle(
        body=body,
        origin=origin,
        title=title,
        source=source,
        published_at=published,
        url=fields.get("url") or None,
        author=author,
        dateline=fields.get("dateline") or None,
        category=fields.get("category") or None,
        fmt="text",
    )
