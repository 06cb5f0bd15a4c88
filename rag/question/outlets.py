"""Outlets in a question: the stored outlets it names (full names, short forms, nicknames)
and the well-known ones it names that the store does not hold."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

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
class Mention:
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


def is_lowercase(question: str) -> bool:
    """True when the question carries no case signal (typed all lowercase, bar the first letter)."""
    rest = question[1:]
    return rest == rest.lower()


def outlet_mentions(
    question: str, known: Sequence[str], *, name_only: bool = False
) -> list[Mention]:
    """Outlet mentions with their spans; name_only: the text is just a name, in any case."""
    matcher = _matcher(tuple(known))
    loose = name_only or is_lowercase(question)
    found: list[tuple[int, int, _Alias]] = []
    for m in (matcher.loose if loose else matcher.cased).finditer(question):
        alias = matcher.aliases[int((m.lastgroup or "a0")[1:])]
        if loose and not alias.loose_ok and not name_only:
            before = question[max(0, m.start() - 30) : m.start()]
            if not (_LOOSE_AFTER.match(question, m.end()) or _LOOSE_BEFORE.search(before)):
                continue
        found.append((m.start(), m.end(), alias))
    named_in_full = {a.outlets[0] for _, _, a in found if a.full}
    mentions: list[Mention] = []
    for start, end, alias in found:
        outlets = alias.outlets
        if not alias.full:
            # "the Independent" after "The Independent - Life and Style" means that one.
            outlets = tuple(o for o in outlets if o in named_in_full) or outlets
        mentions.append(Mention(start, end, outlets))
    return mentions


def match_sources(question: str, known_sources: Sequence[str]) -> tuple[str, ...]:
    """The known outlets a question names, canonical, in order of first mention."""
    seen: dict[str, None] = {}
    for mention in outlet_mentions(question, known_sources):
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
    "The Straits Times", "The Sunday Times", "The Telegraph", "The Times", "The Times of India",
    "The Verge",
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
    question: str, known_sources: Sequence[str], mentions: Sequence[Mention] | None = None
) -> tuple[str, ...]:
    """Well-known outlets the question names as a source that none of `known_sources` is
    (nor a longer name of, e.g. "CNBC" for "Cnbc | World Business News Leader"); `mentions`:
    the stored outlets' mentions, when the caller has found them already."""
    # A stored outlet is the one named when the names agree, or when the stored one is that
    # name with a section after it ("CNBC" for "Cnbc | World Business News Leader"); a name
    # inside another ("The Times" in "The New York Times") is another paper.
    known = {_squash(k) for k in known_sources} | {
        _squash(_SECTION_SPLIT.split(" ".join(k.split()), maxsplit=1)[0]) for k in known_sources
    }
    if mentions is None:
        mentions = outlet_mentions(question, known_sources)
    taken = [(m.start, m.end) for m in mentions]
    out: dict[str, None] = {}
    for m in _OUTLET_NAME.finditer(question):
        if any(a < m.end() and m.start() < b for a, b in taken):
            continue  # a stored outlet's name or alias
        before = question[max(0, m.start() - 40) : m.start()]
        if not (_AS_SOURCE_AFTER.match(question, m.end()) or _AS_SOURCE_BEFORE.search(before)):
            continue  # "Michael Bloomberg said": a person, not the outlet
        if _squash(m.group(1)) in known:
            continue
        out.setdefault(m.group(1), None)
    return tuple(out)
