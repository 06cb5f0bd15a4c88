"""Hops: a question that compares or chains reports, cut into one sub-query per report."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from itertools import pairwise

from rag.question.outlets import Mention
from rag.question.shape import WORD
from rag.question.types import DateRange, SubQuery

# Where a question that compares or chains reports moves from one report to the next.
_STRONG_BOUNDARY = re.compile(
    r"\s*;\s*|,?\s+(?:while|whereas|but|compared\s+(?:to|with)|as\s+opposed\s+to"
    r"|in\s+contrast\s+to|unlike|in\s+the\s+same\s+way\s+(?:that|as)"
    r"|similar(?:ly)?\s+to(?:\s+how)?|differently\s+(?:from|than)(?:\s+how)?"
    r"|different\s+(?:from|than)|than(?:\s+how)?|(?:align|agree|disagree)\s+with"
    r"|(?:consistent|inconsistent)\s+with|contradict)\s+",
    re.IGNORECASE,
)
# Weaker joints, best first: ", and" or the main clause after a frame ("..., was there"),
# then " and the ...", then "after"/"before" a report ("... after TechCrunch reported").
_WEAK_BOUNDARIES = (
    re.compile(
        r",\s+and\s+(?:then\s+)?|,\s+(?=(?:was|were|did|does|do|is|are|has|have|had)\b)",
        re.IGNORECASE,
    ),
    re.compile(r"\s+and\s+(?=(?:the|a|an|another|its|their|then)\b)", re.IGNORECASE),
    re.compile(r",?\s+(?:after|before)\s+(?=(?:the|a|an)\b|(?-i:[A-Z'\"‘“]))", re.IGNORECASE),
)
# "the same source's report": a second report of the outlet named just before.
_SAME_OUTLET = re.compile(
    r"\b(?:the\s+)?same\s+(?:news\s+)?(?:source|publication|outlet|newspaper|site|website)\b",
    re.IGNORECASE,
)
# Words that say which report, not what it says: a clause of only these is no hop of its own.
_FRAME_WORDS = {
    "the", "a", "an", "and", "or", "of", "to", "in", "on", "for", "by", "from", "with", "as",
    "at", "that", "this", "these", "those", "it", "its", "they", "their", "both", "one",
    "other", "another", "same", "article", "articles", "report", "reports", "reported",
    "reporting", "piece", "story", "stories", "coverage", "published", "posted", "source",
    "sources", "outlet", "outlets", "news", "does", "did", "is", "are", "was", "were", "has",
    "have", "had", "do", "which", "who", "what", "when", "between", "after", "before", "while",
    "whereas", "then", "also", "subsequent", "later", "earlier", "previous", "according",
    "considering", "information", "excerpt", "excerpts", "regarding", "concerning",
    "consistent", "inconsistent", "consistency", "inconsistency", "change", "changed", "remain",
    "remained", "portrayal", "similar", "different", "differ", "agree", "align",
}  # fmt: skip


@dataclass(frozen=True)
class _Segment:
    start: int
    end: int


def content_word_count(text: str) -> int:
    return sum(1 for w in WORD.findall(text) if w.lower() not in _FRAME_WORDS)


def _segments(question: str, anchors: list[tuple[int, int]]) -> list[_Segment]:
    """Cut the question at clause boundaries between anchors (outlet names and dates), keeping
    only cuts that leave every clause with words of its own."""
    cuts: list[tuple[int, int]] = []  # (where the left part ends, where the right part starts)
    for (_, a_end), (b_start, _) in pairwise(anchors):
        gap = list(_STRONG_BOUNDARY.finditer(question, a_end, b_start))
        if gap:
            cuts.append((gap[0].start(), gap[0].end()))
            continue
        for boundary in _WEAK_BOUNDARIES:
            weak = list(boundary.finditer(question, a_end, b_start))
            if weak:  # the last one: nearest to the clause that names the next report
                cuts.append((weak[-1].start(), weak[-1].end()))
                break

    def content(lo: int, hi: int) -> int:
        text = list(question[lo:hi])
        for s, e in anchors:  # outlet names and dates say which report, not what it says
            for k in range(max(s, lo), min(e, hi)):
                text[k - lo] = " "
        return content_word_count("".join(text))

    while cuts:
        bounds = [0, *(c for cut in cuts for c in cut), len(question)]
        pieces = [(bounds[k], bounds[k + 1]) for k in range(0, len(bounds), 2)]
        weak_at = next((k for k, (lo, hi) in enumerate(pieces) if content(lo, hi) < 3), None)
        if weak_at is None:
            break
        cuts.pop(max(0, weak_at - 1))  # merge the thin clause into its neighbour
    bounds = [0, *(c for cut in cuts for c in cut), len(question)]
    return [_Segment(bounds[k], bounds[k + 1]) for k in range(0, len(bounds), 2)]


def _clause(question: str, seg: _Segment) -> str:
    return question[seg.start : seg.end].strip(" \t\n,;?")


def _is_report_date(rng: DateRange) -> bool:
    """A date that picks one report (a day, a month, "before X"), not a topic ("in 2021")."""
    return rng.relation != "in" or rng.end - rng.start <= timedelta(days=31)


def _per_date(text: str, outlets: tuple[str, ...], rngs: list[DateRange]) -> list[SubQuery]:
    """One hop per report date when one outlet's reports are told apart by their dates."""
    picks = [r for r in rngs if _is_report_date(r)]
    if len(picks) <= 1:
        return [SubQuery(text, outlets, tuple(rngs))]
    return [SubQuery(text, outlets, (r,)) for r in picks]


def split_hops(
    question: str,
    mentions: list[Mention],
    dates: list[tuple[int, int, DateRange]],
) -> tuple[SubQuery, ...]:
    named = list(mentions)
    for ref in _SAME_OUTLET.finditer(question):
        before = [m for m in named if m.end <= ref.start()]
        if before:
            mentions = [*mentions, Mention(ref.start(), ref.end(), before[-1].outlets)]
    mentions = sorted(mentions, key=lambda m: m.start)
    anchors = sorted([(m.start, m.end) for m in mentions] + [(s, e) for s, e, _ in dates])
    segments = _segments(question, anchors) if len(anchors) > 1 else []
    if not segments:
        segments = [_Segment(0, len(question))]
    hops: list[SubQuery] = []
    for seg in segments:
        text = _clause(question, seg) if len(segments) > 1 else question
        inside = [m for m in mentions if seg.start <= m.start < seg.end]
        seg_dates = [(s, r) for s, _, r in dates if seg.start <= s < seg.end]
        attached: dict[int, list[DateRange]] = {k: [] for k in range(len(inside))}
        loose_dates: list[DateRange] = []
        for pos, rng in seg_dates:
            if not inside:
                loose_dates.append(rng)
                continue
            # a date belongs to the outlet named just before it ("Fortune on October 4")
            earlier = [k for k, m in enumerate(inside) if m.start < pos]
            attached[earlier[-1] if earlier else 0].append(rng)
        groups: dict[tuple[str, ...], list[DateRange]] = {}
        for k, m in enumerate(inside):
            groups.setdefault(m.outlets, []).extend(attached[k])
        if len(groups) > 1:
            # "..., which source reported more, 'The Roar' or 'Sporting News'?" names outlets
            # that earlier clauses already made hops of: no new report there.
            done = {h.sources for h in hops}
            groups = {o: r for o, r in groups.items() if r or o not in done} or groups
        for outlets, rngs in groups.items():
            hops.extend(_per_date(text, outlets, rngs))
        if loose_dates:
            # "the Sporting News article on X published on May 1, and the one on May 9": a
            # clause with a date but no outlet is about the only outlet the question names.
            only = {m.outlets for m in mentions}
            hops.extend(_per_date(text, next(iter(only)) if len(only) == 1 else (), loose_dates))
        if not inside and not seg_dates:
            hops.append(SubQuery(text, (), ()))
    unique = tuple(dict.fromkeys(hops))
    if len(unique) == 1:
        return (SubQuery(question, unique[0].sources, unique[0].dates),)
    return unique
