"""Rerankers by name: a re-scoring of the fused candidates (none by default; a local
cross-encoder folder or a registered one)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from rag.config import Settings
from rag.errors import UnknownBackendError


class Reranker(Protocol):
    """Re-scores (question, chunk text) pairs; higher is better."""

    def score(self, question: str, texts: Sequence[str]) -> list[float]: ...


_RERANKERS: dict[str, Callable[[Settings], Reranker]] = {}


def register_reranker(name: str, factory: Callable[[Settings], Reranker]) -> None:
    _RERANKERS[name] = factory


class CrossEncoderReranker:
    """A sentence-transformers CrossEncoder from a local folder (none ships offline)."""

    def __init__(self, path: str) -> None:
        from sentence_transformers import CrossEncoder

        self._model = CrossEncoder(path, device="cpu", local_files_only=True)

    def score(self, question: str, texts: Sequence[str]) -> list[float]:
        return [float(s) for s in self._model.predict([(question, t) for t in texts])]


def get_reranker(settings: Settings) -> Reranker | None:
    name = settings.reranker
    if name in ("", "none"):
        return None
    if name in _RERANKERS:
        return _RERANKERS[name](settings)
    from pathlib import Path

    if Path(name).expanduser().is_dir():
        return CrossEncoderReranker(str(Path(name).expanduser()))
    raise UnknownBackendError(
        "reranker", name, ["none", *_RERANKERS, "<a local cross-encoder folder>"]
    )
