"""The plan: a question read into what retrieval needs (outlets, dates, hops, shape, anchors)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime

from rag.clock import aware
from rag.errors import InputError
from rag.question.anchors import report_anchors
from rag.question.dates import date_mentions
from rag.question.hops import split_hops
from rag.question.outlets import absent_outlets, outlet_mentions
from rag.question.shape import WORD, answer_shape, question_shape
from rag.question.types import DateRange, Filters, QueryPlan, span_bounds


def _search_text(question: str, dates: list[tuple[int, int, DateRange]]) -> str:
    """The question without its date phrases: dates steer ranking as boosts, not as words."""
    out, pos = [], 0
    for start, end, _ in dates:
        out.append(question[pos:start])
        pos = end
    out.append(question[pos:])
    text = " ".join("".join(out).split())
    text = re.sub(r"\s+([,.;:?!])", r"\1", re.sub(r"([,;])(?:\s*[,;])+", r"\1", text))
    return text if WORD.search(text) else question  # "October 7, 2023?" alone: keep it


_CLAUSE_SPLIT = re.compile(
    r",\s+|;\s+|\s+(?:and|while|whereas|but)\s+(?:is\s+|was\s+|has\s+|also\s+|the\s+)?", re.I
)


def _parts(text: str) -> tuple[str, ...]:
    """A question's clauses of four words or more."""
    return tuple(p for p in _CLAUSE_SPLIT.split(text) if len(p.split()) >= 4)


def _source_filter(wanted: Sequence[str], known: Sequence[str]) -> tuple[str, ...]:
    """Caller-given outlets as canonical names ("bbc" -> both BBC outlets)."""
    out: dict[str, None] = {}
    if not wanted:
        return ()
    by_key = {" ".join(k.lower().split()): k for k in known}
    for name in wanted:
        key = " ".join(name.lower().split())
        if not key:
            continue
        if key in by_key:
            out.setdefault(by_key[key], None)
            continue
        text = name.strip()
        matched = [
            o
            for m in outlet_mentions(text, known, name_only=True)
            if m.start == 0 and m.end == len(text)
            for o in m.outlets
        ]
        if matched:
            for outlet in matched:
                out.setdefault(outlet, None)
        elif known:
            some = ", ".join(sorted(known)[:12])
            raise InputError(
                "source filter",
                f"no outlet called {name!r} in the store; use one of its names ({some}"
                f"{', ...' if len(known) > 12 else ''}) or drop the filter",
            )
        else:
            out.setdefault(name.strip(), None)
    return tuple(out)


# The dates "last week" and "in May" may be read against: news has no earlier or later days.
MIN_AS_OF, MAX_AS_OF = 1800, 2199


def plan_query(
    question: str,
    known_sources: Sequence[str],
    *,
    as_of: datetime | None = None,
    filters: Filters | None = None,
    strict_dates: bool = False,
) -> QueryPlan:
    """Read a question's outlets and dates (against as_of, default now) into a retrieval plan.

    Question dates are boosts; with strict_dates they also become since/until when the caller
    gave neither.
    """
    if as_of is not None and not MIN_AS_OF <= as_of.year <= MAX_AS_OF:
        raise InputError(
            "as_of",
            f"{as_of.date().isoformat()} is outside the years {MIN_AS_OF}-{MAX_AS_OF} that news "
            "dates are read against; give a date in that range, or none for today",
        )
    as_of = aware(as_of) if as_of is not None else datetime.now(UTC)
    filters = filters or Filters()
    since = aware(filters.since) if filters.since else None
    until = aware(filters.until) if filters.until else None
    if since and until and since > until:
        raise InputError(
            "date filter",
            f"since ({since.isoformat()}) is after until ({until.isoformat()}); swap them",
        )
    mentions = outlet_mentions(question, known_sources)
    # A year inside an outlet's name ("... Technology News 2017") is no date.
    dates = [
        d
        for d in date_mentions(question, as_of)
        if not any(m.start < d[1] and d[0] < m.end for m in mentions)
    ]
    ranges = tuple(r for _, _, r in dates)
    if strict_dates and ranges and since is None and until is None:
        since, until = span_bounds(ranges)
    sources: dict[str, None] = {}
    for m in mentions:
        for outlet in m.outlets:
            sources.setdefault(outlet, None)
    search_text = _search_text(question, dates)
    wants = answer_shape(question)
    hops = split_hops(question, mentions, dates)
    return QueryPlan(
        question=question,
        search_text=search_text,
        sources=tuple(sources),
        dates=ranges,
        since=since,
        until=until,
        source_filter=_source_filter(filters.sources, known_sources),
        hops=hops,
        wants_short_answer=wants,
        parts=_parts(search_text),
        absent_sources=absent_outlets(question, known_sources, mentions),
        anchors=report_anchors(question, mentions, wants),
        shape=question_shape(question, wants, sum(max(1, len(h.sources)) for h in hops)),
    )
