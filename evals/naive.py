"""The naive llama-index pipeline a user builds first from its docs: the benchmarks' baseline.

SentenceSplitter(chunk_size=256, chunk_overlap=20), HuggingFaceEmbedding on the same offline
MiniLM, a VectorStoreIndex over a Chroma collection, vector top-k retrieval.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

CHUNK_SIZE = 256
CHUNK_OVERLAP = 20
COLLECTION = "naive"


def embed_model() -> Any:
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    from rag import resolve_model_path

    return HuggingFaceEmbedding(
        model_name=str(resolve_model_path("all-MiniLM-L6-v2")), device="cpu"
    )


def splitter() -> Any:
    from llama_index.core.node_parser import SentenceSplitter

    return SentenceSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP)


def documents(records: list[dict[str, Any]]) -> list[Any]:
    """MultiHop-RAG corpus records as llama-index Documents (title, outlet, date as metadata)."""
    from llama_index.core import Document

    return [
        Document(
            text=r["body"],
            metadata={
                "title": r["title"],
                "source": r["source"],
                "published_at": r["published_at"],
            },
        )
        for r in records
    ]


def vector_store(path: Path) -> tuple[Any, Any]:
    """(ChromaVectorStore, its raw collection) in a folder, telemetry off."""
    import chromadb
    from llama_index.vector_stores.chroma import ChromaVectorStore

    client = chromadb.PersistentClient(
        path=str(path), settings=chromadb.Settings(anonymized_telemetry=False)
    )
    collection = client.get_or_create_collection(COLLECTION, embedding_function=None)
    return ChromaVectorStore(chroma_collection=collection), collection


def build_index(docs: list[Any], store: Any, embed: Any) -> Any:
    """Chunk, embed and store the documents: the step whose time the ingest benchmark takes."""
    from llama_index.core import StorageContext, VectorStoreIndex

    return VectorStoreIndex.from_documents(
        docs,
        storage_context=StorageContext.from_defaults(vector_store=store),
        embed_model=embed,
        transformations=[splitter()],
    )


def open_index(store: Any, embed: Any) -> Any:
    from llama_index.core import VectorStoreIndex

    return VectorStoreIndex.from_vector_store(store, embed_model=embed)
