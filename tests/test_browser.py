"""The chat in headless Chromium: ask, click a citation, see it; hostile text stays text."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from rag import Pipeline, Settings
from tests.conftest import DATA, ROOT, SEED
from ui.server import RunningServer, start_in_thread

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Dialog, Page

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "artifacts"
SEED_QUESTION = (
    "How many people died in the January 2022 unrest in Kazakhstan, and who did Kazakhstan ask "
    "for help?"
)
XSS_TITLE = "Harbor council vote <script>alert(1)</script> <img src=x onerror=alert(2)>"
TIMEOUT_MS = 90_000  # answers on 2 shared cores: the first loads the embedder


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Iterator[RunningServer]:
    root = tmp_path_factory.mktemp("browser")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    settings = Settings(
        data_dir=root / "data", llm="extractive", model_cache_dir=model_cache, port=port
    )
    pipeline = Pipeline(settings)
    assert pipeline.ingest([SEED]).ok
    running = start_in_thread(pipeline, settings)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's Chromium at /usr/bin/chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser, server: RunningServer) -> Iterator[tuple[Page, list[str]]]:
    """A fresh tab on the chat; the list collects any dialog (alert) the page opens."""
    context = browser.new_context(viewport={"width": 1400, "height": 950})
    tab = context.new_page()
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    tab.on("dialog", on_dialog)
    tab.set_default_timeout(TIMEOUT_MS)
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    tab.goto(server.url)
    tab.wait_for_selector("#dl-question textarea")
    yield tab, dialogs
    context.close()


def shot(tab: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def ask(tab: Page, question: str, answers_before: int) -> None:
    tab.fill("#dl-question textarea", question)
    tab.keyboard.press("Enter")
    # The final answer (not the streamed draft) has replaced the placeholder.
    tab.wait_for_function(
        "n => document.querySelectorAll('#dl-chat .dl-answer:not(.streaming)').length > n",
        arg=answers_before,
    )


def test_ask_click_citation_highlights_sentence(page: tuple[Page, list[str]]) -> None:
    from playwright.sync_api import expect

    tab, dialogs = page
    ask(tab, SEED_QUESTION, 0)
    answer = tab.locator("#dl-chat .dl-answer").last
    expect(answer).to_contain_text("225 deaths")
    assert answer.locator("a.cite").count() >= 1
    evidence = tab.locator("#dl-evidence")
    expect(evidence).to_contain_text("Trend News Agency")
    expect(evidence.locator(".badge.ok").first).to_be_visible()
    shot(tab, "chat_answer")

    # Click the chat's marker for the sentence with the death toll.
    item = evidence.locator("li.ev-item", has_text="225 deaths")
    n = item.get_attribute("data-n")
    answer.locator("a.cite", has_text=f"[{n}]").click()
    mark = tab.locator("#dl-viewer mark#hl")
    expect(mark).to_contain_text("225 deaths")
    expect(mark).to_be_in_viewport()
    viewer = tab.locator("#dl-viewer")
    expect(viewer.locator(".ar-source")).to_have_text("Trend News Agency")
    expect(viewer.locator(".ar-date")).to_have_text("2024-01-03")
    shot(tab, "chat_citation_highlight")

    # A follow-up uses the conversation; Clear chat forgets it.
    ask(tab, "And who did they ask for help?", 1)
    expect(tab.locator("#dl-chat .dl-answer").last).to_contain_text("CSTO")
    tab.get_by_role("button", name="Clear chat").click()
    expect(tab.locator("#dl-chat .dl-answer")).to_have_count(0)
    assert dialogs == []


def test_uploaded_markup_is_shown_as_text(page: tuple[Page, list[str]]) -> None:
    from playwright.sync_api import expect

    tab, dialogs = page
    tab.get_by_role("tab", name="Library").click()
    tab.locator("#dl-upload input[type=file]").set_input_files(
        [str(DATA / "ui_xss_article.json"), str(DATA / "ui_broken.json")]
    )
    # Gradio lists the files once they are uploaded; only then does the button send them.
    expect(tab.locator("#dl-upload a[href$='/ui_broken.json']")).to_have_count(1)
    tab.locator("#dl-ingest").click()
    report = tab.locator("#dl-report .dl-report")
    expect(report).to_contain_text("1 added")
    expect(report).to_contain_text("1 failed")
    expect(report.locator(".err-list")).to_contain_text("ui_broken.json")

    # The title is listed literally in the table; opening the article shows it as text.
    table = tab.locator("#dl-table")
    expect(table).to_contain_text("<script>alert(1)</script>")
    table.get_by_text(re.compile(r"^Harbor council vote")).first.click()
    viewer = tab.locator("#dl-lib-viewer")
    expect(viewer.locator(".ar-title")).to_have_text(XSS_TITLE)
    expect(viewer.locator(".ar-body")).to_contain_text(
        "held signs reading <script>alert(1)</script> and <img src=x onerror=alert(2)>"
    )
    expect(viewer.locator("a[href^='javascript']")).to_have_count(0)
    shot(tab, "library_hostile_article")

    # Asked about in the chat, the same article's text stays text there too.
    tab.get_by_role("tab", name="Ask").click()
    ask(tab, "How much will the Osby harbor pier extension cost?", 0)
    evidence = tab.locator("#dl-evidence")
    expect(evidence).to_contain_text("Osby Courier")
    expect(evidence).to_contain_text("<img src=x onerror=alert(2)>")
    tab.locator("#dl-evidence a.ev-open.ev-n").first.click()
    expect(tab.locator("#dl-viewer .ar-title")).to_have_text(XSS_TITLE)
    shot(tab, "chat_hostile_article")

    assert tab.locator("img[src='x']").count() == 0
    assert tab.locator("#dl-viewer script, #dl-lib-viewer script, #dl-chat script").count() == 0
    assert dialogs == [], f"the page ran injected script: {dialogs}"
