"""Benchmark: local-LLM answer latency (time to first token, total) on MultiHop-RAG questions.

Run: .venv/bin/python evals/bench_answer.py --store DIR [--n 20] [--llm local]

The store must hold the MultiHop-RAG corpus (`dateline ingest .../corpus.json` with
DATELINE_DATA_DIR=DIR, or evals/bench_retrieval.py --store DIR, which ingests it). Questions
are a fixed stratified sample of the dev set. The first question also pays for loading the
model; it is reported apart. Time to first token is measured from the call to `stream`,
so it includes retrieval, sentence selection and the prompt's evaluation.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data" / "multihop-rag"

from evals.datasets import load_multihop, stratified_sample  # noqa: E402
from evals.metrics import latency_summary  # noqa: E402
from rag import Answer, Pipeline, load_settings  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--store", type=Path, required=True)
    p.add_argument("--queries", type=Path, default=SHARED / "dev_queries.json")
    p.add_argument("--n", type=int, default=20)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--llm", default="local")
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args()
    pipe = Pipeline(load_settings(data_dir=args.store, llm=args.llm))
    if pipe.stats()["articles"] == 0:
        raise SystemExit(f"the store in {args.store} is empty; ingest the corpus first")
    questions = stratified_sample(load_multihop(args.queries), args.n, args.seed)
    t0 = time.perf_counter()
    pipe.ask("warm-up: load the model", as_of=None)
    warm = time.perf_counter() - t0
    ttft, total, rows = [], [], []
    for i, q in enumerate(questions, 1):
        start = time.perf_counter()
        first = None
        answer: Answer | None = None
        for item in pipe.stream(q.question):
            if isinstance(item, Answer):
                answer = item
            elif first is None:
                first = time.perf_counter() - start
        elapsed = time.perf_counter() - start
        assert answer is not None
        # An abstention streams nothing: its "first token" is the final answer.
        ttft.append(first if first is not None else elapsed)
        total.append(elapsed)
        rows.append({"id": q.id, "ttft": ttft[-1], "total": elapsed, "abstained": answer.abstained,
                     "timings": answer.timings})  # fmt: skip
        note = "(abstained)" if answer.abstained else ""
        line = f"[{i}/{len(questions)}] ttft {ttft[-1]:.2f}s total {elapsed:.2f}s {note}"
        print(line, file=sys.stderr, flush=True)
    t, tot = latency_summary(ttft), latency_summary(total)
    print(f"model load + first answer: {warm:.1f} s")
    print(
        f"time to first token over {len(questions)} questions: "
        f"p50 {t['p50']:.2f} s, p95 {t['p95']:.2f} s"
    )
    print(f"total per answer: p50 {tot['p50']:.2f} s, p95 {tot['p95']:.2f} s")
    if args.json:
        args.json.write_text(
            json.dumps({"warm_s": warm, "ttft": t, "total": tot, "rows": rows}, indent=2)
        )


if __name__ == "__main__":
    main()
