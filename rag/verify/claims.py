"""One claim against the sentences it cites: numbers, dates, negation and names must agree,
and the words or the meaning must match."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from rag.instructions import addresses_model
from rag.words import content_words, word_share

Similarity = Callable[[str, Sequence[str]], list[float]]


class Judge(Protocol):
    """Decides whether evidence sentences state a claim (an LLM judge, say)."""

    def supports(self, claim: str, evidence: Sequence[str]) -> bool: ...


# Cosine between a claim and its evidence below which MiniLM rarely sees a paraphrase.
MIN_SIMILARITY = 0.55
# Share of a claim's content words found in its evidence that counts as a close restatement.
MIN_WORD_RECALL = 0.6

_NUM = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?%?")
_YEAR_OR_MONTH = re.compile(
    r"\b(?:19|20)\d{2}\b|\b(?:January|February|March|April|May|June|July|August|September|"
    r"October|November|December)\b"
)
_NEG = re.compile(r"\b(?:not|no|never|none|neither|nor|without|denied|denies|n't)\b|n't\b", re.I)
# Words after a negation that it governs ("did not adequately protect her hedge fund").
NEGATION_SCOPE = 5
_NOT_ONLY = re.compile(r"\bnot only\b", re.I)
_ANSWER_NO = re.compile(r"^\s*no\s*,", re.I)
# A capitalised word: a name (except a sentence's first word).
CAP = re.compile(r"\b[A-Z][a-zA-Z]{2,}\b")
_NUMBER_WORDS = {
    "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
    "seven": "7", "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12",
}  # fmt: skip


def numbers(text: str) -> set[str]:
    out = {m.group(0).rstrip("%").replace(",", "") for m in _NUM.finditer(text)}
    out |= {v for k, v in _NUMBER_WORDS.items() if re.search(rf"\b{k}\b", text, re.I)}
    return {n for n in out if n}


def check_claim(
    claim: str,
    evidence: Sequence[str],
    context: str,
    similarity: Similarity,
    *,
    published: Sequence[datetime] = (),
) -> tuple[bool, float, str]:
    """(supported, score, reason) for one claim against its cited sentences; `context` (titles,
    outlets, dates of the cited articles) may supply names and dates but never numbers, and
    `published` (the cited articles' dates) may be named in full by the claim."""
    if not evidence:
        return False, 0.0, "cites no source sentence"
    if any(addresses_model(sentence) for sentence in evidence):
        return False, 0.0, "the cited sentence is an instruction to a model, not a report"
    joined = " ".join(evidence)
    # "The Age reported on November 7, 2023, ..." names the cited article's date: its day is
    # not a figure the sentence must contain. The day never vouches for other numbers.
    dated = claim
    for day in published:
        dated = re.sub(
            rf"\b{day:%B} {day.day}(?:st|nd|rd|th)?\b(?:,? {day.year}\b)?", f"{day:%B %Y}", dated
        )
    missing = numbers(dated) - numbers(joined) - numbers(context)
    if missing:
        return False, 0.0, f"number {sorted(missing)[0]} is not in the cited sentence(s)"
    for token in _YEAR_OR_MONTH.findall(claim):
        if token not in joined and token not in context:
            return False, 0.0, f"date {token!r} is not in the cited sentence(s)"
    if _negation_differs(claim, joined):
        return False, 0.0, "negation differs from the cited sentence(s)"
    # Capitalised words are names, except the claim's first word.
    names = {m.group(0) for m in CAP.finditer(claim) if m.start() > 0}
    lower = (joined + " " + context).lower()
    unknown = [n for n in names if n.lower() not in lower]
    if unknown and len(unknown) / max(1, len(names)) > 0.34:
        return False, 0.0, f"{unknown[0]!r} is not in the cited sentence(s)"
    sims = similarity(claim, [*evidence, joined] if len(evidence) > 1 else list(evidence))
    best = max(sims) if sims else 0.0
    words = content_words(claim)
    recall = word_share(words, joined + " " + context)
    if best >= MIN_SIMILARITY or recall >= MIN_WORD_RECALL:
        return True, max(best, recall), ""
    return False, max(best, recall), "the cited sentence(s) do not say this"


def _negated(text: str) -> list[set[str]]:
    """The content words each negation in a text governs: the few words after it ("not only
    ... but also" is no negation, nor is an opening "No," that answers a yes/no question)."""
    text = _NOT_ONLY.sub(" ", _ANSWER_NO.sub("", text))
    return [
        content_words(" ".join(text[m.end() :].split()[:NEGATION_SCOPE]))
        for m in _NEG.finditer(text)
    ]


def _negation_differs(claim: str, evidence: str) -> bool:
    """Whether the claim negates what the evidence states, or states what it negates.

    A negation on one side is matched when the other side negates some of the same words.
    An unmatched one in the claim ("X did not win") always differs; one in the evidence
    only when the claim speaks of what it negates ("did not adequately protect her fund" ->
    "adequately protected her fund"), not when it is about something else in the sentence
    ("While not trained as an engineer, Altman ..." supports a claim about Altman's fame).
    """
    said, cited = _negated(claim), _negated(evidence)
    if any(not any(words & other for other in cited) for words in said):
        return True
    claim_words = content_words(_ANSWER_NO.sub("", claim))
    return any(words & claim_words and not any(words & other for other in said) for words in cited)
