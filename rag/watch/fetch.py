"""One HTTP GET of a feed or a page: conditional (ETag / Last-Modified), bounded in size and
time, with failures as one readable line."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

from rag.errors import InputError

TIMEOUT_S = 20.0
_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, "
    "text/html;q=0.8, */*;q=0.5"
)


@dataclass(frozen=True)
class Fetched:
    """A response: 304 (not modified, no body) or 200 with the body and its validators."""

    status: int
    body: bytes
    url: str  # after redirects
    etag: str | None = None
    last_modified: str | None = None


def _agent() -> str:
    try:
        return f"Dateline/{version('dateline')} (news watch)"
    except PackageNotFoundError:
        return "Dateline (news watch)"


def fetch(
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    max_bytes: int = 20 * 2**20,
    timeout: float = TIMEOUT_S,
) -> Fetched:
    """GET url; with validators, a 304 when nothing changed. Raises InputError naming the
    URL (HTTP status, timeout, refused connection, too large)."""
    import httpx

    headers = {"User-Agent": _agent(), "Accept": _ACCEPT}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        with (
            httpx.Client(follow_redirects=True, max_redirects=5, timeout=timeout) as client,
            client.stream("GET", url, headers=headers) as response,
        ):
            if response.status_code == 304:
                return Fetched(304, b"", str(response.url), etag, last_modified)
            if response.status_code >= 400:
                raise InputError(
                    url, f"HTTP {response.status_code} {response.reason_phrase}".strip()
                )
            body = bytearray()
            for part in response.iter_bytes():
                body.extend(part)
                if len(body) > max_bytes:
                    raise InputError(
                        url,
                        f"larger than {max_bytes / 2**20:.0f} MB (DATELINE_MAX_FILE_MB); not read",
                    )
            return Fetched(
                response.status_code,
                bytes(body),
                str(response.url),
                response.headers.get("ETag"),
                response.headers.get("Last-Modified"),
            )
    except httpx.TimeoutException:
        raise InputError(url, f"no answer within {timeout:.0f} s") from None
    except httpx.ConnectError as exc:
        raise InputError(url, f"could not connect ({exc})") from None
    except httpx.HTTPError as exc:
        raise InputError(url, f"{type(exc).__name__}: {exc}") from None
