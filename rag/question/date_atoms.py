"""Date expressions, one at a time: "October 7, 2023", "Q3 2023", "last week", "Tuesday"
→ the span of time each names, resolved against the time the question is asked."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from rag.question.outlets import is_lowercase

_MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_MONTHS: dict[str, int] = {name.lower(): i + 1 for i, name in enumerate(_MONTH_NAMES)}
_MONTHS.update({name[:3].lower(): i + 1 for i, name in enumerate(_MONTH_NAMES)})
_MONTHS["sept"] = 9
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "a few": 3, "few": 3, "several": 5, "couple of": 2, "a couple of": 2,
}  # fmt: skip
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4}

_MON = (
    r"(?:january|february|march|april|may|june|july|august|september|october|november|december"
    r"|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)\b\.?"
)
_FULL_MON = (
    r"(?:january|february|march|april|may|june|july|august|september|october|november|december)\b"
)
_DAY = r"[0-3]?\d(?:st|nd|rd|th)?(?![\d:])"
_YEAR = r"(?:1[89]|20)\d\d(?![\d%])"
_COUNT = r"\d+|a\s+few|few|several|(?:a\s+)?couple\s+of|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve"  # noqa: E501
_UNIT = r"days?|weeks?|months?|years?"

# One expression of time per alternative, most specific first (the regex takes the first
# alternative that matches at a position, so "October 7, 2023" wins over "October").
_ATOM = re.compile(
    r"(?<!\w)(?:"
    + "|".join(
        (
            rf"(?P<iso>(?P<iso_y>{_YEAR})[-/](?P<iso_m>[01]?\d)[-/](?P<iso_d>[0-3]?\d)(?!\d))",
            r"(?P<num>(?P<num_a>[01]?\d)/(?P<num_b>[0-3]?\d)/(?P<num_y>\d{4})(?!\d))",
            rf"(?P<mdd>(?P<mdd_m>{_MON})\s+(?P<mdd_a>{_DAY})\s*[-–]\s*(?P<mdd_b>{_DAY})"
            rf"(?:,?\s+(?P<mdd_y>{_YEAR}))?)",
            rf"(?P<mdy>(?P<mdy_m>{_MON})\s+(?:the\s+)?(?P<mdy_d>{_DAY})(?:,?\s+(?P<mdy_y>{_YEAR}))?)",
            rf"(?P<dmy>(?P<dmy_d>{_DAY})\s+(?:of\s+)?(?P<dmy_m>{_MON})(?:,?\s+(?P<dmy_y>{_YEAR}))?)",
            rf"(?P<my>(?P<my_m>{_MON})(?:,?\s+|\s+of\s+)(?P<my_y>{_YEAR}))",
            rf"(?P<qtr>(?:q(?P<qtr_n>[1-4])|(?P<qtr_w>first|second|third|fourth)\s+quarter)"
            rf"(?:,?\s+|\s+of\s+)(?P<qtr_y>{_YEAR}))",
            rf"(?P<span>(?P<span_a>{_YEAR})\s*[-–/]\s*(?P<span_b>(?:1[89]|20)?\d\d)(?![\d%]))",
            rf"(?P<year>{_YEAR})",
            rf"(?P<mon>{_FULL_MON})",
            r"(?P<day>today|yesterday|tonight)\b",
            rf"(?P<lastn>(?:the\s+)?(?:last|past)\s+(?P<lastn_n>{_COUNT})\s+"
            rf"(?P<lastn_u>{_UNIT})\b)",
            r"(?P<this>(?:the\s+)?(?P<this_w>this|last|past|this\s+past)\s+"
            r"(?P<this_u>week|month|year)\b)",
            rf"(?P<ago>(?P<ago_n>{_COUNT})\s+(?P<ago_u>{_UNIT})\s+ago\b)",
            r"(?P<wd>(?:(?P<wd_last>last|this\s+past)\s+)?(?P<wd_d>monday|tuesday|wednesday"
            r"|thursday|friday|saturday|sunday)\b(?!\s+night))",
        )
    )
    + ")",
    re.IGNORECASE,
)

# A four-digit number that counts something is not a year: "over 2000 people", "2022 votes".
_QUANTITY_BEFORE = re.compile(
    r"\b(?:over|about|nearly|than|some|around|approximately|roughly|almost|least|only|just"
    r"|exactly|top|up\s+to|another|additional|extra|total\s+of|number\s+of)\s+$",
    re.IGNORECASE,
)
_COUNTED_AFTER = re.compile(
    r"\s*(?:%|percent|per\s+cent|people|persons|deaths|dead|injuries|injured|jobs|employees"
    r"|workers|users|troops|soldiers|cases|votes|points|yards|shares|units|homes|members"
    r"|customers|fans|miles|kilometers|km|meters|dollars|euros|pounds|tons|tonnes|acres|words"
    r"|pages|times|calories|students|passengers|flights|vehicles|cars|games|matches)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class _Atom:
    start: int  # span of the date words themselves
    end: int
    lo: datetime
    hi: datetime
    day: bool  # a single day (relation "on")
    month: int | None  # month and day as written, to re-resolve with a year found later
    mday: int | None
    yearless: bool  # no year written: resolved to the latest such date not after as_of
    kind: str


def _tz(as_of: datetime) -> tzinfo:
    return as_of.tzinfo or UTC


def add_months(when: datetime, months: int) -> datetime:
    index = when.month - 1 + months
    year, month = when.year + index // 12, index % 12 + 1
    day = min(when.day, _days_in(year, month))
    return when.replace(year=year, month=month, day=day)


def _days_in(year: int, month: int) -> int:
    nxt = datetime(year + month // 12, month % 12 + 1, 1)
    return (nxt - timedelta(days=1)).day


def _count(text: str) -> int:
    text = " ".join(text.lower().split())
    return int(text) if text.isdigit() else _NUMBER_WORDS.get(text, 1)


def _unit_delta(when: datetime, unit: str, n: int) -> datetime:
    """`when` moved back n units (calendar months and years, fixed days and weeks)."""
    unit = unit.lower().rstrip("s")
    if unit == "day":
        return when - timedelta(days=n)
    if unit == "week":
        return when - timedelta(weeks=n)
    if unit == "month":
        return add_months(when, -n)
    return add_months(when, -12 * n)


def _make_day(year: int, month: int, day: int, tz: tzinfo) -> tuple[datetime, datetime] | None:
    try:
        lo = datetime(year, month, day, tzinfo=tz)
    except ValueError:  # "February 30"
        return None
    return lo, lo + timedelta(days=1)


def _make_month(year: int, month: int, tz: tzinfo) -> tuple[datetime, datetime]:
    lo = datetime(year, month, 1, tzinfo=tz)
    return lo, add_months(lo, 1)


def calendar_atom(
    m: re.Match[str], kind: str, as_of: datetime, year_hint: int | None = None
) -> _Atom | None:
    """Dates written with a month name or digits; a missing year is the latest not after as_of."""
    tz = _tz(as_of)
    g = m.group
    month: int | None = None
    mday: int | None = None
    day_b: int | None = None
    year_text: str | None = None
    if kind == "iso":
        year_text, month, mday = g("iso_y"), int(g("iso_m")), int(g("iso_d"))
    elif kind == "num":  # US order unless the first number cannot be a month
        a, b = int(g("num_a")), int(g("num_b"))
        month, mday = (a, b) if a <= 12 else (b, a)
        year_text = g("num_y")
    elif kind in ("mdy", "dmy", "mdd", "my", "mon"):
        month = _MONTHS[g(kind + "_m" if kind != "mon" else "mon").lower().rstrip(".")]
        if kind in ("mdy", "dmy"):
            mday = int(re.sub(r"\D", "", g(kind + "_d")))
        elif kind == "mdd":
            mday = int(re.sub(r"\D", "", g("mdd_a")))
            day_b = int(re.sub(r"\D", "", g("mdd_b")))
        year_text = g(kind + "_y") if kind != "mon" else None
    if month is None or not 1 <= month <= 12:
        return None
    yearless = year_text is None
    year = int(year_text) if year_text else (year_hint or as_of.year)

    def span(y: int) -> tuple[datetime, datetime] | None:
        assert month is not None
        if mday is None:
            return _make_month(y, month, tz)
        first = _make_day(y, month, mday, tz)
        if first is None or day_b is None:
            return first
        last = _make_day(y, month, day_b, tz)
        return (first[0], last[1]) if last and last[1] > first[0] else None

    got = span(year)
    if got and yearless and year_hint is None and got[0] > as_of:
        got = span(year - 1)
    if got is None:
        return None
    return _Atom(
        m.start(), m.end(), got[0], got[1], mday is not None and day_b is None,
        month, mday, yearless, kind,
    )  # fmt: skip


def _relative_atom(m: re.Match[str], kind: str, as_of: datetime) -> _Atom | None:
    tz = _tz(as_of)
    now = as_of.astimezone(tz)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    g = m.group
    day = False
    if kind == "day":
        word = g("day").lower()
        lo = midnight - timedelta(days=1) if word == "yesterday" else midnight
        hi, day = lo + timedelta(days=1), True
    elif kind == "lastn":
        lo, hi = _unit_delta(now, g("lastn_u"), _count(g("lastn_n"))), now
    elif kind == "this":
        unit = g("this_u").lower()
        if g("this_w").lower() == "this":
            if unit == "week":
                lo = midnight - timedelta(days=midnight.weekday())
            elif unit == "month":
                lo = midnight.replace(day=1)
            else:
                lo = midnight.replace(month=1, day=1)
        else:  # "last week", "the past month": a window ending now
            lo = _unit_delta(now, unit, 1)
        hi = now
    elif kind == "ago":
        lo = _unit_delta(midnight, g("ago_u"), _count(g("ago_n")))
        hi, day = lo + timedelta(days=1), True
    elif kind == "wd":
        back = (midnight.weekday() - _WEEKDAYS.index(g("wd_d").lower())) % 7
        if back == 0 and g("wd_last"):
            back = 7
        lo = midnight - timedelta(days=back)
        hi, day = lo + timedelta(days=1), True
    else:
        return None
    return _Atom(m.start(), m.end(), lo, hi, day, None, None, False, kind)


def _year_atom(m: re.Match[str], kind: str, question: str, as_of: datetime) -> _Atom | None:
    tz = _tz(as_of)
    if kind == "year":
        if _QUANTITY_BEFORE.search(question, max(0, m.start() - 20), m.start()):
            return None
        if _COUNTED_AFTER.match(question, m.end()):
            return None
        year = int(m.group("year"))
        lo, hi = datetime(year, 1, 1, tzinfo=tz), datetime(year + 1, 1, 1, tzinfo=tz)
    elif kind == "span":  # "the 2023-24 season", "2021-2022"
        a, b_text = int(m.group("span_a")), m.group("span_b")
        b = int(b_text) if len(b_text) == 4 else a // 100 * 100 + int(b_text)
        if b != a + 1:
            return None
        lo, hi = datetime(a, 1, 1, tzinfo=tz), datetime(b + 1, 1, 1, tzinfo=tz)
    else:  # quarter
        n = int(m.group("qtr_n")) if m.group("qtr_n") else _ORDINALS[m.group("qtr_w").lower()]
        lo = datetime(int(m.group("qtr_y")), 3 * n - 2, 1, tzinfo=tz)
        hi = add_months(lo, 3)
    return _Atom(m.start(), m.end(), lo, hi, False, None, None, False, kind)


_NAME_GROUPS = {"mdy": "mdy_m", "dmy": "dmy_m", "mdd": "mdd_m", "my": "my_m", "mon": "mon"}


def _well_cased(m: re.Match[str], kind: str, question: str) -> bool:
    """Month and weekday names are capitalised in English; "may" and "march" are verbs too.

    "Today" with a capital inside a sentence is a name ("Business Today", "USA Today").
    """
    if kind in _NAME_GROUPS or kind == "wd":
        return m.group(_NAME_GROUPS.get(kind, "wd_d"))[0].isupper()
    if kind == "day" and m.group("day")[0].isupper():
        return question[: m.start()].rstrip()[-1:] in ("", ".", "!", "?", '"', "'", ":")
    return True


def date_atoms(question: str, as_of: datetime) -> list[tuple[_Atom, re.Match[str]]]:
    loose = is_lowercase(question)
    atoms: list[tuple[_Atom, re.Match[str]]] = []
    pos = 0
    while True:
        m = _ATOM.search(question, pos)
        if m is None:
            break
        pos = m.end()
        kind = m.lastgroup or ""
        prev = question[m.start() - 1] if m.start() else " "
        if prev.isalnum() or prev in "$£€#@/":
            pos = m.start() + 1
            continue
        if m.start() >= 2 and re.match(r"\d[.,:]", question[m.start() - 2 :]):  # "4,2023"
            continue
        if not loose and not _well_cased(m, kind, question):
            continue  # "may", "march" as verbs; a month name is written with a capital
        atom: _Atom | None
        try:
            if kind in ("iso", "num", "mdd", "mdy", "dmy", "my", "mon"):
                atom = calendar_atom(m, kind, as_of)
            elif kind in ("year", "span", "qtr"):
                atom = _year_atom(m, kind, question, as_of)
            else:
                atom = _relative_atom(m, kind, as_of)
        except (OverflowError, ValueError):
            atom = None  # "9999999 weeks ago", or a date near year 1 or 9999: no date at all
        if atom is None:
            pos = m.start() + 1
            continue
        atoms.append((atom, m))
    return atoms
