"""Words: the content words answering and verification compare, and the names (runs of
capitalised words) an entity answer is drawn from."""

from __future__ import annotations

import re
from collections.abc import Sequence
from collections.abc import Set as AbstractSet

from vectorstore.lexical import STOPWORDS

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’.-]*")
# The lexical index's stop words, plus question words that carry no content.
_STOP = STOPWORDS | frozenset(
    [
        "about",
        "after",
        "any",
        "before",
        "many",
        "much",
        "than",
        "then",
        "there",
        "these",
        "those",
        "whom",
    ]
)


def word_share(words: AbstractSet[str], text: str) -> float:
    """The share of `words` (content words, as content_words gives) that `text` holds."""
    return len(words & content_words(text)) / max(1, len(words))


def content_words(text: str) -> set[str]:
    """Lowercased content words, with a crude suffix strip so 'deaths' meets 'death'."""
    out = set()
    for w in _WORD.findall(text.lower()):
        w = w.strip(".'’-").replace(",", "")
        if not w or w in _STOP:
            continue
        out.add(_stem(w))
    return out


def _stem(w: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(w) > len(suffix) + 3 and w.endswith(suffix):
            return w[: -len(suffix)]
    return w


# ----- names

NAME_TOKEN = re.compile(r"[A-Za-z0-9][\w'’&.-]*")
_CONNECTORS = {"of", "de", "&", "for", "the", "von", "van", "da", "del"}
_NOT_NAMES = {
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december", "monday", "tuesday", "wednesday", "thursday", "friday",
    "saturday", "sunday", "i", "a", "an", "the", "this", "that", "these", "those", "it", "he",
    "she", "they", "we", "you", "his", "her", "their", "our", "but", "and", "or", "if", "in",
    "on", "at", "as", "for", "with", "after", "before", "when", "while", "what", "who", "why",
    "how", "there", "here", "so", "yet", "also", "mr", "ms", "mrs", "dr", "according", "by",
    "from", "to", "of", "not", "no", "yes", "some", "many", "one", "two", "its",
    "read", "more", "related", "image", "photo", "getty", "images", "ap", "reuters", "ceo",
    "inc", "ltd", "co", "corp", "today", "monday's", "said", "says", "last", "next", "though",
    "although", "despite", "still", "even", "now", "then", "once", "because", "since",
    "unlike", "instead", "meanwhile", "however", "other", "another", "every", "each", "both",
    "either", "neither", "such", "only", "just", "during", "until", "without", "within",
    "among", "across", "against", "enter", "where", "which", "whose",
}  # fmt: skip


def names_in(text: str, common: AbstractSet[str] = frozenset()) -> list[str]:
    """Runs of capitalised words ("Sam Bankman-Fried", "Bank of England"), possessives cut.

    `common` holds words the texts also use in lower case ("former", "using"): capitalised,
    they are a sentence's first word or a title, so they end a run rather than join a name
    ("Former FTX Co-Founder Sam Bankman-Fried" -> "FTX", "Sam Bankman-Fried").
    """
    out: list[str] = []
    run: list[str] = []
    tokens = list(NAME_TOKEN.finditer(text))

    def close() -> None:
        while run and run[-1].lower() in _CONNECTORS:
            run.pop()
        if run:
            out.append(" ".join(run))
        run.clear()

    for i, m in enumerate(tokens):
        word = re.sub(r"['’]s$", "", m.group(0)).rstrip(".")
        gap = text[tokens[i - 1].end() : m.start()] if i else ""
        # Punctuation between two capitalised words parts two names ("AT&T … Google").
        if run and re.search(r"[,;:()\"“”…–—|/]", gap):
            close()
        lower = word.lower()
        capital = word[:1].isupper() and lower not in _NOT_NAMES
        prev = tokens[i - 1].group(0) if i else "."
        nxt = tokens[i + 1].group(0) if i + 1 < len(tokens) else ""
        starts = not run and (
            not prev[:1].islower()
            or prev.endswith((".", "!", "?"))
            or re.search(r"[.!?…\n\"“”]", gap) is not None
        )
        # A sentence's first word that is a function word or reads like one ("Though",
        # "Using", "Recently") is no name, whether or not the texts use it in lower case.
        opener = starts and (lower in _STOP or lower.endswith(("ing", "ly")))
        # A common word capitalised after a lower-case word starts a name ("the All Blacks");
        # inside a name it is a surname ("Shai Hope") unless another capitalised word
        # follows, when it is a title between names ("FTX Co-Founder Sam ..."); at a
        # sentence's start it is no name.
        after_lower = not starts and not run
        surname = bool(run) and not nxt[:1].isupper()
        named = capital and not opener and (lower not in common or after_lower or surname)
        if named or (run and lower in _CONNECTORS):
            run.append(word)
        else:
            close()
        if m.group(0).endswith(("'s", "’s", ".", "'", "’")):
            close()
    close()
    return [n for n in out if len(n) > 1]


def question_names(question: str) -> set[str]:
    """The lowercased words of a question, for `is_asked`."""
    return {w.lower() for w in NAME_TOKEN.findall(question)}


def is_asked(name: str, asked: AbstractSet[str]) -> bool:
    """Whether the question (its `question_names`) already uses every word of a name: such
    a name is what it asks about, not its answer."""
    return all(w in asked for w in name.lower().split())


def lower_words(texts: Sequence[str]) -> set[str]:
    """Words the texts use in lower case (so, capitalised, they are no names)."""
    return {w for t in texts for w in re.findall(r"\b[a-z][\w'’-]*", t)}
