"""BM25 over a set of texts (bm25s, Snowball-stemmed words), rebuilt from the store's documents
when they change."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any

# A number with thousands separators ("4,500") first, then words with inner ' ’ . - kept
# ("U.S.", "Bankman-Fried's").
_TOKEN = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|[\w][\w'’.-]*[\w]|[\w]", re.UNICODE)

# A short English stop list: bm25s's own list would also do, but we keep numbers and
# single letters, which matter in news ("225 deaths", "Q3").
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


class BM25Index:
    """An in-memory BM25 index over (id, text) pairs."""

    def __init__(self, ids: Sequence[str], texts: Sequence[str]) -> None:
        import logging

        import bm25s

        # bm25s logs every index build at DEBUG/INFO; that is noise in a CLI.
        logging.getLogger("bm25s").setLevel(logging.WARNING)
        self.ids = list(ids)
        self._retriever: Any = None
        if self.ids:
            self._retriever = bm25s.BM25()
            self._retriever.index([terms(t) for t in texts], show_progress=False)

    def __len__(self) -> int:
        return len(self.ids)

    def scores(self, query: str) -> Any:
        """Every document's BM25 score for the query, in position order (a numpy array)."""
        import numpy as np

        tokens = terms(query)
        if self._retriever is None or not tokens:
            return np.zeros(len(self.ids), dtype=np.float32)
        return np.asarray(self._retriever.get_scores(tokens), dtype=np.float32)

    def search(
        self, query: str, k: int, allowed: set[int] | None = None
    ) -> list[tuple[int, float]]:
        """(position, score) of the best k documents, optionally only among `allowed` positions."""
        import numpy as np

        tokens = terms(query)
        if self._retriever is None or not tokens:
            return []
        scores = np.asarray(self._retriever.get_scores(tokens), dtype=np.float32)
        if allowed is not None:
            mask = np.full(scores.shape, -np.inf, dtype=np.float32)
            idx = np.fromiter(allowed, dtype=np.int64)
            mask[idx] = 0.0
            scores = scores + mask
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]
