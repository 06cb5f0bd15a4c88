"""What the HTTP backends share: llama-index chat clients called the same way, and their
errors turned into messages that say what to do."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rag.errors import ModelError
from rag.llm.base import Message, check_messages


def chat_messages(messages: Sequence[Message]) -> list[Any]:
    """Our messages as llama-index ChatMessages (checked first)."""
    from llama_index.core.llms import ChatMessage

    check_messages(messages)
    return [ChatMessage(role=m.role, content=m.content) for m in messages]


class ChatClientLLM:
    """An LLM served over HTTP through a llama-index chat client.

    A backend says how to make the client for one call's options (`_client`: the client and
    the keyword arguments of its chat call) and how to read its errors (`_error`: a
    ModelError for people, or None for anything unexpected, which is raised as it is).
    """

    name: str

    def _client(
        self, max_tokens: int, stop: Sequence[str], temperature: float
    ) -> tuple[Any, dict[str, Any]]:
        raise NotImplementedError

    def _schema_kwargs(self, schema: dict[str, Any]) -> dict[str, Any]:
        """The chat call's keyword arguments that keep a reply to a JSON schema."""
        raise NotImplementedError

    def _error(self, e: Exception) -> ModelError | None:
        raise NotImplementedError

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except Exception as e:
            error = self._error(e)
            if error is None:
                raise
            raise error from e

    def complete(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int = 256,
        stop: Sequence[str] = (),
        temperature: float = 0.0,
        schema: dict[str, Any] | None = None,
    ) -> str:
        chat = chat_messages(messages)
        with self._errors():
            client, kwargs = self._client(max_tokens, stop, temperature)
            if schema is not None:
                kwargs.update(self._schema_kwargs(schema))
            reply = client.chat(chat, **kwargs)
        return str(reply.message.content or "")

    def weigh(self, messages: Sequence[Message], options: Sequence[str]) -> dict[str, float] | None:
        """None: a backend whose server reports token probabilities says how to ask for them."""
        return None

    def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int = 256,
        stop: Sequence[str] = (),
        temperature: float = 0.0,
    ) -> Iterator[str]:
        chat = chat_messages(messages)  # bad messages fail at the call, not at the first read
        return self._stream(chat, max_tokens, stop, temperature)

    def _stream(
        self, chat: list[Any], max_tokens: int, stop: Sequence[str], temperature: float
    ) -> Iterator[str]:
        with self._errors():
            client, kwargs = self._client(max_tokens, stop, temperature)
            for reply in client.stream_chat(chat, **kwargs):
                if reply.delta:
                    yield reply.delta
