"""Fusion: the ranked lists of one question's searches (vector, BM25 over chunks, BM25 over
sentences, per hop) merged by weighted reciprocal rank, with the plan's filters and boosts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from rag.question import DateRange, QueryPlan
from rag.retrieve.index import Filter
from rag.types import Chunk, Hit

if TYPE_CHECKING:
    from rag.retrieve.index import LexicalIndex

# Reciprocal rank fusion constant: Cormack et al. use 60; a small one gives the first ranks
# of each list more weight, which ranked the first hit higher (docs/experiments.md).
# Candidates per list:
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
# one or two sentences of each report, and a 250-wordpiece chunk dilutes them.
SENTENCE_WEIGHT = 1.0
SENTENCE_CANDIDATES = 200


@dataclass(frozen=True)
class SubSearch:
    """One search of a question: its text, the outlets it is limited to, its fusion weight."""

    name: str
    text: str
    sources: tuple[str, ...]
    weight: float


def sub_searches(plan: QueryPlan) -> list[SubSearch]:
    subs = [SubSearch("q", plan.search_text, (), 1.0)]
    # Multi-hop: each hop searched within its own outlet, so every report gets a place.
    if len(plan.hops) > 1 or plan.sources:
        weight = 1.0 / max(1, len(plan.hops)) + HOP_WEIGHT
        for n, hop in enumerate(plan.hops):
            sources = tuple(
                x for x in hop.sources if not plan.source_filter or x in plan.source_filter
            )
            if sources:
                subs.append(SubSearch(f"hop{n}", hop.text, sources, weight))
    return subs


def hard_filter(plan: QueryPlan) -> Filter:
    """What the caller's filters allow (outlets, since, until); boosts are not filters."""
    return Filter(
        tuple(plan.source_filter) if plan.source_filter else None,
        plan.since.timestamp() if plan.since is not None else None,
        plan.until.timestamp() if plan.until is not None else None,
    )


def bm25_chunks(lex: LexicalIndex, text: str, where: Filter) -> list[str]:
    return lex.bm25_chunks(text, CANDIDATES, where)


def bm25_sentences(lex: LexicalIndex, text: str, where: Filter) -> list[str]:
    """Chunks in the order of their best-matching sentence."""
    return lex.bm25_sentences(text, SENTENCE_CANDIDATES, CANDIDATES, where)


def fuse(lists: Sequence[tuple[str, float, list[str]]]) -> dict[str, tuple[float, dict[str, int]]]:
    out: dict[str, tuple[float, dict[str, int]]] = {}
    for name, weight, ids in lists:
        for rank, cid in enumerate(ids, 1):
            score, ranks = out.get(cid, (0.0, {}))
            ranks[name] = rank
            out[cid] = (score + weight / (RRF_K + rank), ranks)
    return out


def _in_range(dt: datetime | None, ranges: Sequence[DateRange]) -> bool:
    return dt is not None and any(r.start <= dt < r.end for r in ranges)


def boost(chunk: Chunk, plan: QueryPlan, anchored: Sequence[tuple[DateRange, str]]) -> float:
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


def diversify(hits: list[Hit], plan: QueryPlan, k: int) -> list[Hit]:
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
