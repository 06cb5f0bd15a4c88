"""BM25's words: lowercased tokens without stop words, Snowball-stemmed (vectorstore/fts.py
indexes them)."""

from __future__ import annotations

import functools
import re
from typing import Any

# A number with thousands separators ("4,500") first, then words with inner ' ’ . - kept
# ("U.S.", "Bankman-Fried's").
_TOKEN = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|[\w][\w'’.-]*[\w]|[\w]", re.UNICODE)

# A short English stop list: common lists drop numbers and single letters, which matter in
# news ("225 deaths", "Q3").
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "from",
        "has",
        "have",
        "he",
        "her",
        "his",
        "i",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "our",
        "she",
        "that",
        "the",
        "their",
        "them",
        "they",
        "this",
        "to",
        "was",
        "were",
        "which",
        "who",
        "will",
        "with",
        "you",
        "your",
        "what",
        "when",
        "where",
        "why",
        "how",
        "did",
        "does",
        "do",
    ]
)


def tokenize(text: str) -> list[str]:
    """Lowercased word tokens without stop words or a possessive 's; '4,500' and 'U.S.' stay
    whole."""
    out = []
    for tok in _TOKEN.findall(text.lower()):
        tok = tok.replace("’", "'")  # news text mostly uses the typographic apostrophe
        if tok.endswith("'s"):  # "Google's" is about Google
            tok = tok[:-2]
        tok = tok.strip(".'-").replace(",", "")
        if tok and tok not in STOPWORDS:
            out.append(tok)
    return out


@functools.lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer  # PyStemmer: the Snowball stemmers in C

    return Stemmer.Stemmer("english")


@functools.lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    return str(_stemmer().stemWord(word))


def terms(text: str) -> list[str]:
    """What BM25 matches on: the tokens' English (Snowball) stems, so a question's
    "preventing" meets an article's "prevent" and "lawsuits" meets "lawsuit"."""
    return [_stem(t) for t in tokenize(text)]
