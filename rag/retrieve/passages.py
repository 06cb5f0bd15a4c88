"""Passages: for each top article, the sentences that best answer the question, within one
chunk's budget; the k worth most fill the result list."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rag.question import QueryPlan
from rag.retrieve.fusion import diversify
from rag.retrieve.index import PASSAGE_GAP, LexicalIndex, Loaded
from rag.types import Article, Chunk, Hit

if TYPE_CHECKING:
    import numpy as np

# Passages (settings.retrieval_unit == "passage"): each top article's sentences are scored
# against the question (cosine to the whole question + the best cosine to one of its parts or
# to the hop naming the article's outlet + BM25 scaled to the article's best + a share of the
# neighbours' score, since evidence sits among related sentences) and the best that fit one
# chunk's budget form its passage; its next-best form a second and a third. A passage holds
# more of a question's evidence than the chunk it was ranked by (docs/benchmarks.md).
PASSAGE_BM25_WEIGHT = 1.0
PASSAGE_NEIGHBOUR_WEIGHT = 0.3
# Which passages fill the k places: each candidate (up to PASSAGE_MAX from each of the first
# PASSAGE_ARTICLES_PER_UNIT * k articles) is worth its article's fused score x its best
# sentence's cosine to the question ** PASSAGE_FOCUS x PASSAGE_DECAY per passage before it in
# its article. An article that plainly holds the answer gives a second or third passage; a
# question whose evidence is spread gets more articles. How the constants were chosen, and
# the rules they replaced: docs/experiments.md.
PASSAGE_MAX = 3
PASSAGE_ARTICLES_PER_UNIT = 2
PASSAGE_DECAY = 0.5
PASSAGE_FOCUS = 1.5


def best_passages(
    lex: LexicalIndex,
    hits: list[Hit],
    plan: QueryPlan,
    question: np.ndarray,
    parts: np.ndarray,
    hops: list[tuple[tuple[str, ...], np.ndarray]],
    k: int,
) -> list[Hit]:
    """The k passages worth most (see PASSAGE_* above): every first passage in its article's
    rank order, then the second ones, then the third."""
    first: list[Hit] = []  # each article's best hit, in rank order
    seen: set[str] = set()
    for h in hits:
        if h.chunk.article_id not in seen:
            seen.add(h.chunk.article_id)
            first.append(h)
    first = first[: PASSAGE_ARTICLES_PER_UNIT * k]
    loaded = lex.load([h.chunk.article_id for h in first])
    order = [
        (h, loaded[h.chunk.article_id])
        for h in first
        if h.chunk.article_id in loaded and loaded[h.chunk.article_id].vectors is not None
    ]
    if not order:  # no sentence vectors to pick passages by: the chunks themselves
        return diversify(hits, plan, k)
    bm25 = lex.sentence_scorer(plan.search_text)
    # (worth, passage n, article rank, its sentences); only the k chosen become Hits.
    candidates: list[tuple[float, int, int, list[int]]] = []
    for rank, (hit, item) in enumerate(order):
        assert item.vectors is not None
        cosines = item.vectors @ question
        scores = _sentence_scores(item, bm25(item), cosines, parts, hops)
        worth = hit.score
        for n, indices in enumerate(_fill(lex, item, scores, PASSAGE_MAX)):
            focus = max(float(cosines[indices].max()), 0.0) ** PASSAGE_FOCUS
            # Never above the passage before it: a later passage is the article's weaker part.
            worth = min(worth, hit.score * focus * PASSAGE_DECAY**n)
            candidates.append((worth, n, rank, indices))
    best = sorted(candidates, key=lambda c: c[0], reverse=True)[:k]
    return [
        _passage(order[rank][1].article, order[rank][0], indices, n)
        for _worth, n, rank, indices in sorted(best, key=lambda c: (c[1], c[2]))
    ]


def _sentence_scores(
    item: Loaded,
    words: np.ndarray,
    cosines: np.ndarray,
    parts: np.ndarray,
    hops: list[tuple[tuple[str, ...], np.ndarray]],
) -> np.ndarray:
    """How well each sentence of an article answers the question (see PASSAGE_* above);
    `words`: its sentences' BM25, `cosines`: their cosines to the whole question."""
    import numpy as np

    assert item.vectors is not None
    vecs = item.vectors
    score = cosines
    own = [vec for sources, vec in hops if item.article.source in sources]
    targets = np.stack(own) if own else parts
    if len(targets):
        score = score + (vecs @ np.asarray(targets).T).max(axis=1)
    top = float(words.max()) if len(words) else 0.0
    if top > 0:
        score = score + PASSAGE_BM25_WEIGHT * words / top
    padded = np.pad(score, 1, mode="edge")
    return np.asarray(score + PASSAGE_NEIGHBOUR_WEIGHT * (padded[:-2] + padded[2:]) / 2)


def _fill(lex: LexicalIndex, item: Loaded, scores: np.ndarray, n: int) -> list[list[int]]:
    """Up to n passages: sentences by falling score, each passage taking those that still fit
    one chunk's budget (gaps between runs count too), in text order."""
    import numpy as np

    assert item.sizes is not None
    budget = lex.budget
    left = [int(i) for i in np.argsort(-scores, kind="stable")]
    out: list[list[int]] = []
    for _ in range(n):
        taken: list[int] = []
        rest: list[int] = []
        used = 0
        for i in left:
            size = int(item.sizes[i])
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
