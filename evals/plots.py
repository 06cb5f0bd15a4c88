"""The plots of an evaluation run: metrics by question type, and latency per stage."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

# The metrics plotted, in order (each a mean over questions, between 0 and 1).
PLOTTED = (
    "accuracy",
    "token_f1",
    "hits@10",
    "mrr@10",
    "evidence_recall@10",
    "citation_recall",
    "citation_precision",
)
# The answer path's stages, in order (a record may time others too).
STAGES = ("rewrite", "retrieve", "generate", "verify", "total")


def stages_timed(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """The stages the records carry timings for, the answer path's first and in order."""
    seen = {k for r in records for k in (r.get("timings") or {})}
    return [s for s in STAGES if s in seen] + sorted(seen - set(STAGES))


def _figure(width: float, height: float) -> Any:
    # The object API with the Agg canvas: no pyplot global state, no display needed.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def plot_metrics_by_type(summary: Mapping[str, Any], path: Path) -> None:
    """Grouped bars: one group per metric, one bar per question type (and overall)."""
    groups = {"overall": summary["overall"], **summary["by_type"]}
    fig = _figure(max(8.0, 1.4 * len(PLOTTED) + 0.3 * len(groups)), 4.8)
    ax = fig.add_subplot()
    width = 0.8 / len(groups)
    for i, (name, group) in enumerate(groups.items()):
        values = [group["metrics"].get(m) for m in PLOTTED]
        heights = [float("nan") if v is None else float(v) for v in values]
        xs = [j - 0.4 + width * (i + 0.5) for j in range(len(PLOTTED))]
        ax.bar(xs, heights, width, label=f"{name} (n={group['n']})")
    ax.set_xticks(range(len(PLOTTED)))
    ax.set_xticklabels(PLOTTED, rotation=20, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("mean over questions")
    ax.set_title("Metrics by question type")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(
        fontsize="small", ncols=min(len(groups), 4), loc="upper center", bbox_to_anchor=(0.5, -0.25)
    )
    fig.tight_layout()
    fig.savefig(path)


def plot_latency(records: Sequence[Mapping[str, Any]], path: Path) -> None:
    """Box plot of the seconds each stage took, one box per stage."""
    stages = [s for s in stages_timed(records) if s != "rewrite"] or ["total"]
    data = [
        [float(r["timings"][s]) for r in records if s in (r.get("timings") or {})] for s in stages
    ]
    fig = _figure(7.0, 4.2)
    ax = fig.add_subplot()
    if any(data):
        ax.boxplot([d or [0.0] for d in data], tick_labels=stages, showmeans=True)
    else:
        ax.text(0.5, 0.5, "no timings recorded", ha="center", va="center", transform=ax.transAxes)
    ax.set_ylabel("seconds per question")
    ax.set_title(f"Latency per stage ({len(records)} questions)")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
