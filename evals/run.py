"""Running an evaluation: every question through `Pipeline.ask`, scored, saved as it finishes.

A run lives in one output folder:

- ``run.json``: the run's configuration (question set and its content hash, LLM, judge,
  sample/seed/limit, store). A later run into the same folder resumes it, skipping the
  questions already in ``results.jsonl``, when the configuration matches; otherwise it is
  refused (use a new ``--out`` or ``--restart``). ``--limit`` may change between runs: it
  only says how far down the same list of questions to go.
- ``results.jsonl``: one JSON object per finished question, appended and flushed as each
  question finishes, so an interrupted run loses at most the question in flight.
- ``summary.json``, ``report.md`` and the plots: written by `evals.report` at the end.

Questions go through the same `Pipeline.ask` as the chat (with the question's ``as_of``),
so the numbers describe what users get.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evals.datasets import Question, load_questions, stratified_sample
from evals.metrics import (
    Judge,
    LexicalJudge,
    citation_scores,
    evidence_recall_at_k,
    exact_match,
    gold_citation_share,
    hits_at_k,
    map_at_k,
    mrr_at_k,
    multihop_accuracy,
    token_f1,
)
from rag.errors import ConfigError, DatelineError, InputError
from rag.types import Answer

if TYPE_CHECKING:
    from rag import Pipeline, Settings

RUN_FILE = "run.json"
RESULTS_FILE = "results.jsonl"
RUN_FORMAT = 1
TOP_RETRIEVED = 10  # retrieved chunks kept per question (and scored: Hits@10, MRR@10 ...)
JUDGES = ("lexical", "llm", "openai")

# Configuration fields that must agree for a run to be resumed: anything that changes the
# answer to, or the score of, a question already in results.jsonl.
_RESUME_FIELDS = ("questions_sha256", "llm", "llm_model", "judge", "sample", "seed", "store")

_MARKER = re.compile(r"\s*\[\d+\]")


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class RunConfig:
    """What a run evaluates; stored in run.json and compared on resume."""

    questions: str  # the question file as given (resolved)
    questions_sha256: str  # its content: an edited file is a different question set
    questions_format: str  # "jsonl" (ours) or "multihop" (MultiHop-RAG's dev_queries.json)
    llm: str
    llm_model: str | None
    judge: str  # lexical | llm | openai: who scores citations
    sample: int | None
    seed: int | None  # only meaningful with sample
    limit: int | None
    store: str  # where the articles are (the store location)
    corpus: tuple[str, ...] = ()  # what was ingested before the run (informative)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["corpus"] = list(self.corpus)
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunConfig:
        values: dict[str, Any] = {k: data.get(k) for k in cls.__dataclass_fields__}
        values["corpus"] = tuple(data.get("corpus") or ())
        return cls(**values)

    def mismatches(self, other: RunConfig) -> list[str]:
        """The resume-relevant fields that differ, as 'field: stored → now' lines."""
        return [
            f"{name}: {getattr(other, name)!r} → {getattr(self, name)!r}"
            for name in _RESUME_FIELDS
            if getattr(self, name) != getattr(other, name)
        ]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def questions_format(path: Path) -> str:
    """'multihop' for a JSON array (MultiHop-RAG's queries), 'jsonl' for our format."""
    with path.open("rb") as f:
        head = f.read(4096).decode("utf-8-sig", errors="replace").lstrip()
    return "multihop" if head.startswith("[") else "jsonl"


def make_config(
    questions_path: Path,
    settings: Settings,
    *,
    judge: str,
    sample: int | None = None,
    seed: int | None = None,
    limit: int | None = None,
    corpus: Sequence[Path] = (),
) -> RunConfig:
    """The configuration of a run of `questions_path` on the store and LLM of `settings`."""
    if not questions_path.is_file():
        raise InputError(str(questions_path), "no such file; check the path to the question set")
    return RunConfig(
        questions=str(questions_path.resolve()),
        questions_sha256=file_sha256(questions_path),
        questions_format=questions_format(questions_path),
        llm=settings.llm,
        llm_model=settings.llm_model,
        judge=judge,
        sample=sample,
        seed=(seed if seed is not None else 0) if sample is not None else None,
        limit=limit,
        store=settings.store_location,
        corpus=tuple(str(Path(p).resolve()) for p in corpus),
    )


def default_out_dir(questions_path: Path, llm: str, now: datetime | None = None) -> Path:
    """eval-out/<questions stem>-<llm>-<YYYYmmdd-HHMMSS> under the working directory."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    return Path("eval-out") / f"{questions_path.stem}-{llm}-{stamp}"


def select_questions(
    questions: Sequence[Question],
    *,
    sample: int | None = None,
    seed: int | None = None,
    limit: int | None = None,
) -> list[Question]:
    """A stratified sample (when asked), then the first `limit` of it (when asked)."""
    chosen = list(questions)
    if sample is not None:
        chosen = stratified_sample(chosen, sample, seed or 0)
    if limit is not None:
        if limit < 0:
            raise ValueError(f"limit must be zero or more, got {limit}")
        chosen = chosen[:limit]
    return chosen


def load_selection(config: RunConfig) -> list[Question]:
    """The questions a configuration asks, in order."""
    return select_questions(
        load_questions(Path(config.questions)),
        sample=config.sample,
        seed=config.seed,
        limit=config.limit,
    )


# --------------------------------------------------------------------------- judges


class LLMJudge:
    """A generative model as a yes/no judge of whether evidence states a claim.

    Uses prompts/judge.md. Replies are cached per (claim, evidence): citation precision asks
    about the same claim with several subsets of its citations.
    """

    def __init__(self, llm: Any) -> None:
        self._llm = llm
        self._cache: dict[tuple[str, tuple[str, ...]], bool] = {}

    def supports(self, claim: str, evidence: Sequence[str]) -> bool:
        key = (claim, tuple(evidence))
        if key not in self._cache:
            text = " ".join(e.strip() for e in evidence if e.strip())
            if not text:
                self._cache[key] = False
            else:
                from prompts import render
                from rag.llm import Message

                reply = self._llm.complete(
                    [Message("user", render("judge", claim=claim, evidence=text))],
                    max_tokens=3,
                )
                self._cache[key] = reply.strip().lower().startswith("yes")
        return self._cache[key]


def _as_backend(settings: Settings, llm: str) -> Settings:
    # llm_model names a model of the answering backend (a GGUF path for local, a model name
    # for openai): it only carries over to a judge on the same backend.
    return settings.with_(llm=llm, llm_model=settings.llm_model if settings.llm == llm else None)


def make_judge(name: str | None, settings: Settings) -> tuple[Judge, str, str]:
    """(judge, its name, a line saying which judge and why) for --judge lexical|llm|openai.

    None picks the local model when it is installed, else the lexical judge.
    """
    from rag.llm import get_llm

    if name is not None and name not in JUDGES:
        raise ConfigError(f"--judge {name!r} is not one of: {', '.join(JUDGES)}")
    if name == "lexical":
        return LexicalJudge(), "lexical", "judge: lexical (shared content words and numbers)"
    if name == "openai":
        llm = get_llm(_as_backend(settings, "openai"))
        return LLMJudge(llm), "openai", f"judge: openai ({llm.name})"
    try:
        local = get_llm(_as_backend(settings, "local"))
    except DatelineError as exc:
        if name == "llm":
            raise ConfigError(f"--judge llm needs the local model: {exc}") from None
        return (
            LexicalJudge(),
            "lexical",
            f"judge: lexical (the local model is not available: {exc})",
        )
    return LLMJudge(local), "llm", f"judge: llm ({local.name}, yes/no on each citation)"


# --------------------------------------------------------------------------- scoring


def strip_markers(text: str) -> str:
    """Answer text without its [n] citation markers."""
    return re.sub(r"\s+([.,;:!?])", r"\1", _MARKER.sub("", text)).strip()


def _best(score: Callable[[str, str], float], prediction: str, golds: Sequence[str]) -> float:
    return max((score(prediction, g) for g in golds), default=0.0)


def score_answer(question: Question, answer: Answer, judge: Judge) -> dict[str, Any]:
    """The per-question record: what was asked, what came back, and every metric.

    Metrics that do not apply are None (left out of the means): retrieval needs gold
    evidence on an answerable question, citations need an answer that did not abstain,
    exact match and F1 need reference answers.
    """
    retrieved = [h.chunk.text for h in answer.retrieved[:TOP_RETRIEVED]]
    facts = [e.text for e in question.evidence]
    prediction = answer.short_answer or strip_markers(answer.answer)
    metrics: dict[str, float | None] = {}

    if question.answerable:
        metrics["accuracy"] = _best(multihop_accuracy, prediction, question.answers)
    else:
        metrics["accuracy"] = 1.0 if answer.abstained else 0.0
    golds = list(question.answers)
    metrics["exact_match"] = exact_match(prediction, golds) if golds else None
    metrics["token_f1"] = token_f1(prediction, golds) if golds else None

    with_evidence = question.answerable and bool(facts)
    metrics["hits@4"] = hits_at_k(retrieved, facts, 4) if with_evidence else None
    metrics["hits@10"] = hits_at_k(retrieved, facts, 10) if with_evidence else None
    metrics["mrr@10"] = mrr_at_k(retrieved, facts, 10) if with_evidence else None
    metrics["map@10"] = map_at_k(retrieved, facts, 10) if with_evidence else None
    metrics["evidence_recall@10"] = (
        evidence_recall_at_k(retrieved, facts, 10) if with_evidence else None
    )

    by_n = {c.n: c.text for c in answer.citations}
    sentences = [
        (strip_markers(v.text), [by_n[n] for n in v.citations if n in by_n])
        for v in answer.verification
    ]
    if answer.abstained or not sentences:
        metrics["citation_recall"] = None
        metrics["citation_precision"] = None
        metrics["gold_citation_share"] = None
    else:
        cites = citation_scores(sentences, judge)
        metrics["citation_recall"] = cites["citation_recall"]
        metrics["citation_precision"] = cites["citation_precision"]
        metrics["gold_citation_share"] = (
            gold_citation_share([cited for _claim, cited in sentences], facts) if facts else None
        )
    metrics["abstained"] = 1.0 if answer.abstained else 0.0

    return {
        "id": question.id,
        "type": question.type,
        "question": question.question,
        "as_of": question.as_of.isoformat() if question.as_of else None,
        "answerable": question.answerable,
        "answers": golds,
        "evidence": facts,
        "prediction": answer.answer,
        "short_answer": answer.short_answer,
        "abstained": answer.abstained,
        "citations": [
            {
                "n": c.n,
                "text": c.text,
                "source": c.source,
                "title": c.title,
                "published_at": c.published_at.isoformat() if c.published_at else None,
                "verified": c.verified,
            }
            for c in answer.citations
        ],
        "verification": [v.to_json() for v in answer.verification],
        "retrieved": [
            {"text": h.chunk.text, "source": h.chunk.source, "title": h.chunk.title}
            for h in answer.retrieved[:TOP_RETRIEVED]
        ],
        "timings": {k: round(v, 4) for k, v in answer.timings.items()},
        "metrics": metrics,
        "error": None,
    }


def error_record(question: Question, message: str) -> dict[str, Any]:
    """The record of a question the pipeline refused (counted as wrong, never retried)."""
    return {
        "id": question.id,
        "type": question.type,
        "question": question.question,
        "as_of": question.as_of.isoformat() if question.as_of else None,
        "answerable": question.answerable,
        "answers": list(question.answers),
        "evidence": [e.text for e in question.evidence],
        "prediction": "",
        "short_answer": None,
        "abstained": False,
        "citations": [],
        "verification": [],
        "retrieved": [],
        "timings": {},
        "metrics": {"accuracy": 0.0, "abstained": 0.0},
        "error": message,
    }


# --------------------------------------------------------------------------- the run folder


def _read_results(path: Path) -> dict[str, dict[str, Any]]:
    """Finished records by id; a line cut short by an interrupted write is dropped.

    The file is rewritten without such a line, so that the next append starts on a line
    of its own instead of gluing onto the broken one.
    """
    if not path.exists():
        return {}
    records: dict[str, dict[str, Any]] = {}
    broken = False
    raw = path.read_text(encoding="utf-8")
    for line in raw.splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            broken = True
            continue
        if isinstance(record, dict) and isinstance(record.get("id"), str):
            records[record["id"]] = record
        else:
            broken = True
    if broken or (raw and not raw.endswith("\n")):
        tmp = path.with_suffix(".jsonl.tmp")
        tmp.write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records.values()),
            encoding="utf-8",
        )
        tmp.replace(path)
    return records


def prepare_out_dir(out_dir: Path, config: RunConfig, *, restart: bool = False) -> set[str]:
    """Create or reopen a run folder; the ids of questions already finished there.

    Refuses (ConfigError) a folder holding a run with another configuration, or files
    that are not a run, unless `restart` clears the previous run's results first.
    """
    run_file = out_dir / RUN_FILE
    results = out_dir / RESULTS_FILE
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"--out {out_dir} is a file, not a folder; choose another --out")
    if restart:
        for name in (RUN_FILE, RESULTS_FILE):
            (out_dir / name).unlink(missing_ok=True)
    elif run_file.exists():
        try:
            stored = RunConfig.from_json(json.loads(run_file.read_text(encoding="utf-8"))["config"])
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ConfigError(
                f"{run_file} is not a run file Dateline wrote ({exc}); use another --out, or "
                "--restart to start this folder afresh"
            ) from None
        differences = config.mismatches(stored)
        if differences:
            raise ConfigError(
                f"{out_dir} holds a run with another configuration ("
                + "; ".join(differences)
                + "); use a new --out for this run, or --restart to discard that one"
            )
    elif results.exists():
        raise ConfigError(
            f"{results} exists but {run_file} does not, so it cannot be resumed safely; "
            "use a new --out, or --restart to discard it"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    done = _read_results(results)
    write_run_file(out_dir, config, status="running")
    return set(done)


def write_run_file(out_dir: Path, config: RunConfig, *, status: str) -> None:
    run_file = out_dir / RUN_FILE
    previous: dict[str, Any] = {}
    if run_file.exists():
        try:
            previous = json.loads(run_file.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            previous = {}
    now = datetime.now().astimezone().isoformat(timespec="seconds")
    data = {
        "format": RUN_FORMAT,
        "config": config.to_json(),
        "status": status,
        "started_at": previous.get("started_at", now),
        "updated_at": now,
    }
    tmp = run_file.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(run_file)


def read_results(out_dir: Path) -> dict[str, dict[str, Any]]:
    """The records in a run folder's results.jsonl, by question id."""
    return _read_results(out_dir / RESULTS_FILE)


# --------------------------------------------------------------------------- running

# Called once before the first question (done = already finished, record None) and after
# each question with its record; raising from it stops the run (the results stay).
Progress = Callable[[int, int, dict[str, Any] | None], None]


@dataclass
class RunOutcome:
    """What one call of `run_questions` / `evaluate` did."""

    out_dir: Path
    asked: int = 0  # questions sent to the pipeline in this call
    skipped: int = 0  # finished in an earlier call
    records: list[dict[str, Any]] = field(default_factory=list)  # the selection's, in order
    summary: dict[str, Any] = field(default_factory=dict)


def run_questions(
    pipeline: Pipeline,
    questions: Sequence[Question],
    out_dir: Path,
    judge: Judge,
    *,
    done: set[str] | None = None,
    progress: Progress | None = None,
) -> RunOutcome:
    """Ask every question not in `done`, appending each record to results.jsonl at once."""
    done = set(done or ())
    todo = [q for q in questions if q.id not in done]
    outcome = RunOutcome(out_dir=out_dir, skipped=len(questions) - len(todo))
    total = len(questions)
    finished = outcome.skipped
    if progress:
        progress(finished, total, None)
    with (out_dir / RESULTS_FILE).open("a", encoding="utf-8") as sink:
        for q in todo:
            try:
                answer = pipeline.ask(q.question, as_of=q.as_of)
            except InputError as exc:  # this question, not the system: record and go on
                record = error_record(q, str(exc))
            else:
                record = score_answer(q, answer, judge)
            sink.write(json.dumps(record, ensure_ascii=False) + "\n")
            sink.flush()
            os.fsync(sink.fileno())
            outcome.asked += 1
            finished += 1
            if progress:
                progress(finished, total, record)
    return outcome


def evaluate(
    pipeline: Pipeline,
    config: RunConfig,
    out_dir: Path,
    judge: Judge,
    *,
    restart: bool = False,
    progress: Progress | None = None,
) -> RunOutcome:
    """Run (or resume) the evaluation `config` describes and write every output file."""
    done = prepare_out_dir(out_dir, config, restart=restart)
    questions = load_selection(config)
    outcome = run_questions(pipeline, questions, out_dir, judge, done=done, progress=progress)
    return finish_run(outcome, config, questions)


def finish_run(outcome: RunOutcome, config: RunConfig, questions: Sequence[Question]) -> RunOutcome:
    """Write summary.json, report.md and the plots for the selection; mark the run finished."""
    from evals.report import write_outputs

    by_id = read_results(outcome.out_dir)
    # Only the selection: a folder resumed with a smaller --limit keeps the extra records.
    outcome.records = [by_id[q.id] for q in questions if q.id in by_id]
    outcome.summary = write_outputs(outcome.out_dir, outcome.records, config)
    write_run_file(outcome.out_dir, config, status="finished")
    return outcome
