"""Settings: read once from DATELINE_* environment variables into a frozen object passed down."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from rag.errors import ConfigError

# Dateline never phones home: set the libraries' own switches before any of them is imported.
OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "ANONYMIZED_TELEMETRY": "False",
    "TOKENIZERS_PARALLELISM": "false",
    # Model-loading progress bars are noise next to Dateline's own progress.
    "TRANSFORMERS_VERBOSITY": "error",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
}


def apply_offline_env() -> None:
    """Turn telemetry and hub downloads off for this process (a user's explicit value wins)."""
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)


# Embedding backends (rag.embed builds each): int8 and fp32 ONNX Runtime, sentence-transformers.
EMBED_BACKENDS = ("onnx-int8", "onnx", "torch")


@dataclass(frozen=True)
class Settings:
    """Everything configurable, with the defaults a fresh install runs on."""

    data_dir: Path = Path("data")
    chroma_url: str | None = None  # e.g. http://127.0.0.1:8000 for a Chroma server
    collection: str = "dateline"  # prefix of the Chroma collections
    embed_model: str = "all-MiniLM-L6-v2"  # a name known to rag.embed or a local model folder
    # onnx-int8: the fastest backend on a CPU, and it retrieves as well as fp32.
    embed_backend: str = "onnx-int8"  # onnx-int8 | onnx | torch
    embed_batch_size: int = 64
    # Wordpieces of sentence text per chunk (+[CLS]/[SEP] fits MiniLM's 256 window). No
    # overlap and no embedded header: both add wordpieces to embed without helping retrieval.
    chunk_max_tokens: int = 250
    chunk_overlap_sentences: int = 0
    max_file_mb: float = 20.0
    llm: str = "local"  # local | openai | ollama | extractive
    llm_model: str | None = None  # model name for openai/ollama, a GGUF path for local
    openai_base_url: str | None = None
    openai_api_key: str | None = None
    ollama_url: str = "http://127.0.0.1:11434"
    llm_threads: int = 2
    llm_max_tokens: int = 256
    llm_timeout_s: float = 120.0
    model_cache_dir: Path | None = None  # where the local GGUF is assembled; default ~/.cache
    # What retrieval returns: "passage", each top article's best sentences for the question
    # (at most chunk_max_tokens wordpieces, like a chunk), or "chunk", the stored chunks.
    # Passages put more of a question's evidence into the top k than whole chunks do.
    retrieval_unit: str = "passage"
    # ... and what the answer step draws its source sentences from. "chunk": the small
    # embedded model answers better from chunks; a stronger model may do better with passages.
    answer_unit: str = "chunk"
    reranker: str = "none"  # none | a registered reranker name | a local cross-encoder folder
    top_k: int = 10
    # Source sentences shown to the LLM. Each adds prompt tokens the local model reads before
    # its first word, and a small model answers better from a few well-chosen sentences.
    answer_sentences: int = 6
    # ... for a yes/no question: fewer, since the small model then checks the claim against
    # the few sentences that state it instead of drifting to the others.
    answer_sentences_yesno: int = 3
    # Whether two reports say the same is weighed from the model's likelihood of "same"
    # against "different" on the topic alone, and "same" at this share or above (none/off:
    # the model reads the reports with the question instead). 0.17 divides the shipped local
    # model's readings of the benchmark's report pairs in half; see docs/experiments.md.
    agreement_split: float | None = 0.17
    verify_mode: str = "flag"  # flag | drop: what happens to unsupported answer sentences
    judge: str = "none"  # none | llm: an LLM yes/no judge on top of the lexical+semantic check
    host: str = "127.0.0.1"
    port: int = 7860
    auth: str | None = None  # "user:password" for basic auth
    max_upload_mb: float = 20.0
    concurrency: int = 1  # answers generated at once in the web app
    # Answers that need the generative model take turns in arrival order; beyond this many
    # waiting, or this long a wait, a request is told the service is busy (HTTP 503).
    max_waiting: int = 32
    queue_timeout: float = 300.0

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    @property
    def store_location(self) -> str:
        return self.chroma_url or str(self.data_dir.resolve() / "chroma")

    @property
    def model_cache(self) -> Path:
        """Where the local GGUF is assembled and the embedder's ONNX export is kept."""
        return (self.model_cache_dir or default_cache_dir()).expanduser()


def default_cache_dir() -> Path:
    """The model cache when DATELINE_MODEL_CACHE_DIR is unset."""
    return Path("~/.cache/dateline/models").expanduser()


_ENV_PREFIX = "DATELINE_"


def _convert(name: str, raw: str, kind: Any) -> Any:
    text = raw.strip()
    kind_s = str(kind)
    if "None" in kind_s and text.lower() in ("none", "off"):
        return None
    try:
        if "Path" in kind_s:
            return Path(text).expanduser() if text else None
        if kind_s.startswith("int"):
            return int(text)
        if kind_s.startswith("float"):
            return float(text)
    except ValueError:
        raise ConfigError(
            f"{_ENV_PREFIX}{name.upper()}={raw!r} is not a valid {kind_s.split(' ')[0]}"
        ) from None
    return text or None if "None" in kind_s else text


_CHOICES = {
    "llm": ("local", "openai", "ollama", "extractive"),
    "embed_backend": EMBED_BACKENDS,
    "verify_mode": ("flag", "drop"),
    "judge": ("none", "llm"),
    "retrieval_unit": ("passage", "chunk"),
    "answer_unit": ("passage", "chunk"),
}


def load_settings(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Read DATELINE_* variables (and explicit overrides, which win) into Settings."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    for f in fields(Settings):
        key = _ENV_PREFIX + f.name.upper()
        if key in env and env[key] != "":
            values[f.name] = _convert(f.name, env[key], f.type)
    values.update({k: v for k, v in overrides.items() if v is not None})
    for name, valid in _CHOICES.items():
        if name in values and values[name] not in valid:
            raise ConfigError(
                f"{_ENV_PREFIX}{name.upper()}={values[name]!r} is not one of: {', '.join(valid)}"
            )
    if "data_dir" in values:
        values["data_dir"] = Path(values["data_dir"])
    settings = Settings(**values)
    for name in ("answer_sentences", "answer_sentences_yesno", "top_k", "max_waiting"):
        if getattr(settings, name) < 1:
            raise ConfigError(
                f"{_ENV_PREFIX}{name.upper()}={getattr(settings, name)} must be at least 1"
            )
    if settings.auth is not None:
        user, _sep, password = settings.auth.partition(":")
        if not _sep or not user.strip() or not password:
            # An empty user or password would let anyone in with `curl -u :`.
            raise ConfigError(
                "DATELINE_AUTH must look like user:password, with a user name and a password "
                "that are not empty"
            )
    return settings
