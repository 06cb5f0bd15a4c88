"""Hybrid retrieval: vector (Chroma) + BM25, fused by reciprocal rank, outlet- and date-aware."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from rag.config import Settings
from rag.errors import UnknownBackendError
from rag.query import DateRange, QueryPlan
from rag.types import Chunk, Hit

if TYPE_CHECKING:
    import numpy as np

    from rag.embed import Embedder
    from rag.store import NewsStore

# Reciprocal rank fusion constant: Cormack et al. use 60; on the MultiHop-RAG dev questions 5
# ranks the first hit higher (MRR@10 0.61 -> 0.69, evals/bench_retrieval.py). Candidates per list:
RRF_K = 5
CANDIDATES = 60
# Fused-score multipliers for chunks from an outlet / date the question names: boosts, not
# filters, because people misname outlets and dates are approximate.
SOURCE_BOOST = 2.0
DATE_BOOST = 1.6
# Weights of the rankers in the fusion, and of each hop's own search.
VECTOR_WEIGHT = 1.0
BM25_WEIGHT = 1.3
HOP_WEIGHT = 1.0
# BM25 over single sentences, each chunk ranked by its best sentence: a question paraphrases
# one or two sentences of each report, and a 250-wordpiece chunk dilutes them. On the 549
# MultiHop-RAG dev questions (evals/bench_retrieval.py) it lifted MRR@10 0.686 -> 0.716 and
# evidence recall@10 0.706 -> 0.716 (weights 0.5-1.5 all within 0.01 of each other).
SENTENCE_WEIGHT = 1.0
SENTENCE_CANDIDATES = 200


@dataclass(frozen=True)
class _Sub:
    """One search of a question: its text, the outlets it is limited to, its fusion weight."""

    name: str
    text: str
    sources: tuple[str, ...]
    weight: float


def _sub_searches(plan: QueryPlan) -> list[_Sub]:
    subs = [_Sub("q", plan.search_text, (), 1.0)]
    # Multi-hop: each hop searched within its own outlet, so every report gets a place.
    if len(plan.hops) > 1 or plan.sources:
        weight = 1.0 / max(1, len(plan.hops)) + HOP_WEIGHT
        for n, hop in enumerate(plan.hops):
            sources = tuple(
                x for x in hop.sources if not plan.source_filter or x in plan.source_filter
            )
            if sources:
                subs.append(_Sub(f"hop{n}", hop.text, sources, weight))
    return subs


class Reranker(Protocol):
    """Re-scores (question, chunk text) pairs; higher is better."""

    def score(self, question: str, texts: Sequence[str]) -> list[float]: ...


_RERANKERS: dict[str, Callable[[Settings], Reranker]] = {}


def register_reranker(name: str, factory: Callable[[Settings], Reranker]) -> None:
    _RERANKERS[name] = factory


class CrossEncoderReranker:
    """A sentence-transformers CrossEncoder from a local folder (none ships offline)."""

    def __init__(self, path: str) -> None:
        from sentence_transformers import CrossEncoder

        self._model = CrossEncoder(path, device="cpu", local_files_only=True)

    def score(self, question: str, texts: Sequence[str]) -> list[float]:
        return [float(s) for s in self._model.predict([(question, t) for t in texts])]


def get_reranker(settings: Settings) -> Reranker | None:
    name = settings.reranker
    if name in ("", "none"):
        return None
    if name in _RERANKERS:
        return _RERANKERS[name](settings)
    from pathlib import Path

    if Path(name).expanduser().is_dir():
        return CrossEncoderReranker(str(Path(name).expanduser()))
    raise UnknownBackendError(
        "reranker", name, ["none", *_RERANKERS, "<a local cross-encoder folder>"]
    )


@dataclass
class _Lexical:
    generation: int
    chunks: list[Chunk]
    index: Any  # vectorstore.lexical.BM25Index
    by_source: dict[str, set[int]]
    epochs: np.ndarray  # published_at per chunk (-1 when unknown)
    by_id: dict[str, Chunk]
    sentences: Any  # vectorstore.lexical.BM25Index over every chunk's sentences, in chunk order
    first_sentence: list[int]  # chunk position -> position of its first sentence (+ a sentinel)
    sentence_chunk: list[int]  # sentence position -> chunk position


def lexical_text(chunk: Chunk) -> str:
    """What BM25 sees: the outlet, title and date are words a question may use."""
    date = chunk.published_at.strftime("%B %-d %Y") if chunk.published_at else ""
    return f"{chunk.source} {chunk.title} {date}\n{chunk.text}"


class Retriever:
    """Finds the chunks that answer a planned query in one store."""

    def __init__(self, store: NewsStore, embedder: Embedder, settings: Settings) -> None:
        self.store = store
        self.embedder = embedder
        self.settings = settings
        self._lex: _Lexical | None = None
        self._lock = threading.Lock()
        self._reranker = get_reranker(settings)

    def _lexical(self) -> _Lexical:
        """The BM25 index, rebuilt when this process has written to the store since."""
        import numpy as np

        from vectorstore.lexical import BM25Index

        with self._lock:
            if self._lex is None or self._lex.generation != self.store.generation:
                generation = self.store.generation
                chunks = self.store.all_chunks()
                by_source: dict[str, set[int]] = {}
                for i, c in enumerate(chunks):
                    by_source.setdefault(c.source, set()).add(i)
                epochs = np.array(
                    [c.published_at.timestamp() if c.published_at else -1 for c in chunks],
                    dtype=np.float64,
                )
                index = BM25Index([c.id for c in chunks], [lexical_text(c) for c in chunks])
                by_id = {c.id: c for c in chunks}
                texts, first, owner = self._sentences(chunks)
                sentences = BM25Index([str(i) for i in range(len(texts))], texts)
                self._lex = _Lexical(
                    generation, chunks, index, by_source, epochs, by_id, sentences, first, owner
                )
            return self._lex

    def _sentences(self, chunks: Sequence[Chunk]) -> tuple[list[str], list[int], list[int]]:
        """Every chunk's sentences in chunk order, where each chunk's run starts, and whose
        each sentence is."""
        articles = {a.id: a for a in self.store.all_articles()}
        texts: list[str] = []
        first: list[int] = []
        owner: list[int] = []
        for pos, chunk in enumerate(chunks):
            first.append(len(texts))
            article = articles.get(chunk.article_id)
            if article is None:  # a chunk whose article record is gone: its text stands alone
                texts.append(chunk.text)
                owner.append(pos)
                continue
            for sentence in article.sentences[chunk.sentence_start : chunk.sentence_end]:
                texts.append(sentence.text)
                owner.append(pos)
        first.append(len(texts))
        return texts, first, owner

    def refresh(self) -> None:
        """Forget the BM25 index (another process wrote to the store)."""
        with self._lock:
            self._lex = None

    def search(self, plan: QueryPlan, k: int | None = None) -> list[Hit]:
        k = k or self.settings.top_k
        lex = self._lexical()
        if not lex.chunks:
            return []
        allowed = _allowed(lex, plan)
        if allowed is not None and not allowed:
            return []
        where = _where(plan)
        subs = _sub_searches(plan)
        # One batched embedding call for every sub-search: on a CPU each call has a fixed cost.
        vectors = self.embedder.embed_documents([sub.text for sub in subs])
        lists: list[tuple[str, float, list[str]]] = []  # (name, weight, chunk ids in rank order)
        for sub, vec in zip(subs, vectors, strict=True):
            sub_where, sub_allowed = where, allowed
            if sub.sources:
                sub_where = _and(where, {"source": {"$in": list(sub.sources)}})
                sub_allowed = set().union(*(lex.by_source.get(x, set()) for x in sub.sources))
                if allowed is not None:
                    sub_allowed &= allowed
                if not sub_allowed:
                    continue
            found = self.store.vector_search(vec, CANDIDATES, sub_where)
            vector_ids = [c.id for c, _sim in found]
            lists.append((f"{sub.name}-vector", sub.weight * VECTOR_WEIGHT, vector_ids))
            bm25_ids = _bm25(lex, sub.text, sub_allowed)
            lists.append((f"{sub.name}-bm25", sub.weight * BM25_WEIGHT, bm25_ids))
            sentence_ids = _bm25_sentences(lex, sub.text, sub_allowed)
            lists.append((f"{sub.name}-sentence", sub.weight * SENTENCE_WEIGHT, sentence_ids))
        fused = _fuse(lists)
        by_id = lex.by_id
        hits = [
            Hit(chunk=by_id[cid], score=score * _boost(by_id[cid], plan), ranks=ranks)
            for cid, (score, ranks) in fused.items()
            if cid in by_id
        ]
        hits.sort(key=lambda h: h.score, reverse=True)
        if self._reranker is not None:
            hits = self._rerank(plan.question, hits[: max(k * 3, 30)])
        return _diversify(hits, plan, k)

    def _rerank(self, question: str, hits: list[Hit]) -> list[Hit]:
        assert self._reranker is not None
        scores = self._reranker.score(question, [h.chunk.text for h in hits])
        ranked = sorted(zip(scores, hits, strict=True), key=lambda p: p[0], reverse=True)
        return [
            Hit(chunk=h.chunk, score=s, ranks={**h.ranks, "rerank": i + 1})
            for i, (s, h) in enumerate(ranked)
        ]


def _where(plan: QueryPlan) -> dict[str, Any] | None:
    parts: list[dict[str, Any]] = []
    if plan.since is not None:
        parts.append({"published_at": {"$gte": int(plan.since.timestamp())}})
    if plan.until is not None:
        parts.append({"published_at": {"$lte": int(plan.until.timestamp())}})
    if plan.source_filter:
        parts.append({"source": {"$in": list(plan.source_filter)}})
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else {"$and": parts}


def _and(where: dict[str, Any] | None, extra: dict[str, Any]) -> dict[str, Any]:
    if where is None:
        return extra
    parts = where.get("$and", [where])
    return {"$and": [*parts, extra]}


def _allowed(lex: _Lexical, plan: QueryPlan) -> set[int] | None:
    """Positions the hard filters allow, None when nothing is filtered."""
    import numpy as np

    if plan.since is None and plan.until is None and not plan.source_filter:
        return None
    mask = np.ones(len(lex.chunks), dtype=bool)
    if plan.since is not None:
        mask &= lex.epochs >= plan.since.timestamp()
    if plan.until is not None:
        mask &= (lex.epochs >= 0) & (lex.epochs <= plan.until.timestamp())
    if plan.source_filter:
        src = np.zeros(len(lex.chunks), dtype=bool)
        for s in plan.source_filter:
            src[list(lex.by_source.get(s, ()))] = True
        mask &= src
    return set(np.flatnonzero(mask).tolist())


def _bm25(lex: _Lexical, text: str, allowed: set[int] | None) -> list[str]:
    return [lex.chunks[i].id for i, _s in lex.index.search(text, CANDIDATES, allowed)]


def _bm25_sentences(lex: _Lexical, text: str, allowed: set[int] | None) -> list[str]:
    """Chunks in the order of their best-matching sentence."""
    allowed_sentences = None
    if allowed is not None:
        allowed_sentences = {
            i
            for pos in allowed
            for i in range(lex.first_sentence[pos], lex.first_sentence[pos + 1])
        }
    ranked: list[str] = []
    seen: set[int] = set()
    for i, _score in lex.sentences.search(text, SENTENCE_CANDIDATES, allowed_sentences):
        pos = lex.sentence_chunk[i]
        if pos not in seen:
            seen.add(pos)
            ranked.append(lex.chunks[pos].id)
            if len(ranked) == CANDIDATES:
                break
    return ranked


def _fuse(lists: Sequence[tuple[str, float, list[str]]]) -> dict[str, tuple[float, dict[str, int]]]:
    out: dict[str, tuple[float, dict[str, int]]] = {}
    for name, weight, ids in lists:
        for rank, cid in enumerate(ids, 1):
            score, ranks = out.get(cid, (0.0, {}))
            ranks[name] = rank
            out[cid] = (score + weight / (RRF_K + rank), ranks)
    return out


def _in_range(dt: datetime | None, ranges: Sequence[DateRange]) -> bool:
    return dt is not None and any(r.start <= dt < r.end for r in ranges)


def _boost(chunk: Chunk, plan: QueryPlan) -> float:
    factor = 1.0
    if plan.sources and chunk.source in plan.sources:
        factor *= SOURCE_BOOST
    if plan.dates and _in_range(chunk.published_at, plan.dates):
        factor *= DATE_BOOST
    return factor


def _diversify(hits: list[Hit], plan: QueryPlan, k: int) -> list[Hit]:
    """Top k, but each hop's outlet gets at least its share before one outlet fills the list."""
    hop_sources = [h.sources for h in plan.hops if h.sources]
    if len(hop_sources) < 2:
        return hits[:k]
    share = max(1, k // (2 * len(hop_sources)))
    chosen: list[Hit] = []
    seen: set[str] = set()
    for sources in hop_sources:
        got = 0
        for h in hits:
            if got >= share:
                break
            if h.chunk.source in sources and h.chunk.id not in seen:
                chosen.append(h)
                seen.add(h.chunk.id)
                got += 1
    rest = [h for h in hits if h.chunk.id not in seen]
    merged = chosen + rest[: max(0, k - len(chosen))]
    merged.sort(key=lambda h: h.score, reverse=True)
    return merged[:k]
