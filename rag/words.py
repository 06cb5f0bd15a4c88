"""Content words: what answering and verification compare between a claim and a sentence."""

from __future__ import annotations

import re

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
