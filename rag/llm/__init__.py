"""Generative LLMs by name: one interface, one module per backend (embedded llama.cpp,
OpenAI-compatible, Ollama); tests register a scripted one the same way."""

from __future__ import annotations

from collections.abc import Callable

from rag.config import Settings
from rag.errors import ConfigError, UnknownBackendError
from rag.llm.base import LLM, Message
from rag.llm.local import LocalLLM, is_started
from rag.llm.ollama import OllamaLLM
from rag.llm.openai import OpenAICompatibleLLM

__all__ = [
    "EXTRACTIVE",
    "LLM",
    "Message",
    "available_llms",
    "get_llm",
    "is_loaded",
    "register_llm",
]

LLMFactory = Callable[[Settings], LLM]
_REGISTRY: dict[str, LLMFactory] = {}
# Not an LLM: the answer step picks sentences itself; listed so error messages show every choice.
EXTRACTIVE = "extractive"


def register_llm(name: str, factory: LLMFactory) -> None:
    """Make `factory(settings)` available as DATELINE_LLM=name (a later call replaces it)."""
    if name == EXTRACTIVE:
        raise ValueError("'extractive' is reserved: it is the answer step's no-LLM mode")
    _REGISTRY[name] = factory


def available_llms() -> list[str]:
    return sorted(_REGISTRY)


def get_llm(settings: Settings) -> LLM:
    """The LLM named by settings.llm; cheap: the local model loads on first use, not here."""
    if settings.llm == EXTRACTIVE:
        raise ConfigError(
            "DATELINE_LLM=extractive uses no generative model: the answer step builds the "
            "answer from the best source sentences itself, so there is no LLM to get; "
            f"choose one of {', '.join(available_llms())} for generated answers"
        )
    factory = _REGISTRY.get(settings.llm)
    if factory is None:
        raise UnknownBackendError("LLM", settings.llm, [*available_llms(), EXTRACTIVE])
    return factory(settings)


def is_loaded(settings: Settings) -> bool:
    """Whether answering needs no model load first: True for every backend except a local
    model that this process has not started yet (the UI then says "loading the model")."""
    return settings.llm != "local" or is_started(settings)


register_llm("local", LocalLLM)
register_llm("openai", OpenAICompatibleLLM)
register_llm("ollama", OllamaLLM)
