"""The embedded backend: a GGUF model run by llama.cpp (xllamacpp) inside this process."""

from __future__ import annotations

import queue
import secrets
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from rag.config import Settings
from rag.errors import ModelError
from rag.llm.base import (
    CONTEXT_TOKENS,
    WEIGH_TOP,
    Message,
    check_messages,
    option_weights,
)
from rag.llm.model_files import (
    check_local_model_available,
    configured_model_path,
    local_model_path,
)


class _LocalServer:
    """One llama.cpp server context: the model weights, one slot and its KV cache."""

    def __init__(self, path: Path, threads: int) -> None:
        import xllamacpp

        # The server also opens a listener; a Unix socket in a private folder, guarded by a
        # random API key, keeps it off the network. We only call it in process.
        self._sockdir = tempfile.TemporaryDirectory(prefix="dateline-llm-")
        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        params.n_ctx = CONTEXT_TOKENS
        # One slot: every request reuses the same KV cache, so the fixed prompt prefix
        # (instructions + worked examples) is evaluated once, not per question.
        params.n_parallel = 1
        params.cache_prompt = True
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        params.offline = True  # never download
        params.ui = False
        params.verbosity = 1  # errors only: llama.cpp's per-request timing lines are noise here
        sock = Path(self._sockdir.name) / "llm.sock"
        if len(str(sock)) < 100:  # AF_UNIX paths are limited to ~107 bytes
            params.hostnames = [str(sock)]
        else:  # a very long TMPDIR: a random loopback port, still guarded by the key
            params.hostnames = ["127.0.0.1"]
            params.port = 0
        params.api_keys = [secrets.token_hex(16)]
        # Idle prompt states kept in RAM (~28 KB a token): enough to bring back the answer
        # prompt's prefix after a judge call with another prefix; the default is 8 GiB.
        params.cache_ram_mib = 256
        started = time.perf_counter()
        try:
            self.server = xllamacpp.Server(params)
        except Exception as e:
            self._sockdir.cleanup()
            raise ModelError(
                f"llama.cpp could not load {path} ({e}); is it a complete GGUF chat model? "
                "(DATELINE_LLM_MODEL; its log lines above say more)"
            ) from e
        self.load_s = time.perf_counter() - started
        self.path = path
        # One generation at a time: the web app calls from several threads, and
        # interleaved requests would evict each other's cached prefix.
        self.lock = threading.Lock()


# One server per model file per process: the weights take ~1.2 GB of RAM.
_SERVERS: dict[Path, _LocalServer] = {}
_SERVERS_LOCK = threading.Lock()


def _local_server(settings: Settings) -> _LocalServer:
    key = configured_model_path(settings)
    with _SERVERS_LOCK:  # held while loading so concurrent first calls load once
        server = _SERVERS.get(key)
        if server is None:
            server = _LocalServer(local_model_path(settings), settings.llm_threads)
            _SERVERS[key] = server
        return server


def _server_error(payload: dict[str, Any]) -> str | None:
    """The error text of a llama.cpp server reply, or None when it is not an error."""
    error = payload.get("error")
    if isinstance(error, dict):
        return str(error.get("message", error))
    if error is not None:
        return str(error)
    if "choices" not in payload and "message" in payload:  # xllamacpp's own failure shape
        return str(payload["message"])
    return None


class LocalLLM:
    """A GGUF model run by llama.cpp inside this process; loads on first use (~2 s)."""

    def __init__(self, settings: Settings) -> None:
        check_local_model_available(settings)  # fail now, with the install hint, not mid-answer
        self._settings = settings
        self.model_path = configured_model_path(settings)
        self.name = f"local:{self.model_path.stem}"
        # llama.cpp's timings of the last call (prompt_n, cache_n, prompt_per_second, ...).
        self.last_timings: dict[str, float] = {}

    def _request(
        self,
        messages: Sequence[Message],
        max_tokens: int,
        stop: Sequence[str],
        temperature: float,
        stream: bool,
        schema: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        check_messages(messages)
        request: dict[str, Any] = {
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "max_tokens": max_tokens,
            "temperature": temperature,
            "cache_prompt": True,
            "stream": stream,
        }
        if stop:
            request["stop"] = list(stop)
        if schema is not None:
            request["json_schema"] = schema  # llama.cpp turns it into a grammar
        return request

    def _call(self, request: dict[str, Any]) -> dict[str, Any]:
        """One whole (not streamed) reply from the server, its error raised for people."""
        server = _local_server(self._settings)
        with server.lock:
            reply = server.server.handle_chat_completions(request)
        error = _server_error(reply)
        if error is not None:
            raise self._fail(error)
        return dict(reply)

    def _fail(self, message: str) -> ModelError:
        return ModelError(f"the local model {self.model_path.name} failed: {message}")

    def complete(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int = 256,
        stop: Sequence[str] = (),
        temperature: float = 0.0,
        schema: dict[str, Any] | None = None,
    ) -> str:
        request = self._request(messages, max_tokens, stop, temperature, False, schema)
        reply = self._call(request)
        self.last_timings = dict(reply.get("timings", {}))
        return str(reply["choices"][0]["message"].get("content") or "")

    def weigh(self, messages: Sequence[Message], options: Sequence[str]) -> dict[str, float] | None:
        request = self._request(messages, 1, (), 0.0, stream=False)
        request.update(logprobs=True, top_logprobs=WEIGH_TOP)
        reply = self._call(request)
        try:
            top = reply["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
        except (KeyError, IndexError, TypeError):
            return None
        return option_weights([(t["token"], t["logprob"]) for t in top], options)

    def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int = 256,
        stop: Sequence[str] = (),
        temperature: float = 0.0,
    ) -> Iterator[str]:
        request = self._request(messages, max_tokens, stop, temperature, stream=True)
        return self._stream(request)

    def _stream(self, request: dict[str, Any]) -> Iterator[str]:
        server = _local_server(self._settings)
        # The server calls back on its own schedule; a worker thread runs the call and hands
        # deltas over a queue so the caller can consume them as an ordinary iterator.
        events: queue.Queue[tuple[str, str]] = queue.Queue()
        abandoned = threading.Event()

        def on_chunk(chunk: dict[str, Any]) -> bool:
            error = _server_error(chunk)
            if error is not None:
                events.put(("error", error))
                return True
            for choice in chunk.get("choices", ()):
                text = (choice.get("delta") or {}).get("content")
                if text:
                    events.put(("text", text))
            if "timings" in chunk:
                self.last_timings = dict(chunk["timings"])
            return abandoned.is_set()  # True stops generation when the caller went away

        def run() -> None:
            try:
                with server.lock:
                    if not abandoned.is_set():
                        server.server.handle_chat_completions(request, on_chunk)
            except Exception as e:  # surfaced to the caller's thread below
                events.put(("error", f"{type(e).__name__}: {e}"))
            finally:
                events.put(("done", ""))

        threading.Thread(target=run, name="dateline-llm-stream", daemon=True).start()
        try:
            while True:
                kind, text = events.get()
                if kind == "text":
                    yield text
                elif kind == "error":
                    raise self._fail(text)
                else:
                    return
        finally:
            abandoned.set()


def is_started(settings: Settings) -> bool:
    """Whether this process has already loaded the model the settings name."""
    # No lock: a loading model holds _SERVERS_LOCK for seconds, and this must answer at once.
    return configured_model_path(settings) in _SERVERS
