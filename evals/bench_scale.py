"""Benchmark: Dateline at archive sizes a newsroom reaches (10,000 and 100,000 articles).

Run: .venv/bin/python evals/bench_scale.py --sizes 10000,100000 --work DIR
     [--baseline-root DIR]   # a checkout of other code, measured the same way, side by side

The archives are synthetic, made from the MultiHop-RAG corpus's own sentences: each article
takes 40-140 consecutive sentences of one corpus article, starting at random, under a corpus
title, with a random outlet of the corpus and a random date over two years. Embedding is
measured apart on the real model (chunks per second); for the index-scale runs the vectors
are random unit vectors of the real dimension (384), made by an embedder registered for
this benchmark that counts wordpieces with the real tokenizer, so chunking is as in a real
ingest. Every figure below comes from fresh processes:

- ingest: articles/s through the normal ingest path (JSONL files of 1,000 articles), no
  embedding; disk size of the data folder after it.
- start: from a new process's first line to the first retrieval answered (median of three
  processes), and the RSS of the first then; again with the real embedding model loaded and
  run on the question (its vectors thrown away), as a user's first question pays it.
- warmed up: from a new process's first line to the end of Pipeline.warm() (what `dateline
  serve` runs at start, with the real embedding model), and the first retrieval after it.
- retrieval p50 / p95: the dev questions (first --questions of them), after the first.
- add 100: 100 new articles ingested into the full archive, and the next retrieval after it
  (an index rebuilt in memory pays here).

--reuse keeps each ingested store and its ingest figures (ingest-CODE-SIZE.json), so the
later steps can be measured again on new code without hours of ingest; each rerun adds 100
articles of its own (a store of 100,000 grows by 0.1% a run). An ingest cut short is taken
up where it stopped: every finished file is logged with its seconds
(ingest-CODE-SIZE.progress.jsonl), and the ingest figure adds them up.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data" / "multihop-rag"
SYNTHETIC = "synthetic-384"


def make_articles(corpus: list[dict], n: int, seed: int, prefix: str) -> list[dict]:
    """n synthetic articles from the corpus's sentences (see the module docstring)."""
    import pysbd

    rng = random.Random(seed)
    seg = pysbd.Segmenter(language="en", clean=False)
    bodies = [[s.strip() for s in seg.segment(a["body"]) if s.strip()] for a in corpus[:200]]
    bodies = [b for b in bodies if len(b) >= 20]
    outlets = sorted({a["source"] for a in corpus})
    titles = [a["title"] for a in corpus]
    start = datetime(2022, 1, 1, tzinfo=UTC)
    out = []
    for i in range(n):
        body = rng.choice(bodies)
        length = rng.randint(40, 140)
        first = rng.randrange(len(body))
        sentences = [body[(first + j) % len(body)] for j in range(min(length, len(body)))]
        when = start + timedelta(seconds=rng.randrange(2 * 365 * 86400))
        out.append(
            {
                "title": f"{rng.choice(titles)} ({prefix}{i})",
                "source": rng.choice(outlets),
                "published_at": when.isoformat(),
                "url": f"https://synthetic.example/{prefix}{i}",
                "body": " ".join(sentences),
            }
        )
    return out


def write_jsonl(articles: list[dict], folder: Path, per_file: int = 1000) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(0, len(articles), per_file):
        path = folder / f"part-{k // per_file:05d}.jsonl"
        with path.open("w", encoding="utf-8") as f:
            for a in articles[k : k + per_file]:
                f.write(json.dumps(a) + "\n")
        paths.append(path)
    return paths


# ----------------------------------------------------------------------------- child steps
# Each step runs in its own process (`--step`), with the code under test on sys.path first.

CHILD_SETUP = """
import os, sys, time, json
T0 = time.perf_counter()
sys.path.insert(0, {root!r})
os.environ["HF_HUB_OFFLINE"] = "1"
import numpy as np
try:
    from rag import register_embedder
except ImportError:  # code from before it was public (0.10.0), measured as the baseline
    from rag.embed import register_embedder
from rag import get_embedder, load_settings
LOAD_REAL = {load_real!r}

class Synthetic:
    name = {synthetic!r}
    dim = 384
    max_tokens = 256  # all-MiniLM-L6-v2's window
    def __init__(self, settings):
        # The real model is made on first use: get_embedder is building this one now.
        self.settings = settings.with_(embed_model="all-MiniLM-L6-v2")
        self.real = None
        self.rng = np.random.default_rng(7)
    def count_tokens(self, texts):
        if self.real is None:
            self.real = get_embedder(self.settings)
        return self.real.count_tokens(texts)
    def embed_documents(self, texts):
        if LOAD_REAL:  # the real model is loaded and run, for its time; its vectors are not used
            if self.real is None:
                self.real = get_embedder(self.settings)
            self.real.embed_documents(texts)
        v = self.rng.standard_normal((len(texts), self.dim)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)
    def embed_query(self, text):
        return self.embed_documents([text])[0]

register_embedder({synthetic!r}, Synthetic)
settings = load_settings(data_dir={data!r}, embed_model={synthetic!r}, llm="extractive")
"""

INGEST = """
from rag import get_pipeline
pipe = get_pipeline(settings)
paths = {paths!r}
progress = {progress!r}
t = time.perf_counter()
added = failed = 0
for n, p in enumerate(paths, 1):
    t_file = time.perf_counter()
    r = pipe.ingest([p])
    added += len(r.added) + len(r.updated)
    failed += len(r.failed)
    if progress:
        with open(progress, "a", encoding="utf-8") as f:
            seconds = time.perf_counter() - t_file
            done = {{"file": p, "seconds": seconds, "added": len(r.added) + len(r.updated)}}
            f.write(json.dumps(done) + "\\n")
    print(f"  ingested {{n}} of {{len(paths)}} files", file=sys.stderr, flush=True)
seconds = time.perf_counter() - t
first = None
if {then_search!r}:
    t = time.perf_counter()
    pipe.retrieve({question!r}, k=10)
    first = time.perf_counter() - t
print(json.dumps({{"seconds": seconds, "added": added, "failed": failed, "next_search": first}}))
"""

SEARCH = """
import psutil
from rag import get_pipeline
pipe = get_pipeline(settings)
questions = {questions!r}
pipe.retrieve(questions[0], k=10)
start = time.perf_counter() - T0
rss = psutil.Process().memory_info().rss / 2**20
times = []
for q in questions[1:]:
    t = time.perf_counter()
    pipe.retrieve(q, k=10)
    times.append(time.perf_counter() - t)
print(json.dumps({{"start_s": start, "rss_mb": rss, "times": times}}))
"""

START = """
from rag import get_pipeline
get_pipeline(settings).retrieve({question!r}, k=10)
print(json.dumps({{"start_s": time.perf_counter() - T0}}))
"""

WARM = """
from rag import get_pipeline
pipe = get_pipeline(settings)
pipe.warm()
ready = time.perf_counter() - T0
t = time.perf_counter()
pipe.retrieve({question!r}, k=10)
print(json.dumps({{"ready_s": ready, "first_s": time.perf_counter() - t}}))
"""

EMBED = """
from rag import get_embedder
real = get_embedder(settings.with_(embed_model="all-MiniLM-L6-v2"))
texts = {texts!r}
real.embed_documents(texts[:8])
t = time.perf_counter()
real.embed_documents(texts)
print(json.dumps({{"chunks_per_s": len(texts) / (time.perf_counter() - t)}}))
"""


def child(
    root: Path, data: Path, body: str, timeout: float, load_real: bool = False, **kw: object
) -> dict:
    setup = CHILD_SETUP.format(
        root=str(root), data=str(data), synthetic=SYNTHETIC, load_real=load_real
    )
    code = setup + body.format(**kw)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}
    env.pop("PYTHONPATH", None)
    data.parent.mkdir(parents=True, exist_ok=True)
    script = data.parent / f"step-{data.name}.py"  # its lists are too long for a command line
    script.write_text(code, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=str(root),
        env=env,
    )
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-3:]
        return {"error": f"exit {proc.returncode}: {' | '.join(tail)}"}
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def _progress(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def disk_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def measure(
    root: Path,
    work: Path,
    size: int,
    corpus: list[dict],
    questions: list[str],
    timeout: float,
    reuse: bool,
) -> dict:
    """Every figure for one code checkout at one archive size."""
    data = work / f"store-{root.name}-{size}"
    record = work / f"ingest-{root.name}-{size}.json"
    kept = reuse and data.exists() and record.exists()
    if kept:
        # The 100,000-article ingest takes hours: the later steps can be rerun on its store,
        # with the ingest figures recorded when it was built.
        ingest = json.loads(record.read_text(encoding="utf-8"))
        print(f"[{root.name} {size}] reusing the ingested store {data}", file=sys.stderr)
    else:
        # An ingest cut short (Ctrl+C, a session's end) is taken up where it stopped when
        # --reuse is given: each finished file is in the progress file with its seconds.
        progress = work / f"ingest-{root.name}-{size}.progress.jsonl"
        done = _progress(progress) if reuse and data.exists() else []
        if not done:
            shutil.rmtree(data, ignore_errors=True)
            progress.unlink(missing_ok=True)
        record.unlink(missing_ok=True)
        files = write_jsonl(make_articles(corpus, size, seed=1, prefix="a"), work / f"in-{size}")
        todo = [str(p) for p in files if str(p) not in {d["file"] for d in done}]
        print(f"[{root.name} {size}] ingesting {len(todo)} of {len(files)} files ...",
              file=sys.stderr, flush=True)  # fmt: skip
        ingest = child(root, data, INGEST, timeout, paths=todo, then_search=False, question="",
                       progress=str(progress))  # fmt: skip
        if "error" not in ingest and done:
            ingest["seconds"] += sum(d["seconds"] for d in done)
            ingest["added"] += sum(d["added"] for d in done)
    # A kept store already holds the last run's 100: each run adds 100 of its own.
    runs = ingest.get("adds", 0) if kept else 0
    prefix = f"new{runs}-" if runs else "new"
    fresh = make_articles(corpus, 100, seed=2 + runs, prefix=prefix)
    extra = write_jsonl(fresh, work / f"new-{size}")
    out: dict = {"code": root.name, "articles": size}
    if "error" in ingest:
        return {**out, "error": f"ingest: {ingest['error']}"}
    if not kept:
        ingest["disk_mb"] = disk_mb(data)
        record.write_text(json.dumps(ingest), encoding="utf-8")
    out["ingest_articles_per_s"] = ingest["added"] / ingest["seconds"]
    out["disk_mb"] = ingest["disk_mb"]
    print(f"[{root.name} {size}] start and search ...", file=sys.stderr, flush=True)
    search = child(root, data, SEARCH, timeout, questions=questions)
    if "error" in search:
        return {**out, "error": f"search: {search['error']}"}
    # One start is a noisy figure (what the page cache holds of the vector index): two more
    # fresh processes, and three that load and run the real embedding model as a user's would.
    starts = [search["start_s"]]
    real_starts: list[float] = []
    for load_real in (False, False, True, True, True):
        again = child(root, data, START, timeout, load_real, question=questions[0])
        if "error" in again:
            return {**out, "error": f"start: {again['error']}"}
        (real_starts if load_real else starts).append(again["start_s"])
    # `dateline serve` warms up at start (Pipeline.warm): how long that takes, and the first
    # question after it. Code from before warm() existed has no such figure.
    warm = child(root, data, WARM, timeout, True, question=questions[0])
    if "error" not in warm:
        out.update(ready_s=warm["ready_s"], first_after_warm_ms=1000 * warm["first_s"])
    times = sorted(search["times"])
    out.update(
        start_runs_s=starts,
        start_to_first_retrieval_s=statistics.median(starts),
        start_real_model_runs_s=real_starts,
        start_real_model_s=statistics.median(real_starts),
        rss_after_first_mb=search["rss_mb"],
        retrieval_p50_ms=1000 * statistics.median(times),
        retrieval_p95_ms=1000 * times[int(0.95 * (len(times) - 1))],
    )
    print(f"[{root.name} {size}] adding 100 articles ...", file=sys.stderr, flush=True)
    add = child(root, data, INGEST, timeout, paths=[str(p) for p in extra], then_search=True,
                question=questions[0], progress="")  # fmt: skip
    if "error" in add:
        return {**out, "error": f"add 100: {add['error']}"}
    out["add_100_s"] = add["seconds"]
    record.write_text(json.dumps({**ingest, "adds": runs + 1}), encoding="utf-8")
    out["search_after_add_s"] = add["next_search"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--work", type=Path, required=True, help="a folder for archives and stores")
    ap.add_argument("--baseline-root", type=Path, help="another checkout, measured alike")
    ap.add_argument("--corpus", type=Path, default=SHARED / "corpus.json")
    ap.add_argument("--queries", type=Path, default=SHARED / "dev_queries.json")
    ap.add_argument("--questions", type=int, default=101, help="dev questions timed (+1 first)")
    ap.add_argument("--timeout", type=float, default=6 * 3600)
    ap.add_argument("--json", type=Path)
    ap.add_argument(
        "--reuse",
        action="store_true",
        help="keep each size's ingested store and its ingest figures; rerun the other steps",
    )
    args = ap.parse_args()
    corpus = json.loads(args.corpus.read_text(encoding="utf-8"))
    questions = [q["query"] for q in json.loads(args.queries.read_text(encoding="utf-8"))]
    questions = questions[: args.questions]
    args.work.mkdir(parents=True, exist_ok=True)
    texts = [a["body"][:1000] for a in corpus[:200]]
    embed = child(ROOT, args.work / "embed-store", EMBED, args.timeout, texts=texts)
    print(f"embedding (real model, int8 ONNX): {embed.get('chunks_per_s', 0):.1f} chunks/s")
    rows = []
    roots = [ROOT] + ([args.baseline_root.resolve()] if args.baseline_root else [])
    for size in (int(s) for s in args.sizes.split(",")):
        for root in roots:
            row = measure(root, args.work, size, corpus, questions, args.timeout, args.reuse)
            rows.append(row)
            print(json.dumps(row), flush=True)
    print("\nvectors: random unit vectors of dimension 384 (synthetic; see the docstring)")
    keys = [
        ("ingest_articles_per_s", "ingest articles/s (no embedding)", "{:.1f}"),
        ("disk_mb", "disk MB", "{:,.0f}"),
        ("start_to_first_retrieval_s", "start → first retrieval s (median of 3)", "{:.2f}"),
        ("start_real_model_s", "the same, with the real embedding model (median of 3)", "{:.2f}"),
        ("ready_s", "start → warmed up, as `dateline serve` does at start s", "{:.2f}"),
        ("first_after_warm_ms", "first retrieval once warmed up ms", "{:.0f}"),
        ("rss_after_first_mb", "RSS after first question MB", "{:,.0f}"),
        ("retrieval_p50_ms", "retrieval p50 ms", "{:.0f}"),
        ("retrieval_p95_ms", "retrieval p95 ms", "{:.0f}"),
        ("add_100_s", "add 100 articles s", "{:.1f}"),
        ("search_after_add_s", "first retrieval after the add s", "{:.2f}"),
    ]
    header = "| measure | " + " | ".join(f"{r['code']} @ {r['articles']:,}" for r in rows) + " |"
    print(header)
    print("|---|" + "---|" * len(rows))
    for key, label, fmt in keys:
        cells = [fmt.format(r[key]) if key in r and r[key] is not None else r.get("error", "–")
                 for r in rows]  # fmt: skip
        print(f"| {label} | " + " | ".join(cells) + " |")
    if args.json:
        args.json.write_text(json.dumps({"embed": embed, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
