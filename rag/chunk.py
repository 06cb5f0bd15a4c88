"""Sentence-aligned chunks sized to the embedding model's window, overlapping by whole sentences."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rag.types import Article, Chunk

TokenCounter = Callable[[Sequence[str]], list[int]]

# [CLS] and [SEP]: counted once per encoded text, not once per sentence.
_SPECIAL_TOKENS = 2


def chunk_header(article: Article) -> str:
    """What the embedder sees before a chunk's sentences: the title, outlet and date give a
    chunk from the middle of an article the context a reader has (and BM25 can match them)."""
    date = article.published_at.strftime("%B %-d, %Y") if article.published_at else ""
    meta = ", ".join(x for x in (article.source, date) if x)
    return f"{article.title} ({meta})" if meta else article.title


def make_chunks(
    article: Article,
    count_tokens: TokenCounter,
    *,
    max_tokens: int = 200,
    overlap: int = 1,
) -> list[Chunk]:
    """Greedy runs of consecutive sentences whose wordpieces fit `max_tokens`.

    Consecutive chunks share `overlap` sentences so a fact that straddles a boundary is still
    whole in one chunk. A sentence longer than the budget becomes a chunk of its own (the
    embedder then averages windows over it, so nothing is silently truncated).
    """
    sents = article.sentences
    if not sents:
        return []
    sizes = [n - _SPECIAL_TOKENS for n in count_tokens([s.text for s in sents])]
    chunks: list[Chunk] = []
    start = 0
    while start < len(sents):
        end = start + 1
        used = sizes[start]
        while end < len(sents) and used + sizes[end] <= max_tokens:
            used += sizes[end]
            end += 1
        chunks.append(_chunk(article, len(chunks), start, end))
        if end >= len(sents):
            break
        # Step back `overlap` sentences, but always move forward.
        start = max(end - overlap, start + 1)
    return chunks


def _chunk(article: Article, n: int, start: int, end: int) -> Chunk:
    a, b = article.sentences[start].start, article.sentences[end - 1].end
    return Chunk(
        id=f"{article.id}:{article.content_hash[:8]}:{n}",
        article_id=article.id,
        sentence_start=start,
        sentence_end=end,
        text=article.text[a:b],
        title=article.title,
        source=article.source,
        published_at=article.published_at,
        content_hash=article.content_hash,
    )
