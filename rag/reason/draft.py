"""A shaped answer as it is built: its text with [n] markers, the sentences they cite, the
per-report claims and the checks, turned into the final Answer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from rag.types import Answer, Article, Citation, Hit, ReportClaim, SentenceCheck


def label(article: Article) -> str:
    """How an answer names a report: "Fortune (4 October 2023)"."""
    when = article.published_at
    return f"{article.source} ({when:%-d %B %Y})" if when else article.source


@dataclass
class Draft:
    """The parts of a shaped answer; `cite` numbers sentences in order of first citation."""

    shape: str
    short: str = ""
    lines: list[str] = field(default_factory=list)
    claims: list[ReportClaim] = field(default_factory=list)
    checks: list[SentenceCheck] = field(default_factory=list)
    _cited: list[tuple[Article, int, bool]] = field(default_factory=list)

    def cite(self, article: Article, index: int, verified: bool = True) -> int:
        for n, (a, i, _v) in enumerate(self._cited, 1):
            if a.id == article.id and i == index:
                return n
        self._cited.append((article, index, verified))
        return len(self._cited)

    def claim(
        self,
        article: Article,
        claim: str,
        verdict: str,
        index: int | None = None,
        confirmed: bool = True,
    ) -> int | None:
        """Record what one report says on a claim; returns the citation number of the
        deciding sentence (verified unless the verdict is "not found" or a second reading of
        the sentence alone did not confirm it), if one was given."""
        n = None
        sentence = ""
        if index is not None:
            n = self.cite(article, index, verified=confirmed and verdict != "not found")
            sentence = article.sentences[index].text
        self.claims.append(
            ReportClaim(
                article_id=article.id,
                source=article.source,
                title=article.title,
                published_at=article.published_at,
                claim=claim,
                verdict=verdict,
                citation=n,
                sentence=sentence,
            )
        )
        return n

    def unconfirm(self, n: int) -> None:
        """Mark citation [n] unverified: a second reading of its sentence did not agree."""
        article, index, _ = self._cited[n - 1]
        self._cited[n - 1] = (article, index, False)

    def check(
        self, text: str, n: int | None, verdict: str, confirmed: bool = True, why: str = ""
    ) -> str:
        """Record an answer sentence citing [n]: supported when the report says the claim or
        its opposite there (and a second reading, where one was made, agreed; `why` says why
        not, where it was not). Returns the text."""
        said = n is not None and verdict in ("supported", "contradicted")
        ok = said and confirmed
        reason = (
            ""
            if ok
            else why or "read alone, the cited sentence does not say it"
            if said
            else "no sentence of this report says it"
        )
        self.checks.append(SentenceCheck(text, (n,) if n else (), ok, 1.0 if ok else 0.0, reason))
        return text

    def answer(
        self,
        question: str,
        standalone: str | None,
        hits: Sequence[Hit],
        timings: dict[str, float],
    ) -> Answer:
        citations = tuple(
            Citation(
                n=n,
                article_id=a.id,
                sentence_index=i,
                start=a.sentences[i].start,
                end=a.sentences[i].end,
                text=a.sentences[i].text,
                title=a.title,
                source=a.source,
                published_at=a.published_at,
                url=a.url,
                verified=v,
            )
            for n, (a, i, v) in enumerate(self._cited, 1)
        )
        return Answer(
            question=question,
            answer=" ".join(line.strip() for line in self.lines if line.strip()),
            abstained=False,
            citations=citations,
            verification=tuple(self.checks),
            short_answer=self.short,
            standalone_question=standalone,
            retrieved=tuple(hits),
            timings=timings,
            claims=tuple(self.claims),
            shape=self.shape,
        )
