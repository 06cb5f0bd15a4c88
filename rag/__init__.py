"""Dateline: question answering over news with citations to the exact source sentences.

Public API (ui/ and evals/ use only these): `ingest`, `ask`, `stream`, `Pipeline`,
`get_pipeline`, `Settings`, `load_settings` and the types in `rag.types`. Importing this
package loads no model and opens no store.
"""

from rag.config import Settings, load_settings
from rag.pipeline import Pipeline, ask, get_pipeline, ingest, stream
from rag.query import Filters
from rag.types import Answer, Article, Citation, FileError, IngestReport

__all__ = [
    "Answer",
    "Article",
    "Citation",
    "FileError",
    "Filters",
    "IngestReport",
    "Pipeline",
    "Settings",
    "ask",
    "get_pipeline",
    "ingest",
    "load_settings",
    "stream",
]
