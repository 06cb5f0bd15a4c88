"""Evaluation metrics: retrieval, answers, abstention, latency and their aggregates.

Every function here is pure (strings and numbers in, numbers out) so that the scores can be
checked by hand. Retrieval and answer accuracy follow MultiHop-RAG's published scoring, so
our numbers can be set beside the paper's; see each function for where we differ and why.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

# --------------------------------------------------------------------------- retrieval


def squash(text: str) -> str:
    """Remove all white space, as MultiHop-RAG does before its substring test.

    Upstream removes only " " and "\\n"; we remove every Unicode space (tabs, \\r, no-break
    spaces) too, so a chunk re-wrapped by our cleaner still matches its gold fact.
    """
    return "".join(text.split())


def _gold(facts: Sequence[str]) -> list[str]:
    # An empty fact would be a substring of every chunk and make every query a hit.
    squashed = [s for s in (squash(f) for f in facts) if s]
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
    return [any(g in chunk for g in gold) for chunk in (squash(c) for c in retrieved[:k])]


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
    for rank, chunk in enumerate((squash(c) for c in retrieved[:k]), start=1):
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
    chunks = [squash(c) for c in retrieved[:k]]
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
    shown = [x for x in (squash(s) for s in sentences) if len(x) >= min_chars]
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


def ratio(num: int, den: int) -> float | None:
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
    precision = ratio(correct, n_abstained)
    recall = ratio(correct, n_unanswerable)
    f1: float | None = None
    if precision is not None and recall is not None:
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "abstention_precision": precision,
        "abstention_recall": recall,
        "abstention_f1": f1,
        "false_abstention_rate": ratio(false, n_answerable),
        "n": len(records),
        "n_answerable": n_answerable,
        "n_unanswerable": n_unanswerable,
        "n_abstained": n_abstained,
        "n_correct_abstentions": correct,
        "n_false_abstentions": false,
    }


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
