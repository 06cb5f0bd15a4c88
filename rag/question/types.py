"""What question understanding hands to retrieval: the plan and the filters, dates and hops
in it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from rag.clock import aware
from rag.question.shape import OPEN, QuestionShape

# Open ranges ("before October 2023") need a bound on the other side; these stay far from any
# news date while still converting to epoch seconds on every platform.
FAR_PAST = datetime(1900, 1, 1, tzinfo=UTC)
FAR_FUTURE = datetime(2200, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Filters:
    """Explicit filters from the caller (CLI --since/--until/--source, UI): hard, not boosts."""

    since: datetime | None = None  # aware (a naive value is read as UTC)
    until: datetime | None = None  # aware, inclusive end
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class DateRange:
    """A span of time a question refers to: start inclusive, end exclusive, both aware."""

    start: datetime
    end: datetime
    phrase: str  # the words it came from ("in January 2022", "before October 2023")
    relation: str  # "on" | "in" | "before" | "after" | "between"

    def contains(self, when: datetime) -> bool:
        """Whether `when` (aware; naive is read as UTC) falls in [start, end)."""
        return self.start <= aware(when) < self.end


def span_bounds(ranges: Sequence[DateRange]) -> tuple[datetime | None, datetime | None]:
    """The (since, until) that hold every one of these ranges, as hard filters take them
    (until inclusive; an open side is None)."""
    lo = min(r.start for r in ranges)
    hi = max(r.end for r in ranges)
    since = lo if lo > FAR_PAST else None
    until = hi - timedelta(microseconds=1) if hi < FAR_FUTURE else None
    return since, until


@dataclass(frozen=True)
class ReportAnchor:
    """A time given by another report ("before the Reuters report"): retrieval finds that
    report and turns its publication time into a date range for the rest of the question."""

    relation: str  # "before" | "after"
    sources: tuple[str, ...]  # the outlet(s) of the report it refers to
    text: str  # what that report is about: the clause of the question that names it
    phrase: str  # the words it came from ("before the Reuters report")


@dataclass(frozen=True)
class SubQuery:
    """One hop of a question: the words, outlets and dates of one report it asks about."""

    text: str  # the part of the question for this hop (or the whole question)
    sources: tuple[str, ...]  # canonical outlet names from known_sources
    dates: tuple[DateRange, ...]


@dataclass(frozen=True)
class QueryPlan:
    """What retrieval needs to know about a question."""

    question: str
    search_text: str  # the question without its date phrases (dates become boosts)
    sources: tuple[str, ...]  # all outlets named (canonical), in order of first mention
    dates: tuple[DateRange, ...]  # all dates/ranges found, in order of mention
    since: datetime | None  # hard filter from Filters (or question dates when strict_dates)
    until: datetime | None  # inclusive
    source_filter: tuple[str, ...]  # hard filter from Filters.sources only
    hops: tuple[SubQuery, ...]  # >= 1
    wants_short_answer: str | None  # "yesno" | "entity" | None
    # The clauses of search_text of 4+ words (a one-clause question has one): a multi-part
    # question's evidence sentence in one article matches one part, not the whole.
    parts: tuple[str, ...] = ()
    # Well-known outlets the question names as a source that no stored article is from.
    absent_sources: tuple[str, ...] = ()
    # Times given by other reports ("after the TechCrunch article"); see report_anchors.
    anchors: tuple[ReportAnchor, ...] = ()
    # What reasoning the question calls for (entity, claims, agreement, order, open).
    shape: QuestionShape = OPEN
