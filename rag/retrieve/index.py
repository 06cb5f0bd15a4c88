"""The lexical side of retrieval: BM25 over the stored chunks and sentences (the store's index
on disk, never rebuilt at start), and what passages need of the few articles a question
reaches (sentences, vectors, wordpiece counts, terms), fetched when asked and kept a while."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rag.config import Settings
from rag.store.terms import lexical_text
from rag.types import Article, Chunk
from vectorstore.lexical import terms

if TYPE_CHECKING:
    import numpy as np

    from rag.embed import Embedder
    from rag.store import NewsStore

__all__ = ["PASSAGE_GAP", "Filter", "LexicalIndex", "lexical_text"]

log = logging.getLogger("dateline.retrieve")

# What joins the runs of a passage's sentences ("… "): its wordpieces count against the budget.
PASSAGE_GAP = " … "
# Articles and chunks kept in memory between questions: a question reads a few dozen articles;
# a busy day's questions share many.
ARTICLES_KEPT = 1024
CHUNKS_KEPT = 20_000
# How often a search looks whether another process or machine wrote to the store.
SYNC_EVERY_S = 30.0


@dataclass(frozen=True)
class Filter:
    """What a search may return: these outlets only, published within since..until."""

    sources: tuple[str, ...] | None = None
    since: float | None = None
    until: float | None = None

    def only(self, sources: Sequence[str]) -> Filter:
        """This filter, limited to these outlets as well."""
        allowed = [s for s in sources if self.sources is None or s in self.sources]
        return Filter(tuple(allowed), self.since, self.until)

    def admits(self, source: str, published: float | None) -> bool:
        """Whether a chunk of this outlet, published then (a timestamp), may be returned."""
        if self.sources is not None and source not in self.sources:
            return False
        if self.since is not None and (published is None or published < self.since):
            return False
        return self.until is None or (published is not None and published <= self.until)


@dataclass
class Loaded:
    """One article version and what passages compute from it, made once."""

    article: Article
    vectors: np.ndarray | None = None
    sizes: np.ndarray | None = None
    terms: list[list[str]] | None = None


class LexicalIndex:
    """The store's lexical index, and the articles, chunks and sentence vectors a question
    needs, loaded on demand (an archive of any size costs memory only for what is asked)."""

    def __init__(self, store: NewsStore, embedder: Embedder, settings: Settings) -> None:
        self.store = store
        self.embedder = embedder
        self.settings = settings
        self.budget = settings.chunk_max_tokens  # wordpieces a passage may hold: a chunk's
        self.gap_size = embedder.count_tokens([PASSAGE_GAP.strip()])[0] - 2
        self._passages = "passage" in (settings.retrieval_unit, settings.answer_unit)
        self._lock = threading.Lock()
        self._chunks: OrderedDict[str, Chunk] = OrderedDict()
        self._articles: OrderedDict[str, Loaded] = OrderedDict()
        self._generation = store.generation
        self._synced = time.monotonic()

    # ----- freshness ---------------------------------------------------------------------

    def fresh(self) -> None:
        """Forget what a write made stale; now and then, take in other writers' work."""
        if time.monotonic() - self._synced > SYNC_EVERY_S:
            self._synced = time.monotonic()
            self.store.sync_terms()
        if self._generation != self.store.generation:
            self.forget()

    def forget(self) -> None:
        with self._lock:
            self._chunks.clear()
            self._articles.clear()
            self._generation = self.store.generation

    def empty(self) -> bool:
        return self.store.terms.count("chunk") == 0

    # ----- BM25 --------------------------------------------------------------------------

    def bm25_chunks(self, text: str, k: int, where: Filter) -> list[str]:
        """Chunk ids, best BM25 first."""
        found = self.store.terms.search(
            "chunk", terms(text), k, sources=where.sources, since=where.since, until=where.until
        )
        return [f.key for f in found]

    def bm25_sentences(self, text: str, k: int, chunks: int, where: Filter) -> list[str]:
        """Ids of the chunks holding the k best sentences, in that order, at most `chunks`."""
        found = self.store.terms.search(
            "sentence", terms(text), k, sources=where.sources, since=where.since, until=where.until
        )
        ranked = list(dict.fromkeys(f.key for f in found if f.key))
        return ranked[:chunks]

    def sentence_scorer(self, text: str) -> Callable[[Loaded], np.ndarray]:
        """Each sentence's BM25 for the text within its article, with the archive's term
        statistics."""
        import numpy as np

        score = self.store.terms.scorer("sentence", terms(text))

        def of(item: Loaded) -> np.ndarray:
            if item.terms is None:
                item.terms = [terms(s.text) for s in item.article.sentences]
            return np.array([score(t) for t in item.terms], dtype=np.float32)

        return of

    # ----- what a question reads ---------------------------------------------------------

    def chunks(self, ids: Sequence[str]) -> dict[str, Chunk]:
        """The stored chunks of these ids that still exist."""
        with self._lock:
            out = {i: self._chunks[i] for i in ids if i in self._chunks}
        missing = [i for i in dict.fromkeys(ids) if i not in out]
        for chunk in self.store.get_chunks(missing):
            out[chunk.id] = chunk
        self.remember(out.values())
        return out

    def remember(self, chunks: Iterable[Chunk]) -> None:
        with self._lock:
            for c in chunks:
                self._chunks[c.id] = c
                self._chunks.move_to_end(c.id)
            while len(self._chunks) > CHUNKS_KEPT:
                self._chunks.popitem(last=False)

    def load(self, article_ids: Sequence[str]) -> dict[str, Loaded]:
        """These articles (current versions), with their sentence vectors and wordpiece
        counts when passages are on; fetched together, kept for the next questions."""
        import numpy as np

        with self._lock:
            out = {a: self._articles[a] for a in article_ids if a in self._articles}
        missing = [a for a in dict.fromkeys(article_ids) if a not in out]
        if missing:
            articles = self.store.get_articles(missing)
            loaded = {a.id: Loaded(a) for a in articles}
            if self._passages and articles:
                vectors = self.store.sentence_vectors(articles)
                unvectored = [a for a in articles if a.id not in vectors and a.sentences]
                if unvectored:
                    vectors.update(self._embed_sentences(unvectored))
                # Wordpieces and terms were counted and stemmed at ingest; articles stored
                # before counts were kept are counted now.
                uncounted = [a for a in articles if any(s.pieces < 0 for s in a.sentences)]
                if uncounted:
                    texts = [s.text for a in uncounted for s in a.sentences]
                    counts = np.array(self.embedder.count_tokens(texts), dtype=np.int64) - 2
                    pos = 0
                    for a in uncounted:
                        loaded[a.id].sizes = counts[pos : pos + len(a.sentences)]
                        pos += len(a.sentences)
                stored = self.store.terms.terms_of(
                    "sentence", [(a.id, a.content_hash) for a in articles]
                )
                for a in articles:
                    item = loaded[a.id]
                    item.vectors = vectors.get(a.id)
                    if item.sizes is None:
                        item.sizes = np.array([s.pieces for s in a.sentences], dtype=np.int64)
                    held = stored.get(a.id)
                    if held is not None and len(held) == len(a.sentences):
                        item.terms = [t.split() for t in held]
            out.update(loaded)
            with self._lock:
                for key, item in loaded.items():
                    self._articles[key] = item
                while len(self._articles) > ARTICLES_KEPT:
                    self._articles.popitem(last=False)
        return out

    def article(self, article_id: str) -> Loaded | None:
        return self.load([article_id]).get(article_id)

    def _embed_sentences(self, articles: Sequence[Article]) -> dict[str, np.ndarray]:
        """Sentence vectors for articles stored without them (by an older Dateline): embedded
        now with their chunks, as an ingest does, and stored, so this happens once each."""
        from rag.embed.vectors import embed_article_chunks

        log.info(
            "embedding the %d sentences of %d articles stored without sentence vectors (once "
            "each; an ingest by this version stores them)",
            sum(len(a.sentences) for a in articles),
            len(articles),
        )
        own = self.store.chunks_of(articles)
        group = [(a, own.get(a.id, [])) for a in articles]
        _chunk_vectors, got = embed_article_chunks(group, self.embedder)
        self.store.write_sentence_vectors(
            [(a, rows) for (a, _cs), rows in zip(group, got, strict=True)]
        )
        return {a.id: rows for (a, _cs), rows in zip(group, got, strict=True)}
