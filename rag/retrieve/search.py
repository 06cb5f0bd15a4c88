"""The Retriever: one question's searches run against the store and fused, then cut into
the k units (passages or chunks) that answer it best."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from rag.config import Settings
from rag.instructions import addresses_model
from rag.question import FAR_FUTURE, FAR_PAST, DateRange, QueryPlan, SubQuery
from rag.retrieve.fusion import (
    BM25_WEIGHT,
    CANDIDATES,
    SENTENCE_WEIGHT,
    VECTOR_WEIGHT,
    bm25_chunks,
    bm25_sentences,
    boost,
    diversify,
    fuse,
    hard_filter,
    sub_searches,
)
from rag.retrieve.index import Filter, LexicalIndex
from rag.retrieve.passages import best_passages
from rag.retrieve.rerank import get_reranker
from rag.types import Hit
from rag.words import content_words, word_share

if TYPE_CHECKING:
    from rag.embed import Embedder
    from rag.store import NewsStore


# Unfiltered nearest chunks looked at for a filtered search (an outlet's hop, a date range).
WIDE_CANDIDATES = 2 * CANDIDATES

# Weight of the content-word share against the cosine when ranking an article's sentences.
RANK_WORD_WEIGHT = 0.3


class Retriever:
    """Finds the chunks that answer a planned query in one store."""

    def __init__(self, store: NewsStore, embedder: Embedder, settings: Settings) -> None:
        self.store = store
        self.embedder = embedder
        self.settings = settings
        self._lex: LexicalIndex | None = None
        self._lock = threading.Lock()
        self._reranker = get_reranker(settings)

    def _lexical(self) -> LexicalIndex:
        """The lexical index and its article cache, up to date with the store's writes."""
        with self._lock:
            if self._lex is None:
                self._lex = LexicalIndex(self.store, self.embedder, self.settings)
        self._lex.fresh()
        return self._lex

    def warm(self) -> None:
        """Load the store's indexes and the embedding model now, not at the first search."""
        self.store.warm()
        self._lexical()
        self.embedder.embed_documents(["warm"])

    def refresh(self) -> None:
        """Forget what was loaded (another process wrote to the store)."""
        self.store.sync_terms()
        if self._lex is not None:
            self._lex.forget()

    def search(self, plan: QueryPlan, k: int | None = None, unit: str | None = None) -> list[Hit]:
        """The top k units (settings.retrieval_unit unless `unit` says) for a planned query."""
        k = k or self.settings.top_k
        lex = self._lexical()
        if lex.empty():
            return []
        allowed = hard_filter(plan)
        anchored = self._anchor_ranges(plan) if plan.anchors else []
        subs = sub_searches(plan)
        passages = (unit or self.settings.retrieval_unit) == "passage"
        parts = list(plan.parts) if passages else []
        # One batched embedding call for every sub-search and question part: on a CPU each
        # call has a fixed cost.
        all_vectors = self.embedder.embed_documents([sub.text for sub in subs] + parts)
        vectors = all_vectors[: len(subs)]
        lists: list[tuple[str, float, list[str]]] = []  # (name, weight, chunk ids in rank order)
        for sub, vec in zip(subs, vectors, strict=True):
            sub_allowed = allowed
            if sub.sources:
                sub_allowed = allowed.only(sub.sources)
                if not sub_allowed.sources:
                    continue
            bm25_ids = bm25_chunks(lex, sub.text, sub_allowed)
            sentence_ids = bm25_sentences(lex, sub.text, sub_allowed)
            if sub_allowed == Filter():
                found = self.store.vector_search(vec, CANDIDATES)
                lex.remember(c for c, _sim in found)
                vector_ids = [c.id for c, _sim in found]
            else:
                vector_ids = self._vector_within(vec, sub_allowed, bm25_ids + sentence_ids)
            lists.append((f"{sub.name}-vector", sub.weight * VECTOR_WEIGHT, vector_ids))
            lists.append((f"{sub.name}-bm25", sub.weight * BM25_WEIGHT, bm25_ids))
            lists.append((f"{sub.name}-sentence", sub.weight * SENTENCE_WEIGHT, sentence_ids))
        fused = fuse(lists)
        by_id = lex.chunks(list(fused))
        hits = [
            Hit(chunk=by_id[cid], score=score * boost(by_id[cid], plan, anchored), ranks=ranks)
            for cid, (score, ranks) in fused.items()
            if cid in by_id
        ]
        hits.sort(key=lambda h: h.score, reverse=True)
        if self._reranker is not None:
            hits = self._rerank(plan.question, hits[: max(k * 3, 30)])
        if not passages:
            return diversify(hits, plan, k)
        # The question, its parts and each outlet-limited hop, for scoring sentences.
        hop_vectors = [
            (sub.sources, vec) for sub, vec in zip(subs, vectors, strict=True) if sub.sources
        ]
        return best_passages(lex, hits, plan, vectors[0], all_vectors[len(subs) :], hop_vectors, k)

    def _vector_within(self, vector: Any, allowed: Filter, lexical: Sequence[str]) -> list[str]:
        """The chunks nearest the vector among those the filter allows, best first.

        Chroma's filtered query (a `where` on outlet or date) costs 50-300 ms at 80,000
        chunks, growing with the archive, against 3-8 ms unfiltered: the candidates are the
        allowed ones among the unfiltered nearest, and the chunks the lexical searches found
        under the same filter, all ranked by cosine with their stored vectors.
        """
        sims = {
            cid: sim
            for cid, source, published, sim in self.store.nearest_chunks(vector, WIDE_CANDIDATES)
            if allowed.admits(source, published)
        }
        rest = [cid for cid in dict.fromkeys(lexical) if cid not in sims]
        if rest:
            import numpy as np

            stored = self.store.chunk_vectors(rest)
            if stored:
                ids = list(stored)
                matrix = np.asarray([stored[i] for i in ids], dtype=np.float32)
                cosines = (matrix @ np.asarray(vector, dtype=np.float32)).tolist()
                sims.update(zip(ids, cosines, strict=True))
        return sorted(sims, key=lambda cid: sims[cid], reverse=True)[:CANDIDATES]

    def rank_sentences(self, article_id: str, texts: Sequence[str]) -> list[tuple[int, float]]:
        """An article's sentences as (index, score), best first: each sentence's best cosine to
        one of `texts` (a claim, the words of a question that name a report), from the stored
        sentence vectors when there are some."""
        import numpy as np

        if not texts:
            return []
        lex = self._lexical()
        queries = self.embedder.embed_documents(list(texts))
        item = lex.article(article_id)
        if item is None or not item.article.sentences:
            return []
        article = item.article
        rows = item.vectors
        if rows is None:
            rows = self.embedder.embed_documents([s.text for s in article.sentences])
        scores = np.max(rows @ queries.T, axis=1)
        if len(article.sentences) == len(scores):
            # Cosines alone rank a sentence on the topic above the one that says the thing;
            # the share of the text's content words a sentence holds lifts the latter.
            wanted = [content_words(t) for t in texts]
            for i, sentence in enumerate(article.sentences):
                scores[i] += RANK_WORD_WEIGHT * max(word_share(w, sentence.text) for w in wanted)
        # A sentence addressing a model ("ignore previous instructions ...") is never evidence:
        # shown to a reading, it could only steer it.
        ranked = [
            (i, float(x))
            for i, x in enumerate(scores)
            if i >= len(article.sentences) or not addresses_model(article.sentences[i].text)
        ]
        return sorted(ranked, key=lambda p: -p[1])

    def _anchor_ranges(self, plan: QueryPlan) -> list[tuple[DateRange, str]]:
        """Each report the question uses as a point in time ("before the Reuters report"),
        found by a search within its outlet, as (the range before/after it, its article id).
        The caller's filters do not apply: they limit the answer's reports, not this one."""
        out: list[tuple[DateRange, str]] = []
        for anchor in plan.anchors:
            sub = replace(
                plan,
                search_text=anchor.text,
                sources=anchor.sources,
                dates=(),
                since=None,
                until=None,
                source_filter=anchor.sources,
                hops=(SubQuery(anchor.text, anchor.sources, ()),),
                parts=(),
                anchors=(),
            )
            found = self.search(sub, k=1, unit="chunk")
            when = found[0].chunk.published_at if found else None
            if when is None:
                continue  # an undated report gives no time to go by
            if anchor.relation == "before":
                span = DateRange(FAR_PAST, when, anchor.phrase, "before")
            else:  # the report's own time is not after itself
                span = DateRange(when + timedelta(seconds=1), FAR_FUTURE, anchor.phrase, "after")
            out.append((span, found[0].chunk.article_id))
        return out

    def _rerank(self, question: str, hits: list[Hit]) -> list[Hit]:
        assert self._reranker is not None
        scores = self._reranker.score(question, [h.chunk.text for h in hits])
        ranked = sorted(zip(scores, hits, strict=True), key=lambda p: p[0], reverse=True)
        return [
            Hit(chunk=h.chunk, score=s, ranks={**h.ranks, "rerank": i + 1})
            for i, (s, h) in enumerate(ranked)
        ]
