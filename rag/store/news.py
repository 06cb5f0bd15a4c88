"""News on top of vectorstore/: articles and chunks written all-or-nothing, read back typed."""

from __future__ import annotations

import base64
import json
import logging
import os
import socket
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rag.config import Settings
from rag.embed import model_short_name
from rag.errors import StoreError
from rag.store.records import (
    ArticleInfo,
    article_meta,
    chunk_meta,
    columns,
    sentence_record,
    text_hash,
    to_article,
    to_chunk,
    to_info,
)
from rag.store.terms import term_group
from rag.types import Article, Chunk
from vectorstore.fts import TermIndex

if TYPE_CHECKING:
    import numpy as np

    from vectorstore.base import Collection


# Collection metadata key of the chunks collection naming the model its vectors come from.
EMBED_MODEL_KEY = "dateline:embed_model"
# Articles collection metadata key: "pid@host@started" of a writer that has begun and not
# finished a write or delete (its records may be orphans if it died), "" when none has.
WRITING_KEY = "dateline:writing"
# Articles collection metadata key: a token each finished write sets here and in the lexical
# index; when they differ (another machine wrote to a shared server, a write died, a store
# from before the index), the index is brought up to date from the articles.
LEXICAL_KEY = "dateline:lexical"
# Articles read per batch when the lexical index is brought up to date.
SYNC_BATCH = 200

log = logging.getLogger("dateline.store")


def _this_writer() -> str:
    import psutil

    return f"{os.getpid()}@{socket.gethostname()}@{int(psutil.Process().create_time())}"


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
        self.generation = 0  # bumped on every write, so in-process caches know to forget
        self._embedding_checked = False
        self._article_cache: dict[str, tuple[int, Article | None]] = {}
        self._sources_cache: tuple[int, list[str]] | None = None
        # BM25 over chunks and sentences, on disk: on this machine even when the vectors are
        # on a server (docs/architecture.md, "Scaling out").
        self.terms = TermIndex(settings.data_dir / "lexical" / f"{settings.collection}.sqlite")
        self.recover()
        self.sync_terms()

    def warm(self) -> None:
        """Load now what the first search would wait for: the chunks' vector index (1.5 s at
        100,000 articles), then the other two collections' segments (Chroma loads them on
        first use, one at a time)."""
        self.chunks.warm(search=True)
        self.articles.warm()
        self.sentences.warm()

    # ----- crash recovery ----------------------------------------------------------------

    def recover(self) -> int:
        """Remove what a writer killed mid-write left behind (chunks and sentence vectors no
        committed article owns), if one did; returns how many records went. Runs when the
        store opens and before each ingest; costs one metadata read when nothing is pending."""
        try:
            writer = self.articles.info().get(WRITING_KEY)
        except Exception:  # a server that keeps no collection metadata
            return 0
        if writer and not _writer_gone(str(writer)):
            return 0  # another process is writing now; its records are not orphans
        if writer == "":
            return 0
        # A dead writer's mark, or a store from before the mark existed: look once.
        removed = self.repair()
        if removed:
            log.warning(
                "removed %d chunk and sentence-vector records left behind by an interrupted "
                "write in %s",
                removed,
                self.location,
            )
        self.articles.set_info({WRITING_KEY: ""})
        return removed

    def _begin(self) -> None:
        self.articles.set_info({WRITING_KEY: _this_writer()})

    def _end(self) -> None:
        token = uuid.uuid4().hex
        self.articles.set_info({WRITING_KEY: "", LEXICAL_KEY: token})
        self.terms.set_meta(LEXICAL_KEY, token)

    # ----- the lexical index -------------------------------------------------------------

    def settle(self) -> None:
        """Bring the lexical index's fast search up to date with what was just written (a
        search would otherwise do it first)."""
        self.terms.sync_fast()

    def sync_terms(self) -> int:
        """Bring the lexical index up to date with the committed articles when a write it did
        not see happened (another machine, a killed writer, a store from before the index):
        versions no committed article has go, missing ones are added, with progress in the
        log. Returns how many articles were added; one metadata read when nothing is due."""
        try:
            info = self.articles.info()
        except Exception:  # a server that keeps no collection metadata: compare each time
            info = {}
        token = info.get(WRITING_KEY)
        if token and not _writer_gone(str(token)):
            return 0  # a writer is at work; its own finish sets the index right
        mark = info.get(LEXICAL_KEY)
        if mark is not None and self.terms.get_meta(LEXICAL_KEY) == mark:
            return 0
        committed = {r.id: str(r.metadata.get("content_hash")) for r in self.articles.get()}
        self._drop_stale_terms(committed)
        held = self.terms.versions()
        missing = [a for a, h in committed.items() if h not in held.get(a, set())]
        if missing:
            log.warning(
                "building the lexical index of %d articles in %s (once; searches are ready "
                "when it ends)",
                len(missing),
                self.terms.path,
            )
        for start in range(0, len(missing), SYNC_BATCH):
            ids = missing[start : start + SYNC_BATCH]
            articles = self.get_articles(ids)
            chunks = self.chunks_of(articles)
            self.terms.put(term_group(a, chunks[a.id]) for a in articles)
            done = min(start + SYNC_BATCH, len(missing))
            if len(missing) > SYNC_BATCH:
                log.warning("lexical index: %d of %d articles", done, len(missing))
        mark = mark or uuid.uuid4().hex
        if info.get(LEXICAL_KEY) != mark:
            self.articles.set_info({LEXICAL_KEY: mark})
        self.terms.set_meta(LEXICAL_KEY, mark)
        self.generation += 1
        return len(missing)

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
        self._drop_stale_terms({k: str(v) for k, v in valid.items()})
        return removed

    def _drop_stale_terms(self, committed: dict[str, str]) -> None:
        """Remove from the lexical index every version no committed article has."""
        for group, versions in self.terms.versions().items():
            want = committed.get(group)
            if versions - {want}:
                self.terms.remove(group, keep=want)

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
        s_records = [sentence_record(a, sv) for a, _c, _v, sv in items]
        for article, chunks, vectors, _sentence_vectors in items:
            for chunk, vec in zip(chunks, vectors, strict=True):
                c_ids.append(chunk.id)
                c_vecs.append(vec)
                c_docs.append(chunk.text)
                c_meta.append(chunk_meta(chunk))
            mean = np.asarray(vectors, dtype=np.float32).mean(axis=0)
            a_ids.append(article.id)
            a_vecs.append(mean / (np.linalg.norm(mean) or 1.0))
            a_docs.append(article.text)
            a_meta.append(article_meta(article, len(chunks)))
        # Only an article stored before under another version has stale records to delete: a
        # delete by article costs a filtered scan (20 ms each at 49,000 articles), so new
        # articles skip it. Stale records a crash left behind are recover()'s.
        before = {r.id: r.metadata.get("content_hash") for r in self.articles.get(ids=a_ids)}
        # Re-running after a crash may find some of these chunk ids already there.
        self._begin()
        self.chunks.upsert(c_ids, c_vecs, c_docs, c_meta)
        self.sentences.upsert(*columns(s_records))
        # The lexical index takes the new versions before the commit, as the vectors do:
        # searches only return what a committed article owns.
        self.terms.put(term_group(article, chunks) for article, chunks, _v, _s in items)
        self.articles.upsert(a_ids, a_vecs, a_docs, a_meta)
        for article, *_rest in items:
            if before.get(article.id, article.content_hash) != article.content_hash:
                stale = {
                    "$and": [
                        {"article_id": article.id},
                        {"content_hash": {"$ne": article.content_hash}},
                    ]
                }
                self.chunks.delete(where=stale)
                self.sentences.delete(where=stale)
            self.terms.remove(article.id, keep=article.content_hash)
        self._link_duplicates([a for a, *_rest in items])
        self._end()
        self.generation += 1

    def write_sentence_vectors(self, items: Sequence[tuple[Article, np.ndarray]]) -> None:
        """Add sentence vectors to articles stored without them (by an older Dateline)."""
        self.sentences.upsert(*columns([sentence_record(a, v) for a, v in items]))

    def sentence_vectors(self, articles: Sequence[Article]) -> dict[str, np.ndarray]:
        """These article versions' sentence vectors (rows in sentence order), for those stored
        with them."""
        import numpy as np

        want = {f"{a.id}:{a.content_hash[:8]}": a for a in articles}
        out: dict[str, np.ndarray] = {}
        if not want:
            return out
        for r in self.sentences.get(ids=list(want)):
            m = r.metadata
            article = want.get(r.id)
            n = len(article.sentences) if article else 0
            if article is None or m.get("content_hash") != article.content_hash:
                continue
            if int(m.get("n", -1)) != n or not n:
                continue
            raw = base64.b64decode(str(m.get("vectors", "")))
            rows = np.frombuffer(raw, dtype=np.float16).astype(np.float32)
            if rows.size == n * int(m.get("dim", 0)):
                out[article.id] = rows.reshape(n, -1)
        return out

    def get_articles(self, ids: Sequence[str]) -> list[Article]:
        return (
            [to_article(r) for r in self.articles.get(ids=list(ids), documents=True)] if ids else []
        )

    def chunks_of(self, articles: Sequence[Article]) -> dict[str, list[Chunk]]:
        """Each article version's chunks, in text order."""
        want = {a.id: a.content_hash for a in articles}
        out: dict[str, list[Chunk]] = {a: [] for a in want}
        if not want:
            return out
        for r in self.chunks.get(where={"article_id": {"$in": list(want)}}, documents=True):
            c = to_chunk(r)
            if want.get(c.article_id) == c.content_hash:
                out[c.article_id].append(c)
        for chunks in out.values():
            chunks.sort(key=lambda c: c.sentence_start)
        return out

    def get_chunks(self, ids: Sequence[str]) -> list[Chunk]:
        return [to_chunk(r) for r in self.chunks.get(ids=list(ids), documents=True)] if ids else []

    def _link_duplicates(self, articles: Sequence[Article]) -> None:
        """Mark articles with the same cleaned text (two outlets running one wire story) as
        duplicates of each other; both stay, since each outlet is a source."""
        hashes = sorted({text_hash(a.text) for a in articles})
        if not hashes:
            return
        # One lookup for the whole batch: each filtered read costs a scan of the collection.
        by_hash: dict[str, list[Any]] = {}
        for r in self.articles.get(where={"text_hash": {"$in": hashes}}):
            by_hash.setdefault(str(r.metadata.get("text_hash")), []).append(r)
        for same in by_hash.values():
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
        self._begin()
        self.articles.delete(ids=[article_id])
        self.chunks.delete(where={"article_id": article_id})
        self.sentences.delete(where={"article_id": article_id})
        self.terms.remove(article_id)
        for other_id in json.loads(str(found[0].metadata.get("duplicate_of") or "[]")):
            others = self.articles.get(ids=[other_id])
            if others:
                dups = json.loads(str(others[0].metadata.get("duplicate_of") or "[]"))
                dups = [d for d in dups if d != article_id]
                self.articles.update_metadata([other_id], [{"duplicate_of": json.dumps(dups)}])
        self._end()
        self.generation += 1
        return True

    # ----- reading -----------------------------------------------------------------------

    def get_article(self, article_id: str) -> Article | None:
        found = self.articles.get(ids=[article_id], documents=True)
        return to_article(found[0]) if found else None

    def cached_article(self, article_id: str) -> Article | None:
        """`get_article`, remembered until this process next writes to the store (answering
        reads the same few articles several times per question)."""
        cached = self._article_cache.get(article_id)
        if cached is None or cached[0] != self.generation:
            cached = (self.generation, self.get_article(article_id))
            self._article_cache[article_id] = cached
        return cached[1]

    def list_articles(self) -> list[ArticleInfo]:
        return sorted(
            (to_info(r) for r in self.articles.get()),
            key=lambda a: a.published_at or datetime.min.replace(tzinfo=UTC),
            reverse=True,
        )

    def all_articles(self) -> list[Article]:
        return [to_article(r) for r in self.articles.get(documents=True)]

    def all_chunks(self) -> list[Chunk]:
        return [to_chunk(r) for r in self.chunks.get(documents=True)]

    def vector_search(
        self, vector: Sequence[float] | np.ndarray, k: int
    ) -> list[tuple[Chunk, float]]:
        """Chunks nearest the vector, with cosine similarity (a filtered search ranks in code:
        `Retriever._vector_within`)."""
        self.check_embedding()
        return [
            (to_chunk(r), 1.0 - float(r.distance or 0.0))
            for r in self.chunks.query(list(map(float, vector)), k)
        ]

    def nearest_chunks(
        self, vector: Sequence[float] | np.ndarray, k: int
    ) -> list[tuple[str, str, float | None, float]]:
        """(chunk id, outlet, publication timestamp, cosine similarity) of the k chunks nearest
        the vector, without their text: enough to filter them in code."""
        self.check_embedding()
        out = []
        for r in self.chunks.query(list(map(float, vector)), k, documents=False):
            published = r.metadata.get("published_at")
            when = float(published) if isinstance(published, int | float) else None
            out.append(
                (r.id, str(r.metadata.get("source", "")), when, 1.0 - float(r.distance or 0))
            )
        return out

    def chunk_vectors(self, ids: Sequence[str]) -> dict[str, Any]:
        """The stored vectors of these chunks (ids no longer stored are left out)."""
        return self.chunks.vectors(list(ids)) if ids else {}

    def sources(self) -> list[str]:
        """The stored outlets, from the lexical index, which holds every stored article and
        counts its outlets as it writes (listing them from the articles took 7.8 s of the
        first question at 49,000 articles)."""
        return self.terms.outlets()

    def cached_sources(self) -> list[str]:
        """`sources`, remembered until this process next writes to the store (every question
        is read against the stored outlets)."""
        if self._sources_cache is None or self._sources_cache[0] != self.generation:
            self._sources_cache = (self.generation, self.sources())
        return self._sources_cache[1]

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


def _writer_gone(mark: str) -> bool:
    """Whether the writer a "pid@host@started" mark names is no longer writing: not running
    (or its pid now belongs to a later process), or this very process, which is not writing
    while it recovers. A writer on another host (a shared Chroma server) is taken to be alive:
    its next ingest on that host cleans up."""
    import psutil

    pid, host, started = [*mark.split("@"), "", ""][:3]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return True
    try:
        return str(int(psutil.Process(int(pid)).create_time())) != started
    except psutil.Error:
        return True
