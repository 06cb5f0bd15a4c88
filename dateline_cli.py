"""The `dateline` command: a thin edge over the library (rag), the web app (ui) and the
evaluation (evals) that turns their errors into one-line messages."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from rag import (
    Answer,
    DatelineError,
    Filters,
    IngestReport,
    Pipeline,
    PollResult,
    Progress,
    Watcher,
    WatchSource,
    aware,
    get_pipeline,
    load_settings,
    parse_every,
    parse_source,
)

app = typer.Typer(
    name="dateline",
    help="Question answering over news, with citations to the exact source sentences.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
_STAGES = {"read": "Reading files", "split": "Splitting sentences", "embed": "Embedding chunks"}


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def _pipeline() -> Pipeline:
    try:
        return get_pipeline(load_settings())
    except DatelineError as exc:
        _fail(str(exc))


@contextmanager
def _ingest_bar(*, quiet: bool = False) -> Iterator[Progress]:
    """A progress bar per ingest stage (files read, sentences split, chunks embedded)."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        TaskID,
        TextColumn,
        TimeRemainingColumn,
    )
    from rich.progress import Progress as Bar

    console = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Bar(
        *columns,
        TimeRemainingColumn(),
        console=console,
        transient=quiet,
        disable=quiet and not console.is_terminal,
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(stage: str, done: int, total: int | None) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(_STAGES.get(stage, stage), total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield progress


def _ingest_line(report: IngestReport, location: str) -> str:
    return (
        f"added {len(report.added)}, updated {len(report.updated)}, "
        f"unchanged {len(report.unchanged)}, failed {len(report.failed)}"
    ) + (f" ({report.chunks_written} chunks written in {report.seconds:.1f} s) → {location}")


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
    pipe = _pipeline()
    try:
        with _ingest_bar(quiet=as_json) as progress:
            report = pipe.ingest(paths, source=source, progress=progress)
    except DatelineError as exc:
        _fail(str(exc))
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2))
    else:
        for err in report.failed:
            typer.secho(f"failed: {err}", fg=typer.colors.RED, err=True)
        typer.echo(_ingest_line(report, pipe.store.location))
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
        typer.echo(json.dumps([a.to_json() for a in infos], indent=2))
        return
    for a in infos:
        day = a.published_at.date().isoformat() if a.published_at else "----------"
        typer.echo(f"{a.id}  {day}  {a.source[:24]:24}  {a.title[:70]}")


def _date_option(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        return aware(datetime.fromisoformat(value))
    except ValueError:
        _fail(f"{name} {value!r} is not a date; write it as YYYY-MM-DD")


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
    try:
        pipe = Pipeline(load_settings(llm=llm))
    except DatelineError as exc:
        _fail(str(exc))
    end = _date_option(until, "--until")
    whole_day = end is not None and len(until or "") <= 10
    filters = Filters(
        since=_date_option(since, "--since"),
        until=end + timedelta(days=1) - timedelta(seconds=1) if end and whole_day else end,
        sources=tuple(source or ()),
    )
    when = _date_option(as_of, "--as-of")
    try:
        if as_json:
            answer = pipe.ask(question, filters=filters, as_of=when)
            typer.echo(json.dumps(answer.to_json(), indent=2, ensure_ascii=False))
            return
        final = None
        for item in pipe.stream(question, filters=filters, as_of=when):
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
    for v in final.verification:
        if not v.supported:
            typer.secho(f"  unverified: {v.text} ({v.reason})", fg=typer.colors.YELLOW)
    if final.claims:
        typer.echo("What each report says:")
        words = {"supported": "says so", "contradicted": "says otherwise"}
        for rc in final.claims:
            day = rc.published_at.date().isoformat() if rc.published_at else "undated"
            cite = f" [{rc.citation}]" if rc.citation else ""
            verdict = words.get(rc.verdict, "does not say")
            typer.echo(f"  {rc.source}, {day}: {verdict}{cite}: {rc.claim}")


_EVERY_HELP = "How often each source is polled: 30s, 15m, 2h, 1d."


def _watch_sources(texts: list[str], every: str) -> list[WatchSource]:
    try:
        seconds = parse_every(every)
        return [parse_source(t, seconds) for t in texts]
    except DatelineError as exc:
        _fail(str(exc))


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (default DATELINE_HOST, 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default DATELINE_PORT, 7860).")] = None,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Do not open a browser tab.")
    ] = False,
    watch: Annotated[
        list[str] | None,
        typer.Option(
            "--watch", help="A feed URL or folder to keep ingesting while serving (repeatable)."
        ),
    ] = None,
    every: Annotated[str, typer.Option("--every", help=_EVERY_HELP)] = "15m",
) -> None:
    """Start the chat and the REST API (/api) on one local web server."""
    from ui.server import main as serve_main  # gradio loads only for this command

    sources = _watch_sources(watch or [], every)
    try:
        serve_main(host=host, port=port, open_browser=not no_browser, watch=sources)
    except DatelineError as exc:
        _fail(str(exc))


@app.command()
def watch(
    sources: Annotated[
        list[str], typer.Argument(help="RSS/Atom feed URLs (http or https) and folders of news.")
    ],
    every: Annotated[str, typer.Option("--every", help=_EVERY_HELP)] = "15m",
    once: Annotated[
        bool, typer.Option("--once", help="Poll every source once and exit (for cron).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per poll.")] = False,
) -> None:
    """Keep the store current: poll feeds and folders, ingest what is new or changed."""
    import signal
    import threading

    parsed = _watch_sources(sources, every)
    pipe = _pipeline()
    try:
        watcher = Watcher(parsed, pipe, pipe.settings)
    except DatelineError as exc:
        _fail(str(exc))
    stop = threading.Event()

    def interrupt(_signum: int, _frame: object) -> None:
        if stop.is_set():  # a second Ctrl+C: stop now (each write is all-or-nothing)
            raise KeyboardInterrupt
        stop.set()
        typer.secho(
            "stopping after the current poll (Ctrl+C again to stop at once; nothing stored "
            "is left half-written either way)",
            fg=typer.colors.YELLOW,
            err=True,
        )

    signal.signal(signal.SIGINT, interrupt)
    if not once and not as_json:
        typer.echo(
            f"watching {len(watcher.sources)} source(s) every {every}; state in "
            f"{watcher.state.path}; Ctrl+C stops"
        )
    failed = False
    try:
        while not stop.is_set():
            for source in watcher.sources if once else watcher.due():
                if stop.is_set():
                    break
                with _ingest_bar(quiet=True) as progress:
                    result = watcher.poll(source, progress)
                failed |= result.status == "failed"
                _print_poll(result, as_json)
            if once:
                break
            watcher.wait_for_next(stop)
    except KeyboardInterrupt:
        typer.secho("stopped", fg=typer.colors.YELLOW, err=True)
        raise typer.Exit(130) from None
    if once and failed:
        raise typer.Exit(1)


def _print_poll(result: PollResult, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(result.to_json()))
        return
    stamp = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S")
    color = typer.colors.RED if result.status == "failed" else None
    typer.secho(f"{stamp} {result.line()}", fg=color)
    for problem in result.failed_items:
        typer.secho(f"  failed: {problem}", fg=typer.colors.RED, err=True)


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
    from rich.markup import escape

    from evals.config import default_out_dir, make_config
    from evals.console import print_summary, run_with_progress
    from evals.run import make_judge, prepare_out_dir

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
    except DatelineError as exc:
        _fail(str(exc))
    console.print(judge_line)
    pipe = get_pipeline(settings)
    if corpus:
        try:
            with _ingest_bar() as progress:
                report = pipe.ingest(corpus, progress=progress)
        except DatelineError as exc:
            _fail(str(exc))
        for err in report.failed:
            console.print(f"[yellow]not ingested: {escape(str(err))}[/yellow]")
        console.print(f"corpus: {_ingest_line(report, pipe.store.location)}")
    if done:
        console.print(f"resuming {out_dir}: {len(done)} questions already answered")
    try:
        outcome = run_with_progress(pipe, config, out_dir, judge_impl, console)
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
    print_summary(outcome, Console())


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

    from evals.console import print_comparison
    from evals.report import load_summary

    try:
        runs: list[tuple[str, Path, dict[str, Any]]] = [
            ("A", a, load_summary(a)),
            ("B", b, load_summary(b)),
        ]
    except DatelineError as exc:
        _fail(str(exc))
    print_comparison(runs, Console(), overall_only=overall_only)


def run() -> None:
    try:
        app()
    except DatelineError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(2)
