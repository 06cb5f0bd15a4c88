"""The lexical side of retrieval: BM25 indexes over the stored chunks and sentences, built
in memory from the store (and rebuilt after it changes), with the sentence vectors that
passages are chosen by."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rag.config import Settings
from rag.types import Article, Chunk
from vectorstore.lexical import BM25Index

if TYPE_CHECKING:
    import numpy as np

    from rag.embed import Embedder
    from rag.store import NewsStore

log = logging.getLogger("dateline.retrieve")

# What joins the runs of a passage's sentences ("… "): its wordpieces count against the budget.
PASSAGE_GAP = " … "


@dataclass
class LexicalIndex:
    """The in-memory indexes of one store generation: BM25 over chunks and over sentences,
    and what passages need (sentence vectors, wordpiece counts)."""

    generation: int
    chunks: list[Chunk]
    index: BM25Index  # over chunks (lexical_text)
    by_source: dict[str, set[int]]
    epochs: np.ndarray  # published_at per chunk (-1 when unknown)
    by_id: dict[str, Chunk]
    sentences: BM25Index  # over every article's sentences
    articles: dict[str, Article]
    offset: dict[str, int]  # article id -> position of its first sentence in `sentences`
    chunk_sentences: list[list[int]]  # chunk position -> its sentences' positions
    sentence_chunk: list[int]  # sentence position -> chunk position (-1: in no chunk)
    vectors: dict[str, np.ndarray]  # article id -> its sentence vectors (rows in text order)
    sizes: np.ndarray  # wordpieces per sentence, without [CLS]/[SEP]
    gap_size: int  # wordpieces of PASSAGE_GAP
    budget: int  # wordpieces a passage may hold: a chunk's (settings.chunk_max_tokens)


def lexical_text(chunk: Chunk) -> str:
    """What BM25 sees: the outlet, title and date are words a question may use."""
    date = chunk.published_at.strftime("%B %-d %Y") if chunk.published_at else ""
    return f"{chunk.source} {chunk.title} {date}\n{chunk.text}"


def build_index(store: NewsStore, embedder: Embedder, settings: Settings) -> LexicalIndex:
    """The indexes of the store as it is now (its generation), with every article's sentence
    vectors when passages need them."""
    import numpy as np

    generation = store.generation
    chunks = store.all_chunks()
    by_source: dict[str, set[int]] = {}
    for i, c in enumerate(chunks):
        by_source.setdefault(c.source, set()).add(i)
    epochs = np.array(
        [c.published_at.timestamp() if c.published_at else -1 for c in chunks],
        dtype=np.float64,
    )
    index = BM25Index([c.id for c in chunks], [lexical_text(c) for c in chunks])
    articles = {a.id: a for a in store.all_articles()}
    texts: list[str] = []
    offset: dict[str, int] = {}
    for a in articles.values():
        offset[a.id] = len(texts)
        texts.extend(s.text for s in a.sentences)
    sentence_chunk = [-1] * len(texts)
    chunk_sentences: list[list[int]] = []
    for pos, chunk in enumerate(chunks):
        base = offset.get(chunk.article_id)
        if base is None:  # a chunk whose article record is gone: nothing to rank it by
            chunk_sentences.append([])
            continue
        n = len(articles[chunk.article_id].sentences)
        mine = [base + i for i in range(chunk.sentence_start, min(chunk.sentence_end, n))]
        chunk_sentences.append(mine)
        for i in mine:
            if sentence_chunk[i] < 0:
                sentence_chunk[i] = pos
    sentences = BM25Index([str(i) for i in range(len(texts))], texts)
    vectors = _sentence_vectors(store, embedder, settings, articles, chunks)
    # Wordpiece counts are for fitting passages, which need the sentence vectors.
    sizes = np.array(embedder.count_tokens(texts) if vectors else [], dtype=np.int64) - 2
    gap = embedder.count_tokens([PASSAGE_GAP.strip()])[0] - 2
    return LexicalIndex(
        generation,
        chunks,
        index,
        by_source,
        epochs,
        {c.id: c for c in chunks},
        sentences,
        articles,
        offset,
        chunk_sentences,
        sentence_chunk,
        vectors,
        sizes,
        gap,
        settings.chunk_max_tokens,
    )


def _sentence_vectors(
    store: NewsStore,
    embedder: Embedder,
    settings: Settings,
    articles: dict[str, Article],
    chunks: Sequence[Chunk],
) -> dict[str, np.ndarray]:
    """Every article's sentence vectors; those of articles stored without them (by an older
    Dateline) are embedded once now (with their chunks, as an ingest does) and stored."""
    if "passage" not in (settings.retrieval_unit, settings.answer_unit):
        return {}
    from rag.embed.vectors import embed_article_chunks

    vectors = store.sentence_vectors()
    missing = [a for a in articles.values() if a.id not in vectors and a.sentences]
    if missing:
        log.warning(
            "embedding the %d sentences of %d articles stored without sentence vectors "
            "(once; an ingest by this version stores them)",
            sum(len(a.sentences) for a in missing),
            len(missing),
        )
        own: dict[str, list[Chunk]] = {}
        for c in chunks:
            own.setdefault(c.article_id, []).append(c)
        for start in range(0, len(missing), 100):
            group = [
                (a, sorted(own.get(a.id, []), key=lambda c: c.sentence_start))
                for a in missing[start : start + 100]
            ]
            _chunk_vectors, got = embed_article_chunks(group, embedder)
            for (a, _cs), rows in zip(group, got, strict=True):
                vectors[a.id] = rows
            store.write_sentence_vectors(
                [(a, rows) for (a, _cs), rows in zip(group, got, strict=True)]
            )
    return vectors
