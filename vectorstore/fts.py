"""BM25 over pre-tokenised documents in SQLite FTS5, on disk: documents come in groups (an
article) with a version (its content hash) and are written or removed a group at a time, each
call one transaction. Nothing is rebuilt when a process starts: a search reads the index."""

from __future__ import annotations

import logging
import math
import sqlite3
import threading
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from vectorstore.topk import LOG_SCHEMA, Progress, TopK

log = logging.getLogger("dateline.store")

# The two kinds of document, each its own FTS5 table (own statistics, own BM25).
KINDS = ("chunk", "sentence")
# Terms are the caller's stems joined by spaces; a stem keeps inner . - ' ("u.s", "o'brien").
_TOKENIZE = "unicode61 remove_diacritics 0 tokenchars '.-'''"
# BM25 for scoring given documents: the "lucene" variant, which the passage weights were
# tuned with.
K1, B = 1.5, 0.75


@dataclass(frozen=True)
class Doc:
    """One document: its position in its group, the key a hit returns (a chunk id), and its
    terms."""

    pos: int
    key: str
    terms: Sequence[str]


@dataclass(frozen=True)
class Group:
    """One article version's documents of both kinds, with what searches filter on."""

    group: str
    version: str
    source: str
    epoch: float  # publication time, -1 when unknown
    chunks: Sequence[Doc]
    sentences: Sequence[Doc]


@dataclass(frozen=True)
class Found:
    key: str
    group: str
    pos: int
    score: float  # higher is better


class TermIndex:
    """The lexical index of one store, in one SQLite file (WAL: readers never wait)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=60000")
        tokenize = "'" + _TOKENIZE.replace("'", "''") + "'"
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS docs (rowid INTEGER PRIMARY KEY, kind INTEGER NOT "
                "NULL, grp TEXT NOT NULL, version TEXT NOT NULL, pos INTEGER NOT NULL, key TEXT "
                "NOT NULL, source TEXT NOT NULL, epoch REAL NOT NULL, len INTEGER NOT NULL)"
            )
            self._db.execute("CREATE INDEX IF NOT EXISTS docs_grp ON docs (grp, version)")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS groups (grp TEXT NOT NULL, version TEXT NOT NULL, "
                "PRIMARY KEY (grp, version)) WITHOUT ROWID"
            )
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS totals (kind INTEGER PRIMARY KEY, n INTEGER NOT "
                "NULL, len INTEGER NOT NULL)"
            )
            self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            # Chunks per outlet, kept with every write: the stored outlets are read at every
            # start, and listing them from the articles costs seconds in a large archive.
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS outlets (source TEXT PRIMARY KEY, n INTEGER NOT NULL)"
            )
            counted = self._db.execute(
                "SELECT 1 FROM meta WHERE key = 'outlets_counted'"
            ).fetchone()
            if counted is None:
                # An index from before the table: counted once, from its documents.
                self._db.execute("DELETE FROM outlets")
                self._db.execute(
                    "INSERT INTO outlets SELECT source, COUNT(*) FROM docs WHERE kind = 0 "
                    "GROUP BY source"
                )
                self._db.execute("INSERT INTO meta VALUES ('outlets_counted', '1')")
            for sql in LOG_SCHEMA:
                self._db.execute(sql)
            self._db.execute(
                "INSERT OR IGNORE INTO meta VALUES ('store_id', ?)", (uuid.uuid4().hex,)
            )
            for kind in KINDS:
                self._db.execute(
                    f"CREATE VIRTUAL TABLE IF NOT EXISTS terms_{kind} USING fts5(terms, "
                    f"tokenize={tokenize})"
                )
                self._db.execute(
                    f"CREATE VIRTUAL TABLE IF NOT EXISTS vocab_{kind} USING fts5vocab("
                    f"terms_{kind}, row)"
                )
            empty = self._db.execute("SELECT NOT EXISTS (SELECT 1 FROM docs)").fetchone()[0]
            seq = self._db.execute("SELECT coalesce(max(seq), 0) FROM changes").fetchone()[0]
            self._db.execute("COMMIT")
        store_id = self.get_meta("store_id") or ""
        self.topk = TopK(path.with_suffix(".tantivy"), KINDS, store_id)
        self._topk_failed = False
        if empty:
            # Nothing to build from: the fast index starts empty and follows the change log
            # (only a store that already holds documents is built from them, once).
            self.topk.start_empty(seq)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ----- writing -----------------------------------------------------------------------

    def put(self, groups: Iterable[Group]) -> None:
        """Add these group versions (a version already there is replaced), in one transaction."""
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                for g in groups:
                    self._remove(g.group, only=g.version)
                    db.execute("INSERT INTO groups VALUES (?, ?)", (g.group, g.version))
                    for kind, docs in enumerate((g.chunks, g.sentences)):
                        total = 0
                        for d in docs:
                            cur = db.execute(
                                "INSERT INTO docs (kind, grp, version, pos, key, source, epoch, "
                                "len) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                (kind, g.group, g.version, d.pos, d.key, g.source, g.epoch,
                                 len(d.terms)),
                            )  # fmt: skip
                            db.execute(
                                f"INSERT INTO terms_{KINDS[kind]} (rowid, terms) VALUES (?, ?)",
                                (cur.lastrowid, " ".join(d.terms)),
                            )
                            total += len(d.terms)
                        self._count(kind, len(docs), total)
                    self._count_outlet(g.source, len(g.chunks))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def remove(self, group: str, *, keep: str | None = None) -> None:
        """Remove a group's versions (all, or all but `keep`), in one transaction."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._remove(group, keep=keep)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def _remove(self, group: str, *, keep: str | None = None, only: str | None = None) -> None:
        db = self._db
        clause, args = "grp = ?", [group]
        if keep is not None:
            clause, args = clause + " AND version != ?", [*args, keep]
        if only is not None:
            clause, args = clause + " AND version = ?", [*args, only]
        for kind, name in enumerate(KINDS):
            rows = db.execute(
                f"SELECT rowid, len, source FROM docs WHERE {clause} AND kind = ?", (*args, kind)
            ).fetchall()
            if not rows:
                continue
            db.executemany(f"DELETE FROM terms_{name} WHERE rowid = ?", [(r[0],) for r in rows])
            self._count(kind, -len(rows), -sum(r[1] for r in rows))
            if kind == 0:
                for source, n in Counter(r[2] for r in rows).items():
                    self._count_outlet(source, -n)
        db.execute(f"DELETE FROM docs WHERE {clause}", args)
        db.execute(f"DELETE FROM groups WHERE {clause}", args)

    def _count(self, kind: int, n: int, length: int) -> None:
        self._db.execute(
            "INSERT INTO totals VALUES (?, ?, ?) ON CONFLICT (kind) DO UPDATE SET "
            "n = n + excluded.n, len = len + excluded.len",
            (kind, n, length),
        )

    def _count_outlet(self, source: str, n: int) -> None:
        self._db.execute(
            "INSERT INTO outlets VALUES (?, ?) ON CONFLICT (source) DO UPDATE SET n = n + "
            "excluded.n",
            (source, n),
        )
        self._db.execute("DELETE FROM outlets WHERE source = ? AND n <= 0", (source,))

    # ----- reading -----------------------------------------------------------------------

    def outlets(self) -> list[str]:
        """The outlets of the documents held, in name order."""
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT source FROM outlets ORDER BY source")]

    def versions(self) -> dict[str, set[str]]:
        """Every group's versions held."""
        out: dict[str, set[str]] = {}
        with self._lock:
            for group, version in self._db.execute("SELECT grp, version FROM groups"):
                out.setdefault(group, set()).add(version)
        return out

    def count(self, kind: str) -> int:
        return self._totals(kind)[0]

    def _totals(self, kind: str) -> tuple[int, float]:
        with self._lock:
            row = self._db.execute(
                "SELECT n, len FROM totals WHERE kind = ?", (KINDS.index(kind),)
            ).fetchone()
        n, length = row or (0, 0)
        return int(n), (length / n if n else 0.0)

    def search(
        self,
        kind: str,
        terms: Sequence[str],
        k: int,
        *,
        sources: Sequence[str] | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> list[Found]:
        """The k best documents of a kind for the terms (FTS5's BM25), optionally only of
        these outlets and published within since..until (epoch seconds)."""
        unique = list(dict.fromkeys(t for t in terms if t))
        if not unique or k <= 0:
            return []
        fast = self._fast_search(kind, unique, k, sources, since, until)
        if fast is not None:
            return fast
        match = " OR ".join('"' + t.replace('"', '""') + '"' for t in unique)
        if sources is None and since is None and until is None:
            return self._search_all(kind, match, k)
        sql = (
            f"SELECT d.key, d.grp, d.pos, bm25(terms_{kind}) AS s FROM terms_{kind} "
            f"JOIN docs d ON d.rowid = terms_{kind}.rowid WHERE terms_{kind} MATCH ?"
        )
        args: list[object] = [match]
        if sources is not None:
            sql += f" AND d.source IN ({','.join('?' * len(sources))})"
            args.extend(sources)
        if since is not None:
            sql += " AND d.epoch >= ?"
            args.append(since)
        if until is not None:
            sql += " AND d.epoch >= 0 AND d.epoch <= ?"
            args.append(until)
        sql += " ORDER BY s LIMIT ?"
        args.append(k)
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [Found(key, group, int(pos), -float(s)) for key, group, pos, s in rows]

    def sync_fast(self, progress: Progress | None = None) -> bool:
        """Bring the fast top-k index up to date with this file (False: another process is
        doing it, or it failed and searches use FTS5)."""
        if self._topk_failed:
            return False
        try:
            with self._lock:
                return self.topk.sync(self._db, progress)
        except Exception as exc:  # the index on disk is damaged or unreadable
            self._topk_failed = True
            log.error(
                "the fast lexical index at %s failed (%s); searching SQLite instead, which is "
                "slower on a large archive. Delete that folder to have it rebuilt.",
                self.topk.path,
                " ".join(str(exc).split())[:300],
            )
            return False

    def _fast_search(
        self,
        kind: str,
        terms: list[str],
        k: int,
        sources: Sequence[str] | None,
        since: float | None,
        until: float | None,
    ) -> list[Found] | None:
        """The k best from the fast index, or None when it cannot answer now."""
        if not self.sync_fast():
            return None
        with self._lock:
            best = self.topk.search(kind, terms, k, sources=sources, since=since, until=until)
            return self._found(best)

    def _search_all(self, kind: str, match: str, k: int) -> list[Found]:
        """An unfiltered search: the k best rows first, then only their documents (joining
        every matching row to its document before the limit costs a third of the time)."""
        with self._lock:
            best = self._db.execute(
                f"SELECT rowid, bm25(terms_{kind}) AS s FROM terms_{kind} WHERE terms_{kind} "
                "MATCH ? ORDER BY s LIMIT ?",
                (match, k),
            ).fetchall()
            # FTS5's bm25() is lower for better matches.
            return self._found([(rowid, -float(s)) for rowid, s in best])

    def _found(self, best: Sequence[tuple[int, float]]) -> list[Found]:
        """The documents of (rowid, score) pairs, in their order; a row SQLite no longer
        holds (deleted since the fast index's sync) is left out. Call with the lock held."""
        if not best:
            return []
        docs = {
            rowid: (key, group, pos)
            for rowid, key, group, pos in self._db.execute(
                f"SELECT rowid, key, grp, pos FROM docs WHERE rowid IN "
                f"({','.join('?' * len(best))})",
                [r for r, _ in best],
            )
        }
        return [Found(*docs[r][:2], int(docs[r][2]), s) for r, s in best if r in docs]

    def terms_of(self, kind: str, versions: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
        """The stored terms of these (group, version)s' documents of a kind, joined by spaces,
        in position order; a version the index does not hold is left out."""
        wanted = set(versions)
        groups = list(dict.fromkeys(g for g, _v in wanted))
        rows: dict[str, list[tuple[int, str]]] = {}
        if not wanted:
            return {}
        with self._lock:
            found = self._db.execute(
                f"SELECT d.grp, d.version, d.pos, t.terms FROM docs d JOIN terms_{kind} t ON "
                f"t.rowid = d.rowid WHERE d.kind = ? AND d.grp IN ({','.join('?' * len(groups))})",
                [KINDS.index(kind), *groups],
            ).fetchall()
        for group, version, pos, text in found:
            if (group, version) in wanted:
                rows.setdefault(group, []).append((int(pos), str(text)))
        return {g: [t for _p, t in sorted(r)] for g, r in rows.items()}

    def scorer(self, kind: str, terms: Sequence[str]) -> Scorer:
        """BM25 of any document of a kind for the terms, with this index's statistics."""
        unique = list(dict.fromkeys(t for t in terms if t))
        n, avg = self._totals(kind)
        df: dict[str, int] = {}
        if unique and self.sync_fast():
            # The fast index's term dictionary: FTS5's vocabulary table counts a term by
            # reading its whole posting list (20 ms a question at 100,000 articles).
            with self._lock:
                df = self.topk.doc_freqs(kind, unique)
        elif unique:
            with self._lock:
                rows = self._db.execute(
                    f"SELECT term, doc FROM vocab_{kind} WHERE term IN "
                    f"({','.join('?' * len(unique))})",
                    unique,
                ).fetchall()
            df = {t: int(d) for t, d in rows}
        idf = {t: math.log(1 + (n - df.get(t, 0) + 0.5) / (df.get(t, 0) + 0.5)) for t in unique}
        return Scorer(idf, avg or 1.0)

    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = "
                "excluded.value",
                (key, value),
            )


@dataclass(frozen=True)
class Scorer:
    """BM25 for one query's terms (their IDFs over the index) of documents given as terms."""

    idf: dict[str, float]
    avg_len: float

    def __call__(self, terms: Sequence[str]) -> float:
        if not terms or not self.idf:
            return 0.0
        tf: dict[str, int] = {}
        for t in terms:
            if t in self.idf:
                tf[t] = tf.get(t, 0) + 1
        norm = K1 * (1 - B + B * len(terms) / self.avg_len)
        return sum(self.idf[t] * f / (f + norm) for t, f in tf.items())
