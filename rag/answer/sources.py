"""Source sentences: the few sentences of the retrieved units the model is shown, numbered,
and how they are written into the prompt."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rag.instructions import addresses_model
from rag.types import Article, Citation, Hit, Sentence
from rag.words import content_words

# Candidate sentences embedded per question when picking the ones the model sees: the best
# by words and rank; fewer changed the picks and cost right answers (docs/experiments.md).
EMBED_CANDIDATES = 40


@dataclass(frozen=True)
class SourceSentence:
    """A sentence shown to the model under number n."""

    n: int
    article: Article
    sentence: Sentence
    score: float

    def citation(self, verified: bool = True) -> Citation:
        a, s = self.article, self.sentence
        return Citation(
            n=self.n,
            article_id=a.id,
            sentence_index=s.index,
            start=s.start,
            end=s.end,
            text=s.text,
            title=a.title,
            source=a.source,
            published_at=a.published_at,
            url=a.url,
            verified=verified,
        )


def select_sentences(
    question: str,
    hits: Sequence[Hit],
    get_article: Callable[[str], Article | None],
    similarity: Callable[[str, Sequence[str]], list[float]],
    *,
    limit: int = 8,
    spread: bool = False,
) -> list[SourceSentence]:
    """The `limit` sentences of the retrieved chunks that best match the question, numbered
    1..n grouped by article (articles in retrieval order, sentences in text order)."""
    candidates: list[tuple[Article, Sentence, float]] = []
    seen: set[tuple[str, int]] = set()
    articles: dict[str, Article] = {}
    for rank, hit in enumerate(hits):
        article = articles.get(hit.chunk.article_id) or get_article(hit.chunk.article_id)
        if article is None:
            continue
        articles[article.id] = article
        for idx in hit.chunk.sentence_indices:
            if idx >= len(article.sentences) or (article.id, idx) in seen:
                continue
            if addresses_model(article.sentences[idx].text):
                continue  # an instruction inside an article is never shown as evidence
            seen.add((article.id, idx))
            candidates.append((article, article.sentences[idx], 1.0 / (rank + 3)))
    if not candidates:
        return []
    q_words = content_words(question)
    cheap = [
        (0.3 * len(q_words & content_words(sentence.text)) / max(1, len(q_words)) + rank_score)
        for _a, sentence, rank_score in candidates
    ]
    # Embedding every candidate sentence delays the model's first token; the best
    # EMBED_CANDIDATES by question words and rank hold the sentences it would pick anyway
    # (evals/bench_retrieval.py's "evidence shown" checks the picks).
    keep = sorted(range(len(candidates)), key=lambda i: cheap[i], reverse=True)
    keep = keep[:EMBED_CANDIDATES]
    sims = similarity(question, [candidates[i][1].text for i in keep])
    scored = []
    for i, sim in zip(keep, sims, strict=True):
        article, sentence, _rank_score = candidates[i]
        scored.append((sim + cheap[i], article, sentence))
    scored.sort(key=lambda t: t[0], reverse=True)
    top = _spread(scored, limit) if spread else scored[:limit]
    order = {a.id: i for i, a in enumerate(articles.values())}
    top.sort(key=lambda t: (order[t[1].id], t[2].index))
    return [SourceSentence(n, a, s, score) for n, (score, a, s) in enumerate(top, 1)]


def _spread(
    scored: list[tuple[float, Article, Sentence]], limit: int
) -> list[tuple[float, Article, Sentence]]:
    """The best `limit` sentences, at most half of them from one article while others have
    candidates: for passages, which hold an article's best sentences, so that one article on
    the question's topic does not fill the prompt and a multi-report question keeps its other
    reports. (Chunks are not capped: they already mix in weaker sentences.)"""
    cap = max(1, -(-limit // 2))
    top: list[tuple[float, Article, Sentence]] = []
    skipped: list[tuple[float, Article, Sentence]] = []
    per: dict[str, int] = {}
    for item in scored:
        if len(top) == limit:
            break
        if per.get(item[1].id, 0) < cap:
            top.append(item)
            per[item[1].id] = per.get(item[1].id, 0) + 1
        else:
            skipped.append(item)
    return top + skipped[: limit - len(top)]


def format_sources(sources: Sequence[SourceSentence]) -> str:
    """Sources grouped by article under its title, outlet and date, each sentence labelled at
    both ends ([3] ... [3]): small models cite far more reliably that way. Articles carry no
    letter: users never see one, so the model must have none to quote ("Article A states")."""
    lines: list[str] = []
    current = None
    for s in sources:
        if s.article.id != current:
            current = s.article.id
            date = (
                s.article.published_at.strftime("%B %-d, %Y")
                if s.article.published_at
                else "undated"
            )
            lines.append(f'"{s.article.title}" ({s.article.source}, {date})')
        text = " ".join(s.sentence.text.split())
        lines.append(f"[{s.n}] {text} [{s.n}]")
    return "\n".join(lines)
