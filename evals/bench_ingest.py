"""Benchmark: ingest the MultiHop-RAG corpus with Dateline vs the naive llama-index pipeline.

Run: .venv/bin/python evals/bench_ingest.py [--corpus PATH] [--limit N] [--skip-naive]

Each pipeline runs in its own process (so peak RSS is its own) on a fresh temp store.
Printed: articles/s, chunks/s, peak RSS, chunks over the model's 256-wordpiece window, the
time of a second, unchanged Dateline ingest, vector-only Hits@10/MRR@10 on the dev questions
(so a speed-up that loses retrieval quality shows), and the speed ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data" / "multihop-rag"
MODEL_WINDOW = 256


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _limited_corpus(corpus: Path, limit: int | None, out_dir: Path) -> Path:
    if not limit:
        return corpus
    records = json.loads(corpus.read_text(encoding="utf-8"))[:limit]
    path = out_dir / "corpus.json"
    path.write_text(json.dumps(records), encoding="utf-8")
    return path


def _quality(search: Any, queries: Path, n: int) -> dict[str, float]:
    """Vector-only Hits@10 / MRR@10 (MultiHop-RAG rule) over the first n answerable queries."""
    sys.path.insert(0, str(ROOT))
    from evals.metrics import hits_at_k, mrr_at_k

    qs = [q for q in json.loads(queries.read_text()) if q["evidence_list"]][:n]
    hits = mrr = 0.0
    for q in qs:
        texts = search(q["query"])
        facts = [e["fact"] for e in q["evidence_list"]]
        hits += hits_at_k(texts, facts, 10)
        mrr += mrr_at_k(texts, facts, 10)
    return {"hits@10": hits / len(qs), "mrr@10": mrr / len(qs), "queries": len(qs)}


def run_dateline(corpus: Path, queries: Path, n_queries: int, backend: str) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from rag import Pipeline, Settings, apply_offline_env

    apply_offline_env()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), embed_backend=backend)
        pipe = Pipeline(settings)
        from rag import get_embedder

        embedder = get_embedder(settings)
        # Load the model (and make the one-time ONNX export) before the clock starts; the
        # naive pipeline's model is loaded before its clock too.
        embedder.embed_documents(["warm up"])
        t0 = time.perf_counter()
        report = pipe.ingest([corpus])
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = pipe.ingest([corpus])
        second = time.perf_counter() - t0
        chunks = pipe.store.all_chunks()
        # What the embedder saw: each chunk's text, and each sentence (rag.embed.embed_texts).
        sizes = body_sizes = embedder.count_tokens([c.text for c in chunks])

        def search(q: str) -> list[str]:
            return [c.text for c, _s in pipe.store.vector_search(embedder.embed_query(q), 10)]

        quality = _quality(search, queries, n_queries)
        return {
            "pipeline": f"dateline ({backend})",
            "articles": len(report.added),
            "failed": len(report.failed),
            "chunks": report.chunks_written,
            "sentences_embedded": sum(
                len(v) for v in pipe.store.sentence_vectors(pipe.store.all_articles()).values()
            ),
            "seconds": first,
            "articles_per_s": len(report.added) / first,
            "chunks_per_s": report.chunks_written / first,
            "over_window": sum(1 for s in sizes if s > MODEL_WINDOW),
            "max_chunk_wordpieces": max(body_sizes),
            "mean_chunk_wordpieces": sum(body_sizes) / len(body_sizes),
            "windowed_not_truncated": sum(1 for s in sizes if s > embedder.max_tokens),
            "second_ingest_s": second,
            "second_unchanged": len(again.unchanged),
            "peak_rss_mb": _peak_rss_mb(),
            **quality,
        }


def run_naive(corpus: Path, queries: Path, n_queries: int) -> dict[str, Any]:
    """What a user builds first from the llama-index docs."""
    sys.path.insert(0, str(ROOT))
    from evals import naive
    from rag import resolve_model_path

    model_path = resolve_model_path("all-MiniLM-L6-v2")
    records = json.loads(corpus.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        embed = naive.embed_model()
        embed.get_text_embedding("warm up")
        t0 = time.perf_counter()
        docs = naive.documents(records)
        store, _collection = naive.vector_store(Path(tmp))
        index = naive.build_index(docs, store, embed)
        seconds = time.perf_counter() - t0
        nodes = naive.splitter().get_nodes_from_documents(docs)
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(model_path / "tokenizer.json"))
        tok.no_truncation()
        from llama_index.core.schema import MetadataMode

        sizes = [
            len(e.ids) for e in tok.encode_batch([n.get_content(MetadataMode.EMBED) for n in nodes])
        ]
        retriever = index.as_retriever(similarity_top_k=10)

        def search(q: str) -> list[str]:
            return [n.node.get_content() for n in retriever.retrieve(q)]

        quality = _quality(search, queries, n_queries)
        return {
            "pipeline": "naive llama-index",
            "articles": len(records),
            "failed": 0,
            "chunks": len(nodes),
            "seconds": seconds,
            "articles_per_s": len(records) / seconds,
            "chunks_per_s": len(nodes) / seconds,
            "over_window": sum(1 for s in sizes if s > MODEL_WINDOW),
            "max_chunk_wordpieces": max(sizes),
            "mean_chunk_wordpieces": sum(sizes) / len(sizes),
            "windowed_not_truncated": 0,
            "second_ingest_s": None,
            "second_unchanged": None,
            "peak_rss_mb": _peak_rss_mb(),
            **quality,
        }


def _child(args: argparse.Namespace) -> None:
    if args.part == "naive":
        out = run_naive(args.corpus, args.queries, args.queries_n)
    else:
        out = run_dateline(args.corpus, args.queries, args.queries_n, args.part.split(":", 1)[1])
    print("RESULT " + json.dumps(out))


def _spawn(part: str, corpus: Path, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [
        sys.executable, __file__, "--part", part, "--corpus", str(corpus),
        "--queries", str(args.queries), "--queries-n", str(args.queries_n),
    ]  # fmt: skip
    print(f"… running {part} (this takes minutes on 2 cores)", file=sys.stderr, flush=True)
    proc = subprocess.run(
        cmd, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"}
    )
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return dict(json.loads(line[7:]))
    raise SystemExit(f"{part} failed:\n{proc.stderr[-3000:]}")


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--corpus", type=Path, default=SHARED / "corpus.json")
    p.add_argument("--queries", type=Path, default=SHARED / "dev_queries.json")
    p.add_argument("--queries-n", type=int, default=200, help="dev questions for the quality check")
    p.add_argument("--limit", type=int, default=None, help="only the first N articles")
    p.add_argument(
        "--backends", default="onnx-int8", help="Dateline embed backends, comma-separated"
    )
    p.add_argument("--skip-naive", action="store_true")
    p.add_argument("--json", type=Path, default=None, help="also write the results here")
    p.add_argument("--part", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.part:
        _child(args)
        return
    if not args.corpus.exists():
        raise SystemExit(
            f"no corpus at {args.corpus}; pass --corpus PATH (MultiHop-RAG corpus.json)"
        )
    with tempfile.TemporaryDirectory() as tmp:
        corpus = _limited_corpus(args.corpus, args.limit, Path(tmp))
        results = [_spawn(f"dateline:{b}", corpus, args) for b in args.backends.split(",")]
        if not args.skip_naive:
            results.append(_spawn("naive", corpus, args))
    cols = [
        ("pipeline", "{}"), ("articles", "{}"), ("chunks", "{}"), ("sentences_embedded", "{}"),
        ("seconds", "{:.1f}"),
        ("articles_per_s", "{:.2f}"), ("chunks_per_s", "{:.1f}"), ("peak_rss_mb", "{:.0f}"),
        ("over_window", "{}"), ("mean_chunk_wordpieces", "{:.0f}"), ("second_ingest_s", "{:.2f}"),
        ("hits@10", "{:.3f}"), ("mrr@10", "{:.3f}"),
    ]  # fmt: skip
    print("| " + " | ".join(c for c, _f in cols) + " |")
    print("|" + "---|" * len(cols))
    for r in results:
        print(
            "| " + " | ".join("-" if r.get(c) is None else f.format(r[c]) for c, f in cols) + " |"
        )
    naive = next((r for r in results if r["pipeline"].startswith("naive")), None)
    if naive:
        for r in results:
            if r is not naive:
                ratio = naive["seconds"] / r["seconds"]
                print(
                    f"{r['pipeline']}: {ratio:.2f}x faster than the naive pipeline over the same "
                    f"corpus ({r['seconds']:.0f} s vs {naive['seconds']:.0f} s)"
                )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
