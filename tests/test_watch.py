"""`dateline watch`: feeds served by a local HTTP server that change between polls, folders,
conditional requests, summary-only entries, back-off, saved state, the CLI; a real store."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from rag.config import Settings
from rag.errors import InputError
from rag.pipeline import Pipeline
from rag.types import IngestReport, RawArticle
from rag.watch import PollResult, Watcher, WatchSource, parse_every, parse_source
from rag.watch.state import STATE_FILE

SAYS = (
    "The harbour authority said on Monday that the new quay will open in March. "
    "Officials expect the quay to double the port's container traffic within two years. "
    "Local fishermen said they worry about the noise and the loss of their moorings."
)
PAGE_TEXT = (
    "The city council voted on Tuesday to build a tram line across the river. "
    "The line will cost 412 million euros and run every six minutes at peak hours. "
    "Opponents said the money would be better spent on buses and cycle lanes. "
    "Construction is due to start next spring and take three years."
)


def _rss(items: list[dict[str, str]]) -> str:
    body = []
    for it in items:
        content = (
            f"<content:encoded><![CDATA[<p>{it['content']}</p>]]></content:encoded>"
            if it.get("content")
            else ""
        )
        body.append(
            f"<item><title>{it['title']}</title><link>{it['link']}</link>"
            f"<guid>{it['link']}</guid><pubDate>{it['date']}</pubDate>"
            f"<description>{it['summary']}</description>{content}</item>"
        )
    return (
        '<?xml version="1.0"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        "<title>Harbour Herald</title><link>http://example.test/</link>"
        f"<description>news</description>{''.join(body)}</channel></rss>"
    )


def _page(text: str) -> str:
    paragraphs = "".join(f"<p>{s.strip()}.</p>" for s in text.split(". ") if s.strip())
    return (
        "<html><head><title>Tram line approved</title></head><body><nav>Home | World</nav>"
        f"<article><h1>Tram line approved</h1>{paragraphs}</article>"
        "<footer>Subscribe to our newsletter</footer></body></html>"
    )


class Site:
    """What the local server serves; tests change it between polls."""

    def __init__(self) -> None:
        self.pages: dict[str, tuple[int, str, str]] = {}  # path -> (status, type, body)
        self.requests: list[tuple[str, dict[str, str]]] = []

    def feed(self, path: str, items: list[dict[str, str]]) -> None:
        self.pages[path] = (200, "application/rss+xml", _rss(items))

    def html(self, path: str, text: str) -> None:
        self.pages[path] = (200, "text/html; charset=utf-8", _page(text))

    def publish(self, base: str) -> None:
        """The feed of the two stories (quay in full, tram as a summary) and the tram's page."""
        self.feed("/feed.xml", _items(base))
        self.html("/tram.html", PAGE_TEXT)

    def count(self, path: str) -> int:
        return sum(1 for p, _h in self.requests if p == path)


@pytest.fixture
def site() -> Iterator[tuple[Site, str]]:
    state = Site()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # the name http.server calls
            state.requests.append((self.path, dict(self.headers)))
            status, kind, body = state.pages.get(self.path, (404, "text/plain", "not here"))
            data = body.encode("utf-8")
            etag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
            if status == 200 and self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            if status == 200:
                self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class Counting:
    """A Pipeline that counts what reaches ingest."""

    def __init__(self, pipe: Pipeline) -> None:
        self.pipe = pipe
        self.raw_calls: list[list[RawArticle]] = []
        self.path_calls: list[list[str]] = []

    def ingest(self, paths: Any, *, source: Any = None, progress: Any = None) -> IngestReport:
        self.path_calls.append([str(p) for p in paths])
        return self.pipe.ingest(paths, source=source, progress=progress)

    def ingest_raw(self, raws: Any, *, progress: Any = None) -> IngestReport:
        self.raw_calls.append(list(raws))
        return self.pipe.ingest_raw(raws, progress=progress)


def _items(base: str, quay: str = SAYS) -> list[dict[str, str]]:
    return [
        {
            "title": "New quay to open in March",
            "link": f"{base}/quay.html",
            "date": "Mon, 06 Nov 2023 09:00:00 GMT",
            "summary": "The quay opens in March.",
            "content": quay,
        },
        {
            "title": "Tram line approved",
            "link": f"{base}/tram.html",
            "date": "Tue, 07 Nov 2023 10:00:00 GMT",
            "summary": "The council approved a tram line.",
            "content": "",
        },
    ]


def _watching(base: str, ingestor: Any, settings: Settings) -> tuple[WatchSource, Watcher]:
    """The local feed as a source (every 15 min) and a watcher of it alone."""
    source = parse_source(f"{base}/feed.xml", 900)
    return source, Watcher([source], ingestor, settings)


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_feed_is_ingested_then_an_unchanged_feed_costs_one_304(
    settings: Settings, site: tuple[Site, str]
) -> None:
    web, base = site
    web.publish(base)
    pipe = Counting(Pipeline(settings))
    source, watcher = _watching(base, pipe, settings)

    first = watcher.poll(source)
    assert first.status == "ingested", first.line()
    assert (first.seen, first.changed, first.pages) == (2, 2, 1)
    assert first.report is not None and len(first.report.added) == 2 and not first.failed_items
    stored = {a.title: pipe.pipe.article(a.id) for a in pipe.pipe.articles()}
    # The summary-only entry holds its linked page's article text, not the one-line summary
    # nor the page's menu and footer; the feed's outlet and date are kept.
    tram = stored["Tram line approved"]
    assert tram is not None and "412 million euros" in tram.text
    assert "newsletter" not in tram.text and tram.source == "Harbour Herald"
    assert tram.published_at is not None and tram.published_at.day == 7
    assert (
        "double the port's container traffic" in (stored["New quay to open in March"] or tram).text
    )

    second = watcher.poll(source)
    assert second.status == "not modified", second.line()
    assert web.requests[-1][1].get("If-None-Match")  # a conditional request
    assert len(pipe.raw_calls) == 1  # nothing went to ingest, nothing was written
    assert web.count("/tram.html") == 1
    assert "not modified" in second.line()


def test_a_changed_entry_replaces_its_article_and_only_it_is_read_again(
    settings: Settings, site: tuple[Site, str]
) -> None:
    web, base = site
    web.publish(base)
    pipe = Counting(Pipeline(settings))
    source, watcher = _watching(base, pipe, settings)
    watcher.poll(source)

    changed = SAYS.replace("in March", "in April")
    web.feed("/feed.xml", _items(base, quay=changed))
    result = watcher.poll(source)
    assert result.status == "ingested" and result.changed == 1, result.line()
    assert result.report is not None and len(result.report.updated) == 1
    assert [r.title for r in pipe.raw_calls[-1]] == ["New quay to open in March"]
    assert web.count("/tram.html") == 1  # the unchanged summary-only entry is not fetched again
    assert len(pipe.pipe.articles()) == 2
    quay = next(a for a in pipe.pipe.articles() if a.title.startswith("New quay"))
    text = pipe.pipe.article(quay.id)
    assert text is not None and "in April" in text.text and "in March" not in text.text


def test_a_failing_source_backs_off_while_the_others_go_on(
    settings: Settings, site: tuple[Site, str]
) -> None:
    web, base = site
    web.publish(base)
    web.pages["/down.xml"] = (503, "text/plain", "busy")
    clock = Clock()
    seen: list[PollResult] = []
    good, down = parse_source(f"{base}/feed.xml", 60), parse_source(f"{base}/down.xml", 60)
    watcher = Watcher(
        [down, good], Pipeline(settings), settings, clock=clock, on_result=seen.append
    )

    results = watcher.poll_all()
    assert [r.status for r in results] == ["failed", "ingested"]
    assert "HTTP 503" in (results[0].error or "") and results[0].retry_in == 120
    assert "next try in 2 min" in results[0].line()
    assert seen == results
    clock.now += 60  # the good feed is due again, the failing one waits twice as long
    assert watcher.due() == [good]
    clock.now += 60
    assert set(watcher.due()) == {good, down}
    failed_again = watcher.poll(down)
    assert failed_again.retry_in == 240  # doubled again
    web.feed("/down.xml", _items(base))
    clock.now += 240
    assert watcher.poll(down).status == "ingested"
    saved = json.loads((settings.data_dir / STATE_FILE).read_text())
    assert saved["sources"][down.key]["failures"] == 0


def test_state_survives_a_restart_and_a_corrupt_state_file_costs_only_a_fresh_poll(
    settings: Settings, site: tuple[Site, str]
) -> None:
    web, base = site
    web.publish(base)
    pipe = Pipeline(settings)
    source = parse_source(f"{base}/feed.xml", 900)
    Watcher([source], pipe, settings).poll(source)

    again = Watcher([source], pipe, settings)  # a new process would read the same file
    assert again.poll(source).status == "not modified"

    (settings.data_dir / STATE_FILE).write_text("{ not json", encoding="utf-8")
    fresh = Watcher([source], pipe, settings)
    assert (settings.data_dir / "watch.json.bad").exists()
    result = fresh.poll(source)
    # Polled afresh: both entries go to ingest, which finds them already stored.
    assert result.status == "ingested" and result.report is not None
    assert len(result.report.unchanged) == 2 and not result.report.added
    assert len(pipe.articles()) == 2


def test_a_folder_is_ingested_once_then_only_new_or_changed_files(
    settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "quay.txt").write_text(f"New quay to open\n\n{SAYS}\n", encoding="utf-8")
    pipe = Counting(Pipeline(settings))
    source = parse_source(str(folder), 60)
    watcher = Watcher([source], pipe, settings)

    first = watcher.poll(source)
    assert first.status == "ingested" and first.report is not None and len(first.report.added) == 1
    assert watcher.poll(source).status == "no change"
    (folder / "tram.txt").write_text(f"Tram line approved\n\n{PAGE_TEXT}\n", encoding="utf-8")
    third = watcher.poll(source)
    assert third.changed == 1 and pipe.path_calls[-1] == [str(folder / "tram.txt")]
    assert third.report is not None and len(third.report.added) == 1
    (folder / "bad.json").write_text("{nope", encoding="utf-8")
    fourth = watcher.poll(source)
    assert fourth.status == "ingested" and any("bad.json" in str(e) for e in fourth.failed_items)
    assert watcher.poll(source).status == "no change"  # a bad file is retried when it changes


def test_watch_stops_between_polls_when_asked(settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "quay.txt").write_text(f"New quay to open\n\n{SAYS}\n", encoding="utf-8")
    stop = threading.Event()
    results: list[PollResult] = []

    def done(result: PollResult) -> None:
        results.append(result)
        stop.set()

    watcher = Watcher([parse_source(str(folder), 60)], Pipeline(settings), settings, on_result=done)
    thread = threading.Thread(target=watcher.run, args=(stop,))
    thread.start()
    thread.join(120)
    assert not thread.is_alive() and [r.status for r in results] == ["ingested"]


def test_sources_and_intervals_are_checked() -> None:
    assert parse_every("15m") == 900 and parse_every("30s") == 30 and parse_every("2") == 120
    assert parse_every("1d") == 86400
    for bad in ("soon", "1s", "40d", ""):
        with pytest.raises(InputError, match="--every"):
            parse_every(bad)
    with pytest.raises(InputError, match="only http"):
        parse_source("ftp://example.test/feed.xml", 60)
    with pytest.raises(InputError, match="no such folder"):
        parse_source("/nowhere/at/all", 60)
    assert parse_source("https://example.test/rss", 60) == WatchSource(
        "feed", "https://example.test/rss", 60
    )


def test_cli_watch_once_polls_every_source_and_fails_when_one_did(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, site: tuple[Site, str], model_cache: Path
) -> None:
    from typer.testing import CliRunner

    from dateline_cli import app

    web, base = site
    web.publish(base)
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "quay2.txt").write_text(f"Quay opens\n\n{SAYS}\n", encoding="utf-8")
    monkeypatch.setenv("DATELINE_DATA_DIR", str(tmp_path / "store"))
    monkeypatch.setenv("DATELINE_MODEL_CACHE_DIR", str(model_cache))
    runner = CliRunner()
    res = runner.invoke(app, ["watch", f"{base}/feed.xml", str(folder), "--once", "--json"])
    assert res.exit_code == 0, res.output
    lines = [json.loads(line) for line in res.output.splitlines() if line.startswith("{")]
    assert [(x["kind"], x["status"]) for x in lines] == [("feed", "ingested"), ("path", "ingested")]
    res = runner.invoke(app, ["watch", f"{base}/feed.xml", f"{base}/gone.xml", "--once"])
    assert res.exit_code == 1
    assert "not modified" in res.output and "HTTP 404" in res.output
    res = runner.invoke(app, ["watch", "ftp://x/y", "--once"])
    assert res.exit_code == 2 and "only http" in res.output


def test_a_page_that_cannot_be_fetched_leaves_the_summary_until_it_can(
    settings: Settings, site: tuple[Site, str]
) -> None:
    web, base = site
    web.feed("/feed.xml", _items(base)[1:])  # the summary-only entry; its page is missing
    pipe = Pipeline(settings)
    source, watcher = _watching(base, pipe, settings)
    first = watcher.poll(source)
    assert first.report is not None and len(first.report.added) == 1
    assert any("HTTP 404" in e.reason and "summary was used" in e.reason for e in first.problems)
    web.html("/tram.html", PAGE_TEXT)
    second = watcher.poll(source)  # the feed is unchanged, but the page is asked for again
    assert second.status == "ingested" and second.report is not None
    assert len(second.report.updated) == 1
    (info,) = pipe.articles()
    article = pipe.article(info.id)
    assert article is not None and "412 million euros" in article.text
    assert watcher.poll(source).status == "not modified"
