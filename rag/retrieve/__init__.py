"""Retrieval: hybrid search (vector + BM25 over chunks and sentences, fused by reciprocal
rank, outlet- and date-aware, per hop) cut into passages or chunks, optionally reranked."""

from rag.retrieve.index import PASSAGE_GAP, lexical_text
from rag.retrieve.rerank import Reranker, register_reranker
from rag.retrieve.search import Retriever

__all__ = ["PASSAGE_GAP", "Reranker", "Retriever", "lexical_text", "register_reranker"]
