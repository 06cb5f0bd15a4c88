"""Hybrid retrieval on a real Chroma store and the real MiniLM: outlets, dates, filters, and
the single-sentence ranker."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rag.config import Settings
from rag.pipeline import Pipeline
from rag.query import Filters, plan_query

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


@pytest.fixture(scope="module")
def pipe(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Pipeline:
    folder = tmp_path_factory.mktemp("corpus")
    (folder / "news.json").write_text(json.dumps(CORPUS), encoding="utf-8")
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("store"),
        llm="extractive",
        model_cache_dir=model_cache,
        chunk_max_tokens=128,  # several chunks for the long report
    )
    pipeline = Pipeline(settings)
    assert pipeline.ingest([folder]).ok
    return pipeline


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
    plan = plan_query("What happened at the port on January 5, 2022?", pipe.known_sources())
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
