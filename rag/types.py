"""The typed data that flows through Dateline, from a reader's raw article to a cited answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rag.errors import one_line


@dataclass(frozen=True)
class RawArticle:
    """An article as a reader found it: text and metadata before cleaning."""

    body: str
    origin: str  # where it came from: "path/to/file.json#3" (record 3), "feed.xml#item-2", ...
    title: str | None = None
    source: str | None = None  # the outlet ("TechCrunch", "Trend News Agency")
    published_at: datetime | None = None  # timezone-aware when known
    url: str | None = None
    author: str | None = None
    dateline: str | None = None  # "BAKU, Azerbaijan, January 3"
    category: str | None = None
    fmt: str = "text"  # "text" (wire copy / plain), "json", "html", "feed"
    # A feed entry that carries only a summary of the article at `url`, not its text.
    summary_only: bool = False


@dataclass(frozen=True)
class Sentence:
    """One sentence of an article's cleaned text; text == article.text[start:end]."""

    index: int
    start: int
    end: int
    text: str
    # Its length in the embedding model's wordpieces (without [CLS]/[SEP]), counted at ingest;
    # -1 when not known (stored by an older version). Passages are filled by it.
    pieces: int = field(default=-1, compare=False)


@dataclass(frozen=True)
class Article:
    """A cleaned article with its sentences: the unit of provenance and of storage."""

    id: str
    text: str
    sentences: tuple[Sentence, ...]
    title: str
    source: str
    published_at: datetime | None
    url: str | None
    origin: str
    content_hash: str
    author: str | None = None
    dateline: str | None = None
    category: str | None = None
    duplicate_of: tuple[str, ...] = ()  # ids of other articles with the same cleaned text

    def to_json(self) -> dict[str, Any]:
        """The article with its text and sentence offsets (GET /api/articles/ID)."""
        return {
            "id": self.id,
            "title": self.title,
            "source": self.source,
            "published_at": self.published_at.isoformat() if self.published_at else None,
            "url": self.url,
            "author": self.author,
            "dateline": self.dateline,
            "category": self.category,
            "origin": self.origin,
            "duplicate_of": list(self.duplicate_of),
            "text": self.text,
            "sentences": [
                {"index": s.index, "start": s.start, "end": s.end, "text": s.text}
                for s in self.sentences
            ],
        }


@dataclass(frozen=True)
class Chunk:
    """A run of consecutive sentences of one article, embedded and retrieved as one unit; or
    a passage retrieval made for one question: the article's best sentences for it."""

    id: str
    article_id: str
    sentence_start: int  # index of the first sentence
    sentence_end: int  # index one past the last sentence
    text: str  # the sentences' text as it stands in the article (article.text[a:b])
    title: str
    source: str
    published_at: datetime | None
    content_hash: str  # the article version this chunk belongs to
    # A passage's sentence indices, in text order (its text joins their runs with " … ");
    # empty for a stored chunk, which holds sentence_start..sentence_end.
    sentences: tuple[int, ...] = ()

    @property
    def sentence_indices(self) -> tuple[int, ...]:
        """The indices of the sentences this unit holds."""
        return self.sentences or tuple(range(self.sentence_start, self.sentence_end))


@dataclass(frozen=True)
class Hit:
    """A chunk returned by retrieval, with its fused score and the ranks that produced it."""

    chunk: Chunk
    score: float
    ranks: dict[str, int] = field(default_factory=dict)  # e.g. {"vector": 3, "bm25": 1}


@dataclass(frozen=True)
class Citation:
    """A `[n]` marker in an answer resolved to the exact source sentence."""

    n: int
    article_id: str
    sentence_index: int
    start: int
    end: int
    text: str
    title: str
    source: str
    published_at: datetime | None
    url: str | None
    verified: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "article_id": self.article_id,
            "sentence_index": self.sentence_index,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "title": self.title,
            "source": self.source,
            "published_at": self.published_at.isoformat() if self.published_at else None,
            "url": self.url,
            "verified": self.verified,
        }


@dataclass(frozen=True)
class SentenceCheck:
    """The verdict on one sentence of an answer against the sentences it cites."""

    text: str
    citations: tuple[int, ...]
    supported: bool
    score: float
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "citations": list(self.citations),
            "supported": self.supported,
            "score": round(self.score, 4),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class ReportClaim:
    """What one report says on one claim of a question: the verdict of reading its best
    sentences, and the sentence that decides it (the citation `n` in the answer)."""

    article_id: str
    source: str  # the outlet
    title: str
    published_at: datetime | None
    claim: str  # what the question says this report says
    verdict: str  # "supported" | "contradicted" | "not found"
    citation: int | None = None  # the answer's [n] for the deciding sentence
    sentence: str = ""  # that sentence's text

    def to_json(self) -> dict[str, Any]:
        return {
            "report": {
                "article_id": self.article_id,
                "outlet": self.source,
                "title": self.title,
                "published_at": self.published_at.isoformat() if self.published_at else None,
            },
            "claim": self.claim,
            "verdict": self.verdict,
            "citation": self.citation,
            "sentence": self.sentence,
        }


@dataclass(frozen=True)
class Answer:
    """What `rag.ask` returns; the CLI's --json, the REST API and the eval share this shape."""

    question: str
    answer: str  # text with [n] markers
    abstained: bool
    citations: tuple[Citation, ...] = ()
    verification: tuple[SentenceCheck, ...] = ()
    short_answer: str | None = None
    standalone_question: str | None = None  # the follow-up rewritten, when it was
    retrieved: tuple[Hit, ...] = ()  # what retrieval returned (for evals and debugging)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage
    # Per report: what the question says it says, and whether it does (shaped answers).
    claims: tuple[ReportClaim, ...] = ()
    # How the answer was reached: "entity", "claims", "agreement", "order" (code reasoned
    # over the model's readings) or "composed" (the model wrote it, the verifier checked it).
    shape: str = "composed"

    def to_json(self, *, include_retrieved: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "question": self.question,
            "answer": self.answer,
            "short_answer": self.short_answer,
            "abstained": self.abstained,
            "citations": [c.to_json() for c in self.citations],
            "verification": [v.to_json() for v in self.verification],
            "claims": [c.to_json() for c in self.claims],
            "shape": self.shape,
            "standalone_question": self.standalone_question,
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
        }
        if include_retrieved:
            out["retrieved"] = [
                {
                    "chunk_id": h.chunk.id,
                    "article_id": h.chunk.article_id,
                    "score": h.score,
                    "text": h.chunk.text,
                    "title": h.chunk.title,
                    "source": h.chunk.source,
                }
                for h in self.retrieved
            ]
        return out


@dataclass(frozen=True)
class FileError:
    """One input that could not be ingested, and why, in words for people."""

    origin: str  # file, or file#record
    reason: str
    # The input itself may be fine: the store could not take it now (a later try may work).
    retry: bool = False

    def __str__(self) -> str:
        return f"{one_line(self.origin)}: {one_line(self.reason)}"


@dataclass
class IngestReport:
    """What an ingest did: counts per outcome and the errors, one per failed input."""

    added: list[str] = field(default_factory=list)  # article ids
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[FileError] = field(default_factory=list)
    chunks_written: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed

    def to_json(self) -> dict[str, Any]:
        return {
            "added": len(self.added),
            "updated": len(self.updated),
            "unchanged": len(self.unchanged),
            "failed": len(self.failed),
            "errors": [{"origin": e.origin, "reason": e.reason} for e in self.failed],
            "chunks_written": self.chunks_written,
            "seconds": round(self.seconds, 3),
        }
