"""Embedders by name: the configured backend (ONNX int8, ONNX, torch) loaded once per process.

`rag.embed.vectors` turns chunks and sentences into vectors with whichever embedder this
returns; tests register fakes through `register_embedder` like any backend.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from rag.config import EMBED_BACKENDS, Settings
from rag.embed.base import Embedder, model_short_name, resolve_model_path
from rag.errors import UnknownBackendError

__all__ = [
    "Embedder",
    "get_embedder",
    "model_short_name",
    "register_embedder",
    "resolve_model_path",
]

_REGISTRY: dict[str, Callable[[Settings], Embedder]] = {}
_CACHE: dict[tuple[str, str, int, str], Embedder] = {}
_CACHE_LOCK = threading.Lock()


def register_embedder(name: str, factory: Callable[[Settings], Embedder]) -> None:
    """Make an embedder available under a name (tests register fakes the same way)."""
    _REGISTRY[name] = factory


def get_embedder(settings: Settings) -> Embedder:
    """The embedder the settings name, loaded once per process."""
    key = (
        settings.embed_model,
        settings.embed_backend,
        settings.embed_batch_size,
        str(settings.model_cache_dir),
    )
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = _build(settings)
        return _CACHE[key]


def _build(settings: Settings) -> Embedder:
    factory = _REGISTRY.get(settings.embed_model)
    if factory is not None:
        return factory(settings)
    if settings.embed_backend in ("onnx", "onnx-int8"):
        # ONNX Runtime straight away: no torch or sentence-transformers import at run time,
        # and the exported graph is cached under the settings' model cache folder.
        from rag.embed.onnx_embedder import onnx_embedder_for

        return onnx_embedder_for(settings, resolve_model_path(settings.embed_model))
    if settings.embed_backend != "torch":
        raise UnknownBackendError("embedding backend", settings.embed_backend, list(EMBED_BACKENDS))
    from rag.embed.torch_embedder import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(settings.embed_model, settings.embed_batch_size)
