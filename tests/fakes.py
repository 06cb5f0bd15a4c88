"""A scripted LLM registered like a real backend, so answer-step tests run without a model."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence

from rag.llm import Message, register_llm

Script = Sequence[str] | Callable[[Sequence[Message]], str]


class ScriptedLLM:
    """Replies from a list (in order) or from a function of the messages; records every call.

    Like a real server it cuts the reply at the first stop sequence; `stream` yields the
    reply word by word (each word with its trailing whitespace).
    """

    name = "scripted"

    def __init__(
        self,
        replies: Script,
        weights: Callable[[Sequence[Message]], dict[str, float]] | None = None,
    ) -> None:
        self._script = replies
        self._weights = weights
        self.weighed: list[list[Message]] = []  # the messages of each weigh()
        self._next = 0
        self.calls: list[list[Message]] = []
        self.options: list[dict[str, object]] = []  # max_tokens, stop, temperature per call
        self.schemas: list[dict[str, object] | None] = []  # the JSON schema of each complete()

    def _reply(
        self, messages: Sequence[Message], max_tokens: int, stop: Sequence[str], temperature: float
    ) -> str:
        self.calls.append(list(messages))
        self.options.append(
            {"max_tokens": max_tokens, "stop": list(stop), "temperature": temperature}
        )
        if callable(self._script):
            text = self._script(messages)
        else:
            if self._next >= len(self._script):
                raise AssertionError(
                    f"ScriptedLLM ran out of replies: call {self._next + 1}, "
                    f"{len(self._script)} scripted"
                )
            text = self._script[self._next]
            self._next += 1
        cuts = [text.find(s) for s in stop if s and s in text]
        return text[: min(cuts)] if cuts else text

    def complete(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int = 256,
        stop: Sequence[str] = (),
        temperature: float = 0.0,
        schema: dict[str, object] | None = None,
    ) -> str:
        self.schemas.append(schema)
        return self._reply(messages, max_tokens, stop, temperature)

    def weigh(self, messages: Sequence[Message], options: Sequence[str]) -> dict[str, float] | None:
        """The scripted weights of the options, or None (like a server without token
        probabilities) when the test scripts none."""
        if self._weights is None:
            return None
        self.weighed.append(list(messages))
        weights = self._weights(messages)
        return {o: weights.get(o, 0.0) for o in options}

    def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int = 256,
        stop: Sequence[str] = (),
        temperature: float = 0.0,
    ) -> Iterator[str]:
        text = self._reply(messages, max_tokens, stop, temperature)
        return iter(re.findall(r"\s*\S+\s*|\s+", text))


def install_scripted_llm(
    replies: Script, weights: Callable[[Sequence[Message]], dict[str, float]] | None = None
) -> ScriptedLLM:
    """Register a ScriptedLLM as "scripted": `Settings(llm="scripted")` then gets this instance."""
    llm = ScriptedLLM(replies, weights)
    register_llm("scripted", lambda settings: llm)
    return llm
