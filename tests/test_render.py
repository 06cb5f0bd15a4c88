"""ui/render.py: answers, evidence, articles and reports as escaped HTML (no browser)."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

from rag.types import Answer, Article, Citation, FileError, IngestReport, Sentence, SentenceCheck
from ui.render import (
    answer_html,
    article_html,
    articles_table,
    evidence_html,
    ingest_report_html,
    safe_url,
    unsupported_spans,
)

XSS_TITLE = "Pier vote <script>alert(1)</script> <img src=x onerror=alert(2)>"
WHEN = datetime(2024, 3, 5, 9, 0, tzinfo=UTC)


def _article(text: str, title: str = "Ferry pier extended", url: str | None = None) -> Article:
    """An Article whose sentences are found by splitting on '. ' (offsets exact by construction)."""
    sentences = []
    for i, m in enumerate(re.finditer(r"[^.\n]+\.", text)):
        start = m.start() + len(m.group()) - len(m.group().lstrip())
        sentences.append(Sentence(i, start, m.end(), text[start : m.end()]))
    return Article(
        id="a1b2c3d4e5f60718",
        text=text,
        sentences=tuple(sentences),
        title=title,
        source="Kelmar Ledger",
        published_at=WHEN,
        url=url,
        origin="ui_test.json#0",
        content_hash="h",
        dateline="KELMAR, March 5",
    )


def _cite(n: int, sentence: int, text: str, *, verified: bool = True, **kw: object) -> Citation:
    fields: dict[str, object] = {
        "title": "Ferry pier extended",
        "source": "Kelmar Ledger",
        "published_at": WHEN,
        "url": "https://ledger.example/pier",
    }
    fields.update(kw)
    return Citation(
        n=n,
        article_id="a1b2c3d4e5f60718",
        sentence_index=sentence,
        start=0,
        end=len(text),
        text=text,
        verified=verified,
        **fields,  # type: ignore[arg-type]
    )


def test_markers_become_citation_links_with_their_target() -> None:
    answer = Answer(
        question="q",
        answer="The council voted 5-4 [1]. It costs 12 million kroner [2].",
        abstained=False,
        citations=(_cite(1, 0, "The council voted 5-4."), _cite(2, 3, "It costs 12 million.")),
        verification=(
            SentenceCheck("The council voted 5-4 [1].", (1,), True, 0.9),
            SentenceCheck("It costs 12 million kroner [2].", (2,), True, 0.8),
        ),
    )
    out = answer_html(answer)
    links = re.findall(r"<a [^>]*class=\"cite\"[^>]*>\[(\d)\]</a>", out)
    assert links == ["1", "2"]
    assert 'data-n="2" data-article="a1b2c3d4e5f60718" data-sentence="3"' in out
    assert 'href="#cite=a1b2c3d4e5f60718:3"' in out  # survives the chat's HTML sanitiser
    assert "unverified" not in out and "abstain" not in out
    assert "\n" not in out  # one HTML block for the chat's renderer


def test_unknown_marker_stays_text() -> None:
    answer = Answer("q", "A claim [7].", False, citations=(_cite(1, 0, "x"),))
    out = answer_html(answer)
    assert "[7]" in out and "cite" not in out


def test_unsupported_sentence_is_marked_with_its_reason() -> None:
    text = "The council voted 5-4 [1]. The mayor resigned in protest [1]. It opens in 2026 [2]."
    answer = Answer(
        question="q",
        answer=text,
        abstained=False,
        citations=(_cite(1, 0, "The council voted 5-4."), _cite(2, 2, "It opens in 2026.")),
        # Check texts carry markers numbered before the final renumbering: match without them.
        verification=(
            SentenceCheck("The council voted 5-4 [3].", (1,), True, 0.9),
            SentenceCheck("The mayor resigned in protest [3].", (1,), False, 0.2, "no overlap"),
            SentenceCheck("It opens in 2026 [5].", (2,), True, 0.9),
        ),
    )
    spans = unsupported_spans(answer)
    assert [text[a:b] for a, b, _r in spans] == ["The mayor resigned in protest [1]."]
    out = answer_html(answer)
    marked = re.search(r'<span class="unverified" title="([^"]*)">(.*?)</span>', out)
    assert marked is not None
    assert "no overlap" in marked.group(1)
    assert marked.group(2).startswith("The mayor resigned in protest")
    assert "council voted" not in marked.group(2)
    assert "could not be verified" in out


def test_unverified_citation_gets_its_own_class_and_badge() -> None:
    answer = Answer("q", "Claim [1].", False, citations=(_cite(1, 0, "x", verified=False),))
    assert 'class="cite cite-unverified"' in answer_html(answer)
    assert '<span class="badge warn">unverified</span>' in evidence_html(answer)


def test_abstention_looks_different() -> None:
    answer = Answer(
        question="Who won?",
        answer="The articles do not say. None of the stored sentences answers: “Who won?”",
        abstained=True,
    )
    out = answer_html(answer)
    assert 'class="dl-answer abstain"' in out
    assert "The articles do not say" in out
    assert "cite" not in out
    assert "No stored sentence supports" in evidence_html(answer)


def test_script_and_img_in_model_and_article_text_are_escaped() -> None:
    evil = "<script>alert(1)</script> <img src=x onerror=alert(2)>"
    answer = Answer(
        question=evil,
        answer=f"They held signs reading {evil} [1].",
        abstained=False,
        citations=(_cite(1, 0, f"Signs read {evil}.", title=XSS_TITLE, source=f"Ledger {evil}"),),
    )
    for out in (answer_html(answer), evidence_html(answer)):
        assert "<script" not in out and "<img" not in out
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
        assert "&lt;img src=x onerror=alert(2)&gt;" in out
    article = _article(f"Signs read {evil} at the meeting.\n\nThe pier opens in 2026.", XSS_TITLE)
    out = article_html(article, 0)
    assert "<script" not in out and "<img" not in out
    assert html.escape(XSS_TITLE) in out


def test_quotes_in_titles_cannot_break_out_of_attributes() -> None:
    title = 'Vote" onmouseover="alert(1)'
    answer = Answer("q", "Claim [1].", False, citations=(_cite(1, 0, "x", title=title),))
    out = answer_html(answer)
    assert 'onmouseover="' not in out
    assert "&quot; onmouseover=&quot;" in out


def test_only_http_urls_are_linked() -> None:
    assert safe_url("https://ledger.example/a?b=1") == "https://ledger.example/a?b=1"
    for bad in (
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "data:text/html,x",
        "/relative",
        "http://",
        " javascript:alert(1)",
        "vbscript:x",
    ):
        assert safe_url(bad) is None, bad
    js = _cite(1, 0, "x", url="javascript:alert(3)")
    out = evidence_html(Answer("q", "Claim [1].", False, citations=(js,)))
    assert 'href="javascript' not in out
    assert "javascript:alert(3)" in out  # shown as text, not linked
    good = evidence_html(Answer("q", "Claim [1].", False, citations=(_cite(1, 0, "x"),)))
    assert 'href="https://ledger.example/pier"' in good and 'rel="noopener noreferrer' in good
    article = _article("One sentence here.", url="javascript:alert(4)")
    assert 'href="javascript' not in article_html(article)


def test_evidence_lists_outlet_date_title_and_quote() -> None:
    answer = Answer(
        "q",
        "A [1]. B [2].",
        False,
        citations=(_cite(2, 4, "Second sentence."), _cite(1, 1, "First sentence.")),
    )
    out = evidence_html(answer)
    assert out.index("First sentence.") < out.index("Second sentence.")  # in marker order
    assert out.count("Kelmar Ledger") == 2 and "2024-03-05" in out
    assert "Ferry pier extended" in out
    assert 'data-article="a1b2c3d4e5f60718" data-sentence="4"' in out


def test_highlight_wraps_exactly_the_sentence() -> None:
    text = "The council met on Monday. It voted 5-4 & agreed <fast>.\n\nThe pier opens in 2026."
    article = _article(text)
    target = article.sentences[1]
    assert target.text == "It voted 5-4 & agreed <fast>."
    out = article_html(article, 1)
    marked = re.findall(r'<mark id="hl">(.*?)</mark>', out)
    assert marked == [html.escape(text[target.start : target.end])]
    assert out.count("<mark") == 1
    assert out.count("<p>") == 2  # paragraphs from the blank line
    assert "Kelmar Ledger" in out and "2024-03-05" in out and "KELMAR, March 5" in out
    assert "<mark" not in article_html(article, None)
    assert "<mark" not in article_html(article, 99)  # a stale index highlights nothing


def test_highlight_of_first_and_last_sentence() -> None:
    text = "Alpha one. Beta two.\n\nGamma three."
    article = _article(text)
    first = article_html(article, 0)
    assert re.search(r'<p><mark id="hl">Alpha one\.</mark> Beta two\.</p>', first)
    last = article_html(article, 2)
    assert re.search(r'<p><mark id="hl">Gamma three\.</mark></p>', last)


def test_articles_table_filters_and_sorts() -> None:
    from rag.store import ArticleInfo

    def info(i: str, title: str, source: str, when: datetime | None) -> ArticleInfo:
        return ArticleInfo(i, title, source, when, None, "o", 5, 2, "h", ())

    infos = [
        info(
            "aaa", "Flood barrier approved", "Northvale Gazette", datetime(2023, 11, 14, tzinfo=UTC)
        ),
        info("bbb", "Quillfeather raises $31M", "TechWire", datetime(2023, 10, 2, tzinfo=UTC)),
        info("ccc", "Undated brief", "TechWire", None),
    ]
    rows = articles_table(infos, "")
    assert [r[4] for r in rows] == ["aaa", "bbb", "ccc"]  # newest first, undated last
    assert rows[0] == ["Flood barrier approved", "Northvale Gazette", "2023-11-14", 5, "aaa"]
    assert [r[4] for r in articles_table(infos, "techwire")] == ["bbb", "ccc"]
    assert [r[4] for r in articles_table(infos, "TECHWIRE  quill")] == ["bbb"]
    assert [r[4] for r in articles_table(infos, "2023-11")] == ["aaa"]
    assert articles_table(infos, "nothing-like-this") == []


def test_ingest_report_lists_each_failure_by_file_name() -> None:
    report = IngestReport(added=["x1"], unchanged=["x2"], chunks_written=3, seconds=0.4)
    report.failed.append(FileError("/srv/data/uploads/broken.json", "not valid JSON (line 2)"))
    out = ingest_report_html(report, [FileError("notes.pdf", "file type '.pdf' is not accepted")])
    assert "<b>1</b> added" in out and "<b>2</b> failed" in out and "<b>1</b> unchanged" in out
    assert "broken.json" in out and "/srv/data" not in out
    assert "not valid JSON (line 2)" in out and "notes.pdf" in out
