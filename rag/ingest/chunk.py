"""Sentence-aligned chunks sized to the embedding model's window, optionally overlapping."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rag.types import Article, Chunk

TokenCounter = Callable[[Sequence[str]], list[int]]

# [CLS] and [SEP]: counted once per encoded text, not once per sentence.
_SPECIAL_TOKENS = 2


def make_chunks(
    article: Article,
    count_tokens: TokenCounter,
    *,
    max_tokens: int = 250,
    overlap: int = 0,
) -> list[Chunk]:
    """Greedy runs of consecutive sentences whose wordpieces fit `max_tokens`.

    Consecutive chunks share `overlap` sentences (0 by default: an overlap adds wordpieces to
    embed without helping retrieval). Ingest has cut every sentence to fit the budget
    (`fit_window`); one that still does not (a single unbroken token run) becomes a chunk of
    its own, which the embedder averages windows over, so nothing is truncated.
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
