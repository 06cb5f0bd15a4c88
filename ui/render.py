"""Pure rendering for the web face: Answers, evidence, articles and reports → escaped HTML."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import PurePath
from urllib.parse import urlsplit

from rag import Answer, Article, ArticleInfo, Citation, FileError, IngestReport, strip_markers

_MARKER = re.compile(r"\[(\d+)\]")
# A marker with the blank before it, dropped when answer text is matched to its checks.
_MARKER_GAP = re.compile(r"\s*\[\d+\]")
_ABSTAIN_LEAD = "The articles do not say."
TABLE_HEADERS = ["Title", "Outlet", "Date", "Sentences", "Id"]


def esc(text: object) -> str:
    """Escape text for HTML element content and quoted attribute values alike."""
    return html.escape(str(text), quote=True)


def safe_url(url: str | None) -> str | None:
    """The URL when it is an absolute http(s) address (so never javascript: or data:)."""
    if not url:
        return None
    text = url.strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    if any(ch in text for ch in "\r\n\t\x00 "):
        return None
    return text


def day(when: datetime | None) -> str:
    """YYYY-MM-DD, or "undated"."""
    return when.date().isoformat() if when else "undated"


def _text_html(text: str) -> str:
    """Escaped text with its line breaks kept (no raw newlines: chat content is markdown)."""
    return esc(text).replace("\n", "<br>")


def _cite_html(n: int, cite: Citation | None) -> str:
    if cite is None:  # a marker that resolves to nothing is shown as the text it is
        return esc(f"[{n}]")
    tip = f"{cite.source}, {day(cite.published_at)}: {cite.title}"
    classes = "cite" if cite.verified else "cite cite-unverified"
    # The target rides in the href fragment too: the chat's HTML sanitiser drops data-*.
    return (
        f'<a href="#cite={esc(cite.article_id)}:{cite.sentence_index}" class="{classes}" '
        f'role="button" data-n="{n}" '
        f'data-article="{esc(cite.article_id)}" data-sentence="{cite.sentence_index}" '
        f'title="{esc(tip)}">[{n}]</a>'
    )


def _inline_html(text: str, cites: dict[int, Citation]) -> str:
    """Escaped text with each [n] marker turned into a clickable citation."""
    out: list[str] = []
    pos = 0
    for m in _MARKER.finditer(text):
        out.append(_text_html(text[pos : m.start()]))
        out.append(_cite_html(int(m.group(1)), cites.get(int(m.group(1)))))
        pos = m.end()
    out.append(_text_html(text[pos:]))
    return "".join(out)


def _plain_index(text: str) -> tuple[str, list[int]]:
    """The text without markers and with blanks collapsed, and each kept char's offset."""
    chars: list[str] = []
    where: list[int] = []
    i = 0
    while i < len(text):
        m = _MARKER_GAP.match(text, i)
        if m:
            i = m.end()
            continue
        ch = text[i]
        if ch.isspace():
            if chars and chars[-1] != " ":
                chars.append(" ")
                where.append(i)
        else:
            chars.append(ch)
            where.append(i)
        i += 1
    return "".join(chars), where


def unsupported_spans(answer: Answer) -> list[tuple[int, int, str]]:
    """(start, end, reason) in answer.answer of each answer sentence verification rejected.

    Checks are matched on their text without markers (markers are renumbered after the
    check), in order; a check whose sentence is no longer in the answer (dropped) is skipped.
    """
    plain, where = _plain_index(answer.answer)
    spans: list[tuple[int, int, str]] = []
    cursor = 0
    for check in answer.verification:
        needle = _plain_index(check.text)[0].strip()
        if not needle:
            continue
        found = plain.find(needle, cursor)
        if found < 0:
            continue
        cursor = found + len(needle)
        if check.supported:
            continue
        start, end = where[found], where[cursor - 1] + 1
        # Keep the markers that close the sentence inside the span.
        tail = re.match(r"(?:\s*\[\d+\])+", answer.answer[end:])
        if tail:
            end += tail.end()
        spans.append((start, end, check.reason or "not supported by the cited sentences"))
    return spans


def dropped_checks(answer: Answer) -> list[str]:
    """Unsupported sentences that verification removed from the answer text (mode "drop")."""
    plain = _plain_index(answer.answer)[0]
    out = []
    for check in answer.verification:
        needle = _plain_index(check.text)[0].strip()
        if not check.supported and needle and needle not in plain:
            out.append(strip_markers(check.text))
    return out


def answer_html(answer: Answer) -> str:
    """The answer as escaped HTML: clickable [n] markers, unverified sentences marked.

    An abstention gets its own look (class "abstain"). The result has no newlines, so a
    markdown renderer passes it through as one HTML block.
    """
    if answer.abstained:
        rest = answer.answer.strip()
        if rest.startswith(_ABSTAIN_LEAD):
            rest = rest[len(_ABSTAIN_LEAD) :].strip()
        why = ""
        claims = [c for c in answer.verification if not c.supported]
        if claims:
            items = "".join(
                f"<li>{esc(strip_markers(c.text))}"
                f' <span class="reason">({esc(c.reason or "not supported")})</span></li>'
                for c in claims
            )
            why = (
                '<details class="abstain-why"><summary>Draft sentences that failed the check'
                f"</summary><ul>{items}</ul></details>"
            )
        return (
            '<div class="dl-answer abstain"><div class="abstain-head">'
            '<span class="abstain-icon" aria-hidden="true">∅</span> The articles do not say</div>'
            f'<p class="abstain-body">{_text_html(rest)}</p>{why}</div>'
        )
    cites = {c.n: c for c in answer.citations}
    text = answer.answer
    parts: list[str] = []
    pos = 0
    spans = unsupported_spans(answer)
    for start, end, reason in spans:
        parts.append(_inline_html(text[pos:start], cites))
        parts.append(
            f'<span class="unverified" title="Unverified: {esc(reason)}">'
            f"{_inline_html(text[start:end], cites)}"
            '<sup class="flag">unverified</sup></span>'
        )
        pos = end
    parts.append(_inline_html(text[pos:], cites))
    notes = []
    if spans:
        n = len(spans)
        notes.append(
            f"{n} sentence{'s' if n > 1 else ''} could not be verified against the cited "
            "sentences; check the sources before using "
            f"{'them' if n > 1 else 'it'}."
        )
    dropped = dropped_checks(answer)
    if dropped:
        notes.append(f"{len(dropped)} unsupported sentence(s) were removed from this answer.")
    note = "".join(f'<p class="dl-note">{esc(x)}</p>' for x in notes)
    table = claims_html(answer, cites)
    return f'<div class="dl-answer"><p>{"".join(parts)}</p>{table}{note}</div>'


_VERDICTS = {
    "supported": ("says so", "verdict-supported"),
    "contradicted": ("says otherwise", "verdict-contradicted"),
    "not found": ("does not say", "verdict-missing"),
}


def claims_html(answer: Answer, cites: dict[int, Citation]) -> str:
    """The "what each report says" table: a row per report and claim, its sentence clickable."""
    if not answer.claims:
        return ""
    rows = []
    for c in answer.claims:
        word, cls = _VERDICTS.get(c.verdict, (c.verdict, "verdict-missing"))
        report = f"{c.source}, {day(c.published_at)}" if c.published_at else c.source
        title = f'<br><span class="claim-title">{esc(c.title)}</span>' if c.title else ""
        sentence = ""
        if c.citation is not None:
            sentence = f"{_cite_html(c.citation, cites.get(c.citation))} {esc(c.sentence)}"
        rows.append(
            f"<tr><td>{esc(report)}{title}</td><td>{esc(c.claim)}</td>"
            f'<td class="{cls}">{esc(word)}</td><td>{sentence}</td></tr>'
        )
    return (
        '<table class="dl-claims"><caption>What each report says</caption>'
        "<thead><tr><th>Report</th><th>Claim</th><th>Verdict</th><th>Sentence</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def streaming_html(text: str) -> str:
    """Partial answer text while it is written (escaped; markers are plain until verified)."""
    return f'<div class="dl-answer streaming"><p>{_text_html(text)}</p></div>'


def message_html(text: str, kind: str = "error") -> str:
    """A short escaped notice in the chat (kind: error | info)."""
    return f'<div class="dl-answer dl-{esc(kind)}"><p>{_text_html(text)}</p></div>'


def _link_html(url: str | None, label: str = "original article ↗") -> str:
    good = safe_url(url)
    if good:
        return (
            f'<a class="ext" href="{esc(good)}" target="_blank" '
            f'rel="noopener noreferrer nofollow">{esc(label)}</a>'
        )
    if url:
        return f'<span class="url-plain" title="not a web address">{esc(url)}</span>'
    return ""


def evidence_html(answer: Answer | None) -> str:
    """The cited sentences with outlet, date, title, link and a verified/unverified badge."""
    if answer is None:
        return (
            '<div class="dl-evidence empty"><h3>Sources</h3><p>Ask a question: the sentences '
            "the answer rests on appear here. Click a [n] marker to read it in its article."
            "</p></div>"
        )
    if not answer.citations:
        msg = (
            "No stored sentence supports an answer to this question. Try other words, "
            "widen the date range or outlets, or add articles in the Library."
            if answer.abstained
            else "This answer cites no sentence."
        )
        return f'<div class="dl-evidence empty"><h3>Sources</h3><p>{esc(msg)}</p></div>'
    items = []
    for c in sorted(answer.citations, key=lambda c: c.n):
        badge = (
            '<span class="badge ok">verified</span>'
            if c.verified
            else '<span class="badge warn">unverified</span>'
        )
        data = f'data-article="{esc(c.article_id)}" data-sentence="{c.sentence_index}"'
        items.append(
            f'<li class="ev-item" data-n="{c.n}">'
            f'<div class="ev-head"><a href="#" class="ev-open ev-n" {data}>[{c.n}]</a>'
            f'<span class="ev-source">{esc(c.source)}</span>'
            f'<time class="ev-date">{esc(day(c.published_at))}</time>{badge}</div>'
            f'<blockquote class="ev-quote">{esc(c.text)}</blockquote>'
            f'<div class="ev-title"><a href="#" class="ev-open" {data} '
            f'title="Read the sentence in its article">{esc(c.title)}</a> '
            f"{_link_html(c.url)}</div></li>"
        )
    listing = "".join(items)
    return f'<div class="dl-evidence"><h3>Sources</h3><ol class="ev-list">{listing}</ol></div>'


def _paragraphs(text: str) -> list[tuple[int, int]]:
    """(start, end) of each paragraph (split on blank lines) in text."""
    out = []
    pos = 0
    for m in re.finditer(r"\n[ \t]*\n\s*", text):
        if m.start() > pos:
            out.append((pos, m.start()))
        pos = m.end()
    if pos < len(text):
        out.append((pos, len(text)))
    return out


def article_html(article: Article, highlight: int | None = None) -> str:
    """The whole article, escaped, with sentence `highlight` in <mark id="hl">."""
    lo = hi = -1
    if highlight is not None and 0 <= highlight < len(article.sentences):
        s = article.sentences[highlight]
        lo, hi = s.start, s.end
    paras = []
    first_mark = True
    for ps, pe in _paragraphs(article.text):
        a, b = max(ps, lo), min(pe, hi)
        if a < b:
            attrs = ' id="hl"' if first_mark else ""
            first_mark = False
            body = (
                _text_html(article.text[ps:a])
                + f"<mark{attrs}>{_text_html(article.text[a:b])}</mark>"
                + _text_html(article.text[b:pe])
            )
        else:
            body = _text_html(article.text[ps:pe])
        paras.append(f"<p>{body}</p>")
    meta = [f'<span class="ar-source">{esc(article.source)}</span>']
    meta.append(f'<time class="ar-date">{esc(day(article.published_at))}</time>')
    if article.author:
        meta.append(f'<span class="ar-author">{esc(article.author)}</span>')
    link = _link_html(article.url)
    dateline = f'<div class="ar-dateline">{esc(article.dateline)}</div>' if article.dateline else ""
    dup = (
        f'<div class="ar-dup">Same text as: {esc(", ".join(article.duplicate_of))}</div>'
        if article.duplicate_of
        else ""
    )
    return (
        f'<article class="dl-article" data-article="{esc(article.id)}">'
        f'<header class="ar-head"><h2 class="ar-title">{esc(article.title)}</h2>'
        f'<div class="ar-meta">{" · ".join(meta)}</div>'
        f'<div class="ar-links">{link}<span class="ar-id">id {esc(article.id)}</span></div>'
        f'</header>{dateline}{dup}<div class="ar-body">{"".join(paras)}</div></article>'
    )


def article_missing_html(article_id: str) -> str:
    return (
        '<div class="dl-article empty"><p>'
        f"No article with id {esc(article_id)} is stored (it may have been deleted)."
        "</p></div>"
    )


def articles_table(infos: Iterable[ArticleInfo], query: str = "") -> list[list[object]]:
    """Library rows [title, outlet, date, sentences, id], newest first, filtered by words.

    Every word of `query` must appear (case-insensitive) in the title, outlet, date or id.
    """
    words = query.casefold().split()
    rows: list[tuple[str, list[object]]] = []
    for a in infos:
        date = a.published_at.date().isoformat() if a.published_at else ""
        hay = f"{a.title} {a.source} {date} {a.id}".casefold()
        if all(w in hay for w in words):
            rows.append((date, [a.title, a.source, date, a.n_sentences, a.id]))
    rows.sort(key=lambda r: (r[0] != "", r[0]), reverse=True)
    return [r for _d, r in rows]


def _display_origin(origin: str) -> str:
    """A file's name with its record suffix ("feed.xml#3"), not the server's folders."""
    return PurePath(origin).name or origin


def ingest_report_html(report: IngestReport, rejected: Sequence[FileError] = ()) -> str:
    """The per-file outcome of an upload: counts, then each failed file and the reason."""
    failed = [*rejected, *report.failed]
    counts = [
        ("added", len(report.added)),
        ("updated", len(report.updated)),
        ("unchanged", len(report.unchanged)),
        ("failed", len(failed)),
    ]
    chips = "".join(
        f'<span class="chip chip-{name}"><b>{n}</b> {name}</span>' for name, n in counts
    )
    errors = "".join(
        f'<li><span class="err-file">{esc(_display_origin(e.origin))}</span>: {esc(e.reason)}</li>'
        for e in failed
    )
    err_html = f'<ul class="err-list">{errors}</ul>' if errors else ""
    plural = "" if report.chunks_written == 1 else "s"
    status = "ok" if not failed else "partial" if report.added or report.updated else "failed"
    return (
        f'<div class="dl-report {status}"><div class="chips">{chips}</div>'
        f'<div class="secs">{report.chunks_written} chunk{plural} written in {report.seconds:.1f} s'
        f"</div>{err_html}</div>"
    )


def settings_html(
    llm: str, model: str | None, store: str, embed_model: str, loaded: bool, articles: int
) -> str:
    """The read-only settings panel (and whether the local model still has to load)."""
    rows = [
        ("Answering backend", llm),
        ("Model", model or ("built-in" if llm == "local" else "—")),
        ("Embedding model", embed_model),
        ("Store", store),
        ("Articles stored", str(articles)),
    ]
    body = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
    note = (
        ""
        if loaded
        else '<p class="dl-note">The first answer loads the local model (a few seconds).</p>'
    )
    return f'<div class="dl-settings"><table>{body}</table>{note}</div>'
