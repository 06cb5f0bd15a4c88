"""Ingest: files → readers → cleaning → sentences → chunks → vectors → the store."""

from rag.ingest.run import Progress, ingest, ingest_raw

__all__ = ["Progress", "ingest", "ingest_raw"]
