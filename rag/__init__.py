"""Dateline: question answering over news with citations to the exact source sentences.

The public API — `ui/`, `evals/` and the `dateline` command use only what this module
exports: the Pipeline and its shortcuts (`ingest`, `ask`, `stream`, `get_pipeline`),
settings, the data types, the errors, and the few helpers the faces share. Importing this
package loads no model and opens no store.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from rag.answer import HistoryItem, strip_markers
from rag.clock import aware
from rag.config import Settings, apply_offline_env, load_settings
from rag.embed import get_embedder, register_embedder, resolve_model_path
from rag.errors import (
    BusyError,
    ConfigError,
    DatelineError,
    InputError,
    ModelError,
    StoreError,
    UnknownBackendError,
)
from rag.ingest import Progress
from rag.llm import LLM, Message, get_llm
from rag.pipeline import Pipeline
from rag.question import Filters
from rag.reason import Report
from rag.store import ArticleInfo
from rag.types import (
    Answer,
    Article,
    Chunk,
    Citation,
    FileError,
    Hit,
    IngestReport,
    ReportClaim,
    Sentence,
    SentenceCheck,
)
from rag.verify import Judge, LLMJudge
from rag.watch import PollResult, Watcher, WatchSource, parse_every, parse_source

try:
    __version__ = version("dateline")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "LLM",
    "Answer",
    "Article",
    "ArticleInfo",
    "BusyError",
    "Chunk",
    "Citation",
    "ConfigError",
    "DatelineError",
    "FileError",
    "Filters",
    "HistoryItem",
    "Hit",
    "IngestReport",
    "InputError",
    "Judge",
    "LLMJudge",
    "Message",
    "ModelError",
    "Pipeline",
    "PollResult",
    "Progress",
    "Report",
    "ReportClaim",
    "Sentence",
    "SentenceCheck",
    "Settings",
    "StoreError",
    "UnknownBackendError",
    "WatchSource",
    "Watcher",
    "__version__",
    "apply_offline_env",
    "ask",
    "aware",
    "get_embedder",
    "get_llm",
    "get_pipeline",
    "ingest",
    "load_settings",
    "parse_every",
    "parse_source",
    "register_embedder",
    "resolve_model_path",
    "stream",
    "strip_markers",
]

_SHARED: dict[Settings, Pipeline] = {}


def get_pipeline(settings: Settings | None = None) -> Pipeline:
    """A shared Pipeline per settings (Chroma allows one client per folder per process)."""
    settings = settings or load_settings()
    if settings not in _SHARED:
        _SHARED[settings] = Pipeline(settings)
    return _SHARED[settings]


def ingest(
    paths: Sequence[Path | str],
    settings: Settings | None = None,
    *,
    source: str | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    """Ingest files and folders of news into the store named by settings."""
    return get_pipeline(settings).ingest(paths, source=source, progress=progress)


def ask(
    question: str,
    history: Sequence[HistoryItem] | None = None,
    filters: Filters | None = None,
    settings: Settings | None = None,
    *,
    as_of: datetime | None = None,
) -> Answer:
    """Answer a question from the store named by settings, with verified citations."""
    return get_pipeline(settings).ask(question, history, filters, as_of=as_of)


def stream(
    question: str,
    history: Sequence[HistoryItem] | None = None,
    filters: Filters | None = None,
    settings: Settings | None = None,
    *,
    as_of: datetime | None = None,
) -> Iterator[str | Answer]:
    """Text deltas of the answer, then the final Answer."""
    return get_pipeline(settings).stream(question, history, filters, as_of=as_of)
