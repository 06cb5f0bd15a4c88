"""Evaluation metrics: retrieval, answers, abstention, citations, latency and their aggregates.

Every function here is pure (strings and numbers in, numbers out) so that the scores can be
checked by hand. Retrieval and answer accuracy follow MultiHop-RAG's published scoring, so
our numbers can be set beside the paper's; see each function for where we differ and why.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

# --------------------------------------------------------------------------- retrieval


def _squash(text: str) -> str:
    """Remove all white space, as MultiHop-RAG does before its substring test.

    Upstream removes only " " and "\\n"; we remove every Unicode space (tabs, \\r, no-break
    spaces) too, so a chunk re-wrapped by our cleaner still matches its gold fact.
    """
    return "".join(text.split())


def _gold(facts: Sequence[str]) -> list[str]:
    # An empty fact would be a substring of every chunk and make every query a hit.
    squashed = [s for s in (_squash(f) for f in facts) if s]
    if not squashed:
        raise ValueError(
            "no gold facts to score retrieval against; skip questions without evidence "
            "(null / unanswerable ones) before calling the retrieval metrics"
        )
    return squashed


def _check_k(k: int) -> None:
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")


def _relevance(retrieved: Sequence[str], gold: Sequence[str], k: int) -> list[bool]:
    """Whether each of the top-k chunks contains at least one gold fact."""
    return [any(g in chunk for g in gold) for chunk in (_squash(c) for c in retrieved[:k])]


def hits_at_k(retrieved: Sequence[str], facts: Sequence[str], k: int) -> float:
    """1.0 when any of the top-k retrieved chunks contains any gold fact, else 0.0."""
    _check_k(k)
    return 1.0 if any(_relevance(retrieved, _gold(facts), k)) else 0.0


def mrr_at_k(retrieved: Sequence[str], facts: Sequence[str], k: int = 10) -> float:
    """Reciprocal rank of the first top-k chunk that contains any gold fact (0.0 if none)."""
    _check_k(k)
    for rank, relevant in enumerate(_relevance(retrieved, _gold(facts), k), start=1):
        if relevant:
            return 1.0 / rank
    return 0.0


def map_at_k(retrieved: Sequence[str], facts: Sequence[str], k: int = 10) -> float:
    """Average precision at k exactly as MultiHop-RAG's `retrieval_evaluate.py` computes it.

    For each rank r <= k whose chunk contains at least one gold fact, add
    (number of gold facts first found in this chunk) / r; divide the sum by
    min(number of gold facts, k).

    This is not textbook AP (which adds (relevant chunks so far) / r for every relevant
    chunk and divides by the number of relevant chunks). We keep the upstream definition
    because the point of this metric is comparison with the published MAP@10 numbers, and
    it has a reading of its own: it rewards finding *each* gold fact, early. A chunk that
    repeats an already-found fact adds nothing; one chunk holding two facts adds 2 / r.
    Duplicate gold facts count once when found but twice in the divisor, as upstream.
    """
    _check_k(k)
    gold = _gold(facts)
    found: set[str] = set()
    total = 0.0
    for rank, chunk in enumerate((_squash(c) for c in retrieved[:k]), start=1):
        new = {g for g in gold if g in chunk and g not in found}
        if new:
            found |= new
            total += len(new) / rank
    return total / min(len(gold), k)


def evidence_recall_at_k(retrieved: Sequence[str], facts: Sequence[str], k: int) -> float:
    """Share of the distinct gold facts found in at least one of the top-k chunks.

    Multi-hop questions need every fact, not just one: Hits@k says whether retrieval
    found anything, this says how much of the evidence reached the answer step.
    """
    _check_k(k)
    gold = set(_gold(facts))
    chunks = [_squash(c) for c in retrieved[:k]]
    found = sum(1 for g in gold if any(g in c for c in chunks))
    return found / len(gold)


def evidence_in_sentences(
    sentences: Sequence[str], facts: Sequence[str], min_chars: int = 20
) -> float:
    """Share of the distinct gold facts that one of `sentences` lies in, or holds.

    The answer step shows the model single sentences, not chunks, and a gold fact is often
    two or three sentences: it counts as reached when any part of it is shown. Sentences of
    fewer than `min_chars` characters (white space removed) match too easily to count.
    """
    gold = set(_gold(facts))
    shown = [x for x in (_squash(s) for s in sentences) if len(x) >= min_chars]
    found = sum(1 for g in gold if any(x in g or g in x for x in shown))
    return found / len(gold)


# --------------------------------------------------------------------------- answers

_ARTICLES = re.compile(r"\b(a|an|the)\b")


def _strip_punct(text: str, replacement: str) -> str:
    # Unicode categories P* (punctuation) and S* (symbols) cover what SQuAD's
    # string.punctuation covers, plus the curly quotes and dashes news text is full of.
    return "".join(replacement if unicodedata.category(ch)[0] in "PS" else ch for ch in text)


def normalize_answer(s: str) -> str:
    """SQuAD normalisation: lowercase, drop punctuation and articles, collapse white space."""
    text = _strip_punct(s.lower(), "")
    return " ".join(_ARTICLES.sub(" ", text).split())


def _tokens(s: str) -> list[str]:
    """Tokens for containment tests: like `normalize_answer`, but punctuation splits words.

    "Bankman-Fried" becomes "bankman fried" and "Tokayev's" becomes "tokayev s", so the
    gold "Sam Bankman-Fried" is found in "sam bankman fried" and "Tokayev" in "Tokayev's".
    """
    text = _strip_punct(s.lower(), " ")
    return _ARTICLES.sub(" ", text).split()


_YES_NO = {"yes", "no"}


def multihop_accuracy(prediction: str, gold: str) -> float:
    """1.0 when the prediction contains the gold answer, as MultiHop-RAG counts accuracy.

    Both sides are lowercased and stripped of punctuation and articles; the gold tokens
    must appear as a contiguous run in the prediction's tokens (so "Google" is found in
    "It was Google.", but "no" is not found in "not known"). For a yes/no gold the first
    yes/no word of the prediction decides: "Yes, but no one ..." is a yes.

    The paper checks whether the gold answer is in the response; the upstream script
    (`qa_evaluate.py`) is looser still and counts any shared word. We use containment,
    which is the paper's rule and does not give credit for sharing "the" or "of".
    """
    gold_tokens = _tokens(gold)
    pred_tokens = _tokens(prediction)
    if not gold_tokens:
        return 0.0
    if len(gold_tokens) == 1 and gold_tokens[0] in _YES_NO:
        first = next((t for t in pred_tokens if t in _YES_NO), None)
        return 1.0 if first == gold_tokens[0] else 0.0
    n = len(gold_tokens)
    for i in range(len(pred_tokens) - n + 1):
        if pred_tokens[i : i + n] == gold_tokens:
            return 1.0
    return 0.0


def exact_match(pred: str, golds: Sequence[str]) -> float:
    """1.0 when the normalised prediction equals any normalised gold answer (0.0 if none)."""
    p = normalize_answer(pred)
    return max((1.0 if p == normalize_answer(g) else 0.0 for g in golds), default=0.0)


def _f1(pred_tokens: list[str], gold_tokens: list[str]) -> float:
    if not pred_tokens or not gold_tokens:
        # SQuAD: two empty answers agree; one empty answer shares nothing.
        return 1.0 if pred_tokens == gold_tokens else 0.0
    common: dict[str, int] = {}
    for t in pred_tokens:
        common[t] = common.get(t, 0) + 1
    overlap = 0
    for t in gold_tokens:
        if common.get(t, 0) > 0:
            common[t] -= 1
            overlap += 1
    if overlap == 0:
        return 0.0
    precision = overlap / len(pred_tokens)
    recall = overlap / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def token_f1(pred: str, golds: Sequence[str]) -> float:
    """SQuAD token F1 of the prediction against the best-matching gold answer (0.0 if none)."""
    p = normalize_answer(pred).split()
    return max((_f1(p, normalize_answer(g).split()) for g in golds), default=0.0)


# --------------------------------------------------------------------------- abstention


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def abstention_scores(records: Sequence[tuple[bool, bool]]) -> dict[str, Any]:
    """How well the system abstains, from (answerable, abstained) pairs, one per question.

    - abstention_precision: of the abstentions, the share on unanswerable questions;
    - abstention_recall: of the unanswerable questions, the share abstained on;
    - false_abstention_rate: of the answerable questions, the share abstained on;
    - abstention_f1: harmonic mean of the first two.
    A rate whose denominator is zero is None (undefined), never 0.
    """
    n_answerable = sum(1 for answerable, _ in records if answerable)
    n_unanswerable = len(records) - n_answerable
    n_abstained = sum(1 for _, abstained in records if abstained)
    correct = sum(1 for answerable, abstained in records if abstained and not answerable)
    false = n_abstained - correct
    precision = _ratio(correct, n_abstained)
    recall = _ratio(correct, n_unanswerable)
    f1: float | None = None
    if precision is not None and recall is not None:
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "abstention_precision": precision,
        "abstention_recall": recall,
        "abstention_f1": f1,
        "false_abstention_rate": _ratio(false, n_answerable),
        "n": len(records),
        "n_answerable": n_answerable,
        "n_unanswerable": n_unanswerable,
        "n_abstained": n_abstained,
        "n_correct_abstentions": correct,
        "n_false_abstentions": false,
    }


# --------------------------------------------------------------------------- citations


class Judge(Protocol):
    """Decides whether evidence sentences, taken together, support a claim."""

    def supports(self, claim: str, evidence: Sequence[str]) -> bool: ...


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
        "citation_recall": _ratio(supported, len(answer_sentences)),
        "citation_precision": _ratio(precise, n_citations),
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
    gold = [g for g in (_squash(f) for f in gold_facts) if g]

    def overlaps(text: str) -> bool:
        t = _squash(text)
        return bool(t) and any(g in t or t in g for g in gold)

    hits = sum(1 for cited in cited_texts_per_sentence if any(overlaps(c) for c in cited))
    return hits / len(cited_texts_per_sentence)


# --------------------------------------------------------------------------- latency and means


def latency_summary(values: Sequence[float]) -> dict[str, Any]:
    """p50, p95 (linear interpolation, numpy's default), mean and max; None when empty."""
    if not values:
        return {"n": 0, "p50": None, "p95": None, "mean": None, "max": None}
    import numpy as np

    arr = np.asarray(values, dtype=float)
    return {
        "n": int(arr.size),
        "p50": float(np.percentile(arr, 50)),
        "p95": float(np.percentile(arr, 95)),
        "mean": float(arr.mean()),
        "max": float(arr.max()),
    }


def _is_number(value: object) -> bool:
    # bool is an int: a flag like "abstained" averages into a rate, which is what we want.
    # NaN is treated like None (no value) rather than poisoning the mean.
    return isinstance(value, int | float) and value == value


def aggregate(
    records: Iterable[Mapping[str, Any]], key: str = "type"
) -> dict[str, dict[str, float | None]]:
    """Mean of each numeric field, overall and per value of `key` (the question type).

    Returns {"overall": {...}, "<type>": {...}, ...}; each group has "n" (its number of
    records) and one mean per numeric field seen in any record, None values left out of
    the mean (a metric that does not apply to a question). A field with no values in a
    group is None there. Non-numeric fields (ids, texts) are ignored; a record without
    `key` counts in the group "unknown".
    """
    rows = list(records)
    fields: dict[str, None] = {}  # insertion-ordered set: report columns in first-seen order
    for row in rows:
        for name, value in row.items():
            if name != key and _is_number(value):
                fields.setdefault(name)

    by_group: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        by_group.setdefault(str(row.get(key) or "unknown"), []).append(row)
    if "overall" in by_group:
        raise ValueError(f"{key!r} value 'overall' is reserved for the all-records group")

    out: dict[str, dict[str, float | None]] = {}
    for group, members in {"overall": rows, **by_group}.items():
        summary: dict[str, float | None] = {"n": float(len(members))}
        for name in fields:
            values = [float(r[name]) for r in members if _is_number(r.get(name))]
            summary[name] = sum(values) / len(values) if values else None
        out[group] = summary
    return out
