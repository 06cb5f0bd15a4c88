"""The torch backend: sentence-transformers on CPU (DATELINE_EMBED_BACKEND=torch)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.config import apply_offline_env
from rag.embed.base import model_dim, model_max_tokens, resolve_model_path
from rag.errors import ModelError

if TYPE_CHECKING:
    import numpy as np


class SentenceTransformerEmbedder:
    """sentence-transformers with torch on CPU."""

    backend = "torch"

    def __init__(self, model: str, batch_size: int = 64) -> None:
        self.name = model
        self.batch_size = batch_size
        self.path = resolve_model_path(model)
        self._model: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()
        self.dim = model_dim(self.path)
        self.max_tokens = model_max_tokens(self.path)

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                apply_offline_env()
                try:
                    self._model = _load_sentence_transformer(self.path)
                except Exception as exc:  # a broken model folder must say which one
                    raise ModelError(
                        f"cannot load embedding model from {self.path}: {exc}"
                    ) from exc
            return self._model

    def tokenizer(self) -> Any:
        """The model's fast tokenizer, loaded without torch (chunking needs only this)."""
        if self._tokenizer is None:
            from tokenizers import Tokenizer

            tok = Tokenizer.from_file(str(self.path / "tokenizer.json"))
            tok.no_truncation()
            tok.no_padding()
            self._tokenizer = tok
        return self._tokenizer

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        # Counts include [CLS] and [SEP], as the model sees them.
        return [len(e.ids) for e in self.tokenizer().encode_batch(list(texts))]

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._load()
        # encode() sorts by length internally, so each batch pads to similar lengths.
        vectors = model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]


def _load_sentence_transformer(path: Path) -> Any:
    import torch
    from sentence_transformers import SentenceTransformer

    # Two cores: more threads than cores only adds contention.
    torch.set_num_threads(max(1, min(torch.get_num_threads(), 4)))
    return SentenceTransformer(str(path), device="cpu", local_files_only=True)
