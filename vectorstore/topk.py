"""Fast top-k BM25 over the lexical index's documents: a tantivy index beside the SQLite file,
derived from it. SQLite stays the one record (writes, deletes and recovery are all-or-nothing
there); every change to its documents is logged by a trigger, and this index applies the log
before a search, so it never needs a rebuild after a start or an ingest, only once for a store
that predates it. Tantivy stops scoring once the best k are certain (block-max WAND), where
SQLite FTS5 scores every document that holds any of the query's terms."""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger("dateline.store")

# Rows of the change log (or documents, on a first build) handled per SQL read.
BATCH = 5000
# A first build logs its progress every this many documents.
LOG_EVERY = 500_000
# More changes pending than the store's documents divided by this: rebuild from the store.
REBUILD_SHARE = 4
# The writer's memory: small writes (an ingest's articles) never need more.
WRITER_HEAP = 64_000_000
# SQL run once on the SQLite side: the change log and the triggers that keep it.
LOG_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, doc INTEGER "
    "NOT NULL)",
    "CREATE TRIGGER IF NOT EXISTS docs_added AFTER INSERT ON docs BEGIN INSERT INTO changes "
    "(doc) VALUES (NEW.rowid); END",
    "CREATE TRIGGER IF NOT EXISTS docs_removed AFTER DELETE ON docs BEGIN INSERT INTO changes "
    "(doc) VALUES (OLD.rowid); END",
)

Progress = Callable[[int, int], None]


class TopK:
    """One tantivy index per kind of document under `path`, and the change-log position they
    hold (`applied`, written after their commit: a crash before it only replays changes,
    which is harmless, as each replay deletes a document before adding what SQLite holds)."""

    def __init__(self, path: Path, kinds: Sequence[str], store_id: str) -> None:
        self.path = path
        self.kinds = tuple(kinds)
        self.store_id = store_id  # the SQLite file's identity: a new file means a rebuild
        self._lock = threading.Lock()
        self._indexes: dict[str, Any] | None = None
        self._searchers: dict[str, Any] = {}
        self._loaded: int | None = None  # the change-log position the searchers show

    # ----- opening ---------------------------------------------------------------------------

    def _open(self) -> dict[str, Any]:
        import tantivy

        if self._indexes is not None:
            return self._indexes
        indexes: dict[str, Any] = {}
        for kind in self.kinds:
            where = self.path / kind
            where.mkdir(parents=True, exist_ok=True)
            builder = tantivy.SchemaBuilder()
            # Terms arrive as the caller's stems joined by spaces: split on spaces, nothing
            # else (a stem keeps its case and inner punctuation, as the query's terms do).
            builder.add_text_field("terms", tokenizer_name="terms", index_option="freq")
            builder.add_integer_field("doc", stored=True, indexed=True, fast=True)
            builder.add_text_field("source", tokenizer_name="raw", index_option="basic")
            builder.add_float_field("epoch", indexed=True, fast=True)
            index = tantivy.Index(builder.build(), path=str(where))
            index.register_tokenizer(
                "terms", tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build()
            )
            indexes[kind] = index
        self._indexes = indexes
        return indexes

    def _applied(self) -> int | None:
        """The change-log position the indexes hold, or None when they must be built (none
        yet, or built from another SQLite file)."""
        try:
            store_id, seq = (self.path / "applied").read_text().split()
        except (OSError, ValueError):
            return None
        return int(seq) if store_id == self.store_id else None

    def _set_applied(self, seq: int) -> None:
        tmp = self.path / "applied.tmp"
        tmp.write_text(f"{self.store_id} {seq}\n")
        os.replace(tmp, self.path / "applied")

    def start_empty(self, seq: int) -> None:
        """For a store with no documents: nothing to build, follow the log from `seq`."""
        with self._lock:
            if self._applied() is None:
                # What an index left here holds belongs to another store (or to none).
                for kind in self.kinds:
                    shutil.rmtree(self.path / kind, ignore_errors=True)
                self.path.mkdir(parents=True, exist_ok=True)
                self._set_applied(seq)

    # ----- keeping up ------------------------------------------------------------------------

    def sync(self, db: sqlite3.Connection, progress: Progress | None = None) -> bool:
        """Apply SQLite's changes since the last sync (all its documents on a first build).
        False when another process is writing to these indexes: search SQLite this time."""
        with self._lock:
            last = db.execute("SELECT coalesce(max(seq), 0) FROM changes").fetchone()[0]
            applied = self._applied()
            if applied is not None and applied >= last:
                if applied != self._loaded:  # another process brought the indexes up to date
                    self._reload(applied)
                return True
            indexes = self._open()
            try:
                writers = {kind: index.writer(WRITER_HEAP, 1) for kind, index in indexes.items()}
            except ValueError:  # another process holds a writer: it is catching up
                return False
            try:
                held = db.execute("SELECT coalesce(sum(n), 0) FROM totals").fetchone()[0]
                if applied is None or last - applied > max(BATCH, held // REBUILD_SHARE):
                    # Past a share of the store, one pass over it beats a removal and an
                    # addition per document touched (a first build, a large ingest).
                    self._build(db, writers, progress, first=applied is None)
                else:
                    self._apply(db, writers, applied, last)
                for writer in writers.values():
                    writer.commit()
            except BaseException:
                for writer in writers.values():
                    writer.rollback()
                raise
            finally:
                for writer in writers.values():
                    writer.wait_merging_threads()
                del writers  # the lock goes with the writer
            self._set_applied(last)
            db.execute("DELETE FROM changes WHERE seq <= ?", (last,))
            self._reload(last)
            return True

    def _reload(self, applied: int) -> None:
        for index in self._open().values():
            index.reload()
        self._searchers.clear()
        self._loaded = applied

    def _build(
        self,
        db: sqlite3.Connection,
        writers: dict[str, Any],
        progress: Progress | None,
        *,
        first: bool,
    ) -> None:
        """Every document SQLite holds, after removing whatever the indexes held."""
        total = db.execute("SELECT coalesce(sum(n), 0) FROM totals").fetchone()[0]
        if first:  # a store from before the fast index, or one whose index was deleted
            log.warning(
                "building the fast lexical index from %d stored documents (once for this "
                "store; about 1 s per 100,000)",
                total,
            )
        else:
            log.info("rebuilding the fast lexical index from %d stored documents", total)
        done = 0
        for kind, writer in writers.items():
            writer.delete_all_documents()
            for rows in _batches(self._rows(db, kind, None)):
                for row in rows:
                    writer.add_document(_document(row))
                done += len(rows)
                if progress is not None:
                    progress(done, total)
                elif first and done % LOG_EVERY < len(rows):
                    log.warning("fast lexical index: %d of %d documents", done, total)

    def _apply(
        self, db: sqlite3.Connection, writers: dict[str, Any], applied: int, last: int
    ) -> None:
        """Each document touched since `applied`: removed, then added as SQLite holds it now
        (if it still does), whatever happened to it in between."""
        touched = [
            r[0]
            for r in db.execute(
                "SELECT DISTINCT doc FROM changes WHERE seq > ? AND seq <= ?", (applied, last)
            )
        ]
        for start in range(0, len(touched), BATCH):
            ids = touched[start : start + BATCH]
            for writer in writers.values():
                for doc in ids:
                    writer.delete_documents_by_term("doc", doc)
            for kind, writer in writers.items():
                for row in self._rows(db, kind, ids):
                    writer.add_document(_document(row))

    def _rows(
        self, db: sqlite3.Connection, kind: str, ids: Sequence[int] | None
    ) -> Iterable[tuple[int, str, float, str]]:
        sql = (
            f"SELECT d.rowid, d.source, d.epoch, t.terms FROM docs d JOIN terms_{kind} t ON "
            f"t.rowid = d.rowid WHERE d.kind = ?"
        )
        args: list[object] = [self.kinds.index(kind)]
        if ids is not None:
            sql += f" AND d.rowid IN ({','.join('?' * len(ids))})"
            args.extend(ids)
        return db.execute(sql, args)

    # ----- searching -------------------------------------------------------------------------

    def search(
        self,
        kind: str,
        terms: Sequence[str],
        k: int,
        *,
        sources: Sequence[str] | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> list[tuple[int, float]]:
        """(SQLite rowid, BM25) of the k best documents of a kind that hold any of the terms,
        optionally only of these outlets and published within since..until (epoch seconds;
        an undated document, epoch -1, matches no date filter)."""
        from tantivy import FieldType, Occur, Query

        index = self._open()[kind]
        schema = index.schema
        wanted = Query.boolean_query(
            [(Occur.Should, Query.term_query(schema, "terms", t)) for t in terms]
        )
        clauses = [(Occur.Must, wanted)]
        if sources is not None:
            if not sources:
                return []
            one_of = Query.boolean_query(
                [(Occur.Should, Query.term_query(schema, "source", s)) for s in sources]
            )
            clauses.append((Occur.Must, Query.const_score_query(one_of, 0.0)))
        if since is not None or until is not None:
            low = since if since is not None else 0.0
            if until is not None:
                low = max(low, 0.0)
            span = Query.range_query(schema, "epoch", FieldType.Float, low, until, True, True)
            clauses.append((Occur.Must, Query.const_score_query(span, 0.0)))
        searcher = self._searcher(kind)
        found = searcher.search(Query.boolean_query(clauses), k, count=False)
        return [
            (int(searcher.doc(address)["doc"][0]), float(score)) for score, address in found.hits
        ]

    def doc_freqs(self, kind: str, terms: Sequence[str]) -> dict[str, int]:
        """How many documents of a kind hold each term: a lookup in the term dictionary (a
        document deleted since its segment's last merge still counts)."""
        searcher = self._searcher(kind)
        return {t: int(searcher.doc_freq("terms", t)) for t in terms}

    def _searcher(self, kind: str) -> Any:
        searcher = self._searchers.get(kind)
        if searcher is None:
            searcher = self._searchers[kind] = self._open()[kind].searcher()
        return searcher


def _document(row: tuple[int, str, float, str]) -> Any:
    import tantivy

    doc, source, epoch, terms = row
    return tantivy.Document(doc=int(doc), source=source, epoch=float(epoch), terms=terms)


def _batches(
    rows: Iterable[tuple[int, str, float, str]],
) -> Iterable[list[tuple[int, str, float, str]]]:
    batch: list[tuple[int, str, float, str]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch
