"""The ingest run: files read and cleaned, new or changed articles split, chunked, embedded
and written to the store; unchanged ones cost no embedding."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from rag.config import Settings
from rag.embed import get_embedder
from rag.embed.vectors import EMBED_GROUP, embed_article_chunks
from rag.errors import DatelineError, InputError
from rag.ingest.chunk import make_chunks
from rag.ingest.clean import clean
from rag.ingest.identity import article_id, content_hash
from rag.ingest.load import iter_files, read_file
from rag.ingest.sentences import fit_window, split_sentences
from rag.types import Article, Chunk, FileError, IngestReport, RawArticle

if TYPE_CHECKING:
    from rag.store import NewsStore

log = logging.getLogger("dateline.ingest")

# (stage, done, total): stage is "read" (files), "split" (new or changed articles into
# sentences) or "embed" (chunks); total None when unknown.
Progress = Callable[[str, int, int | None], None]


@dataclass(frozen=True)
class Cleaned:
    """A reader's article after cleaning, with its id and content hash, not yet split."""

    raw: RawArticle  # cleaned: body, title, source and date normalised
    id: str
    content_hash: str


def clean_article(raw: RawArticle) -> Cleaned:
    """A reader's raw article → cleaned text with a stable id and a hash of its content."""
    cleaned = clean(raw)
    return Cleaned(
        raw=cleaned,
        id=article_id(cleaned),
        content_hash=content_hash(cleaned.body, cleaned),
    )


def build_article(item: Cleaned) -> Article:
    """A cleaned article → Article with its sentences."""
    cleaned = item.raw
    sentences = split_sentences(cleaned.body)
    if not sentences:
        raise InputError(cleaned.origin, "no sentences found in the article text")
    assert cleaned.published_at is None or cleaned.published_at.tzinfo is not None
    return Article(
        id=item.id,
        text=cleaned.body,
        sentences=sentences,
        title=cleaned.title or "",
        source=cleaned.source or "unknown",
        published_at=cleaned.published_at,
        url=cleaned.url,
        origin=cleaned.origin,
        content_hash=item.content_hash,
        author=cleaned.author,
        dateline=cleaned.dateline,
        category=cleaned.category,
    )


def read_articles(
    paths: Sequence[Path | str],
    settings: Settings,
    *,
    source: str | None,
    report: IngestReport,
    progress: Progress | None = None,
) -> list[Cleaned]:
    """Read and clean every input; bad inputs go to report.failed and the rest goes on.

    Sentence splitting (the slow part of reading) waits until the store says the article is
    new or changed, so an unchanged re-ingest costs only reading, cleaning and hashing.
    """
    max_bytes = int(settings.max_file_mb * 2**20)
    files: list[Path] = []
    for item in iter_files(paths):
        if isinstance(item, FileError):
            report.failed.append(item)
        else:
            files.append(item)
    articles: list[Cleaned] = []
    for n, path in enumerate(files, 1):
        try:
            for got in read_file(path, source=source, max_bytes=max_bytes):
                if isinstance(got, FileError):
                    report.failed.append(got)
                    continue
                try:
                    articles.append(clean_article(got))
                except InputError as exc:
                    report.failed.append(FileError(exc.origin, exc.reason))
        except Exception as exc:  # one unreadable file must not sink the others
            report.failed.append(_unexpected(str(path), exc))
        if progress:
            progress("read", n, len(files))
    return articles


def _unexpected(origin: str, exc: Exception) -> FileError:
    """A reader's failure Dateline did not foresee: logged in full, one line for the user."""
    log.info("%s could not be read", origin, exc_info=exc)
    return FileError(
        origin,
        f"could not be read ({type(exc).__name__}); the other files went on. This is a "
        "Dateline bug: please report it with the file (`dateline -v ingest` shows the details)",
    )


def ingest(
    paths: Sequence[Path | str],
    settings: Settings,
    *,
    source: str | None = None,
    store: NewsStore | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    """Ingest files and folders into the store; unchanged articles cost no embedding."""
    t0 = time.perf_counter()
    store = store or _open(settings)
    report = IngestReport()
    store.recover()
    articles = read_articles(paths, settings, source=source, report=report, progress=progress)
    _store_cleaned(articles, settings, store, report, progress)
    report.seconds = time.perf_counter() - t0
    return report


def ingest_raw(
    raws: Sequence[RawArticle],
    settings: Settings,
    *,
    store: NewsStore | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    """Ingest articles a reader has already made (a watched feed's entries): the same path
    as files from cleaning on, so ids, replacement on change and errors are the same."""
    t0 = time.perf_counter()
    store = store or _open(settings)
    report = IngestReport()
    store.recover()
    articles: list[Cleaned] = []
    for raw in raws:
        try:
            articles.append(clean_article(raw))
        except InputError as exc:
            report.failed.append(FileError(exc.origin, exc.reason))
    _store_cleaned(articles, settings, store, report, progress)
    report.seconds = time.perf_counter() - t0
    return report


def _open(settings: Settings) -> NewsStore:
    from rag.store import NewsStore

    return NewsStore(settings)


def _store_cleaned(
    articles: Sequence[Cleaned],
    settings: Settings,
    store: NewsStore,
    report: IngestReport,
    progress: Progress | None,
) -> None:
    """Split, chunk, embed and write the new or changed articles; count the unchanged."""
    # The same identity twice in one run (one URL in two files): the first one counts.
    unique: dict[str, Cleaned] = {}
    for a in articles:
        if a.id in unique:
            log.info("%s: same article as %s; skipped", a.raw.origin, unique[a.id].raw.origin)
            report.unchanged.append(a.id)
        else:
            unique[a.id] = a
    stored = store.content_hashes(list(unique))
    changed = [a for a in unique.values() if stored.get(a.id) != a.content_hash]
    report.unchanged.extend(a.id for a in unique.values() if stored.get(a.id) == a.content_hash)
    todo: list[Article] = []
    for n, a in enumerate(changed, 1):
        try:
            todo.append(build_article(a))
        except InputError as exc:
            report.failed.append(FileError(exc.origin, exc.reason))
        except Exception as exc:  # as in read_articles
            report.failed.append(_unexpected(a.raw.origin, exc))
        if progress and (n % 50 == 0 or n == len(changed)):
            progress("split", n, len(changed))
    if todo:
        _write_new(todo, stored, settings, store, report, progress)
        # The search side of the lexical index catches up now, while ingest is what the user
        # waits for, not at the next question.
        store.settle()


def _write_new(
    todo: list[Article],
    stored: dict[str, str],
    settings: Settings,
    store: NewsStore,
    report: IngestReport,
    progress: Progress | None,
) -> None:
    embedder = get_embedder(settings)
    # No unit may outgrow the model's window, nor a passage's budget (a chunk's).
    window = min(embedder.max_tokens - 2, settings.chunk_max_tokens)
    todo = [
        replace(a, sentences=fit_window(a.text, a.sentences, embedder.count_tokens, window))
        for a in todo
    ]
    planned = [
        (
            a,
            make_chunks(
                a,
                embedder.count_tokens,
                max_tokens=settings.chunk_max_tokens,
                overlap=settings.chunk_overlap_sentences,
            ),
        )
        for a in todo
    ]
    # Every chunk and every sentence gets a vector: retrieval ranks chunks, then picks each
    # article's passage by its sentences' vectors (made in the chunks' own pass).
    total = sum(len(c) for _a, c in planned)
    done = 0
    for group in _groups(planned, EMBED_GROUP * 2):
        chunks = [c for _a, cs in group for c in cs]
        try:
            vectors, s_vectors = embed_article_chunks(
                [(a, cs) for a, cs in group], embedder, progress, done, total
            )
            items = []
            pos = 0
            for (article, cs), sv in zip(group, s_vectors, strict=True):
                items.append((article, cs, vectors[pos : pos + len(cs)], sv))
                pos += len(cs)
            store.write(items)
        except DatelineError as exc:
            for article, _cs in group:
                report.failed.append(FileError(article.origin, f"not stored: {exc}", retry=True))
            continue
        done += len(chunks)
        report.chunks_written += len(chunks)
        for article, _cs in group:
            (report.updated if article.id in stored else report.added).append(article.id)


def _groups(
    planned: Iterable[tuple[Article, list[Chunk]]], size: int
) -> Iterable[list[tuple[Article, list[Chunk]]]]:
    group: list[tuple[Article, list[Chunk]]] = []
    n = 0
    for item in planned:
        group.append(item)
        n += len(item[1])
        if n >= size:
            yield group
            group, n = [], 0
    if group:
        yield group
