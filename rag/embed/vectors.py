"""Vectors: chunks and their sentences embedded in one pass, long inputs windowed, cosines."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from rag.types import Article, Chunk

if TYPE_CHECKING:
    import numpy as np

    from rag.embed.base import Embedder

# Texts embedded per call: big enough that length-sorting keeps padding low, small enough
# that progress moves and a crash loses little work.
EMBED_GROUP = 512


def embed_texts(
    inputs: Sequence[str],
    embedder: Embedder,
    progress: Callable[[str, int, int | None], None] | None = None,
    done_before: int = 0,
    total: int | None = None,
) -> np.ndarray:
    """One unit vector per text (a chunk's or a sentence's); inputs longer than the model's
    window are embedded as several windows and averaged instead of being silently truncated.

    Chunks are embedded as their sentences alone, without a title/outlet/date header: BM25
    and the question planner match outlet, title and date instead (rag.retrieve.index), and
    the header cost more wordpieces than it gained (docs/experiments.md).
    """
    import numpy as np

    if not inputs:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    sizes = embedder.count_tokens(inputs)
    pieces: list[str] = []
    owner: list[int] = []
    for i, (text, size) in enumerate(zip(inputs, sizes, strict=True)):
        parts = [text] if size <= embedder.max_tokens else _windows(text, size, embedder)
        pieces.extend(parts)
        owner.extend([i] * len(parts))
    # Length-sorted groups: each padded batch holds texts of similar length.
    order = sorted(range(len(pieces)), key=lambda j: len(pieces[j]))
    vectors = np.zeros((len(pieces), embedder.dim), dtype=np.float32)
    for start in range(0, len(order), EMBED_GROUP):
        idx = order[start : start + EMBED_GROUP]
        vectors[idx] = embedder.embed_documents([pieces[j] for j in idx])
        if progress:
            progress("embed", done_before + min(start + EMBED_GROUP, len(order)), total)
    out = np.zeros((len(inputs), embedder.dim), dtype=np.float32)
    np.add.at(out, np.asarray(owner), vectors)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms == 0, 1.0, norms)


def _windows(text: str, size: int, embedder: Embedder) -> list[str]:
    """Split an over-long input at word boundaries into pieces that fit the model."""
    words = text.split()
    n = max(2, -(-size // (embedder.max_tokens - 16)))
    per = -(-len(words) // n)
    parts = [" ".join(words[i : i + per]) for i in range(0, len(words), per)]
    # Subword-heavy text can still overflow a window: split again until everything fits.
    out: list[str] = []
    for part, count in zip(parts, embedder.count_tokens(parts), strict=True):
        out.extend([part] if count <= embedder.max_tokens else _windows(part, count, embedder))
    return out


def embed_with_sentences(
    texts: Sequence[str],
    spans: Sequence[Sequence[tuple[int, int]]],
    embedder: Embedder,
    progress: Callable[[str, int, int | None], None] | None = None,
    done_before: int = 0,
    total: int | None = None,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Each chunk text's vector and a vector for each of its sentences (character spans of it).

    An embedder with `embed_spans` (the ONNX ones) gives both from one pass: a sentence's
    vector is its tokens' states pooled in its chunk's context, so sentences cost no second
    embedding of the corpus. Otherwise, and for a chunk longer than the model's window, each
    sentence is embedded on its own.
    """
    import numpy as np

    late = getattr(embedder, "embed_spans", None)
    sizes = embedder.count_tokens(texts)
    together = [i for i, n in enumerate(sizes) if late is not None and n <= embedder.max_tokens]
    apart = sorted(set(range(len(texts))) - set(together))
    vectors = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    sentences: list[np.ndarray] = [np.zeros((0, embedder.dim), dtype=np.float32)] * len(texts)
    together.sort(key=lambda i: sizes[i])  # similar lengths share a padded batch
    for start in range(0, len(together), EMBED_GROUP):
        idx = together[start : start + EMBED_GROUP]
        assert late is not None
        got, per = late([texts[i] for i in idx], [spans[i] for i in idx])
        vectors[idx] = got
        for i, sv in zip(idx, per, strict=True):
            sentences[i] = sv
        if progress:
            progress("embed", done_before + min(start + EMBED_GROUP, len(together)), total)
    if apart:
        vectors[apart] = embed_texts([texts[i] for i in apart], embedder)
        flat = embed_texts([texts[i][a:b] for i in apart for a, b in spans[i]], embedder)
        pos = 0
        for i in apart:
            sentences[i] = flat[pos : pos + len(spans[i])]
            pos += len(spans[i])
        if progress:
            progress("embed", done_before + len(texts), total)
    return vectors, sentences


def embed_article_chunks(
    items: Sequence[tuple[Article, Sequence[Chunk]]],
    embedder: Embedder,
    progress: Callable[[str, int, int | None], None] | None = None,
    done_before: int = 0,
    total: int | None = None,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """The vectors of every chunk of these articles (in order), and each article's sentence
    vectors (rows in sentence order; a sentence in two chunks takes its first chunk's)."""
    import numpy as np

    texts: list[str] = []
    spans: list[list[tuple[int, int]]] = []
    for article, chunks in items:
        for c in chunks:
            base = article.sentences[c.sentence_start].start
            texts.append(c.text)
            spans.append(
                [
                    (s.start - base, s.end - base)
                    for s in article.sentences[c.sentence_start : c.sentence_end]
                ]
            )
    vectors, per_chunk = embed_with_sentences(texts, spans, embedder, progress, done_before, total)
    out: list[np.ndarray] = []
    pos = 0
    for article, chunks in items:
        rows = np.zeros((len(article.sentences), embedder.dim), dtype=np.float32)
        filled = np.zeros(len(article.sentences), dtype=bool)
        for c in chunks:
            for j, idx in enumerate(range(c.sentence_start, c.sentence_end)):
                if not filled[idx]:
                    rows[idx] = per_chunk[pos][j]
                    filled[idx] = True
            pos += 1
        if not filled.all():  # a sentence in no chunk: embedded alone
            missing = [int(i) for i in np.flatnonzero(~filled)]
            rows[missing] = embed_texts([article.sentences[i].text for i in missing], embedder)
        out.append(rows)
    return vectors, out


def similarity(embedder: Embedder, text: str, others: Sequence[str]) -> list[float]:
    """Cosine similarity of `text` to each of `others` (one batched embedding call)."""
    if not others:
        return []
    vecs = embedder.embed_documents([text, *others])
    return [float(x) for x in vecs[1:] @ vecs[0]]
