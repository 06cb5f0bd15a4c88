"""Tests for evals/datasets.py: both question formats, errors for people, stratified sampling."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from evals.datasets import (
    Evidence,
    Question,
    load_multihop,
    load_questions,
    stratified_sample,
)
from rag.errors import InputError

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).parent.parent
SAMPLE_SET = REPO / "evals" / "questions" / "sample.jsonl"


def test_load_our_jsonl() -> None:
    qs = load_questions(DATA / "eval_questions.jsonl")
    assert [q.id for q in qs] == ["q1", "q2", "q3"]  # the blank line is skipped

    q1 = qs[0]
    assert q1.answers == ("225", "225 deaths")
    assert q1.type == "fact"
    assert q1.answerable is True
    assert q1.as_of == datetime(2024, 1, 10, tzinfo=UTC)  # a bare date is UTC
    assert q1.evidence == (
        Evidence(
            text=(
                "Official figures report 225 deaths and over 4,500 injuries as a result of "
                "these events, as stated by authorities."
            ),
            source="Trend News Agency",
            published_at="2024-01-03",
        ),
    )

    q2 = qs[1]
    assert q2.answers == ("Armenia",)  # "answer" as one string
    assert q2.type == "general"  # the default
    assert q2.evidence[0].text.startswith("During the appeal, Armenia")  # string shorthand
    assert q2.evidence[0].source is None
    assert q2.as_of is None

    q3 = qs[2]
    assert q3.answerable is False
    assert q3.answers == ()
    assert q3.as_of == datetime(2024, 1, 10, 9, 30, tzinfo=timezone(timedelta(hours=6)))


def test_load_multihop_format() -> None:
    path = DATA / "eval_multihop_queries.json"
    qs = load_questions(path)  # detected as MultiHop-RAG from the leading "["
    assert qs == load_multihop(path)
    assert [q.id for q in qs] == ["mh-0", "mh-1", "mh-2"]
    assert [q.type for q in qs] == ["comparison", "inference", "null"]
    assert [q.answerable for q in qs] == [True, True, False]
    assert qs[0].answers == ("Yes",)
    assert qs[0].as_of is None
    assert qs[0].evidence[1] == Evidence(
        text=(
            "Shipping delays caused by the dock workers' strike are now reaching inland warehouses."
        ),
        source="Valley Times",
        title="Retailers warn of empty shelves",
        published_at="2023-11-05T17:40:00+00:00",
        article_id=None,
    )
    assert qs[2].evidence == ()
    assert qs[2].answers == ("Insufficient information.",)


def test_broken_jsonl_names_file_line_and_field() -> None:
    path = DATA / "eval_broken.jsonl"
    with pytest.raises(InputError) as err:
        load_questions(path)
    assert err.value.origin == f"{path}:3"
    assert "'answers'" in err.value.reason
    assert "list of non-empty strings" in err.value.reason


_BASE = '{"id": "x", "question": "Why?", "answer": "a", '  # a valid record, left open

BAD_RECORDS = [
    ('{"id": "x", "question": "Why?", "answers": ["a"], ', "not valid JSON"),
    ('["x", "Why?"]', "expected a JSON object"),
    ('{"question": "Why?", "answers": ["a"]}', "field 'id' must be a non-empty string; it is"),
    ('{"id": "x", "question": "", "answers": ["a"]}', "field 'question'"),
    ('{"id": "x", "question": "Why?", "answr": ["a"]}', "unknown field 'answr'"),
    ('{"id": "x", "question": "Why?"}', "needs at least one answer"),
    (_BASE + '"answers": ["a"]}', "both given"),
    (_BASE + '"answerable": "yes"}', "'answerable'"),
    (_BASE + '"as_of": "last week"}', "'as_of'"),
    (_BASE + '"evidence": "a sentence"}', "'evidence' must be a list"),
    (_BASE + '"evidence": [{"source": "AP"}]}', "'evidence[0].text' is missing"),
    (_BASE + '"evidence": [{"text": "t", "url": "u"}]}', "'evidence[0].url' is unknown"),
    (_BASE + '"evidence": [{"text": 3}]}', "'evidence[0].text' must be"),
]


@pytest.mark.parametrize(("line", "words"), BAD_RECORDS)
def test_each_kind_of_bad_record_is_reported_on_its_line(
    tmp_path: Path, line: str, words: str
) -> None:
    good = '{"id": "ok", "question": "Who chaired the CSTO?", "answer": "Armenia"}'
    path = tmp_path / "set.jsonl"
    path.write_text(f"{good}\n\n{line}\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_questions(path)
    assert err.value.origin == f"{path}:3"
    assert words in err.value.reason


def test_duplicate_ids_name_both_lines(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    line = '{"id": "q1", "question": "Who chaired the CSTO?", "answer": "Armenia"}'
    path.write_text(f"{line}\n{line}\n", encoding="utf-8")
    with pytest.raises(InputError, match="already used on line 1") as err:
        load_questions(path)
    assert err.value.origin == f"{path}:2"


def test_missing_empty_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_questions(tmp_path / "nope.jsonl")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n  \n", encoding="utf-8")
    with pytest.raises(InputError, match="empty"):
        load_questions(empty)
    bad_json = tmp_path / "queries.json"
    bad_json.write_text('[\n  {"query": "Why?",\n  "answer": }\n]', encoding="utf-8")
    with pytest.raises(InputError, match="not valid JSON") as err:
        load_questions(bad_json)
    assert err.value.origin == f"{bad_json}:3"


def test_broken_multihop_record_is_named_by_position_and_field(tmp_path: Path) -> None:
    path = tmp_path / "queries.json"
    path.write_text(
        '[{"query": "Q?", "answer": "Yes", "question_type": "comparison_query", '
        '"evidence_list": []},'
        ' {"query": "Q2?", "answer": "no", "question_type": "inference_query", '
        '"evidence_list": [{"title": "T", "fact": ""}]}]',
        encoding="utf-8",
    )
    with pytest.raises(InputError) as err:
        load_multihop(path)
    assert err.value.origin == f"{path}#1"
    assert "'evidence_list[0].fact'" in err.value.reason


def _questions(counts: dict[str, int]) -> list[Question]:
    # Interleave types so that "keeps the original order" is a real check.
    out: list[Question] = []
    pending = dict(counts)
    i = 0
    while any(pending.values()):
        for t in counts:
            if pending[t]:
                pending[t] -= 1
                out.append(Question(f"{t}-{i}", f"q{i}?", ("a",), t, (), t != "null", None))
                i += 1
    return out


def test_stratified_sample_uses_largest_remainder() -> None:
    # 20 questions: inference 9, comparison 6, temporal 3, null 2; n = 7.
    # exact shares: 3.15, 2.1, 1.05, 0.7 -> floors 3, 2, 1, 0 (6 seats);
    # the one seat left goes to the largest remainder: null (0.7) -> 3, 2, 1, 1.
    qs = _questions({"inference": 9, "comparison": 6, "temporal": 3, "null": 2})
    sample = stratified_sample(qs, 7, seed=13)
    assert Counter(q.type for q in sample) == {
        "inference": 3,
        "comparison": 2,
        "temporal": 1,
        "null": 1,
    }
    positions = [qs.index(q) for q in sample]
    assert positions == sorted(positions)


def test_stratified_sample_is_deterministic_per_seed() -> None:
    qs = _questions({"inference": 30, "comparison": 20, "null": 10})
    a = stratified_sample(qs, 12, seed=1)
    assert a == stratified_sample(qs, 12, seed=1)
    assert a != stratified_sample(qs, 12, seed=2)
    assert Counter(q.type for q in a) == {"inference": 6, "comparison": 4, "null": 2}
    # A type's draw does not depend on the other types present.
    only_inference = [q for q in qs if q.type == "inference"]
    assert [q for q in a if q.type == "inference"] == stratified_sample(only_inference, 6, seed=1)


def test_stratified_sample_edges() -> None:
    qs = _questions({"inference": 3, "null": 1})
    assert stratified_sample(qs, 10, seed=0) == qs
    assert stratified_sample(qs, 0, seed=0) == []
    with pytest.raises(ValueError):
        stratified_sample(qs, -1, seed=0)


def test_the_shipped_sample_set_loads() -> None:
    qs = load_questions(SAMPLE_SET)
    assert len(qs) >= 10
    unanswerable = [q for q in qs if not q.answerable]
    assert 2 <= len(unanswerable) <= len(qs) // 2
    for q in qs:
        if q.answerable:
            assert q.answers and q.evidence, q.id
        else:
            assert not q.evidence, q.id


def _strings(node: object) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        node = list(node.values())
    if isinstance(node, list):
        return [s for item in node for s in _strings(item)]
    return []


def _sample_texts() -> list[str]:
    """The shipped sample articles, white space collapsed (JSON files: their string values)."""
    texts: list[str] = []
    for path in sorted((REPO / "samples").rglob("*")):
        if not path.is_file():
            continue
        raw = path.read_text(encoding="utf-8", errors="replace")
        if path.suffix == ".json":
            raw = " ".join(_strings(json.loads(raw)))
        texts.append(" ".join(raw.split()))
    return texts


def test_sample_set_evidence_is_quoted_exactly_from_the_sample_articles() -> None:
    texts = _sample_texts()
    if not texts:
        pytest.skip("no sample articles in samples/")
    for q in load_questions(SAMPLE_SET):
        for e in q.evidence:
            assert any(e.text in t for t in texts), f"{q.id}: evidence not found: {e.text!r}"
