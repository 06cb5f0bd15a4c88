"""Citation metrics: ALCE-style citation recall and precision with a pluggable judge (the
lexical one here, or rag's LLM judge), and the share of citations that are gold evidence."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from evals.metrics import ratio, squash
from rag import Judge

_WORD = re.compile(r"\w+")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# Function words and reporting verbs: they carry no claim, and "said" is in every news story.
_STOPWORD_TEXT = """
    a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each few
    for from further had has have having he her here hers herself him himself his how i if in
    into is it its itself just me more most my myself no nor not of off on once only or other
    our ours ourselves out over own same she should so some such than that the their theirs
    them themselves then there these they this those through to too under until up very was
    we were what when where which while who whom why will with would you your yours yourself
    said says say told according reported reports"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def _numbers(text: str) -> set[str]:
    # "4,500" and "4500" are the same number; keep decimals ("4.5") distinct from integers.
    return {m.replace(",", "") for m in _NUMBER.findall(text)}


def _stem(word: str) -> str:
    # A crude plural strip so "deaths" matches "death"; good enough for a lexical check.
    if len(word) > 4 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _content_words(text: str) -> set[str]:
    words = (w.lower() for w in _WORD.findall(text))
    return {_stem(w) for w in words if w not in _STOPWORDS and not w.isdigit() and len(w) > 1}


class LexicalJudge:
    """A cheap, model-free judge: enough shared content words and every number present.

    Supports a claim when at least `threshold` of the claim's distinct content words
    (lowercased, stop words and bare numbers removed, a plural "s" stripped) occur in the
    evidence, and every number in the claim ("225", "4,500", "2022") occurs in it too.
    A claim with no content words and no numbers ("Yes.") is supported by any non-empty
    evidence: there is nothing to check it against. It misses paraphrase and negation; it
    is the test judge and the floor, not a replacement for an NLI model or an LLM judge.
    """

    def __init__(self, threshold: float = 0.6) -> None:
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be between 0 and 1, got {threshold}")
        self.threshold = threshold

    def supports(self, claim: str, evidence: Sequence[str]) -> bool:
        text = " ".join(e for e in evidence if e.strip())
        if not text:
            return False
        if not _numbers(claim) <= _numbers(text):
            return False
        words = _content_words(claim)
        if not words:
            return True
        return len(words & _content_words(text)) / len(words) >= self.threshold


def citation_scores(
    answer_sentences: Sequence[tuple[str, Sequence[str]]], judge: Judge
) -> dict[str, Any]:
    """ALCE citation recall and precision over an answer's sentences.

    Each item is (answer sentence, texts of the sentences it cites).
    - Recall: share of answer sentences whose citations, together, support them; a
      sentence without citations is unsupported.
    - Precision (ALCE's rule): a citation is imprecise when its sentence is not supported
      by all its citations together; or, when it is, if the citation alone does not
      support the sentence and the other citations still do without it (it is
      irrelevant). Otherwise it is precise. Share over all citations.
    Ratios with a zero denominator are None.
    """
    supported = 0
    precise = 0
    n_citations = 0
    for claim, cited in answer_sentences:
        n_citations += len(cited)
        if not cited or not judge.supports(claim, cited):
            continue  # unsupported: no recall, and none of its citations is precise
        supported += 1
        if len(cited) == 1:
            precise += 1
            continue
        for i, citation in enumerate(cited):
            if judge.supports(claim, [citation]):
                precise += 1
                continue
            rest = [c for j, c in enumerate(cited) if j != i]
            if not judge.supports(claim, rest):
                precise += 1  # needed: the others fall short without it
    return {
        "citation_recall": ratio(supported, len(answer_sentences)),
        "citation_precision": ratio(precise, n_citations),
        "n_sentences": len(answer_sentences),
        "n_citations": n_citations,
    }


def gold_citation_share(
    cited_texts_per_sentence: Sequence[Sequence[str]], gold_facts: Sequence[str]
) -> float | None:
    """Share of answer sentences that cite at least one sentence overlapping a gold fact.

    A cited sentence overlaps a gold fact when, white space removed, either contains the
    other (a fact may span two of our sentences, or one sentence may hold a short fact).
    None when the answer has no sentences.
    """
    if not cited_texts_per_sentence:
        return None
    gold = [g for g in (squash(f) for f in gold_facts) if g]

    def overlaps(text: str) -> bool:
        t = squash(text)
        return bool(t) and any(g in t or t in g for g in gold)

    hits = sum(1 for cited in cited_texts_per_sentence if any(overlaps(c) for c in cited))
    return hits / len(cited_texts_per_sentence)
