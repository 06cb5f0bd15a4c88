"""Citation markers in answer text: [n] parsed, normalised, added, stripped and renumbered."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

# What a draft answer says when the sources do not answer the question (the prompts ask the
# model for it; the extractive answerer returns it).
ABSTAIN_TOKEN = "INSUFFICIENT"
_MARKER = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
# Markers set after a sentence's full stop ("… in 2025. [5] Next …", a common style): they
# belong to that sentence, not to the next one the splitter would give them to. Only where a
# new sentence (or the end) follows, so "the U.S. [2] officials" is left alone.
_AFTER_STOP = re.compile(
    r"(?<=\S)([.!?][\"”’)]*)[ \t]*((?:\[\d+\])+)(?=[ \t\n]+[\"“‘(]?[A-Z0-9]|[ \t\n]*$)"
)


def parse_markers(text: str, valid: set[int]) -> tuple[str, list[int]]:
    """Normalise [1, 2] to [1][2], drop markers outside `valid`; return text and cited numbers
    in order of first appearance."""
    cited: list[int] = []

    def repl(m: re.Match[str]) -> str:
        nums = [int(x) for x in re.split(r"\s*[,;]\s*", m.group(1))]
        keep = [n for n in nums if n in valid]
        for n in keep:
            if n not in cited:
                cited.append(n)
        return "".join(f"[{n}]" for n in keep)

    out = _AFTER_STOP.sub(r" \2\1", _MARKER.sub(repl, text))
    out = re.sub(r"[ \t]+([.,;:!?])", r"\1", out)
    return re.sub(r"[ \t]{2,}", " ", out).strip(), cited


def markers_in(text: str) -> list[int]:
    return [int(x) for m in _MARKER.finditer(text) for x in re.split(r"\s*[,;]\s*", m.group(1))]


def strip_markers(text: str) -> str:
    """The text without its [n] markers (and the space before each)."""
    return re.sub(r"\s+([.,;:!?])", r"\1", re.sub(r"\s*" + _MARKER.pattern, "", text)).strip()


def add_markers(sentence: str, ns: Sequence[int]) -> str:
    """'... authorities.' → '... authorities [3][5].'"""
    text = sentence.rstrip()
    marks = "".join(f"[{n}]" for n in ns)
    if text and text[-1] in ".!?":
        return f"{text[:-1]} {marks}{text[-1]}"
    return f"{text} {marks}"


def numbering(text: str, known: Collection[int]) -> dict[int, int]:
    """Old marker → new number, 1..n in order of first appearance in the answer."""
    order: dict[int, int] = {}
    for m in re.finditer(r"\[(\d+)\]", text):
        n = int(m.group(1))
        if n in known and n not in order:
            order[n] = len(order) + 1
    return order


def renumber(text: str, order: dict[int, int]) -> str:
    """Rewrite markers with the answer's numbering; markers it does not know go."""

    def repl(m: re.Match[str]) -> str:
        n = int(m.group(1))
        return f"[{order[n]}]" if n in order else ""

    return re.sub(r"\[(\d+)\]", repl, text)
