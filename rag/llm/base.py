"""What every LLM backend is: chat messages in, a reply or text deltas out."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

ROLES = ("system", "user", "assistant")
# Our prompts are ~1,000 tokens (instructions, two worked examples, the best few sentences);
# 4,096 leaves room for long questions and answers while keeping the KV cache ~120 MB.
CONTEXT_TOKENS = 4096


@dataclass(frozen=True)
class Message:
    """One chat turn; role is "system", "user" or "assistant"."""

    role: str
    content: str


class LLM(Protocol):
    """A chat model: whole replies or text deltas; temperature 0 means greedy.

    `schema` (a JSON schema) constrains a whole reply to JSON of that shape: the reading jobs
    of rag/reason ask for a verdict or a choice, and a small model kept to the allowed
    values cannot wander into prose.
    """

    name: str

    def complete(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int = 256,
        stop: Sequence[str] = (),
        temperature: float = 0.0,
        schema: dict[str, Any] | None = None,
    ) -> str: ...

    def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int = 256,
        stop: Sequence[str] = (),
        temperature: float = 0.0,
    ) -> Iterator[str]: ...

    def weigh(self, messages: Sequence[Message], options: Sequence[str]) -> dict[str, float] | None:
        """How likely the model starts its reply with each option (probabilities from its
        first token's most likely ones); None when the backend gives no token probabilities."""
        ...


# How many of the first token's most likely tokens `weigh` reads (OpenAI's API allows 20).
WEIGH_TOP = 20


def option_weights(top: Sequence[tuple[str, float]], options: Sequence[str]) -> dict[str, float]:
    """Each option's probability from (token, logprob) pairs of a reply's first token: a token
    counts for an option it begins ("diff" for "different"), whatever its case or spacing."""
    weights = dict.fromkeys(options, 0.0)
    for token, logprob in top:
        t = token.strip().lower()
        for option in options:
            if len(t) >= min(2, len(option)) and option.lower().startswith(t):
                weights[option] += math.exp(logprob)
    return weights


def check_messages(messages: Sequence[Message]) -> None:
    if not messages:
        raise ValueError("an LLM call needs at least one message")
    for m in messages:
        if m.role not in ROLES:
            raise ValueError(f"message role {m.role!r} is not one of {', '.join(ROLES)}")
