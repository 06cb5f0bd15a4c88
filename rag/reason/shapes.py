"""Answers by question shape: code reasons over small readings (entity, claims, agreement,
order) and streams each report's verdict as soon as it is read."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rag.llm import LLM
from rag.question import Filters, QueryPlan, SubQuery, plan_query, span_bounds
from rag.question.shape import QuestionShape
from rag.reason.draft import Draft, label
from rag.reason.entities import entity_candidates, name_as_written, sentences_naming
from rag.reason.reading import (
    CONTRADICTED,
    NOT_FOUND,
    SAME,
    SUPPORTED,
    Similarity,
    confirm,
    read_agreement,
    read_claim,
    read_entity,
    related,
)
from rag.reason.reports import (
    CANDIDATES_PER_REPORT,
    ArticleOf,
    RankSentences,
    Report,
    SearchHop,
    find_reports,
)
from rag.types import Answer, Hit
from rag.verify.finish import abstain

if TYPE_CHECKING:
    from rag.retrieve import Retriever
    from rag.store import NewsStore

# Sentences per report the entity reading sees (it reads every named report at once).
ENTITY_SENTENCES = 2
# Sentences per report the agreement reading sees.
AGREEMENT_SENTENCES = 3
# Code's first candidates checked against the model's choice: one tied to the question by
# more named reports wins.
OVERRULE_CANDIDATES = 3
# How far down a report's ranking a sentence naming the answer still ties it to the claim.
ENTITY_TIE_DEPTH = 8


@dataclass(frozen=True)
class Tools:
    """What reasoning reads with: the model (None: code alone), and the store's sentences."""

    llm: LLM | None
    similarity: Similarity
    rank_sentences: RankSentences
    search_hop: SearchHop
    article_of: ArticleOf
    known_outlets: Sequence[str]
    # Where the model's share of "same" splits two reports into same / different (None: it
    # reads them with the question instead).
    agreement_split: float | None = None


@dataclass(frozen=True)
class Missing:
    """No stored report matches part of the question: the answer says which."""

    what: str


Outcome = Draft | Missing | None  # None: this shape does not fit; compose an answer instead
Reasoning = Generator[str, None, Outcome]


def answer_by_shape(
    plan: QueryPlan,
    retriever: Retriever,
    store: NewsStore,
    llm: LLM | None,
    similarity: Similarity,
    *,
    agreement_split: float | None = None,
) -> Reasoning:
    """The shaped answer from the question's named reports in a store (each report's best
    passage, found by retrieval), or None when its shape calls for a composed answer."""
    if plan.shape.kind == "open":
        return None
    tools = _tools(retriever, store, llm, similarity, agreement_split)
    passages = retriever.search(plan, unit="passage")
    return (yield from reason(plan, plan.shape, passages, tools))


def named_reports(
    plan: QueryPlan, retriever: Retriever, store: NewsStore, similarity: Similarity
) -> list[Report | None]:
    """The report found for each report the question names (None where none matches), with
    the sentences a reading of it sees."""
    tools = _tools(retriever, store, None, similarity)
    passages = retriever.search(plan, unit="passage")
    also = [plan.search_text] if plan.shape.kind == "entity" else []
    return find_reports(
        plan, passages, tools.search_hop, tools.rank_sentences, tools.article_of, also
    )


def _tools(
    retriever: Retriever,
    store: NewsStore,
    llm: LLM | None,
    similarity: Similarity,
    agreement_split: float | None = None,
) -> Tools:
    known = store.cached_sources()

    def search_hop(hop: SubQuery, dated: bool) -> list[Hit]:
        filters = Filters(sources=hop.sources)
        if dated and hop.dates:
            since, until = span_bounds(hop.dates)
            filters = Filters(since=since, until=until, sources=hop.sources)
        sub = plan_query(hop.text, known, filters=filters)
        return retriever.search(sub, k=CANDIDATES_PER_REPORT, unit="passage")

    return Tools(
        llm=llm,
        similarity=similarity,
        rank_sentences=retriever.rank_sentences,
        search_hop=search_hop,
        article_of=store.cached_article,
        known_outlets=known,
        agreement_split=agreement_split,
    )


def shaped_answer(
    outcome: Draft | Missing,
    question: str,
    standalone: str | None,
    hits: Sequence[Hit],
    timings: dict[str, float],
) -> Answer:
    """The final Answer of a shaped answer, or "the articles do not say" naming what is missing."""
    if isinstance(outcome, Missing):
        return abstain(question, standalone, hits, timings, missing=outcome.what)
    return outcome.answer(question, standalone, hits, timings)


def reason(plan: QueryPlan, shape: QuestionShape, hits: Sequence[Hit], tools: Tools) -> Reasoning:
    """Yields each report's verdict as a line of text as it is read; returns the Draft."""
    if not hits:
        return None
    if shape.kind == "entity":
        if tools.llm is None and len(plan.sources) < 2:
            # Without a model the name is code's first candidate, and that is only worth
            # more than the best sentence when several named reports share it.
            return None
        return (yield from _entity(plan, hits, tools))
    if shape.kind not in ("claims", "agreement", "order"):
        return None
    reports = find_reports(plan, hits, tools.search_hop, tools.rank_sentences, tools.article_of)
    missing = [_slot_name(plan, i) for i, r in enumerate(reports) if r is None]
    if missing:
        return Missing(f"no stored {missing[0]} report matches what the question says of it")
    found = [r for r in reports if r is not None]
    outcome: Outcome = None
    if shape.kind == "order":
        outcome = _order(found, shape.relation)
    elif shape.kind == "agreement" and tools.llm is not None and len(found) >= 2:
        outcome = yield from _agreement(plan, shape, found, tools)
    if outcome is None and shape.kind != "order":
        outcome = yield from _claims(found, tools)
    if isinstance(outcome, Draft):
        outcome.lines.extend(_date_notes(found))
    return outcome


def _date_notes(reports: Sequence[Report]) -> list[str]:
    """A line per report the question dates that the store holds none of from then: the
    answer reads the closest report from another time, and says so."""
    return [
        f"No stored {r.article.source} report from the question's date ({r.off_date}) matches;"
        f" the one read is {label(r.article)}."
        for r in reports
        if r.off_date
    ]


def _slot_name(plan: QueryPlan, i: int) -> str:
    names = [o for hop in plan.hops for o in (hop.sources or ("",))]
    return names[i] if i < len(names) and names[i] else "matching"


def _sentences(report: Report, n: int | None = None) -> list[str]:
    chosen = report.sentences if n is None else report.sentences[:n]
    return [report.article.sentences[i].text for i in chosen]


def _claims(reports: Sequence[Report], tools: Tools) -> Reasoning:
    """Yes when every named report states its claim; No, naming the report, when one does not
    or says the opposite. Two reports on one claim that disagree are called out. None when
    no report says anything on its claim."""
    draft = Draft("claims")
    verdicts: list[str] = []
    rows: list[str] = []
    cited: list[tuple[Report, int | None, int | None]] = []  # (report, sentence, [n])
    streamed = 0
    for report in reports:
        who = label(report.article)
        sentences = _sentences(report)
        reading = read_claim(report.claim, sentences, who, tools.llm, tools.similarity)
        verdict = reading.verdict
        index = report.sentences[reading.sentences[0]] if reading.sentences else None
        if verdict == SUPPORTED:
            row = f"{who} bears this out: {report.claim}"
        elif verdict == CONTRADICTED and index is not None:
            # The sentence itself, not the claim it denies: the reader sees what the report
            # says (the claims table keeps the claim).
            row = f"{who} says otherwise: “{_clip(report.article.sentences[index].text)}”"
        else:
            verdict, index = NOT_FOUND, None
            row = f"{who} does not say this: {report.claim}"
        n = draft.claim(report.article, report.claim, verdict, index)
        text = f"{row} [{n}]." if n else f"{row}."
        verdicts.append(verdict)
        rows.append(text)
        cited.append((report, index, n))
        if n is not None:  # rows wait for the first that cites: it may never come
            yield " ".join(rows[streamed:]) + " "
            streamed = len(rows)
    if not streamed:
        # No report says the claim or its opposite: there is nothing to cite for a "No"
        # either, so the composed answer (or "the articles do not say") is given instead.
        return None
    # A verdict read from five sentences may rest on one that is only on the claim's topic:
    # its sentence is marked verified only when a reading of it alone gives the same verdict
    # (after every row has streamed). The verdicts stand: the five-sentence reading is the
    # better judge of what the report says (experiments.md), the second only of what the one
    # cited sentence says.
    for text, verdict, (report, index, n) in zip(rows, verdicts, cited, strict=True):
        confirmed, why = True, ""
        if n is not None and verdict == CONTRADICTED:
            # The small model reads "says the opposite" into sentences that only differ in
            # focus (a hand check found most of its contradictions wrong): the quote is shown
            # for the reader to judge, never marked verified.
            confirmed, why = False, "a contradiction read by the model alone: check the quote"
            draft.unconfirm(n)
        elif n is not None and index is not None and tools.llm is not None:
            said = report.article.sentences[index].text
            who = label(report.article)
            confirmed = confirm(report.claim, said, who, tools.llm, tools.similarity, verdict)
            if not confirmed:
                draft.unconfirm(n)
        draft.check(text, n, verdict, confirmed, why)
    draft.short = "Yes" if all(v == SUPPORTED for v in verdicts) else "No"
    conflict = _conflict(reports, verdicts)
    lead = f"{draft.short}."
    if conflict:
        lead += f" The reports disagree: {conflict}."
    draft.lines = [lead, *rows]
    return draft


def _conflict(reports: Sequence[Report], verdicts: Sequence[str]) -> str:
    """Reports read against the same claim with opposite verdicts, named."""
    by_claim: dict[str, list[tuple[Report, str]]] = {}
    for r, v in zip(reports, verdicts, strict=True):
        by_claim.setdefault(r.claim, []).append((r, v))
    for pairs in by_claim.values():
        yes = [label(r.article) for r, v in pairs if v == SUPPORTED]
        no = [label(r.article) for r, v in pairs if v == CONTRADICTED]
        if yes and no:
            return f"{yes[0]} says so and {no[0]} says otherwise"
    return ""


def _agreement(
    plan: QueryPlan, shape: QuestionShape, reports: Sequence[Report], tools: Tools
) -> Reasoning:
    """Whether two reports say the same on what the question asks, read side by side; the
    answer follows from what the question asks (same, a change, or one of two words)."""
    assert tools.llm is not None
    a, b = reports[0], reports[-1]
    topic = [shape.topic] if shape.topic else [plan.search_text]
    ranked_a = [i for i, _ in tools.rank_sentences(a.article.id, topic)[:AGREEMENT_SENTENCES]]
    ranked_b = [i for i, _ in tools.rank_sentences(b.article.id, topic)[:AGREEMENT_SENTENCES]]
    # Each side: the sentences best for the topic compared first, then for its own claim.
    side_a = list(dict.fromkeys([*ranked_a[:2], *a.sentences]))[:AGREEMENT_SENTENCES]
    side_b = list(dict.fromkeys([*ranked_b[:2], *b.sentences]))[:AGREEMENT_SENTENCES]
    texts_a = [a.article.sentences[i].text for i in side_a]
    texts_b = [b.article.sentences[i].text for i in side_b]
    reading = read_agreement(
        plan.question,
        shape.topic,
        (label(a.article), texts_a),
        (label(b.article), texts_b),
        tools.llm,
        tools.agreement_split,
    )
    if reading.verdict == NOT_FOUND:
        return None
    same = reading.verdict == SAME
    draft = Draft("agreement")
    ia, ib = side_a[reading.sentences[0]], side_b[reading.sentences[1]]
    qa, qb = a.article.sentences[ia].text, b.article.sentences[ib].text
    first = f"{label(a.article)}: “{_clip(qa)}”"
    second = f"{label(b.article)}: “{_clip(qb)}”"
    # Citation numbers follow the order of first citation: a then b (b's is 1 when a's quote
    # is b's too, which cannot happen across two articles).
    yield f"{first} [1] "
    # A quoted sentence is marked verified only when it is about what the reports are
    # compared on and says what the question says its report says: the model picks
    # sentences that speak of something else, and one on the shared topic alone ("what's
    # next for OpenAI?") says nothing a reader can check.
    about = shape.topic or plan.search_text

    def verdict(report: Report, quote: str) -> str:
        on_topic = related(about, quote, tools.similarity, strict=True)
        own = on_topic and confirm(
            report.claim, quote, label(report.article), tools.llm, tools.similarity
        )
        return SUPPORTED if own else NOT_FOUND

    va, vb = verdict(a, qa), verdict(b, qb)
    na = draft.claim(a.article, a.claim, va, ia)
    nb = draft.claim(b.article, b.claim, vb, ib)
    first, second = f"{first} [{na}]", f"{second} [{nb}]"
    if shape.choices:
        draft.short = shape.choices[0] if same else shape.choices[1]
    else:
        draft.short = "Yes" if same == shape.asks_same else "No"
    how = "say the same on this" if same else "differ on this"
    draft.lines = [f"{draft.short}. The reports {how}.", first + ".", second + "."]
    draft.check(f"{first}.", na, va)
    draft.check(f"{second}.", nb, vb)
    yield second
    return draft


def _order(reports: Sequence[Report], relation: str) -> Outcome:
    """Before/after from the two reports' publication dates, each cited with its date."""
    a, b = reports[0], reports[-1]
    when_a, when_b = a.article.published_at, b.article.published_at
    if when_a is None or when_b is None or a is b:
        return None
    draft = Draft("order")
    na = draft.claim(a.article, a.claim, SUPPORTED, a.sentences[0])
    nb = draft.claim(b.article, b.claim, SUPPORTED, b.sentences[0])
    holds = when_a < when_b if relation == "before" else when_a > when_b
    if when_a.date() == when_b.date():
        holds = False
    draft.short = "Yes" if holds else "No"
    order = (
        "the same day as"
        if when_a.date() == when_b.date()
        else ("before" if when_a < when_b else "after")
    )
    draft.lines = [
        f"{draft.short}. {label(a.article)} [{na}] was published {order} {label(b.article)} [{nb}]."
    ]
    return draft


def _entity(plan: QueryPlan, hits: Sequence[Hit], tools: Tools) -> Reasoning:
    """The name the question's reports share, chosen by the model among the names code found
    (code's first choice without a model), cited in each report that ties it to the claim.
    Code overrules the model when it ranked another name higher that every named report ties
    to the question while the model's choice misses one."""
    candidates = entity_candidates(plan.question, hits, plan.sources, tools.known_outlets)
    if not candidates:
        return None
    also = [plan.search_text]
    found = find_reports(plan, hits, tools.search_hop, tools.rank_sentences, tools.article_of, also)
    reports = [r for r in found if r is not None]

    def ties(name: str) -> list[tuple[Report, int]]:
        """Each report's best sentence, among its best for its claim, that names `name`."""
        out = []
        for r in reports:
            naming = set(sentences_naming(r.article, name))
            best = [i for i in r.ranked[:ENTITY_TIE_DEPTH] if i in naming]
            if best:
                out.append((r, best[0]))
        return out

    if tools.llm is None:
        name: str | None = candidates[0]
    else:
        shown = [s for r in reports for s in _sentences(r, ENTITY_SENTENCES)]
        name = read_entity(plan.question, shown, candidates, tools.llm)
    if name is None:
        return None
    tied = ties(name)
    if len(tied) < len(reports) and name in candidates:
        # Code ranked another name higher that every named report ties to the question.
        for other in candidates[: min(OVERRULE_CANDIDATES, candidates.index(name))]:
            other_tied = ties(other)
            if len(other_tied) == len(reports):
                name, tied = other, other_tied
                break
    if not tied or 2 * len(tied) < len(reports):
        # Fewer than half the named reports tie the name to what the question says of them:
        # no shared answer is shown; a composed answer (or "the articles do not say") is.
        return None
    draft = Draft("entity", short=name)
    tied_ids = {r.article.id for r, _ in tied}
    # Each report's sentence is cited in turn ([1], [2], ...): the rows stream before they
    # are checked.
    # Each row names the answer as its sentence writes it ("Bankman-Fried"), so the row says
    # no more than the sentence shows.
    rows = [
        f"{label(r.article)} names {name_as_written(r.article.sentences[i].text, name)}"
        for r, i in tied
    ]
    for at, row in enumerate(rows, 1):
        yield f"{row} [{at}]. "
    for row, (report, index) in zip(rows, tied, strict=True):
        # The sentence names the answer; it is marked as saying the report's claim only when
        # it says that claim too (else the table shows "does not say", the name cited).
        said = report.article.sentences[index].text
        says = confirm(report.claim, said, label(report.article), tools.llm, tools.similarity)
        verdict = SUPPORTED if says else NOT_FOUND
        n = draft.claim(report.article, report.claim, verdict, index)
        draft.check(f"{row} [{n}].", n, verdict)
    for report in reports:
        if report.article.id not in tied_ids:
            draft.claim(report.article, report.claim, NOT_FOUND)
    draft.lines = [f"{name}.", *[c.text for c in draft.checks], *_date_notes(reports)]
    return draft


def _clip(text: str, limit: int = 220) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"
