"""The final Answer from a draft: claims verified, citations renumbered 1..n in order of
appearance, and an abstention when nothing holds or the question's kind is not answered."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from rag.answer.markers import ABSTAIN_TOKEN, numbering, parse_markers, renumber, strip_markers
from rag.answer.short import short_answer
from rag.answer.sources import SourceSentence
from rag.ingest.sentences import split_sentences
from rag.question import QueryPlan
from rag.question.shape import expected_type, fits_type, question_clauses
from rag.types import Answer, Hit, SentenceCheck
from rag.verify.claims import Judge, Similarity
from rag.verify.support import verify


def finish(
    question: str,
    standalone: str | None,
    plan: QueryPlan,
    hits: Sequence[Hit],
    sources: Sequence[SourceSentence],
    raw: str,
    timings: dict[str, float],
    similarity: Similarity,
    judge: Judge | None = None,
    mode: str = "flag",
) -> Answer:
    """The Answer to `question` from the model's (or the extractive) draft `raw`."""
    by_n = {s.n: s for s in sources}
    text, _cited = parse_markers(raw, set(by_n))
    if plan.absent_sources:
        return abstain(question, standalone, hits, timings, absent=plan.absent_sources)
    if not text or text.strip().upper().startswith(ABSTAIN_TOKEN) or not by_n:
        return abstain(question, standalone, hits, timings)
    sentences = [s.text for s in split_sentences(text)]
    checked = verify(sentences, by_n, similarity, judge=judge, mode=mode)
    if not checked.supported or not answers_the_kind_asked(plan.question, checked.checks):
        return abstain(question, standalone, hits, timings, checks=checked.checks)
    order = numbering(checked.text, checked.cited)
    final_text = renumber(checked.text, order)
    citations = tuple(
        replace(by_n[old].citation(verified=checked.cited[old]), n=new)
        for old, new in order.items()
    )
    checks = tuple(
        SentenceCheck(
            renumber(c.text, order),
            tuple(order[n] for n in c.citations if n in order),
            c.supported,
            c.score,
            c.reason,
        )
        for c in checked.checks
    )
    return Answer(
        question=question,
        answer=final_text,
        abstained=False,
        citations=citations,
        verification=checks,
        short_answer=short_answer(final_text, plan.wants_short_answer, plan.question),
        standalone_question=standalone,
        retrieved=tuple(hits),
        timings=timings,
    )


def abstain(
    question: str,
    standalone: str | None,
    hits: Sequence[Hit],
    timings: dict[str, float],
    checks: tuple[SentenceCheck, ...] = (),
    absent: Sequence[str] = (),
    missing: str = "",
) -> Answer:
    """The "articles do not say" Answer, naming the outlets the question asks about that the store
    does not hold, when that is why."""
    q = (standalone or question).strip()
    text = f"The articles do not say. None of the stored sentences answers: “{q}”"
    if absent:
        names = f"{', '.join(absent[:-1])} or {absent[-1]}" if len(absent) > 1 else absent[0]
        text = f"The articles do not say: none of the stored articles is from {names}."
    elif missing:
        text = f"The articles do not say: {missing}."
    return Answer(
        question=question,
        answer=text,
        abstained=True,
        verification=checks,
        short_answer="Insufficient information.",
        standalone_question=standalone,
        retrieved=tuple(hits),
        timings=timings,
    )


def answers_the_kind_asked(question: str, checks: Sequence[SentenceCheck]) -> bool:
    """A question that only asks for amounts, counts or dates ("What did it cost?") is not
    answered by supported sentences that hold none: a small model's "The contingent cost
    [1]." restates the question, and its citation is on topic, but it says nothing."""
    wanted = [expected_type(c) for c in question_clauses(question)]
    if not wanted or any(w not in ("money", "number", "date") for w in wanted):
        return True
    supported = [strip_markers(c.text) for c in checks if c.supported and c.citations]
    return any(fits_type(text, w) for text in supported for w in wanted)
