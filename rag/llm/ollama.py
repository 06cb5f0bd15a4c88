"""The Ollama backend: a model served by Ollama (settings.ollama_url) over HTTP."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rag.config import Settings
from rag.errors import ConfigError, ModelError
from rag.llm.base import CONTEXT_TOKENS
from rag.llm.http import ChatClientLLM


class OllamaLLM(ChatClientLLM):
    """A model served by Ollama (settings.ollama_url), through llama-index's client."""

    def __init__(self, settings: Settings) -> None:
        if not settings.llm_model:
            raise ConfigError(
                "DATELINE_LLM=ollama needs DATELINE_LLM_MODEL, an Ollama model name such as "
                "qwen2.5:7b-instruct (see `ollama list`)"
            )
        self.base_url = settings.ollama_url
        self.model = settings.llm_model
        self.timeout_s = settings.llm_timeout_s
        self.name = f"ollama:{self.model}"

    def _client(
        self, max_tokens: int, stop: Sequence[str], temperature: float
    ) -> tuple[Any, dict[str, Any]]:
        from llama_index.llms.ollama import Ollama

        # Ollama takes sampling options per client, not per call: a client per call is
        # cheap (an HTTP connection) and keeps concurrent calls from sharing options.
        options: dict[str, Any] = {"num_predict": max_tokens}
        if stop:
            options["stop"] = list(stop)
        client = Ollama(
            model=self.model,
            base_url=self.base_url,
            request_timeout=self.timeout_s,
            temperature=temperature,
            context_window=CONTEXT_TOKENS,  # -1 would ask the server first
            additional_kwargs=options,
        )
        return client, {}

    def _schema_kwargs(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {"format": schema}  # Ollama's structured outputs take the schema itself

    def _error(self, e: Exception) -> ModelError | None:
        """A message for people for the client's errors; None for anything unexpected."""
        import httpx
        import ollama

        where = f"the Ollama server at {self.base_url}"
        if isinstance(e, httpx.TimeoutException):
            return ModelError(
                f"{where} did not answer within {self.timeout_s:g} s "
                "(raise DATELINE_LLM_TIMEOUT_S to wait longer)"
            )
        if isinstance(e, ConnectionError | httpx.TransportError):
            return ModelError(
                f"cannot reach {where}: is the server running? (`ollama serve`; "
                "check DATELINE_OLLAMA_URL)"
            )
        if isinstance(e, ollama.ResponseError):
            hint = f" (try `ollama pull {self.model}`)" if e.status_code == 404 else ""
            return ModelError(f"{where} answered HTTP {e.status_code}: {e.error}{hint}")
        return None
