"""Date phrases in a question: relation words ("before", "since", "in late"), pairs and
ranges around the date expressions, as DateRanges."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from rag.clock import aware
from rag.question.date_atoms import add_months, calendar_atom, date_atoms
from rag.question.types import FAR_FUTURE, FAR_PAST, DateRange

# What stands right before a date and changes its meaning ("before", "in late", "since").
_LEAD = re.compile(
    r"(?:\b(?P<rel>between|from|before|prior\s+to|until|till|through|after|since|following"
    r"|later\s+than|earlier\s+than|on|in|during|of|published|dated|last)\s+)?"
    r"(?:(?:the\s+)?(?P<part>early|mid|middle\s+of|late|end\s+of|start\s+of|beginning\s+of)"
    r"(?:\s+|-))?(?P<the>the\s+)?$",
    re.IGNORECASE,
)
RELATIONS = {
    "before": "before", "prior to": "before", "until": "before", "till": "before",
    "through": "before", "earlier than": "before", "ahead of": "before",
    "after": "after", "since": "after", "following": "after", "later than": "after",
    "between": "between", "from": "between",
}  # fmt: skip
_PAIR_JOIN = re.compile(r"\s*,?\s*(?:and|to|until|till|through|[-–])\s+(?:the\s+)?", re.I)
_YEAR_JOIN = re.compile(r"\s*(?:,|and|or|to|through|[-–])\s*(?:,|and|or)?\s*", re.I)
_PARTABLE = {"mon", "my", "year"}  # kinds that "early" / "mid" / "late" can narrow
_THE_BEFORE = re.compile(r"\bthe\s+$", re.IGNORECASE)
_AND = re.compile(r"\s*,?\s*(?:and|but)\s+", re.IGNORECASE)
_NAME_AFTER = re.compile(r"\s+(?-i:[A-Z])[a-z]")
_WEEKDAY_CUES = {"from", "since", "before", "after", "until", "published", "dated"}
_REPORT_ON = re.compile(
    r"\b(?:report|reported|article|story|piece|review|published|posted|wrote|said|announced"
    r"|ran)\s+$",
    re.IGNORECASE,
)
_MONTH_CUES = {"on", "in", "during", "of", "published", "dated", "last"} | set(RELATIONS)


def _lead(question: str, start: int) -> tuple[int, str | None, str | None]:
    """Where the date phrase really starts, its relation word and its part ("early", "late")."""
    window_start = max(0, start - 40)
    m = _LEAD.search(question, window_start, start)
    if m is None or m.start() == m.end():
        return start, None, None
    rel = " ".join(m.group("rel").lower().split()) if m.group("rel") else None
    part = m.group("part").lower().split()[0] if m.group("part") else None
    if rel is None and part is None:
        return start, None, None
    if part is None and m.group("the"):
        # "in the January 2022 unrest": the date describes a noun; "in the" stays in the text.
        return start, rel, None
    return m.start() if rel else m.start("part"), rel, part


def _apply_part(lo: datetime, hi: datetime, part: str | None) -> tuple[datetime, datetime]:
    """Approximate thirds: days 1-10 / 11-20 / 21-end of a month, Jan-Apr / May-Aug / Sep-Dec."""
    if part is None:
        return lo, hi
    key = {"middle": "mid", "end": "late", "start": "early", "beginning": "early"}.get(part, part)
    third = {"early": 0, "mid": 1, "late": 2}[key]
    if hi - lo <= timedelta(days=31):
        start = lo + timedelta(days=10 * third)
        return start, (start + timedelta(days=10) if third < 2 else hi)
    return add_months(lo, 4 * third), add_months(lo, 4 * third + 4)


def _weekday_names_a_report(question: str, start: int, rel: str | None) -> bool:
    """ "the report from Tuesday", "published on Monday": a weekday that dates a report.

    Other weekdays ("the Sunday game", "a news conference on Monday") happen inside a story
    and say nothing about when it was published.
    """
    if rel == "on":
        return _REPORT_ON.search(question, max(0, start - 40), start) is not None
    return rel in _WEEKDAY_CUES and not _THE_BEFORE.search(question, max(0, start - 5), start)


def date_mentions(question: str, as_of: datetime) -> list[tuple[int, int, DateRange]]:
    """Each date phrase of the question with its span, resolved against as_of."""
    as_of = aware(as_of)
    found = date_atoms(question, as_of)
    out: list[tuple[int, int, DateRange]] = []
    i = 0
    while i < len(found):
        atom, m = found[i]
        # A missing year comes from the next date when they are joined ("October 1 and 15, 2023").
        if atom.yearless and i + 1 < len(found):
            nxt = found[i + 1][0]
            gap = question[atom.end : nxt.start]
            if not nxt.yearless and nxt.month is not None and _YEAR_JOIN.fullmatch(gap):
                redone = calendar_atom(m, atom.kind, as_of, year_hint=nxt.lo.year)
                if redone is not None:
                    atom = redone
        start, rel, part = _lead(question, atom.start)
        if atom.kind == "mon" and (
            (rel not in _MONTH_CUES and part is None) or _NAME_AFTER.match(question, atom.end)
        ):
            i += 1  # a bare month name is not a date, nor a name ("of August Wilson's plays")
            continue
        if (
            atom.kind == "wd"
            and not m.group("wd_last")
            and not _weekday_names_a_report(question, start, rel)
        ):
            i += 1  # "Black Friday", "his news conference on Monday": a day inside the story
            continue
        lo, hi = (
            _apply_part(atom.lo, atom.hi, part) if atom.kind in _PARTABLE else (atom.lo, atom.hi)
        )
        default = "on" if atom.day else ("between" if atom.kind == "mdd" else "in")
        relation = RELATIONS.get(rel or "", default)
        end = atom.end
        if rel in ("between", "from"):
            pair = None
            if i + 1 < len(found):
                nxt = found[i + 1][0]
                join = _PAIR_JOIN.match(question, atom.end)
                if join and join.end() == nxt.start:
                    pair = nxt
            if pair is None:  # "the report from Tuesday" is about that day
                relation = default
            else:
                if atom.yearless and pair.lo < lo:  # "between December 20 and January 5"
                    redone = calendar_atom(m, atom.kind, as_of, year_hint=pair.lo.year - 1)
                    lo = redone.lo if redone else lo
                hi, end = pair.hi, pair.end
                i += 1
        if relation == "before":
            lo, hi = FAR_PAST, hi if rel in ("until", "till", "through") else lo
        elif relation == "after":
            lo, hi = (lo if rel in ("since", "from") else hi), FAR_FUTURE
        prev = out[-1][2] if out else None
        if (
            prev is not None
            and prev.relation == "after"
            and relation == "before"
            and _AND.fullmatch(question, out[-1][1], start)
            and prev.start < hi
        ):  # "after October 4 and before November 1": one range
            first = out.pop()
            rng = DateRange(prev.start, hi, question[first[0] : end], "between")
            out.append((first[0], end, rng))
        else:
            out.append((start, end, DateRange(lo, hi, question[start:end], relation)))
        i += 1
    return out


def parse_dates(question: str, as_of: datetime) -> tuple[DateRange, ...]:
    """The dates and ranges a question names, resolved against as_of (naive means UTC)."""
    return tuple(r for _, _, r in date_mentions(question, as_of))
