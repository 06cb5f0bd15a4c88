"""The evaluation on a terminal: a live progress bar with the running accuracy, then the
summary table; and two runs side by side (`dateline eval` and `dateline eval-compare`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evals.config import RunConfig
from evals.report import compare_summaries, improved
from evals.run import RunOutcome, evaluate
from rag import Judge, Pipeline

# Summary metric → its column in the table.
_HEADERS = {
    "accuracy": "acc",
    "token_f1": "F1",
    "hits@10": "hits@10",
    "mrr@10": "MRR@10",
    "citation_recall": "cite R",
    "citation_precision": "cite P",
    "abstained": "abstain",
}


def run_with_progress(
    pipeline: Pipeline, config: RunConfig, out_dir: Path, judge: Judge, console: Any
) -> RunOutcome:
    """`evals.run.evaluate` with a progress bar that shows the accuracy so far."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    right: list[float] = []
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console) as bar:
        task = bar.add_task("Answering", total=None)

        def progress(n: int, total: int, record: dict[str, object] | None) -> None:
            if record is not None:
                metrics = record["metrics"]
                assert isinstance(metrics, dict)
                right.append(float(metrics.get("accuracy") or 0.0))
            accuracy = f"  accuracy {sum(right) / len(right):.2f}" if right else ""
            bar.update(task, completed=n, total=total, description=f"Answering{accuracy}")

        return evaluate(pipeline, config, out_dir, judge, progress=progress)


def print_summary(outcome: RunOutcome, console: Any) -> None:
    """The overall and per-type table, abstention, latency and where the report is."""
    from rich.table import Table

    summary = outcome.summary
    table = Table(title=f"{outcome.asked} asked, {outcome.skipped} resumed", box=None)
    table.add_column("group", no_wrap=True)
    for column in ("n", *_HEADERS.values()):
        table.add_column(column, justify="right")
    for group, data in {"overall": summary["overall"], **summary["by_type"]}.items():
        values = [data["metrics"].get(m) for m in _HEADERS]
        cells = ["–" if v is None else f"{v:.3f}" for v in values]
        table.add_row(group, str(data["n"]), *cells)
    console.print(table)
    abst = summary["overall"]["abstention"]
    total = summary["overall"]["latency"].get("total", {})
    figures = (
        abst["abstention_precision"],
        abst["abstention_recall"],
        abst["false_abstention_rate"],
        total.get("p50"),
        total.get("p95"),
    )
    shown = ["–" if v is None else f"{v:.2f}" for v in figures]
    console.print(
        "abstention precision {} recall {} false-abstention {}; latency p50 {} s p95 {} s".format(
            *shown
        ),
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
    console.print(
        f"report: {outcome.out_dir / 'report.md'}", highlight=False, markup=False, soft_wrap=True
    )


def print_comparison(
    runs: list[tuple[str, Path, dict[str, Any]]], console: Any, *, overall_only: bool = False
) -> None:
    """Every summary number of runs A and B and B − A, one table per question type."""
    from rich.table import Table

    for label, path, s in runs:
        cfg = s["config"]
        console.print(
            f"{label}: {path}  ({Path(cfg['questions']).name}, llm={cfg['llm']}, "
            f"judge={cfg['judge']}, {s['counts']['questions']} questions)"
        )
    rows = compare_summaries(runs[0][2], runs[1][2])
    for group in dict.fromkeys(r.group for r in rows):
        if overall_only and group != "overall":
            continue
        table = Table(title=group, title_justify="left")
        for column in ("metric", "A", "B", "B − A"):
            table.add_column(column, justify="left" if column == "metric" else "right")
        for r in rows:
            if r.group != group:
                continue
            digits = 0 if r.metric == "n" else 3  # a count, not a mean
            diff = "–" if r.diff is None else f"{r.diff:+.{digits}f}"
            better = improved(r.metric, r.diff)
            if better is not None:
                diff = f"[{'green' if better else 'red'}]{diff}[/]"
            a_cell, b_cell = ("–" if v is None else f"{v:.{digits}f}" for v in (r.a, r.b))
            table.add_row(r.metric, a_cell, b_cell, diff)
        console.print(table)
