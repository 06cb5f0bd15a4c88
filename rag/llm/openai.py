"""The OpenAI-compatible backend: vLLM, llama.cpp server, LM Studio, OpenAI, ... over HTTP."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from rag.config import Settings
from rag.errors import ConfigError, ModelError
from rag.llm.base import CONTEXT_TOKENS, WEIGH_TOP, Message, option_weights
from rag.llm.http import ChatClientLLM, chat_messages


class OpenAICompatibleLLM(ChatClientLLM):
    """vLLM, llama.cpp server, LM Studio, OpenAI...: anything serving /v1/chat/completions."""

    def __init__(self, settings: Settings) -> None:
        if not settings.openai_base_url:
            raise ConfigError(
                "DATELINE_LLM=openai needs DATELINE_OPENAI_BASE_URL, the server's API root, "
                "e.g. http://127.0.0.1:8000/v1"
            )
        if not settings.llm_model:
            raise ConfigError(
                "DATELINE_LLM=openai needs DATELINE_LLM_MODEL, the model name the server serves"
            )
        self.base_url = settings.openai_base_url
        self.model = settings.llm_model
        self.timeout_s = settings.llm_timeout_s
        self._api_key = settings.openai_api_key or "none"  # local servers ignore the key
        self.name = f"openai:{self.model}"
        self._chat: Any = None
        self._chat_lock = threading.Lock()

    def _llm(self) -> Any:
        with self._chat_lock:
            if self._chat is None:
                from llama_index.llms.openai_like import OpenAILike

                self._chat = OpenAILike(
                    model=self.model,
                    api_base=self.base_url,
                    api_key=self._api_key,
                    is_chat_model=True,
                    context_window=CONTEXT_TOKENS,
                    timeout=self.timeout_s,
                    # No retries: a server that is down should say so at once, and the
                    # client library and llama-index would each retry, multiplying the wait.
                    max_retries=0,
                )
            return self._chat

    def _client(
        self, max_tokens: int, stop: Sequence[str], temperature: float
    ) -> tuple[Any, dict[str, Any]]:
        kwargs: dict[str, Any] = {"max_tokens": max_tokens, "temperature": temperature}
        if stop:
            kwargs["stop"] = list(stop)
        return self._llm(), kwargs

    def weigh(self, messages: Sequence[Message], options: Sequence[str]) -> dict[str, float] | None:
        # OpenAI, vLLM and llama.cpp's server report the first token's likeliest tokens; a
        # server that does not leaves `logprobs` empty, and the caller asks in words instead.
        chat = chat_messages(messages)
        with self._errors():
            client, kwargs = self._client(1, (), 0.0)
            reply = client.chat(chat, **kwargs, logprobs=True, top_logprobs=WEIGH_TOP)
        if not reply.logprobs or not reply.logprobs[0]:
            return None
        return option_weights([(p.token, p.logprob) for p in reply.logprobs[0]], options)

    def _schema_kwargs(self, schema: dict[str, Any]) -> dict[str, Any]:
        # Structured outputs: OpenAI, vLLM and llama.cpp's server all read this form.
        return {
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "reply", "schema": schema, "strict": True},
            }
        }

    def _error(self, e: Exception) -> ModelError | None:
        """A message for people for the client's errors; None for anything unexpected."""
        import openai

        where = f"the LLM server at {self.base_url}"
        if isinstance(e, openai.APITimeoutError):
            return ModelError(
                f"{where} did not answer within {self.timeout_s:g} s; is it overloaded? "
                "(raise DATELINE_LLM_TIMEOUT_S to wait longer)"
            )
        if isinstance(e, openai.APIConnectionError):
            return ModelError(
                f"cannot reach {where}: is the server running? (check DATELINE_OPENAI_BASE_URL)"
            )
        if isinstance(e, openai.AuthenticationError):
            return ModelError(f"{where} rejected the API key (DATELINE_OPENAI_API_KEY)")
        if isinstance(e, openai.NotFoundError):
            return ModelError(
                f"{where} answered 404 for model {self.model!r}: check DATELINE_LLM_MODEL and "
                "that DATELINE_OPENAI_BASE_URL ends with the API root (usually /v1)"
            )
        if isinstance(e, openai.APIStatusError):
            return ModelError(f"{where} answered HTTP {e.status_code}: {e.message}")
        return None
