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
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    pipe = _pipeline()
    console = Console(stderr=True)
    labels = {"read": "Reading files", "embed": "Embedding chunks"}
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=as_json,
        disable=not console.is_terminal and as_json,
    ) as bar:
        tasks: dict[str, int] = {}

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
def delete(article_id: Annotated[str, typer.Argument(help="Article id (see `dateline list`).")]) -> None:
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
    since: Annotated[str | None, typer.Option(help="Only articles published on/after YYYY-MM-DD.")] = None,
    until: Annotated[str | None, typer.Option(help="Only articles published on/before YYYY-MM-DD.")] = None,
    source: Annotated[list[str] | None, typer.Option("--source", help="Only this outlet (repeatable).")] = None,
    llm: Annotated[str | None, typer.Option(help="local | openai | ollama | extractive")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Resolve 'last week' against this date.")] = None,
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
        until=end + timedelta(days=1) - timedelta(seconds=1) if end and len(until or "") <= 10 else end,
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


def run() -> None:
    try:
        app()
    except DatelineError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(2)
