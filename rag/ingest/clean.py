"""Cleaning: a reader's RawArticle → tidy body text (no wraps, no boilerplate) and tidy metadata."""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass, replace
from typing import Literal

from rag.clock import aware
from rag.errors import InputError
from rag.ingest.dates import parse_date
from rag.ingest.sentences import split_sentences
from rag.types import RawArticle

# ---------------------------------------------------------------------------------------------
# Boilerplate: what newsrooms and aggregators append to articles. One rule per line of thought.
#   "cut":  the match and everything after it go (disclaimer blocks end the useful text)
#   "drop": only the matched span goes (ids and credits glued to real sentences)
#   "para": the whole paragraph goes, when it starts with the match and is short (promos)
# Rules run on the unwrapped text, one paragraph at a time for "para".
# ---------------------------------------------------------------------------------------------

Action = Literal["cut", "drop", "para"]


@dataclass(frozen=True)
class BoilerplateRule:
    pattern: re.Pattern[str]
    action: Action
    why: str


def _rule(pattern: str, action: Action, why: str, *, case: bool = False) -> BoilerplateRule:
    return BoilerplateRule(re.compile(pattern, 0 if case else re.IGNORECASE), action, why)


_SOCIAL = (
    r"(?:Twitter|X|Facebook|Instagram|LinkedIn|Telegram|WhatsApp|Google News|Threads|YouTube"
    r"|TikTok)"
)

BOILERPLATE: tuple[BoilerplateRule, ...] = (
    _rule(r"\bLegal Disclaimer:", "cut", "MENAFN's disclaimer block closes every syndicated item"),
    _rule(
        r"\bMENAFN\d{6,}ID\d+\b",
        "drop",
        "MENAFN provider ids: MENAFN03012024000187011040ID1107680885",
    ),
    _rule(
        r"\bStay up to date with (?:more|the latest) news on .{0,80}?"
        rf"{_SOCIAL}(?: channel)?\b\.?",
        "drop",
        "Trend/MENAFN promo for their messaging channels",
    ),
    _rule(
        r"\((?:Reporting|Additional reporting|Writing|Compiled|Editing) by [^()]*\)",
        "drop",
        "Reuters-style credit line: (Reporting by ...; Editing by ...)",
    ),
    _rule(r"\bAll rights reserved\b\.?", "drop", "rights notices glued to a line", case=True),
    _rule(r"(?:Reporting|Additional reporting|Writing|Editing) by\b", "para", "credit paragraphs"),
    _rule(r"(?:©|\(c\)\s*\d{4}|Copyright\s*(?:©|\(c\))?\s*\d{4})", "para", "copyright lines"),
    _rule(rf"(?:Follow|Like|Join) (?:\S+ ){{0,5}}on {_SOCIAL}\b", "para", "social promos"),
    _rule(r"(?:Subscribe\b|Sign up (?:for|to|now|here|today)\b)", "para", "newsletter promos"),
    _rule(r"(?:Click here|Tap here|Download (?:the|our) )", "para", "calls to action"),
    _rule(r"(?:Read more|Read also|Also read|Related|See also|More on this)\s*:", "para", "links"),
    _rule(r"(?:Advertisement|Sponsored content|Share this article)\s*$", "para", "page furniture"),
    _rule(r"Disclaimer:", "para", "disclaimer paragraphs (the rest of the article stays)"),
    _rule(
        r"This (?:story|article) (?:has been|was) (?:published|generated|auto-generated) from "
        r"an? (?:wire agency|syndicated) feed",
        "para",
        "aggregator notes about syndication",
    ),
)

_PARA_RULE_MAX_CHARS = 300  # a promo is short; a long paragraph starting "Subscribe" is news


def drop_boilerplate(paragraphs: list[str]) -> list[str]:
    """Remove boilerplate by the table above; paragraphs are already unwrapped single lines."""
    text = "\n\n".join(paragraphs)
    for rule in BOILERPLATE:
        if rule.action == "cut":
            match = rule.pattern.search(text)
            if match:
                text = text[: match.start()]
        elif rule.action == "drop":
            text = rule.pattern.sub("", text)
    kept = []
    for para in text.split("\n\n"):
        para = re.sub(r"[ \t]{2,}", " ", para).strip()
        if not para:
            continue
        if len(para) <= _PARA_RULE_MAX_CHARS and any(
            r.action == "para" and r.pattern.match(para) for r in BOILERPLATE
        ):
            continue
        kept.append(para)
    return kept


# ---------------------------------------------------------------------------------------------
# Whitespace and hard wraps
# ---------------------------------------------------------------------------------------------

_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"))  # soft hyphen, ZW*
# Control characters (C0 but line breaks and tabs, DEL, C1) are never part of news text: a
# file or JSON escape carrying them would otherwise store bells and NULs in what users read.
_INVISIBLE.update(
    dict.fromkeys(c for c in [*range(0x20), *range(0x7F, 0xA0)] if chr(c) not in "\n\r\t\f")
)
_INVISIBLE[0x85] = "\n"  # NEL, a line break in some old mainframe and EBCDIC-born text
_TERMINAL = (".", "!", "?", '"', "”", "…")
_BULLET = re.compile(r"^(?:[-*•–—]\s|\d{1,2}[.)]\s)")


def normalise_text(text: str) -> str:
    """Unicode NFC, one kind of newline, no invisible or control characters, tabs and odd
    spaces as spaces."""
    text = unicodedata.normalize("NFC", text).translate(_INVISIBLE)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n")
    text = text.replace("\u2029", "\n\n")
    return re.sub(r"[^\S\n]+", " ", text)  # NBSP, tabs, thin spaces → one space


def _first_word(line: str) -> str:
    return line.split(" ", 1)[0]


def _is_hard_wrapped(blocks: list[list[str]]) -> tuple[bool, int]:
    """Whether lines were broken at a fixed width, and that width (90th percentile)."""
    inner = [line for block in blocks for line in block[:-1]]  # lines that have a successor
    if len(inner) < 2:
        return False, 0
    lengths = sorted(len(line) for line in inner)
    width = lengths[int(0.9 * (len(lengths) - 1))]
    ending = sum(1 for line in inner if line.endswith(_TERMINAL))
    # Wrapped copy breaks mostly mid-sentence; one-paragraph-per-line text breaks after a full stop.
    return width <= 150 and ending / len(inner) < 0.5, max(width, 30)


def _paragraph_ends(line: str, nxt: str, width: int) -> bool:
    """Whether the break between two lines of wrapped copy is a real paragraph end.

    Greedy wrapping puts a word on the next line only when it does not fit, so a break where
    the next word would have fitted is the author's. Only trusted when the line looks like an
    ending (final punctuation, or a short heading-like line) and the next line like a start.
    """
    if _BULLET.match(nxt) or nxt.startswith(("  ", "\t")):
        return True
    starts = nxt[:1].isupper() or nxt[:1].isdigit() or nxt[:1] in "\"“‘'(["
    if not starts:
        return False
    fits = len(line) + 1 + len(_first_word(nxt.lstrip())) <= width
    return fits and (line.endswith(_TERMINAL) or len(line) < 0.6 * width)


def split_paragraphs(text: str, *, unwrap: bool) -> list[str]:
    """Paragraphs as single lines. Blank lines always separate paragraphs; single newlines are
    undone where the text is hard-wrapped (when `unwrap`), else they separate paragraphs too."""
    blocks: list[list[str]] = []
    for chunk in re.split(r"\n\s*\n", text):
        lines = [line.rstrip() for line in chunk.split("\n") if line.strip()]
        if lines:
            blocks.append(lines)
    wrapped, width = _is_hard_wrapped(blocks) if unwrap else (False, 0)
    paragraphs: list[str] = []
    for lines in blocks:
        current = lines[0].strip()
        for prev, nxt in itertools.pairwise(lines):
            if wrapped:
                ends = _paragraph_ends(prev.strip(), nxt, width)
            else:  # one paragraph per line, unless a line plainly stops mid-sentence
                ends = prev.endswith(_TERMINAL) or not nxt.strip()[:1].islower()
            if ends:
                paragraphs.append(current)
                current = nxt.strip()
            elif re.search(r"[^\W\d_]-$", current) and nxt.strip()[:1].islower():
                current += nxt.strip()  # "anti-\nterrorist": keep the hyphen, lose the break
            else:
                current += " " + nxt.strip()
        paragraphs.append(current)
    return [re.sub(r" {2,}", " ", p).strip() for p in paragraphs if p.strip()]


# ---------------------------------------------------------------------------------------------
# Provider tags and datelines at the start of the body
# ---------------------------------------------------------------------------------------------

PROVIDER_TAG = re.compile(r"^\s*\(\s*MENAFN\s*-\s*(?P<name>[^)]+?)\s*\)\s*")


def take_provider(body: str) -> tuple[str | None, str]:
    """Split a leading syndication tag "(MENAFN- Trend News Agency)" into (outlet, rest)."""
    match = PROVIDER_TAG.match(body)
    if not match:
        return None, body
    return match.group("name").strip(), body[match.end() :]


_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_PLACE = r"[A-Z][A-Z'’.-]*[A-Z](?:[ -][A-Z][A-Z'’.-]*[A-Z]?)*"  # BAKU, NEW YORK, ST. LOUIS
_PART = rf"(?:{_MONTH} \d{{1,2}}(?:, \d{{4}})?|[A-Z][\w'’.-]*(?: [A-Z][\w'’.-]*){{0,3}})"
_AGENCY = r"\((?P<agency>[A-Z][\w .&-]{1,30})\)"
# "BAKU, Azerbaijan, January 3. During ..." (Trend): a full stop needs at least one part after
# the place, or "IBM. The company ..." would lose its subject.
_DATELINE_DOT = re.compile(rf"^(?P<dl>{_PLACE}(?:, {_PART})+)\.\s+(?=[A-Z\"“‘])")
# "WASHINGTON (Reuters) - ...", "LONDON (AP) — ...", "NEW DELHI: ..."
_DATELINE_DASH = re.compile(
    rf"^(?P<dl>{_PLACE}(?:, {_PART})*)\s*(?:{_AGENCY}\s*)?(?:—|–|--|-|:)\s+(?=\S)"
)
# All-caps lead-ins that are labels, not places.
_NOT_PLACES = frozenset(
    {
        "BREAKING", "UPDATE", "UPDATED", "EXCLUSIVE", "WATCH", "LIVE", "ANALYSIS", "OPINION",
        "COMMENT", "EDITORIAL", "CORRECTION", "SPOILER", "SPOILERS", "WARNING", "NOTE", "PHOTOS",
        "PHOTO", "VIDEO", "LISTEN", "READ", "FACT", "CHECK", "REVIEW", "INTERVIEW", "ALERT",
        "FILE", "TLDR", "FAQ", "Q&A", "PODCAST", "NEWS", "SPONSORED", "AD",
    }
)  # fmt: skip


def take_dateline(body: str) -> tuple[str | None, str | None, str]:
    """Split "BAKU, Azerbaijan, January 3. During ..." into (dateline, agency, rest)."""
    for pattern in (_DATELINE_DOT, _DATELINE_DASH):
        match = pattern.match(body)
        if not match:
            continue
        dateline = match.group("dl").strip()
        first = dateline.split(",")[0]
        if set(first.split()) & _NOT_PLACES or sum(c.isalpha() for c in first) < 3:
            return None, None, body
        agency = match.groupdict().get("agency")
        return dateline, agency, body[match.end() :]
    return None, None, body


# ---------------------------------------------------------------------------------------------
# clean()
# ---------------------------------------------------------------------------------------------

TITLE_MAX = 90


def derive_title(body: str) -> str:
    """A title from the first sentence, cut on a word boundary near TITLE_MAX characters."""
    first_para = body.split("\n\n", 1)[0]
    sentences = split_sentences(first_para)
    title = sentences[0].text if sentences else first_para.strip()
    if len(title) > TITLE_MAX:
        cut = title[: TITLE_MAX + 1].rsplit(" ", 1)[0].rstrip(" ,;:-–—")
        return (cut or title[:TITLE_MAX]) + "…"
    return title.rstrip(".")


def _clean_field(value: str | None) -> str | None:
    if value is None:
        return None
    value = re.sub(r"\s+", " ", normalise_text(value)).strip()
    return value or None


def _same_text(a: str, b: str) -> bool:
    def norm(s: str) -> str:
        return re.sub(r"\W+", " ", s).strip().casefold()

    return norm(a) == norm(b)


def clean(raw: RawArticle) -> RawArticle:
    """Cleaned body (paragraphs joined by a blank line) and normalised metadata.

    Raises InputError when no article text is left. Idempotent: clean(clean(x)) == clean(x).
    """
    body = normalise_text(raw.body)
    source = _clean_field(raw.source)
    provider, body = take_provider(body.lstrip())
    source = source or _clean_field(provider)

    # Hard wraps come with plain-text wire copy (and bodies pasted into JSON); readers of HTML
    # and feeds already separate paragraphs with blank lines.
    paragraphs = split_paragraphs(body, unwrap=raw.fmt in ("text", "json"))
    paragraphs = drop_boilerplate(paragraphs)

    title = _clean_field(raw.title)
    if (
        len(paragraphs) > 1
        and title
        and not paragraphs[0].endswith(".")  # a headline, not a first sentence used as title
        and _same_text(paragraphs[0], title)
    ):
        paragraphs = paragraphs[1:]  # HTML extractors and some text files repeat the headline

    dateline = _clean_field(raw.dateline)
    if paragraphs:
        found, agency, rest = take_dateline(paragraphs[0])
        if found:
            dateline = dateline or found
            source = source or _clean_field(agency)
            paragraphs[0] = rest.strip()
            paragraphs = [p for p in paragraphs if p]

    text = "\n\n".join(paragraphs)
    if not text:
        raise InputError(raw.origin, "no article text left after removing boilerplate")

    published = raw.published_at
    if isinstance(published, str):  # tolerate readers written by others that pass strings
        published = parse_date(published, raw.origin)
    elif published is not None:
        published = aware(published)

    author = _clean_field(raw.author)
    if author is not None and author.casefold() in ("none", "null", "unknown", "n/a"):
        author = None

    return replace(
        raw,
        body=text,
        title=title or derive_title(text),
        source=source or "unknown",
        published_at=published,
        url=_clean_field(raw.url),
        author=author,
        dateline=dateline,
        category=_clean_field(raw.category),
    )
