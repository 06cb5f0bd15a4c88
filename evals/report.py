"""Evaluation outputs: summary.json, report.md and the plots of a run, and comparing two runs."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evals.metrics import abstention_scores, aggregate, latency_summary
from evals.plots import plot_latency, plot_metrics_by_type, stages_timed
from rag import InputError

if TYPE_CHECKING:
    from evals.config import RunConfig

SUMMARY_FILE = "summary.json"
REPORT_FILE = "report.md"
METRICS_PLOT = "metrics_by_type.png"
LATENCY_PLOT = "latency.png"

# Report order; every metric a record carries is averaged, these are the ones shown.
METRICS = (
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
    "abstained",
)
RETRIEVAL = ("hits@4", "hits@10", "mrr@10", "map@10", "evidence_recall@10")
ANSWER_COLUMNS = tuple(m for m in (*METRICS, "accuracy_answerable") if m not in RETRIEVAL)
ABSTENTION = ("abstention_precision", "abstention_recall", "false_abstention_rate")

# For these, a smaller number is better (comparisons colour the difference accordingly).
LOWER_IS_BETTER = ("false_abstention_rate", "latency")

# MultiHop-RAG (Tang & Yang, COLM 2024), Tables 5-6, as quoted in the data set's README.
PAPER = {
    "accuracy": [
        ("GPT-4 with retrieved chunks", 0.56),
        ("GPT-4 with the gold evidence", 0.89),
    ],
    "hits@10": [("voyage-02 + bge-reranker-large (best in the paper)", 0.7467)],
    "hits@4": [("voyage-02 + bge-reranker-large (best in the paper)", 0.6625)],
    "mrr@10": [("voyage-02 + bge-reranker-large (best in the paper)", 0.5860)],
}


# --------------------------------------------------------------------------- summary


def _group(records: Sequence[Mapping[str, Any]], means: Mapping[str, float | None]) -> dict:
    answerable = [r for r in records if r.get("answerable")]
    acc = [r["metrics"]["accuracy"] for r in answerable if r["metrics"].get("accuracy") is not None]
    metrics: dict[str, float | None] = {m: means.get(m) for m in METRICS}
    metrics.update({k: v for k, v in means.items() if k not in metrics and k != "n"})
    metrics["accuracy_answerable"] = sum(acc) / len(acc) if acc else None
    abst = abstention_scores([(bool(r["answerable"]), bool(r["abstained"])) for r in records])
    latency = {
        stage: latency_summary(
            [float(r["timings"][stage]) for r in records if stage in (r.get("timings") or {})]
        )
        for stage in stages_timed(records)
    }
    return {"n": len(records), "metrics": metrics, "abstention": abst, "latency": latency}


def summarize(records: Sequence[Mapping[str, Any]], config: RunConfig) -> dict[str, Any]:
    """Everything averaged, overall and per question type, with counts and the config."""
    rows = [{"type": r["type"], **r["metrics"]} for r in records]
    means = aggregate(rows) if rows else {"overall": {}}
    by_type_records: dict[str, list[Mapping[str, Any]]] = {}
    for r in records:
        by_type_records.setdefault(str(r["type"]), []).append(r)
    return {
        "config": config.to_json(),
        "created_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "counts": {
            "questions": len(records),
            "answerable": sum(1 for r in records if r["answerable"]),
            "unanswerable": sum(1 for r in records if not r["answerable"]),
            "with_evidence": sum(1 for r in records if r["answerable"] and r["evidence"]),
            "abstained": sum(1 for r in records if r["abstained"]),
            "errors": sum(1 for r in records if r.get("error")),
        },
        "overall": _group(records, means["overall"]),
        "by_type": {t: _group(rs, means[t]) for t, rs in by_type_records.items()},
    }


# --------------------------------------------------------------------------- report.md


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _cell(text: Any) -> str:
    # Markdown tables break on "|" and newlines inside a cell.
    return " ".join(str(text).split()).replace("|", "\\|")


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _badness(record: Mapping[str, Any]) -> tuple[float, ...]:
    m = record.get("metrics") or {}

    def value(name: str, missing: float) -> float:
        v = m.get(name)
        return float(v) if v is not None else missing

    return (
        0.0 if record.get("error") else 1.0,
        value("accuracy", 0.0),
        value("citation_recall", 1.0),
        value("token_f1", 0.0),
        value("hits@10", 1.0),
    )


def worst_failures(records: Sequence[Mapping[str, Any]], n: int = 10) -> list[Mapping[str, Any]]:
    """Wrong answers first, then answers with unsupported sentences; worst first."""
    failed = [
        r
        for r in records
        if r.get("error")
        or (r["metrics"].get("accuracy") or 0.0) < 1.0
        or (r["metrics"].get("citation_recall") is not None and r["metrics"]["citation_recall"] < 1)
    ]
    return sorted(failed, key=_badness)[:n]


def _failure_lines(i: int, r: Mapping[str, Any]) -> list[str]:
    m = r["metrics"]
    gold = "; ".join(r["answers"]) or "(none)"
    if not r["answerable"]:
        gold += " — unanswerable: the right response is to abstain"
    lines = [
        f"### {i}. `{r['id']}` ({r['type']})",
        "",
        f"- **Question:** {_cell(r['question'])}",
        f"- **Gold:** {_cell(gold)}",
        f"- **Answer:** {_cell(r['error'] or r['prediction'])}"
        + (" *(abstained)*" if r["abstained"] else ""),
    ]
    if r.get("short_answer") and not r["abstained"]:
        lines.append(f"- **Short answer:** {_cell(r['short_answer'])}")
    scores = ", ".join(
        f"{k} {_fmt(m.get(k))}"
        for k in ("accuracy", "token_f1", "hits@10", "citation_recall", "citation_precision")
        if m.get(k) is not None
    )
    lines.append(f"- **Scores:** {scores}")
    for c in r["citations"]:
        mark = "" if c["verified"] else " *(unverified)*"
        lines.append(f"  - [{c['n']}] {_cell(c['source'])}: “{_cell(c['text'])}”{mark}")
    for e in r["evidence"][:4]:
        lines.append(f"  - gold evidence: “{_cell(e)}”")
    return [*lines, ""]


def render_report(summary: Mapping[str, Any], records: Sequence[Mapping[str, Any]]) -> str:
    """report.md: overall and per-type tables, abstention, latency, worst failures, config."""
    cfg = summary["config"]
    overall = summary["overall"]
    counts = summary["counts"]
    title = f"{Path(cfg['questions']).name} with llm={cfg['llm']}"
    out = [
        f"# Evaluation: {title}",
        "",
        f"{counts['questions']} questions ({counts['answerable']} answerable, "
        f"{counts['unanswerable']} unanswerable; {counts['with_evidence']} with gold "
        f"evidence), {counts['abstained']} abstentions, {counts['errors']} errors. "
        f"Citations judged by: {cfg['judge']}. Written {summary['created_at']}.",
        "",
        "## Overall",
        "",
    ]
    names = [*METRICS, "accuracy_answerable"]
    out += _table(["metric", "value"], [[m, _fmt(overall["metrics"].get(m))] for m in names])
    out += ["", "Metrics that do not apply to a question (retrieval without gold evidence,"]
    out += ["citations of an abstention) are left out of its mean; – means no question had it."]
    if cfg.get("questions_format") == "multihop":
        out += ["", "## Against MultiHop-RAG's published numbers", ""]
        for metric, refs in PAPER.items():
            ours = overall["metrics"].get(metric)
            for label, ref in refs:
                diff = f" ({ours - ref:+.3f})" if ours is not None else ""
                out.append(f"- {metric}: ours {_fmt(ours)} vs {label} {ref:.4g}{diff}")
        answerable = _fmt(overall["metrics"].get("accuracy_answerable"))
        out.append(
            f"- accuracy on answerable questions only: {answerable} (the accuracy above "
            "counts an abstention on a null query as right)"
        )
        out.append("- retrieval is scored over answerable questions only, as in the paper.")

    out += ["", "## By question type"]
    groups = {"overall": overall, **summary["by_type"]}
    for part, shown in (("answers and citations", ANSWER_COLUMNS), ("retrieval", RETRIEVAL)):
        out += ["", f"{part.capitalize()}:", ""]
        out += _table(
            ["type", "n", *shown],
            [[g, s["n"], *(_fmt(s["metrics"].get(m)) for m in shown)] for g, s in groups.items()],
        )
    out += ["", f"![metrics by type]({METRICS_PLOT})", "", "## Abstention", ""]
    out += _table(
        ["group", "unanswerable", "abstained", "precision", "recall", "false abstention rate"],
        [
            [
                g,
                s["abstention"]["n_unanswerable"],
                s["abstention"]["n_abstained"],
                *(_fmt(s["abstention"][k]) for k in ABSTENTION),
            ]
            for g, s in groups.items()
        ],
    )
    out += [
        "",
        "Precision: share of abstentions on unanswerable questions; recall: share of "
        "unanswerable questions abstained on; false abstention: share of answerable ones.",
        "",
        "## Latency (seconds per question)",
        "",
    ]
    out += _table(
        ["stage", "p50", "p95", "mean", "max"],
        [
            [stage, *(_fmt(lat[k], 2) for k in ("p50", "p95", "mean", "max"))]
            for stage, lat in overall["latency"].items()
        ],
    )
    out += ["", f"![latency]({LATENCY_PLOT})", "", "## The worst failures", ""]
    worst = worst_failures(records)
    if not worst:
        out += ["None: every answer was right and every sentence supported.", ""]
    for i, r in enumerate(worst, start=1):
        out += _failure_lines(i, r)
    out += ["## Configuration", ""]
    out += _table(
        ["setting", "value"],
        [[k, ", ".join(v) if isinstance(v, list) else _fmt(v)] for k, v in cfg.items()],
    )
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- writing


def write_outputs(
    out_dir: Path, records: Sequence[Mapping[str, Any]], config: RunConfig
) -> dict[str, Any]:
    """summary.json, report.md, metrics_by_type.png and latency.png; returns the summary."""
    summary = summarize(records, config)
    (out_dir / SUMMARY_FILE).write_text(
        json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (out_dir / REPORT_FILE).write_text(render_report(summary, records), encoding="utf-8")
    plot_metrics_by_type(summary, out_dir / METRICS_PLOT)
    plot_latency(records, out_dir / LATENCY_PLOT)
    return summary


# --------------------------------------------------------------------------- comparing runs


def load_summary(path: Path) -> dict[str, Any]:
    """A summary.json, given the file or the run folder holding it."""
    file = path / SUMMARY_FILE if path.is_dir() else path
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(
            str(file), "no such file; give a run folder of `dateline eval` or its summary.json"
        ) from None
    except json.JSONDecodeError as e:
        raise InputError(str(file), f"not valid JSON ({e.msg} at line {e.lineno})") from None
    if not isinstance(data, dict) or "overall" not in data or "by_type" not in data:
        raise InputError(str(file), "not a summary.json written by `dateline eval`")
    return data


def flatten(group: Mapping[str, Any]) -> dict[str, float | None]:
    """One group's numbers as name → value: metrics, abstention rates, latency p50/p95."""
    out: dict[str, float | None] = {"n": float(group["n"])}
    out.update({k: v for k, v in group["metrics"].items()})
    out.update({k: group["abstention"].get(k) for k in ABSTENTION})
    for stage, lat in group["latency"].items():
        out[f"latency {stage} p50"] = lat.get("p50")
        out[f"latency {stage} p95"] = lat.get("p95")
    return out


@dataclass(frozen=True)
class ComparisonRow:
    """One number of two runs side by side."""

    group: str  # "overall" or a question type
    metric: str
    a: float | None
    b: float | None

    @property
    def diff(self) -> float | None:
        return None if self.a is None or self.b is None else self.b - self.a


def compare_summaries(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[ComparisonRow]:
    """Every number of A and B per group (overall first, then the types of A, then B's)."""
    groups = ["overall", *a["by_type"], *(t for t in b["by_type"] if t not in a["by_type"])]
    rows: list[ComparisonRow] = []
    for g in groups:
        fa, fb = _flat_group(a, g), _flat_group(b, g)
        names = list(fa) + [k for k in fb if k not in fa]
        rows += [ComparisonRow(g, k, fa.get(k), fb.get(k)) for k in names]
    return rows


def _flat_group(summary: Mapping[str, Any], group: str) -> dict[str, float | None]:
    if group == "overall":
        return flatten(summary["overall"])
    return flatten(summary["by_type"][group]) if group in summary["by_type"] else {}


def improved(metric: str, diff: float | None) -> bool | None:
    """Whether a difference B - A is an improvement (None: no difference or no direction)."""
    if diff is None or diff == 0 or metric in ("n", "abstained"):
        return None
    lower = any(metric.startswith(p) for p in LOWER_IS_BETTER)
    return diff < 0 if lower else diff > 0
