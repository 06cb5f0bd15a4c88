"""Ingest: files → readers → cleaning → sentences → chunks → vectors → the store."""

from rag.ingest.run import Progress, ingest

__all__ = ["Progress", "ingest"]
