"""The store protocol: named collections of records (id, vector, document, metadata)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

Metadata = Mapping[str, str | int | float | bool]
Where = dict[str, Any]


@dataclass(frozen=True)
class Record:
    """One stored item as it comes back from a collection."""

    id: str
    document: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    distance: float | None = None  # only for query results (cosine distance)


class Collection(Protocol):
    """A named set of records with vectors; `where` follows Chroma's filter syntax."""

    name: str

    def upsert(
        self,
        ids: Sequence[str],
        vectors: Sequence[Sequence[float]],
        documents: Sequence[str],
        metadatas: Sequence[Metadata],
    ) -> None: ...
    def update_metadata(self, ids: Sequence[str], metadatas: Sequence[Metadata]) -> None: ...
    def get(
        self,
        ids: Sequence[str] | None = None,
        where: Where | None = None,
        *,
        documents: bool = False,
    ) -> list[Record]: ...
    def delete(self, ids: Sequence[str] | None = None, where: Where | None = None) -> None: ...
    def query(
        self, vector: Sequence[float], k: int, where: Where | None = None, *, documents: bool = True
    ) -> list[Record]: ...  # vector: any float sequence (a numpy array too)
    # The stored vectors of these ids (float arrays; ids not stored are left out).
    def vectors(self, ids: Sequence[str]) -> dict[str, Any]: ...
    def count(self) -> int: ...
    def info(self) -> dict[str, Any]: ...  # the collection's own metadata
    def set_info(self, values: Metadata) -> None: ...  # merged into that metadata
    # Load what the first read (and, with search, the first vector search) would wait for.
    def warm(self, *, search: bool = False) -> None: ...


class Store(Protocol):
    """Opens collections by name; one location (a folder or a server URL)."""

    location: str

    # searched=False: vectors that are read back but never searched (a cheaper index).
    def collection(self, name: str, *, searched: bool = True) -> Collection: ...
    def drop(self, name: str) -> None: ...
