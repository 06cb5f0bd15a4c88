"""ONNX Runtime embedder: sentence vectors without torch at run time, from the cached export."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.embed.base import model_dim, model_max_tokens, read_model_json
from rag.embed.onnx_export import (
    DEFAULT_EXPORT,
    MODEL_INPUTS,
    ExportOptions,
    default_onnx_dir,
    ensure_onnx,
)
from rag.errors import ModelError

if TYPE_CHECKING:
    import numpy as np

    from rag.config import Settings


def _cpu_count() -> int:
    # The cores this process may run on (a container or taskset may allow fewer than the host).
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class OnnxEmbedder:
    """all-MiniLM-style sentence embeddings with ONNX Runtime on CPU: no torch at run time.

    Mean pooling over the attention mask and L2 normalisation, as the sentence-transformers
    model does. Inputs are sorted by length and batched so each batch pads to similar lengths.
    """

    def __init__(
        self,
        model_dir: Path,
        *,
        name: str | None = None,
        quantize: bool = False,
        batch_size: int = 64,
        onnx_dir: Path | None = None,
        threads: int | None = None,
        options: ExportOptions = DEFAULT_EXPORT,
    ) -> None:
        self.path = model_dir
        self.name = name or model_dir.name
        self.backend = "onnx-int8" if quantize else "onnx"
        self.quantize = quantize
        self.batch_size = max(1, batch_size)
        self.onnx_dir = onnx_dir or default_onnx_dir(self.name)
        self.threads = threads or _cpu_count()
        self.options = options
        self.dim = model_dim(model_dir)
        self.max_tokens = model_max_tokens(model_dir)
        _check_pooling(model_dir)
        self._session: Any = None
        self._input_names: list[str] = []
        self._counter: Any = None
        self._truncating: Any = None
        self._lock = threading.Lock()
        # Runs at once: each run holds its own activation buffers in ONNX Runtime's arena,
        # which never shrinks, and the cores are already busy with one run's threads. Under
        # 50 concurrent web users, unbounded runs grew the server past 2.5 GB.
        self._runs = threading.BoundedSemaphore(2)

    # --- tokenizers -------------------------------------------------------------------------

    def _load_tokenizer(self) -> Any:
        from tokenizers import Tokenizer

        path = self.path / "tokenizer.json"
        if not path.is_file():
            raise ModelError(
                f"{path} is missing: the ONNX embedder needs the model's fast tokenizer file; "
                "use a sentence-transformers folder that has tokenizer.json"
            )
        tok = Tokenizer.from_file(str(path))
        tok.no_padding()  # each batch is padded to its own longest input below
        tok.no_truncation()
        return tok

    def tokenizer(self) -> Any:
        """The untruncated tokenizer (chunking counts full lengths with it)."""
        if self._counter is None:
            self._counter = self._load_tokenizer()
        return self._counter

    def _model_tokenizer(self) -> Any:
        if self._truncating is None:
            tok = self._load_tokenizer()
            tok.enable_truncation(max_length=self.max_tokens)  # keeps [SEP] last, as the model
            self._truncating = tok
        return self._truncating

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        # Counts include [CLS] and [SEP], as the model sees them.
        return [len(e.ids) for e in self.tokenizer().encode_batch(list(texts))]

    # --- the session --------------------------------------------------------------------------

    def _load(self) -> Any:
        with self._lock:
            if self._session is None:
                import onnxruntime as ort

                path = ensure_onnx(
                    self.path, self.onnx_dir, quantize=self.quantize, options=self.options
                )
                opts = ort.SessionOptions()
                opts.intra_op_num_threads = self.threads
                opts.inter_op_num_threads = 1
                opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                opts.log_severity_level = 3  # errors only: ORT warns about unused initialisers
                try:
                    session = ort.InferenceSession(
                        str(path), opts, providers=["CPUExecutionProvider"]
                    )
                except Exception as exc:  # a truncated or foreign file in the cache
                    raise ModelError(
                        f"cannot load the ONNX embedding model {path}: {exc}; delete that file "
                        "and it is exported again on the next run"
                    ) from exc
                self._input_names = [i.name for i in session.get_inputs()]
                self._session = session
            return self._session

    # --- embedding ----------------------------------------------------------------------------

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts, self.batch_size)

    def _embed(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        import numpy as np

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        session = self._load()
        encodings = self._model_tokenizer().encode_batch(list(texts))
        lengths = np.array([len(e.ids) for e in encodings])
        # Longest first, so a memory problem shows on the first batch, not after minutes.
        order = np.argsort(-lengths, kind="stable")
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            out[rows] = self._embed_batch(session, [encodings[i] for i in rows])
        return out

    def _embed_batch(self, session: Any, encodings: Sequence[Any]) -> np.ndarray:
        return self._pooled_batch(session, encodings, [])[0]

    def embed_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Each text's vector and, from the same pass, a vector per character span of it: the
        mean of the span's token states in the whole text's context ("late chunking"). Texts
        must fit the model's window; a span without a token of its own is embedded alone."""
        import numpy as np

        session = self._load()
        encodings = self._model_tokenizer().encode_batch(list(texts))
        lengths = np.array([len(e.ids) for e in encodings])
        order = np.argsort(-lengths, kind="stable")
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        per_text: list[np.ndarray] = [np.empty((0, self.dim), dtype=np.float32)] * len(texts)
        for start in range(0, len(order), self.batch_size):
            rows = [int(i) for i in order[start : start + self.batch_size]]
            vecs, span_vecs = self._pooled_batch(
                session, [encodings[i] for i in rows], [spans[i] for i in rows]
            )
            out[rows] = vecs
            for i, sv in zip(rows, span_vecs, strict=True):
                per_text[i] = sv
        # Spans no token fell in (rare: text the tokenizer drops) get a vector of their own.
        lost = [
            (i, j) for i, sv in enumerate(per_text) for j in range(len(sv)) if not np.any(sv[j])
        ]
        if lost:
            alone = self._embed([texts[i][spans[i][j][0] : spans[i][j][1]] for i, j in lost], 64)
            for (i, j), vec in zip(lost, alone, strict=True):
                per_text[i][j] = vec
        return out, per_text

    def _pooled_batch(
        self,
        session: Any,
        encodings: Sequence[Any],
        spans: Sequence[Sequence[tuple[int, int]]],
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Mean-pooled, normalised vectors of a batch, and of each row's character spans."""
        import numpy as np

        width = max(len(e.ids) for e in encodings)
        arrays = {name: np.zeros((len(encodings), width), dtype=np.int64) for name in MODEL_INPUTS}
        for row, e in enumerate(encodings):
            n = len(e.ids)
            arrays["input_ids"][row, :n] = e.ids  # [PAD] is id 0 in BERT vocabularies
            arrays["attention_mask"][row, :n] = e.attention_mask
            arrays["token_type_ids"][row, :n] = e.type_ids
        feed = {name: arrays[name] for name in self._input_names}
        with self._runs:
            hidden = session.run(None, feed)[0]
        mask = arrays["attention_mask"][:, :, None].astype(np.float32)
        pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        span_vectors: list[np.ndarray] = []
        for row, row_spans in enumerate(spans):
            e = encodings[row]
            offsets = np.asarray(e.offsets, dtype=np.int64).reshape(-1, 2)
            bounds = np.asarray(row_spans, dtype=np.int64).reshape(-1, 2)
            # Each word token goes to the span it starts in (spans are in text order) when it
            # also ends inside it; [CLS]/[SEP] and tokens between spans go nowhere.
            owner = np.searchsorted(bounds[:, 0], offsets[:, 0], side="right") - 1
            keep = (np.asarray(e.special_tokens_mask) == 0) & (owner >= 0)
            keep &= offsets[:, 1] > offsets[:, 0]
            keep[keep] &= offsets[keep, 1] <= bounds[owner[keep], 1]
            sums = np.zeros((len(bounds), self.dim), dtype=np.float32)
            np.add.at(sums, owner[keep], hidden[row, : len(e.ids)][keep])
            norms_ = np.linalg.norm(sums, axis=1, keepdims=True)
            span_vectors.append(sums / np.where(norms_ == 0, 1.0, norms_))
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return np.asarray(pooled / np.clip(norms, 1e-12, None), dtype=np.float32), span_vectors

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]

    def encode(
        self, sentences: Sequence[str], batch_size: int | None = None, **_: Any
    ) -> np.ndarray:
        """The part of SentenceTransformer.encode that rag.embed calls (always normalised)."""
        return self._embed(sentences, max(1, batch_size or self.batch_size))


def onnx_embedder_for(settings: Settings, model_dir: Path) -> OnnxEmbedder:
    """The embedder for DATELINE_EMBED_BACKEND=onnx or onnx-int8, cached under model_cache_dir."""
    return OnnxEmbedder(
        model_dir,
        name=settings.embed_model,
        quantize=settings.embed_backend == "onnx-int8",
        batch_size=settings.embed_batch_size,
        onnx_dir=default_onnx_dir(settings.embed_model, settings.model_cache_dir),
    )


def _check_pooling(model_dir: Path) -> None:
    """This embedder does mean pooling only; say so rather than return different vectors."""
    cfg = model_dir / "1_Pooling" / "config.json"
    if not cfg.exists():
        return  # plain transformers folder: sentence-transformers defaults to mean pooling too
    modes = {k for k, v in read_model_json(cfg).items() if k.startswith("pooling_mode_") and v}
    if modes != {"pooling_mode_mean_tokens"}:
        raise ModelError(
            f"{cfg} asks for {', '.join(sorted(modes)) or 'no pooling'}; the ONNX embedder does "
            "mean pooling only: use DATELINE_EMBED_BACKEND=torch for this model"
        )
