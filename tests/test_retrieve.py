"""Hybrid retrieval on a real Chroma store and the real MiniLM: outlets, dates, filters, the
single-sentence ranker, and the passages made of each top article's best sentences."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rag.config import Settings
from rag.embed import get_embedder
from rag.pipeline import Pipeline
from rag.question import Filters, plan_query
from rag.retrieve import PASSAGE_GAP, Retriever
from rag.types import Hit

FILLER = [
    "Dock managers said container traffic had been slow for most of the autumn.",
    "Several shipping lines moved their vessels to ports further along the coast.",
    "Local cafes near the terminal reported fewer customers during the week.",
    "The harbour authority published a new timetable for the ferry service.",
    "A spokesperson for the port declined to comment on the negotiations.",
    "Truck drivers queued for hours outside the southern gate on Thursday.",
    "The city council discussed the dispute at its regular meeting.",
    "Residents complained about noise from the night shifts at the terminal.",
    "Analysts expect freight rates on the route to stay high until spring.",
    "A new crane arrived from the manufacturer earlier this year.",
    "The regional transport minister called for both sides to keep talking.",
    "Fishermen said the quay had been quieter than at any time in a decade.",
]


def _article(title: str, source: str, day: str, sentences: list[str]) -> dict[str, str]:
    return {
        "title": title,
        "source": source,
        "published_at": f"{day}T09:00:00+00:00",
        "body": " ".join(sentences),
    }


# The fact sits in the middle of a long report that is mostly about something else, so the
# chunk as a whole matches the question weakly; one sentence matches it strongly.
BURIED = "The union's treasurer, Mira Okonjo, said the strike fund held 310,000 euros in reserve."
CORPUS = [
    _article(
        "Port strike ends after pay deal",
        "Harbour Times",
        "2023-03-04",
        ["About 1,200 dock workers walked out on Monday.", *FILLER[:6], BURIED, *FILLER[6:]],
    ),
    _article(
        "Dockers strike over night shifts",
        "Metro Daily",
        "2022-01-05",
        [
            "Dock workers at the port went on strike over night-shift pay.",
            "The Metro Daily understands the walkout could last a week.",
            *FILLER[:4],
        ],
    ),
    # Short, and every word of the question is in it somewhere, but no sentence says it.
    _article(
        "Sailing club AGM",
        "Metro Daily",
        "2023-03-06",
        [
            "The sailing club treasurer said the money in the club fund was enough for a new boat.",
            "Members also discussed the union's strike at the port, according to the minutes.",
        ],
    ),
    _article(
        "Stadium opens to crowds",
        "Metro Daily",
        "2023-06-02",
        [
            "The new stadium opened on Saturday with 40,000 fans in attendance.",
            "The mayor thanked the construction crews.",
        ],
    ),
]


def _ingested(
    tmp_path_factory: pytest.TempPathFactory,
    model_cache: Path,
    articles: list[dict[str, str]],
    chunk_max_tokens: int,
) -> Pipeline:
    """A pipeline over a fresh store holding `articles`, extractive answers."""
    folder = tmp_path_factory.mktemp("corpus")
    (folder / "news.json").write_text(json.dumps(articles), encoding="utf-8")
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("store"),
        llm="extractive",
        model_cache_dir=model_cache,
        chunk_max_tokens=chunk_max_tokens,
    )
    pipeline = Pipeline(settings)
    assert pipeline.ingest([folder]).ok
    return pipeline


@pytest.fixture(scope="module")
def pipe(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Pipeline:
    # 128 wordpieces: several chunks for the long report.
    return _ingested(tmp_path_factory, model_cache, CORPUS, chunk_max_tokens=128)


def test_a_fact_buried_in_a_long_report_is_found_by_its_sentence(pipe: Pipeline) -> None:
    question = "How much money was in the union's strike fund, according to its treasurer?"
    hits = pipe.retrieve(question, k=5)
    buried = next(h for h in hits if BURIED in h.chunk.text)
    scattered = next(h for h in hits if h.chunk.title == "Sailing club AGM")
    # BM25 over whole chunks prefers the short chunk that has the words scattered; BM25
    # over single sentences ranks first the chunk with the one sentence that says it.
    assert scattered.ranks["q-bm25"] < buried.ranks["q-bm25"]
    assert buried.ranks["q-sentence"] == 1 < scattered.ranks["q-sentence"]
    assert hits[0] in (buried, scattered) and hits[1] in (buried, scattered)


def test_the_outlet_a_question_names_ranks_its_report_first(pipe: Pipeline) -> None:
    hits = pipe.retrieve("What did the Metro Daily report about the dock workers' strike?", k=3)
    assert hits[0].chunk.source == "Metro Daily"
    assert hits[0].chunk.title == "Dockers strike over night shifts"
    other = pipe.retrieve("What did the Harbour Times report about the dock workers' strike?")
    assert other[0].chunk.source == "Harbour Times"


def test_explicit_filters_are_hard(pipe: Pipeline) -> None:
    question = "Why did the dock workers strike?"
    only_metro = pipe.retrieve(question, Filters(sources=("Metro Daily",)))
    assert only_metro and {h.chunk.source for h in only_metro} == {"Metro Daily"}
    in_2023 = pipe.retrieve(
        question,
        Filters(since=datetime(2023, 1, 1, tzinfo=UTC), until=datetime(2023, 12, 31, tzinfo=UTC)),
    )
    assert in_2023 and all(h.chunk.published_at.year == 2023 for h in in_2023)  # type: ignore[union-attr]
    nothing = pipe.retrieve(question, Filters(since=datetime(2030, 1, 1, tzinfo=UTC)))
    assert nothing == []


def test_a_date_in_the_question_boosts_reports_of_that_day(pipe: Pipeline) -> None:
    hits = pipe.retrieve("What happened at the port on January 5, 2022?", k=2)
    assert hits[0].chunk.title == "Dockers strike over night shifts"
    plan = plan_query("What happened at the port on January 5, 2022?", pipe.sources())
    assert plan.dates and plan.dates[0].start.date().isoformat() == "2022-01-05"


def test_articles_ingested_later_are_searchable_at_once(pipe: Pipeline, tmp_path: Path) -> None:
    pipe.retrieve("stadium")  # builds the lexical indexes
    late = tmp_path / "late.json"
    sentence = "The lighthouse keeper rescued three kayakers off Gull Point on Sunday."
    late.write_text(
        json.dumps([_article("Kayakers rescued", "Harbour Times", "2023-07-02", [sentence])]),
        encoding="utf-8",
    )
    assert pipe.ingest([late]).ok
    hits = pipe.retrieve("Who rescued the kayakers off Gull Point?", k=1)
    assert sentence in hits[0].chunk.text
    assert hits[0].ranks["q-sentence"] == 1


def test_warming_up_an_empty_store_is_harmless_and_a_later_ingest_is_found(
    settings: Settings, tmp_path: Path
) -> None:
    pipeline = Pipeline(settings)
    pipeline.warm()  # `dateline serve` does this at start, before anything is ingested
    news = tmp_path / "news.json"
    news.write_text(json.dumps(CORPUS[-1:]), encoding="utf-8")
    assert pipeline.ingest([news]).ok
    hits = pipeline.retrieve("How many fans were at the stadium opening?", k=1)
    assert "40,000 fans" in hits[0].chunk.text


def test_warming_up_a_store_leaves_its_answers_as_they_were(pipe: Pipeline) -> None:
    question = "What pay rise did the dock workers accept?"
    cold = Pipeline(pipe.settings).retrieve(question, k=3)  # a second pipeline, not warmed
    pipe.warm()
    warm = pipe.retrieve(question, k=3)
    assert [h.chunk.id for h in warm] == [h.chunk.id for h in cold]
    assert warm


def test_a_passage_is_its_articles_best_sentences_within_one_chunks_budget(
    pipe: Pipeline,
) -> None:
    question = "How much money was in the union's strike fund, according to its treasurer?"
    hits = pipe.retrieve(question, k=10)
    # The two reports of the first test rank first; the long one's passage holds the fact.
    port = next(h for h in hits if h.chunk.title == "Port strike ends after pay deal")
    assert hits.index(port) < 2 and port.ranks["passage"] == 1
    first = port.chunk
    assert BURIED in first.text
    article = pipe.article(first.article_id)
    assert article is not None
    # Its sentences are the article's own, in text order, joined run by run.
    assert list(first.sentences) == sorted(set(first.sentences))
    assert first.sentence_indices == first.sentences
    for part in first.text.split(PASSAGE_GAP):
        assert part in article.text
    assert len(first.sentences) < len(article.sentences)  # the long report does not fit
    # Like a chunk, at most chunk_max_tokens wordpieces (+ [CLS]/[SEP]).
    embedder = get_embedder(pipe.settings)
    for h in hits:
        assert embedder.count_tokens([h.chunk.text])[0] <= pipe.settings.chunk_max_tokens + 2
    # The top article has a second passage, with its next-best sentences, ranked after every
    # other article's first one.
    second = [h for h in hits if h.chunk.article_id == first.article_id and h is not port]
    assert len(second) == 1 and second[0].ranks["passage"] == 2
    assert not set(second[0].chunk.sentences) & set(first.sentences)
    assert hits.index(second[0]) > max(i for i, h in enumerate(hits) if h.ranks["passage"] == 1)
    # With DATELINE_ANSWER_UNIT=passage the answer step is offered only their sentences, at
    # most half of them from one article.
    answering = Pipeline(pipe.settings.with_(answer_unit="passage"))
    offered = {(h.chunk.article_id, i) for h in hits for i in h.chunk.sentence_indices}
    shown = answering.context(question)
    assert shown and {(s.article.id, s.sentence.index) for s in shown} <= offered
    ids = [s.article.id for s in shown]
    per_article = [ids.count(a) for a in set(ids)]
    cap = -(-answering.settings.answer_sentences // 2)
    assert len(per_article) > 1 and max(per_article) <= cap


def test_the_answer_step_draws_on_the_chunks_by_default(pipe: Pipeline) -> None:
    question = "How much money was in the union's strike fund, according to its treasurer?"
    chunks = {c.id: c for c in pipe.store.all_chunks()}
    _plan, hits, shown = pipe.evidence(question)
    assert hits and all(chunks.get(h.chunk.id) == h.chunk for h in hits)
    offered = {(h.chunk.article_id, i) for h in hits for i in h.chunk.sentence_indices}
    assert shown and {(s.article.id, s.sentence.index) for s in shown} <= offered
    assert any(s.sentence.text == BURIED for s in shown)


def test_the_chunk_unit_returns_the_stored_chunks(pipe: Pipeline) -> None:
    settings = pipe.settings.with_(retrieval_unit="chunk")
    retriever = Retriever(pipe.store, get_embedder(settings), settings)
    question = "How much money was in the union's strike fund, according to its treasurer?"
    hits = retriever.search(plan_query(question, pipe.sources()), k=5)
    stored = {c.id: c for c in pipe.store.all_chunks()}
    assert hits and all(stored.get(h.chunk.id) == h.chunk for h in hits)
    assert any(BURIED in h.chunk.text for h in hits)


def test_a_store_without_sentence_vectors_gets_them_on_first_search(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "news.json").write_text(json.dumps(CORPUS), encoding="utf-8")
    pipe = Pipeline(settings.with_(chunk_max_tokens=128))
    assert pipe.ingest([tmp_path / "news.json"]).ok
    n = sum(len(a.sentences) for a in pipe.store.all_articles())
    # As a store written before sentence vectors existed.
    pipe.store.sentences.delete(ids=[r.id for r in pipe.store.sentences.get()])
    with caplog.at_level("INFO", logger="dateline.retrieve"):
        hits = pipe.retrieve("How much money was in the union's strike fund?", k=3)
    assert f"embedding the {n} sentences of {len(CORPUS)} articles" in caplog.text
    assert any(BURIED in h.chunk.text and h.ranks["passage"] == 1 for h in hits)
    assert pipe.store.sentences.count() == len(CORPUS)  # stored: no process embeds them again
    assert len(pipe.store.sentence_vectors(pipe.store.all_articles())) == len(CORPUS)


def test_what_passages_read_of_an_article_is_kept_at_ingest_as_it_would_be_counted(
    pipe: Pipeline,
) -> None:
    """Wordpiece counts and BM25 terms are stored with each sentence and read back, not made
    again per question; a store written before counts were kept gets them counted."""
    from dataclasses import replace

    from rag.retrieve.index import LexicalIndex
    from vectorstore.lexical import terms

    embedder = get_embedder(pipe.settings)
    articles = pipe.store.all_articles()
    for article in articles:
        counted = [n - 2 for n in embedder.count_tokens([s.text for s in article.sentences])]
        assert [s.pieces for s in article.sentences] == counted
    lex = LexicalIndex(pipe.store, embedder, pipe.settings)
    loaded = lex.load([a.id for a in articles])
    for article in articles:
        item = loaded[article.id]
        assert item.sizes is not None and item.terms is not None
        assert [int(n) for n in item.sizes] == [s.pieces for s in article.sentences]
        assert item.terms == [terms(s.text) for s in article.sentences]
    # As stored before: no counts kept, nor an index entry for this version of the article.
    old = replace(
        articles[0],
        content_hash="0" * 40,
        sentences=tuple(replace(s, pieces=-1) for s in articles[0].sentences),
    )
    fresh = LexicalIndex(pipe.store, embedder, pipe.settings)
    fresh.store.get_articles = lambda ids: [old]  # type: ignore[method-assign]
    item = fresh.load([old.id])[old.id]
    assert item.sizes is not None and item.terms is None  # stemmed when first scored
    assert [int(n) for n in item.sizes] == [s.pieces for s in articles[0].sentences]


# Four long reports on one story, each longer than one passage of chunk_max_tokens=64 and
# each with one sentence of its own on it; and a long report that is about its story
# throughout, in a dozen sentences.
LONG_REPORTS = [
    _article(
        f"Harbour dispute, day {n}",
        outlet,
        f"2023-04-0{n}",
        [
            f"On day {n} of the harbour dispute, talks between the union and the port resumed.",
            *FILLER,
        ],
    )
    for n, outlet in enumerate(["Harbour Times", "Metro Daily", "Coast Herald", "Bay Post"], 1)
]
WATER_MAIN = [
    "A water main burst under Elm Street early on Tuesday, flooding the road.",
    "The burst water main left 3,000 homes on Elm Street without running water.",
    "Water from the burst main flooded the cellars of twelve houses on Elm Street.",
    "Crews from the water company worked through the night to repair the Elm Street main.",
    "The water company said the burst main on Elm Street was more than eighty years old.",
    "Elm Street was closed to traffic while the water main was repaired.",
    "Residents of Elm Street collected bottled water from a van while the main was fixed.",
    "The mayor said the burst water main showed Elm Street's pipes needed replacing.",
    "Water pressure on Elm Street returned to normal after the main was repaired on Wednesday.",
    "The water company will pay compensation to Elm Street homes left without water.",
    "Engineers will inspect the other old water mains under Elm Street next month.",
    "Shops on Elm Street reopened once the burst water main had been fixed.",
]
DEEP = [*LONG_REPORTS, _article("Water main bursts", "Metro Daily", "2023-05-02", WATER_MAIN)]


@pytest.fixture(scope="module")
def deep_pipe(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Pipeline:
    return _ingested(tmp_path_factory, model_cache, DEEP, chunk_max_tokens=64)


def _in_passage_order(hits: list[Hit]) -> bool:
    """Every first passage before every second one, and every second before every third."""
    numbers = [h.ranks["passage"] for h in hits]
    return numbers == sorted(numbers)


def test_the_k_passages_go_where_the_question_is_answered(deep_pipe: Pipeline) -> None:
    # One report answers this at length: its next-best sentences match the question better
    # than the other reports' best ones, so it gives three passages (a fixed share of second
    # passages would give it one here, k // 5 = 0).
    water = deep_pipe.retrieve("What happened when the water main burst on Elm Street?", k=4)
    ours = [h for h in water if h.chunk.title == "Water main bursts"]
    assert [h.ranks["passage"] for h in ours] == [1, 2, 3]
    assert _in_passage_order(water)
    shown = [i for h in ours for i in h.chunk.sentences]
    assert len(shown) == len(set(shown))  # three passages, no sentence twice
    # Each report says this once: one passage from each of the four.
    harbour = deep_pipe.retrieve(
        "Which union resumed talks with the port in the harbour dispute?", k=4
    )
    assert sorted(h.chunk.title for h in harbour) == [
        f"Harbour dispute, day {n}" for n in range(1, 5)
    ]
    assert all(h.ranks["passage"] == 1 for h in harbour)
    assert all(h.chunk.text.startswith("On day") for h in harbour)


# One outlet's two reports on a story, either side of another outlet's report on it.
BRIDGE = [
    _article(
        "Cracks close Elm Street bridge",
        "Valley Gazette",
        "2023-05-01",
        [
            "Engineers closed the Elm Street bridge after finding cracks in its main beam.",
            "Drivers were told to use the ring road until further notice.",
        ],
    ),
    _article(
        "Council votes to replace bridge",
        "County Wire",
        "2023-05-10",
        [
            "The city council voted to replace the Elm Street bridge rather than repair it.",
            "The new bridge is expected to cost 12 million euros.",
        ],
    ),
    _article(
        "Demolition starts on Elm Street bridge",
        "Valley Gazette",
        "2023-05-20",
        [
            "Work crews began demolishing the Elm Street bridge on Monday.",
            "Drivers were told to use the ring road for another year.",
        ],
    ),
]


@pytest.fixture(scope="module")
def bridge_pipe(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Pipeline:
    return _ingested(tmp_path_factory, model_cache, BRIDGE, chunk_max_tokens=128)


@pytest.mark.parametrize(
    ("when", "title"),
    [
        ("before", "Cracks close Elm Street bridge"),
        ("after", "Demolition starts on Elm Street bridge"),
    ],
)
def test_another_reports_time_picks_the_report_before_or_after_it(
    bridge_pipe: Pipeline, when: str, title: str
) -> None:
    question = (
        f"What did the Valley Gazette say about the Elm Street bridge {when} the County Wire "
        "report on the council vote?"
    )
    hits = bridge_pipe.retrieve(question, k=3)
    assert hits[0].chunk.title == title
    # The anchor report itself is not boosted as a report of that time.
    wire = next(h for h in hits if h.chunk.source == "County Wire")
    assert wire.score < hits[0].score


def test_a_filtered_vector_search_ranks_the_allowed_chunks_by_their_stored_vectors(
    pipe: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An outlet's or a date's vector search does not ask Chroma for a filtered query (slow on
    # a large archive): it ranks the allowed chunks among the unfiltered nearest and those the
    # lexical searches found, by cosine with their stored vectors.
    import numpy as np

    from rag.retrieve import search
    from rag.retrieve.index import Filter

    settings = pipe.settings
    retriever = Retriever(pipe.store, get_embedder(settings), settings)
    vector = get_embedder(settings).embed_query("dock workers strike over pay")
    chunks = pipe.store.all_chunks()
    metro = [c.id for c in chunks if c.source == "Metro Daily"]
    assert metro and len(metro) < len(chunks)
    stored = pipe.store.chunk_vectors(metro)
    exact = sorted(metro, key=lambda i: float(np.dot(stored[i], vector)), reverse=True)
    only_metro = Filter(sources=("Metro Daily",))

    # The unfiltered nearest reduced to one chunk: the lexical candidates still find them all,
    # in the exact cosine order, and nothing from another outlet comes back.
    monkeypatch.setattr(search, "WIDE_CANDIDATES", 1)
    assert retriever._vector_within(vector, only_metro, list(reversed(metro))) == exact
    # No lexical candidates: the allowed ones among the unfiltered nearest, still in order.
    monkeypatch.setattr(search, "WIDE_CANDIDATES", len(chunks))
    assert retriever._vector_within(vector, only_metro, []) == exact
    # A date filter: only chunks published within it.
    in_2022 = Filter(since=datetime(2022, 1, 1, tzinfo=UTC).timestamp(),
                     until=datetime(2022, 12, 31, tzinfo=UTC).timestamp())  # fmt: skip
    dated = retriever._vector_within(vector, in_2022, [])
    by_id = {c.id: c for c in chunks}
    assert dated and all(by_id[i].published_at.year == 2022 for i in dated)  # type: ignore[union-attr]
