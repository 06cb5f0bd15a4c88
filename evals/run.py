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

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from evals.citations import LexicalJudge
from evals.config import RunConfig, load_selection
from evals.datasets import Question
from evals.score import error_record, score_answer
from rag import (
    ConfigError,
    DatelineError,
    InputError,
    Judge,
    LLMJudge,
    Pipeline,
    Settings,
    get_llm,
)

RUN_FILE = "run.json"
RESULTS_FILE = "results.jsonl"
RUN_FORMAT = 1
JUDGES = ("lexical", "llm", "openai")


# --------------------------------------------------------------------------- judges


def _as_backend(settings: Settings, llm: str) -> Settings:
    # llm_model names a model of the answering backend (a GGUF path for local, a model name
    # for openai): it only carries over to a judge on the same backend.
    return settings.with_(llm=llm, llm_model=settings.llm_model if settings.llm == llm else None)


def make_judge(name: str | None, settings: Settings) -> tuple[Judge, str, str]:
    """(judge, its name, a line saying which judge and why) for --judge lexical|llm|openai.

    None picks the local model when it is installed, else the lexical judge.
    """
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
