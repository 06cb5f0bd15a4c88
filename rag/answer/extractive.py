"""Extractive answering (no generative model): the best source sentence for each clause of
the question, cited, when it carries the kind of answer the clause asks for."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence

from rag.answer.markers import ABSTAIN_TOKEN
from rag.answer.sources import SourceSentence
from rag.question.shape import expected_type, fits_type, question_clauses


def extractive_answer(
    question: str,
    sources: Sequence[SourceSentence],
    similarity: Callable[[str, Sequence[str]], list[float]],
    *,
    min_similarity: float = 0.35,
) -> str:
    """The best source sentence for each clause of the question, cited; ABSTAIN_TOKEN when no
    sentence both matches a clause and carries the kind of answer it asks for."""
    if not sources:
        return ABSTAIN_TOKEN
    picked: list[SourceSentence] = []
    for clause in question_clauses(question):
        wanted = expected_type(clause)
        sims = similarity(clause, [s.sentence.text for s in sources])
        ranked = sorted(zip(sims, sources, strict=True), key=lambda p: p[0], reverse=True)
        # A sentence that carries the kind of answer asked for (a count, a sum) needs less
        # topical similarity: MiniLM scores "225 deaths ... these events" low against "how
        # many died in the unrest" because the sentence leans on its neighbours.
        floor = min_similarity * 0.6 if wanted in ("number", "money", "date") else min_similarity
        for sim, s in ranked:
            if sim < floor:
                break
            if fits_type(s.sentence.text, wanted):
                if s not in picked:
                    picked.append(s)
                break
        else:
            continue
    if not picked:
        return ABSTAIN_TOKEN
    return " ".join(_cite_sentence(s) for s in picked)


def _cite_sentence(s: SourceSentence) -> str:
    """The sentence with its marker before the final full stop: '... authorities [3].'"""
    text = " ".join(s.sentence.text.split())
    if text.endswith("."):
        return f"{text[:-1]} [{s.n}]."
    return f"{text} [{s.n}]"


def stream_text(text: str) -> Iterator[str]:
    """Deltas for an answer that was not generated token by token (extractive)."""
    yield from re.findall(r"\S+\s*", text)
