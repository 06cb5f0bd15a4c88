"""Generative LLMs behind one interface (embedded llama.cpp, OpenAI-compatible, Ollama), by name."""

from __future__ import annotations

import queue
import secrets
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from rag.config import Settings
from rag.errors import ConfigError, ModelError, UnknownBackendError
from rag.model_files import check_local_model_available, configured_model_path, local_model_path

ROLES = ("system", "user", "assistant")
# Our prompts are ~1,000 tokens (instructions, two worked examples, the best few sentences);
# 4,096 leaves room for long questions and answers while keeping the KV cache ~120 MB.
CONTEXT_TOKENS = 4096


@dataclass(frozen=True)
class Message:
    """One chat turn; role is "system", "user" or "assistant"."""

    role: str
    content: str


class LLM(Protocol):
    """A chat model: whole replies or text deltas; temperature 0 means greedy."""

    name: str

    def complete(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int = 256,
        stop: Sequence[str] = (),
        temperature: float = 0.0,
    ) -> str: ...

    def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int = 256,
        stop: Sequence[str] = (),
        temperature: float = 0.0,
    ) -> Iterator[str]: ...


LLMFactory = Callable[[Settings], LLM]
_REGISTRY: dict[str, LLMFactory] = {}
# Not an LLM: the answer step picks sentences itself; listed so error messages show every choice.
EXTRACTIVE = "extractive"


def register_llm(name: str, factory: LLMFactory) -> None:
    """Make `factory(settings)` available as DATELINE_LLM=name (a later call replaces it)."""
    if name == EXTRACTIVE:
        raise ValueError("'extractive' is reserved: it is the answer step's no-LLM mode")
    _REGISTRY[name] = factory


def available_llms() -> list[str]:
    return sorted(_REGISTRY)


def get_llm(settings: Settings) -> LLM:
    """The LLM named by settings.llm; cheap: the local model loads on first use, not here."""
    if settings.llm == EXTRACTIVE:
        raise ConfigError(
            "DATELINE_LLM=extractive uses no generative model: the answer step builds the "
            "answer from the best source sentences itself, so there is no LLM to get; "
            f"choose one of {', '.join(available_llms())} for generated answers"
        )
    factory = _REGISTRY.get(settings.llm)
    if factory is None:
        raise UnknownBackendError("LLM", settings.llm, [*available_llms(), EXTRACTIVE])
    return factory(settings)


def is_loaded(settings: Settings) -> bool:
    """Whether answering needs no model load first: True for every backend except a local
    model that this process has not started yet (the UI then says "loading the model")."""
    if settings.llm != "local":
        return True
    # No lock: a loading model holds _SERVERS_LOCK for seconds, and this must answer at once.
    return configured_model_path(settings) in _SERVERS


def _check_messages(messages: Sequence[Message]) -> None:
    if not messages:
        raise ValueError("an LLM call needs at least one message")
    for m in messages:
        if m.role not in ROLES:
            raise ValueError(f"message role {m.role!r} is not one of {', '.join(ROLES)}")


# --- local: llama.cpp in process (xllamacpp) -------------------------------------------------


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
    ) -> dict[str, Any]:
        _check_messages(messages)
        request: dict[str, Any] = {
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "max_tokens": max_tokens,
            "temperature": temperature,
            "cache_prompt": True,
            "stream": stream,
        }
        if stop:
            request["stop"] = list(stop)
        return request

    def _fail(self, message: str) -> ModelError:
        return ModelError(f"the local model {self.model_path.name} failed: {message}")

    def complete(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int = 256,
        stop: Sequence[str] = (),
        temperature: float = 0.0,
    ) -> str:
        request = self._request(messages, max_tokens, stop, temperature, stream=False)
        server = _local_server(self._settings)
        with server.lock:
            reply = server.server.handle_chat_completions(request)
        error = _server_error(reply)
        if error is not None:
            raise self._fail(error)
        self.last_timings = dict(reply.get("timings", {}))
        return str(reply["choices"][0]["message"].get("content") or "")

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


# --- openai: any OpenAI-compatible server through llama-index ---------------------------------


def _chat_messages(messages: Sequence[Message]) -> list[Any]:
    from llama_index.core.llms import ChatMessage

    _check_messages(messages)
    return [ChatMessage(role=m.role, content=m.content) for m in messages]


class OpenAICompatibleLLM:
    """vLLM, llama.cpp server, LM Studio, OpenAI...: anything serving /v1/chat/completions."""

    def __init__(self, settings: Settings) -> None:
        if not settings.openai_base_url:
            raise ConfigError(
                "DATELINE_LLM=openai needs DATELINE_OPENAI_BASE_URL, the server's API root, "
                "e.g. http://127.0.0.1:8000/v1"
            )
        if not settings.llm_model:
            raise ConfigError(
                "DATELINE_LLM=openai needs DATELINE_LLM_MODEL, the model name the server serves"
            )
        self.base_url = settings.openai_base_url
        self.model = settings.llm_model
        self.timeout_s = settings.llm_timeout_s
        self._api_key = settings.openai_api_key or "none"  # local servers ignore the key
        self.name = f"openai:{self.model}"
        self._client: Any = None
        self._client_lock = threading.Lock()

    def _llm(self) -> Any:
        with self._client_lock:
            if self._client is None:
                from llama_index.llms.openai_like import OpenAILike

                self._client = OpenAILike(
                    model=self.model,
                    api_base=self.base_url,
                    api_key=self._api_key,
                    is_chat_model=True,
                    context_window=CONTEXT_TOKENS,
                    timeout=self.timeout_s,
                    # No retries: a server that is down should say so at once, and the
                    # client library and llama-index would each retry, multiplying the wait.
                    max_retries=0,
                )
            return self._client

    def _kwargs(self, max_tokens: int, stop: Sequence[str], temperature: float) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"max_tokens": max_tokens, "temperature": temperature}
        if stop:
            kwargs["stop"] = list(stop)
        return kwargs

    def _error(self, e: Exception) -> ModelError | None:
        """A message for people for the client's errors; None for anything unexpected."""
        import openai

        where = f"the LLM server at {self.base_url}"
        if isinstance(e, openai.APITimeoutError):
            return ModelError(
                f"{where} did not answer within {self.timeout_s:g} s; is it overloaded? "
                "(raise DATELINE_LLM_TIMEOUT_S to wait longer)"
            )
        if isinstance(e, openai.APIConnectionError):
            return ModelError(
                f"cannot reach {where}: is the server running? (check DATELINE_OPENAI_BASE_URL)"
            )
        if isinstance(e, openai.AuthenticationError):
            return ModelError(f"{where} rejected the API key (DATELINE_OPENAI_API_KEY)")
        if isinstance(e, openai.NotFoundError):
            return ModelError(
                f"{where} answered 404 for model {self.model!r}: check DATELINE_LLM_MODEL and "
                "that DATELINE_OPENAI_BASE_URL ends with the API root (usually /v1)"
            )
        if isinstance(e, openai.APIStatusError):
            return ModelError(f"{where} answered HTTP {e.status_code}: {e.message}")
        return None

    def complete(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int = 256,
        stop: Sequence[str] = (),
        temperature: float = 0.0,
    ) -> str:
        chat = _chat_messages(messages)
        try:
            reply = self._llm().chat(chat, **self._kwargs(max_tokens, stop, temperature))
        except Exception as e:
            error = self._error(e)
            if error is None:
                raise
            raise error from e
        return str(reply.message.content or "")

    def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int = 256,
        stop: Sequence[str] = (),
        temperature: float = 0.0,
    ) -> Iterator[str]:
        chat = _chat_messages(messages)
        return self._stream(chat, self._kwargs(max_tokens, stop, temperature))

    def _stream(self, chat: list[Any], kwargs: dict[str, Any]) -> Iterator[str]:
        try:
            for reply in self._llm().stream_chat(chat, **kwargs):
                if reply.delta:
                    yield reply.delta
        except Exception as e:
            error = self._error(e)
            if error is None:
                raise
            raise error from e


# --- ollama ------------------------------------------------------------------------------------


class OllamaLLM:
    """A model served by Ollama (settings.ollama_url), through llama-index's client."""

    def __init__(self, settings: Settings) -> None:
        if not settings.llm_model:
            raise ConfigError(
                "DATELINE_LLM=ollama needs DATELINE_LLM_MODEL, an Ollama model name such as "
                "qwen2.5:7b-instruct (see `ollama list`)"
            )
        self.base_url = settings.ollama_url
        self.model = settings.llm_model
        self.timeout_s = settings.llm_timeout_s
        self.name = f"ollama:{self.model}"

    def _llm(self, max_tokens: int, stop: Sequence[str], temperature: float) -> Any:
        from llama_index.llms.ollama import Ollama

        # Ollama takes sampling options per client, not per call: a client per call is
        # cheap (an HTTP connection) and keeps concurrent calls from sharing options.
        options: dict[str, Any] = {"num_predict": max_tokens}
        if stop:
            options["stop"] = list(stop)
        return Ollama(
            model=self.model,
            base_url=self.base_url,
            request_timeout=self.timeout_s,
            temperature=temperature,
            context_window=CONTEXT_TOKENS,  # -1 would ask the server first
            additional_kwargs=options,
        )

    def _error(self, e: Exception) -> ModelError | None:
        """A message for people for the client's errors; None for anything unexpected."""
        import httpx
        import ollama

        where = f"the Ollama server at {self.base_url}"
        if isinstance(e, httpx.TimeoutException):
            return ModelError(
                f"{where} did not answer within {self.timeout_s:g} s "
                "(raise DATELINE_LLM_TIMEOUT_S to wait longer)"
            )
        if isinstance(e, ConnectionError | httpx.TransportError):
            return ModelError(
                f"cannot reach {where}: is the server running? (`ollama serve`; "
                "check DATELINE_OLLAMA_URL)"
            )
        if isinstance(e, ollama.ResponseError):
            hint = f" (try `ollama pull {self.model}`)" if e.status_code == 404 else ""
            return ModelError(f"{where} answered HTTP {e.status_code}: {e.error}{hint}")
        return None

    def complete(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int = 256,
        stop: Sequence[str] = (),
        temperature: float = 0.0,
    ) -> str:
        chat = _chat_messages(messages)
        try:
            reply = self._llm(max_tokens, stop, temperature).chat(chat)
        except Exception as e:
            error = self._error(e)
            if error is None:
                raise
            raise error from e
        return str(reply.message.content or "")

    def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int = 256,
        stop: Sequence[str] = (),
        temperature: float = 0.0,
    ) -> Iterator[str]:
        chat = _chat_messages(messages)
        return self._stream(chat, max_tokens, stop, temperature)

    def _stream(
        self, chat: list[Any], max_tokens: int, stop: Sequence[str], temperature: float
    ) -> Iterator[str]:
        try:
            for reply in self._llm(max_tokens, stop, temperature).stream_chat(chat):
                if reply.delta:
                    yield reply.delta
        except Exception as e:
            error = self._error(e)
            if error is None:
                raise
            raise error from e


register_llm("local", LocalLLM)
register_llm("openai", OpenAICompatibleLLM)
register_llm("ollama", OllamaLLM)
