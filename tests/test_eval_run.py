"""Tests for evals/run.py, evals/report.py and the `dateline eval` / `eval-compare` commands.

One store of the bundled samples/ articles is ingested once for the module, and answered
with the extractive backend (no generative model), through the same Pipeline.ask as the chat.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dateline_cli import app
from evals import rejudge
from evals.citations import LexicalJudge
from evals.config import RunConfig, load_selection, make_config, select_questions
from evals.datasets import Evidence, Question, load_questions
from evals.report import (
    LATENCY_PLOT,
    METRICS_PLOT,
    compare_summaries,
    load_summary,
    render_report,
)
from evals.run import RESULTS_FILE, RunOutcome, evaluate, make_judge, prepare_out_dir
from evals.score import score_answer
from rag import (
    Answer,
    Citation,
    ConfigError,
    LLMJudge,
    Pipeline,
    SentenceCheck,
    Settings,
    get_pipeline,
)
from tests.fakes import ScriptedLLM

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
BUNDLED = ROOT / "evals" / "questions" / "sample.jsonl"
SMALL = Path(__file__).resolve().parent / "data" / "evalrun_questions.jsonl"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
METRIC_KEYS = (
    "accuracy",
    "exact_match",
    "token_f1",
    "hits@4",
    "hits@10",
    "mrr@10",
    "map@10",
    "evidence_recall@10",
    "citation_recall",
    "citation_precision",
    "gold_citation_share",
)


@pytest.fixture(scope="module")
def store_settings(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Settings:
    # The same values `dateline eval --store DIR --llm extractive` builds, so the CLI test
    # gets this very pipeline from get_pipeline (one Chroma client per folder per process).
    return Settings(
        data_dir=tmp_path_factory.mktemp("evalrun") / "data",
        llm="extractive",
        model_cache_dir=model_cache,
    )


@pytest.fixture(scope="module")
def pipeline(store_settings: Settings) -> Pipeline:
    pipe = get_pipeline(store_settings)
    report = pipe.ingest([SAMPLES])
    assert report.ok and report.added
    return pipe


@pytest.fixture(scope="module")
def full_run(
    pipeline: Pipeline, store_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> RunOutcome:
    """The bundled question set, a stratified sample of 6 (3 fact, 1 each of the others)."""
    config = make_config(BUNDLED, store_settings, judge="lexical", sample=6, seed=1)
    out = tmp_path_factory.mktemp("evalrun-out") / "run"
    return evaluate(pipeline, config, out, LexicalJudge())


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# --------------------------------------------------------------------------- end to end


def test_full_run_writes_every_output(full_run: RunOutcome) -> None:
    out = full_run.out_dir
    selection = load_selection(RunConfig.from_json(full_run.summary["config"]))
    assert [q.type for q in selection].count("null") == 1
    assert len(selection) == 6

    records = _lines(out / RESULTS_FILE)
    assert [r["id"] for r in records] == [q.id for q in selection]  # one line per question
    assert full_run.asked == 6 and full_run.skipped == 0

    for name in (METRICS_PLOT, LATENCY_PLOT):
        data = (out / name).read_bytes()
        assert data[:8] == PNG_MAGIC
        assert len(data) > 5_000  # a drawn chart, not an empty canvas

    report = (out / "report.md").read_text(encoding="utf-8")
    for heading in ("## Overall", "## By question type", "## Abstention", "## Latency"):
        assert heading in report
    assert "## The worst failures" in report and "## Configuration" in report
    for qtype in {q.type for q in selection}:
        assert f"| {qtype} |" in report
    assert "MultiHop-RAG" not in report  # our own question format: no paper comparison

    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run["status"] == "finished" and run["config"]["sample"] == 6


def test_rejudge_scores_a_saved_run_as_the_run_did(full_run: RunOutcome, tmp_path: Path) -> None:
    # Judged again from the saved records alone, the citations score what the run scored.
    summary = json.loads((full_run.out_dir / "summary.json").read_text(encoding="utf-8"))
    out = tmp_path / "rejudged.json"
    again = rejudge.main([str(full_run.out_dir), "--judge", "lexical", "--json", str(out)])
    m = summary["overall"]["metrics"]
    assert m["citation_recall"] is not None
    assert again["means"]["overall"]["citation_recall"] == pytest.approx(m["citation_recall"])
    assert again["means"]["overall"]["citation_precision"] == pytest.approx(m["citation_precision"])
    assert json.loads(out.read_text(encoding="utf-8"))["records"] == 6


def test_summary_has_sensible_numbers(full_run: RunOutcome) -> None:
    summary = json.loads((full_run.out_dir / "summary.json").read_text(encoding="utf-8"))
    overall = summary["overall"]
    for key in METRIC_KEYS:
        assert key in overall["metrics"]
    m = overall["metrics"]
    assert m["hits@10"] is not None and m["hits@10"] > 0  # the evidence is in the store
    assert 0.0 <= m["accuracy"] <= 1.0
    assert m["citation_recall"] is not None  # extractive answers cite their sentences
    counts = summary["counts"]
    assert counts == {
        "questions": 6,
        "answerable": 5,
        "unanswerable": 1,
        "with_evidence": 5,
        "abstained": counts["abstained"],
        "errors": 0,
    }
    abst = overall["abstention"]
    assert abst["n_unanswerable"] == 1
    assert abst["abstention_recall"] in (0.0, 1.0)  # over the one unanswerable question
    assert summary["by_type"]["null"]["metrics"]["hits@10"] is None  # no evidence to find
    assert set(summary["by_type"]) == {"fact", "inference", "temporal", "null"}
    assert summary["by_type"]["fact"]["n"] == 3
    assert overall["latency"]["total"]["n"] == 6
    assert overall["latency"]["total"]["p95"] >= overall["latency"]["total"]["p50"] > 0

    records = _lines(full_run.out_dir / RESULTS_FILE)
    for r in records:
        assert len(r["retrieved"]) <= 10 and r["timings"]["total"] > 0
        if not r["answerable"]:
            assert r["metrics"]["accuracy"] == (1.0 if r["abstained"] else 0.0)
        if not r["abstained"]:
            assert r["citations"] and r["verification"]


def test_report_compares_with_multihop_paper_for_multihop_questions(
    full_run: RunOutcome,
) -> None:
    summary = dict(full_run.summary)
    summary["config"] = {**summary["config"], "questions_format": "multihop"}
    text = render_report(summary, full_run.records)
    assert "MultiHop-RAG" in text
    assert "0.7467" in text and "0.586" in text and "0.56" in text and "0.89" in text


# --------------------------------------------------------------------------- resuming


class _Stop(Exception):
    pass


@pytest.fixture
def counted_asks(pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    asked: list[str] = []
    real = pipeline.ask

    def ask(question: str, *args: Any, **kwargs: Any) -> Answer:
        asked.append(question)
        return real(question, *args, **kwargs)

    monkeypatch.setattr(pipeline, "ask", ask)
    yield asked


def test_resume_skips_finished_questions(
    pipeline: Pipeline, store_settings: Settings, tmp_path: Path, counted_asks: list[str]
) -> None:
    config = make_config(SMALL, store_settings, judge="lexical")
    out = tmp_path / "run"

    def stop_after_two(done: int, total: int, record: dict[str, Any] | None) -> None:
        if done == 2 and record is not None:
            raise _Stop  # as if the user pressed Ctrl-C after the second answer

    with pytest.raises(_Stop):
        evaluate(pipeline, config, out, LexicalJudge(), progress=stop_after_two)
    assert len(_lines(out / RESULTS_FILE)) == 2
    assert len(counted_asks) == 2

    seen: list[tuple[int, int]] = []
    outcome = evaluate(
        pipeline, config, out, LexicalJudge(), progress=lambda d, t, r: seen.append((d, t))
    )
    assert outcome.skipped == 2 and outcome.asked == 2
    assert len(counted_asks) == 4  # the first two were not asked again
    assert seen[0] == (2, 4) and seen[-1] == (4, 4)
    ids = [r["id"] for r in _lines(out / RESULTS_FILE)]
    assert sorted(ids) == sorted(q.id for q in load_questions(SMALL))
    assert len(ids) == len(set(ids))
    assert outcome.summary["counts"]["questions"] == 4
    as_of_record = next(r for r in outcome.records if r["id"] == "r-last-week")
    assert as_of_record["as_of"] == "2024-01-10T00:00:00+00:00"


def test_resume_refuses_another_configuration(store_settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "run"
    config = make_config(SMALL, store_settings, judge="lexical")
    prepare_out_dir(out, config)
    (out / RESULTS_FILE).write_text('{"id": "r-pay", "metrics": {}}\n', encoding="utf-8")

    other = make_config(SMALL, store_settings.with_(llm="local"), judge="lexical")
    with pytest.raises(ConfigError, match=r"--restart") as info:
        prepare_out_dir(out, other)
    assert "llm" in str(info.value) and "'extractive' → 'local'" in str(info.value)

    # A larger --limit continues the same run; --restart discards what was there.
    assert prepare_out_dir(out, make_config(SMALL, store_settings, judge="lexical", limit=3)) == {
        "r-pay"
    }
    assert prepare_out_dir(out, other, restart=True) == set()
    assert not (out / RESULTS_FILE).exists()


def test_resume_drops_a_line_cut_short(store_settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "run"
    config = make_config(SMALL, store_settings, judge="lexical")
    prepare_out_dir(out, config)
    (out / RESULTS_FILE).write_text(
        '{"id": "r-pay", "metrics": {}}\n{"id": "r-boats", "metr', encoding="utf-8"
    )
    assert prepare_out_dir(out, config) == {"r-pay"}
    assert (out / RESULTS_FILE).read_text(encoding="utf-8") == '{"id": "r-pay", "metrics": {}}\n'


def test_results_without_run_file_are_not_resumed(store_settings: Settings, tmp_path: Path) -> None:
    (tmp_path / RESULTS_FILE).write_text('{"id": "x"}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"run\.json"):
        prepare_out_dir(tmp_path, make_config(SMALL, store_settings, judge="lexical"))


# --------------------------------------------------------------------------- scoring


def _question(**changes: Any) -> Question:
    base: dict[str, Any] = {
        "id": "q",
        "question": "How many deaths were reported?",
        "answers": ("225",),
        "type": "fact",
        "evidence": (),
        "answerable": True,
        "as_of": None,
    }
    base.update(changes)
    return Question(**base)


def _citation(n: int, text: str) -> Citation:
    return Citation(n, "a1", n, 0, len(text), text, "Title", "Trend", None, None)


def test_score_answer_uses_short_answer_and_judges_citations() -> None:
    source = "Official figures report 225 deaths and over 4,500 injuries."
    answer = Answer(
        question="How many deaths were reported?",
        answer="225 deaths were reported [1]. The army left in May [2].",
        abstained=False,
        citations=(_citation(1, source), _citation(2, "The contingent left the country.")),
        verification=(
            SentenceCheck("225 deaths were reported [1].", (1,), True, 0.9),
            SentenceCheck("The army left in May [2].", (2,), False, 0.2),
        ),
        short_answer="225",
    )
    record = score_answer(_question(), answer, LexicalJudge())
    m = record["metrics"]
    assert m["accuracy"] == 1.0 and m["exact_match"] == 1.0 and m["token_f1"] == 1.0
    assert m["citation_recall"] == 0.5  # the second sentence is not in its citation
    assert m["citation_precision"] == 0.5
    assert m["hits@10"] is None and m["gold_citation_share"] is None  # no gold evidence
    assert record["citations"][0] == {
        "n": 1,
        "text": source,
        "source": "Trend",
        "title": "Title",
        "published_at": None,
        "verified": True,
    }


def test_score_answer_judges_an_attribution_with_the_citations_outlet_and_day() -> None:
    # "The Verge (28 September 2023) names X" rests on the citation's outlet and date, which
    # its sentence does not repeat; a judge shown the bare sentence rejects it.
    text = "Sam Bankman-Fried, the founder of FTX, is on trial for fraud."
    when = datetime(2023, 9, 28, 12, tzinfo=UTC)
    cited = Citation(1, "a1", 0, 0, len(text), text, "FTX trial", "The Verge", when, None)
    claim = "The Verge (28 September 2023) names Sam Bankman-Fried [1]."
    answer = Answer(
        question="Who is on trial?",
        answer=claim,
        abstained=False,
        citations=(cited,),
        verification=(SentenceCheck(claim, (1,), True, 1.0),),
        short_answer="Sam Bankman-Fried",
    )
    question = _question(answers=("Sam Bankman-Fried",), evidence=(Evidence(text, "The Verge"),))
    m = score_answer(question, answer, LexicalJudge())["metrics"]
    assert m["citation_recall"] == 1.0 and m["citation_precision"] == 1.0
    assert m["gold_citation_share"] == 1.0  # gold evidence is matched on the bare sentence
    wrong_day = replace(
        answer,
        verification=(SentenceCheck(claim.replace("28", "29"), (1,), True, 1.0),),
    )
    assert score_answer(question, wrong_day, LexicalJudge())["metrics"]["citation_recall"] == 0.0


def test_score_answer_counts_abstention_on_unanswerable_as_right() -> None:
    q = _question(answers=(), answerable=False, type="null")
    abstained = Answer(question=q.question, answer="The articles do not say.", abstained=True)
    answered = Answer(question=q.question, answer="About 300 [1].", abstained=False)
    assert score_answer(q, abstained, LexicalJudge())["metrics"]["accuracy"] == 1.0
    m = score_answer(q, answered, LexicalJudge())["metrics"]
    assert m["accuracy"] == 0.0 and m["exact_match"] is None and m["citation_recall"] is None


def test_llm_judge_asks_yes_or_no_once_per_pair() -> None:
    llm = ScriptedLLM(lambda msgs: "Yes" if "225 deaths" in msgs[0].content else "No.")
    judge = LLMJudge(llm)
    assert judge.supports("There were 225 deaths.", ["Figures report 225 deaths."])
    assert judge.supports("There were 225 deaths.", ["Figures report 225 deaths."])
    assert not judge.supports("The army left.", ["It left in May."])
    assert not judge.supports("Anything.", [" "])  # no evidence: no call, not supported
    assert len(llm.calls) == 2
    prompt = llm.calls[0][0].content
    assert "Claim: There were 225 deaths." in prompt and "Figures report 225 deaths." in prompt
    assert llm.options[0]["max_tokens"] == 3


def test_make_judge_by_name(store_settings: Settings) -> None:
    judge, name, line = make_judge("lexical", store_settings)
    assert isinstance(judge, LexicalJudge) and name == "lexical" and "lexical" in line
    with pytest.raises(ConfigError, match="lexical, llm, openai"):
        make_judge("nli", store_settings)


def test_select_questions_samples_then_limits() -> None:
    questions = load_questions(BUNDLED)
    sample = select_questions(questions, sample=6, seed=1)
    assert select_questions(questions, sample=6, seed=1, limit=2) == sample[:2]
    assert select_questions(questions, limit=3) == questions[:3]


# --------------------------------------------------------------------------- the commands


def test_cli_eval_runs_and_refuses_a_mismatched_resume(
    pipeline: Pipeline, store_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The CLI reads its settings from the environment: the same model cache as the fixture.
    monkeypatch.setenv("DATELINE_MODEL_CACHE_DIR", str(store_settings.model_cache_dir))
    out = tmp_path / "cli-run"
    base = ["eval", str(SMALL), "--store", str(store_settings.data_dir), "--out", str(out)]
    base += ["--judge", "lexical"]
    args = [*base, "--corpus", str(SAMPLES), "--llm", "extractive", "--limit", "1"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "judge: lexical" in result.output
    assert "unchanged 6" in result.output  # the store was reused, nothing re-embedded
    assert f"report: {out / 'report.md'}" in result.output
    assert len(_lines(out / RESULTS_FILE)) == 1
    assert load_summary(out)["counts"]["questions"] == 1

    other = CliRunner().invoke(app, [*base, "--llm", "local"])
    assert other.exit_code == 2
    assert "another configuration" in other.output and "--restart" in other.output


def test_cli_eval_names_a_missing_question_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.jsonl"
    result = CliRunner().invoke(app, ["eval", str(missing), "--llm", "extractive"])
    assert result.exit_code == 2
    assert "nope.jsonl" in result.output and "no such file" in result.output


def test_compare_prints_differences(full_run: RunOutcome, tmp_path: Path) -> None:
    a = full_run.out_dir / "summary.json"
    changed = json.loads(a.read_text(encoding="utf-8"))
    old_accuracy = changed["overall"]["metrics"]["accuracy"]
    changed["overall"]["metrics"]["accuracy"] = old_accuracy + 0.25
    b = tmp_path / "summary.json"
    b.write_text(json.dumps(changed), encoding="utf-8")

    rows = compare_summaries(load_summary(a), load_summary(b))
    acc = next(r for r in rows if r.group == "overall" and r.metric == "accuracy")
    assert acc.diff == pytest.approx(0.25)
    assert {r.group for r in rows} == {"overall", "fact", "inference", "temporal", "null"}

    result = CliRunner().invoke(app, ["eval-compare", str(full_run.out_dir), str(b)])
    assert result.exit_code == 0, result.output
    assert "accuracy" in result.output and "+0.250" in result.output
    assert "+0.000" in result.output  # unchanged numbers show a zero difference
    assert "fact" in result.output  # per type tables too

    broken = CliRunner().invoke(app, ["eval-compare", str(tmp_path / "none"), str(b)])
    assert broken.exit_code == 2 and "summary.json" in broken.output
