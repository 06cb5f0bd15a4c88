"""Hybrid retrieval: vector (Chroma) + BM25, fused by reciprocal rank, outlet- and date-aware."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from rag.config import Settings
from rag.errors import UnknownBackendError
from rag.query import FAR_FUTURE, FAR_PAST, DateRange, QueryPlan, SubQuery
from rag.types import Article, Chunk, Hit

if TYPE_CHECKING:
    import numpy as np

    from rag.embed import Embedder
    from rag.store import NewsStore

log = logging.getLogger("dateline.retrieve")

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
# Passages (settings.retrieval_unit == "passage"): each top article's sentences are scored
# against the question (cosine to the whole question + the best cosine to one of its parts or
# to the hop naming the article's outlet + BM25 scaled to the article's best + a share of the
# neighbours' score, since evidence sits among related sentences) and the best that fit one
# chunk's budget form its passage; its next-best form a second and a third. On the 549 MultiHop
# dev questions passages lifted MRR@10 0.711 -> 0.793 and evidence recall@10 0.717 -> 0.750
# over the chunks themselves in one run (evals/bench_retrieval.py, README); stemmed BM25
# (vectorstore/lexical.py) then took evidence recall to 0.776-0.779.
PASSAGE_BM25_WEIGHT = 1.0
PASSAGE_NEIGHBOUR_WEIGHT = 0.3
# Which passages fill the k places: each candidate (up to PASSAGE_MAX from each of the first
# PASSAGE_ARTICLES_PER_UNIT * k articles) is worth its article's fused score x its best
# sentence's cosine to the question ** PASSAGE_FOCUS x PASSAGE_DECAY per passage before it in
# its article. An article that plainly holds the answer gives a second or third passage; a
# question whose evidence is spread gets more articles. On the 549 dev questions this took
# evidence recall@10 from 0.785 (the fixed rule before it: second passages for the first
# k // 5 articles, k // 3 for a yes/no question) to 0.808 (evals/bench_retrieval.py). An
# offline count over the same candidates: decays 0.4-0.6 with exponents 1-2 gave 0.797-0.808,
# and without the cosine factor 0.789; on either half of the questions it beat the fixed rule.
PASSAGE_MAX = 3
PASSAGE_ARTICLES_PER_UNIT = 2
PASSAGE_DECAY = 0.5
PASSAGE_FOCUS = 1.5
PASSAGE_GAP = " … "


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
    """The in-memory indexes of one store generation."""

    generation: int
    chunks: list[Chunk]
    index: Any  # vectorstore.lexical.BM25Index
    by_source: dict[str, set[int]]
    epochs: np.ndarray  # published_at per chunk (-1 when unknown)
    by_id: dict[str, Chunk]
    sentences: Any  # vectorstore.lexical.BM25Index over every article's sentences
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
        """The indexes, rebuilt when this process has written to the store since."""
        with self._lock:
            if self._lex is None or self._lex.generation != self.store.generation:
                self._lex = self._build()
            return self._lex

    def _build(self) -> _Lexical:
        import numpy as np

        from vectorstore.lexical import BM25Index

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
        articles = {a.id: a for a in self.store.all_articles()}
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
        vectors = self._sentence_vectors(articles, chunks)
        # Wordpiece counts are for fitting passages, which need the sentence vectors.
        sizes = np.array(self.embedder.count_tokens(texts) if vectors else [], dtype=np.int64) - 2
        gap = self.embedder.count_tokens([PASSAGE_GAP.strip()])[0] - 2
        return _Lexical(
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
            self.settings.chunk_max_tokens,
        )

    def _sentence_vectors(
        self, articles: dict[str, Article], chunks: Sequence[Chunk]
    ) -> dict[str, np.ndarray]:
        """Every article's sentence vectors; those a store written before 0.5 lacks are
        embedded once now (with their chunks, as an ingest does) and stored."""
        if "passage" not in (self.settings.retrieval_unit, self.settings.answer_unit):
            return {}
        from rag.embed import embed_article_chunks

        vectors = self.store.sentence_vectors()
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
                _chunk_vectors, got = embed_article_chunks(group, self.embedder)
                for (a, _cs), rows in zip(group, got, strict=True):
                    vectors[a.id] = rows
                self.store.write_sentence_vectors(
                    [(a, rows) for (a, _cs), rows in zip(group, got, strict=True)]
                )
        return vectors

    def refresh(self) -> None:
        """Forget the BM25 index (another process wrote to the store)."""
        with self._lock:
            self._lex = None

    def search(self, plan: QueryPlan, k: int | None = None, unit: str | None = None) -> list[Hit]:
        """The top k units (settings.retrieval_unit unless `unit` says) for a planned query."""
        k = k or self.settings.top_k
        lex = self._lexical()
        if not lex.chunks:
            return []
        allowed = _allowed(lex, plan)
        if allowed is not None and not allowed:
            return []
        where = _where(plan)
        anchored = self._anchor_ranges(plan) if plan.anchors else []
        subs = _sub_searches(plan)
        passages = (unit or self.settings.retrieval_unit) == "passage"
        parts = list(plan.parts) if passages else []
        # One batched embedding call for every sub-search and question part: on a CPU each
        # call has a fixed cost.
        all_vectors = self.embedder.embed_documents([sub.text for sub in subs] + parts)
        vectors = all_vectors[: len(subs)]
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
            Hit(chunk=by_id[cid], score=score * _boost(by_id[cid], plan, anchored), ranks=ranks)
            for cid, (score, ranks) in fused.items()
            if cid in by_id
        ]
        hits.sort(key=lambda h: h.score, reverse=True)
        if self._reranker is not None:
            hits = self._rerank(plan.question, hits[: max(k * 3, 30)])
        if not passages:
            return _diversify(hits, plan, k)
        # The question, its parts and each outlet-limited hop, for scoring sentences.
        hop_vectors = [
            (sub.sources, vec) for sub, vec in zip(subs, vectors, strict=True) if sub.sources
        ]
        return _passages(lex, hits, plan, vectors[0], all_vectors[len(subs) :], hop_vectors, k)

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
        allowed_sentences = {i for pos in allowed for i in lex.chunk_sentences[pos]}
    ranked: list[str] = []
    seen: set[int] = set()
    for i, _score in lex.sentences.search(text, SENTENCE_CANDIDATES, allowed_sentences):
        pos = lex.sentence_chunk[i]
        if pos >= 0 and pos not in seen:
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


def _boost(chunk: Chunk, plan: QueryPlan, anchored: Sequence[tuple[DateRange, str]]) -> float:
    """SOURCE_BOOST for a named outlet, DATE_BOOST for a date the question gives, written
    ("in May 2023") or as another report's time (`anchored`; not that report itself)."""
    factor = 1.0
    if plan.sources and chunk.source in plan.sources:
        factor *= SOURCE_BOOST
    dated = plan.dates and _in_range(chunk.published_at, plan.dates)
    if dated or any(
        aid != chunk.article_id and _in_range(chunk.published_at, (span,)) for span, aid in anchored
    ):
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


def _passages(
    lex: _Lexical,
    hits: list[Hit],
    plan: QueryPlan,
    question: np.ndarray,
    parts: np.ndarray,
    hops: list[tuple[tuple[str, ...], np.ndarray]],
    k: int,
) -> list[Hit]:
    """The k passages worth most (see PASSAGE_* above): every first passage in its article's
    rank order, then the second ones, then the third."""
    order: list[Hit] = []  # each article's best hit, in rank order
    seen: set[str] = set()
    for h in hits:
        if h.chunk.article_id not in seen and h.chunk.article_id in lex.vectors:
            seen.add(h.chunk.article_id)
            order.append(h)
    if not order:  # no sentence vectors to pick passages by: the chunks themselves
        return _diversify(hits, plan, k)
    bm25 = lex.sentences.scores(plan.search_text)
    # (worth, passage n, article rank, its sentences); only the k chosen become Hits.
    candidates: list[tuple[float, int, int, list[int]]] = []
    for rank, hit in enumerate(order[: PASSAGE_ARTICLES_PER_UNIT * k]):
        article = lex.articles[hit.chunk.article_id]
        cosines = lex.vectors[article.id] @ question
        scores = _sentence_scores(lex, article, bm25, cosines, parts, hops)
        worth = hit.score
        for n, indices in enumerate(_fill(lex, article, scores, PASSAGE_MAX)):
            focus = max(float(cosines[indices].max()), 0.0) ** PASSAGE_FOCUS
            # Never above the passage before it: a later passage is the article's weaker part.
            worth = min(worth, hit.score * focus * PASSAGE_DECAY**n)
            candidates.append((worth, n, rank, indices))
    best = sorted(candidates, key=lambda c: c[0], reverse=True)[:k]
    return [
        _passage(lex.articles[order[rank].chunk.article_id], order[rank], indices, n)
        for _worth, n, rank, indices in sorted(best, key=lambda c: (c[1], c[2]))
    ]


def _sentence_scores(
    lex: _Lexical,
    article: Article,
    bm25: np.ndarray,
    cosines: np.ndarray,
    parts: np.ndarray,
    hops: list[tuple[tuple[str, ...], np.ndarray]],
) -> np.ndarray:
    """How well each sentence of an article answers the question (see PASSAGE_* above);
    `cosines`: its sentences' cosines to the whole question."""
    import numpy as np

    vecs = lex.vectors[article.id]
    score = cosines
    own = [vec for sources, vec in hops if article.source in sources]
    targets = np.stack(own) if own else parts
    if len(targets):
        score = score + (vecs @ np.asarray(targets).T).max(axis=1)
    base = lex.offset[article.id]
    words = bm25[base : base + len(article.sentences)]
    top = float(words.max()) if len(words) else 0.0
    if top > 0:
        score = score + PASSAGE_BM25_WEIGHT * words / top
    padded = np.pad(score, 1, mode="edge")
    return np.asarray(score + PASSAGE_NEIGHBOUR_WEIGHT * (padded[:-2] + padded[2:]) / 2)


def _fill(lex: _Lexical, article: Article, scores: np.ndarray, n: int) -> list[list[int]]:
    """Up to n passages: sentences by falling score, each passage taking those that still fit
    one chunk's budget (gaps between runs count too), in text order."""
    import numpy as np

    budget = lex.budget
    base = lex.offset[article.id]
    left = [int(i) for i in np.argsort(-scores, kind="stable")]
    out: list[list[int]] = []
    for _ in range(n):
        taken: list[int] = []
        rest: list[int] = []
        used = 0
        for i in left:
            size = int(lex.sizes[base + i])
            # A sentence next to none taken yet opens a new run, joined by PASSAGE_GAP.
            gap = 0 if not taken or (i - 1 in taken or i + 1 in taken) else lex.gap_size
            if used + size + gap <= budget:
                taken.append(i)
                used += size + gap
            else:
                rest.append(i)
        if not taken:
            break
        out.append(sorted(taken))
        left = rest
    return out


def _passage(article: Article, hit: Hit, indices: list[int], n: int) -> Hit:
    """A Hit for an article's n-th passage (0: the first), ranked by its article's best hit."""
    runs: list[list[int]] = []
    for i in indices:
        if runs and i == runs[-1][-1] + 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    s = article.sentences
    text = PASSAGE_GAP.join(article.text[s[r[0]].start : s[r[-1]].end] for r in runs)
    chunk = Chunk(
        id=f"{article.id}:{article.content_hash[:8]}:p{n}",
        article_id=article.id,
        sentence_start=indices[0],
        sentence_end=indices[-1] + 1,
        text=text,
        title=article.title,
        source=article.source,
        published_at=article.published_at,
        content_hash=article.content_hash,
        sentences=tuple(indices),
    )
    # Its article's score, the second passage half of it, and so on: the list's order (every
    # first passage before every second one), not the worth that chose it.
    return Hit(chunk=chunk, score=hit.score / (n + 1), ranks={**hit.ranks, "passage": n + 1})
