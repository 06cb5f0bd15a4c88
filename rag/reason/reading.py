"""Reading jobs: one small, constrained model call per question about a few sentences (does
this report say the claim; do two reports say the same; which candidate answers), with
what code can judge alone when there is no model."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from prompts import render
from rag.instructions import addresses_model
from rag.llm import LLM, Message
from rag.verify.claims import check_claim, numbers
from rag.words import content_words, word_share

Similarity = Callable[[str, Sequence[str]], list[float]]

SUPPORTED, CONTRADICTED, NOT_FOUND = "supported", "contradicted", "not found"
SAME, DIFFERENT = "same", "different"
# Below both, a sentence the model picked is taken to be about something else than the claim
# (a paraphrase that states a claim keeps some of its words or most of its meaning).
MIN_RELATED = 0.4
MIN_SHARED_WORDS = 0.3
# ... and the bar for a "contradicted" verdict or a quote shown as evidence of agreement.
STRICT_RELATED = 0.55
STRICT_SHARED_WORDS = 0.5
# A claim with fewer content words than this is a fragment of the question, not a claim.
MIN_CLAIM_WORDS = 2
# A JSON verdict is a few tokens; the cap only stops a model that will not close the object.
READ_TOKENS = 40


@dataclass(frozen=True)
class Reading:
    """A verdict and the sentences (positions in what was read, 0-based) that decide it."""

    verdict: str
    sentences: tuple[int, ...] = ()


def numbered(sentences: Sequence[str], start: int = 1) -> str:
    return "\n".join(f"[{i}] {' '.join(s.split())}" for i, s in enumerate(sentences, start))


def _messages(prompt: str) -> list[Message]:
    """A reading's chat: every reading starts with the same system message and its job's
    instructions before the sentences, so the model's prompt cache reuses that prefix from
    one reading to the next."""
    return [Message("system", render("read_system")), Message("user", prompt)]


def _ask(llm: LLM, prompt: str, schema: dict[str, Any]) -> dict[str, Any] | None:
    """The model's JSON reply, or None when it is not the JSON asked for."""
    reply = llm.complete(_messages(prompt), max_tokens=READ_TOKENS, schema=schema)
    try:
        value = json.loads(reply.strip())
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _pick(value: object, n: int) -> int | None:
    """A 1-based sentence number from a reply as a 0-based position, if it is one."""
    return value - 1 if isinstance(value, int) and 1 <= value <= n else None


def read_claim(
    claim: str,
    sentences: Sequence[str],
    context: str,
    llm: LLM | None,
    similarity: Similarity,
) -> Reading:
    """Whether the sentences of one report state (or contradict) the claim. Without a model,
    only "supported" (the verifier's check passes on one sentence) or "not found"."""
    if not sentences:
        return Reading(NOT_FOUND)
    if llm is None:
        for i, sentence in enumerate(sentences):
            if check_claim(claim, [sentence], context, similarity)[0]:
                return Reading(SUPPORTED, (i,))
        return Reading(NOT_FOUND)
    schema = {
        "type": "object",
        "properties": {
            "verdict": {"enum": [SUPPORTED, CONTRADICTED, NOT_FOUND]},
            "sentence": {"type": "integer", "minimum": 0, "maximum": len(sentences)},
        },
        "required": ["verdict", "sentence"],
    }
    reply = _ask(llm, render("read_claim", sentences=numbered(sentences), claim=claim), schema)
    if reply is None or reply.get("verdict") not in (SUPPORTED, CONTRADICTED):
        return Reading(NOT_FOUND)
    at = _pick(reply.get("sentence"), len(sentences))
    if at is None:  # a verdict that names no sentence cites nothing: not checkable
        return Reading(NOT_FOUND)
    verdict = str(reply["verdict"])
    if verdict == SUPPORTED and numbers(claim) - numbers(sentences[at] + " " + context):
        # A reading that says a sentence states a claim whose figures it lacks is wrong.
        return Reading(NOT_FOUND)
    strict = verdict == CONTRADICTED  # the reader's least reliable verdict
    if not related(claim, sentences[at], similarity, strict=strict):
        # A small model calls a sentence about something else "supported" (or "contradicted")
        # too often: one that shares neither meaning nor words with the claim says nothing
        # of it.
        return Reading(NOT_FOUND)
    return Reading(verdict, (at,))


def related(claim: str, sentence: str, similarity: Similarity, *, strict: bool = False) -> bool:
    """Whether a sentence shares words or meaning enough with a claim to be about it; `strict`
    asks for what a contradiction or a quote offered as evidence needs: most of the words or
    a close meaning."""
    if addresses_model(sentence):  # an instruction in an article is quoted text, no report
        return False
    words = content_words(claim)
    share = word_share(words, sentence)
    if strict:
        return share >= STRICT_SHARED_WORDS or similarity(claim, [sentence])[0] >= STRICT_RELATED
    return share >= MIN_SHARED_WORDS or similarity(claim, [sentence])[0] >= MIN_RELATED


def confirm(
    claim: str,
    sentence: str,
    context: str,
    llm: LLM | None,
    similarity: Similarity,
    verdict: str = SUPPORTED,
) -> bool:
    """Whether one sentence says the claim, for a sentence an answer cites that was chosen for
    another reason (a quote two reports are compared by, a sentence naming the answer). Words
    and meaning in common only show that it is about the claim's topic, so with a model the
    sentence is read against the claim; without one, only a sentence close to the claim in
    words or meaning passes. A claim of fewer than two content words ("Company") says
    nothing a sentence could be checked against. `verdict` CONTRADICTED asks whether the
    sentence says the claim's opposite instead."""
    if len(content_words(claim)) < MIN_CLAIM_WORDS or not related(claim, sentence, similarity):
        return False
    if llm is None:
        return verdict == SUPPORTED and related(claim, sentence, similarity, strict=True)
    return read_claim(claim, [sentence], context, llm, similarity).verdict == verdict


def read_agreement(
    question: str,
    topic: str,
    a: tuple[str, Sequence[str]],
    b: tuple[str, Sequence[str]],
    llm: LLM,
    split: float | None = None,
) -> Reading:
    """Whether two reports ((label, sentences) each) say the same on what the question asks;
    the deciding sentences are positions in a's list and in b's list.

    With `split` and a backend that gives token probabilities, the reports are weighed on
    the topic alone (see `weigh_agreement`); otherwise the model reads them with the question
    and names the deciding sentences."""
    if not a[1] or not b[1]:
        return Reading(NOT_FOUND)
    if split is not None:
        weighed = weigh_agreement(topic or question, a, b, llm, split)
        if weighed is not None:
            return weighed
    schema = {
        "type": "object",
        "properties": {
            "verdict": {"enum": [SAME, DIFFERENT, NOT_FOUND]},
            "a": {"type": "integer", "minimum": 0, "maximum": len(a[1])},
            "b": {"type": "integer", "minimum": 0, "maximum": len(b[1])},
        },
        "required": ["verdict", "a", "b"],
    }
    prompt = render(
        "read_agreement",
        report_a=a[0],
        sentences_a=numbered(a[1]),
        report_b=b[0],
        sentences_b=numbered(b[1]),
        question=question,
        topic=topic or question,
    )
    reply = _ask(llm, prompt, schema)
    if reply is None or reply.get("verdict") not in (SAME, DIFFERENT):
        return Reading(NOT_FOUND)
    at_a, at_b = _pick(reply.get("a"), len(a[1])), _pick(reply.get("b"), len(b[1]))
    if at_a is None or at_b is None:
        return Reading(NOT_FOUND)
    return Reading(str(reply["verdict"]), (at_a, at_b))


def weigh_agreement(
    topic: str,
    a: tuple[str, Sequence[str]],
    b: tuple[str, Sequence[str]],
    llm: LLM,
    split: float,
) -> Reading | None:
    """Same or different, from how likely the model is to answer "same" about two reports on
    a topic (its share of same + different): "same" at `split` or above. None when the
    backend gives no probabilities.

    The question is not shown: asked "was there a change?" a small model answers "different",
    asked "did they stay consistent?" it answers "same", whatever the reports say. On the
    topic alone it leans to "different" for nearly every pair, yet ranks the pairs that say
    the same higher (experiments.md), so the split is where its share divides pairs evenly,
    not one half. Each side's first sentence (its best on the topic) is the one quoted."""
    prompt = render(
        "weigh_agreement",
        topic=topic,
        report_a=a[0],
        sentences_a=numbered(a[1]),
        report_b=b[0],
        sentences_b=numbered(b[1]),
    ).rstrip()  # a trailing newline moves the local model's share of "same" (0.12 -> 0.20)
    weights = llm.weigh(_messages(prompt), (SAME, DIFFERENT))
    if weights is None or weights[SAME] + weights[DIFFERENT] <= 0:
        return None
    share = weights[SAME] / (weights[SAME] + weights[DIFFERENT])
    return Reading(SAME if share >= split else DIFFERENT, (0, 0))


def read_entity(
    question: str, sentences: Sequence[str], candidates: Sequence[str], llm: LLM
) -> str | None:
    """The candidate the sentences show best to answer the question (None if the reply is not
    one). No "none" is offered: a small model takes it for answers it finds hard, and whether
    the reports tie the name to the question is checked in code afterwards."""
    if not candidates:
        return None
    schema = {
        "type": "object",
        "properties": {"answer": {"enum": list(candidates)}},
        "required": ["answer"],
    }
    prompt = render(
        "read_entity",
        sentences=numbered(sentences),
        question=question,
        candidates="; ".join(candidates),
    )
    reply = _ask(llm, prompt, schema)
    answer = reply.get("answer") if reply else None
    return answer if isinstance(answer, str) and answer in candidates else None
