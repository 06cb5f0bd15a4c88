"""Reports: for each report a question names (its hops), the stored article that is that
report, the claim the question makes about it, and its sentences that bear on the claim."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from itertools import pairwise

from rag.question import QueryPlan, SubQuery
from rag.question.shape import WORD
from rag.question.types import FAR_FUTURE, FAR_PAST, DateRange
from rag.types import Article, Hit

# Sentences of a report a reading job sees: enough to hold a paraphrase of the claim, few
# enough that the prompt stays short (prompt tokens are most of a CPU model's time).
READ_SENTENCES = 5
# Articles of the named outlet compared for a claim: the first few retrieval ranked.
CANDIDATES_PER_REPORT = 3

RankSentences = Callable[[str, Sequence[str]], list[tuple[int, float]]]
# A search for one report: the hop's words within its outlet; with True, its dates are hard
# filters (only articles published then), else boosts.
SearchHop = Callable[[SubQuery, bool], list[Hit]]
ArticleOf = Callable[[str], Article | None]


@dataclass(frozen=True)
class Report:
    """One named report found: its article, the claim about it and its best sentences."""

    article: Article
    claim: str
    ranked: tuple[int, ...]  # every sentence's index, best for the claim first
    score: float  # the best sentence's cosine to the claim
    # When the question dates this report and no stored report of its outlet from then was
    # found: the question's words for when ("on November 6, 2024"); the article is the
    # closest match from another time.
    off_date: str = ""

    @property
    def sentences(self) -> tuple[int, ...]:
        """The sentences a reading sees: the READ_SENTENCES best."""
        return self.ranked[:READ_SENTENCES]


# "Does the Fortune article suggest that ...": the words before the claim.
_REPORTING = re.compile(
    r"\b(?:suggests?|suggesting|suggested|indicates?|indicating|indicated|reports?|reported|"
    r"reporting|claims?|claimed|claiming|says?|said|states?|stated|mentions?|mentioned|"
    r"implies|implied|imply|alleges?|alleged|alleging|highlights?|highlighted|highlighting|"
    r"shows?|showed|argues?|argued|notes?|noted|describes?|described|discuss(?:es)?|discussed|"
    r"asserts?|asserted|portrays?|portrayed|attributes?|attributed|details?|detailed|"
    r"reveals?|revealed|emphasi[sz]es?|emphasi[sz]ed|posits?|contends?|questions?|"
    r"identif(?:y|ies|ied)|recogni[sz]es?|recogni[sz]ed|predicts?|predicted|cites?|cited|"
    r"criticizes?|criticized|acknowledges?|acknowledged|confirms?|confirmed|explains?|"
    r"explained|presents?|presented|characteri[sz]es?|characteri[sz]ed|considers?|considered|"
    r"regards?|regarded|expects?|expected|warns?|warned|believes?|believed|"
    r"focus(?:es|ed)?\s+on|concentrates?\s+on)\s+"
    r"(?:that\s+)?",
    re.I,
)
_FRAME = re.compile(
    r"\b(?:article|report|piece|story|coverage|post|excerpt|news|from|by|in|the|both|"
    r"another|second|first|other|same|source|outlet|does|did|do|is|was|were|are|has|have|"
    r"while|whereas|and|but|also|then|after|before|according|to|as|on|of|published)\b",
    re.I,
)
_LEAD = re.compile(
    r"^(?:(?:does|did|do|is|was|were|are|has|have|had|while|whereas|and|but|also|then|"
    r"that|which|both|as|by|in|from|to|on|about|,)\s+)+",
    re.I,
)
_TAIL = re.compile(
    r",?\s*(?:as\s+)?(?:reported|according|detailed|covered|noted|published)\b.*$"
    r"|,\s*(?:was|were|did|does|do|has|have|had|is|are)\b.*$",
    re.I,
)
# What a question adds after a report's claim about the reports together ("..., indicating a
# difference in their approach", "..., with one citing X and the other Y", "..., or do both
# imply ...", "without mentioning Y"): no one report's sentence can state it, so it is no part
# of that report's claim; the reading of each claim and the verdicts together answer it.
_TOGETHER = re.compile(
    r",?\s*\b(?:(?:thus|thereby)\s+)?(?:indicating|suggesting|implying|highlighting|showing|"
    r"reflecting|demonstrating|signifying|pointing\s+to)\s+(?:a\s+|an\s+|the\s+)?"
    r"(?:difference|different|contrast|similar|similarity|distinction|divergence|shared|common|"
    r"consisten|inconsisten|discrepanc|disparit|variation)\w*\b.*$"
    r"|,?\s*\bwith\s+(?:one|both|each|the\s+(?:former|first))\b.*$"
    r"|,?\s*\bor\s+(?:do|does|did|is|are|was|were)\s+(?:both|they|the|these|there)\b.*$"
    r"|,?\s*\bwithout\s+(?:mentioning|discussing|addressing|referencing|noting|any\s+mention)\b.*$",
    re.I,
)
# Words that say when a report came out, after a word that may name it ("report published").
_WHEN_PUBLISHED = re.compile(r"(?:published|posted|released|dated|written)\b", re.I)
# What is left of a joint to the next report's clause ("..., while the").
_JOINT = re.compile(r"[,;]?\s*\b(?:while|whereas|and|but|as|with|than)?\s*(?:the|a|an)?\s*$", re.I)


def claim_text(hop: str, outlets: Sequence[str]) -> str:
    """The claim a hop makes about its report: "Does the Fortune article suggest that X" -> "X";
    without a reporting verb, the hop without its leading "Does"/"while" and trailing "as
    reported by Y"."""
    text = " ".join(hop.split()).strip(" ,;?.")
    for name in sorted(outlets, key=len, reverse=True):
        quoted = rf"['\"‘’“”]?{re.escape(name)}(?:['\"‘’“”](?!s\b))?"
        text = re.sub(quoted, "OUTLET", text, flags=re.I)
    # "OUTLET's assertion that X": the claim is X.
    text = re.sub(
        r"^.*?\bOUTLET(?:'s|’s)\s+(?:\w+\s+)?(?:assertion|claim|allegation|report|suggestion|"
        r"view|argument|statement|depiction|portrayal)\s+(?:that\s+|of\s+)?",
        "",
        text,
        flags=re.I,
    )
    for m in _REPORTING.finditer(text):
        if _WHEN_PUBLISHED.match(text, m.end()):
            continue  # "the OUTLET report published on X says ...": "report" names the report
        head = text[: m.start()]
        # The verb ends a frame ("the OUTLET article suggest") only when the frame holds no
        # words of its own beyond a few (the claim's own "reported" is no frame).
        if "OUTLET" in head or len(_FRAME.sub(" ", head).split()) <= 1:
            text = text[m.end() :]
            break
    text = _TAIL.sub("", _TOGETHER.sub("", text))
    # "X as implied by OUTLET's article, Y": the words naming where X is said go, Y stays.
    text = re.sub(
        r",?\s*\bas\s+\w+\s+(?:by|in)\s+(?:the\s+)?OUTLET(?:'s)?"
        r"(?:\s+(?:articles?|reports?|coverage|pieces?))?,?",
        "",
        text,
    )
    text = _JOINT.sub("", text)
    text = re.sub(
        r"\b(?:the\s+)?OUTLET(?:'s)?\b(?:\s+(?:articles?|reports?|pieces?|stories|story))?",
        "",
        text,
    )
    # "the article from OUTLET on X considers ...": what is left of the frame.
    text = re.sub(
        r"^(?:the\s+)?(?:articles?|reports?|pieces?|stor(?:y|ies))\s+(?:from|by|in)\s+",
        "",
        text,
        flags=re.I,
    )
    text = _LEAD.sub("", " ".join(text.split()).strip(" ,;"))
    text = text.strip(" ,;?.")
    return text[:1].upper() + text[1:] if WORD.search(text) else " ".join(hop.split())


def find_reports(
    plan: QueryPlan,
    hits: Sequence[Hit],
    search_hop: SearchHop,
    rank_sentences: RankSentences,
    article_of: ArticleOf,
    also: Sequence[str] = (),
) -> list[Report | None]:
    """Per named report (a hop per outlet it names; a hop naming two outlets is two reports),
    the article that best states its claim, or None where the store holds none. Each
    article serves one report: "the second TechCrunch article" is another article. Sentences
    rank by their best cosine to the claim or to one of `also` (the question's words)."""
    out: list[Report | None] = []
    used: set[str] = set()
    for hop, outlet, part in _report_slots(plan):
        claim = claim_text(part, plan.sources)
        pool = [h for h in hits if outlet is None or h.chunk.source == outlet]
        if outlet is not None and not pool:
            pool = search_hop(SubQuery(hop.text, (outlet,), hop.dates), False)
        pool = [h for h in pool if h.chunk.article_id not in used]
        off_date = ""
        when = tuple(d for d in hop.dates if _is_report_date(d))
        if when:
            # "The TechCrunch report published on October 6" is one published then: where
            # the outlet has one on the question's words, only those are candidates.
            dated = [h for h in pool if _dated_within(h, when)]
            if not dated and outlet is not None:
                found = search_hop(SubQuery(hop.text, (outlet,), when), True)
                dated = [h for h in found if h.chunk.article_id not in used]
            if dated:
                pool = dated
            else:
                off_date = "; ".join(d.phrase for d in when if _YEAR.search(d.phrase))
        best: Report | None = None
        seen: set[str] = set()
        for h in pool:
            if h.chunk.article_id in seen:
                continue
            seen.add(h.chunk.article_id)
            if len(seen) > CANDIDATES_PER_REPORT:
                break
            article = article_of(h.chunk.article_id)
            if article is None:
                continue
            ranked = rank_sentences(article.id, [claim, *also])
            if not ranked:
                continue
            # Retrieval's order decides near-ties: it saw the whole question.
            score = ranked[0][1] - 0.02 * len(seen)
            if best is None or score > best.score:
                best = Report(article, claim, tuple(i for i, _ in ranked), score, off_date)
        if best is not None:
            used.add(best.article.id)
        out.append(best)
    return out


def _report_slots(plan: QueryPlan) -> list[tuple[SubQuery, str | None, str]]:
    """(hop, outlet, its words) per report: a hop per outlet it names, or one unnamed report.
    A hop naming two outlets is cut where the second is named, when each part says
    something of its own ("TechCrunch reports X, while the Engadget article says Y")."""
    slots: list[tuple[SubQuery, str | None, str]] = []
    for hop in plan.hops:
        if not hop.sources:
            slots.append((hop, None, hop.text))
            continue
        parts = _cut_at_outlets(hop.text, hop.sources)
        slots.extend((hop, outlet, part) for outlet, part in zip(hop.sources, parts, strict=True))
    return slots


def _cut_at_outlets(text: str, outlets: Sequence[str]) -> list[str]:
    if len(outlets) < 2:
        return [text]
    starts = []
    for name in outlets:
        m = re.search(rf"(?:\bthe\s+)?['\"‘’“”]?{re.escape(name)}", text, re.I)
        if m is None:
            return [text] * len(outlets)
        starts.append(m.start())
    if starts != sorted(starts):
        return [text] * len(outlets)
    cuts = [0, *starts[1:], len(text)]
    parts = [text[a:b] for a, b in pairwise(cuts)]
    verbs = [_REPORTING.search(p) is not None for p in parts]
    if any(verbs) and not all(verbs):
        return [text] * len(outlets)  # "Did the A article on X and the B one both report Y"
    if any(len(_FRAME.sub(" ", claim_text(p, outlets)).split()) < 2 for p in parts):
        return [text] * len(outlets)  # "Do both The Verge and Fortune say X": one claim
    return parts


def _dated_within(hit: Hit, dates: Sequence[DateRange]) -> bool:
    when = hit.chunk.published_at
    return when is not None and any(d.contains(when) for d in dates)


# A year written out: a date without one is resolved against today, which an archive of
# older news may not mean, so no answer says such a date was missed.
_YEAR = re.compile(r"\b(?:19|20)\d{2}\b")
# Longer than this, a span dates what a report is about ("from 1905 to 1913"), not the report.
REPORT_SPAN = timedelta(days=92)


def _is_report_date(d: DateRange) -> bool:
    """Whether a date of a hop says when its report was published: a day, a month, or one
    side open ("before October 22, 2023"), not a year or an era the report is about."""
    open_side = d.start <= FAR_PAST or d.end >= FAR_FUTURE
    return (open_side and d.relation in ("before", "after")) or d.end - d.start <= REPORT_SPAN
