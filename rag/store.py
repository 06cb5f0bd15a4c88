"""News on top of vectorstore/: articles and chunks written all-or-nothing, read back typed."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rag.config import Settings
from rag.embed import model_short_name
from rag.errors import StoreError
from rag.types import Article, Chunk, Sentence

if TYPE_CHECKING:
    import numpy as np

    from vectorstore.base import Collection, Metadata, Record, Where


@dataclass(frozen=True)
class ArticleInfo:
    """An article's metadata without its text (for listings and stats)."""

    id: str
    title: str
    source: str
    published_at: datetime | None
    url: str | None
    origin: str
    n_sentences: int
    n_chunks: int
    content_hash: str
    duplicate_of: tuple[str, ...]


# Collection metadata key of the chunks collection naming the model its vectors come from.
EMBED_MODEL_KEY = "dateline:embed_model"


def epoch(dt: datetime | None) -> int | None:
    return int(dt.timestamp()) if dt is not None else None


def from_epoch(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    return datetime.fromtimestamp(int(value), tz=UTC)


def _iso_or_none(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class NewsStore:
    """Three collections: `<prefix>_chunks` (one vector per chunk), `<prefix>_sentences` (one
    record per article version holding its sentence vectors: retrieval picks each article's
    passage by them) and
    `<prefix>_articles` (cleaned text + sentence offsets; the record's presence with a matching
    content hash is what makes an article's chunks and sentences valid: it is written last, as
    the commit)."""

    def __init__(self, settings: Settings) -> None:
        from vectorstore.chroma import ChromaError, ChromaStore

        self.settings = settings
        try:
            self._store = ChromaStore(path=settings.data_dir / "chroma", url=settings.chroma_url)
            self.chunks: Collection = self._store.collection(f"{settings.collection}_chunks")
            self.articles: Collection = self._store.collection(f"{settings.collection}_articles")
            self.sentences: Collection = self._store.collection(f"{settings.collection}_sentences")
        except ChromaError as exc:
            raise StoreError(str(exc)) from exc
        self.location = self._store.location
        self.generation = 0  # bumped on every write, so in-process indexes know to rebuild
        self._embedding_checked = False

    # ----- which embedding model the vectors come from ------------------------------------

    def check_embedding(self) -> None:
        """Refuse to mix two embedding models' vectors in one store (they are not comparable,
        and two 384-dimension models would mix without any error from Chroma).

        The first write or search records the configured model; later ones must match it.
        The torch and ONNX backends of one model give the same vectors, so only the model
        counts.
        """
        if self._embedding_checked:
            return
        want = model_short_name(self.settings.embed_model)
        try:
            have = self.chunks.info().get(EMBED_MODEL_KEY)
            if have is None:
                self.chunks.set_info({EMBED_MODEL_KEY: want})
        except Exception as exc:  # a server that cannot store collection metadata
            raise StoreError(f"cannot read or record the store's embedding model: {exc}") from exc
        if have is not None and have != want:
            raise StoreError(
                f"the store in {self.location} holds vectors of the embedding model {have!r}, "
                f"but DATELINE_EMBED_MODEL is {self.settings.embed_model!r}; set "
                f"DATELINE_EMBED_MODEL={have} to use this store, or point DATELINE_DATA_DIR "
                "(or DATELINE_COLLECTION) elsewhere and ingest again"
            )
        self._embedding_checked = True

    # ----- writing -----------------------------------------------------------------------

    def repair(self) -> int:
        """Delete chunk and sentence-vector records no committed article version owns (left by
        a killed ingest); returns how many."""
        valid = {r.id: r.metadata.get("content_hash") for r in self.articles.get()}
        removed = 0
        for collection in (self.chunks, self.sentences):
            orphans = [
                r.id
                for r in collection.get()
                if valid.get(str(r.metadata.get("article_id"))) != r.metadata.get("content_hash")
            ]
            collection.delete(ids=orphans)
            removed += len(orphans)
            if orphans:
                self.generation += 1
        return removed

    def content_hashes(self, ids: Sequence[str]) -> dict[str, str]:
        return {r.id: str(r.metadata.get("content_hash")) for r in self.articles.get(ids=ids)}

    def write(
        self, items: Sequence[tuple[Article, Sequence[Chunk], np.ndarray, np.ndarray]]
    ) -> None:
        """Store new or changed articles with their chunks, chunk vectors and sentence vectors.

        Order matters for crash safety: (1) the new chunks and sentences, (2) the article
        records — the commit, (3) the previous versions' chunks and sentences are deleted. A
        crash before (2) leaves orphans that `repair()` removes; after (2) the stale ones,
        likewise.
        """
        import numpy as np

        if not items:
            return
        self.check_embedding()
        c_ids, c_vecs, c_docs, c_meta = [], [], [], []
        a_ids, a_vecs, a_docs, a_meta = [], [], [], []
        s_records = [_sentence_record(a, sv) for a, _c, _v, sv in items]
        for article, chunks, vectors, _sentence_vectors in items:
            for chunk, vec in zip(chunks, vectors, strict=True):
                c_ids.append(chunk.id)
                c_vecs.append(vec)
                c_docs.append(chunk.text)
                c_meta.append(self._chunk_meta(chunk))
            mean = np.asarray(vectors, dtype=np.float32).mean(axis=0)
            a_ids.append(article.id)
            a_vecs.append(mean / (np.linalg.norm(mean) or 1.0))
            a_docs.append(article.text)
            a_meta.append(self._article_meta(article, len(chunks)))
        # Re-running after a crash may find some of these chunk ids already there.
        self.chunks.upsert(c_ids, c_vecs, c_docs, c_meta)
        self.sentences.upsert(*_columns(s_records))
        self.articles.upsert(a_ids, a_vecs, a_docs, a_meta)
        for article, *_rest in items:
            stale = {
                "$and": [
                    {"article_id": article.id},
                    {"content_hash": {"$ne": article.content_hash}},
                ]
            }
            self.chunks.delete(where=stale)
            self.sentences.delete(where=stale)
        self._link_duplicates([a for a, *_rest in items])
        self.generation += 1

    def write_sentence_vectors(self, items: Sequence[tuple[Article, np.ndarray]]) -> None:
        """Add sentence vectors to articles stored without them (by a Dateline before 0.5)."""
        self.sentences.upsert(*_columns([_sentence_record(a, v) for a, v in items]))

    def sentence_vectors(self) -> dict[str, np.ndarray]:
        """Each stored article's sentence vectors (rows in sentence order), for the articles
        whose current version has them."""
        import numpy as np

        current = {
            r.id: (str(r.metadata.get("content_hash")), int(r.metadata.get("n_sentences", 0)))
            for r in self.articles.get()
        }
        out: dict[str, np.ndarray] = {}
        for r in self.sentences.get():
            m = r.metadata
            aid = str(m.get("article_id"))
            want_hash, n = current.get(aid, ("", 0))
            if m.get("content_hash") != want_hash or int(m.get("n", -1)) != n or not n:
                continue
            raw = base64.b64decode(str(m.get("vectors", "")))
            rows = np.frombuffer(raw, dtype=np.float16).astype(np.float32)
            if rows.size == n * int(m.get("dim", 0)):
                out[aid] = rows.reshape(n, -1)
        return out

    def _chunk_meta(self, chunk: Chunk) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "article_id": chunk.article_id,
            "content_hash": chunk.content_hash,
            "s_start": chunk.sentence_start,
            "s_end": chunk.sentence_end,
            "title": chunk.title,
            "source": chunk.source,
        }
        if chunk.published_at is not None:
            meta["published_at"] = epoch(chunk.published_at)
        return meta

    def _article_meta(self, a: Article, n_chunks: int) -> dict[str, Any]:
        # Every key is always written: Chroma's upsert merges metadata, so a key left out
        # would keep its old value.
        return {
            "title": a.title,
            "source": a.source,
            "published_at": epoch(a.published_at) if a.published_at else -1,
            "published_iso": a.published_at.isoformat() if a.published_at else "",
            "url": a.url or "",
            "author": a.author or "",
            "dateline": a.dateline or "",
            "category": a.category or "",
            "origin": a.origin,
            "content_hash": a.content_hash,
            "text_hash": _text_hash(a.text),
            "sentences": json.dumps([[s.start, s.end] for s in a.sentences]),
            "n_sentences": len(a.sentences),
            "n_chunks": n_chunks,
            "duplicate_of": json.dumps(list(a.duplicate_of)),
            "ingested_at": int(time.time()),
        }

    def _link_duplicates(self, articles: Sequence[Article]) -> None:
        """Mark articles with the same cleaned text (two outlets running one wire story) as
        duplicates of each other; both stay, since each outlet is a source."""
        for article in articles:
            same = self.articles.get(where={"text_hash": _text_hash(article.text)})
            group = sorted(r.id for r in same)
            ids, metas = [], []
            for r in same:
                others = [i for i in group if i != r.id]
                if json.loads(str(r.metadata.get("duplicate_of") or "[]")) != others:
                    ids.append(r.id)
                    metas.append({"duplicate_of": json.dumps(others)})
            if ids:
                self.articles.update_metadata(ids, metas)

    def delete_article(self, article_id: str) -> bool:
        """Remove an article and its chunks; False when there is no such article."""
        found = self.articles.get(ids=[article_id])
        if not found:
            return False
        # Article record first: its chunks become orphans even if we die before deleting them.
        self.articles.delete(ids=[article_id])
        self.chunks.delete(where={"article_id": article_id})
        self.sentences.delete(where={"article_id": article_id})
        for other_id in json.loads(str(found[0].metadata.get("duplicate_of") or "[]")):
            others = self.articles.get(ids=[other_id])
            if others:
                dups = json.loads(str(others[0].metadata.get("duplicate_of") or "[]"))
                dups = [d for d in dups if d != article_id]
                self.articles.update_metadata([other_id], [{"duplicate_of": json.dumps(dups)}])
        self.generation += 1
        return True

    # ----- reading -----------------------------------------------------------------------

    def get_article(self, article_id: str) -> Article | None:
        found = self.articles.get(ids=[article_id], documents=True)
        return _to_article(found[0]) if found else None

    def list_articles(self) -> list[ArticleInfo]:
        return sorted(
            (_to_info(r) for r in self.articles.get()),
            key=lambda a: a.published_at or datetime.min.replace(tzinfo=UTC),
            reverse=True,
        )

    def all_articles(self) -> list[Article]:
        return [_to_article(r) for r in self.articles.get(documents=True)]

    def all_chunks(self) -> list[Chunk]:
        return [_to_chunk(r) for r in self.chunks.get(documents=True)]

    def vector_search(
        self, vector: Sequence[float] | np.ndarray, k: int, where: Where | None = None
    ) -> list[tuple[Chunk, float]]:
        """Chunks nearest the vector, with cosine similarity."""
        self.check_embedding()
        return [
            (_to_chunk(r), 1.0 - float(r.distance or 0.0))
            for r in self.chunks.query(list(map(float, vector)), k, where)
        ]

    def sources(self) -> list[str]:
        return sorted({str(r.metadata.get("source")) for r in self.articles.get()})

    def stats(self) -> dict[str, Any]:
        infos = self.list_articles()
        dates = [a.published_at for a in infos if a.published_at]
        outlets: dict[str, int] = {}
        for a in infos:
            outlets[a.source] = outlets.get(a.source, 0) + 1
        return {
            "articles": len(infos),
            "sentences": sum(a.n_sentences for a in infos),
            "chunks": self.chunks.count(),
            "outlets": dict(sorted(outlets.items(), key=lambda kv: (-kv[1], kv[0]))),
            "date_range": [min(dates).isoformat(), max(dates).isoformat()] if dates else None,
            "duplicates": sum(1 for a in infos if a.duplicate_of),
            "location": self.location,
        }


def _sentence_record(article: Article, vectors: np.ndarray) -> tuple[str, Any, str, Metadata]:
    """One record per article version holding all its sentence vectors: they are read back,
    never searched, and one record a sentence cost ingest 20x more time in Chroma. float16
    keeps cosines within ~1e-3."""
    import numpy as np

    rows = np.asarray(vectors, dtype=np.float32)
    mean = rows.mean(axis=0) if len(rows) else np.zeros(rows.shape[1], dtype=np.float32)
    meta: Metadata = {
        "article_id": article.id,
        "content_hash": article.content_hash,
        "n": len(rows),
        "dim": int(rows.shape[1]),
        "vectors": base64.b64encode(rows.astype(np.float16).tobytes()).decode("ascii"),
    }
    vector = mean / (float(np.linalg.norm(mean)) or 1.0)
    return f"{article.id}:{article.content_hash[:8]}", vector, "", meta


def _columns(
    records: Sequence[tuple[str, Any, str, Metadata]],
) -> tuple[list[str], list[Any], list[str], list[Metadata]]:
    return (
        [r[0] for r in records],
        [r[1] for r in records],
        [r[2] for r in records],
        [r[3] for r in records],
    )


def _text_hash(text: str) -> str:
    import hashlib

    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def _to_chunk(r: Record) -> Chunk:
    m = r.metadata
    return Chunk(
        id=r.id,
        article_id=str(m["article_id"]),
        sentence_start=int(m["s_start"]),
        sentence_end=int(m["s_end"]),
        text=r.document or "",
        title=str(m.get("title", "")),
        source=str(m.get("source", "")),
        published_at=from_epoch(m.get("published_at")),
        content_hash=str(m.get("content_hash", "")),
    )


def _to_info(r: Record) -> ArticleInfo:
    m = r.metadata
    return ArticleInfo(
        id=r.id,
        title=str(m.get("title", "")),
        source=str(m.get("source", "")),
        published_at=_iso_or_none(m.get("published_iso")),
        url=str(m.get("url") or "") or None,
        origin=str(m.get("origin", "")),
        n_sentences=int(m.get("n_sentences", 0)),
        n_chunks=int(m.get("n_chunks", 0)),
        content_hash=str(m.get("content_hash", "")),
        duplicate_of=tuple(json.loads(str(m.get("duplicate_of") or "[]"))),
    )


def _to_article(r: Record) -> Article:
    m = r.metadata
    text = r.document or ""
    offsets = json.loads(str(m.get("sentences") or "[]"))
    sentences = tuple(Sentence(i, s, e, text[s:e]) for i, (s, e) in enumerate(offsets))
    info = _to_info(r)
    return Article(
        id=r.id,
        text=text,
        sentences=sentences,
        title=info.title,
        source=info.source,
        published_at=info.published_at,
        url=info.url,
        origin=info.origin,
        content_hash=info.content_hash,
        author=str(m.get("author") or "") or None,
        dateline=str(m.get("dateline") or "") or None,
        category=str(m.get("category") or "") or None,
        duplicate_of=info.duplicate_of,
    )
