"""The draft answer: the numbered source sentences put to the model (prompts/answer_*.md) and
its reply streamed, or the extractive answer when there is no model."""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence

from prompts import load_dialogue, render
from rag.answer.extractive import extractive_answer, stream_text
from rag.answer.markers import ABSTAIN_TOKEN
from rag.answer.sources import SourceSentence, format_sources
from rag.llm import LLM, Message
from rag.question import QueryPlan

Similarity = Callable[[str, Sequence[str]], list[float]]


def answer_messages(question: str, sources: Sequence[SourceSentence]) -> list[Message]:
    """The chat: instructions, the worked examples (a fixed, cacheable start), the sources."""
    return [
        Message("system", render("answer_system")),
        *(Message(role, text) for role, text in load_dialogue("answer_examples")),
        Message("user", render("answer_user", question=question, sources=format_sources(sources))),
    ]


def draft(
    plan: QueryPlan,
    sources: Sequence[SourceSentence],
    llm: LLM | None,
    similarity: Similarity,
    *,
    max_tokens: int,
) -> Generator[str, None, str]:
    """Yields the draft's text as it is written and returns the whole draft (ABSTAIN_TOKEN
    when the sources do not answer it)."""
    if plan.absent_sources:
        # It asks what an outlet reported that no stored article is from: whatever other
        # outlets say would be passed off as that outlet's report.
        return ABSTAIN_TOKEN
    if llm is None or not sources:
        text = extractive_answer(plan.question, sources, similarity) if sources else ABSTAIN_TOKEN
        if text != ABSTAIN_TOKEN:
            yield from stream_text(text)
        return text
    parts: list[str] = []
    held = ""
    for delta in llm.stream(answer_messages(plan.question, sources), max_tokens=max_tokens):
        parts.append(delta)
        # Hold back a reply that is turning into the abstention token.
        held += delta
        if ABSTAIN_TOKEN.startswith(held.strip()[: len(ABSTAIN_TOKEN)]) and len(held.strip()) < len(
            ABSTAIN_TOKEN
        ):
            continue
        if held.strip().startswith(ABSTAIN_TOKEN):
            continue
        yield held
        held = ""
    return "".join(parts)
