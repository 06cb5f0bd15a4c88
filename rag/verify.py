"""Verification: does each answer sentence say only what the sentences it cites say?"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from rag.answer import SourceSentence, content_words, markers_in, strip_markers
from rag.types import SentenceCheck

Similarity = Callable[[str, Sequence[str]], list[float]]
Judge = Callable[[str, str], bool]  # (claim, evidence) → supported?

# Cosine between a claim and its evidence below which MiniLM rarely sees a paraphrase.
MIN_SIMILARITY = 0.55
# Share of a claim's content words found in its evidence that counts as a close restatement.
MIN_WORD_RECALL = 0.6
# Uncited claims: sentence pairs tried among this many most similar source sentences.
PAIR_CANDIDATES = 4

_NUM = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?%?")
_YEAR_OR_MONTH = re.compile(
    r"\b(?:19|20)\d{2}\b|\b(?:January|February|March|April|May|June|July|August|September|"
    r"October|November|December)\b"
)
_NEG = re.compile(r"\b(?:not|no|never|none|neither|nor|without|denied|denies|n't)\b|n't\b", re.I)
# Words after a negation that it governs ("did not adequately protect her hedge fund").
NEGATION_SCOPE = 5
_NOT_ONLY = re.compile(r"\bnot only\b", re.I)
_ANSWER_NO = re.compile(r"^\s*no\s*,", re.I)
_CAP = re.compile(r"\b[A-Z][a-zA-Z]{2,}\b")
_DIRECT = re.compile(r"^(?:yes|no)\b[.!]?$", re.I)
_NUMBER_WORDS = {
    "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
    "seven": "7", "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12",
}  # fmt: skip


@dataclass(frozen=True)
class Verified:
    """A checked answer: its text (unsupported sentences marked or dropped) and the verdicts."""

    text: str
    checks: tuple[SentenceCheck, ...]
    cited: dict[int, bool]  # marker number → verified
    supported: bool  # at least one claim is supported


def numbers(text: str) -> set[str]:
    out = {m.group(0).rstrip("%").replace(",", "") for m in _NUM.finditer(text)}
    out |= {v for k, v in _NUMBER_WORDS.items() if re.search(rf"\b{k}\b", text, re.I)}
    return {n for n in out if n}


def check_claim(
    claim: str,
    evidence: Sequence[str],
    context: str,
    similarity: Similarity,
    *,
    published: Sequence[datetime] = (),
) -> tuple[bool, float, str]:
    """(supported, score, reason) for one claim against its cited sentences; `context` (titles,
    outlets, dates of the cited articles) may supply names and dates but never numbers, and
    `published` (the cited articles' dates) may be named in full by the claim."""
    if not evidence:
        return False, 0.0, "cites no source sentence"
    joined = " ".join(evidence)
    # "The Age reported on November 7, 2023, ..." names the cited article's date: its day is
    # not a figure the sentence must contain. The day never vouches for other numbers.
    dated = claim
    for day in published:
        dated = re.sub(
            rf"\b{day:%B} {day.day}(?:st|nd|rd|th)?\b(?:,? {day.year}\b)?", f"{day:%B %Y}", dated
        )
    missing = numbers(dated) - numbers(joined) - numbers(context)
    if missing:
        return False, 0.0, f"number {sorted(missing)[0]} is not in the cited sentence(s)"
    for token in _YEAR_OR_MONTH.findall(claim):
        if token not in joined and token not in context:
            return False, 0.0, f"date {token!r} is not in the cited sentence(s)"
    if _negation_differs(claim, joined):
        return False, 0.0, "negation differs from the cited sentence(s)"
    # Capitalised words are names, except the claim's first word.
    names = {m.group(0) for m in _CAP.finditer(claim) if m.start() > 0}
    lower = (joined + " " + context).lower()
    unknown = [n for n in names if n.lower() not in lower]
    if unknown and len(unknown) / max(1, len(names)) > 0.34:
        return False, 0.0, f"{unknown[0]!r} is not in the cited sentence(s)"
    sims = similarity(claim, [*evidence, joined] if len(evidence) > 1 else list(evidence))
    best = max(sims) if sims else 0.0
    words = content_words(claim)
    recall = len(words & content_words(joined + " " + context)) / max(1, len(words))
    if best >= MIN_SIMILARITY or recall >= MIN_WORD_RECALL:
        return True, max(best, recall), ""
    return False, max(best, recall), "the cited sentence(s) do not say this"


def _negated(text: str) -> list[set[str]]:
    """The content words each negation in a text governs: the few words after it ("not only
    ... but also" is no negation, nor is an opening "No," that answers a yes/no question)."""
    text = _NOT_ONLY.sub(" ", _ANSWER_NO.sub("", text))
    return [
        content_words(" ".join(text[m.end() :].split()[:NEGATION_SCOPE]))
        for m in _NEG.finditer(text)
    ]


def _negation_differs(claim: str, evidence: str) -> bool:
    """Whether the claim negates what the evidence states, or states what it negates.

    A negation on one side is matched when the other side negates some of the same words.
    An unmatched one in the claim ("X did not win") always differs; one in the evidence
    only when the claim speaks of what it negates ("did not adequately protect her fund" ->
    "adequately protected her fund"), not when it is about something else in the sentence
    ("While not trained as an engineer, Altman ..." supports a claim about Altman's fame).
    """
    said, cited = _negated(claim), _negated(evidence)
    if any(not any(words & other for other in cited) for words in said):
        return True
    claim_words = content_words(_ANSWER_NO.sub("", claim))
    return any(words & claim_words and not any(words & other for other in said) for words in cited)


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


def _names_missing(claim: str, cited: Sequence[SourceSentence]) -> bool:
    """Whether a name of the claim (capitalised, not its first word) is in none of them."""
    text = " ".join(f"{s.sentence.text} {_context(s)}" for s in cited).lower()
    return any(m.group(0).lower() not in text for m in _CAP.finditer(claim) if m.start() > 0)


def _add_markers(sentence: str, ns: Sequence[int]) -> str:
    """'... authorities.' → '... authorities [3][5].'"""
    text = sentence.rstrip()
    marks = "".join(f"[{n}]" for n in ns)
    if text and text[-1] in ".!?":
        return f"{text[:-1]} {marks}{text[-1]}"
    return f"{text} {marks}"


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
    for raw in answer_sentences:
        claim = strip_markers(raw)
        nums = [n for n in markers_in(raw) if n in sources]
        if not claim:
            continue
        if _DIRECT.match(claim) and not nums:
            checks.append(SentenceCheck(raw, (), True, 1.0, "direct answer"))
            kept.append(raw)
            continue
        if not nums:
            # Small models often write a true sentence and forget its [n]: cite the source
            # sentence that supports it, if one passes the same checks; else it stays uncited.
            nums = _find_support(claim, sources, similarity)
            if nums:
                raw = _add_markers(raw, nums)
        evidence = [sources[n].sentence.text for n in nums]
        context = " ".join(_context(sources[n]) for n in nums)
        published = _published([sources[n] for n in nums])
        ok, score, reason = check_claim(claim, evidence, context, similarity, published=published)
        if ok and judge is not None and not judge(claim, " ".join(evidence)):
            ok, reason = False, "the judge model found no support"
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
