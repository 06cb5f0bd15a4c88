"""Benchmark: retrieval quality and latency on MultiHop-RAG dev questions, Dateline vs naive.

Run: .venv/bin/python evals/bench_retrieval.py [--store DIR] [--limit N] [--skip-naive]
     [--skip-chunks]

Scores follow the MultiHop-RAG paper: a retrieved chunk is a hit when a gold evidence fact
(white space removed) is a substring of it; null questions are skipped. Reported per question
type: Hits@4, Hits@10, MRR@10, MAP@10 and evidence recall@10 (share of gold facts in the top
10). Every Dateline unit counted holds at most 256 wordpieces, as in the paper: by default a
passage (one article's best sentences for the question, within one chunk's budget), and in
the same run the stored chunks themselves (DATELINE_RETRIEVAL_UNIT=chunk) for comparison;
the largest unit seen is printed. For Dateline also "evidence shown": the share of gold facts
that reach the few sentences the composed answer shows the model (`Pipeline.context`), and
"evidence read": the same share for the sentences the answer step actually reads (each named
report's best sentences, `Pipeline.reports`, for a question answered by shape; the composed
answer's sentences for the others); both are measured apart, untimed.
The naive baseline is llama-index's SentenceSplitter(256, 20) + the same MiniLM + vector top-10.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data" / "multihop-rag"

from evals.metrics import (  # noqa: E402
    evidence_in_sentences,
    evidence_recall_at_k,
    hits_at_k,
    latency_summary,
    map_at_k,
    mrr_at_k,
)

METRICS = ("hits@4", "hits@10", "mrr@10", "map@10", "evidence_recall@10")
SHOWN = "evidence_shown"
# The share of gold facts among the sentences the readings of a shaped answer see: each named
# report's best sentences (questions answered by shape; the others count what they are shown).
READ = "evidence_read"


def score(
    search: Callable[[str], list[str]],
    queries: list[dict],
    shown: Callable[[str], list[str]] | None = None,
    units: list[str] | None = None,
    read: Callable[[str], list[str]] | None = None,
) -> dict:
    per_type: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    latencies = []
    for q in queries:
        t0 = time.perf_counter()
        texts = search(q["query"])
        latencies.append(time.perf_counter() - t0)
        if units is not None:  # kept to check their size after the clock
            units.extend(texts[:10])
        facts = [e["fact"] for e in q["evidence_list"]]
        row = {
            "hits@4": hits_at_k(texts, facts, 4),
            "hits@10": hits_at_k(texts, facts, 10),
            "mrr@10": mrr_at_k(texts, facts, 10),
            "map@10": map_at_k(texts, facts, 10),
            "evidence_recall@10": evidence_recall_at_k(texts, facts, 10),
        }
        if shown is not None:  # after the clock: picking sentences is the answer step's work
            row[SHOWN] = evidence_in_sentences(shown(q["query"]), facts)
        if read is not None:
            row[READ] = evidence_in_sentences(read(q["query"]), facts)
        for t in (q["question_type"].replace("_query", ""), "all"):
            for m, v in row.items():
                per_type[t][m].append(v)
    table = {t: {m: statistics.fmean(v) for m, v in ms.items()} for t, ms in per_type.items()}
    for t in table:
        table[t]["n"] = len(per_type[t]["hits@10"])
    return {"metrics": table, "latency": latency_summary(latencies)}


def dateline_search(
    store: Path | None, corpus: Path, tmp: Path, unit: str = "passage"
) -> tuple[
    Callable[[str], list[str]],
    Callable[[str], list[str]],
    Callable[[list[str]], int],
    Callable[[str], list[str]],
]:
    from rag import Pipeline, get_embedder, load_settings

    settings = load_settings(data_dir=store or tmp / "dateline", retrieval_unit=unit)
    pipe = Pipeline(settings)
    if pipe.stats()["articles"] == 0:
        print(f"… ingesting {corpus} into {settings.data_dir}", file=sys.stderr, flush=True)
        pipe.ingest([corpus])
    pipe.retrieve("warm up the models and the BM25 index")
    embedder = get_embedder(settings)

    def read(question: str) -> list[str]:
        if pipe.plan(question).shape.kind == "open":
            return [s.sentence.text for s in pipe.context(question)]
        return [
            r.article.sentences[i].text for r in pipe.reports(question) if r for i in r.sentences
        ]

    return (
        lambda q: [h.chunk.text for h in pipe.retrieve(q, k=10)],
        lambda q: [s.sentence.text for s in pipe.context(q)],
        lambda texts: max(embedder.count_tokens(texts)),
        read,
    )


def naive_search(corpus: Path, cache: Path) -> Callable[[str], list[str]]:
    from evals import naive

    embed = naive.embed_model()
    store, collection = naive.vector_store(cache)
    if collection.count() == 0:
        print(f"… building the naive index in {cache} (minutes)", file=sys.stderr, flush=True)
        records = json.loads(corpus.read_text(encoding="utf-8"))
        naive.build_index(naive.documents(records), store, embed)
    retriever = naive.open_index(store, embed).as_retriever(similarity_top_k=10)
    return lambda q: [n.node.get_content() for n in retriever.retrieve(q)]


def print_table(name: str, result: dict) -> None:
    print(f"\n### {name}")
    metrics = [*METRICS, *(m for m in (SHOWN, READ) if m in result["metrics"]["all"])]
    print("| type | n | " + " | ".join(metrics) + " |")
    print("|---|---|" + "---|" * len(metrics))
    for t in ("all", "inference", "comparison", "temporal"):
        if t in result["metrics"]:
            row = result["metrics"][t]
            print(f"| {t} | {row['n']} | " + " | ".join(f"{row[m]:.3f}" for m in metrics) + " |")
    lat = result["latency"]
    print(f"latency per question: p50 {lat['p50'] * 1000:.0f} ms, p95 {lat['p95'] * 1000:.0f} ms")


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--corpus", type=Path, default=SHARED / "corpus.json")
    p.add_argument("--queries", type=Path, default=SHARED / "dev_queries.json")
    p.add_argument(
        "--store", type=Path, default=None, help="a Dateline data dir holding the corpus"
    )
    p.add_argument("--naive-cache", type=Path, default=None, help="keep the naive index here")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--skip-naive", action="store_true")
    p.add_argument("--skip-chunks", action="store_true", help="do not also score the stored chunks")
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args()
    queries = [q for q in json.loads(args.queries.read_text()) if q["evidence_list"]][: args.limit]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        search, shown, largest, read = dateline_search(args.store, args.corpus, Path(tmp))
        units: list[str] = []
        results["dateline"] = score(search, queries, shown, units, read)
        results["dateline"]["largest_unit_wordpieces"] = largest(units)
        print_table("Dateline (hybrid, outlet/date-aware, passages)", results["dateline"])
        print(f"largest unit: {largest(units)} wordpieces with [CLS]/[SEP] (limit 256)")
        if not args.skip_chunks:
            search, _shown, largest, _read = dateline_search(
                args.store, args.corpus, Path(tmp), unit="chunk"
            )
            units = []
            results["dateline_chunks"] = score(search, queries, None, units)
            results["dateline_chunks"]["largest_unit_wordpieces"] = largest(units)
            print_table("Dateline, the stored chunks as units", results["dateline_chunks"])
            print(f"largest unit: {largest(units)} wordpieces with [CLS]/[SEP] (limit 256)")
        if not args.skip_naive:
            cache = args.naive_cache or Path(tmp) / "naive"
            results["naive"] = score(naive_search(args.corpus, cache), queries)
            print_table(
                "naive llama-index (SentenceSplitter 256, MiniLM, vector top-10)", results["naive"]
            )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
