"""JSON and JSON Lines reader: records in the MultiHop-RAG corpus shape and common aliases."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from rag.errors import InputError
from rag.ingest.dates import parse_date
from rag.ingest.load.text import decode_checked
from rag.types import FileError, RawArticle

# Field name in the file (lower-cased) → RawArticle field. The first present alias wins, in
# this order; MultiHop-RAG's own names come first.
ALIASES: dict[str, tuple[str, ...]] = {
    "body": ("body", "text", "content"),
    "title": ("title", "headline", "name"),
    "source": ("source", "outlet", "publisher", "site_name", "sitename"),
    "published_at": ("published_at", "date", "publishedat", "pubdate", "published", "datetime"),
    "url": ("url", "link", "canonical_url"),
    "author": ("author", "byline", "authors", "creator"),
    "category": ("category", "section", "topic"),
    "dateline": ("dateline",),
}
_NESTED_LISTS = ("articles", "items", "data", "results", "records", "documents")
# A news record is an object of fields, some holding a list or a small object; deeper nesting
# is not news, and past Python's recursion limit it cannot even be parsed.
MAX_DEPTH = 32
_NO_BODY = "record has no body (expected one of: body, text, content)"


def _text_value(value: Any) -> str | None:
    """A string field; lists of strings (paragraphs, several authors) are joined."""
    if value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        return value if value and value.lower() not in ("none", "null") else None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return _text_value("\n\n".join(v for v in value if v.strip()))
    if isinstance(value, Mapping):
        # {"name": ...} for authors and sources in NewsAPI-style exports
        return _text_value(value.get("name"))
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _lookup(record: Mapping[str, Any], field: str) -> Any:
    lowered = {str(k).lower(): v for k, v in record.items()}
    for alias in ALIASES[field]:
        if alias in lowered and lowered[alias] not in (None, ""):
            return lowered[alias]
    return None


def record_to_article(record: Any, origin: str) -> RawArticle:
    """One JSON object → RawArticle; InputError naming the record when it cannot be one."""
    if not isinstance(record, Mapping):
        raise InputError(origin, f"record is a JSON {_kind(record)}, not an object")
    raw_body = _lookup(record, "body")
    if raw_body is None:
        raise InputError(origin, _NO_BODY)
    if not isinstance(raw_body, str | list):
        raise InputError(origin, f"record body is a JSON {_kind(raw_body)}, not text")
    if isinstance(raw_body, list) and not all(isinstance(v, str) for v in raw_body):
        kinds = sorted({_kind(v) for v in raw_body if not isinstance(v, str)})
        raise InputError(
            origin,
            f"record body is a JSON array holding {' and '.join(kinds)} values, not text "
            "(a body is a string, or an array of paragraph strings)",
        )
    body = _text_value(raw_body)
    if body is None:
        raise InputError(origin, "record body is empty")
    published: datetime | None = None
    raw_date = _lookup(record, "published_at")
    if raw_date is not None:
        is_scalar = isinstance(raw_date, str | int | float)
        published = parse_date(raw_date if is_scalar else str(raw_date), origin)
    return RawArticle(
        body=body,
        origin=origin,
        title=_text_value(_lookup(record, "title")),
        source=_text_value(_lookup(record, "source")),
        published_at=published,
        url=_text_value(_lookup(record, "url")),
        author=_text_value(_lookup(record, "author")),
        dateline=_text_value(_lookup(record, "dateline")),
        category=_text_value(_lookup(record, "category")),
        fmt="json",
    )


def _kind(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")


def _records(document: Any, origin: str) -> list[Any]:
    if isinstance(document, list):
        return document
    if isinstance(document, Mapping):
        for key in _NESTED_LISTS:
            nested = document.get(key)
            if isinstance(nested, list):
                return nested
        return [document]
    raise InputError(
        origin, f"expected a JSON object or an array of objects, found a {_kind(document)}"
    )


def parse_json(text: str, origin: str) -> Any:
    """json.loads with a bound on nesting: InputError naming the input when it is deeper."""
    too_deep = (
        f"JSON is nested more than {MAX_DEPTH} levels deep; a news record is an object of fields"
    )
    try:
        value = json.loads(text)
    except RecursionError:
        raise InputError(origin, too_deep) from None
    if _depth_over(value, MAX_DEPTH):
        raise InputError(origin, too_deep)
    return value


def _depth_over(value: Any, limit: int) -> bool:
    """Whether lists and objects nest more than `limit` deep (iteratively: no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        )
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > limit:
                    return True
                stack.append((child, depth + 1))
    return False


def _yield_records(records: list[Any], origin: str) -> Iterator[RawArticle | FileError]:
    for index, record in enumerate(records):
        try:
            yield record_to_article(record, f"{origin}#{index}")
        except InputError as exc:
            yield FileError(exc.origin, exc.reason)


def read_jsonl(text: str, origin: str) -> Iterator[RawArticle | FileError]:
    """One JSON object per line; a bad line is one FileError and the others still load.

    Record indexes count lines from 0, so "file.jsonl#4" is on line 5 whatever is blank."""
    for number, line in enumerate(text.split("\n")):
        if not line.strip():
            continue
        record_origin = f"{origin}#{number}"
        try:
            record = parse_json(line, record_origin)
        except json.JSONDecodeError as exc:
            yield FileError(
                record_origin,
                f"line {number + 1}, column {exc.colno} is not valid JSON ({exc.msg})",
            )
            continue
        except InputError as exc:
            yield FileError(exc.origin, f"line {number + 1}: {exc.reason}")
            continue
        try:
            yield record_to_article(record, record_origin)
        except InputError as exc:
            yield FileError(exc.origin, exc.reason)


def read_json(data: bytes, origin: str, *, lines: bool = False) -> Iterator[RawArticle | FileError]:
    """A JSON document (array, object, or object holding a list) or, with `lines`, JSON Lines."""
    text = decode_checked(data, origin)
    if lines:
        yield from read_jsonl(text, origin)
        return
    try:
        document = parse_json(text, origin)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data" and _is_jsonl(text):
            yield from read_jsonl(text, origin)  # JSON Lines saved as .json
            return
        raise InputError(
            origin,
            f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}; "
            "fix it, or write one object per line in a .jsonl file",
        ) from None
    yield from _yield_records(_records(document, origin), origin)


def _is_jsonl(text: str) -> bool:
    first = next((line for line in text.split("\n") if line.strip()), "")
    try:
        return isinstance(parse_json(first, ""), dict)
    except (json.JSONDecodeError, InputError):
        return False
