"""ui/api.py over a real server: ask, ingest, articles, health, validation and basic auth."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from rag import Pipeline, Settings
from rag.errors import ConfigError
from tests.conftest import DATA, SEED
from ui.api import check_exposure, make_filters, parse_day, upload_problem
from ui.server import RunningServer, main, start_in_thread

SEED_QUESTION = (
    "How many people died in the January 2022 unrest in Kazakhstan, and who did Kazakhstan ask "
    "for help?"
)
AUTH = ("editor", "s3cret:with-colon")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Pipeline:
    root = tmp_path_factory.mktemp("api")
    settings = Settings(data_dir=root / "data", llm="extractive", model_cache_dir=model_cache)
    pipe = Pipeline(settings)
    assert pipe.ingest([SEED]).ok
    return pipe


@pytest.fixture(scope="module")
def server(pipeline: Pipeline) -> Iterator[RunningServer]:
    running = start_in_thread(pipeline, pipeline.settings.with_(port=free_port()))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def client(server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=120) as c:
        yield c


def test_ask_returns_answer_citing_the_death_toll(client: httpx.Client) -> None:
    r = client.post("/api/ask", json={"question": SEED_QUESTION})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["abstained"] is False
    assert body["citations"], body
    death = [c for c in body["citations"] if "225 deaths" in c["text"]]
    assert death, body["citations"]
    c = death[0]
    assert f"[{c['n']}]" in body["answer"]
    assert c["source"] == "Trend News Agency" and c["published_at"].startswith("2024-01-03")
    # The citation points at the stored sentence: the article endpoint agrees.
    art = client.get(f"/api/articles/{c['article_id']}").json()
    sentence = art["sentences"][c["sentence_index"]]
    assert sentence["text"] == c["text"]
    assert art["text"][sentence["start"] : sentence["end"]] == c["text"]


def test_ask_with_filters_that_exclude_everything_abstains(client: httpx.Client) -> None:
    r = client.post(
        "/api/ask",
        json={"question": SEED_QUESTION, "filters": {"since": "2030-01-01", "sources": []}},
    )
    assert r.status_code == 200, r.text
    assert r.json()["abstained"] is True and r.json()["citations"] == []


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"question": ""}, "question"),
        ({}, "question"),
        ({"question": "x", "filters": {"since": "2022-13-01"}}, "filters.since"),
        ({"question": "x", "history": [{"role": "robot", "content": "hi"}]}, "history.0.role"),
        ({"question": "x", "colour": "blue"}, "colour"),
    ],
)
def test_ask_validation_names_the_field(
    client: httpx.Client, payload: dict[str, object], field: str
) -> None:
    r = client.post("/api/ask", json=payload)
    assert r.status_code == 422
    assert r.json()["error"].startswith(field), r.json()


def test_ask_with_inverted_dates_is_a_400(client: httpx.Client) -> None:
    r = client.post(
        "/api/ask",
        json={"question": "x y z", "filters": {"since": "2024-02-01", "until": "2024-01-01"}},
    )
    assert r.status_code == 400
    assert "since 2024-02-01 is after until 2024-01-01" in r.json()["error"]


def test_ingest_reports_bad_files_and_stores_the_good_one(client: httpx.Client) -> None:
    good = DATA / "ui_good_article.json"
    files = [
        ("files", (good.name, good.read_bytes(), "application/json")),
        ("files", ("ui_broken.json", (DATA / "ui_broken.json").read_bytes(), "application/json")),
        ("files", ("minutes.pdf", b"%PDF-1.4 not news", "application/pdf")),
    ]
    r = client.post("/api/ingest", files=files)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["added"] == 1 and report["failed"] == 2
    by_file = {Path(e["origin"]).name.split("#")[0]: e["reason"] for e in report["errors"]}
    assert set(by_file) == {"ui_broken.json", "minutes.pdf"}
    assert "pdf" in by_file["minutes.pdf"] and "not accepted" in by_file["minutes.pdf"]
    assert by_file["ui_broken.json"]  # the reader says what is wrong
    (new_id,) = report["ids"]["added"]

    listed = client.get("/api/articles").json()
    titles = {a["id"]: a["title"] for a in listed}
    assert titles[new_id] == "Kelmar ferry operator orders two electric vessels"
    art = client.get(f"/api/articles/{new_id}").json()
    assert art["source"] == "Kelmar Ledger" and "38 million euros" in art["text"]
    assert all(art["text"][s["start"] : s["end"]] == s["text"] for s in art["sentences"])

    # The same file again changes nothing.
    again = client.post("/api/ingest", files=files[:1]).json()
    assert again["unchanged"] == 1 and again["added"] == 0


def test_as_of_out_of_range_is_a_400_naming_it(client: httpx.Client) -> None:
    r = client.post(
        "/api/ask",
        json={"question": "What happened last week in Kazakhstan?", "as_of": "0001-01-01T00:00:00"},
    )
    assert r.status_code == 400, r.text
    assert r.json()["error"].startswith("as_of: 0001-01-01 is outside the years")


def test_an_upload_where_every_file_fails_is_not_a_success(
    client: httpx.Client, pipeline: Pipeline
) -> None:
    files = [
        ("files", ("empty.txt", b"", "text/plain")),
        ("files", ("tool.exe", b"MZ\x90\x00", "application/octet-stream")),
        ("files", ("deep.json", b"[" * 100_000 + b"]" * 100_000, "application/json")),
    ]
    r = client.post("/api/ingest", files=files)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["failed"] == 3 and body["added"] == 0 and "no file" in body["error"]
    origins = sorted(e["origin"] for e in body["errors"])
    assert origins == ["deep.json", "empty.txt", "tool.exe"]
    # Errors name the files as uploaded, never where the server keeps them.
    assert str(pipeline.settings.data_dir) not in r.text and "uploads" not in r.text


def test_api_docs_page_lists_routes_and_loads_nothing_from_outside(client: httpx.Client) -> None:
    page = client.get("/api/docs")
    assert page.status_code == 200 and "/api/ask" in page.text
    assert "http" not in page.text.replace("/api/openapi.json", "")
    schema = client.get("/api/openapi.json").json()
    assert "/api/ask" in schema["paths"] and "/api/docs" not in schema["paths"]


def test_delete_article(client: httpx.Client, pipeline: Pipeline) -> None:
    path = DATA / "ui_xss_article.json"
    report = client.post("/api/ingest", files=[("files", (path.name, path.read_bytes()))]).json()
    (new_id,) = report["ids"]["added"]
    assert client.delete(f"/api/articles/{new_id}").json() == {"deleted": new_id}
    assert pipeline.article(new_id) is None
    assert client.get(f"/api/articles/{new_id}").status_code == 404
    assert client.delete(f"/api/articles/{new_id}").status_code == 404


def test_upload_limits_name_the_problem(pipeline: Pipeline) -> None:
    small = pipeline.settings.with_(max_upload_mb=1.0)
    assert upload_problem("story.JSON", 1000, small) is None
    too_big = upload_problem("story.json", 3 * 2**20, small)
    assert too_big is not None and "3.0 MB" in too_big and "1 MB upload limit" in too_big
    wrong = upload_problem("scan.docx", 10, small)
    assert wrong is not None and "'.docx' is not accepted" in wrong and "jsonl" in wrong
    assert upload_problem("README", 10, small) is not None


def test_unknown_article_is_404(client: httpx.Client) -> None:
    r = client.get("/api/articles/0000000000000000")
    assert r.status_code == 404
    assert "no article with id" in r.json()["detail"]


def test_health(client: httpx.Client, pipeline: Pipeline) -> None:
    r = client.get("/api/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["articles"] == len(pipeline.articles()) >= 1
    assert body["llm"] == "extractive" and body["store"] == pipeline.settings.store_location


def test_chat_page_is_served(client: httpx.Client) -> None:
    assert client.get("/").status_code == 200
    config = client.get("/config").json()  # what the page builds itself from
    assert config["title"] == "Dateline"
    assert config.get("analytics_enabled") is False


def test_basic_auth_is_enforced_when_set(pipeline: Pipeline) -> None:
    settings = pipeline.settings.with_(port=free_port(), auth=":".join(AUTH))
    running = start_in_thread(pipeline, settings)
    try:
        with httpx.Client(base_url=running.url, timeout=60) as c:
            assert c.get("/api/health").status_code == 401
            assert c.get("/api/health", auth=("editor", "wrong")).status_code == 401
            denied = c.post("/api/ask", json={"question": SEED_QUESTION})
            assert denied.status_code == 401
            assert denied.headers["www-authenticate"].startswith("Basic")
            assert c.get("/api/health", auth=AUTH).status_code == 200
            assert c.get("/api/articles", auth=AUTH).status_code == 200
            # The chat itself asks for a login (Gradio's form) before its config is given out.
            assert c.get("/config").status_code == 401
            # So do the API's schema and its docs page.
            for path in ("/api/docs", "/api/openapi.json"):
                assert c.get(path).status_code == 401, path
                assert c.get(path, auth=AUTH).status_code == 200, path
    finally:
        running.stop()


def test_refuses_to_listen_beyond_loopback_without_auth() -> None:
    with pytest.raises(ConfigError, match="DATELINE_AUTH"):
        check_exposure("0.0.0.0", None)
    check_exposure("0.0.0.0", "u:p")
    check_exposure("127.0.0.1", None)
    check_exposure("::1", None)
    check_exposure("localhost", None)
    with pytest.raises(ConfigError, match=r"refusing to listen on 0\.0\.0\.0"):
        main(host="0.0.0.0", port=free_port())


def test_day_filters_cover_whole_days() -> None:
    f = make_filters(parse_day("2022-01-01", "From date"), parse_day("2022-01-31", "To date"))
    assert f.since is not None and f.since.isoformat() == "2022-01-01T00:00:00+00:00"
    assert f.until is not None and f.until.isoformat() == "2022-01-31T23:59:59+00:00"
    assert parse_day("  ", "From date") is None
    with pytest.raises(
        Exception, match="From date: '1/2/2022' is not a date; write it as YYYY-MM-DD"
    ):
        parse_day("1/2/2022", "From date")
