"""Question understanding: the outlets and dates a question names, as filters, boosts and hops."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache
from itertools import pairwise

from rag.errors import InputError

# Open ranges ("before October 2023") need a bound on the other side; these stay far from any
# news date while still converting to epoch seconds on every platform.
FAR_PAST = datetime(1900, 1, 1, tzinfo=UTC)
FAR_FUTURE = datetime(2200, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Filters:
    """Explicit filters from the caller (CLI --since/--until/--source, UI): hard, not boosts."""

    since: datetime | None = None  # aware (a naive value is read as UTC)
    until: datetime | None = None  # aware, inclusive end
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class DateRange:
    """A span of time a question refers to: start inclusive, end exclusive, both aware."""

    start: datetime
    end: datetime
    phrase: str  # the words it came from ("in January 2022", "before October 2023")
    relation: str  # "on" | "in" | "before" | "after" | "between"

    def contains(self, when: datetime) -> bool:
        """Whether `when` (aware; naive is read as UTC) falls in [start, end)."""
        return self.start <= _aware(when) < self.end


@dataclass(frozen=True)
class ReportAnchor:
    """A time given by another report ("before the Reuters report"): retrieval finds that
    report and turns its publication time into a date range for the rest of the question."""

    relation: str  # "before" | "after"
    sources: tuple[str, ...]  # the outlet(s) of the report it refers to
    text: str  # what that report is about: the clause of the question that names it
    phrase: str  # the words it came from ("before the Reuters report")


@dataclass(frozen=True)
class SubQuery:
    """One hop of a question: the words, outlets and dates of one report it asks about."""

    text: str  # the part of the question for this hop (or the whole question)
    sources: tuple[str, ...]  # canonical outlet names from known_sources
    dates: tuple[DateRange, ...]


@dataclass(frozen=True)
class QueryPlan:
    """What retrieval needs to know about a question."""

    question: str
    search_text: str  # the question without its date phrases (dates become boosts)
    sources: tuple[str, ...]  # all outlets named (canonical), in order of first mention
    dates: tuple[DateRange, ...]  # all dates/ranges found, in order of mention
    since: datetime | None  # hard filter from Filters (or question dates when strict_dates)
    until: datetime | None  # inclusive
    source_filter: tuple[str, ...]  # hard filter from Filters.sources only
    hops: tuple[SubQuery, ...]  # >= 1
    wants_short_answer: str | None  # "yesno" | "entity" | None
    # The clauses of search_text of 4+ words (a one-clause question has one): a multi-part
    # question's evidence sentence in one article matches one part, not the whole.
    parts: tuple[str, ...] = ()
    # Well-known outlets the question names as a source that no stored article is from.
    absent_sources: tuple[str, ...] = ()
    # Times given by other reports ("after the TechCrunch article"); see report_anchors.
    anchors: tuple[ReportAnchor, ...] = ()


# --------------------------------------------------------------------------- outlets

# Nicknames no rule can derive from an outlet's name; each points at the name (or the part
# before " - " / " | " / ": ") it stands for and is used only when such an outlet is known.
_NICKNAMES: dict[str, str] = {
    "NYT": "The New York Times",
    "NY Times": "The New York Times",
    "WSJ": "The Wall Street Journal",
    "SMH": "The Sydney Morning Herald",
    "Globes": "Globes English",
    "CBS Sports": "CBSSports.com",
    "AP": "Associated Press",
    "FT": "Financial Times",
}

# Phrases where an outlet's name is an ordinary expression ("a Fortune 500 company").
_NOT_AFTER: dict[str, str] = {"fortune": r"(?!\s*\d)"}

# Words that separate an outlet's brand from its section: "BBC News - Technology".
_SECTION_SPLIT = re.compile(r"\s+[-–—|]\s+|:\s+")
_TOKEN = re.compile(r"\w[\w.'’]*\w|\w|[^\w\s]")

# In an all-lowercase question the case of a name says nothing, so a plain word ("the age",
# "on the verge of") counts as an outlet only next to words that introduce a source.
_LOOSE_AFTER = re.compile(
    r"\s*(?:'s|’s|article|articles|report|reports|reported|piece|story|stories|review|coverage"
    r"|say|says|said|writes|wrote|notes|suggests|indicates|claims)\b"
)
_LOOSE_BEFORE = re.compile(r"(?:according\s+to|reported\s+by|published\s+by|written\s+by)\s+$")


@dataclass(frozen=True)
class _Alias:
    outlets: tuple[str, ...]  # the outlets it may name, in known-source order
    full: bool  # names exactly one outlet in full; full names win over short forms
    loose_ok: bool  # a brand-like word that is safe to match in any case without a cue


@dataclass(frozen=True)
class _Mention:
    start: int
    end: int
    outlets: tuple[str, ...]


@dataclass(frozen=True)
class _Matcher:
    cased: re.Pattern[str]
    loose: re.Pattern[str]
    aliases: tuple[_Alias, ...]


def _is_brand(word: str) -> bool:
    """A word no dictionary has ("TechCrunch", "CBSSports.com"): safe in any case."""
    return (any(c.isupper() for c in word[1:]) and not word.isupper()) or "." in word[1:-1]


_SEPARATORS = ("-", "–", "—", "|", ":")


def _word_pattern(word: str, *, exact: bool, loose: bool) -> str:
    if word in _SEPARATORS:
        return r"[-–—|:]"
    if word == "&":
        return r"(?:&|and)"
    if loose or exact:
        # loose: the whole pattern is compiled with IGNORECASE; exact: acronyms used alone
        # ("BBC", "NYT") must be written in capitals.
        body = re.escape(word)
    elif word[0].isupper() and not _is_brand(word):
        # A capital keeps "the age of" and "wired headphones" from naming outlets.
        body = re.escape(word[0]) + "(?i:" + re.escape(word[1:]) + ")"
    else:
        body = "(?i:" + re.escape(word) + ")"
    return body.replace("'", "['’]")


def _alias_pattern(text: str, *, loose: bool) -> str:
    words = _TOKEN.findall(text)
    exact = len(words) == 1 and words[0].isupper() and words[0].isalpha()
    parts: list[str] = []
    for i, word in enumerate(words):
        if i:
            # Words need a space between them; around punctuation ("E!", "Live Science:",
            # "BBC News - Technology") any spacing will do.
            both_words = words[i - 1][-1].isalnum() and word[0].isalnum()
            parts.append(r"\s+" if both_words else r"\s*")
        if i == 0 and word == "The" and not loose:
            parts.append("[Tt]he")
        else:
            parts.append(_word_pattern(word, exact=exact, loose=loose))
    tail = _NOT_AFTER.get(text.lower(), "")
    return "".join(parts) + r"(?![\w&])" + tail


def _drop_the(text: str) -> str | None:
    """ "The Verge" -> "Verge"; None when what is left is too short to stand alone ("Age")."""
    if not text.startswith("The "):
        return None
    core = text[4:]
    return core if " " in core or len(core) > 4 else None


@lru_cache(maxsize=16)
def _matcher(known: tuple[str, ...]) -> _Matcher:
    order: dict[str, int] = {}
    for name in known:
        clean = " ".join(name.split())
        if clean and name not in order:
            order[name] = len(order)
    full: dict[str, str] = {}  # alias text -> the one outlet it names in full
    short: dict[str, list[str]] = {}  # alias text -> outlets it may stand for

    def add_short(text: str, outlet: str) -> None:
        outlets = short.setdefault(text, [])
        if outlet not in outlets:
            outlets.append(outlet)

    for name in order:
        clean = " ".join(name.split())
        full.setdefault(clean, name)
        for variant in (_drop_the(clean), clean[:-4] if clean.lower().endswith(".com") else None):
            if variant:
                full.setdefault(variant, name)
        head = _SECTION_SPLIT.split(clean, maxsplit=1)[0]
        if head != clean:
            for variant in (head, _drop_the(head)):
                if variant:
                    add_short(variant, name)
        first = head.split(" ", 1)[0]
        if " " in head and first.isupper() and first.isalpha() and len(first) >= 2:
            add_short(first, name)  # "BBC" for "BBC News - Technology"
        for nick, target in _NICKNAMES.items():
            low = target.lower()
            if clean.lower() == low or head.lower() == low or clean.lower().startswith(low + " "):
                add_short(nick, name)

    aliases: list[_Alias] = []
    texts: list[str] = []
    for text, name in full.items():
        texts.append(text)
        aliases.append(_Alias((name,), True, any(_is_brand(w) for w in _TOKEN.findall(text))))
    for text, outlets in short.items():
        if text in full:  # "The Independent" is itself a known outlet: the full name wins
            continue
        texts.append(text)
        brand = any(_is_brand(w) for w in _TOKEN.findall(text))
        aliases.append(_Alias(tuple(sorted(outlets, key=order.__getitem__)), False, brand))
    # Longest first, so that at any position the full name is tried before its short forms.
    ranked = sorted(range(len(texts)), key=lambda i: (-len(texts[i]), texts[i]))
    # Try the alternatives only where a word starts with a letter some name starts with:
    # this keeps one scan of a question well under a millisecond for ~50 outlets.
    firsts = "".join(sorted({c for t in texts for c in (t[0].lower(), t[0].upper())}))
    lead = rf"(?<![\w&])(?=[{re.escape(firsts)}])"
    cased = "|".join(f"(?P<a{i}>{_alias_pattern(texts[i], loose=False)})" for i in ranked)
    loose = "|".join(f"(?P<a{i}>{_alias_pattern(texts[i], loose=True)})" for i in ranked)
    never = r"(?!x)x"
    return _Matcher(
        cased=re.compile(f"{lead}(?:{cased})" if texts else never),
        loose=re.compile(f"{lead}(?:{loose})" if texts else never, re.IGNORECASE),
        aliases=tuple(aliases),
    )


def _is_lowercase(question: str) -> bool:
    """True when the question carries no case signal (typed all lowercase, bar the first letter)."""
    rest = question[1:]
    return rest == rest.lower()


def _outlet_mentions(
    question: str, known: Sequence[str], *, name_only: bool = False
) -> list[_Mention]:
    """Outlet mentions with their spans; name_only: the text is just a name, in any case."""
    matcher = _matcher(tuple(known))
    loose = name_only or _is_lowercase(question)
    found: list[tuple[int, int, _Alias]] = []
    for m in (matcher.loose if loose else matcher.cased).finditer(question):
        alias = matcher.aliases[int((m.lastgroup or "a0")[1:])]
        if loose and not alias.loose_ok and not name_only:
            before = question[max(0, m.start() - 30) : m.start()]
            if not (_LOOSE_AFTER.match(question, m.end()) or _LOOSE_BEFORE.search(before)):
                continue
        found.append((m.start(), m.end(), alias))
    named_in_full = {a.outlets[0] for _, _, a in found if a.full}
    mentions: list[_Mention] = []
    for start, end, alias in found:
        outlets = alias.outlets
        if not alias.full:
            # "the Independent" after "The Independent - Life and Style" means that one.
            outlets = tuple(o for o in outlets if o in named_in_full) or outlets
        mentions.append(_Mention(start, end, outlets))
    return mentions


def match_sources(question: str, known_sources: Sequence[str]) -> tuple[str, ...]:
    """The known outlets a question names, canonical, in order of first mention."""
    seen: dict[str, None] = {}
    for mention in _outlet_mentions(question, known_sources):
        for outlet in mention.outlets:
            seen.setdefault(outlet, None)
    return tuple(seen)


# Well-known news outlets, to notice a question that asks what one of them reported when the
# store holds nothing from it. Names that are also common words (People, Time, Science,
# Nature, Mint, The Sun, Insider, ...) are left out: too easy to misread.
_WELL_KNOWN_OUTLETS = (
    "ABC News", "AFP", "Agence France-Presse", "Al Jazeera", "Ars Technica", "Associated Press",
    "Axios", "BBC", "BBC News", "Billboard", "Bleacher Report", "Bloomberg", "Business Insider",
    "Business Standard", "BuzzFeed", "CBC News", "CBS News", "CNBC", "CNET", "CNN",
    "Channel NewsAsia", "Cricbuzz", "Daily Mail", "Der Spiegel", "Deutsche Welle", "ESPN",
    "Engadget", "Entertainment Weekly", "Euronews", "Financial Times", "Forbes", "Fox News",
    "Gizmodo", "Haaretz", "Harvard Business Review", "Hindustan Times", "HuffPost", "IGN",
    "Kotaku", "Le Monde", "Los Angeles Times", "MIT Technology Review", "MSNBC", "MarketWatch",
    "Mashable", "NBC News", "NDTV", "NPR", "New Scientist", "New York Post", "New York Times",
    "Newsweek", "Nikkei", "Politico", "Reuters", "Rolling Stone", "Scientific American",
    "Semafor", "Sky News", "South China Morning Post", "Sporting News", "Sports Illustrated",
    "TechCrunch", "The Atlantic", "The Daily Beast", "The Economic Times", "The Economist",
    "The Globe and Mail", "The Guardian", "The Hill", "The Hindu", "The Hollywood Reporter",
    "The Independent", "The Irish Times", "The New York Times", "The New Yorker",
    "The Straits Times", "The Telegraph", "The Times of India", "The Verge",
    "The Wall Street Journal", "The Washington Post", "Times of India", "TMZ", "USA Today",
    "VentureBeat", "Variety", "Vox", "Wall Street Journal", "Washington Post", "Wired",
    "Xinhua", "Yahoo Finance", "Yahoo News", "YourStory", "ZDNet",
)  # fmt: skip
_OUTLET_NAME = re.compile(
    r"(?<![\w-])("
    + "|".join(re.escape(n) for n in sorted(_WELL_KNOWN_OUTLETS, key=len)[::-1])
    + r")(?![\w-])"
)
# Said as a source: "a Reuters report", "the Bloomberg article", "Variety's coverage",
# "Reuters and Bloomberg report", "Reuters said", or "reported by / according to / an article
# from Reuters".
_AS_SOURCE_AFTER = re.compile(
    r"['\"”’]?(?:['’]s)?"
    r"(?:,?\s+(?:and|or)\s+(?:the\s+)?['\"“‘]?[A-Z][\w.&'’-]*(?:\s+[A-Z][\w.&'’-]*)*['\"”’]?)?"
    r"\s+(?:articles?|reports?|pieces?|coverage|story|stories|columns?|editorials?|analysis"
    r"|interviews?|podcasts?|newsletters?|reported|said|says|wrote|writes|published)\b"
)
_AS_SOURCE_BEFORE = re.compile(
    r"\b(?:from|by|in|according to|per)\s+(?:the\s+|an?\s+)?['\"“‘]?$", re.IGNORECASE
)


def _squash(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", re.sub(r"^the\s+", "", name.lower()))


def absent_outlets(
    question: str, known_sources: Sequence[str], mentions: Sequence[_Mention] | None = None
) -> tuple[str, ...]:
    """Well-known outlets the question names as a source that none of `known_sources` is
    (nor a longer name of, e.g. "CNBC" for "Cnbc | World Business News Leader"); `mentions`:
    the stored outlets' mentions, when the caller has found them already."""
    known = [_squash(k) for k in known_sources]
    if mentions is None:
        mentions = _outlet_mentions(question, known_sources)
    taken = [(m.start, m.end) for m in mentions]
    out: dict[str, None] = {}
    for m in _OUTLET_NAME.finditer(question):
        if any(a < m.end() and m.start() < b for a, b in taken):
            continue  # a stored outlet's name or alias
        before = question[max(0, m.start() - 40) : m.start()]
        if not (_AS_SOURCE_AFTER.match(question, m.end()) or _AS_SOURCE_BEFORE.search(before)):
            continue  # "Michael Bloomberg said": a person, not the outlet
        name = _squash(m.group(1))
        if any(name in k or k in name for k in known if k):
            continue
        out.setdefault(m.group(1), None)
    return tuple(out)


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
    question: str, mentions: Sequence[_Mention], wants_short_answer: str | None
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
        text = question[m.start : tail.end()] + rest if _content_words(rest) else question
        phrase = question[lead.start() : tail.end()].strip()
        out.append(ReportAnchor(_RELATIONS[rel], m.outlets, text, phrase))
    return tuple(out)


# --------------------------------------------------------------------------- dates

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

# What stands right before a date and changes its meaning ("before", "in late", "since").
_LEAD = re.compile(
    r"(?:\b(?P<rel>between|from|before|prior\s+to|until|till|through|after|since|following"
    r"|later\s+than|earlier\s+than|on|in|during|of|published|dated|last)\s+)?"
    r"(?:(?:the\s+)?(?P<part>early|mid|middle\s+of|late|end\s+of|start\s+of|beginning\s+of)"
    r"(?:\s+|-))?(?P<the>the\s+)?$",
    re.IGNORECASE,
)
_RELATIONS = {
    "before": "before", "prior to": "before", "until": "before", "till": "before",
    "through": "before", "earlier than": "before", "ahead of": "before",
    "after": "after", "since": "after", "following": "after", "later than": "after",
    "between": "between", "from": "between",
}  # fmt: skip
_PAIR_JOIN = re.compile(r"\s*,?\s*(?:and|to|until|till|through|[-–])\s+(?:the\s+)?", re.I)
_YEAR_JOIN = re.compile(r"\s*(?:,|and|or|to|through|[-–])\s*(?:,|and|or)?\s*", re.I)
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
_MONTH_CUES = {"on", "in", "during", "of", "published", "dated", "last"} | set(_RELATIONS)


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


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _add_months(when: datetime, months: int) -> datetime:
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
        return _add_months(when, -n)
    return _add_months(when, -12 * n)


def _make_day(year: int, month: int, day: int, tz: tzinfo) -> tuple[datetime, datetime] | None:
    try:
        lo = datetime(year, month, day, tzinfo=tz)
    except ValueError:  # "February 30"
        return None
    return lo, lo + timedelta(days=1)


def _make_month(year: int, month: int, tz: tzinfo) -> tuple[datetime, datetime]:
    lo = datetime(year, month, 1, tzinfo=tz)
    return lo, _add_months(lo, 1)


def _calendar_atom(
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
        hi = _add_months(lo, 3)
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


def _date_atoms(question: str, as_of: datetime) -> list[tuple[_Atom, re.Match[str]]]:
    loose = _is_lowercase(question)
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
        if kind in ("iso", "num", "mdd", "mdy", "dmy", "my", "mon"):
            atom = _calendar_atom(m, kind, as_of)
        elif kind in ("year", "span", "qtr"):
            atom = _year_atom(m, kind, question, as_of)
        else:
            atom = _relative_atom(m, kind, as_of)
        if atom is None:
            pos = m.start() + 1
            continue
        atoms.append((atom, m))
    return atoms


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
    return _add_months(lo, 4 * third), _add_months(lo, 4 * third + 4)


def _weekday_names_a_report(question: str, start: int, rel: str | None) -> bool:
    """ "the report from Tuesday", "published on Monday": a weekday that dates a report.

    Other weekdays ("the Sunday game", "a news conference on Monday") happen inside a story
    and say nothing about when it was published.
    """
    if rel == "on":
        return _REPORT_ON.search(question, max(0, start - 40), start) is not None
    return rel in _WEEKDAY_CUES and not _THE_BEFORE.search(question, max(0, start - 5), start)


def _date_mentions(question: str, as_of: datetime) -> list[tuple[int, int, DateRange]]:
    """Each date phrase of the question with its span, resolved against as_of."""
    as_of = _aware(as_of)
    found = _date_atoms(question, as_of)
    out: list[tuple[int, int, DateRange]] = []
    i = 0
    while i < len(found):
        atom, m = found[i]
        # A missing year comes from the next date when they are joined ("October 1 and 15, 2023").
        if atom.yearless and i + 1 < len(found):
            nxt = found[i + 1][0]
            gap = question[atom.end : nxt.start]
            if not nxt.yearless and nxt.month is not None and _YEAR_JOIN.fullmatch(gap):
                redone = _calendar_atom(m, atom.kind, as_of, year_hint=nxt.lo.year)
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
        relation = _RELATIONS.get(rel or "", default)
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
                    redone = _calendar_atom(m, atom.kind, as_of, year_hint=pair.lo.year - 1)
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
    return tuple(r for _, _, r in _date_mentions(question, as_of))


# --------------------------------------------------------------------------- hops

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
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]+")
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


def _content_words(text: str) -> int:
    return sum(1 for w in _WORD.findall(text) if w.lower() not in _FRAME_WORDS)


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
        return _content_words("".join(text))

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


def _hops(
    question: str,
    mentions: list[_Mention],
    dates: list[tuple[int, int, DateRange]],
) -> tuple[SubQuery, ...]:
    named = list(mentions)
    for ref in _SAME_OUTLET.finditer(question):
        before = [m for m in named if m.end <= ref.start()]
        if before:
            mentions = [*mentions, _Mention(ref.start(), ref.end(), before[-1].outlets)]
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


# --------------------------------------------------------------------------- answer shape

_AUXILIARIES = {
    "does", "did", "is", "are", "was", "were", "has", "have", "had", "can", "could", "will",
    "would", "should", "do", "may", "might", "must", "shall",
}  # fmt: skip
_WH_ENTITY = {"which", "who", "whom", "whose"}
_ENTITY_NOUNS = {
    "company", "companies", "person", "people", "team", "teams", "organization", "organisation",
    "organizations", "individual", "individuals", "entity", "entities", "firm", "firms",
    "player", "players", "country", "countries", "city", "platform", "platforms", "brand",
    "brands", "athlete", "celebrity", "product", "app", "website", "service", "group",
    "institution", "agency", "university", "league", "coach", "club", "band", "artist",
    "singer", "actor", "actress", "author", "startup", "chatbot", "network", "manufacturer",
    "state", "nation",
}  # fmt: skip
# Questions that start with a frame ("Between the report ..., was there ...") ask in the
# clause after the frame.
_PREFACES = {
    "after", "before", "between", "considering", "based", "given", "following", "according",
    "in", "since", "during", "from", "with", "regarding", "when",
}  # fmt: skip
_MAIN_CLAUSE = re.compile(r",\s+(?P<w>[A-Za-z]+)\b\s*(?P<next>[A-Za-z]*)")


def _short_answer(question: str) -> str | None:
    words = _WORD.findall(question)
    if not words:
        return None
    rest = question
    if words[0].lower() in _PREFACES:
        for m in _MAIN_CLAUSE.finditer(question):
            w, nxt = m.group("w").lower(), m.group("next").lower()
            if w in _WH_ENTITY and (nxt in _AUXILIARIES or nxt.endswith("ed")):
                continue  # ", which described ...": a relative clause inside the frame
            if w in _AUXILIARIES or w in _WH_ENTITY or w == "what":
                rest = question[m.start("w") :]
                break
        else:
            return None
    head = [w.lower() for w in _WORD.findall(rest)[:6]]
    first = head[0]
    if first in _AUXILIARIES:
        return "yesno"
    if first in _WH_ENTITY:
        return "entity"
    if first == "what" and len(head) > 1:
        nxt = head[1:]
        if nxt[0] in ("is", "was", "are", "were") and nxt[1:3] == ["the", "name"]:
            return "entity"
        if (
            nxt[0] in ("is", "was")
            and len(nxt) > 2
            and nxt[1] == "the"
            and (nxt[2] in _ENTITY_NOUNS)
        ):
            return "entity"
        if nxt[0] in ("type", "kind") or nxt[0] in _ENTITY_NOUNS:
            return "entity"
    return None


# --------------------------------------------------------------------------- the plan


def _search_text(question: str, dates: list[tuple[int, int, DateRange]]) -> str:
    """The question without its date phrases: dates steer ranking as boosts, not as words."""
    out, pos = [], 0
    for start, end, _ in dates:
        out.append(question[pos:start])
        pos = end
    out.append(question[pos:])
    text = " ".join("".join(out).split())
    text = re.sub(r"\s+([,.;:?!])", r"\1", re.sub(r"([,;])(?:\s*[,;])+", r"\1", text))
    return text if _WORD.search(text) else question  # "October 7, 2023?" alone: keep it


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
            for m in _outlet_mentions(text, known, name_only=True)
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
    as_of = _aware(as_of) if as_of is not None else datetime.now(UTC)
    filters = filters or Filters()
    since = _aware(filters.since) if filters.since else None
    until = _aware(filters.until) if filters.until else None
    if since and until and since > until:
        raise InputError(
            "date filter",
            f"since ({since.isoformat()}) is after until ({until.isoformat()}); swap them",
        )
    mentions = _outlet_mentions(question, known_sources)
    # A year inside an outlet's name ("... Technology News 2017") is no date.
    dates = [
        d
        for d in _date_mentions(question, as_of)
        if not any(m.start < d[1] and d[0] < m.end for m in mentions)
    ]
    ranges = tuple(r for _, _, r in dates)
    if strict_dates and ranges and since is None and until is None:
        lo = min(r.start for r in ranges)
        hi = max(r.end for r in ranges)
        since = lo if lo > FAR_PAST else None
        until = hi - timedelta(microseconds=1) if hi < FAR_FUTURE else None
    sources: dict[str, None] = {}
    for m in mentions:
        for outlet in m.outlets:
            sources.setdefault(outlet, None)
    search_text = _search_text(question, dates)
    wants = _short_answer(question)
    return QueryPlan(
        question=question,
        search_text=search_text,
        sources=tuple(sources),
        dates=ranges,
        since=since,
        until=until,
        source_filter=_source_filter(filters.sources, known_sources),
        hops=_hops(question, mentions, dates),
        wants_short_answer=wants,
        parts=_parts(search_text),
        absent_sources=absent_outlets(question, known_sources, mentions),
        anchors=report_anchors(question, mentions, wants),
    )
