"""The same ingest and retrieval against a Chroma server over HTTP (DATELINE_CHROMA_URL)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.config import Settings
from rag.pipeline import Pipeline
from tests.conftest import SEED


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    exe = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    if not Path(exe).exists():
        pytest.skip("the chroma command (package chromadb) is not installed")
    port = _free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    proc = subprocess.Popen(
        [exe, "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={"ANONYMIZED_TELEMETRY": "False", "PATH": "/usr/bin:/bin"},
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        else:
            pytest.fail("chroma server did not start within 60 s")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_ingest_and_answer_through_a_chroma_server(
    chroma_url: str, tmp_path: Path, model_cache: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path, chroma_url=chroma_url, llm="extractive", model_cache_dir=model_cache
    )
    pipe = Pipeline(settings)
    report = pipe.ingest([SEED])
    assert report.ok and len(report.added) == 1
    assert pipe.stats()["location"] == chroma_url
    again = pipe.ingest([SEED])
    assert len(again.unchanged) == 1 and again.chunks_written == 0
    pipe.warm()  # as `dateline serve` does at start: over HTTP, the server loads its index
    answer = pipe.ask("How many people died in the January 2022 unrest in Kazakhstan?")
    assert any("225 deaths" in c.text for c in answer.citations)
    assert not (tmp_path / "chroma").exists()  # nothing was written locally


def test_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    from rag.errors import StoreError

    port = _free_port()
    with pytest.raises(StoreError, match=f"127.0.0.1:{port}.*is it running"):
        Pipeline(Settings(data_dir=tmp_path, chroma_url=f"http://127.0.0.1:{port}")).stats()


def test_serve_warming_up_says_what_is_wrong_and_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from ui.server import _warm

    port = _free_port()
    _warm(Pipeline(Settings(data_dir=tmp_path, chroma_url=f"http://127.0.0.1:{port}")))
    assert "ahead of the first question" in caplog.text
    assert f"127.0.0.1:{port} (is it running?)" in caplog.text


def test_watch_keeps_a_chroma_server_current(
    chroma_url: str, tmp_path: Path, model_cache: Path
) -> None:
    from rag.watch import Watcher, parse_source

    settings = Settings(
        data_dir=tmp_path / "local",
        chroma_url=chroma_url,
        collection="watched",
        llm="extractive",
        model_cache_dir=model_cache,
    )
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    pipe = Pipeline(settings)
    source = parse_source(str(inbox), 60)
    watcher = Watcher([source], pipe, settings)
    assert watcher.poll(source).status == "no change"
    shutil.copy(SEED, inbox / SEED.name)
    result = watcher.poll(source)
    assert result.report is not None and len(result.report.added) == 1, result.line()
    answer = pipe.ask("How many people died in the January 2022 unrest in Kazakhstan?")
    assert any("225 deaths" in c.text for c in answer.citations)
    # The watch state is this machine's; the articles live on the server.
    assert (tmp_path / "local" / "watch.json").exists()
    assert not (tmp_path / "local" / "chroma").exists()
