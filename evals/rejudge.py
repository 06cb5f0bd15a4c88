"""Citation scores of a saved eval run, judged again without answering again.

Run: .venv/bin/python evals/rejudge.py RUN_DIR [--judge llm|lexical|openai] [--limit N]
     [--json FILE]

An answer takes seconds and a judged citation a fraction of that, so judging a run's
citations with the LLM judge this way costs about a tenth of `dateline eval --judge llm`
(about 10 minutes for the 200-question sample on this machine, against about 2 hours). The
records keep each citation's sentence, outlet and day, which is all the judge reads; the
scores are the eval's own (ALCE citation recall and precision, `evals/citations.py`), means
over the answers that did not abstain, overall and per question type.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evals.citations import citation_scores  # noqa: E402
from evals.metrics import aggregate  # noqa: E402
from evals.run import RESULTS_FILE, make_judge  # noqa: E402
from evals.score import judged_sentences  # noqa: E402
from rag import Judge, load_settings  # noqa: E402


def judge_record(record: dict[str, Any], judge: Judge) -> dict[str, Any]:
    """A record's citation recall and precision under `judge` (None where they do not apply)."""
    out: dict[str, Any] = {"type": record.get("type"), "citation_recall": None}
    out["citation_precision"] = None
    if record.get("abstained") or not record.get("verification"):
        return out
    sentences = judged_sentences(record.get("citations", []), record["verification"])
    scores = citation_scores(sentences, judge)
    out["citation_recall"] = scores["citation_recall"]
    out["citation_precision"] = scores["citation_precision"]
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("run", type=Path, help="a `dateline eval --out` folder (or its results.jsonl)")
    p.add_argument("--judge", default="llm", choices=("llm", "lexical", "openai"))
    p.add_argument("--limit", type=int, default=None, help="only the first N records")
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)
    path = args.run / RESULTS_FILE if args.run.is_dir() else args.run
    if not path.is_file():
        p.error(f"{path}: no results file; pass the folder given to `dateline eval --out`")
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    records = records[: args.limit] if args.limit else records
    judge, name, line = make_judge(args.judge, load_settings())
    print(line, file=sys.stderr)
    rows = []
    for i, record in enumerate(records, 1):
        rows.append(judge_record(record, judge))
        if i % 20 == 0 or i == len(records):
            print(f"  judged {i} of {len(records)} answers", file=sys.stderr, flush=True)
    means = aggregate(rows)
    summary = {"run": str(path), "judge": name, "records": len(records), "means": means}
    for group, m in means.items():
        r, pr = m.get("citation_recall"), m.get("citation_precision")
        shown = "–" if r is None or pr is None else f"{r:.3f} / {pr:.3f}"
        print(f"{group:>12}  citation recall / precision {shown}  (n={int(m['n'] or 0)})")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return summary


if __name__ == "__main__":
    main()
