"""The `dateline` command line: ingest, stats, delete (and later ask, serve, eval)."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from rag.config import load_settings
from rag.errors import DatelineError

app = typer.Typer(
    name="dateline",
    help="Question answering over news, with citations to the exact source sentences.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _fail(message: str, code: int = 2) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def _pipeline():  # type: ignore[no-untyped-def]
    from rag.pipeline import get_pipeline

    try:
        return get_pipeline(load_settings())
    except DatelineError as exc:
        _fail(str(exc))


@app.callback()
def main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log what happens.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (searched recursively).")],
    source: Annotated[
        str | None, typer.Option("--source", help="Outlet name for files that do not say.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Ingest news articles (txt, json/jsonl, html, rss/atom) into the store."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskID,
        TextColumn,
        TimeRemainingColumn,
    )

    pipe = _pipeline()
    console = Console(stderr=True)
    labels = {
        "read": "Reading files",
        "split": "Splitting sentences",
        "embed": "Embedding chunks",
    }
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=as_json,
        disable=not console.is_terminal and as_json,
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(stage: str, done: int, total: int | None) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(labels.get(stage, stage), total=total)
            bar.update(tasks[stage], completed=done, total=total)

        try:
            report = pipe.ingest(paths, source=source, progress=progress)
        except DatelineError as exc:
            _fail(str(exc))
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2))
    else:
        for err in report.failed:
            typer.secho(f"failed: {err}", fg=typer.colors.RED, err=True)
        typer.echo(
            f"added {len(report.added)}, updated {len(report.updated)}, "
            f"unchanged {len(report.unchanged)}, failed {len(report.failed)} "
            f"({report.chunks_written} chunks written in {report.seconds:.1f} s) "
            f"→ {pipe.store.location}"
        )
        if report.failed:
            typer.echo("Fix or remove the failed files and run the same command again.", err=True)
    raise typer.Exit(0 if report.ok else 1)


@app.command()
def stats(
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """What the store holds: articles, sentences, chunks, outlets, dates, location."""
    info = _pipeline().stats()
    if as_json:
        typer.echo(json.dumps(info, indent=2))
        return
    dr = info["date_range"]
    typer.echo(f"store      {info['location']}")
    typer.echo(f"articles   {info['articles']}  ({info['duplicates']} marked as duplicates)")
    typer.echo(f"sentences  {info['sentences']}")
    typer.echo(f"chunks     {info['chunks']}")
    typer.echo(f"dates      {dr[0][:10]} … {dr[1][:10]}" if dr else "dates      none")
    typer.echo(f"outlets    {len(info['outlets'])}")
    for name, n in list(info["outlets"].items())[:20]:
        typer.echo(f"  {n:5d}  {name}")


@app.command()
def delete(
    article_id: Annotated[str, typer.Argument(help="Article id (see `dateline list`).")],
) -> None:
    """Delete one article and its chunks."""
    if not _pipeline().delete(article_id):
        _fail(f"no article with id {article_id!r}; `dateline list` shows the ids", code=1)
    typer.echo(f"deleted {article_id}")


@app.command(name="list")
def list_articles(
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """List stored articles (id, date, outlet, title)."""
    infos = _pipeline().articles()
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "id": a.id,
                        "title": a.title,
                        "source": a.source,
                        "published_at": a.published_at.isoformat() if a.published_at else None,
                        "url": a.url,
                        "sentences": a.n_sentences,
                        "duplicate_of": list(a.duplicate_of),
                    }
                    for a in infos
                ],
                indent=2,
            )
        )
        return
    for a in infos:
        day = a.published_at.date().isoformat() if a.published_at else "----------"
        typer.echo(f"{a.id}  {day}  {a.source[:24]:24}  {a.title[:70]}")


def _date_option(value: str | None, name: str):  # type: ignore[no-untyped-def]
    if not value:
        return None
    from datetime import UTC, datetime

    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        _fail(f"{name} {value!r} is not a date; write it as YYYY-MM-DD")
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question, in plain language.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the Answer as JSON.")] = False,
    since: Annotated[
        str | None, typer.Option(help="Only articles published on/after YYYY-MM-DD.")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Only articles published on/before YYYY-MM-DD.")
    ] = None,
    source: Annotated[
        list[str] | None, typer.Option("--source", help="Only this outlet (repeatable).")
    ] = None,
    llm: Annotated[str | None, typer.Option(help="local | openai | ollama | extractive")] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Resolve 'last week' against this date.")
    ] = None,
) -> None:
    """Answer a question from the stored articles, citing source sentences."""
    from datetime import timedelta

    from rag.pipeline import Pipeline
    from rag.query import Filters

    try:
        settings = load_settings(llm=llm)
    except DatelineError as exc:
        _fail(str(exc))
    pipe = Pipeline(settings)
    end = _date_option(until, "--until")
    filters = Filters(
        since=_date_option(since, "--since"),
        until=end + timedelta(days=1) - timedelta(seconds=1)
        if end and len(until or "") <= 10
        else end,
        sources=tuple(source or ()),
    )
    try:
        if as_json:
            answer = pipe.ask(question, filters=filters, as_of=_date_option(as_of, "--as-of"))
            typer.echo(json.dumps(answer.to_json(), indent=2, ensure_ascii=False))
            return
        from rag.types import Answer

        final = None
        for item in pipe.stream(question, filters=filters, as_of=_date_option(as_of, "--as-of")):
            if isinstance(item, Answer):
                final = item
            elif sys.stdout.isatty():
                typer.echo(item, nl=False)
        if sys.stdout.isatty():
            typer.echo("\n")
    except DatelineError as exc:
        _fail(str(exc))
    assert final is not None
    typer.echo(final.answer)
    for c in final.citations:
        day = c.published_at.date().isoformat() if c.published_at else "undated"
        mark = "" if c.verified else "  (unverified)"
        typer.echo(f"  [{c.n}] {c.source}, {day}: “{c.text}”{mark}")
    unsupported = [v for v in final.verification if not v.supported]
    for v in unsupported:
        typer.secho(f"  unverified: {v.text} ({v.reason})", fg=typer.colors.YELLOW)


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (default DATELINE_HOST, 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default DATELINE_PORT, 7860).")] = None,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Do not open a browser tab.")
    ] = False,
) -> None:
    """Start the chat and the REST API (/api) on one local web server."""
    from ui.app import main as serve_main  # gradio loads only for this command

    try:
        serve_main(host=host, port=port, open_browser=not no_browser)
    except DatelineError as exc:
        _fail(str(exc))


@app.command(name="eval")
def eval_questions(
    questions: Annotated[
        Path,
        typer.Argument(
            help="Question set: our JSONL (see evals/datasets.py) or MultiHop-RAG's "
            "dev_queries.json."
        ),
    ],
    corpus: Annotated[
        list[Path] | None,
        typer.Option(
            "--corpus",
            help="Ingest these files or folders first (repeatable); unchanged articles "
            "cost almost nothing.",
        ),
    ] = None,
    store: Annotated[
        Path | None,
        typer.Option("--store", help="Data folder of the store (default DATELINE_DATA_DIR)."),
    ] = None,
    llm: Annotated[str | None, typer.Option(help="local | openai | ollama | extractive")] = None,
    limit: Annotated[
        int | None, typer.Option(min=0, help="Only the first N questions (after --sample).")
    ] = None,
    sample: Annotated[
        int | None,
        typer.Option(min=0, help="A stratified sample of N questions (types keep their share)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of --sample.")] = 0,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Output folder (default eval-out/<set>-<llm>-<time>); the same --out "
            "again resumes an interrupted run.",
        ),
    ] = None,
    judge: Annotated[
        str | None,
        typer.Option(
            help="Citation judge: lexical | llm | openai (default: llm when the local "
            "model is installed, else lexical)."
        ),
    ] = None,
    restart: Annotated[
        bool, typer.Option("--restart", help="Discard the results already in --out.")
    ] = False,
) -> None:
    """Evaluate answers, citations and retrieval on a question set and write a report."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskID,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.table import Table

    from evals.run import (
        default_out_dir,
        finish_run,
        load_selection,
        make_config,
        make_judge,
        prepare_out_dir,
        run_questions,
    )
    from rag.pipeline import get_pipeline

    console = Console(stderr=True)
    try:
        settings = load_settings(llm=llm, data_dir=store)
        judge_impl, judge_name, judge_line = make_judge(judge, settings)
        config = make_config(
            questions,
            settings,
            judge=judge_name,
            sample=sample,
            seed=seed,
            limit=limit,
            corpus=corpus or (),
        )
        out_dir = out or default_out_dir(questions, settings.llm)
        # Checked before any ingest or model load: a refused --out should fail at once.
        done = prepare_out_dir(out_dir, config, restart=restart)
        selection = load_selection(config)
    except DatelineError as exc:
        _fail(str(exc))
    console.print(judge_line)
    pipe = get_pipeline(settings)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    if corpus:
        labels = {
            "read": "Reading the corpus",
            "split": "Splitting sentences",
            "embed": "Embedding chunks",
        }
        with Progress(*columns, console=console) as bar:
            tasks: dict[str, TaskID] = {}

            def ingest_progress(stage: str, n: int, total: int | None) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(labels.get(stage, stage), total=total)
                bar.update(tasks[stage], completed=n, total=total)

            try:
                report = pipe.ingest(corpus, progress=ingest_progress)
            except DatelineError as exc:
                _fail(str(exc))
        for err in report.failed:
            console.print(f"[yellow]not ingested: {err}[/yellow]")
        console.print(
            f"corpus: added {len(report.added)}, updated {len(report.updated)}, "
            f"unchanged {len(report.unchanged)}, failed {len(report.failed)} "
            f"→ {pipe.store.location}"
        )
    if done:
        console.print(f"resuming {out_dir}: {len(done)} questions already answered")
    right: list[float] = []
    try:
        with Progress(*columns, console=console) as bar:
            task = bar.add_task("Answering", total=len(selection))

            def ask_progress(n: int, total: int, record: dict[str, object] | None) -> None:
                if record is not None:
                    metrics = record["metrics"]
                    assert isinstance(metrics, dict)
                    right.append(float(metrics.get("accuracy") or 0.0))
                accuracy = f"  accuracy {sum(right) / len(right):.2f}" if right else ""
                bar.update(task, completed=n, total=total, description=f"Answering{accuracy}")

            outcome = run_questions(
                pipe, selection, out_dir, judge_impl, done=done, progress=ask_progress
            )
        console.print("writing the report and plots")
        outcome = finish_run(outcome, config, selection)
    except KeyboardInterrupt:
        typer.secho(
            f"interrupted; the answers so far are saved in {out_dir}/results.jsonl. Run the "
            f"same command with --out {out_dir} to continue.",
            fg=typer.colors.YELLOW,
            err=True,
        )
        raise typer.Exit(130) from None
    except DatelineError as exc:
        _fail(
            f"{exc} (the answers so far are saved; run the same command with --out {out_dir} "
            "to continue)"
        )
    summary = outcome.summary
    table = Table(title=f"{outcome.asked} asked, {outcome.skipped} resumed", box=None)
    headers = {
        "accuracy": "acc",
        "token_f1": "F1",
        "hits@10": "hits@10",
        "mrr@10": "MRR@10",
        "citation_recall": "cite R",
        "citation_precision": "cite P",
        "abstained": "abstain",
    }
    table.add_column("group", no_wrap=True)
    for column in ("n", *headers.values()):
        table.add_column(column, justify="right")
    for group, data in {"overall": summary["overall"], **summary["by_type"]}.items():
        values = [data["metrics"].get(m) for m in headers]
        cells = ["–" if v is None else f"{v:.3f}" for v in values]
        table.add_row(group, str(data["n"]), *cells)
    Console().print(table)
    abst = summary["overall"]["abstention"]
    total = summary["overall"]["latency"].get("total", {})
    typer.echo(
        "abstention precision {} recall {} false-abstention {}; latency p50 {} s p95 {} s".format(
            *(
                "–" if v is None else f"{v:.2f}"
                for v in (
                    abst["abstention_precision"],
                    abst["abstention_recall"],
                    abst["false_abstention_rate"],
                    total.get("p50"),
                    total.get("p95"),
                )
            )
        )
    )
    typer.echo(f"report: {out_dir / 'report.md'}")


@app.command(name="eval-compare")
def eval_compare(
    a: Annotated[Path, typer.Argument(help="Run A: an eval output folder or its summary.json.")],
    b: Annotated[Path, typer.Argument(help="Run B, compared with A (B − A).")],
    overall_only: Annotated[
        bool, typer.Option("--overall", help="Only the overall table, not each question type.")
    ] = False,
) -> None:
    """Compare two evaluation runs: every summary number of A and B, and B − A."""
    from rich.console import Console
    from rich.table import Table

    from evals.report import compare_summaries, improved, load_summary

    try:
        first, second = load_summary(a), load_summary(b)
    except DatelineError as exc:
        _fail(str(exc))
    console = Console()
    for label, path, s in (("A", a, first), ("B", b, second)):
        cfg = s["config"]
        console.print(
            f"{label}: {path}  ({Path(cfg['questions']).name}, llm={cfg['llm']}, "
            f"judge={cfg['judge']}, {s['counts']['questions']} questions)"
        )
    rows = compare_summaries(first, second)
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


def run() -> None:
    try:
        app()
    except DatelineError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(2)
