"""What the lexical index holds of an article version: its chunks' words (with the outlet,
title and date a question may name) and each sentence's words, as BM25 terms."""

from __future__ import annotations

from collections.abc import Sequence

from rag.types import Article, Chunk
from vectorstore.fts import Doc, Group
from vectorstore.lexical import terms


def lexical_text(chunk: Chunk) -> str:
    """What BM25 sees of a chunk: the outlet, title and date are words a question may use."""
    date = chunk.published_at.strftime("%B %-d %Y") if chunk.published_at else ""
    return f"{chunk.source} {chunk.title} {date}\n{chunk.text}"


def term_group(article: Article, chunks: Sequence[Chunk]) -> Group:
    """The index's documents for one article version: a chunk's hit is its id, a sentence's
    hit is the id of the first chunk holding it ("" when none does)."""
    owner = [""] * len(article.sentences)
    for chunk in sorted(chunks, key=lambda c: c.sentence_start, reverse=True):
        for i in range(chunk.sentence_start, min(chunk.sentence_end, len(owner))):
            owner[i] = chunk.id
    when = article.published_at.timestamp() if article.published_at else -1.0
    return Group(
        group=article.id,
        version=article.content_hash,
        source=article.source,
        epoch=when,
        chunks=[Doc(n, c.id, terms(lexical_text(c))) for n, c in enumerate(chunks)],
        sentences=[Doc(s.index, owner[s.index], terms(s.text)) for s in article.sentences],
    )
