"""Reports as points in time: "before the Reuters report" → an anchor retrieval resolves."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.question.dates import RELATIONS
from rag.question.hops import content_word_count
from rag.question.outlets import Mention
from rag.question.types import ReportAnchor

# "before the Reuters report", "after The Verge's article", "since TechCrunch reported":
# the words around a stored outlet's name that make it a point in time.
_ANCHOR_LEAD = re.compile(
    r"\b(?P<rel>before|after|prior\s+to|following|since|ahead\s+of|until)\s+"
    r"(?:the\s+|an?\s+)?(?:(?:first|earlier|later|latest|last|recent)\s+)?['\"“‘]?$",
    re.IGNORECASE,
)
_ANCHOR_TAIL = re.compile(
    r"['\"”’]?(?:['’]s)?\s+(?:(?:first|earlier|later|latest|recent)\s+)?"
    r"(?:articles?|reports?|pieces?|coverage|story|stories|reported|wrote|published|said"
    r"|announced|broke)\b",
    re.IGNORECASE,
)
_CLAUSE_END = re.compile(r"[,;:?!]|\s+(?:and|but|while|whereas)\s+")


def report_anchors(
    question: str, mentions: Sequence[Mention], wants_short_answer: str | None
) -> tuple[ReportAnchor, ...]:
    """Reports the question uses as a point in time ("What did Bloomberg say about it before
    the Reuters report?"). A yes/no question is left out: "Did the Verge report it before the
    TechCrunch article?" asks about the order, so the order must not steer what is found."""
    if wants_short_answer == "yesno":
        return ()
    out: list[ReportAnchor] = []
    for m in mentions:
        lead = _ANCHOR_LEAD.search(question, 0, m.start)
        tail = _ANCHOR_TAIL.match(question, m.end)
        if lead is None or tail is None:
            continue
        rel = " ".join(lead.group("rel").lower().split())
        # What the anchor report is about: the words after its name up to the clause's end
        # ("the Reuters report on the layoffs"), else the whole question ("... before the
        # Reuters report?").
        stop = _CLAUSE_END.search(question, tail.end())
        rest = question[tail.end() : stop.start() if stop else len(question)]
        text = question[m.start : tail.end()] + rest if content_word_count(rest) else question
        phrase = question[lead.start() : tail.end()].strip()
        out.append(ReportAnchor(RELATIONS[rel], m.outlets, text, phrase))
    return tuple(out)
