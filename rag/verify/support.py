"""Verification of an answer: each of its sentences checked against the source sentences it
cites; an uncited true sentence gets the citation that supports it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from rag.answer.markers import add_markers, markers_in, strip_markers
from rag.answer.sources import SourceSentence
from rag.question.outlets import outlet_mentions
from rag.types import SentenceCheck
from rag.verify.claims import CAP, Judge, Similarity, check_claim
from rag.words import content_words

# Uncited claims: sentence pairs tried among this many most similar source sentences.
PAIR_CANDIDATES = 4
# A bare "Yes." / "No.": the direct answer to a yes/no question, standing on what follows.
DIRECT = re.compile(r"^(?:yes|no)\b[.!]?$", re.I)
# A run of markers standing together ("[1][2]") closes one clause.
_MARKER_RUN = re.compile(r"(?:\s*\[\d+\])+")


@dataclass(frozen=True)
class Verified:
    """A checked answer: its text (unsupported sentences marked or dropped) and the verdicts."""

    text: str
    checks: tuple[SentenceCheck, ...]
    cited: dict[int, bool]  # marker number → verified
    supported: bool  # at least one claim is supported


def _context(source: SourceSentence) -> str:
    a = source.article
    return (
        f"{a.title} {a.source} {a.published_at:%B %Y}"
        if a.published_at
        else f"{a.title} {a.source}"
    )


def _published(cited: Sequence[SourceSentence]) -> list[datetime]:
    return [s.article.published_at for s in cited if s.article.published_at is not None]


def _find_support(
    claim: str, sources: dict[int, SourceSentence], similarity: Similarity
) -> list[int]:
    """The source sentence(s) that support an uncited claim and pass the checks, else [].

    One sentence first; then two from different articles, because a comparison claim ("A
    reported X, and B reported Y") is stated by no single report but by one from each.
    """
    numbers_ = list(sources)
    sims = similarity(claim, [sources[n].sentence.text for n in numbers_])
    ranked = [n for _sim, n in sorted(zip(sims, numbers_, strict=True), reverse=True)]
    single: list[int] = []
    for n in ranked[:2]:
        ok, _score, _reason = check_claim(
            claim,
            [sources[n].sentence.text],
            _context(sources[n]),
            similarity,
            published=_published([sources[n]]),
        )
        if ok:
            if not _names_missing(claim, [sources[n]]):
                return [n]
            # It passed, but names in the claim are not in it: another report may hold them.
            single = single or [n]
    top = ranked[:PAIR_CANDIDATES]
    for i, a in enumerate(top):
        for b in top[i + 1 :]:
            if sources[a].article.id == sources[b].article.id:
                continue
            pair = sorted((a, b))
            ok, _score, _reason = check_claim(
                claim,
                [sources[n].sentence.text for n in pair],
                " ".join(_context(sources[n]) for n in pair),
                similarity,
                published=_published([sources[n] for n in pair]),
            )
            # Each sentence must carry part of the claim (no passenger citations), and a pair
            # replaces a passing single sentence only when it holds all the claim's names.
            carried = all(
                content_words(claim) & content_words(sources[n].sentence.text) for n in pair
            )
            if (ok and carried) and (
                not single or not _names_missing(claim, [sources[n] for n in pair])
            ):
                return pair
    return single


def _clauses(raw: str) -> dict[int, tuple[str, tuple[int, ...]]]:
    """Marker number → (the words its run of markers closes, the run's numbers), for a
    sentence whose markers stand after two or more clauses of their own ("Google ranks
    results [1], and was sued [2]."); empty when they all close the sentence together."""
    runs: list[tuple[str, tuple[int, ...]]] = []
    last = 0
    for m in _MARKER_RUN.finditer(raw):
        runs.append((raw[last : m.start()], tuple(markers_in(m[0]))))
        last = m.end()
    if sum(1 for text, _nums in runs if content_words(text)) < 2:
        return {}
    return {n: (text.strip(" ,;:"), nums) for text, nums in runs for n in nums}


def _names_missing(claim: str, cited: Sequence[SourceSentence]) -> bool:
    """Whether a name of the claim (capitalised, not its first word) is in none of them."""
    text = " ".join(f"{s.sentence.text} {_context(s)}" for s in cited).lower()
    return any(m.group(0).lower() not in text for m in CAP.finditer(claim) if m.start() > 0)


def _outlets_uncited(
    claim: str, cited: Sequence[SourceSentence], shown: Sequence[str]
) -> list[str]:
    """The outlets of the shown sentences (`shown`) that the claim names ("The TechCrunch
    article agrees ...") while citing none of their sentences: what an outlet says is shown
    by its own sentences, not another outlet's."""
    by = {s.article.source for s in cited}
    return [
        m.outlets[0]
        for m in outlet_mentions(claim, shown)
        if not any(outlet in by for outlet in m.outlets)
    ]


def verify(
    answer_sentences: Sequence[str],
    sources: dict[int, SourceSentence],
    similarity: Similarity,
    *,
    judge: Judge | None = None,
    mode: str = "flag",
) -> Verified:
    """Check every answer sentence; in `drop` mode unsupported sentences are removed.

    A bare "Yes." / "No." opener carries no citation of its own: it stands when a later
    sentence is supported.
    """
    checks: list[SentenceCheck] = []
    cited: dict[int, bool] = {}
    kept: list[str] = []
    shown = tuple(sorted({s.article.source for s in sources.values()}))
    for raw in answer_sentences:
        claim = strip_markers(raw)
        nums = [n for n in markers_in(raw) if n in sources]
        if not claim:
            continue
        if DIRECT.match(claim) and not nums:
            checks.append(SentenceCheck(raw, (), True, 1.0, "direct answer"))
            kept.append(raw)
            continue
        if not nums:
            # Small models often write a true sentence and forget its [n]: cite the source
            # sentence that supports it, if one passes the same checks; else it stays uncited.
            nums = _find_support(claim, sources, similarity)
            if nums:
                raw = add_markers(raw, nums)
        evidence = [sources[n].sentence.text for n in nums]
        context = " ".join(_context(sources[n]) for n in nums)
        published = _published([sources[n] for n in nums])
        ok, score, reason = check_claim(claim, evidence, context, similarity, published=published)
        uncited = _outlets_uncited(claim, [sources[n] for n in nums], shown) if ok and nums else []
        if uncited:
            ok, reason = False, f"it names {uncited[0]} but cites none of its sentences"
        if ok and judge is not None and not judge.supports(claim, evidence):
            ok, reason = False, "the judge model found no support"
        clauses = _clauses(raw)
        for n in nums:
            # A citation is verified when its sentence is supported and it adds to the
            # support (a citation to an unrelated sentence stays unverified).
            alone = ok and (
                len(nums) == 1
                or check_claim(
                    claim, [sources[n].sentence.text], context, similarity, published=published
                )[0]
                or bool(content_words(claim) & content_words(sources[n].sentence.text))
            )
            if alone and n in clauses:
                # A marker after a clause of its own vouches for that clause: the sentence as
                # a whole may be carried by its other citations.
                clause, run = clauses[n]
                own = [sources[m] for m in run if m in sources]
                alone = check_claim(
                    clause,
                    [s.sentence.text for s in own],
                    " ".join(_context(s) for s in own),
                    similarity,
                    published=_published(own),
                )[0]
            cited[n] = cited.get(n, False) or alone
        checks.append(SentenceCheck(raw, tuple(nums), ok, score, reason))
        if ok or mode == "flag":
            kept.append(raw)
    supported = any(c.supported and c.citations for c in checks)
    # A direct "Yes."/"No." with nothing supported after it stands on nothing.
    if not supported:
        checks = [
            SentenceCheck(
                c.text, c.citations, False, c.score, c.reason or "nothing after it is supported"
            )
            if c.reason == "direct answer"
            else c
            for c in checks
        ]
    return Verified(" ".join(kept), tuple(checks), cited, supported)
