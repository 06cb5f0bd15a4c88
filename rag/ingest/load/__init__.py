"""Loading: files and folders → RawArticles (one reader per format) or FileErrors, never raising."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

from rag.errors import InputError
from rag.ingest.load.feed import read_feed
from rag.ingest.load.html import read_html
from rag.ingest.load.jsonl import read_json
from rag.ingest.load.text import READS, read_text
from rag.types import FileError, RawArticle

TEXT_EXTENSIONS = frozenset({".txt", ".text", ".md", ".markdown"})
JSON_EXTENSIONS = frozenset({".json"})
JSONL_EXTENSIONS = frozenset({".jsonl", ".ndjson"})
HTML_EXTENSIONS = frozenset({".html", ".htm", ".xhtml"})
FEED_EXTENSIONS = frozenset({".xml", ".rss", ".atom"})
SUPPORTED_EXTENSIONS: frozenset[str] = (
    TEXT_EXTENSIONS | JSON_EXTENSIONS | JSONL_EXTENSIONS | HTML_EXTENSIONS | FEED_EXTENSIONS
)  # files without an extension are read too, by sniffing their start

DEFAULT_MAX_BYTES = 20 * 2**20
_SNIFF_BYTES = 2048

__all__ = [
    "DEFAULT_MAX_BYTES",
    "SUPPORTED_EXTENSIONS",
    "iter_files",
    "read_file",
    "read_paths",
]


def _hidden(name: str) -> bool:
    return name.startswith(".") or name.startswith("~$")  # dot files, Office lock files


def _wanted(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED_EXTENSIONS or path.suffix == ""


def iter_files(paths: Sequence[Path | str]) -> Iterator[Path | FileError]:
    """Files named, and the readable files inside folders named (recursively, sorted).

    Inside folders, hidden files and folders and files of unsupported types are skipped; a
    file named explicitly is always yielded (read_file explains what is wrong with it). A path
    that does not exist yields a FileError.
    """
    for item in paths:
        path = Path(item)
        try:
            is_dir, exists = path.is_dir(), path.exists()
        except OSError as exc:  # a path inside a folder we may not enter
            yield FileError(str(item), _os_reason(exc))
            continue
        if is_dir:
            problems: list[OSError] = []
            for root, dirs, files in os.walk(path, onerror=problems.append):
                dirs[:] = sorted(d for d in dirs if not _hidden(d))
                for name in sorted(files):
                    child = Path(root) / name
                    if not _hidden(name) and _wanted(child):
                        yield child
                while problems:
                    problem = problems.pop(0)
                    yield FileError(str(problem.filename or root), _os_reason(problem))
            for problem in problems:  # the top folder itself could not be listed
                yield FileError(str(problem.filename or path), _os_reason(problem))
        elif exists:
            yield path
        else:
            yield FileError(str(item), "no such file or folder")


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "permission denied; make it readable and retry"
    return f"cannot read it ({exc.strerror or exc})"


def _megabytes(size: float) -> str:
    return f"{size / 2**20:.1f}".removesuffix(".0")


def _sniff(head: bytes) -> str:
    """The reader for content that its name does not tell: by its first characters."""
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if start.startswith((b"<rss", b"<feed", b"<?xml", b"<rdf:rdf")):
        if start.startswith(b"<?xml") and b"<html" in start:
            return "html"
        return "feed"
    if start.startswith((b"<!doctype html", b"<html")):
        return "html"
    if start.startswith((b"[", b"{")):
        return "json"
    return "text"


def _reader_for(path: Path, head: bytes) -> str:
    suffix = path.suffix.lower()
    if suffix in TEXT_EXTENSIONS:
        return "text"
    if suffix in JSON_EXTENSIONS:
        return "json"
    if suffix in JSONL_EXTENSIONS:
        return "jsonl"
    if suffix in HTML_EXTENSIONS:
        return "html"
    if suffix in FEED_EXTENSIONS:
        return "feed"  # the feed reader rejects XML that is not a feed
    if suffix == "":
        return _sniff(head)
    raise InputError(
        str(path),
        f"unsupported file type {path.suffix!r}; Dateline reads {READS} files "
        f"({', '.join(sorted(SUPPORTED_EXTENSIONS))})",
    )


def _read_bytes(path: Path, origin: str, max_bytes: int) -> bytes:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise InputError(
                origin,
                f"file is {_megabytes(size)} MB, over the {_megabytes(max_bytes)} MB limit; "
                "split it or raise DATELINE_MAX_FILE_MB",
            )
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)  # the file may have grown since stat
    except IsADirectoryError:
        raise InputError(origin, "this is a folder, not a file") from None
    except OSError as exc:
        raise InputError(origin, _os_reason(exc)) from None
    if len(data) > max_bytes:
        raise InputError(origin, f"file is over the {_megabytes(max_bytes)} MB limit")
    return data


def read_file(
    path: Path | str, *, source: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES
) -> Iterator[RawArticle | FileError]:
    """The articles in one file, each a RawArticle, or a FileError per bad file or record.

    The reader is picked by extension, or by the first bytes for files without one. `source`
    names the outlet for articles whose file does not. Never raises for bad input.
    """
    path = Path(path)
    origin = str(path)
    try:
        data = _read_bytes(path, origin, max_bytes)
        kind = _reader_for(path, data[:_SNIFF_BYTES])
        for item in _read(kind, data, origin):
            if isinstance(item, RawArticle) and source and not item.source:
                item = replace(item, source=source)
            yield item
    except InputError as exc:
        yield FileError(exc.origin, exc.reason)


def _read(kind: str, data: bytes, origin: str) -> Iterator[RawArticle | FileError]:
    if kind == "text":
        return read_text(data, origin)
    if kind in ("json", "jsonl"):
        return read_json(data, origin, lines=kind == "jsonl")
    if kind == "html":
        return read_html(data, origin)
    return read_feed(data, origin)


def read_paths(
    paths: Sequence[Path | str],
    *,
    source: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Iterator[RawArticle | FileError]:
    """iter_files + read_file: every article found under the paths, and every problem."""
    for item in iter_files(paths):
        if isinstance(item, FileError):
            yield item
        else:
            yield from read_file(item, source=source, max_bytes=max_bytes)
