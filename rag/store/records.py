"""Stored records ↔ typed data: the metadata Dateline writes for articles, chunks and
sentence vectors, and how it reads them back."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rag.types import Article, Chunk, Sentence

if TYPE_CHECKING:
    import numpy as np

    from vectorstore.base import Metadata, Record


@dataclass(frozen=True)
class ArticleInfo:
    """An article's metadata without its text (for listings and stats)."""

    id: str
    title: str
    source: str
    published_at: datetime | None
    url: str | None
    origin: str
    n_sentences: int
    n_chunks: int
    content_hash: str
    duplicate_of: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """What `dateline list --json` and GET /api/articles show for one article."""
        return {
            "id": self.id,
            "title": self.title,
            "source": self.source,
            "published_at": self.published_at.isoformat() if self.published_at else None,
            "url": self.url,
            "origin": self.origin,
            "sentences": self.n_sentences,
            "chunks": self.n_chunks,
            "duplicate_of": list(self.duplicate_of),
        }


def epoch(dt: datetime | None) -> int | None:
    return int(dt.timestamp()) if dt is not None else None


def from_epoch(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    return datetime.fromtimestamp(int(value), tz=UTC)


def iso_or_none(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def chunk_meta(chunk: Chunk) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "article_id": chunk.article_id,
        "content_hash": chunk.content_hash,
        "s_start": chunk.sentence_start,
        "s_end": chunk.sentence_end,
        "title": chunk.title,
        "source": chunk.source,
    }
    if chunk.published_at is not None:
        meta["published_at"] = epoch(chunk.published_at)
    return meta


def article_meta(a: Article, n_chunks: int) -> dict[str, Any]:
    # Every key is always written: Chroma's upsert merges metadata, so a key left out
    # would keep its old value.
    return {
        "title": a.title,
        "source": a.source,
        "published_at": epoch(a.published_at) if a.published_at else -1,
        "published_iso": a.published_at.isoformat() if a.published_at else "",
        "url": a.url or "",
        "author": a.author or "",
        "dateline": a.dateline or "",
        "category": a.category or "",
        "origin": a.origin,
        "content_hash": a.content_hash,
        "text_hash": text_hash(a.text),
        "sentences": json.dumps([[s.start, s.end] for s in a.sentences]),
        # Each sentence's wordpiece count (-1: not counted), apart from the offsets so that
        # an older Dateline sharing the store still reads them.
        "pieces": json.dumps([s.pieces for s in a.sentences]),
        "n_sentences": len(a.sentences),
        "n_chunks": n_chunks,
        "duplicate_of": json.dumps(list(a.duplicate_of)),
        "ingested_at": int(time.time()),
    }


def sentence_record(article: Article, vectors: np.ndarray) -> tuple[str, Any, str, Metadata]:
    """One record per article version holding all its sentence vectors: they are read back,
    never searched, and a record per sentence makes ingest much slower in Chroma. float16
    keeps cosines within ~1e-3."""
    import numpy as np

    rows = np.asarray(vectors, dtype=np.float32)
    mean = rows.mean(axis=0) if len(rows) else np.zeros(rows.shape[1], dtype=np.float32)
    meta: Metadata = {
        "article_id": article.id,
        "content_hash": article.content_hash,
        "n": len(rows),
        "dim": int(rows.shape[1]),
        "vectors": base64.b64encode(rows.astype(np.float16).tobytes()).decode("ascii"),
    }
    vector = mean / (float(np.linalg.norm(mean)) or 1.0)
    return f"{article.id}:{article.content_hash[:8]}", vector, "", meta


def columns(
    records: Sequence[tuple[str, Any, str, Metadata]],
) -> tuple[list[str], list[Any], list[str], list[Metadata]]:
    return (
        [r[0] for r in records],
        [r[1] for r in records],
        [r[2] for r in records],
        [r[3] for r in records],
    )


def text_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def to_chunk(r: Record) -> Chunk:
    m = r.metadata
    return Chunk(
        id=r.id,
        article_id=str(m["article_id"]),
        sentence_start=int(m["s_start"]),
        sentence_end=int(m["s_end"]),
        text=r.document or "",
        title=str(m.get("title", "")),
        source=str(m.get("source", "")),
        published_at=from_epoch(m.get("published_at")),
        content_hash=str(m.get("content_hash", "")),
    )


def to_info(r: Record) -> ArticleInfo:
    m = r.metadata
    return ArticleInfo(
        id=r.id,
        title=str(m.get("title", "")),
        source=str(m.get("source", "")),
        published_at=iso_or_none(m.get("published_iso")),
        url=str(m.get("url") or "") or None,
        origin=str(m.get("origin", "")),
        n_sentences=int(m.get("n_sentences", 0)),
        n_chunks=int(m.get("n_chunks", 0)),
        content_hash=str(m.get("content_hash", "")),
        duplicate_of=tuple(json.loads(str(m.get("duplicate_of") or "[]"))),
    )


def to_article(r: Record) -> Article:
    m = r.metadata
    text = r.document or ""
    offsets = json.loads(str(m.get("sentences") or "[]"))
    pieces = json.loads(str(m.get("pieces") or "[]"))  # none in stores from before counts
    if len(pieces) != len(offsets):
        pieces = [-1] * len(offsets)
    sentences = tuple(
        Sentence(i, s, e, text[s:e], int(n))
        for i, ((s, e), n) in enumerate(zip(offsets, pieces, strict=True))
    )
    info = to_info(r)
    return Article(
        id=r.id,
        text=text,
        sentences=sentences,
        title=info.title,
        source=info.source,
        published_at=info.published_at,
        url=info.url,
        origin=info.origin,
        content_hash=info.content_hash,
        author=str(m.get("author") or "") or None,
        dateline=str(m.get("dateline") or "") or None,
        category=str(m.get("category") or "") or None,
        duplicate_of=info.duplicate_of,
    )
