"""HTML reader: the main text and metadata of a saved article page, via trafilatura (offline)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from rag.errors import InputError
from rag.ingest.dates import parse_date
from rag.ingest.load.jsonl import parse_json
from rag.ingest.load.text import decode_checked
from rag.types import FileError, RawArticle

_MIN_WORDS = 8
_BLOCKS = (
    "p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "tr",
    "table", "section", "article", "figure", "figcaption", "header", "footer", "dd", "dt",
)  # fmt: skip


def html_to_text(fragment: str) -> str:
    """Visible text of an HTML fragment (a feed entry's content), blocks as paragraphs."""
    if "<" not in fragment:
        return fragment.strip()
    import lxml.html
    from lxml import etree

    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (etree.ParserError, ValueError):
        return ""
    etree.strip_elements(root, "script", "style", "noscript", with_tail=False)
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        if element.tag == "br":
            element.tail = "\n" + (element.tail or "")
        elif element.tag in _BLOCKS:
            element.tail = "\n\n" + (element.tail or "")
            if element.text:
                element.text = "\n\n" + element.text
    text = root.text_content()
    paragraphs = [re.sub(r"\s+", " ", p).strip() for p in re.split(r"\n\s*\n", text)]
    return "\n\n".join(p for p in paragraphs if p)


# Where article pages state their publication time; htmldate (inside trafilatura) prefers a
# date in the URL and then drops the time of day, so these are read first.
_PUBLISHED_XPATH = (
    "//meta[@property='article:published_time' or @name='article:published_time'"
    " or @property='og:published_time' or @itemprop='datePublished' or @name='pubdate'"
    " or @name='publishdate' or @name='parsely-pub-date' or @name='dc.date'"
    " or @name='DC.date.issued' or @name='date']/@content"
    " | //time[@itemprop='datePublished']/@datetime"
)


def _json_ld_dates(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        if isinstance(value.get("datePublished"), str):
            yield value["datePublished"]
        for child in value.values():
            yield from _json_ld_dates(child)
    elif isinstance(value, list):
        for child in value:
            yield from _json_ld_dates(child)


def _published_meta(tree: Any) -> str | None:
    for found in tree.xpath(_PUBLISHED_XPATH):
        if str(found).strip():
            return str(found).strip()
    for script in tree.xpath("//script[@type='application/ld+json']/text()"):
        try:
            return next(_json_ld_dates(parse_json(script, "")), None)
        except (json.JSONDecodeError, InputError):  # a page's broken metadata is ignored
            continue
    return None


def _extract(page: str, origin: str) -> tuple[dict[str, Any], str | None]:
    """trafilatura's findings (text, title, author, sitename, url, date) and the stated date."""
    import trafilatura

    tree = trafilatura.load_html(page)
    if tree is None:
        raise InputError(origin, "the HTML page could not be parsed")
    stated = _published_meta(tree)
    try:
        document = trafilatura.bare_extraction(
            tree,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            include_images=False,
        )
    except (ValueError, TypeError, LookupError) as exc:  # broken markup, odd encodings
        raise InputError(origin, f"the HTML page could not be parsed ({exc})") from None
    if document is None:
        return {}, stated
    found = dict(document.as_dict()) if hasattr(document, "as_dict") else dict(document)
    return found, stated


def read_html(data: bytes, origin: str) -> Iterator[RawArticle | FileError]:
    """One article per page: main text without navigation, ads and footers."""
    page = decode_checked(data, origin)
    found, stated = _extract(page, origin)
    text = found.get("text") or ""
    # trafilatura falls back to whatever text a page has; a menu is not an article
    if len(text.split()) < _MIN_WORDS or not re.search(r"[.!?]", text):
        raise InputError(
            origin, "no article text found in the HTML page (is it a saved article page?)"
        )
    paragraphs = [line.strip() for line in text.split("\n") if line.strip()]
    title = (found.get("title") or "").strip() or None
    published: datetime | None = None
    for candidate in (stated, found.get("date")):
        if candidate:
            try:
                published = parse_date(str(candidate), origin)
                break
            except InputError:
                continue  # a page's stray date string is no date, not a reason to reject it
    yield RawArticle(
        body="\n\n".join(paragraphs),
        origin=origin,
        title=title,
        source=found.get("sitename") or found.get("hostname") or None,
        published_at=published,
        url=found.get("url") or None,
        author=found.get("author") or None,
        category=", ".join(found["categories"]) if found.get("categories") else None,
        fmt="html",
    )
