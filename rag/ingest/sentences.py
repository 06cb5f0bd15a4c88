"""Sentence splitting with exact character offsets into the cleaned text (text[start:end] == s)."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from functools import cache
from typing import Any

from rag.types import Sentence

_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n\s*")
# pysbd only splits after terminal punctuation (maybe closed by a quote or bracket) followed by
# space, or at a newline: a piece of text with neither inside it is one sentence.
_MAY_SPLIT = re.compile(r"[.!?…][\"'”’)\]]*\s+\S|\n")
# The plainest boundary, "... said. The ...": a full stop right after a lower-case word, then
# space and a capital. Cut there first (see _safe_cuts) so pysbd, which costs ~5 µs a character,
# only reads the stretches that hold something ambiguous.
_PLAIN_STOP = re.compile(r"(?<=[a-z]{2})\.(?=\s+[A-Z])")
_WORDY = re.compile(r"\w")
# A citation must stay a sentence a reader can check: text with no sentence end for longer than
# this (a run-on list, a pasted table, a file without punctuation) is cut at a clause break,
# else at a space, else anywhere. The longest real sentences in news are about half this.
MAX_SENTENCE_CHARS = 1000
_CLAUSE_BREAK = re.compile(r"[;,:)\]]\s|\s[-–—]\s")


class _CachedRe:
    """Stands in for the `re` module inside pysbd and never forgets a compiled pattern.

    pysbd formats a fresh pattern string per abbreviation (hundreds) and per call; the standard
    library keeps only 512 compiled patterns, so it recompiled them over and over; this cache
    makes splitting much faster, with identical output.
    """

    def __init__(self) -> None:
        self._compiled: dict[tuple[str, int], re.Pattern[str]] = {}

    def compile(self, pattern: str | re.Pattern[str], flags: int = 0) -> re.Pattern[str]:
        if isinstance(pattern, re.Pattern):
            return pattern
        key = (pattern, int(flags))
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = re.compile(pattern, flags)
        return compiled

    def sub(self, pattern: Any, repl: Any, string: str, count: int = 0, flags: int = 0) -> str:
        return self.compile(pattern, flags).sub(repl, string, count)

    def subn(
        self, pattern: Any, repl: Any, string: str, count: int = 0, flags: int = 0
    ) -> tuple[str, int]:
        return self.compile(pattern, flags).subn(repl, string, count)

    def findall(self, pattern: Any, string: str, flags: int = 0) -> list[Any]:
        return self.compile(pattern, flags).findall(string)

    def finditer(self, pattern: Any, string: str, flags: int = 0) -> Iterator[re.Match[str]]:
        return self.compile(pattern, flags).finditer(string)

    def search(self, pattern: Any, string: str, flags: int = 0) -> re.Match[str] | None:
        return self.compile(pattern, flags).search(string)

    def match(self, pattern: Any, string: str, flags: int = 0) -> re.Match[str] | None:
        return self.compile(pattern, flags).match(string)

    def fullmatch(self, pattern: Any, string: str, flags: int = 0) -> re.Match[str] | None:
        return self.compile(pattern, flags).fullmatch(string)

    def split(self, pattern: Any, string: str, maxsplit: int = 0, flags: int = 0) -> list[Any]:
        return self.compile(pattern, flags).split(string, maxsplit)

    def __getattr__(self, name: str) -> Any:  # flags, escape, error, Pattern, ...
        return getattr(re, name)


@cache
def _segmenter() -> Any:
    import pysbd

    shim = _CachedRe()
    for name, module in list(sys.modules.items()):
        if name.startswith("pysbd") and getattr(module, "re", None) is re:
            module.re = shim  # type: ignore[attr-defined]
    return pysbd.Segmenter(language="en", clean=False, char_span=False)


def _paragraph_spans(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each paragraph's non-blank content; paragraphs end at a blank line."""
    start = 0
    for match in _PARAGRAPH_BREAK.finditer(text):
        yield from _strip_span(text, start, match.start())
        start = match.end()
    yield from _strip_span(text, start, len(text))


def _strip_span(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    piece = text[start:end]
    stripped = piece.strip()
    if stripped:
        lead = len(piece) - len(piece.lstrip())
        yield start + lead, start + lead + len(stripped)


def _skip_space(text: str, pos: int, end: int) -> int:
    while pos < end and text[pos].isspace():
        pos += 1
    return pos


@cache
def _abbreviations() -> frozenset[str]:
    from pysbd.lang.english import English

    return frozenset(a.strip().lower() for a in English.Abbreviation.ABBREVIATIONS)


def _safe_cuts(text: str, start: int, end: int) -> list[int]:
    """Offsets just after full stops that pysbd would split at too: the word before is letters
    only and not an abbreviation pysbd knows ("Gov.", "vs."), and no quote or bracket is open
    (pysbd keeps a quoted passage whole)."""
    cuts: list[int] = []
    abbreviations = _abbreviations()
    scanned, quotes, curly, brackets = start, 0, 0, 0
    for match in _PLAIN_STOP.finditer(text, start, end):
        stop = match.start()
        between = text[scanned:stop]
        quotes += between.count('"')
        curly += between.count("“") - between.count("”")
        brackets += between.count("(") - between.count(")")
        scanned = stop
        if quotes % 2 or curly or brackets:
            continue
        word_start = max(text.rfind(" ", start, stop), text.rfind("\n", start, stop)) + 1
        word = text[max(word_start, start) : stop]
        if word.isalpha() and word.lower() not in abbreviations:
            cuts.append(stop + 1)
    return cuts


def _segment_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence spans inside text[start:end] (one paragraph), located in the original text."""
    spans: list[tuple[int, int]] = []
    piece_start = start
    for cut in [*_safe_cuts(text, start, end), end]:
        spans.extend(_pysbd_spans(text, piece_start, cut))
        piece_start = _skip_space(text, cut, end)
    return _merge_wordless(spans, text)


def _pysbd_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence spans inside text[start:end] by pysbd, located in the original text.

    pysbd's own char spans re-find each sentence from the paragraph start, so repeated
    sentences get the first one's offsets; and it can alter or drop characters it protects
    internally (a "∯" in the input). So each segment is searched forward from the previous
    end; text that pysbd skipped or altered becomes a sentence of its own, never lost.
    """
    if start >= end:
        return []
    if not _MAY_SPLIT.search(text, start, end):
        return [(start, end)]
    spans: list[tuple[int, int]] = []
    pos = start
    # processor().process() is what segment() runs, minus its char-span pass, which compiles
    # one regex per sentence (re.escape of the sentence) only to locate it; we locate it below.
    for segment in _segmenter().processor(text[start:end]).process():
        piece = segment.strip()
        found = text.find(piece, pos, end) if piece else -1
        if found < 0:
            continue  # altered by pysbd: its text is picked up with the next gap
        spans.extend(_strip_span(text, pos, found))
        spans.append((found, found + len(piece)))
        pos = found + len(piece)
    spans.extend(_strip_span(text, pos, end))
    return spans


def _merge_wordless(spans: list[tuple[int, int]], text: str) -> list[tuple[int, int]]:
    """Attach fragments with no letters or digits (a stray quote mark, "...") to a neighbour."""
    merged: list[tuple[int, int]] = []
    for span in spans:
        wordless = not _WORDY.search(text[span[0] : span[1]])
        if merged and (wordless or not _WORDY.search(text[merged[-1][0] : merged[-1][1]])):
            merged[-1] = (merged[-1][0], span[1])
        else:
            merged.append(span)
    return merged


def _bounded(text: str, start: int, end: int, limit: int) -> Iterator[tuple[int, int]]:
    """text[start:end] as spans of at most `limit` characters, cut at the last clause break
    (else space) in the second half of each window; no character is lost."""
    while end - start > limit:
        window_end = start + limit
        cut = 0
        for match in _CLAUSE_BREAK.finditer(text, start + limit // 2, window_end):
            cut = match.start() + 1
        if not cut:
            cut = text.rfind(" ", start + limit // 2, window_end) + 1 or window_end
        yield from _strip_span(text, start, cut)
        start = _skip_space(text, cut, end)
    yield from _strip_span(text, start, end)


def split_sentences(text: str, *, limit: int = MAX_SENTENCE_CHARS) -> tuple[Sentence, ...]:
    """The sentences of a text, in order, never across a blank line, none over `limit`
    characters (longer ones are cut at clause breaks).

    Each sentence is text[start:end] exactly, with no surrounding white space, and its index
    is its position in the tuple.
    """
    sentences: list[Sentence] = []
    for para_start, para_end in _paragraph_spans(text):
        for span_start, span_end in _segment_spans(text, para_start, para_end):
            for start, end in _bounded(text, span_start, span_end, limit):
                sentences.append(Sentence(len(sentences), start, end, text[start:end]))
    return tuple(sentences)


TokenCounter = Callable[[Sequence[str]], list[int]]
# [CLS] and [SEP], which the model's tokenizer counts once per encoded text.
_SPECIAL_TOKENS = 2
# Below this a piece is not cut again (one long URL or number is one unit, windowed).
_MIN_CUT_CHARS = 40


def fit_window(
    text: str, sentences: Sequence[Sentence], count_tokens: TokenCounter, max_pieces: int
) -> tuple[Sentence, ...]:
    """The sentences, with any longer than `max_pieces` wordpieces (the embedding model's own
    count, without [CLS]/[SEP]) cut at clause breaks, else at a space, until each fits.

    A unit longer than the model's window is embedded as an average of windows (blurred), and
    no passage can hold it, so its evidence could never be shown. Offsets stay exact.
    """
    sizes = [n - _SPECIAL_TOKENS for n in count_tokens([s.text for s in sentences])]
    if all(n <= max_pieces for n in sizes):
        return tuple(replace(s, pieces=n) for s, n in zip(sentences, sizes, strict=True))
    spans: list[tuple[int, int, int]] = []  # (start, end, wordpieces; -1: a cut, not counted)
    for sentence, size in zip(sentences, sizes, strict=True):
        if size <= max_pieces:
            spans.append((sentence.start, sentence.end, size))
        else:
            cut = _fit(text, sentence.start, sentence.end, size, count_tokens, max_pieces)
            spans.extend((a, b, -1) for a, b in cut)
    # Only the cuts are counted again: the other sentences' counts are the ones above.
    recount = iter(count_tokens([text[a:b] for a, b, n in spans if n < 0]))
    return tuple(
        Sentence(i, a, b, text[a:b], n if n >= 0 else next(recount) - _SPECIAL_TOKENS)
        for i, (a, b, n) in enumerate(spans)
    )


def _fit(
    text: str, start: int, end: int, size: int, count_tokens: TokenCounter, max_pieces: int
) -> list[tuple[int, int]]:
    # Characters per wordpiece vary (names, numbers): aim a little under, then check.
    limit = max(_MIN_CUT_CHARS, int((end - start) * max_pieces / size * 0.9))
    pieces = list(_bounded(text, start, end, limit))
    if len(pieces) < 2:
        return pieces
    counts = count_tokens([text[a:b] for a, b in pieces])
    out: list[tuple[int, int]] = []
    for (a, b), n in zip(pieces, counts, strict=True):
        n -= _SPECIAL_TOKENS
        out.extend([(a, b)] if n <= max_pieces else _fit(text, a, b, n, count_tokens, max_pieces))
    return out
