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
    # onnx-int8 embeds ~1.9x faster than fp32 ONNX here with the same retrieval scores (README).
    embed_backend: str = "onnx-int8"  # onnx-int8 | onnx | torch
    embed_batch_size: int = 64
    # Wordpieces of sentence text per chunk (+[CLS]/[SEP] fits MiniLM's 256 window), no overlap:
    # on the MultiHop dev questions this beat 200 + 1-sentence overlap + an embedded title
    # header on Hits@10 and evidence recall, with 26% fewer wordpieces to embed (README).
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
    # Passages found more of the MultiHop dev questions' evidence in the top 10 (README).
    retrieval_unit: str = "passage"
    # ... and what the answer step draws its source sentences from. "chunk": on the first 40
    # questions of the 200-question MultiHop sample the embedded 1.5B model answered 19 right
    # from chunks and 15-18 from passages (README); a stronger model may do better with them.
    answer_unit: str = "chunk"
    reranker: str = "none"  # none | a registered reranker name | a local cross-encoder folder
    top_k: int = 10
    # Source sentences shown to the LLM. Each costs the local model ~30 prompt tokens read at
    # ~70 tokens/s on 2 cores before its first word; on the 200-question MultiHop sample 6
    # (and 3 for yes/no) answered more questions right than 8 (and 4), with no loss of
    # citation support by the LLM judge (README).
    answer_sentences: int = 6
    # ... for a yes/no question: fewer, since the small model then checks the claim against
    # the few sentences that state it instead of drifting to the others (measured in README).
    answer_sentences_yesno: int = 3
    verify_mode: str = "flag"  # flag | drop: what happens to unsupported answer sentences
    judge: str = "none"  # none | llm: an LLM yes/no judge on top of the lexical+semantic check
    host: str = "127.0.0.1"
    port: int = 7860
    auth: str | None = None  # "user:password" for basic auth
    max_upload_mb: float = 20.0
    concurrency: int = 1  # answers generated at once in the web app

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    @property
    def store_location(self) -> str:
        return self.chroma_url or str(self.data_dir.resolve() / "chroma")


_ENV_PREFIX = "DATELINE_"


def _convert(name: str, raw: str, kind: Any) -> Any:
    text = raw.strip()
    kind_s = str(kind)
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
    for name in ("answer_sentences", "answer_sentences_yesno", "top_k"):
        if getattr(settings, name) < 1:
            raise ConfigError(
                f"{_ENV_PREFIX}{name.upper()}={getattr(settings, name)} must be at least 1"
            )
    if settings.auth is not None and ":" not in settings.auth:
        raise ConfigError("DATELINE_AUTH must look like user:password")
    return settings
