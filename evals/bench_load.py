"""Benchmark: `dateline serve` under load — many users asking and uploading at once (locust).

Run: .venv/bin/python evals/bench_load.py [--users 50] [--minutes 5] [--llm extractive]

Starts a server on a fresh store holding samples/ (or --store DIR), with basic auth on, runs
evals/locustfile.py headless against it, samples the server's memory (RSS, its child
processes included) every 5 s, and prints requests, failures, p50/p95 per route and RSS after
warm-up against RSS at the end (growth as a ratio). Exit status 1 when any request failed.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evals.server import BIN, free_port, wait_ready  # noqa: E402

AUTH = "bench:load-test-password"


def _rss(proc: psutil.Process) -> int:
    try:
        return proc.memory_info().rss + sum(
            c.memory_info().rss for c in proc.children(recursive=True)
        )
    except psutil.Error:
        return 0


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--users", type=int, default=50)
    p.add_argument("--spawn-rate", type=float, default=5.0)
    p.add_argument("--minutes", type=float, default=5.0)
    p.add_argument("--warmup-minutes", type=float, default=1.0)
    p.add_argument("--llm", default="extractive")
    p.add_argument("--store", type=Path, default=None, help="a store to copy (default: samples/)")
    p.add_argument("--ask-timeout", type=float, default=120.0, help="a user gives up after")
    p.add_argument(
        "--queue-timeout",
        type=float,
        default=90.0,
        help="DATELINE_QUEUE_TIMEOUT for the server: below --ask-timeout, so a long wait is "
        "told 'busy' before the user gives up",
    )
    p.add_argument(
        "--new-share",
        type=float,
        default=0.5,
        help="share of uploads that add a new article (0: the library never grows)",
    )
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args()

    work = Path(tempfile.mkdtemp(prefix="dateline-load-"))
    data = work / "data"
    env = {
        **os.environ,
        "DATELINE_DATA_DIR": str(data),
        "DATELINE_LLM": args.llm,
        "DATELINE_AUTH": AUTH,
        "HF_HUB_OFFLINE": "1",
        "BENCH_AUTH": AUTH,
        "BENCH_ASK_TIMEOUT": str(args.ask_timeout),
        "DATELINE_QUEUE_TIMEOUT": str(args.queue_timeout),
        "BENCH_NEW_SHARE": str(args.new_share),
    }
    if args.store:
        shutil.copytree(args.store, data)
    else:
        print("ingesting samples/ into a fresh store ...", file=sys.stderr, flush=True)
        subprocess.run([BIN / "dateline", "ingest", ROOT / "samples"], env=env, check=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [BIN / "dateline", "serve", "--no-browser", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(work / "server.log", "w"),  # noqa: SIM115 - lives as long as the server
    )
    try:
        wait_ready(url, server, AUTH)
        proc = psutil.Process(server.pid)
        started = _rss(proc)
        samples: list[tuple[float, int]] = []
        stop = threading.Event()
        t0 = time.monotonic()

        def sample() -> None:
            while not stop.wait(5.0):
                samples.append((time.monotonic() - t0, _rss(proc)))

        threading.Thread(target=sample, daemon=True).start()
        seconds = int(args.minutes * 60)
        print(
            f"{args.users} users for {seconds} s against {url} (llm {args.llm}) ...",
            file=sys.stderr,
            flush=True,
        )
        subprocess.run(
            [BIN / "locust", "-f", ROOT / "evals" / "locustfile.py", "--headless",
             "-u", str(args.users), "-r", str(args.spawn_rate), "-t", f"{seconds}s",
             "--host", url, "--csv", work / "locust", "--only-summary", "--stop-timeout", "130"],
            env=env, check=False,
        )  # fmt: skip
        stop.set()
        routes = _read_stats(work / "locust_stats.csv")
        failures = _read_failures(work / "locust_failures.csv")
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
    warm = [rss for at, rss in samples if at >= args.warmup_minutes * 60]
    after_warmup = warm[0] if warm else started
    end = samples[-1][1] if samples else started
    result = {
        "users": args.users,
        "seconds": seconds,
        "llm": args.llm,
        "new_share": args.new_share,
        "routes": routes,
        "failures": failures,
        "rss_mb": {
            "start": started / 2**20,
            "after_warmup": after_warmup / 2**20,
            "end": end / 2**20,
            "max": max((r for _a, r in samples), default=started) / 2**20,
            "growth_after_warmup": end / after_warmup if after_warmup else None,
        },
        "rss_samples": [(round(a), round(r / 2**20)) for a, r in samples],
    }
    _print(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    shutil.rmtree(work, ignore_errors=True)
    total = next((r for r in routes if r["name"] == "Aggregated"), None)
    sys.exit(1 if total is None or total["failures"] else 0)


def _read_stats(path: Path) -> list[dict[str, object]]:
    rows = []
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            rows.append(
                {
                    "name": row["Name"],
                    "requests": int(row["Request Count"]),
                    "failures": int(row["Failure Count"]),
                    "p50_ms": float(row["50%"] or 0),
                    "p95_ms": float(row["95%"] or 0),
                    "max_ms": float(row["Max Response Time"] or 0),
                    "rps": float(row["Requests/s"] or 0),
                }
            )
    return rows


def _read_failures(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    with path.open(newline="") as f:
        return [
            {"name": row["Name"], "error": row["Error"], "count": int(row["Occurrences"])}
            for row in csv.DictReader(f)
        ]


def _print(result: dict[str, object]) -> None:
    print(
        f"\n{'route':<16}{'requests':>10}{'failures':>10}{'p50 ms':>10}{'p95 ms':>10}{'req/s':>8}"
    )
    for r in result["routes"]:  # type: ignore[attr-defined]
        print(
            f"{r['name']:<16}{r['requests']:>10}{r['failures']:>10}"
            f"{r['p50_ms']:>10.0f}{r['p95_ms']:>10.0f}{r['rps']:>8.1f}"
        )
    for f in result["failures"]:  # type: ignore[attr-defined]
        print(f"  failure on {f['name']}: {f['count']} × {f['error'][:150]}")
    rss = result["rss_mb"]
    print(
        f"\nserver RSS: start {rss['start']:.0f} MB, after warm-up {rss['after_warmup']:.0f} MB, "  # type: ignore[index]
        f"end {rss['end']:.0f} MB, max {rss['max']:.0f} MB; "  # type: ignore[index]
        f"end / after warm-up = {rss['growth_after_warmup']:.3f}"  # type: ignore[index]
    )


if __name__ == "__main__":
    main()
