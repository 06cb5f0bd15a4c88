"""Scoring one answered question: every metric of its answer, retrieval and citations, as
the record results.jsonl keeps."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from evals.citations import citation_scores, gold_citation_share
from evals.datasets import Question
from evals.metrics import (
    evidence_recall_at_k,
    exact_match,
    hits_at_k,
    map_at_k,
    mrr_at_k,
    multihop_accuracy,
    token_f1,
)
from rag import Answer, Judge, strip_markers

TOP_RETRIEVED = 10  # retrieved chunks kept per question (and scored: Hits@10, MRR@10 ...)
# What a record keeps of each citation (the rest is in the store).
CITATION_FIELDS = ("n", "text", "source", "title", "published_at", "verified")


def _best(score: Callable[[str, str], float], prediction: str, golds: Sequence[str]) -> float:
    return max((score(prediction, g) for g in golds), default=0.0)


def with_provenance(text: str, source: str, published_at: datetime | None) -> str:
    """A cited sentence as a judge reads it: after its outlet and publication day.

    Answers attribute what they cite ("The Verge (28 September 2023) names FTX [1]"); the
    outlet and the day come with the citation, not from its sentence, so a judge shown the
    bare sentence would reject every attribution it cannot see.
    """
    day = f" ({published_at.day} {published_at:%B %Y})" if published_at else ""
    return f"{source}{day}: {text}" if source else text


def judged_sentences(
    citations: Sequence[Mapping[str, Any]], verification: Sequence[Mapping[str, Any]]
) -> list[tuple[str, list[str]]]:
    """Each answer sentence with the sentences it cites as the judge reads them (after their
    outlet and day), from the citations and checks as a record keeps them."""
    judged = {
        c["n"]: with_provenance(
            c["text"],
            c.get("source") or "",
            datetime.fromisoformat(c["published_at"]) if c.get("published_at") else None,
        )
        for c in citations
    }
    return [
        (strip_markers(v["text"]), [judged[n] for n in v["citations"] if n in judged])
        for v in verification
    ]


def score_answer(question: Question, answer: Answer, judge: Judge) -> dict[str, Any]:
    """The per-question record: what was asked, what came back, and every metric.

    Metrics that do not apply are None (left out of the means): retrieval needs gold
    evidence on an answerable question, citations need an answer that did not abstain,
    exact match and F1 need reference answers.
    """
    retrieved = [h.chunk.text for h in answer.retrieved[:TOP_RETRIEVED]]
    facts = [e.text for e in question.evidence]
    prediction = answer.short_answer or strip_markers(answer.answer)
    metrics: dict[str, float | None] = {}

    if question.answerable:
        metrics["accuracy"] = _best(multihop_accuracy, prediction, question.answers)
    else:
        metrics["accuracy"] = 1.0 if answer.abstained else 0.0
    golds = list(question.answers)
    metrics["exact_match"] = exact_match(prediction, golds) if golds else None
    metrics["token_f1"] = token_f1(prediction, golds) if golds else None

    with_evidence = question.answerable and bool(facts)
    metrics["hits@4"] = hits_at_k(retrieved, facts, 4) if with_evidence else None
    metrics["hits@10"] = hits_at_k(retrieved, facts, 10) if with_evidence else None
    metrics["mrr@10"] = mrr_at_k(retrieved, facts, 10) if with_evidence else None
    metrics["map@10"] = map_at_k(retrieved, facts, 10) if with_evidence else None
    metrics["evidence_recall@10"] = (
        evidence_recall_at_k(retrieved, facts, 10) if with_evidence else None
    )

    cited = [c.to_json() for c in answer.citations]
    checks = [v.to_json() for v in answer.verification]
    sentences = judged_sentences(cited, checks)
    bare = {c.n: c.text for c in answer.citations}
    if answer.abstained or not sentences:
        metrics["citation_recall"] = None
        metrics["citation_precision"] = None
        metrics["gold_citation_share"] = None
    else:
        cites = citation_scores(sentences, judge)
        metrics["citation_recall"] = cites["citation_recall"]
        metrics["citation_precision"] = cites["citation_precision"]
        metrics["gold_citation_share"] = (
            gold_citation_share(
                [[bare[n] for n in v.citations if n in bare] for v in answer.verification], facts
            )
            if facts
            else None
        )
    metrics["abstained"] = 1.0 if answer.abstained else 0.0

    return {
        **_asked(question),
        "prediction": answer.answer,
        "short_answer": answer.short_answer,
        "abstained": answer.abstained,
        "citations": [_slim(c) for c in cited],
        "verification": checks,
        "retrieved": [
            {"text": h.chunk.text, "source": h.chunk.source, "title": h.chunk.title}
            for h in answer.retrieved[:TOP_RETRIEVED]
        ],
        "timings": {k: round(v, 4) for k, v in answer.timings.items()},
        "metrics": metrics,
        "error": None,
    }


def error_record(question: Question, message: str) -> dict[str, Any]:
    """The record of a question the pipeline refused (counted as wrong, never retried)."""
    return {
        **_asked(question),
        "prediction": "",
        "short_answer": None,
        "abstained": False,
        "citations": [],
        "verification": [],
        "retrieved": [],
        "timings": {},
        "metrics": {"accuracy": 0.0, "abstained": 0.0},
        "error": message,
    }


def _asked(question: Question) -> dict[str, Any]:
    """What a record says of the question itself."""
    return {
        "id": question.id,
        "type": question.type,
        "question": question.question,
        "as_of": question.as_of.isoformat() if question.as_of else None,
        "answerable": question.answerable,
        "answers": list(question.answers),
        "evidence": [e.text for e in question.evidence],
    }


def _slim(citation: dict[str, Any]) -> dict[str, Any]:
    return {k: citation[k] for k in CITATION_FIELDS}
