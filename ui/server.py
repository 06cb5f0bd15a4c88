"""The web server: the REST API with the Gradio chat mounted on it, on one port (bound to
127.0.0.1 unless told otherwise); run until Ctrl+C, or in a thread for tests."""

from __future__ import annotations

import logging
import socket
import sys
import threading
import time
import webbrowser
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rag import (
    DatelineError,
    Pipeline,
    PollResult,
    Settings,
    Watcher,
    WatchSource,
    apply_offline_env,
    get_pipeline,
    load_settings,
)
from ui.api import auth_pair, build_api, check_exposure, is_loopback
from ui.app import build_app, static_text

if TYPE_CHECKING:
    import uvicorn
    from fastapi import FastAPI

log = logging.getLogger("dateline.ui")


def _theme() -> Any:
    import gradio as gr

    # System fonts only: the default theme fetches Google Fonts, and Dateline stays offline.
    return gr.themes.Soft(
        primary_hue="indigo",
        neutral_hue="slate",
        font=["Inter", "ui-sans-serif", "system-ui", "Segoe UI", "Roboto", "sans-serif"],
        font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"],
    )


def create_server_app(pipeline: Pipeline, settings: Settings) -> FastAPI:
    """The REST API with the Gradio app mounted at "/" (one server, one port)."""
    apply_offline_env()
    import gradio as gr

    api = build_api(pipeline, settings)
    blocks = build_app(pipeline, settings)
    blocks.queue(default_concurrency_limit=settings.concurrency, api_open=False)
    pair = auth_pair(settings)
    return gr.mount_gradio_app(
        api,
        blocks,
        path="/",
        server_name=settings.host,
        server_port=settings.port,
        footer_links=[],
        auth=pair,
        auth_message="Dateline: sign in with the user name and password set in DATELINE_AUTH.",
        max_file_size=int(settings.max_upload_mb * 2**20),
        ssr_mode=False,
        pwa=False,
        mcp_server=False,
        enable_monitoring=False,
        show_error=True,
        theme=_theme(),
        css=static_text("dateline.css"),
    )


@dataclass
class RunningServer:
    """A server started in a background thread (tests, notebooks); stop() ends it."""

    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)


def _uvicorn_server(app: FastAPI, host: str, port: int) -> uvicorn.Server:
    import uvicorn

    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
    return uvicorn.Server(config)


def start_in_thread(pipeline: Pipeline, settings: Settings, timeout: float = 60.0) -> RunningServer:
    """Serve the app from a daemon thread on settings.host:port; returns once it listens."""
    check_exposure(settings.host, settings.auth)
    server = _uvicorn_server(create_server_app(pipeline, settings), settings.host, settings.port)
    thread = threading.Thread(target=server.run, name="dateline-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the server did not start on {settings.host}:{settings.port}")
        time.sleep(0.05)
    return RunningServer(_url(settings.host, settings.port), server, thread)


def _url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def _port_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def main(
    host: str | None = None,
    port: int | None = None,
    open_browser: bool = False,
    watch: Sequence[WatchSource] = (),
) -> None:
    """Serve the chat and the REST API until Ctrl+C (settings from DATELINE_*; args win);
    with `watch`, poll those feeds and folders in the background so answers stay current."""
    apply_offline_env()
    settings = load_settings(host=host, port=port)
    check_exposure(settings.host, settings.auth)
    if not _port_free(settings.host, settings.port):
        raise DatelineError(
            f"port {settings.port} on {settings.host} is in use (another Dateline?); "
            "stop it or choose another with --port or DATELINE_PORT"
        )
    pipeline = get_pipeline(settings)
    threading.Thread(target=_warm, args=(pipeline,), name="dateline-warm-up", daemon=True).start()
    server = _uvicorn_server(create_server_app(pipeline, settings), settings.host, settings.port)
    url = _url(settings.host, settings.port)

    def announce() -> None:
        while not server.started and not server.should_exit:
            time.sleep(0.05)
        if server.started:
            print(f"Dateline is running at {url}  (press Ctrl+C to stop)", flush=True)
            if not is_loopback(settings.host):
                print("Basic auth is on: sign in with DATELINE_AUTH's user and password.")
            if open_browser:
                webbrowser.open(url)

    threading.Thread(target=announce, daemon=True).start()
    stop = threading.Event()
    if watch:
        watcher = Watcher(watch, pipeline, settings, on_result=_print_poll)
        threading.Thread(
            target=watcher.run, args=(stop,), name="dateline-watch", daemon=True
        ).start()
    try:
        server.run()
    finally:
        stop.set()  # the watch thread ends after the poll it is in (a write is all-or-nothing)
        sys.stdout.flush()


def _warm(pipeline: Pipeline) -> None:
    try:
        pipeline.warm()
    except Exception as exc:  # the first question meets it too, and reports it in the chat
        log.warning("could not load the store and models ahead of the first question: %s", exc)


def _print_poll(result: PollResult) -> None:
    stamp = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S")
    print(f"{stamp} watch: {result.line()}", flush=True)
    for problem in result.failed_items:
        print(f"{stamp} watch:   failed: {problem}", flush=True)
