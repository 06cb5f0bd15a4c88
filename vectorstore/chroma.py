"""Chroma behind the store protocol: embedded PersistentClient or a Chroma server over HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from vectorstore.base import Metadata, Record, Where

# Chroma rejects add() batches above ~5,400 records; stay under it.
MAX_BATCH = 5000

# Chroma writes a collection's vector index to disk every SYNC_THRESHOLD records (its default
# is 1,000); the records added since are replayed into the index when a process first reads
# the collection. At 100,000 articles that replay cost ~1 ms a record of the first question's
# time (0.8 s for 840 pending chunks). 100 (the least Chroma allows, its batch size) bounds
# it; the extra writes are incremental (docs/experiments.md, 0.14.1).
SYNC_THRESHOLD = 100

# One PersistentClient per path per process (Chroma's rule): share them.
_CLIENTS: dict[str, Any] = {}
_CLIENTS_LOCK = threading.Lock()


class ChromaError(RuntimeError):
    """Chroma could not be opened or answered with an error."""


def _batches(n: int, size: int = MAX_BATCH) -> Iterator[slice]:
    for start in range(0, n, size):
        yield slice(start, min(n, start + size))


def _chroma_settings() -> Any:
    import chromadb

    # Never phone home.
    return chromadb.Settings(anonymized_telemetry=False, allow_reset=False)


def open_client(path: Path | None = None, url: str | None = None) -> Any:
    """A Chroma client for a folder (embedded) or a server URL like http://127.0.0.1:8000."""
    import chromadb

    key = url or str(Path(path or "data/chroma").resolve())
    with _CLIENTS_LOCK:
        if key in _CLIENTS:
            return _CLIENTS[key]
        try:
            if url:
                parsed = urlparse(url)
                if not parsed.hostname:
                    raise ChromaError(
                        f"DATELINE_CHROMA_URL={url!r} is not a URL like http://host:port"
                    )
                client = chromadb.HttpClient(
                    host=parsed.hostname,
                    port=parsed.port or (443 if parsed.scheme == "https" else 8000),
                    ssl=parsed.scheme == "https",
                    settings=_chroma_settings(),
                )
                client.heartbeat()
            else:
                Path(key).mkdir(parents=True, exist_ok=True)
                client = chromadb.PersistentClient(path=key, settings=_chroma_settings())
        except ChromaError:
            raise
        except Exception as exc:
            where = f"the Chroma server at {url} (is it running?)" if url else f"the store in {key}"
            raise ChromaError(f"cannot open {where}: {exc}") from exc
        _CLIENTS[key] = client
        return client


class ChromaCollection:
    """One Chroma collection with cosine distance and no embedding function of its own."""

    def __init__(self, raw: Any) -> None:
        self._c = raw
        self.name: str = raw.name

    def upsert(
        self,
        ids: Sequence[str],
        vectors: Sequence[Sequence[float]],
        documents: Sequence[str],
        metadatas: Sequence[Metadata],
    ) -> None:
        for s in _batches(len(ids)):
            self._c.upsert(
                ids=list(ids[s]),
                embeddings=[list(map(float, v)) for v in vectors[s]],
                documents=list(documents[s]),
                metadatas=[dict(m) for m in metadatas[s]],
            )

    def update_metadata(self, ids: Sequence[str], metadatas: Sequence[Metadata]) -> None:
        for s in _batches(len(ids)):
            self._c.update(ids=list(ids[s]), metadatas=[dict(m) for m in metadatas[s]])

    def get(
        self,
        ids: Sequence[str] | None = None,
        where: Where | None = None,
        *,
        documents: bool = False,
    ) -> list[Record]:
        include = ["metadatas", "documents"] if documents else ["metadatas"]
        if ids is not None and not ids:
            return []
        out: list[Record] = []
        # Page through large collections: one giant get() is slow and memory-hungry on a server.
        page, offset = 5000, 0
        while True:
            kwargs: dict[str, Any] = {"include": include}
            if ids is not None:
                kwargs["ids"] = list(ids)
            else:
                kwargs.update(limit=page, offset=offset)
            if where:
                kwargs["where"] = where
            res = self._c.get(**kwargs)
            docs = res.get("documents") or [None] * len(res["ids"])
            metas = res.get("metadatas") or [{}] * len(res["ids"])
            out.extend(
                Record(id=i, document=d, metadata=dict(m or {}))
                for i, d, m in zip(res["ids"], docs, metas, strict=True)
            )
            if ids is not None or len(res["ids"]) < page:
                return out
            offset += page

    def delete(self, ids: Sequence[str] | None = None, where: Where | None = None) -> None:
        if ids is not None:
            for s in _batches(len(ids)):
                if ids[s]:
                    self._c.delete(ids=list(ids[s]))
        elif where:
            self._c.delete(where=where)

    def query(
        self, vector: Any, k: int, where: Where | None = None, *, documents: bool = True
    ) -> list[Record]:
        if k <= 0:
            return []
        # Chroma returns what it holds when asked for more (nothing from an empty collection),
        # so no count first: it was one more call to the store per search.
        include = (
            ["metadatas", "documents", "distances"] if documents else ["metadatas", "distances"]
        )
        kwargs: dict[str, Any] = {
            "query_embeddings": [list(map(float, vector))],
            "n_results": k,
            "include": include,
        }
        if where:
            kwargs["where"] = where
        res = self._c.query(**kwargs)
        docs = res["documents"][0] if documents and res.get("documents") else None
        return [
            Record(
                id=i,
                document=docs[n] if docs is not None else None,
                metadata=dict(m or {}),
                distance=float(dist),
            )
            for n, (i, m, dist) in enumerate(
                zip(res["ids"][0], res["metadatas"][0], res["distances"][0], strict=True)
            )
        ]

    def vectors(self, ids: Sequence[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for s in _batches(len(ids)):
            if ids[s]:
                res = self._c.get(ids=list(ids[s]), include=["embeddings"])
                embeddings = res.get("embeddings")
                if embeddings is None:
                    continue
                out.update(zip(res["ids"], embeddings, strict=True))
        return out

    def count(self) -> int:
        return int(self._c.count())

    def warm(self, *, search: bool = False) -> None:
        # Chroma loads a collection's segments, its vector index among them (1.4 GB for
        # 850,000 chunks), on the first read in a process; one small read (and a search, for
        # a collection that is searched) does it now.
        res = self._c.get(limit=1, include=["embeddings"] if search else [])
        embeddings = res.get("embeddings")
        if search and res["ids"] and embeddings is not None:
            self._c.query(
                query_embeddings=[list(map(float, embeddings[0]))], n_results=1, include=[]
            )

    def info(self) -> dict[str, Any]:
        return dict(self._c.metadata or {})

    def set_info(self, values: Metadata) -> None:
        self._c.modify(metadata={**self.info(), **dict(values)})


class ChromaStore:
    """Collections in one Chroma location (folder or server)."""

    def __init__(self, path: Path | None = None, url: str | None = None) -> None:
        self.location = url or str(Path(path or "data/chroma").resolve())
        self._client = open_client(path, url)

    def collection(self, name: str, *, searched: bool = True) -> ChromaCollection:
        hnsw: dict[str, Any] = {"space": "cosine", "sync_threshold": SYNC_THRESHOLD}
        if not searched:
            # Chroma indexes every vector; a sparse graph costs least to build (never searched).
            hnsw.update(ef_construction=8, max_neighbors=4)
        # embedding_function=None: Chroma's default one downloads a model on first add.
        raw = self._client.get_or_create_collection(
            name, embedding_function=None, configuration={"hnsw": hnsw}
        )
        # A collection made before (or by another client) keeps its own setting: set ours.
        held = (getattr(raw, "configuration_json", None) or {}).get("hnsw") or {}
        if held.get("sync_threshold", SYNC_THRESHOLD) != SYNC_THRESHOLD:
            raw.modify(configuration={"hnsw": {"sync_threshold": SYNC_THRESHOLD}})
        return ChromaCollection(raw)

    def drop(self, name: str) -> None:
        try:
            self._client.delete_collection(name)
        except Exception:  # a missing collection is already dropped
            return
