"""Readers: every supported format yields RawArticles; every bad input one FileError, no raise."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from rag.ingest.clean import clean
from rag.ingest.load import SUPPORTED_EXTENSIONS, iter_files, read_file, read_paths
from rag.types import FileError, RawArticle

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


def articles(items: list[RawArticle | FileError]) -> list[RawArticle]:
    return [i for i in items if isinstance(i, RawArticle)]


def errors(items: list[RawArticle | FileError]) -> list[FileError]:
    return [i for i in items if isinstance(i, FileError)]


def read_ok(path: Path, **kwargs: object) -> list[RawArticle]:
    items = list(read_file(path, **kwargs))  # type: ignore[arg-type]
    assert not errors(items), errors(items)
    return articles(items)


def only_error(path: Path, **kwargs: object) -> FileError:
    items = list(read_file(path, **kwargs))  # type: ignore[arg-type]
    assert len(items) == 1 and isinstance(items[0], FileError), items
    return items[0]


# --- the formats -----------------------------------------------------------------------------


def test_seed_wire_copy() -> None:
    [seed] = read_ok(DATA / "load_seed_menafn.txt")
    assert seed.published_at == datetime(2024, 1, 3, tzinfo=UTC)
    assert seed.source == "Trend News Agency"
    assert seed.title is None  # the first line is text, not a headline
    assert seed.fmt == "text"
    assert "MENAFN- Trend" not in seed.body and not seed.body.lstrip().startswith("date")
    assert seed.origin == str(DATA / "load_seed_menafn.txt")


def test_text_with_a_header_block() -> None:
    [article] = read_ok(DATA / "load_header.txt")
    assert article.title == "Heat pump grants to double next year, energy minister says"
    assert article.source == "Daily Ledger"
    assert article.published_at == datetime(2024, 3, 18, 8, tzinfo=UTC)
    assert article.url == "https://dailyledger.example/energy/heat-pump-grants-double"
    assert (article.author, article.category) == ("Tom Ashdown", "energy")
    assert article.body.lstrip().startswith("The government will double")
    cleaned = clean(article)
    assert "Follow us" not in cleaned.body and "Reporting by" not in cleaned.body


def test_text_with_a_headline_line_and_no_date(tmp_path: Path) -> None:
    [article] = read_ok(DATA / "load_wire_agency.txt")
    assert article.title == "Copper hits two-month high as Chinese demand picks up"
    assert article.published_at is None  # no date anywhere is fine
    cleaned = clean(article)
    assert cleaned.dateline == "LONDON, March 4"
    assert cleaned.body.startswith("Copper prices rose to their highest in two months on Monday")
    assert "Subscribe" not in cleaned.body and "Reporting by" not in cleaned.body


def test_text_byline_and_markdown_title(tmp_path: Path) -> None:
    path = tmp_path / "brief.md"
    path.write_text("# Ferry fares to rise in May\n\nBy Jon Ellery\n\nFares rise 6% on May 1.\n")
    [article] = read_ok(path)
    assert (article.title, article.author) == ("Ferry fares to rise in May", "Jon Ellery")
    assert clean(article).body == "Fares rise 6% on May 1."


def test_a_lone_line_is_text_not_a_headline(tmp_path: Path) -> None:
    path = tmp_path / "one.txt"
    path.write_text("Port of Kelmar reopens after strike")
    [article] = read_ok(path)
    assert (article.title, article.body) == (None, "Port of Kelmar reopens after strike")


def test_empty_header_values_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "headed.txt"
    path.write_text("Title: Ferry fares rise\nDate:\nAuthor:\n\nFares rise 6% on May 1.\n")
    [article] = read_ok(path)
    assert (article.title, article.published_at, article.author) == ("Ferry fares rise", None, None)
    assert article.body.strip() == "Fares rise 6% on May 1."


def test_json_array_in_the_multihop_schema() -> None:
    path = DATA / "load_corpus.json"
    found = read_ok(path)
    assert [a.origin for a in found] == [f"{path}#0", f"{path}#1", f"{path}#2"]
    first = found[0]
    assert (first.title or "").startswith("Northvale council approves $48 million flood barrier")
    assert (first.source, first.author, first.category) == (
        "Northvale Gazette",
        "Priya Raman",
        "local",
    )
    assert first.published_at == datetime(2023, 11, 14, 18, 20, tzinfo=UTC)
    assert first.fmt == "json"
    assert found[1].author is None  # "None" in the file
    assert found[2].author is None  # "" in the file
    assert found[2].published_at == datetime(2023, 12, 1, tzinfo=UTC)


def test_jsonl_with_aliased_fields() -> None:
    path = DATA / "load_briefs.jsonl"
    rail, bakery = read_ok(path)
    assert rail.title == "Rail strike called off after late-night talks"
    assert (rail.source, rail.author) == ("Metro Wire", "Sam Cole")
    assert rail.url == "https://metrowire.example/rail-strike-off"
    assert rail.published_at == datetime(2024, 2, 7, 6, 45, tzinfo=UTC)
    assert bakery.body.startswith("Crumb & Co will open 20 new stores")  # from "content"
    assert bakery.source == "Metro Wire"  # from "publisher"
    assert bakery.published_at == datetime(2024, 2, 7, 9, 10, tzinfo=UTC)  # from "pubDate"
    assert bakery.origin == f"{path}#1"


@pytest.mark.parametrize(
    "document",
    [
        {"articles": [{"title": "A", "body": "Text one."}, {"title": "B", "text": "Two."}]},
        {"items": [{"title": "A", "body": "Text one."}, {"title": "B", "content": "Two."}]},
        {"data": [{"title": "A", "body": "Text one."}, {"title": "B", "body": "Two."}]},
    ],
)
def test_json_object_holding_a_list(tmp_path: Path, document: dict[str, object]) -> None:
    path = tmp_path / "export.json"
    path.write_text(json.dumps(document))
    assert [a.title for a in read_ok(path)] == ["A", "B"]


def test_json_single_object_and_jsonl_saved_as_json(tmp_path: Path) -> None:
    single = tmp_path / "one.json"
    single.write_text(json.dumps({"title": "Solo", "body": "Only one."}))
    assert [a.origin for a in read_ok(single)] == [f"{single}#0"]
    lines = tmp_path / "lines.json"
    lines.write_text('{"body": "First."}\n{"body": "Second."}\n')
    assert [a.body for a in read_ok(lines)] == ["First.", "Second."]


def test_html_page_without_its_navigation_and_footer() -> None:
    [page] = read_ok(DATA / "load_article.html")
    assert page.title == "Port of Kelmar dock workers end nine-day strike"
    assert page.source == "Harbor Times"
    assert page.url == "https://harbortimes.example/2024/02/14/kelmar-strike-ends"
    assert page.author == "Lena Brandt"
    assert page.published_at == datetime(2024, 2, 14, 9, 30, tzinfo=timezone(timedelta(hours=1)))
    assert page.fmt == "html"
    body = clean(page).body
    assert body.startswith("Dock workers at the Port of Kelmar voted on Tuesday")
    assert "Port authority chief Martin Oyelaran" in body
    assert len(body.split("\n\n")) == 4  # one per <p> of the article
    for junk in ("Subscribe", "cookies", "Most read", "Privacy", "©", "Celebrity chef", "Home"):
        assert junk not in body


def test_rss_feed_entries() -> None:
    path = DATA / "load_feed_rss.xml"
    fleet, ferry = read_ok(path)
    assert (fleet.origin, ferry.origin) == (f"{path}#entry-1", f"{path}#entry-2")
    assert fleet.source == ferry.source == "Coastal Courier - Business"
    assert fleet.title == "Fishing fleet owners warn of diesel costs"
    assert fleet.url == "https://coastalcourier.example/business/fleet-diesel-costs"
    assert fleet.author == "Rosa Mendes"
    assert fleet.published_at == datetime(2024, 2, 5, 7, 15, tzinfo=UTC)
    assert ferry.published_at == datetime(2024, 2, 6, 10, 40, tzinfo=UTC)
    # the full content:encoded wins over the one-line description; markup is gone
    assert "temporary fuel rebate of 10 cents a litre" in fleet.body
    assert "<" not in fleet.body and "href" not in fleet.body
    assert ferry.body.split("\n\n") == [
        "The Ravensport shipyard has won an order for two hybrid ferries worth €120 million, "
        "securing work for about 600 staff until 2027.",
        "The ferries will run on batteries in port and on diesel at sea.",
    ]


def test_atom_feed_entries() -> None:
    glacier, beetle = read_ok(DATA / "load_feed_atom.atom")
    assert glacier.source == beetle.source == "Science Desk Daily"
    assert glacier.published_at == datetime(2024, 3, 1, 6, tzinfo=UTC)  # published, not updated
    assert beetle.published_at == datetime(2024, 3, 2, 7, 30, tzinfo=UTC)  # only updated
    assert glacier.author == "Helga Sund"
    assert glacier.url == "https://sciencedesk.example/2024/03/aldmark-glacier"
    assert glacier.body.startswith("The largest glacier in the Aldmark range has lost 12%")
    assert "<p>" not in glacier.body
    assert beetle.body.startswith("A volunteer survey in Larchfield Park")


def test_files_without_an_extension_are_sniffed(tmp_path: Path) -> None:
    for name in ("load_feed_rss.xml", "load_article.html", "load_corpus.json"):
        shutil.copy(DATA / name, tmp_path / name.split(".")[0])
    (tmp_path / "plain").write_text("Just a short plain news item. With two sentences.")
    kinds = {Path(a.origin.split("#")[0]).name: a.fmt for a in read_ok_all([tmp_path])}
    assert kinds == {
        "load_feed_rss": "feed",
        "load_article": "html",
        "load_corpus": "json",
        "plain": "text",
    }


def read_ok_all(paths: list[Path]) -> list[RawArticle]:
    items = list(read_paths(paths))
    assert not errors(items), errors(items)
    return articles(items)


def test_source_option_fills_in_a_missing_outlet_only(tmp_path: Path) -> None:
    path = tmp_path / "note.txt"
    path.write_text("A council meeting was held. Nothing was decided.")
    [article] = read_ok(path, source="Northvale Gazette")
    assert article.source == "Northvale Gazette"
    [seed] = read_ok(DATA / "load_seed_menafn.txt", source="Someone Else")
    assert seed.source == "Trend News Agency"


# --- folders ---------------------------------------------------------------------------------


def test_folder_recursion_with_mixed_formats_skips_hidden_and_foreign_files(
    tmp_path: Path,
) -> None:
    (tmp_path / "b" / "deep").mkdir(parents=True)
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "notes.txt").write_text("hidden folder, must be skipped")
    (tmp_path / ".draft.txt").write_text("hidden file, must be skipped")
    (tmp_path / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    shutil.copy(DATA / "load_seed_menafn.txt", tmp_path / "a_seed.txt")
    shutil.copy(DATA / "load_corpus.json", tmp_path / "b" / "corpus.json")
    shutil.copy(DATA / "load_feed_atom.atom", tmp_path / "b" / "deep" / "science.atom")
    shutil.copy(DATA / "load_article.html", tmp_path / "b" / "page.html")
    files = list(iter_files([tmp_path]))
    assert [p.relative_to(tmp_path).as_posix() for p in files if isinstance(p, Path)] == [
        "a_seed.txt",
        "b/corpus.json",
        "b/page.html",
        "b/deep/science.atom",
    ]
    found = read_ok_all([tmp_path])
    assert len(found) == 1 + 3 + 1 + 2
    assert {a.fmt for a in found} == {"text", "json", "html", "feed"}


def test_missing_path_is_reported_and_others_still_listed(tmp_path: Path) -> None:
    (tmp_path / "ok.txt").write_text("Fine text. Really.")
    items = list(iter_files([tmp_path / "nope", tmp_path / "ok.txt"]))
    assert items == [
        FileError(str(tmp_path / "nope"), "no such file or folder"),
        tmp_path / "ok.txt",
    ]


def test_supported_extensions() -> None:
    assert {".txt", ".md", ".json", ".jsonl", ".ndjson", ".html", ".htm", ".xml", ".rss"} <= (
        SUPPORTED_EXTENSIONS
    )


# --- bad input -------------------------------------------------------------------------------


GOOD = DATA / "load_header.txt"


def test_every_bad_input_is_one_error_and_the_good_files_still_load(tmp_path: Path) -> None:
    bad: dict[str, bytes] = {
        "binary.txt": b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(range(256)),
        "garbage.txt": bytes([0x81, 0x8D, 0x8F, 0x90, 0x9D]) * 20,
        "controls.txt": b"\x01\x02\x03\x04 news \x05\x06\x07\x08\x0b\x0e\x0f" * 10,
        "empty.txt": b"",
        "blank.md": b"  \n\n\t  \n",
        "malformed.json": b'[{"title": "A", "body": "x"},\n {"title": "B" "body": "y"}]',
        "bad_date.txt": b"Title: A\nDate: foo\n\nSome text here.",
        "config.xml": b"<?xml version='1.0'?><config><retries>3</retries></config>",
        "slides.pdf": b"%PDF-1.4 not really",
        "menu.html": b"<html><body><nav><a href='/'>Home</a></nav></body></html>",
    }
    for name, data in bad.items():
        (tmp_path / name).write_bytes(data)
    items = list(read_paths([*sorted(tmp_path.iterdir()), GOOD, DATA / "load_corpus.json"]))
    failed = {Path(e.origin).name: e.reason for e in errors(items)}
    assert set(failed) == set(bad), failed
    assert len(errors(items)) == len(bad)
    assert len(articles(items)) == 1 + 3
    assert "binary file" in failed["binary.txt"]
    assert "UTF-8" in failed["garbage.txt"]
    assert "binary file" in failed["controls.txt"]
    assert failed["empty.txt"] == "the file is empty"
    assert failed["blank.md"] == "the file has only white space"
    assert failed["malformed.json"].startswith("malformed JSON at line 2, column 16")
    assert failed["bad_date.txt"] == (
        "date 'foo' does not parse; write it as YYYY-MM-DD or ISO 8601"
    )
    assert failed["config.xml"].startswith("not an RSS or Atom feed")
    assert failed["slides.pdf"].startswith("unsupported file type '.pdf'")
    assert failed["menu.html"].startswith("no article text found in the HTML page")


def test_latin1_news_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "archive.txt"
    text = "Le café de la gare a rouvert. Le prix du menu est de 12 € ou £10 – «très bien»."
    path.write_bytes(text.encode("cp1252"))
    [article] = read_ok(path)
    assert article.body.strip() == text


def test_utf16_file_with_bom_is_read(tmp_path: Path) -> None:
    path = tmp_path / "utf16.txt"
    path.write_bytes("Zürich court rules on Tuesday. Appeal expected.".encode("utf-16"))
    [article] = read_ok(path)
    assert article.body.strip() == "Zürich court rules on Tuesday. Appeal expected."


def test_utf8_with_bom_is_read(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps([{"body": "Olá."}]).encode())
    assert [a.body for a in read_ok(path)] == ["Olá."]


def test_jsonl_bad_line_is_one_error_and_other_lines_load(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    path.write_text(
        '{"title": "One", "body": "First item."}\n'
        '{"title": "Two", "body": "Broken item.\n'
        '{"title": "Three", "body": "Third item."}\n'
    )
    items = list(read_file(path))
    assert [a.title for a in articles(items)] == ["One", "Three"]
    [error] = errors(items)
    assert error.origin == f"{path}#1"
    assert error.reason.startswith("line 2, column")


def test_json_record_without_body_names_the_record(tmp_path: Path) -> None:
    path = tmp_path / "file.json"
    path.write_text(json.dumps([{"title": "A", "body": "Text."}, {"title": "B", "summary": "x"}]))
    items = list(read_file(path))
    assert [a.title for a in articles(items)] == ["A"]
    assert errors(items) == [
        FileError(f"{path}#1", "record has no body (expected one of: body, text, content)")
    ]


def test_json_record_with_a_bad_date_or_wrong_shape(tmp_path: Path) -> None:
    path = tmp_path / "file.json"
    path.write_text(
        json.dumps(
            [{"body": "Text.", "published_at": "next blursday"}, "just a string", {"body": 5}]
        )
    )
    items = list(read_file(path))
    assert [e.origin for e in errors(items)] == [f"{path}#0", f"{path}#1", f"{path}#2"]
    reasons = [e.reason for e in errors(items)]
    assert reasons[0] == "date 'next blursday' does not parse; write it as YYYY-MM-DD or ISO 8601"
    assert reasons[1] == "record is a JSON string, not an object"
    assert reasons[2] == "record body is a JSON number, not text"


def test_json_of_the_wrong_shape(tmp_path: Path) -> None:
    path = tmp_path / "number.json"
    path.write_text("42")
    assert only_error(path).reason.startswith("expected a JSON object or an array of objects")


def test_feed_entry_without_text(tmp_path: Path) -> None:
    path = tmp_path / "feed.rss"
    path.write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>'
        "<item><title>Photo of the day</title><link>https://w.example/p</link></item>"
        "<item><title>Real</title><description>Real text here.</description></item>"
        "</channel></rss>"
    )
    items = list(read_file(path))
    assert [a.title for a in articles(items)] == ["Real"]
    assert errors(items) == [
        FileError(f"{path}#entry-1", "feed entry has no text (no content or summary)")
    ]


def test_huge_file_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "dump.jsonl"
    with path.open("wb") as handle:
        handle.truncate(int(52.4 * 2**20))  # sparse: 52.4 MB on paper, nothing on disk
    error = only_error(path)
    assert error == FileError(
        str(path), "file is 52.4 MB, over the 20 MB limit; split it or raise DATELINE_MAX_FILE_MB"
    )


def test_a_real_file_just_over_a_small_limit(tmp_path: Path) -> None:
    path = tmp_path / "long.txt"
    path.write_text("A sentence of news. " * 60)  # 1,200 bytes
    assert read_ok(path, max_bytes=1200)
    error = only_error(path, max_bytes=1199)
    assert error.reason.startswith("file is 0 MB, over the 0 MB limit")


def test_a_folder_given_as_a_file_is_an_error(tmp_path: Path) -> None:
    assert only_error(tmp_path).reason == "this is a folder, not a file"


def test_unreadable_file_is_reported_and_the_next_file_still_loads(tmp_path: Path) -> None:
    locked = tmp_path / "locked.txt"
    locked.write_text("Secret news. Nobody may read it.")
    locked.chmod(0)
    try:
        if os.geteuid() != 0:
            items = [
                (type(i).__name__, i.origin, getattr(i, "reason", ""))
                for i in read_paths([locked, GOOD])
            ]
        else:
            # root reads anything; run the reader in a child without the capabilities that
            # let root bypass file permissions
            setpriv = shutil.which("setpriv")
            if setpriv is None:
                pytest.skip("running as root without setpriv: permissions cannot be tested")
            code = (
                "import json, sys\n"
                "from rag.ingest.load import read_paths\n"
                "print(json.dumps([(type(i).__name__, i.origin, getattr(i, 'reason', ''))"
                " for i in read_paths(sys.argv[1:])]))"
            )
            done = subprocess.run(
                [
                    setpriv,
                    "--bounding-set=-dac_override,-dac_read_search",
                    sys.executable,
                    "-c",
                    code,
                    str(locked),
                    str(GOOD),
                ],
                capture_output=True,
                text=True,
                cwd=REPO,
                timeout=120,
                check=True,
            )
            items = [tuple(i) for i in json.loads(done.stdout)]
    finally:
        locked.chmod(0o644)
    assert items[0] == (
        "FileError",
        str(locked),
        "permission denied; make it readable and retry",
    )
    assert [kind for kind, *_ in items[1:]] == ["RawArticle"]
