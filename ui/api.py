"""The REST API (/api/...) and what it shares with the chat: filters, uploads, auth, exposure."""

from __future__ import annotations

import ipaddress
import re
import secrets
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from html import escape
from pathlib import Path, PurePath
from typing import IO, Annotated, Any, Literal

from fastapi import Depends, FastAPI, File, HTTPException, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from rag import (
    Answer,
    BusyError,
    ConfigError,
    DatelineError,
    FileError,
    Filters,
    IngestReport,
    InputError,
    Pipeline,
    Settings,
    __version__,
)

# What the upload forms accept (the readers know a few more spellings; these are the common ones).
UPLOAD_SUFFIXES = (".txt", ".md", ".json", ".jsonl", ".html", ".htm", ".xml", ".rss", ".atom")
# Module level: FastAPI resolves the string annotations of routes against module globals.
_BASIC = HTTPBasic(auto_error=False, realm="Dateline")
_NONE_READ = "no file of the upload could be ingested (or a field is invalid); `errors` says why"


# ----- what the chat and the API share --------------------------------------------------------


def parse_day(value: str | None, field: str) -> date | None:
    """A YYYY-MM-DD filter value (blank: no limit); InputError naming the field otherwise."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(field, f"{text!r} is not a date; write it as YYYY-MM-DD") from None


def make_filters(
    since: date | None, until: date | None, sources: Sequence[str] | None = ()
) -> Filters:
    """Filters from whole days: `since` from its first second, `until` to its last (UTC)."""
    if since and until and since > until:
        raise InputError("filters", f"since {since} is after until {until}; swap the dates")
    return Filters(
        since=datetime.combine(since, time.min, UTC) if since else None,
        until=datetime.combine(until, time(23, 59, 59), UTC) if until else None,
        sources=tuple(s for s in (sources or ()) if s),
    )


def check_exposure(host: str, auth: str | None) -> None:
    """Refuse to serve beyond this machine without a password (ConfigError says what to do)."""
    if is_loopback(host) or auth:
        return
    raise ConfigError(
        f"refusing to listen on {host}: other machines could read and change the library "
        "without a password. Set DATELINE_AUTH=user:password (or listen on 127.0.0.1)."
    )


def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def auth_pair(settings: Settings) -> tuple[str, str] | None:
    """("user", "password") from settings.auth "user:password", or None when unset."""
    if not settings.auth:
        return None
    user, _sep, password = settings.auth.partition(":")
    return user, password


def upload_problem(name: str, size: int, settings: Settings) -> str | None:
    """Why an uploaded file is refused (type or size), or None when it may be ingested."""
    suffix = PurePath(name).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        shown = suffix or "no extension"
        return (
            f"file type {shown!r} is not accepted; upload one of "
            f"{', '.join(s.lstrip('.') for s in UPLOAD_SUFFIXES)}"
        )
    limit = settings.max_upload_mb * 2**20
    if size > limit:
        return (
            f"file is {size / 2**20:.1f} MB, over the {settings.max_upload_mb:g} MB upload limit "
            "(DATELINE_MAX_UPLOAD_MB); split it or ingest it with `dateline ingest`"
        )
    return None


def _safe_name(name: str) -> str:
    base = PurePath(name.replace("\\", "/")).name
    base = re.sub(r"[^\w.\- ]+", "_", base).strip(" .") or "upload"
    return base[:120]


@dataclass(frozen=True)
class Upload:
    """One uploaded file: the name the user gave it and where its bytes are now."""

    name: str
    size: int
    stream: IO[bytes] | None = None  # readable bytes, or
    path: Path | None = None  # a file the web framework already saved


ProgressFn = Callable[[str, int, int | None], None]


def ingest_uploads(
    pipeline: Pipeline,
    uploads: Sequence[Upload],
    progress: ProgressFn | None = None,
) -> tuple[IngestReport, list[FileError]]:
    """Check, keep (under data_dir/uploads, by name) and ingest uploaded files.

    Returns the ingest report and the files refused before reading, each with its reason.
    """
    settings = pipeline.settings
    folder = settings.data_dir / "uploads"
    rejected: list[FileError] = []
    saved: list[Path] = []
    names: dict[str, str] = {}
    for up in uploads:
        problem = upload_problem(up.name, up.size, settings)
        if problem:
            rejected.append(FileError(up.name, problem))
            continue
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / _safe_name(up.name)
        n = 1
        while target in saved:  # two files of one name in one upload
            n += 1
            target = target.with_name(f"{target.stem}-{n}{target.suffix}")
        try:
            if up.path is not None:
                shutil.copyfile(up.path, target)
            elif up.stream is not None:
                with target.open("wb") as out:
                    shutil.copyfileobj(up.stream, out)
        except OSError as exc:  # the message names the server's path: say only what failed
            reason = exc.strerror or type(exc).__name__
            rejected.append(FileError(up.name, f"could not be saved on the server ({reason})"))
            continue
        saved.append(target)
        names[str(target)] = up.name
    report = pipeline.ingest(saved, progress=progress) if saved else IngestReport()
    # Errors name the file as the user called it, never where the server keeps it.
    report.failed = [_as_uploaded(e, names) for e in report.failed]
    return report, rejected


def _as_uploaded(error: FileError, names: dict[str, str]) -> FileError:
    for path, name in names.items():
        if error.origin == path or error.origin.startswith(path + "#"):
            return FileError(name + error.origin[len(path) :], error.reason.replace(path, name))
    return error


# ----- the REST API ---------------------------------------------------------------------------


class FiltersIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: date | None = Field(None, description="only articles published on/after YYYY-MM-DD")
    until: date | None = Field(None, description="only articles published on/before YYYY-MM-DD")
    sources: list[str] = Field(default_factory=list, description="only these outlets")


class TurnIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant"]
    content: str


class AskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=2000, pattern=r"\S")
    history: list[TurnIn] = Field(default_factory=list, description="earlier turns, oldest first")
    filters: FiltersIn | None = None
    as_of: datetime | None = Field(
        None,
        description="resolve 'last week' against this date (years 1800-2199)",
        # The years news dates are read against (rag.question.plan_query checks them too).
        json_schema_extra={"pattern": r"^(18|19|20|21)\d\d-"},
    )


class ErrorOut(BaseModel):
    """Every error the API answers: one line for people; `detail` holds more where there is."""

    error: str
    detail: Any = None


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {
        "model": ErrorOut,
        "description": "the request says something impossible (the error says what)",
    },
    401: {"model": ErrorOut, "description": "DATELINE_AUTH is set: HTTP basic auth is needed"},
    422: {"model": ErrorOut, "description": "a field is missing or invalid (the error names it)"},
    503: {"model": ErrorOut, "description": "the store or the model cannot be used now"},
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "no article with this id"}
}


def _field_message(errors: Sequence[Any]) -> str:
    parts = []
    for err in errors:
        loc = [str(x) for x in err.get("loc", ()) if x not in ("body", "query", "path")]
        parts.append(f"{'.'.join(loc) or 'body'}: {err.get('msg', 'invalid')}")
    return "; ".join(parts)


def build_api(pipeline: Pipeline, settings: Settings) -> FastAPI:
    """A FastAPI app with the /api routes (basic auth on all of them when settings.auth)."""
    # The schema and the docs page are routes of their own below, behind the same auth.
    app = FastAPI(title="Dateline API", version=__version__, docs_url=None, openapi_url=None)
    pair = auth_pair(settings)

    def require_auth(
        credentials: Annotated[HTTPBasicCredentials | None, Depends(_BASIC)],
    ) -> None:
        if pair is None:
            return
        ok = credentials is not None and (
            secrets.compare_digest(credentials.username.encode(), pair[0].encode())
            & secrets.compare_digest(credentials.password.encode(), pair[1].encode())
        )
        if not ok:
            raise HTTPException(
                401,
                "this Dateline needs a user name and password (HTTP basic auth)",
                headers={"WWW-Authenticate": 'Basic realm="Dateline"'},
            )

    guarded = [Depends(require_auth)]

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        return JSONResponse(
            status_code=422,
            content={
                "error": _field_message(errors),
                "detail": [{"loc": list(e["loc"]), "msg": e["msg"]} for e in errors],
            },
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            status_code=exc.status_code,
            content={"error": str(exc.detail), "detail": exc.detail},
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(DatelineError)
    async def _dateline_error(_request: Request, exc: DatelineError) -> JSONResponse:
        code = 400 if isinstance(exc, InputError) else 503
        # A busy model frees up within a minute or so: tell clients when to come back.
        headers = {"Retry-After": "30"} if isinstance(exc, BusyError) else None
        return JSONResponse(status_code=code, content={"error": str(exc)}, headers=headers)

    # Plain `def` routes: FastAPI runs them in a worker thread, so answering never blocks
    # the event loop that also serves the chat.
    @app.post("/api/ask", dependencies=guarded, responses=_ERRORS)
    def api_ask(body: AskIn) -> dict[str, Any]:
        f = body.filters or FiltersIn(since=None, until=None)
        filters = make_filters(f.since, f.until, f.sources)
        history = [t.model_dump() for t in body.history]
        answer: Answer = pipeline.ask(body.question, history, filters, as_of=body.as_of)
        return answer.to_json()

    @app.post(
        "/api/ingest",
        dependencies=guarded,
        responses={**_ERRORS, 422: {"model": ErrorOut, "description": _NONE_READ}},
    )
    def api_ingest(files: Annotated[list[UploadFile], File(description="news files")]) -> Any:
        uploads = [Upload(name=f.filename or "upload", size=_size(f), stream=f.file) for f in files]
        report, rejected = ingest_uploads(pipeline, uploads)
        report.failed[:0] = rejected
        out = report.to_json()
        out["ids"] = {
            "added": report.added,
            "updated": report.updated,
            "unchanged": report.unchanged,
        }
        if report.failed and not (report.added or report.updated or report.unchanged):
            # Nothing of the upload could be read: the request failed, say so in its status.
            out["error"] = f"no file of the upload could be ingested ({len(report.failed)} failed)"
            return JSONResponse(status_code=422, content=out)
        return out

    @app.get("/api/articles", dependencies=guarded, responses=_ERRORS)
    def api_articles() -> list[dict[str, Any]]:
        return [a.to_json() for a in pipeline.articles()]

    @app.get(
        "/api/articles/{article_id}", dependencies=guarded, responses={**_ERRORS, **_NOT_FOUND}
    )
    def api_article(article_id: str) -> dict[str, Any]:
        article = pipeline.article(article_id)
        if article is None:
            raise HTTPException(
                404, f"no article with id {article_id!r}; GET /api/articles lists them"
            )
        return article.to_json()

    @app.delete(
        "/api/articles/{article_id}", dependencies=guarded, responses={**_ERRORS, **_NOT_FOUND}
    )
    def api_delete(article_id: str) -> dict[str, Any]:
        if not pipeline.delete(article_id):
            raise HTTPException(
                404, f"no article with id {article_id!r}; GET /api/articles lists them"
            )
        return {"deleted": article_id}

    @app.get("/api/health", dependencies=guarded, responses=_ERRORS)
    def api_health() -> dict[str, Any]:
        return {
            "status": "ok",
            "articles": len(pipeline.articles()),
            "llm": settings.llm,
            "llm_loaded": pipeline.llm_loaded(),
            "embed_model": settings.embed_model,
            "store": settings.store_location,
        }

    @app.get("/api/openapi.json", dependencies=guarded, include_in_schema=False)
    def api_schema() -> dict[str, Any]:
        return app.openapi()

    @app.get("/api/docs", dependencies=guarded, include_in_schema=False)
    def api_docs() -> HTMLResponse:
        return HTMLResponse(docs_page(app.openapi()))

    return app


def docs_page(schema: dict[str, Any]) -> str:
    """The API's routes as one self-contained page (no script or style from a CDN: Dateline
    never makes a browser fetch from the internet)."""
    rows = []
    for path, methods in schema.get("paths", {}).items():
        for method, op in methods.items():
            rows.append(
                f"<tr><td><code>{escape(method.upper())}</code></td><td><code>{escape(path)}"
                f"</code></td><td>{escape(op.get('summary', ''))}</td></tr>"
            )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Dateline API</title></head>"
        "<body><h1>Dateline API</h1><p>The full schema: <a href='/api/openapi.json'>"
        "/api/openapi.json</a>.</p><table><tr><th>method</th><th>path</th><th>what</th></tr>"
        + "".join(rows)
        + "</table></body></html>"
    )


def _size(upload: UploadFile) -> int:
    if upload.size is not None:
        return upload.size
    f = upload.file
    here = f.tell()
    f.seek(0, 2)
    size = f.tell()
    f.seek(here)
    return size
