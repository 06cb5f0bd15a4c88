"""Answering: pick the best source sentences, number them, ask the LLM (or extract), parse [n]."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from rag.types import Article, Citation, Hit, Sentence
from vectorstore.lexical import STOPWORDS

ABSTAIN_TOKEN = "INSUFFICIENT"
# Candidate sentences embedded per question when picking the ones the model sees. 20 showed
# as much evidence on the MultiHop-RAG dev questions and saved ~90 ms, but changed the picks
# of a third of them, and on the 200-question sample 3 fewer answers were right (README).
EMBED_CANDIDATES = 40
_MARKER = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
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


@dataclass(frozen=True)
class SourceSentence:
    """A sentence shown to the model under number n."""

    n: int
    article: Article
    sentence: Sentence
    score: float

    def citation(self, verified: bool = True) -> Citation:
        a, s = self.article, self.sentence
        return Citation(
            n=self.n,
            article_id=a.id,
            sentence_index=s.index,
            start=s.start,
            end=s.end,
            text=s.text,
            title=a.title,
            source=a.source,
            published_at=a.published_at,
            url=a.url,
            verified=verified,
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


def select_sentences(
    question: str,
    hits: Sequence[Hit],
    get_article: Callable[[str], Article | None],
    similarity: Callable[[str, Sequence[str]], list[float]],
    *,
    limit: int = 8,
    spread: bool = False,
) -> list[SourceSentence]:
    """The `limit` sentences of the retrieved chunks that best match the question, numbered
    1..n grouped by article (articles in retrieval order, sentences in text order)."""
    candidates: list[tuple[Article, Sentence, float]] = []
    seen: set[tuple[str, int]] = set()
    articles: dict[str, Article] = {}
    for rank, hit in enumerate(hits):
        article = articles.get(hit.chunk.article_id) or get_article(hit.chunk.article_id)
        if article is None:
            continue
        articles[article.id] = article
        for idx in hit.chunk.sentence_indices:
            if idx >= len(article.sentences) or (article.id, idx) in seen:
                continue
            seen.add((article.id, idx))
            candidates.append((article, article.sentences[idx], 1.0 / (rank + 3)))
    if not candidates:
        return []
    q_words = content_words(question)
    cheap = [
        (0.3 * len(q_words & content_words(sentence.text)) / max(1, len(q_words)) + rank_score)
        for _a, sentence, rank_score in candidates
    ]
    # Embedding every sentence of ten chunks (~85) takes ~0.3 s on 2 cores, all of it before
    # the model's first token; the best `EMBED_CANDIDATES` by words and rank hold the same
    # picks (share of gold facts among the 8 picked, every third MultiHop-RAG dev question,
    # compared once by hand: 0.459 vs 0.458; `evals/bench_retrieval.py` reports the share
    # for the shipped picking as "evidence shown").
    keep = sorted(range(len(candidates)), key=lambda i: cheap[i], reverse=True)
    keep = keep[:EMBED_CANDIDATES]
    sims = similarity(question, [candidates[i][1].text for i in keep])
    scored = []
    for i, sim in zip(keep, sims, strict=True):
        article, sentence, _rank_score = candidates[i]
        scored.append((sim + cheap[i], article, sentence))
    scored.sort(key=lambda t: t[0], reverse=True)
    top = _spread(scored, limit) if spread else scored[:limit]
    order = {a.id: i for i, a in enumerate(articles.values())}
    top.sort(key=lambda t: (order[t[1].id], t[2].index))
    return [SourceSentence(n, a, s, score) for n, (score, a, s) in enumerate(top, 1)]


def _spread(
    scored: list[tuple[float, Article, Sentence]], limit: int
) -> list[tuple[float, Article, Sentence]]:
    """The best `limit` sentences, at most half of them from one article while others have
    candidates: for passages, which hold an article's best sentences, so that one article on
    the question's topic does not fill the prompt and a multi-report question keeps its other
    reports. (Chunks mix in weaker sentences, and without the cap the model answered better
    from them.)"""
    cap = max(1, -(-limit // 2))
    top: list[tuple[float, Article, Sentence]] = []
    skipped: list[tuple[float, Article, Sentence]] = []
    per: dict[str, int] = {}
    for item in scored:
        if len(top) == limit:
            break
        if per.get(item[1].id, 0) < cap:
            top.append(item)
            per[item[1].id] = per.get(item[1].id, 0) + 1
        else:
            skipped.append(item)
    return top + skipped[: limit - len(top)]


def format_sources(sources: Sequence[SourceSentence]) -> str:
    """Sources grouped by article under its title, outlet and date, each sentence labelled at
    both ends ([3] ... [3]): small models cite far more reliably that way. Articles carry no
    letter: the model wrote "Article A states ..." to users who never see the letters."""
    lines: list[str] = []
    current = None
    for s in sources:
        if s.article.id != current:
            current = s.article.id
            date = (
                s.article.published_at.strftime("%B %-d, %Y")
                if s.article.published_at
                else "undated"
            )
            lines.append(f'"{s.article.title}" ({s.article.source}, {date})')
        text = " ".join(s.sentence.text.split())
        lines.append(f"[{s.n}] {text} [{s.n}]")
    return "\n".join(lines)


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

    out = _MARKER.sub(repl, text)
    out = re.sub(r"[ \t]+([.,;:!?])", r"\1", out)
    return re.sub(r"[ \t]{2,}", " ", out).strip(), cited


def markers_in(text: str) -> list[int]:
    return [int(x) for m in _MARKER.finditer(text) for x in re.split(r"\s*[,;]\s*", m.group(1))]


def strip_markers(text: str) -> str:
    return re.sub(r"\s+([.,;:!?])", r"\1", _MARKER.sub("", text)).strip()


# ----- extractive answering (no generative model) ------------------------------------------

_NUMBER = re.compile(r"\d")
_MONEY = re.compile(
    r"[$€£¥]|\b(?:dollars?|euros?|pounds?|million|billion|tenge|rubles?|yuan)\b", re.I
)
_MONTH = re.compile(
    r"\b(?:January|February|March|April|May|June|July|August|September|October|November|December"
    r"|\d{4}|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|yesterday|today)\b"
)
_DATE_NUMBERS = re.compile(
    r"\b(?:1[89]|20)\d{2}\b|\b(?:January|February|March|April|May|June|July|August|September|"
    r"October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\.? \d{1,2}\b"
)
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-zA-Z]+")


# The question word that opens what a clause asks ("Which company, ..., spent billions?" asks
# for a company, not an amount).
_ASKS = re.compile(r"\b(how much|how many|when|whom?|which)\b")


def expected_type(clause: str) -> str | None:
    """What kind of answer a question clause wants: number, money, date, name, or None."""
    q = clause.lower()
    asks = _ASKS.search(q)
    lead = asks.group(1) if asks else ""
    if lead == "which":  # a thing picked out by its description, whatever that mentions
        return None
    if lead == "how much":
        return "money"
    if lead == "how many":
        return "number"
    if lead == "when":
        return "date"
    if lead in ("who", "whom"):
        return "name"
    # No question word that says it ("What did the contingent cost?"): the words do.
    if re.search(r"\bcost\b|\bprice\b|\bpaid\b|\bspen[dt]\b|\bworth\b", q):
        return "money"
    if re.search(r"\bwhat (?:number|percentage|share)\b", q):
        return "number"
    if re.search(r"\bwhat (?:date|day|year|month)\b", q):
        return "date"
    return None


def fits_type(sentence: str, wanted: str | None) -> bool:
    if wanted is None:
        return True
    if wanted == "money":
        return bool(_MONEY.search(sentence)) and bool(_NUMBER.search(sentence))
    if wanted == "number":
        # Years and days of the month are dates, not counts.
        undated = _DATE_NUMBERS.sub(" ", sentence)
        return bool(_NUMBER.search(undated)) or bool(
            re.search(
                r"\b(?:one|two|three|four|five|six|seven|eight|nine|ten|dozens?|hundreds?|thousands?)\b",
                sentence,
                re.I,
            )
        )
    if wanted == "date":
        return bool(_MONTH.search(sentence))
    return bool(_NAME.search(sentence))


def question_clauses(question: str) -> list[str]:
    """'How many died, and who did they ask for help?' → two clauses answered separately."""
    parts = re.split(
        r",\s*and\s+(?=(?:how|who|what|when|where|which|why|did|does|is|was)\b)|\?\s+|;\s*",
        question,
        flags=re.I,
    )
    return [p.strip(" ?") for p in parts if len(p.strip(" ?").split()) >= 2] or [question]


def extractive_answer(
    question: str,
    sources: Sequence[SourceSentence],
    similarity: Callable[[str, Sequence[str]], list[float]],
    *,
    min_similarity: float = 0.35,
) -> str:
    """The best source sentence for each clause of the question, cited; ABSTAIN_TOKEN when no
    sentence both matches a clause and carries the kind of answer it asks for."""
    if not sources:
        return ABSTAIN_TOKEN
    picked: list[SourceSentence] = []
    for clause in question_clauses(question):
        wanted = expected_type(clause)
        sims = similarity(clause, [s.sentence.text for s in sources])
        ranked = sorted(zip(sims, sources, strict=True), key=lambda p: p[0], reverse=True)
        # A sentence that carries the kind of answer asked for (a count, a sum) needs less
        # topical similarity: MiniLM scores "225 deaths ... these events" low against "how
        # many died in the unrest" because the sentence leans on its neighbours.
        floor = min_similarity * 0.6 if wanted in ("number", "money", "date") else min_similarity
        for sim, s in ranked:
            if sim < floor:
                break
            if fits_type(s.sentence.text, wanted):
                if s not in picked:
                    picked.append(s)
                break
        else:
            continue
    if not picked:
        return ABSTAIN_TOKEN
    return " ".join(_cite_sentence(s) for s in picked)


def _cite_sentence(s: SourceSentence) -> str:
    """The sentence with its marker before the final full stop: '... authorities [3].'"""
    text = " ".join(s.sentence.text.split())
    if text.endswith("."):
        return f"{text[:-1]} [{s.n}]."
    return f"{text} [{s.n}]"


def stream_text(text: str) -> Iterator[str]:
    """Deltas for an answer that was not generated token by token (extractive)."""
    yield from re.findall(r"\S+\s*", text)
