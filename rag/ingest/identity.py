"""Article identity and versions: a stable id (URL, headline or text) and a content hash."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from rag.ingest.clean import derive_title
from rag.types import RawArticle

_TRACKING = re.compile(r"^(?:utm_\w+|fbclid|gclid|mc_cid|mc_eid|ocid|cmpid|smid|ref|src)$", re.I)


def normalise_url(url: str) -> str:
    """The same page however it was linked: lower-case host, no www., no tracking, no fragment."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().removeprefix("www.")
    if parts.port and not (
        (parts.scheme == "http" and parts.port == 80)
        or (parts.scheme == "https" and parts.port == 443)
    ):
        host += f":{parts.port}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if not _TRACKING.match(k)])
    path = parts.path.rstrip("/") or "/"
    scheme = "https" if parts.scheme in ("http", "https") else parts.scheme.lower()
    return urlunsplit((scheme, host, path, query, ""))


def _key(value: str | None) -> str:
    return re.sub(r"\s+", " ", value or "").strip().casefold()


def article_identity(raw: RawArticle) -> str:
    """A string that names the article across edits of its body, so an update replaces it.

    Pass clean()'s output. In order of preference:
      url:<normalised url>                        the page address is the article
      meta:<source>|<title>|<YYYY-MM-DD>          an explicit headline from one outlet on one day
      text:<source>|<sha1 of the cleaned body>    nothing else names it: the text is the identity,
                                                  so an edited body is a new article (the old
                                                  version stays until removed)
    """
    if raw.url:
        return "url:" + normalise_url(raw.url)
    source = _key(raw.source) or "unknown"
    if raw.title and raw.title != derive_title(raw.body):
        day = raw.published_at.astimezone(UTC).date().isoformat() if raw.published_at else ""
        return f"meta:{source}|{_key(raw.title)}|{day}"
    return f"text:{source}|{hashlib.sha1(raw.body.encode('utf-8')).hexdigest()}"


def article_id(raw: RawArticle) -> str:
    """The stored id: the first 16 hex characters of sha1(article_identity)."""
    return hashlib.sha1(article_identity(raw).encode("utf-8")).hexdigest()[:16]


def content_hash(text: str, raw: RawArticle) -> str:
    """Fingerprint of one version: the cleaned text and every piece of metadata that is stored."""
    fields = [
        text,
        raw.title,
        raw.source,
        raw.published_at.isoformat() if raw.published_at else None,
        raw.url,
        raw.author,
        raw.dateline,
        raw.category,
    ]
    payload = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha1(payload.encode("utf-8")).hexdigest()
